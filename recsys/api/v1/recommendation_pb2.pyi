from recsys.api.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Surface(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SURFACE_UNSPECIFIED: _ClassVar[Surface]
    SURFACE_HOME: _ClassVar[Surface]
    SURFACE_RADIO: _ClassVar[Surface]
    SURFACE_SEARCH: _ClassVar[Surface]
    SURFACE_AGENT: _ClassVar[Surface]
SURFACE_UNSPECIFIED: Surface
SURFACE_HOME: Surface
SURFACE_RADIO: Surface
SURFACE_SEARCH: Surface
SURFACE_AGENT: Surface

class Filters(_message.Message):
    __slots__ = ("genres", "human_only", "exclude_ai_generated", "exclude_track_ids")
    GENRES_FIELD_NUMBER: _ClassVar[int]
    HUMAN_ONLY_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_AI_GENERATED_FIELD_NUMBER: _ClassVar[int]
    EXCLUDE_TRACK_IDS_FIELD_NUMBER: _ClassVar[int]
    genres: _containers.RepeatedScalarFieldContainer[str]
    human_only: bool
    exclude_ai_generated: bool
    exclude_track_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, genres: _Optional[_Iterable[str]] = ..., human_only: _Optional[bool] = ..., exclude_ai_generated: _Optional[bool] = ..., exclude_track_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class RecommendRequest(_message.Message):
    __slots__ = ("listener_id", "context_track_ids", "surface", "k", "query", "filters", "explain", "request_id")
    LISTENER_ID_FIELD_NUMBER: _ClassVar[int]
    CONTEXT_TRACK_IDS_FIELD_NUMBER: _ClassVar[int]
    SURFACE_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    QUERY_FIELD_NUMBER: _ClassVar[int]
    FILTERS_FIELD_NUMBER: _ClassVar[int]
    EXPLAIN_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    listener_id: str
    context_track_ids: _containers.RepeatedScalarFieldContainer[str]
    surface: Surface
    k: int
    query: str
    filters: Filters
    explain: bool
    request_id: str
    def __init__(self, listener_id: _Optional[str] = ..., context_track_ids: _Optional[_Iterable[str]] = ..., surface: _Optional[_Union[Surface, str]] = ..., k: _Optional[int] = ..., query: _Optional[str] = ..., filters: _Optional[_Union[Filters, _Mapping]] = ..., explain: _Optional[bool] = ..., request_id: _Optional[str] = ...) -> None: ...

class RecommendResponse(_message.Message):
    __slots__ = ("request_id", "variant", "items", "notes")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    variant: str
    items: _containers.RepeatedCompositeFieldContainer[_common_pb2.RecommendedItem]
    notes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, request_id: _Optional[str] = ..., variant: _Optional[str] = ..., items: _Optional[_Iterable[_Union[_common_pb2.RecommendedItem, _Mapping]]] = ..., notes: _Optional[_Iterable[str]] = ...) -> None: ...
