# pamdp_bench make targets. Every target installs what it needs into $(VENV) first.
# [choice] the install uses uv (installed into the venv by pip) when it can: the same resolved
# versions as pip in about 15 s instead of 70-90 s, a fifth of CI's time budget; plain pip is
# the fallback (e.g. a machine that reaches only a local wheel directory).
PYTHON ?= python3
VENV   ?= .venv
GOLDEN ?= ../shared/golden
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo lock test test-fast test-long slow-tests conformance bench bench-envs bench-adapter bench-dlpa bench-modelfree bench-qmle bench-flexplore bench-offline lint envs \
	render clean-venv leaderboard site datasets datasets-small table-dlpa table-hyar table-quick table-offline ablation-dlpa ablation-dlpa-official ablation-flexplore flexplore-catch flexplore-hm8 flexplore-vs-dlpa dlpa-eight table2 qmle-hyar scale

# Every package is installed at the version of requirements-lock.txt (a constraints file): the
# numbers of a run depend on flax/optax/flashbax/numpy as well as jax, and a fresh install months
# later must compute what the committed records say. `make lock` re-resolves it.
LOCK := requirements-lock.txt
$(STAMP): pyproject.toml $(LOCK)
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "pamdp_bench needs Python >= 3.11"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet uv && $(BIN)/uv pip install --quiet --python $(BIN)/python \
	  -c $(LOCK) -e '.[dev]' \
	  || { $(BIN)/pip install --quiet --upgrade pip && $(BIN)/pip install --quiet -c $(LOCK) -e '.[dev]'; }
	@touch $(STAMP)

## lock: re-resolve requirements-lock.txt from pyproject.toml (Python 3.11+, every platform)
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml --extra dev --universal --python-version 3.11 --quiet \
	  --custom-compile-command "make lock" -o $(LOCK)

## demo: the `quick` protocol for every agent that exists, then the score table
DEMO_OUT    ?= runs/demo
DEMO_AGENTS ?= random scripted pdqn mpdqn
AGENTS      ?= random scripted pdqn mpdqn pdqn_td3 paddpg patd3 hppo hyar_td3 hyar_ddpg dlpa \
	flexplore
demo: $(STAMP)
	@for a in $(DEMO_AGENTS); do \
	  $(BIN)/pamdp-bench train --agent=$$a --protocol=quick --supported_only --resume \
	    --out=$(DEMO_OUT)/$$a || exit 1; \
	done
	$(BIN)/pamdp-bench table $(DEMO_OUT) --out=$(DEMO_OUT)/tables

## table-dlpa / table-hyar / table-quick: run a protocol for every agent (resumable), write tables
table-dlpa table-hyar table-quick: table-%: $(STAMP)
	@for a in $(AGENTS); do \
	  $(BIN)/pamdp-bench train --agent=$$a --protocol=$* --supported_only --resume \
	    --out=results/runs/$*/$$a || exit 1; \
	done
	$(BIN)/pamdp-bench table results/runs/$* --out=results/tables/$*

## table-offline: the offline table (issue 15): every offline agent x dataset x 3 seeds
## (resumable). OFFLINE_PROTOCOL=offline is the full one (200k gradient steps, §6.3 sizes; an
## accelerator's job); the default offline_cpu is what a 2-core CPU allows. The datasets come
## from `make datasets` (DATASET_ROOT, default Minari's directory).
OFFLINE_PROTOCOL ?= offline_cpu
OFFLINE_AGENTS   ?= clap clap[constraint=false] clap[latent_actions=false] bc
DATASET_ROOT     ?=
table-offline: $(STAMP)
	@for a in $(OFFLINE_AGENTS); do \
	  $(BIN)/pamdp-bench train --agent="$$a" --protocol=$(OFFLINE_PROTOCOL) --resume \
	    $(if $(DATASET_ROOT),--dataset_root=$(DATASET_ROOT)) \
	    --out="results/runs/$(OFFLINE_PROTOCOL)/$$a" || exit 1; \
	done
	$(BIN)/pamdp-bench table results/runs/$(OFFLINE_PROTOCOL) \
	  --out=results/tables/$(OFFLINE_PROTOCOL)

## table2: HyAR's Table 2 for the fast agents (issue 19): TABLE2_AGENTS x TABLE2_ENVS under the
## hyar protocol (HyAR's full budgets: Platform 200k, Goal / Hard Goal 300k, Catch Point and Hard
## Move 1M env steps; 5 seeds), H-PPO, P-DQN and PDQN-TD3 in HyAR's code reading, MP-DQN (not
## in HyAR's table) in its own settings (agent_readings in experiments/hyar.toml; its per-agent
## `agents` tables: P-DQN and H-PPO stop Goal at 200k as HyAR's scripts do). Resumable, prints ETA; one table. On this 2-core CPU the 1M
## rows take hours per agent and env (an accelerator's job); TABLE2_ENVS picks a subset.
TABLE2_AGENTS ?= hppo pdqn pdqn_td3 mpdqn
TABLE2_ENVS ?= Platform-v0 Goal-v0 HardGoal-v0 CatchPoint-v0 HardMove-n4-v0 HardMove-n6-v0 \
	HardMove-n8-v0 HardMove-n10-v0
table2: $(STAMP)
	@for e in $(TABLE2_ENVS); do for a in $(TABLE2_AGENTS); do \
	  echo "== $@: $$a on $$e"; \
	  $(BIN)/pamdp-bench train --agent=$$a --protocol=hyar --env=$$e --resume \
	    --out=results/runs/hyar_table2/$$a || exit 1; \
	done; done
	$(BIN)/pamdp-bench table results/runs/hyar_table2 --out=results/tables/hyar_table2

## leaderboard: re-verify every entry of results/leaderboard/entries (re-runs them) and write
## results/leaderboard.md
leaderboard: $(STAMP)
	$(BIN)/pamdp-bench leaderboard --verify

## site: the leaderboard, tables and learning curves as a static web site in site/ (open
## site/index.html; publish the directory as it is). SITE_VERIFY=1 re-verifies every entry.
site: $(STAMP)
	$(BIN)/pamdp-bench site --out=site $(if $(SITE_VERIFY),--verify)

## ablation-dlpa: DLPA variants (inference structure, 1-step loss, shared-distribution MPPI) on
## Platform and Hard Move n=4 (experiments/dlpa_ablation.toml); resumable, prints ETA
DLPA_ABLATIONS ?= default structure_concat=model_type=concat structure_multi=model_type=multi \
	structure_overlay=model_type=overlay loss_1step=one_step_loss=true \
	mppi_shared=mppi_variant=shared
ablation-dlpa: $(STAMP)
	@for v in $(DLPA_ABLATIONS); do \
	  name=$${v%%=*}; cfg=$${v#*=}; [ "$$name" = "$$v" ] && cfg=""; \
	  echo "== ablation-dlpa: $$name $${cfg:+($$cfg)}"; \
	  $(BIN)/pamdp-bench train --agent=dlpa $${cfg:+--config=$$cfg} --protocol=dlpa_ablation \
	    --resume --out=results/runs/dlpa_ablation/$$name || exit 1; \
	done
	$(BIN)/pamdp-bench table results/runs/dlpa_ablation --out=results/tables/dlpa_ablation

## ablation-dlpa-official: does each of DLPA's differences from the official code (issue 19,
## D1-D5, baselines/dlpa/agent.py) change early learning? Default config vs each flag flipped,
## DLPA protocol, 2 seeds, Hard Move n=4 6k / Platform 3k env steps, 20 eval episodes every
## 1k (CPU-sized: early learning only); resumable. Wrap in `flock` on a shared machine.
DLPA_OFFICIAL_FLAGS ?= default d1_broadcast=contin_loss_broadcast=true \
	d2_no_std_momentum=std_momentum=false d3_no_clip=clip_executed_z=false \
	d4_truncate=truncate_at_eval=true d5_rlkit_fanin=rlkit_fanin=true
DLPA_OFFICIAL_ENVS ?= hardmove4=HardMove-n4-v0=6000 platform=Platform-v0=3000
ablation-dlpa-official: $(STAMP)
	@for e in $(DLPA_OFFICIAL_ENVS); do short=$${e%%=*}; rest=$${e#*=}; \
	  env=$${rest%%=*}; budget=$${rest#*=}; \
	  for v in $(DLPA_OFFICIAL_FLAGS); do \
	    name=$${v%%=*}; cfg=$${v#*=}; [ "$$name" = "$$v" ] && cfg=""; \
	    echo "== ablation-dlpa-official: $$short $$name $${cfg:+($$cfg)}"; \
	    $(BIN)/pamdp-bench train --agent=dlpa $${cfg:+--config=$$cfg} --protocol=dlpa \
	      --env=$$env --seeds=2 --budget=$$budget --eval_interval=1000 --eval_episodes=20 \
	      --resume --out=results/runs/dlpa_ablation_i19/$$short/$$name || exit 1; \
	  done; done
	$(BIN)/pamdp-bench table results/runs/dlpa_ablation_i19 \
	  --out=results/tables/dlpa_ablation_i19

## ablation-flexplore: each FLEXplore mechanism off in turn, the lambda sweep {0.3, 0.5, 0.7},
## the eta sweep {0.01, 0.1, 1} (0.5 and 0.01 are the default run) and the FGSM epsilon sweep
## {0.005, 0.01, 0.05} (with AlwaysSmoothing at 0.05 too), DLPA protocol on Catch Point, 3 seeds,
## 20k env steps (experiments/flexplore_ablation.toml); resumable, prints ETA. A variant is
## NAME=FIELD=VALUE[+FIELD=VALUE...].
## flexplore-catch: the paper's published pair (and NoSmoothing) only, the first three runs.
FLEXPLORE_CATCH ?= default smoothing_always=smoothing=always smoothing_off=smoothing=off
FLEXPLORE_ABLATIONS ?= $(FLEXPLORE_CATCH) no_wasserstein=wasserstein_weight=0 \
	no_mi=mi_weight=0 no_proposals=proposal_fraction=0 \
	lambda_0.3=wasserstein_weight=0.3 lambda_0.7=wasserstein_weight=0.7 \
	eta_0.1=mi_weight=0.1 eta_1=mi_weight=1 \
	eps_0.005=fgsm_eps=0.005 eps_0.05=fgsm_eps=0.05 \
	smoothing_always_eps_0.05=smoothing=always+fgsm_eps=0.05
flexplore-catch: FLEXPLORE_ABLATIONS = $(FLEXPLORE_CATCH)
FLEXPLORE_ENV ?= CatchPoint-v0
FLEXPLORE_OUT ?= results/runs/flexplore_ablation
ablation-flexplore flexplore-catch flexplore-hm8: $(STAMP)
	@for v in $(FLEXPLORE_ABLATIONS); do \
	  name=$${v%%=*}; cfg=$${v#*=}; [ "$$name" = "$$v" ] && cfg=""; \
	  echo "== $@: $$name $${cfg:+($$cfg)}"; \
	  $(BIN)/pamdp-bench train --agent=flexplore $$(for c in $$(echo $$cfg | tr + ' '); do \
	    echo --config=$$c; done) \
	    --protocol=flexplore_ablation --env=$(FLEXPLORE_ENV) --resume \
	    --out=$(FLEXPLORE_OUT)/$$name \
	    || exit 1; \
	done
	$(BIN)/pamdp-bench table $(FLEXPLORE_OUT) --out=results/tables/$(notdir $(FLEXPLORE_OUT)) \
	  --train_metrics=model/smoothing,model/reward_loss,model/contin_loss

## flexplore-hm8: the paper's other smoothing result (spec §4.3: on Hard Move n = 8 smoothing hurt,
## pushing the agent toward negative-reward states): FLEXplore vs NoSmoothing (and
## AlwaysSmoothing) on Hard Move n = 8, the same protocol, seeds and budget as flexplore-catch
## (smoothing starts at T = 10k of 20k env steps); resumable, prints ETA; one table.
FLEXPLORE_HM8 ?= default smoothing_off=smoothing=off smoothing_always=smoothing=always
flexplore-hm8: FLEXPLORE_ABLATIONS = $(FLEXPLORE_HM8)
flexplore-hm8: FLEXPLORE_ENV = HardMove-n8-v0
flexplore-hm8: FLEXPLORE_OUT = results/runs/flexplore_hm8

## flexplore-vs-dlpa: FLEXplore beside the committed DLPA reproduction runs (results/runs/
## dlpa_repro): DLPA protocol, the same seeds, budgets and evaluation (Platform 14k, Hard Move
## n=4 18k env steps, 3 seeds, 20 episodes every 2k); resumable, prints ETA; one table.
FLEXPLORE_VS_DLPA ?= platform=Platform-v0=14000 hm4=HardMove-n4-v0=18000
flexplore-vs-dlpa: $(STAMP)
	@for v in $(FLEXPLORE_VS_DLPA); do \
	  name=$${v%%=*}; rest=$${v#*=}; env=$${rest%%=*}; budget=$${rest#*=}; \
	  echo "== $@: $$name ($$env, $$budget env steps)"; \
	  $(BIN)/pamdp-bench train --agent=flexplore --protocol=dlpa --env=$$env --seeds=3 \
	    --budget=$$budget --eval_interval=2000 --eval_episodes=20 --resume \
	    --out=results/runs/flexplore_vs_dlpa/$$name || exit 1; \
	done
	$(BIN)/pamdp-bench table results/runs/dlpa_repro results/runs/flexplore_vs_dlpa \
	  --out=results/tables/flexplore_vs_dlpa

## dlpa-eight: DLPA on all eight envs under the DLPA protocol at a common CPU budget (issue 19):
## 3 seeds, DLPA_EIGHT_BUDGET env steps (default 20k), the protocol's evaluation (50 episodes
## every 5k); resumable, prints ETA; table results/tables/dlpa with DLPA's Table 1 beside it.
## DLPA_EIGHT_ENVS picks the envs (one short name = env id per entry).
DLPA_EIGHT_BUDGET ?= 20000
DLPA_EIGHT_ENVS ?= platform=Platform-v0 goal=Goal-v0 hardgoal=HardGoal-v0 \
	catchpoint=CatchPoint-v0 hm4=HardMove-n4-v0 hm6=HardMove-n6-v0 hm8=HardMove-n8-v0 \
	hm10=HardMove-n10-v0
dlpa-eight: $(STAMP)
	@for v in $(DLPA_EIGHT_ENVS); do name=$${v%%=*}; env=$${v#*=}; \
	  echo "== $@: $$name ($$env, $(DLPA_EIGHT_BUDGET) env steps)"; \
	  $(BIN)/pamdp-bench train --agent=dlpa --protocol=dlpa --env=$$env --seeds=3 \
	    --budget=$(DLPA_EIGHT_BUDGET) --resume --out=results/runs/dlpa_eight/$$name || exit 1; \
	done
	$(BIN)/pamdp-bench table results/runs/dlpa_eight --out=results/tables/dlpa

## datasets / datasets-small: build the offline datasets (algorithms.md §6.3; 8 envs x 4 kinds,
## 1M transitions each / the 10k `-small` variants) into DATASETS_ROOT (Minari's directory
## by default) and record them in results/datasets/manifest.json; an env's expert dataset is
## built first (its return is the normalisation anchor). Existing datasets are refused:
## `pamdp-bench datasets verify` checks them. DATASET_ENVS picks the envs.
DATASET_ENVS ?= Platform-v0,Goal-v0,HardGoal-v0,CatchPoint-v0,HardMove-n4-v0,HardMove-n6-v0,HardMove-n8-v0,HardMove-n10-v0
DATASETS_ROOT ?=
datasets datasets-small: datasets%: $(STAMP)
	$(BIN)/pamdp-bench datasets build --env=$(DATASET_ENVS) \
	  --size=$(if $(filter -small,$*),small,full) $(if $(DATASETS_ROOT),--root=$(DATASETS_ROOT))
	$(BIN)/pamdp-bench datasets list --env=$(DATASET_ENVS) \
	  --size=$(if $(filter -small,$*),small,full) $(if $(DATASETS_ROOT),--root=$(DATASETS_ROOT))

## qmle-hyar: QMLE's learning runs under the HyAR protocol (issue 18), 3 seeds: Platform (200k),
## Catch Point and Hard Move n = 4 (1M env steps: an accelerator's budget; resumable, so the CPU
## runs them as far as it has time). Evaluation every 5,000 (Platform) / 10,000 env steps, the
## protocol's 100 / 50 episodes: QMLE scores 1,000 candidates per greedy action, and at the
## protocol's 500 / 2,500 the evaluations would cost more than the training. Table:
## results/tables/qmle_hyar, from the record directories results/tables/sources.json lists for
## it (P-DQN's rows beside QMLE's).
QMLE_HYAR ?= platform=Platform-v0=5000 catch=CatchPoint-v0=10000 hm4=HardMove-n4-v0=10000
qmle-hyar: $(STAMP)
	@for v in $(QMLE_HYAR); do \
	  name=$${v%%=*}; rest=$${v#*=}; env=$${rest%%=*}; every=$${rest#*=}; \
	  echo "== $@: $$name ($$env, evaluating every $$every env steps)"; \
	  $(BIN)/pamdp-bench train --agent=qmle --protocol=hyar --env=$$env --seeds=3 \
	    --eval_interval=$$every --resume --out=results/runs/qmle_hyar/$$name || exit 1; \
	done
	$(BIN)/pamdp-bench table $$($(BIN)/python -c 'import json; print(" ".join(json.load(open( \
	  "results/tables/sources.json"))["qmle_hyar"]))') --out=results/tables/qmle_hyar

## scale: QMLE, DLPA and P-DQN on Hard Move n = 4..16 (K up to 65,536; experiments/scale.toml),
## resumable; then their per-step costs (results/bench/scale.json; needs an idle machine) and
## the table and plot (results/tables/scale). SCALE_AGENTS picks the agents. An agent whose run
## fails (P-DQN at n = 16 does not fit in 24 GiB: its replay stores all 65,536 parameters per
## transition) does not stop the others, the bench or the table; the target then fails at the end.
SCALE_AGENTS ?= qmle dlpa pdqn
scale: $(STAMP)
	@status=0; for a in $(SCALE_AGENTS); do \
	  $(BIN)/pamdp-bench train --agent=$$a --protocol=scale --resume \
	    --out=results/runs/scale/$$a || { echo "== scale: $$a failed (above)"; status=1; }; \
	done; \
	$(BIN)/pamdp-bench bench --suite=scale --agent="$$(echo $(SCALE_AGENTS) | tr ' ' ';')" \
	  --out=results/bench && \
	$(BIN)/pamdp-bench scale results/runs/scale --out=results/tables/scale && exit $$status

## test: the full test suite, including conformance on $(GOLDEN) (what CI runs); two pytest
## workers (pytest-xdist; --dist loadfile: each test file runs on one worker, so its
## module-scoped fixtures (test_runner's child runs, C-LAP's dataset, ...) are built once; under
## worksteal both workers built them; loadgroup's marks are ignored with pytest 9.2). Tests
## marked `long` (a compilation per env and agent variant: minutes each) run in test-long.
PYTEST_WORKERS ?= 2
test: $(STAMP)
	PAMDP_GOLDEN_DIR=$(GOLDEN) $(BIN)/pytest -q -m 'not long' -n $(PYTEST_WORKERS) --dist loadfile \
	  --durations=25

## test-long: the tests kept out of CI (marked `long`), e.g. FLEXplore's run on every env
test-long: $(STAMP)
	PAMDP_GOLDEN_DIR=$(GOLDEN) $(BIN)/pytest -q -m long -n $(PYTEST_WORKERS) --dist loadfile

## test-fast: skip the tests marked slow (tests/slow_tests.txt and @pytest.mark.slow)
test-fast: $(STAMP)
	PAMDP_GOLDEN_DIR=$(GOLDEN) $(BIN)/pytest -q -m 'not slow and not long' -n $(PYTEST_WORKERS) --dist loadfile

## slow-tests: re-measure the suite (one worker, so times are not shared) and rewrite
## tests/slow_tests.txt with every test taking 2.5 s or more; run it on an idle machine
slow-tests: $(STAMP)
	PAMDP_GOLDEN_DIR=$(GOLDEN) $(BIN)/pytest -q --durations=0 --durations-min=2.5 \
	  | sed -n 's/^[0-9.]*s \(setup\|call\|teardown\) *//p' | sort -u > tests/slow_tests.txt
	@wc -l tests/slow_tests.txt

## conformance: replay golden trajectories and check stats.json against the originals
conformance: $(STAMP)
	$(BIN)/pamdp-bench conformance $(GOLDEN)

## bench: env throughput (results/bench/envs.*, README table), DLPA per planned step
## (results/bench/dlpa.*), model-free training throughput (results/bench/modelfree.*) and QMLE's
## (results/bench/qmle.*), offline gradient steps/s (results/bench/offline.*). Run it on an
## otherwise idle machine: the numbers are wall times.
bench: bench-envs bench-adapter bench-dlpa bench-modelfree bench-qmle bench-flexplore bench-offline

bench-envs: $(STAMP)
	$(BIN)/pamdp-bench bench --out=results/bench --readme=README.md

bench-adapter: $(STAMP)
	$(BIN)/pamdp-bench bench --suite=adapter --out=results/bench

bench-dlpa: $(STAMP)
	$(BIN)/pamdp-bench bench --suite=dlpa --out=results/bench

bench-modelfree: $(STAMP)
	$(BIN)/pamdp-bench bench --suite=modelfree --out=results/bench

bench-qmle: $(STAMP)
	$(BIN)/pamdp-bench bench --suite=qmle --out=results/bench

bench-flexplore: $(STAMP)
	$(BIN)/pamdp-bench bench --suite=flexplore --out=results/bench

bench-offline: $(STAMP)
	$(BIN)/pamdp-bench bench --suite=offline --out=results/bench

## envs: table of registered env ids and spaces
envs: $(STAMP)
	$(BIN)/pamdp-bench envs

## render: one random-policy episode of ENV to renders/ENV (PNG frames + GIF)
ENV ?= Platform-v0
render: $(STAMP)
	$(BIN)/pamdp-bench render --env=$(ENV) --out=renders/$(ENV)

lint: $(STAMP)
	$(BIN)/ruff check pamdp_bench envs baselines tests examples

clean-venv:
	rm -rf $(VENV)
