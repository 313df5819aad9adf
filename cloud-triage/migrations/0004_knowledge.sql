-- Known issues (recalls, service bulletins, closed cases) imported into the
-- knowledge index. The index is rebuilt from this table, cases and feedback
-- by `cloud-triage reindex`, so the database stays the source of truth.
CREATE TABLE IF NOT EXISTS known_issues (
    id              TEXT PRIMARY KEY,
    doc_json        TEXT NOT NULL,
    source          TEXT NOT NULL,
    imported_at_ms  BIGINT NOT NULL
);
