#!/usr/bin/env python3
"""Copies a Google Benchmark JSON without its errored and skipped rows, for compare.py.

Google Benchmark writes real_time 0 for a row that errored or was skipped (an op a build
lacks, a shape the op rejects), and compare.py's OVERALL_GEOMEAN is a geometric mean over
every non-aggregate row of each file: one zero makes it zero, and compare.py then prints no
OVERALL_GEOMEAN row at all. The rows dropped here are printed to stderr.

  python tools/gbench_ok_rows.py run.json run.ok.json
  compare.py --no-color benchmarks base.ok.json run.ok.json

The `compare` CMake target does this for you (docs/reports.md).
"""
import json
import sys


def ok_rows(doc):
    """(kept document, names of the dropped rows)."""
    kept, dropped = [], []
    for row in doc.get("benchmarks", []):
        failed = row.get("error_occurred") or row.get("skipped") not in (None, False, 0)
        (dropped if failed else kept).append(row)
    out = dict(doc)
    out["benchmarks"] = kept
    return out, [r.get("name", "?") for r in dropped]


def main(argv=None):
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    src, dst = args
    try:
        with open(src, encoding="utf-8") as f:
            doc = json.load(f)  # Python's json reads Google Benchmark's bare NaN and Infinity
    except OSError as e:
        print(f"gbench_ok_rows.py: {src}: {e.strerror}", file=sys.stderr)
        return 1
    except json.JSONDecodeError as e:
        print(f"gbench_ok_rows.py: {src}: malformed JSON: {e}", file=sys.stderr)
        return 1
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        print(f"gbench_ok_rows.py: {src}: not Google Benchmark JSON (no \"benchmarks\" list)", file=sys.stderr)
        return 1
    out, dropped = ok_rows(doc)
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(out, f, indent=2)
    if dropped:
        print(f"gbench_ok_rows.py: {src}: left out {len(dropped)} errored or skipped row(s) "
              f"(real_time 0): {', '.join(dropped[:5])}{' ...' if len(dropped) > 5 else ''}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
