#!/usr/bin/env python3
"""Reproducibility of two runs of the same suite (e.g. two back-to-back seed runs on one machine):

  - |Δpenalty| / penalty over the cases that ran in both: median and p90 (also cpu_us and dev_us);
  - whether the top 10 of the report's Top pain ranking is the same (needs mpsfb_report);
  - every case whose penalty moved more than --threshold, and whether either run flagged it noisy
    (a side's noise above 5%, the report's rule: contract/result.h kNoisyAbove).

  python tools/compare_runs.py A.json B.json [--report-bin build/dev/mpsfb_report] [--targets ops/targets.seed.yaml]
                               [--threshold 0.10] [--out FILE]

Markdown on stdout. Exit status 0 whatever the numbers say; 1 on unreadable input.
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile

NOISY_ABOVE = 0.05  # contract/result.h counters::kNoisyAbove
NOISE_KEYS = ("cpu_noise", "dev_noise", "native_noise")


def load(path):
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)  # reads Google Benchmark's bare NaN
    except (OSError, json.JSONDecodeError) as e:
        sys.exit(f"compare_runs.py: {path}: {e}")
    cases = {}
    for row in doc.get("benchmarks", []):
        name = row.get("name", "")
        if not name.startswith("op:") or row.get("run_type") == "aggregate" or row.get("error_occurred"):
            continue
        cases[name.replace("/manual_time", "")] = row
    return doc.get("context", {}), cases


def positive(row, key):
    v = row.get(key)
    return v if isinstance(v, (int, float)) and math.isfinite(v) and v > 0 else None


def noisy(row):
    return any(isinstance(row.get(k), (int, float)) and row[k] > NOISY_ABOVE for k in NOISE_KEYS)


def quantile(sorted_values, q):
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return None
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def rel_changes(a, b, key):
    out = []
    for name in sorted(set(a) & set(b)):
        x, y = positive(a[name], key), positive(b[name], key)
        if x and y:
            out.append((abs(y - x) / x, name, x, y))
    return out


def top_pain(report_bin, run, targets):
    """The ops of the Top pain table, in rank order, from mpsfb_report's summary."""
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [report_bin, f"--results-dir={tmp}/results", f"--summary={tmp}/summary.md", run]
        if targets:
            cmd.insert(1, f"--targets={targets}")
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"{report_bin} failed on {run}: {r.stderr.strip()}")
        with open(f"{tmp}/summary.md", encoding="utf-8") as f:
            text = f.read()
    section = text.split("## Top pain", 1)[1].split("\n## ", 1)[0]
    return [m.group(1) for m in re.finditer(r"^\| \d+ \| `([^`]+)` \|", section, re.MULTILINE)]


def fmt(x, digits=1):
    return "—" if x is None else f"{100 * x:.{digits}f}%"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", help="first run's JSON (--benchmark_out)")
    p.add_argument("b", help="second run's JSON")
    p.add_argument("--report-bin", help="mpsfb_report, for the Top pain ranking")
    p.add_argument("--targets", help="targets file for demand (default: the one named in each run)")
    p.add_argument("--threshold", type=float, default=0.10, help="list cases whose penalty moved more (0.10)")
    p.add_argument("--out", help="also write the Markdown here")
    args = p.parse_args(argv)

    ctx_a, a = load(args.a)
    ctx_b, b = load(args.b)
    lines = [f"# {os.path.basename(args.a)} vs {os.path.basename(args.b)}", ""]
    for key in ("device_name", "torch_version", "fallback_mode", "noise_target", "max_time_s", "host_allocator",
                "copy_model"):
        va, vb = ctx_a.get(key, "—"), ctx_b.get(key, "—")
        lines.append(f"- {key}: {va}" + ("" if va == vb else f" | {vb}"))
    common = set(a) & set(b)
    lines += ["", f"Cases that ran in both: {len(common)} (only in A: {len(set(a) - set(b))}, only in B: "
              f"{len(set(b) - set(a))}).", "",
              "| Δ/base over common cases | n | median | p90 | max |", "| --- | ---: | ---: | ---: | ---: |"]
    for key in ("penalty", "cpu_us", "dev_us", "native_us"):
        ch = sorted(c[0] for c in rel_changes(a, b, key))
        if ch:
            lines.append(f"| {key} | {len(ch)} | {fmt(quantile(ch, 0.5))} | {fmt(quantile(ch, 0.9))} | {fmt(ch[-1])} |")
    noisy_a = sum(1 for n in common if noisy(a[n]))
    noisy_b = sum(1 for n in common if noisy(b[n]))
    lines += ["", f"Flagged noisy (a side above {NOISY_ABOVE:.0%}): {noisy_a} in A, {noisy_b} in B."]

    if args.report_bin:
        try:
            ta, tb = top_pain(args.report_bin, args.a, args.targets), top_pain(args.report_bin, args.b, args.targets)
            same_order = ta[:10] == tb[:10]
            same_set = set(ta[:10]) == set(tb[:10])
            verdict = "identical" if same_order else "same ops, other order" if same_set else "different"
            lines += ["", f"Top-10 pain: {verdict} ({len(ta)} and {len(tb)} ops ranked; the ranking needs a device run)."]
            if not same_order:
                lines += ["", "| rank | A | B |", "| ---: | --- | --- |"]
                lines += [f"| {i + 1} | `{x}` | `{y}` |" for i, (x, y) in enumerate(zip(ta[:10], tb[:10]))]
        except (OSError, RuntimeError, IndexError) as e:
            lines += ["", f"Top-10 pain: not compared ({e})."]
    else:
        lines += ["", "Top-10 pain: not compared (pass --report-bin=.../mpsfb_report)."]

    moved = sorted((c for c in rel_changes(a, b, "penalty") if c[0] > args.threshold), reverse=True)
    flagged = sum(1 for _, n, _, _ in moved if noisy(a[n]) or noisy(b[n]))
    lines += ["", f"## Cases whose penalty moved more than {args.threshold:.0%}: {len(moved)} "
              f"({flagged} flagged noisy by A or B)", ""]
    if moved:
        lines += ["| case | penalty A | penalty B | Δ | cpu_us A → B | dev_us A → B | noisy A | noisy B | max noise A / B |",
                  "| --- | ---: | ---: | ---: | --- | --- | --- | --- | --- |"]
        for d, name, x, y in moved:
            ra, rb = a[name], b[name]
            worst = lambda r: max((r.get(k) or 0) for k in NOISE_KEYS)
            lines.append(f"| `{name}` | {x:.3g} | {y:.3g} | {fmt(d)} | {ra.get('cpu_us', 0):.4g} → {rb.get('cpu_us', 0):.4g} "
                         f"| {ra.get('dev_us', 0):.4g} → {rb.get('dev_us', 0):.4g} | {'yes' if noisy(ra) else 'no'} "
                         f"| {'yes' if noisy(rb) else 'no'} | {fmt(worst(ra))} / {fmt(worst(rb))} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
