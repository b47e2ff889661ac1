"""The artist-first policy stage: bounded human-artist boost, AI-generated cap, emerging-artist
slots, per-artist limits and MMR re-ordering, then human-readable reasons.

Every parameter comes from :class:`recsys.params.PolicyParams`, whose schema bounds what any
variant can set. The constraints are enforced while the slate is assembled, so they hold by
construction rather than by post-hoc trimming.

Exploration (``PolicyParams.exploration`` > 0) makes each greedy step a draw: with probability
``1 - exploration`` the best candidate, otherwise a Plackett–Luce (softmax) draw over the MMR
values at ``exploration_temperature``, always among the candidates the step may take (the hard
filters ran before, and the caps, slots and per-artist limits shrink the eligible set exactly
as in the deterministic loop), so no draw can break a rule. Each pick's probability given the
picks above it is returned; their product is the slate's probability, the propensity that
off-policy estimators divide by. With exploration off every probability is 1 and the slate is
the deterministic one.
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
    propensities: np.ndarray | None = None
    """Per pick, its probability given the picks above it (None when unknown)."""

    @property
    def propensity(self) -> float | None:
        """The probability of the whole slate (in this order), None when unknown."""
        if self.propensities is None:
            return None
        return float(np.prod(self.propensities))


@dataclass(frozen=True, kw_only=True, eq=False)
class SlateReplay:
    """A policy's probabilities along a given (logged) slate.

    Attributes:
        probs: per position, the probability this policy takes the given pick next, given the
            given picks above it (0 for a pick it could not take; a prefix's probability is
            the product up to it).
        dists: per position, this policy's whole next-pick distribution over the candidates,
            given the picks above (zero rows where the replay stopped: a pick that is not a
            candidate, or no eligible candidate left).
        greedy: per position, the candidate this policy would take deterministically.
    """

    probs: np.ndarray
    dists: np.ndarray
    greedy: np.ndarray


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
    explore: float,
    temperature: float,
    uniforms: np.ndarray,
    forced: np.ndarray,
    dists: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """The greedy MMR loop of :meth:`ArtistFirstPolicy.select`, compiled.

    ``owner``/``artist`` list every (candidate, local artist id) credit. Each step picks the
    eligible candidate with the best ``lam·final − (1−lam)·max similarity to the picks``,
    restricted to emerging candidates when the remaining steps are needed for their slots;
    then applies the AI-generated cap and the per-artist limit to what stays eligible.

    With ``explore > 0`` the step draws instead (``uniforms[step]``): the best candidate with
    probability ``1 − explore`` plus ``explore`` × softmax(value / temperature) over the
    candidates the step may take. A non-empty ``forced`` replays given picks (−1: not a
    candidate) and records this policy's probability of each; ``dists`` (k × n, or 0 rows)
    receives each step's whole distribution. Returns (picks, their probabilities, the
    deterministic choice of each step).
    """
    n = final.shape[0]
    eligible = eligible.copy()
    max_sim = np.zeros(n)
    counts = np.zeros(artist.max() + 1 if artist.shape[0] else 1, dtype=np.int64)
    picks = np.empty(k, dtype=np.int64)
    probs = np.zeros(k)
    greedy = np.full(k, -1, dtype=np.int64)
    weights = np.zeros(n)
    replay = forced.shape[0] > 0
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
        greedy[step] = best
        j = best
        p = 1.0
        if explore > 0.0:
            total = 0.0
            for i in range(n):
                weights[i] = 0.0
                if eligible[i] and (emerging[i] or not only_emerging):
                    value = lam * final[i] - (1.0 - lam) * max_sim[i]
                    weights[i] = np.exp((value - best_value) / temperature)
                    total += weights[i]
            for i in range(n):
                weights[i] = explore * weights[i] / total
            weights[best] += 1.0 - explore
            if not replay:
                u = uniforms[step]
                acc = 0.0
                for i in range(n):
                    if weights[i] > 0.0:
                        j = i
                        acc += weights[i]
                        if u < acc:
                            break
            if dists.shape[0] > 0:
                dists[step] = weights
        elif dists.shape[0] > 0:
            dists[step, best] = 1.0
        if replay:
            j = forced[step]
            if j < 0:
                break
            p = weights[j] if explore > 0.0 else (1.0 if j == best else 0.0)
            allowed = eligible[j] and (emerging[j] or not only_emerging)
            if not allowed:
                p = 0.0
        elif explore > 0.0:
            p = weights[j]
        probs[m] = p
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
    return picks[:m], probs[:m], greedy[:m]


@njit(cache=True, nogil=True)
def _relabel(values: np.ndarray) -> np.ndarray:  # pragma: no cover - compiled
    """Small ids ``0..m-1`` for ``values``, equal where the values are equal (in order of
    first appearance; the MMR loop only compares them, so any such labels give its result)."""
    size = 16
    while size < 2 * len(values):
        size *= 2
    slot_value = np.empty(size, np.int64)
    slot_id = np.full(size, -1, np.int64)
    out = np.empty(len(values), np.int64)
    m = 0
    for i in range(len(values)):
        v = values[i]
        h = (v * 2654435761) & (size - 1)
        while slot_id[h] >= 0 and slot_value[h] != v:
            h = (h + 1) & (size - 1)
        if slot_id[h] < 0:
            slot_id[h] = m
            slot_value[h] = v
            m += 1
        out[i] = slot_id[h]
    return out


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

    def _run(
        self,
        ctx: ListenerContext,
        cands: CandidateSet,
        scores: np.ndarray,
        *,
        k: int,
        uniforms: np.ndarray,
        forced: np.ndarray,
        dists: np.ndarray,
        vecs: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        params = ctx.request.params
        cat = self.catalog
        rows = cands.rows
        n = len(rows)
        final = self.boosted(ctx, cands, scores)
        emerging = cat.emerging_tracks(params.emerging_exposure_quantile)[rows]
        generated = cat.ai_code[rows] == AI_GENERATED
        credited, owner = cat.credited_artist_rows(rows)
        local_artist = _relabel(credited.astype(np.int64))
        if vecs is None:
            fused = self.spaces.vectors.get("fused")
            vecs = fused[rows] if fused is not None else np.zeros((n, 1), np.float32)
        eligible = np.ones(n, dtype=bool)
        if ai_generated_limit(ctx, k) <= 0:
            eligible &= ~generated
        picks, probs, greedy = _greedy_mmr(
            final,
            np.ascontiguousarray(vecs, dtype=np.float32),
            eligible,
            emerging,
            generated,
            owner.astype(np.int64),
            local_artist,
            k,
            min(params.emerging_artist_slots, k),
            ai_generated_limit(ctx, k),
            params.max_tracks_per_artist,
            params.mmr_lambda,
            float(params.exploration),
            float(params.exploration_temperature),
            uniforms,
            forced,
            dists,
        )
        return picks, probs, greedy, final, emerging, generated

    def select(
        self,
        ctx: ListenerContext,
        cands: CandidateSet,
        scores: np.ndarray,
        rng: np.random.Generator | None = None,
        *,
        vecs: np.ndarray | None = None,
    ) -> Slate:
        """Greedy MMR selection under the caps, slots and per-artist limits (a draw at each
        step when the request's params explore; ``rng`` defaults to a fresh generator).

        ``vecs``: the candidates' fused vectors when the caller has gathered them already
        (the features did); else they are gathered here."""
        k = min(ctx.request.k, len(cands.rows))
        explore = ctx.request.params.exploration > 0.0
        uniforms = (rng or np.random.default_rng()).random(k) if explore else np.zeros(k)
        none = np.zeros(0, dtype=np.int64)
        picked, probs, _, final, emerging, generated = self._run(
            ctx,
            cands,
            scores,
            k=k,
            uniforms=uniforms,
            forced=none,
            dists=np.zeros((0, 0)),
            vecs=vecs,
        )
        picks = picked.tolist()
        # A slate that ran out of eligible candidates is shorter than planned: trim the
        # lowest-placed AI-generated picks until the cap holds for the actual length.
        trimmed = False
        while picks:
            gen = [p for p in picks if generated[p]]
            if len(gen) <= ai_generated_limit(ctx, len(picks)):
                break
            picks.remove(gen[-1])
            trimmed = True
        idx = np.asarray(picks, dtype=np.int64)
        # A trimmed slate is not one the draw produced, so its probability is unknown.
        return Slate(
            picks=idx,
            scores=final[idx],
            emerging=emerging[idx],
            propensities=None if trimmed else probs,
        )

    def exposure(
        self,
        ctx: ListenerContext,
        cands: CandidateSet,
        scores: np.ndarray,
        position_weights: np.ndarray,
        *,
        samples: int = 200,
        rng: np.random.Generator | None = None,
    ) -> np.ndarray:
        """Each candidate's expected position-weighted exposure: ``Σ_k w_k · P(candidate at
        position k)`` (exact for a deterministic policy, else a mean over ``samples`` slates).

        The sampled estimate averages each step's whole next-pick distribution rather than
        counting picks, so a candidate the policy can reach never gets 0 (off-policy
        estimators divide by this) and the estimate varies much less.
        """
        k = min(ctx.request.k, len(cands.rows), len(position_weights))
        n = len(cands.rows)
        out = np.zeros(n)
        if k == 0:
            return out
        explore = ctx.request.params.exploration > 0.0
        rounds = samples if explore else 1
        gen = rng or np.random.default_rng(0)
        none = np.zeros(0, dtype=np.int64)
        for _ in range(rounds):
            dists = np.zeros((k, n))
            uniforms = gen.random(k) if explore else np.zeros(k)
            self._run(ctx, cands, scores, k=k, uniforms=uniforms, forced=none, dists=dists)
            out += np.asarray(position_weights[:k]) @ dists
        return out / rounds

    def replay(
        self, ctx: ListenerContext, cands: CandidateSet, scores: np.ndarray, picks: np.ndarray
    ) -> SlateReplay:
        """This policy's probabilities along given picks (indices into ``cands``; −1 for a
        track that is not a candidate), for off-policy evaluation of logged slates."""
        forced = np.asarray(picks, dtype=np.int64)
        k = len(forced)
        n = len(cands.rows)
        if k == 0 or n == 0:
            return SlateReplay(probs=np.zeros(k), dists=np.zeros((k, n)), greedy=np.full(k, -1))
        dists = np.zeros((k, n))
        _, probs, greedy, *_ = self._run(
            ctx, cands, scores, k=k, uniforms=np.zeros(k), forced=forced, dists=dists
        )
        pad = k - len(probs)
        return SlateReplay(
            probs=np.concatenate([probs, np.zeros(pad)]),
            dists=dists,
            greedy=np.concatenate([greedy, np.full(pad, -1, dtype=np.int64)]),
        )


NAMED = "{}"
"""Where a reason names a track (a seed or a recent play): filled with its title."""


@dataclass
class ReasonWriter:
    """Writes the human-readable reasons of each pick.

    :meth:`templates` finds the reasons once, with the rows of the tracks they name; the
    caller reads those tracks' titles (one store read) and :meth:`fill` writes them in, so
    the products and the rules run once per request. :meth:`reasons` does both with
    ``title_of``.
    """

    catalog: CatalogSnapshot
    spaces: SpacesView
    title_of: Callable[[int], str] | None = None

    def templates(
        self, ctx: ListenerContext, cands: CandidateSet, slate: Slate
    ) -> list[list[tuple[str, int]]]:
        """Per pick, its reasons as ``(text, named row)`` pairs: ``text`` holds ``NAMED``
        where the row's title goes (row ``-1`` when the reason names no track). Never empty."""
        fused = self.spaces.vectors.get("fused")
        out: list[list[tuple[str, int]]] = []
        picked = cands.rows[slate.picks]
        hist = ctx.history_rows[:50]
        text_ranks = cands.ranks.get("text_query") if ctx.query_vec is not None else None
        # Per pick, the closest seed and the closest recent play, in one product each.
        closest_seed = closest_play = None
        if fused is not None and len(picked):
            picked_vecs = fused[picked].T
            if len(ctx.seed_rows):
                closest_seed = ctx.seed_rows[np.argmax(fused[ctx.seed_rows] @ picked_vecs, 0)]
            if len(hist):
                hist_vecs = ctx.history_vecs("fused", fused, len(hist))
                closest_play = hist[np.argmax(hist_vecs @ picked_vecs, axis=0)]
        seeds = closest_seed.tolist() if closest_seed is not None else None
        plays = closest_play.tolist() if closest_play is not None else None
        emerging = slate.emerging.tolist()
        human = self.catalog.is_human[picked].tolist()
        query = f"matches '{ctx.request.query.strip()}'"
        for pos, (j, row) in enumerate(zip(slate.picks.tolist(), picked.tolist(), strict=True)):
            reasons: list[tuple[str, int]] = []
            if text_ranks is not None and text_ranks[j] < MISSING_RANK:
                reasons.append((query, -1))
            if seeds is not None and seeds[pos] != row:
                reasons.append((f"similar to {NAMED}", seeds[pos]))
            if emerging[pos]:
                reasons.append(("new human artist near your taste", -1))
            if plays is not None:
                reasons.append((f"because you played {NAMED}", plays[pos]))
            if not reasons:
                reasons.append(("popular on Liner Notes right now", -1))
            if human[pos] and not emerging[pos]:
                reasons.append(("by a human artist", -1))
            out.append(reasons)
        return out

    @staticmethod
    def named_rows(templates: list[list[tuple[str, int]]]) -> list[int]:
        """The rows the reasons name, in order of appearance (repeats kept)."""
        return [row for reasons in templates for _, row in reasons if row >= 0]

    @staticmethod
    def fill(
        templates: list[list[tuple[str, int]]], title_of: Callable[[int], str]
    ) -> list[tuple[str, ...]]:
        """The reasons' text, with each named row's ``title_of`` written in."""
        return [
            tuple(text.replace(NAMED, title_of(row)) if row >= 0 else text for text, row in r)
            for r in templates
        ]

    def reasons(
        self, ctx: ListenerContext, cands: CandidateSet, slate: Slate
    ) -> list[tuple[str, ...]]:
        """One tuple of reasons per pick; never empty."""
        title_of = self.title_of or (lambda row: str(self.catalog.track_ids[row]))
        return self.fill(self.templates(ctx, cands, slate), title_of)


__all__ = ["ArtistFirstPolicy", "ReasonWriter", "Slate", "SlateReplay", "ai_generated_limit"]
