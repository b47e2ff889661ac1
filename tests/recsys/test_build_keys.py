"""Every setting that changes a build step's output is part of that step's key, so a resumed
`liner build` does not carry over a step built with another setting."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from recsys.domain import Credit, Track
from recsys.embeddings.config import EmbeddingConfig
from recsys.embeddings.steps import _audio_encoder, _raw_audio, audio_inputs
from recsys.pipeline.build_step import reranker_inputs
from recsys.settings import LinerSettings


class _Ctx:
    """The parts of a ``BuildContext`` the key functions read."""

    def __init__(self, tmp_path: Path, config: EmbeddingConfig | None = None, **kw: Any) -> None:
        self.settings = LinerSettings(text_model="fake-text")
        self.config = config or EmbeddingConfig()
        self.cache_dir = tmp_path / "cache"
        self.events_hash = "events"
        self.audio_encoder = None
        self.tracks: list[Track] = kw.get("tracks", [])

    def file_sha(self, rel: str) -> str:
        return f"sha-of-{rel}"


def test_the_query_examples_switch_is_part_of_the_reranker_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx: Any = _Ctx(tmp_path)
    monkeypatch.delenv("LINER_QUERY_EXAMPLES", raising=False)
    default = reranker_inputs(ctx)
    monkeypatch.setenv("LINER_QUERY_EXAMPLES", "1")
    assert reranker_inputs(ctx) == default  # the default spelled out is the same build
    monkeypatch.setenv("LINER_QUERY_EXAMPLES", "0")
    assert reranker_inputs(ctx) != default


class WeightedEncoder:
    """A custom audio encoder whose name does not say which weights it loaded."""

    name = "weighted"
    dim = 2

    def __init__(self, weights_path: str | None = None) -> None:
        self.scale = float(Path(weights_path).read_text()) if weights_path else 1.0

    def encode(self, paths: list[str]) -> np.ndarray:
        return np.full((len(paths), self.dim), self.scale, dtype=np.float32)


def test_the_audio_encoders_weights_are_part_of_the_audio_key_and_cache(tmp_path: Path) -> None:
    clip = tmp_path / "clip.wav"
    clip.write_bytes(b"not really audio")
    weights = tmp_path / "weights.txt"
    weights.write_text("1.0")
    config = EmbeddingConfig(
        audio_encoder=f"{__name__}:WeightedEncoder", audio_encoder_weights=str(weights)
    )
    credit = Credit(artist_id="a", share=1.0)
    tracks = [Track(track_id="t1", title="t", credits=(credit,), audio_path=str(clip))]

    def key_and_rows() -> tuple[Any, np.ndarray]:
        ctx: Any = _Ctx(tmp_path, config, tracks=tracks)  # a fresh build each time
        encoder = _audio_encoder(ctx)
        assert encoder is not None
        return audio_inputs(ctx), _raw_audio(ctx, encoder)

    first_key, first_rows = key_and_rows()
    assert key_and_rows()[0] == first_key  # unchanged weights: the step is carried over
    weights.write_text("2.0")
    os.utime(weights, ns=(0, weights.stat().st_mtime_ns + 10**9))
    second_key, second_rows = key_and_rows()
    assert second_key != first_key
    assert first_rows[0, 0] == 1.0 and second_rows[0, 0] == 2.0  # not the cached vectors


def test_the_audio_key_of_an_encoder_without_weights_is_its_name(tmp_path: Path) -> None:
    # Builds made before the weights entered the key keep their step and cache keys.
    config = EmbeddingConfig(audio_encoder=f"{__name__}:WeightedEncoder")
    ctx: Any = _Ctx(tmp_path, config)
    assert audio_inputs(ctx)["encoder"] == "weighted"
