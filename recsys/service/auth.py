"""Bearer-token roles: who may write the catalog, change consent or reload artifacts.

Listener apps call without a token and can only read and recommend; consent changes need the
``rights`` (or ``admin``) role, so an app can never revoke someone else's consent.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc

from recsys.errors import PermissionDeniedError
from recsys.service.calls import wrap_unary
from recsys.service.errors import UnauthenticatedError

ADMIN = "admin"
RIGHTS = "rights"

_CATALOG = "/linernotes.v1.CatalogService/"
_RIGHTS = "/linernotes.v1.RightsService/"
_ADMIN = "/linernotes.v1.AdminService/"

# Full method name -> roles allowed to call it. Methods not listed need no token.
REQUIRED_ROLES: dict[str, frozenset[str]] = {
    _CATALOG + "UpsertTracks": frozenset({ADMIN}),
    _CATALOG + "UpsertArtists": frozenset({ADMIN}),
    _ADMIN + "ReloadArtifacts": frozenset({ADMIN}),
    _ADMIN + "ReloadExperiments": frozenset({ADMIN}),
    **{
        _RIGHTS + name: frozenset({ADMIN, RIGHTS})
        for name in (
            "GrantConsent",
            "RevokeConsent",
            "ConsentHistory",
            "MeteringReport",
            "ReleaseQuarantine",
            "ConfirmQuarantine",
        )
    },
}


@dataclass(frozen=True, kw_only=True)
class Principal:
    """The authenticated caller.

    Attributes:
        role: ``admin``, ``rights`` or ``anonymous``.
        fingerprint: first 12 hex digits of the token's sha256 (never the token itself).
    """

    role: str
    fingerprint: str = ""

    @property
    def actor(self) -> str:
        """How the caller appears in audit trails (consent ledger, quarantine)."""
        return f"{self.role}:{self.fingerprint}" if self.fingerprint else self.role


ANONYMOUS = Principal(role="anonymous")
_current: contextvars.ContextVar[Principal] = contextvars.ContextVar(
    "liner_principal", default=ANONYMOUS
)


def current_principal() -> Principal:
    """The caller of the RPC running in this thread."""
    return _current.get()


class Authorizer:
    """Checks bearer tokens against the configured role tokens.

    Args:
        tokens_by_role: role -> accepted tokens (from ``LinerSettings.admin_tokens`` and
            ``rights_tokens``).
        required: method -> roles allowed; defaults to :data:`REQUIRED_ROLES`.
    """

    def __init__(
        self,
        tokens_by_role: Mapping[str, Iterable[str]],
        required: Mapping[str, frozenset[str]] | None = None,
    ) -> None:
        self._tokens = [
            (role, tok.encode()) for role, toks in tokens_by_role.items() for tok in toks
        ]
        self._required = dict(REQUIRED_ROLES if required is None else required)

    def authenticate(self, metadata: Sequence[tuple[str, Any]] | None) -> Principal:
        """The principal of a call's metadata (``authorization: Bearer <token>``).

        Raises:
            UnauthenticatedError: a malformed header or an unknown token.
        """
        header = next((v for k, v in metadata or () if k == "authorization"), None)
        if header is None:
            return ANONYMOUS
        scheme, _, token = str(header).partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise UnauthenticatedError("authorization metadata must be 'Bearer <token>'")
        raw = token.strip().encode()
        # Compare with every token so the time taken does not reveal which one matched.
        matches = [role for role, known in self._tokens if hmac.compare_digest(raw, known)]
        if not matches:
            raise UnauthenticatedError("unknown bearer token")
        role = ADMIN if ADMIN in matches else matches[0]
        return Principal(role=role, fingerprint=hashlib.sha256(raw).hexdigest()[:12])

    def authorize(self, method: str, metadata: Sequence[tuple[str, Any]] | None) -> Principal:
        """Authenticate and check the role ``method`` needs.

        Raises:
            UnauthenticatedError: the method needs a token and there is none or it is unknown.
            PermissionDeniedError: the token's role may not call the method.
        """
        principal = self.authenticate(metadata)
        allowed = self._required.get(method)
        if allowed is None:
            return principal
        if principal is ANONYMOUS:
            raise UnauthenticatedError(
                f"{method} needs a bearer token with role {' or '.join(sorted(allowed))}"
            )
        if principal.role not in allowed:
            raise PermissionDeniedError(
                f"role {principal.role!r} may not call {method}; "
                f"it needs {' or '.join(sorted(allowed))}"
            )
        return principal


class AuthInterceptor(grpc.ServerInterceptor):
    """Runs :meth:`Authorizer.authorize` before each unary call and exposes the principal
    through :func:`current_principal`. Its errors are raised, so install it inside the
    :class:`~recsys.service.calls.CallInterceptor`, which turns them into status codes.

    The wrapped handler of each method is built once; the behaviour reads the call's
    metadata from its context."""

    def __init__(self, authorizer: Authorizer) -> None:
        self._authorizer = authorizer
        self._wrapped: dict[str, tuple[grpc.RpcMethodHandler, grpc.RpcMethodHandler | None]] = {}

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        method: str = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        authorizer = self._authorizer

        def around(behavior: Callable[[Any, grpc.ServicerContext], Any]) -> Callable[..., Any]:
            def authorized(request: Any, context: grpc.ServicerContext) -> Any:
                principal = authorizer.authorize(method, context.invocation_metadata())
                token = _current.set(principal)
                try:
                    return behavior(request, context)
                finally:
                    _current.reset(token)

            return authorized

        wrapped = wrap_unary(handler, around)
        self._wrapped[method] = (handler, wrapped)
        return wrapped


__all__ = [
    "ADMIN",
    "ANONYMOUS",
    "REQUIRED_ROLES",
    "RIGHTS",
    "AuthInterceptor",
    "Authorizer",
    "Principal",
    "current_principal",
]
