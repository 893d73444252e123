"""``pamdp-bench eval RUN_DIR``: a trained run loads from its checkpoints and re-evaluates to
its own records; bad paths, steps and changed configs are clear errors."""

from __future__ import annotations

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from pamdp_bench.cli.main import main
from pamdp_bench.harness import restore, runner

AGENT = "pdqn[batch_size=8,hidden_param=[8],hidden_q=[8],initial_memory=8]"


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    out = str(tmp_path_factory.mktemp("restore") / "run")
    runner.train(AGENT, "quick", out, envs=["CatchPoint-v0"], seeds=2, budget=60,
                 eval_interval=30, eval_episodes=4, progress=False)
    return out


def test_restored_states_reproduce_the_runs_records(run_dir: str) -> None:
    run = restore.load_trained(run_dir, "CatchPoint-v0")
    assert run.step == 60 and run.seeds == [0, 1] and run.meta["agent"] == AGENT
    rows = run.evaluate()
    with open(os.path.join(run_dir, "results.jsonl")) as f:
        records = {r["seed"]: r for r in map(json.loads, f) if r["env_steps"] == 60}
    for row in rows:
        assert row["return_mean"] == records[row["seed"]]["return_mean"]  # bitwise
        assert row["success_rate"] == records[row["seed"]]["success_rate"]
    earlier = restore.load_trained(run_dir, "CatchPoint-v0", step=30)
    assert earlier.step == 30
    assert [r["return_mean"] for r in earlier.evaluate()] != [r["return_mean"] for r in rows]


def test_state_of_gives_jax_arrays_a_traced_index_can_read(run_dir: str) -> None:
    """A jitted policy closing over one seed's state may index a weight by its traced discrete
    action (DLPA does): restored numpy leaves made ``render --run`` fail on DLPA runs."""
    run = restore.load_trained(run_dir, "CatchPoint-v0")
    state = run.state_of(1)
    leaves = jax.tree.leaves(state)
    assert leaves and all(isinstance(x, jax.Array) for x in leaves)
    def data(x: jax.Array) -> np.ndarray:
        is_key = jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key)
        return np.asarray(jax.random.key_data(x) if is_key else x)

    for one, stacked in zip(leaves, jax.tree.leaves(run.states), strict=True):
        np.testing.assert_array_equal(data(one), data(stacked)[1])  # seed 1's row
    w = next(x for x in leaves if x.ndim == 2)
    np.testing.assert_array_equal(jax.jit(lambda i: w[i])(jnp.int32(0)), w[0])


def test_eval_cli_prints_the_table(run_dir: str, capsys) -> None:
    assert main(["pamdp-bench", "eval", run_dir, "--episodes=3"]) == 0
    out = capsys.readouterr().out
    assert out.count("| CatchPoint-v0 | pdqn[") == 2 and "mean over 2 seeds" in out
    assert main(["pamdp-bench", "eval", run_dir]) == 0
    assert capsys.readouterr().out.count("| same |") == 2  # the protocol's episodes: the records


@pytest.mark.parametrize(("args", "message"), [
    (["/no/such/run"], "no such run directory"),
    (["{tmp}"], "has no checkpoints/ directory"),
    (["{run}", "--step=45"], "no checkpoint at 45 env steps (kept: 30, 60"),
    (["{run}", "--env=Goal-v0"], "has no checkpoints for Goal-v0"),
    (["{run}", "--agent=random"], "RUN_DIR or --agent, not both"),
    (["--step=3"], "--step needs RUN_DIR"),
])
def test_bad_runs_are_one_line_errors(run_dir: str, tmp_path, capsys, args, message) -> None:
    args = [a.format(tmp=tmp_path, run=run_dir) for a in args]
    assert main(["pamdp-bench", "eval", *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error:") and message in err, err


def test_a_config_that_changed_since_the_run_is_refused(run_dir: str) -> None:
    d = restore.checkpoint_dirs(run_dir)["CatchPoint-v0"][0]
    from pamdp_bench.harness.checkpoints import RunCheckpointer

    ck = RunCheckpointer(d)
    meta = ck.read_meta(60)
    ck.close()
    meta["hash_inputs"]["agent_config"]["gamma"] = 0.5
    with pytest.raises(restore.RestoreError, match="gamma: 0.5 ->"):
        restore._agent_for({**meta, "step": 60}, d)


def test_render_a_trained_agent(run_dir: str, tmp_path, capsys) -> None:
    out = str(tmp_path / "frames")
    assert main(["pamdp-bench", "render", "--env=CatchPoint-v0", f"--run={run_dir}",
                 "--seed=1", "--step=30", "--tries=2", f"--out={out}"]) == 0
    assert os.path.exists(os.path.join(out, "CatchPoint-v0_seed1.gif"))
    assert main(["pamdp-bench", "render", "--env=CatchPoint-v0", f"--run={run_dir}",
                 "--seed=5", f"--out={out}"]) == 2
    assert "seed 5 is not in this run (seeds [0, 1])" in capsys.readouterr().err
    assert main(["pamdp-bench", "render", "--step=30"]) == 2
    assert "--step needs --run" in capsys.readouterr().err
