"""Without a detector (no consented training tracks), a declared-human track is disputed only
when its own text claims AI and its recording chain has no noise floor, unlike every clean
reference; the text alone, or the chain alone, disputes nothing."""

from __future__ import annotations

import pandas as pd

from recsys.domain import AiInvolvement, Artist, Credit, Provenance, Track
from recsys.integrity.disputes import check_declarations_by_chain

ARTISTS = {
    "v": Artist(artist_id="v", name="Verified", verified=True, rights_holder_id="hv"),
    "n": Artist(artist_id="n", name="New", rights_holder_id="hn"),
}


def _track(tid: str, artist: str, text: str = "") -> Track:
    return Track(
        track_id=tid,
        title=tid,
        description=text,
        credits=(Credit(artist_id=artist, share=1.0),),
        provenance=Provenance(ai_involvement=AiInvolvement.NONE),
    )


def test_text_and_a_silent_chain_together_dispute() -> None:
    refs = [_track(f"r{i}", "v") for i in range(5)]
    tracks = [
        *refs,
        _track("both", "n", "Made with Suno"),
        _track("text_only", "n", "Made with Suno"),
        _track("chain_only", "n"),
    ]
    floor = {**{f"r{i}": -40.0 - i for i in range(5)}, "both": -99.0, "text_only": -45.0,
             "chain_only": -99.0}  # fmt: skip
    features = pd.DataFrame({"hf_floor_db": floor})
    check = check_declarations_by_chain(features, tracks, ARTISTS)
    assert [r.track_id for r in check.records] == ["both"]
    assert (
        "below every one of 5 clean reference tracks"
        in check.records[0].evidence["recording_chain"]
    )
    assert check.records[0].probability is None


def test_a_clean_reference_without_a_floor_moves_the_bound() -> None:
    # A verified human master that is digitally silent up top: the bound goes 10 dB below it.
    tracks = [_track(f"r{i}", "v") for i in range(3)] + [_track("x", "n", "AI generated")]
    features = pd.DataFrame({"hf_floor_db": {"r0": -40.0, "r1": -95.0, "r2": -42.0, "x": -99.0}})
    assert check_declarations_by_chain(features, tracks, ARTISTS).records == []


def test_a_generator_named_as_a_tag_or_credit_corroborates_a_silent_chain() -> None:
    refs = [_track(f"r{i}", "v") for i in range(5)]
    tagged = Track(
        track_id="tagged",
        title="Night Drive",
        tags=("pop", "udio"),
        credits=(Credit(artist_id="n", share=1.0),),
        provenance=Provenance(ai_involvement=AiInvolvement.NONE),
    )
    credited = Track(
        track_id="credited",
        title="Night Walk",
        credits=(Credit(artist_id="n", share=0.8), Credit(artist_id="tool", share=0.2)),
        provenance=Provenance(ai_involvement=AiInvolvement.NONE),
    )
    in_prose = _track("in_prose", "n", "suno na, my friend")  # Hindi: "listen"
    artists = {**ARTISTS, "tool": Artist(artist_id="tool", name="Suno AI", rights_holder_id="hn")}
    floor = {**{f"r{i}": -40.0 - i for i in range(5)}, "tagged": -99.0, "credited": -99.0,
             "in_prose": -99.0}  # fmt: skip
    check = check_declarations_by_chain(
        pd.DataFrame({"hf_floor_db": floor}), [*refs, tagged, credited, in_prose], artists
    )
    assert sorted(r.track_id for r in check.records) == ["credited", "tagged"]
