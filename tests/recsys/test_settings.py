"""Settings come from LINER_* variables, nested groups with a double underscore."""

from __future__ import annotations

import pytest

from recsys.settings import LinerSettings


def test_defaults_run_the_demo(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("LINER_DB", "LINER_PORT"):
        monkeypatch.delenv(name, raising=False)
    settings = LinerSettings()
    assert settings.db == "var/liner.db" and settings.port == 50051
    assert settings.text_model


def test_environment_overrides_nested_groups(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LINER_DB", "/tmp/x.db")
    monkeypatch.setenv("LINER_EMBEDDINGS__AUDIO_ENCODER", "mypkg.clap:ClapEncoder")
    monkeypatch.setenv("LINER_ADMIN_TOKENS", '["s3cret"]')
    settings = LinerSettings()
    assert settings.db == "/tmp/x.db"
    assert settings.embeddings.audio_encoder == "mypkg.clap:ClapEncoder"
    assert settings.admin_tokens == ["s3cret"]
