"""A near-duplicate needs offset-consistent evidence over a minimum duration: a few seconds of
shared material (a drum fill, a chord, a very short clip) never make two recordings one."""

from __future__ import annotations

from recsys.integrity.fingerprint_index import Match
from recsys.integrity.neardup import MIN_SPAN_S, MIN_VOTES, evidence


def _match(votes: int, span_s: float) -> Match:
    return Match(
        track_id="x", row=0, score=0.9, votes=votes, offset_s=0.0, ratio=1.0, span_s=span_s
    )


def test_a_short_span_is_no_evidence_however_strong() -> None:
    assert not evidence(_match(votes=500, span_s=MIN_SPAN_S - 0.5))
    assert not evidence(_match(votes=MIN_VOTES - 1, span_s=60.0))
    assert evidence(_match(votes=MIN_VOTES, span_s=MIN_SPAN_S))
