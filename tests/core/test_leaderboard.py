"""Leaderboard verification (issue 13): an honest multi-seed entry of a learning agent
verifies bit for bit; tampering that survives a recomputed digest is rejected; a forged
verdict is never shown as verified."""

from __future__ import annotations

import json
import os
import shutil
from typing import Any

import pytest

from pamdp_bench.analysis import leaderboard as lb
from pamdp_bench.harness import records as records_lib

#: A learning agent (P-DQN, small networks) on one env, 3 seeds: the case that failed when
#: verify re-ran one seed alone.
PDQN = ("pdqn[batch_size=16,hidden_param=[16],hidden_q=[16],learning_starts=64]")
RUN = {"budget": 300, "eval_interval": 150, "eval_episodes": 3}


@pytest.fixture(scope="module")
def honest(tmp_path_factory: pytest.TempPathFactory) -> str:
    root = tmp_path_factory.mktemp("board")
    return lb.submit(PDQN, "quick", str(root / "run"), str(root / "entries"),
                     envs=["Platform-v0"], seeds=3, overrides=RUN)


def _forge(src: str, dst_dir, name: str, edit) -> str:  # noqa: ANN001
    """A copy of the entry edited by ``edit`` with its digest recomputed (what a forger can
    always do)."""
    with open(src) as f:
        entry = json.load(f)
    edit(entry)
    entry["entry_digest"] = lb.entry_digest(entry)
    path = os.path.join(str(dst_dir), name)
    with open(path, "w") as f:
        json.dump(entry, f)
    return path


def test_an_honest_three_seed_learning_entry_verifies_bitwise(honest: str) -> None:
    result = lb.verify(honest)
    assert result.ok, result.describe()
    assert result.mode == "bitwise" and result.compared == 3 * 2 and result.seeds == [0, 1, 2]
    with open(honest) as f:
        records = json.load(f)["records"]
    assert len({r["return_mean"] for r in records}) > 1  # it learns: numbers differ


def test_an_entry_from_another_cpu_is_verified_within_tolerance(honest: str,
                                                                tmp_path) -> None:
    """XLA compiles for the host's instruction set, so bit-for-bit equality is only owed on
    the entry's CPU; elsewhere the verdict must say ``tolerance``, never ``bitwise``."""
    with open(honest) as f:
        assert json.load(f)["provenance"]["cpu"] == records_lib.cpu_description()

    def edit(e: dict[str, Any]) -> None:
        e["provenance"]["cpu"] = "Another CPU; avx2; flags 00000000"

    result = lb.verify(_forge(honest, tmp_path, "other_cpu.json", edit))
    assert result.ok and result.mode == "tolerance", result.describe()
    assert "count or CPU than the entry's" in result.describe()


def test_another_seeds_numbers_changed_is_caught_by_the_rerun(honest: str, tmp_path) -> None:
    def edit(e: dict[str, Any]) -> None:
        for r in e["records"]:
            if r["seed"] == 2:
                r["return_mean"] += 5.0
                r["success_rate"] = 1.0

    result = lb.verify(_forge(honest, tmp_path, "seed2.json", edit))
    assert not result.ok and any("seed 2" in p and "return_mean" in p for p in result.problems)


@pytest.mark.parametrize("case", ["label", "seed_removed", "point_removed", "protocol"])
def test_tampering_a_digest_cannot_hide_is_rejected_before_rerunning(
        honest: str, tmp_path, case: str, monkeypatch) -> None:
    def edit(e: dict[str, Any]) -> None:
        if case == "label":  # show a random agent's numbers under another agent's name
            e["agent"] = "dlpa"
            for r in e["records"]:
                r["agent"] = "dlpa"
        elif case == "seed_removed":
            e["records"] = [r for r in e["records"] if r["seed"] != 1]
            e["seeds"] = [0, 2]
        elif case == "point_removed":
            e["records"] = [r for r in e["records"] if (r["seed"], r["env_steps"]) != (0, 300)]
        else:
            e["protocol_toml"] = e["protocol_toml"].replace('name = "quick"', 'name = "fast"')

    monkeypatch.setattr(lb, "train", lambda *a, **k: pytest.fail("re-ran a rejected entry"))
    result = lb.verify(_forge(honest, tmp_path, f"{case}.json", edit))
    assert not result.ok
    want = {"label": "is not the agent's", "seed_removed": "protocol asks for",
            "point_removed": "schedule missing", "protocol": "protocol 'quick'"}[case]
    assert any(want in p for p in result.problems), result.problems


def test_edited_fields_fail_the_digest(honest: str, tmp_path) -> None:
    with open(honest) as f:
        entry = json.load(f)
    for field, value in (("agent", "dlpa"), ("seeds", [0]), ("overrides", {}),
                         ("protocol_toml", "")):
        forged = dict(entry, **{field: value})
        path = tmp_path / f"{field}.json"
        path.write_text(json.dumps(forged))
        with pytest.raises(lb.EntryError, match="digest"):
            lb.load_entry(str(path))


def test_a_forged_verdict_is_not_shown_as_verified(honest: str, tmp_path, monkeypatch) -> None:
    entries = tmp_path / "entries"
    entries.mkdir()
    path = str(entries / os.path.basename(honest))
    shutil.copy(honest, path)
    with open(path) as f:
        digest = json.load(f)["entry_digest"]
    side = path[:-5] + ".verification.json"
    board = str(tmp_path / "board.md")
    forged = {"entry_digest": digest, "verified": True, "mode": "bitwise",
              "device_kind": "cpu", "all_envs": True}
    with open(side, "w") as f:
        json.dump(forged, f)
    monkeypatch.setenv(lb.VERDICT_KEY_ENV, "maintainers-secret")
    assert "✓ bitwise" not in lb.render_board(str(entries), board)
    forged["signature"] = "0" * 64  # a guessed signature
    with open(side, "w") as f:
        json.dump(forged, f)
    assert "✓ bitwise" not in lb.render_board(str(entries), board)
    with open(side, "w") as f:  # a verdict of another entry
        json.dump({**forged, "entry_digest": "f" * 64}, f)
    assert "stale or foreign" in lb.render_board(str(entries), board)
    # a real verdict, signed with the key, is shown; so is a fresh re-verification
    lb.verify(path)
    assert "✓ bitwise (cpu)" in lb.render_board(str(entries), board)
    monkeypatch.delenv(lb.VERDICT_KEY_ENV)
    assert "✓ bitwise" not in lb.render_board(str(entries), board)
    assert "✓ bitwise (cpu)" in lb.render_board(str(entries), board, reverify=True)


def test_a_preset_agent_is_sourced_by_its_registered_name() -> None:
    """``mpdqn`` (a preset: a class made at registration) has no importable ``module:Class``
    path; its entry names it by its registered name, which ``get_agent`` finds (submitting it
    failed with "'mpdqn' is not field=value")."""
    from pamdp_bench.agents import get_agent, parse_agent_spec
    from pamdp_bench.analysis.leaderboard import _class_path

    for name in ("mpdqn", "pdqn", "patd3", "random"):
        cls = get_agent(name)
        source = _class_path(cls)
        assert get_agent(parse_agent_spec(source)[0]) is cls
    assert _class_path(get_agent("mpdqn")) == "mpdqn"
    assert _class_path(get_agent("pdqn")) == "pamdp_bench.baselines.pdqn.agent:PDQNAgent"


def test_the_schedule_check_uses_the_agents_own_protocol_fields(tmp_path) -> None:
    """A protocol that gives the agent its own budget on an env (``[env.ID.agents.NAME]``):
    verification expects that agent's evaluation schedule, not the protocol's."""
    from pamdp_bench.protocols import load_protocol

    path = tmp_path / "p.toml"
    path.write_text('name = "t"\nenvs = ["CatchPoint-v0"]\nseeds = 1\nbudget = 100\n'
                    'eval_interval = 50\neval_episodes = 2\n'
                    '[env."CatchPoint-v0".agents]\nrandom = {budget = 50}\n')
    proto = load_protocol(str(path))
    rec = {"env_id": "CatchPoint-v0", "seed": 0, "env_steps": 50, "agent": "random",
           "protocol": "t"}
    entry = {"agent_source": "random", "agent": "random", "protocol": "t",
             "envs": ["CatchPoint-v0"], "seeds_requested": None, "seeds": [0],
             "overrides": {}, "records": [rec]}
    assert lb.check_consistency(entry, proto, "e") == []
    entry["records"] = [rec, {**rec, "env_steps": 100}]  # the protocol's own budget: too far
    (problem,) = lb.check_consistency(entry, proto, "e")
    assert "outside the protocol's schedule" in problem
