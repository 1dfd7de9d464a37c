"""The sync against the real mps_benchmarks: its output loads, its verdicts are recorded, and
the sync's schema (tools/sync_requests/schema.py) is the C++ decoder's.

Needs the binary: $MPSFB_MPS_BENCHMARKS (set by the ctest sync_targets_mps_benchmarks to the
build's), else build/dev/mps_benchmarks of this checkout; skipped when neither exists, an error
when the variable names a missing file.  GitHub is FakeGitHub's recorded pages.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from conftest import DATA, ROOT
from test_sync_requests import OLD, TOKEN, assert_failed_cleanly, load, out  # noqa: F401

from sync_requests import schema

_ENV_BINARY = os.environ.get("MPSFB_MPS_BENCHMARKS")
BINARY = Path(_ENV_BINARY or ROOT / "build" / "dev" / "mps_benchmarks")
if _ENV_BINARY and not BINARY.is_file():
    raise RuntimeError(f"MPSFB_MPS_BENCHMARKS={_ENV_BINARY}: no such file")
pytestmark = pytest.mark.skipif(not BINARY.is_file(), reason=f"no {BINARY} (build it first)")


def mps_benchmarks(*args):
    return subprocess.run([str(BINARY), "--device=cpu", *map(str, args)], capture_output=True,
                          text=True, timeout=300)


def assert_loads(path):
    listed = mps_benchmarks("--benchmark_list_tests", f"--targets={path}")
    assert listed.returncode == 0, listed.stderr
    assert "op:aten::" in listed.stdout


@pytest.mark.parametrize("seed,verdicts", [
    (DATA / "seed.yaml", False),                        # with verdicts: test_verdicts_of_known_ops
    (ROOT / "ops" / "targets.seed.yaml", False),        # the seed sync-targets merges
    (ROOT / "ops" / "targets.seed.yaml", True),
], ids=["test-seed", "project-seed", "project-seed-verdicts"])
def test_sync_output_loads_in_mps_benchmarks(fake_github, run_sync, out, seed, verdicts):
    if not seed.is_file():
        pytest.skip(f"no {seed}")
    extra = ["--mps-benchmarks", BINARY] if verdicts else []
    proc = run_sync("--api-url", fake_github.base_url, *extra, seed=seed)
    assert proc.returncode == 0, proc.stderr
    seed_verdicts = {e["op"]: e.get("mps_verdict") for e in load(seed)["ops"]}
    for e in load(out)["ops"]:
        if verdicts:
            assert "mps_verdict" in e, e["op"]
        else:  # the seed's own record passes through as it is (none for a new request)
            assert e.get("mps_verdict") == seed_verdicts.get(e["op"]), e["op"]
    assert_loads(out)


def test_verdicts_of_known_ops(fake_github, run_sync, out):
    proc = run_sync("--api-url", fake_github.base_url, "--mps-benchmarks", BINARY)
    assert proc.returncode == 0, proc.stderr
    assert_loads(out)
    doc = load(out)
    torch = doc["generated"]["mps_verdicts"]["torch"]
    verdict = {e["op"]: e["mps_verdict"] for e in doc["ops"]}
    assert {v["torch"] for v in verdict.values()} == {torch}
    order = [schema.VERDICTS.index(v["verdict"]) for v in verdict.values()]
    assert order == sorted(order)                           # falls back first, then native, ...
    assert f"sync_requests: MPS verdicts for torch {torch}: " in proc.stdout
    if not torch.startswith("2.13"):
        pytest.skip(f"the known verdicts below are torch 2.13's; the binary has {torch}")
    for op in ("aten::linalg_eig", "aten::_linalg_eigvals", "aten::binomial", "aten::poisson",
               "aten::_int_mm"):
        assert verdict[op]["verdict"] == "falls back", (op, verdict[op])
        assert verdict[op]["via"] == [op]
    for op in ("aten::isin.Tensor_Tensor", "aten::cumsum", "aten::roll",
               "aten::max_pool3d_with_indices", "aten::_upsample_bicubic2d_aa"):
        assert verdict[op]["verdict"] == "native", (op, verdict[op])   # seed and new requests
    assert verdict["aten::roll"]["source"].startswith("static: native_functions.yaml of torch 2.13")


def test_seed_the_binary_rejects_is_one_line(fake_github, run_sync, out, tmp_path):
    seed = tmp_path / "seed.yaml"
    seed.write_text((DATA / "seed.yaml").read_text().replace(
        "    shapes: [[1024, 64]]\n", "    shapes: [[1024, 64]]\n    tol_scale: -1\n"))
    proc = run_sync("--api-url", fake_github.base_url, "--mps-benchmarks", BINARY, seed=seed,
                    token=TOKEN)
    assert_failed_cleanly(proc, out, r"mps_benchmarks --list-verdicts failed \(exit 2\): ops entry "
                                     r"aten::index\.Tensor \(line \d+ of <merged targets>\): "
                                     r"tol_scale must be positive")


def _decoder_lists(probe_text, tmp_path):
    """{where: [names]} from the decoder's "(expected: ...)" for each unknown name."""
    probe = tmp_path / "probe.yaml"
    probe.write_text(probe_text)
    proc = mps_benchmarks("--benchmark_list_tests", f"--targets={probe}")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    found = {}
    for m in re.finditer(r"unknown (?:key 'zz' in (.+?)|(dtype|verdict) 'zz') \(expected: "
                         r"(?:one of )?([^)]*)\)", proc.stderr):
        found[m.group(1) or m.group(2)] = [x.strip() for x in re.split(r",| or ", m.group(3))]
    return found


def test_schema_is_the_cpp_decoders(tmp_path):
    """Every key, dtype name and verdict the sync writes or accepts is one mps_benchmarks
    accepts, and the other way round: the decoder lists what it allows when it meets an
    unknown one."""
    found = _decoder_lists(
        "version: 1\nzz: 1\nops:\n  - op: aten::roll\n    zz: 1\n    shapes: [[4]]\n"
        "    dtypes: [zz]\n    demand: {votes: 1, zz: 1}\n"
        "    mps_verdict: {torch: 2.13.0, verdict: zz, via: [], source: x, zz: 1}\n", tmp_path)
    assert sorted(found.get("the top level", [])) == sorted(schema.TOP_KEYS), found
    assert sorted(found.get("ops entry", [])) == sorted(schema.ENTRY_KEYS), found
    assert sorted(found.get("demand", [])) == sorted(schema.DEMAND_KEYS), found
    assert sorted(found.get("mps_verdict", [])) == sorted(schema.VERDICT_KEYS), found
    assert found.get("dtype") == list(schema.DTYPES), found      # the same table, in order
    assert sorted(found.get("verdict", [])) == sorted(schema.VERDICTS), found
    assert set(schema.ENTRY_MAPS) == {"demand", "mps_verdict"}


def _decoder_says(tmp_path, entry, *flags):
    """The decoder's stderr for a targets file of one aten::roll entry with `entry`'s lines."""
    probe = tmp_path / "limits.yaml"
    probe.write_text("version: 1\nops:\n- op: aten::roll\n  shapes: [[4]]\n  dtypes: [f32]\n" + entry)
    proc = mps_benchmarks("--benchmark_list_tests", f"--targets={probe}", *flags)
    return proc.returncode, proc.stderr


def _number(pattern, text):
    m = re.search(pattern, text)
    assert m, (pattern, text)
    return int(m.group(1))


def test_decoder_limits_are_the_syncs(tmp_path):
    """schema.py's copy of the limits the sync applies to comments (issue 20, W1) is what the
    decoder enforces: each limit read back from the decoder's message about the value past it."""
    probe = tmp_path / "name.yaml"
    probe.write_text(f"version: 1\nops:\n- op: aten::{'a' * schema.MAX_OP_NAME}\n  shapes: [[4]]\n  dtypes: [f32]\n")
    stderr = mps_benchmarks("--benchmark_list_tests", f"--targets={probe}").stderr
    assert _number(r"op name of \d+ characters, longer than (\d+)", stderr) == schema.MAX_OP_NAME
    rc, stderr = _decoder_says(tmp_path, f"- op: aten::cumsum\n  shapes: [{[1] * (schema.MAX_SHAPE_DIMS + 1)}]\n"
                               "  dtypes: [f32]\n")
    assert _number(r"shape has \d+ dimensions, more than (\d+)", stderr) == schema.MAX_SHAPE_DIMS
    rc, stderr = _decoder_says(tmp_path, f"- op: aten::cumsum\n  shapes: [[{1 << 20}, {schema.MEMORY_BUDGET_MB + 1}]]\n"
                               "  dtypes: [f32]\n")
    assert _number(r"over the memory budget of (\d+) MiB", stderr) == schema.MEMORY_BUDGET_MB
    for dtype, size in schema.DTYPE_BYTES.items():   # 2 Mi elements against a 1 MiB budget
        rc, stderr = _decoder_says(tmp_path, f"- op: aten::cumsum\n  shapes: [[{1 << 20}, 2]]\n"
                                   f"  dtypes: [{dtype}]\n", "--memory_budget_mb=1")
        assert _number(rf"of {dtype} needs (\d+) MiB", stderr) == 2 * size, (dtype, stderr)
    rc, stderr = _decoder_says(tmp_path, f"  demand: {{votes: {schema.MAX_COUNT + 1}}}\n")
    assert rc == 2 and "demand.votes does not fit int64" in stderr, stderr
    for key in ("votes", "users", "thumbs_up"):
        rc, stderr = _decoder_says(tmp_path, f"  demand: {{{key}: {schema.MAX_COUNT}}}\n")
        assert rc == 0, stderr


def test_the_output_of_comments_beyond_the_decoders_limits_loads(fake_github, run_sync, out):
    """Issue 20, W1: one comment cannot make mps_benchmarks reject the whole file."""
    from test_sync_hostile import GOOD, serve_comments  # noqa: PLC0415
    serve_comments(
        fake_github,
        dict(GOOD, id=11, body="+1 for aten::" + "a" * 300),
        dict(GOOD, id=12, body="need aten::roll torch.Size([100000, 100000])", reactions={"+1": 10**20}),
        dict(GOOD, id=13, body="aten::cumsum torch.Size([" + ", ".join(["1"] * 65) + "])"))
    proc = run_sync("--api-url", fake_github.base_url, "--mps-benchmarks", BINARY)
    assert proc.returncode == 0, proc.stderr
    assert_loads(out)
    assert len(load(out)["generated"]["limits_applied"]) >= 3


# Names on both sides of the rule: the overload may start with a digit, each part is an ASCII
# identifier, exactly one "::".
OP_NAMES = ["aten::roll", "aten::isin.Tensor_Tensor", "aten::x.2d", "aten::_foo.out", "my_ns::op1.0",
            "_ns::_x", "aten::2x", "2aten::x", "aten:roll", "aten::", "::roll", "aten::roll.", "aten::roll.a.b",
            "a::b::c", "aten::ro-ll", "aten::roll.Tensor-x", "aten::roll .x", "aten ::roll", "aten::rolé",
            "aten::roll.Tensor_", "aten::.x"]


def test_the_seeds_op_name_rule_is_the_cpp_decoders(tmp_path):
    """tools/sync_requests/seed.py accepts exactly the op names benchmarks/targets.cpp
    is_op_name accepts: each name is an entry of one targets file, and the decoder names every
    one it rejects as a bad op name."""
    from sync_requests import seed
    probe = tmp_path / "names.yaml"
    probe.write_text("version: 1\nops:\n" + "".join(
        f"  - op: {json.dumps(n)}\n    shapes: [[4]]\n    dtypes: [f32]\n" for n in OP_NAMES), encoding="utf-8")
    proc = mps_benchmarks("--benchmark_list_tests", f"--targets={probe}")
    rejected = set(re.findall(r"bad op name '([^']*)'", proc.stderr))
    assert rejected, proc.stderr  # the file has bad names: the decoder must name some
    assert {n for n in OP_NAMES if not seed.is_op_name(n)} == rejected, proc.stderr
