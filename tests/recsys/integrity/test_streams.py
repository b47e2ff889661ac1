"""The artificial-streaming detector on event frames: every kind of farm is flagged, genuine
heavy listening is not, and the generator's farms are measured, never learned from."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recsys.demo.generator import DemoConfig, generate_demo
from recsys.integrity.streams import StreamsConfig, play_log, score_streams
from recsys.integrity.streams.calibration import calibrate, excluded_share
from recsys.integrity.streams.farms import FARM_KINDS, FarmSpec, plant_farms

DAY = 86_400


@pytest.fixture(scope="module")
def host() -> tuple[pd.DataFrame, pd.Series, pd.Series]:
    """A small organic world: (events, payee per track, duration per track)."""
    tables = generate_demo(DemoConfig(tracks=300, listeners=80, audio=False, abuse=False))
    ev, items = tables.interactions, tables.items
    events = pd.DataFrame(
        {
            "event_id": ev["event_id"],
            "listener_id": ev["user_id"],
            "track_id": ev["item_id"],
            "event_type": ev["event_type"],
            "at": pd.to_datetime(ev["timestamp"], utc=True),
            "ms_played": pd.to_numeric(ev["ms_played"], errors="coerce").astype("Int64"),
            "weight": pd.to_numeric(ev["weight"]).astype(float),
        }
    )
    ids = items["item_id"].to_numpy()
    payees = pd.Series(items["artist_ids"].str.split("|").str[0].to_numpy(), index=ids)
    durations = pd.Series(pd.to_numeric(items["duration_ms"]).to_numpy(), index=ids)
    return events, payees, durations


SMALL = {
    "looper": {"days": 3, "plays_per_day": 250},
    "swarm": {"accounts": 20, "days": 3, "plays_per_day": 40},
    "rate": {"accounts": 3, "plays_per_day": 600},
    "cohort": {"accounts": 12, "days": 4, "plays_per_day": 30},
    "hugger": {"accounts": 5, "days": 2, "plays_per_day": 60},
}


def _score(host: tuple[pd.DataFrame, pd.Series, pd.Series], specs: list[FarmSpec], seed: int):
    events, payees, durations = host
    planted = plant_farms(events, specs, seed=seed, durations=durations, payees=payees)
    new = planted.tracks.set_index("track_id")
    log = play_log(
        planted.events,
        payees=pd.concat([payees, new["payee"]]),
        durations=pd.concat([durations, new["duration_ms"].astype(float)]),
        listeners=planted.listeners,
    )
    return planted, log, score_streams(log)


@pytest.mark.parametrize("kind", sorted(SMALL))
def test_each_farm_kind_is_flagged_and_no_genuine_play(host, kind: str) -> None:
    spec = FARM_KINDS[kind].model_copy(update=SMALL[kind])
    planted, _, verdict = _score(host, [spec], seed=11)
    flagged = verdict.flagged_ids()
    truth = set(planted.truth["event_id"])
    recall = len(truth & flagged) / len(truth)
    assert recall >= 0.95, verdict.accounts.loc[verdict.accounts.index.str.contains("_u")]
    assert not (flagged - truth), "a genuine play was flagged"


def test_flags_carry_reasons_and_scores(host) -> None:
    spec = FARM_KINDS["swarm"].model_copy(update=SMALL["swarm"])
    planted, _, verdict = _score(host, [spec], seed=3)
    flags = verdict.flags.set_index("event_id")
    row = flags.loc[planted.truth["event_id"].iloc[0]]
    assert "coordinated" in row["reasons"].split("|")
    assert row["score"] >= StreamsConfig().flag_points
    assert "accounts feeding" in row["note"]


def _album_day(listener: str, start: float, hours: float, tracks: int = 12) -> pd.DataFrame:
    """One listener playing a whole album on repeat, full plays, for ``hours``."""
    rng = np.random.default_rng(5)
    durations = rng.uniform(150_000, 280_000, size=tracks).round()
    rows, t, i = [], start, 0
    while t < start + hours * 3600:
        k = i % tracks
        rows.append((f"{listener}_{i}", listener, f"album_t{k}", t, durations[k]))
        t += durations[k] / 1000 + 2
        i += 1
    frame = pd.DataFrame(rows, columns=["event_id", "listener_id", "track_id", "t", "ms"])
    return pd.DataFrame(
        {
            "event_id": frame["event_id"],
            "listener_id": frame["listener_id"],
            "track_id": frame["track_id"],
            "event_type": "play",
            "at": pd.to_datetime(frame["t"], unit="s", utc=True),
            "ms_played": frame["ms"].astype("Int64"),
            "weight": 1.0,
        }
    )


@pytest.mark.parametrize("hours", [10.0, 16.0], ids=["10h", "16h"])
def test_a_fan_playing_an_album_on_repeat_all_day_is_not_flagged(host, hours: float) -> None:
    events, payees, _ = host
    last = pd.to_datetime(events["at"]).max().timestamp()
    fan = _album_day("fan", last - 2 * DAY, hours)  # a brand-new account, alone with its album
    established = events[events["listener_id"] == events["listener_id"].iloc[0]]
    regular = _album_day(str(established["listener_id"].iloc[0]), last - DAY, hours)
    album = pd.Series("album_artist", index=[f"album_t{k}" for k in range(12)])
    log = play_log(
        pd.concat([events, fan, regular.assign(event_id="r" + regular["event_id"])]),
        payees=pd.concat([payees, album]),
    )
    verdict = score_streams(log)
    assert verdict.flags.empty, verdict.flags.head()


def test_impossible_day_of_a_genuine_account_flags_that_day_only(host) -> None:
    events, payees, _ = host
    listener = str(events["listener_id"].value_counts().index[0])  # the heaviest listener
    last = pd.to_datetime(events["at"]).max().timestamp()
    times = last - 3 * DAY + np.arange(0, 23.5 * 3600, 600.0)  # every 10 min, all day
    burst = pd.DataFrame(
        {
            "event_id": [f"burst{i}" for i in range(len(times))],
            "listener_id": listener,
            "track_id": events["track_id"].iloc[: len(times)].to_numpy(),
            "event_type": "play",
            "at": pd.to_datetime(times, unit="s", utc=True),
            "ms_played": pd.array([110_000] * len(times), dtype="Int64"),
            "weight": 1.0,
        }
    )
    verdict = score_streams(play_log(pd.concat([events, burst]), payees=payees))
    flagged = verdict.flagged_ids()
    assert set(burst["event_id"]) <= flagged
    own = set(events.loc[events["listener_id"] == listener, "event_id"])
    assert not (own & flagged), "the account's ordinary days stay paid"
    assert set(verdict.flags["reasons"]) == {"rate_impossible"}


def test_aggregated_play_counts_never_make_a_rate(host) -> None:
    """Rows that are play counts (weight > 1) carry no listening time."""
    events, payees, _ = host
    counts = events[events["event_type"] == "play"].assign(weight=5_000.0)
    verdict = score_streams(play_log(counts, payees=payees))
    assert verdict.flags.empty


def test_calibration_keeps_floors_on_genuine_listening_and_raises_them_when_needed(host) -> None:
    events, payees, _ = host
    log = play_log(events, payees=payees)
    result = calibrate({"demo": log})
    assert result.raised == [] and result.excluded["demo"] <= 0.0025
    # A floor no genuine listener could meet: calibration raises it until within budget.
    eager = StreamsConfig(flag_points=1)
    raised = calibrate({"demo": log}, eager)
    assert raised.raised and raised.config.flag_points > 1
    assert excluded_share(log, score_streams(log, raised.config).flagged_ids()) <= 0.0025


def test_accounts_already_there_when_the_log_begins_form_no_cohort() -> None:
    """In a small world most accounts' first plays fall in the log's first days; they were not
    seen arriving, so eight fans of one label there are no created-together cohort."""
    tables = generate_demo(DemoConfig(tracks=600, listeners=200, audio=False))
    ev = tables.interactions
    events = pd.DataFrame(
        {
            "event_id": ev["event_id"],
            "listener_id": ev["user_id"],
            "track_id": ev["item_id"],
            "event_type": ev["event_type"],
            "at": pd.to_datetime(ev["timestamp"], utc=True),
            "ms_played": pd.to_numeric(ev["ms_played"], errors="coerce").astype("Int64"),
            "weight": 1.0,
        }
    )
    primary = tables.items["artist_ids"].str.split("|").str[0]
    holders = tables.artists.set_index("artist_id")["rights_holder_id"]
    payees = pd.Series(primary.map(holders).to_numpy(), index=tables.items["item_id"].to_numpy())
    assert score_streams(play_log(events, payees=payees)).flags.empty


def test_a_log_without_plays_flags_nothing(tmp_path) -> None:
    from recsys.integrity.streams.screen import screen_streams
    from recsys.store.sqlite import SqliteStore

    store = SqliteStore(tmp_path / "empty.db")
    run = screen_streams(store)
    assert run.summary()["flagged_events"] == 0 and not store.flagged_event_ids()
    store.close()


def test_a_small_catalog_whose_listeners_all_play_the_same_tracks_is_not_a_farm() -> None:
    """Eight tracks, twenty listeners who each play most of them at their own pace: their
    track sets are near-identical because the catalog is small, not because they are
    co-ordinated (this once flagged every listener of the adversarial suite's catalog, which
    then protected none of its artists)."""
    rng = np.random.default_rng(3)
    tracks = [f"t{k}" for k in range(8)]
    rows = []
    for u in range(20):
        start = 1_767_225_600 + rng.uniform(0, 30) * DAY
        for i in range(int(rng.integers(10, 25))):
            at = start + i * rng.uniform(3, 30) * 3600
            ms = int(rng.uniform(1.2e5, 3e5))
            rows.append((f"u{u}_{i}", f"u{u}", rng.choice(tracks), at, ms))
    frame = pd.DataFrame(rows, columns=["event_id", "listener_id", "track_id", "t", "ms"])
    events = pd.DataFrame(
        {
            "event_id": frame["event_id"],
            "listener_id": frame["listener_id"],
            "track_id": frame["track_id"],
            "event_type": "play",
            "at": pd.to_datetime(frame["t"], unit="s", utc=True),
            "ms_played": frame["ms"].astype("Int64"),
            "weight": 1.0,
        }
    )
    payees = pd.Series([f"holder{k % 4}" for k in range(8)], index=tracks)
    assert score_streams(play_log(events, payees=payees)).flags.empty
    # Without the population rule the same log is one big "farm" (the test can fail).
    everyone = StreamsConfig(max_cluster_share=1.0)
    assert not score_streams(play_log(events, payees=payees), everyone).flags.empty
