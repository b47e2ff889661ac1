"""Learning-to-rank examples from interaction logs, with a time-based split.

For a cut-off ``t``, a listener's history is everything strictly before ``t`` and the labels
are what they played in ``[t, t_end)``. The catalog snapshot used for the features is built
from events before ``t`` only, and so are the embedding spaces when ``spaces_as_of`` is given
(the build passes collaborative and fused spaces refitted on those events), so no training
feature sees the label period.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from recsys.domain import Artist, Listener, Track
from recsys.params import PolicyParams
from recsys.pipeline.api import RecommendRequest
from recsys.pipeline.candidates import CandidateSet, CandidateSource, merge_candidates
from recsys.pipeline.catalog import CatalogSnapshot
from recsys.pipeline.context import ListenerContext, SpacesView, build_context
from recsys.pipeline.features import FeatureBuilder
from recsys.pipeline.query_training import query_groups
from recsys.pipeline.reranker import LightGbmReranker, RankingData
from recsys.store import EventHistory

logger = logging.getLogger(__name__)

MAX_NEGATIVES = 200
"""Negatives kept per query (sampled); every positive candidate is kept."""


@dataclass
class ExampleBuilder:
    """Turns (context, positive rows) into one ranking group of features and labels."""

    sources: Sequence[CandidateSource]
    features: FeatureBuilder
    max_negatives: int = MAX_NEGATIVES
    exclude_history: bool = True

    def candidates(self, ctx: ListenerContext) -> CandidateSet:
        """Merged candidates minus the history (what serving would rank)."""
        names = [s.name for s in self.sources]
        cands = merge_candidates([s.propose(ctx) for s in self.sources], names)
        if self.exclude_history and len(ctx.history_rows):
            cands = cands.subset(~np.isin(cands.rows, ctx.history_rows))
        return cands

    def group(
        self, ctx: ListenerContext, positives: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Features and 0/1 labels of one query; None when no positive was retrieved."""
        cands = self.candidates(ctx)
        label = np.isin(cands.rows, positives)
        if not label.any():
            return None
        neg = np.flatnonzero(~label)
        if len(neg) > self.max_negatives:
            neg = rng.choice(neg, self.max_negatives, replace=False)
        keep = np.sort(np.concatenate([np.flatnonzero(label), neg]))
        sub = cands.subset(keep)
        return self.features.build(ctx, sub), label[keep].astype(np.float32)


def stack_groups(
    groups: Iterable[tuple[np.ndarray, np.ndarray] | None], names: Sequence[str]
) -> RankingData:
    """Concatenate groups into :class:`RankingData` (None groups are skipped)."""
    xs, ys, sizes = [], [], []
    for g in groups:
        if g is None:
            continue
        xs.append(g[0])
        ys.append(g[1])
        sizes.append(len(g[1]))
    if not xs:
        empty = np.zeros((0, len(names)), np.float32)
        return RankingData(
            features=empty,
            labels=np.zeros(0),
            groups=np.zeros(0, np.int64),
            feature_names=tuple(names),
        )
    return RankingData(
        features=np.vstack(xs),
        labels=np.concatenate(ys),
        groups=np.asarray(sizes, dtype=np.int64),
        feature_names=tuple(names),
    )


def histories_by_listener(events: pd.DataFrame) -> dict[str, EventHistory]:
    """An ``events`` frame (store columns) as per-listener histories, newest first (the
    columns serving reads, without one :class:`FeedbackEvent` per row)."""
    frame = events.sort_values(["at", "event_id"], ascending=False, kind="stable")
    return {
        str(listener_id): EventHistory(
            track_ids=group["track_id"].astype(str).tolist(),
            event_types=group["event_type"].astype(str).tolist(),
            weights=group["weight"].astype(float).tolist(),
        )
        for listener_id, group in frame.groupby("listener_id", sort=False)
    }


def train_from_events(
    *,
    events: pd.DataFrame,
    spaces: SpacesView,
    track_ids: Sequence[str],
    tracks: Mapping[str, Track],
    artists: Sequence[Artist],
    listeners: Mapping[str, Listener],
    sources_for: Callable[[CatalogSnapshot, SpacesView], Sequence[CandidateSource]],
    spaces_as_of: Callable[[pd.Timestamp], SpacesView] | None = None,
    train_cutoff: dt.datetime | None = None,
    valid_cutoff: dt.datetime | None = None,
    model_id: str = "default",
    seed: int = 0,
    text_model: Any = None,
) -> LightGbmReranker | None:
    """Train a reranker from the store's events with a time-based split.

    Train queries: history before ``train_cutoff``, labels in ``[train_cutoff,
    valid_cutoff)``; validation queries: history before ``valid_cutoff``, labels after it.
    Default cut-offs are the 70% and 85% quantiles of event times. Returns None when the
    log is too small to form both periods.

    ``spaces_as_of(cut-off)`` gives the spaces (fitted on events before it) each period's
    features are computed in; without it ``spaces`` (fitted on everything) is used for both,
    which lets the label period leak into the similarity features.

    Each period also gets query and seed examples (:mod:`recsys.pipeline.query_training`),
    their queries embedded by ``text_model`` (a ``QueryEncoder``; None: ``spaces``' own).
    """
    from recsys.pipeline.loader import play_counts

    if events.empty:
        return None
    times = events["at"]
    t1 = pd.Timestamp(train_cutoff) if train_cutoff else times.quantile(0.7)
    t2 = pd.Timestamp(valid_cutoff) if valid_cutoff else times.quantile(0.85)
    rng = np.random.default_rng(seed)
    positive = events["event_type"].isin(["play", "like", "save"])
    data: list[RankingData] = []
    for start, end in ((t1, t2), (t2, None)):
        before = events[times < start]
        plays, recent, _ = play_counts(before)
        catalog = CatalogSnapshot.build(
            track_ids=list(track_ids),
            tracks=tracks,
            artists=artists,
            plays=plays,
            recent_plays=recent,
            as_of=start.to_pydatetime(),
        )
        period_spaces = spaces_as_of(start) if spaces_as_of is not None else spaces
        sources = sources_for(catalog, period_spaces)
        builder = ExampleBuilder(
            sources, FeatureBuilder(period_spaces, catalog, tuple(s.name for s in sources))
        )
        window = events[positive & (times >= start) & ((times < end) if end is not None else True)]
        history = histories_by_listener(before)
        groups = []
        for listener_id, rows in window.groupby("listener_id")["track_id"]:
            hist = history.get(str(listener_id))
            if hist is None or not len(hist):
                continue
            req = RecommendRequest(listener_id=str(listener_id), params=PolicyParams())
            ctx = build_context(
                req,
                listener=listeners.get(str(listener_id)),
                events=hist,
                catalog=catalog,
                spaces=period_spaces,
            )
            groups.append(builder.group(ctx, catalog.rows(rows.astype(str)), rng))
        groups += query_groups(  # requests with words and seeds
            builder, catalog, period_spaces, window, history, listeners, rng, encoder=text_model
        )
        data.append(stack_groups(groups, builder.features.names))
    train, valid = data
    if len(train.groups) < 5:
        logger.warning("only %d training queries; no reranker trained", len(train.groups))
        return None
    return LightGbmReranker.fit(train, valid if len(valid.groups) else None, model_id=model_id)


__all__ = [
    "MAX_NEGATIVES",
    "ExampleBuilder",
    "histories_by_listener",
    "stack_groups",
    "train_from_events",
]
