"""A self-contained PEP 517 / PEP 660 build backend for the kvq Python
package, so that `pip install ./python` works offline, with nothing but pip:
the package is pure Python (it drives the kvq-compile executable and loads
the libraries it writes), so a wheel is a zip of `kvq/` plus its metadata.

Metadata comes from pyproject.toml's [project] table (name, version,
description, requires-python, dependencies, optional-dependencies).
"""

import base64
import hashlib
import os
import re
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


_WHEEL = "Wheel-Version: 1.0\nGenerator: kvq_build\nRoot-Is-Purelib: true\nTag: py3-none-any\n"


def _write_wheel(directory, files):
    """Writes a wheel holding `files` ({archive name: bytes}) plus its
    dist-info; returns its file name."""
    info, p = _dist_info()
    name = f"{p['name']}-{p['version']}-py3-none-any.whl"
    files = dict(files)
    files[f"{info}/METADATA"] = _metadata(p).encode()
    files[f"{info}/WHEEL"] = _WHEEL.encode()
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    with zipfile.ZipFile(os.path.join(directory, name), "w", zipfile.ZIP_DEFLATED) as z:
        for path, data in files.items():
            z.writestr(path, data)
    return name


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
    return _write_wheel(wheel_directory, _package_files())


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
