-- Resumable (tus) uploads. The id is the Fast.io chunked session id; what has
-- arrived is read from Fast.io's chunks map, not stored here.
CREATE TABLE IF NOT EXISTS tus_uploads (
    id TEXT PRIMARY KEY,
    uploader TEXT NOT NULL,           -- JWT `sub` of whoever opened it
    name TEXT NOT NULL,
    length INTEGER NOT NULL,          -- Upload-Length
    chunk_size INTEGER NOT NULL,      -- bytes per Fast.io chunk
    metadata TEXT NOT NULL DEFAULT '',-- Upload-Metadata as sent, echoed on HEAD
    sha256 TEXT,                      -- declared whole-file SHA-256 (hex)
    expires_at INTEGER NOT NULL,      -- unix seconds (Upload-Expires)
    status TEXT NOT NULL,             -- open | completed | terminated
    file_id TEXT,                     -- Fast.io file id once stored
    lock_token TEXT,                  -- the PATCH currently writing, if any
    lock_expires INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);
