"""Full-text search over items: FTS5 on SQLite, tsvector on PostgreSQL, one interface."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text

_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True)
class SearchHit:
    canonical_id: str
    platform: str
    container_name: str | None
    title: str | None
    snippet: str
    occurred_at: datetime | None
    score: float


def _fts5_query(query: str) -> str:
    # Quote each word so user input can never be read as FTS5 syntax (AND, NEAR, "*").
    return " ".join(f'"{w}"' for w in _WORD.findall(query))


def search(
    conn: Connection, query: str, *, limit: int = 20, include_deleted: bool = False
) -> list[SearchHit]:
    """Items matching every word of ``query``, best first."""
    if not _WORD.search(query):
        return []
    deleted = "" if include_deleted else "AND item.deleted = false"
    if conn.dialect.name == "postgresql":
        sql = text(
            f"""
            SELECT canonical_id, platform, container_name, title, occurred_at,
                   ts_headline('english', text, q, 'MaxFragments=1,MaxWords=18,MinWords=6')
                       AS snippet,
                   ts_rank(search_vector, q) AS score
            FROM item, websearch_to_tsquery('english', :q) AS q
            WHERE search_vector @@ q {deleted}
            ORDER BY score DESC, occurred_at DESC NULLS LAST
            LIMIT :limit
            """
        )
        params = {"q": query, "limit": limit}
    else:
        sql = text(
            f"""
            SELECT item.canonical_id, item.platform, item.container_name, item.title,
                   item.occurred_at,
                   snippet(item_fts, 1, '[', ']', '…', 18) AS snippet,
                   -bm25(item_fts, 4.0, 1.0) AS score
            FROM item_fts JOIN item ON item.id = item_fts.rowid
            WHERE item_fts MATCH :q {deleted}
            ORDER BY bm25(item_fts, 4.0, 1.0), item.occurred_at DESC
            LIMIT :limit
            """
        )
        params = {"q": _fts5_query(query), "limit": limit}
    hits = []
    for row in conn.execute(sql, params):
        occurred = row.occurred_at
        if isinstance(occurred, str):
            occurred = datetime.fromisoformat(occurred)
        hits.append(
            SearchHit(
                canonical_id=row.canonical_id,
                platform=row.platform,
                container_name=row.container_name,
                title=row.title,
                snippet=" ".join((row.snippet or "").split()),
                occurred_at=occurred,
                score=float(row.score or 0.0),
            )
        )
    return hits
