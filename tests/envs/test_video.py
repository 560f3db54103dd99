"""Issue 14, part 1: every id renders rgb_array, so SB3's make_vec_env defaults and both video recorders work."""

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.vec_env import VecVideoRecorder

from textgym.render import FRAME_HEIGHT, FRAME_WIDTH


def video_frames(path: Path) -> list[np.ndarray]:
    """Decode a video with imageio's ffmpeg reader (both recorders write with moviepy, which uses it too)."""
    import imageio.v2 as imageio

    with imageio.get_reader(path, format="ffmpeg") as reader:
        return [np.asarray(f) for f in reader]


def test_gymnasium_env_checker_with_rgb_array(env_id: str) -> None:
    env = gym.make(env_id, render_mode="rgb_array")
    gym_check_env(env.unwrapped, skip_render_check=False)
    env.reset(seed=0)
    frame = env.render()
    assert frame.shape == (FRAME_HEIGHT, FRAME_WIDTH, 3) and frame.dtype == np.uint8


def test_sb3_make_vec_env_defaults_and_vec_video_recorder(env_id: str, tmp_path: Path) -> None:
    pytest.importorskip("moviepy", reason="video recording needs moviepy: pip install -e '.[video]'")
    venv = make_vec_env(env_id, n_envs=2)  # SB3 asks for render_mode="rgb_array"
    assert venv.render_mode == "rgb_array"
    venv = VecVideoRecorder(venv, str(tmp_path), record_video_trigger=lambda step: step == 0, video_length=4)
    first = venv.reset()
    if isinstance(first, dict):
        assert set(first) == set(venv.observation_space.spaces) and first["input_ids"].shape[0] == 2
    else:  # a flat Box by default (the teaching ids, issue 29)
        assert first.shape == (2, *venv.observation_space.shape)
    rng = np.random.default_rng(0)
    for _ in range(6):
        venv.step(rng.integers(venv.action_space.n, size=2))
    venv.close()
    (video,) = tmp_path.glob("*.mp4")
    frames = video_frames(video)
    # video_length=4 steps: the reset frame and 4 steps; SB3 tiles the 2 envs in a ceil(sqrt(2)) = 2-row grid.
    assert len(frames) == 5
    assert frames[0].shape == (2 * FRAME_HEIGHT, FRAME_WIDTH, 3)


def test_gymnasium_record_video(env_id: str, tmp_path: Path) -> None:
    pytest.importorskip("moviepy", reason="video recording needs moviepy: pip install -e '.[video]'")
    env = gym.make(env_id, render_mode="rgb_array")
    env = gym.wrappers.RecordVideo(env, str(tmp_path / "videos"), episode_trigger=lambda e: e == 0, disable_logger=True)
    env.reset(seed=0)
    first = env.render()
    rng = np.random.default_rng(0)
    steps, done = 0, False
    while not done:
        _, _, terminated, truncated, _ = env.step(int(rng.integers(env.action_space.n)))
        steps, done = steps + 1, terminated or truncated
    env.close()
    (video,) = (tmp_path / "videos").glob("*.mp4")
    frames = video_frames(video)
    assert len(frames) == steps + 1
    # Lossy codec: the decoded first frame is close to, not equal to, the env's frame.
    assert np.abs(frames[0].astype(float) - first.astype(float)).mean() < 10
