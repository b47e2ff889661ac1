"""CatalogService: open reads, admin-only writes.

A write whose references do not resolve (a credit to an artist the catalog does not hold) is
refused whole with FAILED_PRECONDITION naming the field, before anything is written.
"""

from __future__ import annotations

import grpc

from recsys.api.v1 import catalog_pb2 as pbk
from recsys.api.v1 import catalog_pb2_grpc as pbk_grpc
from recsys.api.v1 import common_pb2 as pbc
from recsys.domain import Track
from recsys.errors import NotFoundError, UnknownReferenceError
from recsys.service import convert, requestlog
from recsys.service import validation as v
from recsys.service.servicers.deps import ServiceDeps
from recsys.store import IngestBatch, Store


class CatalogServicer(pbk_grpc.CatalogServiceServicer):
    """Upserts go through ``Store.ingest`` (all or nothing); the auth interceptor has already
    checked the admin role."""

    def __init__(self, deps: ServiceDeps) -> None:
        self._deps = deps

    def UpsertTracks(  # noqa: N802
        self, request: pbk.UpsertTracksRequest, context: grpc.ServicerContext
    ) -> pbk.UpsertResponse:
        v.bounded("tracks", request.tracks, v.MAX_BATCH, required=True)
        tracks = [convert.catalog_track(t, f"tracks[{i}]") for i, t in enumerate(request.tracks)]
        store = self._deps.require_store()
        check_credited_artists(store, tracks)
        store.ingest(IngestBatch(tracks=tracks))
        requestlog.annotate(upserted=len(tracks))
        return pbk.UpsertResponse(upserted=len(tracks))

    def UpsertArtists(  # noqa: N802
        self, request: pbk.UpsertArtistsRequest, context: grpc.ServicerContext
    ) -> pbk.UpsertResponse:
        v.bounded("artists", request.artists, v.MAX_BATCH, required=True)
        artists = [convert.artist(a, f"artists[{i}]") for i, a in enumerate(request.artists)]
        self._deps.require_store().ingest(IngestBatch(artists=artists))
        requestlog.annotate(upserted=len(artists))
        return pbk.UpsertResponse(upserted=len(artists))

    def GetTrack(  # noqa: N802
        self, request: pbk.GetTrackRequest, context: grpc.ServicerContext
    ) -> pbc.CatalogTrack:
        track_id = v.identifier("track_id", request.track_id)
        store = self._deps.require_store()
        track = store.get_track(track_id)
        if track is None:
            raise NotFoundError(f"track_id: no track {track_id!r}")
        artists = {a: x for a in track.artist_ids if (x := store.get_artist(a)) is not None}
        return convert.catalog_track_pb(track, artists, disputed=track_id in store.disputed_ids())

    def GetArtist(  # noqa: N802
        self, request: pbk.GetArtistRequest, context: grpc.ServicerContext
    ) -> pbc.Artist:
        artist_id = v.identifier("artist_id", request.artist_id)
        artist = self._deps.require_store().get_artist(artist_id)
        if artist is None:
            raise NotFoundError(f"artist_id: no artist {artist_id!r}")
        return convert.artist_pb(artist)


def check_credited_artists(store: Store, tracks: list[Track]) -> None:
    """Refuse tracks that credit an artist the catalog does not hold.

    Raises:
        UnknownReferenceError: the first such credit, naming its field.
    """
    credited = {c.artist_id for t in tracks for c in t.credits}
    unknown = store.unknown_ids("artists", credited)
    if not unknown:
        return
    for i, track in enumerate(tracks):
        for j, credit in enumerate(track.credits):
            if credit.artist_id in unknown:
                raise UnknownReferenceError(
                    field=f"tracks[{i}].credits[{j}].artist_id",
                    value=credit.artist_id,
                    kind="artist",
                    fix=(
                        "add the artist first (CatalogService.UpsertArtists), then upsert the "
                        f"tracks; {len(unknown)} unknown artist id(s) in this batch: "
                        f"{', '.join(sorted(unknown)[:5])}"
                    ),
                )


__all__ = ["CatalogServicer", "check_credited_artists"]
