"""A simulator with known truth: the demo world's listeners, whose true chance of playing each
track is known (:func:`recsys.demo.demo_play_probabilities`), served by the real pipeline.

A listener examines position ``k`` with probability ``1 / log2(k + 2)`` (a position-based
model) and plays what they examine with their true play probability. So the value of a slate,
its expected plays, is known exactly, and the value of a variant is the mean over listeners of
its slates' values: the on-policy truth that off-policy estimates are checked against.

Two ways in:

* :class:`PolicySimulator` works at the policy stage over fixed requests (the pipeline's
  inputs computed once per listener and variant), fast enough for hundreds of repeated
  simulations (``benchmarks/off_policy.py``);
* :func:`serve_traffic` sends requests through a real :class:`PipelineRecommender` whose slate
  log writes to the store and writes the simulated plays back as feedback events, the logs
  ``liner eval --task off-policy`` reads.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from offline_eval.off_policy.estimators import Diagnostics, OffPolicyEstimate, estimate
from offline_eval.off_policy.logged import LoggedSlate, build_slate_logs
from offline_eval.off_policy.replay import PipelineReplay, PolicyInputs, replay_slate
from recsys.domain import EventType, FeedbackEvent
from recsys.params import PolicyParams
from recsys.pipeline import PipelineRecommender, RecommendRequest


def examination(k: int) -> np.ndarray:
    """Probability that a listener looks at each of the first ``k`` positions."""
    return np.asarray(1.0 / np.log2(np.arange(k) + 2.0))


@dataclass(frozen=True)
class KnownTruth:
    """Each listener's true play probability per track (rows: listeners; columns: tracks)."""

    play: pd.DataFrame

    def click_probabilities(self, listener_id: str, track_ids: Sequence[str]) -> np.ndarray:
        """Chance of a play at each position of a slate (unknown tracks are never played)."""
        row = self.play.loc[listener_id]
        p = row.reindex(list(track_ids)).fillna(0.0).to_numpy(dtype=np.float64)
        return p * examination(len(track_ids))

    def value(self, listener_id: str, track_ids: Sequence[str]) -> float:
        """Expected plays of the slate."""
        return float(self.click_probabilities(listener_id, track_ids).sum())

    def draw(
        self, rng: np.random.Generator, listener_id: str, track_ids: Sequence[str]
    ) -> np.ndarray:
        """Simulated plays (0/1 per position)."""
        p = self.click_probabilities(listener_id, track_ids)
        return (rng.random(len(p)) < p).astype(np.float64)


@dataclass
class PolicySimulator:
    """Simulated logs and on-policy values at the policy stage, over fixed requests.

    Args:
        replay: the pipeline to compute each listener's policy inputs with.
        truth: the listeners' true play probabilities.
        listeners: who is served (each gets the same number of slates).
        k: slate size.
        samples: slates drawn per request to estimate an exploring policy's exposures.
    """

    replay: PipelineReplay
    truth: KnownTruth
    listeners: Sequence[str]
    k: int = 10
    samples: int = 200
    _inputs: dict[str, dict[str, PolicyInputs]] = field(default_factory=dict)
    _exposures: dict[int, np.ndarray] = field(default_factory=dict)

    def inputs(self, params: PolicyParams) -> dict[str, PolicyInputs]:
        """Per listener, the policy inputs under ``params`` (computed once)."""
        key = params.model_dump_json()
        if key not in self._inputs:
            self._inputs[key] = {u: self.replay.inputs(u, self.k, params) for u in self.listeners}
        return self._inputs[key]

    def log(
        self, params: PolicyParams, slates_per_listener: int, rng: np.random.Generator
    ) -> list[LoggedSlate]:
        """Slates drawn from ``params``'s policy with their propensities and simulated plays."""
        policy = self.replay.rec.policy
        out: list[LoggedSlate] = []
        now = dt.datetime.now(dt.UTC)
        for u, inp in self.inputs(params).items():
            for _ in range(slates_per_listener):
                slate = policy.select(inp.ctx, inp.cands, inp.scores, rng)
                tracks = tuple(str(t) for t in inp.track_ids[slate.picks])
                assert slate.propensities is not None
                out.append(
                    LoggedSlate(
                        request_id=uuid.uuid4().hex,
                        listener_id=u,
                        variant="",
                        served_at=now,
                        track_ids=tracks,
                        propensities=np.asarray(slate.propensities, dtype=np.float64),
                        rewards=self.truth.draw(rng, u, tracks),
                    )
                )
        return out

    def on_policy_value(
        self, params: PolicyParams, rng: np.random.Generator, draws: int = 200
    ) -> float:
        """Expected plays per slate under ``params`` (exact for a deterministic policy, the
        mean of ``draws`` slates per listener otherwise)."""
        policy = self.replay.rec.policy
        n = 1 if params.exploration == 0 else draws
        values = []
        for u, inp in self.inputs(params).items():
            per = []
            for _ in range(n):
                slate = policy.select(inp.ctx, inp.cands, inp.scores, rng)
                per.append(self.truth.value(u, [str(t) for t in inp.track_ids[slate.picks]]))
            values.append(float(np.mean(per)))
        return float(np.mean(values))

    def evaluate(
        self,
        logged: Sequence[LoggedSlate],
        *,
        target: PolicyParams,
        logging: PolicyParams,
        n_boot: int = 500,
        seed: int = 0,
    ) -> tuple[dict[str, OffPolicyEstimate], Diagnostics]:
        """Off-policy estimates of ``target`` from ``logged`` (drawn under ``logging``)."""
        t_in, l_in = self.inputs(target), self.inputs(logging)
        policy = self.replay.rec.policy
        exam = examination(self.k)
        replayed = [
            replay_slate(
                policy, target=t_in[s.listener_id], logging=l_in[s.listener_id],
                track_ids=s.track_ids, examination=exam, cache=self._exposures,
                samples=self.samples,
            )
            for s in logged
        ]  # fmt: skip
        return estimate(build_slate_logs(logged, replayed, exam), n_boot=n_boot, seed=seed)


def serve_traffic(
    recommender: PipelineRecommender,
    truth: KnownTruth,
    *,
    assign: dict[str, tuple[str, PolicyParams]],
    slates_per_listener: int,
    rng: np.random.Generator,
    k: int = 10,
) -> int:
    """Serve ``slates_per_listener`` slates to each listener in ``assign`` (listener → variant
    label and params) through the recommender (whose slate logger writes the slate log) and
    write the simulated plays to its store as feedback events. Returns the slates served.

    The slate logger must write synchronously (``SlateLogger(store, background=False)``) or
    be closed before the logs are read.
    """
    store = recommender.store
    served = 0
    for u, (label, params) in assign.items():
        for _ in range(slates_per_listener):
            out = recommender.recommend(
                RecommendRequest(listener_id=u, k=k, params=params, variant=label)
            )
            tracks = [i.track.track_id for i in out.items]
            plays = truth.draw(rng, u, tracks)
            at = dt.datetime.now(dt.UTC)  # played right after it was served
            store.add_events(
                FeedbackEvent(
                    event_id=f"sim-{out.request_id}-{pos}",
                    listener_id=u,
                    track_id=tracks[pos],
                    event_type=EventType.PLAY,
                    at=at,
                    request_id=out.request_id,
                    position=pos,
                    sender="simulator",
                )
                for pos in np.flatnonzero(plays).tolist()
            )
            served += 1
    return served


def counterfactual_value(
    replay: PipelineReplay,
    truth: KnownTruth,
    logged: Sequence[LoggedSlate],
    params: PolicyParams,
    rng: np.random.Generator,
    draws: int = 50,
) -> float:
    """The on-policy truth for logs served over time: the expected plays per slate had
    ``params`` served each logged request, with the listener's history as it was then."""
    policy = replay.rec.policy
    n = 1 if params.exploration == 0 else draws
    values = []
    for s in logged:
        inp = replay.inputs(s.listener_id, len(s.track_ids), params, before=s.served_at)
        per = [
            truth.value(
                s.listener_id,
                [
                    str(t)
                    for t in inp.track_ids[policy.select(inp.ctx, inp.cands, inp.scores, rng).picks]
                ],
            )
            for _ in range(n)
        ]
        values.append(float(np.mean(per)))
    return float(np.mean(values))


def build_demo_recommender(
    root: Path | None = None,
    *,
    tracks: int = 400,
    listeners: int = 80,
    seed: int = 3,
) -> tuple[PipelineRecommender, KnownTruth]:
    """A small demo world ingested into a store under ``root`` (a temporary folder when
    None), with artifacts built (hash text model, no audio) and loaded, and its known truth.
    Takes about half a minute."""
    from offline_eval.models.liner import HashTextModel
    from recsys.build import build_artifacts
    from recsys.demo.generator import DemoConfig, demo_play_probabilities
    from recsys.demo.writer import write_folder
    from recsys.ingest import run_ingest
    from recsys.pipeline import load_recommender
    from recsys.pipeline.slate_log import SlateLogger
    from recsys.settings import LinerSettings
    from recsys.store import SqliteStore

    folder = Path(root) if root is not None else Path(tempfile.mkdtemp(prefix="liner-ope-"))
    config = DemoConfig(tracks=tracks, listeners=listeners, audio=False, abuse=False, seed=seed)
    tables, play = demo_play_probabilities(config)
    write_folder(tables, folder / "data", render_audio=False)
    store = SqliteStore(folder / "liner.db")
    run_ingest(folder / "data", store)
    store.finish_screening(screened=store.unscreened_marks())
    settings = LinerSettings(db=str(folder / "liner.db"), artifacts=folder / "artifacts")
    build_artifacts(store, folder / "artifacts", settings, resume=False, text_model=HashTextModel())
    rec = load_recommender(folder / "artifacts", store, settings, log_slates=False)
    rec.slate_logger = SlateLogger(store, background=False)
    return rec, KnownTruth(play)


__all__ = [
    "KnownTruth",
    "PolicySimulator",
    "build_demo_recommender",
    "counterfactual_value",
    "examination",
    "serve_traffic",
]
