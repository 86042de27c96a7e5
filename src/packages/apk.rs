//! apk's database: `lib/apk/db/installed`, one block of `X:value` lines per package and
//! a blank line after each: `P:` name, `V:` version, `A:` architecture, `I:` installed
//! size in bytes, `F:` a directory (its own and the files after it), `R:` a file in the
//! last `F:` directory; other letters (`C:`, `S:`, `T:`, `a:`, `Z:`, ...) are left
//! alone.
//!
//! As apk reads it: a line that is not one letter and a colon, a block without `P:`,
//! and an `I:` that is no number make the database malformed. A package listed twice
//! keeps its last block.

use std::collections::BTreeMap;

use super::{Db, Package, Problem, lines, number, shown};
use crate::entry::{Bytes, normalize_path};

/// The database file.
pub const INSTALLED: &str = "lib/apk/db/installed";

fn problem(line: usize, what: String) -> Problem {
    Problem::new(INSTALLED, format!("line {line}: {what}"))
}

/// One block being read.
#[derive(Default)]
struct Block {
    name: Option<Bytes>,
    package: Package,
    dir: Option<Bytes>,
    /// Line of its first field, for messages.
    line: usize,
}

/// Parse the installed database (the file at [`INSTALLED`] in `files`).
pub fn parse(files: &BTreeMap<&[u8], &[u8]>) -> Result<Db, Problem> {
    let bytes = files
        .get(INSTALLED.as_bytes())
        .ok_or_else(|| Problem::new(INSTALLED, "not found".into()))?;
    parse_installed(bytes)
}

/// The packages of an installed database.
pub fn parse_installed(bytes: &[u8]) -> Result<Db, Problem> {
    let mut db = Db::default();
    let mut b: Option<Block> = None;
    for (i, line) in lines(bytes).enumerate() {
        let n = i + 1;
        if line.is_empty() {
            end_block(&mut db, b.take())?;
            continue;
        }
        if line.len() < 2 || line[1] != b':' || !line[0].is_ascii_alphabetic() {
            return Err(problem(n, format!("not a field line: {}", shown(line))));
        }
        let block = b.get_or_insert_with(|| Block {
            line: n,
            ..Block::default()
        });
        let value = &line[2..];
        let p = &mut block.package;
        match line[0] {
            b'P' => block.name = Some(value.into()),
            b'V' => p.version = Some(value.into()),
            b'A' => p.architecture = Some(value.into()),
            b'I' => {
                let size = number(value).ok_or_else(|| {
                    problem(n, format!("installed size is no number: {}", shown(value)))
                })?;
                p.installed_size = Some(size);
            }
            b'F' => {
                let dir = normalize_path(value);
                p.files.push(dir.clone());
                block.dir = Some(dir);
            }
            b'R' => {
                let path = match block.dir.as_deref() {
                    Some(d) if d != b"." => [d, b"/", value].concat(),
                    _ => value.to_vec(),
                };
                p.files.push(normalize_path(&path));
            }
            _ => {}
        }
    }
    end_block(&mut db, b)?;
    Ok(db)
}

fn end_block(db: &mut Db, b: Option<Block>) -> Result<(), Problem> {
    let Some(b) = b else { return Ok(()) };
    let name = b
        .name
        .filter(|n| !n.is_empty())
        .ok_or_else(|| problem(b.line, "a package without a P: line".into()))?;
    // apk allows no `/` in a name (rdiff names a package `packages/NAME`).
    if name.contains(&b'/') {
        return Err(problem(
            b.line,
            format!("a package name with a / in it: {}", shown(&name)),
        ));
    }
    db.packages.insert(name, b.package);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks() {
        let db = parse_installed(
            b"C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\nS:100\nI:651264\nF:lib\nR:ld-musl.so.1\na:0:0:755\n\
Z:Q1xyz=\n\nP:busybox\nV:1.36.1-r5\nF:bin\nR:busybox\nF:etc\nR:motd\nR:issue\n\n",
        )
        .unwrap();
        let m = &db.packages[&b"musl"[..]];
        assert_eq!(m.version.as_deref(), Some(&b"1.2.4-r2"[..]));
        assert_eq!(m.architecture.as_deref(), Some(&b"x86_64"[..]));
        assert_eq!(m.installed_size, Some(651264));
        assert_eq!(m.status, None);
        let f: Vec<&[u8]> = m.files.iter().map(|p| &p[..]).collect();
        assert_eq!(f, [&b"lib"[..], b"lib/ld-musl.so.1"]);
        let f: Vec<&[u8]> = db.packages[&b"busybox"[..]]
            .files
            .iter()
            .map(|p| &p[..])
            .collect();
        assert_eq!(
            f,
            [
                &b"bin"[..],
                b"bin/busybox",
                b"etc",
                b"etc/motd",
                b"etc/issue"
            ]
        );
    }

    #[test]
    fn malformed() {
        let cases: &[(&[u8], &str)] = &[
            (
                b"P:a\nnot a field\n",
                "line 2: not a field line: not a field",
            ),
            (b"P:a\n:x\n", "line 2: not a field line: :x"),
            (
                b"V:1\nA:x86_64\n\nP:b\n",
                "line 1: a package without a P: line",
            ),
            (
                b"P:a\nI:many\n",
                "line 2: installed size is no number: many",
            ),
            (b"P:\n", "line 1: a package without a P: line"),
        ];
        for (text, want) in cases {
            assert_eq!(
                parse_installed(text).unwrap_err().message,
                *want,
                "{}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn odd_but_accepted() {
        // A file before any directory, no final blank line, the same package twice.
        let db = parse_installed(b"P:a\nV:1\nR:top\n\nP:a\nV:2\nR:top").unwrap();
        let a = &db.packages[&b"a"[..]];
        assert_eq!(a.version.as_deref(), Some(&b"2"[..]));
        assert_eq!(a.files, vec![Bytes::from(&b"top"[..])]);
    }
}
