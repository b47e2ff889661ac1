"""The artist-first policy stage: bounded human-artist boost, AI-generated cap, emerging-artist
slots, per-artist limits and MMR re-ordering, then human-readable reasons.

Every parameter comes from :class:`recsys.params.PolicyParams`, whose schema bounds what any
variant can set. The constraints are enforced while the slate is assembled, so they hold by
construction rather than by post-hoc trimming.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numba import njit

from recsys.pipeline.candidates import MISSING_RANK, CandidateSet
from recsys.pipeline.catalog import AI_GENERATED, CatalogSnapshot
from recsys.pipeline.context import ListenerContext, SpacesView


@dataclass(frozen=True, kw_only=True, eq=False)
class Slate:
    """The policy's choice: candidate indices in slate order with their final scores.

    Attributes:
        picks: indices into the candidate set, in slate order.
        scores: final (boosted, normalised) score per pick.
        emerging: per pick, whether it is by an emerging human artist.
    """

    picks: np.ndarray
    scores: np.ndarray
    emerging: np.ndarray


def ai_generated_limit(ctx: ListenerContext, k: int) -> int:
    """How many fully AI-generated tracks a slate of ``k`` may hold (0 for opt-outs)."""
    if ctx.opted_out or ctx.request.filters.exclude_ai_generated:
        return 0
    return math.floor(ctx.request.params.ai_generated_cap * k + 1e-9)


@njit(cache=True, nogil=True)
def _greedy_mmr(
    final: np.ndarray,
    vecs: np.ndarray,
    eligible: np.ndarray,
    emerging: np.ndarray,
    generated: np.ndarray,
    owner: np.ndarray,
    artist: np.ndarray,
    k: int,
    need_emerging: int,
    ai_left: int,
    max_per_artist: int,
    lam: float,
) -> np.ndarray:  # pragma: no cover - compiled
    """The greedy MMR loop of :meth:`ArtistFirstPolicy.select`, compiled.

    ``owner``/``artist`` list every (candidate, local artist id) credit. Each step picks the
    eligible candidate with the best ``lam·final − (1−lam)·max similarity to the picks``,
    restricted to emerging candidates when the remaining steps are needed for their slots;
    then applies the AI-generated cap and the per-artist limit to what stays eligible.
    """
    n = final.shape[0]
    eligible = eligible.copy()
    max_sim = np.zeros(n)
    counts = np.zeros(artist.max() + 1 if artist.shape[0] else 1, dtype=np.int64)
    picks = np.empty(k, dtype=np.int64)
    m = 0
    for step in range(k):
        any_eligible = False
        any_emerging = False
        for i in range(n):
            if eligible[i]:
                any_eligible = True
                if emerging[i]:
                    any_emerging = True
        if not any_eligible:
            break
        only_emerging = need_emerging > 0 and need_emerging >= k - step and any_emerging
        best, best_value = -1, -np.inf
        for i in range(n):
            if eligible[i] and (emerging[i] or not only_emerging):
                value = lam * final[i] - (1.0 - lam) * max_sim[i]
                if best < 0 or value > best_value:
                    best, best_value = i, value
        j = best
        picks[m] = j
        m += 1
        eligible[j] = False
        if emerging[j]:
            need_emerging -= 1
        if generated[j]:
            ai_left -= 1
            if ai_left <= 0:
                for i in range(n):
                    if generated[i]:
                        eligible[i] = False
        for e in range(owner.shape[0]):
            if owner[e] == j:
                a = artist[e]
                counts[a] += 1
                if counts[a] >= max_per_artist:
                    for f in range(owner.shape[0]):
                        if artist[f] == a:
                            eligible[owner[f]] = False
        sims = np.dot(vecs, vecs[j])
        for i in range(n):
            if sims[i] > max_sim[i]:
                max_sim[i] = sims[i]
    return picks[:m]


@dataclass
class ArtistFirstPolicy:
    """Assembles the slate from scored candidates under the artist-first rules."""

    catalog: CatalogSnapshot
    spaces: SpacesView

    def boosted(self, ctx: ListenerContext, cands: CandidateSet, scores: np.ndarray) -> np.ndarray:
        """Relevance ``exp(score - max score)`` in (0, 1], times (1 + boost) for verified
        human artists.

        On this scale the multiplicative boost is an additive ``log(1 + boost)`` on the
        reranker's score: a human artist's track overtakes another only when their scores
        are that close, whatever the spread of the candidate set (a min-max scale would make
        the same boost much stronger when a few outliers stretch the range).
        """
        if len(scores) == 0:
            return np.zeros(0)
        rel = np.exp(np.asarray(scores, dtype=np.float64) - float(np.max(scores)))
        artist = self.catalog.artist_row[cands.rows]
        verified = (artist >= 0) & self.catalog.artist_verified[np.maximum(artist, 0)]
        human = self.catalog.is_human[cands.rows] & verified
        return np.asarray(rel * (1.0 + ctx.request.params.human_artist_boost * human))

    def select(self, ctx: ListenerContext, cands: CandidateSet, scores: np.ndarray) -> Slate:
        """Greedy MMR selection under the caps, slots and per-artist limits."""
        params = ctx.request.params
        cat = self.catalog
        rows = cands.rows
        n, k = len(rows), min(ctx.request.k, len(rows))
        final = self.boosted(ctx, cands, scores)
        emerging = cat.emerging_tracks(params.emerging_exposure_quantile)[rows]
        generated = cat.ai_code[rows] == AI_GENERATED
        credited, owner = cat.credited_artist_rows(rows)
        _, local_artist = np.unique(credited, return_inverse=True)
        fused = self.spaces.vectors.get("fused")
        vecs = fused[rows] if fused is not None else np.zeros((n, 1), np.float32)
        eligible = np.ones(n, dtype=bool)
        if ai_generated_limit(ctx, k) <= 0:
            eligible &= ~generated
        picks = _greedy_mmr(
            final,
            np.ascontiguousarray(vecs, dtype=np.float32),
            eligible,
            emerging,
            generated,
            owner.astype(np.int64),
            local_artist.astype(np.int64).ravel(),
            k,
            min(params.emerging_artist_slots, k),
            ai_generated_limit(ctx, k),
            params.max_tracks_per_artist,
            params.mmr_lambda,
        ).tolist()
        # A slate that ran out of eligible candidates is shorter than planned: trim the
        # lowest-placed AI-generated picks until the cap holds for the actual length.
        while picks:
            gen = [p for p in picks if generated[p]]
            if len(gen) <= ai_generated_limit(ctx, len(picks)):
                break
            picks.remove(gen[-1])
        idx = np.asarray(picks, dtype=np.int64)
        return Slate(picks=idx, scores=final[idx], emerging=emerging[idx])


@dataclass
class ReasonWriter:
    """Writes the human-readable reasons of each pick."""

    catalog: CatalogSnapshot
    spaces: SpacesView
    title_of: Callable[[int], str]

    def reasons(
        self, ctx: ListenerContext, cands: CandidateSet, slate: Slate
    ) -> list[tuple[str, ...]]:
        """One tuple of reasons per pick; never empty."""
        fused = self.spaces.vectors.get("fused")
        out: list[tuple[str, ...]] = []
        picked = cands.rows[slate.picks]
        hist = ctx.history_rows[:50]
        text_ranks = cands.ranks.get("text_query") if ctx.query_vec is not None else None
        # Per pick, the closest seed and the closest recent play, in one product each.
        closest_seed = closest_play = None
        if fused is not None and len(picked):
            if len(ctx.seed_rows):
                closest_seed = ctx.seed_rows[np.argmax(fused[ctx.seed_rows] @ fused[picked].T, 0)]
            if len(hist):
                closest_play = hist[np.argmax(fused[hist] @ fused[picked].T, axis=0)]
        for pos, j in enumerate(slate.picks.tolist()):
            row = int(cands.rows[j])
            reasons: list[str] = []
            if text_ranks is not None and text_ranks[j] < MISSING_RANK:
                reasons.append(f"matches '{ctx.request.query.strip()}'")
            if closest_seed is not None and int(closest_seed[pos]) != row:
                reasons.append(f"similar to {self.title_of(int(closest_seed[pos]))}")
            if slate.emerging[pos]:
                reasons.append("new human artist near your taste")
            if closest_play is not None:
                reasons.append(f"because you played {self.title_of(int(closest_play[pos]))}")
            if not reasons:
                reasons.append("popular on Liner Notes right now")
            if self.catalog.is_human[row] and not slate.emerging[pos]:
                reasons.append("by a human artist")
            out.append(tuple(reasons))
        return out


__all__ = ["ArtistFirstPolicy", "ReasonWriter", "Slate", "ai_generated_limit"]
