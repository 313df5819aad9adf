//! The roles API tokens carry, and their names on the wire.

/// What a caller may do.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Fleet and service operators: read everything, record satisfaction.
    Operator,
    /// Quality engineers: read, and work cases.
    Engineer,
    /// Everything, including making tokens.
    Admin,
}

impl Role {
    /// Stable lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Operator => "operator",
            Self::Engineer => "engineer",
            Self::Admin => "admin",
        }
    }

    /// Parses a role name.
    pub fn parse(s: &str) -> Option<Role> {
        [Self::Operator, Self::Engineer, Self::Admin]
            .into_iter()
            .find(|r| r.as_str() == s)
    }
}
