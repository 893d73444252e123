"""The runner: kill-and-resume equality, sharding, refusals, record schema.

The expensive pieces run as real subprocesses (a run must actually be SIGKILLed, and forcing
two host devices needs a fresh process); they share a persistent JAX compilation cache so that
only the first run of each kind pays for compilation. The learning subject is the toy agent of
``toy_agent.py`` (it steps its env and changes its state every chunk).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import toy_agent
from flax import struct

from pamdp_bench.cli import train_cli
from pamdp_bench.harness import checkpoints, runner, seeding
from pamdp_bench.harness import records as results
from pamdp_bench.protocols import load_protocol

HERE = os.path.dirname(os.path.abspath(__file__))
TOY = "toy_agent:ToyAgent"
ENVS = ["CatchPoint-v0", "HardMove-n4-v0"]
PROTOCOL = f"""
name = "runner-test"
description = "tiny protocol for the runner tests"
envs = {json.dumps(ENVS)}
seeds = 3
budget = 300
eval_interval = 100
eval_episodes = 4
train_episode_cap = 25
"""

# The child: train_cli with optional test hooks (pause after each committed checkpoint so the
# parent can kill it; SIGKILL itself right after writing given records, before checkpointing).
CHILD = r"""
import json, os, signal, sys, time
from absl import logging
logging.set_verbosity(logging.INFO)
import numpy as np
from pamdp_bench.harness import checkpoints
from pamdp_bench.harness import records as results
from pamdp_bench.harness import runner

pause = float(os.environ.get("TEST_PAUSE_AFTER_SAVE", "0"))
if pause:
    original_save = checkpoints.RunCheckpointer.save

    def save(self, step, state, meta):
        original_save(self, step, state, meta)
        self.wait()
        print(f"CHECKPOINTED {meta['env_id']} {step}", flush=True)
        time.sleep(pause)

    checkpoints.RunCheckpointer.save = save

kill_after = os.environ.get("TEST_KILL_AFTER_RECORDS")
if kill_after:
    env_id, steps = kill_after.split("@")
    original_append = results.append_records

    def append(path, records):
        n = original_append(path, records)
        if any(r["env_id"] == env_id and r["env_steps"] == int(steps) for r in records):
            os.kill(os.getpid(), signal.SIGKILL)
        return n

    results.append_records = append

if os.environ.get("TEST_CHECK_SHARDING"):
    from pamdp_bench.harness.placement import seed_placement
    placement = seed_placement(3)
    x = placement.pad(np.arange(3))
    assert x.shape == (4,) and len(x.sharding.device_set) == 2, (x.shape, x.sharding)

from pamdp_bench.cli import train_cli

code = train_cli(**json.loads(sys.argv[1]))
toy = sys.modules.get("toy_agent")
if toy is not None:  # how often train was traced, per chunk length
    print("TRACES " + json.dumps(dict(toy.ToyAgent.train_traces)), flush=True)
sys.exit(code)
"""


def _child_env(cache: str, devices: int = 1) -> dict[str, str]:
    env = dict(os.environ)  # (with conftest's single-threaded XLA flags)
    env["PYTHONPATH"] = os.pathsep.join([HERE, env.get("PYTHONPATH", "")])
    env["JAX_PLATFORMS"] = "cpu"
    env["JAX_COMPILATION_CACHE_DIR"] = cache
    env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0.2"
    if devices > 1:
        env["XLA_FLAGS"] = (f"--xla_force_host_platform_device_count={devices} "
                            f"{env.get('XLA_FLAGS', '')}").strip()
    return env


def _cli_args(protocol: str, out: str, resume: bool, envs: list[str] | None = None) -> str:
    return json.dumps({"agent": TOY, "protocol": protocol, "envs": envs, "seeds": None,
                       "out_dir": out, "resume": resume})


def _run_child(args: str, env: dict[str, str], **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", CHILD, args], env={**env, **extra},
                          capture_output=True, text=True, timeout=600)


def _start_child(args: str, env: dict[str, str], log: str) -> tuple[subprocess.Popen, Any]:
    f = open(log, "w+")
    return subprocess.Popen([sys.executable, "-c", CHILD, args], env=env, stdout=f,
                            stderr=subprocess.STDOUT, text=True), f


def _numbers(path: str) -> dict[tuple, dict[str, Any]]:
    """Records by key, without wall time and provenance; duplicates are an error."""
    out: dict[tuple, dict[str, Any]] = {}
    for r in results.iter_records(path):
        key = results.record_key(r)
        assert key not in out, f"duplicate record {key}"
        out[key] = results.comparable(r)
    return out


def _traces(log: str) -> dict[str, int]:
    lines = [ln for ln in log.splitlines() if ln.startswith("TRACES ")]
    assert len(lines) == 1, log[-3000:]
    return json.loads(lines[0][len("TRACES "):])


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The protocol file, a compilation cache, and three runs side by side: the uninterrupted
    reference (1 device), CatchPoint over 2 forced host devices, and seed 2 of CatchPoint
    alone."""
    root = tmp_path_factory.mktemp("runner")
    protocol = str(root / "runner-test.toml")
    with open(protocol, "w") as f:
        f.write(PROTOCOL)
    cache = str(root / "jax-cache")
    out = {"root": str(root), "protocol": protocol, "cache": cache}
    jobs = {
        "reference": (_cli_args(protocol, str(root / "reference"), False), _child_env(cache)),
        "sharded": (_cli_args(protocol, str(root / "sharded"), False, ["CatchPoint-v0"]),
                    {**_child_env(cache, devices=2), "TEST_CHECK_SHARDING": "1"}),
        "alone": (json.dumps({"agent": TOY, "protocol": protocol, "envs": ["CatchPoint-v0"],
                              "seeds": 1, "seed_offset": 2, "out_dir": str(root / "alone"),
                              "resume": False}), _child_env(cache)),
    }
    t0 = time.perf_counter()
    started = {name: _start_child(args, env, str(root / f"{name}.log"))
               for name, (args, env) in jobs.items()}
    for name, (proc, log) in started.items():
        try:
            code = proc.wait(timeout=600)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        log.seek(0)
        out[f"{name}_log"] = log.read()
        log.close()
        assert code == 0, f"{name} run failed:\n" + out[f"{name}_log"][-4000:]
        out[name] = str(root / name)
    print(f"reference, sharded and single-seed runs: {time.perf_counter() - t0:.1f} s")
    return out


def test_reference_records(setup: dict[str, Any]) -> None:
    """One validated record per (env, seed, eval point), state changing every chunk; ``train``
    compiled once per env for its three equal chunks."""
    path = os.path.join(setup["reference"], "results.jsonl")
    recs = list(results.iter_records(path))
    assert len(recs) == len(ENVS) * 3 * 3
    assert {(r["env_id"], r["seed"], r["env_steps"]) for r in recs} == {
        (e, s, p) for e in ENVS for s in range(3) for p in (100, 200, 300)}
    for r in recs:
        assert r["final"] == (r["env_steps"] == 300)
        assert r["warmup_steps"] == toy_agent.ToyConfig().warmup_steps
        assert r["train_metrics"]["env_steps"] == r["env_steps"]
        assert 0.0 <= r["success_rate"] <= 1.0 and r["eval_episodes"] == 4
    # The toy agent learns: its estimates differ between eval points and between seeds.
    q = {(r["env_id"], r["seed"], r["env_steps"]): r["train_metrics"]["q_max"] for r in recs}
    assert len(set(q.values())) == len(q)
    for env_id in ENVS:  # the last 2 checkpoints are kept
        assert sorted(os.listdir(os.path.join(setup["reference"], "checkpoints", env_id))) == [
            "200", "300"]
    assert _traces(setup["reference_log"]) == {"100": len(ENVS)}


def test_kill_and_resume_is_bitwise_identical(setup: dict[str, Any]) -> None:
    """SIGKILL a run after its first checkpoint, resume (killed again between writing records
    and checkpointing, with a torn last line), resume again: same records as uninterrupted."""
    out = os.path.join(setup["root"], "killed")
    env = _child_env(setup["cache"])
    results_path = os.path.join(out, "results.jsonl")

    # 1. The parent kills the run as soon as the first checkpoint is committed.
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, _cli_args(setup["protocol"], out, False)],
        env={**env, "TEST_PAUSE_AFTER_SAVE": "1.0"}, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("CHECKPOINTED CatchPoint-v0 100"), line
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
    assert len(_numbers(results_path)) == 3  # CatchPoint at 100 env steps, 3 seeds

    # 2. Resume; this time die right after the HardMove records at 200 are written (its
    #    checkpoint at 100 committed, the one at 200 not yet saved).
    proc2 = _run_child(_cli_args(setup["protocol"], out, True), env,
                       TEST_PAUSE_AFTER_SAVE="0.01",
                       TEST_KILL_AFTER_RECORDS="HardMove-n4-v0@200")
    assert proc2.returncode == -signal.SIGKILL, proc2.stderr[-4000:]
    assert "CatchPoint-v0 toy (runner-test): resuming from the checkpoint at 100" in proc2.stderr
    assert len(_numbers(results_path)) == 3 * 3 + 2 * 3
    with open(results_path, "a") as f:  # a record torn by a kill mid-write
        f.write('{"schema": "pamdp_bench.result/1", "protocol": "runner-te')

    # 3. Resume to the end: HardMove restarts from 100 and re-derives the records at 200.
    proc3 = _run_child(_cli_args(setup["protocol"], out, True), env)
    assert proc3.returncode == 0, proc3.stderr[-4000:]
    assert "CatchPoint-v0 toy (runner-test): already finished (300 env steps)" in proc3.stderr
    assert "HardMove-n4-v0 toy (runner-test): resuming from the checkpoint at 100" in proc3.stderr
    assert "truncated last line" in proc3.stderr

    resumed = _numbers(results_path)
    reference = _numbers(os.path.join(setup["reference"], "results.jsonl"))
    assert resumed.keys() == reference.keys()
    for key in reference:
        assert resumed[key] == reference[key], key


def test_sharded_equals_unsharded(setup: dict[str, Any]) -> None:
    """Three seeds over two forced host devices (padded to four) give the same records."""
    assert "seed axis over 2 device(s)" in setup["sharded_log"]
    path = os.path.join(setup["sharded"], "results.jsonl")
    assert {r["provenance"]["device_count"] for r in results.iter_records(path)} == {"2"}
    sharded = _numbers(path)
    reference = {k: v for k, v in _numbers(os.path.join(setup["reference"], "results.jsonl"))
                 .items() if k[1] == "CatchPoint-v0"}
    assert len(sharded) == 9 and sharded == reference


def test_seed_independent_of_batch(setup: dict[str, Any]) -> None:
    """Seed 2 alone (``seed_offset=2``) reproduces seed 2 of the 3-seed run."""
    alone = _numbers(os.path.join(setup["alone"], "results.jsonl"))
    reference = {k: v for k, v in _numbers(os.path.join(setup["reference"], "results.jsonl"))
                 .items() if k[1] == "CatchPoint-v0" and k[3] == 2}
    assert len(alone) == 3 and alone == reference
    assert _traces(setup["alone_log"]) == {"100": 1}


def _copy_run(setup: dict[str, Any], tmp_path, name: str) -> str:
    dst = str(tmp_path / name)
    shutil.copytree(setup["reference"], dst)
    return dst


def test_resume_of_a_committed_record_set_trains_nothing(setup: dict[str, Any], tmp_path,
                                                         monkeypatch) -> None:
    """A clone holds records but no checkpoints: a task with a record for every seed at every
    evaluation point is finished; one missing a record is trained (from scratch, records
    checked against the file)."""
    out = _copy_run(setup, tmp_path, "records-only")
    shutil.rmtree(os.path.join(out, "checkpoints"))
    path = os.path.join(out, "results.jsonl")
    kept = [r for r in results.iter_records(path)
            if not (r["env_id"] == "HardMove-n4-v0" and r["seed"] == 1 and r["env_steps"] == 300)]
    os.remove(path)
    results.append_records(path, kept)
    trained = []
    original = toy_agent.ToyAgent.train

    def train(self, state, num_steps):
        trained.append(num_steps)
        return original(self, state, num_steps)

    monkeypatch.setattr(toy_agent.ToyAgent, "train", train)
    assert train_cli(TOY, setup["protocol"], None, None, out, True) == 0
    assert trained, "HardMove-n4-v0 lost a record: it must be trained again"
    assert _numbers(path) == _numbers(os.path.join(setup["reference"], "results.jsonl"))
    assert os.listdir(os.path.join(out, "checkpoints")) == ["HardMove-n4-v0"]


def test_refuses_to_overwrite_without_resume(setup: dict[str, Any], tmp_path, capsys) -> None:
    out = _copy_run(setup, tmp_path, "again")
    with open(os.path.join(out, "results.jsonl")) as f:
        before = f.read()
    assert train_cli(TOY, setup["protocol"], None, None, out, False) == 2
    err = capsys.readouterr().err
    assert "already holds records of toy on CatchPoint-v0" in err and "--resume" in err
    with open(os.path.join(out, "results.jsonl")) as f:
        assert f.read() == before
    os.remove(os.path.join(out, "results.jsonl"))  # checkpoints alone are a run too
    assert train_cli(TOY, setup["protocol"], None, None, out, False) == 2
    assert "already holds checkpoints" in capsys.readouterr().err


def test_refuses_other_config_hash(setup: dict[str, Any], tmp_path) -> None:
    out = _copy_run(setup, tmp_path, "other-config")
    proto = load_protocol(setup["protocol"]).for_env("CatchPoint-v0")
    ours = results.run_config_hash("toy", toy_agent.ToyConfig(), proto)
    other_cfg = toy_agent.ToyConfig(epsilon=0.5)
    theirs = results.run_config_hash("toy", other_cfg, proto)
    assert ours != theirs
    # Records of another configuration in the results file ...
    with pytest.raises(runner.RunError, match=f"{ours}.*{theirs}"):
        runner.train(TOY, setup["protocol"], out, resume=True, config=other_cfg, progress=False)
    # ... and, without them, the checkpoint itself; both name the field that differs.
    with pytest.raises(runner.RunError, match=r"agent_config\.epsilon: 0\.3 -> 0\.5"):
        runner.train(TOY, setup["protocol"], out, resume=True, config=other_cfg, progress=False)
    os.remove(os.path.join(out, "results.jsonl"))
    with pytest.raises(checkpoints.CheckpointError,
                       match=f"config hash '{ours}'.*config hash '{theirs}'.*"
                             r"agent_config\.epsilon: 0\.3 -> 0\.5"):
        runner.train(TOY, setup["protocol"], out, resume=True, config=other_cfg, progress=False)


@pytest.mark.parametrize("damage", [pytest.param("overwrite", marks=pytest.mark.long), "bitflip",
                                    pytest.param("truncate", marks=pytest.mark.long),
                                    pytest.param("meta", marks=pytest.mark.long)])
def test_a_damaged_checkpoint_is_detected_and_the_previous_one_used(
        setup: dict[str, Any], tmp_path, damage: str, caplog) -> None:
    """A damaged newest checkpoint is never restored: the run warns, resumes from the previous
    step and re-derives records equal to the uninterrupted run's; with no intact step left it
    refuses, naming the steps."""
    out = _copy_run(setup, tmp_path, f"damaged-{damage}")
    ckpt = os.path.join(out, "checkpoints", "CatchPoint-v0")
    path = os.path.join(out, "results.jsonl")
    reference = _numbers(path)

    def damage_step(step: int) -> None:
        sub = "meta" if damage == "meta" else "state"
        files = sorted((os.path.getsize(p), p) for p in _files(os.path.join(ckpt, str(step), sub)))
        size, target = files[-1]  # the largest data file of the item
        with open(target, "r+b") as f:
            if damage == "truncate":
                f.truncate(size // 2)
            elif damage == "bitflip":
                f.seek(size // 2)
                byte = f.read(1)
                f.seek(size // 2)
                f.write(bytes([byte[0] ^ 0x01]))
            else:
                f.seek(max(size // 2 - 200, 0))
                f.write(os.urandom(min(400, size)))

    damage_step(300)
    # drop the records after 200 so the resume must re-derive them from the step at 200
    lines = [ln for ln in open(path) if not ('"CatchPoint-v0"' in ln and '"env_steps": 300' in ln)]
    with open(path, "w") as f:
        f.writelines(lines)
    with caplog.at_level("WARNING"):
        runner.train(TOY, setup["protocol"], out, envs=["CatchPoint-v0"], resume=True,
                     progress=False)
    assert "checkpoint at 300 env steps" in caplog.text and "falling back" in caplog.text
    assert _numbers(path) == reference
    assert os.path.isdir(ckpt + ".corrupt-300")  # set aside, not deleted
    # every step damaged: refused with the steps named
    for step in (200, 300):
        damage_step(step)
    with pytest.raises(checkpoints.CorruptCheckpointError,
                       match="no intact checkpoint.*300 env steps.*200 env steps"):
        runner.train(TOY, setup["protocol"], out, envs=["CatchPoint-v0"], resume=True,
                     progress=False)


def _files(root: str) -> list[str]:
    return [os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs]


def test_a_finished_run_extends_to_a_larger_budget(setup: dict[str, Any], tmp_path) -> None:
    """``--resume`` with a larger budget continues from the last checkpoint (the budget is not
    part of the config hash); the new records equal a run made at that budget from the start,
    the old ones stay as written."""
    out = _copy_run(setup, tmp_path, "extend")
    path = os.path.join(out, "results.jsonl")
    before = _numbers(path)
    runner.train(TOY, setup["protocol"], out, envs=["CatchPoint-v0"], resume=True, budget=400,
                 progress=False)
    after = _numbers(path)
    assert {k: after[k] for k in before} == before
    new = {k: v for k, v in after.items() if k not in before}
    assert sorted((v["seed"], v["env_steps"], v["final"]) for v in new.values()) == [
        (s, 400, True) for s in range(3)]
    fresh = str(tmp_path / "fresh")
    runner.train(TOY, setup["protocol"], fresh, envs=["CatchPoint-v0"], budget=400,
                 progress=False)
    ref = _numbers(os.path.join(fresh, "results.jsonl"))
    assert {k: ref[k] for k in new} == new
    assert len({v["config_hash"] for k, v in after.items() if k[1] == "CatchPoint-v0"}) == 1


def test_a_run_under_the_older_hash_keeps_it(setup: dict[str, Any], tmp_path,
                                             monkeypatch) -> None:
    """A run recorded when the budget was part of the hash resumes under that hash (one run,
    one hash); extending it is refused with a message saying why."""
    out = str(tmp_path / "legacy")
    with monkeypatch.context() as m:
        m.setattr(runner, "run_config_hash", results.legacy_run_config_hash)
        runner.train(TOY, setup["protocol"], out, envs=["CatchPoint-v0"], budget=200,
                     progress=False)
    path = os.path.join(out, "results.jsonl")
    (legacy,) = {r["config_hash"] for r in results.iter_records(path)}
    ep = load_protocol(setup["protocol"]).for_env("CatchPoint-v0")
    assert legacy != results.run_config_hash("toy", toy_agent.ToyConfig(), ep)
    # kill-like: drop the last checkpoint and the records after the first, then resume
    shutil.rmtree(os.path.join(out, "checkpoints", "CatchPoint-v0", "200"))
    runner.train(TOY, setup["protocol"], out, envs=["CatchPoint-v0"], budget=200, resume=True,
                 progress=False)
    assert {r["config_hash"] for r in results.iter_records(path)} == {legacy}
    with pytest.raises(runner.RunError, match="resume it at its original --budget"):
        runner.train(TOY, setup["protocol"], out, envs=["CatchPoint-v0"], budget=300,
                     resume=True, progress=False)


def test_refuses_other_format_version(setup: dict[str, Any], tmp_path, monkeypatch) -> None:
    out = _copy_run(setup, tmp_path, "other-format")
    monkeypatch.setattr(checkpoints, "FORMAT_VERSION", checkpoints.FORMAT_VERSION + 1)
    with pytest.raises(checkpoints.CheckpointError,
                       match=f"checkpoint format version {checkpoints.FORMAT_VERSION - 1}, but "
                             f"this run has checkpoint format version "
                             f"{checkpoints.FORMAT_VERSION}"):
        runner.train(TOY, setup["protocol"], out, resume=True, progress=False)


def test_checkpoint_roundtrip(tmp_path) -> None:
    """Typed keys, zero-size leaves and dtypes survive; a structure mismatch is refused."""
    state = {
        "key": jax.random.split(jax.random.key(1), 3),
        "x": jnp.arange(6, dtype=jnp.float32).reshape(3, 2) / 7,
        "empty": jnp.zeros((3, 0), jnp.float32),
        "n": jnp.asarray([1, 2, 3], jnp.int32),
        "flag": jnp.asarray([True, False, True]),
    }
    template = jax.eval_shape(lambda: state)
    with checkpoints.RunCheckpointer(str(tmp_path / "ck")) as ck:
        ck.save(10, state, {"config_hash": "abc"})
    with checkpoints.RunCheckpointer(str(tmp_path / "ck")) as ck:
        assert ck.latest_step() == 10
        restored, meta = ck.restore(10, template)
        assert meta["config_hash"] == "abc" and meta["env_steps"] == 10
        for name in ("x", "empty", "n", "flag"):
            assert restored[name].dtype == state[name].dtype
            np.testing.assert_array_equal(restored[name], state[name])
        np.testing.assert_array_equal(jax.random.key_data(restored["key"]),
                                      jax.random.key_data(state["key"]))
        bad = {**template, "x": jax.ShapeDtypeStruct((3, 3), jnp.float32)}
        with pytest.raises(checkpoints.CheckpointError, match="leaf"):
            ck.restore(10, bad)


def test_a_killed_saves_temporary_directory_is_removed_quietly(tmp_path, caplog) -> None:
    """Issue 13: after a kill -9 mid-save, the save's ``<step>.orbax-checkpoint-tmp*``
    directory is removed with one warning when the run is reopened (orbax's own cleanup printed
    a long traceback), and the committed steps restore."""
    state = {"x": jnp.arange(3, dtype=jnp.float32)}
    d = tmp_path / "ck"
    with checkpoints.RunCheckpointer(str(d)) as ck:
        ck.save(10, state, {})
    killed = d / "20.orbax-checkpoint-tmp-1733"
    (killed / "state").mkdir(parents=True)
    (killed / "state" / "half_written").write_bytes(b"\0" * 100)
    with caplog.at_level("WARNING"), checkpoints.RunCheckpointer(str(d)) as ck:
        assert not killed.exists() and ck.all_steps() == [10]
        restored, _ = ck.restore(10, jax.eval_shape(lambda: state))
        np.testing.assert_array_equal(restored["x"], state["x"])
    assert "interrupted before it was committed" in caplog.text


@struct.dataclass
class _OnlineFirst:
    q_params: jax.Array
    q_target: jax.Array


@struct.dataclass
class _TargetFirst:
    q_target: jax.Array
    q_params: jax.Array


@pytest.mark.parametrize("name", ["clap[constraint=false]", "run*?"])
def test_checkpoints_restore_under_a_directory_named_after_an_agent_spec(tmp_path, name) -> None:
    """orbax skips its OCDBT merge (so nothing restores) when the directory's path holds glob
    metacharacters; the checkpointer routes it through a plain symlink, files stay in place."""
    state = {"x": jnp.arange(4, dtype=jnp.float32), "n": jnp.asarray(3, jnp.int32)}
    d = str(tmp_path / name / "checkpoints")
    for step in (1, 2):
        with checkpoints.RunCheckpointer(d) as ck:
            ck.save(step, state, {})
    with checkpoints.RunCheckpointer(d) as ck:
        assert ck.all_steps() == [1, 2]
        restored, _ = ck.restore(2, jax.eval_shape(lambda: state))
    np.testing.assert_array_equal(restored["x"], state["x"])
    assert os.path.isfile(os.path.join(d, "2", "state", "manifest.ocdbt"))


def test_checkpoint_leaves_are_restored_by_tree_path_not_position(tmp_path) -> None:
    """Reordering a state's fields must not swap two same-shaped leaves on restore."""
    saved = _OnlineFirst(q_params=jnp.ones((2, 3)), q_target=jnp.zeros((2, 3)))
    with checkpoints.RunCheckpointer(str(tmp_path / "ck")) as ck:
        ck.save(5, saved, {})
    with checkpoints.RunCheckpointer(str(tmp_path / "ck")) as ck:
        restored, meta = ck.restore(5, jax.eval_shape(
            lambda: _TargetFirst(q_target=jnp.zeros((2, 3)), q_params=jnp.zeros((2, 3)))))
    np.testing.assert_array_equal(restored.q_params, saved.q_params)
    np.testing.assert_array_equal(restored.q_target, saved.q_target)
    assert [leaf["path"] for leaf in meta["leaves"]] == [".q_params", ".q_target"]


def test_old_checkpoint_format_is_refused_not_restored(tmp_path, monkeypatch) -> None:
    state = {"w": jnp.ones((2,))}
    monkeypatch.setattr(checkpoints, "FORMAT_VERSION", 1)
    with checkpoints.RunCheckpointer(str(tmp_path / "ck")) as ck:
        ck.save(5, state, {})
    monkeypatch.undo()
    with checkpoints.RunCheckpointer(str(tmp_path / "ck")) as ck, \
            pytest.raises(checkpoints.CheckpointError, match="format version 1.*not restored"):
        ck.restore(5, jax.eval_shape(lambda: state))


def test_random_agent_quick_protocol(tmp_path) -> None:
    """The reference agent on the shipped ``quick`` protocol: records with both metrics."""
    out = str(tmp_path / "quick")
    recs = runner.train("random", "quick", out, envs=["CatchPoint-v0"], seeds=2, budget=50,
                        eval_interval=25, eval_episodes=3, progress=False)
    on_disk = list(results.iter_records(os.path.join(out, "results.jsonl")))
    assert len(recs) == len(on_disk) == 4
    for r in on_disk:
        results.validate(r)
        assert r["protocol"] == "quick" and r["agent"] == "random"
        assert isinstance(r["return_mean"], float) and isinstance(r["success_rate"], float)
        assert r["length_mean"] <= 25 and r["eval_episodes"] == 3
        assert r["eval_episode_cap"] == 25  # quick sets none: Catch Point's own, stated
    assert sorted((r["seed"], r["env_steps"], r["final"]) for r in on_disk) == [
        (0, 25, False), (0, 50, True), (1, 25, False), (1, 50, True)]


def test_a_task_that_runs_out_of_memory_fails_clearly_and_keeps_its_records(
        tmp_path, monkeypatch) -> None:
    """An XLA allocation failure mid-run becomes a RunError naming the task and the size; the
    records of the evaluation points already reached stay in the file."""
    made = runner._make_records
    calls = []

    def make_records(*args: Any, **kw: Any) -> Any:
        calls.append(1)
        if len(calls) == 2:
            raise jax.errors.JaxRuntimeError(
                "INTERNAL: Error dispatching computation: Out of memory allocating "
                "26214400000 bytes.")
        return made(*args, **kw)

    monkeypatch.setattr(runner, "_make_records", make_records)
    out = str(tmp_path / "oom")
    with pytest.raises(runner.RunError,
                       match=r"CatchPoint-v0 random \(quick\): out of memory: an allocation "
                             r"of 26.2 GB"):
        runner.train("random", "quick", out, envs=["CatchPoint-v0"], seeds=2, budget=50,
                     eval_interval=25, eval_episodes=3, progress=False)
    kept = list(results.iter_records(os.path.join(out, "results.jsonl")))
    assert sorted((r["seed"], r["env_steps"]) for r in kept) == [(0, 25), (1, 25)]


@pytest.mark.parametrize("machine", ["same", "other"])
def test_a_record_that_does_not_reproduce_is_refused_naming_the_likely_cause(
        tmp_path, machine: str) -> None:
    """A resumed run re-computes records; one that differs is refused. When the stored record
    came from another CPU or library set, the error says so (a run resumes bit for bit only
    where it was made); otherwise it points at the code or config."""
    out = str(tmp_path / "run")
    kw = dict(envs=["CatchPoint-v0"], seeds=2, budget=50, eval_interval=25, eval_episodes=3,
              progress=False)
    runner.train("random", "quick", out, **kw)
    path = os.path.join(out, "results.jsonl")
    recs = list(results.iter_records(path))
    recs[0]["return_mean"] += 1.0
    if machine == "other":
        recs[0]["provenance"]["cpu"] = "Some Other CPU; avx2; flags 00000000"
        del recs[0]["provenance"]["libraries"]
    os.remove(path)
    results.append_records(path, recs[:1])
    shutil.rmtree(os.path.join(out, "checkpoints"))
    with pytest.raises(runner.RunError, match="differs from its re-computation in "
                       r"\['return_mean'\]") as err:
        runner.train("random", "quick", out, resume=True, **kw)
    if machine == "other":
        assert "cpu: Some Other CPU; avx2; flags 00000000 -> " in str(err.value)
        assert "libraries: not recorded" in str(err.value)
    else:
        assert "changed code or config?" in str(err.value)
    assert list(results.iter_records(path)) == recs[:1]  # nothing overwritten


def test_environment_differences_name_each_changed_field() -> None:
    now = results.provenance()
    assert results.environment_differences(now, now) == []
    then = {**now, "jax_version": "0.0.1"}
    del then["libraries"]
    assert results.environment_differences(then, now) == [
        f"jax_version: 0.0.1 -> {now['jax_version']}", "libraries: not recorded"]
    assert "flax " in now["libraries"] and "numpy " in now["libraries"]


def test_env_overrides_enter_the_config_hash_only_when_set() -> None:
    """Runs recorded before protocols had ``env_overrides`` keep their hash; a protocol that
    changes the env (HyAR's Catch Point view) hashes differently."""
    import dataclasses

    ep = load_protocol("hyar").for_env("Platform-v0")
    before = dataclasses.asdict(ep)
    before.pop("seeds")
    before.pop("env_overrides")
    before.pop("dataset")  # likewise the offline protocols' dataset (None online)
    legacy = results.config_hash({"agent": "a", "agent_config": {"x": 1}, "protocol": before,
                                  "base_seed": seeding.BASE_SEED})
    assert results.legacy_run_config_hash("a", {"x": 1}, ep) == legacy
    changed = dataclasses.replace(ep, env_overrides=(("obs_view", "hyar"),))
    assert results.legacy_run_config_hash("a", {"x": 1}, changed) != legacy
    offline = dataclasses.replace(ep, dataset="pamdp/Platform-v0/expert-v0")
    assert results.legacy_run_config_hash("a", {"x": 1}, offline) != legacy
    # the budget left the hash (a run can be extended); nothing else did
    assert results.run_config_hash("a", {"x": 1}, ep) == results.run_config_hash(
        "a", {"x": 1}, dataclasses.replace(ep, budget=ep.budget * 2))
    assert results.run_config_hash("a", {"x": 1}, ep) != results.run_config_hash(
        "a", {"x": 1}, dataclasses.replace(ep, eval_interval=ep.eval_interval + 1))
