#!/usr/bin/env python3
"""Harness fidelity: the same op, shape and inputs timed by mps_benchmarks (at its default,
adaptive stopping) and by torch.utils.benchmark.Timer (blocked_autorange median), on the CPU and
on the device's native kernel; prints a Markdown table of the ratios.

Ops: C++ traits (fixtures/) and YAML-only entries (the generic fixture's args:), two shapes each,
f32. On a device the suite runs with --fallback=emulate --emulate=all, so every case times its
native kernel (native_us, a synchronize per call) between its CPU and fallback samples; Timer
times the native call twice: as is (one synchronize per block of calls) and with a synchronize
per call, which is what native_us is to be compared with.

Run through the CMake target `fidelity` (cmake --build build --target fidelity) or directly:
  python tools/harness_fidelity.py --binary build/mps_benchmarks [--device cuda] [--out FILE]
A ratio outside 0.9-1.1 on a case of at least 20 µs is marked; docs/measurement-model.md says why
such outliers happen.
"""
import argparse
import ctypes
import json
import os
import statistics
import subprocess
import sys
import tempfile

import contract as result_contract

try:
    import torch
    import torch.utils.benchmark as tb
except ImportError:  # the CMake target is off then; a direct run says why
    torch = None

# The suite and Timer take turns, ROUNDS times, and each side's figure is its median over the
# rounds: a busy host drifts by 10-20% over tens of seconds, and one suite run followed by one
# Timer pass would compare two moments, not two timing loops.
ROUNDS = 3
TIMER_S = 1.0  # Timer's blocked_autorange min_run_time, in all, per case and side
TOLERANCE = 0.10  # |ratio - 1| above this, on a case of at least MIN_US, is marked
MIN_US = 20.0


def randint_f(lo, hi, shape, dev):
    return torch.randint(lo, hi, shape, device=dev).float()


# Each op: how the suite builds it (a C++ trait, or args: for the generic fixture), two shapes,
# and the same call for Timer. make(shape, device) returns Timer's globals; seed 0 first, as the
# suite does (values matter for data-dependent ops: isin, histc, take).
OPS = [
    {"op": "aten::roll", "kind": "trait", "shapes": [[8, 1024], [64, 3, 256, 256]],
     "make": lambda s, d: {"x": torch.randn(s, device=d)}, "stmt": "torch.roll(x, 3, -1)"},
    {"op": "aten::cumsum", "kind": "trait", "shapes": [[1024], [16, 128, 1024]],
     "make": lambda s, d: {"x": torch.randn(s, device=d)}, "stmt": "torch.cumsum(x, -1)"},
    {"op": "aten::upsample_bicubic2d", "kind": "trait", "shapes": [[1, 3, 64, 64], [8, 3, 128, 128]],
     "make": lambda s, d: {"x": torch.randn(s, device=d), "size": [2 * s[-2], 2 * s[-1]]},
     "stmt": "torch.ops.aten.upsample_bicubic2d(x, size, False)"},
    {"op": "aten::isin.Tensor_Tensor", "kind": "trait", "shapes": [[4096], [32, 2048]],
     "make": lambda s, d: {"e": randint_f(0, 2048, s, d), "t": randint_f(0, 2048, [1024], d)},
     "stmt": "torch.isin(e, t)"},
    {"op": "aten::take", "kind": "yaml", "shapes": [[1024, 1024], [4096, 512]],
     "args": ["self", {"tensor": {"shape": [65536], "dtype": "i64", "init": "randint(0, 1048576)"}}],
     "make": lambda s, d: {"x": torch.randn(s, device=d), "i": torch.randint(0, 1048576, [65536], device=d)},
     "stmt": "torch.take(x, i)"},
    {"op": "aten::frexp.Tensor", "kind": "yaml", "shapes": [[4096], [1024, 1024]], "args": ["self"],
     "make": lambda s, d: {"x": torch.randn(s, device=d)}, "stmt": "torch.frexp(x)"},
    {"op": "aten::heaviside", "kind": "yaml", "shapes": [[128, 1024], [16, 128, 28, 28]],
     "args": ["self", {"tensor": {"shape": [], "dtype": "self", "init": "zeros"}}],
     "make": lambda s, d: {"x": torch.randn(s, device=d), "z": torch.zeros([], device=d)},
     "stmt": "torch.heaviside(x, z)"},
    {"op": "aten::repeat_interleave.self_int", "kind": "yaml", "shapes": [[1, 8, 1024, 128], [4, 8, 2048, 64]],
     "args": ["self", {"int": 4}, {"int": 1}],
     "make": lambda s, d: {"x": torch.randn(s, device=d)}, "stmt": "torch.repeat_interleave(x, 4, 1)"},
    {"op": "aten::histc", "kind": "yaml", "shapes": [[4096], [1024, 1024]], "args": ["self"],
     "make": lambda s, d: {"x": torch.randn(s, device=d)}, "stmt": "torch.histc(x)"},
    {"op": "aten::special_log_ndtr", "kind": "yaml", "shapes": [[4096], [256, 1024]], "args": ["self"],
     "make": lambda s, d: {"x": torch.randn(s, device=d)}, "stmt": "torch.special.log_ndtr(x)"},
]


def shape_str(shape):
    return "x".join(str(d) for d in shape) if shape else "scalar"


def targets_yaml():
    lines = ["version: 1", "ops:"]
    for o in OPS:
        lines += [f"  - op: {o['op']}", f"    shapes: {json.dumps(o['shapes'])}", "    dtypes: [f32]"]
        if "args" in o:
            lines.append(f"    args: {json.dumps(o['args'])}")
    return "\n".join(lines) + "\n"


def case_key(name, segments):
    """A case name's values of the contract's name segments, in their order (Google Benchmark's
    suffixes, such as manual_time, are not among them)."""
    parts = dict(part.split(":", 1) for part in name.split("/") if ":" in part)
    return tuple(parts.get(key) for key in segments)


def suite_rows(binary, device, extra, segments):
    """The suite's rows by case_key, one run at its defaults."""
    with tempfile.TemporaryDirectory() as tmp:
        targets = os.path.join(tmp, "fidelity.yaml")
        out = os.path.join(tmp, "run.json")
        with open(targets, "w") as f:
            f.write(targets_yaml())
        cmd = [binary, f"--targets={targets}", f"--device={device}", "--benchmark_out_format=json",
               f"--benchmark_out={out}"]
        if device != "cpu":
            cmd += ["--fallback=emulate", "--emulate=all"]
        subprocess.run(cmd + extra, check=True, stdout=subprocess.DEVNULL)
        with open(out) as f:
            doc = json.load(f)
    rows = {}  # a case measured in several visits (repetitions) has a row per visit
    for r in doc["benchmarks"]:
        if r.get("run_type") != "aggregate":
            rows.setdefault(case_key(r["name"], segments), []).append(r)
    return rows, doc["context"]


def timer_us(entry, shape, device, sync_each=False):
    """Timer's median per call and its IQR / median; sync_each adds a synchronize to every call, as
    the suite does (Timer itself synchronizes once per block of calls)."""
    torch.manual_seed(0)
    env = entry["make"](shape, device)
    env["torch"] = torch
    stmt = entry["stmt"]
    if sync_each:
        stmt += "; torch.cuda.synchronize()" if device == "cuda" else "; torch.mps.synchronize()"
    m = tb.Timer(stmt=stmt, globals=env, num_threads=torch.get_num_threads()).blocked_autorange(
        min_run_time=TIMER_S / ROUNDS)
    return m.median * 1e6, m.iqr / m.median


def match_host_allocator(context):
    """Timer's process gets the suite's host allocator setting (context host_allocator; device.h
    set_host_allocator): the comparison is of the two timing loops, not of two malloc states."""
    if not context.get("host_allocator", "").startswith("steady"):
        return "system default"
    try:
        libc = ctypes.CDLL(None)
        m_trim_threshold, m_mmap_max = -1, -4  # malloc.h
        ok = libc.mallopt(m_mmap_max, 0) == 1 and libc.mallopt(m_trim_threshold, 2**31 - 1) == 1
    except (OSError, AttributeError):
        ok = False
    return "steady, as the suite" if ok else "system default (mallopt unavailable: large outputs differ)"


def ratio_cell(ours, ref):
    r = ours / ref
    mark = " ⚠" if abs(r - 1) > TOLERANCE and max(ours, ref) >= MIN_US else ""
    return f"{r:.3f}{mark}", r


def pct(x):
    return f"{100 * x:.1f}%"


def main():
    if torch is None:
        print(f"harness_fidelity.py: torch is not installed in {sys.executable}; nothing to compare with "
              "(pip install torch, or configure with -DPython3_EXECUTABLE=.venv/bin/python)", file=sys.stderr)
        return 3
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--binary", required=True, help="path to mps_benchmarks")
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", choices=["cpu", "cuda", "mps"])
    p.add_argument("--out", help="also write the table here")
    p.add_argument("suite_args", nargs="*", help="more flags for mps_benchmarks (after --)")
    a = p.parse_args()
    if not os.access(a.binary, os.X_OK):
        sys.exit(f"harness_fidelity.py: {a.binary}: not an executable (build mps_benchmarks first)")
    try:
        segments = result_contract.load(a.binary)["name_segments"]  # op, shape, dtype, device
    except result_contract.ContractError as e:
        sys.exit(f"harness_fidelity.py: {e}")

    # rounds[k]: the suite's rows and Timer's figures of round k.
    suite_runs, timer_runs, context = [], [], {}
    for _ in range(ROUNDS):
        rows, context = suite_rows(a.binary, a.device, a.suite_args, segments)
        allocator = match_host_allocator(context)
        suite_runs.append(rows)
        timed = {}
        for entry in OPS:
            for shape in entry["shapes"]:
                key = (entry["op"], shape_str(shape))
                timed[key, "cpu"] = timer_us(entry, shape, "cpu")
                if a.device != "cpu":
                    timed[key, "plain"] = timer_us(entry, shape, a.device)
                    timed[key, "synced"] = timer_us(entry, shape, a.device, sync_each=True)
        timer_runs.append(timed)
    lines = [f"torch {torch.__version__}, device {a.device}"
             + (f" ({torch.cuda.get_device_name(0)})" if a.device == "cuda" else "")
             + f", {torch.get_num_threads()} CPU threads. {ROUNDS} rounds, each one mps_benchmarks run at its "
             f"defaults (visits {context.get('visits', '1')}, noise_target {context.get('noise_target', '?')}, "
             f"max_time_s {context.get('max_time_s', '?')}, cpu_sample {context.get('cpu_sample', '?')}) then Timer "
             f"(blocked_autorange(min_run_time={TIMER_S / ROUNDS:.2g})); each figure is the median over the rounds "
             f"(mps_benchmarks: over every visit of every round), its noise the median of theirs. Timer's host "
             f"allocator: {allocator}. ⚠: off by more than {TOLERANCE:.0%} on a case of at least {MIN_US:g} µs.",
             "",
             "| op | kind | shape | side | mps_benchmarks µs (noise) | Timer µs (IQR/median) | ratio "
             "| Timer, sync per call µs | ratio |",
             "| --- | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |"]
    ratios = []
    for entry in OPS:
        for shape in entry["shapes"]:
            name = (entry["op"], shape_str(shape), "f32", a.device)  # the name segments' values, in order
            key = (entry["op"], shape_str(shape))
            rs = [r for run in suite_runs for r in run.get(name, [])]
            head = f"| `{entry['op']}` | {entry['kind']} | {shape_str(shape)}"
            failed = [r for r in rs if r.get("error_occurred")]
            if not rs or failed:
                why = failed[0].get("error_message", "no row") if failed else "no row"
                lines.append(f"{head} | - | error: {why[:80]} | - | - | - | - |")
                continue
            ours_of = lambda k: statistics.median(r.get(k, 0) for r in rs)
            timer_of = lambda side: tuple(statistics.median(t[key, side][i] for t in timer_runs) for i in (0, 1))
            ref, iqr = timer_of("cpu")
            cpu_us = ours_of("cpu_us")
            cell, x = ratio_cell(cpu_us, ref)
            ratios.append(("cpu", x, max(cpu_us, ref)))
            lines.append(f"{head} | cpu | {cpu_us:.2f} ({pct(ours_of('cpu_noise'))}) | {ref:.2f} ({pct(iqr)}) "
                         f"| {cell} | - | - |")
            if a.device == "cpu":
                continue
            # native_us when the case was emulated; a case that ran natively times the native kernel as dev_us.
            side = "native" if ours_of("native_us") > 0 else "dev"
            ours, noise = ours_of(f"{side}_us"), ours_of(f"{side}_noise")
            plain, plain_iqr = timer_of("plain")
            synced, synced_iqr = timer_of("synced")
            plain_cell, _ = ratio_cell(ours, plain)
            cell, x = ratio_cell(ours, synced)
            ratios.append(("native", x, max(ours, synced)))
            lines.append(f"{head} | {a.device} native | {ours:.2f} ({pct(noise)}) | {plain:.2f} ({pct(plain_iqr)}) "
                         f"| {plain_cell} | {synced:.2f} ({pct(synced_iqr)}) | {cell} |")
    for side in ("cpu", "native"):
        xs = sorted(x for s, x, us in ratios if s == side and us >= MIN_US)
        if xs:
            off = sum(1 for x in xs if abs(x - 1) > TOLERANCE)
            lines.append(f"\n{side}: {len(xs)} cases of at least {MIN_US:g} µs, ratio median {xs[len(xs) // 2]:.3f}, "
                         f"range {xs[0]:.3f}-{xs[-1]:.3f}, {off} outside ±{TOLERANCE:.0%}")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
