"""Domain -> protobuf conversion of served items (built in place): every field lands."""

from __future__ import annotations

import datetime as dt

from recsys.api.v1 import common_pb2 as pbc
from recsys.domain import (
    AiInvolvement,
    AiPart,
    Artist,
    ArtistKind,
    Credit,
    CreditRole,
    LabelSource,
    Provenance,
    Track,
)
from recsys.pipeline.api import Recommendation, RecommendedItem
from recsys.service import convert

TRACK = Track(
    track_id="t1", title="Night", genre="jazz", tags=("calm", "late"), duration_ms=1234,
    release_date=dt.date(2020, 1, 2), description="d", uploader_id="up",
    credits=(Credit(artist_id="a1", share=0.5, role=CreditRole.FEATURED),
             Credit(artist_id="gone", share=0.5)),
    provenance=Provenance(
        ai_involvement=AiInvolvement.ASSISTED, ai_parts=(AiPart.VOCALS, AiPart.LYRICS),
        label_source=LabelSource.DETECTED, confidence=0.75, references_artist_ids=("a9",),
    ),
)  # fmt: skip
ARTIST = Artist(
    artist_id="a1", name="Persona", kind=ArtistKind.AI_PERSONA, verified=True, rights_holder_id="r"
)
EXPECTED_CREDITS = [
    pbc.Credit(artist_id="a1", name="Persona", role=pbc.CREDIT_ROLE_FEATURED, share=0.5,
               artist_kind=pbc.ARTIST_KIND_AI_PERSONA, verified=True),
    pbc.Credit(artist_id="gone", role=pbc.CREDIT_ROLE_PRIMARY, share=0.5,
               artist_kind=pbc.ARTIST_KIND_UNKNOWN),
]  # fmt: skip
EXPECTED_LABEL = pbc.AiLabel(
    involvement=pbc.AI_INVOLVEMENT_ASSISTED, parts=[pbc.AI_PART_VOCALS, pbc.AI_PART_LYRICS],
    source=pbc.LABEL_SOURCE_DETECTED, confidence=0.75, references_artist_ids=["a9"],
)  # fmt: skip
EXPECTED_TRACK = pbc.Track(
    id="t1", title="Night", genre="jazz", tags=["calm", "late"], duration_ms=1234,
    release_date="2020-01-02", description="d",
)  # fmt: skip


def test_slate_items_carry_track_credits_label_and_scores() -> None:
    item = RecommendedItem(
        track=TRACK, artists=(ARTIST,), position=3, score=0.5, reasons=("because",),
        sources=("personal",), contributions={"ann": 0.25},
    )  # fmt: skip
    rec = Recommendation(request_id="r1", listener_id="u", variant="B", items=(item,), stage_ms={})
    msg = convert.recommendation_pb(rec)
    assert (msg.request_id, msg.variant, len(msg.items)) == ("r1", "B", 1)
    expected = pbc.RecommendedItem(
        track=EXPECTED_TRACK, credits=EXPECTED_CREDITS, ai_label=EXPECTED_LABEL,
        reasons=["because"], score=0.5, position=3, sources=["personal"],
        contributions={"ann": 0.25},
    )  # fmt: skip
    assert msg.items[0] == expected == convert.item_pb(item)


def test_catalog_track_and_unlabelled_defaults() -> None:
    msg = convert.catalog_track_pb(TRACK, {"a1": ARTIST})
    assert msg == pbc.CatalogTrack(
        track=EXPECTED_TRACK, credits=EXPECTED_CREDITS, ai_label=EXPECTED_LABEL, uploader_id="up"
    )
    plain = convert.ai_label_pb(Provenance())
    assert plain.involvement == pbc.AI_INVOLVEMENT_UNDISCLOSED and list(plain.parts) == []
    assert convert.credits_pb(TRACK, {}) == [
        pbc.Credit(artist_id=c.artist_id, role=c.role, share=0.5,
                   artist_kind=pbc.ARTIST_KIND_UNKNOWN)
        for c in EXPECTED_CREDITS
    ]  # fmt: skip


def test_slate_notes_reach_the_response() -> None:
    rec = Recommendation(
        request_id="r2", listener_id="u", variant="", items=(), notes=("nothing matches 'x'",)
    )
    assert list(convert.recommendation_pb(rec).notes) == ["nothing matches 'x'"]
