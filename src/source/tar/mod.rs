//! A streaming tar reader written for exactness: ustar, GNU (long names, long link
//! names, old sparse), PAX local and global headers (records walked by length prefix),
//! PAX sparse 0.0/0.1/1.0, base-256 numbers, checked arithmetic everywhere. It reads any
//! `BufRead` (a decompressor, a file, a memory map) and lends content out in chunks
//! straight from the reader's buffer, so hashing costs no copy.
//!
//! Why not the `tar` crate: it does not apply PAX global headers, splits PAX records on
//! newlines (which corrupts binary xattr values), and hides which records a member was
//! built from, which strict mode compares. See docs/design.md.

pub mod framing;
pub mod header;
pub mod pax;

use std::io::{self, BufRead};

use crate::entry::{Format, HeaderFormat, Kind, Timestamp, ext};
use crate::error::ErrorKind;
use header::{BLOCK, Header, NumError, off};

/// A malformed tar stream.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem} (tar byte {offset}{})", member.as_ref().map(|m| format!(", member {m}")).unwrap_or_default())]
pub struct TarError {
    /// Offset in the (decompressed) tar stream.
    pub offset: u64,
    /// The member concerned, when known.
    pub member: Option<String>,
    pub problem: String,
}

/// Limits that keep hostile archives from exhausting memory.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest PAX header, GNU long name or long link name accepted, in bytes.
    pub max_meta: u64,
    /// Largest number of sparse chunks in one member.
    pub max_sparse_chunks: usize,
    /// Most bytes of sparse holes in one tar stream, all members together
    /// (`--max-sparse-holes`). Holes cost no reading, only the hashing of their zeros,
    /// so they do not count against `max_uncompressed`; this budget of their own keeps
    /// an archive of a few KB from making rdiff hash terabytes of zeros.
    pub max_sparse_holes: u64,
    /// Largest uncompressed tar stream, as stored (a decompression bomb stops here).
    pub max_uncompressed: u64,
    /// Most members in one archive.
    pub max_entries: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_meta: 16 << 20,
            max_sparse_chunks: 1 << 20,
            max_sparse_holes: 64 << 30,
            max_uncompressed: 64 << 30,
            max_entries: 10_000_000,
        }
    }
}

/// One member, with every header fact applied (PAX global, PAX local, GNU long names).
#[derive(Clone, Debug, Default)]
pub struct TarEntry {
    pub path: Vec<u8>,
    pub kind: Option<Kind>,
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub uname: Vec<u8>,
    pub gname: Vec<u8>,
    /// Content size (for sparse files the expanded size; 0 for header-only types).
    pub size: u64,
    pub mtime: Timestamp,
    pub atime: Option<Timestamp>,
    pub ctime: Option<Timestamp>,
    pub link: Vec<u8>,
    pub device: Option<(u64, u64)>,
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    /// Raw ACL text by kind: `access`, `default` (SCHILY.acl.*), `nfs4` (SCHILY.acl.ace).
    pub acls: Vec<(&'static str, Vec<u8>)>,
    /// PAX records rdiff reads into no other field (`SCHILY.fflags`, ...), by keyword.
    pub other: Vec<(Vec<u8>, Vec<u8>)>,
    pub format: Option<Format>,
    /// The member's framing digest (see [`framing`]).
    pub framing: crate::entry::Digest,
    /// For mtime, atime and ctime given by a PAX record in another spelling than
    /// rdiff's (`1700000000.0`, nine digits with trailing zeros): the spelling's digit
    /// shape. Not in the framing digest, since a writer's spelling of a time depends on
    /// the time; compared only where the times are equal.
    pub time_spellings: [Option<Vec<u8>>; 3],
    /// Offset of the member's first header in the tar stream.
    pub offset: u64,
    /// Member number, counting only real members (not extension headers).
    pub index: u64,
}

impl TarEntry {
    pub fn kind(&self) -> Kind {
        self.kind.unwrap_or(Kind::File)
    }
}

#[derive(Debug)]
struct Sparse {
    chunks: Vec<(u64, u64)>,
    real_size: u64,
    next_chunk: usize,
    /// Expanded position reached.
    pos: u64,
}

/// An extension header read before the member it belongs to, kept until the member's
/// values are known (the framing digest leaves out what they explain).
enum Piece {
    /// PAX `x`, GNU `L` / `K`: the header block, its data, the padding after it.
    Ext {
        typeflag: u8,
        block: Box<[u8; BLOCK]>,
        data: Vec<u8>,
        pad: Vec<u8>,
    },
    /// Bytes that go into the digest as they are (a global header, a volume label).
    Raw(Vec<u8>),
}

/// What follows the last member: the end-of-archive marker and everything after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trailer {
    /// Where the end-of-archive marker starts in the stream.
    pub at: u64,
    /// Bytes from the first zero block to the end of the stream.
    pub bytes: u64,
    /// Whether they are all zeros.
    pub zeros: bool,
    /// SHA-256 of those bytes.
    pub sha: crate::entry::Digest,
    /// Whether the archive has an end-of-archive marker. Without one (the stream ends
    /// right after a member, as some Go tools write layers) the archive is read as GNU
    /// tar, bsdtar, Go and Python read it, and this says what was unusual.
    pub marker: bool,
}

impl Trailer {
    /// Whether this trailer is what a writer with records of `record` bytes writes:
    /// the two zero blocks of the end-of-archive marker, then zeros up to the end of
    /// the record (so that the archive is a whole number of records).
    pub fn fits_record(&self, record: u64) -> bool {
        let end = self.at + self.bytes;
        self.marker
            && self.zeros
            && self.bytes >= (2 * BLOCK as u64)
            && end.is_multiple_of(record)
            && self.bytes - (2 * BLOCK as u64) < record
    }

    /// Whether two trailers are the same bytes, or the same writer's choice: both the
    /// end marker and zeros to the end of a record of the same size (a member that
    /// grew moves the end, and the zeros after it shrink: that is no difference of
    /// its own).
    pub fn same_as(&self, other: &Trailer) -> bool {
        if (self.bytes, self.sha, self.marker) == (other.bytes, other.sha, other.marker) {
            return true;
        }
        // Records of 1 to 4 096 blocks (tar -b; 20 blocks, 10 240 bytes, by default).
        (1..=4096u64).any(|b| self.fits_record(b * 512) && other.fits_record(b * 512))
    }
}

/// The streaming reader.
pub struct TarReader<R> {
    r: R,
    pos: u64,
    /// Stored data bytes of the current member not yet read.
    remaining: u64,
    /// Padding after the current member's data.
    padding: u64,
    sparse: Option<Sparse>,
    globals: Vec<pax::Record>,
    members: u64,
    finished: bool,
    current: Option<String>,
    limits: Limits,
    /// Extension headers of the member being read (see [`Piece`]).
    pending: Vec<Piece>,
    /// SHA-256 of the last member's padding, when it was not all zeros.
    padding_sha: Option<crate::entry::Digest>,
    /// Where the end-of-archive marker starts.
    end_at: Option<u64>,
    /// Blocks read while a member's header is parsed (GNU sparse extension blocks, a
    /// PAX 1.0 sparse map), for its framing digest.
    captured: Option<Vec<u8>>,
    /// Zeros of sparse members' holes passed so far (they count against
    /// `max_sparse_holes`).
    hole_bytes: u64,
    /// The stream ended where a header was due, with no end-of-archive marker.
    no_marker: bool,
}

static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];

fn pad(n: u64) -> u64 {
    (BLOCK as u64 - n % BLOCK as u64) % BLOCK as u64
}

impl<R: BufRead> TarReader<R> {
    pub fn new(r: R) -> Self {
        Self::with_limits(r, Limits::default())
    }

    pub fn with_limits(r: R, limits: Limits) -> Self {
        TarReader {
            r,
            pos: 0,
            remaining: 0,
            padding: 0,
            sparse: None,
            globals: Vec::new(),
            members: 0,
            finished: false,
            current: None,
            limits,
            pending: Vec::new(),
            padding_sha: None,
            end_at: None,
            captured: None,
            hole_bytes: 0,
            no_marker: false,
        }
    }

    /// Bytes of the tar stream consumed so far.
    pub fn position(&self) -> u64 {
        self.pos
    }

    pub fn into_inner(self) -> R {
        self.r
    }

    fn err(&self, problem: impl Into<String>) -> ErrorKind {
        ErrorKind::Tar(TarError {
            offset: self.pos,
            member: self.current.clone(),
            problem: problem.into(),
        })
    }

    fn io(&self, e: io::Error) -> ErrorKind {
        ErrorKind::from_io(e)
    }

    /// Fill `buf` completely. `Ok(false)` when the stream ends exactly before it.
    fn read_block(&mut self, buf: &mut [u8; BLOCK]) -> Result<bool, ErrorKind> {
        let mut got = 0;
        while got < BLOCK {
            let avail = match self.r.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io(e)),
            };
            if avail.is_empty() {
                if got == 0 {
                    return Ok(false);
                }
                if self.members == 0 && self.pos < BLOCK as u64 {
                    return Err(ErrorKind::NotTar {
                        looks: crate::source::sniff::looks_like(&buf[..got]),
                        short: Some(self.pos),
                        compressed: None,
                    });
                }
                return Err(self.err(format!(
                    "truncated: stream ends inside a header block ({got} of 512 bytes)"
                )));
            }
            let take = avail.len().min(BLOCK - got);
            buf[got..got + take].copy_from_slice(&avail[..take]);
            self.r.consume(take);
            got += take;
            self.pos += take as u64;
        }
        self.check_size()?;
        if let Some(c) = self.captured.as_mut() {
            c.extend_from_slice(buf);
        }
        Ok(true)
    }

    /// Pass `n` stored bytes to `f` in chunks borrowed from the reader's buffer.
    fn pass(&mut self, mut n: u64, f: &mut dyn FnMut(&[u8])) -> Result<(), ErrorKind> {
        while n > 0 {
            let avail = match self.r.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io(e)),
            };
            if avail.is_empty() {
                return Err(self.err(format!(
                    "truncated: stream ends with {} bytes of the member still to come",
                    n
                )));
            }
            let take = (avail.len() as u64).min(n) as usize;
            f(&avail[..take]);
            self.r.consume(take);
            self.pos += take as u64;
            n -= take as u64;
            self.check_size()?;
        }
        Ok(())
    }

    /// Pass `n` zeros of a sparse member's hole to `f`. Holes cost no reading, only
    /// hashing: they count against `--max-sparse-holes`, not against
    /// `--max-uncompressed-size` (which bounds the stream as stored).
    fn holes(&mut self, n: u64, f: &mut dyn FnMut(&[u8])) -> Result<(), ErrorKind> {
        self.hole_bytes = self.hole_bytes.saturating_add(n);
        if self.hole_bytes > self.limits.max_sparse_holes {
            return Err(ErrorKind::Limit(format!(
                "the sparse members' holes are over {} bytes (--max-sparse-holes)",
                self.limits.max_sparse_holes
            )));
        }
        zeros(n, f);
        Ok(())
    }

    fn check_size(&self) -> Result<(), ErrorKind> {
        if self.pos > self.limits.max_uncompressed {
            return Err(ErrorKind::Limit(format!(
                "the uncompressed stream is over {} bytes (--max-uncompressed-size)",
                self.limits.max_uncompressed
            )));
        }
        Ok(())
    }

    /// The limits this reader applies.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn skip(&mut self, n: u64) -> Result<(), ErrorKind> {
        self.pass(n, &mut |_| {})
    }

    /// Read `size` bytes of extension-header data and its padding into memory.
    fn read_meta(&mut self, size: u64, what: &str) -> Result<(Vec<u8>, Vec<u8>), ErrorKind> {
        if size > self.limits.max_meta {
            return Err(self.err(format!(
                "{what} of {} bytes is over the limit of {} bytes",
                size, self.limits.max_meta
            )));
        }
        let mut v = Vec::with_capacity(size as usize);
        self.pass(size, &mut |b| v.extend_from_slice(b))?;
        let mut p = Vec::with_capacity(pad(size) as usize);
        self.pass(pad(size), &mut |b| p.extend_from_slice(b))?;
        Ok((v, p))
    }

    /// Pass the padding after a member's data, noting whether it was all zeros.
    fn read_padding(&mut self) -> Result<(), ErrorKind> {
        use sha2::Digest as _;
        let p = std::mem::take(&mut self.padding);
        let mut zeros = true;
        let mut sha = sha2::Sha256::new();
        self.pass(p, &mut |b| {
            zeros &= b.iter().all(|&x| x == 0);
            sha.update(b);
        })?;
        self.padding_sha = (!zeros).then(|| sha.finalize().into());
        Ok(())
    }

    /// SHA-256 of the padding after the data of the member just read, when it is not
    /// all zeros (call after `read_data`).
    pub fn padding_sha(&self) -> Option<crate::entry::Digest> {
        self.padding_sha
    }

    /// Skip the current member's stored data, and read the padding after it (then
    /// [`TarReader::padding_sha`] describes it).
    pub fn skip_data(&mut self) -> Result<(), ErrorKind> {
        let n = std::mem::take(&mut self.remaining);
        self.sparse = None;
        self.skip(n)?;
        self.read_padding()
    }

    /// Skip whatever the caller did not read of the current member.
    fn finish_member(&mut self) -> Result<(), ErrorKind> {
        let n = self.remaining;
        self.remaining = 0;
        self.sparse = None;
        self.skip(n)?;
        let p = std::mem::take(&mut self.padding);
        self.skip(p)
    }

    /// After the last member: read the rest of the stream (at most `allowance` bytes
    /// past the end-of-archive marker, then stop with an error past it) and describe
    /// it (an empty stream has an empty trailer).
    pub fn read_trailer(&mut self, allowance: u64) -> Result<Option<Trailer>, ErrorKind> {
        use sha2::Digest as _;
        let Some(at) = self.end_at else {
            // An empty stream is an empty archive with nothing after it.
            return Ok((self.pos == 0).then(|| Trailer {
                at: 0,
                bytes: 0,
                zeros: true,
                sha: crate::source::hash::sha256(b""),
                marker: true,
            }));
        };
        let mut sha = sha2::Sha256::new();
        let mut zeros = true;
        // Headers that belong to no member (a global header or a volume label after the
        // last member) come first.
        let mut before = 0u64;
        for piece in std::mem::take(&mut self.pending) {
            let b = match piece {
                Piece::Raw(b) => b,
                Piece::Ext {
                    block, data, pad, ..
                } => [&block[..], &data, &pad].concat(),
            };
            before += b.len() as u64;
            zeros = false;
            sha.update((b.len() as u64).to_le_bytes());
            sha.update(&b);
        }
        // The marker block itself was consumed, and was zeros.
        if !self.no_marker {
            sha.update([0u8; BLOCK]);
        }
        let mut rest = 0u64;
        loop {
            let avail = match self.r.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io(e)),
            };
            if avail.is_empty() {
                break;
            }
            let n = avail.len();
            zeros &= avail.iter().all(|&b| b == 0);
            sha.update(avail);
            self.r.consume(n);
            rest += n as u64;
            if rest > allowance {
                return Err(ErrorKind::Limit(format!(
                    "the uncompressed stream is over {} bytes (--max-uncompressed-size)",
                    self.limits.max_uncompressed
                )));
            }
        }
        self.pos += rest;
        let at = at.saturating_sub(before);
        Ok(Some(Trailer {
            at,
            bytes: self.pos - at,
            zeros,
            sha: sha.finalize().into(),
            marker: !self.no_marker,
        }))
    }

    fn num(&self, h: &Header, r: std::ops::Range<usize>, name: &str) -> Result<i64, ErrorKind> {
        h.num(r).map_err(|e| match e {
            NumError::NotOctal => self.err(format!("header field {name} is not a number")),
            NumError::Overflow => self.err(format!("header field {name} is out of range")),
        })
    }

    fn unum(&self, h: &Header, r: std::ops::Range<usize>, name: &str) -> Result<u64, ErrorKind> {
        let v = self.num(h, r, name)?;
        u64::try_from(v).map_err(|_| self.err(format!("header field {name} is negative ({v})")))
    }

    /// The next member, or `None` at the end of the archive. Unread content of the
    /// previous member is skipped.
    pub fn next_entry(&mut self) -> Result<Option<TarEntry>, ErrorKind> {
        self.finish_member()?;
        if self.finished {
            return Ok(None);
        }
        self.current = None;
        let mut exts = Extensions::default();
        let mut block = [0u8; BLOCK];
        loop {
            let header_offset = self.pos;
            if !self.read_header(&mut block, header_offset, exts.first_offset.is_some())? {
                return Ok(None);
            }
            let h = Header(&block);
            exts.first_offset.get_or_insert(header_offset);
            let size = self.num(&h, off::SIZE, "size")?;
            let size =
                u64::try_from(size).map_err(|_| self.err(format!("negative size {size}")))?;
            match h.typeflag() {
                b'x' | b'X' => self.read_pax_local(&h, size, &mut exts)?,
                b'g' => self.read_pax_global(&h, size, &mut exts)?,
                b'L' | b'K' => self.read_gnu_long_name(&h, size, &mut exts)?,
                b'V' => {
                    // Volume label: not a member.
                    let (data, pad) = self.read_meta(size, "volume label")?;
                    exts.first_offset = None;
                    self.pending
                        .push(Piece::Raw([&h.0[..], &data, &pad].concat()));
                }
                b'M' => return Err(self.err("multi-volume continuation members are not supported")),
                _ if self.members >= self.limits.max_entries => {
                    return Err(ErrorKind::Limit(format!(
                        "more than {} entries (--max-entries)",
                        self.limits.max_entries
                    )));
                }
                _ => {
                    let offset = exts.first_offset.unwrap_or(header_offset);
                    return self.member(&h, size, offset, exts).map(Some);
                }
            }
        }
    }

    /// Read the header block at `header_offset` into `block` and check it. `Ok(false)`
    /// at the end of the archive: an empty stream, or the end-of-archive marker (where
    /// `read_trailer` takes over). `in_member`: extension headers were read, so the
    /// stream must not end here.
    fn read_header(
        &mut self,
        block: &mut [u8; BLOCK],
        header_offset: u64,
        in_member: bool,
    ) -> Result<bool, ErrorKind> {
        if !self.read_block(block)? {
            if in_member {
                // GNU tar lists nothing here; bsdtar, Go and Python refuse it.
                return Err(self.err(
                    "truncated: the stream ends after extension headers, before their member",
                ));
            }
            self.finished = true;
            if self.pos > 0 {
                // No end-of-archive marker: GNU tar, bsdtar, Go and Python end the
                // archive here; the trailer says it had no marker.
                self.end_at = Some(header_offset);
                self.no_marker = true;
            }
            return Ok(false);
        }
        let h = Header(block);
        if h.is_zero() {
            if in_member {
                return Err(self.err("extension header not followed by a member"));
            }
            // End of archive: a second zero block normally follows; what comes after
            // the marker (record padding, garbage) is no member, as for tar, and is
            // described by `read_trailer`.
            self.finished = true;
            self.end_at = Some(header_offset);
            return Ok(false);
        }
        if !h.checksum_ok() && header_offset == 0 {
            return Err(ErrorKind::NotTar {
                looks: crate::source::sniff::looks_like(block),
                short: None,
                compressed: None,
            });
        }
        if !h.checksum_ok() {
            return Err(ErrorKind::Tar(TarError {
                offset: header_offset,
                member: self.current.clone(),
                problem: format!(
                    "bad header checksum (corrupt after {} {})",
                    self.members,
                    crate::report::plural(self.members, "member", "members")
                ),
            }));
        }
        Ok(true)
    }

    /// A PAX local header (`x`, or Solaris `X`): its records apply to the next member.
    fn read_pax_local(
        &mut self,
        h: &Header,
        size: u64,
        exts: &mut Extensions,
    ) -> Result<(), ErrorKind> {
        let (data, pad) = self.read_meta(size, "PAX header")?;
        let recs = self.pax_records(&data)?;
        // Several `x` headers before one member: only the last applies, as GNU tar,
        // bsdtar and Go read it (Python merges them); the earlier ones are framing.
        self.keep_ext(b'x', h, data, pad, exts.had_local, exts);
        exts.locals = recs;
        exts.had_local = true;
        Ok(())
    }

    /// A PAX global header: its records apply to every member after it (a record with
    /// an empty value deletes the global of that keyword). It is no member's extension
    /// header, so the member's first header comes after it.
    fn read_pax_global(
        &mut self,
        h: &Header,
        size: u64,
        exts: &mut Extensions,
    ) -> Result<(), ErrorKind> {
        let (data, pad) = self.read_meta(size, "PAX global header")?;
        let recs = self.pax_records(&data)?;
        for (k, v) in recs {
            self.globals.retain(|(gk, _)| *gk != k);
            // An empty value deletes the global of that keyword, and for a name field
            // the header's field too (POSIX; see `deletes_field`).
            if !v.is_empty() || deletes_field(&k) {
                self.globals.push((k, v));
            }
        }
        exts.first_offset = None;
        self.pending
            .push(Piece::Raw([&h.0[..], &data, &pad].concat()));
        Ok(())
    }

    /// The records of a PAX header's data, checked for NUL bytes.
    fn pax_records(&self, data: &[u8]) -> Result<Vec<pax::Record>, ErrorKind> {
        let recs = pax::parse_records(data).map_err(|m| self.err(m))?;
        self.check_nul(&recs)?;
        Ok(recs)
    }

    /// Keep an extension header of the next member (`typeflag`: `x`, `L` or `K`) as
    /// framing, to be digested with it. `replaces`: one of that type was read already
    /// for this member; the last one applies, and the earlier becomes plain framing
    /// ([`supersede`]).
    fn keep_ext(
        &mut self,
        typeflag: u8,
        h: &Header,
        data: Vec<u8>,
        pad: Vec<u8>,
        replaces: bool,
        exts: &mut Extensions,
    ) {
        if replaces {
            supersede(&mut self.pending, typeflag);
            exts.superseded = true;
        }
        self.pending.push(Piece::Ext {
            typeflag,
            block: Box::new(*h.0),
            data,
            pad,
        });
    }

    /// Refuse PAX records whose keyword, or whose value where it is a name, holds a NUL
    /// byte, as Go and bsdtar refuse them (GNU tar cuts the name at the NUL, Python
    /// keeps it): no file system name can hold one.
    fn check_nul(&self, recs: &[pax::Record]) -> Result<(), ErrorKind> {
        for (k, v) in recs {
            let name = matches!(
                k.as_slice(),
                b"path" | b"linkpath" | b"uname" | b"gname" | b"GNU.sparse.name"
            );
            let place = if k.contains(&0) {
                "keyword"
            } else if name && v.contains(&0) {
                "value"
            } else {
                continue;
            };
            return Err(self.err(format!(
                "PAX record {} has a NUL byte in its {place}: refused (a name cannot hold one)",
                crate::entry::display_bytes(k)
            )));
        }
        Ok(())
    }

    /// A GNU long name (`L`) or long link name (`K`) for the next member.
    fn read_gnu_long_name(
        &mut self,
        h: &Header,
        size: u64,
        exts: &mut Extensions,
    ) -> Result<(), ErrorKind> {
        let what = if h.typeflag() == b'L' {
            "GNU long name"
        } else {
            "GNU long link name"
        };
        let (data, pad) = self.read_meta(size, what)?;
        let name = Some(header::cstr(&data).to_vec());
        let slot = if h.typeflag() == b'L' {
            &mut exts.longname
        } else {
            &mut exts.longlink
        };
        // The last long name applies (GNU tar, bsdtar and Go; Python takes the first);
        // the earlier one is framing.
        let replaces = std::mem::replace(slot, name).is_some();
        self.keep_ext(h.typeflag(), h, data, pad, replaces, exts);
        Ok(())
    }

    /// Build the member whose own header is `h`, from it and the extension headers
    /// before it (`stored`: the header's size field), in stages: the header's fields,
    /// the kind, an old GNU sparse map, the PAX records, a PAX sparse map, then the
    /// framing digest. Leaves the reader at the start of the member's data.
    fn member(
        &mut self,
        h: &Header,
        stored: u64,
        offset: u64,
        exts: Extensions,
    ) -> Result<TarEntry, ErrorKind> {
        let hfmt = h.format();
        self.captured = Some(Vec::new());
        let mut bits = if exts.superseded { ext::SUPERSEDED } else { 0 };
        let mut e = self.header_fields(h, hfmt, exts.longname, exts.longlink, &mut bits)?;
        e.offset = offset;
        let tf = h.typeflag();
        let kind = self.kind_and_device(h, hfmt, &mut e)?;
        // Header-only types carry no data, whatever their size field says (as Go and
        // Python read them); a GNU dumpdir's data is skipped.
        let has_data = matches!(kind, Kind::File | Kind::Other(_)) || tf == b'D';
        let mut stored = if has_data { stored } else { 0 };

        // Old GNU sparse map: in the header and in extension blocks after it.
        let mut sparse: Option<Sparse> = None;
        if tf == b'S' {
            bits |= ext::GNU_SPARSE;
            sparse = Some(self.gnu_sparse(h, stored)?);
        }

        // PAX records (globals, then locals), then a PAX sparse map they describe.
        let mut pax_sparse = self.apply_records(&mut e, &mut bits, &mut stored, &exts.locals)?;
        if !has_data {
            stored = 0;
        }
        // A PAX `size` record may change the stored size the old GNU map was checked
        // against: the map must still describe exactly what is stored.
        if let Some(s) = &sparse {
            let total: u64 = s.chunks.iter().map(|c| c.1).sum();
            if total != stored {
                return Err(self.err(format!(
                    "sparse map describes {} bytes but the member stores {}",
                    total, stored
                )));
            }
        }
        if let Some(real) = pax_sparse.real_size.filter(|_| has_data) {
            bits |= ext::SPARSE;
            sparse = Some(self.pax_sparse(&mut e, &mut pax_sparse, real, &mut stored)?);
        }
        let header = if exts.had_local || bits & ext::GLOBAL != 0 {
            HeaderFormat::Pax
        } else {
            hfmt
        };
        e.format = Some(Format { header, ext: bits });
        e.size = match &sparse {
            Some(s) => s.real_size,
            None if kind == Kind::Dir => 0,
            None => stored,
        };
        self.current = Some(crate::entry::display_bytes(&e.path));
        self.remaining = stored;
        self.padding = pad(stored);
        // For PAX 1.0 sparse the map blocks were part of the stored size; the padding is
        // computed from the full stored size.
        if pax_sparse.major == Some(1) && pax_sparse.real_size.is_some() && has_data {
            self.padding = pad(pax_sparse.stored_total);
        }
        self.frame_member(h, hfmt, &mut e, sparse.is_none() && has_data)?;
        self.sparse = sparse;
        self.members += 1;
        Ok(e)
    }

    /// A member's values from its own header block, a GNU long name and long link name
    /// taking the place of the `name` and `linkname` fields. Sets `self.current` (the
    /// member error messages name) as soon as the path is known.
    fn header_fields(
        &mut self,
        h: &Header,
        hfmt: HeaderFormat,
        longname: Option<Vec<u8>>,
        longlink: Option<Vec<u8>>,
        bits: &mut u32,
    ) -> Result<TarEntry, ErrorKind> {
        let mut e = TarEntry {
            index: self.members,
            ..TarEntry::default()
        };
        let (path, used_prefix) = h.path(hfmt);
        if used_prefix {
            *bits |= ext::PREFIX;
        }
        e.path = match longname {
            Some(n) => {
                *bits |= ext::GNU_LONGNAME;
                n
            }
            None => path,
        };
        self.current = Some(crate::entry::display_bytes(&e.path));
        let mode = self.unum(h, off::MODE, "mode")?;
        e.mode = u32::try_from(mode).map_err(|_| self.err("header field mode is out of range"))?;
        e.uid = self.unum(h, off::UID, "uid")?;
        e.gid = self.unum(h, off::GID, "gid")?;
        e.mtime = Timestamp::from_secs(self.num(h, off::MTIME, "mtime")?);
        if hfmt != HeaderFormat::V7 {
            e.uname = h.field(off::UNAME).to_vec();
            e.gname = h.field(off::GNAME).to_vec();
        }
        if hfmt == HeaderFormat::Gnu {
            e.atime = gnu_time(h, off::GNU_ATIME, bits);
            e.ctime = gnu_time(h, off::GNU_CTIME, bits);
        }
        e.link = match longlink {
            Some(l) => {
                *bits |= ext::GNU_LONGLINK;
                l
            }
            None => h.field(off::LINKNAME).to_vec(),
        };
        Ok(e)
    }

    /// The member's kind from its type byte; for a device, its numbers from the header
    /// (a v7 header has none; PAX records may give them later).
    fn kind_and_device(
        &self,
        h: &Header,
        hfmt: HeaderFormat,
        e: &mut TarEntry,
    ) -> Result<Kind, ErrorKind> {
        let kind = member_kind(h.typeflag(), hfmt, &e.path);
        if matches!(kind, Kind::CharDevice | Kind::BlockDevice) && hfmt != HeaderFormat::V7 {
            e.device = Some((
                self.unum(h, off::DEVMAJOR, "devmajor")?,
                self.unum(h, off::DEVMINOR, "devminor")?,
            ));
        }
        e.kind = Some(kind);
        Ok(kind)
    }

    /// Apply the PAX records to a member: the globals first (unless a local record
    /// overrides or deletes them), then the locals, in order. The globals stay in force
    /// for the members after it, whatever happens. Returns what the GNU sparse records
    /// said (`stored`: the stored size so far, which a `size` record replaces).
    fn apply_records(
        &mut self,
        e: &mut TarEntry,
        bits: &mut u32,
        stored: &mut u64,
        locals: &[pax::Record],
    ) -> Result<PaxSparse, ErrorKind> {
        let mut pax_sparse = PaxSparse {
            stored_total: *stored,
            ..PaxSparse::default()
        };
        if !self.globals.is_empty() {
            *bits |= ext::GLOBAL;
        }
        let globals = std::mem::take(&mut self.globals);
        let applied: Vec<&pax::Record> = globals
            .iter()
            .filter(|(k, _)| !locals.iter().any(|(lk, _)| lk == k))
            .chain(
                locals
                    .iter()
                    .filter(|(k, v)| !v.is_empty() || is_xattr_key(k) || deletes_field(k)),
            )
            .collect();
        let res = (|| {
            for (k, v) in &applied {
                self.apply_pax(e, bits, &mut pax_sparse, stored, k, v)?;
            }
            Ok::<(), ErrorKind>(())
        })();
        self.globals = globals;
        res.map(|()| pax_sparse)
    }

    /// The sparse map of a PAX sparse member (`real`: its expanded size): from the
    /// `GNU.sparse.*` records (0.0, 0.1), or read from the start of its data (1.0, whose
    /// map blocks then no longer count as stored content). `GNU.sparse.name` is the
    /// member's path.
    fn pax_sparse(
        &mut self,
        e: &mut TarEntry,
        pax_sparse: &mut PaxSparse,
        real: u64,
        stored: &mut u64,
    ) -> Result<Sparse, ErrorKind> {
        let chunks = if pax_sparse.major == Some(1) {
            self.remaining = *stored;
            let (chunks, used) = self.pax1_sparse_map()?;
            *stored -= used.min(*stored);
            chunks
        } else {
            std::mem::take(&mut pax_sparse.chunks)
        };
        if let Some(name) = pax_sparse.name.take() {
            e.path = name;
        }
        self.check_sparse(chunks, real, *stored)
    }

    /// The member's framing digest (see [`framing`]): its extension headers, its own
    /// header block, the blocks read while its header was parsed (sparse maps), and a
    /// GNU dumpdir's data, which is passed here. `plain_size`: not sparse, has data.
    fn frame_member(
        &mut self,
        h: &Header,
        hfmt: HeaderFormat,
        e: &mut TarEntry,
        plain_size: bool,
    ) -> Result<(), ErrorKind> {
        let kind = e.kind();
        let pieces = std::mem::take(&mut self.pending);
        let captured = self.captured.take().unwrap_or_default();
        let mut fr = framing::Framing::default();
        let mut spellings: [Option<Vec<u8>>; 3] = Default::default();
        for piece in &pieces {
            frame_piece(&mut fr, piece, e, kind, plain_size, &mut spellings);
        }
        e.time_spellings = spellings;
        fr.block(h.0, &main_used(h, hfmt, e, kind));
        fr.raw(&captured);
        if h.typeflag() == b'D' {
            // A dumpdir's data is no content: it is framing (one stream, whatever the
            // reads' sizes).
            let n = std::mem::take(&mut self.remaining);
            let p = std::mem::take(&mut self.padding);
            fr.data_start(n + p);
            self.pass(n + p, &mut |b| fr.data(b))?;
        }
        e.framing = fr.finish();
        Ok(())
    }

    /// Apply one PAX record to a member. Each keyword is one family's: the header's
    /// own fields, ACLs and device numbers, the GNU sparse records, and the rest
    /// (xattrs, and any other record, kept as `pax.KEYWORD`).
    fn apply_pax(
        &self,
        e: &mut TarEntry,
        bits: &mut u32,
        sp: &mut PaxSparse,
        stored: &mut u64,
        k: &[u8],
        v: &[u8],
    ) -> Result<(), ErrorKind> {
        if self.apply_header_record(e, bits, sp, stored, k, v)?
            || self.apply_acl_or_device_record(e, bits, k, v)?
            || self.apply_sparse_record(bits, sp, k, v)?
        {
            return Ok(());
        }
        self.apply_other_record(e, bits, k, v)
    }

    /// The error for a PAX record `what` whose value `v` cannot be read.
    fn bad_pax_value(&self, what: &str, v: &[u8]) -> ErrorKind {
        self.err(format!(
            "PAX record {} has a bad value {:?}",
            what,
            String::from_utf8_lossy(&v[..v.len().min(40)])
        ))
    }

    /// A record that takes the place of a header field (`path`, `size`, `mtime`, ...,
    /// and `atime` and `ctime`). `Ok(false)` for any other keyword.
    fn apply_header_record(
        &self,
        e: &mut TarEntry,
        bits: &mut u32,
        sp: &mut PaxSparse,
        stored: &mut u64,
        k: &[u8],
        v: &[u8],
    ) -> Result<bool, ErrorKind> {
        let bad = |what: &str| self.bad_pax_value(what, v);
        match k {
            b"path" => {
                e.path = v.to_vec();
                *bits |= ext::PATH;
            }
            b"linkpath" => {
                e.link = v.to_vec();
                *bits |= ext::LINKPATH;
            }
            b"size" => {
                *stored = pax::parse_u64(v).ok_or_else(|| bad("size"))?;
                sp.stored_total = *stored;
                *bits |= ext::SIZE;
            }
            b"uid" => {
                e.uid = pax::parse_u64(v).ok_or_else(|| bad("uid"))?;
                *bits |= ext::UID;
            }
            b"gid" => {
                e.gid = pax::parse_u64(v).ok_or_else(|| bad("gid"))?;
                *bits |= ext::GID;
            }
            b"uname" => {
                e.uname = v.to_vec();
                *bits |= ext::UNAME;
            }
            b"gname" => {
                e.gname = v.to_vec();
                *bits |= ext::GNAME;
            }
            // A time that does not parse is ignored, as GNU tar, bsdtar and Python
            // ignore it (Go refuses the archive): the header's mtime stays, and
            // `format` says a value was ignored.
            b"mtime" | b"atime" | b"ctime" => match Timestamp::parse_pax(v) {
                Some(t) if k == b"mtime" => {
                    e.mtime = t;
                    *bits |= ext::MTIME;
                }
                Some(t) if k == b"atime" => {
                    e.atime = Some(t);
                    *bits |= ext::ATIME;
                }
                Some(t) => {
                    e.ctime = Some(t);
                    *bits |= ext::CTIME;
                }
                None => *bits |= ext::IGNORED,
            },
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// A star ACL (`SCHILY.acl.*`) or device number (`SCHILY.devmajor`,
    /// `SCHILY.devminor`) record. `Ok(false)` for any other keyword.
    fn apply_acl_or_device_record(
        &self,
        e: &mut TarEntry,
        bits: &mut u32,
        k: &[u8],
        v: &[u8],
    ) -> Result<bool, ErrorKind> {
        match k {
            b"SCHILY.acl.access" => {
                e.acls.push(("access", v.to_vec()));
                *bits |= ext::ACL;
            }
            b"SCHILY.acl.default" => {
                e.acls.push(("default", v.to_vec()));
                *bits |= ext::ACL;
            }
            b"SCHILY.acl.ace" => {
                e.acls.push(("nfs4", v.to_vec()));
                *bits |= ext::ACL;
            }
            b"SCHILY.devmajor" | b"SCHILY.devminor" => {
                let n = pax::parse_u64(v).ok_or_else(|| self.bad_pax_value("SCHILY.dev*", v))?;
                let d = e.device.get_or_insert((0, 0));
                if k == b"SCHILY.devmajor" {
                    d.0 = n;
                } else {
                    d.1 = n;
                }
                *bits |= ext::OTHER;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// A GNU sparse record (PAX sparse 0.0, 0.1 and 1.0), gathered in `sp` until all of
    /// the member's records are read. `Ok(false)` for any other keyword (an unknown
    /// `GNU.sparse.*` one too).
    fn apply_sparse_record(
        &self,
        bits: &mut u32,
        sp: &mut PaxSparse,
        k: &[u8],
        v: &[u8],
    ) -> Result<bool, ErrorKind> {
        let bad = |what: &str| self.bad_pax_value(what, v);
        match k {
            b"GNU.sparse.major" => {
                sp.major = pax::parse_u64(v);
                *bits |= ext::SPARSE;
            }
            b"GNU.sparse.minor" => {
                *bits |= ext::SPARSE;
            }
            b"GNU.sparse.name" => {
                sp.name = Some(v.to_vec());
                *bits |= ext::SPARSE;
            }
            b"GNU.sparse.realsize" | b"GNU.sparse.size" => {
                sp.real_size = Some(pax::parse_u64(v).ok_or_else(|| bad("GNU.sparse.size"))?);
                *bits |= ext::SPARSE;
            }
            b"GNU.sparse.numblocks" => {
                *bits |= ext::SPARSE;
            }
            b"GNU.sparse.offset" => {
                let o = pax::parse_u64(v).ok_or_else(|| bad("GNU.sparse.offset"))?;
                sp.pending_offset = Some(o);
            }
            b"GNU.sparse.numbytes" => {
                let n = pax::parse_u64(v).ok_or_else(|| bad("GNU.sparse.numbytes"))?;
                let o = sp
                    .pending_offset
                    .take()
                    .ok_or_else(|| bad("GNU.sparse.numbytes"))?;
                if sp.chunks.len() >= self.limits.max_sparse_chunks {
                    return Err(self.err("too many sparse chunks"));
                }
                sp.chunks.push((o, n));
            }
            b"GNU.sparse.map" => {
                let nums: Option<Vec<u64>> = if v.is_empty() {
                    Some(Vec::new())
                } else {
                    v.split(|&b| b == b',').map(pax::parse_u64).collect()
                };
                let nums = nums.ok_or_else(|| bad("GNU.sparse.map"))?;
                if nums.len() % 2 != 0 || nums.len() / 2 > self.limits.max_sparse_chunks {
                    return Err(bad("GNU.sparse.map"));
                }
                sp.chunks = nums.chunks(2).map(|c| (c[0], c[1])).collect();
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Any other record: an xattr (`SCHILY.xattr.*`, `LIBARCHIVE.xattr.*`, GNU tar's
    /// `RHT.security.selinux`), or a record compared as `pax.KEYWORD`.
    fn apply_other_record(
        &self,
        e: &mut TarEntry,
        bits: &mut u32,
        k: &[u8],
        v: &[u8],
    ) -> Result<(), ErrorKind> {
        if let Some(name) = k.strip_prefix(b"SCHILY.xattr.") {
            e.xattrs.push((name.to_vec(), v.to_vec()));
            *bits |= ext::XATTR;
        } else if let Some(name) = k.strip_prefix(b"LIBARCHIVE.xattr.") {
            let val =
                pax::base64_decode(v).ok_or_else(|| self.bad_pax_value("LIBARCHIVE.xattr", v))?;
            let name = pax::url_decode(name);
            // bsdtar writes both forms for the same attribute; one is enough.
            if !e.xattrs.iter().any(|(n, _)| *n == name) {
                e.xattrs.push((name, val));
            }
            *bits |= ext::LIBARCHIVE_XATTR;
        } else if k == b"RHT.security.selinux" {
            // GNU tar --selinux; libarchive reads it as this xattr.
            e.xattrs.push((b"security.selinux".to_vec(), v.to_vec()));
            *bits |= ext::OTHER;
        } else {
            // Any other record (SCHILY.fflags, LIBARCHIVE.creationtime, a vendor's
            // keyword) is compared as `pax.KEYWORD`, not dropped.
            e.other.retain(|(ok, _)| ok.as_slice() != k);
            e.other.push((k.to_vec(), v.to_vec()));
            *bits |= ext::OTHER;
        }
        Ok(())
    }

    /// Read the old GNU sparse map from the header and its extension blocks.
    fn gnu_sparse(&mut self, h: &Header, stored: u64) -> Result<Sparse, ErrorKind> {
        let mut chunks = Vec::new();
        let push_from = |s: &Self, area: &[u8], chunks: &mut Vec<(u64, u64)>| {
            for ent in area.chunks_exact(24) {
                if ent[0] == 0 {
                    break;
                }
                let o = header::parse_numeric(&ent[..12]);
                let n = header::parse_numeric(&ent[12..]);
                match (o, n) {
                    (Ok(o), Ok(n)) if o >= 0 && n >= 0 => chunks.push((o as u64, n as u64)),
                    _ => return Err(s.err("bad GNU sparse map entry")),
                }
            }
            Ok(())
        };
        push_from(self, &h.0[off::GNU_SPARSE], &mut chunks)?;
        let real = self.unum(h, off::GNU_REALSIZE, "realsize")?;
        let mut extended = h.0[off::GNU_ISEXTENDED] != 0;
        let mut block = [0u8; BLOCK];
        while extended {
            if !self.read_block(&mut block)? {
                return Err(self.err("truncated: stream ends inside the GNU sparse map"));
            }
            push_from(self, &block[..504], &mut chunks)?;
            if chunks.len() > self.limits.max_sparse_chunks {
                return Err(self.err("too many sparse chunks"));
            }
            extended = block[504] != 0;
        }
        self.check_sparse(chunks, real, stored)
    }

    /// Read the PAX 1.0 sparse map at the start of the member's data. Returns the map and
    /// the number of stored bytes it used (a multiple of 512).
    fn pax1_sparse_map(&mut self) -> Result<(Vec<(u64, u64)>, u64), ErrorKind> {
        let mut nums: Vec<u64> = Vec::new();
        let mut want: Option<u64> = None;
        let mut cur: Option<u64> = None;
        let mut used = 0u64;
        let mut block = [0u8; BLOCK];
        loop {
            if self.remaining < BLOCK as u64 {
                return Err(self.err("PAX sparse map runs past the member's data"));
            }
            if !self.read_block(&mut block)? {
                return Err(self.err("truncated: stream ends inside the PAX sparse map"));
            }
            self.remaining -= BLOCK as u64;
            used += BLOCK as u64;
            for &b in &block {
                match b {
                    b'0'..=b'9' => {
                        let d = u64::from(b - b'0');
                        cur = Some(
                            cur.unwrap_or(0)
                                .checked_mul(10)
                                .and_then(|c| c.checked_add(d))
                                .ok_or_else(|| self.err("PAX sparse map number out of range"))?,
                        );
                    }
                    b'\n' => {
                        let n = cur.take().ok_or_else(|| self.err("bad PAX sparse map"))?;
                        match want {
                            None => {
                                if n as usize > self.limits.max_sparse_chunks {
                                    return Err(self.err("too many sparse chunks"));
                                }
                                want = Some(n * 2);
                            }
                            Some(_) => nums.push(n),
                        }
                        if want == Some(nums.len() as u64) {
                            let chunks = nums.chunks(2).map(|c| (c[0], c[1])).collect();
                            self.remaining = 0;
                            return Ok((chunks, used));
                        }
                    }
                    _ => {
                        if want.is_some() && want == Some(nums.len() as u64) {
                            break;
                        }
                        return Err(self.err("bad PAX sparse map"));
                    }
                }
            }
        }
    }

    fn check_sparse(
        &self,
        mut chunks: Vec<(u64, u64)>,
        real_size: u64,
        stored: u64,
    ) -> Result<Sparse, ErrorKind> {
        // GNU tar ends some maps with a zero-length chunk at the real size.
        chunks.retain(|&(_, n)| n > 0);
        let mut end = 0u64;
        let mut total = 0u64;
        for &(o, n) in &chunks {
            let e = o
                .checked_add(n)
                .ok_or_else(|| self.err("sparse chunk out of range"))?;
            if o < end || e > real_size {
                return Err(self.err("sparse map chunks overlap or exceed the file size"));
            }
            end = e;
            total += n;
        }
        if total != stored {
            return Err(self.err(format!(
                "sparse map describes {} bytes but the member stores {}",
                total, stored
            )));
        }
        Ok(Sparse {
            chunks,
            real_size,
            next_chunk: 0,
            pos: 0,
        })
    }

    /// Stream the current member's content (sparse files expanded with zeros) to `f`;
    /// then [`TarReader::padding_sha`] describes the padding after it.
    pub fn read_data(&mut self, f: &mut dyn FnMut(&[u8])) -> Result<(), ErrorKind> {
        match self.sparse.take() {
            None => {
                let n = self.remaining;
                self.remaining = 0;
                self.pass(n, f)?;
            }
            Some(mut s) => {
                while s.next_chunk < s.chunks.len() {
                    let (o, n) = s.chunks[s.next_chunk];
                    self.holes(o - s.pos, f)?;
                    self.remaining = self
                        .remaining
                        .checked_sub(n)
                        .ok_or_else(|| self.err("sparse map describes more than is stored"))?;
                    self.pass(n, f)?;
                    s.pos = o + n;
                    s.next_chunk += 1;
                }
                self.holes(s.real_size - s.pos, f)?;
            }
        }
        self.read_padding()
    }
}

/// A member's kind from its type byte.
fn member_kind(tf: u8, hfmt: HeaderFormat, path: &[u8]) -> Kind {
    match tf {
        // A regular file whose name ends in `/` is a directory where the type is
        // the old `\0` (any format, as GNU tar, bsdtar, Go and Python read it) or
        // in a v7 header.
        b'0' | 0 | b'7' | b'S' => {
            let v7_or_old = tf == 0 || (tf == b'0' && hfmt == HeaderFormat::V7);
            if v7_or_old && path.ends_with(b"/") {
                Kind::Dir
            } else {
                Kind::File
            }
        }
        b'1' => Kind::Hardlink,
        b'2' => Kind::Symlink,
        b'3' => Kind::CharDevice,
        b'4' => Kind::BlockDevice,
        b'5' | b'D' => Kind::Dir,
        b'6' => Kind::Fifo,
        // Unknown types: extracted as regular files by GNU tar, bsdtar and Python
        // (the type byte itself is in the framing digest).
        _ => Kind::File,
    }
}

/// Which fields of a member's own header block hold the values its entry compares
/// (read from them, or equal to what a PAX record or long name gave).
fn main_used(h: &Header, hfmt: HeaderFormat, e: &TarEntry, kind: Kind) -> framing::Used {
    let num = |r| framing::field_value(h.0, r);
    let same = |r, v: u64| num(r).is_some_and(|n| u64::try_from(n) == Ok(v));
    let (path, used_prefix) = h.path(hfmt);
    let gnu_time = |r: std::ops::Range<usize>, t: Option<Timestamp>| {
        hfmt == HeaderFormat::Gnu && h.0[r.start] != 0 && t.is_some_and(|t| Some(t.secs) == num(r))
    };
    framing::Used {
        name: match (path == e.path, used_prefix) {
            (false, _) => framing::NameUse::Raw,
            (true, false) => framing::NameUse::Name,
            (true, true) => framing::NameUse::NameAndPrefix,
        },
        mode: true,
        uid: same(off::UID, e.uid),
        gid: same(off::GID, e.gid),
        size: same(off::SIZE, e.size),
        mtime: num(off::MTIME) == Some(e.mtime.secs),
        linkname: h.field(off::LINKNAME) == e.link.as_slice() && link_compared(kind, &e.link),
        uname: hfmt != HeaderFormat::V7 && h.field(off::UNAME) == e.uname.as_slice(),
        gname: hfmt != HeaderFormat::V7 && h.field(off::GNAME) == e.gname.as_slice(),
        dev: framing::has_device(kind)
            && e.device
                .is_some_and(|(a, b)| same(off::DEVMAJOR, a) && same(off::DEVMINOR, b)),
        gnu_atime: gnu_time(off::GNU_ATIME, e.atime),
        gnu_ctime: gnu_time(off::GNU_CTIME, e.ctime),
    }
}

/// Feed one extension header of a member into its framing digest. `plain_size`: the
/// member's size is its stored size (not sparse, has data), so a PAX `size` record
/// equal to it is explained by the `size` field.
fn frame_piece(
    fr: &mut framing::Framing,
    piece: &Piece,
    e: &TarEntry,
    kind: Kind,
    plain_size: bool,
    spellings: &mut [Option<Vec<u8>>; 3],
) {
    let (typeflag, block, data, pad) = match piece {
        Piece::Raw(b) => {
            fr.raw(b);
            return;
        }
        Piece::Ext {
            typeflag,
            block,
            data,
            pad,
        } => (*typeflag, block, data, pad),
    };
    // The extension header's own block: its size is the length of the data that
    // follows; its mtime, where it is the member's, is explained by `mtime`.
    let used = framing::Used {
        size: true,
        mtime: framing::field_value(block, off::MTIME) == Some(e.mtime.secs),
        ..framing::Used::default()
    };
    fr.block(block, &used);
    match typeflag {
        b'x' => fr.pax(data, &mut |k, v| {
            let time = match k {
                b"mtime" => Some((0, Some(e.mtime))),
                b"atime" => Some((1, e.atime)),
                b"ctime" => Some((2, e.ctime)),
                _ => None,
            };
            match time {
                Some((i, t)) => match framing::time_use(v, t) {
                    framing::ValueUse::Shape => {
                        spellings[i] = Some(framing::digit_shape(v));
                        framing::ValueUse::Masked
                    }
                    other => other,
                },
                None => pax_value_use(k, v, e, kind, plain_size),
            }
        }),
        b'L' if header::cstr(data) == e.path.as_slice() => {
            fr.raw(&(data.len() as u64).to_le_bytes());
            fr.string_rest(data)
        }
        b'K' if header::cstr(data) == e.link.as_slice() && link_compared(kind, &e.link) => {
            fr.raw(&(data.len() as u64).to_le_bytes());
            fr.string_rest(data)
        }
        _ => fr.raw(data),
    }
    fr.padding(pad);
}

/// How a local PAX record's value goes into the framing digest: left out where it is
/// the value a compared field holds, in rdiff's spelling.
fn pax_value_use(
    k: &[u8],
    v: &[u8],
    e: &TarEntry,
    kind: Kind,
    plain_size: bool,
) -> framing::ValueUse {
    use framing::{ValueUse, decimal_used};
    let masked = |b: bool| if b { ValueUse::Masked } else { ValueUse::Raw };
    match k {
        b"path" => masked(v == e.path.as_slice()),
        b"linkpath" => masked(v == e.link.as_slice() && link_compared(kind, &e.link)),
        b"SCHILY.acl.access" => acl_text_use(v, e, "access"),
        b"SCHILY.acl.default" => acl_text_use(v, e, "default"),
        b"size" => masked(plain_size && decimal_used(v, e.size)),
        b"uid" => masked(decimal_used(v, e.uid)),
        b"gid" => masked(decimal_used(v, e.gid)),
        b"uname" => masked(v == e.uname.as_slice()),
        b"gname" => masked(v == e.gname.as_slice()),
        b"SCHILY.devmajor" => {
            masked(framing::has_device(kind) && e.device.is_some_and(|d| decimal_used(v, d.0)))
        }
        b"SCHILY.devminor" => {
            masked(framing::has_device(kind) && e.device.is_some_and(|d| decimal_used(v, d.1)))
        }
        b"RHT.security.selinux" => masked(final_xattr(e, b"security.selinux") == Some(v)),
        _ if e
            .other
            .iter()
            .any(|(ok, ov)| ok.as_slice() == k && ov.as_slice() == v) =>
        {
            ValueUse::Masked
        }
        _ => match k.strip_prefix(b"SCHILY.xattr.") {
            // ACLs stored as xattrs are compared as canonical text: their bytes are
            // left out only where that text gives them back exactly.
            Some(name) if name.starts_with(b"system.posix_acl_") => masked(
                final_xattr(e, name) == Some(v)
                    && crate::meta::decode_posix_acl_xattr(v)
                        .and_then(|t| crate::meta::encode_posix_acl_xattr(&t))
                        .is_some_and(|b| b == v),
            ),
            Some(name) => masked(final_xattr(e, name) == Some(v)),
            _ => ValueUse::Raw,
        },
    }
}

/// The value an xattr ends up with (the last record of that name wins).
fn final_xattr<'a>(e: &'a TarEntry, name: &[u8]) -> Option<&'a [u8]> {
    e.xattrs
        .iter()
        .rev()
        .find(|(n, _)| n.as_slice() == name)
        .map(|(_, v)| v.as_slice())
}

/// Whether a link name is what a compared field holds: a symlink's target as stored;
/// a hardlink's target only where it is already in normalized form (`hardlink_target`
/// is compared normalized, so `./x` and `x` would otherwise look the same).
fn link_compared(kind: Kind, link: &[u8]) -> bool {
    match kind {
        Kind::Symlink => true,
        Kind::Hardlink => crate::entry::is_normalized(link),
        _ => false,
    }
}

/// How a PAX ACL text goes into the framing digest: the ACL the entry ends up with
/// (binary `system.posix_acl_*` xattrs, where present, win over the text) is compared
/// as canonical text, so the text is left out where it is that text, and otherwise
/// only its permissions are where they line up with it (user and group names, which
/// the comparison does not show, stay in).
fn acl_text_use(v: &[u8], e: &TarEntry, kind: &str) -> framing::ValueUse {
    use framing::ValueUse;
    let xattr = match kind {
        "access" => &b"system.posix_acl_access"[..],
        _ => b"system.posix_acl_default",
    };
    let compared = match final_xattr(e, xattr).and_then(crate::meta::decode_posix_acl_xattr) {
        Some(text) => text,
        None => match e.acls.iter().rev().find(|(k, _)| *k == kind) {
            Some((_, t)) if t.as_slice() == v => crate::meta::canonical_acl_text(v),
            _ => return ValueUse::Raw,
        },
    };
    if compared.as_bytes() == v {
        return ValueUse::Masked;
    }
    match crate::meta::acl_text_residue(v, &compared) {
        Some(r) => ValueUse::Residue(r),
        None => ValueUse::Raw,
    }
}

/// A GNU header's atime or ctime field (`None` when it is empty). A field that is not
/// a number (pre-Go-1.8 writers put part of a long name there) is ignored, as GNU tar
/// and Python ignore these fields and bsdtar reads what digits it finds; `format` then
/// says a value was ignored.
fn gnu_time(h: &Header, r: std::ops::Range<usize>, bits: &mut u32) -> Option<Timestamp> {
    if h.0[r.start] == 0 {
        return None;
    }
    match h.num(r) {
        Ok(secs) => {
            *bits |= ext::GNU_TIMES;
            Some(Timestamp::from_secs(secs))
        }
        Err(_) => {
            *bits |= ext::IGNORED;
            None
        }
    }
}

/// Turn the pending extension headers of type `typeflag` into plain framing bytes: a
/// later header of the same type took their place.
fn supersede(pending: &mut [Piece], typeflag: u8) {
    for p in pending.iter_mut() {
        if let Piece::Ext {
            typeflag: t,
            block,
            data,
            pad,
        } = p
            && *t == typeflag
        {
            *p = Piece::Raw([&block[..], data, pad].concat());
        }
    }
}

/// Keys whose empty value deletes the header's field, leaving it empty (POSIX: "it
/// shall delete any header block field ... of the same name"), as GNU tar and Python
/// read a global or local `uname=`. For numbers an empty value keeps the header's
/// (GNU tar, bsdtar and Go keep it; there is no empty number).
fn deletes_field(k: &[u8]) -> bool {
    matches!(k, b"path" | b"linkpath" | b"uname" | b"gname")
}

/// Keys whose empty value is an (empty) attribute, not a deletion.
fn is_xattr_key(k: &[u8]) -> bool {
    k.starts_with(b"SCHILY.xattr.") || k.starts_with(b"LIBARCHIVE.xattr.")
}

fn zeros(mut n: u64, f: &mut dyn FnMut(&[u8])) {
    while n > 0 {
        let k = n.min(ZEROS.len() as u64) as usize;
        f(&ZEROS[..k]);
        n -= k as u64;
    }
}

/// What the extension headers before a member said about it.
#[derive(Default)]
struct Extensions {
    /// PAX local records, in order.
    locals: Vec<pax::Record>,
    /// Whether a PAX local header was read (even one without records).
    had_local: bool,
    /// GNU long name (`L`).
    longname: Option<Vec<u8>>,
    /// GNU long link name (`K`).
    longlink: Option<Vec<u8>>,
    /// An extension header of a kind already read for this member took the earlier
    /// one's place.
    superseded: bool,
    /// Offset of the member's first header: its first extension header, if any (a
    /// global header or a volume label before it is not the member's).
    first_offset: Option<u64>,
}

#[derive(Default)]
struct PaxSparse {
    major: Option<u64>,
    name: Option<Vec<u8>>,
    real_size: Option<u64>,
    chunks: Vec<(u64, u64)>,
    pending_offset: Option<u64>,
    stored_total: u64,
}
