"""Logged slates with their rewards, read from a store or a folder of logs, and their
assembly with a target's replay into the estimators' arrays (with the reward model of the
doubly robust estimator fitted on the way)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from offline_eval.errors import EvalError
from offline_eval.off_policy.estimators import SlateLogs
from offline_eval.off_policy.replay import N_FEATURES, ReplayedSlate
from recsys.store import Store


@dataclass(frozen=True, kw_only=True)
class LoggedSlate:
    """One served slate with its feedback.

    Attributes:
        request_id: the request.
        listener_id: who was served.
        variant: the experiment assignments it was served under.
        served_at: when.
        track_ids: the served tracks in order.
        propensities: the logging policy's probability of each pick given those above.
        rewards: per position, 1 when the listener played it.
    """

    request_id: str
    listener_id: str
    variant: str
    served_at: datetime
    track_ids: tuple[str, ...]
    propensities: np.ndarray
    rewards: np.ndarray


def _rewards(events: pd.DataFrame) -> dict[tuple[str, int], float]:
    plays = events[(events["event_type"] == "play") & events["request_id"].notna()]
    plays = plays[plays["position"].notna()]
    return {
        (str(r), int(p)): 1.0 for r, p in zip(plays["request_id"], plays["position"], strict=True)
    }


def slates_from_store(store: Store) -> tuple[list[LoggedSlate], int]:
    """Slates with a recorded probability for every item, and how many others were skipped
    (logged without probabilities, or made by the agent rather than the policy)."""
    rewards = _rewards(store.read_frame("events"))
    out: list[LoggedSlate] = []
    skipped = 0
    for s in store.iter_slates():
        props = [i.propensity for i in s.items]
        if s.ai_features or not props or any(p is None or not p > 0 for p in props):
            skipped += 1
            continue
        out.append(
            LoggedSlate(
                request_id=s.request_id,
                listener_id=s.listener_id,
                variant=s.variant,
                served_at=s.served_at,
                track_ids=tuple(i.track_id for i in s.items),
                propensities=np.asarray(props, dtype=np.float64),
                rewards=np.asarray([rewards.get((s.request_id, i.position), 0.0) for i in s.items]),
            )
        )
    return out, skipped


def slates_from_folder(folder: Path) -> tuple[list[LoggedSlate], int]:
    """The same from ``slates.jsonl`` and ``events.jsonl`` (the ``liner experiments analyze``
    folder format, items carrying a ``propensity``)."""
    slates_path, events_path = folder / "slates.jsonl", folder / "events.jsonl"
    if not slates_path.exists():
        raise EvalError(f"{folder} has no slates.jsonl. Fix: pass a store (--db) or a log folder")
    rows = [json.loads(line) for line in slates_path.read_text().splitlines() if line.strip()]
    events = (
        pd.DataFrame(
            [json.loads(line) for line in events_path.read_text().splitlines() if line.strip()]
        )
        if events_path.exists()
        else pd.DataFrame(columns=["request_id", "position", "event_type"])
    )
    rewards = _rewards(events)
    out: list[LoggedSlate] = []
    skipped = 0
    for row in rows:
        items = sorted(row.get("items", []), key=lambda i: int(i["position"]))
        props = [i.get("propensity") for i in items]
        if row.get("ai_features") or not props or any(p is None or not p > 0 for p in props):
            skipped += 1
            continue
        out.append(
            LoggedSlate(
                request_id=str(row["request_id"]),
                listener_id=str(row["listener_id"]),
                variant=str(row.get("variant", "")),
                served_at=pd.Timestamp(row["served_at"]).to_pydatetime(),
                track_ids=tuple(str(i["track_id"]) for i in items),
                propensities=np.asarray(props, dtype=np.float64),
                rewards=np.asarray(
                    [rewards.get((str(row["request_id"]), int(i["position"])), 0.0) for i in items]
                ),
            )
        )
    return out, skipped


def _fit_reward_model(phi: np.ndarray, rewards: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Per position, ridge least squares of the reward on the features (positions × features).

    Positions with few logged rewards borrow the pooled fit; the doubly robust estimator
    stays unbiased whatever this model gets wrong, it only loses variance reduction.
    """
    k = phi.shape[1]
    coef = np.zeros((k, N_FEATURES))
    flat_x, flat_y = phi[mask], rewards[mask]
    ridge = 1e-3 * np.eye(N_FEATURES)
    pooled = (
        np.linalg.solve(flat_x.T @ flat_x + ridge, flat_x.T @ flat_y)
        if len(flat_y)
        else np.zeros(N_FEATURES)
    )
    for pos in range(k):
        rows = mask[:, pos]
        x, y = phi[rows, pos], rewards[rows, pos]
        if len(y) < 20:
            coef[pos] = pooled
            continue
        coef[pos] = np.linalg.solve(x.T @ x + ridge, x.T @ y)
    return coef


def _fit_item_model(phi: np.ndarray, rewards: np.ndarray, mask: np.ndarray,
                    exam: np.ndarray) -> np.ndarray:  # fmt: skip
    """Least squares of the reward on examination × features (one attraction model)."""
    x = (phi * exam[None, : phi.shape[1], None])[mask]
    y = rewards[mask]
    if len(y) == 0:
        return np.zeros(N_FEATURES)
    return np.asarray(np.linalg.solve(x.T @ x + 1e-3 * np.eye(N_FEATURES), x.T @ y))


def build_slate_logs(
    logged: Sequence[LoggedSlate], replayed: Sequence[ReplayedSlate], examination: np.ndarray
) -> SlateLogs:
    """The estimators' arrays from logged slates and their replays under a target."""
    n = len(logged)
    k = max((len(s.track_ids) for s in logged), default=0)
    shape = (n, k)
    rewards, mask = np.zeros(shape), np.zeros(shape, dtype=bool)
    logging, target, unsupported = np.ones(shape), np.zeros(shape), np.zeros(shape)
    phi_l, phi_t = np.zeros((n, k, N_FEATURES)), np.zeros((n, k, N_FEATURES))
    item_t, item_l = np.zeros(shape), np.zeros(shape)
    item_gap, phi_expo = np.zeros(n), np.zeros((n, N_FEATURES))
    for i, (s, r) in enumerate(zip(logged, replayed, strict=True)):
        m = len(s.track_ids)
        mask[i, :m] = True
        rewards[i, :m] = s.rewards
        logging[i, :m] = s.propensities
        target[i, :m] = r.target
        unsupported[i, :m] = r.unsupported
        phi_l[i, :m] = r.phi_logged
        phi_t[i, :m] = r.phi_target
        item_t[i, :m] = r.exposure_target
        item_l[i, :m] = r.exposure_logging
        item_gap[i] = r.exposure_unsupported
        phi_expo[i] = r.phi_exposure_target
    coef = _fit_reward_model(phi_l, rewards, mask)
    exam = np.asarray(examination, dtype=np.float64)[:k]
    attraction = _fit_item_model(phi_l, rewards, mask, exam)
    return SlateLogs(
        rewards=rewards,
        mask=mask,
        logging=logging,
        target=target,
        unsupported=unsupported,
        model_logged=np.einsum("nkd,kd->nk", phi_l, coef),
        model_target=np.einsum("nkd,kd->nk", phi_t, coef),
        groups=np.asarray([s.listener_id for s in logged], dtype=object),
        examination=exam,
        item_target=item_t,
        item_logging=item_l,
        item_unsupported=item_gap,
        model_item_logged=(phi_l @ attraction) * exam[None, :],
        model_item_target=phi_expo @ attraction,
    )


__all__ = [
    "LoggedSlate",
    "build_slate_logs",
    "slates_from_folder",
    "slates_from_store",
]
