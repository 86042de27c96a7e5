//! An ELF file inside a rootfs, read with the `object` crate: each section a member
//! (`x!/.text`, `x!/.note.gnu.build-id`, `x!/.comment`), with its kind, flags, address
//! and alignment as `elf.*` member fields; the header's class, type, machine and entry
//! point and the GNU build-id as header fields (`elf.build_id`). Where raw bytes say
//! little, a section has a readable view for its text diff: the symbols of `.symtab`
//! and `.dynsym`, the notes of `.note.*`, the strings of `.comment`.

use std::collections::BTreeMap;
use std::sync::Arc;

use object::{Object, ObjectSection, ObjectSymbol};

use super::{Format, MemberField, Members, Opened, Problem, members_set};
use crate::entry::{Bytes, Entry, Kind};

fn bad(e: impl std::fmt::Display) -> Problem {
    Problem::Malformed(e.to_string())
}

/// Open an ELF file held in memory: its sections are ranges of it.
pub fn open(data: Arc<[u8]>, prefix: &[u8]) -> Result<Opened, Problem> {
    let obj = object::File::parse(&*data).map_err(bad)?;
    let mut entries = Vec::new();
    let mut fields = BTreeMap::new();
    let mut ranges = BTreeMap::new();
    let mut views = BTreeMap::new();
    for s in obj.sections() {
        let name = s.name_bytes().map_err(bad)?;
        if s.index().0 == 0 || name.is_empty() {
            continue;
        }
        let path: Bytes = [prefix, name].concat().into();
        let range = match s.file_range() {
            Some((off, len)) if s.kind() != object::SectionKind::UninitializedData => {
                let (a, n) = (usize::try_from(off), usize::try_from(len));
                let (Ok(a), Ok(n)) = (a, n) else {
                    return Err(bad("section offset out of range"));
                };
                let r = a..a
                    .checked_add(n)
                    .filter(|&e| e <= data.len())
                    .ok_or_else(|| bad("section past the end of the file"))?;
                r
            }
            _ => 0..0,
        };
        let mut e = Entry::new(path.clone(), Kind::File);
        e.size = range.len() as u64;
        e.digest = Some(crate::source::hash::sha256(&data[range.clone()]));
        e.order = Some(s.index().0 as u32);
        let own: Vec<MemberField> = vec![
            ("elf", "kind".into(), format!("{:?}", s.kind())),
            ("elf", "flags".into(), format!("{:?}", s.flags())),
            ("elf", "address".into(), format!("0x{:x}", s.address())),
            ("elf", "align".into(), s.align().to_string()),
        ];
        if let Some(v) = view(&obj, name, &data[range.clone()]) {
            views.insert(path.clone(), v);
        }
        fields.insert(path.clone(), own);
        ranges.insert(path, range);
        entries.push(e);
    }
    let mut header = header(&obj);
    header.push(("other_bytes", other_bytes(&data, ranges.values())));
    Ok(Opened {
        format: Format::Elf,
        header: super::headed("elf", header),
        set: members_set(entries),
        fields,
        views,
        data,
        how: Members::Ranges(ranges),
    })
}

/// The header fields: `elf.class`, `elf.type`, `elf.machine`, `elf.entry`,
/// `elf.build_id`.
fn header(obj: &object::File<'_>) -> Vec<(&'static str, String)> {
    let build_id = match obj.build_id() {
        Ok(Some(id)) => crate::report::hex(id),
        _ => "none".to_string(),
    };
    vec![
        (
            "class",
            if obj.is_64() { "ELF64" } else { "ELF32" }.to_string(),
        ),
        ("type", format!("{:?}", obj.kind())),
        ("machine", format!("{:?}", obj.architecture())),
        ("entry", format!("0x{:x}", obj.entry())),
        ("build_id", build_id),
    ]
}

/// The bytes in no section (the ELF header, the program headers, the section header
/// table, padding): how many, and a digest of them with their offsets. Program headers
/// (a `PT_GNU_STACK` made executable, a segment's flags) are in no section, and without
/// this would differ unseen.
fn other_bytes<'a>(
    data: &[u8],
    sections: impl Iterator<Item = &'a std::ops::Range<usize>>,
) -> String {
    use sha2::{Digest as _, Sha256};
    let mut covered: Vec<&std::ops::Range<usize>> = sections.filter(|r| !r.is_empty()).collect();
    covered.sort_by_key(|r| (r.start, r.end));
    let mut h = Sha256::new();
    let (mut at, mut n) = (0usize, 0usize);
    let mut gap = |from: usize, to: usize| {
        if from < to {
            h.update((from as u64).to_le_bytes());
            h.update(((to - from) as u64).to_le_bytes());
            h.update(&data[from..to]);
            n += to - from;
        }
    };
    for r in covered {
        gap(at, r.start);
        at = at.max(r.end);
    }
    gap(at, data.len());
    format!("{n} bytes, sha256:{}", crate::report::hex(&h.finalize()))
}

/// A readable rendering of a section, where its raw bytes say little.
fn view(obj: &object::File<'_>, name: &[u8], data: &[u8]) -> Option<Vec<u8>> {
    let symbols = |it: object::SymbolIterator<'_, '_>| -> Vec<u8> {
        let mut out = String::new();
        for s in it {
            out.push_str(&format!(
                "{:016x} {:>8} {:?} {:?} {}\n",
                s.address(),
                s.size(),
                s.kind(),
                s.scope(),
                String::from_utf8_lossy(s.name_bytes().unwrap_or_default())
            ));
        }
        out.into_bytes()
    };
    match name {
        b".symtab" => Some(symbols(obj.symbols())),
        b".dynsym" => Some(symbols(obj.dynamic_symbols())),
        b".comment" => Some(
            data.split(|&b| b == 0)
                .filter(|s| !s.is_empty())
                .flat_map(|s| [s, b"\n"].concat())
                .collect(),
        ),
        n if n.starts_with(b".note") => Some(notes(data, obj.is_little_endian())),
        _ => None,
    }
}

/// ELF notes, one per line: owner, type, descriptor in hex.
fn notes(mut b: &[u8], little: bool) -> Vec<u8> {
    let word = |x: &[u8]| {
        let a: [u8; 4] = x.try_into().expect("4 bytes");
        if little {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        }
    };
    let pad = |n: usize| n.div_ceil(4) * 4;
    let mut out = String::new();
    while b.len() >= 12 {
        let (nl, dl, t) = (
            word(&b[..4]) as usize,
            word(&b[4..8]) as usize,
            word(&b[8..12]),
        );
        let Some(name) = b.get(12..12 + nl) else {
            break;
        };
        let Some(desc) = b.get(12 + pad(nl)..12 + pad(nl) + dl) else {
            break;
        };
        let owner = String::from_utf8_lossy(name.strip_suffix(b"\0").unwrap_or(name));
        out.push_str(&format!("{owner} type {t}: {}\n", crate::report::hex(desc)));
        b = b.get(12 + pad(nl) + pad(dl)..).unwrap_or_default();
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notes_read_one_per_line() {
        let mut n = Vec::new();
        n.extend(4u32.to_le_bytes());
        n.extend(4u32.to_le_bytes());
        n.extend(3u32.to_le_bytes());
        n.extend(b"GNU\0");
        n.extend([0xde, 0xad, 0xbe, 0xef]);
        assert_eq!(notes(&n, true), b"GNU type 3: deadbeef\n");
    }

    #[test]
    fn this_test_binary_opens() {
        let exe = std::fs::read(std::env::current_exe().unwrap()).unwrap();
        let o = open(exe.into(), b"x!/").unwrap();
        assert!(o.set.get(b"x!/.text").is_some());
        assert!(o.header.iter().any(|(_, k, _)| k == "build_id"));
    }
}
