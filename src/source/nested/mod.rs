//! Nested formats: what a file's content is, found from its first bytes (never from
//! its name), and how to open it as a set of entries: a compressed stream (gzip, xz,
//! zstd, bzip2, lzip, lzma; a compressed tar or cpio is opened as the archive in one step), a
//! tar, a zip (jar, whl, apk, epub), an ar archive (a `.deb`), a cpio archive (an initramfs),
//! an rpm package (its payload opened as the cpio it is), an ELF file, a Python `.pyc`. Like every
//! source this knows formats and nothing about comparison: `compare::nested` decides
//! what is opened and compares what comes out with the comparer of every entry set.
//!
//! Everything here works on bytes in memory, bounded by a [`Budget`]: each byte a
//! decoder produces or a member's content copies out is taken from it first, and what
//! would go over it is refused ([`Problem::Cut`]), never read.

pub mod ar;
pub mod cpio;
pub mod elf;
pub mod pyc;
pub mod rpm;
pub mod stream;
pub mod zip;

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::entry::{Bytes, Entry};
use crate::source::compress::Compression;
use crate::source::{EntrySet, InputInfo, SourceKind};

/// Bytes of a content's start that [`sniff`] needs (a tar's magic is at byte 257).
pub const HEAD: usize = 512;

/// A format rdiff can open inside a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Gzip,
    Xz,
    Zstd,
    Bzip2,
    Lzip,
    Lzma,
    Tar,
    Zip,
    Ar,
    Cpio,
    Rpm,
    Elf,
    Pyc,
}

impl Format {
    /// Its name, which is also the family of its header fields (`gzip.mtime`).
    pub fn name(self) -> &'static str {
        match self {
            Format::Gzip => "gzip",
            Format::Xz => "xz",
            Format::Zstd => "zstd",
            Format::Bzip2 => "bzip2",
            Format::Lzip => "lzip",
            Format::Lzma => "lzma",
            Format::Tar => "tar",
            Format::Zip => "zip",
            Format::Ar => "ar",
            Format::Cpio => "cpio",
            Format::Rpm => "rpm",
            Format::Elf => "elf",
            Format::Pyc => "pyc",
        }
    }

    fn compression(self) -> Option<Compression> {
        Some(match self {
            Format::Gzip => Compression::Gzip,
            Format::Xz => Compression::Xz,
            Format::Zstd => Compression::Zstd,
            Format::Bzip2 => Compression::Bzip2,
            Format::Lzip => Compression::Lzip,
            Format::Lzma => Compression::Lzma,
            _ => return None,
        })
    }
}

/// The format a content's first bytes (at least [`HEAD`] of them when it is that long)
/// show, if rdiff can open it.
pub fn sniff(head: &[u8]) -> Option<Format> {
    match Compression::detect(head) {
        Compression::Gzip => return Some(Format::Gzip),
        Compression::Xz => return Some(Format::Xz),
        Compression::Zstd => return Some(Format::Zstd),
        Compression::Bzip2 => return Some(Format::Bzip2),
        Compression::Lzip => return Some(Format::Lzip),
        Compression::Lzma => return Some(Format::Lzma),
        Compression::None => {}
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Some(Format::Zip)
    } else if head.starts_with(b"!<arch>\n") {
        Some(Format::Ar)
    } else if head.starts_with(&rpm::LEAD_MAGIC) {
        Some(Format::Rpm)
    } else if cpio::is_cpio(head) {
        Some(Format::Cpio)
    } else if head.starts_with(b"\x7fELF") {
        Some(Format::Elf)
    } else if pyc::is_pyc(head) {
        Some(Format::Pyc)
    } else if is_tar(head) {
        Some(Format::Tar)
    } else {
        None
    }
}

/// Whether bytes start with a tar header: a first block that is not zeros and whose
/// checksum is right (what GNU tar asks of a member header).
pub fn is_tar(b: &[u8]) -> bool {
    let Some(block) = b.get(..512).and_then(|h| <&[u8; 512]>::try_from(h).ok()) else {
        return false;
    };
    let h = crate::source::tar::header::Header(block);
    !h.is_zero() && h.checksum_ok()
}

/// What opening a nested content may cost: bytes decoded or copied out, all depths of
/// one outer entry together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Budget {
    pub cap: u64,
    pub used: u64,
    /// Whether something was refused (then a run with a larger cap could differ).
    pub refused: bool,
}

impl Budget {
    pub fn new(cap: u64) -> Budget {
        Budget {
            cap,
            used: 0,
            refused: false,
        }
    }

    pub fn left(&self) -> u64 {
        self.cap - self.used
    }

    /// Take `n` bytes, or refuse them (taking nothing) when they do not fit.
    pub fn take(&mut self, n: u64) -> bool {
        if n <= self.left() {
            self.used += n;
            true
        } else {
            self.refused = true;
            false
        }
    }
}

/// Why a nested content could not be opened (or not all of it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The bytes are not what their start said (a truncated stream, a corrupt zip).
    Malformed(String),
    /// A bound stopped it: what was cut, phrased.
    Cut(String),
}

/// A field of a member that only its format has (`zip.method`), or a header field of a
/// stream or container (`gzip.mtime`): family, key, value.
pub type MemberField = (&'static str, String, String);

/// Header fields of one family, as [`MemberField`]s.
pub fn headed(family: &'static str, fields: Vec<(&'static str, String)>) -> Vec<MemberField> {
    fields
        .into_iter()
        .map(|(k, v)| (family, k.to_string(), v))
        .collect()
}

/// One side's nested content, opened.
pub struct Opened {
    /// What was opened (for a compressed tar: the compression).
    pub format: Format,
    /// Header fields of the stream or container, as `FAMILY.KEY` fields of the outer
    /// entry: the format's own (`gzip.mtime`, `rpm.buildtime`), and those of a format
    /// opened in the same step (`cpio.format` of a cpio in a gzip, `zstd.window_size` of
    /// an rpm's payload).
    pub header: Vec<MemberField>,
    /// The members, their paths under the prefix given to [`open`], sorted.
    pub set: EntrySet,
    /// The member fields only this format has, by member path.
    pub fields: BTreeMap<Bytes, Vec<MemberField>>,
    /// Readable renderings of members whose raw bytes say little (an ELF symbol
    /// table), by member path: what their text diff shows.
    pub views: BTreeMap<Bytes, Vec<u8>>,
    /// The bytes the members live in.
    data: Arc<[u8]>,
    how: Members,
}

/// How a member's bytes are found in `Opened::data`.
enum Members {
    /// A tar stream: members are read again by path and position.
    Tar,
    /// A zip archive: members are inflated again by index.
    Zip(BTreeMap<Bytes, usize>),
    /// Byte ranges, by path.
    Ranges(BTreeMap<Bytes, std::ops::Range<usize>>),
}

/// Open `data`, whose first bytes show `format`. Member paths are `prefix` (`x.gz!/`)
/// followed by the member's own path; a stream's one member (when it is no tar) is
/// `prefix` + `stream_name`.
pub fn open(
    format: Format,
    data: Arc<[u8]>,
    prefix: &[u8],
    stream_name: &[u8],
    budget: &mut Budget,
) -> Result<Opened, Problem> {
    if let Some(c) = format.compression() {
        return stream::open(format, c, &data, prefix, stream_name, budget);
    }
    match format {
        Format::Tar => open_tar(format, Vec::new(), data, prefix),
        Format::Zip => zip::open(data, prefix, budget),
        Format::Ar => ar::open(data, prefix),
        Format::Cpio => cpio::open(data, prefix, budget),
        Format::Rpm => rpm::open(data, prefix, budget),
        Format::Elf => elf::open(data, prefix),
        Format::Pyc => pyc::open(data, prefix),
        _ => unreachable!("a compression"),
    }
}

/// A tar held in memory, opened by the tar reader every input goes through.
fn open_tar(
    format: Format,
    header: Vec<MemberField>,
    data: Arc<[u8]>,
    prefix: &[u8],
) -> Result<Opened, Problem> {
    use crate::source::tar::{Limits, TarReader};
    let limits = Limits {
        max_uncompressed: data.len() as u64,
        max_entries: data.len() as u64 / 512 + 1,
        ..Limits::default()
    };
    let mut tr = TarReader::with_limits(&data[..], limits);
    let opts = crate::source::ReadOptions::default();
    let mut c = crate::source::Collector::new(&opts, &crate::source::NoContent);
    let bad = |e: crate::error::ErrorKind| Problem::Malformed(format!("tar: {e}"));
    while let Some(t) = tr.next_entry().map_err(bad)? {
        c.member(&mut tr, t).map_err(bad)?;
    }
    let mut entries = c.entries;
    for e in &mut entries {
        e.path = [prefix, &e.path].concat().into();
    }
    Ok(Opened {
        format,
        header,
        set: crate::source::finish_set(entries, InputInfo::new("", SourceKind::Tar)),
        fields: BTreeMap::new(),
        views: BTreeMap::new(),
        data,
        how: Members::Tar,
    })
}

impl Opened {
    /// The whole contents of these members (paths as in `set`), in path order, as far
    /// as the budget goes; a member it cannot pay for is left out.
    pub fn contents(
        &self,
        prefix: &[u8],
        wanted: &[&Entry],
        budget: &mut Budget,
    ) -> Result<BTreeMap<Bytes, Arc<[u8]>>, Problem> {
        let mut paid: Vec<&Entry> = Vec::new();
        for e in wanted {
            // A stream's one member is the decoded data itself: nothing is copied. (Only a
            // stream's: the sections of an ELF file may each span the whole file, and
            // each is opened in turn, so each must be paid for.)
            let whole = self.format.compression().is_some()
                && matches!(&self.how, Members::Ranges(r)
                    if r.get(&e.path).is_some_and(|r| r.len() == self.data.len()));
            if whole || budget.take(e.size) {
                paid.push(e);
            }
        }
        match &self.how {
            Members::Ranges(r) => Ok(paid
                .iter()
                .filter_map(|e| {
                    let r = r.get(&e.path)?;
                    let bytes = if r.len() == self.data.len() {
                        self.data.clone()
                    } else {
                        Arc::from(&self.data[r.clone()])
                    };
                    Some((e.path.clone(), bytes))
                })
                .collect()),
            Members::Zip(index) => zip::contents(&self.data, index, &paid),
            Members::Tar => tar_contents(&self.data, prefix, &paid),
        }
    }
}

/// Members of a tar in memory, read again by path and position (each checked against
/// the digest of the first read, as every re-read is).
fn tar_contents(
    data: &[u8],
    prefix: &[u8],
    wanted: &[&Entry],
) -> Result<BTreeMap<Bytes, Arc<[u8]>>, Problem> {
    let mut want = BTreeMap::new();
    for e in wanted {
        let inner: Bytes = e.path[prefix.len()..].into();
        let w = crate::source::Want {
            order: e.order,
            layer: 0,
            start: 0,
            len: e.size,
            expect: e.digest,
        };
        want.insert(inner, w);
    }
    let mut got = BTreeMap::new();
    let mut tr = crate::source::tar::TarReader::new(data);
    crate::source::fetch_members(&mut tr, &want, &mut got)
        .map_err(|e| Problem::Malformed(format!("tar: {e}")))?;
    Ok(got
        .into_iter()
        .map(|(p, f)| ([prefix, &p].concat().into(), Arc::from(f.bytes)))
        .collect())
}

/// An entry set of these entries, of a kind that carries member order only (a zip,
/// an ar archive, a stream's one member).
fn members_set(entries: Vec<Entry>) -> EntrySet {
    crate::source::finish_set(entries, InputInfo::new("", SourceKind::Members))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_magic() {
        assert_eq!(sniff(b"\x1f\x8b\x08\0"), Some(Format::Gzip));
        assert_eq!(sniff(b"\xfd7zXZ\0"), Some(Format::Xz));
        assert_eq!(sniff(b"PK\x03\x04rest"), Some(Format::Zip));
        assert_eq!(sniff(b"!<arch>\ndebian-binary"), Some(Format::Ar));
        assert_eq!(sniff(b"\xed\xab\xee\xdb\x03\x00"), Some(Format::Rpm));
        let newc = format!("070701{}", "0".repeat(104));
        assert_eq!(sniff(newc.as_bytes()), Some(Format::Cpio));
        assert_eq!(sniff(b"0707010 is not a header"), None);
        assert_eq!(sniff(b"hello"), None);
        assert_eq!(sniff(&[0u8; 1024]), None);
    }

    #[test]
    fn budget_refuses_without_taking() {
        let mut b = Budget::new(10);
        assert!(b.take(6));
        assert!(!b.take(5));
        assert!(b.refused);
        assert_eq!(b.used, 6);
        assert!(b.take(4));
        assert_eq!(b.left(), 0);
    }
}
