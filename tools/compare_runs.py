#!/usr/bin/env python3
"""Reproducibility of two runs of the same suite (e.g. two back-to-back seed runs on one machine):

  - |Δpenalty| / penalty over the cases that ran in both: median and p90 (also cpu_us and dev_us);
  - whether the top 10 of the report's Top pain ranking is the same;
  - every case whose penalty moved more than --threshold, and whether either run flagged it noisy.

Each run's cases are what mpsfb_report makes of it (its cases.csv, and its ranking top_pain.csv): one value per case however
many visits (repetitions) the run made, and the report's own noisy flag (a side's noise, the
visits' spread included, above contract/result.h kNoisyAbove), so no rule is written twice.

  python tools/compare_runs.py A.json B.json --report-bin build/dev/mpsfb_report [--targets ops/targets.seed.yaml]
                               [--threshold 0.10] [--out FILE]

Markdown on stdout. Exit status 0 whatever the numbers say; 1 on unreadable input or a failed report.
"""
import argparse
import csv
import json
import math
import os
import subprocess
import sys
import tempfile

import contract as result_contract

CONTEXT_KEYS = ("device_name", "torch_version", "fallback_mode", "visits", "noise_target", "max_time_s",
                "host_allocator", "cpu_sample", "copy_model")


def context(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f).get("context", {})  # reads Google Benchmark's bare NaN
    except (OSError, json.JSONDecodeError) as e:
        sys.exit(f"compare_runs.py: {path}: {e}")


def counters(report_bin):
    """The contract's case counters, the noise counters among them, and the name segments of a case
    (mpsfb_report --list-contract)."""
    try:
        c = result_contract.load(report_bin)
    except result_contract.ContractError as e:
        sys.exit(f"compare_runs.py: {e}")
    return result_contract.case_counters(c), result_contract.noise_counters(c), c["name_segments"]


def report(report_bin, run, targets):
    """mpsfb_report over one run: its cases (name -> the contract's counters, noisy) and its Top pain
    ops in rank order."""
    numbers, _, segments = counters(report_bin)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [report_bin, f"--results-dir={tmp}/results", f"--summary={tmp}/summary.md",
               f"--cases-csv={tmp}/cases.csv", run]
        if targets:
            cmd.insert(1, f"--targets={targets}")
        try:
            r = subprocess.run(cmd, capture_output=True, text=True)
        except OSError as e:
            sys.exit(f"compare_runs.py: {report_bin}: {e}")
        if r.returncode != 0:
            sys.exit(f"compare_runs.py: {report_bin} failed on {run}: {r.stderr.strip()}")
        cases = {}
        with open(f"{tmp}/cases.csv", encoding="utf-8", newline="") as f:
            for row in csv.DictReader(f):
                if row["status"] != "ok":
                    continue
                name = "/".join(f"{key}:{row[key]}" for key in segments)
                case = {k: float(row[k]) for k in numbers if row.get(k)}
                case["noisy"] = row.get("noisy") == "yes"
                cases[name] = case
        with open(f"{tmp}/top_pain.csv", encoding="utf-8", newline="") as f:  # the ranking, rank order
            top = [row["op"] for row in csv.DictReader(f)]
    return cases, top


def quantile(sorted_values, q):
    """Linear interpolation between closest ranks (numpy's default)."""
    if not sorted_values:
        return None
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def positive(case, key):
    v = case.get(key)
    return v if v is not None and math.isfinite(v) and v > 0 else None


def rel_changes(a, b, key):
    out = []
    for name in sorted(set(a) & set(b)):
        x, y = positive(a[name], key), positive(b[name], key)
        if x and y:
            out.append((abs(y - x) / x, name, x, y))
    return out


def fmt(x, digits=1):
    return "—" if x is None else f"{100 * x:.{digits}f}%"


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a", help="first run's JSON (--benchmark_out)")
    p.add_argument("b", help="second run's JSON")
    p.add_argument("--report-bin", required=True, help="mpsfb_report: the cases and the Top pain ranking of each run")
    p.add_argument("--targets", help="targets file for demand (default: the one named in each run)")
    p.add_argument("--threshold", type=float, default=0.10, help="list cases whose penalty moved more (0.10)")
    p.add_argument("--out", help="also write the Markdown here")
    args = p.parse_args(argv)

    ctx_a, ctx_b = context(args.a), context(args.b)
    _, noise_keys, _ = counters(args.report_bin)
    a, top_a = report(args.report_bin, args.a, args.targets)
    b, top_b = report(args.report_bin, args.b, args.targets)
    lines = [f"# {os.path.basename(args.a)} vs {os.path.basename(args.b)}", ""]
    for key in CONTEXT_KEYS:
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
    noisy_a = sum(1 for n in common if a[n]["noisy"])
    noisy_b = sum(1 for n in common if b[n]["noisy"])
    lines += ["", f"Flagged noisy by the report: {noisy_a} in A, {noisy_b} in B."]

    same_order = top_a[:10] == top_b[:10]
    same_set = set(top_a[:10]) == set(top_b[:10])
    verdict = "identical" if same_order else "same ops, other order" if same_set else "different"
    lines += ["", f"Top-10 pain: {verdict} ({len(top_a)} and {len(top_b)} ops ranked; the ranking needs a device run)."]
    if not same_order:
        lines += ["", "| rank | A | B |", "| ---: | --- | --- |"]
        lines += [f"| {i + 1} | `{x}` | `{y}` |" for i, (x, y) in enumerate(zip(top_a[:10], top_b[:10]))]

    moved = sorted((c for c in rel_changes(a, b, "penalty") if c[0] > args.threshold), reverse=True)
    flagged = sum(1 for _, n, _, _ in moved if a[n]["noisy"] or b[n]["noisy"])
    lines += ["", f"## Cases whose penalty moved more than {args.threshold:.0%}: {len(moved)} "
              f"({flagged} flagged noisy by A or B)", ""]
    if moved:
        lines += ["| case | penalty A | penalty B | Δ | cpu_us A → B | dev_us A → B | noisy A | noisy B | max noise A / B |",
                  "| --- | ---: | ---: | ---: | --- | --- | --- | --- | --- |"]
        worst = lambda r: max(r.get(k, 0) for k in noise_keys)
        yes = lambda r: "yes" if r["noisy"] else "no"
        for d, name, x, y in moved:
            ra, rb = a[name], b[name]
            lines.append(f"| `{name}` | {x:.3g} | {y:.3g} | {fmt(d)} | {ra.get('cpu_us', 0):.4g} → {rb.get('cpu_us', 0):.4g} "
                         f"| {ra.get('dev_us', 0):.4g} → {rb.get('dev_us', 0):.4g} | {yes(ra)} | {yes(rb)} "
                         f"| {fmt(worst(ra))} / {fmt(worst(rb))} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
