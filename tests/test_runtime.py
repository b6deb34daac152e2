"""keep_freed_memory: freed large blocks are reused instead of being page-faulted in again."""

import subprocess
import sys

import pytest

_PROBE = """
import resource, sys, torch
from video2stylegan import runtime
applied = runtime.keep_freed_memory()
assert runtime.keep_freed_memory() == applied  # idempotent
for _ in range(10):  # warm-up: the heap grows over the first few (measured: 7) blocks
    torch.ones(100 * 2**20 // 4)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):  # 20 fresh 100 MB tensors, each freed before the next
    torch.ones(100 * 2**20 // 4)
print(int(applied), resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _probe(env_switch: str) -> tuple[bool, int]:
    import os

    env = dict(os.environ, VIDEO2STYLEGAN_KEEP_FREED_MEMORY=env_switch)
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, env=env, check=True)
    applied, faults = out.stdout.split()
    return applied == "1", int(faults)


def test_freed_blocks_are_reused_without_page_faults():
    applied, faults = _probe("1")
    if not applied:
        pytest.skip("not a glibc system: keep_freed_memory() leaves the allocator alone")
    switched_off, default_faults = _probe("0")
    assert not switched_off  # $VIDEO2STYLEGAN_KEEP_FREED_MEMORY=0 leaves glibc's defaults
    # glibc's default maps and unmaps every 100 MB block: 25 600 pages each time (measured 512 000
    # faults for the 20 tensors); once the heap has grown, kept memory serves them all (measured 0).
    assert default_faults > 20 * 20000
    assert faults < 1000
