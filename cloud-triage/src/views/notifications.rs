//! The events raised for people outside the service, as the API lists them.

use uuid::Uuid;

use crate::domain::NotificationKind;

/// An event for people outside the service (sent as a webhook).
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct NotificationEvent {
    /// Event id.
    pub id: Uuid,
    /// `case_opened`, `escalated`, `emerging_issue`, …
    pub kind: NotificationKind,
    /// The case it concerns.
    pub case_id: Option<i64>,
    /// What happened.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// When it was raised, Unix ms.
    pub created_at_ms: i64,
    /// When it was delivered, Unix ms.
    pub delivered_at_ms: Option<i64>,
}
