"""Recognising an accelerator/host out-of-memory error, so that callers can say what ran out.

XLA reports an allocation it cannot make as a ``JaxRuntimeError`` whose message holds
"Out of memory allocating N bytes" (CPU) or ``RESOURCE_EXHAUSTED`` (GPU/TPU). The training
runner turns it into a clear error naming the task and the size; the bench records it as the
row's result (P-DQN at Hard Move n=16 stores all 65,536 action parameters per transition:
its replay alone is 26 GB), so a study can say where a method stops fitting.
"""

from __future__ import annotations

import os
import re

_BYTES = re.compile(r"(?:Out of memory|RESOURCE_EXHAUSTED)\D*?(\d+) ?bytes", re.IGNORECASE)


def is_out_of_memory(err: BaseException) -> bool:
    """Is ``err`` an allocation failure reported by XLA?"""
    text = str(err)
    return "Out of memory" in text or "RESOURCE_EXHAUSTED" in text


def requested_bytes(err: BaseException) -> int | None:
    """The size of the allocation that failed, when the message gives it."""
    m = _BYTES.search(str(err))
    return int(m.group(1)) if m else None


def host_memory_bytes() -> int | None:
    """Physical memory of this host (None where the OS does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def describe(err: BaseException) -> str:
    """"out of memory: an allocation of 26.2 GB (host memory 23.5 GiB)" or a shorter form."""
    size = requested_bytes(err)
    host = host_memory_bytes()
    what = f"an allocation of {size / 1e9:.1f} GB" if size else "an allocation"
    where = f" (host memory {host / 2**30:.1f} GiB)" if host else ""
    return f"out of memory: {what} failed{where}"
