"""A near-duplicate needs offset-consistent evidence over a minimum duration: a few seconds of
shared material (a drum fill, a chord) never make two recordings one; for a recording that is
itself short, most of it, with a match that stands out more."""

from __future__ import annotations

import numpy as np

from recsys.integrity.fingerprint_index import Match
from recsys.integrity.neardup import (
    MIN_SPAN_S,
    MIN_VOTES,
    SHORT_MIN_SCORE,
    SHORT_MIN_STRENGTH,
    SPAN_SHARE,
    Edge,
    evidence,
    required_span,
)


def _match(votes: int, span_s: float) -> Match:
    return Match(
        track_id="x", row=0, score=0.9, votes=votes, offset_s=0.0, ratio=1.0, span_s=span_s
    )


def test_a_short_span_is_no_evidence_however_strong() -> None:
    assert not evidence(_match(votes=500, span_s=MIN_SPAN_S - 0.5))
    assert not evidence(_match(votes=MIN_VOTES - 1, span_s=60.0))
    assert evidence(_match(votes=MIN_VOTES, span_s=MIN_SPAN_S))


def test_the_span_is_relative_to_a_short_recording() -> None:
    clip = 1.5
    assert required_span(clip) < MIN_SPAN_S
    assert evidence(_match(votes=20, span_s=SPAN_SHARE * clip), shorter_s=clip)
    assert not evidence(_match(votes=20, span_s=0.5 * SPAN_SHARE * clip), shorter_s=clip)
    # A long recording still needs the full span, whatever the other one's length.
    assert not evidence(_match(votes=500, span_s=MIN_SPAN_S - 0.5), shorter_s=180.0)


def test_a_short_match_needs_to_stand_out_more() -> None:
    match = _match(votes=40, span_s=1.2)  # score 0.9
    weak = SHORT_MIN_STRENGTH - 0.02
    assert not Edge(a=0, b=1, match=match, strength=weak, shorter_s=1.5).holds(0.12)
    assert Edge(a=0, b=1, match=match, strength=SHORT_MIN_STRENGTH, shorter_s=1.5).holds(0.12)
    long = _match(votes=400, span_s=30.0)
    assert Edge(a=0, b=1, match=long, strength=weak, shorter_s=60.0).holds(0.12)
    low = Match(track_id="x", row=0, score=SHORT_MIN_SCORE - 0.01, votes=40, offset_s=0.0,
                ratio=1.0, span_s=1.2)  # fmt: skip
    assert not Edge(a=0, b=1, match=low, strength=0.5, shorter_s=1.5).holds(0.12)


def test_a_copy_of_a_short_clip_matches_and_other_clips_of_its_generator_do_not() -> None:
    """1.5 s clips of one synthesised genre (same sound, tempo and key): a perturbed copy of
    one is a near-duplicate of it; the other clips are not near-duplicates of each other."""
    import soxr

    from recsys.demo.audio import SAMPLE_RATE as CLIP_SR
    from recsys.demo.audio import ClipSpec, perturb_clip, render_clips
    from recsys.integrity.fingerprint import SAMPLE_RATE, fingerprint_signal
    from recsys.integrity.fingerprint_index import FingerprintIndex
    from recsys.integrity.neardup import match_catalog

    specs = [ClipSpec(genre=g, seed=100 + k) for g in ("electronic", "folk") for k in range(6)]
    clips = render_clips(specs)
    copy = perturb_clip(clips[0], np.random.default_rng(3))
    fps = [fingerprint_signal(soxr.resample(c, CLIP_SR, SAMPLE_RATE)) for c in [*clips, copy]]
    index = FingerprintIndex.build([f"t{i}" for i in range(len(fps))], fps)
    edges = match_catalog(index, fps, np.arange(len(fps)))
    held = {(min(e.a, e.b), max(e.a, e.b)) for e in edges if e.holds(0.12)}
    assert held == {(0, len(clips))}


def test_a_copy_played_backwards_is_matched() -> None:
    from offline_eval.adversarial.machine import machine_track
    from recsys.integrity.fingerprint import SAMPLE_RATE, fingerprint_signal
    from recsys.integrity.fingerprint_index import FingerprintIndex
    from recsys.integrity.neardup import match_catalog

    rng = np.random.default_rng(5)
    tracks = [machine_track(20.0, SAMPLE_RATE, rng) for _ in range(3)]
    copy = tracks[1][4 * SAMPLE_RATE : 16 * SAMPLE_RATE][::-1] * 0.7
    fps = [fingerprint_signal(y) for y in [*tracks, copy]]
    index = FingerprintIndex.build([f"t{i}" for i in range(4)], fps)
    edges = match_catalog(index, fps, np.arange(4))
    held = [e for e in edges if e.holds(0.12) and {e.a, e.b} == {1, 3}]
    assert held and all(e.reversed for e in held)
    assert not [e for e in edges if e.holds(0.12) and {e.a, e.b} != {1, 3}]


def _clean_short_edges(n: int, top: float) -> list[Edge]:
    rng = np.random.default_rng(0)
    edges = []
    for a in range(n):
        strength = top if a == 0 else float(rng.uniform(0.0, 0.05))
        match = Match(track_id=f"t{a + 1}", row=(a + 1) % n, score=strength + 0.05, votes=20,
                      offset_s=0.0, ratio=1.0, span_s=1.2)  # fmt: skip
        edges.append(Edge(a=a, b=(a + 1) % n, match=match, strength=strength, shorter_s=1.5))
    return edges


def test_short_recordings_are_not_matched_where_clean_clips_already_look_like_copies() -> None:
    from recsys.integrity.neardup import calibrate

    verified = np.ones(80, dtype=bool)
    calm = calibrate(_clean_short_edges(80, top=0.06), verified)
    assert SHORT_MIN_STRENGTH <= calm.short_bar < 1.0
    alike = calibrate(_clean_short_edges(80, top=SHORT_MIN_STRENGTH + 0.1), verified)
    assert alike.short_bar == float("inf")
    assert alike.summary()["short_screen"].startswith("off")


def test_distinct_demo_clips_of_one_genre_do_not_look_like_copies() -> None:
    """Twenty 1.5 s clips per genre (same sound and tempo, one artist's habits): no two
    distinct clips stand out from their background as a copy must (else the calibration
    turns the short screen off), and most re-encoded copies do."""
    import soxr

    from recsys.demo.audio import SAMPLE_RATE as CLIP_SR
    from recsys.demo.audio import ClipSpec, perturb_clip, render_clips
    from recsys.integrity.fingerprint import SAMPLE_RATE, fingerprint_signal
    from recsys.integrity.fingerprint_index import FingerprintIndex
    from recsys.integrity.neardup import evidence, match_catalog

    genres = ("pop", "hip-hop", "ambient", "metal")
    specs = [
        ClipSpec(genre=g, seed=7000 + 31 * k + i) for k, g in enumerate(genres) for i in range(20)
    ]
    clips = render_clips(specs)
    sources = list(range(0, len(clips), 5))
    copies = [perturb_clip(clips[i], np.random.default_rng(i)) for i in sources]
    fps = [fingerprint_signal(soxr.resample(c, CLIP_SR, SAMPLE_RATE)) for c in [*clips, *copies]]
    index = FingerprintIndex.build([f"t{i}" for i in range(len(fps))], fps)
    edges = match_catalog(index, fps, np.arange(len(fps)))
    n = len(clips)
    distinct = [e.strength for e in edges if e.a < n and e.b < n and evidence(e.match, e.shorter_s)]
    assert max(distinct) < SHORT_MIN_STRENGTH / 2  # well below the bar, not just under it
    held = {(min(e.a, e.b), max(e.a, e.b)) for e in edges if e.holds(0.12)}
    caught = sum((i, n + j) in held for j, i in enumerate(sources))
    # Borderline copies move with the CPU's FFT rounding: 11/16 on an AVX2-only host, 12+ on an
    # AVX-512 one (the held-out demo figure, 25/30, is in benchmarks/README.md).
    assert caught >= 0.65 * len(sources)
    assert all(b >= n and sources[b - n] == a for a, b in held)
