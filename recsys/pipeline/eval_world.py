"""The pipeline's inputs built from a harness dataset: catalog snapshot, embedding spaces and
listener histories from training pairs only (no store, no artifact directory)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from recsys.domain import (
    AiInvolvement,
    Artist,
    ArtistKind,
    Credit,
    EventType,
    FeedbackEvent,
    Provenance,
    Track,
)
from recsys.index import FaissIndex
from recsys.pipeline.candidates import ExternalScorer
from recsys.pipeline.catalog import CatalogSnapshot

TEXT_DIM = 32
_T0 = pd.Timestamp("2000-01-01", tz="UTC").to_pydatetime()


@dataclass
class ArraySpaces:
    """Embedding spaces held as arrays, with FAISS indexes over ``fused`` and ``text``."""

    track_ids: list[str]
    vectors: dict[str, np.ndarray]
    indexes: dict[str, FaissIndex] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("fused", "text"):
            if name in self.vectors:
                self.indexes[name] = FaissIndex.build(self.vectors[name], self.track_ids)

    def query_vector(self, text: str) -> np.ndarray:
        return np.zeros(self.vectors["text"].shape[1], np.float32)


@dataclass
class EvalWorld:
    """What the pipeline needs, built from training pairs."""

    spaces: ArraySpaces
    catalog: CatalogSnapshot
    scorers: list[ExternalScorer]
    history: dict[str, list[FeedbackEvent]]


def tracks_from_items(items: pd.DataFrame) -> tuple[dict[str, Track], list[Artist]]:
    """Tracks and artists from a harness items frame (provider groups become artist kinds)."""
    tracks: dict[str, Track] = {}
    kinds: dict[str, ArtistKind] = {}
    for row in items.itertuples(index=False):
        ai = AiInvolvement(str(row.ai_involvement))
        group = str(row.provider_group)
        artist = str(row.artist_id)
        kind = ArtistKind.HUMAN if group == "human" else ArtistKind.AI_PERSONA
        if group in ("ai_assisted", "undisclosed"):
            kind = ArtistKind.UNKNOWN
        kinds.setdefault(artist, kind)
        tracks[str(row.item_id)] = Track(
            track_id=str(row.item_id),
            title=str(row.title),
            credits=(Credit(artist_id=artist, share=1.0),),
            genre=row.genre if isinstance(getattr(row, "genre", None), str) else "",
            tags=tuple(t for t in str(row.tags).split("|") if t),
            provenance=Provenance(ai_involvement=ai),
        )
    artists = [
        Artist(
            artist_id=a,
            name=a,
            kind=k,
            verified=k is ArtistKind.HUMAN,
            rights_holder_id=a,
        )
        for a, k in kinds.items()
    ]
    return tracks, artists


def _unit(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return (x / np.where(norm > 0, norm, 1.0)).astype(np.float32)


def _text_vectors(items: pd.DataFrame, seed: int) -> np.ndarray:
    from sklearn.decomposition import TruncatedSVD
    from sklearn.feature_extraction.text import TfidfVectorizer

    docs = items["tags"].fillna("").astype(str).str.replace("|", " ", regex=False)
    docs = docs.where(docs.str.strip() != "", items["title"].astype(str))
    tfidf = TfidfVectorizer(min_df=2, max_features=20_000).fit_transform(docs)
    dim = min(TEXT_DIM, max(tfidf.shape[1] - 1, 1))
    return _unit(TruncatedSVD(dim, random_state=seed).fit_transform(tfidf))


def _audio_vectors(items: pd.DataFrame) -> np.ndarray | None:
    cols = [c for c in items.columns if c.startswith("audio_")]
    if not cols:
        return None
    x = items[cols].astype(float).to_numpy()
    x = (x - np.nanmean(x, axis=0)) / (np.nanstd(x, axis=0) + 1e-9)
    return _unit(np.nan_to_num(x))


def history_events(pairs: pd.DataFrame) -> dict[str, list[FeedbackEvent]]:
    """Pairs as play events per user, newest (or, undated, most played) first."""
    frame = pairs.assign(_t=pairs["timestamp"].fillna(-np.inf)).sort_values(
        ["user_id", "_t", "weight"], ascending=[True, False, False], kind="stable"
    )
    out: dict[str, list[FeedbackEvent]] = {}
    for i, row in enumerate(frame.itertuples(index=False)):
        out.setdefault(str(row.user_id), []).append(
            FeedbackEvent(
                event_id=str(i),
                listener_id=str(row.user_id),
                track_id=str(row.item_id),
                event_type=EventType.PLAY,
                at=_T0,
                weight=float(row.weight),
            )
        )
    return out


def build_eval_world(
    *,
    items: pd.DataFrame,
    pairs: pd.DataFrame,
    tracks: tuple[Mapping[str, Track], Sequence[Artist]],
    collab: np.ndarray,
    scorers: Sequence[ExternalScorer],
    seed: int = 0,
) -> EvalWorld:
    """Spaces (collab = ALS item factors, text = tag TF-IDF + SVD, audio descriptors, fused =
    their weighted concatenation), a catalog whose popularity is the training listener count,
    and the listeners' histories."""
    ids = items["item_id"].astype(str).tolist()
    vectors = {
        "collab": _unit(np.asarray(collab, dtype=np.float32)),
        "text": _text_vectors(items, seed),
    }
    audio = _audio_vectors(items)
    if audio is not None:
        vectors["audio"] = audio
    parts = [vectors["collab"], 0.5 * vectors["text"]]
    if audio is not None:
        parts.append(0.3 * audio)
    vectors["fused"] = _unit(np.hstack(parts))
    counts = pairs.groupby("item_id").size()
    catalog = CatalogSnapshot.build(
        track_ids=ids,
        tracks=tracks[0],
        artists=tracks[1],
        plays={str(k): float(v) for k, v in counts.items()},
        as_of=_T0,
    )
    return EvalWorld(
        spaces=ArraySpaces(track_ids=ids, vectors=vectors),
        catalog=catalog,
        scorers=list(scorers),
        history=history_events(pairs),
    )


__all__ = ["ArraySpaces", "EvalWorld", "build_eval_world", "history_events", "tracks_from_items"]
