"""Checks that the user-facing documents speak to users: every relative
link of README.md and docs/*.md names a file of the repository, and no
document, script, example, benchmark or Python docstring points outside
it (the design notes it was developed from, issue numbers).

    python3 check_docs.py SRC_ROOT
"""

import pathlib
import re
import sys

import kvq_testing as kt

root = pathlib.Path(sys.argv[1])


docs = [root / "README.md"] + sorted((root / "docs").glob("*.md"))
for doc in docs:
    text = doc.read_text()
    # Code (fenced blocks, inline spans) holds no links: blank it out,
    # keeping the line breaks for the line numbers.
    text = re.sub(r"```.*?```|`[^`\n]*`", lambda c: re.sub(r"[^\n]", " ", c.group(0)), text,
                  flags=re.S)
    for m in re.finditer(r"\]\(([^)#\s]+)(#[^)]*)?\)", text):
        target = m.group(1)
        if re.match(r"[a-z]+:", target):
            continue  # a URL
        path = (doc.parent / target).resolve()
        line = text.count("\n", 0, m.start()) + 1
        if not path.exists():
            kt.fail(f"{doc.relative_to(root)}:{line}", f"link to {target}, which does not exist")
        elif root.resolve() not in path.parents and path != root.resolve():
            kt.fail(f"{doc.relative_to(root)}:{line}", f"link to {target}, outside the repository")

outside = re.compile(r"shared/design|ARCHITECTURE\.md|ALGORITHMS\.md|\bissue \d+|\(issue|issues show")
files = docs + sorted(p for d in ("python/kvq", "scripts", "examples", "bench")
                      for p in (root / d).rglob("*") if p.is_file() and p.suffix in
                      (".py", ".sh", ".md", ".mlir", ".json", ".toml"))
for path in files:
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        if outside.search(line):
            kt.fail(f"{path.relative_to(root)}:{number}", f"points outside the repository: {line.strip()}")
print(f"checked {len(docs)} documents and {len(files)} files, {kt.failures()} problems")
kt.finish()
