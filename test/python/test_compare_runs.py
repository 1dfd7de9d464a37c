"""tools/compare_runs.py over real mpsfb_report runs (MPSFB_REPORT_BIN): a run against itself moves
nothing; two different runs list what moved, with the report's own values and noisy flag, so a
case measured in visits is compared on its visits' median."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import compare_runs  # noqa: E402

DATA = ROOT / "test" / "report" / "data"
REPORT = os.environ.get("MPSFB_REPORT_BIN", "")
pytestmark = pytest.mark.skipif(not os.access(REPORT, os.X_OK), reason="MPSFB_REPORT_BIN is not set to mpsfb_report")
TARGETS = str(DATA / "targets.yaml")


def run(*args):
    return subprocess.run([sys.executable, str(ROOT / "tools" / "compare_runs.py"), *args, "--report-bin", REPORT,
                           "--targets", TARGETS], capture_output=True, text=True)


def test_a_run_against_itself_moves_nothing():
    r = run(str(DATA / "device_run.json"), str(DATA / "device_run.json"))
    assert r.returncode == 0, r.stderr
    assert "| penalty |" in r.stdout and "| 0.0% | 0.0% | 0.0% |" in r.stdout
    assert "Top-10 pain: identical" in r.stdout
    assert "moved more than 10%: 0 " in r.stdout


def test_cases_are_the_reports_with_visits_folded():
    # The roll case of device_run.json has three visits (repetitions): compare_runs must see the
    # report's median over them and its noise with the visits' spread, not one visit's row.
    cases, top = compare_runs.report(REPORT, str(DATA / "device_run.json"), TARGETS)
    roll = cases["op:aten::roll/shape:64x3x256x256/dtype:f32/device:mps"]
    assert roll["cpu_us"] == 60000 and roll["dev_us"] == 91000
    assert roll["dev_noise"] == pytest.approx((95000 - 90000) / (2 * 91000))
    assert top and top[0] == "aten::roll"
    assert roll["noisy"] is False  # 1.7% and 2.7%: under the report's 5%


def test_two_runs_list_what_moved_with_the_reports_flag():
    r = run(str(DATA / "device_run.json"), str(DATA / "contender.json"), "--threshold", "0.05")
    assert r.returncode == 0, r.stderr
    assert "Cases that ran in both:" in r.stdout
    moved = [line for line in r.stdout.splitlines() if line.startswith("| `op:")]
    assert moved, r.stdout
    for line in moved:
        cells = [c.strip() for c in line.split("|")]
        assert cells[7] in ("yes", "no") and cells[8] in ("yes", "no")


def test_an_unreadable_run_is_one_line_and_exit_1(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    r = run(str(bad), str(DATA / "device_run.json"))
    assert r.returncode == 1
    assert "compare_runs.py:" in r.stderr and "Traceback" not in r.stderr
