"""Each entry's MPS verdict for the installed torch, as mps_benchmarks judges it.

The rule is C++ (benchmarks/contract/verdict.h: native_functions.yaml of the linked torch,
composites judged leaf by leaf); the sync runs `mps_benchmarks --list-verdicts` on the merged
targets and records what it prints, with no Python copy of the rule.  The same binary then
loads the final text before it is written, so the file is one the suite accepts.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence, Tuple

from .common import SyncError
from .render import FlowList
from .schema import FALLS_BACK, NATIVE, UNKNOWN, UNSUPPORTED_DTYPE, VERDICTS

TIMEOUT_S = 600          # per run of mps_benchmarks (a composite's leaves take one CPU call)

# Comment line above each section of ops/targets.yaml, in VERDICTS order.
SECTION_TITLES = {
    FALLS_BACK: "Falls back to the CPU on MPS in torch {torch}: {n} (still missing; seed order, "
                "then new requests by votes)",
    NATIVE: "Native on MPS in torch {torch}: {n} (implemented; kept for older torch builds, "
            "and requests here can be closed)",
    UNSUPPORTED_DTYPE: "Unsupported dtype on MPS in torch {torch}: {n} (MPS cannot hold the "
                       "dtype: an error there, not a fallback)",
    UNKNOWN: "MPS verdict unknown for torch {torch}: {n} (not in this build's dispatcher, or a "
             "composite whose leaves could not be observed)",
}


@dataclass
class Verdicts:
    """What `mps_benchmarks --list-verdicts` said about a targets file."""
    torch: str
    native_functions: str        # the yaml's path, or "not found: why"
    rows: List[dict]             # one per entry, in file order
    source: str = ""             # the verdicts' source (torch, file, sha256 or commit)

    @property
    def missing(self) -> Optional[str]:
        """Why there are no verdicts (the binary found no native_functions.yaml), or None."""
        nf = self.native_functions
        return nf[len("not found:"):].strip() if nf.startswith("not found") else None


def check_binary(path: str, native_functions: Optional[str]) -> None:
    """Before anything is fetched: the binary and an explicit yaml must be there."""
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        raise SyncError(f"--mps-benchmarks {path}: not an executable file (build it: "
                        "cmake --build build/dev --target mps_benchmarks)")
    if native_functions is not None and not os.path.isfile(native_functions):
        raise SyncError(f"--native-functions {native_functions}: no such file")


def _run(binary: str, flags: Sequence[str], text: str, what: str
         ) -> Tuple[subprocess.CompletedProcess, str]:
    """Run `binary --device=cpu --targets=<text in a temp file> flags`.

    Returns (the finished process, its stderr's last meaningful line with the temp path
    named as `what`)."""
    fd, path = tempfile.mkstemp(prefix="sync_requests-", suffix=".yaml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        cmd = [binary, "--device=cpu", f"--targets={path}", *flags]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_S,
                                  stdin=subprocess.DEVNULL)
        except OSError as exc:
            raise SyncError(f"cannot run {binary}: {exc.strerror or exc}") from None
        except subprocess.TimeoutExpired:
            raise SyncError(f"{binary} {' '.join(flags)} did not finish within {TIMEOUT_S} s"
                            ) from None
    finally:
        os.unlink(path)
    lines = [" ".join(line.split()) for line in proc.stderr.splitlines()]
    lines = [line for line in lines if line]
    detail = lines[-1].replace(path, what) if lines else "no message"
    for i, line in enumerate(lines):
        if "problem(s) in the targets file" in line and i + 1 < len(lines):
            more = len(lines) - i - 2
            detail = _where(lines[i + 1], path, text, what)
            detail += f" (and {more} more)" if more else ""
            break
    return proc, detail


def _where(problem: str, path: str, text: str, what: str) -> str:
    """'<path>:L:C: what' -> 'ops entry <op> (line L of <what>): what'."""
    m = re.match(re.escape(path) + r":(\d+):\d+: (.*)", problem)
    if not m:
        return problem.replace(path, what)
    line, message = int(m.group(1)), m.group(2)
    all_lines = text.splitlines()
    start = next((i for i in range(min(line, len(all_lines)) - 1, -1, -1)
                  if all_lines[i].startswith("- ")), None)
    op = None
    for i in range(start, len(all_lines)) if start is not None else ():  # the line's entry
        if i > start and not all_lines[i].startswith("  "):
            break
        m = re.match(r"(?:- |  )op: (\S+)", all_lines[i])
        if m:
            op = m.group(1)
            break
    place = f"ops entry {op}" if op else "the top level"
    return f"{place} (line {line} of {what}): {message}"


def list_verdicts(binary: str, text: str, native_functions: Optional[str],
                  verdict_torch: Optional[str] = None) -> Verdicts:
    """Run `mps_benchmarks --list-verdicts` on the merged targets `text`."""
    flags = ["--list-verdicts"]
    if native_functions is not None:
        flags.append(f"--native-functions={native_functions}")
    if verdict_torch is not None:
        flags.append(f"--verdict-torch={verdict_torch}")
    proc, detail = _run(binary, flags, text, "<merged targets>")
    if proc.returncode != 0:
        raise SyncError(f"mps_benchmarks --list-verdicts failed (exit {proc.returncode}): "
                        f"{detail}")
    try:
        data = json.loads(proc.stdout)
        rows = data["ops"]
        result = Verdicts(torch=data["torch_version"],
                          native_functions=data["native_functions"], rows=rows,
                          source=str(data.get("verdict_source", "")))
        ok = (isinstance(result.torch, str) and isinstance(result.native_functions, str)
              and isinstance(rows, list) and all(isinstance(r, dict) for r in rows))
    except (ValueError, KeyError, TypeError):
        ok = False
    if not ok:
        raise SyncError(f"{binary} --list-verdicts printed no verdict list (JSON with "
                        "torch_version, native_functions and ops); is it this checkout's build?")
    return result


def record(ops: List[dict], verdicts: Verdicts) -> None:
    """Set each entry's `mps_verdict` from the binary's row for it (same order)."""
    if len(verdicts.rows) != len(ops):
        raise SyncError(f"mps_benchmarks --list-verdicts gave {len(verdicts.rows)} verdicts for "
                        f"{len(ops)} entries")
    for entry, row in zip(ops, verdicts.rows):
        verdict, via, source = (row.get("mps_verdict"), row.get("mps_via"),
                                row.get("verdict_source"))
        if row.get("op") != entry["op"] or not isinstance(via, list) or not isinstance(
                source, str):
            raise SyncError(f"mps_benchmarks --list-verdicts: unexpected row for {entry['op']} "
                            f"(op {row.get('op')!r}, mps_via, verdict_source)")
        if verdict not in VERDICTS:
            raise SyncError(f"mps_benchmarks --list-verdicts: unknown verdict {verdict!r} for "
                            f"{entry['op']} (expected one of: {', '.join(VERDICTS)})")
        entry["mps_verdict"] = {"torch": verdicts.torch, "verdict": verdict,
                                "via": FlowList(str(v) for v in via), "source": source}


def sections(ops: List[dict], torch: str) -> List[Tuple[str, List[dict]]]:
    """The entries by verdict (falls back, native, unsupported dtype, unknown), each in the
    merged order (seed order, then new requests by votes)."""
    out = []
    for verdict in VERDICTS:
        entries = [e for e in ops if e["mps_verdict"]["verdict"] == verdict]
        out.append((SECTION_TITLES[verdict].format(torch=torch, n=len(entries)), entries))
    return out


def counts(ops: List[dict], new: Sequence[dict]) -> Dict[str, Tuple[int, int]]:
    """verdict -> (entries, of which new requests)."""
    new_ids = {id(e) for e in new}
    return {v: (sum(e["mps_verdict"]["verdict"] == v for e in ops),
                sum(e["mps_verdict"]["verdict"] == v and id(e) in new_ids for e in ops))
            for v in VERDICTS}


def check_loads(binary: str, text: str) -> None:
    """The final text must load in mps_benchmarks (`--benchmark_list_tests`)."""
    proc, detail = _run(binary, ["--benchmark_list_tests"], text, "<output>")
    if proc.returncode != 0:
        raise SyncError(f"mps_benchmarks does not load the output (exit {proc.returncode}): "
                        f"{detail}")
