"""Agent bench suites: a partial re-bench replaces only its agents' rows; a malformed earlier
file is refused and left as it was."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from pamdp_bench.tools import bench_agents


def _fake_bench(agent: str, env_id: str, seeds: int = 1, log: Any = None, repeats: int = 5,
                chunk: int = 1000) -> dict[str, Any]:
    return {"agent": agent, "env": env_id, "seeds": seeds, "env_steps_per_second": 100.0 * seeds,
            "env_steps_per_second_per_seed": 100.0, "compile_seconds": 1.0,
            "load_average_1min": 0.0, "repeats": repeats, "chunk": chunk}


@pytest.fixture(autouse=True)
def _no_timing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench_agents, "bench_agent", _fake_bench)
    monkeypatch.setattr(bench_agents, "matmul_peak", lambda: 1.0)


def test_partial_rebench_keeps_other_agents_rows(tmp_path: Any) -> None:
    path = bench_agents.run_suite("modelfree", str(tmp_path), agents=["pdqn", "hppo"],
                                  log=lambda _: None)
    with open(path) as f:
        first = json.load(f)
    assert [(r["agent"], r["seeds"]) for r in first["rows"]] == [
        ("pdqn", 1), ("pdqn", 8), ("hppo", 1), ("hppo", 8)]
    bench_agents.run_suite("modelfree", str(tmp_path), agents=["pdqn"], log=lambda _: None)
    with open(path) as f:
        second = json.load(f)
    assert [(r["agent"], r["seeds"]) for r in second["rows"]] == [
        ("pdqn", 1), ("pdqn", 8), ("hppo", 1), ("hppo", 8)]
    assert "| hppo |" in open(os.path.join(tmp_path, "modelfree.md")).read()


def test_qmle_suite_rows_use_its_chunk_and_repeats(tmp_path: Any) -> None:
    path = bench_agents.run_suite("qmle", str(tmp_path), log=lambda _: None)
    with open(path) as f:
        rows = json.load(f)["rows"]
    assert len(rows) == 8 and {(r["chunk"], r["repeats"]) for r in rows} == {(200, 3)}
    assert "| qmle | HardMove-n16-v0 | 8 |" in open(os.path.join(tmp_path, "qmle.md")).read()


def test_malformed_previous_file_is_refused_and_kept(tmp_path: Any) -> None:
    path = os.path.join(tmp_path, "modelfree.json")
    with open(path, "w") as f:
        f.write('{"suite": "modelfree", "rows": [')
    with pytest.raises(ValueError, match="modelfree.json: cannot keep its rows"):
        bench_agents.run_suite("modelfree", str(tmp_path), agents=["pdqn"], log=lambda _: None)
    assert open(path).read() == '{"suite": "modelfree", "rows": ['


# make test-long: 15-30 s (BC's training compiled for the bench); the offline agents' random
# episodes are built in CI by test_clap's dataset fixture, the bench table by the fake above
@pytest.mark.long
def test_offline_agents_bench_gradient_steps_on_random_episodes(monkeypatch) -> None:
    """The real bench_train (not the fake above) on BC: a dataset is made, the rate is in
    gradient steps, and the suite's table reads those columns."""
    monkeypatch.undo()
    monkeypatch.setattr(bench_agents, "OFFLINE_BENCH_TRANSITIONS", 500)
    row = bench_agents.bench_train("bc", "CatchPoint-v0", seeds=2, chunk=5, repeats=1,
                                   log=lambda _: None)
    assert row["gradient_steps_per_second"] > 0 and row["dataset_transitions"] == 500
    assert row["gradient_steps_per_second_per_seed"] == row["gradient_steps_per_second"] / 2
    md = bench_agents.suite_markdown({"suite": "offline", "rows": [row]})
    assert "| bc | CatchPoint-v0 | 2 |" in md and "gradient steps/s" in md


def test_cost_per_step_and_seed_divides_the_vmapped_step_by_its_seeds() -> None:
    """4 seeds at 800 env steps/s summed: a seed's step costs 1.25 ms (the vmapped step,
    5 ms, advances all four)."""
    row = {"agent": "pdqn", "env": "Platform-v0", "seeds": 4, "env_steps_per_second": 800.0,
           "env_steps_per_second_per_seed": 200.0, "compile_seconds": 1.0,
           "load_average_1min": 0.0}
    assert "| 800 | 200 | 1.25 |" in bench_agents.suite_markdown({"suite": "modelfree",
                                                                  "rows": [row]})
    row = {"agent": "bc", "env": "Platform-v0", "seeds": 4, "gradient_steps_per_second": 800.0,
           "gradient_steps_per_second_per_seed": 200.0, "compile_seconds": 1.0,
           "load_average_1min": 0.0}
    assert "| 800.0 | 200.0 | 1.25 |" in bench_agents.suite_markdown({"suite": "offline",
                                                                      "rows": [row]})


def test_qmle_table_shows_flops_per_step_and_share_of_peak() -> None:
    row = {"agent": "qmle", "env": "CatchPoint-v0", "seeds": 1, "env_steps_per_second": 50.0,
           "env_steps_per_second_per_seed": 50.0, "compile_seconds": 1.0,
           "load_average_1min": 0.0, "flops_per_env_step_per_seed": 8e8,
           "fraction_of_peak": 0.5}
    assert "| 0.80 | 50% |" in bench_agents.suite_markdown({"suite": "qmle", "rows": [row]})
    row = {k: v for k, v in row.items() if k not in ("flops_per_env_step_per_seed",
                                                      "fraction_of_peak")}
    assert "|  |  |" in bench_agents.suite_markdown({"suite": "qmle", "rows": [row]})


# make test-long: 60 s (three QMLE act + update compilations); the table's FLOP columns are
# pinned in CI by the test above
@pytest.mark.long
def test_flops_per_env_step_is_act_plus_update_over_train_every() -> None:
    """The FLOP column: one act plus one update over ``train_every`` (QMLE: 1 in 10), from
    XLA's cost analysis; acting's share grows with the candidates scored (``m_greedy``)."""
    import dataclasses

    import jax

    from pamdp_bench.agents import get_agent
    from pamdp_bench.registry import make

    env, params = make("CatchPoint-v0")
    cls = get_agent("qmle")
    base = dataclasses.replace(cls.default_config("CatchPoint-v0"), hidden_obs=16,
                               hidden_act=16, hidden_mle=16, batch_size=8, buffer_size=64,
                               m_target=4)
    counts = {}
    for m, every in ((100, 10), (200, 10), (100, 1)):
        cfg = dataclasses.replace(base, m_greedy=m, train_every=every)
        agent = cls(env, params, cfg)
        counts[m, every] = bench_agents._flops_per_env_step(agent, agent.init(jax.random.key(0)))
    act_100 = (10 * counts[100, 10] - counts[100, 1]) / 9  # solve act + u/10, act + u
    update = counts[100, 1] - act_100
    assert act_100 > 0 and update > 0
    assert counts[200, 10] - update / 10 == pytest.approx(2 * act_100, rel=0.1)
    dlpa = get_agent("dlpa")(env, params, get_agent("dlpa").default_config("CatchPoint-v0"))
    assert bench_agents._flops_per_env_step(dlpa, None) is None  # not an off-policy agent


def test_an_agent_that_does_not_fit_in_memory_gets_an_error_row(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """P-DQN at Hard Move n=16 (a 26 GB replay): the suite records the failure and goes on."""
    import jax

    def bench(agent: str, env_id: str, **kw: Any) -> dict[str, Any]:
        if env_id == "HardMove-n16-v0":
            raise jax.errors.JaxRuntimeError(
                "INTERNAL: Error dispatching computation: Out of memory allocating "
                "26214400000 bytes.")
        return _fake_bench(agent, env_id, **kw)

    monkeypatch.setattr(bench_agents, "bench_agent", bench)
    path = bench_agents.run_suite("scale", str(tmp_path), agents=["pdqn"], log=lambda _: None)
    with open(path) as f:
        rows = {r["env"]: r for r in json.load(f)["rows"]}
    assert len(rows) == 7 and "error" not in rows["HardMove-n14-v0"]
    assert rows["HardMove-n16-v0"]["requested_bytes"] == 26_214_400_000
    assert rows["HardMove-n16-v0"]["error"].startswith("out of memory: an allocation of 26.2 GB")
    md = open(os.path.join(tmp_path, "scale.md")).read()
    assert "| pdqn | HardMove-n14-v0 | 10.0 |" in md and "| pdqn | HardMove-n16-v0 |" not in md
    assert "- pdqn on HardMove-n16-v0, 1 seed(s): out of memory" in md


def test_other_runtime_errors_are_not_recorded_as_rows(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import jax

    def bench(agent: str, env_id: str, **kw: Any) -> dict[str, Any]:
        raise jax.errors.JaxRuntimeError("INTERNAL: something else broke")

    monkeypatch.setattr(bench_agents, "bench_agent", bench)
    with pytest.raises(jax.errors.JaxRuntimeError, match="something else"):
        bench_agents.run_suite("scale", str(tmp_path), agents=["pdqn"], log=lambda _: None)


def test_a_rebench_of_some_envs_keeps_the_agents_other_rows(tmp_path: Any) -> None:
    path = bench_agents.run_suite("qmle", str(tmp_path), log=lambda _: None)
    with open(path) as f:
        before = json.load(f)["rows"]
    bench_agents.run_suite("qmle", str(tmp_path), log=lambda _: None,
                           envs=["HardMove-n16-v0"])
    with open(path) as f:
        after = json.load(f)["rows"]
    assert [(r["env"], r["seeds"]) for r in after] == [(r["env"], r["seeds"]) for r in before]
    with pytest.raises(ValueError, match=r"\['Goal-v0'\] are not in the qmle suite"):
        bench_agents.run_suite("qmle", str(tmp_path), log=lambda _: None, envs=["Goal-v0"])


def test_a_part_returning_the_state_runs_donated_and_carried() -> None:
    """The updates part runs as in the runner: its state is donated and carried from call to
    call (not copied into new buffers each time); the caller's state is left intact for the
    other parts. A part returning something else is called on the caller's state."""
    import jax
    import jax.numpy as jnp

    state = {"x": jnp.zeros(3), "n": jnp.asarray(0)}
    key = jax.random.key(0)
    _, call = bench_agents._part_caller(lambda s, k: {"x": s["x"] + 1.0, "n": s["n"] + 1},
                                        state, key)
    call()
    out = call()
    assert int(out["n"]) == 2 and float(out["x"][0]) == 2.0
    assert int(state["n"]) == 0 and not state["x"].is_deleted()
    _, call_sum = bench_agents._part_caller(lambda s, k: jnp.sum(s["x"]) + s["n"], state, key)
    assert float(call_sum()) == 0.0 and float(call_sum()) == 0.0
