"""Audio encoders: librosa features from files, descriptor columns, plug-in encoders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from recsys.embeddings.audio import (
    AudioEncoder,
    DescriptorAudioEncoder,
    LibrosaAudioEncoder,
    load_audio_encoder,
)
from recsys.errors import ConfigError


class ConstantEncoder:
    """A plug-in encoder as a user would write one (e.g. around CLAP weights)."""

    name = "constant-v1"
    dim = 4

    def __init__(self, weights_path: str | None = None) -> None:
        self.weights_path = weights_path

    def encode(self, inputs: Any) -> np.ndarray:
        return np.ones((len(list(inputs)), self.dim), dtype=np.float32)


def _tone(path: Path, freq: float, sr: int = 16_000, seconds: float = 1.0) -> Path:
    t = np.arange(int(sr * seconds)) / sr
    sf.write(path, 0.5 * np.sin(2 * np.pi * freq * t), sr)
    return path


def test_librosa_features_separate_low_and_high_tones(tmp_path: Path) -> None:
    enc = LibrosaAudioEncoder(seconds=5)
    paths = [
        _tone(tmp_path / "low1.wav", 110),
        _tone(tmp_path / "low2.wav", 116),
        _tone(tmp_path / "high.wav", 3000),
        None,
        str(tmp_path / "missing.wav"),
    ]
    x = enc.encode(paths)
    assert isinstance(enc, AudioEncoder)
    assert x.shape == (5, enc.dim) and np.isfinite(x).all()
    assert not x[3].any() and not x[4].any()
    z = (x[:3] - x[:3].mean(0)) / (x[:3].std(0) + 1e-6)
    assert np.linalg.norm(z[0] - z[1]) < np.linalg.norm(z[0] - z[2])


def test_descriptor_encoder_imputes_missing_values() -> None:
    frame = pd.DataFrame(
        {"audio_energy": [0.2, np.nan, 0.8, np.nan], "audio_tempo": [100.0, 120.0, np.nan, np.nan]}
    )
    enc = DescriptorAudioEncoder.from_frame(frame)
    x = enc.encode(frame)
    assert enc.columns == ["audio_energy", "audio_tempo"]
    np.testing.assert_allclose(x[1], [0.5, 120.0])
    np.testing.assert_allclose(x[2], [0.8, 110.0])
    assert not x[3].any()


def test_plug_in_encoder_by_module_and_class() -> None:
    enc = load_audio_encoder(f"{__name__}:ConstantEncoder", "/models/clap.pt")
    assert isinstance(enc, ConstantEncoder) and enc.weights_path == "/models/clap.pt"
    assert enc.encode(["a", "b"]).shape == (2, 4)


@pytest.mark.parametrize("spec", ["no_colon", "nosuchmodule_xyz:Enc", f"{__name__}:Missing"])
def test_bad_plug_in_spec_is_a_config_error(spec: str) -> None:
    with pytest.raises(ConfigError):
        load_audio_encoder(spec)
