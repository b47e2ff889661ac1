"""What happens around every Liner Notes call: request id, admission, deadline check, status
mapping, metrics and the per-request log line.

A call refused by admission (:class:`~recsys.service.limits.AdmissionRefusedError`) never
reaches the servicer; it answers RESOURCE_EXHAUSTED with the retry-after hint in the message
and in the ``grpc-retry-pushback-ms`` trailer (gRPC's server pushback, honoured by gRPC retry
policies)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from concurrent import futures
from typing import Any, NamedTuple

import grpc

from recsys.service import requestlog
from recsys.service.errors import DeadlineError, RequestError
from recsys.service.limits import Admission, AdmissionRefusedError
from recsys.service.metrics import ServiceMetrics
from recsys.service.status import MessageRedactor, status_for

API_PREFIX = "/linernotes.v1."
REQUEST_ID_HEADER = "x-request-id"
PUSHBACK_TRAILER = "grpc-retry-pushback-ms"
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

Behavior = Callable[[Any, grpc.ServicerContext], Any]


class MalformedRequest:
    """Stands in for a request whose bytes did not parse, so the call can answer
    INVALID_ARGUMENT instead of gRPC's generic INTERNAL."""

    def __init__(self, problem: str) -> None:
        self.problem = problem


def wrap_unary(
    handler: grpc.RpcMethodHandler | None,
    around: Callable[[Behavior], Behavior],
    *,
    tolerate_malformed: bool = False,
) -> grpc.RpcMethodHandler | None:
    """A copy of a unary-unary ``handler`` whose behaviour is ``around(behaviour)``; other
    handlers (streaming health watches, reflection) are returned unchanged.

    With ``tolerate_malformed`` a request that fails to parse reaches the behaviour as a
    :class:`MalformedRequest`.
    """
    if handler is None or handler.unary_unary is None:
        return handler
    deserializer = handler.request_deserializer
    if tolerate_malformed and deserializer is not None:
        parse = deserializer

        def deserializer(raw: bytes) -> Any:
            try:
                return parse(raw)
            except Exception as exc:  # protobuf raises DecodeError, or others on odd input
                return MalformedRequest(f"request bytes do not parse: {type(exc).__name__}")

    return grpc.unary_unary_rpc_method_handler(
        around(handler.unary_unary),
        request_deserializer=deserializer,
        response_serializer=handler.response_serializer,
    )


def incoming_request_id(metadata: Any) -> str:
    """The caller's ``x-request-id`` when well-formed, else a fresh one."""
    for key, value in metadata or ():
        if key == REQUEST_ID_HEADER and isinstance(value, str) and _REQUEST_ID.match(value):
            return value
    return uuid.uuid4().hex


class _Wrapped(NamedTuple):
    """What the interceptor built for one method."""

    inner: grpc.RpcMethodHandler  # the handler it was built from
    wrapped: grpc.RpcMethodHandler | None
    refuse: grpc.RpcMethodHandler | None  # for calls refused on arrival (limited methods)
    name: str


class CallInterceptor(grpc.ServerInterceptor):
    """The outermost interceptor for ``linernotes.v1`` methods.

    The wrapped handler of each method is built once and reused (the behaviour reads the
    call's metadata from its context), so a call allocates no handlers or closures here.

    A call of a limited method that admission would refuse on arrival
    (:meth:`~recsys.service.limits.Admission.would_refuse`, asked here in gRPC's polling
    thread before the call gets a worker thread) is handed to a handler that refuses it on a
    thread of its own, without parsing the request: under overload the refusals then take
    one thread's share of the GIL, not every idle worker's, and leave the slates in flight
    their CPU. It answers as a refusal in the worker would (same status, message, trailers and
    metrics; its log line is written once a second per method with the count, see
    :meth:`_refuse`).

    Args:
        metrics: where calls are counted and timed.
        admission: per-method admission (keys are short method names).
        redact: removes file system paths from error messages sent to clients.
    """

    def __init__(
        self,
        metrics: ServiceMetrics,
        admission: Admission,
        redact: MessageRedactor | None = None,
    ) -> None:
        self._metrics = metrics
        self._admission = admission
        self._redact = redact or MessageRedactor()
        self._wrapped: dict[str, _Wrapped] = {}
        self._refusals = futures.ThreadPoolExecutor(1, thread_name_prefix="liner-refuse")

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], grpc.RpcMethodHandler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        method: str = handler_call_details.method
        handler = continuation(handler_call_details)
        if handler is None or not method.startswith(API_PREFIX):
            return handler
        built = self._wrapped.get(method)
        if built is None or built.inner is not handler:
            built = self._build(method, handler)
            self._wrapped[method] = built
        if built.refuse is not None and self._admission.would_refuse(built.name):
            return built.refuse
        return built.wrapped

    def close(self) -> None:
        """Stop the refusals' thread (after the server stopped)."""
        self._refusals.shutdown(wait=False)

    def _build(self, method: str, handler: grpc.RpcMethodHandler) -> _Wrapped:
        name = method.rsplit("/", 1)[-1]
        wrapped = wrap_unary(
            handler, lambda inner: self._around(inner, name, method), tolerate_malformed=True
        )
        refuse = None
        if self._admission.limits(name) and handler.unary_unary is not None:
            behavior = self._refuse(name, method)
            # gRPC runs a behaviour with this attribute on that executor instead of its pool.
            behavior.experimental_thread_pool = self._refusals  # type: ignore[attr-defined]
            refuse = grpc.unary_unary_rpc_method_handler(
                behavior, response_serializer=handler.response_serializer
            )  # no request deserializer: the refused request's bytes are never parsed
        return _Wrapped(handler, wrapped, refuse, name)

    def _refuse(self, name: str, method: str) -> Behavior:
        """The behaviour of a call refused on arrival: the same status, message (it holds no
        paths), trailers and metrics as a refusal in the worker, at a fraction of the Python.
        Its log line is written for the first refusal of the method in each second, with the
        number refused since the last line (``refused``): a line per refusal would cost the
        core more than the refusal itself, thousands of times a second under overload."""
        metrics, admission = self._metrics, self._admission
        code, clock = grpc.StatusCode.RESOURCE_EXHAUSTED, time.monotonic
        logged = {"at": -1.0, "n": 0}  # one refusals' thread: no lock needed

        def behavior(request: Any, context: grpc.ServicerContext) -> Any:
            start = time.perf_counter()
            rid = incoming_request_id(context.invocation_metadata())
            refusal = admission.refusal(name)
            context.set_trailing_metadata(
                ((REQUEST_ID_HEADER, rid), (PUSHBACK_TRAILER, str(refusal.retry_after_ms)))
            )
            seconds = time.perf_counter() - start
            metrics.observe_call(name, code.name, seconds)
            logged["n"] += 1
            now = clock()
            if now - logged["at"] >= 1.0 and requestlog.enabled():
                token = requestlog.begin(rid, method)
                requestlog.finish(
                    token, code=code.name, ms=round(seconds * 1000.0, 3), peer=context.peer(),
                    refused=logged["n"],
                )  # fmt: skip
                logged["at"], logged["n"] = now, 0
            context.abort(code, str(refusal))

        return behavior

    def _around(self, inner: Behavior, name: str, method: str) -> Behavior:
        metrics, admission, redact = self._metrics, self._admission, self._redact
        limited = admission.limits(name)

        def run(request: Any, context: grpc.ServicerContext) -> Any:
            # A call that waited for a thread past its deadline is dropped unworked.
            if not context.is_active():
                raise DeadlineError("deadline passed or call cancelled before start")
            if isinstance(request, MalformedRequest):
                raise RequestError("request", request.problem)
            return inner(request, context)

        def behavior(request: Any, context: grpc.ServicerContext) -> Any:
            rid = incoming_request_id(context.invocation_metadata())
            token = requestlog.begin(rid, method)
            start = time.perf_counter()
            code = "OK"
            trailers = ((REQUEST_ID_HEADER, rid),)
            context.set_trailing_metadata(trailers)
            try:
                if limited:
                    with admission.slot(name, context.time_remaining()):
                        return run(request, context)
                return run(request, context)
            except Exception as exc:
                if isinstance(exc, AdmissionRefusedError):
                    pushback = (PUSHBACK_TRAILER, str(exc.retry_after_ms))
                    context.set_trailing_metadata((*trailers, pushback))
                already = context.code() if hasattr(context, "code") else None
                if already is not None and already is not grpc.StatusCode.OK:
                    code = already.name
                    raise
                status, message = status_for(exc, rid, redact)
                code = status.name
                context.abort(status, message)
            finally:
                seconds = time.perf_counter() - start
                metrics.observe_call(name, code, seconds)
                if requestlog.enabled():
                    requestlog.finish(
                        token, code=code, ms=round(seconds * 1000.0, 3), peer=context.peer()
                    )
                else:
                    requestlog.discard(token)

        return behavior


__all__ = [
    "API_PREFIX",
    "PUSHBACK_TRAILER",
    "REQUEST_ID_HEADER",
    "CallInterceptor",
    "MalformedRequest",
    "incoming_request_id",
    "wrap_unary",
]
