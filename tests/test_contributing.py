"""CONTRIBUTING.md's recipes, run as written: a toy env, a toy algorithm and a toy reward, each in a temporary module.

Each test takes a section's ```python blocks from CONTRIBUTING.md: the first is the new module,
written to a temporary folder on ``sys.path``; the second registers or uses it, with the module
path the recipe names replaced by the temporary module's.
"""

import importlib.util
import inspect
import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]


def recipe(section: str) -> list[str]:
    """The ```python blocks of CONTRIBUTING.md's ``## section``, in order."""
    text = (REPO / "CONTRIBUTING.md").read_text()
    body = re.search(rf"^## {re.escape(section)}\n(.*?)(?=^## |\Z)", text, re.DOTALL | re.MULTILINE)
    assert body is not None, f"CONTRIBUTING.md has no section {section!r}"
    return re.findall(r"^```python\n(.*?)^```$", body.group(1), re.DOTALL | re.MULTILINE)


@pytest.fixture
def temporary_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``write(name, source)``: a module ``name`` importable from a temporary folder, forgotten afterwards."""
    monkeypatch.syspath_prepend(str(tmp_path))
    names: list[str] = []

    def write(name: str, source: str) -> ModuleType:
        (tmp_path / f"{name}.py").write_text(source)
        names.append(name)
        return importlib.import_module(name)

    yield write
    for name in names:
        sys.modules.pop(name, None)


# ----- Adding an env -----
def registry_wide_checks() -> ModuleType:
    """tests/envs/test_registry_envs.py, the checks every textgym/ id gets, as a module."""
    path = REPO / "tests" / "envs" / "test_registry_envs.py"
    spec = importlib.util.spec_from_file_location("registry_wide_checks", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def env_checks(module: ModuleType) -> list[tuple[str, Any, dict[str, Any]]]:
    """Every ``test_*(env_id, ...)`` of ``module``, once per value of its other parametrized arguments."""
    calls = []
    for name, check in inspect.getmembers(module, inspect.isfunction):
        if not name.startswith("test_") or "env_id" not in inspect.signature(check).parameters:
            continue
        variants: list[dict[str, Any]] = [{}]
        for mark in getattr(check, "pytestmark", []):
            if mark.name == "parametrize":
                argument, values = mark.args
                variants = [{**v, argument: value} for v in variants for value in values]
        calls += [(name, check, variant) for variant in variants]
    return calls


@pytest.fixture
def toy_env_id(temporary_module: Any) -> Iterator[str]:
    module_source, registration = recipe("Adding an env")
    temporary_module("contrib_dog_text", module_source)
    namespace = {"register": gym.register}
    exec(registration.replace("textgym.envs.dog_text", "contrib_dog_text"), namespace)  # noqa: S102
    env_id = "textgym/DogText-v0"
    assert env_id in gym.registry
    yield env_id
    del gym.registry[env_id]


def test_a_toy_env_added_as_contributing_says_passes_the_registry_wide_checks(toy_env_id: str) -> None:
    calls = env_checks(registry_wide_checks())
    # The battery as it stands: both env checkers, seeding, pickling, episode ends, make_vec in 3 modes.
    assert len(calls) >= 8, [name for name, _, _ in calls]
    for _, check, variant in calls:
        check(toy_env_id, **variant)
    env = gym.make(toy_env_id)
    assert type(env.unwrapped).__name__ == "DogTextEnv" and env.unwrapped.max_new_tokens == 8
    # gym.make wraps the env in Gymnasium's passive checker: every step above went through it.
    assert any(isinstance(w, gym.wrappers.PassiveEnvChecker) for w in _wrappers(env))


def _wrappers(env: gym.Env) -> Iterator[gym.Env]:
    while isinstance(env, gym.Wrapper):
        yield env
        env = env.env


# ----- Adding an algorithm -----
@pytest.fixture
def toy_algorithm(temporary_module: Any) -> Iterator[ModuleType]:
    from agents.registry import ALGORITHMS, AlgorithmSpec, register_algorithm, unregister_algorithm

    module_source, registration = recipe("Adding an algorithm")
    module = temporary_module("contrib_toy", module_source)
    namespace = {"register_algorithm": register_algorithm, "AlgorithmSpec": AlgorithmSpec}
    exec(registration.replace("agents.toy:", "contrib_toy:"), namespace)  # noqa: S102
    assert "toy" in ALGORITHMS
    try:
        yield module
    finally:
        unregister_algorithm("toy")
    assert "toy" not in ALGORITHMS


def test_a_toy_algorithm_registered_as_contributing_says_trains_through_the_factory(
    toy_algorithm: ModuleType,
) -> None:
    import agents

    model = agents.make_agent("toy", "CatText-v0", n_envs=2, seed=0)
    assert type(model) is toy_algorithm.Toy and model.n_steps == 8
    model.learn(total_timesteps=16)
    assert model.num_timesteps == 16
    with pytest.raises(ValueError, match="group_size is for group algorithms"):
        agents.make_agent("toy", "CatText-v0", n_envs=2, group_size=2)


def test_a_toy_algorithm_registered_as_contributing_says_trains_and_evaluates_through_the_cli(
    toy_algorithm: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from agents.cli import main
    from agents.registry import ALGORITHMS, register_algorithm, unregister_algorithm

    with pytest.raises(SystemExit):
        main(["train", "--help"])
    assert "toy: REINFORCE, no KL" in " ".join(capsys.readouterr().out.split())
    out = tmp_path / "run"
    tiny = ["--n-envs", "2", "--eval-episodes", "2", "--samples", "0", "--no-progress"]
    with pytest.raises(SystemExit, match="--group-size is for grpo and rloo, not toy"):
        main(["train", "CatText-v0", "--algo", "toy", "--group-size", "2", *tiny, "--out", str(out)])
    main(["train", "CatText-v0", "--algo", "toy", "--timesteps", "16", *tiny, "--out", str(out)])
    meta = json.loads((out / "textgym.json").read_text())
    assert (meta["algo"], meta["trained_steps"], meta["group_size"]) == ("toy", 16, None)
    assert toy_algorithm.Toy.load(out / "model.zip").num_timesteps == 16
    main(["eval", str(out), "--episodes", "2", "--samples", "0", "--json", str(tmp_path / "eval.json")])
    assert json.loads((tmp_path / "eval.json").read_text())["algo"] == "toy"
    # eval finds the class through the registry: without the record it refuses the run.
    spec = unregister_algorithm("toy")
    try:
        with pytest.raises(SystemExit, match="names algorithm 'toy'; textgym knows ppo, a2c, reinforce, grpo, rloo$"):
            main(["eval", str(out), "--episodes", "2"])
    finally:
        register_algorithm(spec)
    assert ALGORITHMS["toy"] is spec


# ----- Adding a reward -----
def test_a_toy_reward_written_as_contributing_says_scores_an_env(temporary_module: Any) -> None:
    module_source, usage = recipe("Adding a reward")
    reward_module = temporary_module("contrib_brevity", module_source)
    brevity = reward_module.BrevityReward(words=2)
    scores = brevity.score(["p", "p", "p"], ["a b", "a b c d", ""])
    np.testing.assert_array_equal(scores.total, [1.0, 1 / 3, 1.0])
    assert set(scores.components) == {"brevity"}
    with pytest.raises(ValueError, match="words must be >= 1, got 0"):
        reward_module.BrevityReward(words=0)

    namespace = {"gym": gym, "BrevityReward": reward_module.BrevityReward}
    exec(usage, namespace)  # noqa: S102
    env = namespace["env"]
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    done = False
    while not done:
        _, reward, terminated, truncated, info = env.step(int(rng.integers(env.action_space.n)))
        done = terminated or truncated
    expected = reward_module.BrevityReward(words=3).score([info["prompt"]], [info["completion"]]).total[0]
    assert set(info["reward_components"]) == {"brevity"}
    assert reward == pytest.approx(expected) and info["reward_components"]["brevity"] == pytest.approx(expected)
