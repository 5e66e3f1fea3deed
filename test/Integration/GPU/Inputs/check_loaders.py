"""Checks that the GPU module loaders of kvq-compile outputs run.

gpu-module-to-binary makes one constructor per GPU binary
(`__kvq_kernel_<binary>_load`, calling mgpuModuleLoad / mgpuModuleLoadJIT)
and one destructor (`..._unload`). The dynamic loader only runs
.init_array / .fini_array: a constructor in .ctors is linked but never
called, and every launch then finds no kernel. For each shared library or
object given, this prints the loaders and unloaders and where they are, and
fails unless every one is in .init_array / .fini_array and there is no
.ctors / .dtors section:

    check_loaders.py lib.so [more.so | obj.o ...]

Uses llvm-readelf from PATH (or $LLVM_READELF).
"""

import os
import re
import shutil
import subprocess
import sys

import kvq_testing as kt

PREFIX = "__kvq_kernel_"


def readelf(*args):
    tool = os.environ.get("LLVM_READELF") or shutil.which("llvm-readelf") or \
        "/usr/lib/llvm-22/bin/llvm-readelf"
    return subprocess.run([tool, "--wide", *args], capture_output=True, text=True,
                          check=True).stdout


def sections(path):
    """{name: (address, size, index)}"""
    out = {}
    for line in readelf("-S", path).splitlines():
        m = re.match(r"\s*\[\s*(\d+)\]\s+(\S+)\s+\S+\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)",
                     line)
        if m:
            out[m.group(2)] = (int(m.group(3), 16), int(m.group(4), 16), int(m.group(1)))
    return out


def symbols(path):
    """{name: (section index, value)} of the loader and unloader functions."""
    names = {}
    for line in readelf("-s", path).splitlines():
        f = line.split()
        if len(f) >= 8 and f[3] == "FUNC" and f[7].startswith(PREFIX) and \
                re.search(r"_(un)?load$", f[7]) and f[6].isdigit():
            names[f[7]] = (int(f[6]), int(f[1], 16))
    return names


def table_targets(path, secs, name, is_object):
    """The loader functions an .init_array / .fini_array holds (relocation
    targets; in an object, every .init_array.<priority> section)."""
    targets = []
    syms = symbols(path)
    relocs = readelf("-r", path)
    if is_object:
        # Relocatable: entries name a symbol, or a section plus an offset.
        by_place = {(sec, value): n for n, (sec, value) in syms.items()}
        index = {n: i for n, (_, _, i) in secs.items()}
        for block in re.split(r"\n(?=Relocation section)", relocs):
            m = re.match(r"Relocation section '\.rela(%s(?:\.\d+)?)'" % re.escape(name), block)
            if not m:
                continue
            for sym, addend in re.findall(r"R_X86_64_64\s+[0-9a-f]+\s+(\S+)\s*\+\s*([0-9a-f]+)",
                                          block):
                if sym in syms:
                    targets.append(sym)
                elif sym in index and (index[sym], int(addend, 16)) in by_place:
                    targets.append(by_place[(index[sym], int(addend, 16))])
        return targets
    if name not in secs:
        return targets
    start, size, _ = secs[name]
    by_address = {value: n for n, (_, value) in syms.items()}
    for m in re.finditer(r"^([0-9a-f]+)\s+[0-9a-f]+\s+R_X86_64_RELATIVE\s+([0-9a-f]+)", relocs,
                         re.M):
        where, what = int(m.group(1), 16), int(m.group(2), 16)
        if start <= where < start + size and what in by_address:
            targets.append(by_address[what])
    return targets


def check(path):
    is_object = path.endswith(".o")
    secs = sections(path)
    names = symbols(path)
    loaders = sorted(n for n in names if n.endswith("_load"))
    unloaders = sorted(n for n in names if n.endswith("_unload"))
    ok = True
    for bad in (".ctors", ".dtors"):
        if any(s == bad or s.startswith(bad + ".") or s.startswith(".rela" + bad) for s in secs):
            ok = kt.fail(path, f"has a {bad} section (never run by the dynamic loader)")
    init = table_targets(path, secs, ".init_array", is_object)
    fini = table_targets(path, secs, ".fini_array", is_object)
    if not loaders:
        ok = kt.fail(path, "no GPU module loader")
    for kind, wanted, table, tname in (("loader", loaders, init, ".init_array"),
                                       ("unloader", unloaders, fini, ".fini_array")):
        missing = [n for n in wanted if n not in table]
        if missing:
            ok = kt.fail(path, f"{kind}s not in {tname}: {', '.join(missing)}")
    if ok:
        kt.report(os.path.basename(path), True,
                  f"{len(loaders)} loaders in .init_array, "
                  f"{len(unloaders)} unloaders in .fini_array, no .ctors / .dtors")
    return ok


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for p in sys.argv[1:]:
        check(p)
    kt.finish()


if __name__ == "__main__":
    main()
