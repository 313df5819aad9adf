//! A value that never shows up in logs: `Debug` and `Display` print
//! `<redacted>` (or `""` when empty, so a missing secret is still visible).

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A secret (password, private-key path) whose text stays out of logs.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a value.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The value itself, for the one place that must use it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T: IsEmpty> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty_value() {
            f.write_str("\"\"")
        } else {
            f.write_str("<redacted>")
        }
    }
}

impl<T: IsEmpty> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Secret<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(d).map(Self)
    }
}

/// Values that can be empty (so an unset secret prints as such).
pub trait IsEmpty {
    /// True when there is nothing to hide.
    fn is_empty_value(&self) -> bool;
}

impl IsEmpty for String {
    fn is_empty_value(&self) -> bool {
        self.is_empty()
    }
}

impl IsEmpty for std::path::PathBuf {
    fn is_empty_value(&self) -> bool {
        self.as_os_str().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_print_redacted_and_empty_ones_print_empty() {
        assert_eq!(
            format!("{:?}", Secret::new("hunter2".to_string())),
            "<redacted>"
        );
        assert_eq!(format!("{}", Secret::new(String::new())), "\"\"");
    }
}
