"""The adversarial suite generator: valid folders, honest edits and names, seeded suites.

Uses a tiny suite (2–3 s tracks at 8 kHz) cut from the Debian game soundtracks when they are
installed, else from the FMA clip in ../shared/datasets; skips when neither is there.
"""

from __future__ import annotations

import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from offline_eval.adversarial import (
    CONFUSABLE_KINDS,
    DEBIAN_PACKAGES,
    TRUTH_COLUMNS,
    SuiteConfig,
    find_sources,
    generate_suite,
)
from offline_eval.adversarial.confusables import (
    CYRILLIC,
    GREEK,
    OTHER_SCRIPTS,
    ZERO_WIDTH,
    confusable,
    decorate,
)
from offline_eval.adversarial.edits import apply_edits, draw_edit, encode_mp3
from offline_eval.adversarial.planner import plan_suite
from offline_eval.adversarial.scoring import score_suite
from offline_eval.adversarial.sources import SourcePiece, windows
from recsys.ingest import run_ingest
from recsys.integrity.evaluation import read_truth
from recsys.store import QuarantineRecord, SqliteStore

SR = 8_000
TINY = SuiteConfig(
    sample_rate=SR,
    min_track_s=2.0,
    max_track_s=2.4,
    filler_track_s=(1.0, 1.5),
    established_artists=2,
    originals_per_artist=1,
    established_listeners=3,
    plays_per_original=(1, 2),
    genuine_artists=1,
    genuine_tracks_per_artist=1,
    copy_edits=("exact", "trim_0.5", "offset_2s", "mp3_128k", "pitch_+2pct"),
    copies_per_edit=1,
    combined_copies=1,
    cross_uploader_clusters=1,
    cluster_size=(2, 2),
    backdated_copies=1,
    undated_copies=1,
    confusable_kinds=("all_cyrillic", "zero_width"),
    confusables_per_kind=1,
    decoration_kinds=("vevo", "topic"),
    decorations_per_kind=1,
    decorated_confusables=0,
    backdated_artists=1,
    ring_size=7,
    bot_impersonators=1,
    bot_listeners=2,
    bot_plays=4,
    drip_uploads=3,
    payee_drip_accounts=2,
    payee_drip_uploads=2,
    undated_burst_uploads=2,
    machine_tracks=1,
    handmade_copies=("split_upload",),
    handmade_per_kind=1,
    handmade_confusables=(),
    handmade_decorations=(),
    bare_name_machine_tracks=1,
)


@pytest.fixture(scope="module")
def pieces() -> list[SourcePiece]:
    """Short windows of a few real recordings (Debian packages, else the FMA clip)."""
    found = find_sources(min_seconds=20.0)
    debian = [p for p in found if p.package in DEBIAN_PACKAGES]
    chosen = sorted(debian, key=lambda p: p.seconds)[:2] or [p for p in found if p.package == "fma"]
    if not chosen:
        pytest.skip(
            "no real recordings: `apt-get install " + " ".join(DEBIAN_PACKAGES) + "` "
            "(or put the FMA clip in ../shared/datasets/fma-sample-clip)"
        )
    return [w for p in chosen for w in windows(p, 2.6)][:16]


@pytest.fixture(scope="module")
def suite_dir(tmp_path_factory: pytest.TempPathFactory, pieces: list[SourcePiece]) -> Path:
    root = tmp_path_factory.mktemp("suite")
    generate_suite(root, seed=11, config=TINY, pieces=pieces)
    return root


@pytest.fixture(scope="module")
def truth(suite_dir: Path) -> pd.DataFrame:
    return read_truth(suite_dir / "truth.csv")


def _seconds(path: Path) -> float:
    info = sf.info(str(path))
    return info.frames / info.samplerate


def _audio(suite_dir: Path, item_id: str, truth: pd.DataFrame) -> Path:
    batch = truth.loc[item_id, "batch"]
    return next((suite_dir / batch / "audio").glob(f"{item_id}.*"))


def test_ingest_accepts_both_folders_in_order(suite_dir: Path, truth: pd.DataFrame) -> None:
    store = SqliteStore(suite_dir.parent / "ingest.db")
    try:
        run_ingest(suite_dir / "catalog", store)
        run_ingest(suite_dir / "uploads", store)
        ids = {t.track_id for t in store.iter_tracks()}
    finally:
        store.close()
    assert ids == set(truth.index)
    assert set(TRUTH_COLUMNS) - {"item_id"} <= set(truth.columns)
    attacks = truth[truth["attack"] != ""]
    assert set(attacks["expected"]) == {"quarantine", "dispute"}
    assert set(truth.loc[truth["attack"] == "", "expected"]) == {"serve"}
    assert {"copy", "name", "backdated", "undated", "slow_drip", "cross_uploader", "label"} <= {
        a.split("/")[0] for a in attacks["attack"]
    }


def test_trimmed_and_padded_copies_change_length_by_the_edit(
    suite_dir: Path, truth: pd.DataFrame
) -> None:
    for attack, sign in (("copy/trim_0.5", -1), ("copy/offset_2s", 1)):
        row = truth[truth["attack"] == attack].iloc[0]
        value = float(row["edits"].split("value=")[1].rstrip(")"))
        copy = _seconds(_audio(suite_dir, row.name, truth))
        original = _seconds(_audio(suite_dir, row["duplicate_of"], truth))
        assert copy - original == pytest.approx(sign * value, abs=2 / SR)


def test_mp3_copy_is_an_mp3_that_decodes_to_the_original(
    suite_dir: Path, truth: pd.DataFrame
) -> None:
    row = truth[truth["attack"] == "copy/mp3_128k"].iloc[0]
    path = _audio(suite_dir, row.name, truth)
    assert path.suffix == ".mp3"
    decoded, sr = sf.read(str(path), dtype="float32")
    original, _ = sf.read(str(_audio(suite_dir, row["duplicate_of"], truth)), dtype="float32")
    assert sr == SR
    assert len(decoded) / sr == pytest.approx(len(original) / SR, abs=0.2)
    rms = np.sqrt(np.mean(decoded**2)), np.sqrt(np.mean(original**2))
    assert rms[0] == pytest.approx(rms[1], rel=0.2)


def test_exact_copy_is_a_byte_copy(suite_dir: Path, truth: pd.DataFrame) -> None:
    row = truth[truth["attack"] == "copy/exact"].iloc[0]
    copy = _audio(suite_dir, row.name, truth).read_bytes()
    assert copy == _audio(suite_dir, row["duplicate_of"], truth).read_bytes()


def test_backdated_and_undated_uploads_claim_what_they_say(
    suite_dir: Path, truth: pd.DataFrame
) -> None:
    items = pd.read_csv(suite_dir / "uploads" / "items.csv", dtype=str, keep_default_na=False)
    catalog = pd.read_csv(suite_dir / "catalog" / "items.csv", dtype=str, keep_default_na=False)
    at = dict(zip(items["item_id"], items["uploaded_at"], strict=True)) | dict(
        zip(catalog["item_id"], catalog["uploaded_at"], strict=True)
    )
    for item_id, row in truth[truth["attack"] == "backdated/copy"].iterrows():
        years = pd.Timestamp(at[row["duplicate_of"]]) - pd.Timestamp(at[str(item_id)])
        assert years.days >= 365
    for item_id in truth.index[truth["attack"].isin(["undated/copy", "undated/burst"])]:
        assert at[item_id] == ""


@pytest.mark.parametrize("kind", sorted(CONFUSABLE_KINDS))
def test_confusable_names_differ_in_bytes_not_in_looks(kind: str) -> None:
    rng = np.random.default_rng(0)
    back = {v: k for table in (CYRILLIC, GREEK, OTHER_SCRIPTS) for k, v in table.items()}
    for name in ("Maren Okafor", "Silver Tides", "Hugo Lindqvist", "Ilse Moreau"):
        spoofed = confusable(name, kind, rng)
        assert spoofed != name and spoofed.encode() != name.encode()
        seen = unicodedata.normalize("NFKC", spoofed)
        seen = "".join(back.get(ch, ch) for ch in seen if ch not in ZERO_WIDTH)
        seen = seen.replace("rn", "m").replace("0", "O")
        if kind == "ascii_lookalike":
            assert seen.replace("I", "l").casefold() == name.replace("I", "l").casefold()
        else:
            assert seen == name


def test_decorations() -> None:
    assert decorate("Ada Novak", "vevo", "X") == "AdaNovakVEVO"
    assert decorate("Ada Novak", "topic", "X") == "Ada Novak - Topic"
    assert decorate("Ada Novak", "feat", "Kai Brennan") == "Ada Novak feat. Kai Brennan"
    assert decorate("Ada Novak", "dj_prefix", "X") == "DJ Ada Novak"


@pytest.mark.parametrize(
    ("kind", "expected_ratio"),
    [("stretch_+3pct", 1 / 1.03), ("speed_-2pct", 1 / 0.98), ("excerpt_30s", 30 / 40)],
    ids=["stretch", "speed", "excerpt"],
)
def test_length_changing_edits(kind: str, expected_ratio: float) -> None:
    rng = np.random.default_rng(1)
    t = np.arange(40 * SR) / SR
    audio = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    edit = draw_edit(kind, rng)
    out = apply_edits(audio, SR, [edit], rng)
    if kind != "excerpt_30s":
        expected_ratio = 1 / (1 + edit.params["value"] / 100)
    assert len(out) / len(audio) == pytest.approx(expected_ratio, rel=0.01)


@pytest.mark.parametrize("kind", ["pitch_+2pct", "pitch_-2pct"])
def test_pitch_edit_moves_the_frequency_and_keeps_the_length(kind: str) -> None:
    rng = np.random.default_rng(3)
    t = np.arange(4 * SR) / SR
    audio = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    edit = draw_edit(kind, rng)
    out = apply_edits(audio, SR, [edit], rng)
    peak = np.fft.rfftfreq(len(out), 1 / SR)[np.argmax(np.abs(np.fft.rfft(out)))]
    assert len(out) == len(audio)
    assert peak == pytest.approx(440 * (1 + edit.params["value"] / 100), abs=0.5)


def test_noise_and_gain_edits_hit_their_levels() -> None:
    rng = np.random.default_rng(2)
    t = np.arange(5 * SR) / SR
    audio = (0.2 * np.sin(2 * np.pi * 330 * t)).astype(np.float32)
    noise = draw_edit("pink_noise_20db", rng)
    noisy = apply_edits(audio, SR, [noise], rng)
    snr = 10 * np.log10(np.mean(audio**2) / np.mean((noisy - audio) ** 2))
    assert snr == pytest.approx(noise.params["value"], abs=0.5)
    gain = draw_edit("gain_-6db", rng)
    quieter = apply_edits(audio, SR, [gain], rng)
    assert 20 * np.log10(np.max(np.abs(quieter)) / 0.2) == pytest.approx(
        gain.params["value"], abs=0.05
    )


def test_mp3_encode_round_trip(tmp_path: Path) -> None:
    t = np.arange(3 * SR) / SR
    encode_mp3((0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), SR, tmp_path / "x.mp3")
    decoded, sr = sf.read(str(tmp_path / "x.mp3"))
    assert sr == SR and abs(len(decoded) / sr - 3.0) < 0.2


def test_same_seed_same_suite_other_seed_other_suite(
    pieces: list[SourcePiece], suite_dir: Path, tmp_path: Path
) -> None:
    def rows(seed: int) -> list[tuple[str, ...]]:
        plan = plan_suite(seed, TINY, pieces)
        return [
            (t.item_id, t.title, t.attack, "|".join(e.describe() for e in t.edits))
            for t in plan.tracks
        ]

    assert rows(11) == rows(11)
    assert rows(11) != rows(12)
    again = generate_suite(tmp_path / "again", seed=11, config=TINY, pieces=pieces, reuse=False)
    assert again.truth.read_bytes() == (suite_dir / "truth.csv").read_bytes()
    items = "uploads/items.csv"
    assert (again.root / items).read_bytes() == (suite_dir / items).read_bytes()


def test_score_counts_a_copy_that_displaced_its_original_as_missed(
    suite_dir: Path, truth: pd.DataFrame
) -> None:
    store = SqliteStore(suite_dir.parent / "score.db")
    try:
        run_ingest(suite_dir / "catalog", store)
        run_ingest(suite_dir / "uploads", store)
        backdated = truth[truth["attack"] == "backdated/copy"].iloc[0]
        trimmed = truth[truth["attack"] == "copy/trim_0.5"].index[0]
        at = pd.Timestamp("2026-11-03", tz="UTC").to_pydatetime()
        store.record_quarantine(
            [
                QuarantineRecord(
                    track_id=i,
                    quarantined=True,
                    reasons=("near_duplicate",),
                    evidence={"near_duplicate": "test"},
                    actor="screening",
                    at=at,
                )
                for i in (backdated.name, backdated["duplicate_of"], trimmed)
            ]
        )
        scores = score_suite(store, truth)
    finally:
        store.close()
    assert scores["recall_by_attack"]["copy/trim_0.5"] == 1.0
    assert scores["recall_by_attack"]["backdated/copy"] == 0.0
    assert scores["counts"]["originals_quarantined"] == 1
    assert scores["precision"] == pytest.approx(2 / 3, abs=1e-3)
    assert scores["genuine_false_quarantine_rate"] > 0
