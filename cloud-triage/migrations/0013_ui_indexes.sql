-- Indexes for the case list (the web UI's and GET /api/cases) at 10,000
-- cases and more (examples/bench_ui.rs measures it).
--
-- `cases.id` is BIGINT PRIMARY KEY, not SQLite's rowid, so an index on one
-- column returns its rows in rowid order and "filtered, newest first"
-- sorted every match. With the case number in the index, a list filtered
-- on status, category or severity walks the index newest first and stops
-- after one page.
CREATE INDEX IF NOT EXISTS cases_status_newest ON cases (status, id);
CREATE INDEX IF NOT EXISTS cases_category_newest ON cases (category, id);
CREATE INDEX IF NOT EXISTS cases_severity_newest ON cases (severity, id);

-- The SLA-state filter reads, for every case, each metric's current clock
-- and its state columns: all of them in one index, so the clocks' rows
-- (with their pause lists) are not read.
CREATE INDEX IF NOT EXISTS sla_clocks_state
    ON sla_clocks (case_id, metric, cycle, breached_at_ms, stopped_at_ms, paused_since_ms, due_at_ms);
