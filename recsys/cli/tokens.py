"""`liner tokens`: mint listener tokens and generate secrets for the service's credentials."""

from __future__ import annotations

import secrets

import click

from recsys.errors import ConfigError


@click.group("tokens")
def tokens_group() -> None:
    """Credentials for calls that write: listener tokens and new secrets.

    The app backend reports plays with a feedback token (LINER_FEEDBACK_TOKENS) for any
    listener, or with a listener token that only writes its own listener's events.

    Example:

    \b
        export LINER_LISTENER_TOKEN_KEY=$(liner tokens secret)
        liner tokens listener u_00001 --ttl 3600
    """


@tokens_group.command("listener")
@click.argument("listener_id")
@click.option(
    "--ttl",
    type=click.IntRange(min=1),
    default=3600,
    show_default=True,
    help="Lifetime in seconds; keep it short and mint again.",
)
def listener_command(listener_id: str, ttl: int) -> None:
    """Print a token that lets a call act for LISTENER_ID only (signed with
    LINER_LISTENER_TOKEN_KEY). Send it as 'authorization: Bearer <token>'.

    Example:

        LINER_LISTENER_TOKEN_KEY=... liner tokens listener u_00001 --ttl 900
    """
    from recsys.service.tokens import ListenerTokens
    from recsys.settings import LinerSettings

    key = LinerSettings().listener_token_key
    if key is None:
        raise click.ClickException(
            "LINER_LISTENER_TOKEN_KEY is not set; set it to the key the service uses "
            "(generate one with `liner tokens secret`)"
        )
    try:
        click.echo(ListenerTokens(key.get_secret_value()).mint(listener_id, ttl_seconds=ttl))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc


@tokens_group.command("secret")
@click.option(
    "--bytes", "n_bytes", type=click.IntRange(min=32), default=32, show_default=True,
    help="Random bytes before encoding.",
)  # fmt: skip
def secret_command(n_bytes: int) -> None:
    """Print a new random secret: a LINER_LISTENER_TOKEN_KEY, or a token for
    LINER_FEEDBACK_TOKENS / LINER_ADMIN_TOKENS / LINER_RIGHTS_TOKENS.

    Example:

        liner tokens secret
    """
    click.echo(secrets.token_urlsafe(n_bytes))


__all__ = ["listener_command", "secret_command", "tokens_group"]
