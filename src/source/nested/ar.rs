//! An ar archive inside a file (a `.deb`, a static library): `!<arch>\n`, then per
//! member a 60-byte header of decimal and octal text fields (name, mtime, uid, gid,
//! mode, size, `` `\n ``) and the data, padded to an even offset. GNU long names (`//`
//! table, `/N` references, names ending in `/`) and BSD ones (`#1/N`, the name at the
//! start of the data) are read. Written here rather than taken from the `ar` crate:
//! the format is this paragraph, and the members are byte ranges of data already in
//! memory (see docs/design.md).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Format, Members, Opened, Problem, members_set};
use crate::entry::{Entry, Kind, Timestamp};

const MAGIC: &[u8] = b"!<arch>\n";
const HEADER: usize = 60;

fn bad(at: usize, what: &str) -> Problem {
    Problem::Malformed(format!("ar: {what} (byte {at})"))
}

/// A decimal or octal header field: digits, then spaces.
fn number(field: &[u8], radix: u32, at: usize, what: &str) -> Result<u64, Problem> {
    let text = std::str::from_utf8(field)
        .map_err(|_| bad(at, what))?
        .trim_end();
    if text.is_empty() {
        return Ok(0);
    }
    u64::from_str_radix(text, radix).map_err(|_| bad(at, what))
}

/// Open an ar archive held in memory: members are ranges of it.
pub fn open(data: Arc<[u8]>, prefix: &[u8]) -> Result<Opened, Problem> {
    if !data.starts_with(MAGIC) {
        return Err(bad(0, "no ar magic"));
    }
    let mut at = MAGIC.len();
    let mut long_names: &[u8] = &[];
    let mut entries = Vec::new();
    let mut ranges = BTreeMap::new();
    // Every member's header and data, by name: a name given twice keeps the last member
    // as the entry (as extraction does), and the ones before it count in a header field.
    let mut seen: BTreeMap<Vec<u8>, Vec<std::ops::Range<usize>>> = BTreeMap::new();
    while at < data.len() {
        let h = data
            .get(at..at + HEADER)
            .ok_or_else(|| bad(at, "truncated header"))?;
        if &h[58..60] != b"`\n" {
            return Err(bad(at, "bad header end"));
        }
        let size = number(&h[48..58], 10, at, "bad size")? as usize;
        let start = at + HEADER;
        let end = start.checked_add(size).filter(|&e| e <= data.len());
        let end = end.ok_or_else(|| bad(at, "member past the end"))?;
        let raw = &h[..16];
        if raw.starts_with(b"// ") || raw == b"//              " {
            long_names = &data[start..end];
            at = end + (end & 1);
            continue;
        }
        let (name, skip) = member_name(raw, long_names, &data[start..end], at)?;
        seen.entry(name.clone()).or_default().push(at..end);
        let mut e = Entry::new([prefix, &name].concat().into(), Kind::File);
        e.mtime = Some(Timestamp::from_secs(
            number(&h[16..28], 10, at, "bad mtime")? as i64,
        ));
        e.uid = number(&h[28..34], 10, at, "bad uid")?;
        e.gid = number(&h[34..40], 10, at, "bad gid")?;
        e.mode = number(&h[40..48], 8, at, "bad mode")? as u32;
        e.size = (size - skip) as u64;
        e.order = Some(entries.len() as u32);
        e.digest = Some(crate::source::hash::sha256(&data[start + skip..end]));
        ranges.insert(e.path.clone(), start + skip..end);
        entries.push(e);
        at = end + (end & 1);
    }
    Ok(Opened {
        format: Format::Ar,
        header: super::headed("ar", duplicates(&data, &seen)),
        set: members_set(entries),
        fields: BTreeMap::new(),
        views: BTreeMap::new(),
        data,
        how: Members::Ranges(ranges),
    })
}

/// `ar.duplicates` when a name is given to more than one member: for each such name,
/// how many members came before the last and a digest of their owners, modes and data. A
/// linker reads every member of a static library, whatever its name, so the earlier
/// ones must not differ unseen.
fn duplicates(
    data: &[u8],
    seen: &BTreeMap<Vec<u8>, Vec<std::ops::Range<usize>>>,
) -> Vec<(&'static str, String)> {
    use sha2::{Digest as _, Sha256};
    let dups: Vec<String> = seen
        .iter()
        .filter(|(_, at)| at.len() > 1)
        .map(|(name, at)| {
            let mut h = Sha256::new();
            // Owner, mode, size and data (the mtime is the member's own field's business,
            // and a rule may hide times).
            for r in &at[..at.len() - 1] {
                h.update(((r.end - r.start) as u64).to_le_bytes());
                h.update(&data[r.start + 28..r.end]);
            }
            format!(
                "{}: {} before the last (sha256:{})",
                crate::entry::display_bytes(name),
                at.len() - 1,
                crate::report::hex(&h.finalize())
            )
        })
        .collect();
    match dups.is_empty() {
        true => Vec::new(),
        false => vec![("duplicates", dups.join("; "))],
    }
}

/// A member's name from its header field (and the long-name table, or for BSD long
/// names the start of its data, whose length is returned to skip).
fn member_name(
    raw: &[u8],
    long_names: &[u8],
    data: &[u8],
    at: usize,
) -> Result<(Vec<u8>, usize), Problem> {
    let trimmed = {
        let end = raw.iter().rposition(|&b| b != b' ').map_or(0, |i| i + 1);
        &raw[..end]
    };
    if let Some(n) = trimmed.strip_prefix(b"#1/") {
        let len = number(n, 10, at, "bad BSD name length")? as usize;
        let name = data
            .get(..len)
            .ok_or_else(|| bad(at, "BSD name past the member"))?;
        let name = name.split(|&b| b == 0).next().unwrap_or_default();
        return Ok((name.to_vec(), len));
    }
    if trimmed.len() > 1 && trimmed[0] == b'/' && trimmed[1..].iter().all(u8::is_ascii_digit) {
        let off = number(&trimmed[1..], 10, at, "bad long name offset")? as usize;
        let rest = long_names
            .get(off..)
            .ok_or_else(|| bad(at, "long name past the table"))?;
        let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let name = &rest[..end];
        return Ok((name.strip_suffix(b"/").unwrap_or(name).to_vec(), 0));
    }
    if trimmed == b"/" || trimmed == b"/SYM64/" {
        // The GNU symbol table: a member like any other, under its own name.
        return Ok((trimmed.to_vec(), 0));
    }
    Ok((trimmed.strip_suffix(b"/").unwrap_or(trimmed).to_vec(), 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(name: &str, mtime: u64, size: usize) -> Vec<u8> {
        let h = format!(
            "{name:<16}{mtime:<12}{:<6}{:<6}{:<8}{size:<10}`\n",
            0, 0, "100644"
        );
        assert_eq!(h.len(), 60);
        h.into_bytes()
    }

    #[test]
    fn reads_members_with_padding_and_long_names() {
        let mut a = MAGIC.to_vec();
        a.extend(header("debian-binary", 1_700_000_000, 4));
        a.extend(b"2.0\n");
        let table = b"a-very-long-member-name.txt/\n";
        a.extend(header("//", 0, table.len()));
        a.extend(table);
        a.push(b'\n');
        a.extend(header("/0", 5, 3));
        a.extend(b"abc\n");
        let o = open(a.into(), b"x.deb!/").unwrap();
        let paths: Vec<&[u8]> = o.set.entries.iter().map(|e| &*e.path).collect();
        assert_eq!(
            paths,
            [
                &b"x.deb!/a-very-long-member-name.txt"[..],
                b"x.deb!/debian-binary"
            ]
        );
        assert_eq!(o.set.entries[1].mode, 0o100644);
        assert_eq!(o.set.entries[0].size, 3);
        assert_eq!(o.set.entries[0].order, Some(1));
    }

    #[test]
    fn truncated_is_malformed() {
        let mut a = MAGIC.to_vec();
        a.extend(header("x", 0, 10));
        a.extend(b"abc");
        assert!(matches!(open(a.into(), b""), Err(Problem::Malformed(_))));
    }
}
