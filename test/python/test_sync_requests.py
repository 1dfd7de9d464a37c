"""Tests for tools/sync_requests.py.

The end-to-end tests run the real CLI in a subprocess against FakeGitHub (conftest.py), a
real HTTP server on 127.0.0.1 that serves the recorded pages in data/api/: pytorch/pytorch
#77764 in three comment pages and #141287 in two, linked by `Link` headers.  The comment
wordings follow real request comments (shared demand sample, the MPS error and warning
texts); comment ids and reaction counts are made up.

Hand count of the recorded pages (a reader can check every number below against
data/api/*.json; "c<id>" = the comment's id, +N = its "+1" reactions):

  #77764 (15 comments; body by kulinseth, MEMBER: not a request)
    p1 c1156001001 dsedov        +2  1.12 "not current implemented" text, aten::index.Tensor_out -> index
       c1156101002 jnordberg     +0  "+1 for `aten::cumsum.out`"                                 -> cumsum
       c1225501003 lowfuel       +3  "`aten::frac.out`" + "Use case: Needed by stable diffusion" -> frac (CONTRIBUTOR counts)
       c1226701004 gad-imageinsight +1 "Up vote for this one. Also for aten::nonzero"            -> nonzero only
    p2 c1243801005 DenisVieriu97 +5  MEMBER "aten::index.Tensor is implemented"                 -> ignored
       c1244101006 Vargol        +0  Python UserWarning for aten::roll                           -> roll
       c1252001007 pytorch-bot[bot]  Bot                                                         -> ignored
       c1430201008 cahya-wirawan +4  "`cumsum` with int64" (bare name in backticks)              -> cumsum
    p3 c2089901009 MarcACard     +10 1.13-2.5 text, aten::isin.Tensor_Tensor_out (also heart 3, -1 1: not counted) -> isin
       c2090001010 alanwilter    +6  "+1 for aten::isin.Tensor_Tensor_out"                       -> isin
       c2091501011 MarcACard     +1  "Any update on `aten::isin`?" (same user again)             -> isin
       c2157701012 kulinseth     +9  COLLABORATOR "isin ... is in nightly"                       -> ignored
       c2194401013 jbrown81      +2  "support for ConvTranspose3d" (module name)                 -> conv_transpose3d.input
       c2195001014 jeffsnell     +0  C++ log warning for torchvision::nms                        -> torchvision::nms
       c2516001015 coderlucifar  +2  "Voting for: a, b and c"       -> upsample_bicubic2d, _linalg_eigvals, linalg_cholesky_ex
  #141287 (12 comments; body by malfet, MEMBER: not a request)
    p1 c2589001101 chicman       +1  "- request: 'aten::_upsample_bicubic2d_aa.out'"             -> _upsample_bicubic2d_aa
       c2683001102 SkyLanj       +3  2.6+ text with commit hash                                  -> _upsample_bicubic2d_aa
       c2683501103 tomer-schles  +0  only a quoted error ("> ...") + "Same here"                 -> _upsample_bicubic2d_aa
       c2759001104 ttoonnyy0501  +2  "**Operator:** 'aten::max_pool3d_with_indices'"            -> max_pool3d_with_indices
       c2769001105 janpmz        +0  quotes "aten::roll works", asks `aten::angle`               -> angle only
    p2 c2773001106 stang29       +0  "+1 for `aten::max_pool3d_with_indices`"                    -> max_pool3d_with_indices
       c2801901107 SuperKenVery  +1  "**Operator:** `aten::mode`"                                -> mode
       c2845001108 pmcarter      +0  "Is there an ETA"                                           -> no op
       c3040001109 malfet        +4  MEMBER "max_pool3d_with_indices was implemented"            -> ignored
       c3474001110 BenjaminDEMAILLE +4 list: _standard_gamma, _sample_dirichlet, poisson, binomial
       c4112001111 Ac31415       +1  2.6+ text, aten::_sample_dirichlet                          -> _sample_dirichlet
       c4290001112 froggy-hyun   +0  "`aten::_int_mm` / `aten::_int_mm.out`" (one family)        -> _int_mm

  votes = users + thumbs-up on their requesting comments:
    isin                     users {MarcACard, alanwilter} = 2, +1s 10+6+1 = 17          -> 19
    cumsum                   {jnordberg, cahya-wirawan} = 2, 0+4                          -> 6
    index                    {dsedov} = 1, 2 (DenisVieriu97 ignored)                      -> 3
    roll                     {Vargol} = 1, 0 (janpmz only quoted it)                      -> 1
    upsample_bicubic2d       {coderlucifar} = 1, 2                                        -> 3
    _upsample_bicubic2d_aa   {chicman, SkyLanj, tomer-schles} = 3, 1+3+0                  -> 7
    _sample_dirichlet        {BenjaminDEMAILLE, Ac31415} = 2, 4+1                         -> 7
    _standard_gamma, binomial, poisson   {BenjaminDEMAILLE} = 1, 4                        -> 5 each
    max_pool3d_with_indices  {ttoonnyy0501, stang29} = 2, 2+0 (malfet ignored)            -> 4
    frac                     {lowfuel} = 1, 3                                             -> 4
    _linalg_eigvals, linalg_cholesky_ex  {coderlucifar} = 1, 2                            -> 3 each
    conv_transpose3d         {jbrown81} = 1, 2                                            -> 3
    mode                     {SuperKenVery} = 1, 1                                        -> 2
    nonzero                  {gad-imageinsight} = 1, 1                                    -> 2
    _int_mm, angle, torchvision::nms     1 user, 0                                        -> 1 each
  comments read 15 + 12 = 27; requesting 12 + 10 = 22; ignored: 3 maintainer comments + 2
  issue bodies = 5, 1 bot, 1 without an op.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import time
from pathlib import Path

import pytest
import yaml

from conftest import DATA, FakeGitHub, run_cli

import sync_requests as sync                 # the package tools/sync_requests/ (conftest's path)
from sync_requests import schema

TOKEN = "secret-token-xyz"
OLD = b"# the previous targets.yaml\nversion: 1\nops: []\n"


def link(issue, cid):
    return f"https://github.com/pytorch/pytorch/issues/{issue}#issuecomment-{cid}"


# (op as written to targets.yaml, votes, users, thumbs_up, first, last, issues, links newest first)
EXPECTED_SEED = [
    ("aten::isin.Tensor_Tensor", 19, 2, 17, "2024-05-02", "2024-05-03", [77764],
     [link(77764, 2091501011), link(77764, 2090001010), link(77764, 2089901009)]),
    ("aten::isin.Tensor_Scalar", 19, 2, 17, "2024-05-02", "2024-05-03", [77764],
     [link(77764, 2091501011), link(77764, 2090001010), link(77764, 2089901009)]),
    ("aten::cumsum", 6, 2, 4, "2022-06-15", "2023-02-14", [77764],
     [link(77764, 1430201008), link(77764, 1156101002)]),
    ("aten::roll", 1, 1, 0, "2022-09-12", "2022-09-12", [77764], [link(77764, 1244101006)]),
    ("aten::index.Tensor", 3, 1, 2, "2022-06-15", "2022-06-15", [77764], [link(77764, 1156001001)]),
    # no request in the pages, seed demand has links: kept as it was
    ("aten::linalg_eig", 38, 20, 18, "2022-05-18", "2026-09-03", [77764],
     ["https://github.com/pytorch/pytorch/issues/77764#issuecomment-1131000000"]),
    # no request in the pages, seed demand without links: fresh count, zero
    ("aten::grid_sampler_3d", 0, 0, 0, None, None, [], []),
    ("aten::upsample_bicubic2d.out", 3, 1, 2, "2024-12-02", "2024-12-02", [77764],
     [link(77764, 2516001015)]),
    ("aten::_upsample_bicubic2d_aa", 7, 3, 4, "2025-01-13", "2025-02-25", [141287],
     [link(141287, 2683501103), link(141287, 2683001102), link(141287, 2589001101)]),
]
# New ops, votes descending; ties by users descending, then by name.
EXPECTED_NEW = [
    ("aten::_sample_dirichlet", 7, 2, 5, "2025-11-01", "2026-04-22", [141287],
     [link(141287, 4112001111), link(141287, 3474001110)]),
    ("aten::_standard_gamma", 5, 1, 4, "2025-11-01", "2025-11-01", [141287], [link(141287, 3474001110)]),
    ("aten::binomial", 5, 1, 4, "2025-11-01", "2025-11-01", [141287], [link(141287, 3474001110)]),
    ("aten::poisson", 5, 1, 4, "2025-11-01", "2025-11-01", [141287], [link(141287, 3474001110)]),
    ("aten::max_pool3d_with_indices", 4, 2, 2, "2025-03-28", "2025-04-04", [141287],
     [link(141287, 2773001106), link(141287, 2759001104)]),
    ("aten::frac.out", 4, 1, 3, "2022-08-24", "2022-08-24", [77764], [link(77764, 1225501003)]),
    ("aten::_linalg_eigvals", 3, 1, 2, "2024-12-02", "2024-12-02", [77764], [link(77764, 2516001015)]),
    ("aten::conv_transpose3d.input", 3, 1, 2, "2024-06-27", "2024-06-27", [77764], [link(77764, 2194401013)]),
    ("aten::linalg_cholesky_ex.L", 3, 1, 2, "2024-12-02", "2024-12-02", [77764],
     [link(77764, 2516001015)]),
    ("aten::mode", 2, 1, 1, "2025-04-14", "2025-04-14", [141287], [link(141287, 2801901107)]),
    ("aten::nonzero", 2, 1, 1, "2022-08-25", "2022-08-25", [77764], [link(77764, 1226701004)]),
    ("aten::_int_mm", 1, 1, 0, "2026-08-02", "2026-08-02", [141287], [link(141287, 4290001112)]),
    ("aten::angle", 1, 1, 0, "2025-04-01", "2025-04-01", [141287], [link(141287, 2769001105)]),
    ("torchvision::nms", 1, 1, 0, "2024-06-28", "2024-06-28", [77764], [link(77764, 2195001014)]),
]
ALL_PAGES = [
    "/repos/pytorch/pytorch/issues/77764",
    FakeGitHub.page_path(77764, 1), FakeGitHub.page_path(77764, 2), FakeGitHub.page_path(77764, 3),
    "/repos/pytorch/pytorch/issues/141287",
    FakeGitHub.page_path(141287, 1), FakeGitHub.page_path(141287, 2),
]


def load(path):
    return yaml.safe_load(Path(path).read_text())


def as_rows(ops):
    rows = []
    for e in ops:
        d = e["demand"]
        rows.append((e["op"], d["votes"], d["users"], d["thumbs_up"], d.get("first_request"),
                     d.get("last_request"), d["issues"], d["links"]))
    return rows


def error_lines(proc):
    return [line for line in proc.stderr.splitlines() if line.strip()]


def assert_failed_cleanly(proc, out, what):
    """Non-zero exit, one error line on stderr naming `what`, old output byte-identical."""
    assert proc.returncode != 0, proc.stdout + proc.stderr
    lines = error_lines(proc)
    assert len(lines) == 1, lines
    assert lines[0].startswith("sync_requests: error: "), lines
    assert re.search(what, lines[0], re.I), lines[0]
    assert "Traceback" not in proc.stderr
    assert out.read_bytes() == OLD
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".targets.yaml.")] == []


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    """One online run against the recorded pages, shared by the read-only checks below."""
    workdir = tmp_path_factory.mktemp("synced")
    fake = FakeGitHub()
    try:
        proc = run_cli(workdir, "--api-url", fake.base_url, token=TOKEN)
    finally:
        fake.close()
    assert proc.returncode == 0, proc.stderr
    return {"proc": proc, "doc": load(workdir / "targets.yaml"),
            "text": (workdir / "targets.yaml").read_text(), "log": fake.log,
            "cache": workdir / "cache"}


@pytest.fixture
def filled_cache(synced, tmp_path):
    """A copy of the cache the shared online run filled, at tmp_path/cache."""
    shutil.copytree(synced["cache"], tmp_path / "cache")
    return tmp_path / "cache"


@pytest.fixture
def out(tmp_path):
    path = tmp_path / "targets.yaml"
    path.write_bytes(OLD)
    return path


# --------------------------------------------------------------------------------------------
# End to end
# --------------------------------------------------------------------------------------------

def test_sync_counts_ops_votes_and_links(synced):
    proc, doc = synced["proc"], synced["doc"]
    assert proc.stderr == ""
    assert doc["version"] == 1
    assert as_rows(doc["ops"][:len(EXPECTED_SEED)]) == EXPECTED_SEED
    assert as_rows(doc["ops"][len(EXPECTED_SEED):]) == EXPECTED_NEW

    gen = doc["generated"]
    assert gen["date"] == "2026-11-23"            # SOURCE_DATE_EPOCH from conftest
    assert gen["issues"] == [77764, 141287]
    assert gen["comments_read"] == 27
    assert gen["requesting_comments"] == 22
    assert gen["ignored_comments"] == {"bots": 1, "maintainers": 5, "no_op_named": 1}
    assert gen["torch_versions_seen"] == ["1.13.0.dev20220912", "2.0.0.dev20230213", "2.3.0",
                                          "2.7.0.dev20250107", "2.7.0.dev20250224", "2.13.0"]
    assert gen["commit_hashes_seen"] == ["2236df1770800ffea5697b11b0bb0d910b2e59e1",
                                         "449b1768410104d3ed79d3bcfe4ba1d65c7f22c0",
                                         "7604dd1102bd1c2bee07d60bc6a672c882c6dbd0",
                                         "de51f09432c33cc0b99e5ba2dc2192c6b7200a94"]
    assert gen["seed_demand_kept"] == ["aten::linalg_eig"]
    assert gen["tool"] == "tools/sync_requests.py"
    assert gen["op_check"] == "off" and "unresolved_ops" not in gen
    # every page was read, following the Link headers
    assert [r["path"] for r in synced["log"]] == ALL_PAGES
    assert all(r["status"] == 200 for r in synced["log"])
    assert "wrote" in proc.stdout and "22 requesting comments of 27" in proc.stdout


def test_maintainer_and_bot_comments_do_not_count(synced):
    doc = synced["doc"]
    links = [u for e in doc["ops"] for u in e["demand"]["links"]]
    for ignored in (1243801005, 1252001007, 2157701012, 3040001109):   # member, bot, collaborator
        assert not any(u.endswith(str(ignored)) for u in links)
    users_of = {e["op"]: e["demand"]["users"] for e in doc["ops"]}
    assert users_of["aten::index.Tensor"] == 1            # not DenisVieriu97
    assert users_of["aten::max_pool3d_with_indices"] == 2  # not malfet


def test_seed_curated_fields_are_preserved(synced):
    seed = load(DATA / "seed.yaml")["ops"]
    ops = synced["doc"]["ops"]
    assert [e["op"] for e in ops[:len(seed)]] == [e["op"] for e in seed]
    for before, after in zip(seed, ops):
        assert {k: v for k, v in after.items() if k != "demand"} == \
            {k: v for k, v in before.items() if k != "demand"}
        # same keys in the same order; a seed entry without demand gets it appended
        assert list(after) == list(before) + ([] if "demand" in before else ["demand"])
    # the kept demand keeps its dates as text (the seed wrote them unquoted)
    assert "first_request: '2022-05-18'" in synced["text"]


def test_new_ops_get_shapes_dtypes_from_comments_and_need_a_fixture(synced):
    new = {e["op"]: e for e in synced["doc"]["ops"][len(EXPECTED_SEED):]}
    assert all(e["needs_fixture"] is True for e in new.values())
    assert new["aten::max_pool3d_with_indices"]["shapes"] == [[1, 1, 64, 128, 128]]
    assert new["aten::max_pool3d_with_indices"]["dtypes"] == ["f32"]
    assert new["aten::mode"]["shapes"] == [[8, 512, 512]] and new["aten::mode"]["dtypes"] == ["i64"]
    assert new["aten::_int_mm"]["shapes"] == [[16, 16]] and new["aten::_int_mm"]["dtypes"] == ["i8"]
    assert new["aten::_sample_dirichlet"]["dtypes"] == ["bf16"]
    assert new["aten::conv_transpose3d.input"]["shapes"] == [[1, 8, 16, 64, 64]]
    # defaults: [256, 256] (no Nd in the name) and f32
    assert new["aten::nonzero"]["shapes"] == [[256, 256]] and new["aten::nonzero"]["dtypes"] == ["f32"]
    assert new["torchvision::nms"]["requires"] == "torchvision"
    assert "aten::_int_mm.out" in new["aten::_int_mm"]["note"]
    assert new["aten::max_pool3d_with_indices"]["demand"]["use_cases"] == [
        "Implementing CellSeg3D, volumes of (1, 1, 64, 128, 128) in float32"]
    assert new["aten::frac.out"]["demand"]["use_cases"] == ["Needed by stable diffusion"]


def test_output_follows_targets_format(synced):
    """Keys and value shapes of docs/targets-format.md (unknown keys are loader errors).

    The keys and dtype names come from the package's schema, the one Python copy; the ctest
    sync_targets_mps_benchmarks checks that copy against the C++ decoder."""
    doc = synced["doc"]
    assert set(doc) == set(schema.TOP_KEYS)
    for e in doc["ops"]:
        assert set(e) <= set(schema.ENTRY_KEYS), e
        assert re.fullmatch(r"\w+::\w+(\.\w+)?", e["op"]), e["op"]
        assert e["shapes"] and all(
            (isinstance(s, list) and all(isinstance(d, int) for d in s))
            or (isinstance(s, str) and re.fullmatch(r"\d+(x\d+)*", s)) for s in e["shapes"])
        assert e["dtypes"] and set(e["dtypes"]) <= set(schema.DTYPES)
        d = e["demand"]
        assert set(d) <= set(schema.DEMAND_KEYS)
        assert d["votes"] == d["users"] + d["thumbs_up"]
        for key in ("first_request", "last_request"):
            if key in d:
                assert isinstance(d[key], str) and re.fullmatch(r"\d{4}-\d\d-\d\d", d[key])
        assert all(len(u) <= sync.USE_CASE_CHARS for u in d.get("use_cases", []))


def test_second_run_sends_if_none_match_and_replays_304(synced, filled_cache, fake_github,
                                                        run_sync, out):
    proc = run_sync("--api-url", fake_github.base_url, token=TOKEN)   # cache from a first run
    assert proc.returncode == 0, proc.stderr
    assert [r["path"] for r in fake_github.log] == ALL_PAGES
    for r in fake_github.log:
        assert r["headers"].get("If-None-Match", "").startswith('W/"'), r
        assert r["status"] == 304, r
    assert out.read_text() == synced["text"]
    assert "0 fetched, 7 not modified" in proc.stdout


def test_offline_replays_the_cache_without_network(synced, filled_cache, run_sync, out,
                                                   closed_port_url):
    proc = run_sync("--offline", "--api-url", closed_port_url)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""                               # no token note offline
    assert out.read_text() == synced["text"]
    assert "(cache; 0 fetched, 0 not modified)" in proc.stdout


def test_offline_with_an_empty_cache_fails(run_sync, out):
    proc = run_sync("--offline")
    assert_failed_cleanly(proc, out, r"--offline: issue pytorch/pytorch#77764 is not in the cache")


def test_since_counts_only_later_comments(fake_github, run_sync, out):
    assert run_sync("--api-url", fake_github.base_url, "--since", "2025-01-01").returncode == 0
    doc = load(out)
    votes = {e["op"]: e["demand"]["votes"] for e in doc["ops"]}
    assert votes["aten::_upsample_bicubic2d_aa"] == 7
    assert votes["aten::roll"] == 0                        # only a 2022 request, seed demand without links
    assert votes["aten::isin.Tensor_Tensor"] == 224        # only 2024 requests, seed demand has links: kept
    assert votes["aten::linalg_eig"] == 38                 # no request at all, seed demand has links: kept
    assert doc["generated"]["seed_demand_kept"] == ["aten::isin.Tensor_Tensor", "aten::linalg_eig"]
    assert "aten::frac.out" not in votes and "torchvision::nms" not in votes
    assert doc["generated"]["since"] == "2025-01-01"
    assert doc["generated"]["ignored_comments"]["before_since"] == 12


# --------------------------------------------------------------------------------------------
# Failures: one line on stderr, non-zero exit, the old file untouched
# --------------------------------------------------------------------------------------------

def test_bad_token_401(fake_github, run_sync, out):
    fake_github.valid_token = "the-right-one"
    proc = run_sync("--api-url", fake_github.base_url, token=TOKEN)
    assert_failed_cleanly(proc, out, r"rejected the token in GH_TOKEN \(HTTP 401 Bad credentials\)")
    assert TOKEN not in proc.stderr


def test_missing_issue_404(fake_github, run_sync, out):
    proc = run_sync("--api-url", fake_github.base_url, "--issues", "77764", "999999", token=TOKEN)
    assert_failed_cleanly(proc, out, r"issue pytorch/pytorch#999999 not found \(HTTP 404")


@pytest.mark.parametrize("status,headers", [
    (403, {"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0", "X-RateLimit-Used": "60",
           "X-RateLimit-Reset": "1900000000", "X-RateLimit-Resource": "core"}),
    (429, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1900000000", "Retry-After": "60"}),
])
def test_rate_limited(fake_github, run_sync, out, status, headers):
    body = json.dumps({"message": "API rate limit exceeded for 127.0.0.1. (But here's the good news: "
                                  "Authenticated requests get a higher rate limit.)",
                       "documentation_url": "https://docs.github.com/rest/rate-limit"}).encode()
    fake_github.script(FakeGitHub.page_path(77764, 2), (status, headers, body))
    # 1900000000 = 2030-03-17 17:46:40 UTC; TZ=EST+5 makes local time 12:46:40 EST
    proc = run_sync("--api-url", fake_github.base_url, token=TOKEN, env={"TZ": "EST+5"})
    assert_failed_cleanly(proc, out, rf"rate limited by the GitHub API \(HTTP {status}\)")
    assert "resets at 2030-03-17 12:46:40 EST" in proc.stderr
    assert len(fake_github.requests_to(FakeGitHub.page_path(77764, 2))) == 1   # not retried


def test_rate_limited_without_token_suggests_one(fake_github, run_sync, out):
    fake_github.script("/repos/pytorch/pytorch/issues/77764",
                       (403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1900000000"},
                        b'{"message": "API rate limit exceeded"}'))
    proc = run_sync("--api-url", fake_github.base_url)
    assert proc.returncode == 1
    lines = error_lines(proc)
    assert len(lines) == 2 and "GH_TOKEN is not set" in lines[0]
    assert "set GH_TOKEN for a higher limit" in lines[1]
    assert out.read_bytes() == OLD


def test_server_error_then_success_is_retried(fake_github, run_sync, out):
    page = FakeGitHub.page_path(141287, 2)
    fake_github.script(page, (500, {}, b'{"message": "Server Error"}'),
                       (502, {}, b"<html>Bad Gateway</html>"))
    proc = run_sync("--api-url", fake_github.base_url, token=TOKEN)
    assert proc.returncode == 0, proc.stderr
    assert [r["status"] for r in fake_github.requests_to(page)] == [500, 502, 200]
    assert as_rows(load(out)["ops"][len(EXPECTED_SEED):]) == EXPECTED_NEW


def test_server_error_that_persists_fails_after_retries(fake_github, run_sync, out):
    page = FakeGitHub.page_path(77764, 3)
    fake_github.script(page, *[(503, {}, b'{"message": "Service Unavailable"}')] * 10)
    start = time.monotonic()
    proc = run_sync("--api-url", fake_github.base_url, token=TOKEN)
    assert_failed_cleanly(proc, out, r"server error 503 .* \(after 4 attempts with backoff\)")
    assert len(fake_github.requests_to(page)) == 4          # 1 + MPSFB_SYNC_RETRIES (3)
    assert time.monotonic() - start < 10                    # backoff base 10 ms in tests


def test_connection_refused(run_sync, out, closed_port_url):
    proc = run_sync("--api-url", closed_port_url, token=TOKEN)
    assert_failed_cleanly(proc, out, r"cannot reach http://127\.0\.0\.1:\d+ .*connection refused")


@pytest.mark.parametrize("damage,offline", [("truncate", True), ("wrong_url", False)])
def test_malformed_cache_file(fake_github, filled_cache, run_sync, out, offline, damage):
    victim = sorted(filled_cache.glob("*issues_77764_comments_per_page_100_page_2-*.json"))
    assert len(victim) == 1
    text = victim[0].read_text()
    if damage == "truncate":
        victim[0].write_text(text[: len(text) // 2])
    else:
        victim[0].write_text(text.replace("page=2\"", "page=9\""))
    args = ["--offline"] if offline else ["--api-url", fake_github.base_url]
    proc = run_sync(*args, token=TOKEN)
    assert_failed_cleanly(proc, out, r"cache file .*page_2-.*\.json is malformed")


def test_token_never_leaks(fake_github, run_sync, out, tmp_path, closed_port_url):
    fake_github.script(FakeGitHub.page_path(77764, 1), (500, {}, b"{}"))  # one retry on the way
    runs = [run_sync("--api-url", fake_github.base_url, "-v", token=TOKEN),
            run_sync("--api-url", fake_github.base_url, "-v", token=TOKEN),        # 304s
            run_sync("--api-url", closed_port_url, "-v", token=TOKEN)]
    fake_github.valid_token = "another"
    runs.append(run_sync("--api-url", fake_github.base_url, "-v", token=TOKEN))   # 401
    assert [p.returncode for p in runs] == [0, 0, 1, 1]
    # the token was really sent ...
    assert fake_github.log[0]["headers"]["Authorization"] == f"Bearer {TOKEN}"
    # ... and appears nowhere we write
    for p in runs:
        assert TOKEN not in p.stdout and TOKEN not in p.stderr
    files = [f for f in tmp_path.rglob("*") if f.is_file()]
    assert any(f.parent.name == "cache" for f in files) and out in files
    for f in files:
        assert TOKEN.encode() not in f.read_bytes(), f


def test_short_token_does_not_mangle_output_or_cache(synced, fake_github, run_sync, out,
                                                     tmp_path):
    """Redaction must not rewrite every 'x' in pages and messages when GH_TOKEN is 'x'."""
    assert run_sync("--api-url", fake_github.base_url, token="x").returncode == 0
    assert out.read_text() == synced["text"]

    def entries(cache):
        return {f.name: {k: v for k, v in json.loads(f.read_text()).items()
                         if k not in ("fetched", "url", "link")}     # these name the server
                for f in cache.iterdir()}
    assert entries(tmp_path / "cache") == entries(synced["cache"])
    links = [json.loads(f.read_text())["link"] for f in (tmp_path / "cache").iterdir()]
    assert sum('rel="next"' in (x or "") for x in links) == 3       # 77764 p1, p2; 141287 p1


def test_no_token_note_appears_once(fake_github, run_sync, out):
    proc = run_sync("--api-url", fake_github.base_url)
    assert proc.returncode == 0
    assert error_lines(proc) == ["sync_requests: note: GH_TOKEN is not set; unauthenticated "
                                 "requests are limited to 60 per hour"]
    assert all("Authorization" not in r["headers"] for r in fake_github.log)


def test_seed_with_an_unknown_key_is_an_error(fake_github, run_sync, out, tmp_path):
    bad = tmp_path / "bad-seed.yaml"
    bad.write_text("version: 1\nops:\n  - op: aten::roll\n    shape: [[4]]\n")
    proc = run_sync("--api-url", fake_github.base_url, seed=bad, token=TOKEN)
    assert_failed_cleanly(proc, out, r"ops\[0\] \(aten::roll\): unknown key 'shape'")
    assert fake_github.log == []                               # checked before any request


def test_missing_explicit_seed_is_an_error(fake_github, run_sync, out, tmp_path):
    proc = run_sync("--api-url", fake_github.base_url, seed=tmp_path / "nope.yaml", token=TOKEN)
    assert_failed_cleanly(proc, out, r"seed file .*nope\.yaml not found")


def test_out_must_not_be_the_seed(fake_github, run_sync, tmp_path):
    seed = tmp_path / "seed.yaml"
    seed.write_bytes((DATA / "seed.yaml").read_bytes())
    proc = run_sync("--api-url", fake_github.base_url, seed=seed, out=seed, token=TOKEN)
    assert proc.returncode == 1 and "is the seed" in proc.stderr
    assert seed.read_bytes() == (DATA / "seed.yaml").read_bytes()


def test_unwritable_cache_dir_is_one_line(fake_github, run_sync, out, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    proc = run_sync("--api-url", fake_github.base_url, cache=blocker / "cache", token=TOKEN)
    assert_failed_cleanly(proc, out, r"not a directory|file exists")


def test_without_seed_writes_requested_ops_only(fake_github, run_sync, tmp_path):
    out = tmp_path / "sub" / "targets.yaml"
    proc = run_sync("--api-url", fake_github.base_url, seed=None, out=out, token=TOKEN)
    assert proc.returncode == 0, proc.stderr
    assert "no seed file at ops/targets.seed.yaml" in proc.stderr
    ops = load(out)["ops"]
    assert ops[0]["op"] == "aten::isin.Tensor_Tensor_out" and ops[0]["demand"]["votes"] == 19
    assert all(e["needs_fixture"] for e in ops)


# --------------------------------------------------------------------------------------------
# Parser: the wordings people use
# --------------------------------------------------------------------------------------------

MSG_113 = ("NotImplementedError: The operator 'aten::upsample_bicubic2d.out' is not currently "
           "implemented for the MPS device. If you want this op to be added in priority during the "
           "prototype phase of this feature, please comment on "
           "https://github.com/pytorch/pytorch/issues/77764. As a temporary fix, you can set the "
           "environment variable `PYTORCH_ENABLE_MPS_FALLBACK=1` to use the CPU as a fallback for "
           "this op. WARNING: this will be slower than running natively on MPS.")
MSG_26 = ("NotImplementedError: The operator 'torchmdnet::warp_neighbor_brute_fwd' is not currently "
          "implemented for the MPS device. If you want this op to be considered for addition please "
          "comment on https://github.com/pytorch/pytorch/issues/141287 and mention use-case, that "
          "resulted in missing op as well as commit hash a8d6afb511. As a temporary fix, ...")

PARSE_TABLE = [
    # (comment text, ops, extra expectations)
    ("NotImplementedError: The operator 'aten::index.Tensor_out' is not current implemented for "
     "the MPS device.", ["aten::index.Tensor_out"], {}),
    (MSG_113, ["aten::upsample_bicubic2d.out"], {}),
    (MSG_26, ["torchmdnet::warp_neighbor_brute_fwd"], {"commit_hashes": ["a8d6afb511"]}),
    ("/opt/venv/lib/python3.11/site-packages/torch/nn/functional.py:4840: UserWarning: The operator "
     "'aten::lerp.Scalar_out' is not currently supported on the MPS backend and will fall back to "
     "run on the CPU. This may have performance implications. (Triggered internally at "
     "/Users/runner/work/pytorch/pytorch/pytorch/aten/src/ATen/mps/MPSFallback.mm:13.)",
     ["aten::lerp.Scalar_out"], {}),
    ("[W413 12:00:01.123456 MPSFallback.mm:13] Warning: The operator 'aten::linalg_qr.out' is not "
     "currently supported on the MPS backend and will fall back to run on the CPU. This may have "
     "performance implications. (function operator())", ["aten::linalg_qr.out"], {}),
    ("**Operator:** 'aten::max_pool3d_with_indices'\n**Use Case:** Implementing CellSeg3D",
     ["aten::max_pool3d_with_indices"], {"use_case": "Implementing CellSeg3D"}),
    ("**Operator:** `aten::mode`", ["aten::mode"], {}),
    ("**Operator**: `aten::_nested_tensor_from_mask_left_aligned`\nUse Case: Training a Transformer",
     ["aten::_nested_tensor_from_mask_left_aligned"], {"use_case": "Training a Transformer"}),
    ("- request: 'aten::_linalg_solve_ex.result'\n- use case: ComfyUI KSampler on macOS",
     ["aten::_linalg_solve_ex.result"], {"use_case": "ComfyUI KSampler on macOS"}),
    ("**Operator:** roll", ["aten::roll"], {}),
    ("**Operator:** mode\nUse case: set `mode` to bilinear", ["aten::mode"], {}),
    ("I set `mode` and `index` in my code", [], {}),
    ("+1 for index, the op is too slow", [], {}),
    ("- request: cumsum", ["aten::cumsum"], {}),
    ("+1 for aten::cumsum.out", ["aten::cumsum.out"], {}),
    ("+1 aten::native_dropout, commit hash 66d78ef560476b6edf8113b006fa0442dd8c9920",
     ["aten::native_dropout"], {"commit_hashes": ["66d78ef560476b6edf8113b006fa0442dd8c9920"]}),
    ("Voting for aten::_weight_norm_interface", ["aten::_weight_norm_interface"], {}),
    ("A vote for aten::scatter_reduce.two_out", ["aten::scatter_reduce.two_out"], {}),
    ("Also voting for `upsample_bicubic2d`", ["aten::upsample_bicubic2d"], {}),
    ("Another +1 for _upsample_bilinear2d_aa - runs with the fallback", ["aten::_upsample_bilinear2d_aa"], {}),
    ("Voting for: cumsum, roll and frac", ["aten::cumsum", "aten::roll", "aten::frac"], {}),
    ("Commenting to prioritize `grid_sampler_2d` (Omnipose)", ["aten::grid_sampler_2d"], {}),
    ("Up vote for this one. Also for aten::nonzero", ["aten::nonzero"], {}),
    ("Missing for distributions:\n- `aten::_standard_gamma`\n- `aten::poisson`\n- `aten::binomial`",
     ["aten::_standard_gamma", "aten::poisson", "aten::binomial"], {}),
    ("`aten::_int_mm` / `aten::_int_mm.out` still raise", ["aten::_int_mm", "aten::_int_mm.out"], {}),
    ("Please add support for ConvTranspose3d", ["aten::conv_transpose3d.input"], {}),
    ("+1 for ConvLSTM2dWrapper", [], {"unrecognised": ["ConvLSTM2dWrapper"]}),
    ("showing support for torch.linalg.lstq", ["aten::linalg_lstq"], {}),
    ("`torch.ops.aten.isin.Tensor_Tensor_out` please", ["aten::isin.Tensor_Tensor_out"], {}),
    ("calls torch.ops.torchvision.nms.default", ["torchvision::nms"], {}),
    ("The operator 'torchvision::deform_conv2d' ...", ["torchvision::deform_conv2d"], {}),
    ("training gpt2 with DDP: c10d::allgather_ is not implemented", ["c10d::allgather_"], {}),
    ("frame #3: at::native::mps_error_fallback(c10::OperatorHandle const&, std::vector<c10::IValue>*)\n"
     "frame #4: c10::Dispatcher::callBoxed + torch::jit::Stack", [], {}),
    ("`aten::index.Tensor` and at::native::index_out", ["aten::index.Tensor"], {}),
    ("> aten::roll works with the fallback\n\nI need `aten::angle` for TTS", ["aten::angle"], {}),
    ("> The operator 'aten::_upsample_bicubic2d_aa.out' is not currently implemented\n\nSame here",
     ["aten::_upsample_bicubic2d_aa.out"], {}),
    ("Is there an ETA for this? Thanks!", [], {}),
    ("+1 for this, we need MPS support", [], {}),
    ("I set `device_map` and `PYTORCH_ENABLE_MPS_FALLBACK=1`", [], {}),
    ("<!-- **Operator:** `aten::xyz` -->\n**Operator:** `aten::polar.out`", ["aten::polar.out"], {}),
    # shapes in every form, attached to the op they follow
    ("aten::grid_sampler_3d with input torch.Size([1, 3, 16, 64, 64])", ["aten::grid_sampler_3d"],
     {"shapes": {"aten::grid_sampler_3d": [[1, 3, 16, 64, 64]]}}),
    ("aten::upsample_bicubic2d on (1, 3, 224, 224) and [8, 3, 512, 512] and 1x3x1024x1024",
     ["aten::upsample_bicubic2d"],
     {"shapes": {"aten::upsample_bicubic2d": [[1, 3, 224, 224], [8, 3, 512, 512], [1, 3, 1024, 1024]]}}),
    ("aten::mm for (1024, 1024) x (1024, 1024) complex64; aten::roll on [64, 3, 256, 256] in half? "
     "x.half()", ["aten::mm", "aten::roll"],
     {"shapes": {"aten::mm": [[1024, 1024]], "aten::roll": [[64, 3, 256, 256]]},
      "dtypes": {"aten::mm": ["c64"], "aten::roll": ["f16"]}}),
    ("aten::randint(0, 100) on a 0x7f1234 pointer, k<=16", ["aten::randint"], {"shapes": {}}),
    # dtypes
    ("aten::view_as_complex: ComplexFloat (complex64) dtype required", ["aten::view_as_complex"],
     {"dtypes": {"aten::view_as_complex": ["c64"]}}),
    ("aten::cumsum with dtype=torch.long, also torch.bfloat16 and float16 and int32",
     ["aten::cumsum"], {"dtypes": {"aten::cumsum": ["i64", "bf16", "f16", "i32"]}}),
    ("aten::cumsum takes long, as long as the float is short", ["aten::cumsum"], {"dtypes": {}}),
    ("aten::_int_mm int8 (and uint8) x int8 -> int32", ["aten::_int_mm"],
     {"dtypes": {"aten::_int_mm": ["i8", "u8", "i32"]}}),
    # torch versions and commit hashes
    ("aten::roll on torch 2.5.1, nightly 2.6.0.dev20241120", ["aten::roll"],
     {"torch_versions": ["2.6.0.dev20241120", "2.5.1"]}),
    ("aten::roll\nPyTorch version: 2.6.0\ntorch==2.7.1; torch 2.7dev20250107.", ["aten::roll"],
     {"torch_versions": ["2.7dev20250107", "2.6.0", "2.7.1"]}),
    ("aten::roll on Python 3.11.7, macOS 14.3, cellpose 4.0.2", ["aten::roll"], {"torch_versions": []}),
    ("aten::_ctc_loss\ncommit de51f09432c33cc0b99e5ba2dc2192c6b7200a94", ["aten::_ctc_loss"],
     {"commit_hashes": ["de51f09432c33cc0b99e5ba2dc2192c6b7200a94"]}),
    ("aten::_ctc_loss, as well as commit hash Unknown.", ["aten::_ctc_loss"], {"commit_hashes": []}),
]


@pytest.mark.parametrize("text,ops,extra", PARSE_TABLE, ids=[f"{i:02d}" for i in range(len(PARSE_TABLE))])
def test_parse_comment(text, ops, extra):
    parsed = sync.parse_comment(text, known={"isin"})
    assert parsed.ops == ops
    for key, expected in extra.items():
        assert getattr(parsed, key) == expected, key


def test_new_op_names_are_checked_against_torch(fake_github, run_sync, out):
    """With torch importable, new names must be ones its dispatcher (= the suite's LibTorch)
    knows: a wrong overload is fixed, an unknown aten op is left out and listed."""
    if importlib.util.find_spec("torch") is None:   # find, not import: import costs ~2 s
        pytest.skip("torch is not installed")
    page = json.loads((DATA / "api" / "issue_77764_comments_p3.json").read_text())
    template = page[-1]
    for cid, login, day, body in [
            (2600001016, "nousr", "2024-12-05", "showing support for torch.linalg.lstq"),
            (2600001017, "vae-user", "2024-12-06", "`aten::conv_transpose3d` for a video VAE"),
            (2600001018, "torchmd-user", "2024-12-07", "NotImplementedError: The operator "
             "'torchmdnet::warp_neighbor_brute_fwd' is not currently implemented for the MPS device.")]:
        page.append({**template, "id": cid, "user": {**template["user"], "login": login},
                     "created_at": f"{day}T10:00:00Z", "body": body,
                     "html_url": link(77764, cid), "reactions": {"+1": 0}})
    headers = fake_github._links(77764, 3, 3)
    fake_github.script(FakeGitHub.page_path(77764, 3), (200, headers, json.dumps(page).encode()))

    proc = run_sync("--api-url", fake_github.base_url, token=TOKEN,
                    env={"MPSFB_SYNC_CHECK_OPS": "torch"})
    assert proc.returncode == 0, proc.stderr
    doc = load(out)
    new = {e["op"]: e for e in doc["ops"][len(EXPECTED_SEED):]}
    assert doc["generated"]["op_check"].startswith("torch 2.")
    assert doc["generated"]["unresolved_ops"] == {"aten::linalg_lstq": 1}
    assert not any("lstq" in op for op in new)
    # ConvTranspose3d (jbrown81) and `aten::conv_transpose3d` (vae-user): one family, and
    # the dispatcher only has the .input overload
    assert new["aten::conv_transpose3d.input"]["demand"]["users"] == 2
    assert new["torchmdnet::warp_neighbor_brute_fwd"]["requires"] == "torchmdnet"
    assert new["torchvision::nms"]["requires"] == "torchvision"
    # the other new names were already known to the dispatcher: unchanged
    assert sorted(new) == sorted([row[0] for row in EXPECTED_NEW] + [
        "torchmdnet::warp_neighbor_brute_fwd"])


class _FakeChecker:
    active = True

    def __init__(self, table):
        self.table = table

    def overloads(self, family):
        return self.table.get(family, [])


@pytest.mark.parametrize("variants,table,expected", [
    ({"aten::frac.out": 2, "aten::frac": 1}, {"aten::frac": ["", "out"]}, ("aten::frac.out", None)),
    ({"aten::frac.bogus": 2, "aten::frac": 1}, {"aten::frac": ["", "out"]}, ("aten::frac", None)),
    ({"aten::conv_transpose3d": 1}, {"aten::conv_transpose3d": ["input"]},
     ("aten::conv_transpose3d.input",
      "the dispatcher has no aten::conv_transpose3d, so aten::conv_transpose3d.input")),
    ({"aten::isin": 1}, {"aten::isin": ["Tensor_Tensor_out", "Tensor_Tensor"]},
     ("aten::isin.Tensor_Tensor", "the dispatcher has no aten::isin, so aten::isin.Tensor_Tensor")),
    ({"aten::linalg_lstq": 1}, {}, (None, None)),
])
def test_resolve_new_op(variants, table, expected):
    d = sync.FamilyDemand()
    d.variants.update(variants)
    family = sync.op_family(next(iter(variants)))
    assert sync.resolve_new_op(family, d, _FakeChecker(table)) == expected
    assert sync.resolve_new_op(family, d, None)[0] == max(variants, key=variants.get)


def test_family_drops_overload_keeps_namespace():
    assert sync.op_family("aten::isin.Tensor_Tensor_out") == "aten::isin"
    assert sync.op_family("torchvision::nms") == "torchvision::nms"
    assert sync.op_family("aten::_int_mm.out") == "aten::_int_mm"


def test_seed_families_are_known_bare_names():
    assert sync.parse_comment("`my_custom_op` please").ops == []
    assert sync.parse_comment("`isin_like` please", known={"isin_like"}).ops == ["aten::isin_like"]


def test_default_shapes_follow_the_name():
    assert sync.default_shapes("aten::grid_sampler_3d") == [[1, 3, 16, 64, 64]]
    assert sync.default_shapes("aten::upsample_bicubic2d") == [[1, 3, 224, 224]]
    assert sync.default_shapes("aten::upsample_linear1d") == [[1, 3, 1024]]
    assert sync.default_shapes("aten::isin") == [[256, 256]]


def test_atomic_write_failure_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "targets.yaml"
    path.write_bytes(OLD)

    def boom(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        sync.atomic_write(str(path), "version: 1\nops: []\n")
    assert path.read_bytes() == OLD
    assert sorted(p.name for p in tmp_path.iterdir()) == ["targets.yaml"]
