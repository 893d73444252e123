"""The PyTorch example runs on the adapter (when torch is installed: `pip install torch`)."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest

torch = pytest.importorskip("torch")

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "pytorch_pdqn.py")


@pytest.mark.parametrize("env_id", ["Platform-v0", "CatchPoint-v0"])
def test_pytorch_pdqn_runs_a_few_hundred_steps(env_id: str) -> None:
    spec = importlib.util.spec_from_file_location("pytorch_pdqn", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    returns = module.train(env_id, steps=400, log_every=0)
    assert len(returns) > 0 and np.all(np.isfinite(returns))
