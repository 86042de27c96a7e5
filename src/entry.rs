//! The normalized entry: one tar member or one directory node, as every source
//! produces it and as the comparer consumes it. Paths are bytes (tar names need not
//! be UTF-8); collections are sorted so everything downstream is deterministic.

use std::collections::BTreeMap;
use std::fmt;

/// Bytes that are usually, but not always, UTF-8 text (paths, names, link targets).
pub type Bytes = Box<[u8]>;

/// The kind of filesystem object an entry describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    File,
    Dir,
    Symlink,
    Hardlink,
    CharDevice,
    BlockDevice,
    Fifo,
    Socket,
    /// A tar type flag this tool does not know; its data is read as content.
    Other(u8),
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Dir => "dir",
            Kind::Symlink => "symlink",
            Kind::Hardlink => "hardlink",
            Kind::CharDevice => "char-device",
            Kind::BlockDevice => "block-device",
            Kind::Fifo => "fifo",
            Kind::Socket => "socket",
            Kind::Other(_) => "other",
        }
    }

    /// The file-type bits `S_IFMT` a mode would carry for this kind.
    pub fn type_bits(self) -> u32 {
        match self {
            Kind::File | Kind::Hardlink | Kind::Other(_) => 0o100000,
            Kind::Dir => 0o040000,
            Kind::Symlink => 0o120000,
            Kind::CharDevice => 0o020000,
            Kind::BlockDevice => 0o060000,
            Kind::Fifo => 0o010000,
            Kind::Socket => 0o140000,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Kind::Other(c) => write!(f, "other({:?})", *c as char),
            k => f.write_str(k.name()),
        }
    }
}

/// A point in time with nanoseconds. `nanos` is always in `0..1_000_000_000`, also for
/// times before 1970 (`-1.5 s` is `secs = -2, nanos = 500_000_000`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp {
    pub secs: i64,
    pub nanos: u32,
}

impl Timestamp {
    pub fn from_secs(secs: i64) -> Self {
        Timestamp { secs, nanos: 0 }
    }

    /// Parse a PAX time value: `[-]digits[.digits]`. Digits past nanoseconds are dropped.
    pub fn parse_pax(s: &[u8]) -> Option<Self> {
        let (neg, s) = match s.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, s),
        };
        let (int, frac) = match s.iter().position(|&b| b == b'.') {
            Some(i) => (&s[..i], &s[i + 1..]),
            None => (s, &[][..]),
        };
        if int.is_empty() || !int.iter().all(u8::is_ascii_digit) {
            return None;
        }
        if !frac.iter().all(u8::is_ascii_digit) {
            return None;
        }
        let mut secs: i64 = 0;
        for &d in int {
            secs = secs.checked_mul(10)?.checked_add(i64::from(d - b'0'))?;
        }
        let mut nanos: u32 = 0;
        for i in 0..9 {
            nanos = nanos * 10 + frac.get(i).map_or(0, |d| u32::from(d - b'0'));
        }
        if neg {
            secs = secs.checked_neg()?;
            if nanos > 0 {
                secs = secs.checked_sub(1)?;
                nanos = 1_000_000_000 - nanos;
            }
        }
        Some(Timestamp { secs, nanos })
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC, with the fraction only when there is one.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.secs.div_euclid(86_400);
        let rem = self.secs.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            y,
            m,
            d,
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        )?;
        // Nanoseconds at a fixed width, so that times line up in a column and sort as
        // text.
        if self.nanos != 0 {
            write!(f, ".{:09}", self.nanos)?;
        }
        f.write_str("Z")
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// The tar header format of a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HeaderFormat {
    /// Pre-POSIX tar: no magic.
    V7,
    /// POSIX.1-1988 ustar, no extended headers.
    Ustar,
    /// GNU tar's format (`ustar  \0` magic).
    Gnu,
    /// ustar magic plus PAX extended headers (local or global) applied to this member.
    Pax,
}

impl HeaderFormat {
    pub fn name(self) -> &'static str {
        match self {
            HeaderFormat::V7 => "v7",
            HeaderFormat::Ustar => "ustar",
            HeaderFormat::Gnu => "gnu",
            HeaderFormat::Pax => "pax",
        }
    }
}

/// Extension records a member was built from, as bit flags (cheap per entry).
pub mod ext {
    pub const PATH: u32 = 1 << 0;
    pub const LINKPATH: u32 = 1 << 1;
    pub const SIZE: u32 = 1 << 2;
    pub const UID: u32 = 1 << 3;
    pub const GID: u32 = 1 << 4;
    pub const UNAME: u32 = 1 << 5;
    pub const GNAME: u32 = 1 << 6;
    pub const MTIME: u32 = 1 << 7;
    pub const ATIME: u32 = 1 << 8;
    pub const CTIME: u32 = 1 << 9;
    pub const XATTR: u32 = 1 << 10;
    pub const LIBARCHIVE_XATTR: u32 = 1 << 11;
    pub const ACL: u32 = 1 << 12;
    pub const SPARSE: u32 = 1 << 13;
    pub const GNU_LONGNAME: u32 = 1 << 14;
    pub const GNU_LONGLINK: u32 = 1 << 15;
    pub const GNU_SPARSE: u32 = 1 << 16;
    pub const GLOBAL: u32 = 1 << 17;
    pub const OTHER: u32 = 1 << 18;
    pub const GNU_TIMES: u32 = 1 << 19;
    pub const PREFIX: u32 = 1 << 20;
    /// Several extension headers of one kind (PAX `x`, GNU `L` or `K`) before one
    /// member: only the last applied.
    pub const SUPERSEDED: u32 = 1 << 21;
    /// A value the reference readers ignore was ignored: a PAX time that does not
    /// parse, a GNU atime or ctime field that is not a number.
    pub const IGNORED: u32 = 1 << 22;

    /// Names in the order they are shown.
    pub const NAMES: &[(u32, &str)] = &[
        (PATH, "path"),
        (LINKPATH, "linkpath"),
        (SIZE, "size"),
        (UID, "uid"),
        (GID, "gid"),
        (UNAME, "uname"),
        (GNAME, "gname"),
        (MTIME, "mtime"),
        (ATIME, "atime"),
        (CTIME, "ctime"),
        (XATTR, "SCHILY.xattr"),
        (LIBARCHIVE_XATTR, "LIBARCHIVE.xattr"),
        (ACL, "SCHILY.acl"),
        (SPARSE, "GNU.sparse"),
        (GLOBAL, "global-header"),
        (OTHER, "other-records"),
        (GNU_LONGNAME, "gnu-longname"),
        (GNU_LONGLINK, "gnu-longlink"),
        (GNU_SPARSE, "gnu-old-sparse"),
        (GNU_TIMES, "gnu-atime-ctime"),
        (PREFIX, "ustar-prefix"),
        (SUPERSEDED, "superseded-header"),
        (IGNORED, "ignored-value"),
    ];

    /// The records that only carry timestamps.
    pub const TIMES: u32 = MTIME | ATIME | CTIME | GNU_TIMES;
}

/// How a tar member was encoded: header format and extension records used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Format {
    pub header: HeaderFormat,
    /// `ext::*` bits.
    pub ext: u32,
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.header.name())?;
        let names: Vec<&str> = ext::NAMES
            .iter()
            .filter(|(bit, _)| self.ext & bit != 0)
            .map(|(_, n)| *n)
            .collect();
        if !names.is_empty() {
            write!(f, " ({})", names.join(", "))?;
        }
        Ok(())
    }
}

/// A SHA-256 digest.
pub type Digest = [u8; 32];

/// Size of the blocks whose hashes locate the first differing byte of large files.
pub const BLOCK_SIZE: u64 = 64 * 1024;

/// The fields most entries do not have (a Debian rootFS: no atime/ctime without PAX,
/// a handful of devices, xattrs and ACLs), kept out of line so that an `Entry` stays
/// small: memory grows with the number of entries, and most of it is entries.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Extra {
    pub atime: Option<Timestamp>,
    pub ctime: Option<Timestamp>,
    /// (major, minor) for character and block devices.
    pub device: Option<(u64, u64)>,
    /// Extended attributes other than POSIX ACLs, by name.
    pub xattrs: BTreeMap<Bytes, Bytes>,
    /// POSIX ACLs in canonical text form, by kind (`access`, `default`).
    pub acl: BTreeMap<&'static str, String>,
    /// Seeded XXH3-64 of each `BLOCK_SIZE` block, for files larger than one block: they
    /// only locate the first differing block once SHA-256 said the contents differ.
    pub blocks: Option<Box<[u64]>>,
    /// SHA-256 of the padding after the member's data, when it is not all zeros.
    pub padding: Option<Digest>,
    /// The digit shapes of PAX mtime, atime, ctime records spelled otherwise than rdiff
    /// spells them (see `source::tar::TarEntry::time_spellings`).
    pub time_spellings: [Option<Bytes>; 3],
    /// PAX records read into no other field, by keyword (`SCHILY.fflags`, ...).
    pub pax: BTreeMap<Bytes, Bytes>,
    /// For contents over one block: the nested format their first bytes show
    /// (`source::nested::sniff`), so that the content stage knows which large differing
    /// files are worth reading again whole.
    pub nested: Option<crate::source::nested::Format>,
}

static NO_EXTRA: Extra = Extra {
    atime: None,
    ctime: None,
    device: None,
    xattrs: BTreeMap::new(),
    acl: BTreeMap::new(),
    blocks: None,
    padding: None,
    time_spellings: [None, None, None],
    pax: BTreeMap::new(),
    nested: None,
};

/// [`Extra`] out of line, absent when empty. An absent box and a box holding an empty
/// `Extra` are the same thing.
#[derive(Clone, Debug, Default)]
pub struct ExtraBox(Option<Box<Extra>>);

impl PartialEq for ExtraBox {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}
impl Eq for ExtraBox {}

impl ExtraBox {
    pub fn get(&self) -> &Extra {
        self.0.as_deref().unwrap_or(&NO_EXTRA)
    }
    pub fn get_mut(&mut self) -> &mut Extra {
        self.0.get_or_insert_with(Box::default)
    }
}

/// How an archive spelled a member's path, relative to its normalized path: the usual
/// forms (`etc/x`, `./etc/x`, and with a trailing `/`) are a tag, anything else is kept
/// as bytes. (Most archives spell every path one of the usual ways, and a second
/// allocation per entry is memory that grows with the entries.)
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Spelling {
    /// The source has no spellings (a directory).
    #[default]
    None,
    /// The normalized path itself.
    Plain,
    /// `./` and the path.
    DotSlash,
    /// The path and `/`.
    PlainSlash,
    /// `./`, the path and `/`.
    DotSlashSlash,
    Other(Bytes),
}

impl Spelling {
    /// The spelling `raw` of the normalized path `path`.
    pub fn of(raw: &[u8], path: &[u8]) -> Spelling {
        let (dot, rest) = match raw.strip_prefix(b"./") {
            Some(r) => (true, r),
            None => (false, raw),
        };
        let (slash, rest) = match rest.strip_suffix(b"/") {
            Some(r) => (true, r),
            None => (false, rest),
        };
        if rest != path || path == b"." || rest.is_empty() {
            return Spelling::Other(raw.into());
        }
        match (dot, slash) {
            (false, false) => Spelling::Plain,
            (true, false) => Spelling::DotSlash,
            (false, true) => Spelling::PlainSlash,
            (true, true) => Spelling::DotSlashSlash,
        }
    }

    /// The spelling's bytes, given the normalized path.
    pub fn bytes<'a>(&'a self, path: &'a [u8]) -> Option<std::borrow::Cow<'a, [u8]>> {
        use std::borrow::Cow;
        let (dot, slash) = match self {
            Spelling::None => return None,
            Spelling::Other(b) => return Some(Cow::Borrowed(b)),
            Spelling::Plain => return Some(Cow::Borrowed(path)),
            Spelling::DotSlash => (true, false),
            Spelling::PlainSlash => (false, true),
            Spelling::DotSlashSlash => (true, true),
        };
        let mut v = Vec::with_capacity(path.len() + 3);
        if dot {
            v.extend_from_slice(b"./");
        }
        v.extend_from_slice(path);
        if slash {
            v.push(b'/');
        }
        Some(Cow::Owned(v))
    }
}

/// One normalized entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Normalized path: relative, no `./` or `/` prefix, no trailing `/`, no empty or
    /// `.` components. The root directory is `.`.
    pub path: Bytes,
    /// The path exactly as the archive spelled it (see [`Entry::spelling_bytes`]).
    pub spelling: Spelling,
    pub kind: Kind,
    /// Mode as stored (tar headers may or may not carry the file-type bits).
    pub mode: u32,
    pub uid: u64,
    pub gid: u64,
    pub uname: Option<Bytes>,
    pub gname: Option<Bytes>,
    /// Size of the content (for sparse files, the expanded size).
    pub size: u64,
    pub mtime: Option<Timestamp>,
    /// Symlink target, as stored.
    pub link_target: Option<Bytes>,
    /// Hardlink target, normalized like `path`.
    pub hardlink_target: Option<Bytes>,
    /// atime, ctime, device numbers, xattrs, ACLs: see the accessors of the same names.
    pub extra: ExtraBox,
    /// SHA-256 of the content, computed while streaming (regular files; hardlinks get
    /// their target's). Two contents are equal exactly when these are.
    pub digest: Option<Digest>,
    /// SHA-256 of the member's framing: its header blocks and extension headers, with
    /// every value that some other field compares replaced by the spelling it was
    /// written in (see `source::tar::framing`), and the stored bytes of a member whose
    /// data is not content. Equal digests mean the framing bytes are equal wherever the
    /// compared fields are. `None` for sources that are not tar.
    pub header: Option<Digest>,
    /// Position among the archive's members (0-based; an archive of over 2^32 members,
    /// 2 TB of headers alone, saturates), `None` where a source has no order.
    pub order: Option<u32>,
    /// Tar encoding facts, `None` for sources that are not tar.
    pub format: Option<Format>,
    /// How many members of the archive had this normalized path (last one wins).
    pub occurrences: u32,
    /// For image layers: the index of the layer the entry comes from.
    pub layer: u32,
}

impl Entry {
    /// A blank entry of the given kind at a normalized path.
    pub fn new(path: Bytes, kind: Kind) -> Self {
        Entry {
            path,
            spelling: Spelling::None,
            kind,
            mode: 0,
            uid: 0,
            gid: 0,
            uname: None,
            gname: None,
            size: 0,
            mtime: None,
            link_target: None,
            hardlink_target: None,
            extra: ExtraBox::default(),
            digest: None,
            header: None,
            order: None,
            format: None,
            occurrences: 1,
            layer: 0,
        }
    }

    /// The path exactly as the archive spelled it (`None` for sources without spellings).
    pub fn spelling_bytes(&self) -> Option<std::borrow::Cow<'_, [u8]>> {
        self.spelling.bytes(&self.path)
    }
    pub fn atime(&self) -> Option<Timestamp> {
        self.extra.get().atime
    }
    pub fn ctime(&self) -> Option<Timestamp> {
        self.extra.get().ctime
    }
    pub fn device(&self) -> Option<(u64, u64)> {
        self.extra.get().device
    }
    pub fn xattrs(&self) -> &BTreeMap<Bytes, Bytes> {
        &self.extra.get().xattrs
    }
    pub fn acl(&self) -> &BTreeMap<&'static str, String> {
        &self.extra.get().acl
    }
    /// Set atime (nothing is allocated to store `None`).
    pub fn set_atime(&mut self, t: Option<Timestamp>) {
        if t.is_some() || self.atime().is_some() {
            self.extra.get_mut().atime = t;
        }
    }
    /// Set ctime (nothing is allocated to store `None`).
    pub fn set_ctime(&mut self, t: Option<Timestamp>) {
        if t.is_some() || self.ctime().is_some() {
            self.extra.get_mut().ctime = t;
        }
    }
    /// Set the device numbers (nothing is allocated to store `None`).
    pub fn set_device(&mut self, d: Option<(u64, u64)>) {
        if d.is_some() || self.device().is_some() {
            self.extra.get_mut().device = d;
        }
    }
    /// The xattrs, to change (allocates the out-of-line part).
    pub fn xattrs_mut(&mut self) -> &mut BTreeMap<Bytes, Bytes> {
        &mut self.extra.get_mut().xattrs
    }
    /// The ACLs, to change (allocates the out-of-line part).
    pub fn acl_mut(&mut self) -> &mut BTreeMap<&'static str, String> {
        &mut self.extra.get_mut().acl
    }

    /// SHA-256 of everything the entry holds (every field, the content digest, the
    /// framing and padding digests), for an earlier member of a path that a later one
    /// replaced: it goes into the later member's framing digest (see
    /// [`Entry::absorb_duplicate`]), so that strict mode still sees its bytes.
    pub fn fingerprint(&self) -> Digest {
        use sha2::{Digest as _, Sha256};
        let mut h = Sha256::new();
        let mut put = |b: &[u8]| {
            h.update((b.len() as u64).to_le_bytes());
            h.update(b);
        };
        let opt = |b: &Option<Bytes>| b.as_deref().map(|x| [b"+", x].concat()).unwrap_or_default();
        let time = |t: Option<Timestamp>| {
            t.map(|t| format!("{}.{}", t.secs, t.nanos))
                .unwrap_or_default()
        };
        put(&self.path);
        put(self.spelling_bytes().as_deref().unwrap_or(b""));
        put(self.kind.to_string().as_bytes());
        put(format!("{} {} {} {}", self.mode, self.uid, self.gid, self.size).as_bytes());
        put(&opt(&self.uname));
        put(&opt(&self.gname));
        put(time(self.mtime).as_bytes());
        put(time(self.atime()).as_bytes());
        put(time(self.ctime()).as_bytes());
        put(&opt(&self.link_target));
        put(&opt(&self.hardlink_target));
        put(format!("{:?}", self.device()).as_bytes());
        for (k, v) in self.xattrs() {
            put(k);
            put(v);
        }
        put(b"acl");
        for (k, v) in self.acl() {
            put(k.as_bytes());
            put(v.as_bytes());
        }
        put(self.digest.as_ref().map_or(&[][..], |d| &d[..]));
        put(self.header.as_ref().map_or(&[][..], |d| &d[..]));
        put(self.padding().map_or(&[][..], |d| &d[..]));
        put(format!("{:?}", self.format).as_bytes());
        put(format!("{:?}", self.order).as_bytes());
        for s in self.time_spellings() {
            put(s.as_deref().unwrap_or(b"-"));
        }
        put(b"pax");
        for (k, v) in self.pax() {
            put(k);
            put(v);
        }
        h.finalize().into()
    }

    /// Fold an earlier member of the same path, which this one replaces, into this
    /// entry's framing digest.
    pub fn absorb_duplicate(&mut self, earlier: &Entry) {
        use sha2::{Digest as _, Sha256};
        if let Some(h) = self.header {
            let mut s = Sha256::new();
            s.update(h);
            s.update(earlier.fingerprint());
            self.header = Some(s.finalize().into());
        }
    }

    /// Whether the entry has content of its own that was hashed.
    pub fn has_content(&self) -> bool {
        self.digest.is_some()
    }
    /// The block hashes of a large file (see [`Extra::blocks`]).
    pub fn blocks(&self) -> Option<&[u64]> {
        self.extra.get().blocks.as_deref()
    }
    /// Set the block hashes (nothing is allocated to store `None`).
    pub fn set_blocks(&mut self, b: Option<Box<[u64]>>) {
        if b.is_some() || self.blocks().is_some() {
            self.extra.get_mut().blocks = b;
        }
    }
    /// PAX records read into no other field, by keyword.
    pub fn pax(&self) -> &BTreeMap<Bytes, Bytes> {
        &self.extra.get().pax
    }

    /// How PAX time records were spelled, where not as rdiff spells them.
    pub fn time_spellings(&self) -> &[Option<Bytes>; 3] {
        &self.extra.get().time_spellings
    }

    /// SHA-256 of the member's padding when it is not all zeros.
    pub fn padding(&self) -> Option<&Digest> {
        self.extra.get().padding.as_ref()
    }
    /// Set the padding digest (nothing is allocated to store `None`).
    pub fn set_padding(&mut self, d: Option<Digest>) {
        if d.is_some() || self.padding().is_some() {
            self.extra.get_mut().padding = d;
        }
    }
    /// The nested format a content over one block starts like, if any.
    pub fn nested_format(&self) -> Option<crate::source::nested::Format> {
        self.extra.get().nested
    }
    /// Set the nested format (nothing is allocated to store `None`).
    pub fn set_nested_format(&mut self, f: Option<crate::source::nested::Format>) {
        if f.is_some() || self.nested_format().is_some() {
            self.extra.get_mut().nested = f;
        }
    }
}

/// Normalize a tar or filesystem path: strip leading `/` and `./`, drop empty and `.`
/// components and a trailing `/`. `..` components are kept as they are (the comparer
/// reports them; nothing is ever extracted). The empty result is the root, `.`.
pub fn normalize_path(raw: &[u8]) -> Bytes {
    let mut out: Vec<u8> = Vec::with_capacity(raw.len());
    for comp in raw.split(|&b| b == b'/') {
        if comp.is_empty() || comp == b"." {
            continue;
        }
        if !out.is_empty() {
            out.push(b'/');
        }
        out.extend_from_slice(comp);
    }
    if out.is_empty() {
        out.push(b'.');
    }
    out.into_boxed_slice()
}

/// Whether a raw path is already in normalized form (cheap check to avoid allocating).
pub fn is_normalized(raw: &[u8]) -> bool {
    if raw == b"." {
        return true;
    }
    !raw.is_empty()
        && raw
            .split(|&b| b == b'/')
            .all(|c| !c.is_empty() && c != b".")
}

/// The parent directory of a normalized path (`.` for top-level names and for `.`).
pub fn parent(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => &path[..i],
        None => b".",
    }
}

/// The last component of a path (the whole path when it has no `/`).
pub fn base_name(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

/// Lossy display of bytes: valid UTF-8 as is, other bytes as `\xNN`.
pub fn display_bytes(b: &[u8]) -> String {
    let mut out = String::with_capacity(b.len());
    for chunk in b.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                out.extend(c.escape_default());
            } else {
                out.push(c);
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_spellings_to_one_path() {
        for raw in [
            &b"./etc/x"[..],
            b"etc/x",
            b"/etc/x",
            b"etc//x",
            b"./etc/./x/",
            b"//etc/x",
        ] {
            assert_eq!(&*normalize_path(raw), b"etc/x", "{raw:?}");
        }
        assert_eq!(&*normalize_path(b"./"), b".");
        assert_eq!(&*normalize_path(b""), b".");
        assert_eq!(&*normalize_path(b"/"), b".");
        assert_eq!(&*normalize_path(b"../x"), b"../x");
        assert!(is_normalized(b"etc/x"));
        assert!(!is_normalized(b"./etc/x"));
        assert!(!is_normalized(b"etc/"));
        assert!(!is_normalized(b""));
    }

    #[test]
    fn parent_of_paths() {
        assert_eq!(parent(b"etc/x"), b"etc");
        assert_eq!(parent(b"x"), b".");
        assert_eq!(parent(b"a/b/c"), b"a/b");
    }

    #[test]
    fn pax_times() {
        assert_eq!(
            Timestamp::parse_pax(b"1700000000.123456789"),
            Some(Timestamp {
                secs: 1700000000,
                nanos: 123456789
            })
        );
        assert_eq!(
            Timestamp::parse_pax(b"1700000000.5"),
            Some(Timestamp {
                secs: 1700000000,
                nanos: 500_000_000
            })
        );
        assert_eq!(
            Timestamp::parse_pax(b"-1.5"),
            Some(Timestamp {
                secs: -2,
                nanos: 500_000_000
            })
        );
        assert_eq!(
            Timestamp::parse_pax(b"12.1234567899"),
            Some(Timestamp {
                secs: 12,
                nanos: 123456789
            })
        );
        assert_eq!(Timestamp::parse_pax(b""), None);
        assert_eq!(Timestamp::parse_pax(b"1x"), None);
        assert_eq!(Timestamp::parse_pax(b"99999999999999999999999"), None);
    }

    #[test]
    fn formats_rfc3339() {
        assert_eq!(
            Timestamp::from_secs(1700000000).to_string(),
            "2023-11-14T22:13:20Z"
        );
        assert_eq!(Timestamp::from_secs(0).to_string(), "1970-01-01T00:00:00Z");
        assert_eq!(
            Timestamp {
                secs: -2,
                nanos: 500_000_000
            }
            .to_string(),
            "1969-12-31T23:59:58.500000000Z"
        );
        assert_eq!(
            Timestamp::from_secs(951_782_400).to_string(),
            "2000-02-29T00:00:00Z"
        );
    }

    #[test]
    fn displays_non_utf8() {
        assert_eq!(display_bytes(b"caf\xe9.txt"), "caf\\xe9.txt");
        assert_eq!(display_bytes("café".as_bytes()), "café");
        assert_eq!(display_bytes(b"a\nb"), "a\\nb");
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;

    /// Memory is mostly entries (a million-entry pair holds two million of them): the
    /// rare fields live out of line, and this keeps it so.
    #[test]
    fn entry_stays_small() {
        let n = std::mem::size_of::<Entry>();
        eprintln!("Entry: {n} bytes, Extra: {}", std::mem::size_of::<Extra>());
        assert!(n <= 256, "Entry grew to {n} bytes");
    }
}

#[cfg(test)]
mod spelling_tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for raw in [
            &b"etc/x"[..],
            b"./etc/x",
            b"etc/",
            b"./etc/",
            b"/etc/x",
            b"etc//x",
            b"./",
            b".",
            b"/",
            b"././etc",
            b"etc/x/.",
            b"./etc//",
        ] {
            let path = normalize_path(raw);
            let s = Spelling::of(raw, &path);
            assert_eq!(s.bytes(&path).as_deref(), Some(raw), "{s:?}");
        }
        assert_eq!(Spelling::of(b"./etc/x", b"etc/x"), Spelling::DotSlash);
        assert_eq!(Spelling::of(b"./etc/", b"etc"), Spelling::DotSlashSlash);
        assert_eq!(Spelling::of(b"etc/", b"etc"), Spelling::PlainSlash);
        assert_eq!(Spelling::of(b"etc", b"etc"), Spelling::Plain);
        assert!(matches!(Spelling::of(b"/etc", b"etc"), Spelling::Other(_)));
        assert_eq!(Spelling::None.bytes(b"etc"), None);
    }
}
