-- Case lifecycle (issue 5): 8D states with the side states waiting_customer,
-- reopened, merged and cancelled; SLA clocks per case and metric;
-- escalations raised once each; follow-up visits; the driver's satisfaction.

-- The status a case had when it started waiting on the customer.
ALTER TABLE cases ADD COLUMN paused_from TEXT;
ALTER TABLE cases ADD COLUMN first_response_at_ms BIGINT;
ALTER TABLE cases ADD COLUMN resolved_at_ms BIGINT;
ALTER TABLE cases ADD COLUMN closed_at_ms BIGINT;
ALTER TABLE cases ADD COLUMN reopen_count BIGINT NOT NULL DEFAULT 0;
ALTER TABLE cases ADD COLUMN satisfaction BIGINT;
ALTER TABLE cases ADD COLUMN satisfaction_comment TEXT;

-- One clock per case and metric (route, first_response, resolution).
-- Working time counts by the policy's calendar; `paused_ms` is working time
-- spent waiting on the customer, `due_at_ms` the wall-clock due instant.
CREATE TABLE IF NOT EXISTS sla_clocks (
    case_id          BIGINT NOT NULL REFERENCES cases (id),
    metric           TEXT NOT NULL,
    target_ms        BIGINT NOT NULL,
    started_at_ms    BIGINT NOT NULL,
    due_at_ms        BIGINT NOT NULL,
    paused_ms        BIGINT NOT NULL DEFAULT 0,
    paused_since_ms  BIGINT,
    pauses_json      TEXT NOT NULL DEFAULT '[]',
    stopped_at_ms    BIGINT,
    breached_at_ms   BIGINT,
    PRIMARY KEY (case_id, metric)
);

CREATE INDEX IF NOT EXISTS sla_clocks_running ON sla_clocks (stopped_at_ms, due_at_ms);

-- Escalations: one per (case, kind, metric), so a restart or a second
-- worker never raises the same one twice.
CREATE TABLE IF NOT EXISTS escalations (
    case_id  BIGINT NOT NULL REFERENCES cases (id),
    kind     TEXT NOT NULL,
    metric   TEXT NOT NULL,
    at_ms    BIGINT NOT NULL,
    detail   TEXT NOT NULL,
    PRIMARY KEY (case_id, kind, metric)
);

-- Return visits after resolution (day 5 and day 7), per resolution cycle.
CREATE TABLE IF NOT EXISTS follow_ups (
    case_id     BIGINT NOT NULL REFERENCES cases (id),
    cycle       BIGINT NOT NULL,
    day         BIGINT NOT NULL,
    due_at_ms   BIGINT NOT NULL,
    done_at_ms  BIGINT,
    PRIMARY KEY (case_id, cycle, day)
);
