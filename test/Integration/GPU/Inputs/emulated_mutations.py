"""Mutation test of the GPU emulator on the real attention kernels: every
synchronization of the kernels kvq-gpu-attention emits is necessary, so
removing any one of them must be reported by the emulator (its race /
initialization checks, KVQ_EMU_CHECK=race,init) or give a wrong result.

    python3 emulated_mutations.py WORKDIR CLANG RUNTIME_DIR [--options=...]

The library is compiled once for --target=nvvm-emulated as LLVM IR
(kvq-compile --emit=llvm: the host code, the emulated kernels and the C
entry points). Each mutant is that IR with one change inside an emulated
kernel, linked with the GPU emulator like kvq-compile links it:

* barrier N: the N-th CTA barrier (bar.sync) becomes a no-op;
* wait N: the N-th cp.async.wait_group waits for one group less (the block
  it waited for may not have landed when it is read), or is dropped when it
  waits for every group (the drain after a block loop; not the one before
  the kernel returns, which nothing can observe);
* commit N: the N-th cp.async.commit_group is dropped (its copies join the
  next group, which a wait_group does not cover yet), except the drain's,
  which commits no copies;
* syncwarp N: the N-th bar.warp.sync becomes a no-op (the decode kernel's
  warps order their own tiles with it).

Each library runs causal GQA prefill and decode at ragged lengths, and a
case with a value beyond f16's range (the CTA recomputes its rows with bf16
operands: the second block loop), against the NumPy fp64 model at 1e-2.
With --decode the library is the flash-decoding kernel (kernel=decode) on
GQA decode (4 rows per KV head) at ragged lengths, again with a value beyond
f16's range (its bf16 recomputation).
The unchanged library must pass everything; a mutant is "caught" when a
call fails with the emulator's report or a result is wrong, else "MISSED" (a FAIL line).
Exits non-zero on a miss or a failure of the unchanged library.
"""

import json
import os
import re
import shutil
import subprocess
import sys

import numpy as np

import kvq
import kvq.compiler
import kvq.runtime
import kvq_testing as kt
from kvq import reference as ref

# The model of the decode kernel's rounded operands, shared with its own test.
from emulated_decode import rounded_operands_attention

D = 64


def t(shape, elem="f32"):
    return "tensor<" + "x".join(map(str, shape)) + f"x{elem}>"


MODULE = (
    f"func.func @causal(%q: {t([2, 4, '?', D])}, %k: {t([2, 2, '?', D])}, "
    f"%v: {t([2, 2, '?', D])}) -> {t([2, 4, '?', D])} {{\n"
    f"  %o = kvq.attention q(%q : {t([2, 4, '?', D])}) k(%k : {t([2, 2, '?', D])}) "
    f"v(%v : {t([2, 2, '?', D])}) {{causal}} -> {t([2, 4, '?', D])}\n"
    f"  return %o : {t([2, 4, '?', D])}\n}}\n")

# GQA decode: 4 query heads per KV head, one token (the decode kernel).
DECODE_MODULE = (
    f"func.func @decode(%q: {t([2, 8, 1, D])}, %k: {t([2, 2, '?', D])}, "
    f"%v: {t([2, 2, '?', D])}) -> {t([2, 8, 1, D])} {{\n"
    f"  %o = kvq.attention q(%q : {t([2, 8, 1, D])}) k(%k : {t([2, 2, '?', D])}) "
    f"v(%v : {t([2, 2, '?', D])}) -> {t([2, 8, 1, D])}\n"
    f"  return %o : {t([2, 8, 1, D])}\n}}\n")

# The calls: (Sq, Skv, V beyond f16's range).
CASES = [(37, 37, False), (1, 201, False), (67, 230, False), (3, 150, True)]
DECODE_CASES = [(1, 5, False), (1, 77, False), (1, 1001, False), (1, 203, True)]

# Instructions of the emulated kernels, as kvq-emulate-gpu-kernels calls
# the emulator (a barrier without a reduction: its result is unused).
BARRIER = re.compile(r"^(\s*%\S+ = )(?:tail )?call i32 @__kvq_emu_barrier\(i32 \d+, i32 -?\d+, "
                     r"i32 -1, i32 0\)( #\d+)?$")
WAIT = re.compile(r"^(\s*)(?:tail )?call void @__kvq_emu_cp_async_wait_group\(i32 (\d+)\)( #\d+)?$")
COMMIT = re.compile(r"^\s*(?:tail )?call void @__kvq_emu_cp_async_commit_group\(\)( #\d+)?$")
SYNCWARP = re.compile(r"^\s*(?:tail )?call void @__kvq_emu_syncwarp\(i32 -1\)( #\d+)?$")


WAIT_ALL = re.compile(r"^\s*(?:tail )?call void @__kvq_emu_cp_async_wait_group\(i32 0\)")
SHARED = re.compile(r"@__kvq_emu_(shared_access|cp_async|barrier|ldmatrix)\(")


def touches_shared_later(lines, i):
    """Whether the function holding line i accesses shared memory (or
    synchronizes) after it, in the text."""
    for line in lines[i + 1:]:
        if line.startswith("}"):
            return False
        if SHARED.search(line):
            return True
    return False


def mutants(lines):
    """(name, lines) for every mutation of the kernels' synchronization."""
    counts = {"barrier": 0, "wait": 0, "commit": 0, "syncwarp": 0}

    def name(kind):
        counts[kind] += 1
        return f"{kind} {counts[kind]}"

    for i, line in enumerate(lines):
        new = None
        if m := BARRIER.match(line):
            kind, new = "barrier", f"{m.group(1)}add i32 0, 0"
        elif m := WAIT.match(line):
            # wait_group(0) (the drain of the last, redundant prefetch) is
            # dropped, unless shared memory is not touched again before the
            # kernel returns (copies in flight when a CTA exits are retired
            # with it: nothing can observe them); one waiting for a later
            # group waits for one group less.
            kind, n = "wait", int(m.group(2))
            if n == 0 and not touches_shared_later(lines, i):
                continue
            new = "" if n == 0 else (f"{m.group(1)}call void @__kvq_emu_cp_async_wait_group(i32 "
                                     f"{n + 1}){m.group(3) or ''}")
        elif SYNCWARP.match(line):
            kind, new = "syncwarp", ""
        elif COMMIT.match(line) and not WAIT_ALL.match(lines[i + 1]):
            # Not the drain's commit (right before wait_group(0)): it commits
            # no copies, and wait_group(0) waits for every group anyway.
            kind, new = "commit", ""
        if new is not None:
            yield name(kind), lines[:i] + [new] + lines[i + 1:]


def link(ll_lines, directory, clang, runtime_dir, base):
    """Links the IR and the C entry points of `base` into directory/lib.so
    with its manifest; returns the manifest's path."""
    os.makedirs(directory, exist_ok=True)
    ll = os.path.join(directory, "lib.ll")
    with open(ll, "w") as f:
        f.write("\n".join(ll_lines) + "\n")
    subprocess.run([clang, "-shared", "-fPIC", "-O1", "-fuse-ld=lld", "-Wno-override-module",
                    "-o", os.path.join(directory, "lib.so"), ll, base + ".abi.c", "-lm",
                    "-rtlib=compiler-rt", f"-L{runtime_dir}", f"-Wl,-rpath,{runtime_dir}", "-lkvq_gpu_emulator"],
                   check=True)
    with open(base + ".json") as f:
        manifest = json.load(f)
    manifest["library"] = "lib.so"
    path = os.path.join(directory, "lib.json")
    with open(path, "w") as f:
        json.dump(manifest, f)
    return path


def run(path, seed):
    """None when every call of the library at `path` matches the model,
    else what went wrong. In a process of its own: the emulator registers
    a library's kernels under their module's name and hash (taken before
    the mutation), so libraries loaded into one process would share them."""
    result = subprocess.run([sys.executable, __file__, "--run", path, str(seed)] +
                            (["--decode"] if "--decode" in sys.argv else []),
                            capture_output=True, text=True)
    if result.returncode != 0:  # not a finding: the test itself failed
        sys.exit(f"running {path} failed:\n{result.stderr}")
    problem = result.stdout.strip()
    return problem if problem != "ok" else None


def calls(path, seed):
    """What `run` reports, in this process (`seed`: the parent's, so every
    library sees the same inputs)."""
    mod = kvq.runtime.load(path)
    rng = np.random.default_rng(seed)
    decode = "--decode" in sys.argv
    hq = 8 if decode else 4
    for sq, skv, huge in DECODE_CASES if decode else CASES:
        q = rng.standard_normal((2, hq, sq, D)).astype(np.float32)
        k = rng.standard_normal((2, 2, skv, D)).astype(np.float32)
        v = rng.standard_normal((2, 2, skv, D)).astype(np.float32)
        if huge:
            v[1, 0, skv // 2, 5] = 1e5
        try:
            fn = mod.decode if decode else mod.causal
            out = np.asarray(fn(q, k, v, out_shapes=[(2, hq, sq, D)]), np.float64)
        except RuntimeError as e:  # kvq.cuda.CudaError: the emulator's report
            return f"Sq={sq} Skv={skv}: {str(e).splitlines()[0]}"
        want = ref.attention(q, k, v, causal=not decode)
        top = np.abs(want).max()
        if decode and huge:
            # The 1e5 value's CTA recomputes with bf16 operands, whose error
            # against unrounded fp64 reaches the tolerance on some inputs
            # (Inputs/emulated_decode.py): compare with the model of the
            # rounded operands, that head's keys all in bf16 (the kernel
            # recomputes only the split holding the value, the other keys
            # keep f16: about 1e-3 apart, well within the tolerance).
            recomputed = np.zeros((2, 2, skv), bool)
            recomputed[1, 0] = True
            want = rounded_operands_attention(q, k, v, recomputed)
        err = float(np.abs(out - want).max() / top)
        if not err <= 1e-2:
            return f"Sq={sq} Skv={skv}: wrong result, max rel error {err:.1e}"
    return None


def main():
    if sys.argv[1:2] == ["--run"]:
        print(calls(sys.argv[2], int(sys.argv[3])) or "ok")
        return
    ap = kt.parser(__doc__, targets=None, build=False)
    ap.add_argument("workdir")
    ap.add_argument("clang")
    ap.add_argument("runtime_dir")
    ap.add_argument("--decode", action="store_true")
    ap.add_argument("--equivalent", default="",
                    help="comma-separated mutants known to change nothing (each with its "
                         "reason in the test): reported, not failures")
    opts = ap.parse_args()
    os.environ["KVQ_EMU_CHECK"] = "race,init"
    shutil.rmtree(opts.workdir, ignore_errors=True)
    ir = os.path.join(opts.workdir, "ir")
    os.makedirs(ir)
    source = os.path.join(ir, "mutations.mlir")
    with open(source, "w") as f:
        f.write(DECODE_MODULE if opts.decode else MODULE)
    subprocess.run([kvq.compiler.find_kvq_compile(), source, "-o", ir + os.sep,
                    "--target=nvvm-emulated", "--emit=llvm"] + opts.options.split() +
                   (["--kernel=decode"] if opts.decode else []), check=True)
    base = os.path.join(ir, "mutations")
    with open(base + ".ll") as f:
        lines = f.read().split("\n")
    seed = kt.seed()
    problem = run(link(lines, os.path.join(opts.workdir, "original"), opts.clang,
                       opts.runtime_dir, base), seed)
    kt.report("unchanged kernels", problem is None, problem or "every call matches")
    count = 0
    for i, (name, mutated) in enumerate(mutants(lines)):
        count += 1
        problem = run(link(mutated, os.path.join(opts.workdir, f"mutant{i}"), opts.clang,
                           opts.runtime_dir, base), seed)
        equivalent = name in opts.equivalent.split(",")
        if problem or equivalent:
            print(f"{'caught' if problem else 'equivalent'} {name}: "
                  f"{problem or 'every call matches'}")
        else:
            kt.fail(name, "MISSED: every call matches")
    print(f"{count} mutants")
    if count == 0:
        kt.fail("mutants", "no synchronization found to remove")
    kt.finish()


if __name__ == "__main__":
    main()
