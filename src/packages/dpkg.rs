//! dpkg's database: `var/lib/dpkg/status`, one stanza per package (`Field: value`
//! lines, continuation lines starting with a space or a tab, a blank line after each
//! stanza), and `var/lib/dpkg/info/NAME.list` (`NAME:ARCH.list` for `Multi-Arch: same`
//! packages), the paths each package installed, one per line (`/.`, `/usr`,
//! `/usr/bin/hello`).
//!
//! As dpkg reads them: field names are case-insensitive, a stanza without `Package`,
//! a line that is neither a field nor a continuation, a field given twice in one
//! stanza, and an `Installed-Size` that is no number make the database malformed
//! (dpkg refuses such a status file). A package listed twice keeps its last stanza.

use std::collections::{BTreeMap, HashSet};

use super::{Db, Package, Problem, lines, number, shown, trim};
use crate::entry::{Bytes, normalize_path};

/// The status file.
pub const STATUS: &str = "var/lib/dpkg/status";
/// Where the lists are.
const INFO: &[u8] = b"var/lib/dpkg/info/";

/// The package key a list file is for: `hello` for `var/lib/dpkg/info/hello.list`,
/// `libc6:amd64` for `...libc6:amd64.list`.
pub fn list_key(path: &[u8]) -> Option<&[u8]> {
    let name = path.strip_prefix(INFO)?.strip_suffix(b".list")?;
    (!name.is_empty() && !name.contains(&b'/')).then_some(name)
}

/// Whether `path` is the status file or a list.
pub fn is_file(path: &[u8]) -> bool {
    path == STATUS.as_bytes() || list_key(path).is_some()
}

/// The fields of one stanza rdiff reads, raw.
#[derive(Default)]
struct Stanza<'a> {
    package: Option<&'a [u8]>,
    version: Option<&'a [u8]>,
    architecture: Option<&'a [u8]>,
    status: Option<&'a [u8]>,
    installed_size: Option<&'a [u8]>,
    multi_arch: Option<&'a [u8]>,
    /// Line of its first field, for messages.
    line: usize,
    /// The names of its fields so far (a field given twice is an error): a set, since a
    /// stanza may have millions of fields (a list would make it quadratic), of the
    /// names as they are in the file (no copies), compared without case.
    seen: HashSet<FieldName<'a>>,
}

/// A field name, equal to another with the same letters in any case.
#[derive(Clone, Copy)]
struct FieldName<'a>(&'a [u8]);

impl PartialEq for FieldName<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(other.0)
    }
}

impl Eq for FieldName<'_> {}

impl std::hash::Hash for FieldName<'_> {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        h.write_usize(self.0.len());
        for c in self.0 {
            h.write_u8(c.to_ascii_lowercase());
        }
    }
}

fn problem(line: usize, what: String) -> Problem {
    Problem::new(STATUS, format!("line {line}: {what}"))
}

/// Parse the status file and the lists (by path; files that are neither are left
/// alone). Without a status file there is no database to compare.
pub fn parse(files: &BTreeMap<&[u8], &[u8]>) -> Result<Db, Problem> {
    let status = files
        .get(STATUS.as_bytes())
        .ok_or_else(|| Problem::new(STATUS, "not found".into()))?;
    let mut db = parse_status(status)?;
    for (path, bytes) in files {
        let Some(key) = list_key(path) else { continue };
        if let Some(p) = db.packages.get_mut(key) {
            p.files = parse_list(bytes);
        }
    }
    Ok(db)
}

/// The packages of a status file.
pub fn parse_status(bytes: &[u8]) -> Result<Db, Problem> {
    let mut db = Db::default();
    let mut st = Stanza::default();
    let mut in_field = false;
    for (i, line) in lines(bytes).enumerate() {
        let n = i + 1;
        if trim(line).is_empty() {
            end_stanza(&mut db, std::mem::take(&mut st))?;
            in_field = false;
            continue;
        }
        if matches!(line[0], b' ' | b'\t') {
            if !in_field {
                return Err(problem(n, "a continuation line outside any field".into()));
            }
            continue;
        }
        let Some(colon) = line.iter().position(|&c| c == b':') else {
            return Err(problem(n, format!("not a field: {}", shown(line))));
        };
        let (name, value) = (&line[..colon], trim(&line[colon + 1..]));
        if name.is_empty() || name.iter().any(|c| c.is_ascii_whitespace()) {
            return Err(problem(n, format!("not a field name: {}", shown(name))));
        }
        if !st.seen.insert(FieldName(name)) {
            return Err(problem(
                n,
                format!("the field {} is given twice", shown(name)),
            ));
        }
        if st.seen.len() == 1 {
            st.line = n;
        }
        let lower = name.to_ascii_lowercase();
        let slot = match &lower[..] {
            b"package" => &mut st.package,
            b"version" => &mut st.version,
            b"architecture" => &mut st.architecture,
            b"status" => &mut st.status,
            b"installed-size" => &mut st.installed_size,
            b"multi-arch" => &mut st.multi_arch,
            _ => &mut None,
        };
        *slot = Some(value);
        in_field = true;
    }
    end_stanza(&mut db, st)?;
    Ok(db)
}

/// Add a finished stanza (none if it has no field) to `db`.
fn end_stanza(db: &mut Db, st: Stanza<'_>) -> Result<(), Problem> {
    if st.seen.is_empty() {
        return Ok(());
    }
    let line = st.line;
    let name = st
        .package
        .filter(|p| !p.is_empty())
        .ok_or_else(|| problem(line, "a stanza without a Package field".into()))?;
    let installed_size = match st.installed_size {
        None => None,
        Some(v) => Some(number(v).and_then(|k| k.checked_mul(1024)).ok_or_else(|| {
            problem(
                line,
                format!(
                    "Installed-Size of {} is no number: {}",
                    shown(name),
                    shown(v)
                ),
            )
        })?),
    };
    // dpkg allows no `/` in a package or architecture name; rdiff names a package by
    // them (`packages/NAME`, `NAME:ARCH`), so one must not pass for another.
    for (what, v) in [
        ("a package name", Some(name)),
        ("an architecture", st.architecture),
    ] {
        if let Some(v) = v.filter(|v| v.contains(&b'/')) {
            return Err(problem(
                line,
                format!("{what} with a / in it: {}", shown(v)),
            ));
        }
    }
    let same = st
        .multi_arch
        .is_some_and(|m| m.eq_ignore_ascii_case(b"same"));
    let key: Bytes = match st.architecture {
        Some(a) if same && !a.is_empty() => [name, b":", a].concat().into(),
        _ => name.into(),
    };
    let own = |v: Option<&[u8]>| v.map(Bytes::from);
    db.packages.insert(
        key,
        Package {
            version: own(st.version),
            architecture: own(st.architecture),
            status: own(st.status),
            installed_size,
            files: Vec::new(),
        },
    );
    Ok(())
}

/// The paths of a list file, normalized (`/usr/bin/hello` -> `usr/bin/hello`, `/.` ->
/// `.`), blank lines left out.
pub fn parse_list(bytes: &[u8]) -> Vec<Bytes> {
    lines(bytes)
        .filter(|l| !l.is_empty())
        .map(normalize_path)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATUS_TEXT: &[u8] = b"Package: hello\n\
Status: install ok installed\n\
Installed-Size: 12\n\
Architecture: amd64\n\
Version: 1.0-1\n\
Description: says hello\n A tiny package.\n .\n More.\n\
\n\
Package: libc6\n\
Status: install ok installed\n\
Architecture: amd64\n\
Multi-Arch: same\n\
Version: 2.36-9\n\
\n\
package: libc6\n\
architecture: i386\n\
multi-arch: same\n\
version: 2.36-9\n\
\n\
Package: gone\n\
Status: deinstall ok config-files\n\
Version: 0.1\n";

    #[test]
    fn stanzas() {
        let db = parse_status(STATUS_TEXT).unwrap();
        let names: Vec<&[u8]> = db.packages.keys().map(|k| &k[..]).collect();
        assert_eq!(
            names,
            [&b"gone"[..], b"hello", b"libc6:amd64", b"libc6:i386"]
        );
        let h = &db.packages[&b"hello"[..]];
        assert_eq!(h.version.as_deref(), Some(&b"1.0-1"[..]));
        assert_eq!(h.architecture.as_deref(), Some(&b"amd64"[..]));
        assert_eq!(h.status.as_deref(), Some(&b"install ok installed"[..]));
        assert_eq!(h.installed_size, Some(12 * 1024));
        let g = &db.packages[&b"gone"[..]];
        assert_eq!(g.status.as_deref(), Some(&b"deinstall ok config-files"[..]));
        assert_eq!(g.architecture, None);
        assert_eq!(g.installed_size, None);
    }

    #[test]
    fn lists_join_their_packages() {
        let mut files: BTreeMap<&[u8], &[u8]> = BTreeMap::new();
        files.insert(STATUS.as_bytes(), STATUS_TEXT);
        files.insert(
            b"var/lib/dpkg/info/hello.list",
            b"/.\n/usr\n/usr/bin/hello\n",
        );
        files.insert(
            b"var/lib/dpkg/info/libc6:i386.list",
            b"/usr/lib/i386/libc.so.6",
        );
        files.insert(b"var/lib/dpkg/info/nobody.list", b"/etc/x\n");
        let db = parse(&files).unwrap();
        let h = &db.packages[&b"hello"[..]];
        let f: Vec<&[u8]> = h.files.iter().map(|p| &p[..]).collect();
        assert_eq!(f, [&b"."[..], b"usr", b"usr/bin/hello"]);
        assert_eq!(
            db.packages[&b"libc6:i386"[..]].files,
            vec![Bytes::from(&b"usr/lib/i386/libc.so.6"[..])]
        );
        assert!(db.packages[&b"libc6:amd64"[..]].files.is_empty());
        assert!(!db.packages.contains_key(&b"nobody"[..]));
        assert_eq!(
            list_key(b"var/lib/dpkg/info/libc6:amd64.list"),
            Some(&b"libc6:amd64"[..])
        );
    }

    #[test]
    fn malformed() {
        let cases: &[(&[u8], &str)] = &[
            (
                b"Package: a\nno colon here\n",
                "line 2: not a field: no colon here",
            ),
            (
                b" continued\n",
                "line 1: a continuation line outside any field",
            ),
            (
                b"Version: 1\n\nPackage: b\n",
                "line 1: a stanza without a Package field",
            ),
            (
                b"Package: a\nVersion: 1\nversion: 2\n",
                "line 3: the field version is given twice",
            ),
            (
                b"Package: a\nInstalled-Size: 12k\n",
                "line 1: Installed-Size of a is no number: 12k",
            ),
            (
                b"Package: a\nInstalled-Size: 99999999999999999\n",
                "line 1: Installed-Size of a is no number: 99999999999999999",
            ),
            (b"Package: a\n: empty name\n", "line 2: not a field name: "),
            (b"Package:\n", "line 1: a stanza without a Package field"),
            (
                b"Package: decoy/hello\nVersion: 2\n",
                "line 1: a package name with a / in it: decoy/hello",
            ),
            (
                b"Package: a\nArchitecture: x/hello\nMulti-Arch: same\n",
                "line 1: an architecture with a / in it: x/hello",
            ),
        ];
        for (text, want) in cases {
            let e = parse_status(text).unwrap_err();
            assert_eq!(e.message, *want, "{}", String::from_utf8_lossy(text));
            assert_eq!(&e.path[..], STATUS.as_bytes());
        }
        let files: BTreeMap<&[u8], &[u8]> = BTreeMap::new();
        assert_eq!(parse(&files).unwrap_err().message, "not found");
    }

    #[test]
    fn odd_but_accepted() {
        // CRLF line ends, blank lines with spaces, no final newline, a repeated
        // package (the last stanza wins), bytes that are not UTF-8.
        let db = parse_status(
            b"Package: a\r\nVersion: 1\r\n  \r\nPackage: a\nVersion: 2\n\n\n\nPackage: \xff\nVersion: \xfe",
        )
        .unwrap();
        assert_eq!(db.packages.len(), 2);
        assert_eq!(db.packages[&b"a"[..]].version.as_deref(), Some(&b"2"[..]));
        assert_eq!(
            db.packages[&b"\xff"[..]].version.as_deref(),
            Some(&b"\xfe"[..])
        );
        assert_eq!(parse_status(b"").unwrap(), Db::default());
    }
}
