//! Small decoders shared by the reads: text columns back into typed values.

use uuid::Uuid;

use super::StoreError;

/// A stored uuid column back into a [`Uuid`].
pub(crate) fn uuid_column(text: &str, column: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|e| StoreError::Corrupt(format!("{column} is not a uuid: {e}")))
}

/// A stored JSON column back into a JSON value.
pub(crate) fn json_column(text: &str, column: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("{column} is not valid JSON: {e}")))
}

/// A 0/1 column back into a bool (anything but 0 is true).
pub(crate) fn flag_column(value: i64) -> bool {
    value != 0
}

/// An unsigned count for a BIGINT column, saturating at `i64::MAX`.
pub(crate) fn to_bigint(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_column_that_is_not_a_uuid_is_reported_as_corrupt() {
        let err = uuid_column("not-a-uuid", "feedback.id").unwrap_err();
        assert!(
            matches!(err, StoreError::Corrupt(ref m) if m.contains("feedback.id")),
            "{err}"
        );
    }

    #[test]
    fn a_column_that_is_not_json_is_reported_as_corrupt() {
        assert!(matches!(
            json_column("{\"signals\":", "telemetry_json"),
            Err(StoreError::Corrupt(_))
        ));
        assert_eq!(json_column("[1]", "x").unwrap(), serde_json::json!([1]));
    }
}
