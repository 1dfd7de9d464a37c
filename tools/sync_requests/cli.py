"""The command line: fetch, tally, merge, record MPS verdicts, write (docs/sync.md)."""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import re
import sys
import urllib.parse
from typing import List, Optional, Sequence, Set, Tuple

from . import verdicts
from .common import (DEFAULT_API_URL, DEFAULT_CACHE_DIR, DEFAULT_ISSUES, DEFAULT_OUT,
                     DEFAULT_REPO, DEFAULT_SEED, TOOL, SyncError, atomic_write, output_target,
                     scrubbable)
from .github import GitHubClient
from .parse import op_family
from .render import FlowList, check_output, render
from .response import check_post
from .schema import FALLS_BACK, NATIVE, UNKNOWN, UNSUPPORTED_DTYPE, VERDICTS
from .seed import CHECK_OPS_MODES, OpChecker, load_seed, merge
from .tally import Post, tally


def _date_arg(text: str) -> str:
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from None


# The environment's numbers: (default, low, high, whether low itself is allowed), each range
# what the value can mean (docs/sync.md "Running it").
ENV_NUMBERS = {
    "MPSFB_SYNC_TIMEOUT": (30.0, 0.0, 3600.0, False),   # s a request may take, whole
    "MPSFB_SYNC_BACKOFF": (1.0, 0.0, 60.0, True),       # s before the first retry
    "MPSFB_SYNC_RETRIES": (3, 0, 10, True),
}


def _env_number(name: str) -> float:
    default, low, high, low_ok = ENV_NUMBERS[name]
    kind = type(default)
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    expected = (f"{'an integer' if kind is int else 'a number'} "
                f"{'from' if low_ok else 'above'} {low:g} to {high:g}")
    try:
        value = kind(raw)
    except ValueError:
        raise SyncError(f"{name}={raw!r} is not a number (expected {expected})") from None
    if not (math.isfinite(value) and (low <= value if low_ok else low < value) and value <= high):
        raise SyncError(f"{name}={raw!r} is out of range (expected {expected})")
    return value


def _issue_arg(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive issue number, got {text!r}")
    return number


def _check_api_url(url: str) -> None:
    """One line for an --api-url that is not an http(s) URL with a host."""
    try:
        parts = urllib.parse.urlsplit(url)
        _ = parts.port  # a port that is not a number raises here
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) \
            and not any(c.isspace() for c in url)
    except ValueError:  # "http://[::1"
        ok = False
    if not ok:
        raise SyncError(f"--api-url must be an http(s) URL with a host, such as "
                        f"https://api.github.com; got {url!r}")


def _check_cache_dir(path: str) -> None:
    """--cache-dir must be a directory, or creatable as one: no file in its way."""
    if not path:  # "" would be the current folder
        raise SyncError("--cache-dir is empty: pass a directory for the response cache "
                        "(default: " + DEFAULT_CACHE_DIR + ")")
    probe = os.path.abspath(path)
    while not os.path.exists(probe):
        parent = os.path.dirname(probe)
        if parent == probe:
            return
        probe = parent
    if not os.path.isdir(probe):
        what = "is a file" if probe == os.path.abspath(path) else f"is under {probe}, a file"
        raise SyncError(f"--cache-dir {path} {what}, not a directory (pass a directory for the "
                        "response cache)")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sync_requests.py",
        description="Count MPS op requests in the PyTorch tracking issues and write "
                    "ops/targets.yaml (seed entries + demand + new ops).",
        epilog="Token: GH_TOKEN (optional). Details: docs/sync.md")
    p.add_argument("--issues", type=_issue_arg, nargs="+", default=list(DEFAULT_ISSUES),
                   metavar="N", help="issue numbers (default: %(default)s)")
    p.add_argument("--repo", default=DEFAULT_REPO, help="owner/name (default: %(default)s)")
    p.add_argument("--out", default=DEFAULT_OUT, help="output file (default: %(default)s)")
    p.add_argument("--seed", default=None,
                   help=f"curated seed to merge (default: {DEFAULT_SEED}; skipped with a "
                        "note if the default is missing, an error if a given one is)")
    p.add_argument("--cache-dir", default=DEFAULT_CACHE_DIR,
                   help="response cache with ETags (default: %(default)s)")
    p.add_argument("--offline", action="store_true",
                   help="replay the cache only; no network")
    p.add_argument("--api-url", default=DEFAULT_API_URL, help="default: %(default)s")
    p.add_argument("--since", type=_date_arg, metavar="YYYY-MM-DD",
                   help="count only comments created on or after this date")
    p.add_argument("--check-ops", choices=CHECK_OPS_MODES,
                   default=os.environ.get("MPSFB_SYNC_CHECK_OPS") or "auto",
                   help="check new op names against the dispatcher of an importable torch: "
                        "auto (if torch imports), torch (required), off "
                        "(default: $MPSFB_SYNC_CHECK_OPS or auto)")
    p.add_argument("--mps-benchmarks", metavar="PATH",
                   help="the mps_benchmarks binary: record each entry's MPS verdict for its "
                        "torch (--list-verdicts) and check that it loads the output "
                        "(sync-targets passes its build's; without it, no verdicts)")
    p.add_argument("--native-functions", metavar="PATH",
                   help="passed on to mps_benchmarks: the native_functions.yaml the verdicts "
                        "come from (default: the one beside its torch)")
    p.add_argument("--verdict-torch", metavar="VERSION",
                   help="passed on to mps_benchmarks: judge by that torch release (2.15.0) or "
                        "latest, fetched into its cache (default: the torch it links)")
    p.add_argument("-v", "--verbose", action="store_true", help="log requests on stderr")
    p.add_argument("--backoff", type=float, default=None, help=argparse.SUPPRESS)
    return p


def run(args: argparse.Namespace) -> int:
    if args.check_ops not in CHECK_OPS_MODES:
        raise SyncError(f"MPSFB_SYNC_CHECK_OPS={args.check_ops!r}: expected one of "
                        f"{', '.join(CHECK_OPS_MODES)}")
    token = os.environ.get("GH_TOKEN") or None
    if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", args.repo):
        raise SyncError(f"--repo must be owner/name, got {args.repo!r}")
    _check_api_url(args.api_url)  # offline too: the cache keys come from it
    _check_cache_dir(args.cache_dir)
    if not args.offline:
        if not token:
            sys.stderr.write("sync_requests: note: GH_TOKEN is not set; unauthenticated "
                             "requests are limited to 60 per hour\n")
    backoff = args.backoff if args.backoff is not None else _env_number("MPSFB_SYNC_BACKOFF")
    client = GitHubClient(
        api_url=args.api_url, token=token, cache_dir=args.cache_dir, offline=args.offline,
        retries=int(_env_number("MPSFB_SYNC_RETRIES")), backoff=backoff,
        timeout=_env_number("MPSFB_SYNC_TIMEOUT"), verbose=args.verbose)
    out_path = output_target(args.out, "--out")  # before anything is fetched

    if args.native_functions is not None and not args.mps_benchmarks:
        raise SyncError("--native-functions is passed on to mps_benchmarks: it needs "
                        "--mps-benchmarks PATH")
    if args.verdict_torch is not None and not args.mps_benchmarks:
        raise SyncError("--verdict-torch is passed on to mps_benchmarks: it needs "
                        "--mps-benchmarks PATH")
    if args.verdict_torch is not None and args.native_functions is not None:
        raise SyncError("--verdict-torch and --native-functions both name the verdicts' torch: "
                        "give one")
    if args.mps_benchmarks:
        verdicts.check_binary(args.mps_benchmarks, args.native_functions)

    seed_path = args.seed if args.seed is not None else DEFAULT_SEED
    if os.path.realpath(seed_path) == os.path.realpath(args.out):
        raise SyncError(f"--out {args.out} is the seed: the curated file is an input only")
    seed_ops = load_seed(seed_path, explicit=args.seed is not None)
    known = {op_family(e["op"]).partition("::")[2] for e in seed_ops
             if e["op"].startswith("aten::")}

    # Fetch everything first: any failure stops before the output is touched.
    posts: List[Post] = []
    comments_read = 0
    issues = list(dict.fromkeys(args.issues))
    for number in issues:
        issue = check_post(client.issue(args.repo, number), f"issue {args.repo}#{number}",
                           is_issue=True)
        expected = issue.get("comments")
        comments = [check_post(c, f"comment {i} of {args.repo}#{number}")
                    for i, c in enumerate(client.comments(args.repo, number, expected), 1)]
        seen_ids: Set[object] = set()
        unique_comments = []
        for c in comments:
            cid = c.get("id")
            if cid is not None and cid in seen_ids:
                continue
            seen_ids.add(cid)
            unique_comments.append(c)
        comments_read += len(unique_comments)
        if isinstance(expected, int) and expected != len(unique_comments):
            client.log(f"{args.repo}#{number}: issue says {expected} comments, read "
                       f"{len(unique_comments)}")
        posts.append(Post.from_api(number, issue))
        posts.extend(Post.from_api(number, c) for c in unique_comments)

    t = tally(posts, known, args.since)
    t.comments_read = comments_read
    seed_families = {op_family(e["op"]) for e in seed_ops}
    checker = None
    if any(fam not in seed_families for fam in t.families):
        checker = OpChecker(args.check_ops)
        if args.check_ops == "auto" and not checker.active:
            sys.stderr.write("sync_requests: note: torch is not importable here, so new op names "
                             "are not checked (mps_benchmarks rejects names its LibTorch does "
                             "not know)\n")
    ops, kept, n_new, unresolved = merge(seed_ops, t, checker)

    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    today = (dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).date() if epoch
             and epoch.isdigit() else dt.date.today()).isoformat()
    generated = {"date": today, "tool": TOOL, "repo": args.repo, "issues": FlowList(issues)}
    if args.since:
        generated["since"] = args.since
    generated.update({
        "comments_read": comments_read,
        "requesting_comments": t.requesting,
        "ignored_comments": dict(sorted(t.ignored.items())),
        "torch_versions_seen": FlowList(t.torch_versions),
        "commit_hashes_seen": t.commit_hashes,
        "seed": seed_path if os.path.exists(seed_path) else None,
        "seed_demand_kept": kept,
        "new_ops": n_new,
        "op_check": checker.status if checker else "no new ops",
    })
    if unresolved:
        generated["unresolved_ops"] = unresolved
    if t.unrecognised:
        generated["unrecognised_names"] = t.unrecognised
    if t.limits_applied:
        generated["limits_applied"] = t.limits_applied
    doc = {"version": 1, "generated": generated, "ops": ops}
    sections, verdict_summary = _record_verdicts(args, doc, ops[len(ops) - n_new:])
    text = render(doc, sections)
    check_output(text)
    secret = scrubbable(token)
    if secret and secret in text:  # belt and braces: comments could quote anything
        raise SyncError("refusing to write output that contains the API token")
    if args.mps_benchmarks:
        verdicts.check_loads(args.mps_benchmarks, text)
    try:
        atomic_write(out_path, text)
    except OSError as exc:
        raise SyncError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    source = "cache" if args.offline else args.api_url
    print(f"sync_requests: wrote {args.out}: {len(ops)} ops ({len(ops) - n_new} from the seed, "
          f"{n_new} new); {t.requesting} requesting comments of {comments_read} read from "
          + ", ".join(f"#{n}" for n in issues) + f" ({source}; {client.stats['fetched']} fetched, "
          f"{client.stats['not_modified']} not modified)")
    print(f"sync_requests: {verdict_summary}")
    return 0


def _record_verdicts(args: argparse.Namespace, doc: dict, new: List[dict]
                     ) -> Tuple[Optional[List[Tuple[str, List[dict]]]], str]:
    """Each entry's MPS verdict from `mps_benchmarks --list-verdicts` (docs/sync.md "MPS
    verdicts"), recorded in the entries and in generated.mps_verdicts.

    Returns (the sections to write the ops in, or None for the merged order; the summary)."""
    generated, ops = doc["generated"], doc["ops"]
    if not args.mps_benchmarks:
        generated["mps_verdicts"] = "not recorded (no --mps-benchmarks)"
        return None, ("MPS verdicts not recorded (no --mps-benchmarks; the sync-targets "
                      "target passes its build's mps_benchmarks)")
    found = verdicts.list_verdicts(args.mps_benchmarks, render(doc), args.native_functions,
                                   args.verdict_torch)
    if found.missing:
        why = f"mps_benchmarks found no native_functions.yaml ({found.missing})"
        generated["mps_verdicts"] = f"not recorded: {why}"
        return None, f"MPS verdicts not recorded: {why}; pass --native-functions PATH"
    verdicts.record(ops, found)
    n = verdicts.counts(ops, new)
    generated["mps_verdicts"] = {
        "torch": found.torch, "from": "mps_benchmarks --list-verdicts",
        "native_functions": found.native_functions,
        **({"verdict_torch": args.verdict_torch, "verdict_source": found.source}
           if args.verdict_torch is not None else {}),
        **{v.replace(" ", "_"): n[v][0] for v in VERDICTS}}
    summary = (f"MPS verdicts for torch {found.torch}: {n[FALLS_BACK][0]} entries still fall "
               f"back, {n[NATIVE][0]} native, {n[UNSUPPORTED_DTYPE][0]} unsupported dtype, "
               f"{n[UNKNOWN][0]} unknown")
    if new:
        summary += (f"; new requests: {n[FALLS_BACK][1]} fall back, {n[NATIVE][1]} native, "
                    f"{n[UNSUPPORTED_DTYPE][1]} unsupported dtype, {n[UNKNOWN][1]} unknown")
    return verdicts.sections(ops, found.torch), summary


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    secret = scrubbable(os.environ.get("GH_TOKEN"))
    try:
        return run(args)
    except SyncError as exc:
        msg = " ".join(str(exc).split())
        if secret:
            msg = msg.replace(secret, "***")
        sys.stderr.write(f"sync_requests: error: {msg}\n")
        return 1
    except OSError as exc:  # the cache directory, mostly (the output has its own message)
        where = f" ({exc.filename})" if exc.filename else ""
        sys.stderr.write(f"sync_requests: error: {exc.strerror or exc}{where}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("sync_requests: error: interrupted; nothing written\n")
        return 130
