"""GitHub REST client: JSON pages with an ETag cache, retries, and one-line errors.

What is read and how errors read: docs/sync.md "What is read" and "Errors".  The token goes
only into the Authorization header to the --api-url host; messages and cache files are
scrubbed of it as a second line of defence.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import hashlib
import json
import math
import os
import re
import signal
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Iterator, List, Optional, Set, Tuple

import requests

from .common import SyncError, atomic_write, read_regular, scrubbable

CACHE_FORMAT = 1
PER_PAGE = 100
# Limits on what GitHub may send (docs/fuzzing.md "Limits"), each with its reason:
# a page holds PER_PAGE comments of at most 65,536 characters, 6 bytes each at worst in JSON
# ("\u0000"), plus about 3 KB of fields: under 38 MiB.
MAX_RESPONSE_BYTES = 40 << 20
# A cache file is a response re-written with indent=1 (one line per value): room for that.
MAX_CACHE_BYTES = 2 * MAX_RESPONSE_BYTES
# Pages of one issue's comments, whatever its `comments` count says: 100,000 comments (the
# busiest tracking issue has about 1,500).
MAX_PAGES = 1000
MAX_BACKOFF_S = 60.0   # one retry's wait at most, whatever MPSFB_SYNC_BACKOFF x 2^n says


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


class _DeadlinePassed(BaseException):
    """Raised by the interval timer when a request is past its deadline.  A BaseException,
    like KeyboardInterrupt, so that no `except Exception` in requests or urllib3 keeps it."""


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Raise _DeadlinePassed in the main thread once `seconds` have passed.

    requests' timeout bounds each wait for a byte, not the request: a server sending a byte a
    second (headers or body) never trips it.  A timer interrupts the blocking read instead.
    Off the main thread (no signals there) the body loop's own clock check is what remains.
    """
    if threading.current_thread() is not threading.main_thread() or not hasattr(
            signal, "setitimer"):
        yield
        return

    def expired(signum, frame):
        raise _DeadlinePassed()

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass
class _Reply:
    """One HTTP response, read whole (at most MAX_RESPONSE_BYTES)."""
    status_code: int
    headers: requests.structures.CaseInsensitiveDict
    url: str
    body: bytes

    def json(self):
        return json.loads(self.body)


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
        self._scrub = scrubbable(token)
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
        try:
            data = read_regular(path, MAX_CACHE_BYTES, "cache file")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise SyncError(f"cache file {path} cannot be read ({exc.strerror or exc}); "
                            "delete it and sync online") from None
        try:
            entry = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
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
        try:
            atomic_write(self.cache_path(url), text)
        except OSError as exc:  # the temporary file's name would say nothing useful
            raise SyncError(f"cannot write the response cache in --cache-dir {self.cache_dir}: "
                            f"{exc.strerror or exc}; pass a writable --cache-dir") from None

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

    def _fetch(self, url: str, headers: dict, what: str) -> _Reply:
        """One GET, read whole within self.timeout seconds and MAX_RESPONSE_BYTES."""
        started = time.monotonic()
        with self.session.get(url, headers=headers, timeout=self.timeout, stream=True) as resp:
            length = resp.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > MAX_RESPONSE_BYTES:
                raise SyncError(f"the API response for {what} has {int(length)} bytes, more than "
                                f"the {MAX_RESPONSE_BYTES} a page of {PER_PAGE} comments can take")
            chunks, size = [], 0
            for chunk in resp.iter_content(64 << 10):
                size += len(chunk)
                if size > MAX_RESPONSE_BYTES:
                    raise SyncError(f"the API response for {what} is longer than the "
                                    f"{MAX_RESPONSE_BYTES} bytes a page of {PER_PAGE} comments "
                                    "can take")
                chunks.append(chunk)
                if time.monotonic() - started > self.timeout:
                    raise _DeadlinePassed()
            return _Reply(resp.status_code, resp.headers, resp.url, b"".join(chunks))

    def _get(self, url: str, headers: dict, what: str) -> _Reply:
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                with _deadline(self.timeout):
                    resp = self._fetch(url, headers, what)
            except (requests.ConnectionError, requests.Timeout,
                    requests.exceptions.ChunkedEncodingError, _DeadlinePassed) as exc:
                if isinstance(exc, _DeadlinePassed):  # the connection is in an unknown state
                    self.session.close()
                    self.session = requests.Session()
                    problem = f"no whole response within MPSFB_SYNC_TIMEOUT={self.timeout:g} s"
                else:
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
            delay = min(self.backoff * (2 ** (attempt - 1)), MAX_BACKOFF_S)
            self.log(f"{what}: {problem}; retry {attempt}/{self.retries} in {delay:.2f}s")
            self.stats["retries"] += 1
            time.sleep(delay)
        raise AssertionError("unreachable")

    def _fail(self, resp: _Reply, what: str) -> None:
        status = resp.status_code
        try:
            api_msg = str(resp.json().get("message", ""))
        except (ValueError, AttributeError, RecursionError):
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
            return entry["body"], self._same_origin(
                self._next(url, fresh or entry.get("link"), rebase=not fresh), what)
        if resp.status_code != 200:
            self._fail(resp, what)
        try:
            body = resp.json()
        except (ValueError, RecursionError):  # RecursionError: nested deeper than json can read
            raise SyncError(f"malformed JSON in the API response for {what}") from None
        link = resp.headers.get("Link")
        nxt = self._same_origin(self._next(url, link), what)  # checked before it is cached
        self.store_cache(url, resp.headers.get("ETag"), link, body)
        self.stats["fetched"] += 1
        return body, nxt

    def _same_origin(self, nxt: Optional[str], what: str) -> Optional[str]:
        """Pages are followed only within the --api-url origin: another host's page would be
        merged and cached as GitHub's (and would be sent the token's requests)."""
        if nxt is not None and _origin(nxt) != _origin(self.api_url):
            raise SyncError(f"the API response for {what} names its next page on another "
                            f"origin ({self.redact(nxt)[:200]}); the sync follows Link: next "
                            f"only within --api-url {self.api_url}")
        return nxt

    @staticmethod
    def _next(url: str, link: Optional[str], rebase: bool = False) -> Optional[str]:
        """The rel="next" URL of a Link header.  `rebase`: the header is from the cache and
        may name the host it was recorded from; keep its path and query on `url`'s host.
        SyncError for a next URL that is not one (`<http://[::1>`)."""
        if not link:
            return None
        for item in requests.utils.parse_header_links(link):
            if item.get("rel") == "next" and item.get("url"):
                try:
                    nxt = urllib.parse.urljoin(url, item["url"])
                    there = urllib.parse.urlsplit(nxt)
                    _ = there.port  # a port that is not a number raises here
                except ValueError:
                    raise SyncError(f"malformed Link header: the next page "
                                    f"{item['url'][:200]!r} is not a URL") from None
                if rebase:
                    here = urllib.parse.urlsplit(url)
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

    def comments(self, repo: str, number: int, expected: Optional[int] = None) -> List[dict]:
        """Every comment page of the issue.  `expected`, the issue's `comments` count, bounds
        the pagination: every page but the last holds a comment, and the pages hold at most
        `expected` comments and a page more (posted while the sync reads), in MAX_PAGES."""
        url: Optional[str] = (f"{self.api_url}/repos/{repo}/issues/{number}/comments"
                              f"?per_page={PER_PAGE}")
        most = max(0, expected if expected is not None else MAX_PAGES * PER_PAGE) + PER_PAGE
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
            out.extend(body)  # each checked by response.check_post, naming a bad one
            if url and (not body or len(out) > most or page == MAX_PAGES):
                why = ("it is empty" if not body else
                       f"{len(out)} comments are read and the issue has "
                       f"{'no count of' if expected is None else expected} comments"
                       if len(out) > most else f"{MAX_PAGES} pages are the most the sync reads")
                raise SyncError(f"pagination of {repo}#{number} does not end: page {page} names "
                                f"a next page, but {why}")
            page += 1
        return out
