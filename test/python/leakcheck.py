"""The leak tests' measure: run a create/free cycle many times and check that
the package's handle counters come back, no wrapped buffer stays kept, and
the process does not grow."""
import gc
import os
import sys

import bindings_path  # noqa: F401
from bigmodel import _lib

tensor_module = sys.modules["bigmodel.tensor"]  # bm.tensor is not the module's name


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def run(cycle, n):
    for i in range(n):
        cycle(i)
    gc.collect()


def assert_no_growth(cycle, n=10_000, limit=4 << 20, warmup=500):
    """cycle(i) for i in range(n) after warmup cycles (allocator pools and caches
    settle) leaves the live-handle counts, the kept buffers and, within limit
    bytes, the resident size as they were."""
    run(cycle, warmup)
    counts, kept, rss = dict(_lib.live), tensor_module.kept_buffers(), rss_bytes()
    run(cycle, n)
    grown = rss_bytes() - rss
    assert {k: v for k, v in _lib.live.items() if v != counts.get(k, 0)} == {}
    assert tensor_module.kept_buffers() == kept
    # Under AddressSanitizer (make check-sanitize sets BIGMODEL_SANITIZE) freed
    # memory waits in a quarantine, so RSS grows by design; LeakSanitizer
    # checks every allocation at exit instead.
    if not os.environ.get("BIGMODEL_SANITIZE"):
        assert grown < limit, "RSS grew by %d bytes over %d cycles" % (grown, n)
