"""Features of the undeclared-AI detector: audio, metadata and uploader behaviour.

Deliberately left out: style features (see :mod:`recsys.integrity.audio`), the artist's
declared kind and verification, and how many of an
account's other tracks are declared AI. Those describe who *declared* honestly; the tracks the
detector must find come from accounts that declare nothing, so such features would teach the
model that silence means human.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from recsys.domain import Artist, Track
from recsys.integrity.audio import FORENSIC_NAMES, AudioFeatures

DAY_S = 86_400.0


def _metadata(track: Track) -> dict[str, float]:
    words = track.title.split()
    release_gap = np.nan
    if track.release_date is not None and track.uploaded_at is not None:
        release_gap = (track.uploaded_at.date() - track.release_date).days
    return {
        "duration_s": track.duration_ms / 1000,
        "duration_whole_15s": float(track.duration_ms > 0 and track.duration_ms % 15_000 == 0),
        "duration_whole_s": float(track.duration_ms > 0 and track.duration_ms % 1000 == 0),
        "title_words": float(len(words)),
        "title_chars": float(len(track.title)),
        "tags": float(len(track.tags)),
        "description_words": float(len(track.description.split())),
        "credits": float(len(track.credits)),
        "release_to_upload_days": float(release_gap),
    }


def _behaviour(tracks: Sequence[Track], artists: Mapping[str, Artist]) -> pd.DataFrame:
    by_account: dict[str, list[Track]] = defaultdict(list)
    by_artist: dict[str, int] = defaultdict(int)
    for t in tracks:
        by_account[t.uploader_id or f"?{t.primary_artist_id}"].append(t)
        by_artist[t.primary_artist_id or ""] += 1
    account_rows: dict[str, dict[str, float]] = {}
    for account, uploads in by_account.items():
        times = np.sort([t.uploaded_at.timestamp() for t in uploads if t.uploaded_at is not None])
        gaps_h = np.diff(times) / 3600 if times.size > 1 else np.array([])
        span_days = (times[-1] - times[0]) / DAY_S if times.size > 1 else 0.0
        account_rows[account] = {
            "account_uploads": float(len(uploads)),
            "account_artists": float(len({t.primary_artist_id for t in uploads})),
            "account_span_days": float(span_days),
            "account_uploads_per_day": float(len(uploads) / max(span_days, 1.0)),
            "account_gap_median_h": float(np.median(gaps_h)) if gaps_h.size else np.nan,
            "account_gap_cv": float(gaps_h.std() / gaps_h.mean())
            if gaps_h.size > 1 and gaps_h.mean() > 0
            else np.nan,
        }
    rows = []
    for t in tracks:
        row = dict(account_rows[t.uploader_id or f"?{t.primary_artist_id}"])
        artist = artists.get(t.primary_artist_id or "")
        row["artist_tracks"] = float(by_artist[t.primary_artist_id or ""])
        row["artist_age_days"] = (
            (t.uploaded_at - artist.created_at).total_seconds() / DAY_S
            if artist is not None and artist.created_at is not None and t.uploaded_at is not None
            else np.nan
        )
        rows.append(row)
    return pd.DataFrame(rows, index=[t.track_id for t in tracks])


def detector_features(
    tracks: Sequence[Track], artists: Mapping[str, Artist], audio: AudioFeatures
) -> pd.DataFrame:
    """One row of features per track, indexed by track id (NaN where unknown).

    Args:
        tracks: the whole catalog (behaviour features look at every upload of an account).
        artists: artists by id.
        audio: :func:`~recsys.integrity.audio.extract_audio` output for ``tracks``.
    """
    ids = [t.track_id for t in tracks]
    meta = pd.DataFrame([_metadata(t) for t in tracks], index=ids)
    parts = [meta, _behaviour(tracks, artists)]
    if audio.forensic.shape[1]:
        parts.append(pd.DataFrame(audio.forensic, index=ids, columns=list(FORENSIC_NAMES)))
    if audio.descriptors.shape[1]:
        cols = [f"audio_{n}" for n in audio.descriptor_names]
        parts.append(pd.DataFrame(audio.descriptors, index=ids, columns=cols))
    return pd.concat(parts, axis=1).astype(np.float64)


__all__ = ["detector_features"]
