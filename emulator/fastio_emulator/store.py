"""Persistent state: metadata in SQLite, bytes as files under the data directory."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import sqlite3
import string
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

_ALPHABET = string.ascii_lowercase + string.digits

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    action TEXT NOT NULL,
    name TEXT NOT NULL,
    size INTEGER,
    stream INTEGER NOT NULL,
    max_size INTEGER,
    instance_id TEXT NOT NULL,
    profile_type TEXT NOT NULL,
    folder_id TEXT NOT NULL,
    file_id TEXT,
    status TEXT NOT NULL,
    status_message TEXT NOT NULL DEFAULT '',
    new_file_id TEXT,
    bytes_received INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    session_id TEXT NOT NULL,
    ord INTEGER NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    received REAL NOT NULL,
    PRIMARY KEY (session_id, ord)
);
CREATE TABLE IF NOT EXISTS files (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    profile_type TEXT NOT NULL,
    folder_id TEXT NOT NULL,
    upload_id TEXT,
    version_id TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    type TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    created REAL NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS read_tokens (
    token TEXT PRIMARY KEY,
    node_id TEXT NOT NULL,
    expires REAL NOT NULL
);
"""

READ_TOKEN_TTL = 3600.0


def new_id(length: int = 20) -> str:
    """Return a random lowercase opaque id."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def iso(ts: float) -> str:
    """Format a unix time as ISO 8601 UTC."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Store:
    """SQLite metadata plus on-disk bytes; every call is short and synchronous."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir
        self.files_dir = data_dir / "files"
        self.chunks_dir = data_dir / "chunks"
        self.tmp_dir = data_dir / "tmp"
        for d in (self.files_dir, self.chunks_dir, self.tmp_dir):
            d.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(
            data_dir / "emulator.sqlite3", isolation_level=None, check_same_thread=False
        )
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        # An emulator needs no fsync per commit; this keeps calls short.
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        self._recover()

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def _recover(self) -> None:
        """Repair state left by a previous run that stopped mid-operation."""
        # Temp files belong to requests that can no longer finish.
        for p in self.tmp_dir.iterdir():
            p.unlink(missing_ok=True)
        now = time.time()
        self.db.execute(
            "UPDATE sessions SET status='assembly_failed', updated=?,"
            " status_message='emulator restarted during assembly'"
            " WHERE status='assembling'",
            (now,),
        )
        self.db.execute(
            "UPDATE sessions SET status='ready', updated=? WHERE status='uploading'"
            " AND stream=1",
            (now,),
        )

    def reset(self) -> None:
        """Drop every session, file, event and token."""
        for table in ("sessions", "chunks", "files", "events", "read_tokens"):
            self.db.execute(f"DELETE FROM {table}")
        for d in (self.files_dir, self.chunks_dir, self.tmp_dir):
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True, exist_ok=True)

    # Paths -----------------------------------------------------------------

    def tmp_path(self) -> Path:
        """Return a fresh path for an in-flight body."""
        return self.tmp_dir / new_id(24)

    def chunk_path(self, session_id: str, order: int) -> Path:
        """Where a stored chunk lives."""
        return self.chunks_dir / session_id / f"{order}.part"

    def file_path(self, node_id: str) -> Path:
        """Where a stored file's bytes live."""
        return self.files_dir / node_id

    # Sessions --------------------------------------------------------------

    def create_session(self, **fields: Any) -> dict[str, Any]:
        """Insert a new upload session and return it."""
        now = time.time()
        row = {"id": new_id(), "status": "ready", "created": now, "updated": now}
        row.update(fields)
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        self.db.execute(
            f"INSERT INTO sessions ({cols}) VALUES ({marks})",
            tuple(row.values()),
        )
        return self.get_session(row["id"])  # type: ignore[return-value]

    def get_session(self, sid: str, owner: str | None = None) -> dict[str, Any] | None:
        """Fetch one session (optionally only if owned by owner)."""
        row = self.db.execute("SELECT * FROM sessions WHERE id=?", (sid,)).fetchone()
        if row is None or (owner is not None and row["owner"] != owner):
            return None
        return dict(row)

    def list_sessions(self, owner: str | None = None) -> list[dict[str, Any]]:
        """List sessions, oldest first."""
        if owner is None:
            rows = self.db.execute("SELECT * FROM sessions ORDER BY created")
        else:
            rows = self.db.execute(
                "SELECT * FROM sessions WHERE owner=? ORDER BY created", (owner,)
            )
        return [dict(r) for r in rows]

    def update_session(self, sid: str, **fields: Any) -> None:
        """Change session fields and bump its updated time."""
        fields["updated"] = time.time()
        sets = ", ".join(f"{k}=?" for k in fields)
        self.db.execute(
            f"UPDATE sessions SET {sets} WHERE id=?",
            (*fields.values(), sid),
        )

    def delete_session(self, sid: str) -> None:
        """Remove a session, its chunk records and chunk bytes."""
        self.db.execute("DELETE FROM sessions WHERE id=?", (sid,))
        self.db.execute("DELETE FROM chunks WHERE session_id=?", (sid,))
        shutil.rmtree(self.chunks_dir / sid, ignore_errors=True)

    # Chunks ----------------------------------------------------------------

    def put_chunk(
        self, sid: str, order: int, size: int, sha256: str, tmp: Path
    ) -> None:
        """Move a fully received chunk into place, replacing any earlier one."""
        dest = self.chunk_path(sid, order)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp, dest)
        self.db.execute(
            "INSERT OR REPLACE INTO chunks (session_id, ord, size, sha256, received)"
            " VALUES (?, ?, ?, ?, ?)",
            (sid, order, size, sha256, time.time()),
        )

    def chunks(self, sid: str) -> list[dict[str, Any]]:
        """List a session's chunks by order."""
        rows = self.db.execute(
            "SELECT ord, size, sha256, received FROM chunks WHERE session_id=?"
            " ORDER BY ord",
            (sid,),
        )
        return [dict(r) for r in rows]

    def delete_chunk(self, sid: str, order: int) -> bool:
        """Delete one chunk; report whether it existed."""
        cur = self.db.execute(
            "DELETE FROM chunks WHERE session_id=? AND ord=?", (sid, order)
        )
        self.chunk_path(sid, order).unlink(missing_ok=True)
        return cur.rowcount > 0

    def drop_chunk_bytes(self, sid: str) -> None:
        """Free the disk space of an assembled session's chunks (records stay)."""
        shutil.rmtree(self.chunks_dir / sid, ignore_errors=True)

    # Files -----------------------------------------------------------------

    def add_file(self, tmp: Path, **fields: Any) -> dict[str, Any]:
        """Store a new file node from a finished temp file."""
        now = time.time()
        row = {
            "id": new_id(),
            "version_id": new_id(),
            "created": now,
            "updated": now,
        }
        row.update(fields)
        os.replace(tmp, self.file_path(row["id"]))
        cols = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        self.db.execute(
            f"INSERT INTO files ({cols}) VALUES ({marks})",
            tuple(row.values()),
        )
        return self.get_file(row["id"])  # type: ignore[return-value]

    def replace_file(
        self, node_id: str, tmp: Path, size: int, sha256: str, upload_id: str
    ) -> dict[str, Any]:
        """Give an existing node new content and a new version id."""
        os.replace(tmp, self.file_path(node_id))
        self.db.execute(
            "UPDATE files SET size=?, sha256=?, upload_id=?, version_id=?, updated=?"
            " WHERE id=?",
            (size, sha256, upload_id, new_id(), time.time(), node_id),
        )
        return self.get_file(node_id)  # type: ignore[return-value]

    def get_file(self, node_id: str) -> dict[str, Any] | None:
        """Fetch one file node."""
        row = self.db.execute("SELECT * FROM files WHERE id=?", (node_id,)).fetchone()
        return dict(row) if row else None

    def list_files(
        self,
        instance_id: str | None = None,
        folder_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """List files, optionally in one instance and folder, oldest first."""
        sql = "SELECT * FROM files WHERE 1=1"
        args: list[Any] = []
        if instance_id is not None:
            sql += " AND instance_id=?"
            args.append(instance_id)
        if folder_id is not None:
            sql += " AND folder_id=?"
            args.append(folder_id)
        rows = self.db.execute(sql + " ORDER BY created, id", args)
        return [dict(r) for r in rows]

    def delete_file(self, node_id: str) -> None:
        """Delete a file node and its bytes."""
        self.db.execute("DELETE FROM files WHERE id=?", (node_id,))
        self.db.execute("DELETE FROM read_tokens WHERE node_id=?", (node_id,))
        self.file_path(node_id).unlink(missing_ok=True)

    # Read tokens -----------------------------------------------------------

    def new_read_token(self, node_id: str) -> tuple[str, float]:
        """Mint a download token for a node."""
        token = secrets.token_urlsafe(24)
        expires = time.time() + READ_TOKEN_TTL
        self.db.execute(
            "INSERT INTO read_tokens (token, node_id, expires) VALUES (?, ?, ?)",
            (token, node_id, expires),
        )
        return token, expires

    def token_allows(self, token: str, node_id: str) -> bool:
        """Check a download token against a node."""
        row = self.db.execute(
            "SELECT node_id, expires FROM read_tokens WHERE token=?", (token,)
        ).fetchone()
        return bool(row and row["node_id"] == node_id and row["expires"] > time.time())

    # Events ----------------------------------------------------------------

    def add_event(self, event: dict[str, Any], entity_id: str) -> int:
        """Record an event body; return its sequence number."""
        cur = self.db.execute(
            "INSERT INTO events (id, type, entity_id, created, body)"
            " VALUES (?, ?, ?, ?, ?)",
            (
                event["id"],
                event["type"],
                entity_id,
                time.time(),
                json.dumps(event, separators=(",", ":")),
            ),
        )
        return int(cur.lastrowid or 0)

    def event_seq(self, event_id: str) -> int | None:
        """Return the sequence number of an event id."""
        row = self.db.execute(
            "SELECT seq FROM events WHERE id=?", (event_id,)
        ).fetchone()
        return int(row["seq"]) if row else None

    def last_event_seq(self) -> int:
        """Return the newest event's sequence number (0 when none)."""
        row = self.db.execute("SELECT MAX(seq) AS m FROM events").fetchone()
        return int(row["m"] or 0)

    def events(
        self,
        after_seq: int = 0,
        entity_id: str | None = None,
        event_type: str | None = None,
    ) -> list[tuple[int, str]]:
        """List (seq, raw body) of events after a sequence number, oldest first."""
        sql = "SELECT seq, body FROM events WHERE seq>?"
        args: list[Any] = [after_seq]
        if entity_id is not None:
            sql += " AND entity_id=?"
            args.append(entity_id)
        if event_type is not None:
            sql += " AND type=?"
            args.append(event_type)
        rows = self.db.execute(sql + " ORDER BY seq", args)
        return [(int(r["seq"]), r["body"]) for r in rows]

    def event_body(self, event_id: str) -> str | None:
        """Return the exact stored JSON body of an event."""
        row = self.db.execute(
            "SELECT body FROM events WHERE id=?", (event_id,)
        ).fetchone()
        return row["body"] if row else None
