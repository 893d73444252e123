"""Statistics and anchors against their direct definitions and small known cases."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from scipy import stats

from pamdp_bench.analysis import anchors as A
from pamdp_bench.analysis import scoring as S
from pamdp_bench.analysis import statistics as St
from pamdp_bench.harness.records import SCHEMA

SPECS = os.environ.get(
    "PAMDP_SPECS_DIR",
    os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "specs"),
)
PROV = {"package_version": "0", "git_commit": "x", "jax_version": "0", "jaxlib_version": "0",
        "device_kind": "cpu", "host": "h"}


def rec(env, agent, seed, steps, ret, succ=0.5, final=False, protocol="dlpa", episodes=10):
    return dict(schema=SCHEMA, protocol=protocol, env_id=env, agent=agent, seed=seed,
                env_steps=steps, eval_episodes=episodes, return_mean=float(ret), return_std=0.0,
                success_rate=float(succ), length_mean=1.0, final=final, config_hash="c",
                wall_time_s=0.0, provenance=PROV)


# ----------------------------------------------------------------------------- point estimates
@pytest.mark.parametrize("runs,tasks", [(5, 8), (4, 3), (10, 2), (3, 4)])  # N divisible by 4
def test_iqm_matches_scipy_trim_mean(runs, tasks):
    x = np.random.default_rng(runs * tasks).normal(size=(runs, tasks))
    assert (runs * tasks) % 4 == 0
    assert St.iqm(x) == pytest.approx(stats.trim_mean(x.ravel(), 0.25), abs=1e-12)


@pytest.mark.parametrize("runs,tasks", [(5, 3), (7, 1), (10, 5), (3, 3), (2, 1)])
def test_iqm_non_divisible_sizes_follow_scipy(runs, tasks):
    """N % 4 != 0: floor(N/4) dropped at each end, exactly like scipy.stats.trim_mean."""
    x = np.random.default_rng(runs + 17 * tasks).normal(size=(runs, tasks))
    n = x.size
    assert n % 4 != 0
    k = n // 4
    direct = np.sort(x.ravel())[k:n - k].mean()
    assert St.iqm(x) == pytest.approx(direct, abs=1e-12)
    assert St.iqm(x) == pytest.approx(stats.trim_mean(x.ravel(), 0.25), abs=1e-12)


def test_iqm_ragged_tasks_and_ties():
    tasks = [np.array([1.0, 1.0, 2.0]), np.array([0.0, 5.0, 5.0, 5.0, 1.0])]
    flat = np.concatenate(tasks)
    assert St.iqm(tasks) == pytest.approx(stats.trim_mean(flat, 0.25))


def test_mean_and_median_match_numpy():
    x = np.random.default_rng(1).normal(size=(6, 5))
    assert St.aggregate_mean(x) == pytest.approx(np.mean(x.mean(axis=0)))
    assert St.aggregate_mean(x) == pytest.approx(np.mean(x))  # balanced: same as pooled
    assert St.aggregate_median(x) == pytest.approx(np.median(x.mean(axis=0)))
    ragged = [np.array([1.0, 2.0]), np.array([10.0, 20.0, 30.0]), np.array([-1.0])]
    assert St.aggregate_mean(ragged) == pytest.approx(np.mean([1.5, 20.0, -1.0]))
    assert St.aggregate_median(ragged) == pytest.approx(1.5)


def test_optimality_gap_hand_computed():
    # shortfalls below 1: 0.5, 0 (1.2 is above), 0.1, 1.1 -> mean 0.425
    x = np.array([[0.5, 1.2], [0.9, -0.1]])
    assert St.optimality_gap(x) == pytest.approx(0.425)
    assert St.optimality_gap(np.full((3, 2), 1.5)) == 0.0
    assert St.optimality_gap(np.zeros((2, 2))) == pytest.approx(1.0)


# ----------------------------------------------------------------------------- improvement
def test_probability_of_improvement_known_cases():
    x = np.array([[0.1, 0.5], [0.3, 0.7], [0.2, 0.9]])
    assert St.probability_of_improvement(x, x) == pytest.approx(0.5)  # identical
    assert St.probability_of_improvement(x + 10, x) == 1.0  # dominance
    assert St.probability_of_improvement(x, x + 10) == 0.0
    # ties: x=[1,2], y=[2,3]: pairs (1,2)=0 (1,3)=0 (2,2)=1/2 (2,3)=0 -> 1/8
    assert St.probability_of_improvement([[1.0, 2.0]], [[2.0, 3.0]]) == pytest.approx(0.125)
    # averaged over tasks: task 1 gives 1/8, task 2 dominance 1 -> 9/16
    assert St.probability_of_improvement(
        [[1.0, 2.0], [5.0, 6.0]], [[2.0, 3.0], [0.0, 1.0]]) == pytest.approx(0.5625)
    # all tied
    assert St.probability_of_improvement([[1.0, 1.0]], [[1.0]]) == pytest.approx(0.5)


def test_probability_of_improvement_matches_mann_whitney_u():
    rng = np.random.default_rng(3)
    xs = [rng.integers(0, 4, size=6).astype(float) for _ in range(3)]
    ys = [rng.integers(0, 4, size=4).astype(float) for _ in range(3)]
    per_task = [stats.mannwhitneyu(x, y).statistic / (x.size * y.size)
                for x, y in zip(xs, ys, strict=True)]
    p = St.probability_of_improvement(xs, ys)
    assert p == pytest.approx(np.mean(per_task))
    assert p + St.probability_of_improvement(ys, xs) == pytest.approx(1.0)


def test_probability_of_improvement_interval():
    rng = np.random.default_rng(4)
    x, y = rng.normal(0.3, 1, (8, 4)), rng.normal(0.0, 1, (8, 4))
    iv = St.probability_of_improvement_interval(x, y, reps=500, seed=1)
    assert iv.lo <= iv.point <= iv.hi
    assert 0.0 <= iv.lo < iv.hi <= 1.0
    assert iv == St.probability_of_improvement_interval(x, y, reps=500, seed=1)
    same = St.probability_of_improvement_interval(x + 100, y, reps=200, seed=1)
    assert (same.point, same.lo, same.hi) == (1.0, 1.0, 1.0)


# ----------------------------------------------------------------------------- bootstrap
def test_bootstrap_ci_contains_point_reproducible_and_shrinks():
    rng = np.random.default_rng(5)
    small = rng.normal(0.5, 0.3, size=(5, 6))
    big = rng.normal(0.5, 0.3, size=(80, 6))
    a = St.aggregate_intervals(small, reps=1000, seed=7)
    assert a == St.aggregate_intervals(small, reps=1000, seed=7)  # fixed seed: identical
    assert a != St.aggregate_intervals(small, reps=1000, seed=8)
    b = St.aggregate_intervals(big, reps=1000, seed=7)
    for name in St.AGGREGATES:
        for iv in (a[name], b[name]):
            assert iv.lo <= iv.point <= iv.hi, name
        assert (b[name].hi - b[name].lo) < 0.6 * (a[name].hi - a[name].lo), name
    # the shared-replicate interval equals the single-statistic interval with the same seed
    single = St.bootstrap_interval(small, St.AGGREGATES["iqm"], reps=1000, seed=7)
    assert single.point == pytest.approx(a["iqm"].point)
    assert St.iqm(small) == pytest.approx(a["iqm"].point)
    assert St.optimality_gap(small) == pytest.approx(a["optimality_gap"].point)


def _width(replicates):
    lo, hi = St.percentile_interval(replicates)
    return float(hi - lo)


def test_stratified_resampling_stays_within_tasks():
    """Tasks constant within themselves: a stratified bootstrap of the mean has zero width
    (every replicate has n_t runs of each task). Pooled (unstratified) resampling of runs
    mixes tasks and gives a wide interval, so this test fails for it."""
    tasks = [np.zeros(6), np.ones(6), np.full(6, 3.0)]
    reps = St.stratified_bootstrap(tasks, St.AGGREGATES["mean"], reps=500, seed=0)
    assert _width(reps) == 0.0
    assert np.all(reps == pytest.approx(4.0 / 3.0))

    pooled = np.concatenate(tasks)
    rng = np.random.default_rng(0)
    unstrat = np.array([rng.choice(pooled, pooled.size).mean() for _ in range(500)])
    assert _width(unstrat) > 0.5

    # resampled values of each task come only from that task, with its own count
    res = St.stratified_resample([np.arange(3.0), 10 + np.arange(5.0)], 50,
                                np.random.default_rng(1))
    assert res[0].shape == (50, 3) and res[1].shape == (50, 5)
    assert set(np.unique(res[0])) <= {0.0, 1.0, 2.0}
    assert set(np.unique(res[1])) <= set(10 + np.arange(5.0))


def test_stratified_resampling_is_independent_across_tasks():
    """Run i of task 1 is the negative of run i of task 2. Resampling whole runs (rows) jointly
    keeps every replicate's mean at 0 (zero width); independent per-task resampling does not,
    so this test fails for row-joint resampling."""
    x = np.linspace(-1, 1, 10)
    scores = np.stack([x, -x], axis=1)  # (runs, tasks)
    reps = St.stratified_bootstrap(scores, St.AGGREGATES["mean"], reps=500, seed=0)
    assert _width(reps) > 0.1

    rng = np.random.default_rng(0)
    rows = np.array([scores[rng.integers(0, 10, 10)].mean() for _ in range(500)])
    assert _width(rows) == pytest.approx(0.0, abs=1e-12)


def test_bootstrap_chunking(monkeypatch):
    """Large problems are resampled in chunks; the result is still reproducible and the
    interval agrees with the one-chunk interval up to Monte Carlo error."""
    x = np.random.default_rng(2).normal(size=(7, 3))
    full = St.stratified_bootstrap(x, St.AGGREGATES["mean"], reps=2000, seed=3)
    monkeypatch.setattr(St, "_CHUNK_FLOATS", 21 * 10)  # 10 replicates per chunk
    chunked = St.stratified_bootstrap(x, St.AGGREGATES["mean"], reps=2000, seed=3)
    assert chunked.shape == full.shape == (2000,)
    np.testing.assert_array_equal(
        chunked, St.stratified_bootstrap(x, St.AGGREGATES["mean"], reps=2000, seed=3))
    np.testing.assert_allclose(St.percentile_interval(chunked), St.percentile_interval(full),
                               atol=0.05)


# ----------------------------------------------------------------------------- profiles
def test_performance_profile_definition_and_monotone():
    rng = np.random.default_rng(6)
    x = rng.normal(0.5, 0.4, size=(6, 4))
    taus = np.linspace(-1.0, 2.0, 61)
    prof = St.performance_profile(x, taus)
    direct = np.array([(x > t).mean() for t in taus])
    np.testing.assert_allclose(prof, direct)
    assert prof[0] == 1.0 and prof[-1] == 0.0
    assert np.all(np.diff(prof) <= 0)
    point, lo, hi = St.performance_profile_intervals(x, taus, reps=300, seed=0)
    np.testing.assert_allclose(point, prof)
    assert np.all(np.diff(lo) <= 1e-12) and np.all(np.diff(hi) <= 1e-12)
    assert np.all(lo <= point + 1e-12) and np.all(point <= hi + 1e-12)
    grid = St.tau_grid([x])
    assert grid[0] <= min(0.0, x.min()) and grid[-1] >= max(1.0, x.max())


# ----------------------------------------------------------------------------- anchors
@pytest.mark.parametrize("env_id", A.ENV_ORDER)
def test_anchor_random_maps_to_zero_upper_to_one(env_id):
    a = A.resolve_anchor("dlpa", env_id)
    assert a.ok
    assert a.random == A.RANDOM[env_id].return_mean
    assert a.normalize(a.random) == pytest.approx(0.0)
    assert a.normalize(a.upper) == pytest.approx(1.0)
    np.testing.assert_allclose(a.normalize(np.array([a.random, a.upper])), [0.0, 1.0])


def test_upper_anchor_rule():
    expected = {"Platform-v0": 1.0, "Goal-v0": 50.0, "HardGoal-v0": 50.0, "CatchPoint-v0": 8.63,
                "HardMove-n4-v0": 6.29, "HardMove-n6-v0": 8.48, "HardMove-n8-v0": 7.80,
                "HardMove-n10-v0": 9.53}
    for env_id, value in expected.items():
        up = A.upper_anchor(env_id)
        assert up is not None and up[0] == pytest.approx(value), env_id
        assert up[0] == max(v for v, _ in A.upper_candidates(env_id))
        pubs = [p.mean for p in A.PUBLISHED if p.env_id == env_id and p.metric == "return"
                and p.unit_stated]
        assert up[0] >= max(pubs)
        assert up[0] > A.RANDOM[env_id].return_mean
    assert A.upper_anchor("HardMove-n5-v0") is None
    assert not A.resolve_anchor("dlpa", "HardMove-n5-v0").ok


def test_hard_move_cap_30_random_anchor_from_records():
    env = "HardMove-n4-v0"
    assert A.eval_cap("hyar", env) == 30 and A.eval_cap("dlpa", env) is None
    missing = A.resolve_anchor("hyar", env)
    assert missing.random is None and not missing.ok
    assert np.isnan(missing.normalize(1.0))
    records = [rec(env, "random", 0, 100, -40.0, protocol="hyar", episodes=10),
               rec(env, "random", 1, 100, -44.0, protocol="hyar", episodes=30),
               rec(env, "random", 0, 100, 99.0, protocol="dlpa")]  # other protocol: ignored
    a = A.resolve_anchor("hyar", env, records)
    assert a.ok and a.random == pytest.approx(-43.0)  # episode-weighted
    assert a.normalize(-43.0) == pytest.approx(0.0) and a.normalize(a.upper) == 1.0
    assert "cap 30" in a.random_source
    # the spec anchor is used whenever the cap matches §8.1
    assert A.resolve_anchor("hyar", "CatchPoint-v0", records).random == -28.07
    assert A.resolve_anchor("hyar", env, records, cap=25).random == -33.37


def test_anchors_markdown_documents_every_env_and_rule():
    md = A.anchors_markdown(protocols=["hyar"])
    assert A.UPPER_RULE in md and A.RANDOM_RULE in md
    for env_id in A.ENV_ORDER:
        assert A.display_name(env_id) in md
    assert "n/a: evaluation cap 30" in md
    assert "return 0.92 ± 0.05" in md and "succ 0.78 ± 0.03" in md


def _spec(name):
    path = os.path.join(SPECS, name)
    if not os.path.exists(path):
        pytest.skip(f"specs not found at {SPECS} (set PAMDP_SPECS_DIR)")
    with open(path) as f:
        return f.read()


_SPEC_ENV = {"Platform": "Platform-v0", "Goal": "Goal-v0", "Hard Goal": "HardGoal-v0",
             "Catch Point": "CatchPoint-v0", "Hard Move (n = 4)": "HardMove-n4-v0",
             "Hard Move (n = 6)": "HardMove-n6-v0", "Hard Move (n = 8)": "HardMove-n8-v0",
             "Hard Move (n = 10)": "HardMove-n10-v0", "Hard Move (n=4)": "HardMove-n4-v0",
             "Hard Move (n=6)": "HardMove-n6-v0", "Hard Move (n=8)": "HardMove-n8-v0",
             "Hard Move (n=10)": "HardMove-n10-v0", "Hard Move 4": "HardMove-n4-v0",
             "Hard Move 6": "HardMove-n6-v0", "Hard Move 8": "HardMove-n8-v0",
             "Hard Move 10": "HardMove-n10-v0"}


def _table_rows(text, header_start):
    lines = text.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith(header_start))
    rows = []
    for line in lines[i + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip().replace("\u2212", "-") for c in line.strip().strip("|").split("|")])
    return rows


def _pm(cell):
    m = re.match(r"^(-?[\d.]+)\s*±\s*([\d.]+)$", cell.replace(" ", ""))
    assert m, cell
    return float(m.group(1)), float(m.group(2))


def test_published_numbers_match_spec_tables():
    text = _spec("algorithms.md")
    hyar = _table_rows(text, "| ENV | HPPO |")
    methods = [c.strip() for c in text.splitlines()[
        next(k for k, ln in enumerate(text.splitlines()) if ln.startswith("| ENV | HPPO |"))
    ].strip("|").split("|")][1:]
    by_method = {p.method: p for p in A.PUBLISHED}
    assert len(hyar) == 8
    for row in hyar:
        env_id = _SPEC_ENV[row[0]]
        for method, cell in zip(methods, row[1:], strict=True):
            p = next(q for q in A.PUBLISHED if q.env_id == env_id and q.method == method
                     and q.protocol == "hyar")
            assert (p.mean, p.std) == _pm(cell), (env_id, method)
            assert p.metric == ("return" if env_id == "Platform-v0" else "success")
            assert by_method[method].agent == p.agent
    dlpa = _table_rows(text, "| env | DLPA (paper, mean ± std) | unit |")
    assert len(dlpa) == 8
    for row in dlpa:
        p = next(q for q in A.PUBLISHED if q.env_id == _SPEC_ENV[row[0]] and q.agent == "dlpa")
        assert (p.mean, p.std) == _pm(row[1]) and p.metric == "return" and p.protocol == "dlpa"


def test_reference_anchors_match_envs_spec():
    text = _spec("envs.md")
    random_rows = _table_rows(text, "| benchmark | mean return | std | min / max |")
    assert len(random_rows) == 8
    for row in random_rows:
        r = A.RANDOM[_SPEC_ENV[row[0]]]
        assert r.return_mean == float(row[1]) and r.return_std == float(row[2])
        if r.success is not None:
            assert r.success == float(row[5].split()[0])
    scripted_rows = _table_rows(text, "| benchmark | reference | mean return | success | notes |")
    for row in scripted_rows:
        env_id = _SPEC_ENV[row[0]]
        if env_id in A.SCRIPTED:
            s = A.SCRIPTED[env_id]
            assert s.return_mean == float(row[2].split()[0]) and s.success == float(row[3])


# ----------------------------------------------------------------------------- records
def test_final_selection_and_summary():
    env = "CatchPoint-v0"
    records = [
        rec(env, "a", 0, 100, 1.0), rec(env, "a", 0, 200, 2.0, final=True),
        rec(env, "a", 1, 100, 3.0), rec(env, "a", 1, 200, 4.0),  # no final: last point
        rec(env, "a", 2, 200, 6.0, succ=0.25, final=True),
        # final at a short --budget of 100, then extended: the newest point, not final
        rec(env, "a", 3, 100, 5.0, final=True), rec(env, "a", 3, 200, 8.0),
    ]
    final = S.final_records(records)
    assert {s: (r["env_steps"], r["final"]) for s, r in final[("dlpa", env, "a")].items()} == \
        {0: (200, True), 1: (200, False), 2: (200, True), 3: (200, False)}
    (summ,) = S.summarize(records)
    np.testing.assert_allclose(summ.returns, [2.0, 4.0, 6.0, 8.0])
    mean, std, n = summ.stat("return")
    assert (mean, n) == (5.0, 4) and std == pytest.approx(np.std([2, 4, 6, 8], ddof=1))
    assert summ.n_final == 2 and not summ.complete
    z = (summ.returns - (-28.07)) / (8.63 - (-28.07))
    np.testing.assert_allclose(summ.normalized, z)
    assert St.mean_std([5.0]) == (5.0, pytest.approx(float("nan"), nan_ok=True), 1)


def test_learning_curves():
    env = "Goal-v0"
    records = [rec(env, "a", s, st, s + st / 100, succ=0.1 * s)
               for s in range(4) for st in (100, 200)]
    records.append(rec(env, "a", 9, 300, 50.0))  # only seed 9 reached 300
    (curve,) = S.learning_curves(records, "return", reps=300, seed=0)
    np.testing.assert_array_equal(curve.steps, [100, 200, 300])
    np.testing.assert_array_equal(curve.n, [4, 4, 1])
    np.testing.assert_allclose(curve.mean, [1.5 + 1, 1.5 + 2, 50.0])
    assert np.all(curve.lo <= curve.mean + 1e-12) and np.all(curve.mean <= curve.hi + 1e-12)
    assert curve.lo[2] == curve.hi[2] == 50.0
    (succ,) = S.learning_curves(records, "success", reps=50, seed=0)
    assert succ.mean[0] == pytest.approx(0.15)
    again = S.learning_curves(records, "return", reps=300, seed=0)[0]
    np.testing.assert_array_equal(again.lo, curve.lo)


def test_committed_anchors_page_is_current():
    """results/ANCHORS.md is what ``python -m pamdp_bench.analysis.anchors`` writes now (it
    once lagged behind the protocols and the published notes)."""
    from pamdp_bench.protocols import available_protocols

    root = os.path.join(os.path.dirname(__file__), "..", "..")
    with open(os.path.join(root, "results", "ANCHORS.md")) as f:
        committed = f.read()
    assert committed == A.anchors_markdown(protocols=available_protocols()), (
        "regenerate it: python -m pamdp_bench.analysis.anchors")


def test_an_agents_own_cap_gets_its_own_anchor():
    """HyAR's H-PPO plays 30-step Catch Point episodes under the hyar protocol (the others 25):
    its returns are not normalized against the 25-step anchors (n/a, with the reason), while
    P-DQN's on the same env are; success rates are untouched."""
    records = [rec("CatchPoint-v0", agent, s, 1000, -5.0, 0.7, True, "hyar")
               for agent in ("hppo", "pdqn@8ad5e1b4") for s in (0, 1)]
    by_agent = {s.agent: s for s in S.summarize(records)}
    hppo, pdqn = by_agent["hppo"], by_agent["pdqn@8ad5e1b4"]
    assert pdqn.anchor.ok and pdqn.anchor.cap is None and np.isfinite(pdqn.normalized).all()
    assert not hppo.anchor.ok and hppo.anchor.cap == 30
    assert np.isnan(hppo.normalized).all() and "hppo's evaluation cap 30" in (
        hppo.anchor.random_source)
    assert hppo.stat("success")[0] == pytest.approx(0.7)
    assert A.eval_cap("hyar", "CatchPoint-v0", "hppo[gamma=0.9]") == 30
    assert A.eval_cap("hyar", "HardMove-n4-v0", "hppo") == 30  # the protocol's own cap


def test_the_cap_a_record_states_decides_its_anchor_not_todays_protocol_file():
    """Records state the evaluation cap they were measured at; a table reads it there, so a
    later edit of the protocol file cannot re-anchor old records. Records from before the field
    existed fall back to the file (previous test); one group measured at two caps is refused."""
    stated = [dict(rec("CatchPoint-v0", agent, s, 1000, -5.0, 0.7, True, "hyar"),
                   eval_episode_cap=cap)
              for agent, cap in (("hppo", 25), ("pdqn", 30)) for s in (0, 1)]
    by_agent = {s.agent: s for s in S.summarize(stated)}
    # H-PPO measured at the spec's 25 (the file says 30): the spec's anchors apply
    assert by_agent["hppo"].anchor.ok and by_agent["hppo"].anchor.random_source == "envs.md §8.1"
    # P-DQN measured at 30 (the file says 25 for it): no 30-step random anchor exists
    assert not by_agent["pdqn"].anchor.ok and by_agent["pdqn"].anchor.cap == 30
    assert "pdqn's evaluation cap 30" in by_agent["pdqn"].anchor.random_source
    # the env's own cap stated explicitly (25 under dlpa, whose file sets none) is no own cap
    dlpa = [dict(rec("CatchPoint-v0", "dlpa", s, 1000, 1.0, 0.5, True), eval_episode_cap=25)
            for s in (0, 1)]
    assert S.summarize(dlpa)[0].anchor.random_source == "envs.md §8.1"
    mixed = [stated[2], dict(stated[3], eval_episode_cap=25)]
    with pytest.raises(ValueError, match=r"hyar/CatchPoint-v0/pdqn: .*different evaluation "
                                         r"caps \[25, 30\]"):
        S.summarize(mixed)


def test_a_random_anchor_from_records_uses_only_records_at_the_protocols_cap():
    """HyAR's Hard Move evaluates 30-step episodes: the suite's `random` records anchor it, but
    only those measured at 30 (a record stating another cap is another measurement)."""
    env = "HardMove-n4-v0"
    at30 = [dict(rec(env, "random", s, 1000, -40.0, 0.0, True, "hyar"), eval_episode_cap=30)
            for s in (0, 1)]
    at25 = [dict(rec(env, "random", s, 1000, -10.0, 0.0, True, "hyar"), eval_episode_cap=25)
            for s in (2, 3)]
    a = A.resolve_anchor("hyar", env, at30 + at25)
    assert a.random == pytest.approx(-40.0) and "2 seeds" in a.random_source


def test_format_mean_std_uses_the_tables_std() -> None:
    assert St.format_mean_std([1.0, 2.0, 3.0]) == "2.000 ± 1.000"  # ddof=1, not 0.816
    assert St.format_mean_std([5.0], digits=2) == "5.00"  # one seed: no spread to show
