"""Sync MPS op demand from the PyTorch tracking issues into ops/targets.yaml.

Reads every comment of pytorch/pytorch#77764 and #141287 (and the issue bodies) from the
GitHub REST API, finds the ops each user asks for, counts demand the way
pytorch/pytorch#154052 does (votes = unique requesting users + thumbs-up on their requesting
comments) and writes ops/targets.yaml: the curated seed entries with fresh `demand:` blocks,
followed by newly requested ops (`needs_fixture: true`), sorted by votes.  Given the
mps_benchmarks binary, it records each entry's MPS verdict for the installed torch and
writes the entries that still fall back first, then those now native.

Run it as `python3 tools/sync_requests.py ...` (a shim for this package; the CMake target
`sync-targets` does so); rules and options in docs/sync.md.  Modules, by concern:

    schema    the targets.yaml keys and dtype names (the one Python copy; checked against
              mps_benchmarks by a ctest)
    parse     op names, shapes, dtypes, versions and use cases in one comment
    github    the REST client with its ETag cache
    tally     votes per op family
    seed      the curated seed, the op check and the merge
    verdicts  each entry's MPS verdict, from `mps_benchmarks --list-verdicts`
    render    YAML output, sections and the self-check
    cli       the command line
    common    SyncError, defaults, atomic_write

Needs only Python 3.8+, requests and PyYAML; with torch importable, new op names are also
checked against its dispatcher.
"""

import sys

try:
    import requests  # noqa: F401 - checked here so that a missing package is one line
    import yaml  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the interpreter
    sys.stderr.write(
        f"sync_requests: error: missing Python package ({exc.name}); "
        "install tools/requirements.txt\n")
    sys.exit(2)

from .cli import build_parser, main, run  # noqa: E402
from .common import SyncError, atomic_write  # noqa: E402
from .github import GitHubClient  # noqa: E402
from .parse import USE_CASE_CHARS, Parsed, normalise_bare, op_family, parse_comment  # noqa: E402
from .render import check_output, render  # noqa: E402
from .seed import OpChecker, default_shapes, load_seed, merge, resolve_new_op  # noqa: E402
from .tally import FamilyDemand, Post, Tally, tally  # noqa: E402

__all__ = [
    "FamilyDemand", "GitHubClient", "OpChecker", "Parsed", "Post", "SyncError", "Tally",
    "USE_CASE_CHARS", "atomic_write", "build_parser", "check_output", "default_shapes",
    "load_seed", "main", "merge", "normalise_bare", "op_family", "parse_comment",
    "render", "resolve_new_op", "run", "tally",
]
