"""What the paths of a Notion export say: page ids, titles, parents, databases, links.

Every file and folder name ends with the page's 32-hex id (``Tasks 1a2b...32hex.csv``);
a page's children live in a folder named like the page without its extension.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from threadline import ids
from threadline.connectors.notion_archive import Member

WORKSPACE = "notion:workspace"
_NAMED = re.compile(r"^(?:(.*?)\s+)?([0-9a-fA-F]{32})$")


def split_name(component: str) -> tuple[str, str | None]:
    """``Tasks 1a2b...32hex.csv`` -> ("Tasks", "1a2b...32hex"); no id -> (name, None)."""
    bare = component.rsplit(".", 1)[0] if "." in component else component
    # Folders have no extension but their titles may hold dots ("v1.2 plan <id>").
    for stem in (component, bare):
        match = _NAMED.match(stem.removesuffix("_all"))
        if match is not None:
            return (match.group(1) or "").strip(), match.group(2).lower()
    return bare, None


def synthetic_uuid(*parts: str) -> str:
    """A stable stand-in id for a page the export gives no id for."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()
    return ids.normalize_notion_id(digest[:32])


@dataclass(frozen=True)
class Place:
    """Where a page sits in the tree, read from its path."""

    parent_id: str
    parent_title: str | None
    root_id: str | None


class ExportIndex:
    """Member names sorted into pages, databases, row folders and attachments, once."""

    def __init__(self, members: dict[str, Member]) -> None:
        names = list(members)
        self.html = not any(n.endswith(".md") for n in names) and any(
            n.endswith(".html") and n != "index.html" for n in names
        )
        suffix = ".html" if self.html else ".md"
        csvs: dict[str, str] = {}
        for name in names:
            if name.endswith(".csv"):
                folder = name.removesuffix(".csv").removesuffix("_all")
                # Notion writes "X.csv" (the view's columns) and "X_all.csv" (all of them).
                if name.endswith("_all.csv") or folder not in csvs:
                    csvs[folder] = name
        self.databases = csvs
        self.pages: list[str] = []
        self.rows: dict[str, list[str]] = {}
        self.attachments: dict[str, list[str]] = {}
        self.page_ids: set[str] = set()
        for name in names:
            folder = name.rpartition("/")[0]
            if name.endswith(suffix) and name != "index.html":
                if folder in csvs:
                    self.rows.setdefault(folder, []).append(name)
                else:
                    self.pages.append(name)
                _, page_hex = split_name(name.rpartition("/")[2])
                if page_hex:
                    self.page_ids.add(page_hex)
            elif not name.endswith(".csv") and name != "index.html":
                self.attachments.setdefault(folder, []).append(name)


def place_of(name: str, workspace_name: str) -> Place:
    """Parent and tree root from the folders above ``name`` that carry a page id."""
    named = [
        (title, page_hex)
        for title, page_hex in map(split_name, name.split("/")[:-1])
        if page_hex is not None
    ]
    if not named:
        return Place(WORKSPACE, workspace_name, None)
    parent_title, parent_hex = named[-1]
    return Place(ids.notion_id(parent_hex), parent_title, ids.notion_id(named[0][1]))


def link_target(href: str) -> str | None:
    """A page link as ``notion:<uuid>``, another web link as the URL, else None."""
    parts = urlsplit(href)
    if parts.scheme in ("http", "https"):
        host = (parts.hostname or "").lower()
        if host == "notion.so" or host.endswith((".notion.so", ".notion.site")):
            found = ids.find_notion_id(parts.path.rpartition("/")[2])
            if found:
                return f"notion:{found}"
        return href
    if parts.scheme or not parts.path:
        return None
    _, page_hex = split_name(unquote(parts.path).rpartition("/")[2])
    return ids.notion_id(page_hex) if page_hex else None
