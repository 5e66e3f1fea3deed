# -*- Python -*-
"""lit configuration of the kvq test suite."""

import os
import shutil
import subprocess

import lit.formats
import lit.util
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "KVQ"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "README.md", "lit.cfg.py", "lit.site.cfg.py",
                   "Inputs", "python", "regressions", "consumer", "harness"]

config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.kvq_obj_root, "test")

config.substitutions.append(("%PATH%", config.environment["PATH"]))
config.substitutions.append(("%kvq_src_root", config.kvq_src_root))
config.substitutions.append(("%kvq_obj_root", config.kvq_obj_root))
config.substitutions.append(("%python", config.python_executable))
# Configuring an out-of-tree consumer with this build's toolchain.
config.substitutions.append(("%cmake_configure",
                             f'"{config.cmake_command}" -G "{config.cmake_generator}" '
                             f'-DCMAKE_MAKE_PROGRAM="{config.cmake_make_program}" '
                             f'-DCMAKE_C_COMPILER="{config.c_compiler}" '
                             f'-DCMAKE_CXX_COMPILER="{config.cxx_compiler}" '
                             f'-DMLIR_DIR="{config.mlir_dir}"'))
config.substitutions.append(("%cmake", f'"{config.cmake_command}"'))
# -I flags of MLIR's and LLVM's .td / header directories.
config.substitutions.append(("%mlir_includes", " ".join(
    f'-I"{d}"' for d in config.mlir_include_dirs.split(";") if d)))

# KVQ_TEST_SEED: the seed of the Python test scripts' random inputs
# (test/harness/kvq_testing.py); set, it reproduces a run.
llvm_config.with_system_environment(["HOME", "INCLUDE", "LIB", "TMP", "TEMP", "CUDA_HOME",
                                     "KVQ_TEST_SEED"])
llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
# The Python package of the source tree and the test scripts' harness.
harness_dir = os.path.join(config.kvq_src_root, "test", "harness")
llvm_config.with_environment("PYTHONPATH",
                             [os.path.join(config.kvq_src_root, "python"), harness_dir],
                             append_path=True)
config.substitutions.append(("%kvq_test_harness", harness_dir))

tool_dirs = [config.kvq_tools_dir, config.llvm_tools_dir]
tools = ["clang", "kvq-compile", "kvq-opt", "llvm-nm", "mlir-opt", "mlir-tblgen",
         "mlir-translate"]
llvm_config.add_tool_substitutions(tools, tool_dirs)
# kvq.compile() (python/kvq/compiler.py) runs the kvq-compile of this build.
config.environment["KVQ_COMPILE"] = os.path.join(config.kvq_tools_dir, "kvq-compile")
# kvq.cuda loads this build's CUDA runtime (not the source tree's build/).
config.environment["KVQ_RUNTIME_DIR"] = os.path.join(config.kvq_obj_root, "lib")

# GPU execution tests need an NVIDIA GPU and its driver.
if shutil.which("nvidia-smi"):
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True,
                             timeout=20)
        if out.returncode == 0 and "GPU" in out.stdout:
            config.available_features.add("cuda-gpu")
    except (OSError, subprocess.SubprocessError):
        pass
if config.kvq_has_cuda_runtime:
    config.available_features.add("cuda-runtime")
# The CUDA driver double (Runtime/DriverDouble): a libcuda.so.1 that tests
# put first on LD_LIBRARY_PATH with %cuda_double (an env prefix).
if config.kvq_cuda_driver_double_dir and os.path.exists(
        os.path.join(config.kvq_cuda_driver_double_dir, "libcuda.so.1")):
    config.available_features.add("cuda-driver-double")
    config.substitutions.append(("%cuda_double_dir", config.kvq_cuda_driver_double_dir))
    config.substitutions.append(("%cuda_include", config.kvq_cuda_include_dir))
    config.substitutions.append(
        ("%cuda_double", "env LD_LIBRARY_PATH=" + config.kvq_cuda_driver_double_dir))
# valgrind, for memory checks of the runtime against the driver double.
if shutil.which("valgrind"):
    config.available_features.add("valgrind")
# ptxas (the CUDA toolkit) for format=bin / fatbin.
cuda_home = os.environ.get("CUDA_HOME", "/usr/local/cuda")
if shutil.which("ptxas", path=config.environment.get("PATH")) or \
        os.access(os.path.join(cuda_home, "bin", "ptxas"), os.X_OK):
    config.available_features.add("ptxas")
    config.environment.setdefault("CUDA_HOME", cuda_home)
config.substitutions.append(("%ptxas", os.path.join(cuda_home, "bin", "ptxas")))
config.substitutions.append(("%kvq_tools_dir", config.kvq_tools_dir))
# The libFuzzer target of the sanitizer build.
fuzzer = os.path.join(config.kvq_tools_dir, "kvq-fuzz")
if os.access(fuzzer, os.X_OK):
    config.available_features.add("fuzzer")
    config.substitutions.append(("%kvq_fuzz", fuzzer))
# The ASan + UBSan build (scripts/sanitize.sh).
if config.kvq_sanitizer:
    config.available_features.add("sanitizer")
if config.kvq_build_unittests:
    config.available_features.add("unittests")
