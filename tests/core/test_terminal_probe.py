"""``tools.terminal_probe``: continuing steps from reset, a replay's escape from one-step
episodes, and the model's continuation argmax at reset."""

from __future__ import annotations

import jax
import numpy as np
import pytest

import pamdp_bench
from pamdp_bench.baselines.dlpa.config import default_config
from pamdp_bench.baselines.dlpa.networks import init_model
from pamdp_bench.tools.terminal_probe import (
    main,
    model_continuation,
    replay_escape,
    reset_continuation,
)


def test_on_goal_only_kick_to_continues_from_reset() -> None:
    env, params = pamdp_bench.make("Goal-v0")
    out = reset_continuation(env, params, jax.random.key(0), 600)
    assert out["continue"].shape == (3,) and out["reward"].shape == (3,)
    assert 0.05 < out["continue"][0] < 0.2  # ~0.118 measured with 4000 samples
    np.testing.assert_array_equal(out["continue"][1:], 0.0)  # a shot from the start ends it
    assert (out["reward"] < 0).all()


def test_replay_escape_in_slot_order() -> None:
    flags = np.zeros(10)
    flags[[4, 7]] = 1
    row = replay_escape(flags, episodes=8, seed_episodes=5)
    assert row == {"episodes": 8, "first_longer": 4, "seed_phase_longer": 1,
                   "recent_share": 2 / 8}
    none = replay_escape(np.zeros(10), episodes=6, seed_episodes=5)
    assert none["first_longer"] is None and none["seed_phase_longer"] == 0
    # 13 episodes in 10 slots: episodes 0-2 are overwritten, slot 3 holds episode 3 ...
    # slot 2 holds episode 12; slots 4 and 7 hold episodes 4 and 7
    wrapped = replay_escape(flags, episodes=13, seed_episodes=5)
    assert wrapped["first_longer"] == 4 and wrapped["seed_phase_longer"] is None
    assert replay_escape(flags, episodes=0, seed_episodes=5)["recent_share"] is None
    with pytest.raises(ValueError, match="episodes must be >= 0"):
        replay_escape(flags, episodes=-1, seed_episodes=5)


@pytest.mark.parametrize("continues", [True, False])
def test_model_continuation_is_the_continuation_argmax(continues: bool) -> None:
    env, params = pamdp_bench.make("Goal-v0")
    space = env.action_space(params)
    obs = jax.vmap(lambda k: env.reset(k, params)[0])(jax.random.split(jax.random.key(1), 8))
    cfg = default_config("Goal-v0")
    model = init_model(jax.random.key(0), cfg, obs.shape[-1], space.num_actions,
                       space.max_param_dim)
    bias = np.asarray(model["rc"]["bm"]).copy()
    bias[-1] = [-20.0, 20.0] if continues else [20.0, -20.0]  # logit 1 = continue
    model["rc"]["bm"] = bias
    share = model_continuation(model, cfg, space, obs, jax.random.key(2))
    np.testing.assert_array_equal(share, np.full(3, 1.0 if continues else 0.0))


def test_cli_env_table_and_bad_input(capsys) -> None:  # noqa: ANN001
    assert main(["env", "Goal-v0", "--samples=50"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Goal-v0: 50 reset states") and "| 2 | 0.0000 |" in out
    with pytest.raises(SystemExit) as err:
        main(["env", "Goal-v0", "--samples=0"])
    assert err.value.code == 2
    assert "--samples must be >= 1" in capsys.readouterr().err


def test_probe_run_reads_a_trained_dlpa_run(tmp_path) -> None:  # noqa: ANN001
    """End to end on a tiny Goal run: every finished episode is in the replay, in order."""
    from pamdp_bench.harness import runner
    from pamdp_bench.tools.terminal_probe import probe_run, run_markdown

    agent = ("dlpa[horizon=2,seed_episodes=3,num_samples=16,num_elites=4,iterations=1,"
             "num_updates=1,batch_size=8,buffer_episodes=64,hidden=8]")
    out = str(tmp_path / "run")
    runner.train(agent, "dlpa", out, envs=["Goal-v0"], seeds=2, budget=20, eval_interval=20,
                 eval_episodes=1, progress=False)
    result = probe_run(out, "Goal-v0", None, samples=16, seed=0)
    assert result["step"] == 20 and result["seed_episodes"] == 3
    assert sorted(result["seeds"]) == [0, 1]
    for row in result["seeds"].values():
        assert 1 <= row["episodes"] <= 20  # at most one episode per env step
        assert row["seed_phase_longer"] is not None and 0 <= row["seed_phase_longer"] <= 3
        assert row["model_continue"].shape == (3,)
    table = run_markdown(result)
    assert "| seed | episodes | first episode > 1 step |" in table and "k=2 |" in table
