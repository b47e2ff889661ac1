"""The learned AI-rule reading: what it may change, and that it stays out of other models."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from agent.ai_rule_model import CONFIDENT, LEVELS, MODEL_PATH, AiRuleModel, model_for, refine_level
from tests.agent.fakes import trigram_vector


def _p(level: str, p: float) -> np.ndarray:
    out = np.full(len(LEVELS), (1 - p) / (len(LEVELS) - 1))
    out[LEVELS.index(level)] = p
    return out


def test_a_confident_reading_makes_a_refusal_stricter_never_lighter() -> None:
    assert refine_level("generated", _p("any", 0.95), allows_assisted=False) == "any"
    assert refine_level("generated", _p("vocals", 0.95), allows_assisted=False) == "vocals"
    # "no AI at all" read by the rules stays: a lighter rule would serve AI-assisted tracks.
    assert refine_level("any", _p("vocals", 0.97), allows_assisted=False) == "any"
    assert refine_level("any", _p("generated", 0.99), allows_assisted=False) == "any"


def test_a_confident_reading_adds_a_refusal_the_rules_missed() -> None:
    assert refine_level("none", _p("generated", CONFIDENT + 0.01), allows_assisted=False) == (
        "generated"
    )


def test_an_unsure_reading_changes_nothing() -> None:
    assert refine_level("generated", _p("any", CONFIDENT - 0.05), allows_assisted=False) == (
        "generated"
    )


def test_it_never_lifts_a_refusal() -> None:
    for rule in ("generated", "vocals", "any"):
        assert refine_level(rule, _p("none", 0.999), allows_assisted=False) == rule


def test_an_allowance_of_ai_help_keeps_any_out() -> None:
    assert refine_level("generated", _p("any", 0.99), allows_assisted=True) == "generated"


def test_a_hedged_refusal_is_not_escalated_to_no_ai_at_all() -> None:
    # "prefer no AI if you can": the lighter rule, whatever the model's reading.
    assert refine_level("generated", _p("any", 0.99), allows_assisted=False, hedged=True) == (
        "generated"
    )
    assert refine_level("generated", _p("vocals", 0.99), allows_assisted=False, hedged=True) == (
        "vocals"
    )


def test_an_explicit_allowance_gets_no_refusal_from_the_model() -> None:
    # "no rules about AI today, anything goes": the rules found an allowance and no refusal.
    assert refine_level("none", _p("any", 0.99), allows_assisted=False, allowed=True) == "none"
    # An allowance of one thing does not stop the model sharpening a refusal of another.
    assert refine_level("generated", _p("vocals", 0.99), allows_assisted=False, allowed=True) == (
        "vocals"
    )


def test_the_shipped_model_is_not_used_with_another_text_model() -> None:
    """The tests' trigram vectors are not the model's: the probe check refuses them."""
    assert MODEL_PATH.exists()

    def embed(texts: Sequence[str]) -> np.ndarray:
        return np.stack([trigram_vector(t) for t in texts])

    assert model_for(embed) is None


def test_probabilities_are_a_softmax() -> None:
    rng = np.random.default_rng(0)
    model = AiRuleModel(
        weights=rng.normal(size=(4, 8)), bias=np.zeros(4), probe=np.ones(8) / np.sqrt(8)
    )
    p = model.probabilities(rng.normal(size=(3, 8)))
    assert p.shape == (3, 4)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    assert (p > 0).all()


@pytest.mark.parametrize("dim", [4, 384])
def test_a_vector_of_another_width_is_refused(dim: int) -> None:
    def embed(texts: Sequence[str]) -> np.ndarray:
        v = np.zeros((len(texts), dim))
        v[:, 0] = 1.0
        return v

    assert model_for(embed) is None
