"""Pipeline parameters: the one typed, bounded schema that the pipeline reads and that A/B
variants override.

The bounds are the artist-first guardrails: a variant file can move a value only within them,
and the fields that protect listeners and artists (labels, consent) admit a single value.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class CandidateQuotas(BaseModel):
    """How many candidates each source may propose per request."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    personal: int = Field(300, ge=0, le=2000)
    """Listener vector → ANN over the fused index."""
    item_to_item: int = Field(150, ge=0, le=1000)
    """Neighbours of the seed or context tracks."""
    text_query: int = Field(150, ge=0, le=1000)
    """Text query → text-embedding index (only when the request has a query)."""
    emerging: int = Field(50, ge=0, le=500)
    """Low-exposure human artists near the listener's taste."""
    popular: int = Field(100, ge=0, le=1000)
    """Popular and fresh tracks; the fallback for listeners with no history."""


class PolicyParams(BaseModel):
    """Every tunable of the recommendation pipeline, with the bounds no variant can leave."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    human_artist_boost: float = Field(0.1, ge=0.0, le=0.5)
    """Multiplicative boost for verified human artists: score × (1 + boost)."""
    ai_generated_cap: float = Field(0.2, ge=0.0, le=0.3)
    """Largest share of fully AI-generated tracks in a slate (0 for listeners who opt out)."""
    emerging_artist_slots: int = Field(1, ge=1, le=3)
    """Slots reserved for emerging human artists when a qualified candidate exists."""
    emerging_exposure_quantile: float = Field(0.5, ge=0.0, le=0.9)
    """An artist is emerging when their play count is below this quantile of artists."""
    max_tracks_per_artist: int = Field(2, ge=1, le=5)
    """Per-artist limit within one slate."""
    mmr_lambda: float = Field(0.85, ge=0.5, le=1.0)
    """MMR trade-off: 1.0 ranks by relevance only; lower values favour diversity."""
    recent_play_exclusion: int = Field(200, ge=0, le=1000)
    """How many of the listener's most recent plays are never recommended again."""
    query_weight: float = Field(3.0, ge=0.0, le=6.0)
    """Score bonus of a candidate that fully matches the request's query (log-odds scale:
    it overtakes a non-matching candidate whose reranker score is up to this much higher).
    Candidates that do not match are dropped whatever the weight (``recsys.pipeline.query``)."""
    seed_weight: float = Field(3.0, ge=0.0, le=6.0)
    """Score bonus of the candidate closest to the request's seed tracks (scaled 0..1)."""
    candidates: CandidateQuotas = Field(default_factory=CandidateQuotas)
    """Per-source candidate quotas."""
    rerank_pool: int = Field(250, ge=0, le=5000)
    """Most candidates the reranker scores, kept by the sources' relative ranks (0: all;
    never fewer than 4 per slate position; ``recsys.pipeline.first_stage``)."""
    exploration: float = Field(0.0, ge=0.0, le=0.3)
    """Share of slate positions drawn at random instead of taken greedily (0: deterministic
    slates). Draws stay among what the filters, caps and slots allow, and every slate's
    probability is logged, so its traffic can evaluate other variants off-policy."""
    exploration_temperature: float = Field(0.1, ge=0.02, le=1.0)
    """Softmax temperature of an exploring draw over the MMR values (final scores are in
    (0, 1.5]); lower keeps draws near the top, higher spreads them over the candidates."""
    reranker_model_id: str = Field("default", min_length=1, max_length=64, pattern=r"^[\w.-]+$")
    """Which reranker model in the artifact directory to use."""
    labels: Literal[True] = True
    """AI labels and credits on every item. Cannot be turned off."""
    enforce_consent: Literal[True] = True
    """Consent checks on every request. Cannot be turned off."""


__all__ = ["CandidateQuotas", "PolicyParams"]
