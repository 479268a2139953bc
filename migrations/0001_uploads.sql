-- Uploads that passed through the Worker: who sent which bytes, and where
-- Fast.io stored them. Written after a successful upload.
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY,              -- Fast.io upload session id
    file_id TEXT,                     -- Fast.io node id of the stored file
    name TEXT NOT NULL,
    size INTEGER NOT NULL,
    content_type TEXT,
    sha256 TEXT,
    uploader TEXT,                    -- JWT `sub`
    route TEXT NOT NULL,              -- stream | tus
    created_at INTEGER NOT NULL       -- unix seconds
);
CREATE INDEX IF NOT EXISTS uploads_file_id ON uploads (file_id);
