"""Hard filters, applied before ranking: nothing a filter removes can reach a slate.

Consent is read from the *current* ledger on every request: the store's ledger version is
polled (one cheap query), and the mask of blocked rows is recomputed only when it changed, so a
revocation changes the very next response without a rebuild.

Integrity holds are read the same way: a track that is quarantined, disputed (its declared AI
label strongly contradicted, awaiting a rights admin) or not yet screened
(:meth:`Store.held_ids`) is dropped from every candidate set, whatever the request asks.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import numpy as np

from recsys.domain import AiInvolvement, ConsentScope, ConsentState
from recsys.pipeline.catalog import AI_CODES, AI_GENERATED, AI_NONE, CatalogSnapshot
from recsys.pipeline.context import ListenerContext
from recsys.store import Store

logger = logging.getLogger(__name__)

_ASSISTED = AI_CODES[AiInvolvement.ASSISTED]


def blocked_by_consent(catalog: CatalogSnapshot, state: ConsentState) -> np.ndarray:
    """Per row: an AI track referencing an artist whose rights holder withholds the scope.

    Every AI track (any label but ``NONE``) that references artists needs
    ``ai_style_reference`` from each of them, and also ``voice_likeness`` unless it is only
    AI-assisted with human vocals. Unknown referenced artists block the track.
    """
    holders = catalog.artist_rights_holder
    style_ok = {h for h, s in state.granted if s is ConsentScope.AI_STYLE_REFERENCE}
    voice_ok = {h for h, s in state.granted if s is ConsentScope.VOICE_LIKENESS}
    artist_style = np.isin(holders, np.asarray(sorted(style_ok), dtype=object))
    artist_voice = np.isin(holders, np.asarray(sorted(voice_ok), dtype=object))
    n_refs = np.diff(catalog.ref_ptr)
    owner = np.repeat(np.arange(len(catalog)), n_refs)
    ref = catalog.ref_artist
    known = ref >= 0
    safe_ref = np.maximum(ref, 0)
    needs_voice = ~((catalog.ai_code == _ASSISTED) & ~catalog.vocals_ai)
    ok = known & artist_style[safe_ref] & (artist_voice[safe_ref] | ~needs_voice[owner])
    bad_refs = np.zeros(len(catalog), dtype=np.int64)
    np.add.at(bad_refs, owner, (~ok).astype(np.int64))
    return (catalog.ai_code != AI_NONE) & (bad_refs > 0)


@dataclass
class HardFilters:
    """The hard filters of one catalog snapshot, reading consent and integrity holds live."""

    catalog: CatalogSnapshot
    store: Store
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _consent_version: int = -1
    _consent_blocked: np.ndarray | None = None
    _held_ids: frozenset[str] | None = None
    _held_mask: np.ndarray | None = None
    _genre_codes: dict[str, int] = field(default_factory=dict)
    _blocked: np.ndarray | None = None
    _blocked_from: tuple[int, int] = (0, 0)
    _blocked_parts: tuple[np.ndarray, np.ndarray] | None = None

    def __post_init__(self) -> None:
        self._genre_codes = {g: i for i, g in enumerate(self.catalog.genres)}

    def consent_mask(self) -> np.ndarray:
        """Rows blocked by consent, current as of this call."""
        version = self.store.consent_version()
        with self._lock:
            if self._consent_blocked is None or version != self._consent_version:
                state = self.store.consent_state()
                self._consent_blocked = blocked_by_consent(self.catalog, state)
                self._consent_version = version
                logger.info(
                    "consent ledger version %d: %d rows blocked",
                    version,
                    int(self._consent_blocked.sum()),
                )
            return self._consent_blocked

    def held_mask(self) -> np.ndarray:
        """Rows currently held: quarantined, disputed or unscreened (never served)."""
        ids = self.store.held_ids()
        with self._lock:
            # Stores return the same set object while nothing changed: identity is enough.
            if self._held_mask is None or (ids is not self._held_ids and ids != self._held_ids):
                mask = np.zeros(len(self.catalog), dtype=bool)
                mask[self.catalog.rows(ids)] = True
                self._held_ids, self._held_mask = ids, mask
            return self._held_mask

    def quarantine_mask(self) -> np.ndarray:
        """Rows that may not be served for integrity reasons: the same as :meth:`held_mask`
        (the name callers such as the agent backend use)."""
        return self.held_mask()

    def blocked_mask(self) -> np.ndarray:
        """Rows blocked by consent or held, current as of this call (one array, rebuilt only
        when either mask changed, so a request gathers one mask instead of two)."""
        consent, held = self.consent_mask(), self.held_mask()
        with self._lock:
            if self._blocked is None or self._blocked_from != (id(consent), id(held)):
                self._blocked = consent | held
                self._blocked_from = (id(consent), id(held))
                self._blocked_parts = (consent, held)  # keeps the ids above from being reused
            return self._blocked

    def keep(
        self, ctx: ListenerContext, rows: np.ndarray, *, blocked: np.ndarray | None = None
    ) -> np.ndarray:
        """Boolean mask over ``rows``: True where a candidate may be ranked. ``blocked``: the
        :meth:`blocked_mask` the caller read for this request (read now when None)."""
        cat = self.catalog
        keep = ~(self.blocked_mask() if blocked is None else blocked)[rows]
        gone = np.concatenate([ctx.recent_rows, ctx.disliked_rows])
        if len(gone):
            keep &= ~_member(rows, gone)
        blocked_artists = [cat.artist_row_of.get(a) for a in ctx.listener.blocked_artist_ids]
        blocked = np.asarray([a for a in blocked_artists if a is not None], dtype=np.int64)
        if len(blocked):
            credited, owner = cat.credited_artist_rows(rows)
            hit = np.zeros(len(rows), dtype=bool)
            hit[owner[np.isin(credited, blocked)]] = True
            keep &= ~hit
        ai = cat.ai_code[rows]
        filters = ctx.request.filters
        if ctx.opted_out or filters.exclude_ai_generated:
            keep &= ai != AI_GENERATED
        if filters.human_only:
            keep &= cat.is_human[rows] & (ai != AI_GENERATED)
        if filters.genres:
            codes = [self._genre_codes[g] for g in filters.genres if g in self._genre_codes]
            keep &= np.isin(cat.genre_code[rows], np.asarray(codes, dtype=np.int16))
        if filters.exclude_track_ids:
            keep &= ~_member(rows, cat.rows(filters.exclude_track_ids))
        return keep


def _member(rows: np.ndarray, among: np.ndarray) -> np.ndarray:
    """``np.isin(rows, among)`` for a short ``among``: a binary search of each row in it
    (sorting the few ``among`` instead of all of ``rows`` and ``among`` together)."""
    if not len(among):
        return np.zeros(len(rows), dtype=bool)
    known = np.sort(among)
    pos = np.searchsorted(known, rows)
    return known[np.minimum(pos, len(known) - 1)] == rows


__all__ = ["HardFilters", "blocked_by_consent"]
