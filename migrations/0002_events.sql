-- Fast.io events, processed exactly once, and the files they describe.

-- One row per event id, whether it came by webhook or by polling. The primary
-- key is what makes a second delivery a duplicate: INSERT ... ON CONFLICT DO
-- NOTHING reports changes = 0 for it, even when two deliveries race.
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- arrival order, for paging
    id TEXT NOT NULL UNIQUE,          -- webhook-id, else payload id, else sha256
    type TEXT NOT NULL,               -- e.g. workspace_storage_file_added
    source TEXT NOT NULL,             -- webhook | poll (the first to arrive)
    status TEXT NOT NULL DEFAULT 'received'
        CHECK (status IN ('received', 'processing', 'processed', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,                       -- why the last attempt failed
    file_id TEXT,                     -- the Fast.io node the event is about
    occurred_at INTEGER,              -- the event's own time, unix seconds
    payload TEXT NOT NULL,            -- the event object as JSON
    received_at INTEGER NOT NULL,     -- unix seconds
    updated_at INTEGER NOT NULL,
    processed_at INTEGER
);
CREATE INDEX IF NOT EXISTS events_status ON events (status, seq);

-- Files as the events describe them. `uploader` is copied from `uploads` when
-- the file came through the Worker (and joined at read time if the upload row
-- lands after the event).
CREATE TABLE IF NOT EXISTS files (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,  -- first seen, for paging
    id TEXT NOT NULL UNIQUE,          -- Fast.io node id
    workspace_id TEXT,
    name TEXT,
    size INTEGER,
    sha256 TEXT,
    uploader TEXT,                    -- JWT `sub` from uploads, when known
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deleted')),
    last_event_id TEXT NOT NULL,
    last_event_at INTEGER NOT NULL,   -- older events never overwrite newer ones
    created_at INTEGER NOT NULL,      -- unix seconds
    updated_at INTEGER NOT NULL,
    deleted_at INTEGER
);

-- Where the polling fallback stopped reading Fast.io's events API.
CREATE TABLE IF NOT EXISTS poll_cursors (
    name TEXT PRIMARY KEY,            -- one cursor per feed (workspace id)
    cursor TEXT,                      -- the last event id read
    updated_at INTEGER NOT NULL
);
