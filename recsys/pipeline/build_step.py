"""The ``reranker`` step of `liner build`: LightGBM lambdarank trained from the event log.

It runs after the ``indexes`` step, reading the spaces and indexes that the build just wrote,
and trains with the time-based split of :func:`recsys.pipeline.training.train_rerankers`
(a per-listener hold-out when the log's times cannot split it, e.g. mostly undated plays).
Each period's features come from spaces rebuilt from the events before its cut-off
(:func:`spaces_as_of`: ALS, the cold-start projection, the fused vectors and their index),
so the label period never reaches a feature; text and audio vectors do not depend on events
and are reused. Only events on tracks whose rights holders grant ``ai_training`` are used (the
build's training mask). With too few events it writes no model and serving uses the linear
fallback.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from recsys.index import FaissIndex
from recsys.pipeline.als_source import AlsScorer, collaborative_scorers
from recsys.pipeline.candidates import ExternalScorer, default_sources
from recsys.pipeline.item_graph import (
    GRAPH_NAMES,
    GraphConfig,
    ItemGraphScorer,
    fit_graphs,
    save_graphs,
)
from recsys.pipeline.query_training import QueryEncoder, QueryTrainingConfig
from recsys.pipeline.training import train_rerankers

if TYPE_CHECKING:
    from recsys.build import BuildContext
    from recsys.embeddings.config import EmbeddingConfig

logger = logging.getLogger(__name__)

STEP_VERSION = "reranker-5"  # 3: per-listener hold-out when times cannot split; query and
# seed examples (query_training.py); 4: validation period capped (MAX_VALID_LISTENERS), the
# training spaces reuse the build's kNN projection; 5: early stopping on a smoothed NDCG
RERANKER_PLAIN = False
"""Also train ``default-plain`` for plain requests
(:func:`recsys.pipeline.training.fit_rerankers`). Off: on HetRec's validation split it scored
0.2234 against 0.2228 for the one query-aware model (p=0.86, #18), not worth a second LightGBM
fit per build."""
RERANKER_PARAMS: dict[str, Any] = {}
"""LightGBM settings over :meth:`LightGbmReranker.fit`'s defaults (chosen on validation, #18)."""
RERANKER_MEMBERS = 1
"""LightGBM fits (seeds ``seed, seed + 1, ...``) averaged into the served model
(:meth:`~recsys.pipeline.reranker.LightGbmReranker.average`)."""
RERANKER_FIT: dict[str, Any] = {"smooth": 20}
"""More :meth:`~recsys.pipeline.reranker.LightGbmReranker.fit` arguments. ``smooth``: early
stopping follows the mean validation NDCG@10 of 20 consecutive rounds
(:class:`~recsys.pipeline.reranker.SmoothedStop`). On HetRec's test-period build a one-round
bump stopped the boosting at 22 trees with bfloat16 text vectors and at 91 with float32 ones
(test NDCG@10 0.259 vs 0.274, #18); on both --tune validation cut-offs the smoothed stop
scores as the one-round stop does (6 paired fits: -0.0003 on average, none beyond ±0.001)."""
SPACE_FILES = tuple(f"vectors/{s}.npy" for s in ("fused", "text", "audio", "collab"))
INDEX_FILES = ("indexes/fused.npz", "indexes/text.npz")
PROJECTION_FILE = "models/projection.npz"
GRAPH_FILES = tuple(f"models/graph_{n}.npz" for n in GRAPH_NAMES)


@dataclass
class BuiltSpaces:
    """The spaces the build wrote, read back for training (queries are not needed)."""

    track_ids: list[str]
    vectors: dict[str, np.ndarray]
    indexes: dict[str, FaissIndex] = field(default_factory=dict)
    graphs: list[ExternalScorer] = field(default_factory=list)
    """The collaborative scorers (item graphs, ALS; candidate sources and features), fitted on
    the same events as the spaces, in serving's order (:func:`collaborative_scorers`)."""

    def query_vector(self, text: str) -> np.ndarray:
        return np.zeros(self.vectors["text"].shape[1], np.float32)


def spaces_as_of(ctx: BuildContext, base: BuiltSpaces, cutoff: pd.Timestamp) -> BuiltSpaces:
    """``base`` with its collaborative and fused spaces (and fused index) refitted on the
    events before ``cutoff``, the way the build made them: ALS on every listening event, as
    the served one is (only the reranker's own examples are limited to consented tracks)."""
    before = ctx.events[ctx.events["at"] < cutoff] if not ctx.events.empty else ctx.events
    return spaces_from_events(ctx, base, before)


def spaces_without(ctx: BuildContext, base: BuiltSpaces, held: pd.DataFrame) -> BuiltSpaces:
    """``base`` refitted on every event but those of the held-out (listener, track) pairs
    (the per-listener hold-out split of the reranker's training)."""
    events = ctx.events
    if events.empty or held.empty:
        return spaces_from_events(ctx, base, events)
    key = pd.MultiIndex.from_frame(held[["listener_id", "track_id"]].drop_duplicates())
    out = pd.MultiIndex.from_frame(events[["listener_id", "track_id"]]).isin(key)
    return spaces_from_events(ctx, base, events[~out])


def spaces_from_events(ctx: BuildContext, base: BuiltSpaces, events: pd.DataFrame) -> BuiltSpaces:
    """``base`` with collaborative and fused spaces (and fused index) fitted on ``events``."""
    from recsys.embeddings.fusion import PcaReducer, normalise_rows
    from recsys.embeddings.steps import collab_space, content_matrix, fused_tracks, track_als

    cfg = projection_as_built(ctx)
    als, counts, _, _ = track_als(events, ctx.track_ids, cfg.als, seed=ctx.settings.seed)
    text_r = PcaReducer.load(ctx.work_dir / "models/text_pca.npz").transform(base.vectors["text"])
    audio = base.vectors["audio"]
    space = collab_space(
        als, counts, content_matrix(text_r, audio), ctx.training_mask, cfg, seed=ctx.settings.seed
    )
    fused, _ = fused_tracks(text_r, audio, space.raw, cfg.fusion)
    graphs = fit_graphs(events, ctx.track_ids, ctx.training_mask, GraphConfig())
    return BuiltSpaces(
        track_ids=base.track_ids,
        vectors={**base.vectors, "collab": normalise_rows(space.raw), "fused": fused},
        indexes={**base.indexes, "fused": FaissIndex.build(fused, base.track_ids, cfg.index)},
        graphs=[
            *(ItemGraphScorer(name=f"graph_{n}", graph=g) for n, g in graphs.items()),
            AlsScorer(als, regularization=cfg.als.regularization, alpha=cfg.als.alpha),
        ],
    )


def projection_as_built(ctx: BuildContext) -> EmbeddingConfig:
    """The build's embedding settings with the content projection the ``projection`` step
    chose: a kNN mapping is refitted with its k instead of being chosen again by validation
    (the choice was most of the refit's projection cost at 200k tracks); a ridge choice is
    chosen again (its alpha is not stored)."""
    cfg = ctx.config
    path = ctx.work_dir / PROJECTION_FILE
    if cfg.projection.method != "auto" or not path.is_file():
        return cfg
    with np.load(path, allow_pickle=False) as data:
        if "neighbours" not in data.files:
            return cfg
        k = int(data["neighbours"])
    chosen = cfg.projection.model_copy(update={"method": "knn", "neighbours": k})
    return cfg.model_copy(update={"projection": chosen})


def reranker_inputs(ctx: BuildContext) -> Any:
    return {
        "version": STEP_VERSION,
        "files": [
            ctx.file_sha(f)
            for f in ("track_ids.npy", *SPACE_FILES, *INDEX_FILES, *GRAPH_FILES, PROJECTION_FILE)
        ],
        "events": ctx.events_hash,
        "mask": ctx.file_sha("catalog/training_mask.npy"),
        "seed": ctx.settings.seed,
        # LINER_QUERY_EXAMPLES: the run's query_groups reads the same switch
        "query_examples": QueryTrainingConfig.from_env().model_dump(),
        "params": RERANKER_PARAMS,
        "plain": RERANKER_PLAIN,
        "members": RERANKER_MEMBERS,
        "fit": RERANKER_FIT,
    }


def training_inputs(ctx: BuildContext) -> dict[str, Any]:
    """The keyword arguments of :func:`~recsys.pipeline.training.reranker_examples` for the
    build in ``ctx.work_dir`` (its spaces, indexes, graphs and consented events)."""
    track_ids = [str(t) for t in ctx.track_ids]
    spaces = BuiltSpaces(
        track_ids=track_ids,
        vectors={
            f.removeprefix("vectors/").removesuffix(".npy"): ctx.load_npy(f)
            for f in SPACE_FILES
            if (ctx.work_dir / f).is_file()
        },
        indexes={
            f.removeprefix("indexes/").removesuffix(".npz"): FaissIndex.load(ctx.work_dir / f)
            for f in INDEX_FILES
        },
        graphs=collaborative_scorers(ctx.work_dir, len(track_ids), ctx.config.als),
    )
    allowed = set(np.asarray(track_ids)[ctx.training_mask].tolist())
    events = ctx.events
    if not events.empty:
        events = events[events["track_id"].isin(allowed)]
    return {
        "events": events,
        "spaces": spaces,
        "track_ids": track_ids,
        "tracks": {t.track_id: t for t in ctx.tracks},
        "artists": list(ctx.store.iter_artists()),
        "listeners": {u.listener_id: u for u in ctx.store.iter_listeners()},
        "sources_for": lambda catalog, period: default_sources(
            period, catalog, getattr(period, "graphs", [])
        ),
        "spaces_as_of": lambda cutoff: spaces_as_of(ctx, spaces, cutoff),
        "spaces_without": lambda held: spaces_without(ctx, spaces, held),
        "seed": ctx.settings.seed,
        "text_model": QueryEncoder(ctx.text_model, ctx.settings.text_model),  # the catalog's
    }


def reranker_run(ctx: BuildContext) -> dict[str, Any]:
    inputs = training_inputs(ctx)
    events = inputs["events"]
    models = train_rerankers(
        **inputs,
        plain=RERANKER_PLAIN,
        params=RERANKER_PARAMS,
        members=RERANKER_MEMBERS,
        fit=RERANKER_FIT,
    )
    if "default" not in models:
        return {"trained": False, "events_used": len(events)}
    for model_id, model in models.items():
        model.save(ctx.work_dir, model_id)
    return {
        "trained": True,
        "events_used": len(events),
        **models["default"].meta,
        "models": {m: model.meta for m, model in models.items()},
    }


def graphs_inputs(ctx: BuildContext) -> Any:
    return {
        "version": "graphs-1",
        "events": ctx.events_hash,
        "ids": ctx.file_sha("track_ids.npy"),
        "mask": ctx.file_sha("catalog/training_mask.npy"),
        "config": repr(GraphConfig()),
    }


def graphs_run(ctx: BuildContext) -> dict[str, Any]:
    """The collaborative item graphs (:mod:`recsys.pipeline.item_graph`)."""
    graphs = fit_graphs(ctx.events, ctx.track_ids, ctx.training_mask, GraphConfig())
    save_graphs(graphs, ctx.work_dir)
    return {
        name: {"edges": int(g.nnz), "rows": int(g.getnnz(axis=1).astype(bool).sum())}
        for name, g in graphs.items()
    }


def _register() -> None:
    from recsys.build import BuildStep, register_build_step

    register_build_step(
        BuildStep(name="graphs", run=graphs_run, inputs=graphs_inputs), after="indexes"
    )
    register_build_step(
        BuildStep(name="reranker", run=reranker_run, inputs=reranker_inputs), after="graphs"
    )


_register()

__all__ = [
    "BuiltSpaces",
    "reranker_inputs",
    "reranker_run",
    "spaces_as_of",
    "spaces_from_events",
    "spaces_without",
    "training_inputs",
]
