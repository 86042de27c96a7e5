//! pacman's local database: a directory `var/lib/pacman/local/NAME-VERSION/` per
//! package, with `desc` (sections: a `%NAME%` line, then its values one per line, then
//! a blank line) and `files` (`%FILES%`: the paths it owns, directories with a trailing
//! `/`). rdiff reads `%NAME%`, `%VERSION%`, `%ARCH%`, `%SIZE%` (bytes) and `%FILES%`;
//! other sections and lines outside a section are left alone, as pacman does.
//!
//! As pacman reads it: a `desc` without `%NAME%` or `%VERSION%`, one whose name and
//! version do not make its directory's name ("database is inconsistent"), and a
//! `%SIZE%` that is no number make the database malformed.

use std::collections::BTreeMap;

use super::{Db, Package, Problem, lines, number, shown};
use crate::entry::{Bytes, display_bytes, normalize_path};

/// The directory of the package entries.
pub const LOCAL: &str = "var/lib/pacman/local";

/// `(entry directory, file name)` of a `desc` or `files` path.
fn split(path: &[u8]) -> Option<(&[u8], &[u8])> {
    let rest = path.strip_prefix(LOCAL.as_bytes())?.strip_prefix(b"/")?;
    let slash = rest.iter().position(|&c| c == b'/')?;
    let (dir, file) = (&rest[..slash], &rest[slash + 1..]);
    (!dir.is_empty() && (file == b"desc" || file == b"files")).then_some((dir, file))
}

/// Whether `path` is a package entry's `desc` or `files`.
pub fn is_file(path: &[u8]) -> bool {
    split(path).is_some()
}

/// The sections of a `desc` or `files`: `%NAME%` -> its lines.
fn sections(bytes: &[u8]) -> BTreeMap<&[u8], Vec<&[u8]>> {
    let mut out: BTreeMap<&[u8], Vec<&[u8]>> = BTreeMap::new();
    let mut current: Option<&[u8]> = None;
    for line in lines(bytes) {
        if line.is_empty() {
            current = None;
        } else if line.len() > 2 && line.starts_with(b"%") && line.ends_with(b"%") {
            current = Some(line);
            out.entry(line).or_default();
        } else if let Some(c) = current {
            out.entry(c).or_default().push(line);
        }
    }
    out
}

/// Parse every entry that has a `desc` (its `files`, if any, give the paths).
pub fn parse(files: &BTreeMap<&[u8], &[u8]>) -> Result<Db, Problem> {
    let mut entries: BTreeMap<&[u8], [Option<&[u8]>; 2]> = BTreeMap::new();
    for (path, bytes) in files {
        if let Some((dir, file)) = split(path) {
            entries.entry(dir).or_default()[usize::from(file == b"files")] = Some(bytes);
        }
    }
    let mut db = Db::default();
    for (dir, [desc, list]) in entries {
        let Some(desc) = desc else { continue };
        let at = |f: &str| format!("{LOCAL}/{}/{f}", display_bytes(dir));
        let bad = |what: String| Problem {
            path: at("desc").into_bytes().into(),
            message: what,
        };
        let s = sections(desc);
        let one = |k: &[u8]| s.get(k).and_then(|v| v.first().copied());
        let name = one(b"%NAME%").ok_or_else(|| bad("no %NAME%".into()))?;
        let version = one(b"%VERSION%").ok_or_else(|| bad("no %VERSION%".into()))?;
        if dir != [name, b"-", version].concat() {
            return Err(bad(format!(
                "name {} and version {} do not name the directory {}",
                shown(name),
                shown(version),
                shown(dir)
            )));
        }
        let installed_size = match one(b"%SIZE%") {
            None => None,
            Some(v) => {
                Some(number(v).ok_or_else(|| bad(format!("%SIZE% is no number: {}", shown(v))))?)
            }
        };
        let files = list
            .map(|b| {
                sections(b)
                    .get(&b"%FILES%"[..])
                    .map(|v| v.iter().map(|p| normalize_path(p)).collect())
                    .unwrap_or_default()
            })
            .unwrap_or_default();
        db.packages.insert(
            Bytes::from(name),
            Package {
                version: Some(version.into()),
                architecture: one(b"%ARCH%").map(Bytes::from),
                status: None,
                installed_size,
                files,
            },
        );
    }
    Ok(db)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(entries: &[(&str, &str, Option<&str>)]) -> Result<Db, Problem> {
        let paths: Vec<(String, String, Option<String>)> = entries
            .iter()
            .map(|(d, desc, files)| {
                (
                    format!("{LOCAL}/{d}/desc"),
                    desc.to_string(),
                    files.map(|f| f.to_string()),
                )
            })
            .collect();
        let lists: Vec<(String, &str)> = paths
            .iter()
            .filter_map(|(p, _, f)| f.as_deref().map(|f| (p.replace("/desc", "/files"), f)))
            .collect();
        let mut files: BTreeMap<&[u8], &[u8]> = BTreeMap::new();
        for (p, d, _) in &paths {
            files.insert(p.as_bytes(), d.as_bytes());
        }
        for (p, f) in &lists {
            files.insert(p.as_bytes(), f.as_bytes());
        }
        files.insert(b"var/lib/pacman/local/ALPM_DB_VERSION", b"9\n");
        parse(&files)
    }

    const DESC: &str = "%NAME%\nhello\n\n%VERSION%\n1.0-1\n\n%DESC%\nsays hello\n\n\
%ARCH%\nx86_64\n\n%SIZE%\n12288\n\n%LICENSE%\nMIT\nGPL\n\n";

    #[test]
    fn entries() {
        let d = db(&[(
            "hello-1.0-1",
            DESC,
            Some("%FILES%\nusr/\nusr/bin/\nusr/bin/hello\n\n%BACKUP%\netc/x\tabc\n\n"),
        )])
        .unwrap();
        let h = &d.packages[&b"hello"[..]];
        assert_eq!(h.version.as_deref(), Some(&b"1.0-1"[..]));
        assert_eq!(h.architecture.as_deref(), Some(&b"x86_64"[..]));
        assert_eq!(h.installed_size, Some(12288));
        let f: Vec<&[u8]> = h.files.iter().map(|p| &p[..]).collect();
        assert_eq!(f, [&b"usr"[..], b"usr/bin", b"usr/bin/hello"]);
        // A desc without files: no paths.
        let d = db(&[("hello-1.0-1", DESC, None)]).unwrap();
        assert!(d.packages[&b"hello"[..]].files.is_empty());
    }

    #[test]
    fn malformed() {
        let cases = [
            ("hello-1.0-1", "%VERSION%\n1.0-1\n", "no %NAME%"),
            ("hello-1.0-1", "%NAME%\nhello\n", "no %VERSION%"),
            (
                "hello-1.0-2",
                "%NAME%\nhello\n\n%VERSION%\n1.0-1\n",
                "name hello and version 1.0-1 do not name the directory hello-1.0-2",
            ),
            (
                "hello-1.0-1",
                "%NAME%\nhello\n\n%VERSION%\n1.0-1\n\n%SIZE%\nbig\n",
                "%SIZE% is no number: big",
            ),
        ];
        for (dir, desc, want) in cases {
            let e = db(&[(dir, desc, None)]).unwrap_err();
            assert_eq!(e.message, want);
            assert_eq!(
                display_bytes(&e.path),
                format!("var/lib/pacman/local/{dir}/desc")
            );
        }
    }

    #[test]
    fn paths() {
        assert!(is_file(b"var/lib/pacman/local/a-1-1/desc"));
        assert!(is_file(b"var/lib/pacman/local/a-1-1/files"));
        assert!(!is_file(b"var/lib/pacman/local/a-1-1/mtree"));
        assert!(!is_file(b"var/lib/pacman/local/desc"));
        assert!(!is_file(b"var/lib/pacman/local//desc"));
        assert!(!is_file(b"var/lib/pacman/local/a/b/desc"));
    }
}
