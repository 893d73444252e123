"""``python -m pamdp_bench.cli``: the ``pamdp-bench`` console script."""

from pamdp_bench.cli import run

run()
