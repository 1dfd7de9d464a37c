#!/usr/bin/env python3
"""Sync MPS op demand from the PyTorch tracking issues into ops/targets.yaml.

Reads every comment of pytorch/pytorch#77764 and #141287 (and the issue bodies) from the
GitHub REST API, finds the ops each user asks for, counts demand the way
pytorch/pytorch#154052 does (votes = unique requesting users + thumbs-up on their requesting
comments) and writes ops/targets.yaml: the curated seed entries with fresh `demand:` blocks,
followed by newly requested ops (`needs_fixture: true`), sorted by votes.

Usage (see docs/sync.md for the parsing, vote and merge rules):

    python3 tools/sync_requests.py [--issues 77764 141287] [--out ops/targets.yaml]
        [--seed ops/targets.seed.yaml] [--cache-dir .cache/github] [--offline]
        [--api-url https://api.github.com] [--since YYYY-MM-DD]
        [--check-ops auto|torch|off] [-v]

Environment: GH_TOKEN (optional API token; never written anywhere), MPSFB_SYNC_BACKOFF
(base retry delay in seconds, default 1), MPSFB_SYNC_RETRIES (default 3),
MPSFB_SYNC_TIMEOUT (seconds per request, default 30), MPSFB_SYNC_CHECK_OPS (default of
--check-ops), SOURCE_DATE_EPOCH (fixes `generated.date`).

Needs only Python 3.8+, requests and PyYAML; with torch importable, new op names are also
checked against its dispatcher.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import hashlib
import json
import os
import re
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Sequence, Set, Tuple

try:
    import requests
    import yaml
except ImportError as exc:  # pragma: no cover - depends on the interpreter
    sys.stderr.write(
        f"sync_requests: error: missing Python package ({exc.name}); "
        "install tools/requirements.txt\n")
    sys.exit(2)

TOOL = "tools/sync_requests.py"
DEFAULT_ISSUES = (77764, 141287)
DEFAULT_REPO = "pytorch/pytorch"
DEFAULT_API_URL = "https://api.github.com"
DEFAULT_OUT = "ops/targets.yaml"
DEFAULT_SEED = "ops/targets.seed.yaml"
DEFAULT_CACHE_DIR = ".cache/github"
CACHE_FORMAT = 1

# author_association values of people who answer requests rather than make them.
MAINTAINER_ASSOCIATIONS = frozenset({"MEMBER", "COLLABORATOR", "OWNER"})

# Keys docs/targets-format.md allows; anything else is an error for the C++ loader.
TOP_KEYS = ("version", "generated", "ops")
ENTRY_KEYS = ("op", "shapes", "dtypes", "args", "emulate", "check", "tol_scale", "needs_fixture",
              "requires", "note", "demand")
DEMAND_KEYS = ("votes", "users", "thumbs_up", "first_request", "last_request", "issues",
               "links", "use_cases")

MAX_USE_CASES = 5        # per op
USE_CASE_CHARS = 100     # per use case
MAX_NEW_SHAPES = 4       # shapes kept for a new op
MAX_UNRECOGNISED = 50    # names listed under generated.unrecognised_names
CHECK_OPS_MODES = ("auto", "torch", "off")


class SyncError(Exception):
    """A failure reported as one line on stderr; nothing is written."""


# --------------------------------------------------------------------------------------------
# Op-name parsing
# --------------------------------------------------------------------------------------------

# Namespaces of C++ libraries that show up in pasted tracebacks (`c10::Error`,
# `at::native::...`, `std::string`); a `ns::name` with these is never an op.
CPP_NAMESPACES = frozenset({
    "std", "c10", "at", "torch", "caffe2", "native", "detail", "impl", "jit", "autograd",
    "mps", "cuda", "metal", "boost", "fmt", "pybind11", "py", "internal", "cpu", "ops",
    "dispatch", "llvm", "absl", "google", "benchmark", "nlohmann", "yaml", "testing",
    "mlx", "sycl", "xpu", "functorch", "inductor", "dynamo", "unknown",
})

# Libraries whose ops need loading (targets.yaml `requires:`), by op namespace.
NAMESPACE_REQUIRES = {"torchvision": "torchvision", "torchaudio": "torchaudio"}

# ns::name[.overload] with exactly one "::" (chains such as at::native::x are rejected).
_QUALIFIED_RE = re.compile(
    r"(?<![\w:.])([a-z_][a-z0-9_]*)::([a-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?(?!\w|::)")
# torch.ops.<ns>.<name>[.<overload>]
_TORCH_OPS_RE = re.compile(
    r"\btorch\.ops\.([a-z_][a-z0-9_]*)\.([a-z_][A-Za-z0-9_]*)(?:\.([A-Za-z_][A-Za-z0-9_]*))?\b")

# ATen op names accepted without a namespace after "+1 for" & co. (besides names with "_"
# or a 1d/2d/3d suffix) and the only bare names accepted in backticks, with the seed's
# families.  Words that are also common variable names (index, mode, take) are left out:
# they count in an "Operator:"/"request:" line or with their namespace.
KNOWN_OPS = frozenset("""
    abs acos acosh addbmm addcdiv addcmul addmm addmv addr amax amin aminmax angle argmax
    argmin argsort asin asinh atan atan2 atanh baddbmm bernoulli binomial bincount bmm
    bucketize cauchy cdist ceil celu cholesky col2im cosh corrcoef cov cummax cummin
    cumprod cumsum diag digamma dirichlet eig eigh eigvals einsum elu erf erfc erfinv exp2
    expm1 fft flip fmod frac frexp gather gcd gelu geqrf glu hardshrink hardsigmoid
    hardswish hardtanh heaviside histc histogram hypot i0 igamma igammac im2col
    inverse isin istft kron kthvalue lcm ldexp lerp lgamma linspace log1p log2 logaddexp
    logcumsumexp logit logspace logsumexp lstsq matmul median mish mm multinomial
    mv nanmean nanmedian nanquantile nansum nextafter nonzero ormqr pinverse poisson polar
    polygamma pow prelu qr quantile renorm roll rrelu scatter searchsorted selu sgn
    signbit silu sinc softplus softshrink sort stft svd svdvals tensordot topk tril
    triu trunc unique vander xlogy
    conv1d conv2d conv3d
    floor_divide grid_sampler_2d grid_sampler_3d grid_sampler_2d_backward index_copy
    index_put repeat_interleave scatter_reduce upsample_bicubic2d upsample_linear1d
    _upsample_bicubic2d_aa _upsample_bilinear2d_aa max_pool3d_with_indices linalg_eig
    _linalg_eigvals linalg_qr linalg_cholesky_ex linalg_solve_ex _linalg_solve_ex
    unique_dim _weight_norm_interface _standard_gamma _sample_dirichlet _ctc_loss
    _embedding_bag _fft_r2c _int_mm native_dropout quantize_per_tensor random_ cauchy_
    special_ndtri max_unpool2d view_as_complex
""".split())

# nn module names users write instead of the op; mapped to the ATen op (with the overload
# the dispatcher knows) the module calls.  Other CamelCase names are dropped (listed under
# generated.unrecognised_names).
MODULE_OPS = {
    "Conv1d": "conv1d", "Conv2d": "conv2d", "Conv3d": "conv3d",
    "ConvTranspose1d": "conv_transpose1d.input", "ConvTranspose2d": "conv_transpose2d.input",
    "ConvTranspose3d": "conv_transpose3d.input",
    "MaxPool1d": "max_pool1d", "MaxPool2d": "max_pool2d", "MaxPool3d": "max_pool3d",
    "AvgPool3d": "avg_pool3d", "AdaptiveAvgPool3d": "adaptive_avg_pool3d",
    "AdaptiveMaxPool3d": "adaptive_max_pool3d", "MaxUnpool2d": "max_unpool2d",
    "MaxUnpool3d": "max_unpool3d", "EmbeddingBag": "embedding_bag", "CTCLoss": "ctc_loss",
    "PixelShuffle": "pixel_shuffle", "PixelUnshuffle": "pixel_unshuffle",
}

# Words that follow "+1 for" / "need" / "support for" and are not ops.
STOPWORDS = frozenset("""
    a an the this that these those it its them me my our your all any some more same too
    also please op ops operator operators mps metal apple gpu cpu cuda device backend native
    support feature features implementation here there now soon nightly release torch
    pytorch python macos mac model models training inference it's one two use_case
    use_cases mps_fallback pytorch_enable_mps_fallback enable_mps_fallback commit_hash
    fallback
""".split())

# Overload names recognised after a bare name ("isin.Tensor_Tensor_out"); capitalised
# overloads (Tensor, Scalar_out, L) are recognised by case.
BARE_OVERLOADS = frozenset({"out", "values", "result", "grad_input", "vec", "dim",
                            "dim_values", "two", "two_out", "default", "self_int",
                            "correction", "names", "indices", "output"})

# dtype table of docs/targets-format.md.  Unambiguous spellings match anywhere; English
# words (half, float, long, int, short, bool, double) only as torch.X, .X(), dtype=X or
# ScalarType::X.
_DTYPE_ORDER = ("f32", "f16", "bf16", "f64", "i64", "i32", "i16", "i8", "u8", "bool",
                "c64", "c128")
_DTYPE_UNAMBIGUOUS = {
    "float32": "f32", "fp32": "f32", "float16": "f16", "fp16": "f16",
    "bfloat16": "bf16", "BFloat16": "bf16", "bf16": "bf16", "float64": "f64", "fp64": "f64",
    "int64": "i64", "int32": "i32", "int16": "i16", "int8": "i8", "uint8": "u8",
    "complex64": "c64", "cfloat": "c64", "ComplexFloat": "c64",
    "complex128": "c128", "cdouble": "c128", "ComplexDouble": "c128",
}
_DTYPE_CONTEXTUAL = {
    "float": "f32", "Float": "f32", "half": "f16", "Half": "f16", "double": "f64",
    "Double": "f64", "long": "i64", "Long": "i64", "int": "i32", "Int": "i32",
    "short": "i16", "Short": "i16", "char": "i8", "Char": "i8", "byte": "u8", "Byte": "u8",
    "bool": "bool", "Bool": "bool",
}
_DTYPE_NAMES = frozenset(k.lower() for k in list(_DTYPE_UNAMBIGUOUS) + list(_DTYPE_CONTEXTUAL))
_DTYPE_UNAMBIGUOUS_RE = re.compile(
    r"(?<![\w])(" + "|".join(sorted(_DTYPE_UNAMBIGUOUS, key=len, reverse=True)) + r")(?![\w])")
_DTYPE_CONTEXT_RE = re.compile(
    r"(?:\btorch\.|\bScalarType::|\bdtype\s*[=:]\s*(?:torch\.)?|\.(?=\w+\(\)))"
    r"(" + "|".join(sorted(_DTYPE_CONTEXTUAL, key=len, reverse=True)) + r")\b")

_SIZE_RE = re.compile(r"torch\.Size\(\[\s*(\d+(?:\s*,\s*\d+)*)?\s*,?\s*\]\)")
_TUPLE_RE = re.compile(r"\(\s*(\d+(?:\s*,\s*\d+){1,7})\s*,?\s*\)")
_LIST_RE = re.compile(r"\[\s*(\d+(?:\s*,\s*\d+){1,7})\s*,?\s*\]")
_XDIM_RE = re.compile(r"(?<![\w.])(\d+(?:[x×]\d+){1,7})(?![\w.])")
_MAX_DIM = 10_000_000

_NIGHTLY_RE = re.compile(r"(?<![\w.])([12]\.\d{1,2}(?:\.\d{1,2})?\.?dev\d{8})(?!\w|\.\d)")
_TORCH_VERSION_RE = re.compile(
    r"(?i)\b(?:py)?torch(?:\s+version)?\s*(?:==|=|:|-|\s)\s*v?"
    r"([12]\.\d{1,2}(?:\.\d{1,2})?(?:\.?(?:dev\d{8}|rc\d+|a0|post\d+))?(?:\+\w+)?)(?!\w|\.\d)")
_COMMIT_HASH_RE = re.compile(r"(?i)\bcommit\s+hash\s*:?\s*([0-9a-f]{7,40})\b")
_COMMIT_FULL_RE = re.compile(r"(?i)\bcommit\s*[:=]?\s*([0-9a-f]{40})\b")

_USE_CASE_RE = re.compile(
    r"(?im)^[ \t>*_#+-]*use[ \t-]?cases?[ \t*_]*[:\-\u2013\u2014][ \t*_]*(\S.*)$")
_TEMPLATE_RE = re.compile(
    r"(?im)^[ \t>*_+-]*(?:operators?|ops?|request(?:ed)?(?:[ \t]+ops?)?|missing[ \t]+ops?)"
    r"[ \t*_]*:[ \t*]*(\S.*)$")
_CUE_RE = re.compile(
    r"(?i)(?:\+1|\U0001F44D|\bvot(?:e|es|ed|ing)\b|\bupvot\w*|\brequest(?:s|ed|ing)?\b|"
    r"\bneed(?:s|ed|ing)?\b|\bsupport(?:s|ed|ing)?\b|\bimplement(?:ed|ing)?\b|"
    r"\badd(?:ed|ing)?\b|\bwant\b)"
    r"(?=[ \t]*(?:(?:for|on|of|to)\b[ \t]*)?(?:(?:the|an?)[ \t]+)?(:?)[ \t]*"
    r"([`'\"]?[\w.]+(?:\(\))?[`'\"]?))")
_BACKTICK_RE = re.compile(r"(?<!`)`([^`\n]{1,80})`(?!`)")
_HTML_COMMENT_RE = re.compile(r"<!--.*?-->", re.DOTALL)


@dataclass
class Mention:
    op: str      # "ns::name" or "ns::name.overload", as written (namespace added if bare)
    pos: int     # offset in the comment body

    @property
    def family(self) -> str:
        return op_family(self.op)


@dataclass
class Parsed:
    """What one comment (or issue body) names."""
    ops: List[str] = field(default_factory=list)               # unique, in order
    shapes: Dict[str, List[List[int]]] = field(default_factory=dict)  # family -> shapes
    dtypes: Dict[str, List[str]] = field(default_factory=dict)        # family -> dtypes
    torch_versions: List[str] = field(default_factory=list)
    commit_hashes: List[str] = field(default_factory=list)
    use_case: Optional[str] = None
    unrecognised: List[str] = field(default_factory=list)

    @property
    def families(self) -> List[str]:
        return _unique(op_family(o) for o in self.ops)


def op_family(op: str) -> str:
    """'aten::isin.Tensor_Tensor_out' -> 'aten::isin' (namespace kept, overload dropped)."""
    ns, _, rest = op.partition("::")
    return f"{ns}::{rest.split('.', 1)[0]}"


def _unique(items: Iterable) -> list:
    seen, out = set(), []
    for item in items:
        key = tuple(item) if isinstance(item, list) else item
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def _qualified(ns: str, name: str, overload: Optional[str]) -> Optional[str]:
    if ns in CPP_NAMESPACES:
        return None
    if overload in (None, "default"):
        return f"{ns}::{name}"
    return f"{ns}::{name}.{overload}"


def _op_like(name: str, known: Set[str]) -> bool:
    """Is a bare identifier plausibly an ATen op name?"""
    if not re.fullmatch(r"_*[a-z][a-z0-9_]*", name) or len(name) < 2:
        return False
    if name in STOPWORDS or name in _DTYPE_NAMES:
        return False
    return (name in known or name in KNOWN_OPS or "_" in name.strip("_")
            or name.startswith("_") or bool(re.search(r"[123]d$", name)))


def _identifier(name: str) -> bool:
    return (bool(re.fullmatch(r"_*[a-z][a-z0-9_]*", name)) and len(name) >= 2
            and name not in STOPWORDS and name not in _DTYPE_NAMES)


# How much a bare name must look like an op, by where it was written.
_SLOT_ACCEPT = {
    "template": lambda n, known: _identifier(n),               # **Operator:** x / request: x
    "cue": _op_like,                                            # +1 for x / voting for x
    "backtick": lambda n, known: n in known or n in KNOWN_OPS,  # `x`
}


def normalise_bare(token: str, known: Set[str], slot: str) -> Tuple[Optional[str], bool]:
    """Map a name written without a namespace to 'aten::name'.

    Returns (op or None, recognised-as-a-name-attempt).  `slot` says where the token was
    found ("template", "cue" or "backtick"; see _SLOT_ACCEPT): the weaker the slot, the
    more the name must look like an op.
    """
    tok = token.strip().strip("`'\"*").rstrip(".,:;!?")
    if tok.endswith("()"):
        tok = tok[:-2]
    if not tok:
        return None, False

    def accept(name: str) -> bool:
        return _SLOT_ACCEPT[slot](name, known)

    m = re.fullmatch(r"torch\.ops\.([a-z_]\w*)\.([a-z_]\w*)(?:\.(\w+))?", tok)
    if m:
        return _qualified(*m.groups()), True
    m = re.fullmatch(r"(?:torch\.)?(?:nn\.)?([A-Z][A-Za-z0-9]*)", tok)
    if m:
        mapped = MODULE_OPS.get(m.group(1))
        return (f"aten::{mapped}" if mapped else None), \
            bool(re.search(r"[a-z][A-Z]|\dd$", m.group(1)))
    m = re.fullmatch(r"torch\.(linalg|fft|special)\.([a-z_][a-z0-9_]*)", tok)
    if m:
        name = f"{m.group(1)}_{m.group(2)}"
        return (f"aten::{name}" if _op_like(name, known) else None), True
    m = re.fullmatch(r"torch\.([a-z_][a-z0-9_]*)", tok)
    if m:
        name = m.group(1)
        return (f"aten::{name}" if accept(name) else None), accept(name)
    m = re.fullmatch(r"(_*[a-z][a-z0-9_]*)\.([A-Za-z_][A-Za-z0-9_]*)", tok)
    if m:
        name, ovl = m.groups()
        if accept(name) and (ovl[0].isupper() or ovl in BARE_OVERLOADS):
            return _qualified("aten", name, ovl), True
        return None, False
    if re.fullmatch(r"_*[a-z][a-z0-9_]*", tok):
        return (f"aten::{tok}" if accept(tok) else None), False
    return None, False


def _mask_quotes(text: str) -> Tuple[str, bool]:
    """Blank out markdown quote lines ('> ...'), keeping offsets.  Returns (text, any)."""
    out, quoted = [], False
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith(">"):
            quoted = True
            out.append(re.sub(r"[^\n]", " ", line))
        else:
            out.append(line)
    return "".join(out), quoted


def _qualified_mentions(text: str) -> List[Mention]:
    found = []
    for m in _QUALIFIED_RE.finditer(text):
        op = _qualified(*m.groups())
        if op:
            found.append(Mention(op, m.start()))
    for m in _TORCH_OPS_RE.finditer(text):
        op = _qualified(*m.groups())
        if op:
            found.append(Mention(op, m.start()))
    return sorted(found, key=lambda x: x.pos)


def _split_list(value: str) -> List[str]:
    return [t for t in re.split(r"[,;/\s]+|\band\b", value) if t.strip()]


def _bare_mentions(text: str, known: Set[str], unrecognised: List[str]) -> List[Mention]:
    found: List[Mention] = []

    def take(token: str, pos: int, slot: str) -> None:
        op, attempt = normalise_bare(token, known, slot)
        if op:
            found.append(Mention(op, pos))
        elif attempt:
            unrecognised.append(token.strip("`'\"* ").rstrip(".,:;!?"))

    for m in _TEMPLATE_RE.finditer(text):                 # **Operator:** x / - request: x
        for tok in _split_list(m.group(1)):
            take(tok, m.start(1), "template")
    for m in _CUE_RE.finditer(text):                      # +1 for x / voting for: x, y
        take(m.group(2), m.start(2), "cue")
        if m.group(1):                                    # "...: a, b and c" -> the list
            end = text.find("\n", m.end(2))
            for extra in _split_list(text[m.end(2):end if end >= 0 else len(text)]):
                take(extra, m.end(2), "cue")
    for m in _BACKTICK_RE.finditer(text):                 # `cumsum`
        take(m.group(1), m.start(1), "backtick")
    return sorted(found, key=lambda x: x.pos)


def _shapes(text: str) -> List[Tuple[int, List[int]]]:
    spans: List[Tuple[int, int]] = []
    found: List[Tuple[int, List[int]]] = []

    def add(m: re.Match, dims_text: Optional[str], sep: str) -> None:
        if any(s <= m.start() < e for s, e in spans):
            return
        dims = [int(d) for d in re.split(sep, dims_text)] if dims_text else []
        if any(d <= 0 or d > _MAX_DIM for d in dims):
            return
        spans.append((m.start(), m.end()))
        found.append((m.start(), dims))

    for m in _SIZE_RE.finditer(text):
        add(m, m.group(1), r"\s*,\s*")
    for rx in (_TUPLE_RE, _LIST_RE):
        for m in rx.finditer(text):
            add(m, m.group(1), r"\s*,\s*")
    for m in _XDIM_RE.finditer(text):
        add(m, m.group(1), r"[x×]")
    return sorted(found, key=lambda x: x[0])


def _dtypes(text: str) -> List[Tuple[int, str]]:
    found = [(m.start(), _DTYPE_UNAMBIGUOUS[m.group(1)])
             for m in _DTYPE_UNAMBIGUOUS_RE.finditer(text)]
    found += [(m.start(1), _DTYPE_CONTEXTUAL[m.group(1)])
              for m in _DTYPE_CONTEXT_RE.finditer(text)]
    return sorted(found)


def _clean_use_case(text: str) -> Optional[str]:
    text = re.sub(r"[*_`]+", "", text)
    text = re.sub(r"\s+", " ", text).strip(" -:.")
    if not text:
        return None
    if len(text) > USE_CASE_CHARS:
        text = text[:USE_CASE_CHARS - 1].rstrip() + "\u2026"
    return text


def parse_comment(body: Optional[str], known: Iterable[str] = ()) -> Parsed:
    """Find the ops, shapes, dtypes, torch versions and commit hashes in one comment.

    `known` holds bare op names (without namespace) that are ops for sure: the seed's
    families.  Rules (docs/sync.md "Parsing"):
      1. every `ns::name[.overload]` (and torch.ops.ns.name.overload) is an op, whatever
         text surrounds it (error messages, fallback warnings, templates, lists), unless
         `ns` is a C++ library namespace (c10::Error, at::native::x, std::string);
      2. only if rule 1 finds nothing: bare names in op slots ("**Operator:** x",
         "- request: x", "+1 for x", "voting for x", "support for x") and known op names
         in backticks, normalised to aten::name; nn module names mapped (MODULE_OPS);
      3. quoted lines ('> ...') count only when the rest of the comment names no op.
    """
    known_set = set(known)
    text = _HTML_COMMENT_RE.sub(lambda m: " " * len(m.group(0)), (body or "").replace("\r\n", "\n"))
    parsed = Parsed()

    own, has_quotes = _mask_quotes(text)
    candidates = [own, text] if has_quotes else [text]
    mentions: List[Mention] = []
    region = text
    for region in candidates:
        mentions = _qualified_mentions(region)
        if not mentions:
            unrecognised: List[str] = []
            mentions = _bare_mentions(region, known_set, unrecognised)
            parsed.unrecognised = _unique(unrecognised)
        if mentions:
            break
    parsed.ops = _unique(m.op for m in mentions)

    if mentions:
        families = parsed.families
        shapes: Dict[str, List[List[int]]] = collections.defaultdict(list)
        dtypes: Dict[str, List[str]] = collections.defaultdict(list)

        def nearest(pos: int) -> str:
            """The op mentioned last before `pos` (else the first one after it)."""
            if len(families) == 1:
                return families[0]
            before = [mm for mm in mentions if mm.pos <= pos]
            return (before[-1] if before else mentions[0]).family

        for pos, shape in _shapes(region):
            shapes[nearest(pos)].append(shape)
        for pos, dtype in _dtypes(region):
            dtypes[nearest(pos)].append(dtype)
        parsed.shapes = {k: _unique(v) for k, v in shapes.items()}
        parsed.dtypes = {k: _unique(v) for k, v in dtypes.items()}

    parsed.torch_versions = _unique(
        [m.group(1) for m in _NIGHTLY_RE.finditer(text)]
        + [m.group(1) for m in _TORCH_VERSION_RE.finditer(text)])
    parsed.commit_hashes = _unique(
        [m.group(1).lower() for m in _COMMIT_HASH_RE.finditer(text)]
        + [m.group(1).lower() for m in _COMMIT_FULL_RE.finditer(text)])
    m = _USE_CASE_RE.search(own if has_quotes else text)
    if m:
        parsed.use_case = _clean_use_case(m.group(1))
    return parsed


# --------------------------------------------------------------------------------------------
# GitHub API client with an ETag cache
# --------------------------------------------------------------------------------------------

def _origin(url: str) -> Tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()


def _describe_connection_error(exc: Exception) -> str:
    text = str(exc)
    if "Connection refused" in text or "ConnectionRefusedError" in text:
        return "connection refused"
    if isinstance(exc, requests.Timeout) or "timed out" in text:
        return "timed out"
    if "Name or service not known" in text or "NameResolutionError" in text or \
            "nodename nor servname" in text or "getaddrinfo failed" in text:
        return "host name not resolved"
    if "Network is unreachable" in text:
        return "network unreachable"
    return type(exc).__name__


def _scrubbable(token: Optional[str]) -> Optional[str]:
    """The token, if long enough to search text for (real GitHub tokens have 40+ chars).

    Redaction is a second line of defence: the token only ever goes into the
    Authorization header.  Scrubbing a 1-char test token would mangle every message.
    """
    return token if token and len(token) >= 8 else None


def _local_time(epoch: str) -> Optional[str]:
    try:
        when = dt.datetime.fromtimestamp(int(epoch)).astimezone()
    except (TypeError, ValueError, OverflowError, OSError):
        return None
    return when.strftime("%Y-%m-%d %H:%M:%S %Z")


class GitHubClient:
    """GET JSON from the REST API; cache every page with its ETag; replay on --offline."""

    def __init__(self, api_url: str, token: Optional[str], cache_dir: str, offline: bool,
                 retries: int, backoff: float, timeout: float, verbose: bool):
        self.api_url = api_url.rstrip("/")
        self._token = token or None
        self._scrub = _scrubbable(token)
        self.cache_dir = cache_dir
        self.offline = offline
        self.retries = max(0, retries)
        self.backoff = max(0.0, backoff)
        self.timeout = timeout
        self.verbose = verbose
        self.session = requests.Session()
        self.stats = collections.Counter()

    # Everything user-visible goes through here, so the token cannot leak.
    def redact(self, text: str) -> str:
        text = " ".join(str(text).split())
        if self._scrub:
            text = text.replace(self._scrub, "***")
        return text

    def log(self, msg: str) -> None:
        if self.verbose:
            sys.stderr.write(f"sync_requests: {self.redact(msg)}\n")

    # -- cache -------------------------------------------------------------------------
    @staticmethod
    def resource(url: str) -> str:
        """Cache key: path and query only, so a cache filled from one --api-url (or the
        absolute Link URLs it returned) replays under another, e.g. with --offline."""
        parts = urllib.parse.urlsplit(url)
        return parts.path + ("?" + parts.query if parts.query else "")

    def cache_path(self, url: str) -> str:
        key = self.resource(url)
        slug = re.sub(r"[^A-Za-z0-9]+", "_", key).strip("_")[-80:]
        digest = hashlib.sha256(key.encode()).hexdigest()[:12]
        return os.path.join(self.cache_dir, f"{slug}-{digest}.json")

    def load_cache(self, url: str) -> Optional[dict]:
        path = self.cache_path(url)
        if not os.path.exists(path):
            return None
        try:
            with open(path, encoding="utf-8") as f:
                entry = json.load(f)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise SyncError(f"cache file {path} is malformed or truncated ({exc}); "
                            "delete it and sync online") from None
        if (not isinstance(entry, dict) or entry.get("format") != CACHE_FORMAT
                or entry.get("resource") != self.resource(url) or "body" not in entry
                or not isinstance(entry.get("etag", ""), (str, type(None)))
                or not isinstance(entry.get("link", ""), (str, type(None)))):
            raise SyncError(f"cache file {path} is malformed (unexpected content for {url}); "
                            "delete it and sync online")
        return entry

    def store_cache(self, url: str, etag: Optional[str], link: Optional[str], body) -> None:
        entry = {"format": CACHE_FORMAT, "resource": self.resource(url), "url": url,
                 "etag": etag, "link": link,
                 "fetched": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
                 "body": body}
        text = json.dumps(entry, ensure_ascii=False, indent=1)
        if self._scrub and self._scrub in text:
            text = text.replace(self._scrub, "***")
        atomic_write(self.cache_path(url), text)

    # -- HTTP ----------------------------------------------------------------------------
    def _headers(self, url: str, etag: Optional[str]) -> dict:
        headers = {"Accept": "application/vnd.github+json",
                   "X-GitHub-Api-Version": "2022-11-28",
                   "User-Agent": "mps-fallback-bench-sync-requests"}
        if self._token and _origin(url) == _origin(self.api_url):
            headers["Authorization"] = f"Bearer {self._token}"
        if etag:
            headers["If-None-Match"] = etag
        return headers

    def _get(self, url: str, headers: dict, what: str) -> requests.Response:
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                resp = self.session.get(url, headers=headers, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout,
                    requests.exceptions.ChunkedEncodingError) as exc:
                problem = _describe_connection_error(exc)
                if attempt == attempts:
                    raise SyncError(
                        f"cannot reach {self.api_url} while fetching {what}: {problem} "
                        f"(after {attempts} attempts); check --api-url and the network, "
                        "or use --offline with a filled cache") from None
            except requests.RequestException as exc:
                raise SyncError(f"request for {what} failed: {type(exc).__name__}") from None
            else:
                if resp.status_code < 500:
                    return resp
                problem = f"HTTP {resp.status_code}"
                if attempt == attempts:
                    raise SyncError(
                        f"server error {resp.status_code} from {self.api_url} while fetching "
                        f"{what} (after {attempts} attempts with backoff); try again later")
            delay = self.backoff * (2 ** (attempt - 1))
            self.log(f"{what}: {problem}; retry {attempt}/{self.retries} in {delay:.2f}s")
            self.stats["retries"] += 1
            time.sleep(delay)
        raise AssertionError("unreachable")

    def _fail(self, resp: requests.Response, what: str) -> None:
        status = resp.status_code
        try:
            api_msg = str(resp.json().get("message", ""))
        except (ValueError, AttributeError):
            api_msg = ""
        remaining = resp.headers.get("X-RateLimit-Remaining")
        limited = remaining == "0" or "rate limit" in api_msg.lower()
        if status == 429 or (status == 403 and limited):
            reset = _local_time(resp.headers.get("X-RateLimit-Reset", ""))
            when = f"the limit resets at {reset}" if reset else (
                f"retry after {resp.headers['Retry-After']} s" if "Retry-After" in resp.headers
                else "retry later")
            hint = "" if self._token else "; set GH_TOKEN for a higher limit"
            raise SyncError(f"rate limited by the GitHub API (HTTP {status}) while fetching "
                            f"{what}; {when}{hint}; --offline replays the cache")
        if status == 401:
            if self._token:
                raise SyncError(f"the GitHub API rejected the token in GH_TOKEN (HTTP 401 "
                                f"{api_msg or 'Bad credentials'}) while fetching {what}; "
                                "fix or unset GH_TOKEN")
            raise SyncError(f"the GitHub API requires authentication (HTTP 401) for {what}; "
                            "set GH_TOKEN")
        if status == 404:
            raise SyncError(f"{what} not found (HTTP 404 at {resp.url}); check --issues, "
                            "--repo and --api-url")
        detail = f": {api_msg}" if api_msg else ""
        raise SyncError(f"unexpected HTTP {status} while fetching {what}{detail}")

    def get(self, url: str, what: str) -> Tuple[object, Optional[str]]:
        """Return (JSON body, URL of the next page or None)."""
        entry = self.load_cache(url)
        if self.offline:
            if entry is None:
                raise SyncError(f"--offline: {what} is not in the cache ({self.cache_path(url)} "
                                f"missing); run once without --offline")
            self.stats["cache_replayed"] += 1
            return entry["body"], self._next(url, entry.get("link"), rebase=True)
        resp = self._get(url, self._headers(url, entry and entry.get("etag")), what)
        self.log(f"GET {url} -> {resp.status_code} "
                 f"(rate limit remaining {resp.headers.get('X-RateLimit-Remaining', '?')})")
        if resp.status_code == 304:
            if entry is None:
                raise SyncError(f"the API answered 304 Not Modified for {what} but nothing is "
                                "cached for it")
            self.stats["not_modified"] += 1
            fresh = resp.headers.get("Link")
            return entry["body"], self._next(url, fresh or entry.get("link"), rebase=not fresh)
        if resp.status_code != 200:
            self._fail(resp, what)
        try:
            body = resp.json()
        except ValueError:
            raise SyncError(f"malformed JSON in the API response for {what}") from None
        link = resp.headers.get("Link")
        self.store_cache(url, resp.headers.get("ETag"), link, body)
        self.stats["fetched"] += 1
        return body, self._next(url, link)

    @staticmethod
    def _next(url: str, link: Optional[str], rebase: bool = False) -> Optional[str]:
        """The rel="next" URL of a Link header.  `rebase`: the header is from the cache and
        may name the host it was recorded from; keep its path and query on `url`'s host."""
        if not link:
            return None
        for item in requests.utils.parse_header_links(link):
            if item.get("rel") == "next" and item.get("url"):
                nxt = urllib.parse.urljoin(url, item["url"])
                if rebase:
                    here, there = urllib.parse.urlsplit(url), urllib.parse.urlsplit(nxt)
                    nxt = urllib.parse.urlunsplit(
                        (here.scheme, here.netloc, there.path, there.query, ""))
                return nxt
        return None

    def issue(self, repo: str, number: int) -> dict:
        body, _ = self.get(f"{self.api_url}/repos/{repo}/issues/{number}",
                           f"issue {repo}#{number}")
        if not isinstance(body, dict):
            raise SyncError(f"malformed API response for issue {repo}#{number} (not an object)")
        return body

    def comments(self, repo: str, number: int) -> List[dict]:
        url: Optional[str] = f"{self.api_url}/repos/{repo}/issues/{number}/comments?per_page=100"
        out: List[dict] = []
        seen_urls: Set[str] = set()
        page = 1
        while url:
            if url in seen_urls:
                raise SyncError(f"pagination of {repo}#{number} loops back to {url}")
            seen_urls.add(url)
            body, url = self.get(url, f"comments of {repo}#{number} (page {page})")
            if not isinstance(body, list):
                raise SyncError(f"malformed API response for comments of {repo}#{number} "
                                f"page {page} (not a list)")
            out.extend(c for c in body if isinstance(c, dict))
            page += 1
        return out


# --------------------------------------------------------------------------------------------
# Demand
# --------------------------------------------------------------------------------------------

@dataclass
class Post:
    """A comment or an issue body."""
    issue: int
    login: str
    user_type: str
    association: str
    created: str          # ISO timestamp
    url: str
    body: str
    thumbs_up: int

    @classmethod
    def from_api(cls, issue: int, obj: dict) -> "Post":
        user = obj.get("user") or {}
        reactions = obj.get("reactions") or {}
        try:
            thumbs = int(reactions.get("+1", 0) or 0)
        except (TypeError, ValueError):
            thumbs = 0
        return cls(issue=issue, login=str(user.get("login") or "ghost"),
                   user_type=str(user.get("type") or "User"),
                   association=str(obj.get("author_association") or "NONE"),
                   created=str(obj.get("created_at") or ""), url=str(obj.get("html_url") or ""),
                   body=str(obj.get("body") or ""), thumbs_up=thumbs)

    @property
    def is_bot(self) -> bool:
        return self.user_type == "Bot" or self.login.endswith("[bot]")

    @property
    def is_maintainer(self) -> bool:
        return self.association.upper() in MAINTAINER_ASSOCIATIONS

    @property
    def date(self) -> str:
        return self.created[:10]


@dataclass
class FamilyDemand:
    users: Set[str] = field(default_factory=set)
    thumbs_up: int = 0
    dates: List[str] = field(default_factory=list)
    issues: Set[int] = field(default_factory=set)
    links: List[Tuple[str, str]] = field(default_factory=list)     # (created, url)
    use_cases: List[str] = field(default_factory=list)
    variants: collections.Counter = field(default_factory=collections.Counter)
    shapes: collections.Counter = field(default_factory=collections.Counter)
    dtypes: collections.Counter = field(default_factory=collections.Counter)

    @property
    def votes(self) -> int:
        return len(self.users) + self.thumbs_up

    def as_yaml(self) -> dict:
        links = [u for _, u in sorted(self.links, key=lambda x: (x[0], x[1]), reverse=True)]
        out = {"votes": self.votes, "users": len(self.users), "thumbs_up": self.thumbs_up}
        if self.dates:
            out["first_request"] = min(self.dates)
            out["last_request"] = max(self.dates)
        out["issues"] = FlowList(sorted(self.issues))
        out["links"] = _unique(links)
        if self.use_cases:
            out["use_cases"] = self.use_cases[:MAX_USE_CASES]
        return out


@dataclass
class Tally:
    families: Dict[str, FamilyDemand] = field(default_factory=dict)
    comments_read: int = 0
    requesting: int = 0
    ignored: collections.Counter = field(default_factory=collections.Counter)
    torch_versions: List[str] = field(default_factory=list)
    commit_hashes: List[str] = field(default_factory=list)
    unrecognised: List[str] = field(default_factory=list)


def tally(posts: Sequence[Post], known: Set[str], since: Optional[str]) -> Tally:
    t = Tally()
    for post in posts:
        if post.is_bot:
            t.ignored["bots"] += 1
            continue
        if post.is_maintainer:
            t.ignored["maintainers"] += 1
            continue
        if since and post.date < since:
            t.ignored["before_since"] += 1
            continue
        parsed = parse_comment(post.body, known)
        t.unrecognised.extend(parsed.unrecognised)
        if not parsed.ops:
            t.ignored["no_op_named"] += 1
            continue
        t.requesting += 1
        t.torch_versions.extend(parsed.torch_versions)
        t.commit_hashes.extend(parsed.commit_hashes)
        for fam in parsed.families:
            d = t.families.setdefault(fam, FamilyDemand())
            d.users.add(post.login.lower())
            d.thumbs_up += post.thumbs_up
            if post.date:
                d.dates.append(post.date)
            d.issues.add(post.issue)
            if post.url:
                d.links.append((post.created, post.url))
            if parsed.use_case and parsed.use_case.lower() not in \
                    {u.lower() for u in d.use_cases}:
                d.use_cases.append(parsed.use_case)
            for op in parsed.ops:
                if op_family(op) == fam:
                    d.variants[op] += 1
            for shape in parsed.shapes.get(fam, []):
                d.shapes[tuple(shape)] += 1
            for dtype in parsed.dtypes.get(fam, []):
                d.dtypes[dtype] += 1
    t.torch_versions = sorted(set(t.torch_versions), key=_natural_key)
    t.commit_hashes = sorted(set(t.commit_hashes))
    t.unrecognised = sorted(set(t.unrecognised))[:MAX_UNRECOGNISED]
    return t


def _natural_key(text: str):
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", text)]


# --------------------------------------------------------------------------------------------
# Seed and merge
# --------------------------------------------------------------------------------------------

class _SeedLoader(yaml.SafeLoader):
    """SafeLoader that keeps dates as strings (first_request: 2024-05-02 stays text)."""


_SeedLoader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for ch, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}

_OP_NAME_RE = re.compile(r"[A-Za-z_]\w*::[A-Za-z_]\w*(\.[A-Za-z_]\w*)?", re.ASCII)


def load_seed(path: Optional[str], explicit: bool) -> List[dict]:
    if path is None or not os.path.exists(path):
        if explicit:
            raise SyncError(f"seed file {path} not found (pass the curated seed, e.g. "
                            f"--seed {DEFAULT_SEED})")
        sys.stderr.write(f"sync_requests: note: no seed file at {path}; writing the requested "
                         "ops only\n")
        return []
    try:
        with open(path, encoding="utf-8") as f:
            data = yaml.load(f, Loader=_SeedLoader)  # noqa: S506 - SafeLoader subclass
    except (OSError, UnicodeDecodeError) as exc:
        raise SyncError(f"cannot read seed {path}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise SyncError(f"seed {path}{where}: {problem}") from None
    if not isinstance(data, dict):
        raise SyncError(f"seed {path}: expected a mapping with 'version' and 'ops'")
    for key in data:
        if key not in TOP_KEYS:
            raise SyncError(f"seed {path}: unknown top-level key '{key}' "
                            f"(allowed: {', '.join(TOP_KEYS)})")
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
        if not _OP_NAME_RE.fullmatch(entry["op"]):
            raise SyncError(f"{label}: op must be namespace::name[.overload]")
        for key in entry:
            if key not in ENTRY_KEYS:
                raise SyncError(f"{label}: unknown key '{key}' (allowed: {', '.join(ENTRY_KEYS)})")
        demand = entry.get("demand")
        if demand is not None:
            if not isinstance(demand, dict):
                raise SyncError(f"{label}: 'demand' must be a mapping")
            for key in demand:
                if key not in DEMAND_KEYS:
                    raise SyncError(f"{label}: unknown demand key '{key}' "
                                    f"(allowed: {', '.join(DEMAND_KEYS)})")
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


def resolve_new_op(family: str, d: "FamilyDemand",
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


def merge(seed_ops: List[dict], t: Tally, checker: Optional[OpChecker] = None
          ) -> Tuple[List[dict], List[str], int, Dict[str, int]]:
    """Seed entries (in seed order, demand refreshed) + new ops (votes descending).

    Returns (ops, seed ops that kept their seed demand, number of new ops, requested
    aten ops the dispatcher does not know -> votes; those are left out).
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
            demand = fresh.as_yaml()
        elif isinstance(old, dict) and old.get("links"):
            demand = old                        # hand-curated links the sync cannot see
            kept.append(entry["op"])
        else:
            demand = _zero_demand()
        new_entry = {}
        for key, value in entry.items():
            new_entry[key] = demand if key == "demand" else _flowify(key, value)
        new_entry.setdefault("demand", demand)
        if isinstance(new_entry["demand"], dict) and "issues" in new_entry["demand"]:
            new_entry["demand"]["issues"] = FlowList(new_entry["demand"]["issues"] or [])
        out.append(new_entry)

    new = [(fam, d) for fam, d in t.families.items() if fam not in seed_families]
    new.sort(key=lambda x: (-x[1].votes, -len(x[1].users), x[0]))
    unresolved: Dict[str, int] = {}
    n_new = 0
    checked = checker is not None and checker.active
    for fam, d in new:
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
        shapes = [list(s) for s, _ in sorted(d.shapes.items(), key=lambda kv: -kv[1])]
        shapes = shapes[:MAX_NEW_SHAPES] or default_shapes(fam)
        dtypes = [x for x in _DTYPE_ORDER if x in d.dtypes] or ["f32"]
        entry = {"op": op, "shapes": FlowList(FlowList(s) for s in shapes),
                 "dtypes": FlowList(dtypes), "needs_fixture": True}
        if requires:
            entry["requires"] = requires
        note = "new from sync_requests; requested as " + ", ".join(sorted(d.variants))
        entry["note"] = note + (f"; {remark}" if remark else "")
        entry["demand"] = d.as_yaml()
        out.append(entry)
        n_new += 1
    return out, kept, n_new, unresolved


# --------------------------------------------------------------------------------------------
# YAML output
# --------------------------------------------------------------------------------------------

class FlowList(list):
    """A list written in flow style: [1, 3, 224, 224]."""


class FlowDict(dict):
    """A mapping written in flow style: {shape: [16], dtype: i64}."""


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):  # never write &anchors / *aliases
        return True


_Dumper.add_representer(
    FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))
_Dumper.add_representer(
    FlowDict, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v.items(), flow_style=True))


def _is_scalar(v) -> bool:
    return v is None or isinstance(v, (str, int, float, bool))


def _flowify(key: str, value):
    """Short collections of scalars in flow style, as people write targets.yaml by hand."""
    if key == "shapes" and isinstance(value, list):
        return FlowList(FlowList(s) if isinstance(s, list) else s for s in value)
    if key in ("dtypes", "emulate") and isinstance(value, list):
        return FlowList(value)
    if key == "args":
        def leaf(v):
            if isinstance(v, list):
                return FlowList(v) if all(_is_scalar(x) for x in v) else [leaf(x) for x in v]
            if isinstance(v, dict):
                items = {k: leaf(x) for k, x in v.items()}
                flat = all(_is_scalar(x) or isinstance(x, FlowList) for x in items.values())
                return FlowDict(items) if flat else items
            return v
        if isinstance(value, list):
            return [leaf(x) for x in value]
    return value


def render(doc: dict) -> str:
    header = ("# Generated by tools/sync_requests.py (docs/sync.md); curated fields come from "
              "the seed:\n# edit ops/targets.seed.yaml, then run `cmake --build <dir> "
              "--target sync-targets`.\n")
    return header + yaml.dump(doc, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                              default_flow_style=False, width=120, indent=2)


def check_output(text: str) -> None:
    """Self-check against docs/targets-format.md before anything is written."""
    data = yaml.safe_load(text)
    if not (isinstance(data, dict) and set(data) <= set(TOP_KEYS) and data.get("version") == 1
            and isinstance(data.get("ops"), list)):
        raise SyncError("internal error: the output is not a version 1 targets file")
    for entry in data["ops"]:
        unknown = set(entry) - set(ENTRY_KEYS)
        if unknown:
            raise SyncError(f"internal error: output entry {entry.get('op')} has unknown keys "
                            f"{sorted(unknown)}")
        if isinstance(entry.get("demand"), dict):
            unknown = set(entry["demand"]) - set(DEMAND_KEYS)
            if unknown:
                raise SyncError(f"internal error: demand of {entry['op']} has unknown keys "
                                f"{sorted(unknown)}")


def atomic_write(path: str, text: str) -> None:
    """Write via a temp file in the same directory + fsync + os.replace."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=".tmp",
                               dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:
        pass


# --------------------------------------------------------------------------------------------
# CLI
# --------------------------------------------------------------------------------------------

def _date_arg(text: str) -> str:
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from None


def _env_number(name: str, default: float, kind=float) -> float:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise SyncError(f"{name}={raw!r} is not a number") from None
    if value < 0:
        raise SyncError(f"{name} must not be negative")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sync_requests.py",
        description="Count MPS op requests in the PyTorch tracking issues and write "
                    "ops/targets.yaml (seed entries + demand + new ops).",
        epilog="Token: GH_TOKEN (optional). Details: docs/sync.md")
    p.add_argument("--issues", type=int, nargs="+", default=list(DEFAULT_ISSUES),
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
    if not args.offline:
        scheme = urllib.parse.urlsplit(args.api_url).scheme
        if scheme not in ("http", "https"):
            raise SyncError(f"--api-url must be an http(s) URL, got {args.api_url!r}")
        if not token:
            sys.stderr.write("sync_requests: note: GH_TOKEN is not set; unauthenticated "
                             "requests are limited to 60 per hour\n")
    backoff = args.backoff if args.backoff is not None else _env_number("MPSFB_SYNC_BACKOFF", 1.0)
    client = GitHubClient(
        api_url=args.api_url, token=token, cache_dir=args.cache_dir, offline=args.offline,
        retries=int(_env_number("MPSFB_SYNC_RETRIES", 3, int)), backoff=backoff,
        timeout=_env_number("MPSFB_SYNC_TIMEOUT", 30.0), verbose=args.verbose)

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
        issue = client.issue(args.repo, number)
        comments = client.comments(args.repo, number)
        seen_ids: Set[object] = set()
        unique_comments = []
        for c in comments:
            cid = c.get("id")
            if cid is not None and cid in seen_ids:
                continue
            seen_ids.add(cid)
            unique_comments.append(c)
        comments_read += len(unique_comments)
        expected = issue.get("comments")
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
    text = render({"version": 1, "generated": generated, "ops": ops})
    check_output(text)
    secret = _scrubbable(token)
    if secret and secret in text:  # belt and braces: comments could quote anything
        raise SyncError("refusing to write output that contains the API token")
    try:
        atomic_write(args.out, text)
    except OSError as exc:
        raise SyncError(f"cannot write {args.out}: {exc.strerror or exc}") from None
    source = "cache" if args.offline else args.api_url
    print(f"sync_requests: wrote {args.out}: {len(ops)} ops ({len(ops) - n_new} from the seed, "
          f"{n_new} new); {t.requesting} requesting comments of {comments_read} read from "
          + ", ".join(f"#{n}" for n in issues) + f" ({source}; {client.stats['fetched']} fetched, "
          f"{client.stats['not_modified']} not modified)")
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    secret = _scrubbable(os.environ.get("GH_TOKEN"))
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


if __name__ == "__main__":
    sys.exit(main())
