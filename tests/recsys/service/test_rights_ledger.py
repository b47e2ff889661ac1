"""RightsService over a real channel: consent in ledger order, future-dated changes refused,
metering with withheld and forfeited money, and quarantine confirmation."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import grpc
import pytest

from recsys.api.v1 import rights_pb2
from recsys.cli.serve import integrity_metering
from recsys.domain import ConsentScope, FeedbackEvent
from recsys.service.servicers import rights
from recsys.store import QuarantineRecord, SqliteStore
from tests.recsys.service.conftest import RIGHTS_TOKEN, Running, code_of

VOICE = rights_pb2.CONSENT_SCOPE_VOICE_LIKENESS


def test_a_future_effective_time_is_invalid_argument(running: Running) -> None:
    with running.client(RIGHTS_TOKEN) as client:
        for when in (datetime(2031, 1, 1, tzinfo=UTC), datetime.now(UTC) + timedelta(hours=1)):
            with pytest.raises(grpc.RpcError) as info:
                client.grant_consent("rh-ada", VOICE, "backdated deal", effective_at=when)
            assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
            assert "effective_at" in info.value.details() and "future" in info.value.details()
        assert client.consent_history("rh-ada")[-1].entry_id == "c0"  # nothing appended
        soon = datetime.now(UTC) + timedelta(seconds=30)  # within the clock skew
        assert client.grant_consent("rh-ada", VOICE, effective_at=soon).seq > 0


def test_a_historic_grant_is_audited_but_the_later_revoke_wins(running: Running) -> None:
    with running.client(RIGHTS_TOKEN) as client:
        revoked = client.revoke_consent("rh-ada", VOICE, "changed mind")
        old = datetime(2020, 5, 1, tzinfo=UTC)
        historic = client.grant_consent("rh-ada", VOICE, "contract of 2020", effective_at=old)
        assert historic.at.ToDatetime(tzinfo=UTC) == old
        assert historic.seq == revoked.seq + 1 and historic.HasField("received_at")
        # The grant was appended last: it is in force, whatever date it states.
        assert running.store.consent_state().allows("rh-ada", ConsentScope.VOICE_LIKENESS)
        again = client.revoke_consent("rh-ada", VOICE, "no after all")
    assert again.seq == historic.seq + 1
    assert not running.store.consent_state().allows("rh-ada", ConsentScope.VOICE_LIKENESS)


def test_a_server_clock_stepping_back_does_not_matter(
    running: Running, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = iter([datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC)])
    monkeypatch.setattr(rights, "service_clock", lambda: next(clock))
    with running.client(RIGHTS_TOKEN) as client:
        granted = client.grant_consent("rh-ada", VOICE, "deal")
        revoked = client.revoke_consent("rh-ada", VOICE, "changed mind")
    assert revoked.at.ToDatetime() < granted.at.ToDatetime()  # the clock went back ...
    assert revoked.seq > granted.seq  # ... the ledger did not
    # Any reader of the same file sees it on its very next read.
    other = SqliteStore(running.store.path)  # type: ignore[attr-defined]
    assert not other.consent_state().allows("rh-ada", ConsentScope.VOICE_LIKENESS)
    other.close()
    assert not running.store.consent_state().allows("rh-ada", ConsentScope.VOICE_LIKENESS)


def test_metering_report_shows_withheld_and_forfeited(
    start_server: Callable[..., Running],
) -> None:
    running = start_server(metering=integrity_metering)
    store = running.store
    store.add_events(
        FeedbackEvent(event_id=f"e{i}", listener_id="u1", track_id=t, at=datetime.now(UTC))
        for i, t in enumerate(["t1", "t1", "t2", "t2"])
    )
    if store.unscreened_ids():
        store.finish_screening(screened=store.unscreened_marks())  # type: ignore[attr-defined]
    store.record_quarantine(
        [QuarantineRecord(track_id="t2", quarantined=True, actor="screening", at=datetime.now(UTC))]
    )
    with running.client(RIGHTS_TOKEN) as client:
        held = client.metering_report(pool="100")
        assert held.pool == "100.000000" and held.withheld_plays == 2
        assert float(held.paid) + float(held.withheld) == 100
        assert (
            code_of(lambda: client.metering_report(pool="lots")) is grpc.StatusCode.INVALID_ARGUMENT
        )
        assert code_of(lambda: client.confirm_quarantine("t1", "abuse")) is (
            grpc.StatusCode.FAILED_PRECONDITION
        )
        assert client.confirm_quarantine("t2", "impersonation confirmed")
        assert not client.confirm_quarantine("t2", "again")
        after = client.metering_report(pool="100")
    assert after.forfeited_plays == 2 and after.withheld == "0.000000"
    assert after.paid == "100.000000" and after.forfeited == held.withheld
    totals = json.loads(after.report_json)["payouts"]["pro_rata"]
    assert totals["redistributed"] == after.forfeited and totals["unallocated"] == "0.000000"
    audit = store.quarantine_history("t2")[-1]
    assert audit.quarantined and audit.reasons == ("confirmed",)
    assert audit.actor.startswith("rights:")
