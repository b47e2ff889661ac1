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
from tqdm.auto import tqdm

from recsys.domain import Artist, Listener, Track
from recsys.params import PolicyParams
from recsys.pipeline.api import RecommendRequest
from recsys.pipeline.candidates import CandidateSet, CandidateSource, merge_candidates
from recsys.pipeline.catalog import CatalogSnapshot
from recsys.pipeline.context import ListenerContext, SpacesView, build_context
from recsys.pipeline.features import FeatureBuilder
from recsys.pipeline.first_stage import first_stage
from recsys.pipeline.query_training import query_groups
from recsys.pipeline.reranker import PLAIN_SUFFIX, LightGbmReranker, RankingData
from recsys.store import EventHistory

logger = logging.getLogger(__name__)

MAX_NEGATIVES = 200
"""Negatives kept per query (sampled); every positive candidate is kept."""
POOL_K = 10
"""The slate size training's first-stage pool is taken for (the harness's and the app's k)."""
MAX_LISTENERS = 1500
"""Listeners whose label events form a period's queries, at most (a seeded sample beyond it):
LightGBM learns the ranking from a few thousand queries, and each query costs one candidate
and feature pass, so a 200k-track catalog with 20k listeners would otherwise spend most of
its build here."""
MAX_VALID_LISTENERS = 500
"""Listeners whose label events form the validation period's queries, at most: validation only
stops the boosting early, and at 200k tracks its 1,500 queries cost as much as training's."""


@dataclass
class ExampleBuilder:
    """Turns (context, positive rows) into one ranking group of features and labels."""

    sources: Sequence[CandidateSource]
    features: FeatureBuilder
    max_negatives: int = MAX_NEGATIVES
    exclude_history: bool = True
    pool: int = 0
    """0 (default): examples are drawn from every candidate. N: only from the N candidates
    serving's first stage would keep for a slate of ``POOL_K``
    (:func:`~recsys.pipeline.first_stage.first_stage`). Measured on HetRec's validation split
    (#18, ``benchmarks/eval_reranker.py``): drawing from serving's 250 lost 0.0065 NDCG@10
    (p=0.044) against drawing from every candidate, so the default stays 0."""

    def candidates(self, ctx: ListenerContext) -> CandidateSet:
        """Merged candidates minus the history (what serving would rank)."""
        names = [s.name for s in self.sources]
        cands = merge_candidates([s.propose(ctx) for s in self.sources], names)
        if self.exclude_history and len(ctx.history_rows):
            cands = cands.subset(~np.isin(cands.rows, ctx.history_rows))
        return cands

    def served_pool(self, cands: CandidateSet) -> CandidateSet:
        """The candidates serving's first stage would rerank (after its filters)."""
        keep = first_stage(cands, self.pool, POOL_K)
        return cands if keep is None else cands.subset(keep)

    def group(
        self, ctx: ListenerContext, positives: np.ndarray, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """Features and 0/1 labels of one query; None when no positive was retrieved."""
        cands = self.served_pool(self.candidates(ctx))
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


HOLDOUT_FRACTION = 0.2
"""Share of each listener's tracks held out as labels when the log's times cannot split it."""
TIED_TIME_SHARE = 0.3
"""A log where at least this share of events carries one single time (undated rows stamped
with a fixed date, a bulk import) cannot be split by time: quantile cut-offs land on the tie
and leave a label window empty (HetRec: 72k of 88k pairs undated, no reranker was trained)."""


def time_split_usable(times: pd.Series, t1: pd.Timestamp, t2: pd.Timestamp) -> str | None:
    """Why cut-offs ``t1 < t2`` cannot split ``times`` (None when they can)."""
    if times.isna().all():
        return "no event has a time"
    tied = float(times.value_counts(dropna=False).iloc[0]) / len(times)
    if tied >= TIED_TIME_SHARE:
        return f"{tied:.0%} of events share one time"
    if not t1 < t2 or not (times >= t2).any():
        return "the time quantiles leave a label window empty"
    return None


def listener_holdout(
    events: pd.DataFrame, *, fraction: float = HOLDOUT_FRACTION, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per listener, the latest ``fraction`` of their positively played tracks (by first
    play; ties, e.g. undated rows, in random order) held out as labels.

    Returns ``(history events, held-out events)``: every event of a held-out (listener,
    track) pair moves to the labels, so no label track is in its listener's history.
    Listeners with fewer than 3 such tracks keep everything in history.
    """
    rng = np.random.default_rng(seed)
    positive = events[events["event_type"].isin(["play", "like", "save"])]
    pairs = positive.groupby(["listener_id", "track_id"], sort=True, as_index=False)["at"].min()
    at = pd.to_datetime(pairs["at"], utc=True)
    ns = at.fillna(at.min()).astype("int64").to_numpy() if at.notna().any() else np.zeros(len(at))
    # newest first per listener; ties (undated rows) in random order
    user = pairs["listener_id"].astype("category").cat.codes.to_numpy()
    order = np.lexsort((rng.random(len(pairs)), -ns, user))
    rank = np.empty(len(pairs), np.int64)
    starts = np.r_[0, np.flatnonzero(np.diff(user[order])) + 1]
    rank[order] = np.arange(len(pairs)) - np.repeat(starts, np.diff(np.r_[starts, len(pairs)]))
    pairs["_r"] = rank + 1
    pairs["_n"] = pairs.groupby("listener_id")["at"].transform("size")
    held = pairs[(pairs["_r"] <= np.floor(pairs["_n"] * fraction)) & (pairs["_n"] >= 3)]
    key = pd.MultiIndex.from_frame(held[["listener_id", "track_id"]])
    is_held = pd.MultiIndex.from_frame(events[["listener_id", "track_id"]]).isin(key)
    return events[~is_held], events[is_held]


@dataclass(frozen=True)
class Period:
    """One training period: the history features see, and the label events after it."""

    before: pd.DataFrame
    window: pd.DataFrame
    as_of: pd.Timestamp
    spaces: SpacesView


@dataclass(frozen=True)
class RerankerExamples:
    """The reranker's training and validation groups, by kind: ``listener`` (one plain
    request per listener: history, later plays) and ``query`` (requests with a query or seeds,
    :mod:`recsys.pipeline.query_training`)."""

    train: Mapping[str, RankingData]
    valid: Mapping[str, RankingData]
    split: str

    def joined(self, part: str, kinds: Sequence[str]) -> RankingData:
        """The groups of ``kinds`` in ``part`` ("train" or "valid"), stacked."""
        data = self.train if part == "train" else self.valid
        return join_data([data[k] for k in kinds])


def _joined_kinds(parts: Sequence[Mapping[str, RankingData]]) -> dict[str, RankingData]:
    return {kind: join_data([p[kind] for p in parts]) for kind in parts[0]}


def join_data(parts: Sequence[RankingData]) -> RankingData:
    """Several :class:`RankingData` with the same features as one."""
    names = parts[0].feature_names
    return RankingData(
        features=np.vstack([p.features for p in parts]).astype(np.float32, copy=False),
        labels=np.concatenate([p.labels for p in parts]),
        groups=np.concatenate([p.groups for p in parts]).astype(np.int64),
        feature_names=names,
    )


def reranker_examples(
    *,
    events: pd.DataFrame,
    spaces: SpacesView,
    track_ids: Sequence[str],
    tracks: Mapping[str, Track],
    artists: Sequence[Artist],
    listeners: Mapping[str, Listener],
    sources_for: Callable[[CatalogSnapshot, SpacesView], Sequence[CandidateSource]],
    spaces_as_of: Callable[[pd.Timestamp], SpacesView] | None = None,
    spaces_without: Callable[[pd.DataFrame], SpacesView] | None = None,
    train_cutoff: dt.datetime | None = None,
    valid_cutoff: dt.datetime | None = None,
    seed: int = 0,
    split: str = "auto",
    text_model: Any = None,
    pool: int | None = None,
    draws: int = 1,
) -> RerankerExamples | None:
    """The ranking groups :func:`train_rerankers` learns from (see there for the split);
    None when the log is empty. ``pool``: the first-stage pool examples are drawn from
    (:attr:`ExampleBuilder.pool`; default 0, every candidate). ``draws``: with the per-listener
    hold-out, how many hold-outs (different random shares of tied pairs, each with its own
    refitted spaces) give training queries; validation uses the first."""
    if events.empty:
        return None
    times = events["at"]
    t1 = pd.Timestamp(train_cutoff) if train_cutoff else times.quantile(0.7)
    t2 = pd.Timestamp(valid_cutoff) if valid_cutoff else times.quantile(0.85)
    why = time_split_usable(times, t1, t2) if split == "auto" else None
    if why is not None:
        logger.info("reranker: per-listener hold-out instead of a time split (%s)", why)
    use_time = split == "time" or (split == "auto" and why is None)
    rng = np.random.default_rng(seed)
    positive = events["event_type"].isin(["play", "like", "save"])
    train_periods: list[Period] = []
    valid_periods: list[Period] = []
    if use_time:
        for start, end, into in ((t1, t2, train_periods), (t2, None, valid_periods)):
            in_window = positive & (times >= start) & ((times < end) if end is not None else True)
            into.append(
                Period(
                    before=events[times < start],
                    window=events[in_window],
                    as_of=start,
                    spaces=spaces_as_of(start) if spaces_as_of is not None else spaces,
                )
            )
    else:
        as_of = pd.Timestamp(times.max())
        valid_users: set[str] | None = None
        for draw in range(max(draws, 1)):
            # each draw holds out another random share of the undated (tied) pairs
            history, held = listener_holdout(events, seed=seed + draw)
            held = held[held["event_type"].isin(["play", "like", "save"])]
            if valid_users is None:
                users = np.asarray(sorted(held["listener_id"].astype(str).unique()))
                valid_users = set(users[rng.random(len(users)) < 0.1].tolist())
            is_valid = held["listener_id"].astype(str).isin(valid_users)
            held_spaces = spaces_without(held) if spaces_without is not None else spaces
            train_periods.append(Period(history, held[~is_valid], as_of, held_spaces))
            if draw == 0:
                valid_periods.append(Period(history, held[is_valid], as_of, held_spaces))
    train, valid = (
        _joined_kinds(
            [
                _period_data(
                    p,
                    track_ids,
                    tracks,
                    artists,
                    listeners,
                    sources_for,
                    rng,
                    text_model,
                    pool,
                    most,
                )
                for p in part
            ]
        )
        for part, most in ((train_periods, MAX_LISTENERS), (valid_periods, MAX_VALID_LISTENERS))
    )
    return RerankerExamples(
        train=train,
        valid=valid,
        split="time" if use_time else f"listener hold-out ({why or 'asked'})",
    )


def fit_rerankers(
    examples: RerankerExamples,
    *,
    model_id: str = "default",
    plain: bool = True,
    aware: bool = True,
    params: Mapping[str, Any] | None = None,
    seed: int = 0,
    members: int = 1,
    **fit: Any,
) -> dict[str, LightGbmReranker]:
    """The query-aware ``model_id`` (every example) and, with ``plain``, ``model_id +
    PLAIN_SUFFIX`` (listener examples only, validated on listener examples only): a plain
    request's ranking is then not shaped by the query and seed examples, which outnumbered
    the listener examples on HetRec. ``aware=False`` skips the query-aware model (to measure
    plain requests alone). ``members``: each model is the average of this many LightGBM fits
    with seeds ``seed, seed + 1, ...`` (:meth:`LightGbmReranker.average`). ``fit``: more
    :meth:`LightGbmReranker.fit` arguments. Empty when there are too few training queries."""
    kinds: dict[str, tuple[str, ...]] = {model_id: ("listener", "query")} if aware else {}
    if plain:
        kinds[model_id + PLAIN_SUFFIX] = ("listener",)
    out: dict[str, LightGbmReranker] = {}
    for name, use in kinds.items():
        train = examples.joined("train", use)
        if len(train.groups) < 5:
            logger.warning("only %d training queries; no reranker %s", len(train.groups), name)
            continue
        valid = examples.joined("valid", use)
        fits = [
            LightGbmReranker.fit(
                train,
                valid if len(valid.groups) else None,
                model_id=name,
                params=params,
                seed=seed + i,
                **fit,
            )
            for i in range(max(members, 1))
        ]
        model = fits[0] if len(fits) == 1 else LightGbmReranker.average(fits, model_id=name)
        model.meta["split"] = examples.split
        model.meta["examples"] = list(use)
        out[name] = model
    return out


def train_rerankers(
    *,
    plain: bool = True,
    params: Mapping[str, Any] | None = None,
    model_id: str = "default",
    members: int = 1,
    fit: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, LightGbmReranker]:
    """Train the rerankers from the store's events (:func:`reranker_examples`, then
    :func:`fit_rerankers`); empty when the log is too small.

    Split: ``split="time"``: train queries have their history before ``train_cutoff`` and
    labels in ``[train_cutoff, valid_cutoff)``; validation queries have history before
    ``valid_cutoff`` and labels after it. Default cut-offs are the 70% and 85% quantiles of
    event times. ``split="listener"``: each listener's latest tracks are held out
    (:func:`listener_holdout`); 10% of listeners validate. ``"auto"`` (default) splits by
    time unless the times cannot (:func:`time_split_usable`). The chosen split is in each
    model's ``meta["split"]``.

    ``spaces_as_of(cut-off)`` gives the spaces (fitted on events before it) each time
    period's features are computed in; ``spaces_without(held-out events)`` the spaces fitted
    without the held-out pairs. Without them ``spaces`` (fitted on everything) is used, which
    lets the labels leak into the similarity features.

    Each period also gets query and seed examples (:mod:`recsys.pipeline.query_training`),
    their queries embedded by ``text_model`` (a ``QueryEncoder``; None: ``spaces``' own).
    ``members``: LightGBM fits averaged per model (:func:`fit_rerankers`); ``fit``: more
    :meth:`LightGbmReranker.fit` arguments (e.g. ``early_stopping_rounds``). ``kwargs`` are
    :func:`reranker_examples`'s.
    """
    examples = reranker_examples(**kwargs)
    if examples is None:
        return {}
    seed = int(kwargs.get("seed", 0))
    return fit_rerankers(
        examples,
        model_id=model_id,
        plain=plain,
        params=params,
        seed=seed,
        members=members,
        **(fit or {}),
    )


def train_from_events(*, model_id: str = "default", **kwargs: Any) -> LightGbmReranker | None:
    """The query-aware reranker alone (:func:`train_rerankers` without the plain one); None
    when the log is too small."""
    return train_rerankers(model_id=model_id, plain=False, **kwargs).get(model_id)


def _period_data(
    period: Period,
    track_ids: Sequence[str],
    tracks: Mapping[str, Track],
    artists: Sequence[Artist],
    listeners: Mapping[str, Listener],
    sources_for: Callable[[CatalogSnapshot, SpacesView], Sequence[CandidateSource]],
    rng: np.random.Generator,
    text_model: Any = None,
    pool: int | None = None,
    max_listeners: int | None = None,
) -> dict[str, RankingData]:
    """The ranking groups of one period by kind: ``listener`` (one query per listener with
    labels in its window) and ``query`` (query and seed examples)."""
    from recsys.pipeline.loader import play_counts

    plays, recent, _ = play_counts(period.before)
    catalog = CatalogSnapshot.build(
        track_ids=list(track_ids),
        tracks=tracks,
        artists=artists,
        plays=plays,
        recent_plays=recent,
        as_of=period.as_of.to_pydatetime(),
    )
    period_spaces = period.spaces
    sources = sources_for(catalog, period_spaces)
    builder = ExampleBuilder(
        sources, FeatureBuilder(period_spaces, catalog, tuple(s.name for s in sources))
    )
    if pool is not None:
        builder.pool = pool
    window = period.window
    listeners_in = window["listener_id"].unique()
    most = MAX_LISTENERS if max_listeners is None else max_listeners
    if len(listeners_in) > most:
        kept = rng.choice(listeners_in, most, replace=False)
        window = window[window["listener_id"].isin(set(kept.tolist()))]
        logger.info(
            "reranker: %d of %d listeners' label events sampled as queries",
            most,
            len(listeners_in),
        )
    history = histories_by_listener(period.before)
    groups = []
    by_listener = window.groupby("listener_id")["track_id"]
    # a long fit says where it is and how long is left (HetRec: ~8 min here, silent before)
    bar = tqdm(
        by_listener,
        total=by_listener.ngroups,
        desc="reranker examples",
        unit="listener",
        mininterval=10,
        leave=False,
        disable=by_listener.ngroups < 500,
    )
    for listener_id, rows in bar:
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
    queries = query_groups(  # requests with words and seeds
        builder, catalog, period_spaces, window, history, listeners, rng, encoder=text_model
    )
    names = builder.features.names
    return {"listener": stack_groups(groups, names), "query": stack_groups(queries, names)}


__all__ = [
    "HOLDOUT_FRACTION",
    "MAX_LISTENERS",
    "MAX_NEGATIVES",
    "MAX_VALID_LISTENERS",
    "PLAIN_SUFFIX",
    "POOL_K",
    "ExampleBuilder",
    "Period",
    "RerankerExamples",
    "fit_rerankers",
    "histories_by_listener",
    "join_data",
    "listener_holdout",
    "reranker_examples",
    "stack_groups",
    "time_split_usable",
    "train_from_events",
    "train_rerankers",
]
