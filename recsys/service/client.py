"""A small Python client for the Liner Notes service.

Example:
    from recsys.service.client import LinerClient

    with LinerClient("127.0.0.1:50051") as client:
        slate = client.recommend("listener-1", k=5, query="rainy day jazz")
        for item in slate.items:
            print(item.position, item.track.title, item.ai_label.involvement, item.reasons)
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

import grpc

from recsys.api.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    catalog_pb2,
    catalog_pb2_grpc,
    common_pb2,
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
from recsys.service.tokens import mint_listener_token

R = TypeVar("R")
RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})
"""Codes that say the server could not take the call now (down, draining, overloaded): worth
a retry. Every other code says what is wrong with the call (its data, its credentials, a
reference to something missing) and repeats on a retry, so it is never retried."""


def is_transient(exc: grpc.RpcError) -> bool:
    """Whether a failed call may succeed if sent again unchanged.

    RESOURCE_EXHAUSTED is transient when the server is overloaded, but not when the message
    is over the size limit (gRPC uses the same code for both).
    """
    code_fn = getattr(exc, "code", None)
    code = code_fn() if callable(code_fn) else None
    if code not in RETRYABLE:
        return False
    if code is grpc.StatusCode.RESOURCE_EXHAUSTED:
        details_fn = getattr(exc, "details", None)
        details = details_fn() if callable(details_fn) else ""
        return "larger than max" not in str(details or "")
    return True


def channel_target(target: str) -> tuple[str, list[tuple[str, Any]]]:
    """The gRPC target and channel options for ``target``: one address as given; several
    comma-separated IP addresses as an ``ipv4:``/``ipv6:`` list with round-robin balancing.

    Raises:
        ConfigError: a list entry that is not an IP address with a port.
    """
    if "," not in target:
        return target, []
    addresses = [a.strip() for a in target.split(",")]
    families = set()
    for address in addresses:
        host, sep, port = address.rpartition(":")
        try:
            families.add(ipaddress.ip_address(host.strip("[]")).version)
            if not sep or not 0 < int(port) < 65536:
                raise ValueError(port)
        except ValueError as exc:
            raise ConfigError(
                f"target {target!r}: {address!r} is not IP:PORT; a list of addresses takes IP "
                "literals (e.g. 127.0.0.1:50061,127.0.0.1:50062)"
            ) from exc
    if len(families) > 1:
        raise ConfigError(f"target {target!r} mixes IPv4 and IPv6 addresses; use one family")
    scheme = "ipv6" if families == {6} else "ipv4"
    return f"{scheme}:{','.join(addresses)}", [("grpc.lb_policy_name", "round_robin")]


class LinerClient:
    """Typed calls with a deadline on each, and retries of idempotent calls that failed for
    a transient reason (UNAVAILABLE, RESOURCE_EXHAUSTED from overload); a call refused for its
    data or credentials (INVALID_ARGUMENT, FAILED_PRECONDITION, NOT_FOUND, UNAUTHENTICATED,
    PERMISSION_DENIED, ...) is never retried.

    Args:
        target: ``host:port``, or several IP ``host:port`` addresses joined by commas (the
            per-worker ports of ``liner serve --worker-ports``): the channel then connects to
            each and sends successive calls round-robin over them.
        token: bearer token: an admin, rights or feedback token, or a listener token
            (:func:`mint_listener_token`).
        timeout: deadline of each call in seconds (retries included).
        retries: extra attempts after a transient failure, for idempotent calls only
            (Recommend, reads, upserts, LogEvents); consent changes, Converse and reloads are
            never retried.
        root_certificates: PEM CA to verify the server; turns TLS on.
        private_key: PEM client key, for mutual TLS.
        certificate_chain: PEM client certificate, for mutual TLS.
        server_name: TLS name override (e.g. ``localhost`` for a test certificate).
    """

    def __init__(
        self,
        target: str,
        *,
        token: str | None = None,
        timeout: float = 2.0,
        retries: int = 3,
        root_certificates: bytes | None = None,
        private_key: bytes | None = None,
        certificate_chain: bytes | None = None,
        server_name: str | None = None,
    ) -> None:
        self.timeout = timeout
        self.retries = retries
        self._metadata = (("authorization", f"Bearer {token}"),) if token else ()
        target, options = channel_target(target)
        if root_certificates is None and private_key is None:
            self.channel = grpc.insecure_channel(target, options=options)
        else:
            creds = grpc.ssl_channel_credentials(root_certificates, private_key, certificate_chain)
            if server_name:
                options.append(("grpc.ssl_target_name_override", server_name))
            self.channel = grpc.secure_channel(target, creds, options=options)
        ch = self.channel
        self.recommendations = recommendation_pb2_grpc.RecommendationServiceStub(ch)
        self.discovery = discovery_pb2_grpc.DiscoveryServiceStub(ch)
        self.feedback = feedback_pb2_grpc.FeedbackServiceStub(ch)
        self.catalog = catalog_pb2_grpc.CatalogServiceStub(ch)
        self.rights = rights_pb2_grpc.RightsServiceStub(ch)
        self.experiments = experiments_pb2_grpc.ExperimentServiceStub(ch)
        self.admin = admin_pb2_grpc.AdminServiceStub(ch)

    def __enter__(self) -> LinerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the channel."""
        self.channel.close()

    def call(
        self,
        method: Callable[..., R],
        request: Any,
        *,
        idempotent: bool,
        timeout: float | None = None,
    ) -> R:
        """Call ``method`` with the deadline; retry transient failures (:func:`is_transient`)
        with backoff if idempotent.

        Raises:
            grpc.RpcError: the final failure (its ``code()`` is the status).
        """
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        attempt = 0
        while True:
            remaining = deadline - time.monotonic()
            try:
                return method(request, timeout=max(remaining, 0.001), metadata=self._metadata)
            except grpc.RpcError as exc:
                backoff = min(0.05 * 2**attempt, 1.0)
                retry = idempotent and attempt < self.retries and is_transient(exc)
                if not retry or time.monotonic() + backoff >= deadline:
                    raise
                attempt += 1
                time.sleep(backoff)

    def recommend(
        self,
        listener_id: str,
        *,
        k: int = 10,
        context_track_ids: Sequence[str] = (),
        surface: recommendation_pb2.Surface = recommendation_pb2.SURFACE_HOME,
        query: str = "",
        genres: Sequence[str] = (),
        human_only: bool = False,
        exclude_ai_generated: bool = False,
        exclude_track_ids: Sequence[str] = (),
        explain: bool = False,
        timeout: float | None = None,
    ) -> recommendation_pb2.RecommendResponse:
        """A ranked slate; every item carries its AI label, credits and reasons."""
        request = recommendation_pb2.RecommendRequest(
            listener_id=listener_id,
            k=k,
            context_track_ids=list(context_track_ids),
            surface=surface,
            query=query,
            filters=recommendation_pb2.Filters(
                genres=list(genres),
                human_only=human_only,
                exclude_ai_generated=exclude_ai_generated,
                exclude_track_ids=list(exclude_track_ids),
            ),
            explain=explain,
        )
        return self.call(self.recommendations.Recommend, request, idempotent=True, timeout=timeout)

    def converse(
        self,
        listener_id: str,
        message: str,
        *,
        session_id: str = "",
        k: int = 0,
        timeout: float | None = None,
    ) -> discovery_pb2.ConverseResponse:
        """One turn with the discovery agent (not retried). An empty ``session_id`` starts a
        conversation; pass the response's ``session_id`` to continue it. ``k`` 0 means 10."""
        request = discovery_pb2.ConverseRequest(
            session_id=session_id, listener_id=listener_id, message=message, k=k
        )
        return self.call(self.discovery.Converse, request, idempotent=False, timeout=timeout)

    def log_events(self, events: Iterable[feedback_pb2.Event]) -> feedback_pb2.LogEventsResponse:
        """Store feedback events (idempotent by event id, so retried). Needs a feedback token,
        or a listener token for the events' listener."""
        request = feedback_pb2.LogEventsRequest(events=list(events))
        return self.call(self.feedback.LogEvents, request, idempotent=True)

    def get_track(self, track_id: str) -> common_pb2.CatalogTrack:
        """One track with credits and label."""
        request = catalog_pb2.GetTrackRequest(track_id=track_id)
        return self.call(self.catalog.GetTrack, request, idempotent=True)

    def get_artist(self, artist_id: str) -> common_pb2.Artist:
        """One artist."""
        request = catalog_pb2.GetArtistRequest(artist_id=artist_id)
        return self.call(self.catalog.GetArtist, request, idempotent=True)

    def upsert_tracks(self, tracks: Iterable[common_pb2.CatalogTrack]) -> int:
        """Insert or replace tracks (admin token); returns how many."""
        request = catalog_pb2.UpsertTracksRequest(tracks=list(tracks))
        return self.call(self.catalog.UpsertTracks, request, idempotent=True).upserted

    def upsert_artists(self, artists: Iterable[common_pb2.Artist]) -> int:
        """Insert or replace artists (admin token); returns how many."""
        request = catalog_pb2.UpsertArtistsRequest(artists=list(artists))
        return self.call(self.catalog.UpsertArtists, request, idempotent=True).upserted

    def grant_consent(
        self,
        rights_holder_id: str,
        scope: rights_pb2.ConsentScope,
        reason: str = "",
        effective_at: datetime | None = None,
    ) -> rights_pb2.ConsentEntry:
        """Grant a consent scope (rights token; not retried: it appends to the ledger).

        ``effective_at`` states when the change took effect (audit only; a future time is
        INVALID_ARGUMENT); the ledger orders entries by when the service appends them.
        """
        request = rights_pb2.ConsentChangeRequest(
            rights_holder_id=rights_holder_id, scope=scope, reason=reason
        )
        if effective_at is not None:
            request.effective_at.FromDatetime(effective_at)
        return self.call(self.rights.GrantConsent, request, idempotent=False)

    def revoke_consent(
        self,
        rights_holder_id: str,
        scope: rights_pb2.ConsentScope,
        reason: str = "",
        effective_at: datetime | None = None,
    ) -> rights_pb2.ConsentEntry:
        """Revoke a consent scope (rights token; not retried); ``effective_at`` as for
        :meth:`grant_consent`."""
        request = rights_pb2.ConsentChangeRequest(
            rights_holder_id=rights_holder_id, scope=scope, reason=reason
        )
        if effective_at is not None:
            request.effective_at.FromDatetime(effective_at)
        return self.call(self.rights.RevokeConsent, request, idempotent=False)

    def consent_history(self, rights_holder_id: str = "") -> list[rights_pb2.ConsentEntry]:
        """The consent ledger, optionally for one rights holder (rights token)."""
        request = rights_pb2.ConsentHistoryRequest(rights_holder_id=rights_holder_id)
        return list(self.call(self.rights.ConsentHistory, request, idempotent=True).entries)

    def metering_report(
        self, rights_holder_id: str = "", pool: str = ""
    ) -> rights_pb2.MeteringReportResponse:
        """Plays per rights holder, and paid / withheld / forfeited shares of ``pool`` (a
        decimal string; empty means 0) (rights token)."""
        request = rights_pb2.MeteringReportRequest(rights_holder_id=rights_holder_id, pool=pool)
        return self.call(self.rights.MeteringReport, request, idempotent=True)

    def release_quarantine(self, track_id: str, reason: str = "") -> bool:
        """Release a quarantined track (rights token); False when it was not quarantined."""
        request = rights_pb2.ReleaseQuarantineRequest(track_id=track_id, reason=reason)
        return self.call(self.rights.ReleaseQuarantine, request, idempotent=True).released

    def confirm_quarantine(self, track_id: str, reason: str) -> bool:
        """Confirm a quarantine (rights token): the track's plays are forfeited. False when it
        was already confirmed; FAILED_PRECONDITION when the track is not quarantined."""
        request = rights_pb2.ConfirmQuarantineRequest(track_id=track_id, reason=reason)
        return self.call(self.rights.ConfirmQuarantine, request, idempotent=True).confirmed

    def resolve_dispute(self, track_id: str, label: int, reason: str) -> bool:
        """Decide a disputed AI declaration (rights token); ``label`` is an
        ``AI_INVOLVEMENT_*`` value. False when the track was not disputed."""
        request = rights_pb2.ResolveDisputeRequest(track_id=track_id, label=label, reason=reason)  # type: ignore[arg-type]
        return self.call(self.rights.ResolveDispute, request, idempotent=True).resolved

    def assignment(self, listener_id: str) -> experiments_pb2.Assignment:
        """The listener's experiment assignment."""
        request = experiments_pb2.GetAssignmentRequest(listener_id=listener_id)
        return self.call(self.experiments.GetAssignment, request, idempotent=True)

    def reload_artifacts(self, artifact_dir: str = "") -> admin_pb2.ReloadArtifactsResponse:
        """Reload artifacts atomically (admin token; not retried)."""
        request = admin_pb2.ReloadArtifactsRequest(artifact_dir=artifact_dir)
        return self.call(self.admin.ReloadArtifacts, request, idempotent=False, timeout=120.0)

    def reload_experiments(self) -> list[str]:
        """Reload experiment files (admin token); returns the experiments now running."""
        request = admin_pb2.ReloadExperimentsRequest()
        return list(self.call(self.admin.ReloadExperiments, request, idempotent=False).experiments)


__all__ = ["RETRYABLE", "LinerClient", "channel_target", "is_transient", "mint_listener_token"]
