-- Fleet-wide linking (issue 4): a case collects occurrences of the same
-- issue from many vehicles. Vectors are little-endian f32 as base64 text,
-- so one schema serves SQLite and PostgreSQL.

-- The feedback's embedding, made once at triage and reused by the indexer.
ALTER TABLE feedback ADD COLUMN vector TEXT;

-- Linked feedback count (rows of case_feedback).
ALTER TABLE cases ADD COLUMN occurrences BIGINT NOT NULL DEFAULT 1;
-- Distinct software versions ("ECU version") across occurrences, JSON array.
ALTER TABLE cases ADD COLUMN software_json TEXT NOT NULL DEFAULT '[]';
-- Model families (model name, upper case) across occurrences, JSON array.
ALTER TABLE cases ADD COLUMN model_families TEXT NOT NULL DEFAULT '[]';
-- Sum of the occurrences' embeddings (its direction is the centroid).
ALTER TABLE cases ADD COLUMN vector TEXT;
-- When enough distinct vehicles reported it within the window.
ALTER TABLE cases ADD COLUMN emerging_at_ms BIGINT;
-- The case this one was merged into.
ALTER TABLE cases ADD COLUMN merged_into BIGINT;

-- Serialises linking decisions across workers: each ingest transaction
-- updates this row first, which takes its row lock on PostgreSQL (SQLite
-- has one writer anyway).
INSERT INTO sequences (name, value) VALUES ('link_lock', 0) ON CONFLICT (name) DO NOTHING;

-- Known issues and similar cases found for a case's feedback, best score kept.
CREATE TABLE IF NOT EXISTS case_matches (
    case_id      BIGINT NOT NULL REFERENCES cases (id),
    doc_id       TEXT NOT NULL,
    kind         TEXT NOT NULL,
    score        DOUBLE PRECISION NOT NULL,
    similarity   DOUBLE PRECISION,
    title        TEXT NOT NULL,
    containment  TEXT,
    remedy       TEXT,
    found_at_ms  BIGINT NOT NULL,
    PRIMARY KEY (case_id, doc_id)
);

-- Events for people outside (webhooks are sent by the lifecycle work);
-- written in the same transaction as the change they announce.
CREATE TABLE IF NOT EXISTS notification_events (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    case_id          BIGINT,
    payload_json     TEXT NOT NULL,
    created_at_ms    BIGINT NOT NULL,
    delivered_at_ms  BIGINT,
    attempts         BIGINT NOT NULL DEFAULT 0,
    last_error       TEXT
);

CREATE INDEX IF NOT EXISTS notification_events_pending ON notification_events (delivered_at_ms, created_at_ms);
CREATE INDEX IF NOT EXISTS cases_link ON cases (category, last_seen_ms);
