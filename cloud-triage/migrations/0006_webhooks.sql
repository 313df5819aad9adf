-- Webhook delivery of notification_events (issue 5, "Notifications").
-- notification_events stays the log of what happened; these tables say who
-- has been told. Times are Unix ms.

-- One row per (event, endpoint): each configured endpoint gets every event
-- it subscribes to once. `queue` is the case id as text ('' for an event
-- without a case); an endpoint receives the events of one queue strictly in
-- (created_at_ms, event_id) order, so a failing event holds back only the
-- later events of its own case.
CREATE TABLE IF NOT EXISTS webhook_queue (
    event_id            TEXT NOT NULL REFERENCES notification_events (id),
    endpoint            TEXT NOT NULL,
    queue               TEXT NOT NULL,
    created_at_ms       BIGINT NOT NULL,
    -- pending | delivered | skipped (the endpoint does not take this kind) | failed (gave up)
    state               TEXT NOT NULL,
    attempts            BIGINT NOT NULL DEFAULT 0,
    -- Not before this time is the next attempt made.
    next_attempt_at_ms  BIGINT NOT NULL,
    -- A worker's claim (a token per claim round) and when it lapses.
    claimed_by          TEXT,
    claimed_until_ms    BIGINT,
    delivered_at_ms     BIGINT,
    last_error          TEXT,
    PRIMARY KEY (event_id, endpoint)
);

-- The head-of-queue test and the claim scan.
CREATE INDEX IF NOT EXISTS webhook_queue_order
    ON webhook_queue (endpoint, state, queue, created_at_ms, event_id);
CREATE INDEX IF NOT EXISTS webhook_queue_claim
    ON webhook_queue (claimed_by);

-- One row per attempt, successful or not, never updated.
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id              TEXT PRIMARY KEY,
    event_id        TEXT NOT NULL REFERENCES notification_events (id),
    endpoint        TEXT NOT NULL,
    attempt         BIGINT NOT NULL,
    at_ms           BIGINT NOT NULL,
    -- The HTTP status, when a response came back.
    http_status     BIGINT,
    -- Why the attempt failed (connection, timeout, non-2xx), NULL on success.
    error           TEXT,
    duration_ms     BIGINT NOT NULL,
    delivered       BIGINT NOT NULL
);

CREATE INDEX IF NOT EXISTS webhook_deliveries_event ON webhook_deliveries (event_id, endpoint, attempt);
