//! Read models: what the store reads out and the HTTP API serves as JSON,
//! with their OpenAPI schemas.
//!
//! They are plain data (serde + utoipa derives, no I/O). They sit below both
//! the store, which fills them from rows, and the API, which owns their
//! contract, so the store never imports the HTTP layer and the API never
//! reaches into the store's row types. Field names are the JSON names
//! clients see: change them only together with `api/openapi.rs`.

mod case_query;
mod cases;
mod health;
mod notifications;
mod vehicles;

pub use case_query::{CaseQuery, CaseSort, SlaState, DEFAULT_PAGE_LIMIT, MAX_PAGE_LIMIT};
pub use cases::{
    AsrRecord, AudioInfo, CaseDetail, CaseMatch, CaseSummary, Consent, Counts, CutShortInfo,
    FeedbackDetail, HistoryEntry, Ica, Occurrence, Page, Pca, RootCause, Verification,
};
pub use health::Backend;
pub use notifications::NotificationEvent;
pub use vehicles::{LostMessageRecord, VehicleFeedback, VehicleView, VEHICLE_VIEW_LIMIT};
