-- qloop cloud-triage schema, version 1.
-- Written once for SQLite and PostgreSQL: TEXT, BIGINT and DOUBLE PRECISION
-- only; timestamps are Unix milliseconds, booleans 0/1, JSON as TEXT, uuids as
-- their hyphenated text. Case numbers come from `sequences`, not from
-- AUTOINCREMENT or SERIAL, so both backends allocate them the same way.

CREATE TABLE IF NOT EXISTS sequences (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);

INSERT INTO sequences (name, value) VALUES ('case_number', 0) ON CONFLICT (name) DO NOTHING;

CREATE TABLE IF NOT EXISTS cases (
    id                     BIGINT PRIMARY KEY,
    status                 TEXT NOT NULL DEFAULT 'new',
    category               TEXT NOT NULL,
    department             TEXT,
    severity               TEXT NOT NULL,
    confidence             DOUBLE PRECISION,
    model_version          TEXT NOT NULL,
    title                  TEXT NOT NULL,
    vehicle_count          BIGINT NOT NULL DEFAULT 1,
    first_seen_ms          BIGINT NOT NULL,
    last_seen_ms           BIGINT NOT NULL,
    opened_at_ms           BIGINT NOT NULL,
    updated_at_ms          BIGINT NOT NULL,
    ica_action             TEXT,
    ica_owner              TEXT,
    ica_due_ms             BIGINT,
    ica_implemented_at_ms  BIGINT,
    ica_verification       TEXT,
    ica_verified_at_ms     BIGINT,
    ica_suggested          BIGINT NOT NULL DEFAULT 0,
    root_cause             TEXT,
    root_cause_owner       TEXT,
    root_cause_occurrence  TEXT,
    root_cause_escape_point TEXT,
    root_cause_evidence    TEXT,
    root_cause_found_at_ms BIGINT,
    pca_action             TEXT,
    pca_owner              TEXT,
    pca_due_ms             BIGINT,
    pca_implemented_at_ms  BIGINT,
    pca_validation         TEXT,
    pca_verified_at_ms     BIGINT,
    pca_suggested          BIGINT NOT NULL DEFAULT 0,
    verification           TEXT,
    verification_owner     TEXT,
    verified_at_ms         BIGINT
);

CREATE INDEX IF NOT EXISTS cases_status ON cases (status);
CREATE INDEX IF NOT EXISTS cases_category ON cases (category);
CREATE INDEX IF NOT EXISTS cases_severity ON cases (severity);

CREATE TABLE IF NOT EXISTS feedback (
    id                    TEXT PRIMARY KEY,
    vin                   TEXT NOT NULL,
    model                 TEXT NOT NULL,
    model_year            BIGINT NOT NULL,
    captured_at_ms        BIGINT NOT NULL,
    received_at_ms        BIGINT NOT NULL,
    trigger_kind          TEXT NOT NULL,
    locale                TEXT NOT NULL,
    transcript            TEXT,
    transcript_source     TEXT,
    transcript_confidence DOUBLE PRECISION,
    software_json         TEXT NOT NULL,
    telemetry_json        TEXT NOT NULL,
    consent_audio         BIGINT NOT NULL,
    consent_location      BIGINT NOT NULL,
    audio_status          TEXT NOT NULL,
    audio_path            TEXT,
    audio_codec           TEXT,
    audio_sample_rate     BIGINT,
    audio_channels        BIGINT,
    audio_duration_ms     BIGINT,
    audio_bytes           BIGINT,
    audio_chunks          BIGINT,
    audio_crc32           BIGINT,
    envelope_bytes        BIGINT NOT NULL,
    case_id               BIGINT REFERENCES cases (id)
);

CREATE INDEX IF NOT EXISTS feedback_case ON feedback (case_id);
CREATE INDEX IF NOT EXISTS feedback_vin ON feedback (vin);

CREATE TABLE IF NOT EXISTS case_feedback (
    feedback_id  TEXT PRIMARY KEY REFERENCES feedback (id),
    case_id      BIGINT NOT NULL REFERENCES cases (id),
    linked_at_ms BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS case_feedback_case ON case_feedback (case_id);

CREATE TABLE IF NOT EXISTS downlink_events (
    id              TEXT PRIMARY KEY,
    vin             TEXT NOT NULL,
    feedback_id     TEXT,
    case_id         BIGINT,
    kind            TEXT NOT NULL,
    message         TEXT NOT NULL,
    created_at_ms   BIGINT NOT NULL,
    published_at_ms BIGINT,
    receipt_at_ms   BIGINT
);

CREATE INDEX IF NOT EXISTS downlink_events_pending ON downlink_events (published_at_ms, created_at_ms);

CREATE TABLE IF NOT EXISTS audio_chunks (
    feedback_id    TEXT NOT NULL,
    idx            BIGINT NOT NULL,
    total          BIGINT NOT NULL,
    path           TEXT NOT NULL,
    bytes          BIGINT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    PRIMARY KEY (feedback_id, idx)
);

CREATE TABLE IF NOT EXISTS case_history (
    id        TEXT PRIMARY KEY,
    case_id   BIGINT NOT NULL REFERENCES cases (id),
    at_ms     BIGINT NOT NULL,
    actor     TEXT NOT NULL,
    field     TEXT NOT NULL,
    old_value TEXT,
    new_value TEXT
);

CREATE INDEX IF NOT EXISTS case_history_case ON case_history (case_id, at_ms);

CREATE TABLE IF NOT EXISTS rejected_messages (
    id             TEXT PRIMARY KEY,
    topic          TEXT NOT NULL,
    received_at_ms BIGINT NOT NULL,
    error          TEXT NOT NULL,
    payload_bytes  BIGINT NOT NULL
);
