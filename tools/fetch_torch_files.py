#!/usr/bin/env python3
"""Fetch the files a torch release's MPS verdict needs into the per-user cache.

    python tools/fetch_torch_files.py --version 2.15.0|latest [--cache-dir DIR] [--from-wheel PATH.whl] [--offline]

The release's macOS arm64 wheel (the one a Mac user installs) is downloaded with the user's own
pip and pip configuration (`pip download --no-deps --only-binary=:all: --platform
macosx_14_0_arm64 --python-version 3.12 torch==V`; no host is named here), two files are kept
and the wheel is deleted:

    <root>/torch/<version>/native_functions.yaml   torchgen/packaged/ATen/native/ of the wheel
    <root>/torch/<version>/common_mps.py           torch/testing/_internal/ (absent if the wheel lacks it)
    <root>/torch/<version>/wheel.json              {"version", "wheel", "sha256", "files": {name: sha256}}

<root> is --cache-dir, else $MPSFB_CACHE_DIR, else ${XDG_CACHE_HOME:-~/.cache}/mps-fallback-bench.
An entry is valid when wheel.json parses and every file it lists has its sha256; one that is not
is fetched again (with --offline: an error naming the file). Entries are written all-or-nothing
(a temporary directory beside them, then a rename). `latest` is the newest release pip's index
lists (with --offline, or when pip cannot reach the index, the newest valid entry in the cache,
saying so). --from-wheel fills an entry from a wheel already on disk, without pip.

stdout: the entry directory, as the last line. stderr: pip's progress and one-line notes.
Exit 1 with one line "fetch_torch_files: <why>" when the files cannot be had.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PLATFORM = "macosx_14_0_arm64"   # the wheel a Mac user gets; its yaml is the same on every platform
PYTHON_VERSION = "3.12"
# name in the entry -> path inside the wheel; the yaml is required, the rest optional
FILES = {"native_functions.yaml": "torchgen/packaged/ATen/native/native_functions.yaml",
         "common_mps.py": "torch/testing/_internal/common_mps.py"}
REQUIRED = "native_functions.yaml"


class FetchError(Exception):
    """One line for the user; main prints it after "fetch_torch_files: "."""


def note(text: str) -> None:
    print(f"fetch_torch_files: {text}", file=sys.stderr, flush=True)


def cache_root(cli_dir: str | None) -> Path:
    if cli_dir:
        return Path(cli_dir)
    if os.environ.get("MPSFB_CACHE_DIR"):
        return Path(os.environ["MPSFB_CACHE_DIR"])
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "mps-fallback-bench"


def check_version(version: str) -> str:
    """A version becomes a directory name and a pip pin: digits first, no path characters."""
    allowed = set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.+!-_")
    if not version or not version[0].isdigit() or not set(version) <= allowed or ".." in version:
        raise FetchError(f"--version={version!r}: expected a torch release such as 2.15.0, or latest")
    return version


def release_key(version: str) -> tuple[int, ...] | None:
    """(2, 15, 0) for a plain release "2.15.0"; None for anything else (dev, rc, local builds)."""
    parts = version.split(".")
    if not all(p.isdigit() for p in parts):
        return None
    return tuple(int(p) for p in parts)


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def entry_problem(entry: Path) -> str | None:
    """Why the cache entry is not usable (missing or corrupt), or None when it is valid."""
    meta_path = entry / "wheel.json"
    if not meta_path.is_file():
        return f"{meta_path}: missing"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        files = meta["files"]
        if not isinstance(files, dict) or REQUIRED not in files or not isinstance(meta["wheel"], str):
            raise ValueError("no native_functions.yaml listed")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as e:
        return f"{meta_path}: not a wheel.json of this cache ({e})"
    for name, digest in files.items():
        if name not in FILES:
            return f"{meta_path}: lists an unknown file {name!r}"
        path = entry / name
        if not path.is_file():
            return f"{path}: missing"
        if sha256_of(path) != digest:
            return f"{path}: sha256 does not match wheel.json"
    return None


def wheel_version(wheel: Path) -> str:
    """torch-2.15.0-cp312-cp312-macosx_14_0_arm64.whl -> 2.15.0 (the wheel name's second field)."""
    parts = wheel.name.split("-")
    if len(parts) < 5 or parts[0] != "torch" or not wheel.name.endswith(".whl"):
        raise FetchError(f"{wheel}: not a torch wheel name (torch-<version>-...whl)")
    return parts[1]


def fill_entry(wheel: Path, version: str, staging: Path) -> Path:
    """Extracts the files of `wheel` into staging/entry with its wheel.json; returns that directory."""
    entry = staging / "entry"
    entry.mkdir()
    digests = {}
    try:
        with zipfile.ZipFile(wheel) as zf:
            names = set(zf.namelist())
            for name, member in FILES.items():
                if member not in names:
                    if name == REQUIRED:
                        raise FetchError(f"{wheel}: the wheel has no {member}")
                    continue
                with zf.open(member) as src, open(entry / name, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                digests[name] = sha256_of(entry / name)
    except (zipfile.BadZipFile, OSError) as e:
        raise FetchError(f"{wheel}: cannot read the wheel ({e})") from None
    meta = {"version": version, "wheel": wheel.name, "sha256": sha256_of(wheel), "files": digests}
    (entry / "wheel.json").write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return entry


def publish(built: Path, entry: Path) -> None:
    """Moves a built entry into place (replacing a corrupt one); a valid entry that another
    fetch renamed there first is kept."""
    if entry.exists():
        shutil.rmtree(entry)
    try:
        os.rename(built, entry)
    except OSError:
        if entry_problem(entry) is not None:
            raise


def run_pip(args: list[str], show: bool) -> tuple[int, str]:
    """Runs `python -m pip ARGS`; with `show`, its output goes to stderr as it comes (progress
    bars included). Returns the exit status and the output's last lines."""
    cmd = [sys.executable, "-m", "pip", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    tail = b""
    assert proc.stdout is not None
    while True:
        chunk = os.read(proc.stdout.fileno(), 65536)
        if not chunk:
            break
        if show:
            sys.stderr.buffer.write(chunk)
            sys.stderr.buffer.flush()
        tail = (tail + chunk)[-65536:]
    return proc.wait(), tail.decode("utf-8", "replace")


def last_error(output: str) -> str:
    """pip's last ERROR line (or its last line): why it failed, for the one-line message."""
    lines = [ln.strip() for ln in output.replace("\r", "\n").splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("ERROR:")]
    return (errors or lines or ["no output"])[-1]


def target_args() -> list[str]:
    return ["--only-binary=:all:", "--platform", PLATFORM, "--python-version", PYTHON_VERSION]


def newest_on_index() -> str:
    """The newest torch release pip's index (the user's configuration) lists for the Mac wheel."""
    rc, out = run_pip(["index", "versions", "torch", *target_args()], show=False)
    if rc != 0:
        raise FetchError(f"pip index versions torch failed (exit {rc}): {last_error(out)}")
    for line in out.splitlines():  # "torch (2.15.0)"
        line = line.strip()
        if line.startswith("torch (") and line.endswith(")"):
            return check_version(line[len("torch ("):-1])
    raise FetchError(f"pip index versions torch: no 'torch (<version>)' line in its output: {last_error(out)}")


def newest_in_cache(torch_dir: Path) -> str:
    found = []
    if torch_dir.is_dir():
        for d in torch_dir.iterdir():
            key = release_key(d.name)
            if key is not None and entry_problem(d) is None:
                found.append((key, d.name))
    if not found:
        raise FetchError(f"no valid torch release in the cache {torch_dir} to stand for latest")
    return max(found)[1]


def make_staging(torch_dir: Path, version: str) -> Path:
    try:
        torch_dir.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".tmp-{version}-", dir=torch_dir))
    except OSError as e:
        raise FetchError(f"cannot write the cache {torch_dir}: {e.strerror or e} "
                         "(set MPSFB_CACHE_DIR or --cache-dir to a writable directory)") from None


def download(version: str, staging: Path) -> Path:
    note(f"downloading the macOS arm64 wheel of torch {version} with pip (about 140 MB), "
         "keeping only its native_functions.yaml and common_mps.py")
    dest = staging / "download"
    dest.mkdir()
    rc, out = run_pip(["download", "--no-deps", *target_args(), "--dest", str(dest),
                       f"torch=={version}"], show=True)
    if rc != 0:
        raise FetchError(f"pip download torch=={version} failed (exit {rc}): {last_error(out)}")
    wheels = sorted(dest.glob("*.whl"))
    if len(wheels) != 1:
        raise FetchError(f"pip download torch=={version} left {len(wheels)} wheels in {dest}, expected one")
    return wheels[0]


def fetch(args: argparse.Namespace) -> Path:
    torch_dir = cache_root(args.cache_dir) / "torch"
    if args.from_wheel:
        wheel = Path(args.from_wheel)
        if not wheel.is_file():
            raise FetchError(f"--from-wheel={wheel}: no such file")
        version = check_version(wheel_version(wheel))
        if args.version not in (None, version):
            raise FetchError(f"--from-wheel={wheel} is torch {version}, not --version={args.version}")
    else:
        if args.version is None:
            raise FetchError("--version is required (a release such as 2.15.0, or latest)")
        version = args.version if args.version == "latest" else check_version(args.version)

    if version == "latest":
        if args.offline:
            version = newest_in_cache(torch_dir)
            note(f"offline: latest is torch {version}, the newest release in the cache {torch_dir}")
        else:
            try:
                version = newest_on_index()
            except FetchError as e:
                version = newest_in_cache(torch_dir) if torch_dir.is_dir() else None
                if version is None:
                    raise
                note(f"{e}; latest is torch {version}, the newest release in the cache {torch_dir}")

    entry = torch_dir / version
    problem = entry_problem(entry)
    if problem is None and not args.from_wheel:
        return entry  # a hit: no pip
    if entry.exists() and problem is not None:
        if args.offline:
            raise FetchError(f"corrupt cache entry: {problem} (run without --offline to fetch it again)")
        note(f"corrupt cache entry: {problem}; fetching it again")
    elif args.offline and not args.from_wheel:
        raise FetchError(f"offline: torch {version} is not in the cache {torch_dir}")

    staging = make_staging(torch_dir, version)
    try:
        wheel = Path(args.from_wheel) if args.from_wheel else download(version, staging)
        if wheel_version(wheel) != version:
            raise FetchError(f"{wheel.name} is not torch {version}")
        built = fill_entry(wheel, version, staging)
        publish(built, entry)
    except OSError as e:
        raise FetchError(f"cannot write the cache entry {entry}: {e.strerror or e}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # the wheel goes with it
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", help="a torch release (2.15.0) or latest")
    parser.add_argument("--cache-dir", help="cache root (default: $MPSFB_CACHE_DIR or ~/.cache/mps-fallback-bench)")
    parser.add_argument("--from-wheel", help="fill the entry from this wheel instead of downloading")
    parser.add_argument("--offline", action="store_true", help="use only the cache (never run pip)")
    args = parser.parse_args(argv)
    try:
        entry = fetch(args)
    except FetchError as e:
        print(f"fetch_torch_files: {e}", file=sys.stderr)
        return 1
    print(entry)
    return 0


if __name__ == "__main__":
    sys.exit(main())
