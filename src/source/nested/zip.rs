//! A zip archive inside a file (jar, whl, apk, epub, ...), read with the `zip` crate:
//! each member an entry (path, type, mode, DOS time as `mtime`, size, content, order,
//! the Info-ZIP `ux` uid and gid), with what only a zip has as member fields:
//! `zip.method`, `zip.comment`, `zip.made_by`, `zip.extra.0xID` (the extended
//! timestamp `0x5455` decoded). The archive comment is the header field `zip.comment`.

use std::collections::BTreeMap;
use std::io::{Cursor, Read};
use std::sync::Arc;

use ::zip::ZipArchive;

use super::{Budget, Format, MemberField, Members, Opened, Problem, members_set};
use crate::entry::{Bytes, Entry, Kind, Timestamp, normalize_path};

fn bad(e: impl std::fmt::Display) -> Problem {
    Problem::Malformed(e.to_string())
}

/// Open a zip held in memory: every member inflated once to be hashed, within the
/// budget.
pub fn open(data: Arc<[u8]>, prefix: &[u8], budget: &mut Budget) -> Result<Opened, Problem> {
    let mut z = ZipArchive::new(Cursor::new(&data[..])).map_err(bad)?;
    // The reader keeps one record per name: the others would be compared as nothing.
    if z.has_duplicate_names() {
        return Err(bad("a member name appears twice in the central directory"));
    }
    let mut entries = Vec::with_capacity(z.len());
    let mut fields = BTreeMap::new();
    let mut index = BTreeMap::new();
    for i in 0..z.len() {
        let mut f = z.by_index(i).map_err(bad)?;
        let path: Bytes = [prefix, &normalize_path(f.name_raw())].concat().into();
        // The extra fields as the central directory holds them: the reader's own
        // `extra_data` writes again what it parsed, which leaves out bytes it does not
        // know (after an extended timestamp's times, for one).
        let extra = central_extra(&data, f.central_header_start())
            .map(<[u8]>::to_vec)
            .or_else(|| f.extra_data())
            .unwrap_or_default();
        let (mut e, own) = member(&f, path.clone(), &extra);
        e.order = Some(i as u32);
        if e.kind == Kind::File {
            e.digest = Some(hash(&mut f, e.size, budget)?);
        } else if e.kind == Kind::Symlink {
            // Whole or not at all: a target cut short would compare as another one.
            if !budget.take(e.size) {
                return Err(over(budget));
            }
            let mut target = Vec::new();
            (&mut f)
                .take(e.size)
                .read_to_end(&mut target)
                .map_err(bad)?;
            if target.len() as u64 != e.size {
                return Err(bad(format!(
                    "a symlink's target is {} bytes, not the {} recorded",
                    target.len(),
                    e.size
                )));
            }
            e.link_target = Some(target.into());
        }
        fields.insert(path.clone(), own);
        index.insert(path, i);
        entries.push(e);
    }
    let comment = String::from_utf8_lossy(z.comment()).into_owned();
    Ok(Opened {
        format: Format::Zip,
        header: vec![("zip", "comment".into(), comment)],
        set: members_set(entries),
        fields,
        views: Default::default(),
        data,
        how: Members::Zip(index),
    })
}

/// The entry a member's central directory record describes, and its zip-only fields.
fn member<R: Read>(
    f: &::zip::read::ZipFile<'_, R>,
    path: Bytes,
    extra: &[u8],
) -> (Entry, Vec<MemberField>) {
    let mode = f.unix_mode();
    let kind = if f.is_dir() {
        Kind::Dir
    } else if mode.is_some_and(|m| m & 0o170_000 == 0o120_000) {
        Kind::Symlink
    } else {
        Kind::File
    };
    let mut e = Entry::new(path, kind);
    e.mode = mode.unwrap_or(0);
    e.size = if kind == Kind::Dir { 0 } else { f.size() };
    e.mtime = f.last_modified().map(|t| {
        let days = days_from_civil(t.year().into(), t.month().into(), t.day().into());
        let secs = i64::from(t.hour()) * 3600 + i64::from(t.minute()) * 60 + i64::from(t.second());
        Timestamp::from_secs(days * 86_400 + secs)
    });
    let (made, minor) = f.version_made_by();
    let mut own: Vec<MemberField> = vec![
        ("zip", "method".into(), f.compression().to_string()),
        (
            "zip",
            "comment".into(),
            String::from_utf8_lossy(f.comment_raw()).into_owned(),
        ),
        (
            "zip",
            "made_by".into(),
            format!("{:?} {made}.{minor}", f.system()),
        ),
    ];
    for (id, body) in extra_fields(extra) {
        if id == 0x7875
            && let Some((uid, gid)) = info_zip_ids(body)
        {
            (e.uid, e.gid) = (uid, gid);
            continue;
        }
        // An extended timestamp with bytes its flags do not account for is no timestamp
        // only: under a key of its own, which the timestamp rule does not hide.
        let key = match id == 0x5455 && !is_timestamp(body) {
            true => "extra.0x5455.raw".to_string(),
            false => format!("extra.0x{id:04x}"),
        };
        own.push(("zip", key, extra_text(id, body)));
    }
    (e, own)
}

/// The extra field of the central directory record at `at`, as its bytes are.
fn central_extra(data: &[u8], at: u64) -> Option<&[u8]> {
    let at = usize::try_from(at).ok()?;
    let h = data.get(at..at.checked_add(46)?)?;
    if h[..4] != *b"PK\x01\x02" {
        return None;
    }
    let name = usize::from(u16::from_le_bytes([h[28], h[29]]));
    let len = usize::from(u16::from_le_bytes([h[30], h[31]]));
    let start = at + 46 + name;
    data.get(start..start + len)
}

/// Whether an extended timestamp's body (0x5455) is its flags and times only: flags
/// for mtime, atime and ctime alone, then one to as many times as they name (the
/// central directory's copy holds the mtime only).
fn is_timestamp(body: &[u8]) -> bool {
    let Some((&flags, rest)) = body.split_first() else {
        return false;
    };
    let named = (flags & 7).count_ones() as usize;
    flags & !7 == 0 && rest.len() % 4 == 0 && (1..=named).contains(&(rest.len() / 4))
}

/// An extra field's value: the extended timestamp's times, else the id and the bytes
/// in hex.
fn extra_text(id: u16, body: &[u8]) -> String {
    if id == 0x5455
        && is_timestamp(body)
        && let Some((&flags, rest)) = body.split_first()
    {
        let mut parts = Vec::new();
        for (bit, name) in [(1u8, "mtime"), (2, "atime"), (4, "ctime")] {
            if flags & bit != 0
                && let Some(t) = rest.get(parts.len() * 4..parts.len() * 4 + 4)
            {
                let secs = u32::from_le_bytes(t.try_into().expect("4 bytes"));
                parts.push(format!("{name} {}", Timestamp::from_secs(secs.into())));
            }
        }
        if !parts.is_empty() {
            return parts.join(", ");
        }
    }
    format!("0x{id:04x}: {}", crate::report::hex(body))
}

/// The (id, body) of each extra field, as far as they parse.
fn extra_fields(mut b: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while b.len() >= 4 {
        let id = u16::from_le_bytes([b[0], b[1]]);
        let len = usize::from(u16::from_le_bytes([b[2], b[3]]));
        let Some(body) = b.get(4..4 + len) else { break };
        out.push((id, body));
        b = &b[4 + len..];
    }
    out
}

/// Info-ZIP's `ux` field (0x7875): version 1, then uid and gid, each with its size.
fn info_zip_ids(b: &[u8]) -> Option<(u64, u64)> {
    let num = |x: &[u8]| x.iter().rev().fold(0u64, |n, &d| n << 8 | u64::from(d));
    if *b.first()? != 1 {
        return None;
    }
    let ul = usize::from(*b.get(1)?);
    let uid = b.get(2..2 + ul).filter(|_| ul <= 8)?;
    let gl = usize::from(*b.get(2 + ul)?);
    let gid = b.get(3 + ul..3 + ul + gl).filter(|_| gl <= 8)?;
    Some((num(uid), num(gid)))
}

/// Inflate a member whole, within the budget, and give its SHA-256.
fn hash(
    f: &mut impl Read,
    size: u64,
    budget: &mut Budget,
) -> Result<crate::entry::Digest, Problem> {
    let mut h = crate::source::hash::ContentHasher::new(0, None);
    let mut buf = vec![0u8; 64 << 10];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(bad)?;
        if n == 0 {
            break;
        }
        if !budget.take(n as u64) {
            return Err(over(budget));
        }
        total += n as u64;
        h.update(&buf[..n]);
    }
    if total != size {
        return Err(bad(format!(
            "a member inflates to {total} bytes, not the {size} recorded"
        )));
    }
    Ok(h.finish().sha)
}

fn over(budget: &Budget) -> Problem {
    Problem::Cut(format!(
        "its members inflate to more than the {} bytes left",
        budget.left()
    ))
}

/// Members inflated again, by path (the budget was paid for them by the caller).
pub fn contents(
    data: &[u8],
    index: &BTreeMap<Bytes, usize>,
    wanted: &[&Entry],
) -> Result<BTreeMap<Bytes, Arc<[u8]>>, Problem> {
    let mut z = ZipArchive::new(Cursor::new(data)).map_err(bad)?;
    let mut out = BTreeMap::new();
    for e in wanted {
        let Some(&i) = index.get(&e.path) else {
            continue;
        };
        let mut f = z.by_index(i).map_err(bad)?;
        let mut v = Vec::with_capacity(e.size.min(1 << 24) as usize);
        (&mut f).take(e.size).read_to_end(&mut v).map_err(bad)?;
        if Some(crate::source::hash::sha256(&v)) == e.digest {
            out.insert(e.path.clone(), Arc::from(v));
        }
    }
    Ok(out)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2023, 11, 14), 19_675);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
    }

    #[test]
    fn extra_fields_are_split_and_decoded() {
        let mut b = vec![0x55, 0x54, 5, 0, 1];
        b.extend(1_700_000_000u32.to_le_bytes());
        b.extend([0x75, 0x78, 11, 0, 1, 4, 0xe8, 3, 0, 0, 4, 0xe8, 3, 0, 0]);
        let f = extra_fields(&b);
        assert_eq!(f.len(), 2);
        assert_eq!(extra_text(f[0].0, f[0].1), "mtime 2023-11-14T22:13:20Z");
        assert_eq!(info_zip_ids(f[1].1), Some((1000, 1000)));
    }
}
