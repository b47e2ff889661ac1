import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from recsys.api.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConsentScope(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONSENT_SCOPE_UNSPECIFIED: _ClassVar[ConsentScope]
    CONSENT_SCOPE_AI_TRAINING: _ClassVar[ConsentScope]
    CONSENT_SCOPE_AI_STYLE_REFERENCE: _ClassVar[ConsentScope]
    CONSENT_SCOPE_VOICE_LIKENESS: _ClassVar[ConsentScope]

class ConsentAction(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONSENT_ACTION_UNSPECIFIED: _ClassVar[ConsentAction]
    CONSENT_ACTION_GRANT: _ClassVar[ConsentAction]
    CONSENT_ACTION_REVOKE: _ClassVar[ConsentAction]
CONSENT_SCOPE_UNSPECIFIED: ConsentScope
CONSENT_SCOPE_AI_TRAINING: ConsentScope
CONSENT_SCOPE_AI_STYLE_REFERENCE: ConsentScope
CONSENT_SCOPE_VOICE_LIKENESS: ConsentScope
CONSENT_ACTION_UNSPECIFIED: ConsentAction
CONSENT_ACTION_GRANT: ConsentAction
CONSENT_ACTION_REVOKE: ConsentAction

class ConsentChangeRequest(_message.Message):
    __slots__ = ("rights_holder_id", "scope", "reason", "effective_at")
    RIGHTS_HOLDER_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_AT_FIELD_NUMBER: _ClassVar[int]
    rights_holder_id: str
    scope: ConsentScope
    reason: str
    effective_at: _timestamp_pb2.Timestamp
    def __init__(self, rights_holder_id: _Optional[str] = ..., scope: _Optional[_Union[ConsentScope, str]] = ..., reason: _Optional[str] = ..., effective_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ConsentEntry(_message.Message):
    __slots__ = ("entry_id", "rights_holder_id", "scope", "action", "actor", "reason", "at", "seq", "received_at")
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    RIGHTS_HOLDER_ID_FIELD_NUMBER: _ClassVar[int]
    SCOPE_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    SEQ_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    entry_id: str
    rights_holder_id: str
    scope: ConsentScope
    action: ConsentAction
    actor: str
    reason: str
    at: _timestamp_pb2.Timestamp
    seq: int
    received_at: _timestamp_pb2.Timestamp
    def __init__(self, entry_id: _Optional[str] = ..., rights_holder_id: _Optional[str] = ..., scope: _Optional[_Union[ConsentScope, str]] = ..., action: _Optional[_Union[ConsentAction, str]] = ..., actor: _Optional[str] = ..., reason: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., seq: _Optional[int] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ConsentHistoryRequest(_message.Message):
    __slots__ = ("rights_holder_id",)
    RIGHTS_HOLDER_ID_FIELD_NUMBER: _ClassVar[int]
    rights_holder_id: str
    def __init__(self, rights_holder_id: _Optional[str] = ...) -> None: ...

class ConsentHistoryResponse(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[ConsentEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[ConsentEntry, _Mapping]]] = ...) -> None: ...

class MeteringReportRequest(_message.Message):
    __slots__ = ("rights_holder_id", "pool")
    RIGHTS_HOLDER_ID_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    rights_holder_id: str
    pool: str
    def __init__(self, rights_holder_id: _Optional[str] = ..., pool: _Optional[str] = ...) -> None: ...

class RightsHolderPlays(_message.Message):
    __slots__ = ("rights_holder_id", "credited_plays", "ai_influenced_plays", "withheld_plays", "forfeited_plays", "paid", "withheld", "forfeited")
    RIGHTS_HOLDER_ID_FIELD_NUMBER: _ClassVar[int]
    CREDITED_PLAYS_FIELD_NUMBER: _ClassVar[int]
    AI_INFLUENCED_PLAYS_FIELD_NUMBER: _ClassVar[int]
    WITHHELD_PLAYS_FIELD_NUMBER: _ClassVar[int]
    FORFEITED_PLAYS_FIELD_NUMBER: _ClassVar[int]
    PAID_FIELD_NUMBER: _ClassVar[int]
    WITHHELD_FIELD_NUMBER: _ClassVar[int]
    FORFEITED_FIELD_NUMBER: _ClassVar[int]
    rights_holder_id: str
    credited_plays: float
    ai_influenced_plays: float
    withheld_plays: float
    forfeited_plays: float
    paid: str
    withheld: str
    forfeited: str
    def __init__(self, rights_holder_id: _Optional[str] = ..., credited_plays: _Optional[float] = ..., ai_influenced_plays: _Optional[float] = ..., withheld_plays: _Optional[float] = ..., forfeited_plays: _Optional[float] = ..., paid: _Optional[str] = ..., withheld: _Optional[str] = ..., forfeited: _Optional[str] = ...) -> None: ...

class MeteringReportResponse(_message.Message):
    __slots__ = ("rows", "total_plays", "attribution_completeness", "ai_influenced_share", "report_json", "pool", "paid", "withheld", "forfeited", "withheld_plays", "forfeited_plays")
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_PLAYS_FIELD_NUMBER: _ClassVar[int]
    ATTRIBUTION_COMPLETENESS_FIELD_NUMBER: _ClassVar[int]
    AI_INFLUENCED_SHARE_FIELD_NUMBER: _ClassVar[int]
    REPORT_JSON_FIELD_NUMBER: _ClassVar[int]
    POOL_FIELD_NUMBER: _ClassVar[int]
    PAID_FIELD_NUMBER: _ClassVar[int]
    WITHHELD_FIELD_NUMBER: _ClassVar[int]
    FORFEITED_FIELD_NUMBER: _ClassVar[int]
    WITHHELD_PLAYS_FIELD_NUMBER: _ClassVar[int]
    FORFEITED_PLAYS_FIELD_NUMBER: _ClassVar[int]
    rows: _containers.RepeatedCompositeFieldContainer[RightsHolderPlays]
    total_plays: float
    attribution_completeness: float
    ai_influenced_share: float
    report_json: str
    pool: str
    paid: str
    withheld: str
    forfeited: str
    withheld_plays: float
    forfeited_plays: float
    def __init__(self, rows: _Optional[_Iterable[_Union[RightsHolderPlays, _Mapping]]] = ..., total_plays: _Optional[float] = ..., attribution_completeness: _Optional[float] = ..., ai_influenced_share: _Optional[float] = ..., report_json: _Optional[str] = ..., pool: _Optional[str] = ..., paid: _Optional[str] = ..., withheld: _Optional[str] = ..., forfeited: _Optional[str] = ..., withheld_plays: _Optional[float] = ..., forfeited_plays: _Optional[float] = ...) -> None: ...

class ConfirmQuarantineRequest(_message.Message):
    __slots__ = ("track_id", "reason")
    TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    track_id: str
    reason: str
    def __init__(self, track_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ConfirmQuarantineResponse(_message.Message):
    __slots__ = ("track_id", "confirmed")
    TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIRMED_FIELD_NUMBER: _ClassVar[int]
    track_id: str
    confirmed: bool
    def __init__(self, track_id: _Optional[str] = ..., confirmed: _Optional[bool] = ...) -> None: ...

class ReleaseQuarantineRequest(_message.Message):
    __slots__ = ("track_id", "reason")
    TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    track_id: str
    reason: str
    def __init__(self, track_id: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ReleaseQuarantineResponse(_message.Message):
    __slots__ = ("track_id", "released")
    TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    RELEASED_FIELD_NUMBER: _ClassVar[int]
    track_id: str
    released: bool
    def __init__(self, track_id: _Optional[str] = ..., released: _Optional[bool] = ...) -> None: ...

class ResolveDisputeRequest(_message.Message):
    __slots__ = ("track_id", "label", "reason")
    TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    track_id: str
    label: _common_pb2.AiInvolvement
    reason: str
    def __init__(self, track_id: _Optional[str] = ..., label: _Optional[_Union[_common_pb2.AiInvolvement, str]] = ..., reason: _Optional[str] = ...) -> None: ...

class ResolveDisputeResponse(_message.Message):
    __slots__ = ("track_id", "resolved", "ai_label")
    TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    RESOLVED_FIELD_NUMBER: _ClassVar[int]
    AI_LABEL_FIELD_NUMBER: _ClassVar[int]
    track_id: str
    resolved: bool
    ai_label: _common_pb2.AiLabel
    def __init__(self, track_id: _Optional[str] = ..., resolved: _Optional[bool] = ..., ai_label: _Optional[_Union[_common_pb2.AiLabel, _Mapping]] = ...) -> None: ...

class ListQuarantineRequest(_message.Message):
    __slots__ = ("rights_holder_id", "limit")
    RIGHTS_HOLDER_ID_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    rights_holder_id: str
    limit: int
    def __init__(self, rights_holder_id: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class QuarantinedTrack(_message.Message):
    __slots__ = ("track_id", "title", "reasons", "evidence", "actor", "at", "artist_ids")
    class EvidenceEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    EVIDENCE_FIELD_NUMBER: _ClassVar[int]
    ACTOR_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    ARTIST_IDS_FIELD_NUMBER: _ClassVar[int]
    track_id: str
    title: str
    reasons: _containers.RepeatedScalarFieldContainer[str]
    evidence: _containers.ScalarMap[str, str]
    actor: str
    at: _timestamp_pb2.Timestamp
    artist_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, track_id: _Optional[str] = ..., title: _Optional[str] = ..., reasons: _Optional[_Iterable[str]] = ..., evidence: _Optional[_Mapping[str, str]] = ..., actor: _Optional[str] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., artist_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class ListQuarantineResponse(_message.Message):
    __slots__ = ("tracks", "total")
    TRACKS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    tracks: _containers.RepeatedCompositeFieldContainer[QuarantinedTrack]
    total: int
    def __init__(self, tracks: _Optional[_Iterable[_Union[QuarantinedTrack, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...
