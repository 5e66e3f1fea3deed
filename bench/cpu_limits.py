"""The machine's limits for the CPU benchmarks, measured in the same run:
multi-threaded read bandwidth (STREAM-like sum), f32 FMA peak, bf16
dot-product peak, and a cache flush between timed calls (cpu_limits.c,
built on first use into the benchmark cache directory)."""

import ctypes
import hashlib
import os
import subprocess

import numpy as np

from cpu_peers import CACHE, _compiler

HERE = os.path.dirname(os.path.abspath(__file__))


class Limits:
    def __init__(self):
        source = os.path.join(HERE, "cpu_limits.c")
        digest = hashlib.sha1(open(source, "rb").read()).hexdigest()[:12]
        lib = os.path.join(CACHE, f"cpu_limits-{digest}.so")
        if not os.path.exists(lib):
            os.makedirs(CACHE, exist_ok=True)
            llvm_lib = "/usr/lib/llvm-22/lib"
            subprocess.run([_compiler("clang"), "-O3", "-march=native", "-fopenmp",
                            "-shared", "-fPIC", source, "-o", lib, f"-L{llvm_lib}",
                            f"-Wl,-rpath,{llvm_lib}"], check=True)
        self.lib = ctypes.CDLL(lib)
        dp = ctypes.POINTER(ctypes.c_double)
        self.lib.kvq_bench_read_bandwidth.argtypes = [ctypes.c_int, ctypes.c_int64,
                                                      ctypes.c_int, dp]
        self.lib.kvq_bench_read_bandwidth.restype = ctypes.c_double
        for f in (self.lib.kvq_bench_fma_peak, self.lib.kvq_bench_bf16_peak):
            f.argtypes = [ctypes.c_int, ctypes.c_int, dp]
            f.restype = ctypes.c_double

    @staticmethod
    def _run(fn, *args, reps):
        values = np.zeros(reps)
        median = fn(*args, reps, values.ctypes.data_as(ctypes.POINTER(ctypes.c_double)))
        return {"median": median, "max": float(values.max()), "all": values.tolist()}

    def read_bandwidth(self, threads, nbytes=1 << 30, reps=11):
        """Bytes read per second by `threads` threads (median, max, all)."""
        return self._run(self.lib.kvq_bench_read_bandwidth, threads, nbytes, reps=reps)

    def fma_peak(self, threads, reps=11):
        """f32 flop per second of fused multiply-adds on `threads` threads."""
        return self._run(self.lib.kvq_bench_fma_peak, threads, reps=reps)

    def bf16_peak(self, threads, reps=11):
        """flop per second of AVX512-BF16 dot products (0 without them)."""
        return self._run(self.lib.kvq_bench_bf16_peak, threads, reps=reps)

    def flush(self):
        self.lib.kvq_bench_flush()


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return f.read().split()[:3]
    except OSError:
        return None
