"""The near-duplicate screen's decisions: which side of a match is the copy, clusters of
several uploaders, and a threshold calibrated on clean pairs only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from recsys.domain import Artist, Credit, Track
from recsys.integrity.fingerprint_index import Match
from recsys.integrity.neardup import (
    DEFAULT_THRESHOLD,
    MIN_SCORE,
    Calibration,
    Edge,
    NearDuplicateScreen,
    calibrate,
)
from recsys.integrity.screening import ScreenContext

T0 = datetime(2025, 1, 1, tzinfo=UTC)
ARTISTS = {
    a.artist_id: a
    for a in [
        Artist(artist_id="star", name="Midnight Rivers", verified=True, rights_holder_id="h1"),
        Artist(artist_id="alias", name="M. Rivers Live", verified=True, rights_holder_id="h1"),
        Artist(artist_id="indie", name="Quiet Fields", rights_holder_id="h2"),
        Artist(artist_id="thief1", name="Night Rivers", rights_holder_id="x1"),
        Artist(artist_id="thief2", name="Rivers Midnight", rights_holder_id="x2"),
    ]
}
CALIBRATION = Calibration(threshold=0.2, target_fpr=0.005, reference_fpr=0.0, references=0)


def _track(tid: str, artist: str, received: datetime, uploaded: datetime | None = None) -> Track:
    return Track(
        track_id=tid,
        title=f"Song {tid}",
        credits=(Credit(artist_id=artist, share=1.0),),
        uploaded_at=uploaded,
        received_at=received,
    )


def _edge(a: int, b: int, score: float = 0.6) -> Edge:
    match = Match(track_id="", row=b, score=score, votes=200, offset_s=1.5, ratio=1.0, span_s=30)
    return Edge(a=a, b=b, match=match, strength=score)


def _flags(tracks: list[Track], edges: list[Edge], scope: set[str] | None = None) -> dict:
    screen = NearDuplicateScreen(tracks, edges, CALIBRATION)
    context = ScreenContext(
        tracks=tracks, artists=ARTISTS, track_ids=None if scope is None else frozenset(scope)
    )
    return {f.track_id: f for f in screen.screen(context)}


def test_every_uploader_of_a_copy_is_flagged_with_the_cluster_as_evidence() -> None:
    tracks = [
        _track("orig", "indie", T0),
        _track("copy1", "thief1", T0 + timedelta(days=3)),
        _track("copy2", "thief2", T0 + timedelta(days=4)),
    ]
    flags = _flags(tracks, [_edge(1, 0), _edge(2, 0), _edge(2, 1)])
    assert set(flags) == {"copy1", "copy2"}
    for flag in flags.values():
        assert "original orig" in flag.evidence
        assert "cluster: orig, copy1, copy2" in flag.evidence
        assert "aligned landmarks" in flag.evidence


def test_a_backdated_copy_never_displaces_the_original() -> None:
    # The copy claims an upload time years before the original; the service received it later.
    tracks = [
        _track("orig", "indie", T0, uploaded=T0),
        _track("copy", "thief1", T0 + timedelta(days=1), uploaded=T0 - timedelta(days=900)),
    ]
    assert set(_flags(tracks, [_edge(0, 1)])) == {"copy"}


def test_verified_rights_beat_receipt_order_and_same_holder_is_no_copy() -> None:
    # The unverified upload arrived first, yet the verified artist's track is the original;
    # the verified holder's own re-release under another name is not flagged.
    tracks = [
        _track("early", "thief1", T0),
        _track("verified", "star", T0 + timedelta(days=5)),
        _track("rerelease", "alias", T0 + timedelta(days=9)),
    ]
    flags = _flags(tracks, [_edge(0, 1), _edge(2, 0)])
    assert set(flags) == {"early"}
    assert "original verified" in flags["early"].evidence


def test_weak_matches_and_out_of_scope_tracks_are_not_flagged() -> None:
    tracks = [_track("orig", "indie", T0), _track("copy", "thief1", T0 + timedelta(days=1))]
    assert _flags(tracks, [_edge(1, 0, score=0.1)]) == {}
    assert _flags(tracks, [_edge(1, 0)], scope={"orig"}) == {}
    assert set(_flags(tracks, [_edge(1, 0)], scope={"copy"})) == {"copy"}


def test_calibration_uses_only_clean_verified_pairs() -> None:
    rng = np.random.default_rng(0)
    n = 400
    verified = np.zeros(n + 20, dtype=bool)
    verified[:n] = True
    edges = [_edge(i, (i + 1) % n, float(rng.uniform(0.0, 0.3))) for i in range(n)]
    # Copies (unverified) of verified originals score high: they must not move the threshold.
    edges += [_edge(n + k, k, 0.9) for k in range(20)] + [_edge(k, n + k, 0.9) for k in range(20)]
    cal = calibrate(edges, verified, target_fpr=0.01)
    clean = sorted((e.strength for e in edges[:n]), reverse=True)
    assert cal.references == n
    assert clean[4] < cal.threshold <= clean[3] + 1e-9 or cal.threshold == MIN_SCORE
    assert cal.reference_fpr <= 0.01
    assert cal.threshold < 0.9
    few = calibrate(edges[:10], verified, min_references=n + 1)
    assert few.threshold == pytest.approx(DEFAULT_THRESHOLD) and few.references == 0


def test_inside_one_receipt_batch_the_protected_artist_holds_the_original() -> None:
    # One ingest: the copy's row comes first in the uploader's file. Rows of one batch arrived
    # together, so the artist protected by established listeners' plays holds the original;
    # a later batch never displaces an earlier one, whoever is protected.
    from recsys.integrity.protected import ProtectedArtists
    from recsys.store.codec import to_micros

    tracks = [
        _track("copy", "thief1", T0),
        _track("orig", "indie", T0 + timedelta(microseconds=5)),
        _track("later", "thief2", T0 + timedelta(days=2)),
    ]
    edges = [_edge(0, 1), _edge(2, 1)]
    batches = (int(to_micros(T0) or 0), int(to_micros(T0 + timedelta(days=2)) or 0))
    protected = ProtectedArtists(established=frozenset({"indie"}), batch_starts=batches)
    screen = NearDuplicateScreen(tracks, edges, CALIBRATION, protected)
    flags = {f.track_id for f in screen.screen(ScreenContext(tracks=tracks, artists=ARTISTS))}
    assert flags == {"copy", "later"}
    # Without that evidence the receipt order inside the batch decides, as before.
    assert set(_flags(tracks, edges)) == {"orig", "later"}
    # An established artist's upload in a later batch is still not the original.
    late = [_track("orig", "indie", T0), _track("copy", "thief1", T0 + timedelta(days=2))]
    flipped = ProtectedArtists(established=frozenset({"thief1"}), batch_starts=batches)
    screen = NearDuplicateScreen(late, [_edge(1, 0)], CALIBRATION, flipped)
    assert {f.track_id for f in screen.screen(ScreenContext(tracks=late, artists=ARTISTS))} == {
        "copy"
    }
