//! API tokens: made with a role and a name, stored as their SHA-256 only,
//! looked up on every request, revocable.

use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::Row;
use uuid::Uuid;

use super::{Store, StoreError};
pub use crate::domain::Role;

/// Who is calling: the token's name and role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token's name (it goes into case history as the actor).
    pub name: String,
    /// Its role.
    pub role: Role,
}

/// Prefix of every qloop API token (so a leaked one is recognisable).
pub const TOKEN_PREFIX: &str = "qlp_";

fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Store {
    /// Makes a token for `name` with `role`; returns the token (shown once).
    pub async fn create_token(
        &self,
        role: Role,
        name: &str,
        at_ms: i64,
    ) -> Result<String, StoreError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(StoreError::Invalid(
                "name: must be 1 to 100 characters".into(),
            ));
        }
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        let token = format!(
            "{TOKEN_PREFIX}{}",
            secret
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        let (_gate, mut tx) = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO api_tokens (id, token_sha256, role, name, created_at_ms) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(Uuid::now_v7().to_string())
        .bind(digest(&token))
        .bind(role.as_str())
        .bind(name)
        .bind(at_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The caller a token belongs to, unless unknown or revoked.
    pub async fn caller(&self, token: &str) -> Result<Option<Caller>, StoreError> {
        if !token.starts_with(TOKEN_PREFIX) || token.len() > 200 {
            return Ok(None);
        }
        let row = sqlx::query(
            "SELECT role, name FROM api_tokens WHERE token_sha256 = $1 AND revoked_at_ms IS NULL",
        )
        .bind(digest(token))
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let role: String = row.try_get("role")?;
        Ok(Some(Caller {
            name: row.try_get("name")?,
            role: Role::parse(&role)
                .ok_or_else(|| StoreError::Corrupt(format!("api_tokens.role {role:?}")))?,
        }))
    }

    /// Revokes every token named `name`; returns how many.
    pub async fn revoke_tokens(&self, name: &str, at_ms: i64) -> Result<u64, StoreError> {
        let (_gate, mut tx) = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE api_tokens SET revoked_at_ms = $1 WHERE name = $2 AND revoked_at_ms IS NULL",
        )
        .bind(at_ms)
        .bind(name)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(n)
    }
}
