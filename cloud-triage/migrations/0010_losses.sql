-- Nothing the car accepted is lost silently (issue 21).
--
-- A capture the agent was killed in (or lost power in) during its
-- post-trigger window is completed from its on-disk draft at the next start
-- and arrives marked cut short: its telemetry stops at the trigger.
ALTER TABLE feedback ADD COLUMN cut_short_reason TEXT;
ALTER TABLE feedback ADD COLUMN cut_short_at_ms BIGINT;

-- What a car reports it lost: an outbox record found torn or corrupt (or
-- evicted by its quota). One row per report; `resent` is 1 when the car
-- made the message again from a copy it still had (nothing is missing).
CREATE TABLE IF NOT EXISTS lost_messages (
    report_id      TEXT PRIMARY KEY,
    vin            TEXT NOT NULL,
    feedback_id    TEXT,
    lost_kind      TEXT NOT NULL,
    chunk_index    BIGINT,
    reason         TEXT NOT NULL,
    resent         BIGINT NOT NULL,
    detected_at_ms BIGINT NOT NULL,
    received_at_ms BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS lost_messages_by_vin ON lost_messages (vin, received_at_ms);
CREATE INDEX IF NOT EXISTS lost_messages_by_feedback ON lost_messages (feedback_id);
