"""Result records: schema validation, append-only writing, errors naming file and line."""

from __future__ import annotations

import json

import pytest

from pamdp_bench.harness import records as results


def _record(**kw) -> dict:
    rec = {
        "schema": results.SCHEMA, "protocol": "quick", "env_id": "Platform-v0",
        "agent": "random", "seed": 0, "env_steps": 1000, "eval_episodes": 20,
        "return_mean": 0.15, "return_std": 0.1, "success_rate": 0.0, "length_mean": 2.1,
        "final": True, "config_hash": "abc", "wall_time_s": 1.0,
        "provenance": {f: "x" for f in results.PROVENANCE_FIELDS},
    }
    rec.update(kw)
    return rec


def test_round_trip(tmp_path) -> None:
    path = str(tmp_path / "r.jsonl")
    assert results.append_records(path, [_record(seed=0), _record(seed=1)]) == 2
    results.append_records(path, [_record(seed=2)])
    recs = list(results.iter_records(path))
    assert [r["seed"] for r in recs] == [0, 1, 2]
    assert len(results.load_records([str(tmp_path)])) == 3


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"seed": "0"}, "field 'seed' must be int"),
        ({"seed": True}, "field 'seed' must be int"),
        ({"final": 1}, "field 'final' must be bool"),
        ({"return_mean": float("nan")}, "not finite"),
        ({"success_rate": 1.5}, "outside"),
        ({"schema": "other/9"}, "schema"),
        ({"provenance": {}}, "provenance lacks"),
        ({"eval_episode_cap": 0}, "eval_episode_cap must be >= 1"),
        ({"eval_episode_cap": 25.0}, "field 'eval_episode_cap' must be int"),
    ],
)
def test_validation_names_the_problem(bad: dict, message: str) -> None:
    with pytest.raises(results.ResultFileError, match=message):
        results.validate(_record(**bad), "f.jsonl:3")


def test_missing_field() -> None:
    rec = _record()
    del rec["return_mean"]
    with pytest.raises(results.ResultFileError, match="missing field 'return_mean'"):
        results.validate(rec)


def test_bad_batch_writes_nothing(tmp_path) -> None:
    path = str(tmp_path / "r.jsonl")
    results.append_records(path, [_record()])
    before = open(path).read()
    with pytest.raises(results.ResultFileError):
        results.append_records(path, [_record(seed=1), _record(seed=-1)])
    assert open(path).read() == before  # nothing already written is lost or added


def test_malformed_and_truncated_lines_are_located(tmp_path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(json.dumps(_record()) + "\n" + "{not json\n")
    with pytest.raises(results.ResultFileError, match=r"r.jsonl:2: not valid JSON"):
        list(results.iter_records(str(path)))
    path.write_text(json.dumps(_record()) + "\n" + json.dumps(_record(seed=1))[:40])
    with pytest.raises(results.ResultFileError, match=r"r.jsonl:2: truncated"):
        list(results.iter_records(str(path)))


def test_a_valid_last_line_without_newline_is_kept_and_repaired(tmp_path) -> None:
    """Only a line that does not parse is truncated: a complete record missing its final
    newline is read, and the resume repair adds the newline instead of deleting it."""
    path = tmp_path / "r.jsonl"
    text = json.dumps(_record()) + "\n" + json.dumps(_record(seed=1, env_id="HardMove-n4-v0"))
    path.write_text(text)
    assert [r["seed"] for r in results.iter_records(str(path))] == [0, 1]
    results.repair_truncated_tail(str(path))
    assert path.read_text() == text + "\n"
    results.append_records(str(path), [_record(seed=2)])
    assert [r["seed"] for r in results.iter_records(str(path))] == [0, 1, 2]
    # a torn line is still removed, and only it
    path.write_text(text + "\n" + json.dumps(_record(seed=3))[:40])
    results.repair_truncated_tail(str(path))
    assert path.read_text() == text + "\n"


def test_conflicting_duplicates_rejected(tmp_path) -> None:
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    results.append_records(str(a), [_record()])
    results.append_records(str(b), [_record()])
    assert len(results.load_records([str(a), str(b)])) == 1  # identical duplicate is fine
    results.append_records(str(b), [_record(seed=0, env_steps=1000, return_mean=0.9)])
    with pytest.raises(results.ResultFileError, match="conflicts"):
        results.load_records([str(a), str(b)])


def test_duplicates_must_agree_in_every_field_and_conflicts_are_located(tmp_path) -> None:
    """Issue 13: a duplicate whose secondary fields differ was accepted and a conflict had no
    line numbers. ``final`` may differ (a run extended to a larger budget)."""
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    results.append_records(str(a), [_record(seed=1), _record()])
    results.append_records(str(b), [_record(final=False, wall_time_s=9.0)])
    assert len(results.load_records([str(a), str(b)])) == 2
    results.append_records(str(b), [_record(length_mean=7.0)])
    with pytest.raises(results.ResultFileError,
                       match=r"b.jsonl:2: .*conflicts with the one at .*a.jsonl:2 "
                             r"\(fields that differ: length_mean\)"):
        results.load_records([str(a), str(b)])


def test_same_key_of_another_config_is_kept(tmp_path) -> None:
    """A re-run after the agent's defaults changed (other config hash) is not a conflict."""
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    results.append_records(str(a), [_record()])
    results.append_records(str(b), [_record(config_hash="def", return_mean=0.9)])
    loaded = results.load_records([str(a), str(b)])
    assert sorted((r["config_hash"], r["return_mean"]) for r in loaded) == [
        ("abc", 0.15), ("def", 0.9)]


def test_missing_path() -> None:
    with pytest.raises(results.ResultFileError, match="no such file"):
        results.load_records(["/nonexistent/results.jsonl"])


def test_config_hash_stable_and_sensitive() -> None:
    assert results.config_hash({"a": 1, "b": 2}) == results.config_hash({"b": 2, "a": 1})
    assert results.config_hash({"a": 1}) != results.config_hash({"a": 2})


def test_binary_file_is_located(tmp_path) -> None:
    path = tmp_path / "r.jsonl"
    path.write_bytes(b"\xff\xfe\x00garbage\n")
    with pytest.raises(results.ResultFileError, match=r"r.jsonl:1: not UTF-8"):
        list(results.iter_records(str(path)))


def test_a_record_from_before_the_cap_field_still_matches_its_recomputation() -> None:
    """``eval_episode_cap`` restates the protocol, which the config hash already pins: a
    record written before the field existed equals one with it (resume, duplicates, the
    leaderboard's comparison), so old runs resume and old entries verify."""
    old, new = _record(), _record(eval_episode_cap=200)
    assert results.comparable(old) == results.comparable(new)
    assert results.validate(new)["eval_episode_cap"] == 200
