-- Web UI sign-in (issue 12). A session belongs to an API token: the token
-- presented at sign-in, or the one a login link was made with. Revoking the
-- token ends its sessions. Only SHA-256 digests of session ids and link
-- codes are stored; the secrets themselves live in the browser's cookie and
-- in the printed link.
CREATE TABLE IF NOT EXISTS ui_sessions (
    id_sha256      TEXT PRIMARY KEY,
    token_id       TEXT NOT NULL REFERENCES api_tokens (id),
    csrf           TEXT NOT NULL,
    created_at_ms  BIGINT NOT NULL,
    expires_at_ms  BIGINT NOT NULL,
    ended_at_ms    BIGINT
);

CREATE TABLE IF NOT EXISTS ui_login_links (
    code_sha256    TEXT PRIMARY KEY,
    token_id       TEXT NOT NULL REFERENCES api_tokens (id),
    created_at_ms  BIGINT NOT NULL,
    expires_at_ms  BIGINT NOT NULL,
    used_at_ms     BIGINT
);
