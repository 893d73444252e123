"""The runner under ``jax.distributed``, for real: two ``pamdp-bench train`` processes on this
machine (a localhost coordinator through ``PAMDP_BENCH_COORDINATOR``, CPU devices), each
running its slice of the seeds into its own results file; the merged records equal a
single-process run of the same seeds. Plus the variables' validation."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import pytest

from pamdp_bench.harness import records as results

HERE = os.path.dirname(os.path.abspath(__file__))
ARGS = ["--agent=toy_agent:ToyAgent", "--protocol=quick", "--env=CatchPoint-v0", "--seeds=3",
        "--budget=100", "--eval_interval=50", "--eval_episodes=2"]


def _train(out: str, **extra: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": HERE + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "JAX_PLATFORMS": "cpu", **extra}
    return subprocess.Popen([sys.executable, "-m", "pamdp_bench.cli", "train", *ARGS,
                             f"--out={out}"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def _records(out: str) -> dict:
    recs = results.load_records([out])
    return {results.record_key(r): results.comparable(r) for r in recs}


@pytest.mark.long  # 25 s in CI (two train processes); make test-long runs it
def test_two_processes_equal_one(tmp_path) -> None:
    with socket.socket() as s:
        s.bind(("localhost", 0))
        port = s.getsockname()[1]
    two = str(tmp_path / "two")
    procs = [_train(two, PAMDP_BENCH_COORDINATOR=f"localhost:{port}",
                    PAMDP_BENCH_NUM_PROCESSES="2", PAMDP_BENCH_PROCESS_ID=str(i))
             for i in range(2)]
    one = _train(str(tmp_path / "one"))
    for p in (*procs, one):
        out, _ = p.communicate(timeout=600)
        assert p.returncode == 0, out[-3000:]
    files = sorted(f for f in os.listdir(two) if f.endswith(".jsonl"))
    assert files == ["results.process-0-of-2.jsonl", "results.process-1-of-2.jsonl"]
    seeds = {f: {json.loads(line)["seed"] for line in open(os.path.join(two, f))} for f in files}
    assert seeds == {files[0]: {0, 1}, files[1]: {2}}  # numpy.array_split of [0, 1, 2]
    merged, single = _records(two), _records(str(tmp_path / "one"))
    assert merged.keys() == single.keys() and len(merged) == 3 * 2
    assert merged == single


def test_distributed_variables_are_validated() -> None:
    import pytest

    from pamdp_bench.distributed import init_from_env

    assert init_from_env({}) is False
    for env, msg in (({"PAMDP_BENCH_NUM_PROCESSES": "2"}, "COORDINATOR is not"),
                     ({"PAMDP_BENCH_COORDINATOR": "h:1", "PAMDP_BENCH_NUM_PROCESSES": "x",
                       "PAMDP_BENCH_PROCESS_ID": "0"}, "integer"),
                     ({"PAMDP_BENCH_COORDINATOR": "h:1", "PAMDP_BENCH_NUM_PROCESSES": "2",
                       "PAMDP_BENCH_PROCESS_ID": "2"}, r"\[0, 2\)")):
        with pytest.raises(ValueError, match=msg):
            init_from_env(env)
