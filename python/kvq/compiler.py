"""Compiles MLIR modules with ``kvq-compile`` and loads the result.

    mod = kvq.compile(text_or_path, opt=3, options={"block-kv": 64})
    out = mod.attention(q, k, v)

``kvq-compile`` is taken from ``$KVQ_COMPILE``, else from ``build/bin`` of the
repository this package sits in, else from ``PATH``. Any failure of the
toolchain (bad MLIR, an unsupported signature, a failed link) raises
`CompileError` with kvq-compile's diagnostics (``file:line:col: error: ...``).
"""

import json
import os
import shutil
import subprocess
import tempfile

from .runtime import Module

__all__ = ["CompileError", "compile", "find_kvq_compile"]


class CompileError(RuntimeError):
    """kvq-compile failed. ``stderr`` holds its diagnostics, ``returncode``
    its exit status and ``command`` the command line."""

    def __init__(self, message, stderr="", returncode=None, command=None):
        self.stderr = stderr
        self.returncode = returncode
        self.command = command
        super().__init__(f"{message}\n{stderr}".rstrip() if stderr else message)


def find_kvq_compile():
    """The path of kvq-compile, or None."""
    env = os.environ.get("KVQ_COMPILE")
    if env:
        return env
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    candidate = os.path.join(root, "build", "bin", "kvq-compile")
    if os.access(candidate, os.X_OK):
        return candidate
    return shutil.which("kvq-compile")


def _looks_like_path(module):
    return isinstance(module, os.PathLike) or (
        isinstance(module, str) and "\n" not in module and "{" not in module
        and os.path.isfile(module))


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
    """Compiles `module` (MLIR text, or the path of a .mlir file) into a
    shared library and loads it.

    target: "cpu" (host kernels on NumPy arrays), "nvvm" (NVIDIA GPU
      kernels; arguments may be NumPy arrays, copied to the device and back,
      or device arrays: see kvq.cuda) or "nvvm-emulated" (the GPU path, every
      kernel run on the host by the GPU emulator with CUDA semantics, on
      NumPy arrays: for testing without a GPU; kernel failures raise
      kvq.cuda.CudaError). GPU pipeline options (chip, format, block-kv,
      warps, split-kv, ...) go in `options`.
    opt: LLVM optimization level, 0-3.
    options: kvq-cpu-pipeline / kvq-nvvm-pipeline options, as a dict ({"block-kv": 64}), a list
      of command-line arguments or one string of them.
    name: the library's name (its files are <name>.so / .h / .json).
    build_dir: where the files go; by default a temporary directory that
      lives as long as the returned Module.
    kvq_compile: the kvq-compile executable (default: find_kvq_compile()).
    policy: a KV compression policy applied to every kvq.attention before
      lowering (kvq-compress-kv): a dict in the policy's JSON form, JSON
      text, or the path of a JSON file.
    """
    tool = kvq_compile or find_kvq_compile()
    if not tool:
        raise CompileError("kvq-compile not found: set KVQ_COMPILE or build the project "
                           "(scripts/setup.sh)")
    if opt not in (0, 1, 2, 3):
        raise ValueError(f"opt must be 0, 1, 2 or 3, got {opt!r}")

    workdir = None
    if build_dir is None:
        workdir = tempfile.TemporaryDirectory(prefix="kvq-")
        out_dir = workdir.name
    else:
        out_dir = os.fspath(build_dir)
        os.makedirs(out_dir, exist_ok=True)

    if _looks_like_path(module):
        source = os.fspath(module)
    else:
        if not isinstance(module, str):
            raise TypeError("module must be MLIR text or the path of a .mlir file")
        source = os.path.join(out_dir, f"{name}.input.mlir")
        with open(source, "w") as f:
            f.write(module)

    command = [tool, source, "-o", out_dir + os.sep, f"--name={name}", f"--target={target}",
               f"-O{opt}", "--emit=so"] + _option_args(options)
    if policy is not None:
        if isinstance(policy, (dict, list)):
            policy = json.dumps(policy)
        if isinstance(policy, str) and policy.lstrip().startswith("{"):
            path = os.path.join(out_dir, f"{name}.policy.json")
            with open(path, "w") as f:
                f.write(policy)
            policy = path
        command.append(f"--kv-policy={os.fspath(policy)}")
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except OSError as e:
        raise CompileError(f"cannot run {tool}: {e}", command=command) from e
    except subprocess.TimeoutExpired as e:
        raise CompileError(f"kvq-compile timed out after {timeout} s", command=command) from e
    if result.returncode != 0:
        raise CompileError(f"kvq-compile failed (exit code {result.returncode})",
                           stderr=result.stderr, returncode=result.returncode,
                           command=command)
    loaded = Module(os.path.join(out_dir, f"{name}.json"), workdir=workdir)
    loaded.compile_log = result.stderr  # warnings, if any
    return loaded
