"""The SQLite ledger: the memory that makes every run resumable and exactly once.

It holds the v1 snapshot (one row per object with a content hash), the v1 -> v2 entity
map with state, and an append-only journal. It is the only module that speaks SQL: the
entity state machine is the verbs below (record the plan, decide, adopt, conflict, mark
intent, record results, ...), and reports, export, status, tests and benchmarks read it
through typed queries. Intent is committed before every v2 write; an entity left in
state `intent` by a crash is reconciled against v2 before anything is written again.
One process at a time (an OS lock that dies with its holder), and one (v1 org, v2 org)
pair per file.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import sqlite_utils

from migrator.errors import ConfigError, LedgerConflict, LedgerError, scrub
from migrator.ledger_files import pair_locks
from migrator.model import Action, Entity, Kind, State, WriteResult

SCHEMA_VERSION = "3"


class HeldInV2(NamedTuple):
    key: str
    v2_id: str
    parent_key: str | None
    gone: bool  # deleted from the source since it was written


Scope = dict[Kind, frozenset[str]]  # a canary run's entities, per kind
BATCH = 2000  # plan rows per transaction: one commit per entity would be slow

# An entity's action follows from its state and from what we last wrote (`written`) vs. `desired`.
DECIDE_SQL = (
    "UPDATE entities SET action = CASE "
    "  WHEN state = 'unmappable' THEN 'unmappable' "
    "  WHEN state = 'intent' THEN 'reconcile' "
    "  WHEN v2_id IS NULL THEN 'create' "
    "  WHEN written = desired THEN 'unchanged' ELSE 'update' END "
    "WHERE action != 'gone'"
)
# Done entities whose v2 object no longer holds what the plan wants.
NEXT_UPDATES_WHERE = "v2_id IS NOT NULL AND action IN ('create', 'update', 'reconcile') AND written IS NOT desired"
# Entities that still need a write (a create, or a create's follow-up PATCH, or an update).
_REMAINING_WHERE = (
    "action != 'gone' AND (state IN ('pending', 'intent') OR "
    "(state = 'done' AND written IS NOT desired AND action != 'conflict'))"
)
_ENTITY_COLUMNS = (
    "kind, key, v1_id, parent_key, v2_id, state, action, origin, reason, desired, written, "
    "natural_key, adopt_v2_id, attempts, last_error, intent_at, extra"
)


def next_creates_sql(parent: Kind | None, requires: tuple[tuple[Kind, str], ...], scoped: bool = False) -> str:
    """Pending creates of one kind whose parent and required objects exist in v2, in plan order.

    The parent's v2 id comes back as the last column (`parent_v2`). Kept as one hand-tuned
    query: at 100,000 participants it runs once per chunk (see `python -m benchmarks scale`).
    """
    columns = ", ".join(f"e.{c.strip()}" for c in _ENTITY_COLUMNS.split(","))
    sql = f"SELECT {columns}, {'p.v2_id' if parent else 'NULL'} AS parent_v2 FROM entities e "
    if parent:
        sql += f"JOIN entities p ON p.kind = '{parent.value}' AND p.key = e.parent_key AND p.v2_id IS NOT NULL "
    sql += "WHERE e.kind = ? AND e.state = 'pending' AND e.action IN ('create', 'reconcile') "
    if scoped:  # a canary run: only the keys in the JSON array bound first
        sql = sql.replace("WHERE e.kind = ?", "WHERE e.key IN (SELECT value FROM json_each(?)) AND e.kind = ?")
    for kind, field in requires:
        sql += (
            f"AND EXISTS (SELECT 1 FROM entities r WHERE r.kind = '{kind.value}' AND r.state = 'done' "
            f"AND r.key = json_extract(e.desired, '$.{field}')) "
        )
    return sql + "ORDER BY e.seq LIMIT ?"


def content_hash(data: Any) -> str:
    """Stable hash of a JSON-able value: equal content, equal hash, whatever the key order."""
    canonical = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, sort_keys=True)


def _loads(text: str | None) -> Any:
    return json.loads(text) if text else None


def _entity(row: tuple[Any, ...]) -> Entity:
    (
        kind,
        key,
        v1_id,
        parent_key,
        v2_id,
        state,
        action,
        origin,
        reason,
        desired,
        written,
        natural_key,
        adopt_v2_id,
        attempts,
        last_error,
        intent_at,
        extra,
    ) = row
    return Entity(
        kind=Kind(kind),
        key=key,
        v1_id=v1_id,
        parent_key=parent_key,
        v2_id=v2_id,
        state=State(state),
        action=Action(action) if action else None,
        origin=origin,
        reason=reason,
        desired=_loads(desired),
        written=_loads(written),
        natural_key=natural_key,
        adopt_v2_id=adopt_v2_id,
        attempts=attempts or 0,
        last_error=last_error,
        intent_at=intent_at,
        extra=_loads(extra) or {},
    )


@dataclass(frozen=True)
class RunRecord:
    command: str
    status: str
    started_at: str
    ended_at: str | None


@dataclass(frozen=True)
class JournalEntry:
    at: str
    entity: Entity | None
    kind: Kind
    key: str
    event: str
    detail: dict[str, Any] | None


class Ledger:
    """Open with `Ledger.open(path, pair)`; use as a context manager to release the lock."""

    def __init__(self, path: Path, conn: sqlite3.Connection, lock_fds: list[int]) -> None:
        self.path = path
        self._conn = conn
        self._db = sqlite_utils.Database(conn)
        self._lock_fds = lock_fds
        self.run_status: str | None = None  # set by a command whose outcome is more than "done"

    # ----------------------------------------------------------------- opening
    @classmethod
    def open(
        cls, path: Path, pair: tuple[str, str] | None, *, lock: bool = True, create: bool = True, shard: str | None = None
    ) -> Ledger:
        """Open (creating if allowed), take the run locks, and check the org pair.

        `pair=None` skips the binding check (status/export read whatever pair it holds);
        `shard` (`I/N`) lets the shards of one split migration run beside each other.
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
                    what = f"org pair {pair[0]} -> {pair[1]}" + (f" (shard {shard})" if shard else "")
                    lock_fds += [cls._take_lock(file, what, exclusive) for file, exclusive in pair_locks(pair, shard)]
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
    def _take_lock(lock_file: Path, what: str, exclusive: bool = True) -> int:
        try:
            lock_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise LedgerError(f"cannot create the lock {lock_file}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LedgerConflict(f"{what} is locked by another dyte-migrate run") from None
        return fd

    def is_locked(self) -> bool:
        """True while another process holds this ledger's run lock (a run is in progress)."""
        if self._lock_fds:
            return False
        try:
            fd = os.open(f"{os.path.realpath(self.path)}.lock", os.O_RDWR)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.flock(fd, fcntl.LOCK_UN)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)

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
            tables = set(self._db.table_names())
            if "meta" in tables:
                missing = {"runs", "snapshot", "entities", "journal"} - tables
                if "baseline" not in tables and not missing and self.meta("schema_version") in ("2", SCHEMA_VERSION):
                    with self.transaction():
                        self._create_baseline()
                version = self.meta("schema_version")
                if version == "1" and not missing:
                    self._upgrade_from_1()
                    version = "2"
                if version == "2" and not missing:
                    self._upgrade_from_2()
                    version = SCHEMA_VERSION
                if version != SCHEMA_VERSION:
                    raise LedgerError(f"ledger {self.path} has schema version {version!r}; this tool writes {SCHEMA_VERSION}")
                if missing:
                    raise LedgerError(f"ledger {self.path} is corrupt: missing tables {', '.join(sorted(missing))}")
                return
            if tables:
                raise LedgerError(f"{self.path} is an SQLite file but not a dyte-migrate ledger")
            with self.transaction():
                self._create_schema()
        except sqlite3.DatabaseError as exc:
            raise LedgerError(f"ledger {self.path} is corrupt ({exc})") from None
        except UnicodeDecodeError:  # a damaged schema: even SQLite's message is not text
            raise LedgerError(f"ledger {self.path} is corrupt (its schema is damaged)") from None

    def _create_schema(self) -> None:
        db = self._db
        db.table("meta").create({"key": str, "value": str}, pk="key")
        db.table("runs").create(
            {"id": int, "command": str, "started_at": str, "ended_at": str, "status": str, "pid": int, "summary": str},
            pk="id",
            not_null={"command", "started_at", "status"},
        )
        db.table("snapshot").create(
            {"kind": str, "v1_id": str, "parent_id": str, "data": str, "hash": str, "run_id": int},
            pk=("kind", "v1_id"),
            not_null={"kind", "v1_id", "data", "hash", "run_id"},
        )
        db.table("snapshot").create_index(["kind", "parent_id"], index_name="snapshot_parent")
        # AUTOINCREMENT keeps plan order stable across re-plans (sqlite-utils cannot declare it).
        self._conn.execute(
            "CREATE TABLE entities (seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, key TEXT NOT NULL, "
            "v1_id TEXT, parent_key TEXT, v2_id TEXT, state TEXT NOT NULL, action TEXT, origin TEXT, reason TEXT, "
            "desired TEXT, written TEXT, natural_key TEXT, adopt_v2_id TEXT, extra TEXT, "
            "attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, intent_at TEXT, updated_at TEXT, inputs TEXT, "
            "UNIQUE (kind, key))"
        )
        db.table("entities").create_index(["kind", "state"], index_name="entities_state")
        db.table("entities").create_index(["kind", "parent_key"], index_name="entities_parent")
        self._conn.execute(
            "CREATE TABLE journal (seq INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, run_id INTEGER, "
            "kind TEXT, key TEXT, event TEXT NOT NULL, detail TEXT)"
        )
        self._create_baseline()
        self._create_note_sets()
        self.set_meta("schema_version", SCHEMA_VERSION)
        self.set_meta("created_at", now_iso())

    def _create_baseline(self) -> None:
        """Target objects seen before our writes that this ledger does not know: never adopted by reconcile."""
        self._db.table("baseline").create({"kind": str, "v2_id": str}, pk=("kind", "v2_id"))

    def _upgrade_from_1(self) -> None:
        """Schema 1 kept an adopted v2 id inside `extra`; 2 has a column for it, and the baseline."""
        with self.transaction():
            self._create_baseline()
            self._conn.execute("ALTER TABLE entities ADD COLUMN adopt_v2_id TEXT")
            self._conn.execute(
                "UPDATE entities SET adopt_v2_id = json_extract(extra, '$.adopt_v2_id'), "
                "extra = json_remove(extra, '$.adopt_v2_id') WHERE json_extract(extra, '$.adopt_v2_id') IS NOT NULL"
            )
            self.set_meta("schema_version", "2")

    def _create_note_sets(self) -> None:
        """The mapping notes of entities the plan does not map again: one set per distinct list of notes,
        with the before/after values of up to three entities as examples."""
        self._db.table("note_sets").create({"sig": str, "key": str, "notes": str}, pk=("sig", "key"))

    def _upgrade_from_2(self) -> None:
        """Schema 3 remembers what each entity was mapped from (`inputs`); NULL maps it again once."""
        with self.transaction():
            self._conn.execute("ALTER TABLE entities ADD COLUMN inputs TEXT")
            self._create_note_sets()
            self.set_meta("schema_version", SCHEMA_VERSION)

    def _bind(self, pair: tuple[str, str]) -> None:
        bound = (self.meta("v1_org"), self.meta("v2_org"))
        if bound == (None, None):
            with self.transaction():
                self.set_meta("v1_org", pair[0])
                self.set_meta("v2_org", pair[1])
        elif bound != tuple(pair):
            raise LedgerConflict(
                f"ledger {self.path} belongs to source org {bound[0]} -> target {bound[1]}, not {pair[0]} -> {pair[1]}"
            )

    def record_route(self, source: str, target: str) -> None:
        """Remember which profiles (`dyte-v1`, `realtimekit`, ...) this ledger's runs read and write,
        so that `status`, which reads the ledger alone, can name them."""
        if (self.meta("source"), self.meta("target")) != (source, target):
            with self.transaction():
                self.set_meta("source", source)
                self.set_meta("target", target)

    def route(self) -> tuple[str | None, str | None]:
        """The (source, target) profiles of this ledger's last run; None for a ledger older than 2026-12-08."""
        return self.meta("source"), self.meta("target")

    def bind_shard(self, shard: str) -> None:
        """Record which split this ledger serves (`I/N`, or `none`), or refuse another one (exit 4).

        A ledger older than sharding, or holding work from before it, served an unsharded run.
        """
        bound = self.meta("shard")
        if bound is None and self._conn.execute("SELECT 1 FROM entities UNION ALL SELECT 1 FROM snapshot LIMIT 1").fetchone():
            bound = "none"
        if bound is None:
            with self.transaction():
                self.set_meta("shard", shard)
        elif bound != shard:
            held = "an unsharded run" if bound == "none" else f"shard {bound}"
            wanted = "an unsharded run" if shard == "none" else f"shard {shard}"
            raise LedgerConflict(
                f"ledger {self.path} serves {held}, not {wanted}: use one ledger per shard, "
                "or `ledger merge` the shards' ledgers before an unsharded run"
            )

    def close(self) -> None:
        self._conn.close()
        for fd in self._lock_fds:
            os.close(fd)
        self._lock_fds = []

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self._conn.in_transaction:  # SQLite already rolled back after e.g. a full disk: keep its error
                self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")

    # -------------------------------------------------------------------- meta
    def meta(self, key: str) -> str | None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self._conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value", (key, value)
        )

    # -------------------------------------------------------------------- runs
    def start_run(self, command: str) -> int:
        table = self._db.table("runs").insert(
            {"command": command, "started_at": now_iso(), "status": "running", "pid": os.getpid()}
        )
        return int(table.last_pk or 0)

    def end_run(self, run_id: int, status: str, summary: dict[str, Any]) -> None:
        self._db.table("runs").update(run_id, {"ended_at": now_iso(), "status": status, "summary": dumps(summary)})

    def last_run(self, command: str | None = None) -> RunRecord | None:
        where, args = ("WHERE command = ?", (command,)) if command else ("", ())
        row = self._conn.execute(
            f"SELECT command, status, started_at, ended_at FROM runs {where} ORDER BY id DESC LIMIT 1", args
        ).fetchone()
        return RunRecord(*row) if row else None

    def extract_complete(self) -> bool:
        """Whether the newest extract (alone, or as part of plan/migrate/verify) reached its end."""
        snapshot_run = self.meta("snapshot_run")
        newest = self._conn.execute(
            "SELECT max(id) FROM runs WHERE command IN ('extract', 'plan', 'migrate', 'verify')"
        ).fetchone()[0]
        if newest is None:
            return False
        if snapshot_run is not None and int(snapshot_run) == newest:
            return True
        # a newer run that has not finished its extract is either running or was interrupted in it
        return (
            snapshot_run is not None
            and not self._conn.execute(
                "SELECT 1 FROM runs WHERE id = ? AND status IN ('running', 'interrupted', 'failed')", (newest,)
            ).fetchone()
        )

    # ---------------------------------------------------------------- snapshot
    def put_snapshot(self, run_id: int, kind: str, rows: Iterable[tuple[str, str | None, dict[str, Any]]]) -> int:
        """Upsert (v1_id, parent_id, data) rows of one kind, stamped with this extract run."""
        stamped = [(kind, v1_id, parent, dumps(data), content_hash(data), run_id) for v1_id, parent, data in rows]
        with self.transaction():
            self._conn.executemany(
                "INSERT INTO snapshot(kind, v1_id, parent_id, data, hash, run_id) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(kind, v1_id) DO UPDATE SET parent_id = excluded.parent_id, data = excluded.data, "
                "hash = excluded.hash, run_id = excluded.run_id",
                stamped,
            )
        return len(stamped)

    def finish_snapshot(self, run_id: int) -> int:
        """Forget objects the latest extract did not see (gone from v1); returns how many."""
        with self.transaction():
            cur = self._conn.execute("DELETE FROM snapshot WHERE run_id != ?", (run_id,))
            self.set_meta("snapshot_run", str(run_id))
            self.set_meta("snapshot_at", now_iso())
        return cur.rowcount

    def snapshot(self, kind: str, parent_id: str | None = None) -> Iterator[dict[str, Any]]:
        """Stream one kind's v1 objects in a stable order (memory stays flat)."""
        if parent_id is None:
            cur = self._conn.execute("SELECT data FROM snapshot WHERE kind = ? ORDER BY rowid", (kind,))
        else:
            cur = self._conn.execute(
                "SELECT data FROM snapshot WHERE kind = ? AND parent_id = ? ORDER BY rowid", (kind, parent_id)
            )
        for (data,) in cur:
            yield json.loads(data)

    def snapshot_count(self, kind: str) -> int:
        return int(self._conn.execute("SELECT count(*) FROM snapshot WHERE kind = ?", (kind,)).fetchone()[0])

    def snapshot_fingerprint(self, kinds: Iterable[str] | None = None) -> str:
        """One hash of the v1 snapshot (of `kinds`, or all): the content hash of every object, in key order."""
        digest = hashlib.sha256()
        chosen = sorted(kinds) if kinds is not None else None
        where = f"WHERE kind IN ({','.join('?' * len(chosen))}) " if chosen is not None else ""
        for kind, v1_id, hashed in self._conn.execute(
            f"SELECT kind, v1_id, hash FROM snapshot {where}ORDER BY kind, v1_id", chosen or ()
        ):
            digest.update(f"{kind}\0{v1_id}\0{hashed}\n".encode())
        return digest.hexdigest()[:32]

    # An entity's inputs: the mapping context, its own v1 object's hash, its parent's (if any).
    # It is settled when it was written as planned from these very inputs: the plan keeps it.
    _INPUTS_SQL = "(:context || ':' || s.hash || ':' || coalesce(m.hash, '-'))"
    _WRITTEN_AS_PLANNED_SQL = "e.state = 'done' AND e.action != 'gone' AND e.written = e.desired"
    _SETTLED_SQL = f"{_WRITTEN_AS_PLANNED_SQL} AND e.inputs = {_INPUTS_SQL} AND (:parent IS NULL OR m.hash IS NOT NULL)"

    def _inputs_query(
        self, columns: str, settled: bool, kind: Kind, context: str, parent: Kind | None, *, also: str = "", group_by: str = ""
    ) -> tuple[str, dict[str, Any]]:
        """One kind's snapshot rows, settled or not, with their entities: the SQL and its parameters."""
        sql = (
            f"SELECT {columns} FROM snapshot s "
            "LEFT JOIN snapshot m ON m.kind = :parent AND m.v1_id = s.parent_id "
            "LEFT JOIN entities e ON e.kind = s.kind AND e.key = s.v1_id "
            f"WHERE s.kind = :kind AND {'' if settled else 'NOT '}coalesce({self._SETTLED_SQL}, 0) {also} "
            + (f"GROUP BY {group_by}" if group_by else "ORDER BY s.rowid")
        )
        return sql, {"kind": kind.value, "context": context, "parent": parent.value if parent else None}

    def to_map(self, kind: Kind, context: str, parent: Kind | None = None) -> Iterator[tuple[dict[str, Any], str]]:
        """The v1 objects of `kind` the plan must map (again), each with the inputs it is mapped from.

        `context` names everything else the mapping depends on (the mapping files, the tool
        version, the preset catalog); `parent` the kind whose object also feeds it.
        """
        # Settled or not is decided once, up front, into a temporary table: the plan writes the
        # entities table while it reads these rows, and must not read its own writes.
        sql, params = self._inputs_query(f"s.rowid AS row, {self._INPUTS_SQL} AS inputs", False, kind, context, parent)
        self._conn.execute("DROP TABLE IF EXISTS temp.to_map")
        self._conn.execute(f"CREATE TEMP TABLE to_map AS {sql}", params)
        query = "SELECT s.data, t.inputs FROM temp.to_map t JOIN snapshot s ON s.rowid = t.row ORDER BY t.row"
        for data, inputs in self._conn.execute(query):
            yield json.loads(data), inputs

    def settled(self, kind: Kind, context: str, parent: Kind | None = None) -> Iterator[tuple[str | None, str | None, int]]:
        """The entities `to_map` leaves out, as (`choice` JSON, notes signature, how many) groups."""
        columns = "json_extract(e.extra, '$.choice'), json_extract(e.extra, '$.notes_sig')"
        yield from self._conn.execute(*self._inputs_query(f"{columns}, count(*)", True, kind, context, parent, group_by=columns))

    def record_note_set(self, sig: str, key: str, notes: list[dict[str, Any]], examples: int) -> None:
        """Keep an entity's notes as an example of their signature, while it has fewer than `examples`."""
        with self.transaction():
            self._conn.execute(
                "INSERT OR IGNORE INTO note_sets(sig, key, notes) SELECT ?, ?, ? "
                "WHERE (SELECT count(*) FROM note_sets WHERE sig = ?) < ?",
                (sig, key, dumps(notes), sig, examples),
            )

    def note_set(self, sig: str) -> list[tuple[str, list[dict[str, Any]]]]:
        """(key, notes) of the entities kept as examples of one notes signature."""
        rows = self._conn.execute("SELECT key, notes FROM note_sets WHERE sig = ? ORDER BY rowid", (sig,))
        return [(key, json.loads(notes)) for key, notes in rows]

    def settled_notes(self, kind: Kind, context: str, parent: Kind | None = None) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        """(key, notes) of the entities `to_map` leaves out that carry mapping notes, in plan order."""
        notes_column = "json_extract(e.extra, '$.notes')"
        query = self._inputs_query(f"e.key, {notes_column}", True, kind, context, parent, also=f"AND {notes_column} IS NOT NULL")
        for key, notes in self._conn.execute(*query):
            yield key, json.loads(notes)

    def written_as_planned(self, kind: Kind) -> dict[str, tuple[str | None, list[dict[str, Any]]]]:
        """Entities of a kind with no v1 object of their own (a v1 source's presets), written as
        planned: key -> (the inputs they were mapped from, their mapping notes)."""
        query = f"SELECT e.key, e.inputs, json_extract(e.extra, '$.notes') FROM entities e WHERE e.kind = ? AND {self._WRITTEN_AS_PLANNED_SQL}"
        return {
            key: (inputs, json.loads(notes) if notes else []) for key, inputs, notes in self._conn.execute(query, (kind.value,))
        }

    # ------------------------------------------------------------ plan verbs
    def record_plan(self, entities: Iterable[Entity]) -> None:
        """Record what the plan wants for each entity, keeping what was already written.

        An entity whose write is in flight keeps state `intent`; one the mappings refuse
        becomes `unmappable`; otherwise it is `done` if v2 has it and `pending` if not.
        """
        batch: list[dict[str, Any]] = []
        for entity in entities:
            batch.append(
                {
                    "kind": entity.kind.value,
                    "key": entity.key,
                    "v1_id": entity.v1_id,
                    "parent_key": entity.parent_key,
                    "state": entity.state.value,
                    "action": (entity.action or Action.CREATE).value,
                    "desired": dumps(entity.desired) if entity.desired is not None else None,
                    "natural_key": entity.natural_key,
                    "extra": dumps(entity.extra or {}),
                    "reason": entity.reason,
                    "inputs": entity.inputs,
                    "at": now_iso(),
                }
            )
            if len(batch) >= BATCH:
                self._upsert_plan(batch)
                batch = []
        if batch:
            self._upsert_plan(batch)

    def _upsert_plan(self, rows: list[dict[str, Any]]) -> None:
        with self.transaction():
            self._conn.executemany(
                "INSERT INTO entities(kind, key, v1_id, parent_key, state, action, desired, natural_key, extra, reason, "
                "inputs, updated_at) "
                "VALUES (:kind, :key, :v1_id, :parent_key, :state, :action, :desired, :natural_key, :extra, :reason, "
                ":inputs, :at) "
                "ON CONFLICT(kind, key) DO UPDATE SET v1_id = excluded.v1_id, parent_key = excluded.parent_key, "
                "action = excluded.action, desired = excluded.desired, natural_key = excluded.natural_key, "
                "extra = excluded.extra, reason = excluded.reason, inputs = excluded.inputs, "
                "updated_at = excluded.updated_at, adopt_v2_id = NULL, "
                "state = CASE WHEN entities.state = 'intent' THEN entities.state "
                "             WHEN excluded.state = 'unmappable' THEN 'unmappable' "
                "             WHEN entities.v2_id IS NOT NULL THEN 'done' ELSE 'pending' END",
                rows,
            )

    def forget_missing(self, kind: Kind, keep: set[str] | None = None) -> None:
        """Entities whose v1 object left the snapshot (or, with `keep`, whose key is not kept) leave the plan."""
        with self.transaction():
            if keep is None:
                self._conn.execute(
                    "UPDATE entities SET action = 'gone' WHERE kind = ? AND key NOT IN "
                    "(SELECT v1_id FROM snapshot WHERE kind = ?)",
                    (kind.value, kind.value),
                )
            else:
                self._conn.execute(
                    f"UPDATE entities SET action = 'gone' WHERE kind = ? AND key NOT IN ({','.join('?' * len(keep)) or ''})",
                    (kind.value, *sorted(keep)),
                )

    def cascade_unmappable(self, kind: Kind, required: Kind, field: str, target: str) -> None:
        """Entities that need an object the mappings refused are unmappable too, and say which
        (`target` names the side that object was for: "its RealtimeKit preset x cannot be mapped")."""
        with self.transaction():
            self._conn.execute(
                f"UPDATE entities SET state = 'unmappable', action = 'unmappable', "
                f"reason = ? || json_extract(desired, '$.{field}') || ' cannot be mapped' "
                f"WHERE kind = ? AND state != 'unmappable' AND json_extract(desired, '$.{field}') IN "
                f"(SELECT key FROM entities WHERE kind = ? AND state = 'unmappable')",
                (f"its {target} {required.value} ", kind.value, required.value),
            )

    def inherit_by_natural_key(self, kind: Kind) -> int:
        """A new entity takes over the v2 object of a gone one with the same parent and natural key.

        v1 apps delete and re-add a participant (a new v1 id, the same clientSpecificId) to
        change its preset: the existing v2 participant is then updated, never created again.
        """
        with self.transaction():
            pairs = self._conn.execute(
                "SELECT n.key, g.key FROM entities n JOIN entities g ON g.kind = n.kind AND g.action = 'gone' "
                "AND g.v2_id IS NOT NULL AND g.natural_key = n.natural_key AND g.parent_key IS n.parent_key "
                "WHERE n.kind = ? AND n.v2_id IS NULL AND n.state = 'pending' AND n.action != 'gone' "
                "AND n.natural_key IS NOT NULL GROUP BY n.key",
                (kind.value,),
            ).fetchall()
            taken: set[str] = set()
            for new, old in pairs:
                if old in taken:
                    continue
                taken.add(old)
                self._conn.execute(
                    "UPDATE entities SET (v2_id, written, origin, state) = (SELECT v2_id, written, origin, 'done' "
                    "FROM entities WHERE kind = ? AND key = ?) WHERE kind = ? AND key = ?",
                    (kind.value, old, kind.value, new),
                )
                self._conn.execute(
                    "UPDATE entities SET v2_id = NULL, written = NULL, origin = NULL WHERE kind = ? AND key = ?",
                    (kind.value, old),
                )
                self._journal(0, [(kind, new, "inherited", {"from": old})])
        return len(taken)

    def lost_in_v2(self, kind: Kind, keys: Iterable[str], reason: str) -> None:
        """Objects we wrote that the target no longer has: planned again as creates (drift repair),
        with the `reason` the plan gives ("deleted in RealtimeKit after migration; created again")."""
        with self.transaction():
            self._conn.executemany(
                "UPDATE entities SET v2_id = NULL, written = NULL, origin = NULL, "
                "state = CASE WHEN state = 'unmappable' THEN state ELSE 'pending' END, "
                "reason = ? WHERE kind = ? AND key = ?",
                [(reason, kind.value, key) for key in keys],
            )

    def record_baseline(self, kind: Kind, v2_ids: Iterable[str]) -> None:
        """Remember target objects that are not ours, seen before this run's writes."""
        with self.transaction():
            self._conn.executemany(
                "INSERT OR IGNORE INTO baseline(kind, v2_id) VALUES (?, ?)", [(kind.value, v2_id) for v2_id in v2_ids]
            )

    def baseline(self, kind: Kind) -> set[str]:
        return {r[0] for r in self._conn.execute("SELECT v2_id FROM baseline WHERE kind = ?", (kind.value,))}

    def knows_target(self) -> bool:
        """Whether this ledger has ever written to (or adopted from) the target."""
        return self._conn.execute("SELECT 1 FROM entities WHERE v2_id IS NOT NULL LIMIT 1").fetchone() is not None

    def record_imported(self, entity: Entity, v2_id: str, written: dict[str, Any]) -> None:
        """`import`: a v2 object matched to this entity joins the ledger as if we had written it."""
        with self.transaction():
            self._conn.execute(
                "UPDATE entities SET v2_id = ?, written = ?, origin = 'imported', state = 'done' WHERE kind = ? AND key = ?",
                (v2_id, dumps(written), entity.kind.value, entity.key),
            )

    def conflict_requiring(self, kind: Kind, field: str, name: str, reason: str) -> None:
        """Entities whose body names `name` in `field` (participants of a clashing preset) are conflicts too."""
        with self.transaction():
            self._conn.execute(
                f"UPDATE entities SET action = 'conflict', reason = ? WHERE kind = ? "
                f"AND action != 'unmappable' AND json_extract(desired, '$.{field}') = ?",
                (reason, kind.value, name),
            )

    def decide(self) -> None:
        """Set each entity's action from its ledger state; SQL keeps 100k rows cheap."""
        with self.transaction():
            self._conn.execute(DECIDE_SQL)

    def adopt(self, kind: Kind, key: str, v2_id: str) -> None:
        """The plan found an identical object in v2: the load will take it without a write."""
        with self.transaction():
            self._conn.execute(
                "UPDATE entities SET action = 'adopt', adopt_v2_id = ? WHERE kind = ? AND key = ?", (v2_id, kind.value, key)
            )

    def conflict(self, kind: Kind, key: str, reason: str) -> None:
        """v2 holds something we cannot reconcile with the mappings: left alone, with the reason."""
        with self.transaction():
            self._conn.execute(
                "UPDATE entities SET action = 'conflict', reason = ? WHERE kind = ? AND key = ?", (reason, kind.value, key)
            )

    # ---------------------------------------------------------------- queries
    def entity(self, kind: Kind, key: str) -> Entity | None:
        return next(self._select("WHERE kind = ? AND key = ?", (Kind(kind).value, key)), None)

    def entities(
        self,
        kind: Kind | None = None,
        *,
        states: Iterable[State] | None = None,
        actions: Iterable[Action] | None = None,
        parent_key: str | None = None,
        in_v2: bool | None = None,
        origin: str | None = None,
    ) -> Iterator[Entity]:
        """Entities in plan order, filtered; `gone` ones only when asked for by action."""
        clauses: list[str] = []
        args: list[Any] = []
        if kind is not None:
            clauses.append("kind = ?")
            args.append(Kind(kind).value)
        for column, values in (("state", states), ("action", actions)):
            if values is not None:
                chosen = [v.value for v in values]
                clauses.append(f"{column} IN ({','.join('?' * len(chosen))})")
                args.extend(chosen)
        if actions is None:
            clauses.append("action IS NOT 'gone'")
        if parent_key is not None:
            clauses.append("parent_key = ?")
            args.append(parent_key)
        if in_v2 is not None:
            clauses.append("v2_id IS NOT NULL" if in_v2 else "v2_id IS NULL")
        if origin is not None:
            clauses.append("origin = ?")
            args.append(origin)
        return self._select(("WHERE " + " AND ".join(clauses)) if clauses else "", tuple(args))

    def count_entities(self, kind: Kind | None = None, *, actions: Iterable[Action] | None = None) -> int:
        clauses, args = ["action IS NOT 'gone'"], []
        if kind is not None:
            clauses.append("kind = ?")
            args.append(kind.value)
        if actions is not None:
            chosen = [a.value for a in actions]
            clauses.append(f"action IN ({','.join('?' * len(chosen))})")
            args.extend(chosen)
        return int(self._conn.execute(f"SELECT count(*) FROM entities WHERE {' AND '.join(clauses)}", args).fetchone()[0])

    def _select(self, where: str, args: tuple[Any, ...], limit: int | None = None) -> Iterator[Entity]:
        sql = f"SELECT {_ENTITY_COLUMNS} FROM entities {where} ORDER BY seq"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        for row in self._conn.execute(sql, args):
            yield _entity(row)

    def known_v2_ids(self, kind: Kind, parent_key: str | None = None) -> set[str]:
        """v2 ids this ledger holds for a kind (of one parent): never someone else's object."""
        sql, args = "SELECT v2_id FROM entities WHERE kind = ? AND v2_id IS NOT NULL", [kind.value]
        if parent_key is not None:
            sql += " AND parent_key = ?"
            args.append(parent_key)
        return {r[0] for r in self._conn.execute(sql, args)}

    def held_in_v2(self, kind: Kind) -> Iterator[HeldInV2]:
        """Every entity of a kind the ledger says is in the target (gone from the source or not): for drift checks."""
        for key, v2_id, parent_key, gone in self._conn.execute(
            "SELECT key, v2_id, parent_key, action = 'gone' FROM entities WHERE kind = ? AND v2_id IS NOT NULL ORDER BY seq",
            (kind.value,),
        ):
            yield HeldInV2(key, v2_id, parent_key, bool(gone))

    def v2_ids(self, kind: Kind) -> dict[str, str | None]:
        """Key -> v2 id of every entity of a kind (None where it has none yet)."""
        return dict(self._conn.execute("SELECT key, v2_id FROM entities WHERE kind = ?", (kind.value,)).fetchall())

    def parents_with_new_children(self, kind: Kind, parent: Kind) -> list[tuple[str, str]]:
        """(parent key, parent v2 id) of parents already in v2 that get new children in this plan."""
        return [
            (key, v2_id)
            for key, v2_id in self._conn.execute(
                "SELECT DISTINCT p.key, p.v2_id FROM entities c JOIN entities p ON p.kind = ? AND p.key = c.parent_key "
                "WHERE c.kind = ? AND c.action = 'create' AND p.v2_id IS NOT NULL ORDER BY p.seq",
                (parent.value, kind.value),
            )
        ]

    def action_counts(self) -> dict[Kind, Counter[Action]]:
        counts: dict[Kind, Counter[Action]] = {k: Counter() for k in Kind}
        for kind, action, n in self._conn.execute(
            "SELECT kind, action, count(*) FROM entities WHERE action != 'gone' GROUP BY kind, action"
        ):
            counts[Kind(kind)][Action(action)] = n
        return counts

    def counts(self) -> dict[Kind, Counter[str]]:
        """Entities per kind and state (the `status` table); conflicts shown as such."""
        out: dict[Kind, Counter[str]] = {k: Counter() for k in Kind}
        for kind, state, n in self._conn.execute(
            "SELECT kind, CASE WHEN action = 'conflict' THEN 'conflict' WHEN state = 'done' AND "
            "written IS NOT desired THEN 'follow-up' ELSE state END AS shown, count(*) "
            "FROM entities WHERE action IS NOT 'gone' GROUP BY kind, shown"
        ):
            out[Kind(kind)][state] = n
        return out

    def remaining(self, kinds: Iterable[Kind] | None = None, scope: Scope | None = None) -> int:
        """Entities that still need a write: pending, in flight, or a create's follow-up PATCH."""
        chosen = [k for k in (kinds or Kind) if scope is None or k in scope]
        total = 0
        for kind in chosen:
            sql, args = f"SELECT count(*) FROM entities WHERE kind = ? AND {_REMAINING_WHERE}", [kind.value]
            if scope is not None:
                sql += " AND key IN (SELECT value FROM json_each(?))"
                args.append(json.dumps(sorted(scope[kind])))
            total += int(self._conn.execute(sql, args).fetchone()[0])
        return total

    def scope_of(self, kind: Kind, keys: Iterable[str], children: tuple[tuple[Kind, tuple[tuple[Kind, str], ...]], ...]) -> Scope:
        """A canary's scope: these entities of `kind`, their children, and what those require (by name)."""
        chosen = set(keys)
        known = {e.key for e in self.entities(kind) if e.key in chosen}
        missing = sorted(chosen - known)
        if missing:
            raise ConfigError(f"no source {kind} {missing[0]} in the plan (ids come from export-ids or the plan report)")
        scope: Scope = {k: frozenset() for k in Kind}
        scope[kind] = frozenset(known)
        for child, requires in children:
            members = [e for e in self.entities(child) if e.parent_key in known]
            scope[child] = frozenset(e.key for e in members)
            for required, field in requires:
                names = {str((e.desired or {}).get(field)) for e in members if (e.desired or {}).get(field)}
                scope[required] = scope[required] | frozenset(names)
        return scope

    def held_back(self, kind: Kind, parent: Kind) -> int:
        """Pending entities whose parent failed or is unmappable: they cannot be created this run."""
        return int(
            self._conn.execute(
                "SELECT count(*) FROM entities c JOIN entities p ON p.kind = ? AND p.key = c.parent_key "
                "WHERE c.kind = ? AND c.state = 'pending' AND p.v2_id IS NULL AND p.state IN ('failed', 'unmappable')",
                (parent.value, kind.value),
            ).fetchone()[0]
        )

    def held_back_by(self, kind: Kind, parent: Kind) -> Iterator[Entity]:
        """The pending entities `held_back` counts: their parent failed or is unmappable."""
        return self._select(
            "WHERE kind = ? AND state = 'pending' AND action IS NOT 'gone' AND parent_key IN (SELECT key FROM entities "
            "WHERE kind = ? AND v2_id IS NULL AND state IN ('failed', 'unmappable'))",
            (kind.value, parent.value),
        )

    # ------------------------------------------------------------ load verbs
    def next_creates(
        self,
        kind: Kind,
        limit: int,
        parent: Kind | None = None,
        requires: tuple[tuple[Kind, str], ...] = (),
        keys: frozenset[str] | None = None,
    ) -> list[tuple[Entity, str | None]]:
        """Pending creates whose dependencies exist in v2, with the parent's v2 id (only `keys`, if given)."""
        args: tuple[Any, ...] = (kind.value, limit) if keys is None else (json.dumps(sorted(keys)), kind.value, limit)
        cur = self._conn.execute(next_creates_sql(parent, requires, scoped=keys is not None), args)
        return [(_entity(row[:-1]), row[-1]) for row in cur]

    def next_updates(self, kind: Kind, limit: int, skip: set[str], keys: frozenset[str] | None = None) -> list[Entity]:
        """Done entities whose v2 object does not hold what the plan wants, less those tried this run."""
        out: list[Entity] = []
        for entity in self._select(f"WHERE kind = ? AND state = 'done' AND {NEXT_UPDATES_WHERE}", (kind.value,)):
            if entity.key not in skip and (keys is None or entity.key in keys):
                out.append(entity)
                if len(out) >= limit:
                    break
        return out

    def has_in_flight(self, kind: Kind) -> bool:
        """Whether any write of this kind may have landed unrecorded (then nothing in v2 is surely someone else's)."""
        row = self._conn.execute("SELECT 1 FROM entities WHERE kind = ? AND state = 'intent' LIMIT 1", (kind.value,))
        return row.fetchone() is not None

    def in_flight(self, kind: Kind) -> list[Entity]:
        """What a previous (killed) run left in state `intent`."""
        return list(self._select("WHERE kind = ? AND state = 'intent'", (kind.value,)))

    def mark_intent(self, run_id: int, entities: list[Entity], event: str) -> None:
        """Commit the intent to write, before the write is sent."""
        at = now_iso()
        with self.transaction():
            self._conn.executemany(
                "UPDATE entities SET state = 'intent', intent_at = ?, attempts = attempts + 1, updated_at = ? WHERE kind = ? AND key = ?",
                [(at, at, e.kind.value, e.key) for e in entities],
            )
            self._journal(run_id, [(e.kind, e.key, event, None) for e in entities])
        for e in entities:
            e.state, e.intent_at, e.attempts = State.INTENT, at, e.attempts + 1

    def record_results(self, run_id: int, results: list[WriteResult]) -> None:
        """Commit the outcome of a batch of writes in one transaction."""
        at = now_iso()
        with self.transaction():
            self._conn.executemany(
                "UPDATE entities SET state = ?, v2_id = COALESCE(?, v2_id), written = COALESCE(?, written), "
                "origin = COALESCE(origin, ?), last_error = ?, updated_at = ? WHERE kind = ? AND key = ?",
                [
                    (
                        r.state.value,
                        r.v2_id,
                        dumps(r.written) if r.written is not None else None,
                        r.origin,
                        scrub(r.error) if r.error else None,
                        at,
                        r.kind.value,
                        r.key,
                    )
                    for r in results
                ],
            )
            self._journal(run_id, [(r.kind, r.key, r.event, r.detail) for r in results])

    def forget_v2(self, kind: Kind, keys: list[str]) -> None:
        """Objects rollback deleted: the entity goes back to pending, so a later migrate recreates it."""
        with self.transaction():
            self._conn.executemany(
                "UPDATE entities SET v2_id = NULL, written = NULL, origin = NULL, state = 'pending' WHERE kind = ? AND key = ?",
                [(kind.value, key) for key in keys],
            )

    def _journal(self, run_id: int, events: list[tuple[Kind, str, str, dict[str, Any] | None]]) -> None:
        at = now_iso()
        self._conn.executemany(
            "INSERT INTO journal(at, run_id, kind, key, event, detail) VALUES (?, ?, ?, ?, ?, ?)",
            [(at, run_id, k.value, key, ev, dumps(d) if d else None) for k, key, ev, d in events],
        )

    # ---------------------------------------------------------------- journal
    def events(self, kind: Kind, key: str) -> list[str]:
        """Every journal event of one entity, intents included, oldest first."""
        return [
            r[0]
            for r in self._conn.execute(
                "SELECT event FROM journal WHERE kind = ? AND key = ? ORDER BY seq", (Kind(kind).value, key)
            )
        ]

    def journal_counts(self, run_id: int) -> dict[str, dict[str, int]]:
        out: dict[str, dict[str, int]] = {}
        for kind, event, n in self._conn.execute(
            "SELECT kind, event, count(*) FROM journal WHERE run_id = ? GROUP BY kind, event", (run_id,)
        ):
            out.setdefault(kind, {})[event] = n
        return out

    def journal(self, run_id: int) -> tuple[int, Iterator[JournalEntry]]:
        """What one run did to each entity (outcomes only; intents are bookkeeping), with the entity."""
        source = (
            "FROM journal j LEFT JOIN entities e ON e.kind = j.kind AND e.key = j.key "
            "WHERE j.run_id = ? AND j.event NOT LIKE 'intent:%'"
        )
        total = int(self._conn.execute(f"SELECT count(*) {source}", (run_id,)).fetchone()[0])
        columns = ", ".join(f"e.{c.strip()}" for c in _ENTITY_COLUMNS.split(","))

        def entries() -> Iterator[JournalEntry]:
            for row in self._conn.execute(
                f"SELECT j.at, j.kind, j.key, j.event, j.detail, {columns} {source} ORDER BY j.seq", (run_id,)
            ):
                at, kind, key, event, detail = row[:5]
                entity = _entity(row[5:]) if row[5] is not None else None
                yield JournalEntry(at, entity, Kind(kind), key, event, _loads(detail))

        return total, entries()

    # ------------------------------------------------------------------ merge
    def absorb_shard(self, source: Path, shard: str, shared: frozenset[Kind]) -> None:
        """Copy one shard's ledger into this (new) one, refusing an entity two shards hold apart.

        Only `shared` kinds (planned by every shard: presets) may be held by several shards,
        and then with the same v2 id; of two such rows, the one that has the v2 object (and
        says it created it, so rollback undoes it) is kept. Runs and journal keep their
        history under new run ids; the snapshot is the union of the shards' snapshots.
        """
        self._conn.execute("CREATE TEMP TABLE IF NOT EXISTS held_by (kind TEXT, key TEXT, shard TEXT, PRIMARY KEY (kind, key))")
        self._conn.execute("ATTACH DATABASE ? AS src", (str(source),))
        try:
            with self.transaction():
                self._refuse_overlap(shard, shared)
                offset = self._conn.execute("SELECT coalesce(max(id), 0) FROM main.runs").fetchone()[0]
                self._conn.execute(
                    "INSERT INTO main.runs(id, command, started_at, ended_at, status, pid, summary) "
                    "SELECT id + ?, command, started_at, ended_at, status, pid, summary FROM src.runs ORDER BY id",
                    (offset,),
                )
                self._conn.execute(
                    "INSERT INTO main.journal(at, run_id, kind, key, event, detail) "
                    "SELECT at, run_id + ?, kind, key, event, detail FROM src.journal ORDER BY seq",
                    (offset,),
                )
                self._conn.execute(
                    "INSERT OR IGNORE INTO main.snapshot(kind, v1_id, parent_id, data, hash, run_id) "
                    "SELECT kind, v1_id, parent_id, data, hash, run_id + ? FROM src.snapshot",
                    (offset,),
                )
                # a shared row another shard holds less completely makes way for this one
                self._conn.execute(
                    "DELETE FROM main.entities WHERE EXISTS (SELECT 1 FROM src.entities s WHERE s.kind = main.entities.kind "
                    "AND s.key = main.entities.key AND s.v2_id IS NOT NULL AND (main.entities.v2_id IS NULL OR "
                    "(s.origin = 'created' AND main.entities.origin IS NOT 'created')))"
                )
                self._conn.execute(
                    f"INSERT OR IGNORE INTO main.entities({_ENTITY_COLUMNS}, updated_at) "
                    f"SELECT {_ENTITY_COLUMNS}, updated_at FROM src.entities ORDER BY seq"
                )
                self._conn.execute("INSERT OR IGNORE INTO held_by SELECT kind, key, ? FROM src.entities", (shard,))
                for key, value in self._conn.execute(
                    f"SELECT key, value FROM src.meta WHERE key NOT IN ({','.join('?' * len(_OWN_META))})", _OWN_META
                ).fetchall():
                    self._conn.execute("INSERT OR IGNORE INTO main.meta(key, value) VALUES (?, ?)", (key, value))
        finally:
            self._conn.execute("DETACH DATABASE src")

    def _refuse_overlap(self, shard: str, shared: frozenset[Kind]) -> None:
        chosen = [k.value for k in shared]
        row = self._conn.execute(
            "SELECT s.kind, s.key, h.shard FROM src.entities s JOIN held_by h ON h.kind = s.kind AND h.key = s.key "
            f"WHERE s.kind NOT IN ({','.join('?' * len(chosen)) or 'NULL'}) LIMIT 1",
            chosen,
        ).fetchone()
        if row is not None:
            raise LedgerConflict(f"{row[0]} {row[1]} is in shard {row[2]} and in shard {shard}: overlapping shards")
        row = self._conn.execute(
            "SELECT s.kind, s.key, e.v2_id, s.v2_id, h.shard FROM src.entities s "
            "JOIN main.entities e ON e.kind = s.kind AND e.key = s.key JOIN held_by h ON h.kind = s.kind AND h.key = s.key "
            "WHERE s.v2_id IS NOT NULL AND e.v2_id IS NOT NULL AND s.v2_id != e.v2_id LIMIT 1"
        ).fetchone()
        if row is not None:
            raise LedgerConflict(
                f"{row[0]} {row[1]} is target id {row[2]} in shard {row[4]} but target id {row[3]} in shard {shard}: "
                "inconsistent shards"
            )

    def finish_merge(self, shards: list[str], extracts_complete: bool) -> None:
        """Mark the merged ledger as serving unsharded runs, with a snapshot as complete as its shards'."""
        with self.transaction():
            self.set_meta("shard", "none")
            self.set_meta("merged_from", ",".join(shards))
            newest = self._conn.execute(
                "SELECT max(id) FROM runs WHERE command IN ('extract', 'plan', 'migrate', 'verify')"
            ).fetchone()[0]
            if extracts_complete and newest is not None:
                self.set_meta("snapshot_run", str(newest))
                self.set_meta("snapshot_at", now_iso())


# What a merged ledger does not copy from its shards' meta: it has its own.
_OWN_META = ("schema_version", "created_at", "shard", "snapshot_run", "snapshot_at", "v1_org", "v2_org", "merged_from")


def backup(source: Path, target: Path) -> int:
    """Copy a ledger, write-ahead log included, into one self-contained file; returns its size.

    SQLite's backup API reads through the write-ahead log: copying `ledger.sqlite` alone
    after a crash can miss the latest state, still in `ledger.sqlite-wal`.

    The copy is written beside the target and renamed into place, so a target that
    existed is either the old file or the whole new one, never half of each.
    """
    source, target = Path(source), Path(target)
    if not source.is_file():
        raise LedgerError(f"no ledger at {source}")
    if target.exists() and os.path.samefile(source, target):
        raise ConfigError(f"the backup {target} is the ledger itself")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, partial = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        os.close(fd)
    except OSError as exc:
        raise ConfigError(f"cannot write the backup {target}: {exc.strerror}") from None
    try:
        with closing(sqlite3.connect(source, timeout=30)) as src, closing(sqlite3.connect(partial)) as dst:
            src.execute("SELECT count(*) FROM meta").fetchone()  # a dyte-migrate ledger, not any file
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")  # one file: no -wal beside the copy
        os.chmod(partial, 0o600)
        os.replace(partial, target)
    except sqlite3.DatabaseError as exc:
        raise LedgerError(f"ledger {source} cannot be copied ({exc})") from None
    except OSError as exc:
        raise ConfigError(f"cannot write the backup {target}: {exc.strerror}") from None
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return target.stat().st_size
