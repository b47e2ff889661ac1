"""What only the SQLite store promises (the contract both backends keep is test_contract.py)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from recsys.domain import ConsentScope
from recsys.errors import StoreError
from recsys.store import QuarantineRecord, SqliteStore, open_store
from recsys.store.schema import LATEST_VERSION
from tests.recsys.store.test_contract import T0, _grant


class TestSqliteStore:
    def test_ledger_cannot_be_edited_even_by_raw_sql(self, tmp_path: Path) -> None:
        store = SqliteStore(tmp_path / "liner.db")
        store.append_consent([_grant("g1", "h1", ConsentScope.AI_TRAINING, T0)])
        store.record_quarantine(
            [QuarantineRecord(track_id="t1", quarantined=True, actor="screening", at=T0)]
        )
        for sql in ("UPDATE consent SET action = 'revoke'", "DELETE FROM consent"):
            with pytest.raises(StoreError, match="append-only"):
                store.execute_sql(sql)
        store.close()
        raw = sqlite3.connect(tmp_path / "liner.db")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            raw.execute("DELETE FROM consent")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            raw.execute("UPDATE quarantine SET quarantined = 0")
        raw.close()
        reopened = SqliteStore(tmp_path / "liner.db")
        assert reopened.consent_state().allows("h1", ConsentScope.AI_TRAINING)
        reopened.close()

    def test_listener_history_is_read_in_index_order_without_a_sort(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Every Recommend reads the listener's history: the rows must come out of the index in
        # the order asked (newest first, ties by event_id), not through a per-request sort.
        store = SqliteStore(tmp_path / "liner.db")
        asked: list[str] = []
        query = store._query
        monkeypatch.setattr(store, "_query", lambda sql, params=(): asked.append(sql) or [])
        store.listener_history("u1", limit=500)
        store.listener_events("u1")
        monkeypatch.setattr(store, "_query", query)
        assert len(asked) == 2
        for sql in asked:
            plan = " | ".join(
                str(row[-1])
                for row in store._query("EXPLAIN QUERY PLAN " + sql, ("u1", 500)[: sql.count("?")])
            )
            assert "events_listener_order" in plan, plan
            assert "TEMP B-TREE" not in plan, plan
        store.close()

    def test_pragmas_and_schema(self, tmp_path: Path) -> None:
        store = SqliteStore(tmp_path / "liner.db")
        assert store.execute_sql("PRAGMA journal_mode") == [("wal",)]
        assert store.execute_sql("PRAGMA synchronous") == [(2,)]  # FULL
        assert store.execute_sql("PRAGMA foreign_keys") == [(1,)]
        assert store.summary().schema_version == LATEST_VERSION
        assert store.integrity_check() == "ok"
        store.close()

    def test_refuses_newer_schema(self, tmp_path: Path) -> None:
        SqliteStore(tmp_path / "liner.db").close()
        raw = sqlite3.connect(tmp_path / "liner.db")
        raw.execute("INSERT INTO schema_version VALUES (99, 0)")
        raw.commit()
        raw.close()
        with pytest.raises(StoreError, match="upgrade"):
            SqliteStore(tmp_path / "liner.db")


@pytest.mark.parametrize("url", ["{tmp}/a.db", "sqlite:///{tmp}/a.db"], ids=["path", "sqlite-url"])
def test_open_store_sqlite(url: str, tmp_path: Path) -> None:
    store = open_store(url.format(tmp=tmp_path))
    assert isinstance(store, SqliteStore)
    assert store.path == tmp_path / "a.db"
    store.close()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql+psycopg://db/liner", "SQLAlchemy driver URL"),
        ("mysql://x", "unknown store scheme"),
    ],
    ids=["driver-url", "unknown"],
)
def test_open_store_refuses(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message):
        open_store(url)


def test_a_migration_numbered_below_the_latest_applied_one_is_still_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A database migrated by code that lacked one migration (added on a branch while later
    ones landed) gets the missing one on the next open, instead of skipping it."""
    from recsys.store import schema

    full = schema.MIGRATIONS
    skipped = full[1][0]
    db = tmp_path / "liner.db"
    monkeypatch.setattr(schema, "MIGRATIONS", tuple(m for m in full if m[0] != skipped))
    SqliteStore(db).close()
    monkeypatch.setattr(schema, "MIGRATIONS", full)
    SqliteStore(db).close()
    with sqlite3.connect(db) as conn:
        versions = [r[0] for r in conn.execute("SELECT version FROM schema_version ORDER BY 1")]
    assert versions == [number for number, _ in full]
