"""`liner tokens`: listener tokens the service accepts, and secrets long enough to be keys."""

from __future__ import annotations

from click.testing import CliRunner

from recsys.cli import main
from recsys.service.tokens import ListenerTokens

KEY = "a-listener-token-key-of-32-bytes-or-more"


def test_listener_token_verifies_for_its_listener() -> None:
    result = CliRunner().invoke(
        main,
        ["tokens", "listener", "u_00001", "--ttl", "60"],
        env={"LINER_LISTENER_TOKEN_KEY": KEY},
    )
    assert result.exit_code == 0, result.output
    assert ListenerTokens(KEY).verify(result.output.strip()) == "u_00001"


def test_listener_token_without_a_key_names_the_setting() -> None:
    result = CliRunner().invoke(
        main, ["tokens", "listener", "u1"], env={"LINER_LISTENER_TOKEN_KEY": None}
    )
    assert result.exit_code != 0
    assert "LINER_LISTENER_TOKEN_KEY" in result.output and "Traceback" not in result.output


def test_secret_is_a_usable_key_and_help_has_examples() -> None:
    runner = CliRunner()
    secret = runner.invoke(main, ["tokens", "secret"]).output.strip()
    assert len(secret) >= 43 and secret != runner.invoke(main, ["tokens", "secret"]).output.strip()
    ListenerTokens(secret).mint("u1", ttl_seconds=60)
    for args in (["tokens"], ["tokens", "listener"], ["tokens", "secret"]):
        assert "Example" in runner.invoke(main, [*args, "--help"]).output
