"""The demo world: deterministic, in the documented format, and with every case the rules need."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.demo import ABUSE_KINDS, TRUTH_COLUMNS, DemoConfig, generate_demo, write_folder
from recsys.demo.names import NameBook, name_key
from recsys.demo.tables import (
    ARTIST_COLUMNS,
    CONSENT_COLUMNS,
    CREDIT_COLUMNS,
    INTERACTION_COLUMNS,
    ITEM_COLUMNS,
    LISTENER_COLUMNS,
    unix,
)
from recsys.domain import AiInvolvement, AiPart, ArtistKind, ConsentScope, CreditRole, EventType
from tests.recsys.demo.conftest import TINY, read_tables

DOCUMENTED = {
    "items": tuple(c for c in ITEM_COLUMNS if c != "audio_path"),
    "artists": ARTIST_COLUMNS,
    "credits": CREDIT_COLUMNS,
    "listeners": LISTENER_COLUMNS,
    "interactions": INTERACTION_COLUMNS,
    "consent": CONSENT_COLUMNS,
    "truth": TRUTH_COLUMNS,
}


def split(cell: str) -> list[str]:
    return [x for x in cell.split("|") if x]


def test_same_seed_gives_byte_identical_files(tiny_world: Path, tmp_path: Path) -> None:
    write_folder(generate_demo(TINY), tmp_path)
    for path in sorted(tiny_world.glob("*.csv")):
        assert (tmp_path / path.name).read_bytes() == path.read_bytes(), path.name


def test_another_seed_gives_another_world(tiny: dict[str, pd.DataFrame], tmp_path: Path) -> None:
    write_folder(generate_demo(TINY.model_copy(update={"seed": 8})), tmp_path)
    other = read_tables(tmp_path)
    assert not other["items"].equals(tiny["items"])
    assert not other["interactions"].equals(tiny["interactions"])


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_files_have_the_documented_columns(tiny: dict[str, pd.DataFrame], name: str) -> None:
    assert tuple(tiny[name].columns) == DOCUMENTED[name]
    assert len(tiny[name]) > 0


def test_enums_are_valid(tiny: dict[str, pd.DataFrame]) -> None:
    items = tiny["items"]
    assert set(items["ai_involvement"]) <= {v.value for v in AiInvolvement}
    assert {p for c in items["ai_parts"] for p in split(c)} <= {v.value for v in AiPart}
    assert set(items["label_source"]) == {"DECLARED"}
    assert set(tiny["artists"]["kind"]) == {v.value for v in ArtistKind}
    assert set(tiny["artists"]["verified"]) == {"true", "false"}
    assert set(tiny["credits"]["role"]) <= {v.value for v in CreditRole}
    assert set(tiny["interactions"]["event_type"]) == {v.value for v in EventType}
    assert set(tiny["consent"]["scope"]) == {v.value for v in ConsentScope}
    assert set(tiny["consent"]["action"]) == {"grant", "revoke"}
    assert set(tiny["listeners"]["ai_preference"]) == {"allow", "opt_out"}
    for column in ("uploaded_at",):
        assert all(unix(v) > 0 for v in items[column])
    assert all(unix(v) > 0 for v in tiny["interactions"]["timestamp"])


def test_ids_are_unique_and_every_reference_resolves(tiny: dict[str, pd.DataFrame]) -> None:
    items, artists, truth = tiny["items"], tiny["artists"], tiny["truth"]
    events, credits = tiny["interactions"], tiny["credits"]
    item_ids, artist_ids = set(items["item_id"]), set(artists["artist_id"])
    assert len(item_ids) == len(items) and len(artist_ids) == len(artists)
    assert events["event_id"].is_unique
    assert tiny["consent"]["entry_id"].is_unique
    assert set(events["item_id"]) <= item_ids
    assert set(events["user_id"]) <= set(tiny["listeners"]["user_id"])
    assert set(credits["item_id"]) == item_ids and set(credits["artist_id"]) <= artist_ids
    assert {a for c in items["artist_ids"] for a in split(c)} <= artist_ids
    assert {a for c in items["references_artist_ids"] for a in split(c)} <= artist_ids
    assert {a for c in tiny["listeners"]["blocked_artist_ids"] for a in split(c)} <= artist_ids
    assert set(truth["item_id"]) == item_ids
    assert {a for c in truth["imitated_artist_ids"] for a in split(c)} <= artist_ids
    assert set(split("|".join(truth["duplicate_of"]))) <= item_ids
    assert set(tiny["consent"]["rights_holder_id"]) <= set(artists["rights_holder_id"])


def test_credit_shares_sum_to_one(tiny: dict[str, pd.DataFrame]) -> None:
    shares = tiny["credits"].assign(share=lambda d: d["share"].astype(float))
    sums = shares.groupby("item_id")["share"].sum()
    assert ((sums - 1).abs() < 1e-9).all()
    primary = tiny["items"]["artist_ids"].str.split("|").str[0]
    first = shares[shares["role"] == "primary"].set_index("item_id")["artist_id"]
    assert (primary.to_numpy() == first.reindex(tiny["items"]["item_id"]).to_numpy()).all()


def test_every_category_exists(tiny: dict[str, pd.DataFrame]) -> None:
    artists, truth = tiny["artists"], tiny["truth"]
    merged = tiny["items"].merge(truth, on="item_id")
    assert {"human", "ai_persona", "unknown"} <= set(artists["kind"])
    assert set(artists.loc[artists["kind"] == "human", "verified"]) == {"true", "false"}
    assert artists["rights_holder_id"].value_counts().max() >= 2  # a label holds several
    declared = set(merged["ai_involvement"])
    assert {"NONE", "ASSISTED", "GENERATED", "UNDISCLOSED"} <= declared
    undeclared = merged[merged["undeclared_ai"] == "true"]
    assert set(undeclared["ai_involvement"]) == {"UNDISCLOSED"}
    assert {"ASSISTED", "GENERATED"} <= set(undeclared["true_ai_involvement"])
    honest_undisclosed = merged[
        (merged["ai_involvement"] == "UNDISCLOSED") & (merged["true_ai_involvement"] == "NONE")
    ]
    assert len(honest_undisclosed) > 0
    declared_refs = merged[merged["references_artist_ids"] != ""]
    assert set(declared_refs["imitation_consented"]) == {"true", "false"}
    kinds = {k for c in truth["abuse_kinds"] for k in split(c)}
    assert kinds == set(ABUSE_KINDS)
    assert (tiny["listeners"]["ai_preference"] == "opt_out").any()
    assert (tiny["listeners"]["blocked_artist_ids"] != "").any()
    ultra = merged[merged["abuse_kinds"].str.contains("ultra_short")]
    assert (ultra["duration_ms"].astype(int) < 30_000).all()


def test_consent_ledger_has_history_and_realistic_rates(tiny: dict[str, pd.DataFrame]) -> None:
    ledger = tiny["consent"].sort_values(["timestamp", "entry_id"])
    assert (ledger["action"] == "revoke").any() and (ledger["actor"] != "").all()
    assert (ledger["reason"] != "").all()
    last = ledger.groupby(["rights_holder_id", "scope"])["action"].last()
    holders = set(tiny["artists"]["rights_holder_id"])

    def rate(scope: str) -> float:
        return sum(last.get((h, scope)) == "grant" for h in holders) / len(holders)

    assert 0.3 <= rate("ai_training") <= 0.8
    assert rate("voice_likeness") < rate("ai_style_reference") < rate("ai_training")


def test_imitation_consent_in_truth_matches_the_ledger(tiny: dict[str, pd.DataFrame]) -> None:
    ledger = tiny["consent"].sort_values(["timestamp", "entry_id"])
    granted = ledger.groupby(["rights_holder_id", "scope"])["action"].last() == "grant"
    holder = tiny["artists"].set_index("artist_id")["rights_holder_id"]
    organic = tiny["truth"][(tiny["truth"]["organic"] == "true")]
    for row in organic[organic["imitated_artist_ids"] != ""].itertuples():
        ok = all(
            bool(granted.get((holder[a], s), False))
            for a in split(row.imitated_artist_ids)
            for s in split(row.imitation_scopes)
        )
        assert row.imitation_consented == str(ok).lower()


def test_events_follow_uploads_and_avoid_spam(tiny: dict[str, pd.DataFrame]) -> None:
    items = tiny["items"].set_index("item_id")
    events = tiny["interactions"]
    uploaded = events["item_id"].map(items["uploaded_at"].map(unix))
    assert (events["timestamp"].map(unix) >= uploaded).all()
    abusive = set(tiny["truth"].loc[tiny["truth"]["abuse_kinds"] != "", "item_id"])
    assert not set(events["item_id"]) & abusive
    span_days = (events["timestamp"].map(unix).max() - events["timestamp"].map(unix).min()) / 86400
    assert span_days > 150


def test_plays_concentrate_on_each_listeners_genres(tiny: dict[str, pd.DataFrame]) -> None:
    genre = tiny["items"].set_index("item_id")["genre"]
    plays = tiny["interactions"][tiny["interactions"]["event_type"] == "play"]
    share = (
        plays.assign(g=plays["item_id"].map(genre))
        .groupby("user_id")["g"]
        .agg(lambda g: g.value_counts(normalize=True).iloc[:2].sum())
    )
    # Two genres out of nine would get 22% of plays by chance.
    assert share.median() >= 0.6


def test_blocked_artists_and_opt_out_are_respected(tiny: dict[str, pd.DataFrame]) -> None:
    primary = tiny["items"].set_index("item_id")["artist_ids"]
    events = tiny["interactions"].merge(tiny["listeners"], on="user_id")
    for row in events[events["blocked_artist_ids"] != ""].itertuples():
        assert not set(split(primary[row.item_id])) & set(split(row.blocked_artist_ids))
    declared = tiny["items"].set_index("item_id")["ai_involvement"]
    opt_out = events[events["ai_preference"] == "opt_out"]
    ai_share = opt_out["item_id"].map(declared).isin(["GENERATED"]).mean()
    allow = events[events["ai_preference"] == "allow"]
    assert ai_share < allow["item_id"].map(declared).isin(["GENERATED"]).mean()


def test_config_rejects_nonsense_sizes() -> None:
    with pytest.raises(ValueError, match="tracks"):
        DemoConfig(tracks=3)


def test_artist_names_never_look_alike_except_imitations(tiny: dict[str, pd.DataFrame]) -> None:
    # Genuine namesakes would be flagged as imitations by an honest screen; the world has
    # none, so every imitation flag in it is about an injected imitation.
    truth = tiny["truth"].set_index("item_id")
    imitations = set(truth.index[truth["abuse_kinds"].str.contains("imitated_name")])
    credits = tiny["credits"]
    genuine = set(credits.loc[~credits["item_id"].isin(imitations), "artist_id"])
    artists = tiny["artists"][tiny["artists"]["artist_id"].isin(genuine)]
    # A spam burst runs several tracks under one made-up name: one name, one owner.
    by_name = artists.groupby("name")["rights_holder_id"].nunique()
    assert (by_name == 1).all()
    keys = artists.drop_duplicates("name")["name"].map(name_key)
    assert not keys.duplicated().any()
    organic = set(credits.loc[credits["item_id"].isin(truth.index[truth["organic"] == "true"]),
                              "artist_id"])  # fmt: skip
    assert len(organic) >= 20 and artists["artist_id"].isin(organic).sum() == len(organic)


def test_name_book_redraws_look_alikes() -> None:
    book = NameBook()
    book.add("The Velvet Foxes")
    rng = np.random.default_rng(0)
    draws = iter(["Velvet Foxes", "the velvet  foxes", "Velvet Foxxes", "Paper Harbors"])
    assert book.distinct(rng, lambda _: next(draws)) == "Paper Harbors"
    assert name_key("Nova.ai") == name_key("Nova AI") == "nova"


def test_tracks_with_clips_declare_the_tempo_they_are_rendered_at() -> None:
    from recsys.demo.audio import GENRE_SOUNDS, clip_bpm

    tables = generate_demo(TINY.model_copy(update={"audio": True}))
    items = tables.items.set_index("audio_path")
    assert "audio_tempo" in tables.items.columns
    jobs = [j for j in tables.audio_jobs if j.spec is not None]
    assert len(jobs) >= len(tables.items) // 2
    for job in jobs:
        assert job.spec is not None
        declared = float(items.loc[job.path, "audio_tempo"])
        assert declared == pytest.approx(clip_bpm(job.spec), abs=0.051)
        genre_bpm = GENRE_SOUNDS[job.spec.genre].bpm if job.spec.genre in GENRE_SOUNDS else 118
        assert 0.8 * genre_bpm < declared < 1.2 * genre_bpm
    # Hip hop sits around 88 BPM, so "hip hop between 80 and 100 bpm" has tracks to keep.
    hip_hop = tables.items[tables.items["genre"] == "hip-hop"]["audio_tempo"].astype(float)
    assert len(hip_hop) and ((hip_hop >= 80) & (hip_hop <= 100)).mean() > 0.8
