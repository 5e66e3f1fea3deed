"""Runs every fenced snippet of docs/UserGuide.md as a user would, in order,
from a scratch directory that looks like the repository (examples/,
python/ and the top CMakeLists.txt of the source tree, build/ the build
tree), with a fresh virtual
environment first on PATH (so `pip install` and `python3` are its own) and
without the test suite's PYTHONPATH / KVQ_COMPILE:

  sh      run with bash -e;
  python  run with the environment's python3;
  json    must be examples/kv_policy.json (the policy file it shows);
  cmake   every line must be in test/Embedding/consumer/CMakeLists.txt,
          which test/Embedding/install.test builds and runs.

A snippet right after a `<!-- not run: REASON -->` line is skipped (the
PyTorch export needs PyTorch and IREE; its output is committed).

Prints one `ok` / `FAIL` / `skip` line per snippet and exits non-zero on a failure.

    python3 run_user_guide.py SRC_ROOT OBJ_ROOT WORK_DIR
"""

import json
import os
import re
import subprocess
import sys
import venv

import kvq_testing as kt

src, obj, work = (os.path.abspath(p) for p in sys.argv[1:4])
guide = os.path.join(src, "docs", "UserGuide.md")

os.makedirs(work, exist_ok=True)
for name, target in (("examples", os.path.join(src, "examples")),
                     ("python", os.path.join(src, "python")),
                     ("CMakeLists.txt", os.path.join(src, "CMakeLists.txt")), ("build", obj)):
    link = os.path.join(work, name)
    if not os.path.lexists(link):
        os.symlink(target, link)
# The environment: NumPy and ml_dtypes from where this interpreter has
# them (a .pth file), `pip` this interpreter's pip installing into it (no
# ensurepip or network needed).
env_dir = os.path.join(work, "venv")
venv.EnvBuilder(with_pip=False).create(env_dir)
env_python = os.path.join(env_dir, "bin", "python3")
site = subprocess.run([env_python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                      capture_output=True, text=True, check=True).stdout.strip()
import ml_dtypes  # noqa: E402
import numpy  # noqa: E402
with open(os.path.join(site, "user-guide-deps.pth"), "w") as f:
    f.write("\n".join(sorted({os.path.dirname(os.path.dirname(m.__file__))
                              for m in (numpy, ml_dtypes)})) + "\n")
pip = os.path.join(env_dir, "bin", "pip")
with open(pip, "w") as f:
    f.write(f'#!/bin/sh\nexec "{sys.executable}" -m pip --python "{env_python}" '
            '--disable-pip-version-check "$@"\n')
os.chmod(pip, 0o755)
env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KVQ_COMPILE")}
env["PATH"] = os.path.join(env_dir, "bin") + os.pathsep + env["PATH"]
env["VIRTUAL_ENV"] = env_dir

text = open(guide).read()
blocks = []
for m in re.finditer(r"^```([A-Za-z0-9+]*)\n(.*?)^```", text, re.M | re.S):
    before = text[:m.start()].rstrip("\n").rsplit("\n", 1)[-1]
    skip = re.fullmatch(r"<!-- not run: (.*) -->", before.strip())
    blocks.append((text.count("\n", 0, m.start()) + 1, m.group(1), m.group(2),
                   skip.group(1) if skip else None))



def report(line, lang, ok, detail=""):
    kt.report(f"UserGuide.md:{line} ```{lang}", ok, detail)


def run(line, lang, command, **kw):
    result = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, **kw)
    sys.stdout.write(result.stdout)
    if result.returncode:
        sys.stdout.write(result.stderr)
    report(line, lang, result.returncode == 0, f"exit code {result.returncode}")


consumer = open(os.path.join(src, "test", "Embedding", "consumer", "CMakeLists.txt")).read()
skipped = 0
for line, lang, body, skip in blocks:
    if skip:
        skipped += 1
        print(f"skip UserGuide.md:{line} ```{lang}: {skip}", flush=True)
    elif lang == "sh":
        run(line, lang, ["bash", "-e", "-c", body])
    elif lang == "python":
        run(line, lang, [os.path.join(env_dir, "bin", "python3"), "-c", body])
    elif lang == "json":
        shown = json.loads(body)
        actual = json.load(open(os.path.join(src, "examples", "kv_policy.json")))
        report(line, lang, shown == actual, "the policy file is examples/kv_policy.json")
    elif lang == "cmake":
        missing = [l for l in (l.split("#")[0].strip() for l in body.splitlines())
                   if l and l not in consumer]
        report(line, lang, not missing, "missing from test/Embedding/consumer: " + "; ".join(missing)
               if missing else "in test/Embedding/consumer/CMakeLists.txt")
    else:
        report(line, lang, False, "no way to run this kind of snippet")
print(f"{len(blocks)} snippets, {kt.failures()} failed, {skipped} not run")
kt.finish()
