"""agents.ALGORITHMS: one record per algorithm name, checked where it is written; the docs table is the registry's."""

import importlib
import re
from pathlib import Path

import pytest

import agents
from agents.cli import default_text
from agents.registry import (
    ALGORITHMS,
    AlgorithmSpec,
    get_algorithm,
    grouped_names,
    make_agent,
    markdown_table,
    register_algorithm,
    unregister_algorithm,
)

REPO = Path(__file__).resolve().parents[2]


def test_every_cli_algorithm_is_registered_with_its_class_and_factory() -> None:
    expected = {
        "ppo": (agents.PPO, agents.make_ppo),
        "a2c": (agents.A2C, agents.make_a2c),
        "reinforce": (agents.REINFORCE, agents.make_reinforce),
        "grpo": (agents.GRPO, agents.make_grpo),
        "rloo": (agents.GRPO, agents.make_rloo),
    }
    assert list(ALGORITHMS) == list(expected)
    for name, (cls, make) in expected.items():
        assert ALGORITHMS[name].load_class() is cls and ALGORITHMS[name].factory() is make, name
    assert grouped_names() == ["grpo", "rloo"]


def test_cli_help_defaults_come_from_the_registry() -> None:
    names = list(ALGORITHMS)
    assert default_text("timesteps", names) == "default 20,000 (grpo/rloo: 24,576)"
    assert default_text("n_envs", names) == "default 16 (grpo/rloo: 64)"
    assert default_text("group_size", grouped_names()) == "default 8"


@pytest.mark.parametrize(
    ("fields", "error", "message"),
    [
        ({"name": "PPO"}, ValueError, "algorithm name must be lower case letters, digits, - or _, got 'PPO'"),
        ({"cls": "agents.PPO"}, ValueError, "cls must be 'module:attribute', got 'agents.PPO'"),
        ({"make": 3}, TypeError, "make must be callable or 'module:attribute', got 3"),
        ({"help": " "}, ValueError, "help must be a non-empty line"),
        ({"timesteps": 0}, ValueError, "timesteps must be >= 1, got 0"),
        ({"n_envs": 2.0}, TypeError, "n_envs must be an integer, got 2.0"),
        ({"group_size": 0}, ValueError, "group_size must be >= 1, got 0"),
    ],
)
def test_a_bad_record_is_refused_where_it_is_written(fields: dict, error: type, message: str) -> None:
    good = {"name": "toy", "cls": "agents:PPO", "make": "agents:make_ppo", "help": "a toy", "timesteps": 8, "n_envs": 2}
    with pytest.raises(error, match=re.escape(message)):
        AlgorithmSpec(**{**good, **fields})


def test_register_refuses_a_taken_name_and_unregister_an_unknown_one() -> None:
    with pytest.raises(ValueError, match="algorithm 'ppo' is already registered"):
        register_algorithm(AlgorithmSpec("ppo", "agents:PPO", "agents:make_ppo", "again", 8, 2))
    with pytest.raises(TypeError, match="register_algorithm takes an AlgorithmSpec, got dict"):
        register_algorithm({"name": "toy"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown algorithm 'dqn'; known: ppo, a2c, reinforce, grpo, rloo"):
        unregister_algorithm("dqn")
    with pytest.raises(TypeError):
        ALGORITHMS["toy"] = ALGORITHMS["ppo"]  # type: ignore[index]  # read-only: only register_algorithm adds


def test_a_registered_record_is_found_and_removed_by_name() -> None:
    spec = register_algorithm(AlgorithmSpec("ppo-copy", agents.PPO, agents.make_ppo, "PPO again", 8, 2))
    try:
        assert get_algorithm("ppo-copy") is spec and list(ALGORITHMS)[-1] == "ppo-copy"
        assert "| `ppo-copy` | `agents.algorithms.PPO` | `agents.factory.make_ppo` | 8 | 2 |  | PPO again |" in (
            markdown_table()
        )
    finally:
        assert unregister_algorithm("ppo-copy") is spec
    assert "ppo-copy" not in ALGORITHMS


def test_make_agent_refuses_group_size_for_a_step_algorithm() -> None:
    with pytest.raises(ValueError, match=r"group_size is for group algorithms \(grpo, rloo\), not ppo"):
        make_agent("ppo", "CatText-v0", n_envs=2, group_size=2)
    grpo = make_agent("grpo", "CatText-v0", n_envs=4, group_size=2)
    assert type(grpo) is agents.GRPO and grpo.group_size == 2


def test_docs_show_the_registry_table() -> None:
    text = (REPO / "docs" / "agents.md").read_text()
    block = re.search(r"<!-- algorithms: agents.registry.markdown_table\(\) -->\n(.*?)<!-- /algorithms -->", text, re.S)
    assert block is not None, "docs/agents.md lost its algorithms block"
    assert block.group(1) == markdown_table(), "docs/agents.md's algorithms table is stale; paste:\n" + markdown_table()


def test_every_public_name_of_agents_is_imported_from_its_module() -> None:
    assert len(agents.__all__) == len(set(agents.__all__)) and set(agents.__all__) == set(agents._EXPORTS)
    for name in agents.__all__:
        assert getattr(agents, name) is getattr(importlib.import_module(agents._EXPORTS[name]), name), name
        assert name in dir(agents)
    with pytest.raises(AttributeError, match="module 'agents' has no attribute 'NoSuchThing'"):
        agents.NoSuchThing  # noqa: B018
