//! A JSON report (`--format json`) read back: visible differences, ignored counts,
//! one difference or field.

use std::collections::BTreeSet;

/// (path, field) pairs, or (rule, field) pairs.
pub type Pairs = BTreeSet<(String, String)>;

/// Build an expected (path, what) set from string pairs.
pub fn set(items: &[(&str, &str)]) -> Pairs {
    items
        .iter()
        .map(|(p, f)| (p.to_string(), f.to_string()))
        .collect()
}
