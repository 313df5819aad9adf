-- SLA clock cycles in their own column (issue 11). A reopened case's
-- finished resolution clock used to be kept as metric `resolution#N`, and
-- each restarted next-update clock as `next_update#N`. Now `metric` is
-- always the metric's name and `cycle` numbers the clocks of one metric on
-- one case from 0; the highest cycle is the current clock. An escalation
-- carries the cycle of the clock it was raised on, so each cycle breaches
-- and escalates once. `X#N` was the N-th finished clock: cycle N - 1; the
-- current clock's cycle is the number of finished ones.

CREATE TABLE sla_clocks_by_cycle (
    case_id          BIGINT NOT NULL REFERENCES cases (id),
    metric           TEXT NOT NULL,
    cycle            BIGINT NOT NULL DEFAULT 0,
    target_ms        BIGINT NOT NULL,
    started_at_ms    BIGINT NOT NULL,
    due_at_ms        BIGINT NOT NULL,
    paused_ms        BIGINT NOT NULL DEFAULT 0,
    paused_since_ms  BIGINT,
    pauses_json      TEXT NOT NULL DEFAULT '[]',
    stopped_at_ms    BIGINT,
    breached_at_ms   BIGINT,
    PRIMARY KEY (case_id, metric, cycle)
);

INSERT INTO sla_clocks_by_cycle (case_id, metric, cycle, target_ms, started_at_ms, due_at_ms,
    paused_ms, paused_since_ms, pauses_json, stopped_at_ms, breached_at_ms)
SELECT s.case_id,
    CASE WHEN s.metric LIKE 'resolution#%' THEN 'resolution'
         WHEN s.metric LIKE 'next_update#%' THEN 'next_update'
         ELSE s.metric END,
    CASE WHEN s.metric LIKE 'resolution#%' THEN CAST(SUBSTR(s.metric, 12) AS BIGINT) - 1
         WHEN s.metric LIKE 'next_update#%' THEN CAST(SUBSTR(s.metric, 13) AS BIGINT) - 1
         ELSE (SELECT COUNT(*) FROM sla_clocks o
               WHERE o.case_id = s.case_id AND o.metric LIKE s.metric || '#%') END,
    s.target_ms, s.started_at_ms, s.due_at_ms, s.paused_ms, s.paused_since_ms, s.pauses_json,
    s.stopped_at_ms, s.breached_at_ms
FROM sla_clocks s;

CREATE TABLE escalations_by_cycle (
    case_id  BIGINT NOT NULL REFERENCES cases (id),
    kind     TEXT NOT NULL,
    metric   TEXT NOT NULL,
    cycle    BIGINT NOT NULL DEFAULT 0,
    at_ms    BIGINT NOT NULL,
    detail   TEXT NOT NULL,
    PRIMARY KEY (case_id, kind, metric, cycle)
);

-- `major` escalations have the empty metric: cycle 0.
INSERT INTO escalations_by_cycle (case_id, kind, metric, cycle, at_ms, detail)
SELECT e.case_id, e.kind,
    CASE WHEN e.metric LIKE 'resolution#%' THEN 'resolution'
         WHEN e.metric LIKE 'next_update#%' THEN 'next_update'
         ELSE e.metric END,
    CASE WHEN e.metric LIKE 'resolution#%' THEN CAST(SUBSTR(e.metric, 12) AS BIGINT) - 1
         WHEN e.metric LIKE 'next_update#%' THEN CAST(SUBSTR(e.metric, 13) AS BIGINT) - 1
         WHEN e.metric = '' THEN 0
         ELSE (SELECT COUNT(*) FROM sla_clocks o
               WHERE o.case_id = e.case_id AND o.metric LIKE e.metric || '#%') END,
    e.at_ms, e.detail
FROM escalations e;

DROP TABLE escalations;
ALTER TABLE escalations_by_cycle RENAME TO escalations;
DROP TABLE sla_clocks;
ALTER TABLE sla_clocks_by_cycle RENAME TO sla_clocks;
CREATE INDEX IF NOT EXISTS sla_clocks_running ON sla_clocks (stopped_at_ms, due_at_ms);
