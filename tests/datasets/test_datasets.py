"""The offline datasets: collection, the Minari files, bit-for-bit rebuilds and verification."""

from __future__ import annotations

import copy as copy_module
import dataclasses
import json
import os
import shutil

import jax
import numpy as np
import pytest

from pamdp_bench.datasets import build, catalog, collect, minari_io, sources
from pamdp_bench.envs.gymnasium_adapter import _seed_key
from pamdp_bench.harness import records
from pamdp_bench.registry import make

CATCH = "CatchPoint-v0"
SMALL_RANDOM = "pamdp/CatchPoint-v0/random-small-v0"


def _manifest(tmp_path, env_id: str = CATCH) -> str:
    """A manifest holding only the env's anchors (so small datasets can be built alone)."""
    path = str(tmp_path / "manifest.json")
    m = build.empty_manifest()
    m["anchors"][env_id] = {"ref_min_score": -28.07, "ref_min_from": "envs §8.1",
                            "ref_max_score": 8.6, "ref_max_from": "test"}
    build.save_manifest(path, m)
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """SMALL_RANDOM built twice into two roots."""
    tmp = tmp_path_factory.mktemp("ds")
    out = []
    for name in ("a", "b"):
        os.makedirs(tmp / name)
        manifest = _manifest(tmp / name)
        builder = build.Builder(str(tmp / name / "root"), manifest, str(tmp / name / "src"),
                                log=lambda s: None, progress=False)
        builder.build([catalog.parse_id(SMALL_RANDOM)])
        out.append((str(tmp / name / "root"), manifest))
    return out


# ------------------------------------------------------------------------------ ids
def test_ids_round_trip_and_bad_ids_are_named():
    for ref in catalog.all_refs():
        assert catalog.parse_id(ref.id) == ref
    assert len(catalog.all_refs(small=False)) == 32
    with pytest.raises(ValueError, match="not a pamdp_bench dataset id"):
        catalog.parse_id("d4rl/hopper-medium-v2")
    with pytest.raises(ValueError, match="unknown env"):
        catalog.parse_id("pamdp/Pong-v0/expert-v0")
    with pytest.raises(ValueError, match="unknown dataset kind"):
        catalog.parse_id("pamdp/Platform-v0/mixed-v0")
    with pytest.raises(ValueError, match="version 3 does not exist"):
        catalog.parse_id("pamdp/Platform-v0/expert-v3")
    salts = {r.salt for r in catalog.all_refs()}
    assert len(salts) == 64 and all(0 < s < 2**31 for s in salts)


# ------------------------------------------------------------------------------ collect
@pytest.mark.parametrize("hi,lo", [(0, 7), (12345, 2**32 - 1), (2**31 - 5, 0)])
def test_episode_seed_key_is_the_adapters(hi, lo):
    want = jax.random.key_data(_seed_key(hi * 2**32 + lo))
    got = jax.random.key_data(collect.episode_seed_key(np.uint32(hi), np.uint32(lo)))
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_collect_gives_whole_contiguous_episodes_in_end_order():
    env, params = make(CATCH)
    space = env.pamdp_space
    data = collect.collect_episodes(env, params, lambda o, k: space.sample_rand_action(k),
                                    num_transitions=700, salt=99, lanes=8,
                                    policy_key=jax.random.key(1))
    n = len(data["episode"])
    ends = data["terminated"] | data["truncated"]
    last = np.append(data["episode"][1:] != data["episode"][:-1], True)
    np.testing.assert_array_equal(ends, last)  # each episode ends exactly at its last step
    lengths = np.bincount(data["episode"])
    assert n - lengths[-1] < 700 <= n  # the first whole episodes covering the request
    np.testing.assert_array_equal(data["step"], np.concatenate([np.arange(m) for m in lengths]))
    inside = ~last
    np.testing.assert_array_equal(data["obs"][1:][inside[:-1]], data["next_obs"][:-1][inside[:-1]])
    seeds = data["seed"][data["step"] == 0]
    assert len(set(seeds.tolist())) == len(seeds) and np.all(seeds >> 32 == 99)
    assert np.all(data["truncated"] <= (data["step"] + 1 == params.max_steps_in_episode))


# ------------------------------------------------------------------------------ Minari files
def test_minari_reads_the_dataset_and_the_env_replays_it(built):
    """Plain minari.load_dataset, iterate the episodes, recover the evaluation env, and replay
    each episode's actions from its seed: the data is what the env does."""
    import minari

    root, _ = built[0]
    with minari_io.minari_root(root):
        ds = minari.load_dataset(SMALL_RANDOM)
    assert ds.total_steps >= catalog.SMALL_TRANSITIONS
    assert ds.storage.metadata["ref_min_score"] == -28.07
    env = ds.recover_environment(eval_env=True)
    assert env.unwrapped.params.max_steps_in_episode == 25
    steps = 0
    for i, ep in enumerate(ds.iterate_episodes()):
        steps += len(ep)
        if i >= 40:
            continue
        seed = next(iter(ds.storage.get_episode_metadata([ep.id])))["seed"]
        obs, _ = env.reset(seed=int(seed))
        np.testing.assert_allclose(ep.observations[0], obs, rtol=1e-6, atol=1e-6)
        for t in range(len(ep)):
            action = (int(ep.actions[0][t]), ep.actions[1][t])
            obs, reward, term, trunc, info = env.step(action)
            np.testing.assert_allclose(ep.observations[t + 1], obs, rtol=1e-5, atol=1e-5)
            assert abs(ep.rewards[t] - reward) <= 1e-4 * max(1.0, abs(reward))
            assert (ep.terminations[t], ep.truncations[t]) == (term, trunc)
            assert ep.infos["success"][t + 1] == bool(info["success"])
    assert steps == ds.total_steps


def test_loader_returns_agent_ready_arrays(built, tmp_path, monkeypatch):
    root, manifest = built[0]
    monkeypatch.setenv("PAMDP_BENCH_CACHE", str(tmp_path / "cache"))
    x = minari_io.load_arrays(SMALL_RANDOM, root, flat_z=True)
    assert "z" not in minari_io.load_arrays(SMALL_RANDOM, root)  # the agents' form: z_pad only
    (cached,) = os.listdir(tmp_path / "cache")  # one file, named by the data's sha256
    again = minari_io.load_arrays(SMALL_RANDOM, root, flat_z=True)
    assert all(np.array_equal(np.asarray(x[k]), np.asarray(again[k])) for k in x)
    fresh = minari_io.load_arrays(SMALL_RANDOM, root, cache=False, flat_z=True)
    assert all(np.array_equal(np.asarray(x[k]), np.asarray(fresh[k])) for k in x)
    assert cached.endswith(".npz")
    entry = build.load_manifest(manifest)["datasets"][SMALL_RANDOM]
    n = entry["transitions"]
    assert {k: v.shape[0] for k, v in x.items()} == {k: n for k in x}
    env, _ = make(CATCH)
    space = env.pamdp_space
    k, z, z_pad = map(np.asarray, (x["k"], x["z"], x["z_pad"]))
    for i in range(0, n, 997):
        np.testing.assert_array_equal(z_pad[i], np.asarray(space.to_padded((k[i], z[i]))[1]))
    returns = np.bincount(np.asarray(x["episode"]), weights=np.asarray(x["reward"], np.float64))
    assert returns.mean() == pytest.approx(entry["return_mean"], rel=1e-6)
    first = np.asarray(x["step"]) == 0
    assert first.sum() == entry["episodes"]


# ------------------------------------------------------------------------------ rebuild/verify
def test_build_twice_is_bitwise_and_verify_catches_changes(built, tmp_path):
    (root_a, man_a), (root_b, man_b) = built
    files_a = build.load_manifest(man_a)["datasets"][SMALL_RANDOM]["files"]
    files_b = build.load_manifest(man_b)["datasets"][SMALL_RANDOM]["files"]
    assert files_a == files_b and set(files_a) == {"data/main_data.hdf5", "data/metadata.json"}
    manifest = build.load_manifest(man_a)
    assert build.verify(root_a, [SMALL_RANDOM], manifest) == []
    copy = str(tmp_path / "copy")
    shutil.copytree(root_a, copy)
    h5 = os.path.join(copy, SMALL_RANDOM, "data", "main_data.hdf5")
    with open(h5, "r+b") as f:  # flip one byte in the middle of the data
        f.seek(os.path.getsize(h5) // 2)
        byte = f.read(1)
        f.seek(-1, 1)
        f.write(bytes([byte[0] ^ 1]))
    problems = build.verify(copy, [SMALL_RANDOM], manifest)
    assert len(problems) == 1 and "main_data.hdf5 differs" in problems[0]
    assert "it was built on" not in problems[0]  # built on this host: no hint
    # a mismatch names the CPU that built the dataset when it is not this one
    other = copy_module.deepcopy(manifest)
    other["datasets"][SMALL_RANDOM]["build"]["cpu"] = "Other CPU; avx2; flags 00000000"
    (problem,) = build.verify(copy, [SMALL_RANDOM], other)
    assert "it was built on Other CPU; avx2" in problem
    assert records.cpu_description() in problem
    os.remove(os.path.join(copy, SMALL_RANDOM, "data", "metadata.json"))
    assert any("metadata.json is missing" in p for p in build.verify(copy, [SMALL_RANDOM],
                                                                      manifest))
    assert "not in the manifest" in build.verify(copy, ["pamdp/Goal-v0/random-v0"],
                                                 manifest)[0]


def test_a_rebuilt_expert_moves_the_anchors_re_anchors_random_data_and_flags_the_rest(
        built, tmp_path, monkeypatch):
    """Rebuilding an env's full-size expert with another policy (Goal's moved to the scripted
    reference) sets new anchors. The env's local random dataset gets them in place: only its
    metadata.json changes, to the bytes a fresh build with the new anchors writes. A dataset
    whose episodes may depend on the expert (here a medium entry) is named in the log and
    fails ``verify`` until rebuilt."""
    root = str(tmp_path / "root")
    shutil.copytree(built[0][0], root)
    manifest = str(tmp_path / "m.json")
    shutil.copy(built[0][1], manifest)
    m = build.load_manifest(manifest)
    medium = "pamdp/CatchPoint-v0/medium-small-v0"
    m["datasets"][medium] = {**m["datasets"][SMALL_RANDOM], "kind": "medium"}
    build.save_manifest(manifest, m)
    before = m["datasets"][SMALL_RANDOM]["files"]
    n, dim = 6, make(CATCH)[0].obs_dim
    stream = {"obs": np.zeros((n, dim), np.float32), "next_obs": np.zeros((n, dim), np.float32),
              "k": np.zeros(n, np.int32), "z": np.zeros((n, 1), np.float32),
              "reward": np.full(n, 2.0, np.float32), "terminated": np.arange(n) % 3 == 2,
              "truncated": np.zeros(n, bool), "success": np.zeros(n, bool)}
    logs: list[str] = []
    builder = build.Builder(root, manifest, str(tmp_path / "src"), log=logs.append,
                            progress=False)
    monkeypatch.setattr(builder, "_data", lambda ref: (build._stream_episodes(stream, n),
                                                       {"policy": "test"}, None))
    builder.build([catalog.DatasetRef(CATCH, "expert")])
    m = build.load_manifest(manifest)
    anchor = m["anchors"][CATCH]
    assert anchor["ref_max_score"] == pytest.approx(6.0)  # 3-step episodes of 2
    assert any("anchors change" in line for line in logs)
    assert any(SMALL_RANDOM in line and "re-anchored" in line for line in logs)
    assert any("rebuild with --overwrite: " + medium in line for line in logs)
    assert build.stale_anchor_ids(m, CATCH) == [medium]
    assert build.verify(root, [SMALL_RANDOM], m) == []
    assert any("anchors other than its env's" in p for p in build.verify(root, [medium], m))
    after = m["datasets"][SMALL_RANDOM]["files"]
    assert after["data/main_data.hdf5"] == before["data/main_data.hdf5"]
    assert after["data/metadata.json"] != before["data/metadata.json"]
    meta = json.load(open(os.path.join(root, SMALL_RANDOM, "data", "metadata.json")))
    assert (meta["ref_min_score"], meta["ref_max_score"]) == (anchor["ref_min_score"],
                                                             anchor["ref_max_score"])
    fresh = tmp_path / "fresh"  # a fresh build of the random data with the new anchors
    os.makedirs(fresh)
    build.save_manifest(str(fresh / "m.json"), {**build.empty_manifest(),
                                                "anchors": {CATCH: anchor}})
    build.Builder(str(fresh / "root"), str(fresh / "m.json"), str(tmp_path / "src"),
                  log=lambda s: None, progress=False).build([catalog.parse_id(SMALL_RANDOM)])
    assert build.load_manifest(str(fresh / "m.json"))["datasets"][SMALL_RANDOM]["files"] == after


def test_a_random_copy_that_differs_from_the_manifest_is_not_re_anchored(built, tmp_path,
                                                                          monkeypatch):
    root = str(tmp_path / "root")
    shutil.copytree(built[0][0], root)
    manifest = str(tmp_path / "m.json")
    shutil.copy(built[0][1], manifest)
    meta = os.path.join(root, SMALL_RANDOM, "data", "metadata.json")
    with open(meta, "a") as f:
        f.write(" ")
    changed = build.file_digests(os.path.join(root, SMALL_RANDOM))
    logs: list[str] = []
    builder = build.Builder(root, manifest, str(tmp_path / "src"), log=logs.append,
                            progress=False)
    builder.manifest["anchors"][CATCH] = {**builder.manifest["anchors"][CATCH],
                                          "ref_max_score": 1.0}
    builder._reanchor_random(CATCH)
    assert any("not re-anchored: the local copy differs" in line for line in logs)
    assert build.file_digests(os.path.join(root, SMALL_RANDOM)) == changed
    stale_line = [line for line in logs if "still built with the old anchors" in line]
    assert stale_line and SMALL_RANDOM in stale_line[0]
    # a dataset the same build call is about to rewrite is not named as stale
    logs.clear()
    builder._pending = {SMALL_RANDOM}
    builder._reanchor_random(CATCH)
    assert not any(SMALL_RANDOM in line and "old anchors" in line for line in logs)


def test_build_refuses_an_existing_dataset_and_keeps_it(built, tmp_path):
    root, manifest = built[0]
    before = build.file_digests(os.path.join(root, SMALL_RANDOM))
    builder = build.Builder(root, manifest, str(tmp_path), log=lambda s: None, progress=False)
    with pytest.raises(build.DatasetError, match="exists"):
        builder.build([catalog.parse_id(SMALL_RANDOM)])
    assert build.file_digests(os.path.join(root, SMALL_RANDOM)) == before


def test_a_dataset_without_its_anchor_names_what_to_build_first(tmp_path):
    builder = build.Builder(str(tmp_path / "r"), str(tmp_path / "m.json"), str(tmp_path),
                            log=lambda s: None, progress=False)
    with pytest.raises(build.DatasetError, match="expert-v0.*build that first"):
        builder.build([catalog.parse_id("pamdp/Goal-v0/random-small-v0")])
    assert not os.path.exists(tmp_path / "m.json")


def test_cli_list_info_verify(built, tmp_path, capsys):
    from pamdp_bench.cli.main import main

    root, manifest = built[0]
    flags = [f"--root={root}", f"--manifest={manifest}"]
    assert main(["pamdp-bench", "datasets", "verify", SMALL_RANDOM, *flags]) == 0
    assert main(["pamdp-bench", "datasets", "list", "--env=CatchPoint-v0", "--size=small",
                 *flags]) == 0
    out = capsys.readouterr().out
    assert "| pamdp/CatchPoint-v0/random-small-v0 | 10," in out and "not built" in out
    assert main(["pamdp-bench", "datasets", "info", SMALL_RANDOM, *flags]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["local_copy"] and info["kind"] == "random" and info["lanes"] >= 1
    assert main(["pamdp-bench", "datasets", "info", "pamdp/x", *flags]) == 2
    assert main(["pamdp-bench", "datasets", "verify", SMALL_RANDOM, f"--root={tmp_path}",
                 f"--manifest={manifest}"]) == 1


# ------------------------------------------------------------------------------ sources
def test_medium_replay_stream_cuts_the_last_episode_as_truncated():
    stream = {"obs": np.arange(7.0)[:, None], "next_obs": np.arange(1.0, 8.0)[:, None],
              "k": np.zeros(7, np.int32), "z": np.zeros((7, 1), np.float32),
              "reward": np.ones(7, np.float32), "success": np.zeros(7, bool),
              "terminated": np.array([0, 1, 0, 0, 1, 0, 0], bool),
              "truncated": np.zeros(7, bool)}
    out = build._stream_episodes(stream, 6)
    np.testing.assert_array_equal(out["episode"], [0, 0, 1, 1, 1, 2])
    np.testing.assert_array_equal(out["step"], [0, 1, 0, 1, 2, 0])
    np.testing.assert_array_equal(out["truncated"], [0, 0, 0, 0, 0, 1])
    assert not stream["truncated"].any()  # the stream itself is untouched


def test_medium_is_the_first_state_reaching_half_the_expert():
    src = catalog.Source(agent="pdqn", reading="hyar", budget=30, eval_interval=10)
    recs = [{"env_steps": s, "return_mean": r, "success_rate": 0.0, "eval_episodes": 5}
            for s, r in ((10, -28.0), (20, -9.0), (30, 10.0))]
    run = sources.SourceRun(CATCH, src, None, "h", {}, recs, {}, 0.0)
    picks = sources.pick_policies(run)
    assert picks["expert"]["env_steps"] == 30
    assert picks["medium"]["env_steps"] == 20  # (-9 + 28.07) / (10 + 28.07) = 0.50
    run.records = [recs[0], {**recs[1], "return_mean": -27.9}, recs[2]]
    assert sources.pick_policies(run)["medium"]["env_steps"] == 30  # the final state itself
    run.records = recs[:1]
    run.source = dataclasses.replace(src, expert_from="final")
    assert sources.pick_policies(run)["medium"]["env_steps"] == 10
    run.records = [{**recs[0], "return_mean": -20.0}, {**recs[1], "return_mean": -27.0}]
    picks = sources.pick_policies(run)  # final -27 is the expert: -20 scores above 0.5 ...
    assert picks["medium"]["env_steps"] == 10
    run.records = [{**recs[0], "return_mean": -28.0}, {**recs[1], "return_mean": -27.0}]
    run.source = dataclasses.replace(src, expert_from="final", budget=20)
    picks = sources.pick_policies(run)
    assert picks["medium"]["env_steps"] == 20
    run.source = dataclasses.replace(src, expert_from="best")
    with pytest.raises(ValueError, match="expert_from must be"):
        sources.pick_policies(run)


# make test-long: 22 s; CI builds and loads the random dataset; medium-replay is built by make
# datasets
@pytest.mark.long
def test_train_recorded_is_train_plus_its_transitions():
    """The medium-replay stream is the run's own: same state as ``train``, and each recorded
    transition's next observation is the following one's observation within an episode."""
    from pamdp_bench.agents import get_agent

    env, params = make(CATCH)
    cls = get_agent("pdqn")
    cfg = cls.default_config(CATCH)
    cfg = dataclasses.replace(cfg, buffer_size=256, batch_size=16, learning_starts=32)
    agent = cls(env, params, cfg)
    s0 = agent.init(jax.random.key(3))
    s1, m1 = jax.jit(lambda s: agent.train(s, 80))(s0)
    s2, m2, rec = jax.jit(lambda s: agent.train_recorded(s, 80))(s0)
    for a, b in zip(jax.tree.leaves(s1), jax.tree.leaves(s2), strict=True):
        if jax.dtypes.issubdtype(a.dtype, jax.dtypes.prng_key):
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert float(m1["train_episode_return"]) == float(m2["train_episode_return"]) or (
        np.isnan(m1["train_episode_return"]) and np.isnan(m2["train_episode_return"]))
    rec = {k: np.asarray(v) for k, v in rec.items()}
    assert rec["obs"].shape == (80, env.obs_dim) and rec["k"].shape == (80,)
    ends = rec["terminated"] | rec["truncated"]
    inside = ~ends[:-1]
    # within 1 ulp: the env step computes its observation and info["final_observation"] in
    # different fusions (the datasets store the observation the agent saw next)
    np.testing.assert_allclose(rec["obs"][1:][inside], rec["next_obs"][:-1][inside],
                               rtol=1e-6, atol=1e-7)
    assert ends.any() and float(rec["reward"].sum()) != 0.0


def test_committed_readme_is_the_manifests():
    """results/datasets/README.md is what `datasets list --out` makes of the manifest."""
    path = os.path.join(build.REPO, "results", "datasets", "README.md")
    if not os.path.exists(build.DEFAULT_MANIFEST):
        pytest.skip("no committed manifest")
    with open(path) as f:
        assert f.read() == build.readme_markdown(build.load_manifest(build.DEFAULT_MANIFEST))


def test_readme_flags_expert_datasets_that_rarely_succeed():
    def entry(kind: str, small: bool, success: float) -> dict:
        return {"kind": kind, "small": small, "success_rate": success, "transitions": 300,
                "episodes": 100, "return_mean": -6.5, "policy": "pdqn checkpoint"}

    manifest = {"datasets": {
        "pamdp/Goal-v0/expert-v0": entry("expert", False, 0.0),
        "pamdp/Goal-v0/expert-small-v0": entry("expert", True, 0.0),  # small copies: no line
        "pamdp/Goal-v0/medium-v0": entry("medium", False, 0.0),  # only experts are anchors
        "pamdp/CatchPoint-v0/expert-v0": entry("expert", False, build.WEAK_EXPERT_SUCCESS),
    }}
    text = build.weak_experts_markdown(manifest)
    assert text.count("\n- ") == 0 and text.startswith("- `pamdp/Goal-v0/expert-v0`: success 0.000")
    assert "mean episode length 3.00 steps" in text
    manifest["datasets"].pop("pamdp/Goal-v0/expert-v0")
    assert build.weak_experts_markdown(manifest) == ""


def test_manifest_updates_keep_other_builders_entries(tmp_path):
    path = str(tmp_path / "m.json")
    a = {"ref_min_score": 0.0, "ref_max_score": 1.0}
    build.update_manifest(path, "pamdp/Goal-v0/random-v0", {"x": 1}, "Goal-v0", a)
    stale = build.load_manifest(path)  # another builder's view from before the next write
    build.update_manifest(path, "pamdp/Platform-v0/random-v0", {"x": 2}, "Platform-v0", a)
    stale["datasets"]["pamdp/Goal-v0/expert-v0"] = {"x": 3}
    merged = build.update_manifest(path, "pamdp/Goal-v0/expert-v0", {"x": 3}, "Goal-v0", a)
    assert sorted(merged["datasets"]) == ["pamdp/Goal-v0/expert-v0", "pamdp/Goal-v0/random-v0",
                                          "pamdp/Platform-v0/random-v0"]
    assert build.load_manifest(path) == merged


@pytest.mark.long  # 1-2 min: two trainings and collections; CI rebuilds the random dataset
def test_trained_datasets_rebuild_bit_for_bit_from_the_committed_source_records(
        tmp_path, monkeypatch):
    """The expert / medium-replay data come from a re-trained source run: a second build
    re-trains it, finds the same records as the first (committed) ones, and writes files with
    the same sha256; a different committed record is refused."""
    tiny = catalog.Source(agent="pdqn", reading="hyar", budget=200, eval_interval=100,
                          eval_episodes=4, expert_from="final")
    monkeypatch.setitem(catalog.SOURCES, "Platform-v0", tiny)
    ids = ["pamdp/Platform-v0/expert-small-v0", "pamdp/Platform-v0/medium-replay-small-v0"]
    digests = []
    for name in ("a", "b"):
        os.makedirs(tmp_path / name)
        manifest = _manifest(tmp_path / name, "Platform-v0")
        builder = build.Builder(str(tmp_path / name / "root"), manifest, str(tmp_path / "src"),
                                log=lambda s: None, progress=False)
        builder.build([catalog.parse_id(i) for i in ids])
        m = build.load_manifest(manifest)["datasets"]
        digests.append({i: m[i]["files"] for i in ids})
        assert m[ids[1]]["transitions"] <= 100  # the stream up to the medium state
    assert digests[0] == digests[1]
    path = sources.records_path(str(tmp_path / "src"), "Platform-v0")
    with open(path) as f:
        lines = f.read().splitlines()
    first = json.loads(lines[0])
    lines[0] = json.dumps({**first, "return_mean": first["return_mean"] + 1.0}, sort_keys=True)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    builder = build.Builder(str(tmp_path / "c"), _manifest(tmp_path, "Platform-v0"),
                            str(tmp_path / "src"), log=lambda s: None, progress=False)
    with pytest.raises(sources.SourceMismatchError,
                       match="differs from the committed records at 100 env steps"):
        builder.build([catalog.parse_id(ids[0])])  # at the first point, not after the budget


@pytest.mark.long  # 40-60 s: HyAR's recorded and plain chunks compiled; CI has the warm-up
# recorder's own test (test_hyar) and medium-replay's cut (test_medium_replay_includes_the_warmup)
def test_a_hyar_source_run_records_its_warmup_and_trains_as_train_does(monkeypatch):
    """A HyAR source run's stream starts with its warm-up, then every counted step; its states
    are those of plain ``train`` chunks (where the warm-up runs inside the first chunk)."""
    import sys

    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "baselines"))
    from test_hyar import tiny_config

    from pamdp_bench.agents import get_agent

    env, params = make(CATCH)
    cfg = tiny_config(warmup_episodes=3, warmup_block=8, vae_pretrain_steps=2, lsc_samples=32,
                      learning_starts=8, batch_size=8)
    agent = get_agent("hyar_td3")(env, params, cfg)
    monkeypatch.setattr(sources, "source_agent", lambda env_id, source=None: (agent, cfg, "h"))
    src = catalog.Source(agent="hyar_td3", reading=None, budget=20, eval_interval=10,
                         eval_episodes=2)
    run = sources.generate_source(CATCH, src, log=lambda s: None)
    warm = run.warmup_transitions
    assert warm > 0 and len(run.stream["reward"]) == warm + 20
    state = jax.jit(agent.init)(sources.init_key(0))
    chunk = jax.jit(lambda s: agent.train(s, 10))
    for point in (10, 20):
        state, _ = chunk(state)
        for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(run.states[point]), strict=True):
            if jax.dtypes.issubdtype(a.dtype, jax.dtypes.prng_key):
                a, b = jax.random.key_data(a), jax.random.key_data(b)
            np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert int(state.warmup_steps) == warm


def test_a_run_without_a_medium_state_still_gives_its_expert(monkeypatch):
    """Hard Move n=6's P-DQN run never reached half the scripted expert: its medium datasets
    fail with the reason, the scripted expert (and so the anchor and random) do not."""
    src = catalog.Source(agent="pdqn", reading="hyar", budget=20, eval_interval=10,
                         expert_from="scripted")
    monkeypatch.setattr(sources, "scripted_expert_record", lambda env_id, s: {
        "env_steps": None, "return_mean": 8.0, "success_rate": 0.9, "eval_episodes": 5})
    recs = [{"env_steps": s, "return_mean": r, "success_rate": 0.0, "eval_episodes": 5}
            for s, r in ((10, -27.0), (20, -20.0))]
    picks = sources.pick_policies(sources.SourceRun(CATCH, src, None, "h", {}, recs, {}, 0.0))
    assert picks["medium"] is None and picks["expert"]["return_mean"] == 8.0
    assert "no evaluated state of the pdqn run reaches" in picks["medium_error"]


def test_an_unrecorded_run_gives_medium_but_names_why_medium_replay_is_missing(tmp_path,
                                                                             monkeypatch):
    """A source agent that cannot record all it collects (QMLE: one update per 10 env steps)
    still provides expert / medium states; its medium-replay fails naming the reason."""
    from pamdp_bench.agents import get_agent

    env, params = make(CATCH)
    assert get_agent("pdqn")(env, params, None).unrecorded_steps() is None
    assert get_agent("hyar_td3")(env, params, None).unrecorded_steps() is None  # its warm-up too
    why = get_agent("qmle")(env, params, None).unrecorded_steps()
    assert why and "train_every" in why
    src = catalog.Source(agent="qmle", reading=None, budget=20, eval_interval=10,
                         expert_from="scripted")
    recs = [{"env_steps": s, "return_mean": r, "success_rate": 0.0, "eval_episodes": 5}
            for s, r in ((10, -27.0), (20, -5.0))]
    run = sources.SourceRun(CATCH, src, None, "h", {}, recs, None, 0.0, why)
    builder = build.Builder(str(tmp_path / "root"), _manifest(tmp_path), str(tmp_path / "src"),
                            log=lambda s: None, progress=False)
    monkeypatch.setattr(builder, "_source", lambda env_id: (run, {
        "medium": recs[1], "medium_error": None, "medium_score": 0.6, "expert": None}))
    with pytest.raises(build.DatasetError, match="are not recorded .*train_every"):
        builder._data(catalog.DatasetRef(CATCH, "medium-replay", True))


@pytest.mark.parametrize(("cap", "rows", "text"), [
    (100, 14, "hyar_td3 run's own transitions: 6 uncounted warm-up transitions (random "
              "actions), then env steps 1..8 of 8 (the medium checkpoint)"),
    (4, 4, "the first 4 of the hyar_td3 run's 6 uncounted warm-up transitions")])
def test_medium_replay_includes_the_warmup(tmp_path, monkeypatch, cap, rows, text):
    """§6.3: medium-replay is what the run collected up to the medium state, warm-up
    included: the warm-up's transitions come first, then the counted steps up to the state."""
    n = 6 + 10
    stream = {"obs": np.arange(n, dtype=np.float32)[:, None],
              "next_obs": np.arange(1, n + 1, dtype=np.float32)[:, None],
              "k": np.zeros(n, np.int32), "z": np.zeros((n, 1), np.float32),
              "reward": np.ones(n, np.float32), "terminated": np.arange(n) % 5 == 4,
              "truncated": np.zeros(n, bool), "success": np.zeros(n, bool)}
    src = catalog.Source(agent="hyar_td3", reading=None, budget=10, eval_interval=2)
    recs = [{"env_steps": 8, "return_mean": -5.0, "success_rate": 0.0, "eval_episodes": 5}]
    run = sources.SourceRun(CATCH, src, None, "h", {}, recs, stream, 0.0, None, 6)
    builder = build.Builder(str(tmp_path / "root"), _manifest(tmp_path), str(tmp_path / "src"),
                            log=lambda s: None, progress=False)
    monkeypatch.setattr(builder, "_source", lambda env_id: (run, {
        "medium": recs[0], "medium_error": None, "medium_score": 0.6, "expert": None}))
    monkeypatch.setattr(catalog, "SMALL_TRANSITIONS", cap)
    data, info, _ = builder._data(catalog.DatasetRef(CATCH, "medium-replay", True))
    np.testing.assert_array_equal(data["obs"][:, 0], np.arange(rows))
    assert text in info["policy"] and info["warmup_transitions"] == 6


# ------------------------------------------------------------------------------ stored runs
def test_kept_points_hold_the_medium_state_for_any_expert():
    """The last point and the running maxima: for every expert return, the state
    ``pick_policies`` picks as medium is among them."""
    rets = [-27.0, -8.0, -20.0, -9.0, 0.0, -3.0, 5.0, 4.0]
    recs = [{"env_steps": 10 * (i + 1), "return_mean": r} for i, r in enumerate(rets)]
    kept = sources.kept_points(recs)
    assert kept == {10, 20, 50, 70, 80}
    for expert in np.linspace(-20.0, 40.0, 121):
        i = sources.medium_index(CATCH, recs, float(expert))
        assert i is None or recs[i]["env_steps"] in kept


def test_source_store_resumes_the_newest_point_with_kept_states_and_parts(tmp_path):
    """Checkpoints, pruning and the recorded parts of a stored run, on a toy state."""
    from pamdp_bench.datasets.source_store import SourceStore, StoredStates
    from pamdp_bench.harness.checkpoints import CheckpointError

    ident = {"env_id": CATCH, "agent": "pdqn", "config_hash": "h", "seed": 0,
             "eval_interval": 10}
    template = {"w": jax.ShapeDtypeStruct((3,), np.float32), "key": jax.random.key(0)}
    store = SourceStore(str(tmp_path), ident)
    store.save_part(None, {"reward": np.zeros(2, np.float32)})
    records = []
    for point in (10, 20, 30):
        store.save_part(point, {"reward": np.full(point // 10, point, np.float32)})
        records.append({"env_steps": point})
        store.save(point, {"w": np.full(3, point, np.float32), "key": jax.random.key(point)},
                   records, 2, True)
        store.prune({10, point})
    store.close()
    got = SourceStore(str(tmp_path), ident).resume(template)
    assert got["step"] == 30 and got["warmup"] == 2
    kept = StoredStates(str(tmp_path), ident, template)
    assert sorted(kept) == [10, 30] and 20 not in kept
    np.testing.assert_array_equal(kept[10]["w"], np.full(3, 10, np.float32))
    np.testing.assert_array_equal(jax.random.key_data(got["state"]["key"]),
                                  jax.random.key_data(jax.random.key(30)))
    assert [len(p["reward"]) for p in got["parts"]] == [2, 1, 2, 3]
    assert got["records"] == records
    run_dir = os.path.join(str(tmp_path), CATCH)  # h's run under the name of another hash
    shutil.copytree(os.path.join(run_dir, "pdqn-h-seed0-every10"),
                    os.path.join(run_dir, "pdqn-other-seed0-every10"))
    with pytest.raises(CheckpointError, match="has config hash 'h', but this run has config "
                       "hash 'other'; refusing to load it. Remove the directory"):
        SourceStore(str(tmp_path), {**ident, "config_hash": "other"}).resume(template)


@pytest.mark.long  # ~40 s: three P-DQN source runs compiled
def test_a_stored_source_run_resumes_bit_for_bit(tmp_path):
    """A run stopped at 10 env steps and resumed to 20 equals the uninterrupted run (records,
    stream, kept states); a budget below the stored run is refused."""
    def src(budget):
        return catalog.Source(agent="pdqn", reading="hyar", budget=budget, eval_interval=10,
                              eval_episodes=2)

    whole = sources.generate_source(CATCH, src(20), log=lambda s: None)
    sources.generate_source(CATCH, src(10), log=lambda s: None, store_root=str(tmp_path))
    logs = []
    resumed = sources.generate_source(CATCH, src(20), log=logs.append, store_root=str(tmp_path))
    assert any("resumed at 10 env steps" in line for line in logs)
    assert resumed.records == whole.records and sorted(resumed.states) == [10, 20]
    for k in whole.stream:
        np.testing.assert_array_equal(resumed.stream[k], whole.stream[k])
    for point in (10, 20):
        _assert_same_state(whole.states[point], resumed.states[point])
    with pytest.raises(ValueError, match="past the budget 10"):
        sources.generate_source(CATCH, src(10), log=lambda s: None, store_root=str(tmp_path))
    # a kept state the store lost (an older keep rule pruned Goal's medium state) is re-trained
    # from the nearest earlier stored one (here: from scratch) and equals the original
    from pamdp_bench.datasets.source_store import SourceStore
    store = SourceStore(str(tmp_path), {"env_id": CATCH, "agent": "pdqn",
                                        "config_hash": whole.config_hash, "seed": 0,
                                        "eval_interval": 10})
    store._states.delete(10)
    store.close()
    logs = []
    again = sources.generate_source(CATCH, src(20), log=logs.append, store_root=str(tmp_path))
    assert any("state at 10 env steps was not stored; re-trained from scratch" in line
               for line in logs)
    _assert_same_state(whole.states[10], again.states[10])


def _assert_same_state(a_state, b_state) -> None:
    """Every leaf equal, keys by their data."""
    for a, b in zip(jax.tree.leaves(a_state), jax.tree.leaves(b_state), strict=True):
        if jax.dtypes.issubdtype(a.dtype, jax.dtypes.prng_key):
            a, b = jax.random.key_data(a), jax.random.key_data(b)
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_a_source_run_stops_at_its_first_record_that_differs_from_the_committed_one():
    """On another CPU a source run drifts from its first evaluation: generate_source checks
    each new record against the committed ones (of the same source only) as it comes."""
    src = catalog.Source(agent="pdqn", reading="hyar", budget=30, eval_interval=10)
    head = {"agent": "pdqn", "reading": "hyar", "config_hash": "h", "seed": 0}
    committed = [{**head, "env_steps": p, "return_mean": float(p)} for p in (10, 20, 30)]
    ours = [{**head, "env_steps": 10, "return_mean": 10.0}]
    sources._check_expected(CATCH, src, ours, committed)  # equal so far
    sources._check_expected(CATCH, src, ours, None)  # nothing committed (or a rewrite)
    ours.append({**head, "env_steps": 20, "return_mean": 19.5})
    with pytest.raises(sources.SourceMismatchError, match="at 20 env steps.*--rewrite_sources"):
        sources._check_expected(CATCH, src, ours, committed)
    other = [{**r, "config_hash": "g"} for r in committed]  # another source's records
    sources._check_expected(CATCH, src, ours, other)


def test_rewrite_sources_records_this_platforms_run(tmp_path):
    """A differing run is refused against committed records, unless ``rewrite``."""
    src = catalog.Source(agent="pdqn", reading="hyar", budget=10, eval_interval=10)
    run = sources.SourceRun(CATCH, src, None, "h", {}, [{"env_steps": 10, "x": 1}], None, 0.0)
    assert sources.check_or_write_records(run, str(tmp_path)).startswith("written")
    other = dataclasses.replace(run, records=[{"env_steps": 10, "x": 2}])
    with pytest.raises(sources.SourceMismatchError, match="--rewrite_sources"):
        sources.check_or_write_records(other, str(tmp_path))
    assert sources.check_or_write_records(other, str(tmp_path), True).startswith("rewritten")
    assert sources.check_or_write_records(other, str(tmp_path)).startswith("matches")


def test_records_of_the_source_the_catalog_no_longer_names_are_replaced(tmp_path):
    """Goal's source moved from P-DQN to HyAR-TD3: the committed P-DQN records are not a
    platform mismatch of the new run, so they are replaced (and the message says whose)."""
    first = {"agent": "pdqn", "reading": "hyar", "config_hash": "a", "seed": 0,
             "env_steps": 5000, "return_mean": 1.0}
    src = catalog.Source(agent="pdqn", reading="hyar", budget=5000, eval_interval=5000)
    run = sources.SourceRun(CATCH, src, None, "a", {}, [first], None, 0.0)
    sources.check_or_write_records(run, str(tmp_path))
    for change in ({"agent": "hyar_td3", "reading": None, "config_hash": "b"}, {"seed": 1},
                   {"env_steps": 2500}):
        new = dataclasses.replace(run, records=[{**first, **change}])
        what = sources.check_or_write_records(new, str(tmp_path))
        assert "replacing another source's records" in what
        assert sources.check_or_write_records(new, str(tmp_path)).startswith("matches")
        sources.check_or_write_records(run, str(tmp_path))  # back to the first source
    same = dataclasses.replace(run, records=[{**first, "return_mean": 2.0}])
    with pytest.raises(sources.SourceMismatchError, match="--rewrite_sources"):
        sources.check_or_write_records(same, str(tmp_path))


def test_a_builder_removes_what_killed_builds_left(tmp_path):
    """A killed build's temporary directory (its pid gone) is deleted by the next builder;
    a live build's is kept."""
    import subprocess

    proc = subprocess.Popen(["true"])
    proc.wait()
    root = tmp_path / "root"
    for pid in (proc.pid, os.getppid()):
        os.makedirs(root / f".pamdp_bench-tmp-{pid}" / "pamdp")
    logs = []
    build.Builder(str(root), _manifest(tmp_path), str(tmp_path / "src"), log=logs.append)
    assert sorted(os.listdir(root)) == [f".pamdp_bench-tmp-{os.getppid()}"]
    assert any(f"removing .pamdp_bench-tmp-{proc.pid}" in line for line in logs)


def test_a_build_seeds_the_loaders_cache_with_what_the_file_reads_back(tmp_path, monkeypatch):
    """``load_arrays``' first load of a freshly built dataset hits the cache entry the build
    wrote, and that entry equals the arrays read back from the file episode by episode."""
    monkeypatch.setenv("PAMDP_BENCH_CACHE", str(tmp_path / "cache"))
    root = str(tmp_path / "root")
    builder = build.Builder(root, _manifest(tmp_path), str(tmp_path / "src"),
                            log=lambda s: None, progress=False)
    builder.build([catalog.parse_id(SMALL_RANDOM)])
    entries = os.listdir(tmp_path / "cache")
    assert len(entries) == 1
    with np.load(tmp_path / "cache" / entries[0]) as f:
        cached = {k: f[k] for k in f.files}
    read = minari_io._read_arrays(minari_io.load_dataset(SMALL_RANDOM, root))
    assert sorted(cached) == sorted(read)
    for k, v in read.items():
        assert cached[k].dtype == v.dtype, k
        np.testing.assert_array_equal(cached[k], v, err_msg=k)
