"""The curated seed and the merge: seed entries with fresh demand, then the new requests.

Rules: docs/sync.md "Merge".  New op names are checked against the dispatcher of an
importable torch, so that mps_benchmarks (whose LibTorch is that torch) loads the file.
"""

from __future__ import annotations

import os
import re
import sys
from typing import Dict, List, Optional, Tuple

import yaml

from .common import DEFAULT_SEED, SyncError, read_regular
from .parse import op_family
from .render import FlowList, flowify
from .schema import (DTYPE_BYTES, DTYPES, ENTRY_KEYS, ENTRY_MAPS, MAX_COUNT, MAX_OP_NAME,
                     MAX_SHAPE_DIMS, MEMORY_BUDGET_MB, TOP_KEYS)
from .tally import FamilyDemand, Tally

MAX_NEW_SHAPES = 4       # shapes kept for a new op
CHECK_OPS_MODES = ("auto", "torch", "off")

# Libraries whose ops need loading (targets.yaml `requires:`), by op namespace.
NAMESPACE_REQUIRES = {"torchvision": "torchvision", "torchaudio": "torchaudio"}


# Bounds on the seed (docs/fuzzing.md "Limits"): the nodes a full walk visits, each alias
# counting its anchor's nodes again, as the C++ decoder counts them (benchmarks/yaml_guard.h:
# ops/targets.seed.yaml has about 9,000; aliases of aliases otherwise grow geometrically, and
# the output would write every copy); the nesting, which PyYAML's composer recurses through
# (a targets file nests about 7 levels); the file's size, a hundred times the project's seed.
MAX_SEED_NODES = 1_000_000
MAX_SEED_DEPTH = 128
MAX_SEED_BYTES = 16 << 20


class _SeedLoader(yaml.SafeLoader):
    """SafeLoader that keeps dates as strings (first_request: 2024-05-02 stays text) and
    counts, while composing, the nodes a walk of the document visits with aliases expanded:
    a node's count is kept as it is composed, so an alias costs a lookup, never a walk."""

    def __init__(self, stream):
        super().__init__(stream)
        self._walk_nodes = 0
        self._depth = 0
        self._sizes: Dict[int, int] = {}   # id(node) -> nodes under it, aliases expanded

    def _count(self, n: int, mark, what: str) -> None:
        self._walk_nodes += n
        if self._walk_nodes > MAX_SEED_NODES:
            raise yaml.composer.ComposerError(
                None, None, f"{what} brings the document past {MAX_SEED_NODES} nodes with its "
                "aliases expanded (expected: a targets file of plain values)", mark)

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            node = super().compose_node(parent, index)   # the anchored node itself, shared
            self._count(self._sizes.get(id(node), 1), event.start_mark, f"alias *{event.anchor}")
            return node
        if self._depth >= MAX_SEED_DEPTH:
            raise yaml.composer.ComposerError(
                None, None, f"nesting deeper than {MAX_SEED_DEPTH} levels (expected: a targets "
                "file nests about 7)", event.start_mark)
        self._count(1, event.start_mark, "this node")
        self._depth += 1
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        else:
            children = []
        self._sizes[id(node)] = 1 + sum(self._sizes.get(id(c), 1) for c in children)
        return node


_SeedLoader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

# namespace::name[.overload], each part an identifier, the overload may start with a digit: the
# rule of benchmarks/targets.cpp is_op_name (test_sync_mps_benchmarks.py checks the two agree).
_OP_NAME_RE = re.compile(r"[A-Za-z_]\w*::[A-Za-z_]\w*(\.\w+)?", re.ASCII)


def is_op_name(name: str) -> bool:
    return _OP_NAME_RE.fullmatch(name) is not None


def _known_keys(mapping: dict, allowed: Tuple[str, ...], where: str, what: str) -> None:
    for key in mapping:
        if key not in allowed:
            raise SyncError(f"{where}: unknown {what} '{key}' (allowed: {', '.join(allowed)})")


def load_seed(path: Optional[str], explicit: bool) -> List[dict]:
    if path is None or not os.path.exists(path):
        if explicit:
            raise SyncError(f"seed file {path} not found (pass the curated seed, e.g. "
                            f"--seed {DEFAULT_SEED})")
        sys.stderr.write(f"sync_requests: note: no seed file at {path}; writing the requested "
                         "ops only\n")
        return []
    try:
        text = read_regular(path, MAX_SEED_BYTES, "seed").decode("utf-8")
        data = yaml.load(text, Loader=_SeedLoader)  # noqa: S506 - SafeLoader subclass
    except (OSError, UnicodeDecodeError) as exc:
        raise SyncError(f"cannot read seed {path}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise SyncError(f"seed {path}{where}: {problem}") from None
    if not isinstance(data, dict):
        raise SyncError(f"seed {path}: expected a mapping with 'version' and 'ops'")
    _known_keys(data, TOP_KEYS, f"seed {path}", "top-level key")
    if data.get("version") != 1:
        raise SyncError(f"seed {path}: 'version' must be 1")
    ops = data.get("ops") or []
    if not isinstance(ops, list):
        raise SyncError(f"seed {path}: 'ops' must be a list")
    for i, entry in enumerate(ops):
        label = f"seed {path}: ops[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("op"), str):
            raise SyncError(f"{label}: expected a mapping with an 'op' name")
        label += f" ({entry['op']})"
        if not is_op_name(entry["op"]):
            raise SyncError(f"{label}: op must be namespace::name[.overload]")
        _known_keys(entry, ENTRY_KEYS, label, "key")
        for block, allowed in ENTRY_MAPS.items():
            value = entry.get(block)
            if value is None:
                continue
            if not isinstance(value, dict):
                raise SyncError(f"{label}: '{block}' must be a mapping")
            _known_keys(value, allowed, label, f"{block} key")
    return ops


def default_shapes(family: str) -> List[List[int]]:
    """Placeholder shapes for a new op with none in its comments (docs/sync.md)."""
    name = family.partition("::")[2]
    if "3d" in name:
        return [[1, 3, 16, 64, 64]]       # N, C, D, H, W
    if "2d" in name:
        return [[1, 3, 224, 224]]         # N, C, H, W
    if "1d" in name:
        return [[1, 3, 1024]]             # N, C, L
    return [[256, 256]]                   # square: elementwise, reductions and linalg alike


def _zero_demand() -> dict:
    return {"votes": 0, "users": 0, "thumbs_up": 0, "issues": FlowList([]), "links": []}


class OpChecker:
    """Looks op names up in the dispatcher of an importable torch.

    mps_benchmarks rejects a targets file naming an op or overload its LibTorch does not
    know (unless the entry has `requires:`), and CMake takes LibTorch from the same
    interpreter's torch, so checking new ops here keeps `sync-targets` output loadable.
    mode: 'auto' (check if torch imports), 'torch' (torch required), 'off'.
    """

    def __init__(self, mode: str):
        self.mode = mode
        self._schemas = None
        self.status = "off"
        if mode == "off":
            return
        try:
            import torch  # noqa: PLC0415 - optional, slow (~2 s): only when there are new ops
            self._schemas = torch._C._jit_get_schemas_for_operator
            self.status = f"torch {torch.__version__}"
        except Exception as exc:  # ImportError, or a broken install
            if mode == "torch":
                raise SyncError(f"--check-ops=torch: cannot use torch here "
                                f"({type(exc).__name__}: {exc})") from None
            self.status = "unavailable (torch not importable)"

    @property
    def active(self) -> bool:
        return self._schemas is not None

    def overloads(self, family: str) -> Optional[List[str]]:
        """Overload names of `family` ('' = default); [] if unknown; None if unchecked."""
        if self._schemas is None:
            return None
        try:
            return [sch.overload_name for sch in self._schemas(family)]
        except Exception:  # a name torch cannot parse: unknown
            return []


def resolve_new_op(family: str, d: FamilyDemand,
                   checker: Optional[OpChecker]) -> Tuple[Optional[str], Optional[str]]:
    """Name for a new entry: the most requested variant the dispatcher knows.

    Returns (name, remark); name None = the dispatcher has no such op (dropped).
    Variants are tried by request count; if none is known, the default overload, else
    the first non-out overload, else the first one.
    """
    ordered = [op for op, _ in sorted(d.variants.items(),
                                      key=lambda kv: (-kv[1], len(kv[0]), kv[0]))]
    overloads = checker.overloads(family) if checker else None
    if overloads is None:
        return ordered[0], None
    if not overloads:
        return None, None
    for op in ordered:
        overload = op.partition("::")[2].partition(".")[2]
        if overload in overloads:
            return op, None
    pick = "" if "" in overloads else next(
        (o for o in overloads if not o.endswith("out")), overloads[0])
    name = family + (f".{pick}" if pick else "")
    return name, f"the dispatcher has no {ordered[0]}, so {name}"


def _shown_op(op: str) -> str:
    return op if len(op) <= 60 else f"{op[:40]}... ({len(op)} characters)"


def _fitting_demand(op: str, d: FamilyDemand, notes: List[str]) -> dict:
    """The family's demand block, its counts clipped to what the decoder reads (int64)."""
    demand = d.as_yaml()
    for key in ("votes", "users", "thumbs_up"):
        if demand[key] > MAX_COUNT:
            notes.append(f"{_shown_op(op)}: demand.{key} {demand[key]} clipped to {MAX_COUNT} "
                         "(int64, what mps_benchmarks reads)")
            demand[key] = MAX_COUNT
    return demand


def _fitting_shapes(op: str, shapes: List[List[int]], dtypes: List[str],
                    notes: List[str]) -> List[List[int]]:
    """The shapes mps_benchmarks accepts for an entry of these dtypes: at most MAX_SHAPE_DIMS
    dimensions, an input tensor within its default memory budget for every dtype."""
    widest = max(dtypes, key=lambda x: DTYPE_BYTES[x])
    kept, dropped = [], []
    for shape in shapes:
        size = DTYPE_BYTES[widest]
        for dim in shape:
            size *= dim
        if len(shape) > MAX_SHAPE_DIMS:
            dropped.append(f"a shape of {len(shape)} dimensions (more than {MAX_SHAPE_DIMS})")
        elif size > MEMORY_BUDGET_MB << 20:
            dropped.append(f"{'x'.join(map(str, shape))} ({widest} needs {size >> 20} MiB, over "
                           f"the {MEMORY_BUDGET_MB} MiB budget)")
        else:
            kept.append(shape)
    if dropped:
        notes.append(f"{op}: {len(dropped)} shape(s) dropped, e.g. {dropped[0]}")
    return kept


def merge(seed_ops: List[dict], t: Tally, checker: Optional[OpChecker] = None
          ) -> Tuple[List[dict], List[str], int, Dict[str, int]]:
    """Seed entries (in seed order, demand refreshed) + new ops (votes descending).

    Returns (ops, seed ops that kept their seed demand, number of new ops, requested
    aten ops the dispatcher does not know -> votes; those are left out).  What comments
    asked for beyond the C++ decoder's limits (schema.py) is dropped or clipped, and said in
    t.limits_applied (generated.limits_applied).
    """
    out: List[dict] = []
    kept: List[str] = []
    seed_families = set()
    for entry in seed_ops:
        fam = op_family(entry["op"])
        seed_families.add(fam)
        fresh = t.families.get(fam)
        old = entry.get("demand")
        if fresh is not None:
            demand = _fitting_demand(entry["op"], fresh, t.limits_applied)
        elif isinstance(old, dict) and old.get("links"):
            demand = old                        # hand-curated links the sync cannot see
            kept.append(entry["op"])
        else:
            demand = _zero_demand()
        new_entry = {}
        for key, value in entry.items():
            new_entry[key] = demand if key == "demand" else flowify(key, value)
        new_entry.setdefault("demand", demand)
        if isinstance(new_entry["demand"], dict) and "issues" in new_entry["demand"]:
            new_entry["demand"]["issues"] = FlowList(new_entry["demand"]["issues"] or [])
        out.append(new_entry)

    new = [(fam, d) for fam, d in t.families.items() if fam not in seed_families]
    new.sort(key=lambda x: (-x[1].votes, -len(x[1].users), x[0]))
    unresolved: Dict[str, int] = {}
    n_new = 0
    checked = checker is not None and checker.active
    long_names = [(fam, d) for fam, d in new if len(fam) > MAX_OP_NAME]
    if long_names:
        t.limits_applied.append(
            f"{len(long_names)} op name(s) longer than {MAX_OP_NAME} characters dropped "
            f"({sum(d.votes for _, d in long_names)} votes), e.g. {_shown_op(long_names[0][0])}")
    for fam, d in new:
        if len(fam) > MAX_OP_NAME:
            continue
        ns = fam.partition("::")[0]
        op, remark = resolve_new_op(fam, d, checker)
        requires = NAMESPACE_REQUIRES.get(ns)
        if op is None and ns == "aten":         # not in this torch: leave it out, say so
            unresolved[fam] = d.votes
            continue
        if op is None or (ns != "aten" and not checked):
            # another library's op, not loaded (or not checked) here: `requires:` makes the
            # suite report it as unavailable instead of rejecting the file
            op, requires = op or resolve_new_op(fam, d, None)[0], requires or ns
        if len(op) > MAX_OP_NAME:  # the family fits, its most requested overload does not
            t.limits_applied.append(f"{_shown_op(op)}: op name longer than {MAX_OP_NAME} "
                                    f"characters; {fam} used")
            op = fam
        dtypes = [x for x in DTYPES if x in d.dtypes] or ["f32"]
        shapes = [list(s) for s, _ in sorted(d.shapes.items(), key=lambda kv: -kv[1])]
        shapes = _fitting_shapes(op, shapes, dtypes, t.limits_applied)
        shapes = shapes[:MAX_NEW_SHAPES] or default_shapes(fam)
        entry = {"op": op, "shapes": FlowList(FlowList(s) for s in shapes),
                 "dtypes": FlowList(dtypes), "needs_fixture": True}
        if requires:
            entry["requires"] = requires
        note = "new from sync_requests; requested as " + ", ".join(sorted(d.variants))
        entry["note"] = note + (f"; {remark}" if remark else "")
        entry["demand"] = _fitting_demand(op, d, t.limits_applied)
        out.append(entry)
        n_new += 1
    return out, kept, n_new, unresolved
