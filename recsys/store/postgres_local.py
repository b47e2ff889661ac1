"""A throwaway PostgreSQL server on a temporary folder, for tests and benchmarks.

:class:`LocalPostgres` runs Debian's ``initdb`` and ``pg_ctl`` (package ``postgresql``) on a
folder of its own and listens only on a Unix socket there (no TCP port, so parallel runs never
collide). It is how the store contract tests and ``benchmarks/store.py`` get a real database:
no mock, no server shared with anything else. A deployment runs its own PostgreSQL instead.

PostgreSQL refuses to run as root; as root, the server runs as the ``postgres`` system user
(created by the Debian package) and owns its folder.

Example:
    with LocalPostgres.start(Path("/tmp/pg")) as pg:
        store = PostgresStore(pg.url("liner"))

From a shell (a throwaway server to try the PostgreSQL store; Ctrl-C stops it)::

    python -m recsys.store.postgres_local /tmp/liner-pg     # prints LINER_DB=postgresql://...
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from recsys.errors import StoreError

_SEARCH = ("/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin")


def find_binaries() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``, or None when absent.

    Debian keeps them off PATH in ``/usr/lib/postgresql/<major>/bin``; ``PG_BINDIR`` overrides.
    """
    candidates = [os.environ.get("PG_BINDIR", "")]
    found = shutil.which("pg_ctl")
    if found:
        candidates.append(str(Path(found).resolve().parent))
    candidates.extend(_SEARCH)
    for folder in candidates:
        if folder and all((Path(folder) / b).exists() for b in ("initdb", "pg_ctl", "postgres")):
            return Path(folder)
    return None


@dataclass
class LocalPostgres:
    """A running server: ``url(name)`` connects to database ``name`` over its socket."""

    root: Path
    bindir: Path
    user: str = "liner"

    @property
    def socket_dir(self) -> Path:
        return self.root / "run"

    def url(self, database: str = "postgres") -> str:
        """A ``postgresql://`` URL for ``database`` over the Unix socket (trust auth)."""
        return f"postgresql://{self.user}@/{database}?host={self.socket_dir}"

    @classmethod
    @contextlib.contextmanager
    def start(
        cls, root: Path, *, settings: dict[str, str] | None = None, stop_mode: str = "fast"
    ) -> Iterator[LocalPostgres]:
        """Initialise a cluster under ``root``, start it, yield it, stop it.

        Args:
            root: an empty (or missing) folder.
            settings: extra ``postgresql.conf`` settings (e.g. ``{"fsync": "off"}`` for tests).
            stop_mode: ``pg_ctl stop -m`` mode: ``fast`` (a clean shutdown) or ``immediate``
                (no checkpoint; for a throwaway cluster whose folder is deleted next).

        Raises:
            StoreError: the binaries are missing or the server did not start.
        """
        bindir = find_binaries()
        if bindir is None:
            raise StoreError(
                "PostgreSQL binaries not found. Fix: apt-get install postgresql "
                "(or set PG_BINDIR to the folder holding initdb and pg_ctl)"
            )
        server = cls(root=root, bindir=bindir)
        server._init(settings or {})
        try:
            server._ctl("start", "-w", "-t", "60", "-l", str(root / "server.log"))
        except StoreError:
            log = root / "server.log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise StoreError(f"PostgreSQL did not start under {root}: {tail}") from None
        try:
            yield server
        finally:
            with contextlib.suppress(StoreError):
                server._ctl("stop", "-m", stop_mode, "-w", "-t", "60")

    def _init(self, settings: dict[str, str]) -> None:
        data = self.root / "data"
        self.root.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        self._own(self.root, self.socket_dir)
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            self.user,
            "--auth=trust",
            "--locale=C",
            "--encoding=UTF8",
            "--no-sync",
        )
        conf = {
            "listen_addresses": "''",
            "unix_socket_directories": f"'{self.socket_dir}'",
            "max_connections": "200",
            "shared_buffers": "'64MB'",
            **settings,
        }
        with (data / "postgresql.conf").open("a", encoding="utf-8") as f:
            f.writelines(f"{k} = {v}\n" for k, v in conf.items())

    def _ctl(self, *args: str) -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.root / "data"), *args)

    def _run(self, *argv: str) -> None:
        cmd = list(argv)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=self.root)
        if done.returncode != 0:
            raise StoreError(f"{Path(argv[0]).name} failed: {done.stderr.strip()[-2000:]}")

    @staticmethod
    def _own(*paths: Path) -> None:
        """As root, hand the folders to the ``postgres`` user (the server refuses root)."""
        if os.geteuid() != 0:
            return
        pw = pwd.getpwnam("postgres")
        for path in paths:
            os.chown(path, pw.pw_uid, pw.pw_gid)
        for parent in paths[0].parents:  # the server must reach its folder
            if not parent.stat().st_mode & 0o001:
                raise StoreError(
                    f"{parent} is not searchable by the postgres user, so the server cannot "
                    f"reach {paths[0]}. Fix: put the server folder under /tmp"
                )


def main(argv: list[str] | None = None) -> None:
    """Start a server under a folder, create database ``liner``, print its URL, serve until
    SIGINT or SIGTERM."""
    import argparse
    import signal

    import psycopg

    parser = argparse.ArgumentParser(description="A throwaway local PostgreSQL for Liner Notes.")
    parser.add_argument("root", type=Path, help="an empty folder (under /tmp when run as root)")
    args = parser.parse_args(argv)
    stops = {signal.SIGINT, signal.SIGTERM}
    with LocalPostgres.start(args.root) as server:
        with psycopg.connect(server.url(), autocommit=True) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = 'liner'").fetchone():
                conn.execute("CREATE DATABASE liner")
        print(f"LINER_DB={server.url('liner')}", flush=True)
        # Blocked only now (children started before inherit no mask): the signal reaches
        # sigwait, and leaving the block stops the server cleanly.
        signal.pthread_sigmask(signal.SIG_BLOCK, stops)
        signal.sigwait(stops)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, stops)


__all__ = ["LocalPostgres", "find_binaries", "main"]


if __name__ == "__main__":
    main()
