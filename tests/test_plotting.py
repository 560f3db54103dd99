"""Learning curves from SB3 Monitor CSV files and TensorBoard logs."""

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.logger import configure
from stable_baselines3.common.monitor import Monitor

import textgym  # noqa: F401  (registers the environments)
from textgym.plotting import (
    Curve,
    Panel,
    load_curve,
    load_monitor,
    load_tensorboard,
    plot_learning_curves,
    plot_panels,
    smooth,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_monitor_files_of_a_folder_are_merged_by_end_time(tmp_path: Path) -> None:
    # Two envs' files; t is seconds since each file's t_start.
    (tmp_path / "0.monitor.csv").write_text('#{"t_start": 100.0}\nr,l,t\n1.0,5,1.0\n3.0,2,4.0\n')
    (tmp_path / "1.monitor.csv").write_text('#{"t_start": 101.0}\nr,l,t\n2.0,4,1.5\n')
    curve = load_monitor(tmp_path)
    # End times: 101.0 (r=1, l=5), 102.5 (r=2, l=4), 104.0 (r=3, l=2).
    assert curve.values.tolist() == [1.0, 2.0, 3.0]
    assert curve.steps.tolist() == [5.0, 9.0, 11.0]


def test_monitor_written_by_sb3_matches_the_episodes_played(tmp_path: Path) -> None:
    env = Monitor(gym.make("textgym/TinyCat-v0"), str(tmp_path / "run"))
    rng = np.random.default_rng(0)
    returns, lengths = [], []
    env.reset(seed=0)
    for _ in range(6):
        done, ret, n = False, 0.0, 0
        while not done:
            _, r, terminated, truncated, _ = env.step(int(rng.integers(18)))
            ret, n, done = ret + r, n + 1, terminated or truncated
        returns.append(ret)
        lengths.append(n)
        env.reset()
    env.close()
    curve = load_curve(tmp_path / "run.monitor.csv")
    np.testing.assert_allclose(curve.values, returns, atol=1e-6)  # Monitor rounds to 6 digits
    assert curve.steps.tolist() == np.cumsum(lengths).tolist()


def test_monitor_errors(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no \\*monitor.csv"):
        load_monitor(tmp_path)
    bad = tmp_path / "x.monitor.csv"
    bad.write_text("r,l,t\n1,2,3\n")
    with pytest.raises(ValueError, match="not an SB3 Monitor file"):
        load_monitor(bad)


def test_tensorboard_scalars_logged_by_sb3(tmp_path: Path) -> None:
    logger = configure(str(tmp_path), ["tensorboard"])
    for step, value in [(64, 0.5), (128, 0.75), (192, 1.25)]:
        logger.record("rollout/ep_rew_mean", value)
        logger.record("train/loss", -value)
        logger.dump(step)
    logger.close()
    curve = load_curve(tmp_path)  # no monitor file: falls back to TensorBoard
    assert curve.steps.tolist() == [64, 128, 192] and curve.values.tolist() == [0.5, 0.75, 1.25]
    assert load_tensorboard(tmp_path, "train/loss").values.tolist() == [-0.5, -0.75, -1.25]
    with pytest.raises(KeyError, match="'rollout/ep_rew_mean', 'train/loss'"):
        load_tensorboard(tmp_path, "eval/mean_reward")
    with pytest.raises(FileNotFoundError, match="no TensorBoard event file"):
        load_tensorboard(tmp_path / "missing")


def test_tensorboard_finds_the_run_folder_sb3_creates(tmp_path: Path) -> None:
    # SB3's tensorboard_log=DIR writes DIR/PPO_1/events...; a second run goes to PPO_2.
    for run, value in [("PPO_1", 1.0), ("PPO_2", 2.0)]:
        logger = configure(str(tmp_path / run), ["tensorboard"])
        logger.record("rollout/ep_rew_mean", value)
        logger.dump(10)
        logger.close()
        if run == "PPO_1":
            assert load_tensorboard(tmp_path).values.tolist() == [1.0]  # the only run
    with pytest.raises(ValueError, match="several TensorBoard runs"):
        load_tensorboard(tmp_path)
    assert load_curve(tmp_path / "PPO_2").values.tolist() == [2.0]


def test_smooth_by_hand() -> None:
    np.testing.assert_allclose(smooth(np.array([3.0, 0.0, 3.0, 6.0]), 3), [3.0, 1.5, 2.0, 3.0])
    with pytest.raises(ValueError, match="window must be >= 1"):
        smooth(np.ones(3), 0)


def test_plot_writes_a_png(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "0.monitor.csv").write_text('#{"t_start": 0}\nr,l,t\n0.1,5,1\n1.5,4,2\n1.5,4,3\n')
    out = plot_learning_curves(
        {"PPO": tmp_path / "logs", "other": Curve(np.array([1.0, 2.0]), np.array([0.0, 1.0]))},
        tmp_path / "figs" / "curve.png",
        window=2,
        baselines={"random policy": 0.03},
        title="TinyCat",
    )
    assert out == tmp_path / "figs" / "curve.png"
    assert out.read_bytes()[:8] == PNG_MAGIC and out.stat().st_size > 5000
    with pytest.raises(ValueError, match="at least one curve"):
        plot_learning_curves({}, tmp_path / "x.png")
    with pytest.raises(ValueError, match="has no points"):
        plot_learning_curves({"empty": Curve(np.array([]), np.array([]))}, tmp_path / "x.png")


def test_plot_learning_curves_writes_the_monitor_numbers_beside_the_png(tmp_path: Path) -> None:
    (tmp_path / "0.monitor.csv").write_text('#{"t_start": 0}\nr,l,t\n0.1,5,1\n1.5,4,2\n')
    out = plot_learning_curves({"PPO": tmp_path}, tmp_path / "curve.png", window=2, baselines={"random": 0.03})
    panel = json.loads(out.with_suffix(".json").read_text())["panels"][0]
    # raw values (not smoothed), steps = running total of episode lengths
    assert panel["curves"] == {"PPO": {"steps": [5.0, 9.0], "values": [0.1, 1.5]}}
    assert panel["baselines"] == {"random": 0.03} and panel["bars"] == {}


def test_plot_panels_curves_and_bars(tmp_path: Path) -> None:
    out = plot_panels(
        [
            Panel(curves={"a": Curve.from_points([1, 2, 3], [0.0, 0.5, 1.0])}, ylim=(0, 1), title="left"),
            Panel(bars={"before": 1.0, "after": 2.0}, ylabel="reward"),
            Panel(bars={"base": {"total": 1.0, "cat": 0.2}, "PPO": {"total": 3.0, "cat": 0.9}}),
        ],
        tmp_path / "fig.png",
        title="three panels",
    )
    assert out.read_bytes()[:8] == PNG_MAGIC
    record = json.loads((tmp_path / "fig.json").read_text())
    assert record["title"] == "three panels" and [p["title"] for p in record["panels"]] == ["left", "", ""]
    assert record["panels"][0]["curves"]["a"] == {"steps": [1.0, 2.0, 3.0], "values": [0.0, 0.5, 1.0]}
    assert record["panels"][1]["bars"] == {"": {"before": 1.0, "after": 2.0}}  # one unnamed series
    assert record["panels"][2]["bars"] == {"base": {"total": 1.0, "cat": 0.2}, "PPO": {"total": 3.0, "cat": 0.9}}


def test_plot_panels_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least one panel"):
        plot_panels([], tmp_path / "x.png")
    with pytest.raises(ValueError, match="panel 0 .* has no curves, bars or baselines"):
        plot_panels([Panel()], tmp_path / "x.png")
    with pytest.raises(ValueError, match="same categories in every series"):
        plot_panels([Panel(bars={"a": {"x": 1.0}, "b": {"y": 1.0}})], tmp_path / "x.png")
    with pytest.raises(ValueError, match="not a mix"):
        plot_panels([Panel(bars={"a": 1.0, "b": {"y": 1.0}})], tmp_path / "x.png")
    with pytest.raises(ValueError, match="as many steps as values"):
        Curve.from_points([1, 2], [0.0])
