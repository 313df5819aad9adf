//! Small decoders shared by the reads: text columns back into typed values;
//! and the binds that need care on one code path for both databases.

use uuid::Uuid;

use super::StoreError;

/// A stored uuid column back into a [`Uuid`].
pub(crate) fn uuid_column(text: &str, column: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(text).map_err(|e| StoreError::Corrupt(format!("{column} is not a uuid: {e}")))
}

/// A stored kind or state (`status`, `severity`, …) back into its enum; an
/// unknown text is corrupt data, since every write goes through the enum.
pub(crate) fn enum_column<T>(text: &str, column: &str) -> Result<T, StoreError>
where
    T: std::str::FromStr<Err = crate::domain::UnknownValue>,
{
    text.parse()
        .map_err(|e: crate::domain::UnknownValue| StoreError::Corrupt(format!("{column}: {e}")))
}

/// A stored hazard name back into its [`qloop_models::Hazard`]; `NULL` is
/// none, and any text but a hazard's name is corrupt (every write goes
/// through [`qloop_models::Hazard::name`]).
pub(crate) fn hazard_column(
    text: Option<String>,
    column: &str,
) -> Result<Option<qloop_models::Hazard>, StoreError> {
    let Some(text) = text else { return Ok(None) };
    match qloop_models::Hazard::parse(&text) {
        Some(Some(h)) if h.name() == text => Ok(Some(h)),
        _ => Err(StoreError::Corrupt(format!(
            "{column}: {text:?} is not a hazard"
        ))),
    }
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

/// A value for a nullable `DOUBLE PRECISION` column. Bind this, never an
/// `Option<f64>` (or `Option<f32>`), so a NULL has the same PostgreSQL
/// parameter type as a number.
///
/// sqlx 0.8's `Any` driver sends `Some(f64)` as FLOAT8 but `None::<f64>` as
/// FLOAT4 (and `None::<f32>` as FLOAT8: `AnyArguments::convert_to` in
/// sqlx-core 0.8.6, `src/any/arguments.rs`, swaps the NULL `Real` and
/// `Double` kinds). PostgreSQL prepares a statement once per connection,
/// with the parameter types of its first execution, and sqlx keeps it by
/// its SQL text; a statement that first ran with NULL then fails for every
/// number on that connection with "incorrect binary data format in bind
/// parameter N" (8 bytes where 4 are declared). SQLite has no parameter
/// types and is unaffected.
///
/// So a NULL is encoded as the NULL kind that reaches PostgreSQL as FLOAT8
/// today. If sqlx fixes the swap, `a_null_double_has_the_type_of_a_number`
/// below fails: encode `None::<f64>` instead.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct NullableDouble(pub(crate) Option<f64>);

impl sqlx::Type<sqlx::Any> for NullableDouble {
    fn type_info() -> sqlx::any::AnyTypeInfo {
        <f64 as sqlx::Type<sqlx::Any>>::type_info()
    }
}

impl<'q> sqlx::Encode<'q, sqlx::Any> for NullableDouble {
    fn encode_by_ref(
        &self,
        buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer<'q>,
    ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
        match self.0 {
            Some(value) => <f64 as sqlx::Encode<'q, sqlx::Any>>::encode_by_ref(&value, buf),
            // Reaches PostgreSQL as a FLOAT8 NULL (see above).
            None => <Option<f32> as sqlx::Encode<'q, sqlx::Any>>::encode_by_ref(&None, buf),
        }
    }
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

    /// The PostgreSQL parameter types `value` is bound with through `Any`.
    fn postgres_parameter_types(value: NullableDouble) -> String {
        use sqlx::Arguments;
        let mut any = sqlx::any::AnyArguments::default();
        any.add(value).unwrap();
        let pg: sqlx::postgres::PgArguments = any.convert_to().unwrap();
        // `PgArguments { types: [..], buffer: .. }`: the types only.
        let debug = format!("{pg:?}");
        debug[..debug.find("buffer").expect("PgArguments shows its buffer")].to_string()
    }

    #[test]
    fn a_null_double_has_the_type_of_a_number() {
        let number = postgres_parameter_types(NullableDouble(Some(0.5)));
        assert!(number.contains("Float8"), "{number}");
        assert_eq!(postgres_parameter_types(NullableDouble(None)), number);
    }

    #[test]
    fn a_hazard_column_reads_back_its_name_and_refuses_other_text() {
        assert_eq!(hazard_column(None, "h").unwrap(), None);
        assert_eq!(
            hazard_column(Some("fire_or_smoke".into()), "h").unwrap(),
            Some(qloop_models::Hazard::FireOrSmoke)
        );
        for junk in ["none", "Fire_Or_Smoke", "brakes"] {
            assert!(matches!(
                hazard_column(Some(junk.into()), "cases.hazard"),
                Err(StoreError::Corrupt(ref m)) if m.contains("cases.hazard")
            ));
        }
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
