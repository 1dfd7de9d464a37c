#!/usr/bin/env python3
"""Harness fidelity: the same op and shape timed by mps_benchmarks and by
torch.utils.benchmark.Timer (blocked_autorange median), in one process tree, on the CPU
and on the device's native kernel; prints the ratios as a Markdown table.

Run through the CMake target `fidelity` (cmake --build build/dev --target fidelity) or directly:
  python tools/harness_fidelity.py --binary build/dev/mps_benchmarks [--device cuda] [--out FILE]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import torch
import torch.utils.benchmark as tb

# (op name in the suite, shape, Timer statement); one tiny and one large shape per op.
CASES = [
    ("aten::roll", [8, 1024], "torch.roll(x, 3, -1)"),
    ("aten::roll", [64, 3, 256, 256], "torch.roll(x, 3, -1)"),
    ("aten::cumsum", [1024], "torch.cumsum(x, -1)"),
    ("aten::cumsum", [16, 128, 1024], "torch.cumsum(x, -1)"),
]


def shape_str(shape):
    return "x".join(str(d) for d in shape)


def suite_times(binary, device, min_time):
    """cpu_us and dev_us medians per case from one mps_benchmarks run."""
    lines = ["version: 1", "ops:"]
    by_op = {}
    for op, shape, _ in CASES:
        by_op.setdefault(op, []).append(shape)
    for op, shapes in by_op.items():
        lines += [f"  - op: {op}", f"    shapes: {json.dumps(shapes)}", "    dtypes: [f32]"]
    with tempfile.TemporaryDirectory() as tmp:
        targets = os.path.join(tmp, "fidelity.yaml")
        out = os.path.join(tmp, "run.json")
        with open(targets, "w") as f:
            f.write("\n".join(lines) + "\n")
        cmd = [binary, f"--targets={targets}", f"--device={device}", f"--benchmark_min_time={min_time}",
               "--benchmark_out_format=json", f"--benchmark_out={out}"]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        with open(out) as f:
            rows = json.load(f)["benchmarks"]
    return {r["name"].split("/device:")[0]: r for r in rows if not r.get("error_occurred")}


def timer_median_us(stmt, shape, device, sync_each=False):
    """Timer's median per call; sync_each adds a device synchronize to every call, as
    mps_benchmarks does (Timer itself synchronizes once per block of calls)."""
    torch.manual_seed(0)
    x = torch.randn(shape, device=device)
    if sync_each:
        stmt += "; torch.cuda.synchronize()" if device == "cuda" else "; torch.mps.synchronize()"
    t = tb.Timer(stmt=stmt, globals={"x": x, "torch": torch}, num_threads=torch.get_num_threads())
    return t.blocked_autorange(min_run_time=1.0).median * 1e6


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", required=True, help="path to mps_benchmarks")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", choices=["cpu", "cuda", "mps"])
    p.add_argument("--min-time", default="0.5", help="--benchmark_min_time for the suite (bare seconds)")
    p.add_argument("--out", help="also write the table here")
    a = p.parse_args()
    if not os.access(a.binary, os.X_OK):
        sys.exit(f"harness_fidelity: {a.binary}: not an executable (build mps_benchmarks first)")

    suite = suite_times(a.binary, a.device, a.min_time)
    rows = [f"torch {torch.__version__}, device {a.device}"
            + (f" ({torch.cuda.get_device_name(0)})" if a.device == "cuda" else "")
            + f", {torch.get_num_threads()} CPU threads; Timer: blocked_autorange(min_run_time=1.0) median",
            "",
            "| op | shape | side | mps_benchmarks µs | Timer µs | ratio | Timer, sync per call µs | ratio |",
            "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    for op, shape, stmt in CASES:
        r = suite.get(f"op:{op}/shape:{shape_str(shape)}/dtype:f32")
        if r is None:
            rows.append(f"| {op} | {shape_str(shape)} | - | error | - | - | - | - |")
            continue
        sides = [("cpu", r["cpu_us"])] + ([(a.device, r["dev_us"])] if a.device != "cpu" else [])
        for side, ours in sides:
            ref = timer_median_us(stmt, shape, side)
            if side == "cpu":
                rows.append(f"| {op} | {shape_str(shape)} | cpu | {ours:.2f} | {ref:.2f} | {ours / ref:.3f} | - | - |")
                continue
            synced = timer_median_us(stmt, shape, side, sync_each=True)
            rows.append(f"| {op} | {shape_str(shape)} | {side} | {ours:.2f} | {ref:.2f} | {ours / ref:.3f} "
                        f"| {synced:.2f} | {ours / synced:.3f} |")
    text = "\n".join(rows) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
