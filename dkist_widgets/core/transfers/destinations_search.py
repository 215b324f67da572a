"""Destinations a user really has, found by name: own collections, guest collections, bookmarks.

Choices
-------
* **What Globus itself knows about the user comes first.** Four groups, in this
  order: the user's own collections (``endpoint_search(filter_scope="my-endpoints")``,
  which includes their Globus Connect Personal), guest collections shared with them
  (``filter_scope="shared-with-me"``), their bookmarks (``bookmark_list``), then
  matches among every collection (``filter_scope="all"``). Each result carries its
  group (:data:`GROUP_LABELS` says it in words) so a list can be labelled.
* **Deduplicated.** A collection appears once, in the first group that found it (a
  guest collection of one's own is "mine", not also "found"). A bookmark is a
  collection *and a folder*, so it is listed even when its collection is too.
* **Matching by name.** Collections are matched by Globus (``filter_fulltext``);
  bookmarks are matched here, every word (case-insensitive) found in the bookmark's
  name, its collection's name or its path, as Globus's fulltext search does. Empty
  text lists the first three groups whole (a search of ``all`` needs words).
* **A bookmark carries its path**: choosing it means "send under this folder", i.e.
  it sets the destination root.
* **Plain text only.** Labels are text; a panel that puts them into HTML escapes them.
"""

from __future__ import annotations

from dataclasses import dataclass

import globus_sdk

__all__ = ["Destination", "GROUP_LABELS", "find_destinations"]

#: Group key -> what the user reads, in the order results are returned.
GROUP_LABELS = {
    "mine": "My collection",
    "shared": "Shared with me",
    "bookmark": "Bookmark",
    "found": "Found",
}

#: Most collections asked of each ``endpoint_search`` scope.
SCOPE_LIMIT = 100


@dataclass(frozen=True)
class Destination:
    """One place the files may go: a collection, or a folder on one (a bookmark)."""

    group: str  # a key of GROUP_LABELS
    endpoint_id: str
    name: str  # the collection's display name, or the bookmark's name
    endpoint_name: str = ""  # for a bookmark: its collection's display name
    path: str | None = None  # for a bookmark: the folder (a destination root)
    owner: str = ""

    @property
    def group_label(self) -> str:
        return GROUP_LABELS[self.group]

    @property
    def label(self) -> str:
        """One line of plain text, e.g. ``Bookmark: Downloads (Cluster share, /dkist/)``;
        collections others own carry their owner."""
        if self.path is not None:
            return f"{self.group_label}: {self.name} ({self.endpoint_name or self.endpoint_id}, {self.path})"
        owner = f" ({self.owner})" if self.owner and self.group != "mine" else ""  # one's own: no owner
        return f"{self.group_label}: {self.name}{owner}"


def _name(doc) -> str:
    return doc.get("display_name") or doc.get("canonical_name") or doc["id"]


def _collections(client: globus_sdk.TransferClient, text: str, scope: str, limit: int) -> list[dict]:
    kwargs = {"filter_scope": scope, "limit": limit}
    if text:
        kwargs["filter_fulltext"] = text
    return list(client.endpoint_search(**kwargs))


def _matches(words: list[str], *fields: str) -> bool:
    haystack = " ".join(f for f in fields if f).lower()
    return all(w in haystack for w in words)


def find_destinations(client: globus_sdk.TransferClient, text: str, limit: int = 20) -> list[Destination]:
    """The user's own collections, guest collections shared with them and bookmarks
    matching ``text``, then up to ``limit`` matches among all collections; deduplicated."""
    text = (text or "").strip()
    words = text.lower().split()
    found: list[Destination] = []
    names: dict[str, str] = {}
    seen: set[str] = set()

    def add_collections(group: str, docs: list[dict]) -> None:
        for doc in docs:
            names[doc["id"]] = _name(doc)
            if doc["id"] not in seen:
                seen.add(doc["id"])
                found.append(Destination(group, doc["id"], _name(doc), owner=doc.get("owner_string") or ""))

    add_collections("mine", _collections(client, text, "my-endpoints", SCOPE_LIMIT))
    add_collections("shared", _collections(client, text, "shared-with-me", SCOPE_LIMIT))
    for mark in client.bookmark_list():
        endpoint_id = mark["endpoint_id"]
        if endpoint_id not in names:
            try:
                names[endpoint_id] = _name(client.get_endpoint(endpoint_id))
            except globus_sdk.GlobusAPIError:  # a deleted collection: keep the id
                names[endpoint_id] = endpoint_id
        if _matches(words, mark.get("name") or "", names[endpoint_id], mark.get("path") or ""):
            name = mark.get("name") or mark["path"]
            found.append(Destination("bookmark", endpoint_id, name, names[endpoint_id], mark["path"]))
    if words:
        add_collections("found", _collections(client, text, "all", limit))
    return found
