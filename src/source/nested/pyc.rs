//! A Python bytecode file (`.pyc`, Python 3.7 and later, PEP 552): a 16-byte header,
//! then the marshalled code object. The header's words are header fields (`pyc.magic`,
//! `pyc.flags`, then `pyc.mtime` and `pyc.source_size` for a timestamp-based pyc, or
//! `pyc.hash` for a hash-based one); the code is one member, `x.pyc!/code`.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Format, Members, Opened, Problem, members_set};
use crate::entry::{Entry, Kind, Timestamp};

const HEADER: usize = 16;

fn word(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

/// Whether bytes start like a pyc of Python 3.7 or later: a magic number of Python 3
/// followed by `\r\n`, and flags PEP 552 defines.
pub fn is_pyc(b: &[u8]) -> bool {
    b.len() >= HEADER
        && &b[2..4] == b"\r\n"
        && (3390..4000).contains(&u16::from_le_bytes([b[0], b[1]]))
        && word(b, 4) <= 3
}

/// The Python version a magic number belongs to (the first of each release).
fn version(magic: u16) -> Option<&'static str> {
    const RELEASES: &[(u16, &str)] = &[
        (3394, "3.7"),
        (3413, "3.8"),
        (3425, "3.9"),
        (3439, "3.10"),
        (3495, "3.11"),
        (3531, "3.12"),
        (3571, "3.13"),
        (3600, "3.14"),
    ];
    RELEASES
        .iter()
        .rev()
        .find(|(m, _)| magic >= *m)
        .map(|(_, v)| *v)
}

/// Open a pyc held in memory.
pub fn open(data: Arc<[u8]>, prefix: &[u8]) -> Result<Opened, Problem> {
    if !is_pyc(&data) {
        return Err(Problem::Malformed("no pyc header".into()));
    }
    let magic = u16::from_le_bytes([data[0], data[1]]);
    let flags = word(&data, 4);
    let mut header = vec![
        (
            "magic",
            match version(magic) {
                Some(v) => format!("{magic} (Python {v})"),
                None => magic.to_string(),
            },
        ),
        (
            "flags",
            match flags {
                0 => "0 (timestamp)".to_string(),
                1 => "1 (hash, unchecked)".to_string(),
                3 => "3 (hash, checked)".to_string(),
                f => f.to_string(),
            },
        ),
    ];
    if flags & 1 == 0 {
        let mtime = Timestamp::from_secs(word(&data, 8).into());
        header.push(("mtime", mtime.to_string()));
        header.push(("source_size", word(&data, 12).to_string()));
    } else {
        header.push(("hash", crate::report::hex(&data[8..16])));
    }
    let mut e = Entry::new([prefix, b"code"].concat().into(), Kind::File);
    e.size = (data.len() - HEADER) as u64;
    e.digest = Some(crate::source::hash::sha256(&data[HEADER..]));
    e.order = Some(0);
    let ranges = [(e.path.clone(), HEADER..data.len())].into_iter().collect();
    Ok(Opened {
        format: Format::Pyc,
        header: super::headed("pyc", header),
        set: members_set(vec![e]),
        fields: BTreeMap::new(),
        views: BTreeMap::new(),
        data,
        how: Members::Ranges(ranges),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_and_hash_headers() {
        let mut b = vec![0xa7, 0x0d, b'\r', b'\n', 0, 0, 0, 0];
        b.extend(1_700_000_000u32.to_le_bytes());
        b.extend(42u32.to_le_bytes());
        b.extend(b"\xe3code");
        assert!(is_pyc(&b));
        let o = open(b.clone().into(), b"x.pyc!/").unwrap();
        assert_eq!(o.header[0].2, "3495 (Python 3.11)");
        assert_eq!(
            o.header[2],
            (
                "pyc",
                "mtime".to_string(),
                "2023-11-14T22:13:20Z".to_string()
            )
        );
        assert_eq!(o.set.entries[0].size, 5);
        b[4] = 3;
        let o = open(b.into(), b"x.pyc!/").unwrap();
        assert_eq!(o.header[1].2, "3 (hash, checked)");
        assert_eq!(o.header[2].1, "hash");
        assert!(!is_pyc(b"hello, world, not a pyc"));
    }
}
