"""Checking the fields of GitHub's issue and comment objects before anything reads them.

The REST API documents each field's type; a response that breaks it (a proxy's error page,
a changed API, a cache file edited by hand) must end the sync with one line naming the
object and the field (docs/sync.md "Errors"), never with a traceback deep in the tally.
Absent and null fields are allowed and read as GitHub's defaults, as before.

    issue = check_post(client.issue(repo, n), f"issue {repo}#{n}", is_issue=True)
    post = Post.from_api(n, issue)        # reads only checked fields
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from typing import Any, Dict, Optional, Tuple, Type

from .common import SyncError

_SHOWN = 60  # characters of a bad value quoted in a message


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[:_SHOWN] + "..."


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number", type(None): "null"}.get(type(value),
                                                                          type(value).__name__)


# RFC 3986's characters: no space, quote, angle bracket or backtick that could end a link in
# the Markdown or HTML a report writes the URL into.
_URL_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
                       "-._~:/?#[]@!$&'()*+,;=%")


def _https_url(url: str) -> bool:
    """An https URL with a host: what GitHub's html_url is, and all a link may be (a
    `javascript:` URL from a hostile cache or proxy would be a live link in a report)."""
    if not url.startswith("https://") or not set(url) <= _URL_CHARS:
        return False
    try:
        return bool(urllib.parse.urlsplit(url).hostname)
    except ValueError:
        return False


def _field(obj: Dict[str, Any], key: str, types: Tuple[Type, ...], expected: str,
           where: str) -> Optional[Any]:
    value = obj.get(key)
    if value is None:
        return None
    # bool is an int in Python, never in JSON's sense of a count or an id.
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise SyncError(f"malformed API response: {where}: '{key}' is {_kind(value)} "
                        f"{_shown(value)}, expected {expected}")
    return value


def check_post(obj: Any, where: str, is_issue: bool = False) -> Dict[str, Any]:
    """`obj` itself when every field the sync reads has its documented type; else SyncError
    "malformed API response: <where>: '<field>' is <what>, expected <what>"."""
    if not isinstance(obj, dict):
        raise SyncError(f"malformed API response: {where} is {_kind(obj)}, expected an object")
    _field(obj, "id", (int, str), "an integer id", where)
    user = _field(obj, "user", (dict,), "an object with login and type", where)
    if user is not None:
        _field(user, "login", (str,), "a string", f"{where}, user")
        _field(user, "type", (str,), "a string such as User or Bot", f"{where}, user")
    _field(obj, "author_association", (str,), "a string such as NONE or MEMBER", where)
    created = _field(obj, "created_at", (str,), "an ISO 8601 time", where)
    if created is not None:
        try:
            dt.datetime.fromisoformat(created.replace("Z", "+00:00"))
        except ValueError:
            raise SyncError(f"malformed API response: {where}: 'created_at' is {_shown(created)}, "
                            "expected an ISO 8601 time such as 2024-05-01T12:00:00Z") from None
    url = _field(obj, "html_url", (str,), "an https URL", where)
    if url is not None and not _https_url(url):
        raise SyncError(f"malformed API response: {where}: 'html_url' is {_shown(url)}, expected "
                        "an https URL such as https://github.com/o/r/issues/1#issuecomment-2")
    _field(obj, "body", (str,), "a string", where)
    reactions = _field(obj, "reactions", (dict,), "an object of reaction counts", where)
    if reactions is not None:
        thumbs = _field(reactions, "+1", (int,), "a count", f"{where}, reactions")
        if thumbs is not None and thumbs < 0:
            raise SyncError(f"malformed API response: {where}, reactions: '+1' is {thumbs}, "
                            "expected a count >= 0")
    if is_issue:
        _field(obj, "comments", (int,), "a count of comments", where)
    return obj
