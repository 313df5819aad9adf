-- Labelled examples the triage classifier learns from: imported with
-- `cloud-triage train`, or an engineer's correction of a case's category.
CREATE TABLE IF NOT EXISTS labelled_examples (
    id             TEXT PRIMARY KEY,
    text           TEXT NOT NULL,
    category       TEXT NOT NULL,
    source         TEXT NOT NULL,
    created_at_ms  BIGINT NOT NULL
);
