"""pamdp_bench: JAX benchmark suite for RL in parameterized action spaces."""

from pamdp_bench import distributed as _distributed

_distributed.init_from_env()  # before the registry starts the XLA backend (see the module)

from pamdp_bench.registry import (  # noqa: E402
    BENCHMARK_IDS,
    ENV_SPECS,
    GOLDEN_BENCHMARKS,
    EnvSpec,
    env_spec,
    make,
    register_with_gymnasium,
    register_with_gymnax,
    register_with_gymnax_when_imported,
    registered_ids,
)

__version__ = "0.1.0"

__all__ = [
    "BENCHMARK_IDS",
    "ENV_SPECS",
    "EnvSpec",
    "GOLDEN_BENCHMARKS",
    "__version__",
    "env_spec",
    "make",
    "register_with_gymnasium",
    "register_with_gymnax",
    "register_with_gymnax_when_imported",
    "registered_ids",
]

register_with_gymnax_when_imported()  # gymnax.make("Platform-v0") once gymnax is imported
register_with_gymnasium()  # gymnasium.make("pamdp_bench/<id>") after `import pamdp_bench`
