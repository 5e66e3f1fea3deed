"""Threads of compiled CPU kernels (kvq_set_num_threads, docs/ABI.md):

* with 1 thread a kernel creates no OpenMP worker thread, with 3 it runs on
  3 (libomp starts 2 workers), and both give the same bits, which match the
  fp64 reference;
* after a call, idle workers sleep instead of spinning (after the block
  time, 1 ms by default): the process uses almost no CPU time while the
  caller sleeps; kvq.set_block_time changes the block time (0: they sleep
  at once) and refuses values outside 0..1000;
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

    kt.report("default setting 0", kvq.get_num_threads() == 0 and mod.num_threads == 0)
    before = tasks()
    kt.report("set_num_threads(1)", kvq.set_num_threads(1) == 0 and mod.num_threads == 1)
    one = mod.plain(q, k, v)
    kt.report(f"1 thread: no worker thread ({tasks() - before} started)", tasks() == before)
    err = float(np.abs(one - expect).max() / np.abs(expect).max())
    kt.report(f"1 thread: max rel error {err:.1e}", err < 1e-5)

    kvq.set_num_threads(3)
    three = mod.plain(q, k, v)
    kt.report(f"3 threads: 2 workers ({tasks() - before} started)", tasks() == before + 2)
    kt.report("1 and 3 threads: same bits", np.array_equal(one, three))

    # Passive waiting: the workers sleep once the kernel has returned.
    mod.plain(q, k, v)
    start = cpu_seconds()
    time.sleep(0.3)
    idle = cpu_seconds() - start
    kt.report(f"idle workers sleep ({idle * 1e3:.1f} ms of CPU in 300 ms)", idle < 0.05)

    # The block time: how long waiting threads spin before they sleep.
    kt.report("default block time 1 ms", kvq.get_block_time() == 1 and mod.block_time == 1)
    # (That a kernel hands the setting to libomp is block_time_main.c's
    # test; CPU time spent spinning depends on the machine's load.)
    kt.report("set_block_time(1000)", kvq.set_block_time(1000) == 1 and mod.block_time == 1000)
    kt.report("set_block_time(0)", kvq.set_block_time(0) == 1000 and mod.block_time == 0)
    mod.plain(q, k, v)
    start = cpu_seconds()
    time.sleep(0.3)
    idle = cpu_seconds() - start
    kt.report(f"block time 0: idle workers sleep ({idle * 1e3:.1f} ms of CPU in 300 ms)",
              idle < 0.05)
    raw = ctypes.CDLL(mod.path)
    raw.kvq_set_block_time.argtypes = [ctypes.c_int32]
    kt.report("kvq_set_block_time(-1) and (1001) refused, setting kept",
              raw.kvq_set_block_time(-1) == -1 and raw.kvq_set_block_time(1001) == -1
              and mod.block_time == 0)
    for bad in (-1, 1001, 1.5, True):
        try:
            kvq.set_block_time(bad)
            kt.report(f"set_block_time({bad!r}) refused", False)
        except ValueError:
            kt.report(f"set_block_time({bad!r}) refused", True)
    kt.report("set_block_time(1) restores the default",
              kvq.set_block_time(1) == 0 and mod.block_time == 1 and serial.block_time == 1)

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
        kt.report(f"module setting {n}",
                  mod.set_num_threads(n) in (1, 2, 3) and mod.num_threads == n)
        results.append(mod.int4(*args))
    err = float(np.abs(results[0] - expect4).max() / np.abs(expect4).max())
    kt.report(f"int4 causal at 1, 2, 3 threads: same bits, max rel error {err:.1e}",
              err < 1e-5 and all(np.array_equal(results[0], r) for r in results))

    # Refusals.
    raw = ctypes.CDLL(mod.path)
    raw.kvq_set_num_threads.argtypes = [ctypes.c_int32]
    kt.report("kvq_set_num_threads(-1) refused, setting kept",
              raw.kvq_set_num_threads(-1) == -1 and mod.num_threads == 3)
    for bad in (-1, 1.5, True):
        try:
            kvq.set_num_threads(bad)
            kt.report(f"set_num_threads({bad!r}) refused", False)
        except ValueError:
            kt.report(f"set_num_threads({bad!r}) refused", True)

    # threads=false: no libomp; the setting is accepted and ignored.
    kvq.set_num_threads(2)
    kt.report("threads=false library has the setting", serial.num_threads == 2)
    before = tasks()
    out = serial.plain(q, k, v)
    kt.report("threads=false: correct", np.array_equal(out, one) or float(np.abs(out - expect).max()
                                            / np.abs(expect).max()) < 1e-5)
    kt.report("threads=false: no thread started", tasks() == before)
    kvq.set_num_threads(0)
    kt.report("set_num_threads(0) resets", mod.num_threads == 0 and serial.num_threads == 0)
    kt.finish()


if __name__ == "__main__":
    main()
