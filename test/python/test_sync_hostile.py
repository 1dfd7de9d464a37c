"""Hostile responses and arguments (issue 13): one line, an exit code, nothing written.

Every malformed field of an issue or comment object, and every argument that cannot work,
ends the sync with exactly one `sync_requests: error:` line naming the object and the field
(or the argument), never a traceback, and leaves the output as it was. Property-based tests
(hypothesis) then throw arbitrary JSON at the response checker and arbitrary text at the
comment parser.
"""

from __future__ import annotations

import json
import os
import re
import socket
import string
import subprocess
import sys
import threading
import time
import urllib.parse

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import ROOT, FakeGitHub
from sync_requests import schema
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
@example(body='+1FOR"torch.ops._._\u00b9', known=frozenset())   # found by this test: \w read "¹" as part of a name
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
    st.sampled_from(['<http://h/p?page=2>', '<http://[::1>', '; rel="next"', '; rel="last"', ", ", "<",
                     ">", '"', ";"]),
    max_size=8).map("".join))
@example(link='<http://[::1>; rel="next"')   # issue 20 U1: a ValueError traceback before
def test_a_link_header_of_any_shape_gives_a_url_or_none(link):
    """Any text: no exception but one line naming a malformed next URL, and a URL only where the
    header says next."""
    try:
        nxt = GitHubClient._next(BASE_URL, link)
    except SyncError as exc:  # a next URL that is not one: one line naming it
        assert str(exc).startswith("malformed Link header: the next page ") and "\n" not in str(exc)
        return
    assert nxt is None or (isinstance(nxt, str) and "next" in link), (link, nxt)



# ---- issue 20: what one public comment, one hostile server or one odd file can do ------------
# Each test names the audit's id (docs/fuzzing.md "Limits" has the limits and their reasons).

def comment(body, **fields):
    return dict(GOOD, body=body, **fields)


def serve_comments(fake, *comments, headers=None):
    fake.script(COMMENTS, (200, headers or {}, json.dumps(list(comments)).encode()))


# H1: a 64 KB comment of each hostile form (the audit's first five; then the other patterns that
# put optional spaces side by side, an unclosed HTML comment, and many ops with many shapes).
N = 65_536
HOSTILE_BODIES = {
    "size_then_spaces": "aten::foo torch.Size([" + " " * N,
    "torch_then_spaces": "torch" + " " * N,
    "commit_hash_then_spaces": "commit hash" + " " * N,
    "plus_one_then_spaces": "+1" + " " * N,
    "need_cumsum_repeated": "need: cumsum " * (N // 13),
    "tuple_then_spaces": "aten::foo (1, 2" + " " * N,
    "request_then_spaces": "request" + " " * N,
    "torch_then_newlines": "torch" + "\n" * N,
    "size_then_mixed_space": "aten::foo torch.Size([" + " \n\t" * (N // 3),
    "commit_then_spaces": "commit" + " " * N,
    "unclosed_html_comments": "aten::foo " + "<!--" * (N // 4),
    "ops_and_shapes": "aten::a (1, 2) aten::b " * (N // 23),
}


def parse_seconds(body):
    """parse_comment's time on `body`, in a child process that is killed at 30 s."""
    code = ("import sys, time; sys.path.insert(0, sys.argv[1]); "
            "from sync_requests.parse import parse_comment; body = sys.stdin.read(); "
            "t = time.perf_counter(); parse_comment(body, {'cumsum'}); "
            "print(time.perf_counter() - t)")
    try:
        proc = subprocess.run([sys.executable, "-c", code, str(ROOT / "tools")], input=body,
                              capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        pytest.fail("parse_comment did not finish within 30 s")
    assert proc.returncode == 0, proc.stderr
    return float(proc.stdout)


@pytest.mark.parametrize("name", sorted(HOSTILE_BODIES))
def test_h1_a_64_kb_hostile_comment_parses_in_well_under_a_second(name):
    body = HOSTILE_BODIES[name][:N]
    assert len(body) >= N - 23
    seconds = parse_seconds(body)
    assert seconds < 1.0, f"{name}: {seconds:.2f} s"


def test_h1_the_sync_reads_a_64_kb_hostile_comment_quickly(fake_github, run_sync, out):
    body = "".join(b[:N // len(HOSTILE_BODIES)] for b in HOSTILE_BODIES.values())
    serve_comments(fake_github, comment(body[:N]))
    started = time.monotonic()
    proc = run_sync("--api-url", fake_github.base_url, token=TOKEN)
    assert proc.returncode == 0, proc.stderr
    assert time.monotonic() - started < 10   # interpreter start and the whole sync included


# H2: a server whose every page names a next one.
def chain_pages(fake, n, comments_per_page):
    """Page 1 of #77764 and pages 2..n, each naming the next (page n names none)."""
    def path(p):
        return COMMENTS if p == 1 else f"/repositories/1/issues/77764/comments?per_page=100&page={p}"
    for p in range(1, n + 1):
        headers = {"Link": f'<{fake.base_url}{path(p + 1)}>; rel="next"'} if p < n else {}
        page = [dict(GOOD, id=p * 1000 + i) for i in range(comments_per_page)]
        fake.routes[path(p)] = (200, headers, json.dumps(page).encode())
    return path


@pytest.mark.parametrize("per_page, what", [
    (0, r"page 1 names a next page, but it is empty"),
    (100, r"page 2 names a next page, but 200 comments are read and the issue has 15 comments"),
])
def test_h2_pagination_that_does_not_end_is_one_line(fake_github, run_sync, out, per_page, what):
    chain_pages(fake_github, 40, per_page)
    proc = run_sync("--api-url", fake_github.base_url, token=TOKEN)
    assert_one_line(proc, out, r"pagination of pytorch/pytorch#77764 does not end: " + what)
    assert len([r for r in fake_github.log if "/comments" in r["path"]]) <= 2


class RawServer:
    """A TCP server on 127.0.0.1 that answers every request with `reply(conn)`: for replies
    no HTTP server library sends (a byte a second, a body without a length)."""

    def __init__(self, reply):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.stop = threading.Event()
        self.reply = reply
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(conn,), daemon=True).start()

    def _one(self, conn):
        with conn:
            try:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(4096)
                    if not chunk:
                        return
                    data += chunk
                self.reply(conn, self.stop)
            except OSError:  # the client gave up: what these servers are for
                pass

    def close(self):
        self.stop.set()
        self.sock.close()


def drip(text, stop, conn, every=0.2):
    for byte in text:
        if stop.is_set():
            return
        conn.sendall(bytes([byte]))
        time.sleep(every)


HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


@pytest.mark.parametrize("part", ["headers", "body"])
def test_h3_a_server_sending_a_byte_at_a_time_meets_the_deadline(run_sync, out, part):
    body = json.dumps({"comments": 0}).encode() * 50
    if part == "headers":
        reply = lambda conn, stop: drip(HEAD + b"X-Slow: " + b"x" * 1000 + b"\r\n\r\n", stop, conn)  # noqa: E731
    else:
        reply = lambda conn, stop: (conn.sendall(HEAD + b"Content-Length: %d\r\n\r\n" % len(body)),  # noqa: E731
                                    drip(body, stop, conn))
    server = RawServer(reply)
    try:
        started = time.monotonic()
        proc = run_sync("--api-url", server.url, token=TOKEN, timeout=30,
                        env={"MPSFB_SYNC_TIMEOUT": "1", "MPSFB_SYNC_RETRIES": "1"})
        took = time.monotonic() - started
    finally:
        server.close()
    assert_one_line(proc, out, r"while fetching issue pytorch/pytorch#77764: no whole response within "
                               r"MPSFB_SYNC_TIMEOUT=1 s \(after 2 attempts\)")
    assert took < 8, took   # two attempts of 1 s, the interpreter's start


def fill_cache(run_sync, fake_github, cache):
    proc = run_sync("--api-url", fake_github.base_url, token=TOKEN, cache=cache)
    assert proc.returncode == 0, proc.stderr
    return sorted(cache.iterdir())


# H4, R4: a cache file that is not a regular file is refused before anything reads it.
@pytest.mark.parametrize("kind, what", [("fifo", "a FIFO"), ("dev_zero", "a device"),
                                        ("directory", "a directory")])
def test_h4_r4_a_cache_file_that_is_not_a_regular_file_is_one_line(fake_github, run_sync, out,
                                                                   tmp_path, kind, what):
    cache = tmp_path / "cache"
    victim = fill_cache(run_sync, fake_github, cache)[0]
    out.write_bytes(OLD)
    victim.unlink()
    if kind == "fifo":
        os.mkfifo(victim)
    elif kind == "dev_zero":
        victim.symlink_to("/dev/zero")
    else:
        victim.mkdir()
    proc = run_sync("--offline", token=TOKEN, cache=cache, timeout=20, memory_mb=1024)
    assert_one_line(proc, out, r"cache file .*" + re.escape(victim.name) + " is " + what +
                    ", not a regular file")


# R3: a response larger than a page of comments can be.
def test_r3_a_response_over_the_size_limit_is_one_line(fake_github, run_sync, out, tmp_path):
    big = json.dumps([comment("x" * (41 << 20))]).encode()
    fake_github.script(COMMENTS, (200, {}, big))     # with a Content-Length
    proc = run_sync("--api-url", fake_github.base_url, token=TOKEN, memory_mb=2048)
    assert_one_line(proc, out, r"the API response for comments of pytorch/pytorch#77764 \(page 1\) has "
                               r"\d+ bytes, more than the 41943040 a page of 100 comments can take")
    assert not any("comments" in p.name for p in (tmp_path / "cache").iterdir())

    def endless(conn, stop):   # no Content-Length: the body ends when the connection does
        conn.sendall(HEAD + b"Connection: close\r\n\r\n[\"")
        while not stop.is_set():
            conn.sendall(b"x" * (1 << 20))
    server = RawServer(endless)
    try:
        proc = run_sync("--api-url", server.url, token=TOKEN, memory_mb=2048)
    finally:
        server.close()
    assert_one_line(proc, out, r"the API response for issue pytorch/pytorch#77764 is longer than the "
                               r"41943040 bytes a page of 100 comments can take")


# L3: --out that is not a regular file is refused; a symlink is written through.
@pytest.mark.parametrize("kind, what", [("fifo", "a FIFO"), ("device", "a device"),
                                        ("stdout_link", "a (device|FIFO)"), ("directory", "a directory")])
def test_l3_an_out_that_is_not_a_regular_file_is_one_line(fake_github, run_sync, tmp_path, kind, what):
    target = tmp_path / "special"
    if kind == "fifo":
        os.mkfifo(target)
    elif kind == "device":
        target.symlink_to("/dev/null")
    elif kind == "stdout_link":
        target.symlink_to("/proc/self/fd/1")
    else:
        target.mkdir()
    before = os.lstat(target)
    proc = run_sync("--api-url", fake_github.base_url, token=TOKEN, out=target, timeout=20)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert re.fullmatch(r"sync_requests: error: --out \S+special is " + what + r", not a regular file: "
                        r"pass the path of a file to \(re\)write\n", proc.stderr), proc.stderr
    assert "wrote" not in proc.stdout
    after = os.lstat(target)
    assert (after.st_mode, after.st_ino) == (before.st_mode, before.st_ino)
    assert fake_github.log == [], "checked before anything is fetched"


def test_l3_an_out_that_is_a_symlink_is_written_through(fake_github, run_sync, out, tmp_path):
    link = tmp_path / "link.yaml"
    link.symlink_to(out.name)
    proc = run_sync("--api-url", fake_github.base_url, token=TOKEN, out=link)
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and os.readlink(link) == out.name
    assert out.read_bytes() != OLD and yaml.safe_load(out.read_text())["version"] == 1


# R1, U1: a seed of aliases of aliases, a seed nested 5,000 deep.
def laughs(levels=9):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefghij", "bcdefghijk"[:levels - 1]):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return lines


@pytest.mark.parametrize("text, what", [
    ("version: 1\nops:\n- op: aten::roll\n  shapes: [[4]]\n  args:\n  - " + "\n  - ".join(
        line.replace(": ", ": {int: 1, x: ", 1) + "}" for line in laughs()) + "\n",
     r":\d+:\d+: alias \*\w brings the document past 1000000 nodes with its aliases expanded"),
    ("version: 1\nops:\n- op: aten::roll\n  args: " + "[" * 5000 + "]" * 5000 + "\n",
     r":4:\d+: nesting deeper than 128 levels \(expected: a targets file nests about 7\)"),
])
def test_r1_u1_a_seed_that_would_expand_or_recurse_is_one_line(fake_github, run_sync, out, tmp_path,
                                                               text, what):
    seed = tmp_path / "seed.yaml"
    seed.write_text(text)
    assert len(text) < 700 or "[" * 5000 in text
    started = time.monotonic()
    proc = run_sync("--api-url", fake_github.base_url, token=TOKEN, seed=seed, memory_mb=1024)
    assert_one_line(proc, out, r"^sync_requests: error: seed \S+seed\.yaml" + what)
    assert time.monotonic() - started < 10


def test_r1_aliases_within_the_limit_still_load(fake_github, run_sync, out, tmp_path):
    seed = tmp_path / "seed.yaml"
    seed.write_text("version: 1\nops:\n- op: aten::roll\n  shapes: &s [[4, 4]]\n"
                    "- op: aten::cumsum\n  shapes: *s\n")
    proc = run_sync("--api-url", fake_github.base_url, token=TOKEN, seed=seed)
    assert proc.returncode == 0, proc.stderr
    assert [e["shapes"] for e in yaml.safe_load(out.read_text())["ops"][:2]] == [[[4, 4]], [[4, 4]]]


# W1: what one comment asks for beyond the decoder's limits is dropped or clipped, and said.
def test_w1_a_comment_beyond_the_decoders_limits_is_cut_to_them(fake_github, run_sync, out):
    long_name = "aten::" + "a" * 300
    serve_comments(
        fake_github,
        comment(f"+1 for {long_name}", id=11),
        comment("Please add aten::hostile_op: torch.Size([100000, 100000]) and (2, 3)", id=12,
                reactions={"+1": 10**20}),
        comment("aten::deep_op torch.Size([" + ", ".join(["1"] * 65) + "])", id=13))
    proc = run_sync("--api-url", fake_github.base_url, token=TOKEN)
    assert proc.returncode == 0, proc.stderr
    doc = yaml.safe_load(out.read_text())
    entries = {e["op"]: e for e in doc["ops"]}
    assert long_name not in entries and all(len(op) <= schema.MAX_OP_NAME for op in entries)
    hostile = entries["aten::hostile_op"]
    assert hostile["shapes"] == [[2, 3]]
    assert hostile["demand"]["thumbs_up"] == hostile["demand"]["votes"] == 2**63 - 1
    assert entries["aten::deep_op"]["shapes"] == [[256, 256]]   # its only shape dropped: the default
    assert doc["generated"]["limits_applied"] == [
        "1 op name(s) longer than 256 characters dropped (3 votes), e.g. aten::aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa... "
        "(306 characters)",
        "aten::hostile_op: 1 shape(s) dropped, e.g. 100000x100000 (f32 needs 38146 MiB, over the 4096 MiB budget)",
        "aten::hostile_op: demand.votes 100000000000000000001 clipped to 9223372036854775807 (int64, what "
        "mps_benchmarks reads)",
        "aten::hostile_op: demand.thumbs_up 100000000000000000000 clipped to 9223372036854775807 (int64, what "
        "mps_benchmarks reads)",
        "aten::deep_op: 1 shape(s) dropped, e.g. a shape of 65 dimensions (more than 64)",
    ]


def test_w1_a_comment_longer_than_githubs_limit_is_read_to_it(fake_github, run_sync, out):
    serve_comments(fake_github, comment("+1 for aten::roll " + "x" * N + " aten::cumsum"))
    proc = run_sync("--api-url", fake_github.base_url, token=TOKEN)
    assert proc.returncode == 0, proc.stderr
    doc = yaml.safe_load(out.read_text())
    assert "1 comment(s) longer than 65536 characters (GitHub's limit) read to there" in \
        doc["generated"]["limits_applied"]
    assert {e["op"]: e["demand"]["users"] for e in doc["ops"]}["aten::cumsum"] == 0


# W10: a next page on another origin is not followed.
def test_w10_a_next_page_on_another_origin_is_not_followed(fake_github, run_sync, out):
    page2 = FakeGitHub.page_path(77764, 2)
    elsewhere = fake_github.base_url.replace("127.0.0.1", "localhost") + page2
    fake_github.script(COMMENTS, (200, {"Link": f'<{elsewhere}>; rel="next"'},
                                  json.dumps([GOOD]).encode()))
    proc = run_sync("--api-url", fake_github.base_url, token=TOKEN)
    assert_one_line(proc, out, r"the API response for comments of pytorch/pytorch#77764 \(page 1\) names "
                               r"its next page on another origin \(http://localhost:\d+/repositories/.*\); "
                               r"the sync follows Link: next only within --api-url http://127\.0\.0\.1:\d+")
    assert fake_github.requests_to(page2) == []


# W11: only https links from the API.
@pytest.mark.parametrize("url", ["javascript:alert(1)", "http://github.com/x#1", "https://",
                                 "https://github.com/x) [evil](javascript:alert(1)",
                                 "https://github.com/x\n## heading", "https://github.com/<b>"])
def test_w11_a_comment_link_that_is_not_https_is_one_line(fake_github, run_sync, out, url):
    serve_comments(fake_github, comment("+1 for aten::roll", html_url=url))
    proc = run_sync("--api-url", fake_github.base_url, token=TOKEN)
    assert_one_line(proc, out, r"comment 1 of pytorch/pytorch#77764: 'html_url' is .*, expected an "
                               r"https URL such as https://github.com/")


# U1: a Link that is not a URL; numbers in the environment that cannot work.
def test_u1_a_link_that_is_not_a_url_is_one_line_and_not_cached(fake_github, run_sync, out, tmp_path):
    fake_github.script(COMMENTS, (200, {"Link": '<http://[::1>; rel="next"'}, json.dumps([GOOD]).encode()))
    proc = run_sync("--api-url", fake_github.base_url, token=TOKEN)
    assert_one_line(proc, out, r"malformed Link header: the next page 'http://\[::1' is not a URL")
    proc = run_sync("--offline", token=TOKEN)
    assert_one_line(proc, out, r"--offline: comments of pytorch/pytorch#77764 \(page 1\) is not in the cache")


@pytest.mark.parametrize("name, value, what", [
    ("MPSFB_SYNC_TIMEOUT", "0", "out of range (expected a number above 0 to 3600)"),
    ("MPSFB_SYNC_TIMEOUT", "nan", "out of range"),
    ("MPSFB_SYNC_TIMEOUT", "inf", "out of range"),
    ("MPSFB_SYNC_TIMEOUT", "1e400", "out of range"),
    ("MPSFB_SYNC_TIMEOUT", "-1", "out of range"),
    ("MPSFB_SYNC_TIMEOUT", "soon", "not a number (expected a number above 0 to 3600)"),
    ("MPSFB_SYNC_BACKOFF", "inf", "out of range (expected a number from 0 to 60)"),
    ("MPSFB_SYNC_BACKOFF", "1e308", "out of range"),
    ("MPSFB_SYNC_RETRIES", "1e3", "not a number (expected an integer from 0 to 10)"),
    ("MPSFB_SYNC_RETRIES", "99999999999", "out of range"),
])
def test_u1_an_environment_number_that_cannot_work_is_one_line(fake_github, run_sync, out, name, value, what):
    fake_github.script("/repos/pytorch/pytorch/issues/77764", (500, {}, b"{}"))   # a retry would wait
    proc = run_sync("--api-url", fake_github.base_url, token=TOKEN, env={name: value}, timeout=20)
    assert_one_line(proc, out, re.escape(f"{name}={value!r} is {what}"))


# U5: an empty --cache-dir, an unwritable one.
def test_u5_an_empty_cache_dir_is_one_line(fake_github, run_sync, out, tmp_path):
    proc = run_sync("--api-url", fake_github.base_url, "--cache-dir", "", token=TOKEN)  # the last wins
    assert_one_line(proc, out, r"--cache-dir is empty: pass a directory for the response cache")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["targets.yaml"]


def test_u5_an_unwritable_cache_dir_is_named(fake_github, run_sync, out):
    proc = run_sync("--api-url", fake_github.base_url, token=TOKEN, cache="/proc/self")
    assert_one_line(proc, out, r"cannot write the response cache in --cache-dir /proc/self: .+; pass a "
                               r"writable --cache-dir$")


# The parser's property test again, on what the audit found: fragments repeated into long runs
# (spaces, newlines, cues, open comments, shapes). Each example must parse within the deadline.
RUN = st.tuples(OPISH | st.sampled_from(["\t", "<!--", "need: ", "torch.Size([", "commit hash",
                                         "request", "(1, 2", "+1 for "]),
                st.integers(1, 3000)).map(lambda fr: fr[0] * fr[1])


@settings(max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.data_too_large])
@given(body=st.lists(RUN, max_size=12).map(lambda runs: "".join(runs)[:N]))
def test_parse_comment_is_fast_on_long_runs_of_anything(body):
    parse_comment(body, {"cumsum"})
