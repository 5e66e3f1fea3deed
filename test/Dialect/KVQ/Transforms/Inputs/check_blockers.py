"""Checks that every blocker kvq-raise-attention can report has a near miss
in the negative tests: each text fragment of every `fail(...)` in the pass
and of every reason `explainSoftmax` returns must appear in an
`expected-remark` of the test file. (`unexpected(...)` checks, which the
recognized forms cannot fail, are not counted.)

Usage: check_blockers.py RaiseAttention.cpp raise-attention-negative.mlir
"""

import re
import sys


def calls(source, name):
    """The argument text of every `name(...)` call."""
    for match in re.finditer(r"(?<![\w.])" + name + r"\(", source):
        depth, i, in_string = 1, match.end(), False
        while depth:
            c = source[i]
            if in_string:
                if c == "\\":
                    i += 1
                elif c == '"':
                    in_string = False
            elif c == '"':
                in_string = True
            elif c == "(":
                depth += 1
            elif c == ")":
                depth -= 1
            i += 1
        yield source[match.end():i - 1]


def fragments(text):
    """The string literals of `text`, adjacent ones joined."""
    result = []
    for part in re.findall(r'"(?:[^"\\]|\\.)*"(?:\s*"(?:[^"\\]|\\.)*")*', text):
        result.append("".join(re.findall(r'"((?:[^"\\]|\\.)*)"', part)).replace('\\"', '"'))
    return [r for r in result if len(r.strip()) >= 4]


def main(source_path, test_path):
    source = open(source_path).read()
    remarks = " ".join(re.findall(r"expected-remark[^{]*\{\{(.*?)\}\}", open(test_path).read()))
    # Every fail(...) but the one in unexpected(), and every reason a
    # contraction is refused for.
    blockers = [args for args in calls(source, "fail") if "unexpected: " not in args]
    blockers += re.findall(r"why = (\"[^;]*);", source)
    explain = source[source.index("std::string explainSoftmax("):]
    explain = explain[:explain.index("\n}\n")]
    blockers += [m for m in re.findall(r"return (\"[^;]*);", explain)
                 if "unexpected: " not in m]
    missing = []
    for blocker in blockers:
        for fragment in fragments(blocker):
            if fragment not in remarks:
                missing.append(fragment)
    for fragment in missing:
        print(f"no near miss expects: {fragment!r}")
    print(f"{len(blockers)} blockers, {len(missing)} fragments without a test")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
