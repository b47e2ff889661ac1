"""Admission control: each method runs as many calls at once as it can serve well, a short FIFO
line waits for a slot only while the expected wait is short, and every other call is refused at
once with RESOURCE_EXHAUSTED and a retry-after hint.

What a Liner Notes process can do is bounded by its CPUs, not its threads: a slate is CPU work
that holds the GIL for most of its time, so two slates at once on one core each take about
twice as long, and a call that waits behind three others takes four service times. The
admission therefore works per method (:class:`MethodLimit`):

* ``concurrency`` calls of the method execute at once (``Recommend``: one per CPU the process
  may use, see :func:`usable_cpus`; the catalog writes, reloads, the agent and the rights
  reports each get their own small cap, so they can never take the threads ``Recommend``
  needs, and ``MeteringReport`` is served from a cached report besides);
* beyond them, up to ``queue`` calls wait in a FIFO line, but only while the wait a new call
  can expect is at most ``max_wait`` service times. The expected wait is computed from what
  is in flight: each executing call's remaining time (the method's recent service time, an
  exponentially weighted mean of measured calls, less how long it has run) and one service
  time per call already waiting, over the ``concurrency`` slots. So an accepted call waits
  about one service time at most and its latency stays a small multiple of the unloaded
  latency, however many calls arrive;
* everything else is refused at once, before the request reaches the servicer, with
  :class:`AdmissionRefusedError` (RESOURCE_EXHAUSTED) carrying ``retry_after_s``: the time
  the calls ahead would take to drain. The interceptor sends it as the
  ``grpc-retry-pushback-ms`` trailer (gRPC's standard server pushback: a client with a gRPC
  retry policy waits that long) and in the message. A call that would be refused on arrival
  (:meth:`Admission.would_refuse`, asked in gRPC's polling thread) is refused on one thread of
  its own without parsing its request (``calls.py``), so refusals take one thread's share of
  the GIL and little of the core;
* a waiting call that has not got a slot after ``patience`` (twice the wait it was admitted
  for, at least :data:`MIN_PATIENCE_S`, never beyond its deadline) is refused rather than
  left to wait: a stuck call cannot pile the line up behind it.

Methods without a :class:`MethodLimit` are not limited here. gRPC's own
``maximum_concurrent_rpcs`` (set by the server from the thread count) stays as the outer
bound: when more calls than that are in the process at once (refusals waiting for their thread
included), gRPC refuses the next in its polling thread, RESOURCE_EXHAUSTED without a hint.
Each serving process (``liner serve --workers N``) has its own admission; unpinned workers
each see every CPU, so set ``recommend_concurrency`` to the CPUs over the workers there.

Example:
    admission = Admission({"Recommend": MethodLimit(concurrency=2, queue=2, max_wait=1.0)})
    with admission.slot("Recommend"):   # raises AdmissionRefusedError when the line is too long
        ...
"""

from __future__ import annotations

import heapq
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from recsys.service.errors import OverloadedError

MIN_PATIENCE_S = 0.05
"""The least time a waiting call waits for its slot before it is refused."""
MIN_RETRY_AFTER_S = 0.001


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, e.g. one with ``--pin-workers``)."""
    return max(1, len(os.sched_getaffinity(0)))


class AdmissionRefusedError(OverloadedError):
    """A call refused by admission (RESOURCE_EXHAUSTED).

    Attributes:
        method: the method's short name.
        retry_after_s: when the calls ahead of it should have drained; a hint, not a promise.
    """

    def __init__(self, method: str, reason: str, retry_after_s: float) -> None:
        self.method = method
        self.retry_after_s = max(MIN_RETRY_AFTER_S, retry_after_s)
        super().__init__(f"{method}: {reason}; retry after {self.retry_after_ms} ms")

    @property
    def retry_after_ms(self) -> int:
        """``retry_after_s`` in whole milliseconds, rounded up."""
        return math.ceil(round(self.retry_after_s * 1000.0, 6))


@dataclass(frozen=True)
class MethodLimit:
    """How one method is admitted.

    Attributes:
        concurrency: calls of the method executing at once.
        queue: calls that may wait (FIFO) for a slot beyond them; 0 refuses at once when
            every slot is taken.
        max_wait: the longest wait an admitted call may expect, in service times of the
            method (its recent mean); with ``queue`` 0 it has no effect.
    """

    concurrency: int
    queue: int = 0
    max_wait: float = 1.0

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        if self.queue < 0 or self.max_wait < 0:
            raise ValueError("queue and max_wait must not be negative")


class ServiceTime:
    """A method's recent service time: the exponentially weighted mean of measured calls.

    Args:
        weight: the weight of each new measurement (0.2: about the last ten calls count).
        initial: the estimate before any call was measured (None: unknown, taken as 0).
    """

    def __init__(self, weight: float = 0.2, initial: float | None = None) -> None:
        if not 0.0 < weight <= 1.0:
            raise ValueError("weight must be in (0, 1]")
        self.weight = weight
        self.mean = initial

    def observe(self, seconds: float) -> None:
        """Fold in one call's measured service time."""
        seconds = max(0.0, seconds)
        self.mean = (
            seconds if self.mean is None else self.mean + self.weight * (seconds - self.mean)
        )

    @property
    def seconds(self) -> float:
        """The estimate (0 before any call was measured)."""
        return self.mean or 0.0


class Slot:
    """A held execution slot of one method (give it back with :meth:`Admission.release`)."""

    __slots__ = ("key", "started")

    def __init__(self, key: str, started: float) -> None:
        self.key = key
        self.started = started


class Waiter:
    """A call waiting in a method's line; ``slot`` is set when one is handed to it."""

    __slots__ = ("admitted_wait", "ready", "slot")

    def __init__(self, admitted_wait: float) -> None:
        self.admitted_wait = admitted_wait
        self.ready = threading.Event()
        self.slot: Slot | None = None


class _Gate:
    """One method's slots, line and service time."""

    def __init__(self, limit: MethodLimit, times: ServiceTime) -> None:
        self.limit = limit
        self.times = times
        self.running: dict[int, Slot] = {}
        self.line: deque[Waiter] = deque()


class Admission:
    """Per-method admission (see the module docstring). Thread-safe.

    Args:
        limits: each limited method's :class:`MethodLimit` (keys are short method names).
        clock: monotonic seconds (a fake one in tests).
        times: the service-time estimator of each key (default a fresh :class:`ServiceTime`).
    """

    def __init__(
        self,
        limits: Mapping[str, MethodLimit],
        *,
        clock: Callable[[], float] = time.monotonic,
        times: Mapping[str, ServiceTime] | None = None,
    ) -> None:
        self._clock = clock
        self._gates = {
            key: _Gate(limit, (times or {}).get(key) or ServiceTime())
            for key, limit in limits.items()
        }
        self._lock = threading.Lock()

    def limits(self, key: str) -> bool:
        """Whether ``key`` is limited (calls of other keys need no slot)."""
        return key in self._gates

    def limit(self, key: str) -> MethodLimit | None:
        """The :class:`MethodLimit` of ``key``, if any."""
        gate = self._gates.get(key)
        return gate.limit if gate else None

    def in_flight(self, key: str) -> int:
        """Calls of ``key`` executing now."""
        with self._lock:
            gate = self._gates.get(key)
            return len(gate.running) if gate else 0

    def waiting(self, key: str) -> int:
        """Calls of ``key`` waiting in its line now."""
        with self._lock:
            gate = self._gates.get(key)
            return len(gate.line) if gate else 0

    def service_time(self, key: str) -> float:
        """The recent service time of ``key`` in seconds (0 before any call or if unlimited)."""
        gate = self._gates.get(key)
        return gate.times.seconds if gate else 0.0

    def expected_wait(self, key: str) -> float:
        """Seconds a call of ``key`` arriving now would wait for a slot."""
        with self._lock:
            return self._expected_wait(self._gates[key], self._clock())

    @staticmethod
    def _expected_wait(gate: _Gate, now: float) -> float:
        service = gate.times.seconds
        free = [max(0.0, service - (now - s.started)) for s in gate.running.values()]
        free += [0.0] * (gate.limit.concurrency - len(free))
        heapq.heapify(free)
        at = 0.0
        for _ in range(len(gate.line) + 1):  # the calls waiting, then this one
            at = heapq.heappop(free)
            heapq.heappush(free, at + service)
        return at

    def _verdict(self, gate: _Gate, now: float) -> tuple[str, float, float]:
        """("run" | "wait" | "refuse", expected wait, wait budget) for a call arriving now
        (the lock held)."""
        limit = gate.limit
        if len(gate.running) < limit.concurrency and not gate.line:
            return "run", 0.0, 0.0
        wait = self._expected_wait(gate, now)
        budget = limit.max_wait * gate.times.seconds
        if len(gate.line) < limit.queue and wait <= budget:
            return "wait", wait, budget
        return "refuse", wait, budget

    @staticmethod
    def _refusal(key: str, gate: _Gate, wait: float, budget: float) -> AdmissionRefusedError:
        limit, running, queued = gate.limit, len(gate.running), len(gate.line)
        if queued >= limit.queue:
            reason = f"{running} running and {queued} waiting (limit {limit.concurrency}"
            reason += f" + {limit.queue})" if limit.queue else ")"
        else:
            reason = (
                f"{running} running and {queued} waiting: a wait of {wait * 1000:.0f} ms "
                f"expected, over the {budget * 1000:.0f} ms allowed"
            )
        return AdmissionRefusedError(key, f"too many concurrent calls ({reason})", wait)

    def would_refuse(self, key: str) -> bool:
        """Whether a call of ``key`` arriving now would be refused (reserves nothing: the
        call is admitted or refused by :meth:`enter`). The interceptor asks this before a
        call gets a worker thread, to send the refusals to a thread of their own."""
        gate = self._gates.get(key)
        if gate is None:
            return False
        with self._lock:
            return self._verdict(gate, self._clock())[0] == "refuse"

    def refusal(self, key: str) -> AdmissionRefusedError:
        """The refusal of a call of ``key`` arriving now, with the current retry-after hint."""
        gate = self._gates[key]
        with self._lock:
            _, wait, budget = self._verdict(gate, self._clock())
            return self._refusal(key, gate, wait, budget)

    def enter(self, key: str) -> Slot | Waiter | None:
        """Decide at once: a :class:`Slot` to run now, a :class:`Waiter` in the line, or None
        for an unlimited key.

        Raises:
            AdmissionRefusedError: the slots are taken and the line is full or too slow.
        """
        gate = self._gates.get(key)
        if gate is None:
            return None
        with self._lock:
            now = self._clock()
            verdict, wait, budget = self._verdict(gate, now)
            if verdict == "run":
                slot = Slot(key, now)
                gate.running[id(slot)] = slot
                return slot
            if verdict == "wait":
                waiter = Waiter(wait)
                gate.line.append(waiter)
                return waiter
            raise self._refusal(key, gate, wait, budget)

    def wait(self, waiter: Waiter, key: str, deadline_s: float | None = None) -> Slot:
        """Block until ``waiter`` is handed a slot of ``key``.

        Waits at most twice the wait it was admitted for (at least :data:`MIN_PATIENCE_S`)
        and never past ``deadline_s`` seconds from now.

        Raises:
            AdmissionRefusedError: no slot came in time (the waiter has left the line).
        """
        patience = max(MIN_PATIENCE_S, 2.0 * waiter.admitted_wait)
        if deadline_s is not None:
            patience = min(patience, max(0.0, deadline_s))
        if waiter.ready.wait(patience):
            assert waiter.slot is not None
            return waiter.slot
        return self.give_up(waiter, key, patience)

    def give_up(self, waiter: Waiter, key: str, waited: float) -> Slot:
        """Leave the line after ``waited`` seconds without a slot (unless one was handed over
        meanwhile, which is then returned).

        Raises:
            AdmissionRefusedError: the waiter left the line.
        """
        gate = self._gates[key]
        with self._lock:
            if waiter.slot is not None:
                return waiter.slot
            gate.line.remove(waiter)
            retry = self._expected_wait(gate, self._clock())
        raise AdmissionRefusedError(key, f"no slot within {waited * 1000:.0f} ms of waiting", retry)

    def release(self, slot: Slot) -> None:
        """Give back ``slot``: its service time is measured, and the slot passes to the first
        waiting call, if any."""
        gate = self._gates[slot.key]
        with self._lock:
            now = self._clock()
            if gate.running.pop(id(slot), None) is None:
                return
            gate.times.observe(now - slot.started)
            if gate.line:
                waiter = gate.line.popleft()
                waiter.slot = Slot(slot.key, now)
                gate.running[id(waiter.slot)] = waiter.slot
                waiter.ready.set()

    @contextmanager
    def slot(self, key: str, deadline_s: float | None = None) -> Iterator[None]:
        """Hold a slot of ``key`` (waiting in its line if admitted to) for the ``with`` block.

        Raises:
            AdmissionRefusedError: refused at once, or no slot came while waiting.
        """
        entered = self.enter(key)
        if entered is None:
            yield
            return
        held = entered if isinstance(entered, Slot) else self.wait(entered, key, deadline_s)
        try:
            yield
        finally:
            self.release(held)


__all__ = [
    "MIN_PATIENCE_S",
    "Admission",
    "AdmissionRefusedError",
    "MethodLimit",
    "ServiceTime",
    "Slot",
    "Waiter",
    "usable_cpus",
]
