"""Prints the keys of UNIMPLEMENTED_XFAILLIST whose value is None, one a line, from a common_mps.py.

The edge of the coverage generator (tools/update_coverage.sh): Python's own parser reads the
foreign source, no pattern matching; mpsfb_coverage (C++) judges what this lists. Only the dict
literal assigned to UNIMPLEMENTED_XFAILLIST counts: the updates under `if MACOS_VERSION < ...`
or `if sparse:` are conditions of old macOS or sparse tests, and an entry with a dtype list is a
kernel that rejects those dtypes (an error on MPS), not a missing one.

usage: python tools/coverage/unimplemented.py common_mps.py   (exit 1 with one line on failure)
"""

from __future__ import annotations

import ast
import sys


def unimplemented(source: str, path: str) -> list:
    try:
        tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        raise ValueError(f"{path}:{exc.lineno}: not Python ({exc.msg})") from None
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign):
            targets, value = [node.target], node.value
        else:
            continue
        if not any(isinstance(t, ast.Name) and t.id == "UNIMPLEMENTED_XFAILLIST" for t in targets):
            continue
        if not isinstance(value, ast.Dict):
            raise ValueError(f"{path}:{node.lineno}: UNIMPLEMENTED_XFAILLIST is not a dict literal")
        keys = []
        for key, val in zip(value.keys, value.values):
            if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                raise ValueError(f"{path}:{node.lineno}: UNIMPLEMENTED_XFAILLIST has a key that is not a string")
            if isinstance(val, ast.Constant) and val.value is None:
                keys.append(key.value)
        return keys
    raise ValueError(f"{path}: no UNIMPLEMENTED_XFAILLIST = {{...}} assignment")


def main(argv: list) -> int:
    if len(argv) != 2:
        sys.stderr.write("usage: unimplemented.py common_mps.py\n")
        return 2
    try:
        with open(argv[1], encoding="utf-8") as f:
            keys = unimplemented(f.read(), argv[1])
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        sys.stderr.write(f"unimplemented.py: {exc}\n")
        return 1
    sys.stdout.write("".join(k + "\n" for k in keys))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
