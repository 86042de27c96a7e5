//! Where things are: the repository, `testdata/`, and small path conversions.

use std::path::{Path, PathBuf};

/// The repository root (where `testdata/` lives).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A file under the repository's `testdata/`.
pub fn testdata(rel: &str) -> PathBuf {
    repo().join("testdata").join(rel)
}

/// `testdata/<rel>` as an absolute path string.
pub fn td(rel: &str) -> String {
    s(&testdata(rel)).to_string()
}

/// `testdata/image/<rel>` as an absolute path string.
pub fn img(rel: &str) -> String {
    td(&format!("image/{rel}"))
}

/// The bytes of `testdata/<rel>`.
pub fn read_testdata(rel: &str) -> Vec<u8> {
    std::fs::read(testdata(rel)).unwrap_or_else(|e| panic!("testdata/{rel}: {e}"))
}

/// A path as a string (test paths are UTF-8).
pub fn s(p: &Path) -> &str {
    p.to_str().expect("UTF-8 test path")
}

pub fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}
