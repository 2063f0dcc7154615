"""Notion API pages, rows and data sources turned into the records the export importer makes.

Property values are shown as the export shows them ("Done", "Marco Rossi",
"November 13, 2026 3:12 PM"), and a page is rebuilt as the export's markdown file
(``# Title``, a row's ``Key: value`` lines, the body) and parsed by the importer's own
``parse_markdown``: same title, text, properties, facts and links from either source.
Times are shown in ``zone``, the importer's ``default_tz``, so both read the same instant.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from threadline import ids
from threadline.connectors.notion_blocks import date_range, format_date, plain
from threadline.connectors.notion_export import (
    people_refs,
    permalink_for,
    person_ref,
    reference_links,
)
from threadline.connectors.notion_markdown import parse_markdown
from threadline.connectors.notion_properties import read_facts
from threadline.connectors.notion_tree import Place
from threadline.records import ItemRecord

Json = dict[str, Any]
API_VERSION = "2025-09-03"


def title_of(obj: Json) -> str:
    """The title of a page (its title property), a database or a data source."""
    if obj.get("object") in ("database", "data_source"):
        return plain(obj.get("title"))
    for value in (obj.get("properties") or {}).values():
        if isinstance(value, dict) and value.get("type") == "title":
            return plain(value.get("title"))
    return ""


def is_row(page: Json) -> bool:
    return (page.get("parent") or {}).get("type") in ("data_source_id", "database_id")


def database_of(page: Json) -> str | None:
    """The database a row belongs to (its id is the one in the database's URL)."""
    parent = page.get("parent") or {}
    found = parent.get("database_id")
    return ids.normalize_notion_id(found) if found else None


def is_gone(obj: Json) -> bool:
    return bool(obj.get("in_trash") or obj.get("archived") or obj.get("is_archived"))


def edited(obj: Json) -> str:
    """``last_edited_time`` to the minute: Notion rounds it, and the export shows minutes."""
    return str(obj.get("last_edited_time") or "")[:16]


def parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def property_text(value: Json, zone: tzinfo) -> str:
    """One property value as the export's CSV cell shows it."""
    kind = str(value.get("type"))
    data = value.get(kind)
    if data is None:
        return ""
    if kind in ("title", "rich_text"):
        return plain(data)
    if kind in ("select", "status"):
        return str(data.get("name", ""))
    if kind == "multi_select":
        return ", ".join(str(option.get("name", "")) for option in data)
    if kind == "people":
        return ", ".join(_person_name(person) for person in data)
    if kind in ("created_by", "last_edited_by"):
        return _person_name(data)
    if kind == "date":
        return date_range(data, zone)
    if kind in ("created_time", "last_edited_time"):
        return format_date(str(data), zone)
    if kind == "checkbox":
        return "Yes" if data else "No"
    if kind == "number":
        return _number(data)
    if kind in ("url", "email", "phone_number"):
        return str(data)
    if kind == "relation":
        return ", ".join(f"https://www.notion.so/{str(r.get('id', '')).replace('-', '')}"
                         for r in data)
    if kind == "files":
        return ", ".join(str(f.get("name", "")) for f in data)
    if kind in ("formula", "rollup"):
        return _computed(data, zone)
    if kind == "unique_id":
        prefix = data.get("prefix")
        return f"{prefix}-{data.get('number')}" if prefix else str(data.get("number", ""))
    return ""


def _computed(data: Json, zone: tzinfo) -> str:
    kind = str(data.get("type"))
    inner = data.get(kind)
    if inner is None:
        return ""
    if kind == "array":
        return ", ".join(property_text(item, zone) for item in inner)
    if kind == "date":
        return date_range(inner, zone)
    if kind == "number":
        return _number(inner)
    if kind == "boolean":
        return "Yes" if inner else "No"
    return str(inner)


def _number(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _person_name(person: Json) -> str:
    return str(person.get("name") or person.get("id") or "")


def row_properties(page: Json, zone: tzinfo) -> dict[str, str]:
    """All properties as display text, the title first as the export's first CSV column."""
    props = page.get("properties") or {}
    ordered = sorted(props.items(), key=lambda kv: (kv[1] or {}).get("type") != "title")
    return {name: property_text(value or {}, zone) for name, value in ordered}


@dataclass(frozen=True)
class PageContent:
    body: str
    """The page's blocks as export markdown (see notion_blocks)."""
    truncated: str = ""
    """Why the body is partial ('500 blocks', 'depth 3'), or empty when whole."""


def page_record(page: Json, place: Place, content: PageContent, zone: tzinfo) -> ItemRecord:
    page_uuid = ids.normalize_notion_id(str(page["id"]))
    canonical = f"notion:{page_uuid}"
    title = title_of(page)
    row = is_row(page)
    properties = row_properties(page, zone) if row else {}
    lines = [f"{key}: {value}" for key, value in list(properties.items())[1:] if value]
    head = f"# {title}\n\n" + ("\n".join(lines) + "\n\n" if lines else "")
    markdown = head + content.body.rstrip() + "\n"
    document = parse_markdown(markdown, set(properties) if row else None)
    facts = read_facts(properties, zone)
    native = {
        "page_id": page_uuid,
        "last_edited_time": str(page.get("last_edited_time", "")),
        "api_version": API_VERSION,
    }
    database_id = database_of(page)
    if row and database_id:
        native["database_id"] = database_id
    creator = (page.get("created_by") or {}).get("id")
    if creator:
        native["created_by"] = str(creator)
    if content.truncated:
        native["truncated"] = content.truncated
    raw: Json = {"properties": properties} if properties else {}
    raw["markdown"] = markdown
    # The export has times only for rows; the API has them for every page.
    created = facts.created_at or parse_time(page.get("created_time"))
    updated = facts.updated_at or parse_time(page.get("last_edited_time"))
    return ItemRecord(
        platform="notion",
        kind="row" if row else "page",
        canonical_id=canonical,
        native=native,
        container_id=place.parent_id,
        container_name=place.parent_title,
        thread_id=place.root_id,
        author=person_ref(facts.author),
        recipients=people_refs(facts.people, facts.author),
        created_at=created,
        updated_at=updated,
        occurred_at=facts.occurred_at or updated or created,
        title=document.title or title or None,
        text=document.text,
        permalink=permalink_for(page_uuid, True),
        raw=raw,
        links=reference_links(document.hrefs, properties, canonical),
    )


def database_record(source: Json, database_id: str, place: Place) -> ItemRecord:
    """A data source (2025-09-03) or database object as the export's database item."""
    db_uuid = ids.normalize_notion_id(database_id)
    title = title_of(source)
    schema = source.get("properties") or {}
    columns = sorted(schema, key=lambda name: (schema[name] or {}).get("type") != "title")
    native = {
        "page_id": db_uuid,
        "last_edited_time": str(source.get("last_edited_time", "")),
        "api_version": API_VERSION,
    }
    if source.get("object") == "data_source":
        native["data_source_id"] = str(source["id"])
    return ItemRecord(
        platform="notion",
        kind="database",
        canonical_id=f"notion:{db_uuid}",
        native=native,
        container_id=place.parent_id,
        container_name=place.parent_title,
        thread_id=place.root_id,
        created_at=parse_time(source.get("created_time")),
        updated_at=parse_time(source.get("last_edited_time")),
        title=title,
        text=f"{title}\nColumns: {', '.join(columns)}" if columns else title,
        permalink=permalink_for(db_uuid, True),
        raw={"columns": columns},
    )


def tombstone(obj: Json, place: Place) -> ItemRecord:
    """An archived, trashed or no longer shared page: the store keeps it as deleted."""
    page_uuid = ids.normalize_notion_id(str(obj["id"]))
    kind = "database" if obj.get("object") in ("database", "data_source") else (
        "row" if is_row(obj) else "page"
    )
    return ItemRecord(
        platform="notion",
        kind=kind,
        canonical_id=f"notion:{page_uuid}",
        native={"page_id": page_uuid, "gone": "in_trash" if is_gone(obj) else "not_found"},
        container_id=place.parent_id,
        container_name=place.parent_title,
        thread_id=place.root_id,
        updated_at=parse_time(obj.get("last_edited_time")),
        title=title_of(obj) or None,
        deleted=True,
    )
