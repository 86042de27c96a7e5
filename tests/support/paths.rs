//! Where things are: the repository, `testdata/`, small path conversions, temporary
//! directories, a directory copied, a FIFO made.

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

/// Copy a directory tree; every file copied gets mode 0644.
pub fn copy_dir(from: &Path, to: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let t = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &t);
        } else {
            std::fs::copy(e.path(), &t).unwrap();
            std::fs::set_permissions(&t, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
    }
}

/// Make a named pipe (FIFO) at `p` with exactly this mode (whatever the umask).
pub fn mkfifo(p: &Path, mode: u32) {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::PermissionsExt;
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    let rc = unsafe { libc::mkfifo(c.as_ptr(), mode as libc::mode_t) };
    assert_eq!(
        rc,
        0,
        "mkfifo {}: {}",
        p.display(),
        std::io::Error::last_os_error()
    );
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}
