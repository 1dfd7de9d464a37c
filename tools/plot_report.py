#!/usr/bin/env python3
"""Draws the report's plots from mpsfb_report's all-cases CSV (report/cases.csv).

  penalty_by_op.png      penalty (dev_us / cpu_us) of each op's cases, log scale, 1x marked
  overhead_vs_bytes.png  overhead_us against bytes, with the copy floor: each case's floor_us (its
                         moved tensors: latency + bytes / bandwidth each, + one sync) and the
                         curve of the run's copy model for one tensor each way (context
                         copy_model, h2d/d2h_GBps, h2d/d2h_latency_us, sync_us)

Run through the `report` CMake target (docs/reports.md); it needs matplotlib. With --report-bin
(the target passes it) the counters the plots draw are checked against the result contract
(mpsfb_report --list-contract) first: a counter renamed there is an error here, not an empty plot.
"""
import argparse
import csv
import json
import math
import os
import sys
import tempfile
from pathlib import Path

import contract as result_contract

PLOTS = ("penalty_by_op.png", "overhead_vs_bytes.png")
# The counters the plots draw, and the one that may be absent (CSVs from before the floor).
DRAWN = ("penalty", "overhead_us", "bytes", "fallback")
DRAWN_IF_PRESENT = ("floor_us",)


def check_contract(report_bin):
    try:
        names = result_contract.case_counters(result_contract.load(report_bin))
    except result_contract.ContractError as e:
        raise SystemExit(f"plot_report.py: {e}")
    unknown = [k for k in DRAWN + DRAWN_IF_PRESENT if k not in names]
    if unknown:
        raise SystemExit(f"plot_report.py: the result contract ({report_bin} --list-contract) has no counter "
                         f"{', '.join(unknown)}")


def number(text):
    """CSV cell -> float, None when empty (mpsfb_report leaves absent counters empty)."""
    if text is None or text == "":
        return None
    return float(text)  # also reads nan, inf


def read_cases(path):
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"op", "status", *DRAWN} - set(reader.fieldnames or [])
        if missing:
            raise SystemExit(f"{path}: not mpsfb_report's cases CSV (missing columns: {', '.join(sorted(missing))})")
        rows = []
        for line, row in enumerate(reader, start=2):
            try:
                for key in DRAWN:
                    row[key] = number(row[key])
                for key in DRAWN_IF_PRESENT:
                    row[key] = number(row.get(key))
            except ValueError as e:
                raise SystemExit(f"{path}:{line}: {e}")
            if row["status"] == "ok":
                rows.append(row)
        return rows


def read_copy_model(path):
    """The run's copy model from its context, or None on a CPU-only run: bandwidths in bytes per
    µs, per-copy latencies (0 in runs from before they were measured), sync and name."""
    if path is None:
        return None
    with open(path, encoding="utf-8") as f:
        context = json.load(f).get("context", {})  # Python's json reads Google Benchmark's bare NaN
    try:
        model = {
            "d2h": float(context["d2h_GBps"]) * 1e3,
            "h2d": float(context.get("h2d_GBps", context["d2h_GBps"])) * 1e3,
            "d2h_latency": float(context.get("d2h_latency_us", 0)),
            "h2d_latency": float(context.get("h2d_latency_us", 0)),
            "sync": float(context.get("sync_us", 0)),
            "name": context.get("copy_model", "measured"),
        }
    except (KeyError, ValueError):
        return None
    return model if model["d2h"] > 0 and model["h2d"] > 0 else None


def finite(x):
    return x is not None and math.isfinite(x)


def save(fig, path):
    """Atomic, like mpsfb_report's outputs: a temp file beside the target, then a rename."""
    fd, tmp = tempfile.mkstemp(prefix="." + path.name, suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        fig.savefig(tmp, format="png", dpi=110, metadata={"Software": None})
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; the PNG is not
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def empty_plot(plt, title, why):
    fig, ax = plt.subplots(figsize=(7, 3))
    ax.set_title(title)
    ax.text(0.5, 0.5, why, ha="center", va="center", wrap=True)
    ax.set_axis_off()
    return fig


def penalty_by_op(plt, rows):
    by_op = {}
    for r in rows:
        if finite(r["penalty"]) and r["penalty"] > 0:
            by_op.setdefault(r["op"], []).append(r["penalty"])
    title = "Penalty by op (dev_us / cpu_us)"
    if not by_op:
        return empty_plot(plt, title, "No case ran on a device: the penalty needs a run on mps or cuda.")
    # Worst first, top to bottom; one row per op so dozens of ops stay readable.
    ops = sorted(by_op, key=lambda op: (sorted(by_op[op])[len(by_op[op]) // 2], op))
    fig, ax = plt.subplots(figsize=(8, max(3, 0.28 * len(ops) + 1.2)))
    data = [by_op[op] for op in ops]
    try:
        ax.boxplot(data, orientation="horizontal", showfliers=False)  # matplotlib >= 3.10
    except TypeError:
        ax.boxplot(data, vert=False, showfliers=False)
    for i, values in enumerate(data, start=1):
        ax.scatter(values, [i] * len(values), s=12, alpha=0.7, zorder=3)
    ax.axvline(1.0, color="gray", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("penalty (×, log scale; 1 = as fast as the CPU)")
    ax.set_yticks(range(1, len(ops) + 1))
    ax.set_yticklabels(ops, fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def overhead_vs_bytes(plt, rows, copy_model):
    title = "Overhead (dev_us − cpu_us) against bytes"
    points = [r for r in rows if finite(r["overhead_us"]) and finite(r["bytes"]) and r["bytes"] > 0]
    shown = [r for r in points if r["overhead_us"] > 0]
    if not shown:
        why = "No case ran on a device: overhead_us needs a run on mps or cuda." if not points else \
            "No case has a positive overhead: the device path is never slower than the CPU."
        return empty_plot(plt, title, why)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    groups = {"falls back": [], "native": []}
    for r in shown:
        groups["falls back" if r["fallback"] else "native"].append(r)
    for name, group in groups.items():
        if group:
            ax.scatter([r["bytes"] for r in group], [r["overhead_us"] for r in group], s=18, label=name, zorder=3)
    floors = [r for r in points if finite(r.get("floor_us")) and r["floor_us"] > 0]
    if floors:
        ax.scatter([r["bytes"] for r in floors], [r["floor_us"] for r in floors], s=22, marker="_", color="black",
                   zorder=4, label="floor_us of each case (its moved tensors)")
    if copy_model:
        m = copy_model
        lo = min(r["bytes"] for r in shown)
        hi = max(r["bytes"] for r in shown)
        xs = [lo * (hi / lo) ** (i / 49) for i in range(50)] if hi > lo else [lo, lo * 10]
        # One tensor in and one out, the bytes split either way: the fastest link bounds it below.
        fixed = m["d2h_latency"] + m["h2d_latency"] + m["sync"]
        bw = max(m["d2h"], m["h2d"])
        ax.plot(xs, [fixed + x / bw for x in xs], color="black", linewidth=1,
                label=f"floor, one tensor each way ({m['name']}): {fixed:.3g} µs + bytes / {bw / 1e3:g} GB/s")
    hidden = len(points) - len(shown)
    if hidden:
        ax.plot([], [], " ", label=f"{hidden} case(s) with overhead ≤ 0 not shown")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("bytes (inputs + outputs of one call)")
    ax.set_ylabel("overhead_us")
    ax.set_title(title)
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", required=True, type=Path, help="report/cases.csv written by mpsfb_report")
    parser.add_argument("--run", type=Path, help="the run's JSON, for the copy model in its context")
    parser.add_argument("--out-dir", required=True, type=Path, help="where the PNGs go (report/)")
    parser.add_argument("--report-bin", help="mpsfb_report: check the drawn counters against its --list-contract")
    args = parser.parse_args(argv)
    if args.report_bin:
        check_contract(args.report_bin)
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"plot_report.py: matplotlib is not installed in {sys.executable} "
              "(pip install -r tools/requirements.txt); no plots drawn", file=sys.stderr)
        return 3
    try:
        rows = read_cases(args.cases)
        copy_model = read_copy_model(args.run)
    except OSError as e:
        raise SystemExit(f"plot_report.py: {e.filename}: {e.strerror}")
    except json.JSONDecodeError as e:
        raise SystemExit(f"plot_report.py: {args.run}: malformed JSON: {e}")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    for name, fig in zip(PLOTS, (penalty_by_op(plt, rows), overhead_vs_bytes(plt, rows, copy_model))):
        save(fig, args.out_dir / name)
        plt.close(fig)
        print(f"plot_report.py: wrote {args.out_dir / name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
