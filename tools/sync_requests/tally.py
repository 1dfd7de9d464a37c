"""Counting demand per op family: who asked, when, where, with which shapes and dtypes.

Rules: docs/sync.md "Votes" (the method of pytorch/pytorch#154052: votes = unique requesting
users + thumbs-up on their requesting comments).
"""

from __future__ import annotations

import collections
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Set, Tuple

from .common import unique
from .parse import MAX_COMMENT_CHARS, op_family, parse_comment
from .render import FlowList

# author_association values of people who answer requests rather than make them.
MAINTAINER_ASSOCIATIONS = frozenset({"MEMBER", "COLLABORATOR", "OWNER"})
MAX_USE_CASES = 5        # per op
MAX_UNRECOGNISED = 50    # names listed under generated.unrecognised_names


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
        out["links"] = unique(links)
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
    # What was cut to the limits of GitHub or of the C++ decoder, one line each
    # (generated.limits_applied; seed.merge adds its own).
    limits_applied: List[str] = field(default_factory=list)


def tally(posts: Sequence[Post], known: Set[str], since: Optional[str]) -> Tally:
    t = Tally()
    long_posts = sum(len(post.body) > MAX_COMMENT_CHARS for post in posts)
    if long_posts:
        t.limits_applied.append(f"{long_posts} comment(s) longer than {MAX_COMMENT_CHARS} "
                                "characters (GitHub's limit) read to there")
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
    t.torch_versions = sorted(set(t.torch_versions), key=natural_key)
    t.commit_hashes = sorted(set(t.commit_hashes))
    t.unrecognised = sorted(set(t.unrecognised))[:MAX_UNRECOGNISED]
    return t


def natural_key(text: str):
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", text)]
