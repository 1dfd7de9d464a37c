"""Hostile responses and arguments (issue 13): one line, an exit code, nothing written.

Every malformed field of an issue or comment object, and every argument that cannot work,
ends the sync with exactly one `sync_requests: error:` line naming the object and the field
(or the argument), never a traceback, and leaves the output as it was. Property-based tests
(hypothesis) then throw arbitrary JSON at the response checker and arbitrary text at the
comment parser.
"""

from __future__ import annotations

import json
import re
import string
import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FakeGitHub
from sync_requests.common import SyncError
from sync_requests.github import GitHubClient
from sync_requests.parse import Parsed, parse_comment
from sync_requests.response import check_post
from sync_requests.tally import Post

TOKEN = "ghp_hostile_0123456789abcdefghijklmnopqrstuv"  # long enough to be scrubbed
OLD = b"# the previous output, which a failed run must leave as it was\n"
COMMENTS = FakeGitHub.page_path(77764, 1)
ISSUE = "/repos/pytorch/pytorch/issues/77764"

GOOD = {"id": 1, "user": {"login": "alice", "type": "User"}, "author_association": "NONE",
        "created_at": "2024-05-01T12:00:00Z", "html_url": "https://github.com/x#issuecomment-1",
        "body": "+1 for aten::roll", "reactions": {"+1": 2}}


@pytest.fixture
def out(tmp_path):
    path = tmp_path / "targets.yaml"
    path.write_bytes(OLD)
    return path


def assert_one_line(proc, out, what, code=1):
    """Exit `code`, one error line matching `what`, no traceback, the output untouched."""
    assert proc.returncode == code, proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line]
    assert len(errors) == 1, lines
    assert re.search(what, errors[0]), errors[0]
    if code == 1:  # argparse (2) prints its usage above its one error line
        assert len(lines) == 1, lines
    assert out.read_bytes() == OLD
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".targets.yaml.")] == []


# ---- malformed response fields ---------------------------------------------------------------

@pytest.mark.parametrize("field, value, what", [
    ("reactions", [1], r"comment 1 of pytorch/pytorch#77764: 'reactions' is a list \[1\], "
                       r"expected an object of reaction counts"),
    ("reactions", "lots", r"'reactions' is a string 'lots'"),
    ("reactions", {"+1": "3"}, r"comment 1 of pytorch/pytorch#77764, reactions: '\+1' is a string "
                               r"'3', expected a count"),
    ("reactions", {"+1": -1}, r"reactions: '\+1' is -1, expected a count >= 0"),
    ("reactions", {"+1": True}, r"reactions: '\+1' is a boolean True"),
    ("reactions", {"+1": 1.5}, r"reactions: '\+1' is a number 1.5"),
    ("user", "bob", r"'user' is a string 'bob', expected an object"),
    ("user", {"login": 7}, r"comment 1 of pytorch/pytorch#77764, user: 'login' is an integer 7"),
    ("user", {"login": "a", "type": ["Bot"]}, r"user: 'type' is a list"),
    ("body", {"text": "+1 for aten::roll"}, r"'body' is an object"),
    ("body", 12, r"'body' is an integer 12, expected a string"),
    ("created_at", 5, r"'created_at' is an integer 5, expected an ISO 8601 time"),
    ("created_at", "yesterday", r"'created_at' is 'yesterday', expected an ISO 8601 time"),
    ("author_association", ["MEMBER"], r"'author_association' is a list"),
    ("html_url", False, r"'html_url' is a boolean"),
    ("id", [1], r"'id' is a list \[1\], expected an integer id"),
    ("id", {"n": 1}, r"'id' is an object"),
])
def test_malformed_comment_field_is_one_line(fake_github, run_sync, out, field, value, what):
    fake_github.script(COMMENTS, (200, {}, json.dumps([dict(GOOD, **{field: value})]).encode()))
    proc = run_sync("--api-url", fake_github.base_url, token=TOKEN)
    assert_one_line(proc, out, r"^sync_requests: error: malformed API response: .*" + what)


@pytest.mark.parametrize("page, what", [
    ([GOOD, "a comment as a string"], r"comment 2 of pytorch/pytorch#77764 is a string, expected an object"),
    ([GOOD, None], r"comment 2 of pytorch/pytorch#77764 is null"),
    ({"message": "not a list"}, r"comments of pytorch/pytorch#77764 page 1 \(not a list\)"),
])
def test_malformed_comment_page_is_one_line(fake_github, run_sync, out, page, what):
    fake_github.script(COMMENTS, (200, {}, json.dumps(page).encode()))
    proc = run_sync("--api-url", fake_github.base_url, token=TOKEN)
    assert_one_line(proc, out, what)


@pytest.mark.parametrize("issue, what", [
    ({"comments": "many", "user": {"login": "a"}}, r"issue pytorch/pytorch#77764: 'comments' is a string"),
    ({"user": 3}, r"issue pytorch/pytorch#77764: 'user' is an integer 3"),
    ({"reactions": {"+1": None, "heart": "x"}, "body": None, "comments": True},
     r"issue pytorch/pytorch#77764: 'comments' is a boolean"),
])
def test_malformed_issue_field_is_one_line(fake_github, run_sync, out, issue, what):
    fake_github.script(ISSUE, (200, {}, json.dumps(issue).encode()))
    proc = run_sync("--api-url", fake_github.base_url, token=TOKEN)
    assert_one_line(proc, out, what)


def test_json_nested_deeper_than_python_reads_is_one_line(fake_github, run_sync, out):
    fake_github.script(COMMENTS, (200, {}, b"[" * 100_000 + b"]" * 100_000))
    proc = run_sync("--api-url", fake_github.base_url, token=TOKEN)
    assert_one_line(proc, out, r"malformed JSON in the API response for comments of pytorch/pytorch#77764")


# ---- arguments that cannot work ----------------------------------------------------------------

@pytest.mark.parametrize("url", ["http://[::1", "http://", "https://exa mple.com", "ftp://example.com",
                                 "api.github.com", "http://example.com:port"])
@pytest.mark.parametrize("offline", [False, True])
def test_api_url_that_is_not_a_url_is_one_line(run_sync, out, url, offline):
    proc = run_sync("--api-url", url, *(["--offline"] if offline else []), token=TOKEN)
    assert_one_line(proc, out, r"--api-url must be an http\(s\) URL with a host, such as "
                               r"https://api.github.com; got " + re.escape(repr(url)))


def test_cache_dir_that_is_a_file_is_one_line(fake_github, run_sync, out, tmp_path):
    (tmp_path / "cache-file").write_text("not a directory\n")
    proc = run_sync("--api-url", fake_github.base_url, token=TOKEN, cache=tmp_path / "cache-file")
    assert_one_line(proc, out, r"--cache-dir .*cache-file is a file, not a directory")
    proc = run_sync("--api-url", fake_github.base_url, token=TOKEN, cache=tmp_path / "cache-file" / "sub")
    assert_one_line(proc, out, r"--cache-dir .*cache-file/sub is under .*cache-file, a file, not a directory")
    assert fake_github.log == [], "nothing is fetched before the arguments are checked"


@pytest.mark.parametrize("number", ["0", "-5", "abc"])
def test_issue_number_that_is_not_positive_is_a_usage_error(run_sync, out, number):
    proc = run_sync("--issues", number, token=TOKEN)
    assert_one_line(proc, out, r"argument --issues: expected a positive issue number, got " +
                    re.escape(repr(number)), code=2)


# ---- property-based: the response checker and the comment parser ----------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)
FIELD = st.sampled_from(["id", "user", "author_association", "created_at", "html_url", "body",
                         "reactions", "comments"])
# GitHub-shaped objects whose fields take arbitrary JSON values (and nested user/reactions).
COMMENT = st.fixed_dictionaries({}, optional={
    "id": JSON | st.integers(0, 2**40), "user": JSON | st.fixed_dictionaries(
        {}, optional={"login": JSON | st.text(max_size=10), "type": JSON | st.sampled_from(["User", "Bot"])}),
    "author_association": JSON | st.sampled_from(["NONE", "MEMBER"]),
    "created_at": JSON | st.datetimes().map(lambda d: d.isoformat() + "Z"),
    "html_url": JSON | st.text(max_size=20), "body": JSON | st.text(max_size=200),
    "reactions": JSON | st.fixed_dictionaries({}, optional={"+1": JSON | st.integers(-3, 10**6)}),
    "comments": JSON | st.integers(-1, 10**6)})
PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def accepted_or_one_line(obj, is_issue):
    """check_post's contract: the object back, or SyncError whose one line names it."""
    try:
        checked = check_post(obj, "comment 1 of o/r#1", is_issue=is_issue)
    except SyncError as exc:
        line = str(exc)
        assert "\n" not in line and line.startswith("malformed API response: comment 1 of o/r#1"), line
        assert len(line) < 400, line
        return None
    assert checked is obj
    return checked


@PROPERTY
@given(obj=JSON | COMMENT, is_issue=st.booleans())
def test_checked_posts_read_without_error(obj, is_issue):
    checked = accepted_or_one_line(obj, is_issue)
    if checked is None:
        return
    post = Post.from_api(1, checked)  # reads only what check_post vouched for
    assert isinstance(post.login, str) and isinstance(post.body, str) and isinstance(post.created, str)
    assert isinstance(post.thumbs_up, int) and post.thumbs_up >= 0
    assert isinstance(post.is_bot, bool) and isinstance(post.is_maintainer, bool)
    assert post.date == post.created[:10]


@PROPERTY
@given(obj=COMMENT)
def test_a_field_of_the_wrong_type_is_always_named(obj):
    """Whatever is wrong, the message names the field that is: never a wrong one."""
    try:
        check_post(obj, "c", is_issue=True)
    except SyncError as exc:
        named = re.search(r"'([^']+)' is ", str(exc))
        assert named and (named.group(1) in obj or named.group(1) in ("login", "type", "+1")), str(exc)


OPISH = st.sampled_from(["aten::", "torch.ops.aten.", "+1 for ", "`", "**Operator:** ", "- request: ",
                         "roll", "isin.Tensor_Tensor", "linalg_eig", "c10::Error", "x", "(8, 3)",
                         "[1, 2, 3]", "1x3x224x224", "torch.float16", "dtype=torch.half", "2.5.1",
                         "torch 2.13.0.dev20260101", "commit hash: abcdef1", "use case: text",
                         "> ", "\n", " ", "<!--", "-->", "::", ".", "_"])
TEXT = st.text(max_size=300) | st.lists(OPISH | st.text(max_size=5), max_size=40).map("".join)


@PROPERTY
@given(body=TEXT | st.none(), known=st.frozensets(st.sampled_from(["roll", "isin", "linalg_eig", "x"])))
def test_parse_comment_never_raises_and_returns_what_it_promises(body, known):
    parsed = parse_comment(body, known)
    assert isinstance(parsed, Parsed)
    for op in parsed.ops:
        assert re.fullmatch(r"[a-z_][a-z0-9_]*::[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?", op), op
    assert len(parsed.ops) == len(set(parsed.ops))
    for shapes in parsed.shapes.values():
        assert all(isinstance(d, int) and d >= 0 for s in shapes for d in s)
    assert all(isinstance(v, str) for v in parsed.torch_versions + parsed.commit_hashes)
    assert parse_comment(body, known) == parsed  # no hidden state


BASE_URL = "http://127.0.0.1/repos/o/r/issues/1/comments?per_page=100"
LINK_URL = st.sampled_from(["/repositories/65600975/issues/1/comments?per_page=100&page=2",
                            "https://api.github.com/repositories/1/issues/1/comments?page=3",
                            "http://h/p?page=9", "?page=4", "comments?page=5"])
LINK_REL = st.sampled_from(["next", "prev", "last", "first"])


@PROPERTY
@given(items=st.lists(st.tuples(LINK_URL, LINK_REL, st.sampled_from(["", " ", "  "]),
                                st.sampled_from(['"{}"', "{}"])), max_size=5),
       rebase=st.booleans())
def test_a_link_header_gives_the_url_of_its_first_next_link(items, rebase):
    """GitHub's Link header, links in any order and spacing, rel quoted or not: the URL of the
    first rel="next" (joined onto the request's URL; from the cache, on the request's host), or
    None when there is none.  Returning another rel's URL, a link's raw text or None for a header
    that has a next link fails here."""
    link = ", ".join(f"<{url}>;{space}rel={quote.format(rel)}" for url, rel, space, quote in items)
    nexts = [urllib.parse.urljoin(BASE_URL, url) for url, rel, _, _ in items if rel == "next"]
    expected = nexts[0] if nexts else None
    if expected and rebase:
        here, there = urllib.parse.urlsplit(BASE_URL), urllib.parse.urlsplit(expected)
        expected = urllib.parse.urlunsplit((here.scheme, here.netloc, there.path, there.query, ""))
    assert GitHubClient._next(BASE_URL, link, rebase=rebase) == expected, link


@PROPERTY
@given(link=st.text(alphabet=string.printable, max_size=120) | st.lists(
    st.sampled_from(['<http://h/p?page=2>', '; rel="next"', '; rel="last"', ", ", "<", ">", '"', ";"]),
    max_size=8).map("".join))
def test_a_link_header_of_any_shape_gives_a_url_or_none(link):
    """Any text: no exception, and a URL only where the header says next."""
    nxt = GitHubClient._next(BASE_URL, link)
    assert nxt is None or (isinstance(nxt, str) and "next" in link), (link, nxt)
