//! Package databases: what a package manager recorded about the packages installed in
//! a tree, parsed from the database files' bytes. Pure functions over bytes, like the
//! nested formats: no file system, no comparison. Each parser turns one manager's files
//! into a [`Db`] (packages by name, each with its version, architecture, status,
//! installed size and the paths it owns), or says why the database is malformed (a
//! [`Problem`]; the comparison turns it into a note, never a failed run).
//!
//! - dpkg: `var/lib/dpkg/status` (RFC 822-like stanzas) and `var/lib/dpkg/info/NAME.list`
//!   or `NAME:ARCH.list` (one path per line) ([`dpkg`]);
//! - apk: `lib/apk/db/installed` (`P:` `V:` `A:` `I:` `F:` `R:` lines, a blank line after
//!   each package) ([`apk`]);
//! - pacman: `var/lib/pacman/local/NAME-VERSION/desc` (`%NAME%` sections) and `files`
//!   (`%FILES%`) ([`pacman`]);
//! - rpm: found by path ([`RPM_PATHS`]) and not read: its databases are SQLite, Berkeley
//!   DB or ndb files, and no well-kept pure-Rust crate reads them.
//!
//! Bounds: the bytes a parser sees are bounded by the caller (`compare::packages`); a
//! parser is linear in them, allocates no more than a small multiple of them, and never
//! indexes past what it checked.

pub mod apk;
pub mod dpkg;
pub mod pacman;

use std::collections::BTreeMap;

use crate::entry::Bytes;

/// A package manager whose database rdiff reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Manager {
    Dpkg,
    Apk,
    Pacman,
}

impl Manager {
    pub const ALL: [Manager; 3] = [Manager::Dpkg, Manager::Apk, Manager::Pacman];

    pub fn name(self) -> &'static str {
        match self {
            Manager::Dpkg => "dpkg",
            Manager::Apk => "apk",
            Manager::Pacman => "pacman",
        }
    }

    /// The file whose presence says a tree has this manager's database (its main file;
    /// for pacman, the directory of per-package entries).
    pub fn database(self) -> &'static str {
        match self {
            Manager::Dpkg => dpkg::STATUS,
            Manager::Apk => apk::INSTALLED,
            Manager::Pacman => pacman::LOCAL,
        }
    }

    /// Which of this manager's files `path` is, if any.
    pub fn file_of(self, path: &[u8]) -> bool {
        match self {
            Manager::Dpkg => dpkg::is_file(path),
            Manager::Apk => path == apk::INSTALLED.as_bytes(),
            Manager::Pacman => pacman::is_file(path),
        }
    }

    /// Parse this manager's database from its files (path -> bytes).
    pub fn parse(self, files: &BTreeMap<&[u8], &[u8]>) -> Result<Db, Problem> {
        match self {
            Manager::Dpkg => dpkg::parse(files),
            Manager::Apk => apk::parse(files),
            Manager::Pacman => pacman::parse(files),
        }
    }
}

/// Where rpm keeps its database (rpm 4.16+ SQLite, the Berkeley DB `Packages`, SUSE's
/// ndb `Packages.db`; under `usr/lib/sysimage/rpm` on Fedora 36+ and openSUSE).
pub const RPM_PATHS: &[&str] = &[
    "usr/lib/sysimage/rpm/Packages",
    "usr/lib/sysimage/rpm/Packages.db",
    "usr/lib/sysimage/rpm/rpmdb.sqlite",
    "var/lib/rpm/Packages",
    "var/lib/rpm/Packages.db",
    "var/lib/rpm/rpmdb.sqlite",
];

/// Whether the package stage needs the bytes of the file at `path` (a normalized path
/// of a tree): a dpkg status or list file, apk's installed database, a pacman `desc` or
/// `files`. Cheap: one look at the first bytes for almost every path.
pub fn wanted(path: &[u8]) -> bool {
    match path.first() {
        Some(b'v') | Some(b'l') => Manager::ALL.iter().any(|m| m.file_of(path)),
        _ => false,
    }
}

/// One installed package, as its manager recorded it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Package {
    pub version: Option<Bytes>,
    pub architecture: Option<Bytes>,
    /// dpkg's `Status` (`install ok installed`); apk and pacman record none.
    pub status: Option<Bytes>,
    /// In bytes (dpkg records KiB: its value times 1024).
    pub installed_size: Option<u64>,
    /// The paths it owns, normalized (`usr/bin/hello`; `.` for the root), as listed.
    pub files: Vec<Bytes>,
}

/// One manager's database: the packages by the name rdiff reports them under (dpkg's
/// `Multi-Arch: same` packages as `NAME:ARCH`, as dpkg names their lists).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Db {
    pub packages: BTreeMap<Bytes, Package>,
}

/// Why a database could not be read as its manager would read it: the file and what
/// is wrong, as one line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub path: Bytes,
    pub message: String,
}

impl Problem {
    fn new(path: &str, message: String) -> Problem {
        Problem {
            path: path.as_bytes().into(),
            message,
        }
    }
}

/// The lines of `b`, without their `\n` (and a `\r` before it), the last one even
/// without a newline.
fn lines(b: &[u8]) -> impl Iterator<Item = &[u8]> {
    let b = b.strip_suffix(b"\n").unwrap_or(b);
    let empty = b.is_empty();
    b.split(|&c| c == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(move |_| !empty)
}

/// A decimal number of at most 19 digits (no sign, no spaces).
fn number(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// Bytes without the spaces and tabs around them.
fn trim(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|c| !matches!(c, b' ' | b'\t'));
    let end = b.iter().rposition(|c| !matches!(c, b' ' | b'\t'));
    match (start, end) {
        (Some(s), Some(e)) => &b[s..=e],
        _ => &[],
    }
}

/// `1.0-1`, for a message: bytes shown as text, cut after 60 characters.
fn shown(b: &[u8]) -> String {
    let s = crate::entry::display_bytes(b);
    match s.char_indices().nth(60) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wanted_paths() {
        for p in [
            "var/lib/dpkg/status",
            "var/lib/dpkg/info/libc6:amd64.list",
            "var/lib/dpkg/info/hello.list",
            "lib/apk/db/installed",
            "var/lib/pacman/local/hello-1.0-1/desc",
            "var/lib/pacman/local/hello-1.0-1/files",
        ] {
            assert!(wanted(p.as_bytes()), "{p}");
        }
        for p in [
            "var/lib/dpkg/status-old",
            "var/lib/dpkg/info/hello.md5sums",
            "var/lib/dpkg/info/.list",
            "var/lib/dpkg/info/sub/x.list",
            "var/lib/pacman/local/ALPM_DB_VERSION",
            "var/lib/pacman/local/hello-1.0-1/mtree",
            "var/lib/pacman/local/desc",
            "lib/apk/db/scripts.tar",
            "etc/passwd",
            "",
        ] {
            assert!(!wanted(p.as_bytes()), "{p}");
        }
    }

    /// Any bytes, as any of the files: a database or a problem, never a panic.
    #[test]
    fn hostile_bytes_never_panic() {
        use proptest::prelude::*;
        let mut runner = proptest::test_runner::TestRunner::new(proptest::test_runner::Config {
            cases: 2000,
            ..Default::default()
        });
        // Bytes near the formats (their markers and separators) find more than noise.
        let piece = prop_oneof![
            Just(b"Package: a\n".to_vec()),
            Just(b"Version: 1\n".to_vec()),
            Just(b"Installed-Size: 9\n".to_vec()),
            Just(b"Multi-Arch: same\n".to_vec()),
            Just(b" cont\n".to_vec()),
            Just(b"\n".to_vec()),
            Just(b"P:a\nF:\nR:..\n".to_vec()),
            Just(b"%NAME%\na\n%VERSION%\n1\n%SIZE%\n".to_vec()),
            proptest::collection::vec(any::<u8>(), 0..16),
        ];
        let bytes = proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat());
        runner
            .run(&bytes, |b| {
                let _ = dpkg::parse_status(&b);
                let _ = dpkg::parse_list(&b);
                let _ = apk::parse_installed(&b);
                let mut files: BTreeMap<&[u8], &[u8]> = BTreeMap::new();
                files.insert(b"var/lib/pacman/local/a-1/desc", &b);
                files.insert(b"var/lib/pacman/local/a-1/files", &b);
                let _ = pacman::parse(&files);
                Ok(())
            })
            .unwrap();
    }

    #[test]
    fn helpers() {
        let l: Vec<&[u8]> = lines(b"a\r\nb\n\nc").collect();
        assert_eq!(l, [&b"a"[..], b"b", b"", b"c"]);
        assert_eq!(lines(b"").count(), 0);
        assert_eq!(lines(b"\n\n").count(), 2);
        assert_eq!(number(b"1024"), Some(1024));
        for bad in [&b""[..], b"-1", b"1 ", b"12345678901234567890", b"0x10"] {
            assert_eq!(number(bad), None, "{bad:?}");
        }
        assert_eq!(trim(b" \t x y \t"), b"x y");
        assert_eq!(trim(b"   "), b"");
        assert_eq!(shown(&[b'a'; 70]), format!("{}...", "a".repeat(60)));
    }
}
