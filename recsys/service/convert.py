"""Protobuf <-> domain values, in one place: nothing below the service imports ``*_pb2``.

``*_from_pb`` functions validate as they convert and raise
:class:`~recsys.service.errors.RequestError` naming the field; ``*_to_pb`` functions always
fill in the AI label and credits of every track.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, is_dataclass
from datetime import UTC, date, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from recsys.api.v1 import common_pb2 as pbc
from recsys.api.v1 import experiments_pb2 as pbx
from recsys.api.v1 import feedback_pb2 as pbf
from recsys.api.v1 import recommendation_pb2 as pbr
from recsys.api.v1 import rights_pb2 as pbg
from recsys.domain import (
    AiInvolvement,
    AiPart,
    Artist,
    ArtistKind,
    ConsentAction,
    ConsentEntry,
    ConsentScope,
    Credit,
    CreditRole,
    EventType,
    FeedbackEvent,
    LabelSource,
    Provenance,
    Track,
)
from recsys.pipeline.api import (
    AudioFacts,
    Recommendation,
    RecommendedItem,
    RecommendRequest,
    RequestFilters,
)
from recsys.service import validation as v
from recsys.service.errors import RequestError
from recsys.service.state import ResolvedAssignment

INVOLVEMENT = {1: AiInvolvement.NONE, 2: AiInvolvement.ASSISTED, 3: AiInvolvement.GENERATED,
               4: AiInvolvement.UNDISCLOSED}  # fmt: skip
PARTS = {1: AiPart.COMPOSITION, 2: AiPart.LYRICS, 3: AiPart.VOCALS, 4: AiPart.INSTRUMENTATION,
         5: AiPart.PRODUCTION}  # fmt: skip
SOURCES = {1: LabelSource.DECLARED, 2: LabelSource.DETECTED}
KINDS = {1: ArtistKind.HUMAN, 2: ArtistKind.AI_PERSONA, 3: ArtistKind.UNKNOWN}
ROLES = {1: CreditRole.PRIMARY, 2: CreditRole.FEATURED, 3: CreditRole.COMPOSER,
         4: CreditRole.LYRICIST, 5: CreditRole.PRODUCER, 6: CreditRole.PERFORMER}  # fmt: skip
EVENTS = {1: EventType.PLAY, 2: EventType.SKIP, 3: EventType.LIKE, 4: EventType.SAVE,
          5: EventType.DISLIKE}  # fmt: skip
SCOPES = {1: ConsentScope.AI_TRAINING, 2: ConsentScope.AI_STYLE_REFERENCE,
          3: ConsentScope.VOICE_LIKENESS}  # fmt: skip
ACTIONS = {1: ConsentAction.GRANT, 2: ConsentAction.REVOKE}
SURFACES = {0: "home", 1: "home", 2: "radio", 3: "search", 4: "agent"}


def _number(mapping: Mapping[int, Any]) -> Callable[[Any], int]:
    reverse = {value: key for key, value in mapping.items()}
    return lambda value: reverse.get(value, 0)


_involvement_pb, _part_pb, _source_pb = _number(INVOLVEMENT), _number(PARTS), _number(SOURCES)
_kind_pb, _role_pb, _scope_pb = _number(KINDS), _number(ROLES), _number(SCOPES)
_action_pb = _number(ACTIONS)


def timestamp(at: datetime | None) -> Timestamp:
    """A protobuf timestamp (naive datetimes are taken as UTC)."""
    ts = Timestamp()
    if at is not None:
        ts.FromDatetime(at if at.tzinfo else at.replace(tzinfo=UTC))
    return ts


def recommend_request(
    msg: pbr.RecommendRequest, *, request_id: str, assignment: ResolvedAssignment
) -> RecommendRequest:
    """Validate a Recommend request and resolve it with the listener's variant."""
    f = msg.filters
    v.bounded("filters.genres", f.genres, v.MAX_GENRES)
    filters = RequestFilters(
        genres=tuple(
            v.text(f"filters.genres[{i}]", g, v.MAX_ID_CHARS, required=True)
            for i, g in enumerate(f.genres)
        ),
        human_only=f.human_only,
        exclude_ai_generated=f.exclude_ai_generated,
        exclude_track_ids=v.identifiers(
            "filters.exclude_track_ids", f.exclude_track_ids, v.MAX_EXCLUDED_TRACKS
        ),
    )
    return RecommendRequest(
        listener_id=v.identifier("listener_id", msg.listener_id),
        k=v.slate_size("k", msg.k),
        context_track_ids=v.identifiers(
            "context_track_ids", msg.context_track_ids, v.MAX_CONTEXT_TRACKS
        ),
        surface=v.enum_value("surface", msg.surface, SURFACES),
        query=v.text("query", msg.query, v.MAX_QUERY_CHARS),
        filters=filters,
        explain=msg.explain,
        params=assignment.params,
        variant=assignment.label,
        request_id=v.request_id("request_id", msg.request_id) or request_id,
    )


def fill_ai_label(
    msg: pbc.AiLabel, provenance: Provenance, *, disputed: bool = False
) -> pbc.AiLabel:
    """Write the AI label of a track into ``msg`` (in place: no submessage copies); a
    ``disputed`` track shows its declaration with the DISPUTED source."""
    msg.involvement = _involvement_pb(provenance.ai_involvement)  # type: ignore[assignment]
    if provenance.ai_parts:
        msg.parts.extend(_part_pb(p) for p in provenance.ai_parts)
    # Shown, never accepted in writes: DISPUTED is not in SOURCES.
    source = pbc.LABEL_SOURCE_DISPUTED if disputed else _source_pb(provenance.label_source)
    msg.source = source  # type: ignore[assignment]
    msg.confidence = provenance.confidence
    if provenance.references_artist_ids:
        msg.references_artist_ids.extend(provenance.references_artist_ids)
    return msg


def ai_label_pb(provenance: Provenance) -> pbc.AiLabel:
    """The AI label of a track."""
    return fill_ai_label(pbc.AiLabel(), provenance)


def fill_track(msg: pbc.Track, track: Track) -> pbc.Track:
    """Write a track's display fields into ``msg``."""
    msg.id = track.track_id
    msg.title = track.title
    msg.genre = track.genre
    if track.tags:
        msg.tags.extend(track.tags)
    msg.duration_ms = track.duration_ms
    if track.release_date:
        msg.release_date = track.release_date.isoformat()
    msg.description = track.description
    return msg


def track_pb(track: Track) -> pbc.Track:
    """A track's display fields."""
    return fill_track(pbc.Track(), track)


def add_credits(target: Any, track: Track, artists: Mapping[str, Artist]) -> None:
    """Append a track's credits to the repeated field ``target``, with names and kinds from
    ``artists`` where known."""
    for credit in track.credits:
        artist = artists.get(credit.artist_id)
        msg = target.add()
        msg.artist_id = credit.artist_id
        msg.role = _role_pb(credit.role)
        msg.share = credit.share
        if artist is None:
            msg.artist_kind = _kind_pb(ArtistKind.UNKNOWN)
        else:
            msg.name = artist.name
            msg.artist_kind = _kind_pb(artist.kind)
            msg.verified = artist.verified


def credits_pb(track: Track, artists: Mapping[str, Artist]) -> list[pbc.Credit]:
    """A track's credits, with names and kinds from ``artists`` where known."""
    holder = pbc.CatalogTrack()
    add_credits(holder.credits, track, artists)
    return list(holder.credits)


def fill_item(msg: pbc.RecommendedItem, item: RecommendedItem) -> pbc.RecommendedItem:
    """Write one served item into ``msg``, always labelled and credited. Building in place
    is ~4x cheaper than passing submessages to constructors (each one is copied)."""
    track = item.track
    fill_track(msg.track, track)
    add_credits(msg.credits, track, {a.artist_id: a for a in item.artists})
    fill_ai_label(msg.ai_label, track.provenance)
    msg.reasons.extend(item.reasons)
    msg.score = item.score
    msg.position = item.position
    msg.sources.extend(item.sources)
    if item.contributions:
        msg.contributions.update(item.contributions)
    fill_audio(msg.audio, item.audio)
    return msg


def fill_audio(msg: pbc.AudioFacts, facts: AudioFacts) -> pbc.AudioFacts:
    """Write the measured audio facts into ``msg``; unknown facts stay unset."""
    if facts.tempo_bpm is not None:
        msg.tempo_bpm = facts.tempo_bpm
    if facts.key:
        msg.key = facts.key
    if facts.loudness_db is not None:
        msg.loudness_db = facts.loudness_db
    if facts.energy is not None:
        msg.energy = facts.energy
    return msg


def item_pb(item: RecommendedItem) -> pbc.RecommendedItem:
    """One served item, always labelled and credited."""
    return fill_item(pbc.RecommendedItem(), item)


def recommendation_pb(rec: Recommendation) -> pbr.RecommendResponse:
    """A served slate."""
    msg = pbr.RecommendResponse(request_id=rec.request_id, variant=rec.variant)
    for item in rec.items:
        fill_item(msg.items.add(), item)
    msg.notes.extend(rec.notes)
    return msg


def catalog_track_pb(
    track: Track, artists: Mapping[str, Artist], *, disputed: bool = False
) -> pbc.CatalogTrack:
    """A catalog track with credits and label (DISPUTED when its declaration is)."""
    msg = pbc.CatalogTrack(uploader_id=track.uploader_id)
    fill_track(msg.track, track)
    add_credits(msg.credits, track, artists)
    fill_ai_label(msg.ai_label, track.provenance, disputed=disputed)
    return msg


def _release_date(field: str, value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise RequestError(field, f"must be an ISO date YYYY-MM-DD (got {value[:40]!r})") from exc


def catalog_track(msg: pbc.CatalogTrack, field: str) -> Track:
    """Validate a track for the catalog."""
    t, label = msg.track, msg.ai_label
    v.bounded(f"{field}.credits", msg.credits, v.MAX_CREDITS, required=True)
    v.bounded(f"{field}.track.tags", t.tags, v.MAX_TAGS)
    credits = tuple(
        Credit(
            artist_id=v.identifier(f"{field}.credits[{i}].artist_id", c.artist_id),
            role=v.enum_value(f"{field}.credits[{i}].role", c.role, ROLES),
            share=v.finite(f"{field}.credits[{i}].share", c.share, low=0.0, high=1.0),
        )
        for i, c in enumerate(msg.credits)
    )
    if abs(sum(c.share for c in credits) - 1.0) > 1e-6:
        raise RequestError(f"{field}.credits", "shares must sum to 1")
    if t.duration_ms < 0:
        raise RequestError(f"{field}.track.duration_ms", "must not be negative")
    provenance = Provenance(
        ai_involvement=v.enum_value(
            f"{field}.ai_label.involvement", label.involvement, INVOLVEMENT
        ),
        ai_parts=tuple(
            v.enum_value(f"{field}.ai_label.parts[{i}]", p, PARTS)
            for i, p in enumerate(label.parts)
        ),
        label_source=v.enum_value(f"{field}.ai_label.source", label.source, SOURCES),
        confidence=v.finite(f"{field}.ai_label.confidence", label.confidence, low=0.0, high=1.0),
        references_artist_ids=v.identifiers(
            f"{field}.ai_label.references_artist_ids", label.references_artist_ids, v.MAX_CREDITS
        ),
    )
    return Track(
        track_id=v.identifier(f"{field}.track.id", t.id),
        title=v.text(f"{field}.track.title", t.title, v.MAX_REASON_CHARS, required=True),
        credits=credits,
        tags=tuple(
            v.text(f"{field}.track.tags[{i}]", x, v.MAX_ID_CHARS) for i, x in enumerate(t.tags)
        ),
        genre=v.text(f"{field}.track.genre", t.genre, v.MAX_ID_CHARS),
        description=v.text(f"{field}.track.description", t.description, v.MAX_TEXT_CHARS),
        duration_ms=t.duration_ms,
        release_date=_release_date(f"{field}.track.release_date", t.release_date),
        uploader_id=v.identifier(f"{field}.uploader_id", msg.uploader_id, required=False),
        provenance=provenance,
    )


def artist_pb(artist: Artist) -> pbc.Artist:
    """An artist."""
    return pbc.Artist(
        id=artist.artist_id,
        name=artist.name,
        kind=_kind_pb(artist.kind),  # type: ignore[arg-type]
        verified=artist.verified,
        rights_holder_id=artist.rights_holder_id,
    )


def artist(msg: pbc.Artist, field: str) -> Artist:
    """Validate an artist for the catalog (the rights holder defaults to the artist)."""
    artist_id = v.identifier(f"{field}.id", msg.id)
    return Artist(
        artist_id=artist_id,
        name=v.text(f"{field}.name", msg.name, v.MAX_REASON_CHARS, required=True),
        kind=v.enum_value(f"{field}.kind", msg.kind, KINDS),
        verified=msg.verified,
        rights_holder_id=v.identifier(
            f"{field}.rights_holder_id", msg.rights_holder_id, required=False
        )
        or artist_id,
    )


def feedback_event(
    msg: pbf.Event, field: str, *, now: datetime, sender: str = "unknown"
) -> FeedbackEvent:
    """Validate a feedback event (unset time: ``now``) sent by ``sender`` (a principal's
    actor)."""
    if msg.HasField("ms_played") and msg.ms_played < 0:
        raise RequestError(f"{field}.ms_played", "must not be negative")
    if msg.HasField("position") and msg.position < 0:
        raise RequestError(f"{field}.position", "must not be negative")
    return FeedbackEvent(
        event_id=v.identifier(f"{field}.event_id", msg.event_id),
        listener_id=v.identifier(f"{field}.listener_id", msg.listener_id),
        track_id=v.identifier(f"{field}.track_id", msg.track_id),
        event_type=v.enum_value(f"{field}.type", msg.type, EVENTS),
        at=v.timestamp(f"{field}.at", msg.at) if msg.HasField("at") else now,
        ms_played=msg.ms_played if msg.HasField("ms_played") else None,
        weight=v.finite(f"{field}.weight", msg.weight or 1.0, low=0.0, high=1e6),
        request_id=v.identifier(f"{field}.request_id", msg.request_id, required=False) or None,
        position=msg.position if msg.HasField("position") else None,
        sender=sender,
    )


def consent_scope(msg: pbg.ConsentChangeRequest) -> ConsentScope:
    """The scope of a consent change."""
    return v.enum_value("scope", msg.scope, SCOPES)


def consent_entry_pb(entry: ConsentEntry) -> pbg.ConsentEntry:
    """A ledger entry."""
    return pbg.ConsentEntry(
        entry_id=entry.entry_id,
        rights_holder_id=entry.rights_holder_id,
        scope=_scope_pb(entry.scope),  # type: ignore[arg-type]
        action=_action_pb(entry.action),  # type: ignore[arg-type]
        actor=entry.actor,
        reason=entry.reason,
        at=timestamp(entry.at),
        seq=entry.seq or 0,
        received_at=timestamp(entry.received_at) if entry.received_at is not None else None,
    )


def metering_pb(report: Mapping[str, Any]) -> pbg.MeteringReportResponse:
    """A metering report given as a JSON-able mapping (``MeteringReport.to_dict()``: per-holder
    ``holders`` with plays and pro-rata amounts, totals at the top level, ``payouts``)."""
    rows = [
        pbg.RightsHolderPlays(
            rights_holder_id=str(r.get("rights_holder_id", "")),
            credited_plays=float(r.get("plays", 0.0)),
            ai_influenced_plays=float(r.get("ai_influenced_plays", 0.0)),
            withheld_plays=float(r.get("withheld_plays", 0.0)),
            forfeited_plays=float(r.get("forfeited_plays", 0.0)),
            paid=str(r.get("payout_pro_rata", "0")),
            withheld=str(r.get("withheld_pro_rata", "0")),
            forfeited=str(r.get("forfeited_pro_rata", "0")),
        )
        for r in report.get("holders", ())
    ]
    totals = report.get("payouts", {}).get("pro_rata", {})
    return pbg.MeteringReportResponse(
        rows=rows,
        total_plays=float(report.get("plays", 0.0)),
        attribution_completeness=float(report.get("attribution_completeness", 0.0)),
        ai_influenced_share=float(report.get("ai_influenced_share", 0.0)),
        report_json=json.dumps(report, sort_keys=True, default=str),
        pool=str(report.get("pool", "0")),
        paid=str(totals.get("paid", "0")),
        withheld=str(totals.get("withheld", "0")),
        forfeited=str(totals.get("forfeited", "0")),
        withheld_plays=float(report.get("withheld_plays", 0.0)),
        forfeited_plays=float(report.get("forfeited_plays", 0.0)),
    )


def assignment_pb(listener_id: str, assignment: ResolvedAssignment) -> pbx.Assignment:
    """A listener's experiment assignment."""
    return pbx.Assignment(
        listener_id=listener_id,
        label=assignment.label,
        exposures=[pbx.Exposure(experiment=e, variant=x) for e, x in assignment.exposures],
        params_json=assignment.params.model_dump_json(),
    )


def items_pb(items: Iterable[RecommendedItem]) -> list[pbc.RecommendedItem]:
    """Served items (agent answers reuse the slate item shape)."""
    return [item_pb(i) for i in items]


__all__ = [
    "ACTIONS",
    "EVENTS",
    "INVOLVEMENT",
    "KINDS",
    "PARTS",
    "ROLES",
    "SCOPES",
    "SOURCES",
    "SURFACES",
    "add_credits",
    "ai_label_pb",
    "artist",
    "artist_pb",
    "assignment_pb",
    "catalog_track",
    "catalog_track_pb",
    "consent_entry_pb",
    "consent_scope",
    "converse_pb",
    "credits_pb",
    "feedback_event",
    "fill_ai_label",
    "fill_audio",
    "fill_item",
    "fill_track",
    "item_pb",
    "items_pb",
    "metering_pb",
    "recommend_request",
    "recommendation_pb",
    "timestamp",
    "track_pb",
]


def converse_pb(answer: Any, *, session_id: str, request_id: str) -> Any:
    """An agent answer as a response: its items are served items (``RecommendedItem``) and go
    through :func:`fill_item`, the same conversion as ``Recommend``'s, so both show the same
    fully populated item."""
    from recsys.api.v1 import discovery_pb2 as pbd

    msg = pbd.ConverseResponse(
        session_id=str(getattr(answer, "session_id", "") or session_id),
        request_id=str(getattr(answer, "request_id", "") or request_id),
        summary=str(getattr(answer, "summary", "")),
        planner=str(getattr(answer, "planner", "")),
        session_ttl_s=int(getattr(answer, "session_ttl_s", 0) or 0),
    )
    for item in getattr(answer, "items", ()) or ():
        fill_item(msg.items.add(), item)
    for call in getattr(answer, "trace", ()) or ():
        arguments = getattr(call, "arguments", None)
        msg.trace.add(
            tool=str(getattr(call, "tool", "")),
            arguments_json=json.dumps(arguments or {}, sort_keys=True, default=str),
            count=int(getattr(call, "count", 0) or 0),
            ms=float(getattr(call, "ms", 0.0) or 0.0),
        )
    msg.notes.extend(str(n) for n in getattr(answer, "notes", ()) or ())
    constraints = getattr(answer, "constraints", None)
    if constraints is not None:
        dataclass_value = is_dataclass(constraints) and not isinstance(constraints, type)
        fields = asdict(constraints) if dataclass_value else constraints
        msg.constraints_json = json.dumps(fields, sort_keys=True, default=str)
    return msg
