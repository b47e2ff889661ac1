"""Leakage: do held uploads or unconsented imitations reach served slates?

The promise is absolute (none may), so it is measured the blunt way: serve a slate to many
listeners through the real recommender and look at every item. What must never appear is
judged from the store alone, independently of the pipeline's own filters:

- **quarantined** tracks (the latest decision on them is a quarantine);
- **disputed** tracks (a declared AI label in dispute, awaiting a rights admin) and
  **unscreened** tracks (written by an ingest whose screening has not finished);
- **consent-violating imitations**: AI tracks that reference an artist whose rights holder does
  not currently grant ``ai_style_reference`` (and ``voice_likeness``, unless the track is only
  AI-assisted), or that reference an unknown artist.

With a demo world's ``truth.csv`` it also counts what screening missed: truly abusive uploads
and unconsented imitations (by the truth) that are neither held (quarantined, disputed,
unscreened) nor held back by the consent filter (an imitation that declares nothing names no
artist the filter could check), and how many of them the listeners were served. That figure
need not be 0; it is the price of the screens' recall.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from recsys.domain import AiInvolvement, ConsentScope, ConsentState, Track
from recsys.params import PolicyParams
from recsys.pipeline.api import Recommender, RecommendRequest
from recsys.store import Store

logger = logging.getLogger(__name__)


def violates_consent(track: Track, holder_of: dict[str, str], state: ConsentState) -> bool:
    """Whether an AI track references an artist without the consent its kind of use needs."""
    prov = track.provenance
    if prov.ai_involvement is AiInvolvement.NONE or not prov.references_artist_ids:
        return False
    scopes = [ConsentScope.AI_STYLE_REFERENCE]
    if prov.ai_involvement is not AiInvolvement.ASSISTED:
        scopes.append(ConsentScope.VOICE_LIKENESS)
    for artist_id in prov.references_artist_ids:
        holder = holder_of.get(artist_id)
        if holder is None or not all(state.allows(holder, s) for s in scopes):
            return True
    return False


def consent_violations(store: Store) -> frozenset[str]:
    """Ids of the tracks :func:`violates_consent` rejects under the current ledger."""
    holder_of = {a.artist_id: a.rights_holder_id for a in store.iter_artists()}
    state = store.consent_state()
    return frozenset(
        t.track_id for t in store.iter_tracks() if violates_consent(t, holder_of, state)
    )


def _truly_abusive(truth: pd.DataFrame) -> dict[str, str]:
    """Track id → abuse kinds by the truth (unconsented imitations included)."""
    out: dict[str, str] = {}
    for item_id, row in truth.iterrows():
        kinds = [k for k in str(row.get("abuse_kinds", "")).split("|") if k]
        if str(row.get("imitation_consented", "")).strip().lower() == "false":
            kinds.append("unconsented_imitation")
        if kinds:
            out[str(item_id)] = "|".join(kinds)
    return out


@dataclass(frozen=True, kw_only=True)
class LeakageReport:
    """What the listeners were served, and what should not have been.

    Attributes:
        listeners: listeners served a slate.
        slate_items: items served in all.
        quarantined_served: slate entries that are quarantined tracks (must be 0).
        consent_violations_served: slate entries that are unconsented imitations (must be 0).
        leaked_track_ids: the distinct tracks behind the forbidden counts.
        uncaught_abusive: truly abusive tracks (by the truth) neither quarantined nor held
            back by the consent filter, by kind.
        uncaught_abusive_served: slate entries that are such tracks.
        uncaught_abusive_tracks_served: distinct such tracks served.
        uncaught_abusive_served_by_kind: those slate entries by kind of abuse.
    """

    listeners: int
    slate_items: int
    quarantined_served: int
    consent_violations_served: int
    leaked_track_ids: tuple[str, ...]
    uncaught_abusive: dict[str, int] = field(default_factory=dict)
    uncaught_abusive_served: int | None = None
    uncaught_abusive_tracks_served: int | None = None
    uncaught_abusive_served_by_kind: dict[str, int] = field(default_factory=dict)
    disputed_served: int = 0
    unscreened_served: int = 0

    @property
    def leakage(self) -> int:
        """Forbidden slate entries (the promise is 0)."""
        return (
            self.quarantined_served
            + self.consent_violations_served
            + self.disputed_served
            + self.unscreened_served
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready figures."""
        return {
            "listeners": self.listeners,
            "slate_items": self.slate_items,
            "leakage": self.leakage,
            "quarantined_served": self.quarantined_served,
            "consent_violations_served": self.consent_violations_served,
            "disputed_served": self.disputed_served,
            "unscreened_served": self.unscreened_served,
            "leaked_track_ids": list(self.leaked_track_ids),
            "uncaught_abusive": self.uncaught_abusive,
            "uncaught_abusive_served": self.uncaught_abusive_served,
            "uncaught_abusive_tracks_served": self.uncaught_abusive_tracks_served,
            "uncaught_abusive_served_by_kind": self.uncaught_abusive_served_by_kind,
        }


def measure_leakage(
    recommender: Recommender,
    store: Store,
    *,
    listener_ids: Iterable[str] | None = None,
    k: int = 10,
    params: PolicyParams | None = None,
    truth: pd.DataFrame | None = None,
) -> LeakageReport:
    """Serve a top-``k`` slate to every listener and count forbidden items.

    Args:
        recommender: what serves the slates (e.g. :func:`recsys.pipeline.load_recommender`).
        store: the live store (quarantine and consent are read from it).
        listener_ids: who to serve (every listener in the store when None).
        k: slate size.
        params: policy parameters of the requests (the defaults when None).
        truth: a demo world's ``truth.csv`` indexed by item id, for the uncaught figures.

    Example:
        >>> rec = load_recommender(Path("var/artifacts"), store, settings)  # doctest: +SKIP
        >>> measure_leakage(rec, store).leakage  # doctest: +SKIP
        0
    """
    quarantined = store.quarantined_ids()
    disputed, unscreened = store.disputed_ids(), store.unscreened_ids()
    held = quarantined | disputed | unscreened
    violating = consent_violations(store)
    ids = list(listener_ids) if listener_ids is not None else [
        u.listener_id for u in store.iter_listeners()
    ]  # fmt: skip
    served: Counter[str] = Counter()
    for listener_id in ids:
        request = RecommendRequest(listener_id=listener_id, k=k, params=params or PolicyParams())
        served.update(item.track.track_id for item in recommender.recommend(request).items)
    leaked = sorted(t for t in served if t in held or t in violating)
    report: dict[str, Any] = {}
    if truth is not None:
        # Caught means quarantined, or held back by the consent filter at serving time.
        uncaught = {
            t: kinds
            for t, kinds in _truly_abusive(truth).items()
            if t not in held and t not in violating
        }
        by_kind: Counter[str] = Counter(k for kinds in uncaught.values() for k in kinds.split("|"))
        hits = [t for t in served if t in uncaught]
        served_kinds: Counter[str] = Counter(
            k for t in hits for k in uncaught[t].split("|") for _ in range(served[t])
        )
        report = {
            "uncaught_abusive": dict(sorted(by_kind.items())),
            "uncaught_abusive_served": sum(served[t] for t in hits),
            "uncaught_abusive_tracks_served": len(hits),
            "uncaught_abusive_served_by_kind": dict(sorted(served_kinds.items())),
        }
    result = LeakageReport(
        listeners=len(ids),
        slate_items=sum(served.values()),
        quarantined_served=sum(served[t] for t in served if t in quarantined),
        consent_violations_served=sum(served[t] for t in served if t in violating),
        disputed_served=sum(served[t] for t in served if t in disputed),
        unscreened_served=sum(served[t] for t in served if t in unscreened),
        leaked_track_ids=tuple(leaked),
        **report,
    )
    logger.info("leakage over %d listeners: %s", len(ids), result.to_dict())
    return result


__all__ = ["LeakageReport", "consent_violations", "measure_leakage", "violates_consent"]
