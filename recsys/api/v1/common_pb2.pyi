from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class AiInvolvement(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AI_INVOLVEMENT_UNSPECIFIED: _ClassVar[AiInvolvement]
    AI_INVOLVEMENT_NONE: _ClassVar[AiInvolvement]
    AI_INVOLVEMENT_ASSISTED: _ClassVar[AiInvolvement]
    AI_INVOLVEMENT_GENERATED: _ClassVar[AiInvolvement]
    AI_INVOLVEMENT_UNDISCLOSED: _ClassVar[AiInvolvement]

class AiPart(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    AI_PART_UNSPECIFIED: _ClassVar[AiPart]
    AI_PART_COMPOSITION: _ClassVar[AiPart]
    AI_PART_LYRICS: _ClassVar[AiPart]
    AI_PART_VOCALS: _ClassVar[AiPart]
    AI_PART_INSTRUMENTATION: _ClassVar[AiPart]
    AI_PART_PRODUCTION: _ClassVar[AiPart]

class LabelSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    LABEL_SOURCE_UNSPECIFIED: _ClassVar[LabelSource]
    LABEL_SOURCE_DECLARED: _ClassVar[LabelSource]
    LABEL_SOURCE_DETECTED: _ClassVar[LabelSource]
    LABEL_SOURCE_DISPUTED: _ClassVar[LabelSource]

class ArtistKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    ARTIST_KIND_UNSPECIFIED: _ClassVar[ArtistKind]
    ARTIST_KIND_HUMAN: _ClassVar[ArtistKind]
    ARTIST_KIND_AI_PERSONA: _ClassVar[ArtistKind]
    ARTIST_KIND_UNKNOWN: _ClassVar[ArtistKind]

class CreditRole(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CREDIT_ROLE_UNSPECIFIED: _ClassVar[CreditRole]
    CREDIT_ROLE_PRIMARY: _ClassVar[CreditRole]
    CREDIT_ROLE_FEATURED: _ClassVar[CreditRole]
    CREDIT_ROLE_COMPOSER: _ClassVar[CreditRole]
    CREDIT_ROLE_LYRICIST: _ClassVar[CreditRole]
    CREDIT_ROLE_PRODUCER: _ClassVar[CreditRole]
    CREDIT_ROLE_PERFORMER: _ClassVar[CreditRole]
AI_INVOLVEMENT_UNSPECIFIED: AiInvolvement
AI_INVOLVEMENT_NONE: AiInvolvement
AI_INVOLVEMENT_ASSISTED: AiInvolvement
AI_INVOLVEMENT_GENERATED: AiInvolvement
AI_INVOLVEMENT_UNDISCLOSED: AiInvolvement
AI_PART_UNSPECIFIED: AiPart
AI_PART_COMPOSITION: AiPart
AI_PART_LYRICS: AiPart
AI_PART_VOCALS: AiPart
AI_PART_INSTRUMENTATION: AiPart
AI_PART_PRODUCTION: AiPart
LABEL_SOURCE_UNSPECIFIED: LabelSource
LABEL_SOURCE_DECLARED: LabelSource
LABEL_SOURCE_DETECTED: LabelSource
LABEL_SOURCE_DISPUTED: LabelSource
ARTIST_KIND_UNSPECIFIED: ArtistKind
ARTIST_KIND_HUMAN: ArtistKind
ARTIST_KIND_AI_PERSONA: ArtistKind
ARTIST_KIND_UNKNOWN: ArtistKind
CREDIT_ROLE_UNSPECIFIED: CreditRole
CREDIT_ROLE_PRIMARY: CreditRole
CREDIT_ROLE_FEATURED: CreditRole
CREDIT_ROLE_COMPOSER: CreditRole
CREDIT_ROLE_LYRICIST: CreditRole
CREDIT_ROLE_PRODUCER: CreditRole
CREDIT_ROLE_PERFORMER: CreditRole

class AiLabel(_message.Message):
    __slots__ = ("involvement", "parts", "source", "confidence", "references_artist_ids")
    INVOLVEMENT_FIELD_NUMBER: _ClassVar[int]
    PARTS_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    CONFIDENCE_FIELD_NUMBER: _ClassVar[int]
    REFERENCES_ARTIST_IDS_FIELD_NUMBER: _ClassVar[int]
    involvement: AiInvolvement
    parts: _containers.RepeatedScalarFieldContainer[AiPart]
    source: LabelSource
    confidence: float
    references_artist_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, involvement: _Optional[_Union[AiInvolvement, str]] = ..., parts: _Optional[_Iterable[_Union[AiPart, str]]] = ..., source: _Optional[_Union[LabelSource, str]] = ..., confidence: _Optional[float] = ..., references_artist_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class Credit(_message.Message):
    __slots__ = ("artist_id", "name", "role", "share", "artist_kind", "verified")
    ARTIST_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    SHARE_FIELD_NUMBER: _ClassVar[int]
    ARTIST_KIND_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    artist_id: str
    name: str
    role: CreditRole
    share: float
    artist_kind: ArtistKind
    verified: bool
    def __init__(self, artist_id: _Optional[str] = ..., name: _Optional[str] = ..., role: _Optional[_Union[CreditRole, str]] = ..., share: _Optional[float] = ..., artist_kind: _Optional[_Union[ArtistKind, str]] = ..., verified: _Optional[bool] = ...) -> None: ...

class Track(_message.Message):
    __slots__ = ("id", "title", "genre", "tags", "duration_ms", "release_date", "description")
    ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    GENRE_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    DURATION_MS_FIELD_NUMBER: _ClassVar[int]
    RELEASE_DATE_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    id: str
    title: str
    genre: str
    tags: _containers.RepeatedScalarFieldContainer[str]
    duration_ms: int
    release_date: str
    description: str
    def __init__(self, id: _Optional[str] = ..., title: _Optional[str] = ..., genre: _Optional[str] = ..., tags: _Optional[_Iterable[str]] = ..., duration_ms: _Optional[int] = ..., release_date: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class CatalogTrack(_message.Message):
    __slots__ = ("track", "credits", "ai_label", "uploader_id")
    TRACK_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    AI_LABEL_FIELD_NUMBER: _ClassVar[int]
    UPLOADER_ID_FIELD_NUMBER: _ClassVar[int]
    track: Track
    credits: _containers.RepeatedCompositeFieldContainer[Credit]
    ai_label: AiLabel
    uploader_id: str
    def __init__(self, track: _Optional[_Union[Track, _Mapping]] = ..., credits: _Optional[_Iterable[_Union[Credit, _Mapping]]] = ..., ai_label: _Optional[_Union[AiLabel, _Mapping]] = ..., uploader_id: _Optional[str] = ...) -> None: ...

class Artist(_message.Message):
    __slots__ = ("id", "name", "kind", "verified", "rights_holder_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    VERIFIED_FIELD_NUMBER: _ClassVar[int]
    RIGHTS_HOLDER_ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    kind: ArtistKind
    verified: bool
    rights_holder_id: str
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., kind: _Optional[_Union[ArtistKind, str]] = ..., verified: _Optional[bool] = ..., rights_holder_id: _Optional[str] = ...) -> None: ...

class RecommendedItem(_message.Message):
    __slots__ = ("track", "credits", "ai_label", "reasons", "score", "position", "sources", "contributions", "audio")
    class ContributionsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: float
        def __init__(self, key: _Optional[str] = ..., value: _Optional[float] = ...) -> None: ...
    TRACK_FIELD_NUMBER: _ClassVar[int]
    CREDITS_FIELD_NUMBER: _ClassVar[int]
    AI_LABEL_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    CONTRIBUTIONS_FIELD_NUMBER: _ClassVar[int]
    AUDIO_FIELD_NUMBER: _ClassVar[int]
    track: Track
    credits: _containers.RepeatedCompositeFieldContainer[Credit]
    ai_label: AiLabel
    reasons: _containers.RepeatedScalarFieldContainer[str]
    score: float
    position: int
    sources: _containers.RepeatedScalarFieldContainer[str]
    contributions: _containers.ScalarMap[str, float]
    audio: AudioFacts
    def __init__(self, track: _Optional[_Union[Track, _Mapping]] = ..., credits: _Optional[_Iterable[_Union[Credit, _Mapping]]] = ..., ai_label: _Optional[_Union[AiLabel, _Mapping]] = ..., reasons: _Optional[_Iterable[str]] = ..., score: _Optional[float] = ..., position: _Optional[int] = ..., sources: _Optional[_Iterable[str]] = ..., contributions: _Optional[_Mapping[str, float]] = ..., audio: _Optional[_Union[AudioFacts, _Mapping]] = ...) -> None: ...

class AudioFacts(_message.Message):
    __slots__ = ("tempo_bpm", "key", "loudness_db", "energy")
    TEMPO_BPM_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    LOUDNESS_DB_FIELD_NUMBER: _ClassVar[int]
    ENERGY_FIELD_NUMBER: _ClassVar[int]
    tempo_bpm: float
    key: str
    loudness_db: float
    energy: float
    def __init__(self, tempo_bpm: _Optional[float] = ..., key: _Optional[str] = ..., loudness_db: _Optional[float] = ..., energy: _Optional[float] = ...) -> None: ...
