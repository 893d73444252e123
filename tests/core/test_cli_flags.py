"""Per-command flags of ``pamdp-bench``: help listings, required and foreign flags, absl-style
bools, verify's refusal of seed subsets, and that every invocation the Makefile and README use still
parses. Nothing here trains: parse errors exit before any command runs."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pamdp_bench.cli import COMMANDS, main
from pamdp_bench.cli.main import parse

ALL_COMMANDS = ("train", "eval", "table", "scale", "submit", "verify", "leaderboard", "site",
                "datasets", "conformance", "bench", "render", "envs")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pamdp_bench.cli", *args],
                          capture_output=True, text=True, timeout=300)


def parsed(*args: str):
    result = parse(["pamdp-bench", *args])
    assert not isinstance(result, int), f"{args} did not parse (exit {result})"
    return result[1]


def test_help_lists_every_command_with_one_line() -> None:
    assert COMMANDS == ALL_COMMANDS
    proc = cli("--help")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    for name in ALL_COMMANDS:
        (line,) = [ln for ln in lines if ln.startswith(f"  {name} ")]
        assert len(line.split()) > 2  # a name and its description
    proc = cli()
    assert proc.returncode == 2
    assert all(f"  {name} " in proc.stderr for name in ALL_COMMANDS)


def test_command_help_lists_its_flags(capsys) -> None:
    assert main(["pamdp-bench", "train", "--help"]) == 0
    out = capsys.readouterr().out
    for flag in ("--agent", "--out", "--protocol", "--config", "--resume", "--supported_only",
                 "--seeds", "--seed_offset", "--budget", "--env"):
        assert flag in out
    assert "--episodes" not in out and "--entries" not in out
    assert main(["pamdp-bench", "verify", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--env" in out and "--seed_index" not in out and "--seed " not in out


def test_train_without_agent_is_an_error() -> None:
    proc = cli("train", "--out=/tmp/never", "--protocol=quick")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error:") and "--agent" in proc.stderr


def test_foreign_flag_is_an_error_naming_it_and_the_command() -> None:
    proc = cli("train", "--agent=random", "--out=/tmp/never", "--episodes=5")
    assert proc.returncode == 2
    assert "--episodes is not a flag of train" in proc.stderr
    assert "it is a flag of eval" in proc.stderr


@pytest.mark.parametrize("args, flag", [
    (("eval", "--config=x=1"), "--config"),
    (("table", "runs", "--protocol=quick"), "--protocol"),
    (("render", "--seeds=2"), "--seeds"),
    (("envs", "--env=Platform-v0"), "--env"),
    (("leaderboard", "--bogus=1"), "--bogus"),
])
def test_foreign_flags(capsys, args: tuple[str, ...], flag: str) -> None:
    assert main(["pamdp-bench", *args]) == 2
    err = capsys.readouterr().err
    assert f"{flag} is not a flag of {args[0]}" in err


def test_verify_env_subset_and_no_seed_subsets(capsys) -> None:
    assert parsed("verify", "e.json", "--env=Goal-v0,Platform-v0").env == ["Goal-v0",
                                                                          "Platform-v0"]
    assert parsed("verify", "e.json").env is None
    for old in ("--seed=3", "--seed_index=3"):
        assert main(["pamdp-bench", "verify", "e.json", old]) == 2
        assert "whole seed batch" in capsys.readouterr().err
    # eval, render and table keep a PRNG --seed
    assert parsed("eval", "--seed=7").seed == 7
    assert parsed("render", "--seed=7").seed == 7
    assert parsed("table", "runs", "--seed=7").seed == 7


def test_absl_style_bools() -> None:
    assert parsed("train", "--agent=a", "--out=o", "--resume").resume is True
    assert parsed("train", "--agent=a", "--out=o", "--resume=true").resume is True
    assert parsed("train", "--agent=a", "--out=o", "--resume=false").resume is False
    assert parsed("train", "--agent=a", "--out=o", "--resume", "--noresume").resume is False
    assert parsed("conformance", "d").stats is True
    assert parsed("conformance", "d", "--nostats").stats is False
    assert parsed("conformance", "d", "--stats=0", "--x64", "--verbose=1").stats is False
    # a bool before a positional does not swallow it
    ns = parsed("conformance", "--x64", "d")
    assert ns.x64 is True and ns.directory == "d"
    # positional lists may follow flags (argparse's plain parsing ended ``ids`` at the first
    # flag and called the id after it an unexpected argument)
    ns = parsed("datasets", "build", "--overwrite", "pamdp/Goal-v0/expert-v0", "--root=r",
                "pamdp/Goal-v0/random-v0")
    assert ns.overwrite is True and ns.ids == ["pamdp/Goal-v0/expert-v0",
                                               "pamdp/Goal-v0/random-v0"]
    assert parsed("table", "--out=t", "a", "b").paths == ["a", "b"]


def test_values() -> None:
    ns = parsed("train", "--agent=pdqn", "--out=o", "--env=A,B", "--config=a=1",
                "--config", "b=[2]", "--seeds", "3")
    assert ns.env == ["A", "B"] and ns.config == ["a=1", "b=[2]"] and ns.seeds == 3
    assert parsed("bench", "--batches=1,8").batches == [1, 8]
    assert parsed("conformance", "d", "--only=goal,platform").only == ["goal", "platform"]
    assert parsed("table", "a", "b", "--out=t").paths == ["a", "b"]
    assert main(["pamdp-bench", "train", "--agent=a", "--out=o", "--seeds=two"]) == 2
    # no prefix matching: absl had none, and it would hide typos
    assert main(["pamdp-bench", "train", "--agent=a", "--out=o", "--eval_int=5"]) == 2


def test_bench_refuses_flags_its_mode_ignores(capsys) -> None:
    assert main(["pamdp-bench", "bench", "--suite=dlpa", "--seeds=3"]) == 2
    assert "does not use --seeds" in capsys.readouterr().err
    assert main(["pamdp-bench", "bench", "--agent=pdqn", "--readme=README.md"]) == 2
    assert "does not use --readme" in capsys.readouterr().err
    assert main(["pamdp-bench", "bench", "--config=x=1"]) == 2
    assert "does not use --config" in capsys.readouterr().err


# Every pamdp-bench invocation of the Makefile and the README (variables filled in).
DOCUMENTED = [
    "train --agent=clap --protocol=offline_quick --out=runs/offline",
    "bench --suite=offline --out=results/bench",
    "train --agent=clap[constraint=false] --protocol=offline_cpu --resume "
    "--dataset_root=/data/minari --out=results/runs/offline_cpu/clap[constraint=false]",
    "table results/runs/offline_cpu --out=results/tables/offline_cpu "
    "--manifest=results/datasets/manifest.json",
    "train --agent=random --protocol=quick --supported_only --resume --out=runs/demo/random",
    "table runs/demo --out=runs/demo/tables",
    "table runs/r --out=runs/r/tables --train_metrics=loss_critic",
    "train --agent=dlpa --config=model_type=concat --protocol=dlpa_ablation --resume "
    "--out=results/runs/dlpa_ablation/structure_concat",
    "train --agent=qmle --protocol=scale --resume --out=results/runs/scale/qmle",
    "bench --suite=scale --agent=qmle;dlpa;pdqn --out=results/bench",
    "scale results/runs/scale --out=results/tables/scale",
    "leaderboard --verify",
    "site --out=site",
    "site --out=site --screenshot=results/site/leaderboard.png",
    "conformance ../shared/golden",
    "bench --out=results/bench --readme=README.md",
    "bench --suite=dlpa --out=results/bench",
    "bench --suite=modelfree --out=results/bench",
    "bench --suite=qmle --out=results/bench",
    "bench --suite=flexplore --out=results/bench",
    "bench --suite=adapter --out=results/bench",
    "train --agent=flexplore --config=smoothing=always --config=fgsm_eps=0.05 "
    "--protocol=flexplore_ablation "
    "--env=CatchPoint-v0 --resume --out=results/runs/flexplore_ablation/smoothing_always_eps_0.05",
    "table results/runs/flexplore_ablation --out=results/tables/flexplore_ablation "
    "--train_metrics=model/smoothing,model/reward_loss,model/contin_loss",
    "train --agent=flexplore --config=smoothing=off --protocol=flexplore_ablation "
    "--env=HardMove-n8-v0 --resume --out=results/runs/flexplore_hm8/smoothing_off",
    "table results/runs/flexplore_hm8 --out=results/tables/flexplore_hm8",
    "train --agent=hppo --protocol=hyar --env=Goal-v0 --resume "
    "--out=results/runs/hyar_table2/hppo",
    "table results/runs/hyar_table2 --out=results/tables/hyar_table2",
    "train --agent=qmle --protocol=hyar --env=CatchPoint-v0 --seeds=3 --eval_interval=10000 "
    "--resume --out=results/runs/qmle_hyar/catch",
    "table results/runs/qmle_hyar/platform results/runs/hyar_platform/pdqn "
    "--out=results/tables/qmle_hyar",
    "train --agent=dlpa --protocol=dlpa --env=Goal-v0 --seeds=3 --budget=20000 --resume "
    "--out=results/runs/dlpa_eight/goal",
    "table results/runs/dlpa_eight --out=results/tables/dlpa",
    "envs",
    "render --env=Platform-v0 --out=renders/Platform-v0",
    "train --agent=random --protocol=quick --out=runs/r",
    "train --agent=dlpa --config=mppi_variant=shared --protocol=dlpa_ablation --out=runs/a",
    "bench --agent=pdqn --env=Platform-v0 --seeds=8",
    "submit my_pkg.agents:MyAgent --protocol=dlpa",
    "verify results/leaderboard/entries/dlpa__myagent.json",
    "verify ENTRY.json --env=Platform-v0",
    "conformance DIR --only=goal,platform --x64 --verbose",
    "eval runs/r --episodes=100",
    "render --env=Goal-v0 --run=runs/demo/pdqn --seed=2 --tries=20",
    "eval runs/r --step=1000 --env=Platform-v0",
    "datasets build --env=Platform-v0,Goal-v0 --size=small --root=/tmp/d",
    "datasets list --env=Platform-v0 --size=full",
    "datasets list --size=both",
    "datasets info pamdp/CatchPoint-v0/expert-v0",
    "datasets verify --size=both",
    "datasets build pamdp/Platform-v0/random-v0 --overwrite --noprogress",
]


@pytest.mark.parametrize("line", DOCUMENTED)
def test_documented_invocations_parse(line: str) -> None:
    parsed(*line.split())
    flags = dict(a[2:].split("=", 1) for a in line.split() if a.startswith("--") and "=" in a)
    if line.startswith("train ") and "protocol" in flags and "env" in flags:
        from pamdp_bench.protocols import load_protocol

        for env_id in flags["env"].split(","):  # the protocol must include every env named
            load_protocol(flags["protocol"]).for_env(env_id)


def test_bad_paths_and_repeated_envs_are_one_line_errors(tmp_path, capsys) -> None:
    """Issue 13: a file where a directory is needed, a missing entries directory, an env given
    twice and a protocol listing an env twice (or none) are refused with a message, no
    traceback, nothing written."""
    afile = tmp_path / "file"
    afile.write_text("x")
    assert main(["pamdp-bench", "train", "--agent=random", f"--out={afile}/run",
                 "--env=CatchPoint-v0", "--budget=10", "--eval_interval=10"]) == 2
    assert "error: Not a directory" in capsys.readouterr().err
    assert main(["pamdp-bench", "leaderboard", f"--entries={tmp_path / 'none'}"]) == 2
    assert "no entries directory" in capsys.readouterr().err
    assert main(["pamdp-bench", "train", "--agent=random", f"--out={tmp_path / 'r'}",
                 "--env=Platform-v0,Platform-v0"]) == 2
    assert "Platform-v0 given more than once" in capsys.readouterr().err
    for envs, msg in (('["Goal-v0", "Goal-v0"]', "more than once"), ("[]", "is empty")):
        proto = tmp_path / "p.toml"
        proto.write_text(f'name = "p"\ndescription = "d"\nenvs = {envs}\nseeds = 1\n'
                         'budget = 10\neval_interval = 10\neval_episodes = 1\n')
        assert main(["pamdp-bench", "train", "--agent=random", f"--protocol={proto}",
                     f"--out={tmp_path / 'r'}"]) == 2
        assert msg in capsys.readouterr().err
    assert not (tmp_path / "r").exists()
