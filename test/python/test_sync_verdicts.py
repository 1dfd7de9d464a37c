"""MPS verdicts in the sync (docs/sync.md "MPS verdicts"), without the C++ build.

The sync runs `mps_benchmarks --list-verdicts` on the merged targets and records what it
prints; here a small stand-in executable (written to tmp_path) prints verdicts chosen by the
test in the binary's documented JSON form, so the recording, the sections, the summary and
every failure can be checked on any machine.  test_sync_mps_benchmarks.py runs the same
paths with the real binary.  GitHub is the recorded pages of FakeGitHub, as in
test_sync_requests.py.
"""

from __future__ import annotations

import json
import sys

import pytest
import yaml

from conftest import DATA
from test_sync_requests import (EXPECTED_NEW, EXPECTED_SEED, OLD, TOKEN, assert_failed_cleanly,
                                load, out)  # noqa: F401 - `out` is a fixture

from sync_requests import schema

# The stand-in: `--list-verdicts` prints one row per entry of --targets, with the verdict
# STUB_VERDICTS (JSON: op -> verdict) gives it (default native); STUB_MODE breaks it on
# purpose.  `--benchmark_list_tests` exits STUB_LOAD_RC.
STUB = r'''#!{python}
import json, os, sys
import yaml
args = sys.argv[1:]
log = os.environ.get("STUB_LOG")
if log:
    with open(log, "a") as f:
        f.write(json.dumps(args) + "\n")
targets = next(a.split("=", 1)[1] for a in args if a.startswith("--targets="))
doc = yaml.safe_load(open(targets))
if "--benchmark_list_tests" in args:
    if os.environ.get("STUB_LOAD_RC", "0") != "0":
        sys.stderr.write("mps_benchmarks: 1 problem(s) in the targets file:\n"
                         + targets + ":40:5: unknown key 'mps_verdict' in ops entry (expected: one of op)\n")
        sys.exit(int(os.environ["STUB_LOAD_RC"]))
    sys.exit(0)
mode = os.environ.get("STUB_MODE", "ok")
table = json.loads(os.environ.get("STUB_VERDICTS", "{{}}"))
if mode == "garbage":
    print("this is not JSON")
    sys.exit(0)
nf = "not found: no torchgen beside libtorch" if mode == "no_yaml" else "/torch/native_functions.yaml"
rows = []
for e in doc["ops"]:
    v = "unknown" if mode == "no_yaml" else table.get(e["op"], "native")
    rows.append({{"op": e["op"], "mps_verdict": v,
                 "mps_via": [e["op"]] if v == "falls back" else [],
                 "verdict_source": "static: native_functions.yaml of torch 2.13.0",
                 "text": v}})
if mode == "short":
    rows = rows[:-1]
vt = next((a.split("=", 1)[1] for a in args if a.startswith("--verdict-torch=")), None)
print(json.dumps({{"torch_version": vt or "2.13.0", "native_functions": nf, "ops": rows,
                  "verdict_source": "static: native_functions.yaml of torch " + (vt or "2.13.0")}}))
'''

VERDICTS = {"aten::linalg_eig": "falls back", "aten::binomial": "falls back",
            "aten::poisson": "falls back", "aten::_int_mm": "falls back",
            "aten::grid_sampler_3d": "unsupported dtype", "torchvision::nms": "unknown",
            "aten::conv_transpose3d.input": "unknown"}


@pytest.fixture
def stub(tmp_path):
    path = tmp_path / "bin" / "mps_benchmarks"
    path.parent.mkdir()
    path.write_text(STUB.format(python=sys.executable))
    path.chmod(0o755)
    return path


def stub_env(**extra):
    return {"STUB_VERDICTS": json.dumps(VERDICTS), **extra}


def new_ops():
    return [row[0] for row in EXPECTED_NEW]


def seed_ops():
    return [row[0] for row in EXPECTED_SEED]


def test_without_the_binary_verdicts_are_not_recorded(fake_github, run_sync, out):
    proc = run_sync("--api-url", fake_github.base_url, token=TOKEN)
    assert proc.returncode == 0 and proc.stderr == ""
    doc = load(out)
    assert doc["generated"]["mps_verdicts"] == "not recorded (no --mps-benchmarks)"
    assert not any("mps_verdict" in e for e in doc["ops"])
    assert [e["op"] for e in doc["ops"]] == seed_ops() + new_ops()     # the merged order
    assert "sync_requests: MPS verdicts not recorded (no --mps-benchmarks" in proc.stdout


def test_verdicts_are_recorded_and_sectioned(fake_github, run_sync, out, stub, tmp_path):
    log = tmp_path / "stub.log"
    proc = run_sync("--api-url", fake_github.base_url, "--mps-benchmarks", stub, token=TOKEN,
                    env=stub_env(STUB_LOG=str(log)))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    doc, text = load(out), out.read_text()

    # each section keeps the merged order: seed order, then new requests by votes
    def part(verdict):
        return [op for op in seed_ops() + new_ops() if VERDICTS.get(op, "native") == verdict]
    assert [e["op"] for e in doc["ops"]] == [op for v in schema.VERDICTS for op in part(v)]
    assert part("falls back") == ["aten::linalg_eig", "aten::binomial", "aten::poisson",
                                  "aten::_int_mm"]
    # a new request for an op that is already native is listed, as native
    assert "aten::_sample_dirichlet" in part("native")
    for e in doc["ops"]:
        assert list(e["mps_verdict"]) == list(schema.VERDICT_KEYS)
        assert e["mps_verdict"]["torch"] == "2.13.0"
        assert e["mps_verdict"]["verdict"] == VERDICTS.get(e["op"], "native")
        assert list(e)[-1] == "mps_verdict"
    eig = next(e for e in doc["ops"] if e["op"] == "aten::linalg_eig")
    assert eig["mps_verdict"] == {"torch": "2.13.0", "verdict": "falls back",
                                  "via": ["aten::linalg_eig"],
                                  "source": "static: native_functions.yaml of torch 2.13.0"}
    # one comment line heads each non-empty section, in order
    heads = [line for line in text.splitlines() if line.startswith("# ")][2:]
    assert [h.split(":")[0] for h in heads] == [
        "# Falls back to the CPU on MPS in torch 2.13.0", "# Native on MPS in torch 2.13.0",
        "# Unsupported dtype on MPS in torch 2.13.0", "# MPS verdict unknown for torch 2.13.0"]
    assert heads[0].startswith("# Falls back to the CPU on MPS in torch 2.13.0: 4 ")
    counts = {"falls_back": 4, "native": 16, "unsupported_dtype": 1, "unknown": 2}
    assert doc["generated"]["mps_verdicts"] == {
        "torch": "2.13.0", "from": "mps_benchmarks --list-verdicts",
        "native_functions": "/torch/native_functions.yaml", **counts}
    assert ("sync_requests: MPS verdicts for torch 2.13.0: 4 entries still fall back, 16 native, "
            "1 unsupported dtype, 2 unknown; new requests: 3 fall back, 9 native, "
            "0 unsupported dtype, 2 unknown") in proc.stdout
    # curated fields and demand are those of the run without verdicts
    plain = tmp_path / "plain.yaml"
    assert run_sync("--api-url", fake_github.base_url, out=plain).returncode == 0
    before = {e["op"]: e for e in load(plain)["ops"]}
    for e in doc["ops"]:
        assert {k: v for k, v in e.items() if k != "mps_verdict"} == before[e["op"]]
    # the binary judged the merged file and then loaded the output, on the CPU
    calls = [json.loads(line) for line in log.read_text().splitlines()]
    assert [c[-1] for c in calls] == ["--list-verdicts", "--benchmark_list_tests"]
    assert all("--device=cpu" in c for c in calls)


def test_native_functions_is_passed_on(fake_github, run_sync, out, stub, tmp_path):
    yaml_path = tmp_path / "native_functions.yaml"
    yaml_path.write_text("- func: roll(Tensor self) -> Tensor\n")
    log = tmp_path / "stub.log"
    proc = run_sync("--api-url", fake_github.base_url, "--mps-benchmarks", stub,
                    "--native-functions", yaml_path, env=stub_env(STUB_LOG=str(log)))
    assert proc.returncode == 0, proc.stderr
    first = json.loads(log.read_text().splitlines()[0])
    assert f"--native-functions={yaml_path}" in first


def test_verdict_torch_is_passed_on_and_recorded(fake_github, run_sync, out, stub, tmp_path):
    log = tmp_path / "stub.log"
    proc = run_sync("--api-url", fake_github.base_url, "--mps-benchmarks", stub,
                    "--verdict-torch", "2.15.0", env=stub_env(STUB_LOG=str(log)))
    assert proc.returncode == 0, proc.stderr
    first = json.loads(log.read_text().splitlines()[0])
    assert "--verdict-torch=2.15.0" in first and first[-1] == "--verdict-torch=2.15.0"
    record = load(out)["generated"]["mps_verdicts"]
    assert record["torch"] == "2.15.0" and record["verdict_torch"] == "2.15.0"
    assert record["verdict_source"] == "static: native_functions.yaml of torch 2.15.0"
    assert "MPS verdicts for torch 2.15.0:" in proc.stdout


def test_seed_verdict_is_replaced_or_kept(fake_github, run_sync, out, stub, tmp_path):
    seed = tmp_path / "seed.yaml"
    stale = ("    mps_verdict: {torch: 2.6.0, verdict: falls back, via: [aten::roll], "
             "source: run time on MPS}\n")
    seed.write_text((DATA / "seed.yaml").read_text().replace(
        "    demand: {votes: 99, users: 9, thumbs_up: 90}\n",
        "    demand: {votes: 99, users: 9, thumbs_up: 90}\n" + stale))
    assert run_sync("--api-url", fake_github.base_url, seed=seed).returncode == 0
    roll = next(e for e in load(out)["ops"] if e["op"] == "aten::roll")
    assert roll["mps_verdict"] == {"torch": "2.6.0", "verdict": "falls back",
                                   "via": ["aten::roll"], "source": "run time on MPS"}
    assert "via: [aten::roll]" in out.read_text() or "via: ['aten::roll']" in out.read_text()
    assert run_sync("--api-url", fake_github.base_url, "--mps-benchmarks", stub, seed=seed,
                    env=stub_env()).returncode == 0
    roll = next(e for e in load(out)["ops"] if e["op"] == "aten::roll")
    assert roll["mps_verdict"]["torch"] == "2.13.0" and roll["mps_verdict"]["verdict"] == "native"


def test_seed_with_an_unknown_mps_verdict_key_is_an_error(fake_github, run_sync, out, tmp_path):
    seed = tmp_path / "seed.yaml"
    seed.write_text("version: 1\nops:\n  - op: aten::roll\n    shapes: [[4]]\n    dtypes: [f32]\n"
                    "    mps_verdict: {torch: 2.13.0, verdict: native, why: x}\n")
    proc = run_sync("--api-url", fake_github.base_url, seed=seed, token=TOKEN)
    assert_failed_cleanly(proc, out, r"ops\[0\] \(aten::roll\): unknown mps_verdict key 'why' "
                                     r"\(allowed: torch, verdict, via, source\)")
    assert fake_github.log == []


def test_binary_without_native_functions_yaml_records_nothing(fake_github, run_sync, out, stub):
    proc = run_sync("--api-url", fake_github.base_url, "--mps-benchmarks", stub,
                    env=stub_env(STUB_MODE="no_yaml"))
    assert proc.returncode == 0, proc.stderr
    doc = load(out)
    assert not any("mps_verdict" in e for e in doc["ops"])
    assert doc["generated"]["mps_verdicts"] == ("not recorded: mps_benchmarks found no "
                                                "native_functions.yaml (no torchgen beside libtorch)")
    assert "MPS verdicts not recorded: mps_benchmarks found no native_functions.yaml" in proc.stdout


@pytest.mark.parametrize("args,env,what", [
    (["--native-functions", "x.yaml"], {}, r"--native-functions .* needs --mps-benchmarks PATH"),
    (["--mps-benchmarks", "no/such/mps_benchmarks"], {},
     r"--mps-benchmarks no/such/mps_benchmarks: not an executable file"),
    (["--mps-benchmarks", "STUB", "--native-functions", "nope.yaml"], {},
     r"--native-functions nope\.yaml: no such file"),
    (["--verdict-torch", "2.15.0"], {}, r"--verdict-torch is passed on to mps_benchmarks: it needs"),
    (["--mps-benchmarks", "STUB", "--verdict-torch", "2.15.0", "--native-functions", "x.yaml"], {},
     r"--verdict-torch and --native-functions both name the verdicts' torch"),
])
def test_bad_verdict_options_fail_before_any_request(fake_github, run_sync, out, stub, args, env,
                                                    what):
    args = [str(stub) if a == "STUB" else a for a in args]
    proc = run_sync("--api-url", fake_github.base_url, *args, token=TOKEN, env=env)
    assert_failed_cleanly(proc, out, what)
    assert fake_github.log == []


@pytest.mark.parametrize("env,what", [
    ({"STUB_MODE": "garbage"}, r"--list-verdicts printed no verdict list"),
    ({"STUB_MODE": "short"}, r"gave 22 verdicts for 23 entries"),
    ({"STUB_VERDICTS": json.dumps({"aten::roll": "sometimes"})},
     r"unknown verdict 'sometimes' for aten::roll \(expected one of: falls back, native, "),
    ({"STUB_LOAD_RC": "2"}, r"mps_benchmarks does not load the output \(exit 2\): ops entry "
                            r"\S+ \(line 40 of <output>\): unknown key 'mps_verdict'"),
])
def test_binary_failures_are_one_line(fake_github, run_sync, out, stub, env, what):
    proc = run_sync("--api-url", fake_github.base_url, "--mps-benchmarks", stub, token=TOKEN,
                    env=env)
    assert_failed_cleanly(proc, out, what)


def test_binary_that_cannot_run_is_one_line(fake_github, run_sync, out, tmp_path):
    broken = tmp_path / "mps_benchmarks"
    broken.write_text("#!/nonexistent/interpreter\n")
    broken.chmod(0o755)
    proc = run_sync("--api-url", fake_github.base_url, "--mps-benchmarks", broken)
    assert proc.returncode == 1
    assert "sync_requests: error: cannot run " in proc.stderr and "Traceback" not in proc.stderr
    assert out.read_bytes() == OLD


def test_sections_render_like_the_whole_document():
    """Sections are the plain rendering of the ops with a comment line above each."""
    from sync_requests.render import render
    doc = {"version": 1, "generated": {"date": "2026-11-23"},
           "ops": [{"op": "aten::roll", "shapes": [[4]], "dtypes": ["f32"]},
                   {"op": "aten::cumsum", "shapes": [[4]], "dtypes": ["f32"]}]}
    sectioned = render(doc, [("A", doc["ops"][:1]), ("empty", []), ("B", doc["ops"][1:])])
    assert sectioned.replace("# A\n", "").replace("# B\n", "") == render(doc)
    assert yaml.safe_load(sectioned) == doc
    assert yaml.safe_load(render(dict(doc, ops=[]), [("A", [])]))["ops"] == []
