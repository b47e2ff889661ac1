"""The consent ledger is ordered by the store (seq), never by the times entries state.

A grant dated 2031, a server clock stepping back, a migrated ledger and concurrent writers in
several processes all end in the state of the last entry in ledger order, on both backends
(``backend`` is parametrised over SQLite and PostgreSQL).
"""

from __future__ import annotations

import multiprocessing
import random
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recsys.domain import ConsentAction, ConsentEntry, ConsentScope, ConsentState
from recsys.store import SqliteStore, open_store
from recsys.store.schema import MIGRATIONS, _statements
from tests.recsys.store.conftest import Backend

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
SCOPE = ConsentScope.AI_STYLE_REFERENCE


def _entry(entry_id: str, action: ConsentAction, at: datetime, holder: str = "h1") -> ConsentEntry:
    return ConsentEntry(
        entry_id=entry_id,
        rights_holder_id=holder,
        scope=SCOPE,
        action=action,
        actor="test",
        at=at,
    )


GRANT, REVOKE = ConsentAction.GRANT, ConsentAction.REVOKE


def test_a_grant_dated_2031_does_not_outlive_a_later_revoke(backend: Backend) -> None:
    store = backend.open()
    store.append_consent([_entry("g", GRANT, datetime(2031, 1, 1, tzinfo=UTC))])
    assert store.consent_state().allows("h1", SCOPE)
    store.append_consent([_entry("r", REVOKE, T0)])
    assert not store.consent_state().allows("h1", SCOPE)  # the very next read
    ledger = store.consent_ledger("h1")
    assert [(e.entry_id, e.seq) for e in ledger] == [("g", 1), ("r", 2)]
    assert ledger[0].at == datetime(2031, 1, 1, tzinfo=UTC)  # the stated time, kept for audit
    assert all(e.received_at is not None for e in ledger)
    store.close()


def test_a_server_clock_stepping_back_does_not_matter(backend: Backend) -> None:
    times = iter([T0, T0 - timedelta(hours=3), T0 - timedelta(days=2)])
    store = backend.open(clock=lambda: next(times))
    store.append_consent([_entry("g1", GRANT, T0)])
    revoked = store.append_consent([_entry("r1", REVOKE, T0 - timedelta(hours=3))])
    assert revoked[0].seq == 2 and revoked[0].received_at == T0 - timedelta(hours=3)
    assert not store.consent_state().allows("h1", SCOPE)
    store.append_consent([_entry("g2", GRANT, T0 - timedelta(days=2))])
    assert store.consent_state().allows("h1", SCOPE)
    assert [e.entry_id for e in store.consent_ledger()] == ["g1", "r1", "g2"]
    store.close()


def test_appends_return_what_was_stored_and_skip_repeated_ids(backend: Backend) -> None:
    store = backend.open(clock=lambda: T0)
    first = store.append_consent([_entry("a", GRANT, T0), _entry("a", REVOKE, T0)])
    assert [(e.entry_id, e.action, e.seq, e.received_at) for e in first] == [("a", GRANT, 1, T0)]
    assert store.append_consent([_entry("a", REVOKE, T0), _entry("b", REVOKE, T0)])[0].seq == 2
    assert store.consent_version() == 2 == store.consent_state().version
    frame = store.read_frame("consent")
    assert frame["seq"].tolist() == [1, 2]
    assert frame["received_at"].tolist() == [T0, T0]
    store.close()


def test_from_ledger_goes_by_seq_then_given_order() -> None:
    late_grant = ConsentEntry(
        entry_id="x", rights_holder_id="h1", scope=SCOPE, action=GRANT, actor="a",
        at=datetime(2031, 1, 1, tzinfo=UTC), seq=7,
    )  # fmt: skip
    early_revoke = ConsentEntry(
        entry_id="y", rights_holder_id="h1", scope=SCOPE, action=REVOKE, actor="a", at=T0, seq=9
    )
    state = ConsentState.from_ledger([early_revoke, late_grant])
    assert not state.allows("h1", SCOPE) and state.version == 9
    pending = _entry("z", GRANT, datetime(2000, 1, 1, tzinfo=UTC))  # not appended: after all
    state = ConsentState.from_ledger([pending, early_revoke, late_grant])
    assert state.allows("h1", SCOPE) and state.version == 10


def test_another_writer_is_seen_on_the_next_read(backend: Backend) -> None:
    """Two stores on one database (two processes, or two replicas on one PostgreSQL)."""
    reader = backend.open()
    writer = backend.open()
    writer.append_consent([_entry("g", GRANT, T0)])
    assert reader.consent_state().allows("h1", SCOPE)
    writer.append_consent([_entry("r", REVOKE, datetime(2020, 1, 1, tzinfo=UTC))])
    assert reader.consent_version() == 2
    assert not reader.consent_state().allows("h1", SCOPE)
    reader.close()
    writer.close()


def test_migration_keeps_the_append_order_and_the_triggers(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    raw = sqlite3.connect(path)
    raw.execute("CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER)")
    for version, script in MIGRATIONS:
        if version >= 6:
            break
        for statement in _statements(script):
            raw.execute(statement)
        raw.execute("INSERT INTO schema_version VALUES (?, 0)", (version,))
    # Appended in this order; the stated times say the opposite.
    raw.execute(
        "INSERT INTO consent (entry_id, rights_holder_id, scope, action, actor, at) VALUES "
        "('g', 'h1', 'ai_style_reference', 'grant', 'x', 1900000000000000), "
        "('r', 'h1', 'ai_style_reference', 'revoke', 'x', 1700000000000000)"
    )
    raw.commit()
    raw.close()
    store = SqliteStore(path)
    ledger = store.consent_ledger()
    assert [(e.entry_id, e.seq, e.received_at) for e in ledger] == [("g", 1, None), ("r", 2, None)]
    assert not store.consent_state().allows("h1", SCOPE)
    assert store.append_consent([_entry("g2", GRANT, T0)])[0].seq == 3
    with pytest.raises(Exception, match="append-only"):
        store.execute_sql("DELETE FROM consent")
    store.close()


def _worker(location: str, worker: int, steps: int, seed: int) -> list[tuple[int, str, str, int]]:
    """Append random grants and revokes (some dated 2031); after each, read the state and
    record (seq, holder, action, version seen)."""
    rng = random.Random(seed)
    store = open_store(location)
    seen = []
    for step in range(steps):
        holder = rng.choice(["h1", "h2"])
        action = rng.choice([GRANT, REVOKE])
        at = datetime(2031, 1, 1, tzinfo=UTC) if rng.random() < 0.3 else T0
        [stored] = store.append_consent([_entry(f"w{worker}-{step}", action, at, holder=holder)])
        state = store.consent_state()
        assert stored.seq is not None
        seen.append((stored.seq, holder, str(action), state.version))
    store.close()
    return seen


def test_concurrent_grants_and_revokes_end_in_the_last_seq(backend: Backend) -> None:
    path = backend.location
    backend.open().close()
    context = multiprocessing.get_context("fork")
    workers, steps = 4, 15
    with context.Pool(workers) as pool:
        results = pool.starmap(_worker, [(path, w, steps, 100 + w) for w in range(workers)])
    appended = sorted(r for seen in results for r in seen)
    # Every append got its own position, and each worker's next read saw at least it.
    assert [seq for seq, *_ in appended] == list(range(1, workers * steps + 1))
    assert all(version >= seq for seq, _, _, version in appended)
    store = backend.open()
    last = {holder: action for _, holder, action, _ in appended}  # in seq order
    state = store.consent_state()
    for holder, action in last.items():
        assert state.allows(holder, SCOPE) == (action == "grant"), holder
    assert state.version == workers * steps
    store.close()
