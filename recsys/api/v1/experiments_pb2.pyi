from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetAssignmentRequest(_message.Message):
    __slots__ = ("listener_id",)
    LISTENER_ID_FIELD_NUMBER: _ClassVar[int]
    listener_id: str
    def __init__(self, listener_id: _Optional[str] = ...) -> None: ...

class Exposure(_message.Message):
    __slots__ = ("experiment", "variant")
    EXPERIMENT_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    experiment: str
    variant: str
    def __init__(self, experiment: _Optional[str] = ..., variant: _Optional[str] = ...) -> None: ...

class Assignment(_message.Message):
    __slots__ = ("listener_id", "label", "exposures", "params_json")
    LISTENER_ID_FIELD_NUMBER: _ClassVar[int]
    LABEL_FIELD_NUMBER: _ClassVar[int]
    EXPOSURES_FIELD_NUMBER: _ClassVar[int]
    PARAMS_JSON_FIELD_NUMBER: _ClassVar[int]
    listener_id: str
    label: str
    exposures: _containers.RepeatedCompositeFieldContainer[Exposure]
    params_json: str
    def __init__(self, listener_id: _Optional[str] = ..., label: _Optional[str] = ..., exposures: _Optional[_Iterable[_Union[Exposure, _Mapping]]] = ..., params_json: _Optional[str] = ...) -> None: ...
