"""Protocol files: the shipped ones load; malformed ones fail naming file and field."""

from __future__ import annotations

import pytest

from pamdp_bench.protocols import available_protocols, load_protocol


def test_shipped_protocols() -> None:
    assert {"dlpa", "hyar", "quick"} <= set(available_protocols())
    dlpa = load_protocol("dlpa").for_env("Platform-v0")
    assert (dlpa.budget, dlpa.eval_episodes, dlpa.train_episode_cap) == (500_000, 50, 25)
    hyar = load_protocol("hyar")
    assert hyar.for_env("Platform-v0").budget == 200_000
    assert hyar.for_env("Platform-v0").headline == "return"
    assert hyar.for_env("Goal-v0").headline == "success"
    assert hyar.for_env("HardMove-n10-v0").eval_episode_cap == 30
    assert hyar.for_env("CatchPoint-v0").budget == 1_000_000
    _, params = hyar.for_env("HardMove-n4-v0").env_params(training=False)
    assert params.max_steps_in_episode == 30
    _, params = load_protocol("quick").for_env("Platform-v0").env_params(training=True)
    assert params.max_steps_in_episode == 25


def test_eval_points_include_budget() -> None:
    p = load_protocol("quick").for_env("CatchPoint-v0")
    assert p.eval_points() == [1000, 2000]


def _write(tmp_path, text: str) -> str:
    path = tmp_path / "p.toml"
    path.write_text(text)
    return str(path)


BASE = 'name = "t"\nenvs = ["Platform-v0"]\nseeds = 2\nbudget = 100\neval_interval = 50\n' \
       'eval_episodes = 5\n'


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("budgett = 3\n", "unknown field 'budgett'"),
        ('headline = "score"\n', "'headline' must be one of"),
        ("seeds = 0\n", "'seeds' must be >= 1"),
        ('eval_episode_cap = "30"\n', "'eval_episode_cap' must be int"),
        ("warmup_counted = 1\n", "'warmup_counted' must be bool"),
        ('[env."Goal-v0"]\nbudget = 5\n', r"\[env.'Goal-v0'\] is not in 'envs'"),
        ("env_overrides = 3\n", "'env_overrides' must be dict"),
        ("env_overrides = {gravity = 2.0}\n", r"'env_overrides' for 'Platform-v0'.*gravity"),
        ("env_overrides = {max_steps_in_episode = 9}\n", "set the episode cap with"),
    ],
)
def test_malformed_fields_are_named(tmp_path, extra: str, message: str) -> None:
    text = BASE.replace("seeds = 2\n", "") if extra.startswith("seeds") else BASE
    with pytest.raises(ValueError, match=message):
        load_protocol(_write(tmp_path, text + extra))


def test_missing_and_unknown(tmp_path) -> None:
    with pytest.raises(ValueError, match="missing field 'budget'"):
        load_protocol(_write(tmp_path, BASE.replace("budget = 100\n", "")))
    with pytest.raises(ValueError, match="Did you mean"):
        load_protocol(_write(tmp_path, BASE.replace("Platform-v0", "Platfrom-v0")))
    with pytest.raises(ValueError, match="unknown protocol 'nope'"):
        load_protocol("nope")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_protocol(_write(tmp_path, "name = \n"))


def test_hyar_catch_point_sees_the_raw_observation() -> None:
    """HyAR's Catch Point agents see the 4 raw dims (no DLPA step clock): the protocol's
    ``env_overrides`` reach both the training and the evaluation env; other envs and the
    DLPA protocol keep the default view."""
    import jax

    hyar = load_protocol("hyar").for_env("CatchPoint-v0")
    for training in (True, False):
        env, params = hyar.env_params(training=training)
        assert env.reset(jax.random.key(0), params)[0].shape == (4,)
        assert params.max_steps_in_episode == 25
    env, params = load_protocol("dlpa").for_env("CatchPoint-v0").env_params(training=True)
    assert env.reset(jax.random.key(0), params)[0].shape == (6,)
    assert load_protocol("hyar").for_env("Platform-v0").env_overrides == ()


def test_bad_override_value_of_a_static_field_fails_at_load(tmp_path) -> None:
    text = BASE.replace('["Platform-v0"]', '["CatchPoint-v0"]')
    with pytest.raises(ValueError, match="'env_overrides' for 'CatchPoint-v0'.*obs_view"):
        load_protocol(_write(tmp_path, text + 'env_overrides = {obs_view = "raw"}\n'))


def test_hyar_protocol_selects_hyars_pdqn_reading() -> None:
    from pamdp_bench.agents import get_agent, reading_config

    hyar = load_protocol("hyar")
    assert hyar.reading_for("pdqn") == hyar.reading_for("pdqn_td3") == "hyar"
    assert hyar.reading_for("mpdqn") is None  # MP-DQN keeps its own settings
    cfg = reading_config(get_agent("pdqn"), "Platform-v0", hyar.reading_for("pdqn"))
    assert (cfg.multipass, cfg.hidden_q, cfg.init_scheme) == (False, (256, 256), "torch")
    assert load_protocol("dlpa").reading_for("pdqn") is None


def test_per_agent_overrides_where_one_original_script_differs() -> None:
    """HyAR's P-DQN and H-PPO stop Goal at 200k (the other Goal rows 300k); its H-PPO plays
    30-step Catch Point episodes (the others 25). Only the named agent on the named env moves,
    and the runner resolves the protocol for the agent it trains."""
    hyar = load_protocol("hyar")
    assert [hyar.for_env("Goal-v0", a).budget for a in ("pdqn", "hppo", "pdqn_td3", None)] == [
        200_000, 200_000, 300_000, 300_000]
    assert hyar.for_env("HardGoal-v0", "pdqn").budget == 300_000
    cp = hyar.for_env("CatchPoint-v0", "hppo")
    assert (cp.eval_episode_cap, cp.train_episode_cap, cp.budget) == (30, 30, 1_000_000)
    _, params = cp.env_params(training=True)
    assert params.max_steps_in_episode == 30
    assert hyar.for_env("CatchPoint-v0", "pdqn").eval_episode_cap is None  # the env's 25
    assert hyar.tasks(["Goal-v0"], "hppo")[0].budget == 200_000


def test_the_runner_trains_under_the_agents_overrides(tmp_path) -> None:
    from pamdp_bench.harness import runner

    path = _write(tmp_path, BASE.replace("Platform-v0", "CatchPoint-v0")
                  + '[env."CatchPoint-v0".agents]\nrandom = {budget = 50}\n')
    recs = runner.train("random", path, str(tmp_path / "out"), seeds=1, progress=False)
    assert sorted({r["env_steps"] for r in recs}) == [50]  # not the protocol's 100


@pytest.mark.parametrize(("table", "message"), [
    ("[env.\"Platform-v0\".agents]\nno_such_agent = {budget = 5}\n", "unknown agent"),
    ("[env.\"Platform-v0\".agents]\npdqn = {headline = \"return\"}\n",
     "unknown field 'headline'"),
    ("[env.\"Platform-v0\".agents]\npdqn = {budget = 0}\n", "'budget' must be >= 1"),
    ("[env.\"Platform-v0\".agents]\npdqn = 3\n", "must be a table of fields"),
    ("[env.\"Platform-v0\"]\nagents = 3\n", "must be a table of agent names"),
    # keys that would load and never apply (the runner looks agents up by registered name),
    # or that name an importable non-agent
    ("[env.\"Platform-v0\".agents]\n\"hppo[gamma=0.9]\" = {budget = 5}\n",
     "registered agent names"),
    ("[env.\"Platform-v0\".agents]\n\"pamdp_bench.baselines.hppo.agent:HPPO\" = {budget = 5}\n",
     "registered agent names"),
    ("[env.\"Platform-v0\".agents]\n\"json:dumps\" = {budget = 5}\n", "registered agent names"),
])
def test_bad_per_agent_overrides_fail_naming_the_file(tmp_path, table: str, message: str) -> None:
    path = _write(tmp_path, BASE + table)
    with pytest.raises(ValueError, match=message) as err:
        load_protocol(path)
    assert path in str(err.value)


@pytest.mark.parametrize(("entry", "message"), [
    ('agent_readings = {no_such_agent = "hyar"}', "unknown agent"),
    ('agent_readings = {pdqn = "no_such_reading"}', "no config reading 'no_such_reading'"),
    ('agent_readings = {mpdqn = "hyar"}', "agent 'mpdqn' has no config reading 'hyar'"),
    ('agent_readings = {pdqn = 3}', "must be a reading name"),
    ('agent_readings = {"pdqn[gamma=0.5]" = "hyar"}', "registered agent names"),
    ('agent_readings = {"pdqn@abc" = "hyar"}', "registered agent names"),
])
def test_bad_agent_readings_fail_naming_the_file(tmp_path, entry: str, message: str) -> None:
    path = _write(tmp_path, BASE + entry + "\n")
    with pytest.raises(ValueError, match=message) as err:
        load_protocol(path)
    assert path in str(err.value)
