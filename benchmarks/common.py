"""Timing and machine description shared by every benchmark."""
from __future__ import annotations

import gc
import os
import platform
import statistics
import sys
import time


def timed(fn, *args):
    """(seconds, result) of one call, with a garbage collection beforehand so that no
    collection left over from the previous measurement lands inside this one."""
    gc.collect()
    t0 = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - t0, result


def median(xs):
    return statistics.median(xs) if xs else None


def summary(xs):
    """Median, min, max and count of a list of times (seconds)."""
    xs = [x for x in xs if x is not None]
    if not xs:
        return None
    return {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}


def ratio(a, b):
    """a / b, or None when either is missing."""
    if a is None or b is None or b == 0:
        return None
    return a / b


def blas_info():
    """What threadpoolctl reports about the BLAS libraries loaded (after numpy did a matmul)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    import numpy as np
    np.ones((4, 4)) @ np.ones((4, 4))
    keep = ("user_api", "internal_api", "version", "num_threads", "threading_layer", "architecture")
    return [{k: info.get(k) for k in keep} for info in threadpool_info()]


def machine():
    import numpy as np
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    cpu = platform.processor() or ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu": cpu,
        "nproc": os.cpu_count(),
        "python": sys.version.split()[0],
        "implementation": platform.python_implementation(),
        "numpy": np.__version__,
        "blas": blas_info(),
        "env": {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE",
                                              "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")},
        "load_average_at_start": list(load) if load else None,
    }


class Deadline:
    """A soft time budget: benchmarks that grow a size stop growing once it is spent."""

    def __init__(self, seconds):
        self.end = time.perf_counter() + seconds

    @property
    def left(self):
        return self.end - time.perf_counter()
