#!/usr/bin/env python3
"""Registers, spills and shared memory of every GPU kernel of a module, as
ptxas reports them (no GPU needed; needs the CUDA toolkit's ptxas):

    scripts/ptx-resources.py model.mlir [--chip sm_90] [--options "block-kv=32"]

Lowers the module with kvq-opt --kvq-nvvm-pipeline (format=isa), extracts
the PTX of each gpu.binary and runs `ptxas -v` on it.
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("module")
    ap.add_argument("--chip", default="sm_90")
    ap.add_argument("--options", default="", help="more kvq-nvvm-pipeline options")
    ap.add_argument("--kvq-opt", default=os.path.join(ROOT, "build", "bin", "kvq-opt"))
    ap.add_argument("--ptxas", default=os.path.join(
        os.environ.get("CUDA_HOME", "/usr/local/cuda"), "bin", "ptxas"))
    args = ap.parse_args()
    options = f"format=isa chip={args.chip} {args.options}".strip()
    lowered = subprocess.run([args.kvq_opt, args.module, f"--kvq-nvvm-pipeline={options}"],
                             capture_output=True, text=True)
    if lowered.returncode:
        sys.exit(lowered.stderr)
    binaries = re.findall(r'gpu\.binary @(\w+)\s.*?assembly = "(.*?)">', lowered.stdout, re.S)
    if not binaries:
        sys.exit("no gpu.binary in the lowered module")
    print(f"{'kernel':40s} {'registers':>9s} {'spill st/ld (B)':>16s} {'stack (B)':>9s}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, text in binaries:
            ptx = re.sub(r"\\([0-9A-Fa-f]{2})", lambda m: chr(int(m.group(1), 16)), text)
            path = os.path.join(tmp, name + ".ptx")
            with open(path, "w") as f:
                f.write(ptx)
            out = subprocess.run([args.ptxas, f"-arch={args.chip}", "-v", path, "-o", os.devnull],
                                 capture_output=True, text=True)
            info = out.stderr
            if out.returncode:
                sys.exit(f"ptxas failed on {name}:\n{info}")
            regs = re.search(r"Used (\d+) registers", info)
            spills = re.search(r"(\d+) bytes spill stores, (\d+) bytes spill loads", info)
            stack = re.search(r"(\d+) bytes stack frame", info)
            print(f"{name:40s} {regs.group(1) if regs else '?':>9s} "
                  f"{(spills.group(1) + '/' + spills.group(2)) if spills else '?':>16s} "
                  f"{stack.group(1) if stack else '?':>9s}")


if __name__ == "__main__":
    main()
