"""Finding the ops, shapes, dtypes, torch versions and use cases a comment names.

Rules: docs/sync.md "Parsing"; the test table in test/python/test_sync_requests.py has one row
per wording.
"""

from __future__ import annotations

import bisect
import collections
import re
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Set, Tuple

from .common import unique

USE_CASE_CHARS = 100     # per use case
# GitHub's own limit on a comment's body; a longer one (a cache edited by hand, another API)
# is read to there.
MAX_COMMENT_CHARS = 65_536

# Namespaces of C++ libraries that show up in pasted tracebacks (`c10::Error`,
# `at::native::...`, `std::string`); a `ns::name` with these is never an op.
CPP_NAMESPACES = frozenset({
    "std", "c10", "at", "torch", "caffe2", "native", "detail", "impl", "jit", "autograd",
    "mps", "cuda", "metal", "boost", "fmt", "pybind11", "py", "internal", "cpu", "ops",
    "dispatch", "llvm", "absl", "google", "benchmark", "nlohmann", "yaml", "testing",
    "mlx", "sycl", "xpu", "functorch", "inductor", "dynamo", "unknown",
})

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

# Spellings of the dtypes of docs/targets-format.md (short names: schema.DTYPES) in comments.
# Unambiguous spellings match anywhere; English words (half, float, long, int, short, bool,
# double) only as torch.X, .X(), dtype=X or ScalarType::X.
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
_SPACE_RUN_RE = re.compile(r"\s+")

# Note [Linear time on any comment]: a public comment is up to 65,536 characters of anyone's
# text, and Python's re backtracks. The patterns above put optional spaces next to each other
# (`\s*,?\s*`, `torch\s*(?:=|\s)\s*`), which on a run of N spaces tries O(N^2) or O(N^3)
# splits; so before any pattern runs, every run of whitespace becomes one character (a
# newline if it held one, else a space), and adjacent optional spaces can split one character
# only. What is not a pattern is linear by construction: HTML comments are found with
# str.find, a "need: a, b, c" list is read once however many cues it holds, shapes and dtypes
# find their op by bisection. test_sync_hostile.py times each hostile form at 64 KB.


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
        return unique(op_family(o) for o in self.ops)


def op_family(op: str) -> str:
    """'aten::isin.Tensor_Tensor_out' -> 'aten::isin' (namespace kept, overload dropped)."""
    ns, _, rest = op.partition("::")
    return f"{ns}::{rest.split('.', 1)[0]}"


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

    m = re.fullmatch(r"torch\.ops\.([a-z_]\w*)\.([a-z_]\w*)(?:\.(\w+))?", tok, re.ASCII)  # not "¹"
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
    listed_to = 0  # the end of the last "cue: a, b, c" list read: cues inside it are its words

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
        if m.start() < listed_to:
            continue
        take(m.group(2), m.start(2), "cue")
        if m.group(1):                                    # "...: a, b and c" -> the list
            end = text.find("\n", m.end(2))
            listed_to = end if end >= 0 else len(text)
            for extra in _split_list(text[m.end(2):listed_to]):
                take(extra, m.end(2), "cue")
    for m in _BACKTICK_RE.finditer(text):                 # `cumsum`
        take(m.group(1), m.start(1), "backtick")
    return sorted(found, key=lambda x: x.pos)


def _shapes(text: str) -> List[Tuple[int, List[int]]]:
    covered = bytearray(len(text) + 1)   # 1 inside a shape already found
    found: List[Tuple[int, List[int]]] = []

    def add(m: re.Match, dims_text: Optional[str], sep: str) -> None:
        if covered[m.start()]:
            return
        dims = [int(d) for d in re.split(sep, dims_text)] if dims_text else []
        if any(d <= 0 or d > _MAX_DIM for d in dims):
            return
        covered[m.start():m.end()] = b"\x01" * (m.end() - m.start())
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


def _without_html_comments(text: str) -> str:
    """`<!-- ... -->` blanked (GitHub does not show them: the issue template's hints); an
    unclosed one stays text."""
    out, pos = [], 0
    while True:
        start = text.find("<!--", pos)
        end = text.find("-->", start + 4) if start >= 0 else -1
        if end < 0:
            return "".join(out) + text[pos:]
        out += [text[pos:start], " "]
        pos = end + 3


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
    text = _SPACE_RUN_RE.sub(lambda m: "\n" if "\n" in m.group(0) else " ",
                             _without_html_comments((body or "")[:MAX_COMMENT_CHARS]))
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
            parsed.unrecognised = unique(unrecognised)
        if mentions:
            break
    parsed.ops = unique(m.op for m in mentions)

    if mentions:
        families = parsed.families
        shapes: Dict[str, List[List[int]]] = collections.defaultdict(list)
        dtypes: Dict[str, List[str]] = collections.defaultdict(list)

        starts = [mm.pos for mm in mentions]   # sorted

        def nearest(pos: int) -> str:
            """The op mentioned last before `pos` (else the first one after it)."""
            if len(families) == 1:
                return families[0]
            before = bisect.bisect_right(starts, pos)
            return mentions[before - 1 if before else 0].family

        for pos, shape in _shapes(region):
            shapes[nearest(pos)].append(shape)
        for pos, dtype in _dtypes(region):
            dtypes[nearest(pos)].append(dtype)
        parsed.shapes = {k: unique(v) for k, v in shapes.items()}
        parsed.dtypes = {k: unique(v) for k, v in dtypes.items()}

    parsed.torch_versions = unique(
        [m.group(1) for m in _NIGHTLY_RE.finditer(text)]
        + [m.group(1) for m in _TORCH_VERSION_RE.finditer(text)])
    parsed.commit_hashes = unique(
        [m.group(1).lower() for m in _COMMIT_HASH_RE.finditer(text)]
        + [m.group(1).lower() for m in _COMMIT_FULL_RE.finditer(text)])
    m = _USE_CASE_RE.search(own if has_quotes else text)
    if m:
        parsed.use_case = _clean_use_case(m.group(1))
    return parsed
