"""The offline path: protocols of dataset tasks, the runner with a dataset (resume equality,
recurrent evaluation), the refusals, and the offline table."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from pamdp_bench.analysis import offline as offline_table
from pamdp_bench.analysis.tables import table_cli
from pamdp_bench.datasets import build, catalog
from pamdp_bench.harness import runner
from pamdp_bench.harness.records import comparable, load_records
from pamdp_bench.harness.restore import checkpoint_dirs, load_trained
from pamdp_bench.protocols import load_protocol

CATCH = "CatchPoint-v0"
#: a tiny C-LAP as an agent spec (so `eval RUN_DIR` can rebuild its config)
TINY_CLAP = ("clap[actor_critic_start=10,batch_size=4,deter_size=16,hidden=[16,16],horizon=4,"
             "imagine_starts=8,latent_action_size=2,n_step=2,seq_len=8,stoch_size=4]")


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """CatchPoint's random-small dataset built into a temporary Minari root."""
    tmp = tmp_path_factory.mktemp("offline")
    manifest = str(tmp / "manifest.json")
    m = build.empty_manifest()
    m["anchors"][CATCH] = {"ref_min_score": -28.07, "ref_min_from": "envs §8.1",
                           "ref_max_score": 8.6, "ref_max_from": "test"}
    build.save_manifest(manifest, m)
    builder = build.Builder(str(tmp / "root"), manifest, str(tmp / "src"), log=lambda s: None,
                            progress=False)
    builder.build([catalog.parse_id(f"pamdp/{CATCH}/random-small-v0")])
    return str(tmp / "root")


def _protocol(tmp_path, budget: int = 40, **extra) -> str:
    lines = [
        'name = "offline_test"', f'envs = ["{CATCH}"]', 'datasets = ["random"]',
        'dataset_size = "small"', "seeds = 2", f"budget = {budget}", "eval_interval = 20",
        "eval_episodes = 4",
    ] + [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    path = tmp_path / "offline_test.toml"
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_offline_protocols_expand_to_dataset_tasks(tmp_path):
    proto = load_protocol("offline_cpu")
    tasks = proto.tasks()
    assert proto.offline and len(tasks) == 8 * 4
    assert tasks[0].dataset == "pamdp/Platform-v0/expert-v0" and tasks[0].task == tasks[0].dataset
    small = load_protocol("offline_quick").tasks(["CatchPoint-v0"])
    assert [t.dataset for t in small] == ["pamdp/CatchPoint-v0/expert-small-v0",
                                          "pamdp/CatchPoint-v0/random-small-v0"]
    assert not load_protocol("quick").offline and load_protocol("quick").tasks()[0].dataset is None
    bad = tmp_path / "bad.toml"
    bad.write_text(_protocol_text(datasets=["expert", "great"]))
    with pytest.raises(ValueError, match="dataset kinds"):
        load_protocol(str(bad))
    bad.write_text(_protocol_text(dataset_size="huge"))
    with pytest.raises(ValueError, match="dataset_size"):
        load_protocol(str(bad))


def _protocol_text(**fields) -> str:
    base = {"name": "x", "envs": [CATCH], "datasets": ["random"], "seeds": 1, "budget": 10,
            "eval_interval": 10, "eval_episodes": 1, **fields}
    return "\n".join(f"{k} = {json.dumps(v)}" for k, v in base.items()) + "\n"


def test_online_and_offline_do_not_mix(tmp_path, root):
    with pytest.raises(runner.RunError, match="offline agent"):
        runner.train("bc", "quick", str(tmp_path / "a"), envs=[CATCH])
    with pytest.raises(runner.RunError, match="online agent"):
        runner.train("pdqn", _protocol(tmp_path), str(tmp_path / "b"), dataset_root=root)


def test_a_missing_dataset_names_the_build_command(tmp_path, root):
    with pytest.raises(runner.RunError, match="datasets build --env=CatchPoint-v0"):
        runner.train("bc", _protocol(tmp_path), str(tmp_path / "c"),
                     dataset_root=str(tmp_path / "empty"), progress=False)


# CI: bc covers the offline resume path; the recurrent clap case (82 s) runs in make test-long
@pytest.mark.parametrize("agent", ["bc", pytest.param(TINY_CLAP, marks=pytest.mark.long)])
def test_offline_resume_equals_an_uninterrupted_run(tmp_path, root, agent):
    """Stop after the first evaluation, resume to the budget: records equal (bitwise numbers)
    to one run straight through; records carry the dataset; C-LAP evaluates recurrently."""
    whole = runner.train(agent, _protocol(tmp_path), str(tmp_path / "whole"),
                         dataset_root=root, progress=False)
    part = str(tmp_path / "part")
    runner.train(agent, _protocol(tmp_path, budget=20), part, dataset_root=root, progress=False)
    resumed = runner.train(agent, _protocol(tmp_path), part, dataset_root=root, progress=False,
                           resume=True)
    def same(r: dict) -> dict:  # the part run's record at 20 was its final one
        return {k: v for k, v in comparable(r).items() if k != "final"}

    assert [same(r) for r in whole] == [same(r) for r in resumed]
    assert len(whole) == 4 and {r["dataset"] for r in whole} == {
        f"pamdp/{CATCH}/random-small-v0"}
    assert os.path.isdir(os.path.join(part, "checkpoints", CATCH, "random-small-v0"))
    # `pamdp-bench eval RUN_DIR` restores the offline task and reproduces its records
    dataset = f"pamdp/{CATCH}/random-small-v0"
    assert list(checkpoint_dirs(part)) == [dataset]
    run = load_trained(part, dataset)
    assert [r["return_mean"] for r in run.evaluate()] == [
        r["return_mean"] for r in resumed if r["env_steps"] == 40]


def _record(dataset: str, agent: str, seed: int, ret: float, steps: int = 100) -> dict:
    return {"protocol": "p", "env_id": dataset.split("/")[1], "dataset": dataset,
            "agent": agent, "seed": seed, "env_steps": steps, "final": True,
            "return_mean": ret, "success_rate": 0.5}


def test_offline_scores_are_normalised_by_the_manifest_anchors():
    manifest = {"anchors": {CATCH: {"ref_min_score": -20.0, "ref_max_score": 10.0}}}
    ds = [f"pamdp/{CATCH}/expert-v0", f"pamdp/{CATCH}/random-v0"]
    recs = [_record(d, a, s, r) for d in ds for a, base in (("bc", -5.0), ("clap", 4.0))
            for s, r in enumerate([base, base + 3.0, base + 6.0])]
    recs.append(_record(ds[0], "bc", 0, 99.0, steps=50) | {"final": False})
    cells = {(c.dataset, c.agent): c for c in offline_table.cells(recs, manifest)}
    np.testing.assert_allclose(cells[(ds[0], "bc")].normalized, [50.0, 60.0, 70.0])
    aggs, imps = offline_table.aggregates(list(cells.values()), reps=100, seed=0)
    overall = {a.agent: a for a in aggs if a.scope == "all"}
    assert overall["clap"].intervals["mean"].point == pytest.approx(90.0)
    (_, x, y, _, iv), = imps
    assert (x, y) == ("clap", "bc") and iv.point == pytest.approx(1.0)
    with pytest.raises(ValueError, match="anchors for Goal-v0"):
        offline_table.anchors(manifest, "Goal-v0")


def test_offline_curves_use_the_tables_std():
    """Per (dataset, agent, step): mean and std over seeds with ddof=1, as every other table
    (NaN for a single seed)."""
    manifest = {"anchors": {CATCH: {"ref_min_score": -20.0, "ref_max_score": 10.0}}}
    ds = f"pamdp/{CATCH}/expert-v0"
    recs = [_record(ds, "bc", s, r) for s, r in enumerate([-5.0, -2.0, 1.0])]
    recs.append(_record(ds, "bc", 0, 10.0, steps=50))
    steps, mean, std = offline_table.curves(recs, manifest)[(ds, "bc")]
    assert steps.tolist() == [50, 100]
    np.testing.assert_allclose(mean, [100.0, 60.0])
    assert np.isnan(std[0]) and std[1] == pytest.approx(10.0)  # ddof=0 would give 8.16


def test_table_cli_builds_the_offline_table_and_refuses_mixed_records(tmp_path, root, capsys):
    runs = tmp_path / "runs"
    runner.train("bc", _protocol(tmp_path), str(runs / "bc"), dataset_root=root, progress=False)
    manifest = str(tmp_path / "manifest.json")
    with open(manifest, "w") as f:
        json.dump(dict(build.empty_manifest(), anchors={CATCH: {
            "ref_min_score": -28.07, "ref_max_score": 8.6}}), f)
    assert table_cli([str(runs)], str(tmp_path / "t"), manifest=manifest, reps=50) == 0
    out = capsys.readouterr().out
    assert "random-small-v0" in out and "`bc`" in out
    assert os.path.exists(tmp_path / "t" / "curves.png")
    rec = load_records([str(runs)])[0]
    mixed = tmp_path / "mixed.jsonl"
    online_rec = {k: v for k, v in rec.items() if k != "dataset"}
    mixed.write_text(json.dumps(rec) + "\n" + json.dumps(online_rec | {"env_steps": 7}) + "\n")
    assert table_cli([str(mixed)], str(tmp_path / "m"), manifest=manifest) == 2
    assert "offline" in capsys.readouterr().err
