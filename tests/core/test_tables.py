"""The table writer on synthetic result records: files, published numbers, malformed input."""

from __future__ import annotations

import csv
import json
import os

import numpy as np
import pytest

from pamdp_bench.analysis import tables
from pamdp_bench.harness.records import SCHEMA, append_records

PROV = {"package_version": "0", "git_commit": "x", "jax_version": "0", "jaxlib_version": "0",
        "device_kind": "cpu", "host": "h"}
RANGES = {"Platform-v0": (0.15, 1.0), "Goal-v0": (-8.0, 50.0), "CatchPoint-v0": (-28.0, 8.6),
          "HardMove-n4-v0": (-33.0, 6.3)}


def rec(protocol, env, agent, seed, steps, ret, succ, final):
    return dict(schema=SCHEMA, protocol=protocol, env_id=env, agent=agent, seed=seed,
                env_steps=steps, eval_episodes=10, return_mean=float(ret), return_std=1.0,
                success_rate=float(succ), length_mean=5.0, final=final, config_hash="c",
                wall_time_s=1.0, provenance=PROV)


def synthetic(protocols=("dlpa", "hyar"), seeds=3, skip_random_hyar_move=False):
    rng = np.random.default_rng(0)
    out = []
    for protocol in protocols:
        for env, (lo, hi) in RANGES.items():
            for agent, skill in (("dlpa", 0.8), ("hyar_td3", 0.9), ("random", 0.0)):
                if (skip_random_hyar_move and agent == "random" and protocol == "hyar"
                        and env.startswith("HardMove")):
                    continue
                for seed in range(seeds):
                    for steps in (500, 1000):
                        sk = skill * steps / 1000
                        ret = lo + sk * (hi - lo) + rng.normal() * 0.05 * (hi - lo)
                        succ = float(np.clip(sk + rng.normal() * 0.05, 0, 1))
                        out.append(rec(protocol, env, agent, seed, steps, ret, succ,
                                       steps == 1000))
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("tables")
    results = base / "runs"
    append_records(str(results / "a" / "results.jsonl"), synthetic()[:150])
    append_records(str(results / "b" / "results.jsonl"), synthetic()[150:])
    out = base / "out"
    code = tables.table_cli([str(results)], str(out))
    return code, out


def test_table_cli_writes_every_file(built, capsys):
    code, out = built
    assert code == 0
    names = set(os.listdir(out))
    expected = {"scores.md", "scores.csv", "aggregates.md", "aggregates.csv", "improvement.csv",
                "curves.csv", "profiles.csv", "ANCHORS.md", "profiles_dlpa.png",
                "profiles_hyar.png", "aggregates_dlpa.png", "aggregates_hyar.png"}
    expected |= {f"curves_{p}_{e}.png" for p in ("dlpa", "hyar") for e in RANGES}
    assert expected <= names, expected - names
    for name in names:
        assert os.path.getsize(out / name) > 0, name
        if name.endswith(".png"):
            assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_scores_markdown_and_csv(built):
    _, out = built
    md = (out / "scores.md").read_text()
    assert "## Protocol `dlpa`" in md and "## Protocol `hyar`" in md
    # published numbers beside ours, with unit, source and protocol; † on the other protocol
    assert "return 0.92 ± 0.05 (DLPA T1 [2nd]; dlpa) |" in md  # dlpa under dlpa: no mark
    assert "return 0.92 ± 0.05 (DLPA T1 [2nd]; dlpa) † |" in md  # dlpa under hyar
    assert "succ 0.78 ± 0.03 (HyAR T2; hyar) |" in md
    assert "succ 0.78 ± 0.03 (HyAR T2; hyar) † |" in md
    assert "| Platform | `hyar_td3` | 3 | 1,000 |" in md
    assert "ddof=1" in md and "upper = max of" in md
    with open(out / "scores.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * 4 * 3
    row = next(r for r in rows if (r["protocol"], r["env_id"], r["agent"])
               == ("hyar", "Goal-v0", "hyar_td3"))
    assert row["published_metric"] == "success" and float(row["published_mean"]) == 0.78
    assert row["published_same_protocol"] == "True" and row["n"] == "3"
    assert float(row["anchor_upper"]) == 50.0 and float(row["anchor_random"]) == -8.12
    for key in ("return_mean", "return_std", "success_mean", "normalized_mean"):
        assert np.isfinite(float(row[key]))
    rnd = [r for r in rows if r["agent"] == "random" and r["protocol"] == "dlpa"]
    assert all(abs(float(r["normalized_mean"])) < 0.2 for r in rnd)


def test_aggregates_outputs(built):
    _, out = built
    md = (out / "aggregates.md").read_text()
    for word in ("Mean", "Median", "IQM", "Optimality gap", "stratified bootstrap",
                 "P(row > column)", "### Normalized return", "### Success rate"):
        assert word in md
    with open(out / "aggregates.csv") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        assert float(r["lo"]) <= float(r["point"]) + 1e-12 <= float(r["hi"]) + 2e-12
    iqm = {r["agent"]: float(r["point"]) for r in rows
           if r["protocol"] == "dlpa" and r["metric"] == "normalized" and r["statistic"] == "iqm"}
    assert iqm["hyar_td3"] > iqm["dlpa"] > iqm["random"]
    with open(out / "improvement.csv") as f:
        imp = list(csv.DictReader(f))
    pair = next(r for r in imp if (r["protocol"], r["metric"], r["x"], r["y"])
                == ("dlpa", "normalized", "dlpa", "random"))
    assert float(pair["p_x_better"]) == 1.0 and pair["n_envs"] == "4"
    with open(out / "curves.csv") as f:
        curves = list(csv.DictReader(f))
    assert {r["metric"] for r in curves} == {"return", "success"}
    assert {int(r["env_steps"]) for r in curves} == {500, 1000}
    anchors = (out / "ANCHORS.md").read_text()
    assert "Upper anchor rule" in anchors and "suite `random` agent under hyar (cap 30)" in anchors


def test_missing_hard_move_cap_30_anchor_is_marked(tmp_path):
    path = tmp_path / "r.jsonl"
    records = [r for r in synthetic(("hyar",), seeds=2, skip_random_hyar_move=True)
               if r["env_id"] in ("HardMove-n4-v0", "CatchPoint-v0")]
    append_records(str(path), records)
    out = tables.build_tables(records, str(tmp_path / "out"), reps=100, plots=False)
    md = (tmp_path / "out" / "scores.md").read_text()
    assert "n/a (anchor)" in md and "n/a: evaluation cap 30 != 25" in md
    assert "Envs without normalized scores" in out.markdown


def test_non_final_seeds_are_flagged(tmp_path):
    records = [r for r in synthetic(("dlpa",), seeds=2) if r["env_id"] == "Platform-v0"]
    records = [r for r in records if not (r["seed"] == 1 and r["env_steps"] == 1000)]
    for r in records:
        r["warmup_steps"] = 5000  # uncounted warm-up (HyAR) is shown beside the counted steps
    tables.build_tables(records, str(tmp_path), reps=50, plots=False)
    md = (tmp_path / "scores.md").read_text()
    assert "500–1,000 (+5,000 warm-up) (1 not final)" in md
    with open(tmp_path / "scores.csv") as f:
        (row,) = [r for r in csv.DictReader(f) if r["agent"] == "dlpa"]
    assert row["warmup_steps_max"] == "5000" and row["all_final"] == "False"


def test_records_of_two_configs_are_not_pooled(tmp_path):
    """Same agent name, two config hashes (defaults changed between runs): two rows, each with
    its own seeds and the agent's published number; one hash keeps the plain name."""
    old = [r for r in synthetic(("hyar",), seeds=2) if r["env_id"] == "Platform-v0"
           and r["agent"] == "hyar_td3"]
    new = [{**r, "config_hash": "0123456789abcdef", "return_mean": 0.2} for r in old]
    tables.build_tables(old + new, str(tmp_path), reps=50, plots=False)
    with open(tmp_path / "scores.csv") as f:
        rows = {r["agent"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"hyar_td3@c", "hyar_td3@01234567"}
    assert rows["hyar_td3@01234567"]["n"] == rows["hyar_td3@c"]["n"] == "2"
    assert float(rows["hyar_td3@01234567"]["return_mean"]) == pytest.approx(0.2)
    md = (tmp_path / "scores.md").read_text()
    assert md.count("return 0.98 ± 0.01 (HyAR T2; hyar)") == 2
    tables.build_tables(old, str(tmp_path / "one"), reps=50, plots=False)
    with open(tmp_path / "one" / "scores.csv") as f:
        assert [r["agent"] for r in csv.DictReader(f)] == ["hyar_td3"]


def _write_lines(path, lines, end="\n"):
    with open(path, "w") as f:
        f.write("\n".join(lines) + end)


@pytest.mark.parametrize("case", ["bad_json", "missing_field", "truncated"])
def test_malformed_file_is_rejected_with_file_and_line(tmp_path, capsys, case):
    good = [json.dumps(r) for r in synthetic(("dlpa",), seeds=1)[:4]]
    path = tmp_path / "bad.jsonl"
    if case == "bad_json":
        _write_lines(path, good[:2] + ["{not json"] + good[2:])
        where, what = f"{path}:3", "not valid JSON"
    elif case == "missing_field":
        broken = json.loads(good[1])
        del broken["success_rate"]
        _write_lines(path, [good[0], json.dumps(broken)] + good[2:])
        where, what = f"{path}:2", "success_rate"
    else:
        _write_lines(path, good + ['{"schema": "pamdp'], end="")
        where, what = f"{path}:5", "truncated"
    code = tables.table_cli([str(tmp_path)], str(tmp_path / "out"))
    err = capsys.readouterr().err
    assert code == 2
    assert where in err and what in err
    assert not (tmp_path / "out").exists()


def test_cli_errors(tmp_path, capsys):
    assert tables.table_cli([str(tmp_path / "nope")], str(tmp_path / "o")) == 2
    assert "no such file" in capsys.readouterr().err
    assert tables.table_cli([str(tmp_path)], str(tmp_path / "o")) == 2  # empty directory
    assert "no result records" in capsys.readouterr().err
    path = tmp_path / "r.jsonl"
    append_records(str(path), synthetic(("dlpa",), seeds=1)[:4])
    assert tables.table_cli([str(path)], str(tmp_path / "o"), protocol="hyar") == 2
    assert "protocols present: dlpa" in capsys.readouterr().err
    (tmp_path / "bin.jsonl").write_bytes(b"\xff\xfe\x00garbage\n")
    assert tables.table_cli([str(tmp_path)], str(tmp_path / "o")) == 2
    assert "bin.jsonl" in capsys.readouterr().err


def test_training_metrics_per_evaluation_point(tmp_path, capsys):
    """``--train_metrics``: mean and sample std over the seeds that report a metric, per
    evaluation point; a name no record has is refused (exit 2) before anything is written."""
    base = [r for r in synthetic(("dlpa",), seeds=3) if r["env_id"] == "Platform-v0"
            and r["agent"] == "dlpa"]
    records = []
    for r in base:
        tm = {"loss": 0.1 * r["seed"] + r["env_steps"] / 1e5, "flag": True}
        if r["seed"] == 2:
            tm["extra"] = 7.0
        records.append({**r, "train_metrics": tm})
    rows = tables.train_metric_rows(records, ["loss", "extra"])
    last = max(r["env_steps"] for r in records)
    loss = next(r for r in rows if r["metric"] == "loss" and r["env_steps"] == last)
    assert loss["n"] == 3 and loss["mean"] == pytest.approx(0.1 + last / 1e5)
    assert loss["std"] == pytest.approx(0.1)
    extra = [r for r in rows if r["metric"] == "extra"]
    assert {r["n"] for r in extra} == {1} and np.isnan(extra[0]["std"])
    with pytest.raises(ValueError, match=r"no record has training metric\(s\) \['nope'\]; "
                                         r"the records have: extra, flag, loss"):
        tables.train_metric_rows(records, ["nope"])
    path = tmp_path / "r.jsonl"
    append_records(str(path), records)
    out = tmp_path / "o"
    assert tables.table_cli([str(path)], str(out), reps=50, train_metrics=["nope"]) == 2
    assert "nope" in capsys.readouterr().err and not out.exists()
    assert tables.table_cli([str(path)], str(out), reps=50, train_metrics=["loss", "extra"]) == 0
    md = (out / "train_metrics.md").read_text()
    assert "| `loss` | `extra` |" in md and "7 (1)" in md and "± 0.1 (3)" in md
    with open(out / "train_metrics.csv") as f:
        assert len(list(csv.DictReader(f))) == len(rows)


def test_protocol_filter(tmp_path, capsys):
    path = tmp_path / "r.jsonl"
    append_records(str(path), [r for r in synthetic() if r["env_id"] == "Goal-v0"])
    code = tables.table_cli([str(path)], str(tmp_path / "o"), protocol="hyar", reps=50)
    printed = capsys.readouterr().out
    assert code == 0
    assert "## Protocol `hyar`" in printed and "## Protocol `dlpa`" not in printed


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
with open(os.path.join(REPO, "results", "tables", "sources.json")) as _f:
    COMMITTED = {k: v for k, v in json.load(_f).items() if not k.startswith("_")}


@pytest.mark.parametrize("name", sorted(COMMITTED))
def test_committed_tables_regenerate_from_committed_records(name: str, tmp_path) -> None:
    """Every committed table comes back from the committed records with the same rows and
    numbers (``results/tables/sources.json`` says which run directories feed which table)."""
    from pamdp_bench.harness.records import load_records

    sources = [os.path.join(REPO, p) for p in COMMITTED[name]]
    records = load_records(sources)
    if any(r.get("dataset") for r in records):  # an offline table (analysis.offline)
        from pamdp_bench.analysis.offline import build_offline_tables
        from pamdp_bench.datasets.build import DEFAULT_MANIFEST, load_manifest

        build_offline_tables(records, load_manifest(DEFAULT_MANIFEST), str(tmp_path),
                             plots=False)
        outputs = ("scores.csv", "aggregates.md", "curves.csv")
    else:
        tables.build_tables(records, str(tmp_path), plots=False)
        outputs = ("scores.csv", "aggregates.csv", "curves.csv")
    for csv_name in outputs:
        with open(os.path.join(REPO, "results", "tables", name, csv_name)) as f:
            committed = f.read()
        with open(tmp_path / csv_name) as f:
            assert f.read() == committed, f"{name}/{csv_name} differs from its regeneration"


def _curve(agent, metric, scale=1.0):
    from pamdp_bench.analysis.scoring import Curve

    steps = np.arange(1, 21) * 1000
    mean = scale * np.linspace(0.1, 0.9, 20)
    return Curve("hyar", "Platform-v0", agent, metric, steps, np.full(20, 3), mean,
                 mean - 0.1, mean + 0.1)


def _axes_fraction(fig) -> float:
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()  # constrained layout places the axes at draw time
    return sum(ax.get_position().width * ax.get_position().height
               for ax in fig.get_axes() if ax.get_visible())


@pytest.mark.parametrize("n_agents", [2, 9])
def test_a_long_agent_spec_leaves_the_axes_most_of_the_figure(n_agents):
    """Issue 16: a 200-character variant spec in the legend squeezed both axes to slivers."""
    long_spec = "paddpg[" + ",".join(f"field_{i:02d}=0.{i:04d}" for i in range(12)) + "]"
    long_spec = long_spec[:199] + "]"
    assert len(long_spec) == 200
    agents = [long_spec] + [f"agent{i}" for i in range(n_agents - 1)]
    ret = [_curve(a, "return", 1 + i) for i, a in enumerate(agents)]
    succ = [_curve(a, "success") for a in agents]
    fig = tables.curves_figure(ret, succ, "Platform, protocol hyar")
    assert _axes_fraction(fig) > 0.5
    labels = [t.get_text() for t in fig.findobj(lambda o: hasattr(o, "get_text"))]
    assert not any(long_spec in t for t in labels)
    short = tables.plot_label(long_spec)
    assert len(short) <= tables.LABEL_MAX and short.startswith("paddpg[…]#")
    assert any(short in t for t in labels)


def test_labels_csv_maps_short_labels_back(tmp_path):
    long_spec = "paddpg[" + "x" * 60 + "=1]"
    recs = [rec("hyar", "Platform-v0", agent, s, st, 0.5, 0.1, st == 1000)
            for agent in (long_spec, "pdqn") for s in range(2) for st in (500, 1000)]
    append_records(str(tmp_path / "r" / "results.jsonl"), recs)
    assert tables.table_cli([str(tmp_path / "r")], str(tmp_path / "o")) == 0
    with open(tmp_path / "o" / "labels.csv") as f:
        rows = list(csv.DictReader(f))
    assert rows == [{"label": tables.plot_label(long_spec), "agent": long_spec}]


def test_an_env_with_anchored_and_unanchored_rows_names_the_agents_without(tmp_path):
    """Catch Point under hyar: an agent evaluated at the anchor's cap (25) gets a normalized
    score, one at its own cap (30) does not; the note names that agent, not the whole env."""
    records = [r for r in synthetic(("hyar",), seeds=2, skip_random_hyar_move=True)
               if r["env_id"] in ("HardMove-n4-v0", "CatchPoint-v0")]
    for r in records:
        if r["env_id"] == "CatchPoint-v0":
            r["eval_episode_cap"] = 30 if r["agent"] == "hyar_td3" else 25
    out = tables.build_tables(records, str(tmp_path / "out"), reps=100, plots=False)
    md = (tmp_path / "out" / "scores.md").read_text()
    catch = [line for line in md.splitlines() if line.startswith("| Catch Point |")]
    assert [("n/a (anchor)" in line) for line in catch] == [False, True, False]
    assert ("Envs without normalized scores (anchor n/a, see `ANCHORS.md`): "
            "Catch Point (`hyar_td3`), Hard Move (n=4).") in out.markdown
