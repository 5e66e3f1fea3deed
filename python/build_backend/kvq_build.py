"""A self-contained PEP 517 / PEP 660 build backend for the kvq Python
package, so that `pip install ./python` works offline, with nothing but pip.

The package drives the kvq-compile executable and loads the libraries it
writes. When the tree has been built (build/bin/kvq-compile exists), the
wheel is a platform wheel that carries the tools: `cmake --install` of the
build into a staging prefix, then its bin/kvq-compile, bin/kvq-opt,
lib/libkvq_cuda_runtime.so and lib/libkvq_gpu_emulator.so (for
target="nvvm-emulated") go to kvq/_tools/ (they find libMLIR.so in the
LLVM 22 installation they were built against, through their RUNPATH).
Otherwise the wheel is pure Python and finds an installed kvq at run time
(see kvq/compiler.py).

Config settings (`pip install ./python --config-settings=KEY=VALUE`):

  kvq-tools=bundle|none   bundle the tools (default: when a build exists;
                          `bundle` without a build is an error)
  kvq-build-dir=DIR       the build to bundle (default: $KVQ_BUILD_DIR, else
                          build/ next to python/)
  kvq-prefix=DIR          record DIR, an installed kvq's prefix, for the
                          package to find DIR/bin/kvq-compile

Metadata comes from pyproject.toml's [project] table (name, version,
description, requires-python, dependencies, optional-dependencies).
"""

import base64
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sysconfig
import tempfile
import zipfile

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_PACKAGE = "kvq"


def _project():
    """The [project] table's fields this backend needs (a minimal reader:
    strings and lists of strings, as this pyproject.toml writes them)."""
    with open(os.path.join(_ROOT, "pyproject.toml"), encoding="utf-8") as f:
        text = f.read()
    section, fields, optional = None, {}, {}
    for line in text.splitlines():
        line = line.strip()
        header = re.fullmatch(r"\[([^\]]+)\]", line)
        if header:
            section = header.group(1)
            continue
        m = re.fullmatch(r'([A-Za-z0-9_-]+)\s*=\s*(.+)', line)
        if not m:
            continue
        key, value = m.group(1), m.group(2)
        if value.startswith("["):
            value = re.findall(r'"([^"]*)"', value)
        elif value.startswith('"'):
            value = value.strip('"')
        else:
            continue
        if section == "project":
            fields[key] = value
        elif section == "project.optional-dependencies":
            optional[key] = value
    fields["optional"] = optional
    return fields


def _dist_info():
    p = _project()
    return f"{p['name']}-{p['version']}.dist-info", p


def _metadata(p):
    lines = ["Metadata-Version: 2.1", f"Name: {p['name']}", f"Version: {p['version']}",
             f"Summary: {p.get('description', '')}"]
    if "requires-python" in p:
        lines.append(f"Requires-Python: {p['requires-python']}")
    for dep in p.get("dependencies", []):
        lines.append(f"Requires-Dist: {dep}")
    for extra, deps in p["optional"].items():
        lines.append(f"Provides-Extra: {extra}")
        lines += [f"Requires-Dist: {d}; extra == \"{extra}\"" for d in deps]
    return "\n".join(lines) + "\n"


def _platform_tag():
    return re.sub(r"[^A-Za-z0-9]", "_", sysconfig.get_platform())


def _write_wheel(directory, files, executables=(), platform=False):
    """Writes a wheel holding `files` ({archive name: bytes}) plus its
    dist-info; `executables` are the names to mark executable; `platform`
    makes it a platform wheel (py3-none-<platform>). Returns its file
    name."""
    info, p = _dist_info()
    tag = f"py3-none-{_platform_tag()}" if platform else "py3-none-any"
    name = f"{p['name']}-{p['version']}-{tag}.whl"
    files = dict(files)
    files[f"{info}/METADATA"] = _metadata(p).encode()
    files[f"{info}/WHEEL"] = (f"Wheel-Version: 1.0\nGenerator: kvq_build\n"
                              f"Root-Is-Purelib: {'false' if platform else 'true'}\n"
                              f"Tag: {tag}\n").encode()
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(os.path.join(directory, name), "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in files.items():
            entry = zipfile.ZipInfo(path, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = (stat.S_IFREG | (0o755 if path in executables else 0o644)) << 16
            z.writestr(entry, data)
    return name


def _setting(config_settings, key, default=None):
    value = (config_settings or {}).get(key, default)
    return value[-1] if isinstance(value, list) else value


def _tool_files(config_settings):
    """The tools to bundle ({archive name: bytes}, executable names), or
    ({}, ()) for a pure wheel."""
    mode = _setting(config_settings, "kvq-tools", "auto")
    if mode not in ("auto", "bundle", "none"):
        raise ValueError(f"kvq-tools must be bundle or none, got {mode!r}")
    if mode == "none":
        return {}, ()
    build = _setting(config_settings, "kvq-build-dir") or os.environ.get("KVQ_BUILD_DIR") or \
        os.path.join(os.path.dirname(_ROOT), "build")
    build = os.path.abspath(build)
    if not os.path.isfile(os.path.join(build, "bin", "kvq-compile")) or \
            not os.path.isfile(os.path.join(build, "cmake_install.cmake")):
        if mode == "bundle":
            raise FileNotFoundError(f"kvq-tools=bundle: no kvq build in {build} (build it "
                                    "with scripts/setup.sh, or give kvq-build-dir=DIR)")
        return {}, ()
    files, executables = {}, []
    with tempfile.TemporaryDirectory(prefix="kvq-wheel-") as prefix:
        cmake = shutil.which("cmake") or "cmake"
        subprocess.run([cmake, "--install", build, "--prefix", prefix], check=True,
                       stdout=subprocess.DEVNULL)
        for rel, executable in (("bin/kvq-compile", True), ("bin/kvq-opt", True),
                                ("lib/libkvq_cuda_runtime.so", False),
                                ("lib/libkvq_gpu_emulator.so", False)):
            path = os.path.join(prefix, rel)
            if not os.path.isfile(path):
                if executable:
                    raise FileNotFoundError(f"cmake --install {build} did not install {rel}")
                continue
            name = f"{_PACKAGE}/_tools/{rel}"
            with open(path, "rb") as fh:
                files[name] = fh.read()
            if executable:
                executables.append(name)
    return files, tuple(executables)


def _install_record(config_settings):
    """kvq/_install.json recording an installed kvq's prefix, if given."""
    prefix = _setting(config_settings, "kvq-prefix")
    if not prefix:
        return {}
    record = json.dumps({"prefix": os.path.abspath(prefix)}, indent=1) + "\n"
    return {f"{_PACKAGE}/_install.json": record.encode()}


def _package_files():
    files = {}
    top = os.path.join(_ROOT, _PACKAGE)
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for f in sorted(filenames):
            if f.endswith((".py", ".typed")):
                full = os.path.join(dirpath, f)
                with open(full, "rb") as fh:
                    files[os.path.relpath(full, _ROOT).replace(os.sep, "/")] = fh.read()
    return files


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = _package_files()
    files.update(_install_record(config_settings))
    tools, executables = _tool_files(config_settings)
    files.update(tools)
    return _write_wheel(wheel_directory, files, executables, platform=bool(tools))


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    # A .pth file puts the source directory on sys.path.
    return _write_wheel(wheel_directory, {"kvq_editable.pth": (_ROOT + "\n").encode()})


def build_sdist(sdist_directory, config_settings=None):
    import tarfile

    _, p = _dist_info()
    base = f"{p['name']}-{p['version']}"
    name = f"{base}.tar.gz"
    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as tar:
        for rel in ["pyproject.toml", "build_backend/kvq_build.py"] + list(_package_files()):
            tar.add(os.path.join(_ROOT, rel), arcname=f"{base}/{rel}")
    return name
