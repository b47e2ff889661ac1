"""Declared labels checked: false disputes of honest declared-human tracks, and disputes of
declared-human machine uploads, on a demo world the dispute thresholds were not tuned on.

Generates the demo world (seed 31 by default, 1500 tracks with audio; ``--quick``: 600), then
adds declared-``NONE`` uploads from new, unverified artists, a third of each kind:

- ``machine_text``: machine-rendered audio and a generator named in the title, description or
  tags ("Produced with Udio", "Généré avec Suno", ...);
- ``machine_plain``: machine-rendered audio, nothing in the text;
- ``human_text``: human-rendered audio with such text (the text alone must not dispute);
- ``machine_bare_name``: machine-rendered audio whose only AI text names a generator bare, as
  a label: a tag (``suno``), a hashtag, a title decoration (``[Udio]``) or a credited artist
  named after the generator;
- ``human_bare_name``: human-rendered audio with such a label (must not dispute).

Then ingests and screens the folder as ``liner ingest`` does (the detector trains on the
world's consented declared tracks; declared tracks are scored out of fold) and reports:

- ``false_dispute_rate``: disputed share of the world's own declared-``NONE`` tracks (all
  human by the truth), also for verified and unverified artists and for human tracks with a
  machine-like recording chain;
- ``assisted_false_dispute_rate``: the same for honest declared-``ASSISTED`` tracks;
- ``disputed_by_kind``: disputed share of each injected kind;
- the thresholds and the clean-reference rates the run calibrated.

The rules were chosen on seeds 11 and 23 (seed 23's false disputes led to judging the audio
under the declared-human AI share); seed 31 was held out. Set ``NUMBA_CACHE_DIR`` to a
private folder if librosa's shared numba cache is being written by other processes.

Example:
    python -m benchmarks.disputes --quick
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from benchmarks.report import parser, write_result
from recsys.demo import DemoConfig, generate_demo, write_folder
from recsys.demo.audio import ClipSpec, render_clips, write_clip
from recsys.ingest import run_ingest
from recsys.integrity.audio import store_audio_cache
from recsys.integrity.jobs import run_integrity
from recsys.store import SqliteStore

KINDS = ("machine_text", "machine_plain", "human_text", "machine_bare_name", "human_bare_name")
BARE = (
    ("tags", "suno"), ("tags", "Udio"), ("tags", "#mubert"), ("description", "#suno"),
    ("title", "[Udio]"), ("title", "(AIVA)"), ("credits", "Udio"), ("credits", "Suno AI"),
    ("tags", "Stable Audio"), ("description", "Boomy"),
)  # fmt: skip
TEXTS = (
    "Produced with Udio",
    "made using suno ai",
    "Suno v3.5 track",
    "AI generated",
    "Généré avec Suno",
    "creado con inteligencia artificial",
    "Erstellt mit Udio",
    "song made by AI (suno)",
    "udio.com original",
    "made with s.u.n.o",
)


def inject(folder: Path, per_kind: int, seed: int) -> dict[str, str]:
    """Append declared-NONE uploads of every kind to a data folder; returns id → kind."""
    rng = np.random.default_rng(seed)
    items = pd.read_csv(folder / "items.csv", dtype=str, keep_default_na=False)
    artists = pd.read_csv(folder / "artists.csv", dtype=str, keep_default_na=False)
    credits = pd.read_csv(folder / "credits.csv", dtype=str, keep_default_na=False)
    genres = sorted(set(items["genre"]) - {""})
    rows, new_artists, new_credits, specs, kinds = [], [], [], [], {}
    for n in range(per_kind * len(KINDS)):
        kind = KINDS[n % len(KINDS)]
        iid, aid = f"x_{n:04d}", f"ax_{n:04d}"
        genre = genres[int(rng.integers(len(genres)))]
        text = TEXTS[int(rng.integers(len(TEXTS)))] if kind.endswith("text") else ""
        where = ("description", "title", "tags")[int(rng.integers(3))] if text else ""
        if kind.endswith("bare_name"):
            where, text = BARE[int(rng.integers(len(BARE)))]
        name = f"Nova {n} Collective"
        new_artists.append(
            {"artist_id": aid, "name": name, "kind": "human", "verified": "false",
             "rights_holder_id": aid, "created_at": "2026-01-02T00:00:00Z"}
        )  # fmt: skip
        row = dict.fromkeys(items.columns, "")
        decoration = text if kind.endswith("bare_name") else f"({text})"
        row["title"] = f"Night Drive {n}" + (f" {decoration}" if where == "title" else "")
        row.update(
            {"item_id": iid, "artist_ids": aid, "artist_names": name, "genre": genre,
             "tags": genre + (f"|{text}" if where == "tags" else ""),
             "description": text if where == "description" else "",
             "duration_ms": str(int(rng.integers(150_000, 240_000))),
             "release_date": "2026-03-01", "audio_path": f"audio/{iid}.flac",
             "uploader_id": f"upx_{n}", "uploaded_at": "2026-03-02T10:00:00Z",
             "ai_involvement": "NONE", "label_source": "DECLARED", "label_confidence": "1"}
        )  # fmt: skip
        rows.append(row)
        if where == "credits":  # the generator credited as producer
            tool = f"ax_{n:04d}_tool"
            new_artists.append(
                {"artist_id": tool, "name": text, "kind": "human", "verified": "false",
                 "rights_holder_id": aid, "created_at": "2026-01-02T00:00:00Z"}
            )  # fmt: skip
            row["artist_ids"], row["artist_names"] = f"{aid}|{tool}", f"{name}|{text}"
            new_credits.append({"item_id": iid, "artist_id": aid, "role": "primary",
                                "share": "0.8"})  # fmt: skip
            new_credits.append({"item_id": iid, "artist_id": tool, "role": "producer",
                                "share": "0.2"})  # fmt: skip
        else:
            new_credits.append({"item_id": iid, "artist_id": aid, "role": "primary", "share": "1"})
        specs.append(
            ClipSpec(genre=genre, seed=int(rng.integers(2**31)), machine=kind.startswith("machine"))
        )
        kinds[iid] = kind
    for row, clip in zip(rows, render_clips(specs), strict=True):
        write_clip(folder / row["audio_path"], clip)
    pd.concat([items, pd.DataFrame(rows)]).to_csv(folder / "items.csv", index=False)
    pd.concat([artists, pd.DataFrame(new_artists)]).to_csv(folder / "artists.csv", index=False)
    frame = pd.DataFrame(new_credits)[credits.columns]
    pd.concat([credits, frame]).to_csv(folder / "credits.csv", index=False)
    return kinds


def _rate(ids: list[str], disputed: frozenset[str]) -> dict[str, Any]:
    hits = sum(t in disputed for t in ids)
    return {"disputed": hits, "of": len(ids), "rate": round(hits / len(ids), 4) if ids else None}


def measure(folder: Path, kinds: dict[str, str]) -> dict[str, Any]:
    """Ingest and screen ``folder`` into a fresh store; the dispute figures."""
    db = folder / "liner.db"
    store = SqliteStore(db)
    try:
        run_ingest(folder, store)
        run = run_integrity(store, audio_cache=store_audio_cache(db))
        disputed = store.disputed_ids()
        truth = pd.read_csv(folder / "truth.csv", dtype=str, keep_default_na=False)
        truth = truth.set_index("item_id")
        tracks = {t.track_id: t for t in store.iter_tracks()}
        verified = {a.artist_id for a in store.iter_artists() if a.verified}
        declared = truth["declared_ai_involvement"]
        none = [t for t in truth.index[declared == "NONE"] if t in tracks]
        by_verified = [t for t in none if all(c.artist_id in verified for c in tracks[t].credits)]
        machine = [t for t in none if truth.loc[t, "machine_audio"] == "true"]
        assisted = [t for t in truth.index[declared == "ASSISTED"] if t in tracks]
        return {
            "false_dispute_rate": _rate(none, disputed)["rate"],
            "false_disputes": _rate(none, disputed),
            "false_disputes_verified": _rate(by_verified, disputed),
            "false_disputes_unverified": _rate(
                [t for t in none if t not in set(by_verified)], disputed
            ),
            "false_disputes_human_machine_chain": _rate(machine, disputed),
            "assisted_false_dispute_rate": _rate(assisted, disputed)["rate"],
            "disputed_by_kind": {
                k: _rate([t for t, kk in kinds.items() if kk == k], disputed) for k in KINDS
            },
            "calibration": None if run.disputes is None else run.disputes.summary(),
            "unscreened_after": len(store.unscreened_ids()),
        }
    finally:
        store.close()


def main() -> None:
    p = parser(__doc__ or "")
    p.add_argument("--seed", type=int, default=31, help="Demo world seed (tuned on 11, 23).")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    tracks, per_kind = (600, 12) if args.quick else (1500, 24)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "world"
        config = DemoConfig(tracks=tracks, listeners=200, seed=args.seed)
        write_folder(generate_demo(config), folder)
        kinds = inject(folder, per_kind, seed=args.seed + 1)
        figures = measure(folder, kinds)
    write_result(
        "disputes",
        {"seed": args.seed, "tracks": tracks, "injected_per_kind": per_kind, **figures,
         "quick": bool(args.quick)},
    )  # fmt: skip


if __name__ == "__main__":
    main()
