"""The nearest items to a question by meaning, from the item vectors held in memory.

The vectors of the current model are read once per process into one float32 matrix (128
dimensions: 0.5 GB at 1M items) and searched exactly with one matrix product; they are read
again when accumulation has written vectors since (``embeddings.STATE`` moves). Exact
search keeps the result the same on both engines and needs no index extension.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, select

from threadline.context.embeddings import STATE, LsaModel, current_model
from threadline.store.context_schema import accumulation_state, item_vector

if TYPE_CHECKING:
    import numpy as np

_READ = 20_000
# Below this cosine an item shares no more meaning with the question than chance.
MIN_COSINE = 0.2


@dataclass
class VectorIndex:
    model: LsaModel
    version: datetime | None
    ids: np.ndarray
    matrix: np.ndarray

    def nearest(self, question: str, k: int) -> list[tuple[int, float]]:
        """Up to ``k`` (item id, cosine) pairs, best first; none for a question of unknown
        words."""
        import numpy as np

        if not len(self.ids) or k <= 0:
            return []
        query = self.model.vectors([question])[0]
        if not query.any():
            return []
        scores = self.matrix @ query
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        ordered = top[np.lexsort((self.ids[top], -scores[top]))]
        return [(int(self.ids[n]), float(scores[n])) for n in ordered
                if scores[n] >= MIN_COSINE]


_LOADED: dict[str, VectorIndex] = {}


def vector_index(conn: Connection) -> VectorIndex | None:
    """The index of the current model's vectors, or None without the extra or a model."""
    model = current_model(conn)
    if model is None:
        return None
    version = conn.execute(
        select(accumulation_state.c.updated_at).where(accumulation_state.c.name == STATE)
    ).scalar()
    key = str(conn.engine.url)
    found = _LOADED.get(key)
    if found is not None and found.model.id == model.id and found.version == version:
        return found
    found = _LOADED[key] = _read(conn, model, version)
    return found


def _read(conn: Connection, model: LsaModel, version: datetime | None) -> VectorIndex:
    import numpy as np

    ids: list[int] = []
    chunks: list[bytes] = []
    last = 0
    while True:
        rows = conn.execute(
            select(item_vector.c.item_id, item_vector.c.vector)
            .where(item_vector.c.model_id == model.id, item_vector.c.item_id > last)
            .order_by(item_vector.c.item_id)
            .limit(_READ)
        ).all()
        if not rows:
            break
        ids += [r.item_id for r in rows]
        chunks += [bytes(r.vector) for r in rows]
        last = rows[-1].item_id
    matrix = np.frombuffer(b"".join(chunks), dtype=np.float32).reshape(len(ids), model.dims)
    return VectorIndex(model, version, np.asarray(ids, dtype=np.int64), matrix)
