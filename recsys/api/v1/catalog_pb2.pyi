from recsys.api.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UpsertTracksRequest(_message.Message):
    __slots__ = ("tracks",)
    TRACKS_FIELD_NUMBER: _ClassVar[int]
    tracks: _containers.RepeatedCompositeFieldContainer[_common_pb2.CatalogTrack]
    def __init__(self, tracks: _Optional[_Iterable[_Union[_common_pb2.CatalogTrack, _Mapping]]] = ...) -> None: ...

class UpsertArtistsRequest(_message.Message):
    __slots__ = ("artists",)
    ARTISTS_FIELD_NUMBER: _ClassVar[int]
    artists: _containers.RepeatedCompositeFieldContainer[_common_pb2.Artist]
    def __init__(self, artists: _Optional[_Iterable[_Union[_common_pb2.Artist, _Mapping]]] = ...) -> None: ...

class UpsertResponse(_message.Message):
    __slots__ = ("upserted",)
    UPSERTED_FIELD_NUMBER: _ClassVar[int]
    upserted: int
    def __init__(self, upserted: _Optional[int] = ...) -> None: ...

class GetTrackRequest(_message.Message):
    __slots__ = ("track_id",)
    TRACK_ID_FIELD_NUMBER: _ClassVar[int]
    track_id: str
    def __init__(self, track_id: _Optional[str] = ...) -> None: ...

class GetArtistRequest(_message.Message):
    __slots__ = ("artist_id",)
    ARTIST_ID_FIELD_NUMBER: _ClassVar[int]
    artist_id: str
    def __init__(self, artist_id: _Optional[str] = ...) -> None: ...
