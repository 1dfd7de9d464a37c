"""tools/plot_report.py draws what the cases CSV holds: checked on the figures themselves (the
ops on the penalty axis, the points of the overhead plot), not only on the PNG signature."""
import csv
import math
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import plot_report  # noqa: E402

DATA = ROOT / "test" / "report" / "data"


def cases(golden):
    return DATA / "expected" / f"golden.{golden}" / "report" / "cases.csv"


def raw_rows(golden):
    with open(cases(golden), newline="", encoding="utf-8") as f:
        return [r for r in csv.DictReader(f) if r["status"] == "ok"]


def positive(text):
    return text not in ("", None) and math.isfinite(float(text)) and float(text) > 0


def scatter_points(ax):
    return sum(len(c.get_offsets()) for c in ax.collections)


def test_penalty_axis_lists_exactly_the_ops_with_a_penalty():
    rows = plot_report.read_cases(cases("device_run"))
    fig = plot_report.penalty_by_op(plt, rows)
    ax = fig.axes[0]
    drawn = [t.get_text() for t in ax.get_yticklabels()]
    expected = {r["op"] for r in raw_rows("device_run") if positive(r["penalty"])}
    assert set(drawn) == expected and len(drawn) == len(expected)
    # one dot per case with a penalty
    assert scatter_points(ax) == sum(positive(r["penalty"]) for r in raw_rows("device_run"))
    plt.close(fig)


def test_overhead_plot_draws_each_positive_overhead_and_says_how_many_are_hidden():
    rows = plot_report.read_cases(cases("device_run"))
    fig = plot_report.overhead_vs_bytes(plt, rows, None)
    ax = fig.axes[0]
    raw = [r for r in raw_rows("device_run") if r["overhead_us"] and positive(r["bytes"])]
    shown = [r for r in raw if float(r["overhead_us"]) > 0]
    floors = [r for r in raw if positive(r.get("floor_us", ""))]
    assert scatter_points(ax) == len(shown) + len(floors)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    hidden = len(raw) - len(shown)
    assert (f"{hidden} case(s) with overhead ≤ 0 not shown" in labels) == (hidden > 0)
    plt.close(fig)


def test_a_cpu_run_says_why_there_is_nothing_to_draw():
    rows = plot_report.read_cases(cases("cpu_run"))
    fig = plot_report.penalty_by_op(plt, rows)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any("needs a run on mps or cuda" in t for t in texts), texts
    plt.close(fig)


def test_the_drawn_counters_are_the_contracts():
    # A counter the plots draw, renamed in benchmarks/contract/result.cpp, fails here (and in the
    # report target, which passes --report-bin) rather than drawing an empty plot.
    import os
    import pytest
    report = os.environ.get("MPSFB_REPORT_BIN", "")
    if not os.access(report, os.X_OK):
        pytest.skip("MPSFB_REPORT_BIN is not set to mpsfb_report")
    plot_report.check_contract(report)  # raises SystemExit naming the counter
    with pytest.raises(SystemExit, match="has no counter no_such_us"):
        saved = plot_report.DRAWN_IF_PRESENT
        plot_report.DRAWN_IF_PRESENT = ("no_such_us",)
        try:
            plot_report.check_contract(report)
        finally:
            plot_report.DRAWN_IF_PRESENT = saved
