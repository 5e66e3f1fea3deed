"""Compiles MLIR modules with ``kvq-compile`` and loads the result.

    mod = kvq.compile(pathlib.Path("model.mlir"), options={"block-kv": 64})
    mod = kvq.compile(text)                  # MLIR text
    out = mod.attention(q, k, v)             # or mod.attention(q=q, k=k, v=v)

``kvq-compile`` is searched for, in order (`find_kvq_compile`):

1. the ``kvq_compile=`` argument, then ``$KVQ_COMPILE``;
2. the tools inside this package (the platform wheel that
   ``pip install ./python`` builds from a built tree);
3. the prefix this package is installed in: ``<prefix>/bin`` of the virtual
   environment or ``pip install --prefix``, and of the ``cmake --install``
   prefix whose ``lib/pythonX.Y/site-packages`` holds the package;
4. the location recorded when the package was built
   (``--config-settings=kvq-prefix=/opt/kvq``);
5. ``PATH``;
6. ``build/bin`` of the source tree the package sits in (``PYTHONPATH=python``
   or an editable install).

When none is found, `CompileError` lists every place it looked. Any failure
of the toolchain (bad MLIR, an unsupported signature, a failed link) raises
`CompileError` with kvq-compile's diagnostics (``file:line:col: error: ...``),
which cite the user's file, or ``<kvq.compile text>:line:col`` for text.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

from .runtime import Module

__all__ = ["CompileError", "compile", "find_kvq_compile", "kvq_compile_search_path"]

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
# What kvq-compile calls MLIR text read from stdin, and what we call it.
_STDIN_NAME = "<stdin>"
TEXT_NAME = "<kvq.compile text>"
POLICY_NAME = "<kvq.compile policy>"


class CompileError(RuntimeError):
    """kvq-compile failed, or was not found. ``stderr`` holds its
    diagnostics, ``returncode`` its exit status and ``command`` the command
    line."""

    def __init__(self, message, stderr="", returncode=None, command=None):
        self.stderr = stderr
        self.returncode = returncode
        self.command = command
        super().__init__(f"{message}\n{stderr}".rstrip() if stderr else message)


def _recorded_prefix():
    """The kvq install prefix recorded when the package was built, or None."""
    try:
        with open(os.path.join(_PACKAGE_DIR, "_install.json")) as f:
            return json.load(f).get("prefix")
    except (OSError, ValueError):
        return None


def kvq_compile_search_path():
    """Where `find_kvq_compile` looks, in order: a list of (description,
    path or None) pairs; None where that source names no place."""
    places = [("$KVQ_COMPILE", os.environ.get("KVQ_COMPILE") or None),
              ("the tools inside the kvq package",
               os.path.join(_PACKAGE_DIR, "_tools", "bin", "kvq-compile"))]
    prefixes = [sys.prefix]
    # <prefix>/lib/pythonX.Y/site-packages/kvq -> <prefix>
    site = os.path.dirname(_PACKAGE_DIR)
    if os.path.basename(site) in ("site-packages", "dist-packages"):
        prefixes.append(os.path.dirname(os.path.dirname(os.path.dirname(site))))
    seen = set()
    for prefix in prefixes:
        path = os.path.join(prefix, "bin", "kvq-compile")
        if path not in seen:
            seen.add(path)
            places.append(("the install prefix", path))
    recorded = _recorded_prefix()
    places.append(("the recorded install prefix",
                   os.path.join(recorded, "bin", "kvq-compile") if recorded else None))
    places.append(("PATH", shutil.which("kvq-compile")))
    # python/kvq in a source tree (PYTHONPATH=python, an editable install).
    root = os.path.dirname(os.path.dirname(_PACKAGE_DIR))
    if os.path.basename(os.path.dirname(_PACKAGE_DIR)) == "python" and \
            os.path.isfile(os.path.join(root, "CMakeLists.txt")):
        places.append(("the source tree's build",
                       os.path.join(root, "build", "bin", "kvq-compile")))
    return places


def find_kvq_compile():
    """The path of kvq-compile, or None (see `kvq_compile_search_path`)."""
    for what, path in kvq_compile_search_path():
        if path and (what == "$KVQ_COMPILE" or (os.path.isfile(path) and
                                               os.access(path, os.X_OK))):
            return path
    return None


def _not_found_message():
    lines = ["kvq-compile not found. Searched:"]
    for what, path in kvq_compile_search_path():
        if path is None:
            detail = "not set" if what.startswith("$") else "none"
        elif os.path.isfile(path):
            detail = f"{path} (not executable)"
        else:
            detail = f"{path} (no such file)"
        lines.append(f"  {what}: {detail}")
    lines.append("Install a platform wheel built from a kvq build (pip install ./python after "
                 "building), put an installed kvq's bin/ on PATH, pass kvq_compile=, or set "
                 "KVQ_COMPILE.")
    return "\n".join(lines)


def _read_source(module):
    """(path, text): the .mlir file `module` names, or its MLIR text."""
    if isinstance(module, os.PathLike):
        path = os.fspath(module)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"kvq.compile: no such MLIR file: {path!r}")
        return path, None
    if isinstance(module, bytes):
        module = module.decode()
    if not isinstance(module, str):
        raise TypeError("kvq.compile: module must be MLIR text (str), or the path of a .mlir "
                        f"file (str or os.PathLike), got {type(module).__name__}")
    stripped = module.strip()
    # MLIR text has a space, a newline or a brace somewhere; a single word
    # is meant as a path.
    if "\n" not in stripped and os.path.isfile(stripped):
        return stripped, None
    if not stripped or not re.search(r"[\s{}()]", stripped) or \
            (stripped.endswith((".mlir", ".mlirbc")) and "\n" not in stripped):
        raise FileNotFoundError(
            f"kvq.compile: {module!r} looks like a file path, but there is no such file "
            "(to compile MLIR text, pass the text itself; paths may be given as "
            "pathlib.Path)")
    return None, module


def _option_args(options):
    if options is None:
        return []
    if isinstance(options, dict):
        args = []
        for key, value in options.items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            args.append(f"--{key}={value}")
        return args
    if isinstance(options, str):
        return options.split()
    return [str(o) for o in options]


def compile(module, target="cpu", opt=3, options=None, name="kernel", build_dir=None,
            kvq_compile=None, timeout=300, policy=None):
    """Compiles `module` into a shared library and loads it.

    module: the path of a .mlir file (``pathlib.Path`` or ``str``), or MLIR
      text. A one-line string naming no existing file raises
      FileNotFoundError instead of being parsed as MLIR.
    target: "cpu" (host kernels on NumPy arrays), "nvvm" (NVIDIA GPU
      kernels; arguments may be NumPy arrays, copied to the device and back,
      or device arrays: see kvq.cuda) or "nvvm-emulated" (the GPU path, every
      kernel run on the host by the GPU emulator with CUDA semantics, on
      NumPy arrays: for testing without a GPU; kernel failures raise
      kvq.cuda.CudaError). GPU pipeline options (chip, format, block-kv,
      warps, split-kv, ...) go in `options`.
    opt: LLVM optimization level, 0-3.
    options: kvq-cpu-pipeline / kvq-nvvm-pipeline options, as a dict
      ({"block-kv": 64}), a list of command-line arguments or one string of
      them.
    name: the library's name (its files are <name>.so / .h / .json).
    build_dir: where the files go; by default a temporary directory that
      lives as long as the returned Module.
    kvq_compile: the kvq-compile executable (default: find_kvq_compile()).
    policy: a KV compression policy applied to every kvq.attention before
      lowering (kvq-compress-kv): a dict in the policy's JSON form, JSON
      text, or the path of a JSON file.

    Returns a `kvq.runtime.Module`: one callable per public function, taking
    its arguments by position or by the names of the function's parameters
    (``mod.f(q=q, k=k)``; ``help(mod.f)`` shows them). Raises `CompileError`
    with kvq-compile's diagnostics when it fails, located in the file, or in
    the text as ``<kvq.compile text>:line:col``.
    """
    tool = kvq_compile or find_kvq_compile()
    if not tool:
        raise CompileError(_not_found_message())
    if opt not in (0, 1, 2, 3):
        raise ValueError(f"opt must be 0, 1, 2 or 3, got {opt!r}")
    path, text = _read_source(module)

    workdir = None
    created = None  # the first directory of build_dir this call creates
    if build_dir is None:
        workdir = tempfile.TemporaryDirectory(prefix="kvq-")
        out_dir = workdir.name
    else:
        out_dir = os.fspath(build_dir)
        created = os.path.abspath(out_dir)
        while not os.path.exists(os.path.dirname(created)):
            created = os.path.dirname(created)
        if os.path.exists(created):
            created = None
        os.makedirs(out_dir, exist_ok=True)

    # Text goes through stdin, so that diagnostics cite no temporary file.
    command = [tool, path if path is not None else "-", "-o", out_dir + os.sep, f"--name={name}",
               f"--target={target}", f"-O{opt}", "--emit=so"] + _option_args(options)
    renames = {}
    with tempfile.TemporaryDirectory(prefix="kvq-policy-") as scratch:
        if policy is not None:
            if isinstance(policy, (dict, list)):
                policy = json.dumps(policy, indent=1)
            if isinstance(policy, str) and policy.lstrip().startswith("{"):
                # Policy text: a file for kvq-compile, cited by a label.
                policy_path = os.path.join(scratch, "policy.json")
                with open(policy_path, "w") as f:
                    f.write(policy)
                renames[policy_path] = POLICY_NAME
                policy = policy_path
            command.append(f"--kv-policy={os.fspath(policy)}")
        try:
            result = subprocess.run(command, input=text, capture_output=True, text=True,
                                    timeout=timeout)
        except OSError as e:
            raise CompileError(f"cannot run {tool}: {e}", command=command) from e
        except subprocess.TimeoutExpired as e:
            raise CompileError(f"kvq-compile timed out after {timeout} s",
                               command=command) from e
        finally:
            if created is not None and not os.path.exists(os.path.join(out_dir, f"{name}.json")):
                shutil.rmtree(created, ignore_errors=True)  # a failed compile leaves nothing
    stderr = result.stderr
    if text is not None:
        stderr = re.sub(r"(^|\s)" + re.escape(_STDIN_NAME) + ":", r"\1" + TEXT_NAME + ":",
                        stderr, flags=re.M)
    for temporary, label in renames.items():
        stderr = stderr.replace(temporary, label)
    if result.returncode != 0:
        where = f"{path}" if path is not None else \
            f"the MLIR text ({TEXT_NAME}; lines count from its first line)"
        raise CompileError(f"kvq-compile failed on {where} (exit code {result.returncode})",
                           stderr=stderr, returncode=result.returncode, command=command)
    loaded = Module(os.path.join(out_dir, f"{name}.json"), workdir=workdir)
    loaded.compile_log = stderr  # warnings, if any
    return loaded
