"""Every registered agent's ``train`` chunk compiles once: the state it returns has exactly the
structure, shapes, dtypes and weak types of the state it was given, so the harness's second and
later chunks (and resumed runs) reuse the first compilation instead of re-tracing.

Checked with ``pamdp_bench.testing.check_agent`` (``jax.eval_shape``: tracing only, no
compilation), plus one real double call under
a trace counter for a cheap agent, which is what the aval check stands for.
"""

from __future__ import annotations

from typing import Any

import jax
import pytest

from pamdp_bench.agents import available_agents, get_agent, supports
from pamdp_bench.registry import make
from pamdp_bench.testing import check_agent

ENV_ID = "CatchPoint-v0"  # small, and every agent family has defaults for it


# CI: every agent under the default view, and under HyAR's view one agent per network family
# (Q-network + parameter actor, latent-action actor-critic, hybrid PPO); every agent under both
# views in make test-long (~30 s of compilations)
HYAR_VIEW_CI = ("pdqn", "hyar_td3", "hppo")


@pytest.mark.parametrize(("name", "obs_view"), [
    (name, view) if view == "dlpa" or name in HYAR_VIEW_CI
    else pytest.param(name, view, marks=pytest.mark.long)
    for name in available_agents() for view in ("dlpa", "hyar")])
def test_train_state_is_a_fixed_point_of_its_avals(name: str, obs_view: str) -> None:
    """Also under HyAR's 4-dim Catch Point view (the HyAR protocol's): agents size their
    networks from the params' observation space, not the env's default. The check is the one
    third-party authors get (``pamdp_bench.testing.check_agent``; it also checks ``act``)."""
    if not supports(name, ENV_ID):
        pytest.skip(f"{name} has no policy for {ENV_ID}")
    check_agent(name, ENV_ID, env_params=make(ENV_ID, obs_view=obs_view))


def test_train_traces_once_across_chunks() -> None:
    """Two chunks through one ``jit`` trace the training step once (``pdqn``, tiny nets)."""
    import dataclasses

    cls = get_agent("pdqn")
    env, params = make(ENV_ID)
    cfg = dataclasses.replace(cls.default_config(ENV_ID), hidden_q=(8,), hidden_param=(8,),
                              batch_size=8, learning_starts=8)
    agent = cls(env, params, cfg)
    traces = []

    def chunk(s: Any) -> Any:
        traces.append(1)
        return agent.train(s, 10)

    f = jax.jit(chunk)
    state = agent.init(jax.random.key(0))
    state, _ = f(state)
    state, _ = f(state)
    assert len(traces) == 1
