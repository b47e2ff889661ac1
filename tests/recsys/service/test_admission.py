"""Admission decisions with a fake clock and a known service time: which call runs, which
waits in the line, which is refused (and with what retry-after hint), and how slots pass on."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

from recsys.api.v1 import recommendation_pb2
from recsys.service.limits import (
    Admission,
    AdmissionRefusedError,
    MethodLimit,
    ServiceTime,
    Slot,
    Waiter,
)
from recsys.service.server import method_limits
from recsys.settings import LinerSettings
from tests.recsys.service.conftest import Running
from tests.recsys.service.fakes import FakeRecommender
from tests.recsys.service.test_server import wait_until


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def admission(
    clock: Clock, *, concurrency: int = 1, queue: int = 2, max_wait: float = 1.0, ms: float = 10
) -> Admission:
    return Admission(
        {"Recommend": MethodLimit(concurrency, queue=queue, max_wait=max_wait)},
        clock=clock,
        times={"Recommend": ServiceTime(initial=ms / 1000.0)},
    )


def test_a_free_slot_runs_at_once_and_a_short_wait_queues() -> None:
    clock = Clock()
    adm = admission(clock)
    running = adm.enter("Recommend")
    assert isinstance(running, Slot)
    clock.now += 0.002  # 8 ms of the 10 ms slate left
    assert adm.expected_wait("Recommend") == pytest.approx(0.008)
    assert isinstance(adm.enter("Recommend"), Waiter)
    assert (adm.in_flight("Recommend"), adm.waiting("Recommend")) == (1, 1)


def test_a_call_that_would_wait_longer_than_a_service_time_is_refused_with_the_drain_time() -> None:
    clock = Clock()
    adm = admission(clock)
    adm.enter("Recommend")
    clock.now += 0.002
    adm.enter("Recommend")
    # 8 ms left of the running slate plus 10 ms for the one waiting: 18 ms > 1 x 10 ms.
    with pytest.raises(AdmissionRefusedError, match=r"Recommend: .*18 ms expected") as refused:
        adm.enter("Recommend")
    assert refused.value.retry_after_s == pytest.approx(0.018)
    assert "retry after 18 ms" in str(refused.value)
    assert adm.waiting("Recommend") == 1  # the refused call left nothing behind


def test_a_larger_wait_budget_admits_more_up_to_the_line_limit() -> None:
    clock = Clock()
    adm = admission(clock, queue=2, max_wait=3.0)
    adm.enter("Recommend")
    assert isinstance(adm.enter("Recommend"), Waiter)  # 10 ms
    assert isinstance(adm.enter("Recommend"), Waiter)  # 20 ms <= 30 ms
    with pytest.raises(AdmissionRefusedError, match=r"limit 1 \+ 2"):
        adm.enter("Recommend")  # 30 ms would do, but the line is full


def test_no_wait_budget_admits_only_to_a_free_slot() -> None:
    clock = Clock()
    adm = admission(clock, max_wait=0.0)
    adm.enter("Recommend")
    clock.now += 0.050  # the running slate overran its estimate: expected wait 0
    assert isinstance(adm.enter("Recommend"), Waiter)
    with pytest.raises(AdmissionRefusedError):
        adm.enter("Recommend")


def test_expected_wait_over_several_slots() -> None:
    clock = Clock()
    adm = admission(clock, concurrency=2, queue=4, max_wait=10.0)
    adm.enter("Recommend")  # ends at +10 ms
    clock.now += 0.004
    adm.enter("Recommend")  # ends at +14 ms
    clock.now += 0.002  # now +6 ms: slots free in 4 ms and 8 ms
    assert adm.expected_wait("Recommend") == pytest.approx(0.004)
    adm.enter("Recommend")  # takes the first slot at 4 ms, done at 14 ms
    assert adm.expected_wait("Recommend") == pytest.approx(0.008)
    adm.enter("Recommend")  # takes the second at 8 ms, done at 18 ms
    assert adm.expected_wait("Recommend") == pytest.approx(0.014)


def test_release_measures_the_call_and_hands_the_slot_to_the_first_waiter() -> None:
    clock = Clock()
    times = ServiceTime(weight=0.5, initial=0.010)
    adm = Admission(
        {"Recommend": MethodLimit(1, queue=2, max_wait=5.0)},
        clock=clock,
        times={"Recommend": times},
    )
    running = adm.enter("Recommend")
    first, second = adm.enter("Recommend"), adm.enter("Recommend")
    assert isinstance(running, Slot)
    assert isinstance(first, Waiter)
    assert isinstance(second, Waiter)
    clock.now += 0.020
    adm.release(running)
    assert times.seconds == pytest.approx(0.015)  # half way from 10 ms to the measured 20 ms
    assert first.ready.is_set()
    assert first.slot is not None
    assert first.slot.started == clock.now
    assert not second.ready.is_set()
    assert (adm.in_flight("Recommend"), adm.waiting("Recommend")) == (1, 1)
    adm.release(first.slot)
    assert second.slot is not None
    adm.release(second.slot)
    assert (adm.in_flight("Recommend"), adm.waiting("Recommend")) == (0, 0)
    adm.release(second.slot)  # a second release of the same slot changes nothing
    assert adm.in_flight("Recommend") == 0


def test_a_waiter_that_gives_up_leaves_the_line_unless_it_was_just_handed_a_slot() -> None:
    clock = Clock()
    adm = admission(clock, max_wait=5.0)
    running = adm.enter("Recommend")
    late, lucky = adm.enter("Recommend"), adm.enter("Recommend")
    assert isinstance(running, Slot)
    assert isinstance(late, Waiter)
    assert isinstance(lucky, Waiter)
    with pytest.raises(AdmissionRefusedError, match="no slot within"):
        adm.give_up(late, "Recommend", 0.02)
    assert adm.waiting("Recommend") == 1
    adm.release(running)  # passes to `lucky`, the only one left in the line
    assert adm.give_up(lucky, "Recommend", 0.02) is lucky.slot


def test_wait_returns_the_slot_a_release_hands_over() -> None:
    adm = Admission({"Recommend": MethodLimit(1, queue=1)})
    running = adm.enter("Recommend")
    waiter = adm.enter("Recommend")
    assert isinstance(running, Slot)
    assert isinstance(waiter, Waiter)
    waiter.admitted_wait = 60.0  # patience far beyond what the test needs
    got: list[Slot] = []
    thread = threading.Thread(target=lambda: got.append(adm.wait(waiter, "Recommend")))
    thread.start()
    adm.release(running)
    thread.join(30)
    assert got == [waiter.slot]


def test_a_waiter_past_its_deadline_is_refused_without_waiting() -> None:
    adm = Admission({"Recommend": MethodLimit(1, queue=1)})
    adm.enter("Recommend")
    waiter = adm.enter("Recommend")
    assert isinstance(waiter, Waiter)
    with pytest.raises(AdmissionRefusedError):
        adm.wait(waiter, "Recommend", deadline_s=0.0)
    assert adm.waiting("Recommend") == 0


def test_caps_without_a_line_refuse_at_once_and_other_methods_pass() -> None:
    adm = Admission({"MeteringReport": MethodLimit(1)})
    with adm.slot("MeteringReport"):
        with pytest.raises(AdmissionRefusedError, match=r"MeteringReport: .*limit 1\)"):
            adm.enter("MeteringReport")
        with adm.slot("Recommend"):  # not limited
            assert adm.in_flight("MeteringReport") == 1
    assert adm.in_flight("MeteringReport") == 0
    assert adm.enter("Recommend") is None


def test_before_any_call_is_measured_the_line_fills_up_to_its_limit() -> None:
    adm = Admission({"Recommend": MethodLimit(1, queue=2)}, clock=Clock())
    assert isinstance(adm.enter("Recommend"), Slot)
    assert isinstance(adm.enter("Recommend"), Waiter)
    assert isinstance(adm.enter("Recommend"), Waiter)
    with pytest.raises(AdmissionRefusedError):
        adm.enter("Recommend")


def test_service_time_is_an_exponentially_weighted_mean() -> None:
    times = ServiceTime(weight=0.25)
    assert times.seconds == 0.0
    times.observe(0.008)
    assert times.seconds == pytest.approx(0.008)
    times.observe(0.016)
    assert times.seconds == pytest.approx(0.010)


@pytest.mark.parametrize(
    ("cpus", "threads", "slates", "line"),
    [(1, 8, 1, 1), (2, 8, 2, 2), (2, 4, 2, 1), (2, 2, 2, 0), (8, 4, 4, 0)],
)
def test_slates_at_once_follow_the_cpus_and_the_line_fits_the_threads(
    cpus: int, threads: int, slates: int, line: int
) -> None:
    limits = method_limits(LinerSettings(max_workers=threads), cpus)
    assert limits["Recommend"] == MethodLimit(slates, queue=line, max_wait=1.0)
    # Rights and metering reports, reloads and catalog writes have their own caps, no line.
    assert limits["MeteringReport"].concurrency <= max(1, threads // 4)
    assert all(limits[m].queue == 0 for m in ("MeteringReport", "ReloadArtifacts", "UpsertTracks"))


def test_admission_settings() -> None:
    settings = LinerSettings(
        max_workers=8, recommend_concurrency=3, recommend_queue=3, recommend_max_wait=2.5
    )
    assert method_limits(settings, 1)["Recommend"] == MethodLimit(3, queue=3, max_wait=2.5)


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="concurrency"):
        MethodLimit(0)
    with pytest.raises(ValueError, match="negative"):
        MethodLimit(1, queue=-1)


def test_calls_refused_on_arrival_answer_with_the_hint_count_and_log_once_a_second(
    start_server: Callable[..., Running], gate: threading.Event, caplog: pytest.LogCaptureFixture
) -> None:
    """With every slot and the line taken, later calls are refused before they get a worker
    thread: RESOURCE_EXHAUSTED naming the method with the pushback trailer and the caller's
    request id, each one counted, and the request log gets one line for the first refusal of
    a second, carrying how many it stands for."""
    rec = FakeRecommender(gate=gate)
    running = start_server(rec, max_workers=8, recommend_concurrency=1, recommend_queue=1)
    admission = running.server.admission
    metrics = running.server.deps.metrics
    with (
        caplog.at_level(logging.INFO, logger="recsys.service.requestlog"),
        running.client(retries=0) as client,
        ThreadPoolExecutor(2) as pool,
    ):
        held = [pool.submit(client.recommend, f"u{i}", timeout=20) for i in range(2)]
        wait_until(lambda: admission.in_flight("Recommend") == 1)
        wait_until(lambda: admission.waiting("Recommend") == 1)
        assert admission.would_refuse("Recommend")
        for i in range(3):
            with pytest.raises(grpc.RpcError) as refused:
                client.recommendations.Recommend(
                    recommendation_pb2.RecommendRequest(listener_id="late", k=2),
                    timeout=20,
                    metadata=(("x-request-id", f"late-{i}"),),
                )
            assert refused.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
            assert refused.value.details().startswith("Recommend: too many concurrent calls")
            trailers = dict(refused.value.trailing_metadata())
            assert trailers["x-request-id"] == f"late-{i}"
            assert int(trailers["grpc-retry-pushback-ms"]) >= 1
        gate.set()
        assert all(len(f.result().items) == 10 for f in held)
    assert len(rec.calls) == 2  # the refused calls never reached the recommender
    counted = metrics.registry.get_sample_value(
        "liner_rpc_requests_total", {"method": "Recommend", "code": "RESOURCE_EXHAUSTED"}
    )
    assert counted == 3.0
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name.endswith("requestlog")]
    refusals = [line for line in lines if line["code"] == "RESOURCE_EXHAUSTED"]
    assert refusals[0]["request_id"] == "late-0"
    assert refusals[0]["refused"] == 1
    assert sum(line["refused"] for line in refusals) <= 3
