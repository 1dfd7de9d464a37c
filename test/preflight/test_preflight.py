"""tools/preflight.sh and mpsfb_report --torch-trace end to end, over real programs.

Expectations come from the verdict rule itself, never typed in: every op the report judged is
asked of the same Book through `mps_benchmarks --list-verdicts` (the harness's view of the
linked torch's native_functions.yaml), and the ops the report says would fall back must be
exactly those the Book says fall back. Run by ctest (test/preflight/CMakeLists.txt) with
MPSFB_REPORT_BIN, MPSFB_BENCHMARKS_BIN and MPSFB_SOURCE_DIR set.
"""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SOURCE = Path(os.environ["MPSFB_SOURCE_DIR"])
REPORT = os.environ["MPSFB_REPORT_BIN"]
BENCH = os.environ.get("MPSFB_BENCHMARKS_BIN", "")
PREFLIGHT = SOURCE / "tools" / "preflight.sh"
PROGRAMS = Path(__file__).parent / "programs"


def preflight(tmp_path, program_args, *options, env=None):
    out = tmp_path / "pf"
    e = {k: v for k, v in os.environ.items() if k != "GITHUB_ACTIONS"}  # annotations only where asked
    e.update(MPSFB_REPORT=REPORT, **(env or {}))
    r = subprocess.run(["bash", str(PREFLIGHT), "--out=%s" % out, *options, "--", sys.executable, *program_args],
                       capture_output=True, text=True, env=e, cwd=tmp_path)
    return r, out


def ops_rows(out):
    with open(out / "report" / "trace_ops.csv") as f:
        return list(csv.DictReader(f))


def falling(out):
    return {r["op"] for r in ops_rows(out) if r["mps_verdict"] == "falls back" and r["mps_via"] == r["op"]}


def book_verdicts(ops, tmp_path, *flags):
    """The Book's verdict of each op alone, from mps_benchmarks --list-verdicts."""
    if not BENCH:
        pytest.skip("mps_benchmarks not built")
    targets = tmp_path / "ask.yaml"
    targets.write_text("version: 1\nops:\n" + "".join(
        "  - op: %s\n    shapes: [[1]]\n    dtypes: [f32]\n    needs_fixture: true\n" % op for op in sorted(ops)))
    r = subprocess.run([BENCH, "--targets=%s" % targets, "--list-verdicts", "--device=cpu", *flags],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return {row["op"]: row for row in json.loads(r.stdout)["ops"]}


@pytest.fixture(scope="module")
def kornia_run(tmp_path_factory):
    pytest.importorskip("kornia")
    tmp = tmp_path_factory.mktemp("kornia")
    r, out = preflight(tmp, [str(PROGRAMS / "kornia_pipeline.py")], "--emit-targets=%s" % (tmp / "targets.yaml"))
    return r, out, tmp


def test_real_program_falls_back_exactly_where_the_book_says(kornia_run, tmp_path):
    r, out, _ = kornia_run
    assert "essential (2, 10, 3, 3)" in r.stdout  # the program's own stdout, passed through
    rows = ops_rows(out)
    judged = {row["op"]: row for row in rows if row["mps_verdict"] in ("falls back", "native")
              and "composite" not in row["verdict_source"]}
    book = book_verdicts(judged, tmp_path)
    for op, row in judged.items():
        assert book[op]["mps_verdict"] == row["mps_verdict"], (op, book[op], row)
    expected = {op for op, v in book.items() if v["mps_verdict"] == "falls back"}
    assert falling(out) == expected
    assert expected, "the kornia program reaches an op without an MPS kernel in this torch"
    # The gate: exit 1 and one line per op naming it, its calls and its source line.
    assert r.returncode == 1, r.stderr
    for op in expected:
        line = next(l for l in r.stderr.splitlines() if op + " would fall back" in l)
        assert " call" in line and "kornia/" in line, line


def test_real_program_costs_are_the_copy_model_plus_the_time_measured(kornia_run):
    _, out, _ = kornia_run
    row = next(r for r in ops_rows(out) if r["op"] in falling(out))
    calls, tin, tout = int(row["calls"]), int(row["tensors_in"]), int(row["tensors_out_est"])
    # ops/copy_model.apple-m-series.yaml: 109.4 µs per tensor each way, 180 GB/s (180e3 bytes per µs)
    copies = tin * 109.4 + float(row["bytes_in"]) / 180e3 + tout * 109.4 + float(row["bytes_out_est"]) / 180e3
    assert float(row["mac_copy_us"]) == pytest.approx(copies, rel=1e-9)
    assert float(row["mac_us"]) == pytest.approx(copies + float(row["cpu_us"]), rel=1e-9)
    assert calls >= 1 and tin >= calls
    summary = (out / "report" / "summary.md").read_text()
    assert "On an M-series Mac (model) this run would spend about" in summary
    assert "Apple M-series (published figures)" in summary and "measured here" in summary


def test_emitted_targets_run_in_mps_benchmarks(kornia_run):
    _, out, tmp = kornia_run
    if not BENCH:
        pytest.skip("mps_benchmarks not built")
    targets = tmp / "targets.yaml"
    text = targets.read_text()
    for op in falling(out):
        assert "op: " + op in text
    assert "note: 'preflight:" in text and "kornia/" in text
    r = subprocess.run([BENCH, "--targets=%s" % targets, "--device=cpu", "--benchmark_min_time=0.001",
                        "--min_samples=2", "--max_time_s=0.05", "--benchmark_format=json"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)["benchmarks"]
    ran = {b["name"].split("/")[0][3:] for b in rows if not b.get("error_occurred")}
    assert falling(out) <= ran, (ran, r.stderr[-2000:])


def test_the_gate_passes_with_an_allow_list(kornia_run, tmp_path):
    _, out, _ = kornia_run
    allow = tmp_path / "allow.txt"
    allow.write_text("# accepted for now\n" + "".join("%s  known: tracked upstream\n" % op for op in falling(out)))
    r = subprocess.run([REPORT, "--torch-trace=%s" % (out / "trace.json"), "--results-dir=%s" % (tmp_path / "r"),
                        "--summary=%s" % (tmp_path / "s" / "summary.md"), "--allow=%s" % allow],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "[allowed by %s: known: tracked upstream]" % allow in r.stderr


def test_github_annotations_name_file_and_line(kornia_run, tmp_path):
    _, out, _ = kornia_run
    r = subprocess.run([REPORT, "--torch-trace=%s" % (out / "trace.json"), "--results-dir=%s" % (tmp_path / "r"),
                        "--summary=%s" % (tmp_path / "s" / "summary.md")],
                       capture_output=True, text=True, env=dict(os.environ, GITHUB_ACTIONS="true"))
    assert r.returncode == 1
    warnings = [l for l in r.stdout.splitlines() if l.startswith("::warning file=kornia/")]
    assert len(warnings) == len(falling(out)), r.stdout
    assert all(",line=" in w and "would fall back" in w for w in warnings)


def test_fail_on_unsupported_dtype(kornia_run, tmp_path):
    _, out, _ = kornia_run
    allow = tmp_path / "allow.txt"
    allow.write_text("".join("%s\n" % op for op in falling(out)))
    r = subprocess.run([REPORT, "--torch-trace=%s" % (out / "trace.json"), "--results-dir=%s" % (tmp_path / "r"),
                        "--summary=%s" % (tmp_path / "s" / "summary.md"), "--allow=%s" % allow,
                        "--fail-on=falls-back,unsupported-dtype"], capture_output=True, text=True)
    unsupported = [r for r in ops_rows(out) if r["mps_verdict"] == "unsupported dtype"]
    assert unsupported, "kornia's 5-point solver works in float64 on the CPU"
    assert r.returncode == 1
    assert any("uses a dtype MPS cannot hold" in l for l in r.stderr.splitlines())


def test_verdict_of_another_torch(kornia_run, tmp_path):
    """--verdict-torch=2.15.0 (the shared verdict source; its cache entry must be there): the falling
    set is what 2.15's yaml says, asked of mps_benchmarks with that yaml."""
    _, out, _ = kornia_run
    cache = Path(os.environ.get("MPSFB_CACHE_DIR", Path.home() / ".cache" / "mps-fallback-bench"))
    yaml = cache / "torch" / "2.15.0" / "native_functions.yaml"
    if not yaml.exists():
        pytest.skip("no torch 2.15.0 entry in the torch-files cache (tools/fetch_torch_files.py)")
    r = subprocess.run([REPORT, "--torch-trace=%s" % (out / "trace.json"), "--results-dir=%s" % (tmp_path / "r"),
                        "--summary=%s" % (tmp_path / "s" / "summary.md"), "--verdict-torch=2.15.0"],
                       capture_output=True, text=True)
    assert r.returncode in (0, 1), r.stderr
    assert "| verdicts: torch | 2.15.0 |" in (tmp_path / "s" / "summary.md").read_text()
    later = {row["op"] for row in csv.DictReader(open(tmp_path / "s" / "trace_ops.csv"))
             if row["mps_verdict"] == "falls back" and row["mps_via"] == row["op"]}
    book = book_verdicts(falling(out) | later, tmp_path, "--native-functions=%s" % yaml)
    assert later == {op for op in falling(out) | later if book[op]["mps_verdict"] == "falls back"}


def test_steps_records_only_n_steps(tmp_path):
    r, out = preflight(tmp_path, [str(PROGRAMS / "train_steps.py")], "--steps=3")
    assert "done 20 steps" in r.stdout
    with open(out / "trace.json") as f:
        meta = json.load(f)["mpsfb_preflight"]
    assert meta["steps_recorded"] == 3 and meta["stopped"] == "stopped after 3 steps"
    rows = {row["op"]: row for row in ops_rows(out)}
    assert int(rows["aten::_linalg_eigvals"]["calls"]) == 3


def test_a_failing_program_keeps_its_status_and_marks_the_report_partial(tmp_path):
    r, out = preflight(tmp_path, [str(PROGRAMS / "fails.py")])
    assert r.returncode == 1
    assert "about to fail" in r.stdout and "fails.py: giving up" in r.stderr and "the program's own error" in r.stderr
    assert "the report is PARTIAL" in r.stderr
    summary = (out / "report" / "summary.md").read_text()
    assert "**PARTIAL REPORT.**" in summary and "exit status 1" in summary
    assert "aten::linalg_eig" in falling(out)


def test_sys_exit_status_is_passed_through(tmp_path):
    r, out = preflight(tmp_path, [str(PROGRAMS / "exit3.py")])
    assert r.returncode == 3 and "stdout is passed through" in r.stdout


def test_worker_processes_are_counted_not_recorded(tmp_path):
    r, out = preflight(tmp_path, [str(PROGRAMS / "workers.py")])
    assert r.returncode in (0, 1), r.stderr
    summary = (out / "report" / "summary.md").read_text()
    assert "worker process(es)" in summary and "NOT in this trace" in summary
    ops = {row["op"] for row in ops_rows(out)}
    assert "aten::linalg_matrix_exp" in ops      # the main process's call
    assert "aten::_linalg_eigvals" not in ops    # the workers' calls


def test_pytest_plugin_gives_one_record_per_test(tmp_path):
    r, out = preflight(tmp_path, ["-m", "pytest", "-q", "-p", "no:cacheprovider", str(PROGRAMS / "suite")])
    assert "2 passed" in r.stdout, r.stdout + r.stderr
    row = next(row for row in ops_rows(out) if row["op"] == "aten::linalg_eig")
    assert row["tests"].startswith("pytest: ") and row["tests"].endswith("test_ops.py::test_eig"), row["tests"]
    assert "test_add" not in row["tests"]


# --- bad input: one line naming the file and the position, exit 1 (2 for a flag), nothing written

def run_report(tmp_path, trace, *flags):
    out = tmp_path / "out"
    r = subprocess.run([REPORT, "--torch-trace=%s" % trace, "--results-dir=%s" % (out / "results"),
                        "--summary=%s" % (out / "report" / "summary.md"), *flags], capture_output=True, text=True)
    return r, out


@pytest.fixture(scope="module")
def small_trace(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("small")
    r, out = preflight(tmp, [str(PROGRAMS / "exit3.py")])
    return (out / "trace.json").read_bytes()


def bad(tmp_path, name, data, *flags):
    p = tmp_path / name
    p.write_bytes(data)
    r, out = run_report(tmp_path, p, *flags)
    assert not out.exists(), "nothing is written for bad input"
    lines = r.stderr.strip().splitlines()
    return r.returncode, lines


def test_truncated_trace_names_the_byte(tmp_path, small_trace):
    cut = len(small_trace) // 2
    code, lines = bad(tmp_path, "cut.json", small_trace[:cut])
    assert code == 1 and len(lines) == 1
    assert "cut.json: byte %d: the trace is cut short (truncated file)" % (cut + 1) in lines[0], lines


def test_corrupt_trace_names_the_byte(tmp_path, small_trace):
    at = small_trace.index(b'"traceEvents"') + 40
    code, lines = bad(tmp_path, "corrupt.json", small_trace[:at] + b"}}}" + small_trace[at:])
    assert code == 1 and len(lines) == 1 and "corrupt.json: byte " in lines[0] and "malformed JSON" in lines[0], lines


def test_empty_trace(tmp_path):
    code, lines = bad(tmp_path, "empty.json", b"")
    assert code == 1 and lines == ["mpsfb_report: error: %s: empty file: no trace (did the program start? see its "
                                   "output)" % (tmp_path / "empty.json")]


def test_legacy_profiler_format(tmp_path):
    code, lines = bad(tmp_path, "legacy.json", b'[{"name": "aten::add", "ph": "X", "ts": 1, "dur": 2, "tid": 0, '
                                                 b'"pid": "CPU functions", "args": {}}]')
    assert code == 1 and len(lines) == 1 and "legacy torch.autograd.profiler format" in lines[0]


def test_other_schema_version(tmp_path, small_trace):
    data = small_trace.replace(b'"schemaVersion": 1', b'"schemaVersion": 2', 1)
    code, lines = bad(tmp_path, "v2.json", data)
    assert code == 1 and len(lines) == 1 and "schemaVersion is 2" in lines[0]


def test_other_recorder_format(tmp_path, small_trace):
    data = small_trace.replace(b'"format": 1', b'"format": 7', 1)
    code, lines = bad(tmp_path, "f7.json", data)
    assert code == 1 and len(lines) == 1 and "mpsfb_preflight.format is 7" in lines[0]


def test_not_a_trace(tmp_path):
    code, lines = bad(tmp_path, "other.json", b'{"benchmarks": []}')
    assert code == 1 and len(lines) == 1 and "not a torch.profiler Chrome trace: no traceEvents array" in lines[0]


def test_event_without_times(tmp_path):
    code, lines = bad(tmp_path, "nots.json", b'{"schemaVersion": 1, "traceEvents": [{"ph": "X", "cat": "cpu_op", '
                                                b'"name": "aten::add", "pid": 1, "tid": 1}]}')
    assert code == 1 and "nots.json: traceEvents[0] (\"aten::add\"): a complete event without a numeric ts" in lines[0]


def test_bad_flags_exit_2(tmp_path, small_trace):
    p = tmp_path / "t.json"
    p.write_bytes(small_trace)
    r, out = run_report(tmp_path, p, "--fail-on=sometimes")
    assert r.returncode == 2 and "--fail-on=sometimes: 'sometimes' is not one of" in r.stderr and not out.exists()
    allow = tmp_path / "allow.txt"
    allow.write_text("aten::linalg_eig\nlinalg_eig oops\n")
    r, out = run_report(tmp_path, p, "--allow=%s" % allow)
    assert r.returncode == 1 and "allow.txt:2: expected an op such as aten::linalg_eig" in r.stderr
    assert not out.exists()
