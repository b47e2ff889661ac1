"""The gRPC server: services, health, reflection, interceptors, TLS, graceful shutdown.

Example:
    state = ServingState(factory=lambda d: load_recommender(d, store, settings))
    server = LinerServer(settings, ServiceDeps(state=state, store=store, metrics=ServiceMetrics()))
    port = server.start()          # health NOT_SERVING
    state.load(settings.artifacts)
    server.set_serving()           # health SERVING
    server.wait_for_termination()
"""

from __future__ import annotations

import contextlib
import logging
import ssl
from collections.abc import Callable
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection, reflection_pb2, reflection_pb2_grpc

from recsys.api.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    catalog_pb2,
    catalog_pb2_grpc,
    discovery_pb2,
    discovery_pb2_grpc,
    experiments_pb2,
    experiments_pb2_grpc,
    feedback_pb2,
    feedback_pb2_grpc,
    recommendation_pb2,
    recommendation_pb2_grpc,
    rights_pb2,
    rights_pb2_grpc,
)
from recsys.errors import ConfigError
from recsys.pipeline.search_cache import search_cache_hit_rate
from recsys.service.auth import AuthInterceptor, Authorizer
from recsys.service.calls import CallInterceptor
from recsys.service.limits import Admission, MethodLimit, usable_cpus
from recsys.service.servicers import (
    AdminServicer,
    CatalogServicer,
    DiscoveryServicer,
    ExperimentServicer,
    FeedbackServicer,
    RecommendationServicer,
    RightsServicer,
    ServiceDeps,
)
from recsys.service.status import MessageRedactor
from recsys.service.thread_pool import WarmestFirstExecutor
from recsys.settings import LinerSettings

logger = logging.getLogger(__name__)

SERVICE_NAMES: tuple[str, ...] = tuple(
    module.DESCRIPTOR.services_by_name[name].full_name
    for module, name in (
        (recommendation_pb2, "RecommendationService"),
        (discovery_pb2, "DiscoveryService"),
        (feedback_pb2, "FeedbackService"),
        (catalog_pb2, "CatalogService"),
        (rights_pb2, "RightsService"),
        (experiments_pb2, "ExperimentService"),
        (admin_pb2, "AdminService"),
    )
)


def admission_limit(settings: LinerSettings) -> int:
    """Calls gRPC admits at once: one per thread plus a tiny queue (a quarter of the threads, at
    least one), unless ``max_concurrent_rpcs`` says otherwise. Beyond it gRPC answers
    RESOURCE_EXHAUSTED in its polling thread, before any of our Python runs: the outer bound
    around the per-method admission of :func:`method_limits`."""
    if settings.max_concurrent_rpcs is not None:
        return settings.max_concurrent_rpcs
    return settings.max_workers + max(1, settings.max_workers // 4)


def method_limits(settings: LinerSettings, cpus: int | None = None) -> dict[str, MethodLimit]:
    """Each limited method's admission (see :mod:`recsys.service.limits`).

    ``Recommend`` executes ``recommend_concurrency`` slates at once (default one per usable
    CPU: under the GIL more at once only share the same cores, each taking that many times as
    long), with a short line of ``recommend_queue`` (default as many; at most the threads
    left but one, since a waiting call holds a thread) admitted only while the expected wait
    is at most ``recommend_max_wait`` service times. The slow calls get small
    caps and no line, so they can never take every thread from ``Recommend``; rights and
    metering reports (``MeteringReport``, served from a cached report, see
    metering_cache.py) get the smallest.
    """
    workers = settings.max_workers
    half = max(1, workers // 2)
    slates = settings.recommend_concurrency or (usable_cpus() if cpus is None else max(1, cpus))
    slates = min(workers, slates)
    line = settings.recommend_queue if settings.recommend_queue is not None else slates
    # A waiting call holds a thread: leave one for the other methods.
    line = max(0, min(line, workers - slates - 1))
    return {
        "Recommend": MethodLimit(slates, queue=line, max_wait=settings.recommend_max_wait),
        "UpsertTracks": MethodLimit(half),
        "UpsertArtists": MethodLimit(half),
        "MeteringReport": MethodLimit(max(1, workers // 4)),
        "Converse": MethodLimit(half),
        "ReloadArtifacts": MethodLimit(1),
        "ReloadExperiments": MethodLimit(1),
    }


def server_credentials(settings: LinerSettings) -> grpc.ServerCredentials | None:
    """TLS credentials from settings (mutual TLS when ``tls_client_ca`` is set), or None.

    Raises:
        ConfigError: only one of ``tls_cert``/``tls_key`` is set, or a file cannot be read.
    """
    if settings.tls_cert is None and settings.tls_key is None:
        if settings.tls_client_ca is not None:
            raise ConfigError("LINER_TLS_CLIENT_CA needs LINER_TLS_CERT and LINER_TLS_KEY")
        return None
    if settings.tls_cert is None or settings.tls_key is None:
        raise ConfigError("set both LINER_TLS_CERT and LINER_TLS_KEY to turn TLS on")
    try:
        cert, key = settings.tls_cert.read_bytes(), settings.tls_key.read_bytes()
        ca = settings.tls_client_ca.read_bytes() if settings.tls_client_ca else None
    except OSError as exc:
        raise ConfigError(f"cannot read a TLS file: {exc}") from exc
    check_key_pair(settings.tls_cert, settings.tls_key)
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=ca, require_client_auth=ca is not None
    )


def check_key_pair(cert: Path, key: Path) -> None:
    """Check that ``key`` is the private key of ``cert`` (gRPC itself would only fail to bind
    the port, which reads as "is the port in use?").

    Raises:
        ConfigError: naming which setting is wrong.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(str(cert), str(key))
    except ssl.SSLError as exc:
        if "KEY_VALUES_MISMATCH" in str(exc) or "key values mismatch" in str(exc):
            raise ConfigError(
                "LINER_TLS_KEY is not the private key of LINER_TLS_CERT. Fix: point "
                "LINER_TLS_KEY at the key the certificate was issued for"
            ) from exc
        raise ConfigError(
            f"LINER_TLS_CERT / LINER_TLS_KEY cannot be used ({exc.reason or exc}). Fix: PEM "
            "files of a certificate and its unencrypted private key"
        ) from exc


def server_paths(settings: LinerSettings) -> list[str]:
    """The file system paths in ``settings`` (as given and resolved), which error messages to
    clients must not contain."""
    given: list[str | Path | None] = [
        settings.db,
        settings.artifacts,
        settings.experiments_dir,
        settings.tls_cert,
        settings.tls_key,
        settings.tls_client_ca,
    ]
    paths: list[str] = []
    for value in given:
        if value is None or "://" in str(value):
            continue
        paths.append(str(value))
        with contextlib.suppress(OSError, RuntimeError):
            paths.append(str(Path(value).resolve()))
    return paths


REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"


class LinerHealth(health.HealthServicer):
    """The standard health service with ``List`` as well (grpcio-health-checking implements
    only Check and Watch, so List answered UNIMPLEMENTED with a traceback in the log).

    Args:
        names: the services whose status List reports ("" is the whole server).
    """

    def __init__(self, names: tuple[str, ...], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._names = names

    def List(  # noqa: N802
        self, request: health_pb2.HealthListRequest, context: grpc.ServicerContext
    ) -> health_pb2.HealthListResponse:
        response = health_pb2.HealthListResponse()
        for name in self._names:
            check = self.Check(health_pb2.HealthCheckRequest(service=name), context)
            response.statuses[name].CopyFrom(check)
        return response


def add_reflection(service_names: tuple[str, ...], server: grpc.Server) -> None:
    """Server reflection as ``grpc.reflection.v1`` and ``v1alpha`` (grpcurl and Postman ask v1
    first; older tools only v1alpha). grpcio-reflection ships only v1alpha; v1's messages are
    the same fields under another package name, so one servicer answers both."""
    servicer = reflection.ReflectionServicer(service_names)
    reflection_pb2_grpc.add_ServerReflectionServicer_to_server(servicer, server)
    v1 = grpc.stream_stream_rpc_method_handler(
        servicer.ServerReflectionInfo,
        request_deserializer=reflection_pb2.ServerReflectionRequest.FromString,
        response_serializer=reflection_pb2.ServerReflectionResponse.SerializeToString,
    )
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(REFLECTION_V1, {"ServerReflectionInfo": v1}),)
    )


class _Registrar:
    """Passes service registrations on to the gRPC server and keeps each unary method's handler
    (by full method name), so the web port can call the very same servicer objects."""

    def __init__(self, server: grpc.Server, handlers: dict[str, grpc.RpcMethodHandler]) -> None:
        self._server = server
        self._handlers = handlers

    def add_generic_rpc_handlers(self, generic: Any) -> None:
        self._server.add_generic_rpc_handlers(generic)

    def add_registered_method_handlers(
        self, service: str, handlers: dict[str, grpc.RpcMethodHandler]
    ) -> None:
        self._server.add_registered_method_handlers(service, handlers)
        for name, handler in handlers.items():
            if handler.unary_unary is not None:
                self._handlers[f"/{service}/{name}"] = handler


class LinerServer:
    """The Liner Notes gRPC server.

    Args:
        settings: bind address, limits, tokens, TLS, metrics port.
        deps: what the servicers use.
        thread_initializer: run once in each RPC thread as it starts (per-thread native
            settings, e.g. FAISS's OpenMP thread count, which is per thread).
    """

    def __init__(
        self,
        settings: LinerSettings,
        deps: ServiceDeps,
        *,
        thread_initializer: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self.deps = deps
        self.port = 0
        self.worker_port: int | None = None
        self.metrics_port: int | None = None
        self._metrics_httpd: Any = None
        self._health = LinerHealth(
            ("", *SERVICE_NAMES),
            experimental_non_blocking=True,
            experimental_thread_pool=futures.ThreadPoolExecutor(max_workers=1),
        )
        authorizer = Authorizer.from_settings(settings)
        self.admission = Admission(method_limits(settings))
        # Outermost first, as gRPC applies them; the web port runs the same chain.
        self.interceptors: tuple[grpc.ServerInterceptor, ...] = (
            CallInterceptor(deps.metrics, self.admission, MessageRedactor(server_paths(settings))),
            AuthInterceptor(authorizer),
        )
        self.method_handlers: dict[str, grpc.RpcMethodHandler] = {}
        self._server = grpc.server(
            WarmestFirstExecutor(
                max_workers=settings.max_workers,
                thread_name_prefix="liner-rpc",
                initializer=thread_initializer,
            ),
            interceptors=list(self.interceptors),
            maximum_concurrent_rpcs=admission_limit(settings),
            options=[
                ("grpc.max_receive_message_length", settings.max_message_bytes),
                ("grpc.max_send_message_length", settings.max_message_bytes),
            ],
        )
        self._add_services()

    def _add_services(self) -> None:
        deps, server = self.deps, _Registrar(self._server, self.method_handlers)
        recommendation_pb2_grpc.add_RecommendationServiceServicer_to_server(
            RecommendationServicer(deps), server
        )
        discovery_pb2_grpc.add_DiscoveryServiceServicer_to_server(DiscoveryServicer(deps), server)
        feedback_pb2_grpc.add_FeedbackServiceServicer_to_server(FeedbackServicer(deps), server)
        catalog_pb2_grpc.add_CatalogServiceServicer_to_server(CatalogServicer(deps), server)
        rights_pb2_grpc.add_RightsServiceServicer_to_server(RightsServicer(deps), server)
        experiments_pb2_grpc.add_ExperimentServiceServicer_to_server(
            ExperimentServicer(deps), server
        )
        admin_pb2_grpc.add_AdminServiceServicer_to_server(AdminServicer(deps), server)
        health_pb2_grpc.add_HealthServicer_to_server(self._health, server)
        add_reflection(
            (*SERVICE_NAMES, health.SERVICE_NAME, reflection.SERVICE_NAME, REFLECTION_V1),
            self._server,
        )
        self._set_health(health_pb2.HealthCheckResponse.NOT_SERVING)

    def _set_health(self, status: Any) -> None:
        for name in ("", *SERVICE_NAMES):
            self._health.set(name, status)

    def start(self) -> int:
        """Bind and start (health NOT_SERVING until :meth:`set_serving`); returns the port.

        Raises:
            ConfigError: the address cannot be bound or TLS settings are wrong.
        """
        credentials = server_credentials(self.settings)
        self.port = self._bind(self.settings.port, credentials)
        if self.settings.worker_port is not None:
            self.worker_port = self._bind(self.settings.worker_port, credentials)
        self._server.start()
        if self.settings.metrics_port is not None:
            tls = self.settings
            self.metrics_port, self._metrics_httpd = self.deps.metrics.serve_http(
                self.settings.metrics_port,
                self.settings.host,
                certfile=str(tls.tls_cert) if credentials is not None else None,
                keyfile=str(tls.tls_key) if credentials is not None else None,
                client_cafile=str(tls.tls_client_ca)
                if credentials is not None and tls.tls_client_ca
                else None,
            )
        if self.deps.store is not None:
            store = self.deps.store
            self.deps.metrics.quarantined.set_function(lambda: len(store.quarantined_ids()))
        state = self.deps.state
        self.deps.metrics.search_cache_hit_ratio.set_function(
            lambda: search_cache_hit_rate(state.loaded.recommender if state.loaded else None)
        )
        logger.info("listening on %s:%d (tls=%s)", self.settings.host, self.port, bool(credentials))
        if self.worker_port is not None:
            logger.info("this process alone also on %s:%d", self.settings.host, self.worker_port)
        return self.port

    def _bind(self, port: int, credentials: Any) -> int:
        address = f"{self.settings.host}:{port}"
        try:
            if credentials is None:
                bound = self._server.add_insecure_port(address)
            else:
                bound = self._server.add_secure_port(address, credentials)
        except RuntimeError as exc:
            raise ConfigError(f"cannot bind {address}: {exc}") from exc
        if bound == 0:
            raise ConfigError(f"cannot bind {address}; is the port in use?")
        return int(bound)

    def set_serving(self) -> None:
        """Report SERVING on health checks.

        Raises:
            NotServingError: no artifacts are loaded yet.
        """
        self.deps.state.current()
        self._set_health(health_pb2.HealthCheckResponse.SERVING)

    def stop(self, grace: float = 10.0) -> None:
        """Graceful shutdown: health NOT_SERVING, refuse new calls, let in-flight calls finish
        for up to ``grace`` seconds, then stop."""
        self._health.enter_graceful_shutdown()
        self._server.stop(grace).wait()
        for interceptor in self.interceptors:
            if isinstance(interceptor, CallInterceptor):
                interceptor.close()
        if self._metrics_httpd is not None:
            self._metrics_httpd.shutdown()
            self._metrics_httpd.server_close()
            self._metrics_httpd = None
        logger.info("stopped")

    def wait_for_termination(self, timeout: float | None = None) -> bool:
        """Block until the server stops; True when it did within ``timeout``."""
        return bool(self._server.wait_for_termination(timeout))


__all__ = [
    "REFLECTION_V1",
    "SERVICE_NAMES",
    "LinerHealth",
    "LinerServer",
    "add_reflection",
    "admission_limit",
    "method_limits",
    "server_credentials",
    "server_paths",
]
