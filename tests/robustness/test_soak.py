"""A soak at a fixed rate: Recommend and LogEvents mixed, no error, and the server's memory
levels off (resident memory at the end within 1.5x of what it was once warm, plus 64 MiB)."""

from __future__ import annotations

import time
import uuid

import grpc
import pytest

from recsys.api.v1 import feedback_pb2
from recsys.service import LinerClient
from tests.robustness.conftest import FEEDBACK, Service, percentile

RATE = 40.0  # calls per second


def test_fixed_rate_soak(service: Service, request: pytest.FixtureRequest) -> None:
    seconds = float(request.config.getoption("--soak"))
    errors: list[str] = []
    latencies: list[float] = []
    rss: list[tuple[float, int]] = []
    start = time.perf_counter()
    n = 0
    with LinerClient(service.target, token=FEEDBACK, timeout=30, retries=0) as client:
        while (now := time.perf_counter() - start) < seconds:
            due = n / RATE
            if now < due:
                time.sleep(due - now)
            listener = f"u_{1 + n % 80:05d}"
            t = time.perf_counter()
            try:
                slate = client.recommend(listener, k=10)
                if n % 4 == 0 and slate.items:
                    item = slate.items[n % len(slate.items)]
                    client.log_events(
                        [
                            feedback_pb2.Event(
                                event_id=uuid.uuid4().hex,
                                listener_id=listener,
                                track_id=item.track.id,
                                type=feedback_pb2.EVENT_TYPE_PLAY,
                                request_id=slate.request_id,
                                position=item.position,
                                ms_played=120_000,
                            )
                        ]
                    )
            except grpc.RpcError as exc:
                errors.append(f"{exc.code()}: {exc.details()}")  # type: ignore[attr-defined]
            latencies.append(time.perf_counter() - t)
            if n % 40 == 0:
                rss.append((time.perf_counter() - start, service.rss_kib()))
            n += 1
    warm = [kib for at, kib in rss if at >= seconds / 4] or [rss[-1][1]]
    print(
        f"\nsoak: {n} calls in {seconds:.0f} s at {RATE:g}/s, errors {len(errors)}, p50 "
        f"{percentile(latencies, 50) * 1e3:.1f} ms, p99 {percentile(latencies, 99) * 1e3:.1f} "
        f"ms; server RSS {rss[0][1] / 1024:.0f} MiB at start, {warm[0] / 1024:.0f} MiB warm, "
        f"{rss[-1][1] / 1024:.0f} MiB at the end"
    )
    assert not errors, errors[:5]
    assert rss[-1][1] <= 1.5 * warm[0] + 64 * 1024, "server memory kept growing"
