"""Fixtures for test_sync_requests.py: a real HTTP server that plays the GitHub REST API.

`FakeGitHub` serves the recorded pages in data/api/ on 127.0.0.1 (ephemeral port) the way
api.github.com does: issue objects, comment pages linked by `Link` headers (next/prev/first/
last, with the `/repositories/<id>/...` form GitHub uses after page 1), weak ETags with
If-None-Match -> 304, `Bad credentials` for a wrong token, 404 for unknown issues.  Tests
queue one-off replies (`fake.script(path, ...)`) for rate limits and 5xx, and read
`fake.log` to see what the tool sent.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
DATA = HERE / "data"
ROOT = HERE.parent.parent
TOOL = ROOT / "tools" / "sync_requests.py"     # the CLI (a shim for the package tools/sync_requests/)
if str(ROOT / "tools") not in sys.path:         # so that tests can `import sync_requests`
    sys.path.insert(0, str(ROOT / "tools"))
REPO_ID = 65600975  # pytorch/pytorch's repository id, as in GitHub's pagination links


class FakeGitHub:
    def __init__(self, pages_per_issue=None):
        self.routes = {}          # "path?query" -> (status, headers-without-ETag, body bytes)
        self.scripted = {}        # "path?query" -> [(status, headers, body bytes), ...]
        self.log = []             # one dict per request: path, headers, status
        self.valid_token = None   # when set, any other Authorization is "Bad credentials"
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._load(pages_per_issue or {77764: 3, 141287: 2})
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)
        self._thread.start()

    # -- recorded pages ----------------------------------------------------------------------
    def _load(self, pages_per_issue):
        for issue, n_pages in pages_per_issue.items():
            body = (DATA / "api" / f"issue_{issue}.json").read_bytes()
            self.routes[f"/repos/pytorch/pytorch/issues/{issue}"] = (200, {}, body)
            for page in range(1, n_pages + 1):
                body = (DATA / "api" / f"issue_{issue}_comments_p{page}.json").read_bytes()
                self.routes[self.page_path(issue, page)] = (200, self._links(issue, page, n_pages), body)

    @staticmethod
    def page_path(issue, page):
        if page == 1:  # what the tool asks for; later pages come from the Link header
            return f"/repos/pytorch/pytorch/issues/{issue}/comments?per_page=100"
        return f"/repositories/{REPO_ID}/issues/{issue}/comments?per_page=100&page={page}"

    def _links(self, issue, page, n_pages):
        def url(p):
            return f"{self.base_url}/repositories/{REPO_ID}/issues/{issue}/comments?per_page=100&page={p}"
        rels = []
        if page > 1:
            rels += [f'<{url(page - 1)}>; rel="prev"', f'<{url(1)}>; rel="first"']
        if page < n_pages:
            rels += [f'<{url(page + 1)}>; rel="next"', f'<{url(n_pages)}>; rel="last"']
        return {"Link": ", ".join(rels)} if rels else {}

    # -- control -----------------------------------------------------------------------------
    def script(self, path, *replies):
        """Queue replies served (once each, in order) before the recorded page of `path`."""
        with self._lock:
            self.scripted.setdefault(path, []).extend(replies)

    def requests_to(self, path):
        with self._lock:
            return [r for r in self.log if r["path"] == path]

    def close(self):
        self._server.shutdown()
        self._server.server_close()

    # -- HTTP --------------------------------------------------------------------------------
    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True   # headers and body go out in two writes

            def log_message(self, *args):  # keep pytest output clean
                pass

            def _reply(self, status, headers, body):
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                if status != 304:
                    self.send_header("Content-Type", "application/json; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                else:
                    self.send_header("Content-Length", "0")
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)
                with fake._lock:
                    fake.log.append({"path": self.path, "headers": dict(self.headers), "status": status})

            def do_GET(self):
                rate = {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4999",
                        "X-RateLimit-Reset": "1900000000", "X-RateLimit-Resource": "core"}
                with fake._lock:
                    queue = fake.scripted.get(self.path)
                    scripted = queue.pop(0) if queue else None
                if scripted:
                    return self._reply(*scripted)
                auth = self.headers.get("Authorization")
                if fake.valid_token and auth and auth != f"Bearer {fake.valid_token}":
                    return self._reply(401, {}, json.dumps(
                        {"message": "Bad credentials",
                         "documentation_url": "https://docs.github.com/rest"}).encode())
                route = fake.routes.get(self.path)
                if route is None:
                    return self._reply(404, rate, json.dumps(
                        {"message": "Not Found",
                         "documentation_url": "https://docs.github.com/rest/issues/issues#get-an-issue"}).encode())
                status, headers, body = route
                etag = 'W/"%s"' % hashlib.sha256(body).hexdigest()[:40]
                headers = {**rate, **headers, "ETag": etag}
                if self.headers.get("If-None-Match") == etag:
                    return self._reply(304, {**rate, "ETag": etag}, b"")
                return self._reply(status, headers, body)

        return Handler


@pytest.fixture
def fake_github():
    fake = FakeGitHub()
    yield fake
    fake.close()


@pytest.fixture
def closed_port_url():
    """A URL on 127.0.0.1 where nothing listens (connection refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def run_cli(workdir, *args, token=None, env=None, seed=DATA / "seed.yaml", out=None, cache=None,
            memory_mb=None, timeout=60):
    """Run the real CLI (`python tools/sync_requests.py ...`) in a subprocess.

    cwd is `workdir`; --out/--cache-dir default to targets.yaml and cache/ there.  GH_TOKEN
    is unset unless `token=` is given.  Retries back off 10 ms instead of 1 s.  New op names
    are not checked against torch unless env={"MPSFB_SYNC_CHECK_OPS": ...} says so.
    `memory_mb` caps its address space (a test of a memory bomb must not take the machine's).
    """
    workdir = Path(workdir)
    full_env = {k: v for k, v in os.environ.items()
                if k not in ("GH_TOKEN", "GITHUB_TOKEN") and not k.lower().endswith("_proxy")}
    # off: importing torch costs ~2 s per run; test_new_op_names_are_checked_against_torch
    # turns it on
    full_env.update({"MPSFB_SYNC_BACKOFF": "0.01", "NO_PROXY": "127.0.0.1,localhost",
                     "PYTHONDONTWRITEBYTECODE": "1", "SOURCE_DATE_EPOCH": "1795392000",
                     "MPSFB_SYNC_CHECK_OPS": "off"})
    if token is not None:
        full_env["GH_TOKEN"] = token
    full_env.update(env or {})
    cmd = [sys.executable, str(TOOL),
           "--out", str(out or workdir / "targets.yaml"),
           "--cache-dir", str(cache or workdir / "cache")]
    if seed is not None:
        cmd += ["--seed", str(seed)]
    cmd += [str(a) for a in args]
    def cap_memory():
        import resource  # noqa: PLC0415 - POSIX only, and only for these tests
        limit = memory_mb << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return subprocess.run(cmd, cwd=workdir, env=full_env, capture_output=True, text=True,
                          timeout=timeout, preexec_fn=cap_memory if memory_mb else None)


@pytest.fixture
def run_sync(tmp_path):
    """run_cli in this test's tmp_path."""
    def run(*args, **kwargs):
        return run_cli(tmp_path, *args, **kwargs)
    return run
