"""What keeping agent sessions in the store costs a Converse turn: the session part of a turn
(claim at the start, release with the new state at the end), in memory, in a SQLite file and in
a local PostgreSQL (``recsys.store.postgres_local``, Unix socket), alternating rounds.

Session writes commit without waiting for the disk flush (SQLite ``synchronous=NORMAL`` for
that transaction, PostgreSQL ``synchronous_commit off``): a power cut may lose the last turns'
state, never corrupt the store. ``--durable`` measures SQLite with the flush too, for the
comparison.

    python -m benchmarks.agent_sessions            # 5 rounds of 200 turns per backend
    python -m benchmarks.agent_sessions --out benchmarks/results/agent_sessions.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from agent.request import Constraints
from agent.sessions import SessionStore
from recsys.store import SqliteStore, Store


def turns(sessions: SessionStore, sid: str, n: int) -> list[float]:
    """Milliseconds of ``n`` session parts of a turn on one conversation."""
    out = []
    for i in range(n):
        start = time.perf_counter()
        with sessions.turn(sid, listener_id="u1") as (_, session):
            session.constraints = Constraints(text=f"turn {i}", genres=("indie",))
            session.turns += 1
        out.append((time.perf_counter() - start) * 1000)
    return out


@contextlib.contextmanager
def postgres(root: Path) -> Iterator[Store | None]:
    """A store on a throwaway local PostgreSQL, or None when its binaries are absent."""
    from recsys.store.postgres_local import LocalPostgres, find_binaries

    if find_binaries() is None:
        yield None
        return
    import psycopg

    from recsys.store.postgres import PostgresStore

    with LocalPostgres.start(root / "pg") as server:
        with psycopg.connect(server.url(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE liner")
        store = PostgresStore(server.url("liner"), pool_size=2)
        try:
            yield store
        finally:
            store.close()


class _DurableSqlite(SqliteStore):
    """SQLite with the flush at every session commit, as every other write has."""

    @contextlib.contextmanager
    def _session_write(self) -> Iterator[tuple[Any, int]]:
        from recsys.store import codec

        with self._write() as conn:
            yield conn, int(codec.to_micros(self._clock()) or 0)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--durable", action="store_true", help="also SQLite with the flush")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="liner-sessions-", dir="/tmp"))
    root.chmod(0o755)  # the PostgreSQL server user must reach its folder
    with postgres(root) as pg:
        backends: dict[str, SessionStore] = {
            "memory": SessionStore(),
            "sqlite": SessionStore(store=SqliteStore(root / "liner.db")),
        }
        if args.durable:
            backends["sqlite_flushed"] = SessionStore(store=_DurableSqlite(root / "flushed.db"))
        if pg is not None:
            backends["postgres"] = SessionStore(store=pg)
        ids = {}
        for name, sessions in backends.items():
            with sessions.turn(None, listener_id="u1") as (sid, _):
                ids[name] = sid
        times: dict[str, list[float]] = {name: [] for name in backends}
        for _ in range(args.rounds):
            for name, sessions in backends.items():
                times[name].extend(turns(sessions, ids[name], args.turns))
    result = {
        "what": "session part of one Converse turn (claim + release), ms",
        "rounds": args.rounds,
        "turns_per_round": args.turns,
        "load_1min": round(os.getloadavg()[0], 1),
        **{
            name: {
                "median_ms": round(statistics.median(t), 4),
                "p95_ms": round(sorted(t)[int(0.95 * len(t))], 4),
            }
            for name, t in times.items()
        },
    }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
