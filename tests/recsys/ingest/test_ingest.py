"""Ingesting data folders: known answers, idempotence, and malformed files refused whole."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from recsys.domain import ConsentScope, CreditRole
from recsys.errors import ValidationError
from recsys.ingest import IngestValidationError, catalog_summary, run_ingest
from recsys.store import SqliteStore
from tests.recsys.ingest.folders import valid_tables, write_folder

Tables = dict[str, pd.DataFrame]


@pytest.fixture
def store(tmp_path: Path) -> SqliteStore:
    s = SqliteStore(tmp_path / "liner.db")
    yield s  # type: ignore[misc]
    s.close()


def test_valid_folder_known_answer(tmp_path: Path, store: SqliteStore) -> None:
    run_ingest(write_folder(tmp_path / "data", valid_tables()), store)
    s = catalog_summary(store)
    assert s["artists_by_kind"] == {"ai_persona": 1, "human": 2}
    assert s["tracks_by_ai_involvement"] == {"GENERATED": 1, "NONE": 2, "UNDISCLOSED": 1}
    assert (s["listeners"], s["listeners_ai_opt_out"]) == (3, 1)
    # Two identical rows (u3 plays t4 at the same second) are two events.
    assert s["events_by_type"] == {"dislike": 1, "like": 1, "play": 4, "save": 1, "skip": 1}
    assert s["consent_grants_by_scope"] == {
        "ai_style_reference": 1, "ai_training": 1, "voice_likeness": 1,
    }  # fmt: skip
    t3 = store.get_track("t3")
    assert t3 is not None
    assert [(c.artist_id, c.role, c.share) for c in t3.credits] == [
        ("a1", CreditRole.PRIMARY, 0.7), ("a3", CreditRole.FEATURED, 0.3),
    ]  # fmt: skip
    t2 = store.get_track("t2")
    assert t2 is not None and str(t2.release_date) == "2024-01-01"
    assert t2.provenance.references_artist_ids == ("a1",)
    assert store.get_artist("a3").rights_holder_id == "a3"  # type: ignore[union-attr]
    events = store.read_frame("events")
    at = events.loc[(events["listener_id"] == "u1") & (events["track_id"] == "t3"), "at"]
    assert at.tolist() == [pd.Timestamp("2024-02-04T08:00:00Z")]
    assert store.consent_state().allows("label1", ConsentScope.VOICE_LIKENESS)


def test_reingest_is_idempotent_across_formats(tmp_path: Path, store: SqliteStore) -> None:
    csv_folder = write_folder(tmp_path / "csv", valid_tables())
    run_ingest(csv_folder, store)
    before = (catalog_summary(store), store.read_frame("events"), store.read_frame("tracks"))
    again = run_ingest(csv_folder, store)
    parquet = run_ingest(write_folder(tmp_path / "pq", valid_tables(), parquet=True), store)
    assert again.new_events == parquet.new_events == 0
    assert catalog_summary(store) == before[0]
    pd.testing.assert_frame_equal(store.read_frame("events"), before[1])
    pd.testing.assert_frame_equal(store.read_frame("tracks"), before[2])


def test_derived_artists_and_listeners_keep_existing(tmp_path: Path, store: SqliteStore) -> None:
    run_ingest(write_folder(tmp_path / "full", valid_tables()), store)
    items = pd.DataFrame(
        {"item_id": ["t9"], "title": ["New"], "artist_ids": ["a1|n1"],
         "artist_names": ["Ignored Name|Newcomer"]}
    )  # fmt: skip
    plays = pd.DataFrame({"user_id": ["u2", "u7"], "item_id": ["t9", "t1"]})
    run_ingest(write_folder(tmp_path / "more", {"items": items, "interactions": plays}), store)
    assert store.get_artist("a1").name == "Ada Lark"  # type: ignore[union-attr]
    assert store.get_artist("n1").name == "Newcomer"  # type: ignore[union-attr]
    assert str(store.get_listener("u2").ai_preference) == "opt_out"  # type: ignore[union-attr]
    assert store.get_listener("u7") is not None
    assert store.read_frame("events")["at"].isna().sum() == 2


def test_items_without_artists_are_their_own_artist(tmp_path: Path, store: SqliteStore) -> None:
    items = pd.DataFrame({"item_id": ["x1", "x2"], "title": ["A", "B"]})
    plays = pd.DataFrame({"user_id": ["u1"], "item_id": ["x2"]})
    run_ingest(write_folder(tmp_path / "d", {"items": items, "interactions": plays}), store)
    track = store.get_track("x2")
    assert track is not None and track.primary_artist_id == "artist-of-x2"
    assert store.summary().artists == 2


def test_audio_paths_are_absolute_and_extra_files_ignored(
    tmp_path: Path, store: SqliteStore
) -> None:
    folder = tmp_path / "d"
    (folder / "audio").mkdir(parents=True)
    (folder / "audio" / "x1.wav").write_bytes(b"RIFF")
    items = pd.DataFrame({"item_id": ["x1", "x2"], "title": ["A", "B"],
                          "audio_path": ["audio/x1.wav", ""]})  # fmt: skip
    plays = pd.DataFrame({"user_id": ["u1"], "item_id": ["x1"]})
    write_folder(folder, {"items": items, "interactions": plays})
    (folder / "truth.csv").write_text("whatever,columns\n1,2\n")
    run_ingest(folder, store)
    paths = store.read_frame("tracks")["audio_path"].tolist()
    assert paths[0] == str((folder / "audio" / "x1.wav").resolve())
    assert pd.isna(paths[1])


def _set(table: str, column: str, row: int, value: str) -> Callable[[Tables], None]:
    def mutate(tables: Tables) -> None:
        tables[table].loc[row, column] = value

    return mutate


def _drop(table: str, column: str) -> Callable[[Tables], None]:
    def mutate(tables: Tables) -> None:
        tables[table] = tables[table].drop(columns=[column])

    return mutate


# (mutation, file, 1-based row, field, words in the message)
MALFORMED = {
    "missing-column": (_drop("items", "title"), "items.csv", 0, "title", "add a column"),
    "bad-enum": (_set("items", "ai_involvement", 1, "MAYBE"), "items.csv", 2, "ai_involvement",
                 "NONE, ASSISTED, GENERATED, UNDISCLOSED"),
    "bad-enum-list": (_set("items", "ai_parts", 1, "vocals|drums"), "items.csv", 2, "ai_parts",
                      "composition, lyrics"),
    "bad-date": (_set("items", "release_date", 0, "02/01/2020"), "items.csv", 1, "release_date",
                 "YYYY-MM-DD"),
    "bad-time": (_set("interactions", "timestamp", 2, "yesterday"), "interactions.csv", 3,
                 "timestamp", "ISO 8601"),
    "bad-int": (_set("interactions", "ms_played", 0, "12.5"), "interactions.csv", 1, "ms_played",
                "whole number"),
    "duplicate-id": (_set("items", "item_id", 3, "t1"), "items.csv", 4, "item_id",
                     "repeats the id of row 1"),
    "dangling-credit": (_set("credits", "artist_id", 0, "a9"), "credits.csv", 1, "artist_id",
                        "no known artist"),
    "dangling-artist-ids": (_set("items", "artist_ids", 0, "a1|a9"), "items.csv", 1,
                            "artist_ids", "no known artist"),
    "dangling-reference": (_set("items", "references_artist_ids", 1, "zz"), "items.csv", 2,
                           "references_artist_ids", "no known artist"),
    "dangling-item": (_set("interactions", "item_id", 0, "t9"), "interactions.csv", 1,
                      "item_id", "no known item"),
    "dangling-user": (_set("interactions", "user_id", 0, "u9"), "interactions.csv", 1,
                      "user_id", "no known user"),
    "bad-shares": (_set("credits", "share", 2, "0.5"), "credits.csv", 3, "share", "sum to 0.8"),
    "bad-scope": (_set("consent", "scope", 0, "everything"), "consent.csv", 1, "scope",
                  "ai_training"),
    "empty-title": (_set("items", "title", 2, ""), "items.csv", 3, "title", "empty"),
}  # fmt: skip


def _with_new_rows(tables: Tables) -> Tables:
    """Add valid new rows, so an ingest that half-applied would show."""
    tables["items"] = pd.concat(
        [
            tables["items"],
            pd.DataFrame({"item_id": ["t5"], "title": ["New"], "artist_ids": ["a1"]}),
        ],
        ignore_index=True,
    )
    tables["credits"] = pd.concat(
        [tables["credits"], pd.DataFrame({"item_id": ["t5"], "artist_id": ["a1"], "share": ["1"]})],
        ignore_index=True,
    )
    tables["interactions"] = pd.concat(
        [tables["interactions"], pd.DataFrame({"user_id": ["u1"], "item_id": ["t5"]})],
        ignore_index=True,
    )
    return tables


@pytest.fixture(scope="module")
def good_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    """A store holding the valid folder, closed (checkpointed) so tests can copy it."""
    root = tmp_path_factory.mktemp("good")
    store = SqliteStore(root / "liner.db")
    run_ingest(write_folder(root / "data", valid_tables()), store)
    summary = catalog_summary(store)
    store.close()
    return root / "liner.db", summary


@pytest.mark.parametrize("case", list(MALFORMED), ids=list(MALFORMED))
def test_malformed_folder_is_refused_whole(
    case: str, tmp_path: Path, good_db: tuple[Path, dict[str, object]]
) -> None:
    mutate, file, row, field, words = MALFORMED[case]
    shutil.copy(good_db[0], tmp_path / "liner.db")
    store = SqliteStore(tmp_path / "liner.db")
    before = catalog_summary(store)
    assert before == good_db[1]
    tables = _with_new_rows(valid_tables())
    mutate(tables)
    with pytest.raises(ValidationError) as info:
        run_ingest(write_folder(tmp_path / "bad", tables), store)
    errors = info.value.errors if isinstance(info.value, IngestValidationError) else [info.value]
    assert any(
        (e.file, e.row, e.field) == (file, row, field) and words in str(e) for e in errors
    ), str(info.value)
    assert "Fix:" in str(info.value)
    assert catalog_summary(store) == before
    assert store.get_track("t5") is None
    store.close()


def test_non_utf8_names_row_and_field(tmp_path: Path, store: SqliteStore) -> None:
    folder = write_folder(tmp_path / "d", valid_tables())
    raw = (folder / "items.csv").read_bytes().replace(b"Neon Copy", b"Neon Caf\xe9")
    (folder / "items.csv").write_bytes(raw)
    with pytest.raises(ValidationError) as info:
        run_ingest(folder, store)
    e = info.value
    assert (e.file, e.row, e.field) == ("items.csv", 2, "title")
    assert "UTF-8" in str(e)
    assert store.summary().tracks == 0


def test_errors_are_collected_and_capped(tmp_path: Path, store: SqliteStore) -> None:
    items = pd.DataFrame({"item_id": [f"x{i}" for i in range(30)], "title": "T",
                          "label_source": "GUESSED"})  # fmt: skip
    plays = pd.DataFrame({"user_id": ["u1"], "item_id": ["nope"]})
    with pytest.raises(IngestValidationError) as info:
        run_ingest(write_folder(tmp_path / "d", {"items": items, "interactions": plays}), store)
    assert info.value.total == 31
    assert len(info.value.errors) == 20
    assert "and 11 more" in str(info.value)


def test_missing_required_file(tmp_path: Path, store: SqliteStore) -> None:
    tables = valid_tables()
    del tables["interactions"]
    with pytest.raises(ValidationError, match="interactions"):
        run_ingest(write_folder(tmp_path / "d", tables), store)


def test_ragged_csv_row(tmp_path: Path, store: SqliteStore) -> None:
    folder = write_folder(tmp_path / "d", valid_tables())
    with (folder / "interactions.csv").open("a") as fh:
        fh.write("u1,t1,2024-01-01,play,1,extra\n")
    with pytest.raises(ValidationError) as info:
        run_ingest(folder, store)
    assert (info.value.file, info.value.row) == ("interactions.csv", 9)


def test_a_cell_over_the_csv_field_limit_gives_a_validation_error(
    tmp_path: Path, store: SqliteStore
) -> None:
    """A 2 MiB cell once ended in a traceback (`_csv.Error: field larger than field limit`)."""
    folder = write_folder(tmp_path / "d", valid_tables())
    text = (folder / "items.csv").read_text()
    header, first, rest = text.split("\n", 2)
    # An unclosed quote that swallows 2 MiB and the rest of the file.
    (folder / "items.csv").write_text(f'{header}\n{first},"{"x" * (2 << 20)}\n{rest}')
    with pytest.raises(ValidationError) as info:
        run_ingest(folder, store)
    assert info.value.file == "items.csv"
    assert "Fix:" in str(info.value)
    assert store.summary().tracks == 0


@pytest.mark.parametrize(
    ("column", "value", "problem"),
    [
        ("item_id", "t\x00nul", "control characters"),
        ("item_id", "x" * 10_000, "the limit is 128"),
        ("title", "Line\x00break", "control characters"),
        ("description", "y" * (500 * 1024), "the limit is 5000"),
    ],
    ids=["id-with-nul", "id-10k", "title-nul", "description-500k"],
)
def test_ingest_refuses_what_the_api_refuses(
    tmp_path: Path, store: SqliteStore, column: str, value: str, problem: str
) -> None:
    """One set of limits (recsys.domain.limits): ingest once stored ids with NUL or 10,000
    characters and a 500 KiB description that the API refuses."""
    tables = valid_tables()
    items = tables["items"].copy()
    items[column] = items[column].astype(object) if column in items else "ok"
    items.loc[0, column] = value
    tables["items"] = items
    folder = write_folder(tmp_path / "d", tables, parquet=True)
    with pytest.raises(ValidationError) as info:
        run_ingest(folder, store)
    assert problem in str(info.value) and column in str(info.value)
    assert store.summary().tracks == 0


def test_audio_paths_must_stay_inside_the_data_folder(tmp_path: Path, store: SqliteStore) -> None:
    outside = tmp_path / "secret.wav"
    outside.write_bytes(b"RIFF")
    for path in (str(outside), "../secret.wav"):
        tables = valid_tables()
        items = tables["items"].copy()
        items["audio_path"] = None
        items["audio_path"] = items["audio_path"].astype(object)
        items.loc[0, "audio_path"] = path
        tables["items"] = items
        folder = write_folder(tmp_path / "d", tables)
        with pytest.raises(ValidationError) as info:
            run_ingest(folder, store)
        assert "outside the data folder" in str(info.value), path
        assert store.summary().tracks == 0
    run_ingest(folder, store, allow_external_audio=True)
    track = store.get_track(str(tables["items"].loc[0, "item_id"]))
    assert track is not None and track.audio_path == str(outside.resolve())
