"""Replays of a policy on logged requests: the pipeline's inputs to the policy stage for a
listener as they were when a slate was served, and a policy's probabilities along the logged
picks.

The pipeline stages are re-run here (context, candidates, hard filters, query stage, features,
reranker) the way :meth:`recsys.pipeline.PipelineRecommender.recommend` runs them, with the
listener's history cut at the slate's serving time, so the plays the slate itself caused do
not exclude its own tracks from the replay. A test checks that the replay of the serving
variant reproduces the served slate and its logged probabilities.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from recsys.params import PolicyParams
from recsys.pipeline import PipelineRecommender, RecommendRequest
from recsys.pipeline.candidates import CandidateSet
from recsys.pipeline.context import ListenerContext, build_context
from recsys.pipeline.first_stage import first_stage
from recsys.pipeline.policy import ArtistFirstPolicy, SlateReplay
from recsys.pipeline.recommender import EVENTS_PER_REQUEST, is_plain
from recsys.pipeline.reranker import align
from recsys.store import EventHistory

N_FEATURES = 2
"""Reward-model features of a candidate: a constant and sigmoid(reranker score)."""


@dataclass(frozen=True, kw_only=True, eq=False)
class PolicyInputs:
    """What the policy stage sees for one request under one variant's parameters."""

    ctx: ListenerContext
    cands: CandidateSet
    scores: np.ndarray
    track_ids: np.ndarray

    def index_of(self, track_ids: Sequence[str]) -> np.ndarray:
        """Candidate index of each track, −1 for a track that is not a candidate."""
        where = {str(t): i for i, t in enumerate(self.track_ids.tolist())}
        return np.asarray([where.get(str(t), -1) for t in track_ids], dtype=np.int64)

    def features(self) -> np.ndarray:
        """Reward-model features per candidate (n × :data:`N_FEATURES`)."""
        sig = 1.0 / (1.0 + np.exp(-np.clip(self.scores, -30, 30)))
        return np.column_stack([np.ones(len(self.scores)), sig])

    def with_params(self, params: PolicyParams) -> PolicyInputs:
        """The same candidates and scores under other policy-stage parameters (valid when
        only policy-stage fields differ: boost, caps, slots, MMR, exploration)."""
        request = dataclasses.replace(self.ctx.request, params=params)
        return dataclasses.replace(self, ctx=dataclasses.replace(self.ctx, request=request))


@dataclass(frozen=True, kw_only=True)
class ReplayedSlate:
    """One logged slate replayed under a target (and its logging policy).

    Attributes:
        target: the target's probability of each logged pick given the logged picks above.
        unsupported: per step, the target's mass on picks the logging policy could not make.
        phi_logged: reward-model features of each logged pick (positions × features).
        phi_target: the features averaged over the target's next-pick distribution.
        logging_replayed: the logging policy's replayed probability of each logged pick
            (compared with the logged one, it measures how faithful the replay is).
        exposure_target: the target's expected position-weighted exposure of each logged
            pick (:meth:`ArtistFirstPolicy.exposure`), for the position-based estimators.
        exposure_logging: the same under the logging policy.
        exposure_unsupported: the share of the target's exposure on candidates the logging
            policy never exposes.
        phi_exposure_target: reward-model features summed over the target's exposure.
    """

    target: np.ndarray
    unsupported: np.ndarray
    phi_logged: np.ndarray
    phi_target: np.ndarray
    logging_replayed: np.ndarray
    exposure_target: np.ndarray
    exposure_logging: np.ndarray
    exposure_unsupported: float
    phi_exposure_target: np.ndarray


class PipelineReplay:
    """Re-runs the stages before the policy for logged requests.

    Example:
        >>> replay = PipelineReplay(recommender)  # doctest: +SKIP
        >>> inputs = replay.inputs("u_00001", 10, PolicyParams(), before=slate.served_at)
    """

    def __init__(self, recommender: PipelineRecommender) -> None:
        self.rec = recommender

    def inputs(
        self,
        listener_id: str,
        k: int,
        params: PolicyParams,
        *,
        before: datetime | None = None,
        surface: str = "home",
    ) -> PolicyInputs:
        """The policy stage's inputs for ``listener_id``, with history before ``before``."""
        rec = self.rec
        request = RecommendRequest(listener_id=listener_id, k=k, params=params, surface=surface)
        limit = max(EVENTS_PER_REQUEST, params.recent_play_exclusion)
        events = rec.store.listener_events(listener_id)
        if before is not None:
            events = [e for e in events if (e.received_at or e.at) < before]
        ctx = build_context(
            request,
            listener=rec.store.get_listener(listener_id),
            events=EventHistory.of(events[:limit]),
            catalog=rec.catalog,
            spaces=rec.spaces,
        )
        cands = rec.candidates(ctx)
        cands = cands.subset(rec.filters.keep(ctx, cands.rows))
        assessment = rec.query_stage.assess(ctx, cands.rows)
        cands = cands.subset(assessment.keep)
        assessment = assessment.subset(assessment.keep)
        pool = first_stage(cands, params.rerank_pool, k)  # as served
        if pool is not None:
            cands, assessment = cands.subset(pool), assessment.subset(pool)
        feats = rec.features.build(ctx, cands)
        scorer = rec.scorer(params.reranker_model_id, plain=is_plain(request))
        x = align(feats, rec.features.names, scorer.feature_names)
        scores = rec.query_stage.adjust(ctx, scorer.score(x), assessment)
        return PolicyInputs(
            ctx=ctx,
            cands=cands,
            scores=np.asarray(scores, dtype=np.float64),
            track_ids=np.asarray(rec.catalog.track_ids)[cands.rows],
        )

    def policy_replay(self, inputs: PolicyInputs, track_ids: Sequence[str]) -> SlateReplay:
        """The policy's probabilities along the given tracks (in slate order)."""
        return self.rec.policy.replay(
            inputs.ctx, inputs.cands, inputs.scores, inputs.index_of(track_ids)
        )


def replay_slate(
    policy: ArtistFirstPolicy,
    *,
    target: PolicyInputs,
    logging: PolicyInputs,
    track_ids: Sequence[str],
    examination: np.ndarray,
    cache: dict[int, np.ndarray] | None = None,
    samples: int = 200,
) -> ReplayedSlate:
    """Replay the logged ``track_ids`` under the target's and the logging policy's inputs.

    ``examination`` weighs positions for the exposures; ``cache`` keeps each inputs object's
    exposure (it depends on the request only, not on the logged slate).
    """
    memo = cache if cache is not None else {}

    def exposure(inputs: PolicyInputs) -> np.ndarray:
        key = id(inputs)
        if key not in memo:
            memo[key] = policy.exposure(
                inputs.ctx, inputs.cands, inputs.scores, examination, samples=samples,
                rng=np.random.default_rng(len(memo)),
            )  # fmt: skip
        return memo[key]

    t_idx = target.index_of(track_ids)
    l_idx = logging.index_of(track_ids)
    t_rep = policy.replay(target.ctx, target.cands, target.scores, t_idx)
    l_rep = policy.replay(logging.ctx, logging.cands, logging.scores, l_idx)
    # Target candidates → logging candidates, to compare the two next-pick distributions.
    to_logging = logging.index_of(target.track_ids.tolist())
    unsupported = np.zeros(len(track_ids))
    for step in range(len(track_ids)):
        if l_rep.dists[step].sum() <= 0:  # the logging replay stopped: support unknown
            continue
        dist = t_rep.dists[step]
        reach = np.where(to_logging >= 0, l_rep.dists[step][np.maximum(to_logging, 0)], 0.0)
        unsupported[step] = float(dist[reach <= 0].sum())
    phi_t = target.features()
    phi_l = logging.features()
    expo_t, expo_l = exposure(target), exposure(logging)
    reach = np.where(to_logging >= 0, expo_l[np.maximum(to_logging, 0)], 0.0)
    total_t = float(expo_t.sum())
    expo_unsupported = float(expo_t[reach <= 0].sum() / total_t) if total_t > 0 else 0.0
    phi_logged = np.where(
        (l_idx >= 0)[:, None], phi_l[np.maximum(l_idx, 0)], np.zeros((len(l_idx), N_FEATURES))
    )
    return ReplayedSlate(
        target=t_rep.probs,
        unsupported=unsupported,
        phi_logged=phi_logged,
        phi_target=t_rep.dists @ phi_t,
        logging_replayed=l_rep.probs,
        exposure_target=np.where(t_idx >= 0, expo_t[np.maximum(t_idx, 0)], 0.0),
        exposure_logging=np.where(l_idx >= 0, expo_l[np.maximum(l_idx, 0)], 0.0),
        exposure_unsupported=expo_unsupported,
        phi_exposure_target=expo_t @ phi_t,
    )


__all__ = ["N_FEATURES", "PipelineReplay", "PolicyInputs", "ReplayedSlate", "replay_slate"]
