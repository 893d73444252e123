"""Several processes (hosts) from environment variables, before anything touches a device.

``jax.distributed.initialize`` must run before the XLA backend starts, and importing the env
registry may start it (gymnax, once imported, builds arrays), so no command-line flag can be
read in time. ``import pamdp_bench`` therefore calls ``init_from_env`` first:

``PAMDP_BENCH_COORDINATOR=HOST:PORT`` with ``PAMDP_BENCH_NUM_PROCESSES=N`` and
``PAMDP_BENCH_PROCESS_ID=I``
    process I of N, coordinated at HOST:PORT (a plain multi-host launch);
``PAMDP_BENCH_COORDINATOR=auto``
    JAX's cluster detection (Slurm's ``srun``, and the other launchers JAX knows).

Unset: a single process (nothing happens). Each process then trains its slice of the seeds
and writes its own results file (``harness.runner``).
"""

from __future__ import annotations

import os

COORDINATOR = "PAMDP_BENCH_COORDINATOR"
NUM_PROCESSES = "PAMDP_BENCH_NUM_PROCESSES"
PROCESS_ID = "PAMDP_BENCH_PROCESS_ID"


def init_from_env(environ: dict[str, str] | None = None) -> bool:
    """Initialise ``jax.distributed`` from the variables above; True if it did."""
    env = os.environ if environ is None else environ
    coordinator = env.get(COORDINATOR)
    count, index = env.get(NUM_PROCESSES), env.get(PROCESS_ID)
    if not coordinator:
        if count or index:
            raise ValueError(f"{NUM_PROCESSES} / {PROCESS_ID} are set but {COORDINATOR} is "
                             "not")
        return False
    import jax

    if coordinator == "auto":
        jax.distributed.initialize()
        return True
    try:
        n, i = int(count or ""), int(index or "")
    except ValueError:
        raise ValueError(f"{COORDINATOR}={coordinator} needs integer {NUM_PROCESSES} and "
                         f"{PROCESS_ID} (got {count!r}, {index!r})") from None
    if not 0 <= i < n:
        raise ValueError(f"{PROCESS_ID} must be in [0, {n}), got {i}")
    jax.distributed.initialize(coordinator_address=coordinator, num_processes=n, process_id=i)
    return True
