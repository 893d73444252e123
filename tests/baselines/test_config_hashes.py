"""Config hashes of every registered baseline stay what they were before the restructuring.

``data/config_hashes.json`` was generated from the code before the baselines were restructured
(shared field names, presets instead of class flags): for every registered baseline and every
benchmark env with defaults, ``config_hash(default_config(env_id))``, plus MP-DQN's published
settings (``mpdqn_paper_config`` of P-DQN and PA-DDPG). Records and checkpoints carry these
hashes, so a renamed field must map back through ``LEGACY_FIELD_NAMES`` and every default must
keep its value. A field added later is left out of the hash while it holds its class's
``HASH_ADDED_FIELDS`` entry (the value that reproduces the behaviour from before).

Changed on purpose (issue 19; records of earlier runs keep their old hashes and the tables
never pool them with new ones):

* ``pdqn``, ``mpdqn``, ``pdqn_td3`` on every env: the ``sources`` text of the default reading
  was corrected (HyAR's Platform PDQN is single-pass, not MP-DQN; Goal's [choice] premise;
  Catch Point / Hard Move's ``initial_memory`` 128 is read from HyAR's code). Behaviour is
  unchanged. The fields added with it (``init_scheme``, ``twin_target``,
  ``twin_shared_output``, ``end_episode_at_eval``) stay out of the hash at their old-behaviour
  values (``HASH_ADDED_FIELDS``).
* ``hyar_td3``, ``hyar_ddpg`` on Platform, Goal and Hard Goal: ``end_episode_at_eval`` is now
  on by default, as in HyAR's scripts for those envs (Catch Point / Hard Move keep theirs).

* every ``dlpa@*`` default hash (D2): DLPA's planner now applies momentum to the parameter
  std as the official code does (``std_momentum=True``, ``DLPA.py:297``);
  ``std_momentum=False`` reproduces the old behaviour and its old hash.

``hyar_reading`` pins the P-DQN family's new ``reading="hyar"`` configs (the ``hyar``
protocol's). Changed on purpose there: ``hppo`` on Catch Point and Hard Move, whose HyAR reading
now also runs its GAE path on through step-capped episodes (``truncation="run_on"``, HyAR's MPE
scripts); Platform, Goal and Hard Goal keep theirs.
"""

from __future__ import annotations

import json
import pathlib

import pytest

from pamdp_bench.agents import get_agent
from pamdp_bench.baselines.paddpg import config as paddpg_config
from pamdp_bench.baselines.pdqn import config as pdqn_config
from pamdp_bench.harness.records import config_hash
from pamdp_bench.registry import BENCHMARK_IDS

PINNED = json.loads((pathlib.Path(__file__).parent / "data" / "config_hashes.json").read_text())
AGENTS = ("pdqn", "mpdqn", "pdqn_td3", "paddpg", "patd3", "hppo", "hyar_td3", "hyar_ddpg", "dlpa")


def _defaults() -> dict[str, str]:
    out = {}
    for name in AGENTS:
        cls = get_agent(name)
        for env_id in BENCHMARK_IDS:
            try:
                cfg = cls.default_config(env_id)
            except ValueError:
                continue
            out[f"{name}@{env_id}"] = config_hash(cfg)
    return out


def test_default_config_hashes_are_pinned() -> None:
    got = _defaults()
    assert set(got) == set(PINNED["default_config"])  # same (agent, env) pairs have defaults
    changed = {k: (got[k], v) for k, v in PINNED["default_config"].items() if got[k] != v}
    assert not changed


def _hyar_reading() -> dict[str, str]:
    out = {}
    for name in ("pdqn", "pdqn_td3", "hppo"):
        for env_id in BENCHMARK_IDS:
            out[f"{name}@{env_id}"] = config_hash(get_agent(name).default_config(
                env_id, reading="hyar"))
    return out


def test_hyar_reading_hashes_are_pinned() -> None:
    assert _hyar_reading() == PINNED["hyar_reading"]


@pytest.mark.parametrize(("label", "fn", "kw"), [
    ("pdqn", pdqn_config.mpdqn_paper_config, {"multipass": True}),
    ("pdqn_singlepass", pdqn_config.mpdqn_paper_config, {"multipass": False}),
    ("paddpg", paddpg_config.mpdqn_paper_config, {"twin": False}),
    ("patd3", paddpg_config.mpdqn_paper_config, {"twin": True}),
])
def test_mpdqn_paper_config_hashes_are_pinned(label: str, fn, kw: dict) -> None:  # noqa: ANN001
    want = {k.split("@")[1]: v for k, v in PINNED["mpdqn_paper_config"].items()
            if k.split("@")[0] == label}
    assert want  # Platform and Goal at least
    for env_id in BENCHMARK_IDS:
        if env_id in want:
            assert config_hash(fn(env_id, **kw)) == want[env_id], env_id
        else:
            with pytest.raises(ValueError):
                fn(env_id, **kw)


def test_dlpa_earlier_behaviour_keeps_its_hash() -> None:
    """The new DLPA fields are hash-neutral at the values of the earlier behaviour: DLPA with
    ``std_momentum=False`` (the old default) has the hashes pinned before issue 19."""
    import dataclasses

    before = {"Platform-v0": "cbdb21146aea9614", "HardMove-n4-v0": "246a83b3cf152a26",
              "Goal-v0": "e1433cfc7ba97d9b", "CatchPoint-v0": "6a8aae0068049357"}
    cls = get_agent("dlpa")
    for env_id, want in before.items():
        cfg = dataclasses.replace(cls.default_config(env_id), std_momentum=False)
        assert config_hash(cfg) == want, env_id
        flipped = dataclasses.replace(cfg, rlkit_fanin=True)  # a non-neutral value is hashed
        assert config_hash(flipped) != want
