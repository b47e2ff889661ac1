"""The build keys audio features by file content, and re-reads a file only when it changed."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from recsys.build import BuildContext
from recsys.domain import Credit, Track
from recsys.embeddings.steps import audio_content
from recsys.settings import LinerSettings


class _Tracks:
    def __init__(self, tracks: list[Track]) -> None:
        self.tracks = tracks

    def iter_tracks(self) -> Any:
        return iter(self.tracks)


def _ctx(tmp_path: Path, paths: list[str | None]) -> BuildContext:
    tracks = [
        Track(
            track_id=f"t{i}",
            title=f"song {i}",
            credits=(Credit(artist_id="a", share=1.0),),
            audio_path=p,
        )
        for i, p in enumerate(paths)
    ]
    return BuildContext(
        store=_Tracks(tracks),  # type: ignore[arg-type]
        settings=LinerSettings(),
        work_dir=tmp_path / "work",
        cache_dir=tmp_path / "cache",
    )


def test_same_bytes_same_key_and_unchanged_files_are_not_read_again(tmp_path: Path) -> None:
    a, b = tmp_path / "a.wav", tmp_path / "b.wav"
    a.write_bytes(b"same clip")
    b.write_bytes(b"same clip")
    paths: list[str | None] = [str(a), str(b), None, str(tmp_path / "gone.wav")]
    first = audio_content(_ctx(tmp_path, paths))
    assert first[0] == first[1] and len(first[0]) == 64
    assert first[2:] == ["", "missing"]
    # A touched file with the same bytes keeps its key; new bytes get a new one.
    os.utime(a, ns=(1, 1))
    b.write_bytes(b"another clip")
    second = audio_content(_ctx(tmp_path, paths))
    assert second[0] == first[0] and second[1] != first[1]
    # An unchanged file is taken from the record, not read: the record's value comes back.
    record = tmp_path / "cache" / "audio-content.json"
    record.write_text(record.read_text().replace(second[0], "f" * 64))
    assert audio_content(_ctx(tmp_path, paths))[0] == "f" * 64
