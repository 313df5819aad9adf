//! Reading cases: one case in full here, the filtered listing in `list`.

mod list;

use sqlx::{any::AnyRow, Row};

use super::{
    rows::{enum_column, flag_column, hazard_column, json_column, uuid_column},
    CaseDetail, CaseSummary, HistoryEntry, Ica, Occurrence, Pca, RootCause, Store, StoreError,
    Verification,
};

/// The columns a [`CaseSummary`] reads.
const SUMMARY_COLUMNS: &str =
    "id, status, category, department, severity, hazard, title, vehicle_count, occurrences, emerging_at_ms, merged_into, \
     first_seen_ms, last_seen_ms, opened_at_ms, updated_at_ms";

impl Store {
    /// Case `id` with its 8D blocks, linked feedback and history.
    pub async fn get_case(&self, id: i64) -> Result<Option<CaseDetail>, StoreError> {
        let Some(row) = sqlx::query("SELECT * FROM cases WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
        else {
            return Ok(None);
        };
        let occurrences = self.occurrences(id).await?;
        let history = self.history(id).await?;
        let matches = self.case_matches(id).await?;
        let list = |column: &str| -> Result<Vec<String>, StoreError> {
            let text: String = row.try_get(column)?;
            serde_json::from_value(json_column(&text, column)?)
                .map_err(|e| StoreError::Corrupt(format!("cases.{column}: {e}")))
        };
        Ok(Some(CaseDetail {
            summary: summary_from_row(&row)?,
            confidence: row.try_get("confidence")?,
            model_version: row.try_get("model_version")?,
            ica: Ica {
                action: row.try_get("ica_action")?,
                owner: row.try_get("ica_owner")?,
                due_ms: row.try_get("ica_due_ms")?,
                implemented_at_ms: row.try_get("ica_implemented_at_ms")?,
                verification: row.try_get("ica_verification")?,
                verified_at_ms: row.try_get("ica_verified_at_ms")?,
                suggested: flag_column(row.try_get("ica_suggested")?),
            },
            root_cause: RootCause {
                cause: row.try_get("root_cause")?,
                owner: row.try_get("root_cause_owner")?,
                occurrence: row.try_get("root_cause_occurrence")?,
                escape_point: row.try_get("root_cause_escape_point")?,
                evidence: row.try_get("root_cause_evidence")?,
                found_at_ms: row.try_get("root_cause_found_at_ms")?,
            },
            pca: Pca {
                action: row.try_get("pca_action")?,
                owner: row.try_get("pca_owner")?,
                due_ms: row.try_get("pca_due_ms")?,
                implemented_at_ms: row.try_get("pca_implemented_at_ms")?,
                validation: row.try_get("pca_validation")?,
                verified_at_ms: row.try_get("pca_verified_at_ms")?,
                suggested: flag_column(row.try_get("pca_suggested")?),
            },
            verification: Verification {
                summary: row.try_get("verification")?,
                owner: row.try_get("verification_owner")?,
                verified_at_ms: row.try_get("verified_at_ms")?,
            },
            sla: self
                .sla_clocks(id, &self.calendar(), crate::now_ms())
                .await?,
            first_response_at_ms: row.try_get("first_response_at_ms")?,
            resolved_at_ms: row.try_get("resolved_at_ms")?,
            closed_at_ms: row.try_get("closed_at_ms")?,
            reopen_count: row.try_get("reopen_count")?,
            satisfaction: row.try_get("satisfaction")?,
            satisfaction_comment: row.try_get("satisfaction_comment")?,
            software_versions: list("software_json")?,
            model_families: list("model_families")?,
            matches,
            feedback_ids: occurrences.iter().map(|o| o.feedback_id).collect(),
            occurrences,
            history,
        }))
    }

    /// The feedback linked to case `id`, oldest link first.
    async fn occurrences(&self, id: i64) -> Result<Vec<Occurrence>, StoreError> {
        let rows = sqlx::query(
            "SELECT cf.feedback_id, f.vin, cf.linked_at_ms, f.cut_short_reason, f.audio_status FROM case_feedback cf \
             JOIN feedback f ON f.id = cf.feedback_id WHERE cf.case_id = $1 ORDER BY cf.linked_at_ms, cf.feedback_id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Occurrence {
                    feedback_id: uuid_column(
                        row.try_get("feedback_id")?,
                        "case_feedback.feedback_id",
                    )?,
                    vin: row.try_get("vin")?,
                    linked_at_ms: row.try_get("linked_at_ms")?,
                    cut_short: row.try_get("cut_short_reason")?,
                    audio_status: enum_column(
                        row.try_get("audio_status")?,
                        "feedback.audio_status",
                    )?,
                })
            })
            .collect()
    }

    /// The history of case `id`, oldest first.
    async fn history(&self, id: i64) -> Result<Vec<HistoryEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at_ms, actor, field, old_value, new_value FROM case_history WHERE case_id = $1 ORDER BY at_ms, id",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(HistoryEntry {
                    id: uuid_column(row.try_get("id")?, "case_history.id")?,
                    at_ms: row.try_get("at_ms")?,
                    actor: row.try_get("actor")?,
                    field: row.try_get("field")?,
                    old_value: row.try_get("old_value")?,
                    new_value: row.try_get("new_value")?,
                })
            })
            .collect()
    }
}

/// The listing fields of a `cases` row.
fn summary_from_row(row: &AnyRow) -> Result<CaseSummary, StoreError> {
    Ok(CaseSummary {
        id: row.try_get("id")?,
        status: enum_column(row.try_get("status")?, "cases.status")?,
        category: row.try_get("category")?,
        department: row.try_get("department")?,
        severity: enum_column(row.try_get("severity")?, "cases.severity")?,
        hazard: hazard_column(row.try_get("hazard")?, "cases.hazard")?,
        title: row.try_get("title")?,
        vehicle_count: row.try_get("vehicle_count")?,
        occurrence_count: row.try_get("occurrences")?,
        emerging_at_ms: row.try_get("emerging_at_ms")?,
        merged_into: row.try_get("merged_into")?,
        first_seen_ms: row.try_get("first_seen_ms")?,
        last_seen_ms: row.try_get("last_seen_ms")?,
        opened_at_ms: row.try_get("opened_at_ms")?,
        updated_at_ms: row.try_get("updated_at_ms")?,
    })
}
