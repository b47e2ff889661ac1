"""Render a :class:`~offline_eval.adversarial.plan.SuitePlan` into data folders and a truth.

The suite folder holds ``catalog/`` and ``uploads/`` (each a data folder in the format of
docs/data-format.md, ingested in that order), ``truth.csv`` for both, and ``suite.json`` (seed,
configuration, counts). ``suite.json`` is written last: a folder without it is incomplete.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import soundfile as sf

from offline_eval.adversarial.edits import apply_edits, encode_mp3
from offline_eval.adversarial.machine import disguise, machine_track
from offline_eval.adversarial.plan import CATALOG, UPLOADS, Copy, Excerpt, SuitePlan, TrackPlan
from offline_eval.adversarial.sources import load_excerpt
from recsys.demo.tables import TRUTH_COLUMNS as DEMO_TRUTH_COLUMNS

logger = logging.getLogger(__name__)

SUITE_FORMAT = "liner-adversarial-suite"
SUITE_VERSION = 3  # 3: machine-made tracks have material of their own
TRUTH_COLUMNS: tuple[str, ...] = (
    *DEMO_TRUTH_COLUMNS,
    "attack",
    "expected",
    "edits",
    "cluster_id",
    "batch",
    "source",
)
"""The demo world's truth columns, then the suite's own (``attack`` … ``source``)."""
_SUBTYPES = {"flac": ("FLAC", "PCM_16"), "ogg": ("OGG", "VORBIS"), "wav": ("WAV", "PCM_16")}


def _time(value: datetime | None) -> str:
    return "" if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _source(track: TrackPlan, plan: SuitePlan) -> str:
    audio = track.audio
    if isinstance(audio, Excerpt):
        return f"{audio.piece.key}@{audio.start_s:g}+{audio.seconds:g}"
    if isinstance(audio, Copy):
        return _source(plan.track(audio.of), plan)
    return "machine"


class _Renderer:
    def __init__(self, plan: SuitePlan, out: Path) -> None:
        self.plan, self.out = plan, out
        self.sr = plan.config.sample_rate
        self.paths: dict[str, Path] = {}
        self.durations: dict[str, int] = {}

    def _samples(self, track: TrackPlan) -> np.ndarray:
        audio = track.audio
        if isinstance(audio, Excerpt):
            return load_excerpt(audio.piece, audio.start_s, audio.seconds, self.sr)
        if isinstance(audio, Copy):
            # The abuser copies what was published: decode the original's file.
            source, _ = sf.read(str(self.paths[audio.of]), dtype="float32")
            rng = np.random.default_rng(audio.seed)
            return apply_edits(np.asarray(source), self.sr, audio.edits, rng)
        rendered = machine_track(audio.seconds, self.sr, np.random.default_rng(audio.seed))
        if audio.disguise:
            return disguise(rendered, self.sr, np.random.default_rng(audio.seed + 1))
        return rendered

    def render(self, track: TrackPlan) -> None:
        path = self.out / track.batch / "audio" / f"{track.item_id}.{track.audio_format}"
        audio = track.audio
        if isinstance(audio, Copy) and all(e.kind == "exact" for e in audio.edits):
            shutil.copyfile(self.paths[audio.of], path)
            self.durations[track.item_id] = self.durations[audio.of]
        else:
            samples = self._samples(track)
            if track.audio_format == "mp3":
                encode_mp3(samples, self.sr, path)
            else:
                fmt, subtype = _SUBTYPES[track.audio_format]
                sf.write(str(path), samples, self.sr, format=fmt, subtype=subtype)
            self.durations[track.item_id] = round(len(samples) / self.sr * 1000)
        self.paths[track.item_id] = path


def _artists_frame(plan: SuitePlan, batch: str) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "artist_id": a.artist_id,
                "name": a.name,
                "kind": a.kind,
                "verified": "true" if a.verified else "false",
                "rights_holder_id": a.rights_holder_id,
                "created_at": _time(a.created_at),
            }
            for a in plan.artists
            if a.batch == batch
        ],
        columns=["artist_id", "name", "kind", "verified", "rights_holder_id", "created_at"],
    )


def _items_frame(plan: SuitePlan, batch: str, renderer: _Renderer) -> pd.DataFrame:
    rows = [
        {
            "item_id": t.item_id,
            "title": t.title,
            "artist_ids": t.artist_id,
            "genre": t.genre,
            "tags": "|".join(t.tags),
            "description": t.description,
            "duration_ms": renderer.durations[t.item_id],
            "audio_path": f"audio/{t.item_id}.{t.audio_format}",
            "uploader_id": t.uploader_id,
            "uploaded_at": _time(t.uploaded_at),
            "ai_involvement": t.declared,
        }
        for t in plan.tracks
        if t.batch == batch
    ]
    return pd.DataFrame(rows)


def _listening_frames(plan: SuitePlan, batch: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    listeners = pd.DataFrame(
        [
            {"user_id": x.listener_id, "created_at": _time(x.created_at)}
            for x in plan.listeners
            if x.batch == batch
        ],
        columns=["user_id", "created_at"],
    )
    plays = pd.DataFrame(
        [
            {
                "user_id": p.listener_id,
                "item_id": p.item_id,
                "timestamp": _time(p.at),
                "event_type": "play",
                "ms_played": 30_000,
            }
            for p in plan.plays
            if p.batch == batch
        ],
        columns=["user_id", "item_id", "timestamp", "event_type", "ms_played"],
    )
    return listeners, plays


def _truth_frame(plan: SuitePlan) -> pd.DataFrame:
    rows = []
    for t in plan.tracks:
        declared = t.declared or "UNDISCLOSED"
        rows.append(
            {
                "item_id": t.item_id,
                "organic": "false" if t.attack else "true",
                "true_genre": t.genre,
                "true_ai_involvement": t.true_ai,
                "true_ai_parts": "composition|instrumentation|production"
                if t.true_ai != "NONE"
                else "",
                "declared_ai_involvement": declared,
                "undeclared_ai": str(t.true_ai != "NONE" and declared == "UNDISCLOSED").lower(),
                "machine_audio": str(t.machine_audio).lower(),
                "abuse_kinds": "|".join(t.abuse_kinds),
                "duplicate_of": t.duplicate_of,
                "imitated_artist_ids": "|".join(t.imitated_artist_ids),
                "imitation_scopes": "",
                "imitation_consented": "",
                "attack": t.attack,
                "expected": t.expected,
                "edits": "|".join(e.describe() for e in t.edits),
                "cluster_id": t.cluster_id,
                "batch": t.batch,
                "source": _source(t, plan),
            }
        )
    return pd.DataFrame(rows, columns=list(TRUTH_COLUMNS))


def suite_manifest(plan: SuitePlan) -> dict[str, Any]:
    """What ``suite.json`` records: enough to tell whether a cached suite is this one
    (``plan_sha256`` digests every track's id, source, edits, claims and expected outcome)."""
    digest = hashlib.sha256()
    for t in plan.tracks:
        fields = (t.item_id, t.batch, _source(t, plan), t.audio_format, t.attack, t.expected)
        edits = "|".join(e.describe() for e in t.edits)
        digest.update(repr((*fields, edits, _time(t.uploaded_at), t.artist_id)).encode())
    return {
        "format": SUITE_FORMAT,
        "version": SUITE_VERSION,
        "seed": plan.seed,
        "config": plan.config.model_dump(mode="json"),
        "plan_sha256": digest.hexdigest(),
        "sources": sorted({t.audio.piece.key for t in plan.tracks if isinstance(t.audio, Excerpt)}),
    }


def write_suite(plan: SuitePlan, out: Path) -> dict[str, Any]:
    """Render every track and write both data folders, ``truth.csv`` and ``suite.json``.

    Returns:
        The manifest written to ``suite.json`` (with counts per attack kind).
    """
    for batch in (CATALOG, UPLOADS):
        shutil.rmtree(out / batch, ignore_errors=True)
        (out / batch / "audio").mkdir(parents=True)
    (out / "suite.json").unlink(missing_ok=True)
    renderer = _Renderer(plan, out)
    for n, track in enumerate(plan.tracks):
        renderer.render(track)
        if n % 25 == 24:
            logger.info("rendered %d of %d tracks", n + 1, len(plan.tracks))
    for batch in (CATALOG, UPLOADS):
        folder = out / batch
        _artists_frame(plan, batch).to_csv(folder / "artists.csv", index=False)
        _items_frame(plan, batch, renderer).to_csv(folder / "items.csv", index=False)
        listeners, plays = _listening_frames(plan, batch)
        listeners.to_csv(folder / "listeners.csv", index=False)
        plays.to_csv(folder / "interactions.csv", index=False)
    _truth_frame(plan).to_csv(out / "truth.csv", index=False)
    manifest = suite_manifest(plan)
    manifest["tracks"] = len(plan.tracks)
    manifest["counts"] = dict(sorted(Counter(t.attack or "genuine" for t in plan.tracks).items()))
    manifest["ingest_order"] = [CATALOG, UPLOADS]
    (out / "suite.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest


__all__ = ["SUITE_FORMAT", "SUITE_VERSION", "TRUTH_COLUMNS", "suite_manifest", "write_suite"]
