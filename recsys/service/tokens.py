"""Listener tokens: short-lived signed tokens that let a call act for one listener only.

The app backend holds the key (``LINER_LISTENER_TOKEN_KEY``) and mints a token per signed-in
listener; the app sends it as ``authorization: Bearer <token>``. A token is a JWT (HS256) with
the listener id as ``sub``, an ``exp`` and the audience ``linernotes-listener``, so any JWT
library can mint one. The service accepts only HS256 with this audience: a token signed for
another purpose with the same key, or with ``alg: none``, is refused.

Example:
    tokens = ListenerTokens(key)
    token = tokens.mint("u_00001", ttl_seconds=3600)
    assert tokens.verify(token) == "u_00001"
"""

from __future__ import annotations

import time

import jwt

from recsys.errors import ConfigError
from recsys.service.errors import UnauthenticatedError

AUDIENCE = "linernotes-listener"
ALGORITHM = "HS256"
MIN_KEY_BYTES = 32
LEEWAY_SECONDS = 5.0
"""Clock skew tolerated on ``exp`` and ``iat`` between the minting backend and the service."""


_CACHE_SIZE = 4096


def looks_like_jwt(token: str) -> bool:
    """Three dot-separated parts: worth verifying as a listener token."""
    return token.count(".") == 2


class ListenerTokens:
    """Mints and verifies listener tokens with one HMAC-SHA256 key.

    Args:
        key: the shared secret, at least 32 bytes (RFC 7518 3.2: an HS256 key is at least as
            long as the hash).

    Raises:
        ConfigError: the key is shorter than 32 bytes.
    """

    def __init__(self, key: str | bytes) -> None:
        raw = key.encode() if isinstance(key, str) else bytes(key)
        if len(raw) < MIN_KEY_BYTES:
            raise ConfigError(
                f"LINER_LISTENER_TOKEN_KEY has {len(raw)} bytes; an HS256 key needs at least "
                f"{MIN_KEY_BYTES}. Fix: generate one with `liner tokens secret`"
            )
        self._key = raw
        # token -> (listener id, expiry): a token verified once is not decoded again on each
        # call until it expires (a JWT decode costs tens to hundreds of microseconds).
        self._verified: dict[str, tuple[str, float]] = {}

    def mint(self, listener_id: str, *, ttl_seconds: float, now: float | None = None) -> str:
        """A token for ``listener_id`` that expires ``ttl_seconds`` after ``now``.

        Args:
            listener_id: the listener the token speaks for (its ``sub``).
            ttl_seconds: lifetime; keep it short (minutes to hours) and mint again.
            now: issue time in Unix seconds (default: the clock); tests pass an old one.

        Raises:
            ConfigError: an empty listener id or a lifetime that is not positive.
        """
        if not listener_id.strip():
            raise ConfigError("a listener token needs a listener id")
        if not ttl_seconds > 0:
            raise ConfigError(f"a listener token needs a positive lifetime (got {ttl_seconds})")
        issued = int(time.time() if now is None else now)
        claims = {
            "sub": listener_id,
            "aud": AUDIENCE,
            "iat": issued,
            "exp": issued + int(ttl_seconds),
        }
        return jwt.encode(claims, self._key, algorithm=ALGORITHM)

    def verify(self, token: str) -> str:
        """The listener id of a valid, unexpired token.

        Raises:
            UnauthenticatedError: expired, forged, for another audience, or malformed; the
                message says which, never echoing the token.
        """
        cached = self._verified.get(token)
        if cached is not None and time.time() <= cached[1] + LEEWAY_SECONDS:
            return cached[0]
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise UnauthenticatedError(
                "the listener token has expired. Fix: mint a new one (the app backend's "
                "`liner tokens listener ID` or recsys.service.mint_listener_token)"
            ) from exc
        except jwt.InvalidSignatureError as exc:
            raise UnauthenticatedError(
                "the listener token's signature does not verify: it was not minted with this "
                "service's LINER_LISTENER_TOKEN_KEY"
            ) from exc
        except jwt.InvalidAudienceError as exc:
            raise UnauthenticatedError(
                f"the token is not a listener token (audience must be {AUDIENCE!r})"
            ) from exc
        except jwt.MissingRequiredClaimError as exc:
            raise UnauthenticatedError(
                f"the listener token lacks the {exc.claim!r} claim; mint it with "
                "`liner tokens listener` or recsys.service.mint_listener_token"
            ) from exc
        except jwt.PyJWTError as exc:
            raise UnauthenticatedError(
                f"the listener token is not valid ({type(exc).__name__})"
            ) from exc
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject.strip():
            raise UnauthenticatedError("the listener token names no listener (empty 'sub')")
        if len(self._verified) >= _CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (subject, float(claims["exp"]))
        return subject


def mint_listener_token(key: str | bytes, listener_id: str, *, ttl_seconds: float = 3600) -> str:
    """A listener token, for an app backend written in Python.

    Example:
        token = mint_listener_token(os.environ["LINER_LISTENER_TOKEN_KEY"], "u_00001")
        with LinerClient("127.0.0.1:50051", token=token) as client:
            client.log_events([...])  # only events of u_00001 are accepted
    """
    return ListenerTokens(key).mint(listener_id, ttl_seconds=ttl_seconds)


__all__ = [
    "ALGORITHM",
    "AUDIENCE",
    "MIN_KEY_BYTES",
    "ListenerTokens",
    "looks_like_jwt",
    "mint_listener_token",
]
