"""Shared fixtures (where the golden data lives: ``PAMDP_GOLDEN_DIR``, default
../shared/golden) and the ``slow`` mark of measured slow tests.

``tests/slow_tests.txt`` lists the test ids that took 3 s or more (setup + call) on the
project's idle 2-core machine; they are marked ``slow`` here, so ``make test-fast``
(``-m 'not slow'``) stays a quick loop while ``make test`` (CI) runs everything. Regenerate the
list with ``make slow-tests`` after adding expensive tests; a test may also carry
``@pytest.mark.slow`` itself.

XLA compilations are cached on disk for the test run (``JAX_COMPILATION_CACHE_DIR``, default
``.pytest_cache/jax``; compilations of 1 s or more): many tests, the two xdist workers and the
CLI tests' subprocesses compile the same programs (an agent's train chunk, an env's step), and
compiling dominates the suite's time on a CPU. A cached executable is the same program, so the
numbers do not change.

Each xdist worker runs XLA's CPU ops without Eigen's thread pool
(``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false``), set here before jax is imported and
inherited by the tests' subprocesses: two workers on two cores otherwise oversubscribe them with
Eigen's spinning thread pools (measured: 15% less CPU time for the P-DQN and HyAR test files
under ``-n 2``). The trained states of P-DQN, DLPA and H-PPO were checked bit-identical with and
without the flag.
"""

from __future__ import annotations

import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(REPO, ".pytest_cache", "jax"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "1")
# Dataset builds seed the loader's cache: keep the tests' entries out of the user's ~/.cache.
os.environ.setdefault("PAMDP_BENCH_CACHE", os.path.join(REPO, ".pytest_cache", "datasets"))
SINGLE_THREADED_XLA = "--xla_cpu_multi_thread_eigen=false"
if "xla_cpu_multi_thread_eigen" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {SINGLE_THREADED_XLA}".strip()


def golden_dir() -> str:
    return os.environ.get("PAMDP_GOLDEN_DIR", os.path.join(REPO, "..", "shared", "golden"))


@pytest.fixture(scope="session")
def golden() -> str:
    path = golden_dir()
    if not os.path.isdir(path):
        pytest.skip(f"golden data not found at {path} (set PAMDP_GOLDEN_DIR)")
    return path


def _slow_ids() -> set[str]:
    path = os.path.join(REPO, "tests", "slow_tests.txt")
    if not os.path.exists(path):
        return set()
    with open(path) as f:
        return {line.strip() for line in f if line.strip() and not line.startswith("#")}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    slow = _slow_ids()
    for item in items:
        if item.nodeid in slow:
            item.add_marker(pytest.mark.slow)
