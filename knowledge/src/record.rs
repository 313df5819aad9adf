//! What the index holds: one [`IndexDoc`] per known issue, case or feedback.

use serde::{Deserialize, Serialize};

/// The kind of a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    /// A recall, service bulletin or closed case turned into knowledge.
    KnownIssue,
    /// A tracked case.
    Case,
    /// One driver's feedback.
    Feedback,
}

impl DocKind {
    /// Stable lowercase name, as indexed and as the API filters by.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::KnownIssue => "known_issue",
            Self::Case => "case",
            Self::Feedback => "feedback",
        }
    }

    /// The kind named `s`, if any.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "known_issue" => Some(Self::KnownIssue),
            "case" => Some(Self::Case),
            "feedback" => Some(Self::Feedback),
            _ => None,
        }
    }
}

/// One searchable document. `id` is unique across kinds (a recall's campaign
/// number, `case-17`, a feedback UUID).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct IndexDoc {
    /// Unique id; a later document with the same id replaces the earlier one.
    pub id: String,
    /// What it is.
    pub kind: Option<DocKind>,
    /// Short title.
    pub title: String,
    /// The searchable text: symptom, defect, narrative, transcript.
    pub text: String,
    /// Taxonomy category or NHTSA component group.
    pub category: Option<String>,
    /// `major`, `minor`, … when known.
    pub severity: Option<String>,
    /// Manufacturer, upper case.
    pub make: Option<String>,
    /// Models it concerns, upper case.
    pub models: Vec<String>,
    /// Model years it concerns.
    pub years: Vec<u16>,
    /// Software versions seen.
    pub software: Vec<String>,
    /// Diagnostic trouble codes seen.
    pub dtcs: Vec<String>,
    /// When it was reported or opened, Unix ms.
    pub date_ms: Option<i64>,
    /// Case status, or `open`/`closed` for a known issue.
    pub status: Option<String>,
    /// Interim containment known for it.
    pub containment: Option<String>,
    /// Permanent remedy known for it.
    pub remedy: Option<String>,
    /// What happens if it is not fixed (feeds severity).
    pub consequence: Option<String>,
}
