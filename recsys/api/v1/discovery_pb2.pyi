from recsys.api.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConverseRequest(_message.Message):
    __slots__ = ("session_id", "listener_id", "message", "k")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    LISTENER_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    K_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    listener_id: str
    message: str
    k: int
    def __init__(self, session_id: _Optional[str] = ..., listener_id: _Optional[str] = ..., message: _Optional[str] = ..., k: _Optional[int] = ...) -> None: ...

class ToolCall(_message.Message):
    __slots__ = ("tool", "arguments_json", "count", "ms")
    TOOL_FIELD_NUMBER: _ClassVar[int]
    ARGUMENTS_JSON_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    MS_FIELD_NUMBER: _ClassVar[int]
    tool: str
    arguments_json: str
    count: int
    ms: float
    def __init__(self, tool: _Optional[str] = ..., arguments_json: _Optional[str] = ..., count: _Optional[int] = ..., ms: _Optional[float] = ...) -> None: ...

class ConverseResponse(_message.Message):
    __slots__ = ("session_id", "request_id", "summary", "items", "trace", "notes", "planner", "constraints_json", "session_ttl_s")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SUMMARY_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    TRACE_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    PLANNER_FIELD_NUMBER: _ClassVar[int]
    CONSTRAINTS_JSON_FIELD_NUMBER: _ClassVar[int]
    SESSION_TTL_S_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    request_id: str
    summary: str
    items: _containers.RepeatedCompositeFieldContainer[_common_pb2.RecommendedItem]
    trace: _containers.RepeatedCompositeFieldContainer[ToolCall]
    notes: _containers.RepeatedScalarFieldContainer[str]
    planner: str
    constraints_json: str
    session_ttl_s: int
    def __init__(self, session_id: _Optional[str] = ..., request_id: _Optional[str] = ..., summary: _Optional[str] = ..., items: _Optional[_Iterable[_Union[_common_pb2.RecommendedItem, _Mapping]]] = ..., trace: _Optional[_Iterable[_Union[ToolCall, _Mapping]]] = ..., notes: _Optional[_Iterable[str]] = ..., planner: _Optional[str] = ..., constraints_json: _Optional[str] = ..., session_ttl_s: _Optional[int] = ...) -> None: ...
