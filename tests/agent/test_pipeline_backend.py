"""An impersonator that ranks first for a real artist's name in the agent is gone from every
agent answer once the name screen has flagged it: the hard filter holds it, inside the tools."""

from __future__ import annotations

import dataclasses

from agent.bus import CandidateBus
from agent.pipeline_backend import PipelineBackend
from agent.tools import SearchTracksArgs, ToolContext, search_tracks
from recsys.domain import Artist
from recsys.integrity.screening import ImitationNameScreen, ScreenContext
from recsys.pipeline import PipelineRecommender
from recsys.store import QuarantineRecord
from tests.recsys.pipeline.world import T0, make_world


def test_a_flagged_impersonator_never_ranks_for_the_real_name() -> None:
    world = make_world()
    store = world.store
    real = store.artists["a0_0"]  # verified "Artist 0/0"
    # Artist a0_2 is re-labelled as an impersonator: Cyrillic А, a channel decoration, its
    # own rights holder.
    store.artists["a0_2"] = dataclasses.replace(
        store.artists["a0_2"], name="Аrtist 0/0 - Topic", verified=False, rights_holder_id="x"
    )
    fake_tracks = [t for t in store.tracks if t.startswith("t0_2_")]
    # The text space ranks the impersonator's tracks first for the real artist's name.
    rows = [world.spaces.track_ids.index(t) for t in fake_tracks]
    world.spaces.queries[real.name] = world.spaces.vectors["text"][rows].mean(0)
    rec = PipelineRecommender(spaces=world.spaces, catalog=world.catalog, store=store)
    backend = PipelineBackend(rec)

    def top(k: int = 5) -> list[str]:
        ctx = ToolContext(backend=backend, bus=CandidateBus(), listener_id="u0")
        search_tracks(ctx, SearchTracksArgs(query=real.name, k=k, into="hits"))
        return [c.track_id for c in ctx.bus.get("hits")]

    assert top()[0] in fake_tracks  # what the issue saw
    artists: dict[str, Artist] = dict(store.artists)
    context = ScreenContext(tracks=list(store.tracks.values()), artists=artists)
    # (The world's names are numbered, "Artist 0/5" and "Artist 0/0", so its AI personas are
    # flagged too; the impersonator is what this test follows.)
    flags = ImitationNameScreen().screen(context)
    assert set(fake_tracks) <= {f.track_id for f in flags}
    store.record_quarantine(
        QuarantineRecord(
            track_id=f.track_id,
            quarantined=True,
            reasons=(f.reason,),
            evidence={f.reason: f.evidence},
            actor="screening",
            at=T0,
        )
        for f in flags
    )
    assert not set(top(50)) & set(fake_tracks)
