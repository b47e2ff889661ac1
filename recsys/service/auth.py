"""Bearer-token roles: who may write the catalog, log events, change consent or reload.

Listener apps call without a token and can only read and recommend; consent changes need the
``rights`` (or ``admin``) role, so an app can never revoke someone else's consent. Events are
metered and paid, so ``LogEvents`` needs a credential too: a ``feedback`` token (the app
backend, for any listener) or a listener token (:mod:`recsys.service.tokens`, for its own
listener only). Anonymous events are refused unless ``allow_anonymous_events`` is set (the
demo). A listener token is held to its listener on every listener-scoped call
(:data:`LISTENER_FIELDS`); ``listener_calls_need_token`` also refuses those calls anonymously.
"""

from __future__ import annotations

import contextvars
import hashlib
import hmac
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import grpc

from recsys.errors import PermissionDeniedError
from recsys.service import requestlog
from recsys.service.calls import API_PREFIX, wrap_unary
from recsys.service.errors import UnauthenticatedError
from recsys.service.status import status_for
from recsys.service.tokens import ListenerTokens, looks_like_jwt

if TYPE_CHECKING:
    from recsys.settings import LinerSettings

logger = logging.getLogger(__name__)

ADMIN = "admin"
RIGHTS = "rights"
FEEDBACK = "feedback"
LISTENER = "listener"

_CATALOG = "/linernotes.v1.CatalogService/"
_RIGHTS = "/linernotes.v1.RightsService/"
_ADMIN = "/linernotes.v1.AdminService/"
LOG_EVENTS = "/linernotes.v1.FeedbackService/LogEvents"

# Full method name -> roles allowed to call it. Methods not listed need no token.
REQUIRED_ROLES: dict[str, frozenset[str]] = {
    LOG_EVENTS: frozenset({ADMIN, FEEDBACK, LISTENER}),
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
            "ResolveDispute",
            "ListQuarantine",
        )
    },
}

# Listener-scoped methods -> the request field naming the listener. A listener token may call
# them only for its own listener; with ``listener_calls_need_token`` they need a token.
LISTENER_FIELDS: dict[str, str] = {
    "/linernotes.v1.RecommendationService/Recommend": "listener_id",
    "/linernotes.v1.DiscoveryService/Converse": "listener_id",
    "/linernotes.v1.ExperimentService/GetAssignment": "listener_id",
}
# Who may call a listener-scoped method for any listener when anonymous calls are refused.
ON_BEHALF_ROLES = frozenset({ADMIN, FEEDBACK})


@dataclass(frozen=True, kw_only=True)
class Principal:
    """The authenticated caller.

    Attributes:
        role: ``admin``, ``rights``, ``feedback``, ``listener`` or ``anonymous``.
        fingerprint: first 12 hex digits of the token's sha256 (never the token itself).
        subject: the listener a listener token speaks for; empty for other roles.
    """

    role: str
    fingerprint: str = ""
    subject: str = ""

    @property
    def actor(self) -> str:
        """How the caller appears in audit trails (consent ledger, quarantine, the sender of
        events): ``feedback:ab12cd34ef56``, ``listener:u_00001``, ``anonymous``."""
        if self.subject:
            return f"{self.role}:{self.subject}"
        return f"{self.role}:{self.fingerprint}" if self.fingerprint else self.role


ANONYMOUS = Principal(role="anonymous")
_current: contextvars.ContextVar[Principal] = contextvars.ContextVar(
    "liner_principal", default=ANONYMOUS
)


def current_principal() -> Principal:
    """The caller of the RPC running in this thread."""
    return _current.get()


class Authorizer:
    """Checks bearer tokens against the configured role tokens and listener-token key.

    Args:
        tokens_by_role: role -> accepted tokens (from ``LinerSettings.admin_tokens``,
            ``rights_tokens`` and ``feedback_tokens``).
        required: method -> roles allowed; defaults to :data:`REQUIRED_ROLES`.
        listener_tokens: verifies listener tokens; None accepts none.
        anonymous_events: accept ``LogEvents`` without a token (the demo).
        listener_calls_need_token: refuse anonymous calls of :data:`LISTENER_FIELDS` methods.
    """

    def __init__(
        self,
        tokens_by_role: Mapping[str, Iterable[str]],
        required: Mapping[str, frozenset[str]] | None = None,
        *,
        listener_tokens: ListenerTokens | None = None,
        anonymous_events: bool = False,
        listener_calls_need_token: bool = False,
    ) -> None:
        self._tokens = [
            (role, tok.encode()) for role, toks in tokens_by_role.items() for tok in toks
        ]
        self._required = dict(REQUIRED_ROLES if required is None else required)
        self._listener_tokens = listener_tokens
        self._anonymous_ok = frozenset({LOG_EVENTS} if anonymous_events else ())
        self._listener_calls_need_token = listener_calls_need_token

    @classmethod
    def from_settings(cls, settings: LinerSettings) -> Authorizer:
        """The authorizer a server with ``settings`` uses; warns when anonymous events are on.

        Raises:
            ConfigError: the listener-token key is too short.
        """
        key = settings.listener_token_key
        if settings.allow_anonymous_events:
            logger.warning(
                "anonymous LogEvents are ON (allow_anonymous_events): anyone who reaches this "
                "port can log plays for any listener, and plays are metered and paid. Demo only; "
                "give the app backend a LINER_FEEDBACK_TOKENS token instead"
            )
        return cls(
            {
                ADMIN: settings.admin_tokens,
                RIGHTS: settings.rights_tokens,
                FEEDBACK: settings.feedback_tokens,
            },
            listener_tokens=None if key is None else ListenerTokens(key.get_secret_value()),
            anonymous_events=settings.allow_anonymous_events,
            listener_calls_need_token=settings.listener_calls_need_token,
        )

    def authenticate(self, metadata: Sequence[tuple[str, Any]] | None) -> Principal:
        """The principal of a call's metadata (``authorization: Bearer <token>``).

        Raises:
            UnauthenticatedError: a malformed header, an unknown token, or a listener token
                that is expired or forged.
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
        if matches:
            role = ADMIN if ADMIN in matches else matches[0]
            return Principal(role=role, fingerprint=hashlib.sha256(raw).hexdigest()[:12])
        if self._listener_tokens is not None and looks_like_jwt(token.strip()):
            subject = self._listener_tokens.verify(token.strip())
            return Principal(
                role=LISTENER, fingerprint=hashlib.sha256(raw).hexdigest()[:12], subject=subject
            )
        raise UnauthenticatedError("unknown bearer token")

    def authorize(self, method: str, metadata: Sequence[tuple[str, Any]] | None) -> Principal:
        """Authenticate and check the role ``method`` needs.

        Raises:
            UnauthenticatedError: the method needs a token and there is none or it is unknown.
            PermissionDeniedError: the token's role may not call the method.
        """
        principal = self.authenticate(metadata)
        allowed = self._required.get(method)
        if allowed is None:
            if self._listener_calls_need_token and method in LISTENER_FIELDS:
                self._check_listener_scoped(method, principal)
            return principal
        if principal is ANONYMOUS:
            if method in self._anonymous_ok:
                return principal
            raise UnauthenticatedError(self._missing_token(method, allowed))
        if principal.role not in allowed:
            raise PermissionDeniedError(
                f"role {principal.role!r} may not call {method}; "
                f"it needs {' or '.join(sorted(allowed))}"
            )
        return principal

    @staticmethod
    def _check_listener_scoped(method: str, principal: Principal) -> None:
        if principal is ANONYMOUS:
            raise UnauthenticatedError(
                f"{method} needs a listener token for that listener, or a feedback token "
                "(this server sets listener_calls_need_token). Fix: send "
                "'authorization: Bearer <token>'"
            )
        if principal.role not in ON_BEHALF_ROLES | {LISTENER}:
            raise PermissionDeniedError(
                f"role {principal.role!r} may not call {method} for a listener; it needs a "
                "listener token for that listener, or role admin or feedback"
            )

    @staticmethod
    def _missing_token(method: str, allowed: frozenset[str]) -> str:
        if method == LOG_EVENTS:
            return (
                f"{method} needs a credential: 'authorization: Bearer <token>' with a feedback "
                "token (LINER_FEEDBACK_TOKENS, for the app backend) or a listener token for "
                "the events' listener (liner tokens listener ID). Anonymous events are off; "
                "LINER_ALLOW_ANONYMOUS_EVENTS=true turns them on for a demo"
            )
        return f"{method} needs a bearer token with role {' or '.join(sorted(allowed))}"

    def check_listener_call(self, method: str, principal: Principal, request: Any) -> None:
        """Hold a listener token to its listener on a listener-scoped call.

        Raises:
            PermissionDeniedError: the request names another listener than the token.
        """
        if principal.role != LISTENER:
            return
        field = LISTENER_FIELDS.get(method)
        if field is not None:
            require_own_listener(principal, field, str(getattr(request, field, "")))


def require_own_listener(principal: Principal, field: str, listener_id: str) -> None:
    """Refuse a listener token acting for another listener; other principals pass.

    Args:
        principal: the caller.
        field: the request field holding ``listener_id`` (named in the error).
        listener_id: the listener the request acts for.

    Raises:
        PermissionDeniedError: a listener token for someone else.
    """
    if principal.role == LISTENER and listener_id != principal.subject:
        raise PermissionDeniedError(
            f"{field}: this call's listener token is for {principal.subject!r}, so it may act "
            f"only for that listener, not {listener_id[:128]!r}. Fix: use that listener's own "
            "token, or send the call from the app backend with a feedback token"
        )


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
        # Health and other stock services have no CallInterceptor to turn a refusal into a
        # status; without this a bad token on Health/Check answered UNKNOWN with a traceback.
        maps_own_errors = not method.startswith(API_PREFIX)

        def around(behavior: Callable[[Any, grpc.ServicerContext], Any]) -> Callable[..., Any]:
            def authorized(request: Any, context: grpc.ServicerContext) -> Any:
                try:
                    principal = authorizer.authorize(method, context.invocation_metadata())
                except (UnauthenticatedError, PermissionDeniedError) as exc:
                    if not maps_own_errors:
                        raise
                    context.abort(*status_for(exc))
                authorizer.check_listener_call(method, principal, request)
                if principal is not ANONYMOUS:
                    requestlog.annotate(caller=principal.actor)
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
    "FEEDBACK",
    "LISTENER",
    "LISTENER_FIELDS",
    "LOG_EVENTS",
    "ON_BEHALF_ROLES",
    "REQUIRED_ROLES",
    "RIGHTS",
    "AuthInterceptor",
    "Authorizer",
    "Principal",
    "current_principal",
    "require_own_listener",
]
