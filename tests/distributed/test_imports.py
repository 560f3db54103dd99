"""``import textgym`` and ``import agents`` never import ray; without ray the Ray path names its extra."""

import subprocess
import sys


def test_textgym_and_agents_import_without_ray() -> None:
    code = (
        "import sys\n"
        "import textgym, agents, agents.distributed\n"
        "from agents.distributed import RayVecEnv, BusyReward, costly_cat_text\n"
        "assert 'ray' not in sys.modules, 'ray imported by textgym/agents'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_ray_path_without_ray_names_the_extra() -> None:
    # sys.modules["ray"] = None makes `import ray` fail as if ray were not installed.
    code = (
        "import sys\n"
        "sys.modules['ray'] = None\n"
        "from agents.distributed import RayVecEnv\n"
        "try:\n"
        "    RayVecEnv('CatText-v0', n_envs=2)\n"
        "except ImportError as err:\n"
        "    assert \"pip install 'textgym[ray]'\" in str(err), err\n"
        "else:\n"
        "    raise AssertionError('no ImportError')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
