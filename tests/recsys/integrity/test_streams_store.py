"""The streams screen over a real SQLite store: flagged plays are kept with their reasons, left
out of payouts and of every training signal, and a rights admin's clearance is audited."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from recsys.build import BuildContext
from recsys.demo.generator import DemoConfig, generate_demo
from recsys.demo.writer import write_folder
from recsys.embeddings.steps import track_als
from recsys.errors import LinerError, StoreError
from recsys.ingest.run import run_ingest
from recsys.integrity.metering_report import metering_report_from_store
from recsys.integrity.streams.farms import FARM_KINDS, PlantedFarms, farm_batch, plant_farms
from recsys.integrity.streams.screen import clear_play_flags, screen_streams
from recsys.pipeline.loader import play_counts
from recsys.settings import LinerSettings
from recsys.store.play_flags import DETECTOR_ACTOR, learnable_events
from recsys.store.sqlite import SqliteStore


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PlantedFarms]:
    """A small organic world with a swarm farm, screened as uploads (so only the streams
    screen stands between the farm and the pool), built once and copied per test."""
    root = tmp_path_factory.mktemp("streams")
    tables = generate_demo(DemoConfig(tracks=200, listeners=40, audio=False, abuse=False))
    write_folder(tables, root / "demo", render_audio=False)
    store = SqliteStore(root / "liner.db")
    run_ingest(root / "demo", store)
    spec = FARM_KINDS["swarm"].model_copy(update={"accounts": 16, "days": 3, "plays_per_day": 30})
    planted = plant_farms(store.read_frame("events"), [spec], seed=21)
    store.ingest(farm_batch(planted))
    store.finish_screening(screened=store.unscreened_marks())
    store.close()
    return root / "liner.db", planted


@pytest.fixture()
def farmed(template, tmp_path: Path) -> Iterator[tuple[SqliteStore, PlantedFarms]]:
    db, planted = template
    shutil.copy(db, tmp_path / "liner.db")
    store = SqliteStore(tmp_path / "liner.db")
    yield store, planted
    store.close()


def test_flagged_plays_are_kept_with_reasons_and_the_audit_is_append_only(farmed) -> None:
    store, planted = farmed
    before = len(store.read_frame("events"))
    run = screen_streams(store)
    farm = set(planted.truth["event_id"])
    flagged = store.flagged_event_ids()
    assert farm <= flagged and run.flagged == len(flagged)
    assert len(store.read_frame("events")) == before, "nothing is deleted"
    record = store.play_flag_history(next(iter(farm)))[-1]
    assert record.flagged and record.actor == DETECTOR_ACTOR and record.run_id == run.run_id
    assert "coordinated" in record.reasons and record.score > 0 and record.note
    frame = store.read_frame("play_flags")
    assert frame["flagged"].dtype == bool and len(frame) == len(flagged)
    assert screen_streams(store).flagged == 0, "a second run records no change"
    for sql in ("UPDATE play_flags SET flagged = 0", "DELETE FROM play_flags"):
        with pytest.raises(StoreError, match="append-only"):
            store.execute_sql(sql)


def test_flagged_plays_reach_no_payout_and_no_training_signal(farmed, tmp_path: Path) -> None:
    store, planted = farmed
    farm_tracks = set(planted.tracks["track_id"])
    pool_before = _farm_payout(store, planted)
    assert pool_before > 1000, "the farm takes a large part of the pool when unscreened"
    screen_streams(store)
    assert _farm_payout(store, planted) == 0
    ctx = BuildContext(
        store=store, settings=LinerSettings(), work_dir=tmp_path / "w", cache_dir=tmp_path / "c"
    )
    assert not set(ctx.events["event_id"]) & store.flagged_event_ids()
    _, counts, users, _ = track_als(ctx.events, ctx.track_ids, ctx.config.als, seed=0)
    farm_rows = np.isin(ctx.track_ids, list(farm_tracks))
    assert counts[farm_rows].sum() == 0, "ALS sees no listener of the farm's tracks"
    assert not {u for u in users.tolist() if u.startswith("swarm_")}
    plays, _, _ = play_counts(learnable_events(store))
    assert not farm_tracks & set(plays), "popularity counts no flagged play"
    account = planted.truth["listener_id"].iloc[0]
    assert len(store.listener_history(account)) == 0, "serving reads no flagged history"
    assert len(store.listener_events(account)) > 0, "the log still holds them"


def _farm_payout(store: SqliteStore, planted: PlantedFarms) -> float:
    report = metering_report_from_store(store, "10000").to_dict()
    return sum(
        float(row["payout_pro_rata"])
        for row in report["holders"]
        if row["rights_holder_id"] in planted.farm_payees
    )


def test_an_admin_clears_a_flag_with_an_audited_reason_that_later_runs_respect(farmed) -> None:
    store, planted = farmed
    screen_streams(store)
    account = str(planted.truth["listener_id"].iloc[0])
    own = set(planted.truth.loc[planted.truth["listener_id"] == account, "event_id"])
    with pytest.raises(LinerError, match="actor and a reason"):
        clear_play_flags(store, actor="admin-7", reason=" ", listener_id=account)
    cleared = clear_play_flags(store, actor="admin-7", reason="known fan club", listener_id=account)
    assert {r.event_id for r in cleared} == own
    assert not own & store.flagged_event_ids()
    last = store.play_flag_history(next(iter(own)))
    assert [r.flagged for r in last] == [True, False]
    assert (last[-1].actor, last[-1].note) == ("admin-7", "known fan club")
    rerun = screen_streams(store)
    assert rerun.kept_cleared == len(own) and not own & store.flagged_event_ids()


def test_a_listener_with_nothing_flagged_cannot_be_cleared(farmed) -> None:
    store, _ = farmed
    screen_streams(store)
    ids = store.read_frame("listeners")["listener_id"]
    genuine = ids[ids.str.startswith("u_")].iloc[0]
    with pytest.raises(LinerError, match="none of the named plays is flagged"):
        clear_play_flags(store, actor="admin-7", reason="check", listener_id=str(genuine))


def test_events_frame_filter_is_the_identity_without_flags(farmed) -> None:
    store, _ = farmed
    assert len(learnable_events(store)) == len(store.read_frame("events"))
    assert isinstance(store.read_frame("play_flags"), pd.DataFrame)
