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

/// An embedding as column text: little-endian f32, base64 (one schema
/// serves SQLite and PostgreSQL, so no BLOB/BYTEA).
pub(crate) fn vector_text(vector: &[f32]) -> String {
    use base64::Engine;
    let bytes: Vec<u8> = vector.iter().flat_map(|x| x.to_le_bytes()).collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Reads [`vector_text`]; `dim` is the only length accepted.
pub(crate) fn vector_column(text: &str, dim: usize, column: &str) -> Result<Vec<f32>, StoreError> {
    use base64::Engine;
    if text.len() > dim.saturating_mul(4).div_ceil(3) * 4 + 4 {
        return Err(StoreError::Corrupt(format!(
            "{column}: longer than a {dim}-d vector"
        )));
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))?;
    if bytes.len() != dim * 4 {
        return Err(StoreError::Corrupt(format!(
            "{column}: {} bytes, a {dim}-d vector has {}",
            bytes.len(),
            dim * 4
        )));
    }
    Ok(bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

#[cfg(test)]
mod vector_tests {
    use super::*;

    #[test]
    fn vectors_round_trip_and_wrong_sizes_are_corrupt() {
        let v = vec![0.5f32, -1.25, f32::MIN_POSITIVE, 3.0];
        assert_eq!(vector_column(&vector_text(&v), 4, "c").unwrap(), v);
        assert!(vector_column(&vector_text(&v), 3, "c").is_err());
        assert!(vector_column("not base64 !", 4, "c").is_err());
        assert!(vector_column(&"A".repeat(10_000), 4, "c").is_err());
    }
}
