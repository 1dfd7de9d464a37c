"""tools/fetch_torch_files.py: the torch-files cache (docs/design.md "Verdict source").

pip is the real pip of this interpreter, configured the way a user configures it (PIP_*
environment variables): a local directory of wheels (--find-links, --no-index) holding small
wheel-shaped zips named like torch's macOS arm64 wheels, so no test reaches a network. Where a
test must prove that pip is NOT run, PYTHONPATH puts a stand-in `pip` package first that records
its call and fails.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
TOOL = ROOT / "tools" / "fetch_torch_files.py"

YAML = "- func: roll(Tensor self, SymInt[1] shifts, int[1] dims=[]) -> Tensor\n  dispatch:\n    CPU: roll\n"
COMMON_MPS = "UNIMPLEMENTED_XFAILLIST = {'linalg.eig': None}\n"


def make_wheel(index: Path, version: str, with_common_mps: bool = True, yaml: str = YAML) -> Path:
    """A zip shaped like torch's Mac wheel: dist-info pip accepts, and the two files we keep."""
    name = f"torch-{version}-cp312-cp312-macosx_14_0_arm64.whl"
    path = index / name
    dist = f"torch-{version}.dist-info"
    files = {
        "torchgen/packaged/ATen/native/native_functions.yaml": yaml,
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: torch\nVersion: {version}\n",
        f"{dist}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: false\n"
                         "Tag: cp312-cp312-macosx_14_0_arm64\n",
    }
    if with_common_mps:
        files["torch/testing/_internal/common_mps.py"] = COMMON_MPS
    files[f"{dist}/RECORD"] = "".join(f"{n},,\n" for n in files) + f"{dist}/RECORD,,\n"
    index.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for n, text in files.items():
            zf.writestr(n, text)
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def index(tmp_path):
    d = tmp_path / "index"
    make_wheel(d, "2.98.0")
    make_wheel(d, "2.99.0")
    return d


@pytest.fixture
def no_pip(tmp_path):
    """A `pip` that records that it ran and fails; returns the record file."""
    fake = tmp_path / "fakepip"
    (fake / "pip").mkdir(parents=True)
    (fake / "pip" / "__init__.py").write_text("")
    log = tmp_path / "pip-called"
    (fake / "pip" / "__main__.py").write_text(
        f"import sys\nopen({str(log)!r}, 'a').write(' '.join(sys.argv[1:]) + '\\n')\n"
        "sys.stderr.write('ERROR: no network here\\n')\nsys.exit(1)\n")
    return fake, log


def run(tmp_path, *args, index=None, fake_pip=None, cache=None):
    """The tool with the cache at tmp_path/cache (MPSFB_CACHE_DIR) and pip set up by PIP_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") and k != "PYTHONPATH"}
    env.update({"MPSFB_CACHE_DIR": str(cache or tmp_path / "cache"), "PIP_CONFIG_FILE": os.devnull,
                "PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(index or tmp_path / "empty-index"),
                "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PIP_NO_CACHE_DIR": "1",
                "PYTHONDONTWRITEBYTECODE": "1"})
    if fake_pip is not None:
        env["PYTHONPATH"] = str(fake_pip)
    return subprocess.run([sys.executable, str(TOOL), *args], env=env, capture_output=True, text=True,
                          timeout=120)


def entry_of(proc) -> Path:
    assert proc.returncode == 0, proc.stderr
    return Path(proc.stdout.splitlines()[-1])


def one_error_line(proc) -> str:
    assert proc.returncode == 1, (proc.stdout, proc.stderr)
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("fetch_torch_files: ")]
    assert len(lines) >= 1 and proc.stderr.rstrip().splitlines()[-1] == lines[-1], proc.stderr
    assert proc.stdout == ""
    return lines[-1]


def no_leftovers(cache: Path) -> None:
    assert not list(cache.rglob("*.whl")), "the wheel is deleted"
    assert not [p for p in (cache / "torch").iterdir() if p.name.startswith(".tmp")]


def test_fetch_keeps_the_two_files_and_the_wheel_sha(tmp_path, index):
    proc = run(tmp_path, "--version", "2.99.0", index=index)
    entry = entry_of(proc)
    assert entry == tmp_path / "cache" / "torch" / "2.99.0"
    meta = json.loads((entry / "wheel.json").read_text())
    wheel = index / "torch-2.99.0-cp312-cp312-macosx_14_0_arm64.whl"
    assert meta == {"version": "2.99.0", "wheel": wheel.name, "sha256": sha(wheel),
                    "files": {"native_functions.yaml": sha(entry / "native_functions.yaml"),
                              "common_mps.py": sha(entry / "common_mps.py")}}
    assert (entry / "native_functions.yaml").read_text() == YAML
    assert (entry / "common_mps.py").read_text() == COMMON_MPS
    assert sorted(p.name for p in entry.iterdir()) == ["common_mps.py", "native_functions.yaml", "wheel.json"]
    assert "downloading the macOS arm64 wheel of torch 2.99.0" in proc.stderr
    assert "Saved" in proc.stderr or "File was already downloaded" in proc.stderr, "pip's own output shows"
    no_leftovers(tmp_path / "cache")


def test_a_wheel_without_common_mps_lists_only_the_yaml(tmp_path):
    idx = tmp_path / "index"
    make_wheel(idx, "2.97.0", with_common_mps=False)
    entry = entry_of(run(tmp_path, "--version", "2.97.0", index=idx))
    assert list(json.loads((entry / "wheel.json").read_text())["files"]) == ["native_functions.yaml"]
    assert not (entry / "common_mps.py").exists()


def test_a_hit_runs_no_pip(tmp_path, index, no_pip):
    first = entry_of(run(tmp_path, "--version", "2.99.0", index=index))
    fake, log = no_pip
    again = run(tmp_path, "--version", "2.99.0", fake_pip=fake)
    assert entry_of(again) == first
    assert not log.exists(), "pip ran on a cache hit"
    assert again.stderr == ""


def test_the_stand_in_pip_is_the_one_that_runs(tmp_path, no_pip):
    """Guards the test above: without a cache entry the stand-in is called and its error shown."""
    fake, log = no_pip
    line = one_error_line(run(tmp_path, "--version", "2.99.0", fake_pip=fake))
    assert log.read_text().startswith("download --no-deps --only-binary=:all: --platform macosx_14_0_arm64 "
                                      "--python-version 3.12 --dest ")
    assert line == "fetch_torch_files: pip download torch==2.99.0 failed (exit 1): ERROR: no network here"


@pytest.mark.parametrize("damage", ["edit_yaml", "drop_common_mps", "garble_json"])
def test_a_corrupt_entry_is_fetched_again(tmp_path, index, damage):
    entry = entry_of(run(tmp_path, "--version", "2.99.0", index=index))
    good = (entry / "wheel.json").read_text()
    if damage == "edit_yaml":
        (entry / "native_functions.yaml").write_text(YAML + "# edited\n")
    elif damage == "drop_common_mps":
        (entry / "common_mps.py").unlink()
    else:
        (entry / "wheel.json").write_text("{not json")
    proc = run(tmp_path, "--version", "2.99.0", index=index)
    assert entry_of(proc) == entry
    assert "corrupt cache entry" in proc.stderr and "fetching it again" in proc.stderr
    assert (entry / "wheel.json").read_text() == good
    assert (entry / "native_functions.yaml").read_text() == YAML
    no_leftovers(tmp_path / "cache")


def test_a_corrupt_entry_offline_is_one_line_naming_the_file(tmp_path, index, no_pip):
    entry = entry_of(run(tmp_path, "--version", "2.99.0", index=index))
    (entry / "native_functions.yaml").write_text("- func: edited\n")
    fake, log = no_pip
    line = one_error_line(run(tmp_path, "--version", "2.99.0", "--offline", fake_pip=fake))
    assert line == (f"fetch_torch_files: corrupt cache entry: {entry / 'native_functions.yaml'}: sha256 does "
                    "not match wheel.json (run without --offline to fetch it again)")
    assert not log.exists()


def test_offline_without_an_entry_is_one_line(tmp_path, no_pip):
    fake, log = no_pip
    line = one_error_line(run(tmp_path, "--version", "2.99.0", "--offline", fake_pip=fake))
    assert line == f"fetch_torch_files: offline: torch 2.99.0 is not in the cache {tmp_path / 'cache' / 'torch'}"
    assert not log.exists()


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root writes into read-only directories")
def test_a_read_only_cache_is_one_line_before_any_download(tmp_path, index, no_pip):
    cache = tmp_path / "cache"
    (cache / "torch").mkdir(parents=True)
    (cache / "torch").chmod(0o555)
    fake, log = no_pip
    try:
        line = one_error_line(run(tmp_path, "--version", "2.99.0", fake_pip=fake))
    finally:
        (cache / "torch").chmod(0o755)
    assert line.startswith(f"fetch_torch_files: cannot write the cache {cache / 'torch'}: Permission denied")
    assert not log.exists(), "nothing is downloaded into a cache that cannot keep it"


def test_an_unwritable_cache_is_one_line_before_any_download(tmp_path, no_pip):
    """The same path as a read-only directory, also under root: the cache root is a file."""
    (tmp_path / "file").write_text("")
    fake, log = no_pip
    proc = run(tmp_path, "--version", "2.99.0", fake_pip=fake, cache=tmp_path / "file" / "cache")
    line = one_error_line(proc)
    assert line.startswith(f"fetch_torch_files: cannot write the cache {tmp_path / 'file' / 'cache' / 'torch'}: ")
    assert line.endswith("(set MPSFB_CACHE_DIR or --cache-dir to a writable directory)")
    assert not log.exists()


def test_latest_is_the_newest_release_on_the_index(tmp_path, index):
    entry = entry_of(run(tmp_path, "--version", "latest", index=index))
    assert entry.name == "2.99.0"
    assert json.loads((entry / "wheel.json").read_text())["version"] == "2.99.0"


def test_latest_offline_is_the_newest_valid_entry_saying_so(tmp_path, index, no_pip):
    entry_of(run(tmp_path, "--version", "2.98.0", index=index))
    newest = entry_of(run(tmp_path, "--version", "2.99.0", index=index))
    (tmp_path / "cache" / "torch" / "2.100.0").mkdir()  # not a valid entry: never latest
    fake, log = no_pip
    proc = run(tmp_path, "--version", "latest", "--offline", fake_pip=fake)
    assert entry_of(proc) == newest
    assert proc.stderr == (f"fetch_torch_files: offline: latest is torch 2.99.0, the newest release in the "
                           f"cache {tmp_path / 'cache' / 'torch'}\n")
    assert not log.exists()


def test_latest_when_pip_cannot_reach_the_index_uses_the_cache_saying_why(tmp_path, index, no_pip):
    newest = entry_of(run(tmp_path, "--version", "2.99.0", index=index))
    fake, _ = no_pip
    proc = run(tmp_path, "--version", "latest", fake_pip=fake)
    assert entry_of(proc) == newest
    assert "pip index versions torch failed (exit 1): ERROR: no network here; latest is torch 2.99.0" in proc.stderr


def test_latest_with_nothing_anywhere_is_one_line(tmp_path, no_pip):
    fake, _ = no_pip
    line = one_error_line(run(tmp_path, "--version", "latest", fake_pip=fake))
    assert line == "fetch_torch_files: pip index versions torch failed (exit 1): ERROR: no network here"


def test_a_release_the_index_lacks_is_one_line_and_leaves_nothing(tmp_path, index):
    line = one_error_line(run(tmp_path, "--version", "2.5.0", index=index))
    assert line.startswith("fetch_torch_files: pip download torch==2.5.0 failed (exit 1): ERROR: ")
    assert "2.5.0" in line
    assert sorted(p.name for p in (tmp_path / "cache" / "torch").iterdir()) == []


def test_from_wheel_fills_an_entry_without_pip(tmp_path, no_pip):
    wheel = make_wheel(tmp_path / "wheels", "2.99.0")
    fake, log = no_pip
    entry = entry_of(run(tmp_path, "--from-wheel", str(wheel), fake_pip=fake))
    assert json.loads((entry / "wheel.json").read_text())["sha256"] == sha(wheel)
    assert wheel.exists(), "a wheel given on the command line is the user's: kept"
    assert not log.exists()
    line = one_error_line(run(tmp_path, "--from-wheel", str(wheel), "--version", "2.98.0"))
    assert line == f"fetch_torch_files: --from-wheel={wheel} is torch 2.99.0, not --version=2.98.0"


def test_a_wheel_without_the_yaml_is_one_line(tmp_path):
    wheel = tmp_path / "torch-2.99.0-cp312-cp312-macosx_14_0_arm64.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("torch/__init__.py", "")
    line = one_error_line(run(tmp_path, "--from-wheel", str(wheel)))
    assert line == (f"fetch_torch_files: {wheel}: the wheel has no "
                    "torchgen/packaged/ATen/native/native_functions.yaml")
    assert not (tmp_path / "cache" / "torch" / "2.99.0").exists()


@pytest.mark.parametrize("version", ["../etc", "", "x1.0", "2.15/0"])
def test_a_version_that_is_no_release_is_one_line(tmp_path, version):
    line = one_error_line(run(tmp_path, "--version", version))
    assert line == f"fetch_torch_files: --version={version!r}: expected a torch release such as 2.15.0, or latest"
