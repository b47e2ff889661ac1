"""Abuse injection works on any catalog in the data folder format, even a minimal foreign one."""

from __future__ import annotations

import csv
from difflib import SequenceMatcher
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from recsys.cli.demo import demo_data_command
from recsys.demo import ABUSE_KINDS, AbuseConfig, inject_abuse, read_folder
from recsys.demo.audio import ClipSpec, render_clips, write_clip
from recsys.demo.names import imitate_name
from recsys.errors import CatalogError


def minimal_catalog(folder: Path) -> Path:
    """Only items (id, title, artist name, genre) and interactions (user, item)."""
    folder.mkdir()
    rng = np.random.default_rng(0)
    with (folder / "items.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["item_id", "title", "artist_names", "genre"])
        for i in range(60):
            w.writerow([f"song{i}", f"Song, number {i}", f"Band {i % 9}", ["rock", "jazz"][i % 2]])
    with (folder / "interactions.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["user_id", "item_id"])
        for _ in range(400):
            w.writerow([f"u{rng.integers(30)}", f"song{min(rng.zipf(1.5), 60) - 1}"])
    return folder


def split(cell: str) -> list[str]:
    return [x for x in cell.split("|") if x]


def test_cli_injects_every_kind_into_a_foreign_catalog(tmp_path: Path) -> None:
    source = minimal_catalog(tmp_path / "foreign")
    out = tmp_path / "adversarial"
    result = CliRunner().invoke(
        demo_data_command, ["--inject-abuse-into", str(source), "--out", str(out), "--seed", "3"]
    )
    assert result.exit_code == 0, result.output
    assert (out / "interactions.csv").read_bytes() == (source / "interactions.csv").read_bytes()
    before = pd.read_csv(source / "items.csv", dtype=str, keep_default_na=False)
    after = pd.read_csv(out / "items.csv", dtype=str, keep_default_na=False)
    truth = pd.read_csv(out / "truth.csv", dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(after.iloc[: len(before)][before.columns], before)
    assert after["item_id"].is_unique and set(truth["item_id"]) == set(after["item_id"])
    injected = truth[truth["organic"] == "false"]
    assert len(injected) == len(after) - len(before)
    assert {k for c in injected["abuse_kinds"] for k in split(c)} == set(ABUSE_KINDS)
    assert set(truth.loc[truth["organic"] == "true", "abuse_kinds"]) == {""}

    rows = after.set_index("item_id")
    kinds = injected.set_index("item_id")["abuse_kinds"]
    dups = injected[injected["duplicate_of"] != ""]
    for item, source_id in zip(dups["item_id"], dups["duplicate_of"], strict=True):
        assert rows.loc[item, "artist_names"] != rows.loc[source_id, "artist_names"]
        assert rows.loc[item, "title"].lower().startswith(rows.loc[source_id, "title"].lower())
    burst = rows.loc[[i for i, k in kinds.items() if "upload_burst" in k]]
    times = pd.to_datetime(burst["uploaded_at"])
    assert burst["uploader_id"].nunique() == 1 and len(burst) >= 8
    assert (times.max() - times.min()) < pd.Timedelta(minutes=30)
    short = rows.loc[[i for i, k in kinds.items() if k == "ultra_short"], "duration_ms"]
    assert (short.astype(int) < 30_000).all()
    stuffed = rows.loc[[i for i, k in kinds.items() if "keyword_stuffing" in k], "title"]
    assert (stuffed.str.split().str.len() >= 10).all()
    fakes = injected[injected["abuse_kinds"] == "imitated_name"]
    known = set(before["artist_names"])
    for item, victim in zip(fakes["item_id"], fakes["imitated_artist_ids"], strict=True):
        assert victim in known and rows.loc[item, "artist_names"] != victim


def test_injection_is_seeded(tmp_path: Path) -> None:
    tables = read_folder(minimal_catalog(tmp_path / "foreign"))
    a = inject_abuse(tables, np.random.default_rng(1))
    b = inject_abuse(tables, np.random.default_rng(1))
    c = inject_abuse(tables, np.random.default_rng(2))
    assert a.items.equals(b.items) and not a.items.equals(c.items)


def test_counts_scale_with_the_catalog() -> None:
    small, large = AbuseConfig().counts(200), AbuseConfig().counts(3000)
    assert all(small[k] >= 1 for k in ABUSE_KINDS)
    assert sum(large.values()) > sum(small.values())


def test_a_folder_without_interactions_is_refused(tmp_path: Path) -> None:
    source = minimal_catalog(tmp_path / "foreign")
    (source / "interactions.csv").unlink()
    with pytest.raises(CatalogError, match="interactions"):
        read_folder(source)


@pytest.mark.parametrize("name", ["Taylor Swift", "Mara Varga", "The Velvet Foxes", "Nova.ai"])
def test_imitated_names_differ_but_stay_close(name: str) -> None:
    rng = np.random.default_rng(5)
    for _ in range(20):
        fake = imitate_name(rng, name)
        assert fake != name
        assert SequenceMatcher(None, fake.lower(), name.lower()).ratio() >= 0.6


def test_foreign_audio_is_copied_and_duplicated(tmp_path: Path) -> None:
    source = minimal_catalog(tmp_path / "foreign")
    items = pd.read_csv(source / "items.csv", dtype=str, keep_default_na=False)
    clips = render_clips([ClipSpec(genre=g, seed=i) for i, g in enumerate(items["genre"])])
    items["audio_path"] = [f"clips/{i}.wav" for i in items["item_id"]]
    for rel, clip in zip(items["audio_path"], clips[:-1], strict=False):
        write_clip(source / rel, clip)  # the last item's file is missing
    items.to_csv(source / "items.csv", index=False)
    out = tmp_path / "adversarial"
    result = CliRunner().invoke(
        demo_data_command, ["--inject-abuse-into", str(source), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    after = pd.read_csv(out / "items.csv", dtype=str, keep_default_na=False)
    referenced = [p for p in after["audio_path"] if p]
    present = [p for p in referenced if (out / p).exists()]
    assert len(referenced) - len(present) <= 1  # only the missing original, never a new clip
    truth = pd.read_csv(out / "truth.csv", dtype=str, keep_default_na=False)
    new = set(truth.loc[truth["organic"] == "false", "item_id"])
    assert all((out / p).exists() for i, p in zip(after["item_id"], after["audio_path"],
                                                  strict=True) if i in new and p)  # fmt: skip


def test_out_must_differ_from_the_source(tmp_path: Path) -> None:
    source = minimal_catalog(tmp_path / "foreign")
    result = CliRunner().invoke(
        demo_data_command, ["--inject-abuse-into", str(source), "--out", str(source)]
    )
    assert result.exit_code != 0 and "--out must differ" in result.output
