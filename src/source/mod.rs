//! Sources: turn an input (a tarball in any compression, a directory, standard input)
//! into a sorted set of normalized entries. Sources know formats and nothing about
//! comparison: the contents of small files go to a [`ContentSink`] the caller gives
//! (the comparison's keeper decides what to hold), and that is all a source hands out
//! besides its entries.

pub mod compress;
pub mod compress_facts;
pub mod dir;
pub mod hash;
pub mod mmap;
pub mod nested;
pub mod sniff;
pub mod tar;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::PathBuf;
use std::sync::atomic::Ordering;

use crate::entry::{Bytes, Entry, Kind, normalize_path};
use crate::error::{Error, ErrorKind, Result};
use compress::{Compression, Counting};
use tar::{TarEntry, TarReader};

/// An input as the user named it.
#[derive(Clone, Debug)]
pub struct Input {
    /// The name used in messages and reports.
    pub name: String,
    /// `None` reads standard input.
    pub path: Option<PathBuf>,
}

impl Input {
    pub fn from_arg(arg: impl AsRef<std::ffi::OsStr>) -> Input {
        let arg = arg.as_ref();
        if arg == "-" {
            Input {
                name: "-".into(),
                path: None,
            }
        } else {
            Input {
                name: crate::entry::display_bytes(std::os::unix::ffi::OsStrExt::as_bytes(arg)),
                path: Some(PathBuf::from(arg)),
            }
        }
    }

    fn err(&self, kind: impl Into<ErrorKind>) -> Error {
        Error::new(self.name.clone(), kind)
    }
}

/// What kind of source an input turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SourceKind {
    Tar,
    Directory,
    /// Image layers flattened: tar facts, but no one archive order.
    Squashed,
    /// The members of a nested zip or ar archive, or a compressed stream's one member:
    /// an order, no tar facts.
    Members,
}

/// Which entry fields a source can carry at all. A field is compared only where both
/// sides can carry it (a directory has no member order, tar header format or path
/// spelling; its atime and ctime are not reproducible, so they are not read).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Carries {
    pub order: bool,
    pub format: bool,
    pub spelling: bool,
    pub atime_ctime: bool,
}

impl SourceKind {
    pub fn carries(self) -> Carries {
        match self {
            SourceKind::Tar => Carries {
                order: true,
                format: true,
                spelling: true,
                atime_ctime: true,
            },
            SourceKind::Directory => Carries {
                order: false,
                format: false,
                spelling: false,
                atime_ctime: false,
            },
            SourceKind::Squashed => Carries {
                order: false,
                format: true,
                spelling: true,
                atime_ctime: true,
            },
            SourceKind::Members => Carries {
                order: true,
                format: false,
                spelling: false,
                atime_ctime: false,
            },
        }
    }
}

/// Facts about one input, for the report.
#[derive(Clone, Debug)]
pub struct InputInfo {
    pub name: String,
    pub kind: SourceKind,
    pub compression: Option<Compression>,
    /// Entries after duplicate paths were resolved.
    pub entries: u64,
    /// Bytes read from the input (compressed size for a file).
    pub bytes: u64,
    /// Bytes of the tar stream (uncompressed).
    pub tar_bytes: u64,
    /// Whether it can be read a second time (not standard input).
    pub rereadable: bool,
    /// SHA-256 of the input's bytes as given (a file or a stream; not a directory).
    pub sha256: Option<crate::entry::Digest>,
    /// What follows the last member of a tar stream.
    pub trailer: Option<tar::Trailer>,
    /// The parameters its compression's headers carry (see `compress_facts`).
    pub compression_params: Vec<compress_facts::Param>,
    /// SHA-256 of the decompressed stream, where it was taken while reading: for a
    /// stream (standard input, a FIFO), which cannot be decompressed a second time to
    /// say whether only its compressed bytes differ (see [`decoded_sha256`]).
    pub decoded_sha256: Option<crate::entry::Digest>,
}

impl InputInfo {
    /// Facts about an input of this name and kind, with nothing read yet.
    pub fn new(name: impl Into<String>, kind: SourceKind) -> Self {
        InputInfo {
            name: name.into(),
            kind,
            compression: None,
            entries: 0,
            bytes: 0,
            tar_bytes: 0,
            rereadable: true,
            sha256: None,
            trailer: None,
            compression_params: Vec::new(),
            decoded_sha256: None,
        }
    }
}

/// The entries of one input, sorted by normalized path, one entry per path.
#[derive(Clone, Debug)]
pub struct EntrySet {
    pub entries: Vec<Entry>,
    pub info: InputInfo,
}

impl EntrySet {
    pub fn get(&self, path: &[u8]) -> Option<&Entry> {
        self.entries
            .binary_search_by(|e| (*e.path).cmp(path))
            .ok()
            .map(|i| &self.entries[i])
    }
}

impl AsRef<EntrySet> for EntrySet {
    fn as_ref(&self) -> &EntrySet {
        self
    }
}

/// Options for reading.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    pub tar_limits: tar::Limits,
    /// Bytes read, for the progress bar (the counter and the side it counts).
    pub progress: Option<ProgressSide>,
    /// Entries the input is expected to have (0: unknown). With `--low-memory` the side
    /// read second is sized from the first, so its list does not double past the need.
    pub entries_hint: u64,
}

impl ReadOptions {
    /// These options with the progress counted for side `i` (0 left, 1 right).
    pub fn for_side(
        &self,
        progress: Option<&std::sync::Arc<crate::progress::Progress>>,
        i: usize,
    ) -> ReadOptions {
        ReadOptions {
            progress: progress.map(|p| (p.clone(), i)),
            ..self.clone()
        }
    }
}

/// Where a source hands the contents of regular files it reads, besides hashing them:
/// asked before the data is read (`wants`, by size), given the bytes and their SHA-256
/// after. The comparison's keeper is one; [`NoContent`] wants nothing.
pub trait ContentSink: Sync {
    /// Whether the content of the regular file at `path` (normalized), of `size` bytes,
    /// is wanted.
    fn wants(&self, path: &[u8], size: u64) -> bool;
    /// A wanted content, whole, with its SHA-256.
    fn content(&self, path: &[u8], digest: crate::entry::Digest, bytes: &[u8]);
}

/// A sink that wants no content.
pub struct NoContent;

impl ContentSink for NoContent {
    fn wants(&self, _: &[u8], _: u64) -> bool {
        false
    }
    fn content(&self, _: &[u8], _: crate::entry::Digest, _: &[u8]) {}
}

/// Read one input completely: its entries, each regular file's content offered to
/// `sink`.
pub fn read_input(input: &Input, opts: &ReadOptions, sink: &dyn ContentSink) -> Result<EntrySet> {
    if let Some(p) = &input.path {
        let meta = std::fs::metadata(p).map_err(|e| input.err(e))?;
        if meta.is_dir() {
            return dir::read_dir(input, p, opts, sink);
        }
    }
    let mut collector = Collector::new(opts, sink);
    let info =
        with_tar_stream_progress(input, &opts.tar_limits, true, opts.progress.clone(), |tr| {
            while let Some(t) = tr.next_entry()? {
                collector.member(tr, t)?;
            }
            Ok(())
        })?;
    Ok(finish_set(collector.entries, info))
}

/// Open a (possibly compressed) tar input and run `f` over its reader. Afterwards the
/// decompressed stream is read to its end, so that a truncated or corrupt compressed
/// stream is an error even when the damage lies after the end-of-archive marker.
pub fn with_tar_stream(
    input: &Input,
    limits: &tar::Limits,
    drain: bool,
    f: impl FnOnce(&mut TarReader<&mut dyn BufRead>) -> Result<(), ErrorKind>,
) -> Result<InputInfo> {
    with_tar_stream_progress(input, limits, drain, None, f)
}

/// A progress counter and the side it counts.
pub type ProgressSide = (std::sync::Arc<crate::progress::Progress>, usize);

/// As `with_tar_stream`, counting bytes read for the progress bar.
pub fn with_tar_stream_progress(
    input: &Input,
    limits: &tar::Limits,
    drain: bool,
    progress: Option<ProgressSide>,
    f: impl FnOnce(&mut TarReader<&mut dyn BufRead>) -> Result<(), ErrorKind>,
) -> Result<InputInfo> {
    let file;
    let mut file_len = None;
    let stdin;
    let raw: Box<dyn BufRead> = match &input.path {
        Some(p) => {
            file = File::open(p).map_err(|e| input.err(e))?;
            let meta = file.metadata().map_err(|e| input.err(e))?;
            if !meta.is_file() {
                // A FIFO, `<(...)`, /dev/stdin: a stream, read once.
                Box::new(BufReader::with_capacity(256 << 10, &file))
            } else {
                let mut head = [0u8; 6];
                let n = read_head(&file, &mut head).map_err(|e| input.err(e))?;
                let len = meta.len();
                file_len = Some(len);
                if Compression::detect(&head[..n]) == Compression::None && len > 0 {
                    // Plain tar: map it and read without copies.
                    // SAFETY: the map is read-only; a file changed underneath while we read
                    // it may give inconsistent data, as any reader would see.
                    let mmap = unsafe { memmap2::Mmap::map(&file) };
                    match mmap {
                        Ok(m) => Box::new(mmap::MmapReader::new(std::sync::Arc::new(m))),
                        Err(_) => Box::new(BufReader::with_capacity(1 << 20, &file)),
                    }
                } else {
                    Box::new(BufReader::with_capacity(256 << 10, &file))
                }
            }
        }
        None => {
            stdin = io::stdin();
            Box::new(BufReader::with_capacity(256 << 10, stdin.lock()))
        }
    };
    let raw: Box<dyn BufRead> = match progress {
        Some(p) => Box::new(ProgressReader { inner: raw, p }),
        None => raw,
    };
    let checks = Checks {
        blob: drain,
        diff_id: drain && file_len.is_none(),
    };
    let facts = read_tar_from(raw, limits, drain, Some(checks), f).map_err(|k| input.err(k))?;
    Ok(InputInfo {
        name: input.name.clone(),
        kind: SourceKind::Tar,
        compression: Some(facts.compression),
        entries: 0,
        bytes: file_len.unwrap_or(facts.raw_bytes),
        tar_bytes: facts.tar_bytes,
        rereadable: input.path.as_ref().is_some_and(|p| p.is_file()),
        sha256: facts.blob_digest,
        trailer: facts.trailer,
        compression_params: facts.params,
        decoded_sha256: facts.diff_id,
    })
}

/// SHA-256 of an input's decompressed stream: taken while it was read, for a stream;
/// read again whole, for a file; `None` for a directory.
pub fn decoded_sha256(
    input: &Input,
    info: &InputInfo,
    limits: &tar::Limits,
) -> Result<Option<crate::entry::Digest>> {
    if info.decoded_sha256.is_some() {
        return Ok(info.decoded_sha256);
    }
    let Some(p) = input.path.as_ref().filter(|p| p.is_file()) else {
        return Ok(None);
    };
    let f = File::open(p).map_err(|e| input.err(e))?;
    let checks = Checks {
        blob: false,
        diff_id: true,
    };
    let facts = read_tar_from(
        Box::new(BufReader::with_capacity(256 << 10, f)),
        limits,
        true,
        Some(checks),
        |tr| {
            while tr.next_entry()?.is_some() {}
            Ok(())
        },
    )
    .map_err(|k| input.err(k))?;
    Ok(facts.diff_id)
}

/// Counts bytes consumed from a raw input for the progress bar.
pub struct ProgressReader<R> {
    pub inner: R,
    pub p: ProgressSide,
}

impl<R: Read> Read for ProgressReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.p.0.add(self.p.1, n as u64);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for ProgressReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.p.0.add(self.p.1, amt as u64);
        self.inner.consume(amt)
    }
}

/// Digests to compute (and sizes to count) while a stream is read: a layer blob's own
/// digest and its diff_id (the digest of the uncompressed tar).
#[derive(Clone, Copy, Debug, Default)]
pub struct Checks {
    pub blob: bool,
    pub diff_id: bool,
}

/// What reading a tar stream found.
#[derive(Clone, Debug)]
pub struct StreamFacts {
    pub compression: Compression,
    /// Bytes read from the raw stream.
    pub raw_bytes: u64,
    /// Bytes of the uncompressed tar stream read.
    pub tar_bytes: u64,
    /// SHA-256 of the raw stream, when asked for (read to its end).
    pub blob_digest: Option<crate::entry::Digest>,
    /// SHA-256 of the uncompressed stream, when asked for (read to its end).
    pub diff_id: Option<crate::entry::Digest>,
    /// What follows the last member (when the stream was read to its end).
    pub trailer: Option<tar::Trailer>,
    /// The parameters the compression's headers carry (see `compress_facts`).
    pub params: Vec<compress_facts::Param>,
}

/// Read a (possibly compressed) tar stream and run `f` over its reader. With `drain`, the
/// stream is read to its end afterwards, so that a truncated or corrupt compressed stream
/// is an error even when the damage lies after the end-of-archive marker, and so that
/// the digests in `checks` cover every byte.
pub fn read_tar_from<'a>(
    raw: Box<dyn BufRead + 'a>,
    limits: &tar::Limits,
    drain: bool,
    checks: Option<Checks>,
    f: impl FnOnce(&mut TarReader<&mut dyn BufRead>) -> Result<(), ErrorKind>,
) -> Result<StreamFacts, ErrorKind> {
    let checks = checks.unwrap_or_default();
    // Read the magic bytes whole (a pipe may deliver them in pieces), then put them back
    // in front of the stream.
    let (mut raw, blob_hash) = hash::Hashing::new(raw, checks.blob);
    let (head, compression) = compress::sniff(&mut raw)?;
    if head.is_empty() {
        // GNU tar and Python refuse it too: a failed download is not an empty archive
        // (which still has its 1 024-byte end-of-archive marker).
        return Err(ErrorKind::Other("empty file: not an archive".into()));
    }
    let (counted, counters) = Counting::with_counters(io::Cursor::new(head).chain(raw));
    let count = counters.consumed.clone();
    let (decoded, params) =
        compress::decode_with_params(compression, counted, counters).map_err(ErrorKind::from_io)?;
    let (mut decoded, diff_hash) = hash::Hashing::new(decoded, checks.diff_id);
    let mut tr = TarReader::with_limits(&mut decoded as &mut dyn BufRead, limits.clone());
    f(&mut tr).map_err(|e| match e {
        ErrorKind::NotTar { looks, short, .. } if compression != Compression::None => {
            ErrorKind::NotTar {
                looks,
                short,
                compressed: Some(compression.name()),
            }
        }
        e => e,
    })?;
    let trailer = if drain {
        // What follows the end-of-archive marker is read (it is part of the input's
        // bytes) and counts against the size limit too.
        let allowance = limits.max_uncompressed.saturating_sub(tr.position());
        tr.read_trailer(allowance)?
    } else {
        None
    };
    let tar_bytes = tr.position();
    drop(tr);
    if drain {
        // Whatever the decoder still holds past the tar stream (nothing, unless the tar
        // ended without a marker) is read too, so that the digests cover every byte.
        io::copy(&mut decoded, &mut io::sink()).map_err(ErrorKind::from_io)?;
    }
    Ok(StreamFacts {
        compression,
        raw_bytes: count.load(Ordering::Relaxed),
        tar_bytes,
        blob_digest: blob_hash.finish(),
        diff_id: diff_hash.finish(),
        trailer,
        params: params.get(),
    })
}

/// The first bytes of a file, which is then rewound.
fn read_head(mut f: &File, buf: &mut [u8]) -> io::Result<usize> {
    let n = read_full(&mut f, buf)?;
    use std::io::Seek;
    f.seek(io::SeekFrom::Start(0))?;
    Ok(n)
}

/// Fill `buf` as far as the reader goes (a short read is not its end).
pub fn read_full(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Turns tar members into entries, hashing content as it streams.
pub struct Collector<'a> {
    sink: &'a dyn ContentSink,
    scratch: Vec<u8>,
    /// Layer index given to every entry (images).
    pub layer: u32,
    pub entries: Vec<Entry>,
}

impl<'a> Collector<'a> {
    pub fn new(opts: &ReadOptions, sink: &'a dyn ContentSink) -> Self {
        Collector {
            sink,
            scratch: Vec::new(),
            layer: 0,
            // A little room over the hint: two builds of one tree differ in a few entries.
            entries: Vec::with_capacity(
                (opts.entries_hint + opts.entries_hint / 32).min(1 << 24) as usize
            ),
        }
    }

    /// Turn one tar member into an entry, hashing its content (and handing it to the
    /// sink, if wanted).
    pub fn member<R: BufRead>(
        &mut self,
        tr: &mut TarReader<R>,
        t: TarEntry,
    ) -> Result<(), ErrorKind> {
        let mut e = entry_from_tar(t);
        e.layer = self.layer;
        if matches!(e.kind, Kind::File | Kind::Other(_)) {
            let keep = self.sink.wants(&e.path, e.size);
            let mut h = hash::ContentHasher::new(e.size, keep.then_some(&mut self.scratch));
            tr.read_data(&mut |b| h.update(b))?;
            let hashed = h.finish();
            e.digest = Some(hashed.sha);
            e.set_blocks(hashed.blocks);
            e.set_nested_format(hashed.format);
            e.set_padding(tr.padding_sha());
            if keep {
                self.sink.content(&e.path, hashed.sha, &self.scratch);
            }
        }
        self.entries.push(e);
        Ok(())
    }
}

/// Build a normalized entry from a tar member (content not yet hashed).
pub fn entry_from_tar(t: TarEntry) -> Entry {
    let kind = t.kind();
    let mut e = Entry::new(normalize_path(&t.path), kind);
    e.spelling = crate::entry::Spelling::of(&t.path, &e.path);
    e.mode = t.mode;
    e.uid = t.uid;
    e.gid = t.gid;
    e.uname = (!t.uname.is_empty()).then(|| t.uname.into_boxed_slice());
    e.gname = (!t.gname.is_empty()).then(|| t.gname.into_boxed_slice());
    e.size = t.size;
    e.mtime = Some(t.mtime);
    e.set_atime(t.atime);
    e.set_ctime(t.ctime);
    match kind {
        Kind::Symlink => e.link_target = Some(t.link.into_boxed_slice()),
        Kind::Hardlink => e.hardlink_target = Some(normalize_path(&t.link)),
        Kind::CharDevice | Kind::BlockDevice => e.set_device(t.device),
        _ => {}
    }
    // ACL text first: GNU tar also stores the binary `system.posix_acl_*` xattrs, which
    // carry numeric ids (the text has the build host's user names), and those win.
    for (kind, text) in t.acls {
        e.acl_mut()
            .insert(kind, crate::meta::canonical_acl_text(&text));
    }
    for (name, value) in t.xattrs {
        add_xattr(&mut e, name, value);
    }
    for (k, v) in t.other {
        e.extra.get_mut().pax.insert(k.into(), v.into());
    }
    e.order = Some(u32::try_from(t.index).unwrap_or(u32::MAX));
    e.format = t.format;
    e.header = Some(t.framing);
    if t.time_spellings.iter().any(Option::is_some) {
        e.extra.get_mut().time_spellings = t.time_spellings.map(|s| s.map(Bytes::from));
    }
    e
}

/// Add an xattr; POSIX ACLs stored as raw xattrs go to the `acl` field in canonical
/// form, so that a directory, GNU tar and bsdtar agree.
pub fn add_xattr(e: &mut Entry, name: Vec<u8>, value: Vec<u8>) {
    let acl_kind = match &name[..] {
        b"system.posix_acl_access" => Some("access"),
        b"system.posix_acl_default" => Some("default"),
        _ => None,
    };
    if let Some(k) = acl_kind
        && let Some(text) = crate::meta::decode_posix_acl_xattr(&value)
    {
        e.acl_mut().insert(k, text);
        return;
    }
    e.xattrs_mut()
        .insert(name.into_boxed_slice(), value.into_boxed_slice());
}

/// Sort by path, resolve duplicates (the last member wins, as extraction does), give
/// hardlinks their target's digest.
pub fn finish_set(mut entries: Vec<Entry>, mut info: InputInfo) -> EntrySet {
    // Stable sort keeps archive order among equal paths; then keep the last of each run
    // of equal paths, in place (no second vector: entries dominate memory).
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let ordered = entries.iter().any(|e| e.order.is_some());
    if ordered {
        resolve_hardlinks_in_order(&mut entries);
    }
    let mut w = 0usize;
    for r in 0..entries.len() {
        if w > 0 && entries[w - 1].path == entries[r].path {
            let n = entries[w - 1].occurrences + 1;
            entries.swap(w - 1, r);
            entries[w - 1].occurrences = n;
            // The member replaced still counts in strict mode, through the framing
            // digest of the one that replaces it.
            let (kept, gone) = entries.split_at_mut(r);
            kept[w - 1].absorb_duplicate(&gone[0]);
        } else {
            entries.swap(w, r);
            w += 1;
        }
    }
    entries.truncate(w);
    entries.shrink_to_fit();
    let mut out = entries;
    if !ordered {
        resolve_hardlinks(&mut out);
    }
    info.entries = out.len() as u64;
    EntrySet { entries: out, info }
}

/// Give each hardlink of an archive the content its extraction gets: that of the last
/// member of its target path *before* it (a later member of that path replaces the
/// file, not what the link points to), links taken in archive order so that a link to
/// a link follows. `entries` are sorted by path, archive order kept within a path.
fn resolve_hardlinks_in_order(entries: &mut [Entry]) {
    let mut links: Vec<usize> = (0..entries.len())
        .filter(|&i| entries[i].kind == Kind::Hardlink)
        .collect();
    links.sort_by_key(|&i| entries[i].order);
    for i in links {
        let (order, Some(t)) = (entries[i].order, entries[i].hardlink_target.clone()) else {
            continue;
        };
        let mut j = entries.partition_point(|x| *x.path < *t);
        let mut found = None;
        while j < entries.len() && *entries[j].path == *t {
            if entries[j].order < order {
                found = entries[j].digest;
            }
            j += 1;
        }
        entries[i].digest = found;
    }
}

/// Give each hardlink without a digest its target's (entries sorted by path): for
/// directories (whose hardlinks come from inode numbers) and squashed layers (a link
/// to a file of a lower layer).
pub fn resolve_hardlinks(entries: &mut [Entry]) {
    let ids: Vec<Option<crate::entry::Digest>> = entries
        .iter()
        .map(|e| {
            e.hardlink_target.as_ref().and_then(|t| {
                let i = entries.binary_search_by(|x| (*x.path).cmp(t)).ok()?;
                entries[i].digest
            })
        })
        .collect();
    for (e, d) in entries.iter_mut().zip(ids) {
        if d.is_some() && e.digest.is_none() {
            e.digest = d;
        }
    }
}

/// What to fetch again from an input: a byte range of one entry's content.
#[derive(Clone, Copy, Debug)]
pub struct Want {
    /// Member number in the archive (tar), to pick the right one among duplicates.
    pub order: Option<u32>,
    /// Image layer the entry comes from.
    pub layer: u32,
    pub start: u64,
    pub len: u64,
    /// The SHA-256 the content had when it was first read: the whole content is hashed
    /// again while it passes, and a different digest is an error (the input changed
    /// between the two reads), so that bytes read again are the bytes compared.
    pub expect: Option<crate::entry::Digest>,
}

impl Want {
    /// `len` bytes from `start` of the content of `e`, checked against its digest.
    pub fn range(e: &Entry, start: u64, len: u64) -> Want {
        Want {
            order: e.order,
            layer: e.layer,
            start,
            len,
            expect: e.digest,
        }
    }

    /// The whole content of `e`.
    pub fn whole(e: &Entry) -> Want {
        Want::range(e, 0, e.size)
    }
}

/// The error for content that changed between two reads.
pub fn changed_between_reads(
    path: &[u8],
    first: &crate::entry::Digest,
    now: &crate::entry::Digest,
) -> String {
    format!(
        "{} changed between two reads (sha256:{} the first time, sha256:{} the second)",
        crate::entry::display_bytes(path),
        crate::report::hex(first),
        crate::report::hex(now)
    )
}

/// What a fetch brought back for one entry.
#[derive(Clone, Debug, Default)]
pub struct Fetched {
    /// The wanted byte range.
    pub bytes: Vec<u8>,
    /// SHA-256 of the whole content as read this time: the caller checks it against the
    /// digest of the first read, so that bytes read again are the bytes compared.
    pub sha: crate::entry::Digest,
}

/// Read an input again and return the wanted byte ranges of the wanted entries.
pub fn fetch(
    input: &Input,
    wanted: &BTreeMap<Bytes, Want>,
    opts: &ReadOptions,
) -> Result<BTreeMap<Bytes, Fetched>> {
    let mut out = BTreeMap::new();
    if wanted.is_empty() {
        return Ok(out);
    }
    let Some(p) = &input.path else {
        return Ok(out);
    };
    if p.is_dir() {
        for (path, w) in wanted {
            let full = dir::join(p, path);
            if let Ok((bytes, sha)) = dir::read_range(&full, w.start, w.len) {
                if let Some(x) = &w.expect
                    && *x != sha
                {
                    return Err(input.err(ErrorKind::Changed(changed_between_reads(path, x, &sha))));
                }
                out.insert(path.clone(), Fetched { bytes, sha });
            }
        }
        return Ok(out);
    }
    with_tar_stream(input, &opts.tar_limits, false, |tr| {
        fetch_members(tr, wanted, &mut out)
    })
    .map(|_| out)
}

/// Collect the wanted byte ranges of the wanted members from a tar stream.
pub fn fetch_members<R: BufRead>(
    tr: &mut TarReader<R>,
    wanted: &BTreeMap<Bytes, Want>,
    out: &mut BTreeMap<Bytes, Fetched>,
) -> Result<(), ErrorKind> {
    let last = wanted.values().filter_map(|w| w.order).max();
    let mut found = 0;
    while let Some(t) = tr.next_entry()? {
        let index = t.index;
        let path = normalize_path(&t.path);
        if let Some(w) = wanted.get(&path)
            && w.order.is_none_or(|o| u64::from(o) == index)
        {
            let mut buf = Vec::with_capacity(w.len.min(1 << 24) as usize);
            let mut pos = 0u64;
            let end = w.start.saturating_add(w.len);
            let mut sha = hash::ContentHasher::new(0, None);
            tr.read_data(&mut |b| {
                sha.update(b);
                let s = pos;
                let e = pos + b.len() as u64;
                pos = e;
                if e > w.start && s < end {
                    let from = w.start.max(s) - s;
                    let to = end.min(e) - s;
                    buf.extend_from_slice(&b[from as usize..to as usize]);
                }
            })?;
            let sha = sha.finish().sha;
            if let Some(x) = &w.expect
                && *x != sha
            {
                return Err(ErrorKind::Changed(changed_between_reads(&path, x, &sha)));
            }
            out.insert(path, Fetched { bytes: buf, sha });
            found += 1;
        }
        if last.is_some_and(|l| index >= u64::from(l)) && found == wanted.len() {
            break;
        }
    }
    Ok(())
}

/// Reads content again for content diffs.
pub trait Fetcher: Sync {
    /// Whether the content can be read a second time at all.
    fn rereadable(&self) -> bool;
    /// The wanted byte ranges (and digests), by entry path.
    fn fetch(&self, wanted: &BTreeMap<Bytes, Want>) -> Result<BTreeMap<Bytes, Fetched>>;
}

/// Fetches from a rootfs input (a tarball or a directory).
pub struct InputFetcher<'a> {
    pub input: &'a Input,
    pub opts: &'a ReadOptions,
    pub rereadable: bool,
}

impl Fetcher for InputFetcher<'_> {
    fn rereadable(&self) -> bool {
        self.rereadable
    }
    fn fetch(&self, wanted: &BTreeMap<Bytes, Want>) -> Result<BTreeMap<Bytes, Fetched>> {
        fetch(self.input, wanted, self.opts)
    }
}
