"""The browser port: Connect (binary and JSON), gRPC-Web and gRPC over HTTP/1.1 and HTTP/2,
plus the web app's static files, on the SAME servicer objects as the gRPC port.

The protocols come from ``connectrpc`` (the Connect project's Python runtime, which passes the
Connect conformance suite); we only adapt. Each unary method the gRPC server registered is
called through the same interceptor chain (request id, admission caps, status mapping, metrics,
request log, bearer-token auth), with a small stand-in for ``grpc.ServicerContext``, so a
browser call gets exactly the checks, errors and trailers of a gRPC call. Hypercorn serves the
ASGI app (HTTP/1.1, and HTTP/2 by prior knowledge, upgrade or TLS ALPN).

Example:
    server = LinerServer(settings, deps)
    server.start()
    web = WebGateway(server, settings)
    port = web.start()   # curl -H 'content-type: application/json' -d '{"listenerId":"u1"}' \\
                         #   http://127.0.0.1:PORT/linernotes.v1.RecommendationService/Recommend
    ...
    web.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from concurrent import futures
from pathlib import Path
from typing import Any, NamedTuple, cast

import grpc
from connectrpc.code import Code
from connectrpc.compat import google_protobuf_binary_codec
from connectrpc.errors import ConnectError
from connectrpc.method import IdempotencyLevel, MethodInfo, StreamType
from connectrpc.request import RequestContext
from connectrpc.server import ConnectASGIApplication, Endpoint
from google.protobuf import descriptor_pool, json_format, message_factory
from starlette.exceptions import HTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import PlainTextResponse
from starlette.staticfiles import StaticFiles

from recsys.errors import ConfigError
from recsys.settings import LinerSettings

logger = logging.getLogger(__name__)

# The web app ships inside the package (package data), so a wheel install serves it too;
# LinerSettings.web_root (LINER_WEB_ROOT) serves another folder instead.
DEFAULT_WEB_ROOT = Path(__file__).resolve().parents[1] / "webapp"
# Headers a browser page may send and read across origins (Connect and gRPC-Web need these).
CORS_REQUEST_HEADERS = (
    "authorization",
    "content-type",
    "connect-protocol-version",
    "connect-timeout-ms",
    "grpc-timeout",
    "x-grpc-web",
    "x-user-agent",
    "x-request-id",
)
CORS_RESPONSE_HEADERS = (
    "grpc-status",
    "grpc-message",
    "grpc-status-details-bin",
    "x-request-id",
    "trailer-x-request-id",
)
_HOP_HEADERS = frozenset({"content-type", "content-length", "host", "connection", "te"})


class WebAbortError(Exception):
    """Raised by :meth:`WebCallContext.abort`, as gRPC's context raises to end a call."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


class _CallDetails(NamedTuple):
    method: str
    invocation_metadata: tuple[tuple[str, str], ...]


class WebCallContext:
    """What the servicers and interceptors use of ``grpc.ServicerContext``, for a call that
    arrived on the web port."""

    def __init__(self, ctx: RequestContext[Any, Any]) -> None:
        self._ctx = ctx
        self._metadata = tuple(
            (key.lower(), value)
            for key, value in ctx.request_headers.allitems()
            if key.lower() not in _HOP_HEADERS
        )
        self._code: grpc.StatusCode | None = None
        self._details = ""
        self.trailers: tuple[tuple[str, str], ...] = ()
        self._timeout_ms = ctx.timeout_ms
        self._started = time.monotonic()

    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return self._metadata

    def peer(self) -> str:
        return f"web:{self._ctx.client_address or 'unknown'}"

    def time_remaining(self) -> float | None:
        if self._timeout_ms is None:
            return None
        return max(0.0, self._timeout_ms / 1000.0 - (time.monotonic() - self._started))

    def is_active(self) -> bool:
        remaining = self.time_remaining()
        return remaining is None or remaining > 0.0

    def set_trailing_metadata(self, metadata: Sequence[tuple[str, str]]) -> None:
        self.trailers = tuple(metadata)

    def send_initial_metadata(self, metadata: Sequence[tuple[str, str]]) -> None:
        for key, value in metadata:
            self._ctx.response_headers[key] = value

    def set_code(self, code: grpc.StatusCode) -> None:
        self._code = code

    def set_details(self, details: str) -> None:
        self._details = details

    def code(self) -> grpc.StatusCode | None:
        return self._code

    def details(self) -> str:
        return self._details

    def abort(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details
        raise WebAbortError(code, details)

    def add_callback(self, callback: Callable[[], None]) -> bool:
        return False

    def auth_context(self) -> dict[str, list[bytes]]:
        return {}


def intercepted(
    interceptors: Sequence[grpc.ServerInterceptor], method: str, handler: grpc.RpcMethodHandler
) -> grpc.RpcMethodHandler:
    """``handler`` wrapped by ``interceptors`` (outermost first), as the gRPC server does."""

    def continuation_at(i: int) -> Callable[[grpc.HandlerCallDetails], Any]:
        def continuation(details: grpc.HandlerCallDetails) -> Any:
            if i == len(interceptors):
                return handler
            return interceptors[i].intercept_service(continuation_at(i + 1), details)

        return continuation

    details = cast(grpc.HandlerCallDetails, _CallDetails(method, ()))
    wrapped = continuation_at(0)(details)
    if wrapped is None or wrapped.unary_unary is None:
        raise ConfigError(f"{method}: the interceptors dropped its handler")
    return cast(grpc.RpcMethodHandler, wrapped)


def connect_error(code: grpc.StatusCode, details: str) -> ConnectError:
    """A gRPC status as the same Connect code (the names are the same in both)."""
    return ConnectError(Code[code.name], details)


class CompactJsonCodec:
    """Connect's JSON codec for google.protobuf messages without the pretty-printing of
    ``MessageToJson``'s default (indent=2), which made a slate's JSON ~40 % bigger and slower."""

    def name(self) -> str:
        return "json"

    def encode(self, message: Any) -> bytes:
        return json_format.MessageToJson(message, indent=None).encode()

    def decode(self, data: bytes | bytearray, message_class: type[Any]) -> Any:
        message = message_class()
        json_format.Parse(bytes(data), message, ignore_unknown_fields=True)
        return message


class _LinerConnectApp(ConnectASGIApplication[Any]):
    @property
    def path(self) -> str:
        return "/"


class WebGateway:
    """Serves the browser port for a started :class:`~recsys.service.LinerServer`.

    Args:
        server: the gRPC server whose servicers, interceptors and limits are reused.
        settings: ``web_port``, ``web_origins``, ``web_root``, ``host``, TLS files,
            ``max_workers``, ``max_message_bytes``.
        thread_initializer: run once in each call thread (as for the gRPC pool).
    """

    def __init__(
        self,
        server: Any,
        settings: LinerSettings,
        *,
        thread_initializer: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.port: int | None = None
        self._pool = futures.ThreadPoolExecutor(
            max_workers=settings.max_workers,
            thread_name_prefix="liner-web",
            initializer=thread_initializer,
        )
        self._admitted = 0
        self._admit_lock = threading.Lock()
        self._admission = server_admission(server)
        endpoints = {
            method: self._endpoint(method, intercepted(server.interceptors, method, handler))
            for method, handler in server.method_handlers.items()
        }
        self.rpc_paths = frozenset(endpoints)
        connect_app = _LinerConnectApp(
            service=None,
            endpoints=lambda _: endpoints,
            read_max_bytes=settings.max_message_bytes,
            codecs=[google_protobuf_binary_codec(), cast(Any, CompactJsonCodec())],
        )
        root = settings.web_root or DEFAULT_WEB_ROOT
        static = StaticFiles(directory=root, html=True, check_dir=False)
        rpc_paths = self.rpc_paths

        async def app(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http" and scope["path"] not in rpc_paths:
                try:
                    await static(scope, receive, send)
                except HTTPException as exc:  # outside a Starlette app nothing else answers it
                    await PlainTextResponse(exc.detail, exc.status_code)(scope, receive, send)
                return
            await connect_app(scope, receive, send)

        self.app = CORSMiddleware(
            app,
            allow_origins=list(settings.web_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_headers=list(CORS_REQUEST_HEADERS),
            expose_headers=list(CORS_RESPONSE_HEADERS),
            max_age=7200,
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    def _endpoint(self, method: str, handler: grpc.RpcMethodHandler) -> Any:
        found = descriptor_pool.Default().FindMethodByName(method.strip("/").replace("/", "."))
        info = MethodInfo(
            name=found.name,
            service_name=found.containing_service.full_name,
            input=message_factory.GetMessageClass(found.input_type),
            output=message_factory.GetMessageClass(found.output_type),
            idempotency_level=IdempotencyLevel.UNKNOWN,
            stream_type=StreamType.UNARY,
        )
        behavior = handler.unary_unary
        loop_pool = self._pool

        async def call(request: Any, ctx: RequestContext[Any, Any]) -> Any:
            context = WebCallContext(ctx)
            self._admit(method)
            try:
                response = await asyncio.get_running_loop().run_in_executor(
                    loop_pool, behavior, request, context
                )
            except WebAbortError as exc:
                _copy_trailers(context, ctx)
                raise connect_error(exc.code, exc.details) from None
            finally:
                self._release()
            _copy_trailers(context, ctx)
            return response

        return Endpoint.unary(method=info, function=call)

    def _admit(self, method: str) -> None:
        with self._admit_lock:
            if self._admitted >= self._admission:
                raise ConnectError(
                    Code.RESOURCE_EXHAUSTED,
                    f"{method}: the server is at its limit of {self._admission} calls at once; "
                    "retry with backoff",
                )
            self._admitted += 1

    def _release(self) -> None:
        with self._admit_lock:
            self._admitted -= 1

    def start(self) -> int:
        """Bind ``settings.web_port`` (0 picks one) and serve in a background thread.

        Raises:
            ConfigError: the port cannot be bound, or TLS files cannot be read.
        """
        from hypercorn.asyncio import serve
        from hypercorn.config import Config

        settings = self.settings
        port = 0 if settings.web_port is None else settings.web_port
        sock = socket.socket(
            socket.AF_INET6 if ":" in settings.host else socket.AF_INET, socket.SOCK_STREAM
        )
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if hasattr(socket, "SO_REUSEPORT"):  # `liner serve --workers N` shares it, as gRPC's
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        try:
            sock.bind((settings.host, port))
        except OSError as exc:
            sock.close()
            raise ConfigError(f"cannot bind the web port {settings.host}:{port}: {exc}") from exc
        sock.listen(128)
        sock.setblocking(False)
        self.port = int(sock.getsockname()[1])
        config = Config()
        config.bind = [f"fd://{sock.fileno()}"]
        config.accesslog = None
        config.errorlog = logger
        config.h11_max_incomplete_size = 64 * 1024
        if settings.tls_cert is not None and settings.tls_key is not None:
            config.certfile, config.keyfile = str(settings.tls_cert), str(settings.tls_key)
            if settings.tls_client_ca is not None:  # mutual TLS, as on the gRPC port
                config.ca_certs = str(settings.tls_client_ca)
                config.verify_mode = ssl.CERT_REQUIRED
        elif settings.tls_client_ca is not None:
            raise ConfigError("LINER_TLS_CLIENT_CA needs LINER_TLS_CERT and LINER_TLS_KEY")
        ready = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            self._stopping = asyncio.Event()
            ready.set()
            try:
                loop.run_until_complete(
                    serve(cast(Any, self.app), config, shutdown_trigger=self._stopping.wait)
                )
            finally:
                loop.close()
                with contextlib.suppress(OSError):  # hypercorn closes the descriptor itself
                    sock.close()

        self._thread = threading.Thread(target=run, name="liner-web", daemon=True)
        self._thread.start()
        ready.wait()
        logger.info("web port (Connect, gRPC-Web) on %s:%d", settings.host, self.port)
        return self.port

    def stop(self, grace: float = 5.0) -> None:
        """Stop accepting, let calls in flight finish for up to ``grace`` seconds, stop."""
        if self._loop is not None and self._stopping is not None:
            self._loop.call_soon_threadsafe(self._stopping.set)
        if self._thread is not None:
            self._thread.join(grace + 1.0)
        self._pool.shutdown(wait=False, cancel_futures=True)


def server_admission(server: Any) -> int:
    """The web port admits as many calls at once as the gRPC port."""
    from recsys.service.server import admission_limit

    return admission_limit(server.settings)


def _copy_trailers(context: WebCallContext, ctx: RequestContext[Any, Any]) -> None:
    # Sent as headers too: a browser reads headers it was allowed to (CORS) more easily than
    # Connect's ``trailer-`` headers or gRPC-Web's body trailers.
    for key, value in context.trailers:
        ctx.response_trailers[key] = value
        ctx.response_headers[key] = value


__all__ = [
    "CORS_REQUEST_HEADERS",
    "CORS_RESPONSE_HEADERS",
    "DEFAULT_WEB_ROOT",
    "CompactJsonCodec",
    "WebAbortError",
    "WebCallContext",
    "WebGateway",
    "connect_error",
    "intercepted",
]
