"""Baseline agents, importable as ``pamdp_bench.baselines`` (one subpackage per family)."""
