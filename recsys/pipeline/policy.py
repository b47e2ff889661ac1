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
        artist = cat.artist_row[rows]
        emerging = (artist >= 0) & cat.emerging_artists(params.emerging_exposure_quantile)[
            np.maximum(artist, 0)
        ]
        emerging &= cat.is_human[rows]
        generated = cat.ai_code[rows] == AI_GENERATED
        credited, owner = cat.credited_artist_rows(rows)
        fused = self.spaces.vectors.get("fused")
        vecs = fused[rows] if fused is not None else np.zeros((n, 1), np.float32)
        max_sim = np.zeros(n)
        eligible = np.ones(n, dtype=bool)
        ai_left = ai_generated_limit(ctx, k)
        if ai_left <= 0:
            eligible &= ~generated
        artist_count: dict[int, int] = {}
        need_emerging = min(params.emerging_artist_slots, k)
        lam = params.mmr_lambda
        picks: list[int] = []
        for step in range(k):
            if not eligible.any():
                break
            pool = eligible
            if need_emerging > 0 and need_emerging >= k - step and (eligible & emerging).any():
                pool = eligible & emerging
            value = np.where(pool, lam * final - (1.0 - lam) * max_sim, -np.inf)
            j = int(np.argmax(value))
            picks.append(j)
            eligible[j] = False
            if emerging[j]:
                need_emerging -= 1
            if generated[j]:
                ai_left -= 1
                if ai_left <= 0:
                    eligible &= ~generated
            for a in credited[owner == j].tolist():
                artist_count[a] = artist_count.get(a, 0) + 1
                if artist_count[a] >= params.max_tracks_per_artist:
                    eligible[owner[credited == a]] = False
            max_sim = np.maximum(max_sim, vecs @ vecs[j])
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
        hist = ctx.history_rows[:50]
        for pos, j in enumerate(slate.picks.tolist()):
            row = int(cands.rows[j])
            reasons: list[str] = []
            if ctx.query_vec is not None and (
                cands.ranks.get("text_query", np.full(len(cands), MISSING_RANK))[j] < MISSING_RANK
            ):
                reasons.append(f"matches '{ctx.request.query.strip()}'")
            if len(ctx.seed_rows) and fused is not None:
                best = int(ctx.seed_rows[int(np.argmax(fused[ctx.seed_rows] @ fused[row]))])
                if best != row:
                    reasons.append(f"similar to {self.title_of(best)}")
            if slate.emerging[pos]:
                reasons.append("new human artist near your taste")
            if len(hist) and fused is not None:
                best = int(hist[int(np.argmax(fused[hist] @ fused[row]))])
                reasons.append(f"because you played {self.title_of(best)}")
            if not reasons:
                reasons.append("popular on Liner Notes right now")
            if self.catalog.is_human[row] and not slate.emerging[pos]:
                reasons.append("by a human artist")
            out.append(tuple(reasons))
        return out


__all__ = ["ArtistFirstPolicy", "ReasonWriter", "Slate", "ai_generated_limit"]
