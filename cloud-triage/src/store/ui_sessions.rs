//! The web UI's sign-in: sessions and one-time login links.
//!
//! A session belongs to an API token: the one the person typed on the
//! sign-in page, or the one `cloud-triage login-link` made for the link.
//! Every request looks the session up together with its token, so revoking
//! the token (`token revoke`) ends the session at once, and the session's
//! caller is exactly the token's: same name in the history, same role.
//! Session ids and link codes are random 32-byte secrets; only their SHA-256
//! is stored.

use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{
    access::{Caller, Role, TOKEN_PREFIX},
    Store, StoreError,
};

/// How long a session lasts after sign-in.
pub const SESSION_TTL_MS: i64 = 12 * 3_600_000;
/// How long a login link can be used.
pub const LOGIN_LINK_TTL_MS: i64 = 10 * 60_000;

/// A session as the UI sees it on each request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UiSession {
    /// Who is signed in.
    pub caller: Caller,
    /// The session's CSRF secret: every form and htmx request carries it.
    pub csrf: String,
}

/// A new session: the cookie value (shown once) and the session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// The secret that goes into the session cookie.
    pub id: String,
    /// The session.
    pub session: UiSession,
}

/// A random 32-byte secret as 64 hex digits.
pub fn secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A secret as this module makes them: 64 lowercase hex digits.
fn well_formed(secret: &str) -> bool {
    secret.len() == 64 && secret.bytes().all(|b| b.is_ascii_hexdigit())
}

impl Store {
    /// Signs in with an API token: a new session, or `None` when the token
    /// is unknown or revoked.
    pub async fn open_ui_session(
        &self,
        token: &str,
        now_ms: i64,
    ) -> Result<Option<NewSession>, StoreError> {
        let token = token.trim();
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 200 {
            return Ok(None);
        }
        let (_gate, mut tx) = self.begin_write().await?;
        let row = sqlx::query(
            "SELECT id, role, name FROM api_tokens WHERE token_sha256 = $1 AND revoked_at_ms IS NULL",
        )
        .bind(digest(token))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let token_id: String = row.try_get("id")?;
        let caller = caller_of(&row)?;
        let new = insert_session(&mut tx, &token_id, caller, now_ms).await?;
        tx.commit().await?;
        Ok(Some(new))
    }

    /// Makes a one-time login link's code for a new token of `role` named
    /// `name`; the code works once, within [`LOGIN_LINK_TTL_MS`].
    pub async fn create_login_link(
        &self,
        role: Role,
        name: &str,
        now_ms: i64,
    ) -> Result<String, StoreError> {
        // The link's session needs a token behind it (for the role, the
        // name in the history, and revocation); it is never shown.
        let token = self.create_token(role, name, now_ms).await?;
        let code = secret();
        let (_gate, mut tx) = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO ui_login_links (code_sha256, token_id, created_at_ms, expires_at_ms) \
             SELECT $1, id, $2, $3 FROM api_tokens WHERE token_sha256 = $4",
        )
        .bind(digest(&code))
        .bind(now_ms)
        .bind(now_ms + LOGIN_LINK_TTL_MS)
        .bind(digest(&token))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(code)
    }

    /// Uses a login link: a new session, or `None` when the code is unknown,
    /// used, expired, or its token was revoked. A code works only once, even
    /// when two requests race: the update that marks it used is conditional.
    pub async fn redeem_login_link(
        &self,
        code: &str,
        now_ms: i64,
    ) -> Result<Option<NewSession>, StoreError> {
        if !well_formed(code) {
            return Ok(None);
        }
        let (_gate, mut tx) = self.begin_write().await?;
        let used = sqlx::query(
            "UPDATE ui_login_links SET used_at_ms = $1 \
             WHERE code_sha256 = $2 AND used_at_ms IS NULL AND expires_at_ms > $1",
        )
        .bind(now_ms)
        .bind(digest(code))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if used != 1 {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT t.id, t.role, t.name FROM ui_login_links l JOIN api_tokens t ON t.id = l.token_id \
             WHERE l.code_sha256 = $1 AND t.revoked_at_ms IS NULL",
        )
        .bind(digest(code))
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let token_id: String = row.try_get("id")?;
        let caller = caller_of(&row)?;
        let new = insert_session(&mut tx, &token_id, caller, now_ms).await?;
        tx.commit().await?;
        Ok(Some(new))
    }

    /// The session a cookie names, unless unknown, ended, expired, or its
    /// token revoked.
    pub async fn ui_session(&self, id: &str, now_ms: i64) -> Result<Option<UiSession>, StoreError> {
        if !well_formed(id) {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT s.csrf, t.role, t.name FROM ui_sessions s JOIN api_tokens t ON t.id = s.token_id \
             WHERE s.id_sha256 = $1 AND s.ended_at_ms IS NULL AND s.expires_at_ms > $2 \
             AND t.revoked_at_ms IS NULL",
        )
        .bind(digest(id))
        .bind(now_ms)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            Ok(UiSession {
                caller: caller_of(&row)?,
                csrf: row.try_get("csrf")?,
            })
        })
        .transpose()
    }

    /// Signs out: the session ends (its cookie no longer works).
    pub async fn end_ui_session(&self, id: &str, now_ms: i64) -> Result<(), StoreError> {
        if !well_formed(id) {
            return Ok(());
        }
        let (_gate, mut tx) = self.begin_write().await?;
        sqlx::query(
            "UPDATE ui_sessions SET ended_at_ms = $1 WHERE id_sha256 = $2 AND ended_at_ms IS NULL",
        )
        .bind(now_ms)
        .bind(digest(id))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

fn caller_of(row: &sqlx::any::AnyRow) -> Result<Caller, StoreError> {
    let role: String = row.try_get("role")?;
    Ok(Caller {
        name: row.try_get("name")?,
        role: Role::parse(&role)
            .ok_or_else(|| StoreError::Corrupt(format!("api_tokens.role {role:?}")))?,
    })
}

async fn insert_session(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    token_id: &str,
    caller: Caller,
    now_ms: i64,
) -> Result<NewSession, StoreError> {
    let id = secret();
    let csrf = secret();
    sqlx::query(
        "INSERT INTO ui_sessions (id_sha256, token_id, csrf, created_at_ms, expires_at_ms) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(digest(&id))
    .bind(token_id)
    .bind(&csrf)
    .bind(now_ms)
    .bind(now_ms + SESSION_TTL_MS)
    .execute(&mut **tx)
    .await?;
    Ok(NewSession {
        id,
        session: UiSession { caller, csrf },
    })
}
