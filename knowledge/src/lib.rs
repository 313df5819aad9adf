//! qloop knowledge index.
