"""Every RPC through a real channel: happy paths and their error statuses."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import grpc
import pytest

from recsys.api.v1 import common_pb2, feedback_pb2, recommendation_pb2, rights_pb2
from recsys.store import QuarantineRecord
from tests.recsys.service.conftest import (
    ADMIN_TOKEN,
    FEEDBACK_TOKEN,
    RIGHTS_TOKEN,
    Running,
    code_of,
)
from tests.recsys.service.fakes import FakeRecommender, artifact_dir

OK = grpc.StatusCode


def test_recommend_returns_labelled_credited_items(running: Running) -> None:
    with running.client() as client:
        slate = client.recommend("u1", k=4, explain=True, exclude_track_ids=["t0"])
    assert [i.track.id for i in slate.items] == ["t1", "t2", "t3", "t4"]
    assert [i.position for i in slate.items] == [0, 1, 2, 3]
    ai, human = slate.items[0], slate.items[1]
    assert ai.ai_label.involvement == common_pb2.AI_INVOLVEMENT_GENERATED
    assert list(ai.ai_label.parts) == [common_pb2.AI_PART_VOCALS]
    assert ai.ai_label.source == common_pb2.LABEL_SOURCE_DETECTED
    assert ai.ai_label.references_artist_ids == ["a-human"]
    assert human.ai_label.involvement == common_pb2.AI_INVOLVEMENT_NONE
    assert human.credits[0].name == "Ada Human"
    assert human.credits[0].artist_kind == common_pb2.ARTIST_KIND_HUMAN
    assert human.credits[0].verified
    assert human.reasons and dict(human.contributions) == {"ann": 0.5}
    assert slate.request_id == running.recommender.calls[0].request_id


def test_recommend_honours_caller_request_id_and_defaults(running: Running) -> None:
    with running.client() as client:
        request = recommendation_pb2.RecommendRequest(listener_id="u1", request_id="req-42")
        response, call = client.recommendations.Recommend.with_call(request, timeout=5)
    sent = running.recommender.calls[0]
    assert response.request_id == "req-42" == sent.request_id
    assert sent.k == 10 and sent.surface == "home"
    assert ("x-request-id", "req-42") in call.trailing_metadata()


def test_recommend_unavailable_before_artifacts_load(start_server: Callable[..., Running]) -> None:
    running = start_server(load=False)
    with running.client(retries=0) as client:
        assert code_of(lambda: client.recommend("u1")) is OK.UNAVAILABLE


def test_log_events_is_idempotent(running: Running) -> None:
    at = datetime(2025, 1, 2, tzinfo=UTC)
    events = [
        feedback_pb2.Event(event_id=f"e{i}", listener_id="u1", track_id="t0",
                           type=feedback_pb2.EVENT_TYPE_PLAY, request_id="r1", position=i)
        for i in range(3)
    ]  # fmt: skip
    events[0].at.FromDatetime(at)
    with running.client(FEEDBACK_TOKEN) as client:
        first = client.log_events(events)
        like = feedback_pb2.Event(
            event_id="e9", listener_id="u1", track_id="t2", type=feedback_pb2.EVENT_TYPE_LIKE
        )
        again = client.log_events([*events, like])
    assert (first.accepted, first.duplicates) == (3, 0)
    assert (again.accepted, again.duplicates) == (1, 3)
    stored = running.store.listener_events("u1")
    assert {e.event_id for e in stored} == {"e0", "e1", "e2", "e9"}
    assert next(e for e in stored if e.event_id == "e0").at == at


def test_catalog_upsert_and_get(running: Running) -> None:
    track = common_pb2.CatalogTrack(
        track=common_pb2.Track(id="new1", title="Fresh", genre="folk", tags=["warm"],
                               release_date="2024-05-01", duration_ms=200_000),
        credits=[common_pb2.Credit(artist_id="a-new", role=common_pb2.CREDIT_ROLE_PRIMARY,
                                   share=1.0)],
        ai_label=common_pb2.AiLabel(involvement=common_pb2.AI_INVOLVEMENT_ASSISTED,
                                    parts=[common_pb2.AI_PART_PRODUCTION],
                                    source=common_pb2.LABEL_SOURCE_DECLARED, confidence=1.0),
    )  # fmt: skip
    artist = common_pb2.Artist(id="a-new", name="New Voice", kind=common_pb2.ARTIST_KIND_HUMAN)
    with running.client(ADMIN_TOKEN) as client:
        assert client.upsert_artists([artist]) == 1
        assert client.upsert_tracks([track]) == 1
        got = client.get_track("new1")
        got_artist = client.get_artist("a-new")
        assert code_of(lambda: client.get_track("nope")) is OK.NOT_FOUND
        assert code_of(lambda: client.get_artist("nope")) is OK.NOT_FOUND
    assert got.track.title == "Fresh" and got.track.release_date == "2024-05-01"
    assert got.credits[0].name == "New Voice"
    assert got.ai_label.involvement == common_pb2.AI_INVOLVEMENT_ASSISTED
    assert got_artist.rights_holder_id == "a-new"  # defaults to the artist itself


def test_consent_grant_revoke_history(running: Running) -> None:
    scope = rights_pb2.CONSENT_SCOPE_VOICE_LIKENESS
    with running.client(RIGHTS_TOKEN) as client:
        granted = client.grant_consent("rh-ada", scope, "label deal")
        revoked = client.revoke_consent("rh-ada", scope, "changed mind")
        history = client.consent_history("rh-ada")
    assert granted.action == rights_pb2.CONSENT_ACTION_GRANT
    assert revoked.action == rights_pb2.CONSENT_ACTION_REVOKE
    assert revoked.actor.startswith("rights:") and RIGHTS_TOKEN not in revoked.actor
    assert [e.entry_id for e in history][-2:] == [granted.entry_id, revoked.entry_id]
    assert not running.store.consent_state().allows("rh-ada", "voice_likeness")  # type: ignore[arg-type]


def test_metering_report(start_server: Callable[..., Running]) -> None:
    def metering(store: Any, holder: str | None) -> dict[str, Any]:
        return {"plays": 4, "attribution_completeness": 0.75, "ai_influenced_share": 0.25,
                "holders": [{"rights_holder_id": holder or "rh-ada", "plays": "3.5",
                             "ai_influenced_plays": "1"}]}  # fmt: skip

    running = start_server(metering=metering)
    with running.client(RIGHTS_TOKEN) as client:
        report = client.metering_report("rh-x")
    assert report.total_plays == 4 and report.attribution_completeness == 0.75
    assert report.rows[0].rights_holder_id == "rh-x" and report.rows[0].credited_plays == 3.5
    assert json.loads(report.report_json)["plays"] == 4


def test_metering_unimplemented_without_reporter(running: Running) -> None:
    with running.client(RIGHTS_TOKEN) as client:
        assert code_of(lambda: client.metering_report()) is OK.UNIMPLEMENTED


def test_release_quarantine(running: Running) -> None:
    running.store.record_quarantine(
        [QuarantineRecord(track_id="t3", quarantined=True, reasons=("upload_burst",),
                          actor="screening", at=datetime.now(UTC))]
    )  # fmt: skip
    with running.client(RIGHTS_TOKEN) as client:
        assert client.release_quarantine("t3", "appeal upheld") is True
        assert client.release_quarantine("t3", "again") is False
        assert code_of(lambda: client.release_quarantine("t3", "")) is OK.INVALID_ARGUMENT
        assert code_of(lambda: client.release_quarantine("zz", "x")) is OK.NOT_FOUND
    assert "t3" not in running.store.quarantined_ids()
    assert running.store.quarantine_history("t3")[-1].actor.startswith("rights:")


def test_assignment_defaults(running: Running) -> None:
    with running.client() as client:
        assignment = client.assignment("u1")
    assert assignment.label == "" and json.loads(assignment.params_json)["labels"] is True


def test_assignment_from_experiments(start_server: Callable[..., Running]) -> None:
    from recsys.params import PolicyParams

    running = start_server()
    exposure = SimpleNamespace(experiment="boost", variant="high")
    running.state._experiments_loader = lambda: SimpleNamespace(  # type: ignore[assignment]
        assign=lambda lid: SimpleNamespace(
            params=PolicyParams(human_artist_boost=0.3), label="boost:high", exposures=(exposure,)
        ),
        experiments=(SimpleNamespace(name="boost"),),
    )
    with running.client(ADMIN_TOKEN) as client:
        assert client.reload_experiments() == ["boost"]
        assignment = client.assignment("u1")
        slate = client.recommend("u1", k=1)
    assert assignment.label == "boost:high"
    assert (assignment.exposures[0].experiment, assignment.exposures[0].variant) == (
        "boost",
        "high",
    )
    assert slate.variant == "boost:high"
    assert running.recommender.calls[-1].params.human_artist_boost == 0.3
    exposures = running.server.deps.metrics.registry.get_sample_value(
        "liner_experiment_exposures_total", {"experiment": "boost", "variant": "high"}
    )
    assert exposures == 1.0


def test_converse_unimplemented_without_agent(running: Running) -> None:
    with running.client() as client:
        assert code_of(lambda: client.converse("u1", "upbeat indie")) is OK.UNIMPLEMENTED


def test_converse_with_agent(start_server: Callable[..., Running]) -> None:
    rec = FakeRecommender()

    class Agent:
        def ask(self, message: str, *, listener_id: str, session_id: str | None, k: int) -> Any:
            from recsys.pipeline.api import RecommendRequest

            slate = rec.recommend(RecommendRequest(listener_id=listener_id, k=2))
            call = SimpleNamespace(tool="search", arguments={"q": message}, count=2, ms=1.5)
            return SimpleNamespace(summary="two picks", items=slate.items, trace=[call],
                                   session_id="s-1")  # fmt: skip

    running = start_server(conversation=Agent())
    with running.client() as client:
        answer = client.converse("u1", "upbeat indie")
    assert answer.summary == "two picks" and answer.session_id == "s-1"
    assert len(answer.items) == 2 and answer.items[1].ai_label.involvement
    assert json.loads(answer.trace[0].arguments_json) == {"q": "upbeat indie"}


def test_reload_artifacts_swaps_and_bad_dir_keeps_serving(running: Running, tmp_path: Any) -> None:
    bad = artifact_dir(tmp_path, "bad")
    (bad / "vectors.txt").write_text("tampered\n")
    with running.client(ADMIN_TOKEN) as client:
        before = client.recommend("u1", k=1).items[0].reasons[0]
        reloaded = client.reload_artifacts()
        after = client.recommend("u1", k=1).items[0].reasons[0]
        assert code_of(lambda: client.reload_artifacts(str(bad))) is OK.FAILED_PRECONDITION
        assert code_of(lambda: client.reload_artifacts(str(tmp_path / "none"))) is (
            OK.FAILED_PRECONDITION
        )
        still = client.recommend("u1", k=1).items[0].reasons[0]
    assert before.startswith("v1:") and after.startswith("v2:") and still == after
    assert reloaded.artifact_dir == str(running.artifacts) and len(reloaded.version) == 16


@pytest.mark.parametrize("code_name", ["INVALID_ARGUMENT", "NOT_FOUND", "UNAUTHENTICATED",
                                       "PERMISSION_DENIED", "UNAVAILABLE", "UNIMPLEMENTED",
                                       "FAILED_PRECONDITION", "RESOURCE_EXHAUSTED"])  # fmt: skip
def test_status_mapping_covers(code_name: str) -> None:
    from recsys.service.status import STATUS_BY_ERROR

    assert code_name in {code.name for _, code in STATUS_BY_ERROR}


def test_unexpected_error_is_internal_without_details(start_server: Callable[..., Running]) -> None:
    class Broken(FakeRecommender):
        def recommend(self, request: Any) -> Any:
            raise RuntimeError("secret path /etc/x")

    running = start_server(Broken())
    with running.client() as client, pytest.raises(grpc.RpcError) as info:
        client.recommend("u1")
    assert info.value.code() is OK.INTERNAL  # type: ignore[attr-defined]
    assert "secret" not in info.value.details()  # type: ignore[attr-defined]


def test_resolve_dispute(running: Running) -> None:
    from recsys.api.v1 import common_pb2
    from recsys.domain import AiInvolvement
    from recsys.store import DisputeRecord

    running.store.record_disputes(
        [DisputeRecord(track_id="t3", opened=True, declared=AiInvolvement.NONE, probability=0.97,
                       evidence={"text": "made with suno"}, actor="screening",
                       at=datetime.now(UTC))]
    )  # fmt: skip
    generated = common_pb2.AI_INVOLVEMENT_GENERATED
    with running.client(RIGHTS_TOKEN) as client:
        shown = client.get_track("t3").ai_label
        assert shown.source == common_pb2.LABEL_SOURCE_DISPUTED
        assert code_of(lambda: client.resolve_dispute("t3", generated, "")) is OK.INVALID_ARGUMENT
        undisclosed = common_pb2.AI_INVOLVEMENT_UNDISCLOSED
        assert (
            code_of(lambda: client.resolve_dispute("t3", undisclosed, "x")) is OK.INVALID_ARGUMENT
        )
        assert code_of(lambda: client.resolve_dispute("zz", generated, "x")) is OK.NOT_FOUND
        assert client.resolve_dispute("t3", generated, "uploader agreed") is True
        assert client.resolve_dispute("t3", generated, "again") is False
        assert client.get_track("t3").ai_label.involvement == generated
    with running.client() as anonymous:
        assert code_of(lambda: anonymous.resolve_dispute("t3", generated, "x")) in {
            OK.UNAUTHENTICATED,
            OK.PERMISSION_DENIED,
        }
    assert "t3" not in running.store.disputed_ids()
    decision = running.store.dispute_history("t3")[-1]
    assert decision.actor.startswith("rights:") and decision.reason == "uploader agreed"
