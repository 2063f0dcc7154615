"""Optional local embeddings: a latent-semantic model fitted on the user's own items.

Nothing is downloaded and nothing leaves the machine. ``threadline embed`` fits TF-IDF
followed by a truncated SVD (latent semantic analysis) on a sample of the stored items, so
words used in the same contexts ("invoice", "billing") land near each other and a question
can find an item that shares none of its words. The fitted model is a vocabulary, its idf
weights and the projection: stored as plain arrays (no pickle) in ``embedding_model``.
Each live item gets one unit vector (``item_vector``); accumulation keeps them current
(``EmbeddingsFolder``), and retrieval adds the nearest items to BM25's (``vector_index``).

Needs the ``embeddings`` extra (scikit-learn, numpy); without it nothing here runs and
retrieval is BM25 alone.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, delete, func, select

from threadline.errors import ThreadlineError
from threadline.store.context_schema import accumulation_state, embedding_model, item_vector
from threadline.store.schema import item
from threadline.store.upsert import insert_or_update
from threadline.store.writer import utcnow

if TYPE_CHECKING:
    import numpy as np

KIND = "lsa-tfidf-svd"
DIMS = 128
SAMPLE = 50_000
MAX_TERMS = 50_000
STATE = "embeddings"
_BATCH = 2000
_TEXT_CHARS = 4000


class EmbeddingsUnavailable(ThreadlineError):
    """The embeddings extra is not installed, or no model has been fitted."""


def available() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("numpy", "sklearn"))


def require() -> None:
    if not available():
        raise EmbeddingsUnavailable(
            "local embeddings need the embeddings extra: pip install 'threadline[embeddings]' "
            "(scikit-learn and numpy), then run `threadline embed`"
        )


def document(title: str | None, text: str | None) -> str:
    return f"{title or ''}\n{(text or '')[:_TEXT_CHARS]}"


@dataclass
class LsaModel:
    id: int
    vocabulary: dict[str, int]
    idf: np.ndarray
    components: np.ndarray

    @property
    def dims(self) -> int:
        return int(self.components.shape[0])

    def vectors(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors (float32, one row per text); a text with no known word is zero."""
        import numpy as np
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.preprocessing import normalize

        counts = CountVectorizer(vocabulary=self.vocabulary, lowercase=True).transform(texts)
        counts = counts.astype(np.float32)
        counts.data = 1.0 + np.log(counts.data)  # sublinear tf, as fitted
        weighted = normalize(counts.multiply(self.idf).tocsr())
        projected = np.asarray(weighted @ self.components.T, dtype=np.float32)
        return normalize(projected).astype(np.float32)

    def dump(self) -> bytes:
        import numpy as np

        terms = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer, terms=np.array(terms), idf=self.idf, components=self.components
        )
        return buffer.getvalue()

    @classmethod
    def load(cls, model_id: int, data: bytes) -> LsaModel:
        import numpy as np

        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            terms = [str(t) for t in arrays["terms"]]
            return cls(
                id=model_id,
                vocabulary={t: n for n, t in enumerate(terms)},
                idf=arrays["idf"].astype(np.float32),
                components=arrays["components"].astype(np.float32),
            )


def fit(texts: Sequence[str], dims: int = DIMS) -> LsaModel:
    """Fit the model on these texts (deterministic: same texts, same model)."""
    require()
    import numpy as np
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    tfidf = TfidfVectorizer(
        sublinear_tf=True, min_df=2, max_df=0.5, max_features=MAX_TERMS, stop_words="english",
        dtype=np.float32,
    )
    try:
        matrix = tfidf.fit_transform(texts)
    except ValueError as exc:
        raise EmbeddingsUnavailable(
            f"too little text to fit embeddings on ({len(texts)} items): import more first"
        ) from exc
    size = min(dims, matrix.shape[1] - 1, matrix.shape[0] - 1)
    if size < 2:
        raise EmbeddingsUnavailable(
            f"too little text to fit embeddings on ({len(texts)} items, {matrix.shape[1]} "
            "words used twice or more): import more first"
        )
    svd = TruncatedSVD(n_components=size, algorithm="randomized", random_state=0)
    svd.fit(matrix)
    return LsaModel(
        id=0,
        vocabulary={str(k): int(v) for k, v in tfidf.vocabulary_.items()},
        idf=tfidf.idf_.astype(np.float32),
        components=svd.components_.astype(np.float32),
    )


_MODELS: dict[tuple[str, int], LsaModel] = {}


def current_model(conn: Connection) -> LsaModel | None:
    """The newest fitted model, read once per process."""
    # The table first: importing scikit-learn costs seconds, which a store without a
    # model (the default) must never pay on each import or search.
    model_id = conn.execute(select(func.max(embedding_model.c.id))).scalar()
    if model_id is None or not available():
        return None
    key = (str(conn.engine.url), int(model_id))
    found = _MODELS.get(key)
    if found is None:
        data = conn.execute(
            select(embedding_model.c.data).where(embedding_model.c.id == model_id)
        ).scalar_one()
        found = _MODELS[key] = LsaModel.load(int(model_id), bytes(data))
    return found


def embed_items(conn: Connection, model: LsaModel, item_ids: Sequence[int], now: datetime) -> int:
    """Write the vectors of these items under ``model``; tombstones lose theirs."""
    written = 0
    for start in range(0, len(item_ids), _BATCH):
        part = sorted(item_ids[start : start + _BATCH])
        rows = conn.execute(
            select(item.c.id, item.c.title, item.c.text, item.c.deleted).where(
                item.c.id.in_(part)
            )
        ).all()
        gone = [r.id for r in rows if r.deleted]
        if gone:
            conn.execute(delete(item_vector).where(item_vector.c.item_id.in_(gone)))
        live = [r for r in rows if not r.deleted]
        if not live:
            continue
        vectors = model.vectors([document(r.title, r.text) for r in live])
        values: list[dict[str, Any]] = [
            {"item_id": r.id, "model_id": model.id, "vector": vectors[n].tobytes()}
            for n, r in enumerate(live)
        ]
        for n in range(0, len(values), 300):
            insert_or_update(
                conn, item_vector, values[n : n + 300], ["item_id"], ["model_id", "vector"]
            )
        written += len(values)
    if item_ids:
        _touch(conn, now)
    return written


def _touch(conn: Connection, now: datetime) -> None:
    """Vectors changed: a process that holds them in memory reads them again."""
    row: dict[str, Any] = {"name": STATE, "watermark": None, "updated_at": now, "detail": {}}
    insert_or_update(conn, accumulation_state, [row], ["name"], ["updated_at"])


def fit_and_embed(
    engine: Engine,
    *,
    dims: int = DIMS,
    sample: int = SAMPLE,
    progress: Callable[[int], None] | None = None,
) -> tuple[LsaModel, int]:
    """Fit a model on an even sample of the live items, then embed every item with it."""
    require()
    with engine.connect() as conn:
        total = int(
            conn.execute(
                select(func.count()).select_from(item).where(item.c.deleted.is_(False))
            ).scalar_one()
        )
        step = max(1, total // max(1, sample))
        ids = list(
            conn.execute(
                select(item.c.id).where(item.c.deleted.is_(False)).order_by(item.c.id)
            ).scalars()
        )
        chosen = ids[::step][:sample]
        texts: list[str] = []
        for start in range(0, len(chosen), _BATCH):
            part = chosen[start : start + _BATCH]
            texts += [
                document(r.title, r.text)
                for r in conn.execute(
                    select(item.c.title, item.c.text).where(item.c.id.in_(part))
                    .order_by(item.c.id)
                )
            ]
    model = fit(texts, dims)
    now = utcnow()
    with engine.begin() as conn:
        model.id = int(
            conn.execute(
                embedding_model.insert().returning(embedding_model.c.id),
                {"kind": KIND, "dims": model.dims, "fitted_on": len(texts), "created_at": now,
                 "data": model.dump()},
            ).scalar_one()
        )
        # Vectors of an older model cannot be compared with the new one's.
        conn.execute(delete(item_vector).where(item_vector.c.model_id != model.id))
        conn.execute(delete(embedding_model).where(embedding_model.c.id != model.id))
    written = 0
    for start in range(0, len(ids), _BATCH * 5):
        part = ids[start : start + _BATCH * 5]
        with engine.begin() as conn:
            written += embed_items(conn, model, part, utcnow())
        if progress:
            progress(len(part))
    return model, written


class EmbeddingsFolder:
    """Keeps item vectors current under the fitted model; does nothing until one exists."""

    name = "embeddings"

    def fold(self, conn: Connection, item_ids: Sequence[int], now: datetime) -> None:
        model = current_model(conn)
        if model is not None:
            embed_items(conn, model, list(item_ids), now)

    def reset(self, conn: Connection) -> None:
        # The model is kept: a rebuild embeds every item again with the same one.
        conn.execute(delete(item_vector))
