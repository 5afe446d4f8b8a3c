"""The SQLite ledger: the memory that makes every run resumable and exactly once.

It holds the v1 snapshot (one row per object with a content hash), the v1 -> v2 entity
map with state, and an append-only journal. Intent is committed before every v2 write;
an entity left in state `intent` by a crash is reconciled against v2 before anything
is written again. One process at a time (an OS lock that dies with its holder), and one
(v1 org, v2 org) pair per file.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

import sqlite_utils

from migrator.errors import LedgerConflict, LedgerError, scrub
from migrator.ledger_files import pair_lock

SCHEMA_VERSION = "1"
KINDS = ("preset", "meeting", "participant", "webhook")

# Entity states. `intent` means a write was (maybe) sent and its outcome is unknown.
PENDING, INTENT, DONE, FAILED, UNMAPPABLE = "pending", "intent", "done", "failed", "unmappable"


def content_hash(data: Any) -> str:
    """Stable hash of a JSON-able value: equal content, equal hash, whatever the key order."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


@dataclass
class Entity:
    """One row of the v1 -> v2 map."""

    kind: str
    key: str  # v1 id; for presets the v2 preset name (variants have no v1 id)
    v1_id: str | None
    parent_key: str | None  # a participant's v1 meeting id
    v2_id: str | None
    state: str
    action: str | None
    origin: str | None  # created | adopted
    desired: dict[str, Any] | None
    written: dict[str, Any] | None
    natural_key: str | None
    attempts: int
    last_error: str | None
    intent_at: str | None
    extra: dict[str, Any]

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Entity":
        return cls(
            kind=row["kind"], key=row["key"], v1_id=row["v1_id"], parent_key=row["parent_key"],
            v2_id=row["v2_id"], state=row["state"], action=row["action"], origin=row["origin"],
            desired=json.loads(row["desired"]) if row["desired"] else None,
            written=json.loads(row["written"]) if row["written"] else None,
            natural_key=row["natural_key"], attempts=row["attempts"] or 0, last_error=row["last_error"],
            intent_at=row["intent_at"], extra=json.loads(row["extra"]) if row["extra"] else {},
        )


class Ledger:
    """Open with `Ledger.open(path, pair)`; use as a context manager to release the lock."""

    def __init__(self, path: Path, conn: sqlite3.Connection, lock_fds: list[int]) -> None:
        self.path = path
        self.conn = conn
        self.db = sqlite_utils.Database(conn)
        self._lock_fds = lock_fds
        self.run_status: str | None = None  # set by a command whose outcome is more than "done"

    # ----------------------------------------------------------------- opening
    @classmethod
    def open(cls, path: Path, pair: tuple[str, str] | None, *, lock: bool = True, create: bool = True) -> "Ledger":
        """Open (creating if allowed), take the run lock, and check the org pair.

        `pair=None` skips the binding check (status/export read whatever pair it holds).
        """
        path = Path(path)
        if not path.exists() and not create:
            raise LedgerError(f"no ledger at {path} (run extract, plan or migrate first)")
        if path.exists() and path.is_dir():
            raise LedgerError(f"ledger path {path} is a directory")
        lock_fds: list[int] = []
        try:
            if lock:  # on the file itself (a symlink or another spelling is the same ledger), then on the org pair
                lock_fds.append(cls._take_lock(Path(f"{os.path.realpath(path)}.lock"), f"ledger {path}"))
                if pair is not None:
                    lock_fds.append(cls._take_lock(pair_lock(pair), f"org pair {pair[0]} -> {pair[1]}"))
            conn = cls._connect(path)
            ledger = cls(path, conn, lock_fds)
            ledger._ensure_schema()
            if pair is not None:
                ledger._bind(pair)
            return ledger
        except BaseException:
            for fd in lock_fds:
                os.close(fd)
            raise

    @staticmethod
    def _take_lock(lock_file: Path, what: str) -> int:
        try:
            lock_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise LedgerError(f"cannot create the lock {lock_file}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LedgerConflict(f"{what} is locked by another dyte-migrate run") from None
        return fd

    @staticmethod
    def _connect(path: Path) -> sqlite3.Connection:
        old_umask = os.umask(0o077)  # the db and its -wal/-shm files: owner only
        try:
            if not path.exists():
                os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
            os.chmod(path, 0o600)
            conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            conn.execute("PRAGMA schema_version").fetchone()  # fails fast on a file that is not SQLite
            return conn
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"ledger {path} is not a usable SQLite file ({exc})") from None
        except UnicodeDecodeError:  # sqlite3 could not even decode SQLite's message about the damage
            raise LedgerError(f"ledger {path} is not a usable SQLite file (its schema is damaged)") from None
        except OSError as exc:
            raise LedgerError(f"cannot open ledger {path}: {exc.strerror}") from None
        finally:
            os.umask(old_umask)

    def _ensure_schema(self) -> None:
        try:
            tables = set(self.db.table_names())
            if "meta" in tables:
                version = self.meta("schema_version")
                if version != SCHEMA_VERSION:
                    raise LedgerError(f"ledger {self.path} has schema version {version!r}; this tool writes {SCHEMA_VERSION}")
                missing = {"runs", "snapshot", "entities", "journal"} - tables
                if missing:
                    raise LedgerError(f"ledger {self.path} is corrupt: missing tables {', '.join(sorted(missing))}")
                return
            if tables:
                raise LedgerError(f"{self.path} is an SQLite file but not a dyte-migrate ledger")
            self.conn.executescript(
                f"BEGIN; {_SCHEMA} INSERT INTO meta(key, value) VALUES ('schema_version', '{SCHEMA_VERSION}'), "
                f"('created_at', '{now_iso()}'); COMMIT;"
            )
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"ledger {self.path} is corrupt ({exc})") from None
        except UnicodeDecodeError:  # a damaged schema: even SQLite's message is not text
            raise LedgerError(f"ledger {self.path} is corrupt (its schema is damaged)") from None

    def _bind(self, pair: tuple[str, str]) -> None:
        bound = (self.meta("v1_org"), self.meta("v2_org"))
        if bound == (None, None):
            with self.transaction():
                self.set_meta("v1_org", pair[0])
                self.set_meta("v2_org", pair[1])
        elif bound != tuple(pair):
            raise LedgerConflict(
                f"ledger {self.path} belongs to v1 org {bound[0]} -> v2 org {bound[1]}, not {pair[0]} -> {pair[1]}"
            )

    def close(self) -> None:
        self.conn.close()
        for fd in self._lock_fds:
            os.close(fd)
        self._lock_fds = []

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self.conn.in_transaction:  # SQLite already rolled back after e.g. a full disk: keep its error
                self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -------------------------------------------------------------------- meta
    def meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value))

    # -------------------------------------------------------------------- runs
    def start_run(self, command: str) -> int:
        cur = self.conn.execute(
            "INSERT INTO runs(command, started_at, status, pid) VALUES (?, ?, 'running', ?)", (command, now_iso(), os.getpid())
        )
        return int(cur.lastrowid or 0)

    def end_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None:
        self.conn.execute(
            "UPDATE runs SET ended_at = ?, status = ?, summary = ? WHERE id = ?", (now_iso(), status, dumps(summary), run_id)
        )

    # ---------------------------------------------------------------- snapshot
    def put_snapshot(self, run_id: int, kind: str, rows: Iterable[tuple[str, str | None, dict[str, Any]]]) -> int:
        """Upsert (v1_id, parent_id, data) rows of one kind, stamped with this extract run."""
        stamped = [(kind, v1_id, parent, dumps(data), content_hash(data), run_id) for v1_id, parent, data in rows]
        with self.transaction():
            self.conn.executemany(
                "INSERT INTO snapshot(kind, v1_id, parent_id, data, hash, run_id) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(kind, v1_id) DO UPDATE SET parent_id = excluded.parent_id, data = excluded.data, "
                "hash = excluded.hash, run_id = excluded.run_id",
                stamped,
            )
        return len(stamped)

    def finish_snapshot(self, run_id: int) -> int:
        """Forget objects the latest extract did not see (gone from v1); returns how many."""
        with self.transaction():
            cur = self.conn.execute("DELETE FROM snapshot WHERE run_id != ?", (run_id,))
            self.set_meta("snapshot_run", str(run_id))
            self.set_meta("snapshot_at", now_iso())
        return cur.rowcount

    def snapshot(self, kind: str, parent_id: str | None = None) -> Iterator[dict[str, Any]]:
        """Stream one kind's v1 objects in a stable order (memory stays flat)."""
        if parent_id is None:
            cur = self.conn.execute("SELECT data FROM snapshot WHERE kind = ? ORDER BY rowid", (kind,))
        else:
            cur = self.conn.execute("SELECT data FROM snapshot WHERE kind = ? AND parent_id = ? ORDER BY rowid", (kind, parent_id))
        for (data,) in cur:
            yield json.loads(data)

    def snapshot_count(self, kind: str) -> int:
        return int(self.conn.execute("SELECT count(*) FROM snapshot WHERE kind = ?", (kind,)).fetchone()[0])

    # ---------------------------------------------------------------- entities
    def entity(self, kind: str, key: str) -> Entity | None:
        row = self._entity_rows("WHERE kind = ? AND key = ?", (kind, key))
        return next(row, None)

    def entities(self, kind: str | None = None, *, state: str | Iterable[str] | None = None,
                 parent_key: str | None = None, where: str = "", params: tuple[Any, ...] = (),
                 limit: int | None = None) -> Iterator[Entity]:
        clauses, args = [], []
        if kind:
            clauses.append("kind = ?")
            args.append(kind)
        if state is not None:
            states = [state] if isinstance(state, str) else list(state)
            clauses.append(f"state IN ({','.join('?' * len(states))})")
            args.extend(states)
        if parent_key is not None:
            clauses.append("parent_key = ?")
            args.append(parent_key)
        if where:
            clauses.append(where)
            args.extend(params)
        sql = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            args.append(limit)
        return self._entity_rows(sql, tuple(args))

    def _entity_rows(self, sql: str, params: tuple[Any, ...]) -> Iterator[Entity]:
        cur = self.conn.execute(f"SELECT * FROM entities {sql}", params)
        names = [d[0] for d in cur.description]
        for row in cur:
            yield Entity.from_row(dict(zip(names, row)))

    def upsert_plan(self, rows: Iterable[dict[str, Any]]) -> None:
        """Record what the plan wants for each entity, keeping what was already written.

        The caller wraps batches in `transaction()`; one commit per entity would be slow.
        """
        self.conn.executemany(
            "INSERT INTO entities(kind, key, v1_id, parent_key, state, action, desired, natural_key, extra, reason, updated_at) "
            "VALUES (:kind, :key, :v1_id, :parent_key, :state, :action, :desired, :natural_key, :extra, :reason, :at) "
            "ON CONFLICT(kind, key) DO UPDATE SET v1_id = excluded.v1_id, parent_key = excluded.parent_key, "
            "action = excluded.action, desired = excluded.desired, natural_key = excluded.natural_key, "
            "extra = excluded.extra, reason = excluded.reason, updated_at = excluded.updated_at, "
            "state = CASE WHEN entities.state = 'intent' THEN entities.state "
            "             WHEN excluded.state = 'unmappable' THEN 'unmappable' "
            "             WHEN entities.v2_id IS NOT NULL THEN 'done' ELSE 'pending' END",
            [
                {
                    "kind": r["kind"], "key": r["key"], "v1_id": r.get("v1_id"), "parent_key": r.get("parent_key"),
                    "state": r.get("state", PENDING), "action": r["action"],
                    "desired": dumps(r["desired"]) if r.get("desired") is not None else None,
                    "natural_key": r.get("natural_key"), "extra": dumps(r.get("extra") or {}),
                    "reason": r.get("reason"), "at": now_iso(),
                }
                for r in rows
            ],
        )

    def set_action(self, kind: str, key: str, action: str, reason: str | None = None) -> None:
        self.conn.execute("UPDATE entities SET action = ?, reason = ? WHERE kind = ? AND key = ?", (action, reason, kind, key))

    def mark_intent(self, run_id: int, entities: list[Entity], event: str) -> None:
        """Commit the intent to write, before the write is sent."""
        at = now_iso()
        with self.transaction():
            self.conn.executemany(
                "UPDATE entities SET state = 'intent', intent_at = ?, attempts = attempts + 1, updated_at = ? WHERE kind = ? AND key = ?",
                [(at, at, e.kind, e.key) for e in entities],
            )
            self._journal(run_id, [(e.kind, e.key, event, None) for e in entities])
        for e in entities:
            e.state, e.intent_at, e.attempts = INTENT, at, e.attempts + 1

    def record_results(self, run_id: int, results: list["WriteResult"]) -> None:
        """Commit the outcome of a batch of writes in one transaction."""
        at = now_iso()
        with self.transaction():
            self.conn.executemany(
                "UPDATE entities SET state = ?, v2_id = COALESCE(?, v2_id), written = COALESCE(?, written), "
                "origin = COALESCE(origin, ?), last_error = ?, updated_at = ? WHERE kind = ? AND key = ?",
                [(r.state, r.v2_id, dumps(r.written) if r.written is not None else None, r.origin,
                  scrub(r.error) if r.error else None, at, r.kind, r.key) for r in results],
            )
            self._journal(run_id, [(r.kind, r.key, r.event, r.detail) for r in results])

    def _journal(self, run_id: int, events: list[tuple[str, str, str, dict[str, Any] | None]]) -> None:
        at = now_iso()
        self.conn.executemany(
            "INSERT INTO journal(at, run_id, kind, key, event, detail) VALUES (?, ?, ?, ?, ?, ?)",
            [(at, run_id, k, key, ev, dumps(d) if d else None) for k, key, ev, d in events],
        )

    def counts(self) -> dict[str, dict[str, int]]:
        """Entities per kind and state (the `status` command's table); conflicts shown as such."""
        out: dict[str, dict[str, int]] = {k: {} for k in KINDS}
        for kind, state, n in self.conn.execute(
                "SELECT kind, CASE WHEN action = 'conflict' THEN 'conflict' ELSE state END AS shown, count(*) "
                "FROM entities WHERE action IS NOT 'gone' GROUP BY kind, shown"):
            out.setdefault(kind, {})[state] = n
        return out

    def journal_counts(self, run_id: int) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for kind, event, n in self.conn.execute(
            "SELECT kind, event, count(*) FROM journal WHERE run_id = ? GROUP BY kind, event", (run_id,)
        ):
            out.setdefault(kind, {})[event] = n
        return out


@dataclass
class WriteResult:
    kind: str
    key: str
    state: str
    event: str  # created | adopted | updated | failed | retry | rolled_back ...
    v2_id: str | None = None
    written: dict[str, Any] | None = None
    origin: str | None = None
    error: str | None = None
    detail: dict[str, Any] | None = None


_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE runs (
  id INTEGER PRIMARY KEY, command TEXT NOT NULL, started_at TEXT NOT NULL, ended_at TEXT,
  status TEXT NOT NULL, pid INTEGER, summary TEXT
);
CREATE TABLE snapshot (
  kind TEXT NOT NULL, v1_id TEXT NOT NULL, parent_id TEXT, data TEXT NOT NULL, hash TEXT NOT NULL,
  run_id INTEGER NOT NULL, PRIMARY KEY (kind, v1_id)
);
CREATE INDEX snapshot_parent ON snapshot(kind, parent_id);
CREATE TABLE entities (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  kind TEXT NOT NULL, key TEXT NOT NULL, v1_id TEXT, parent_key TEXT,
  v2_id TEXT, state TEXT NOT NULL, action TEXT, origin TEXT, reason TEXT,
  desired TEXT, written TEXT, natural_key TEXT, extra TEXT,
  attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, intent_at TEXT, updated_at TEXT,
  UNIQUE (kind, key)
);
CREATE INDEX entities_state ON entities(kind, state);
CREATE INDEX entities_parent ON entities(kind, parent_key);
CREATE TABLE journal (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, run_id INTEGER, kind TEXT, key TEXT,
  event TEXT NOT NULL, detail TEXT
);
"""
