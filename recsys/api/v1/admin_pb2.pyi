import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ReloadArtifactsRequest(_message.Message):
    __slots__ = ("artifact_dir",)
    ARTIFACT_DIR_FIELD_NUMBER: _ClassVar[int]
    artifact_dir: str
    def __init__(self, artifact_dir: _Optional[str] = ...) -> None: ...

class ReloadArtifactsResponse(_message.Message):
    __slots__ = ("artifact_dir", "version", "loaded_at", "load_ms")
    ARTIFACT_DIR_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    LOADED_AT_FIELD_NUMBER: _ClassVar[int]
    LOAD_MS_FIELD_NUMBER: _ClassVar[int]
    artifact_dir: str
    version: str
    loaded_at: _timestamp_pb2.Timestamp
    load_ms: float
    def __init__(self, artifact_dir: _Optional[str] = ..., version: _Optional[str] = ..., loaded_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., load_ms: _Optional[float] = ...) -> None: ...

class ReloadExperimentsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ReloadExperimentsResponse(_message.Message):
    __slots__ = ("experiments",)
    EXPERIMENTS_FIELD_NUMBER: _ClassVar[int]
    experiments: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, experiments: _Optional[_Iterable[str]] = ...) -> None: ...
