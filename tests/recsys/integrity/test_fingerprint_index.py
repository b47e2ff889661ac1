"""The two-stage fingerprint index on synthetic landmarks (no audio, so it runs in seconds):
candidates from exact hashes find a planted copy among thousands of tracks, the score is the
fraction of the shorter recording explained (excerpts both ways, a longer upload holding a
copy), and the chunked, memory-mapped build is the same index as the in-memory one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import recsys.integrity.fingerprint_index as fpi
from recsys.integrity.fingerprint import FRAME_SECONDS, Fingerprint
from recsys.integrity.fingerprint_index import FingerprintIndex, synthetic_fingerprints

SECOND = round(1 / FRAME_SECONDS)  # frames


def _track(n: int, frames: int, seed: int) -> Fingerprint:
    hashes, times = synthetic_fingerprints(1, n, seed=seed, frames=frames)
    return Fingerprint(hashes=hashes[0], times=times[0], seconds=frames * FRAME_SECONDS)


def _window(fp: Fingerprint, start: int, end: int, shift: int = 0) -> Fingerprint:
    """The landmarks of ``fp`` anchored in ``[start, end)``, moved to start at ``shift``."""
    keep = (fp.times >= start) & (fp.times < end)
    return Fingerprint(
        hashes=fp.hashes[keep],
        times=(fp.times[keep] - start + shift).astype(np.int32),
        seconds=(end - start) * FRAME_SECONDS,
    )


def _catalog(n: int, planted: list[Fingerprint]) -> FingerprintIndex:
    hashes, times = synthetic_fingerprints(n, 120, seed=11)
    return FingerprintIndex.from_arrays(
        [f"p{k}" for k in range(len(planted))] + [f"s{k}" for k in range(n)],
        [p.hashes for p in planted] + hashes,
        [p.times for p in planted] + times,
    )


@pytest.fixture(scope="module")
def original() -> Fingerprint:
    """A 3-minute track at a real landmark density (~90 per second)."""
    return _track(16_000, 180 * SECOND, seed=1)


def test_a_partial_shifted_copy_is_found_among_thousands(original: Fingerprint) -> None:
    index = _catalog(3000, [original, _track(16_000, 180 * SECOND, seed=2)])
    rng = np.random.default_rng(0)
    keep = rng.random(len(original)) < 0.3  # a heavy edit keeps 30 % of the landmarks
    copy = Fingerprint(
        hashes=original.hashes[keep], times=original.times[keep] + 2 * SECOND, seconds=182
    )
    found = index.match(copy)
    assert found[0].track_id == "p0"
    assert found[0].score > 0.25
    assert found[0].offset_s == pytest.approx(-2 * SECOND * FRAME_SECONDS, abs=0.2)
    assert all(m.score < 0.05 for m in found[1:])
    mask = np.ones(len(index), dtype=bool)
    mask[0] = False
    assert all(m.track_id != "p0" for m in index.match(copy, allowed=mask))


def test_an_excerpt_scores_as_the_fraction_of_the_shorter_side(original: Fingerprint) -> None:
    excerpt = _window(original, 60 * SECOND, 90 * SECOND)
    index = _catalog(500, [original])
    found = index.match(excerpt)[0]
    assert found.track_id == "p0"
    assert found.offset_s == pytest.approx(60 * SECOND * FRAME_SECONDS, abs=0.2)
    assert found.score > 0.95
    # The other way round: the whole track queried against an index holding the excerpt.
    index = _catalog(500, [excerpt])
    found = index.match(original)[0]
    assert found.track_id == "p0"
    assert found.score > 0.9


def test_a_longer_upload_containing_a_copy_is_found(original: Fingerprint) -> None:
    short = _window(original, 0, 40 * SECOND)
    before, after = _track(4000, 45 * SECOND, seed=7), _track(4000, 45 * SECOND, seed=8)
    upload = Fingerprint(
        hashes=np.concatenate([before.hashes, short.hashes, after.hashes]),
        times=np.concatenate(
            [before.times, short.times + 45 * SECOND, after.times + 85 * SECOND]
        ).astype(np.int32),
        seconds=130,
    )
    found = _catalog(500, [short]).match(upload)[0]
    assert found.track_id == "p0"
    assert found.score > 0.9
    assert found.offset_s == pytest.approx(-45 * SECOND * FRAME_SECONDS, abs=0.2)


def test_unrelated_tracks_and_slivers_of_overlap_score_low(original: Fingerprint) -> None:
    index = _catalog(500, [original])
    other = _track(6000, 60 * SECOND, seed=5)
    assert all(m.score < 0.05 for m in index.match(other))
    # A query sharing only its last 3 s with the track is scored over at least 20 s.
    tail = _window(original, 0, 3 * SECOND, shift=57 * SECOND)
    mixed = Fingerprint(
        hashes=np.concatenate([other.hashes, tail.hashes]),
        times=np.concatenate([other.times, tail.times]).astype(np.int32),
        seconds=60,
    )
    best = index.match(mixed)[0]
    assert best.track_id == "p0"
    assert best.score < 0.3


def test_candidates_read_the_rarest_hashes_first_within_a_budget(
    original: Fingerprint, monkeypatch: pytest.MonkeyPatch
) -> None:
    index = _catalog(3000, [original])
    query = _window(original, 30 * SECOND, 90 * SECOND)
    monkeypatch.setattr(fpi, "CANDIDATE_POSTINGS", 2000)
    monkeypatch.setattr(fpi, "MIN_CANDIDATE_HASHES", 16)
    rows, shifts = index.candidates(query)
    assert rows[0] == 0 and shifts[0] == 0
    assert index.match(query)[0].track_id == "p0"


def test_chunked_memory_mapped_build_is_the_same_index(tmp_path: Path) -> None:
    hashes, times = synthetic_fingerprints(50, 300, seed=3)
    ids = [f"t{k}" for k in range(50)]
    whole = FingerprintIndex.from_arrays(ids, hashes, times)
    chunked = FingerprintIndex.from_chunks(
        ids,
        lambda: ((hashes[k : k + 7], times[k : k + 7]) for k in range(0, 50, 7)),
        folder=tmp_path / "index",
    )
    assert isinstance(chunked.rows, np.memmap)
    for name in fpi._ARRAYS:
        assert np.array_equal(getattr(whole, name), getattr(chunked, name)), name
    query = Fingerprint(hashes=hashes[4][50:250], times=times[4][50:250], seconds=60)
    assert chunked.match(query) == whole.match(query)
    with pytest.raises(ValueError, match="track ids"):
        FingerprintIndex.from_chunks(ids[:3], lambda: [(hashes[:2], times[:2])])
