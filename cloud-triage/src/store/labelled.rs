//! Labelled examples for the triage classifier.

use sqlx::Row;

use super::{Store, StoreError};

impl Store {
    /// Stores labelled examples (id → text, category); an id seen before is replaced.
    pub async fn save_labelled(
        &self,
        examples: &[(String, String, String)],
        source: &str,
        now_ms: i64,
    ) -> Result<usize, StoreError> {
        let (_gate, mut tx) = self.begin_write().await?;
        for (id, text, category) in examples {
            sqlx::query(
                "INSERT INTO labelled_examples (id, text, category, source, created_at_ms) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO UPDATE SET text = excluded.text, \
                 category = excluded.category, source = excluded.source, created_at_ms = excluded.created_at_ms",
            )
            .bind(id)
            .bind(text)
            .bind(category)
            .bind(source)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(examples.len())
    }

    /// Every labelled example as (text, category), oldest first.
    pub async fn labelled_examples(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows =
            sqlx::query("SELECT text, category FROM labelled_examples ORDER BY created_at_ms, id")
                .fetch_all(self.pool())
                .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("text")?, r.try_get("category")?)))
            .collect()
    }
}
