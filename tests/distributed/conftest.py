import os

import pytest

RAY_MISSING = "the Ray tests need the optional extra: pip install -e '.[ray]' (CI: .ci/ray)"


@pytest.fixture(scope="session")
def ray_local():
    """Ray's local mode as in CI and on a laptop: one node, two CPUs, no cluster."""
    if os.environ.get("RAY_REQUIRED"):
        import ray  # .ci/ray: a missing ray fails there instead of skipping
    else:
        ray = pytest.importorskip("ray", reason=RAY_MISSING)
    ray.init(num_cpus=2, include_dashboard=False)
    yield ray
    ray.shutdown()
