"""Loading the pipeline from an artifact directory and the store."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from recsys.domain import EventType
from recsys.pipeline.als_source import collaborative_scorers
from recsys.pipeline.catalog import CatalogSnapshot
from recsys.pipeline.recommender import PipelineRecommender
from recsys.pipeline.reranker import LightGbmReranker, Scorer
from recsys.pipeline.slate_log import SlateLogger
from recsys.pipeline.track_facts import AudioFactsTable
from recsys.settings import LinerSettings
from recsys.store import Store
from recsys.store.play_flags import learnable_events

logger = logging.getLogger(__name__)

TREND_WINDOW = dt.timedelta(days=14)
"""Window of the "recent plays" that the popularity trend compares with all plays."""


def play_counts(
    events: pd.DataFrame, *, before: dt.datetime | None = None
) -> tuple[dict[str, float], dict[str, float], dt.datetime | None]:
    """Plays per track (all time and in the trend window) from an ``events`` frame.

    Only events strictly before ``before`` count, so a training snapshot sees no future.

    Returns:
        (plays, recent plays, time of the last counted event).
    """
    if events.empty:
        return {}, {}, None
    frame = events[events["event_type"].isin([EventType.PLAY.value, "like", "save"])]
    if before is not None:
        frame = frame[frame["at"] < pd.Timestamp(before)]
    if frame.empty:
        return {}, {}, None
    weights = frame["weight"].astype(float).clip(lower=0.0)
    plays = weights.groupby(frame["track_id"]).sum()
    last = frame["at"].max()
    recent_mask = frame["at"] >= last - pd.Timedelta(TREND_WINDOW)
    recent = weights[recent_mask].groupby(frame["track_id"][recent_mask]).sum()
    as_of = last.to_pydatetime() if pd.notna(last) else None
    return plays.to_dict(), recent.to_dict(), as_of


def catalog_from_store(
    store: Store, track_ids: Sequence[str], *, before: dt.datetime | None = None
) -> CatalogSnapshot:
    """A catalog snapshot of ``track_ids`` (embedding order) from the store's current data."""
    tracks = {t.track_id: t for t in store.iter_tracks()}
    # Popularity counts no play flagged as artificial streaming.
    plays, recent, last = play_counts(learnable_events(store), before=before)
    return CatalogSnapshot.build(
        track_ids=list(track_ids),
        tracks=tracks,
        artists=store.iter_artists(),
        plays=plays,
        recent_plays=recent,
        as_of=before or last or dt.datetime.now(dt.UTC),
    )


def load_scorers(artifact_dir: Path) -> dict[str, Scorer]:
    """Every reranker model saved in ``artifact_dir``, by model id."""
    return {
        m: LightGbmReranker.load(artifact_dir, m) for m in LightGbmReranker.available(artifact_dir)
    }


def load_recommender(
    artifact_dir: Path, store: Store, settings: LinerSettings, *, log_slates: bool = True
) -> PipelineRecommender:
    """The full pipeline over a verified artifact directory and a live store.

    Consent and quarantine are read from ``store`` on every request; the catalog metadata
    and popularity are snapshotted once here.

    Example:
        rec = load_recommender(Path("var/artifacts"), open_store("var/liner.db"), LinerSettings())
        rec.recommend(RecommendRequest(listener_id="u1"))
    """
    from recsys.embeddings.spaces import EmbeddingSpaces

    spaces = EmbeddingSpaces.load(Path(artifact_dir), settings)
    catalog = catalog_from_store(store, [str(t) for t in spaces.track_ids])
    scorers = load_scorers(Path(artifact_dir))
    if not scorers:
        logger.warning("no reranker in %s; serving with the linear fallback scorer", artifact_dir)
    return PipelineRecommender(
        spaces=spaces,
        catalog=catalog,
        store=store,
        scorers=scorers,
        external=collaborative_scorers(
            Path(artifact_dir), len(catalog.track_ids), settings.embeddings.als
        ),
        slate_logger=SlateLogger(store) if log_slates else None,
        audio_facts=AudioFactsTable.load(Path(artifact_dir), len(catalog.track_ids)),
    )


__all__ = ["catalog_from_store", "load_recommender", "load_scorers", "play_counts"]
