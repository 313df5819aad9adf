-- People and access (issue 5): API tokens with roles. Only a token's
-- SHA-256 is stored; the token itself is shown once, when it is made.
CREATE TABLE IF NOT EXISTS api_tokens (
    id             TEXT PRIMARY KEY,
    token_sha256   TEXT NOT NULL UNIQUE,
    role           TEXT NOT NULL,
    name           TEXT NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    revoked_at_ms  BIGINT
);

-- When a follow-up question was sent to the cars.
ALTER TABLE follow_ups ADD COLUMN sent_at_ms BIGINT;
