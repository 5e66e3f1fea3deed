"""The harness of kvq's Python test scripts (test/*/Inputs/*.py).

One seeded random generator, one way to compare a result with the fp64
reference and report it, and one command line for scripts that compile a
kernel library for a target. The lit suite puts this directory and the
source tree's python/ on PYTHONPATH; to run a script by hand:

    PYTHONPATH=python:test/harness python3 test/Integration/CPU/Inputs/gear.py

Random inputs. `rng(name)` returns a NumPy generator seeded from one seed
per run: KVQ_TEST_SEED when it is set, else fresh entropy. The first call
prints the seed,

    seed 1234 (KVQ_TEST_SEED=1234 to reproduce)

and every FAIL line repeats it, so a failing log says how to rerun the
same inputs. Generators of different names draw independent streams;
the same name and seed give the same numbers.

Reports. `check(name, got, ref, tol)` compares an array with its reference
(the relative error max |got - ref| / max |ref| by default) and
`report(name, ok, detail)` any other condition; both print one line,

    ok   <name>: max rel error 1.2e-06 (tol 1e-05)
    FAIL <name>: max rel error 3.4e-02 (tol 1e-05) [seed 1234: KVQ_TEST_SEED=1234 to reproduce]

and count failures. `finish()` ends a script: it exits non-zero when any
check failed (also when the script ends without calling it).

Targets. `parse(doc)` is the command line of scripts that compile a
library: --target (cpu, nvvm, nvvm-emulated), --options (kvq-compile
options), --build-only DIR (compile into DIR and exit, no GPU needed) and
--prebuilt DIR (run a library built with --build-only); `library()`
compiles or loads it, `attention_tol()` is the tolerance of attention
results on the target (the GPU's tensor cores multiply f16 / bf16
operands: 1e-2 of the largest reference value).
"""

import argparse
import atexit
import os
import secrets
import sys
import zlib

import numpy as np

SEED_VARIABLE = "KVQ_TEST_SEED"
GPU_ATTENTION_TOL = 1e-2
TARGETS = ("cpu", "nvvm", "nvvm-emulated")

_seed = None
_failures = 0
_checks = 0
_finished = False


def seed():
    """The seed of this run (KVQ_TEST_SEED, else fresh entropy); printed
    the first time it is asked for."""
    global _seed
    if _seed is None:
        text = os.environ.get(SEED_VARIABLE, "").strip()
        if text:
            try:
                _seed = int(text, 0)
            except ValueError:
                sys.exit(f"{SEED_VARIABLE}={text!r} is not an integer")
            if _seed < 0:
                sys.exit(f"{SEED_VARIABLE}={text!r} is negative")
        else:
            _seed = secrets.randbits(32)
        print(f"seed {_seed} ({SEED_VARIABLE}={_seed} to reproduce)", flush=True)
    return _seed


def drawn_seed():
    """The seed if this run drew one, else None."""
    return _seed


def rng(name=None):
    """A NumPy generator seeded from the run's seed (and `name`: generators
    of different names draw independent streams)."""
    entropy = [seed()] if name is None else [seed(), zlib.crc32(str(name).encode())]
    return np.random.default_rng(np.random.SeedSequence(entropy))


def _reproduce():
    return f" [seed {_seed}: {SEED_VARIABLE}={_seed} to reproduce]" if _seed is not None else ""


def report(name, ok, detail=""):
    """Prints `ok   name: detail` or `FAIL name: detail [seed ...]`, counts
    a failure; returns `ok`."""
    global _failures, _checks
    ok = bool(ok)
    _checks += 1
    _failures += not ok
    text = f"{'ok  ' if ok else 'FAIL'} {name}" + (f": {detail}" if detail else "")
    print(text + ("" if ok else _reproduce()), flush=True)
    return ok


def fail(name, detail=""):
    """Reports a failure (e.g. a kernel that raised); returns False."""
    return report(name, False, detail)


def errors(got, ref, relative=True):
    """max |got - ref| (over max |ref| when `relative`), in fp64; 0 for
    empty arrays."""
    g = np.asarray(got, dtype=np.float64)
    r = np.asarray(ref, dtype=np.float64)
    if not r.size:
        return 0.0
    err = float(np.abs(g - r).max())
    return err / max(float(np.abs(r).max()), 1e-30) if relative else err


def check(name, got, ref, tol=None, *, rtol=None, atol=None, relative=True, finite=True,
          infinities=False, nans=False, integers=False, shape=True, detail=""):
    """Compares `got` with the fp64 reference `ref` and reports the result.

    Default: the relative error max |got - ref| / max |ref| must be at most
    `tol`, and every value of `got` finite (finite=False: not required).
    relative=False: the absolute error max |got - ref| instead.
    rtol / atol: np.allclose(got, ref, rtol, atol) instead (no finiteness
    requirement beyond allclose's).
    infinities=True: infinities of `ref` must be matched exactly by `got`
    and only the other values are compared.
    nans=True: `got` must be NaN exactly where `ref` is, the other values
    are compared (relative to the largest of them) and must be finite; the
    line starts with the count of rows (last axis) holding a NaN.
    integers=True, or an integer / boolean `ref` with tol=None: exact
    equality (the count of differing elements is printed).
    shape=True: the shapes must be equal (else only broadcastable).
    `detail` is appended to the line. Returns whether it passed."""
    got_a, ref_a = np.asarray(got), np.asarray(ref)
    extra = f", {detail}" if detail else ""
    if shape and got_a.shape != ref_a.shape:
        return report(name, False, f"shape {got_a.shape} vs {ref_a.shape}{extra}")
    if integers or (tol is None and rtol is None and atol is None and ref_a.dtype.kind in "iub"):
        diff = int(np.count_nonzero(got_a != ref_a))
        return report(name, diff == 0, f"{diff} of {ref_a.size} differ{extra}")
    g = got_a.astype(np.float64)
    r = ref_a.astype(np.float64)
    if rtol is not None or atol is not None:
        rtol = 0.0 if rtol is None else rtol
        atol = 0.0 if atol is None else atol
        ok = bool(np.allclose(g, r, rtol=rtol, atol=atol))
        return report(name, ok, f"max abs error {errors(g, r, False):.2e} "
                                f"(rtol {rtol:.0e}, atol {atol:.0e}){extra}")
    if nans:
        g, r = np.broadcast_arrays(g, r)
        nan_ok = np.array_equal(np.isnan(g), np.isnan(r))
        fin = ~np.isnan(r)
        err = errors(g[fin], r[fin], relative)
        ok = nan_ok and err <= tol and bool(np.isfinite(g[fin]).all())
        rows = (f"NaN rows {int(np.isnan(g).any(-1).sum())} "
                f"(reference {int(np.isnan(r).any(-1).sum())})")
        return report(name, ok, f"{rows}, max {'rel' if relative else 'abs'} error {err:.2e} "
                                f"(tol {tol:.0e}){extra}")
    bad_inf = 0
    if infinities:
        g, r = np.broadcast_arrays(g, r)
        inf = np.isinf(r)
        bad_inf = int(np.count_nonzero(g[inf] != r[inf]))
        g, r = g[~inf], r[~inf]
        extra = f", {bad_inf} infinities differ" + extra
    err = errors(g, r, relative)
    ok = err <= tol and bad_inf == 0 and (not finite or bool(np.isfinite(g).all()))
    kind = "rel" if relative else "abs"
    return report(name, ok, f"max {kind} error {err:.2e} (tol {tol:.0e}){extra}")


def failures():
    """The number of failed checks so far."""
    return _failures


def finish():
    """Ends the script: exits non-zero (with the count and the seed) when
    a check failed, else returns."""
    global _finished
    _finished = True
    if _failures:
        sys.stdout.flush()
        sys.exit(f"{_failures} of {_checks} check(s) failed{_reproduce()}")


@atexit.register
def _unfinished():
    # A script that ends (or raises) without finish() after a failed check
    # still exits non-zero.
    if _failures and not _finished:
        sys.stdout.flush()
        sys.stderr.write(f"{_failures} of {_checks} check(s) failed{_reproduce()}\n")
        sys.stderr.flush()
        os._exit(1)


# Compiling for a target.


def parser(doc=None, targets=TARGETS, default_target="cpu", options=True, build=True):
    """The argument parser of a script that compiles a kernel library:
    --target, --options, --build-only, --prebuilt (the last two when
    `build`; --target unless `targets` is None). Add the script's own
    options, then call parse_args() (or use parse())."""
    ap = argparse.ArgumentParser(description=doc,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    if targets:
        ap.add_argument("--target", default=default_target, choices=list(targets))
    if options:
        ap.add_argument("--options", default="",
                        help="kvq-compile options, e.g. '--chip=sm_90 --split-kv=1'")
    if build:
        ap.add_argument("--build-only", metavar="DIR",
                        help="compile the library into DIR and exit (no GPU needed)")
        ap.add_argument("--prebuilt", metavar="DIR",
                        help="run the library in DIR (from --build-only) instead of compiling")
    return ap


def parse(doc=None, extra=None, **kw):
    """parser(doc, **kw) with `extra(parser)` adding script options; the
    parsed options (--build-only and --prebuilt exclude each other)."""
    ap = parser(doc, **kw)
    if extra:
        extra(ap)
    opts = ap.parse_args()
    if getattr(opts, "prebuilt", None) and getattr(opts, "build_only", None):
        ap.error("--build-only and --prebuilt exclude each other")
    return opts


def library(opts, text, name):
    """The kernel library of `text` for opts.target: loaded from
    --prebuilt, else compiled; None (after printing where it went) with
    --build-only."""
    import kvq
    import kvq.runtime

    if getattr(opts, "prebuilt", None):
        return kvq.runtime.load(opts.prebuilt)
    build_dir = getattr(opts, "build_only", None)
    mod = kvq.compile(text, target=opts.target, name=name, options=opts.options.split(),
                      build_dir=build_dir)
    if build_dir:
        print(f"built {mod.path}")
        return None
    return mod


def load_script(path, name=None):
    """Imports the test script at `path` (relative to the calling script's
    directory when not absolute) as a module, e.g. to share its inputs."""
    import importlib.util

    if not os.path.isabs(path):
        caller = sys._getframe(1).f_globals.get("__file__", ".")
        path = os.path.join(os.path.dirname(os.path.abspath(caller)), path)
    name = name or os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def on_gpu(opts):
    """Whether the GPU's kernels compute the results (on a GPU or emulated)."""
    return opts.target in ("nvvm", "nvvm-emulated")


def attention_tol(opts, cpu_tol):
    """The tolerance of attention results: `cpu_tol` on the CPU, at least
    GPU_ATTENTION_TOL on the GPU."""
    return max(cpu_tol, GPU_ATTENTION_TOL) if on_gpu(opts) else cpu_tol
