# pamdp_bench make targets. Every target installs what it needs into $(VENV) first.
PYTHON ?= python3
VENV   ?= .venv
GOLDEN ?= ../shared/golden
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test test-fast conformance bench lint envs render clean-venv leaderboard \
	table-dlpa table-hyar table-quick

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "pamdp_bench needs Python >= 3.10"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## demo: the `quick` protocol for every agent that exists, then the score table
DEMO_OUT    ?= runs/demo
DEMO_AGENTS ?= random scripted pdqn mpdqn
AGENTS      ?= random scripted pdqn mpdqn pdqn_td3 dlpa
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

## leaderboard: regenerate results/leaderboard.md from results/leaderboard/entries
leaderboard: $(STAMP)
	$(BIN)/pamdp-bench leaderboard

## test: the full test suite, including conformance on $(GOLDEN) (what CI runs)
test: $(STAMP)
	PAMDP_GOLDEN_DIR=$(GOLDEN) $(BIN)/pytest -q

## test-fast: skip tests marked slow
test-fast: $(STAMP)
	PAMDP_GOLDEN_DIR=$(GOLDEN) $(BIN)/pytest -q -m 'not slow'

## conformance: replay golden trajectories and check stats.json against the originals
conformance: $(STAMP)
	$(BIN)/pamdp-bench conformance $(GOLDEN)

## bench: env steps/s at batch 1/256/4096 -> results/bench/envs.{json,md}
bench: $(STAMP)
	$(BIN)/pamdp-bench bench --out=results/bench --readme=README.md

## envs: table of registered env ids and spaces
envs: $(STAMP)
	$(BIN)/pamdp-bench envs

## render: one random-policy episode of ENV to renders/ENV (PNG frames + GIF)
ENV ?= Platform-v0
render: $(STAMP)
	$(BIN)/pamdp-bench render --env=$(ENV) --out=renders/$(ENV)

lint: $(STAMP)
	$(BIN)/ruff check pamdp_bench envs baselines tests

clean-venv:
	rm -rf $(VENV)
