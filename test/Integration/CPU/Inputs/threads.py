"""Threads of compiled CPU kernels (kvq_set_num_threads, docs/ABI.md):

* with 1 thread a kernel creates no OpenMP worker thread, with 3 it runs on
  3 (libomp starts 2 workers), and both give the same bits, which match the
  fp64 reference;
* after a call, idle workers sleep instead of spinning (passive waiting):
  the process uses almost no CPU time while the caller sleeps;
* the setting per library and for all libraries (kvq.set_num_threads),
  negative counts refused, a library compiled with threads=false.

Exits non-zero on any mismatch.
"""

import ctypes
import os
import resource
import time

import numpy as np

import kvq_testing as kt

import kvq
from kvq import reference as ref
from kvq.builder import attention_module

I4G = "#kvq.quant<i4, symmetric, group(axis = 3, size = 32), scale = f16>"


def check(ok, what):
    kt.report(what, ok)


def tasks():
    return len(os.listdir("/proc/self/task"))


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main():
    text = (attention_module("plain", [1, 32, 1, 64], [1, 8, -1, 64]) +
            attention_module("int4", [1, 8, 3, 64], [1, 2, -1, 64], key_scheme=I4G,
                             value_scheme=I4G, causal=True))
    mod = kvq.compile(text, name="threads")
    serial = kvq.compile(text, name="serial", options={"threads": False})
    rng = kt.rng()
    q = rng.standard_normal((1, 32, 1, 64), dtype=np.float32)
    k = rng.standard_normal((1, 8, 999, 64), dtype=np.float32)
    v = rng.standard_normal((1, 8, 999, 64), dtype=np.float32)
    expect = ref.attention(q.astype(np.float64), k.astype(np.float64), v.astype(np.float64))

    check(kvq.get_num_threads() == 0 and mod.num_threads == 0, "default setting 0")
    before = tasks()
    check(kvq.set_num_threads(1) == 0 and mod.num_threads == 1, "set_num_threads(1)")
    one = mod.plain(q, k, v)
    check(tasks() == before, f"1 thread: no worker thread ({tasks() - before} started)")
    err = float(np.abs(one - expect).max() / np.abs(expect).max())
    check(err < 1e-5, f"1 thread: max rel error {err:.1e}")

    kvq.set_num_threads(3)
    three = mod.plain(q, k, v)
    check(tasks() == before + 2, f"3 threads: 2 workers ({tasks() - before} started)")
    check(np.array_equal(one, three), "1 and 3 threads: same bits")

    # Passive waiting: the workers sleep once the kernel has returned.
    mod.plain(q, k, v)
    start = cpu_seconds()
    time.sleep(0.3)
    idle = cpu_seconds() - start
    check(idle < 0.05, f"idle workers sleep ({idle * 1e3:.1f} ms of CPU in 300 ms)")

    # Quantized, causal, several positions; each library alone.
    codes, scales = [], []
    kq = rng.standard_normal((1, 2, 77, 64), dtype=np.float32)
    vq = rng.standard_normal((1, 2, 77, 64), dtype=np.float32)
    qq = rng.standard_normal((1, 8, 3, 64), dtype=np.float32)
    s = ref.QuantScheme.parse(I4G)
    dense = []
    for x in (kq, vq):
        c, sc, _ = ref.quantize(x, s)
        codes.append(c)
        scales.append(sc)
        dense.append(ref.dequantize(c, sc, None, s).astype(np.float64))
    args = (qq, codes[0], scales[0], codes[1], scales[1])
    expect4 = ref.attention(qq.astype(np.float64), dense[0], dense[1], causal=True)
    results = []
    for n in (1, 2, 3):
        check(mod.set_num_threads(n) in (1, 2, 3) and mod.num_threads == n,
              f"module setting {n}")
        results.append(mod.int4(*args))
    err = float(np.abs(results[0] - expect4).max() / np.abs(expect4).max())
    check(err < 1e-5 and all(np.array_equal(results[0], r) for r in results),
          f"int4 causal at 1, 2, 3 threads: same bits, max rel error {err:.1e}")

    # Refusals.
    raw = ctypes.CDLL(mod.path)
    raw.kvq_set_num_threads.argtypes = [ctypes.c_int32]
    check(raw.kvq_set_num_threads(-1) == -1 and mod.num_threads == 3,
          "kvq_set_num_threads(-1) refused, setting kept")
    for bad in (-1, 1.5, True):
        try:
            kvq.set_num_threads(bad)
            check(False, f"set_num_threads({bad!r}) refused")
        except ValueError:
            check(True, f"set_num_threads({bad!r}) refused")

    # threads=false: no libomp; the setting is accepted and ignored.
    kvq.set_num_threads(2)
    check(serial.num_threads == 2, "threads=false library has the setting")
    before = tasks()
    out = serial.plain(q, k, v)
    check(np.array_equal(out, one) or float(np.abs(out - expect).max()
                                            / np.abs(expect).max()) < 1e-5,
          "threads=false: correct")
    check(tasks() == before, "threads=false: no thread started")
    kvq.set_num_threads(0)
    check(mod.num_threads == 0 and serial.num_threads == 0, "set_num_threads(0) resets")
    kt.finish()


if __name__ == "__main__":
    main()
