//! A cpio archive inside a file (an initramfs, an rpm's payload), in the three forms GNU
//! cpio writes and reads by default: `newc` (magic `070701`: a 110-byte header of
//! thirteen 8-digit hexadecimal fields, the NUL-terminated name, padding to 4 bytes, the
//! data, padding to 4 bytes), `crc` (`070702`: the same, with the sum of the data's bytes
//! in the last field) and `odc` (`070707`: a 76-byte header of octal fields, no padding).
//! A member named `TRAILER!!!` ends an archive.
//!
//! Members are entries with mode, uid, gid, mtime, symlink targets, device numbers,
//! content digest and order; what only a cpio records is a member field: `cpio.ino`,
//! `cpio.dev` (the device the file was on, `major:minor`) and `cpio.nlink`, and for a
//! `crc` member whose data does not sum to its checksum, `cpio.checksum`. Members that
//! share a device and inode number are hardlinks: the first in the archive is the file
//! (with the data, which `newc` and `crc` store with the last link only), the others
//! hardlinks to it, as tar has them.
//!
//! What follows an archive's trailer is read as the Linux kernel reads an initramfs:
//! zeros are skipped, another cpio archive is read on into the same set, a compressed
//! stream (the main archive after an uncompressed early one, as dracut and
//! initramfs-tools write them) is decoded within the budget and read on. The forms read
//! are the header field `cpio.format` (`newc`, `newc + zstd: newc`); other bytes after
//! the last archive are `cpio.trailer`.
//!
//! Written here rather than taken from the `cpio` crate (see docs/design.md): it reads
//! `newc` and `crc` only, refuses names that are not UTF-8, and copies each member
//! out of a stream, where the members here are byte ranges of data already in memory.

use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::Arc;

use super::{Budget, Format, MemberField, Members, Opened, Problem, members_set};
use crate::entry::{Bytes, Entry, Kind, Timestamp, normalize_path};
use crate::source::compress::Compression;

/// What a member costs the budget besides its name: its entry and its cpio fields.
const MEMBER_COST: u64 = std::mem::size_of::<Entry>() as u64 + 128;

/// The name of the member that ends an archive.
const TRAILER: &[u8] = b"TRAILER!!!";

/// The header forms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Form {
    Newc,
    Crc,
    Odc,
}

impl Form {
    fn of(b: &[u8]) -> Option<Form> {
        match b.get(..6)? {
            b"070701" => Some(Form::Newc),
            b"070702" => Some(Form::Crc),
            b"070707" => Some(Form::Odc),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Form::Newc => "newc",
            Form::Crc => "crc",
            Form::Odc => "odc",
        }
    }

    fn header_len(self) -> usize {
        match self {
            Form::Newc | Form::Crc => 110,
            Form::Odc => 76,
        }
    }

    fn digit(self, c: u8) -> bool {
        match self {
            Form::Newc | Form::Crc => c.is_ascii_hexdigit(),
            Form::Odc => (b'0'..=b'7').contains(&c),
        }
    }

    /// The offset `x` rounded up as this form pads (to 4 bytes from the archive's start
    /// `base` for `newc` and `crc`; no padding for `odc`).
    fn align(self, base: usize, x: usize) -> usize {
        match self {
            Form::Newc | Form::Crc => x.saturating_add((4 - (x - base) % 4) % 4),
            Form::Odc => x,
        }
    }
}

/// Whether bytes start with a whole cpio header of one of the three forms (its magic and
/// only digits of its radix after it).
pub fn is_cpio(head: &[u8]) -> bool {
    Form::of(head).is_some_and(|f| {
        head.get(6..f.header_len())
            .is_some_and(|h| h.iter().all(|&c| f.digit(c)))
    })
}

fn bad(at: usize, what: &str) -> Problem {
    Problem::Malformed(format!("{what} (byte {at})"))
}

/// One member's header, decoded.
struct Header {
    ino: u64,
    mode: u32,
    uid: u64,
    gid: u64,
    nlink: u64,
    mtime: u64,
    size: u64,
    dev: (u64, u64),
    rdev: (u64, u64),
    namesize: u64,
    check: u64,
}

/// The header at `at` (its magic already known to be `form`'s).
fn header(buf: &[u8], at: usize, form: Form) -> Result<Header, Problem> {
    let h = buf
        .get(at..at + form.header_len())
        .ok_or_else(|| bad(at, "truncated member header"))?;
    let mut pos = 6;
    let mut next = |width: usize| -> Result<u64, Problem> {
        let field = &h[pos..pos + width];
        pos += width;
        let radix = if form == Form::Odc { 8 } else { 16 };
        std::str::from_utf8(field)
            .ok()
            .filter(|t| t.bytes().all(|c| form.digit(c)))
            .and_then(|t| u64::from_str_radix(t, radix).ok())
            .ok_or_else(|| bad(at, "a member header field is not a number"))
    };
    Ok(match form {
        Form::Newc | Form::Crc => {
            let mut f = [0u64; 13];
            for v in &mut f {
                *v = next(8)?;
            }
            Header {
                ino: f[0],
                mode: f[1] as u32,
                uid: f[2],
                gid: f[3],
                nlink: f[4],
                mtime: f[5],
                size: f[6],
                dev: (f[7], f[8]),
                rdev: (f[9], f[10]),
                namesize: f[11],
                check: f[12],
            }
        }
        Form::Odc => {
            let dev = next(6)?;
            let ino = next(6)?;
            let mode = next(6)? as u32;
            let uid = next(6)?;
            let gid = next(6)?;
            let nlink = next(6)?;
            let rdev = next(6)?;
            let mtime = next(11)?;
            let namesize = next(6)?;
            let size = next(11)?;
            Header {
                ino,
                mode,
                uid,
                gid,
                nlink,
                mtime,
                size,
                dev: split_dev(dev),
                rdev: split_dev(rdev),
                namesize,
                check: 0,
            }
        }
    })
}

/// An `odc` device number (one `dev_t`, as glibc's `makedev` builds it) as major and
/// minor.
fn split_dev(d: u64) -> (u64, u64) {
    let major = ((d >> 8) & 0xfff) | ((d >> 32) & !0xfff);
    let minor = (d & 0xff) | ((d >> 12) & !0xff);
    (major, minor)
}

/// The kind of a file from the type bits of its mode (as `stat` has them).
pub fn kind_of(mode: u32) -> Kind {
    match mode & 0o170_000 {
        0o040_000 => Kind::Dir,
        0o120_000 => Kind::Symlink,
        0o020_000 => Kind::CharDevice,
        0o060_000 => Kind::BlockDevice,
        0o010_000 => Kind::Fifo,
        0o140_000 => Kind::Socket,
        _ => Kind::File,
    }
}

/// A member while the archive is read: its entry, its cpio fields, and what sorting
/// out hardlinks needs.
struct Member {
    entry: Entry,
    own: Vec<MemberField>,
    /// Archive number (in a concatenation), device and inode: hardlinks share it.
    inode: Option<(usize, (u64, u64), u64)>,
    data: Range<usize>,
}

/// A cpio archive (or several, concatenated) read from memory, before it becomes an
/// [`Opened`]: an rpm adds to its entries first.
pub struct Archive {
    pub entries: Vec<Entry>,
    pub fields: BTreeMap<Bytes, Vec<MemberField>>,
    pub ranges: BTreeMap<Bytes, Range<usize>>,
    /// `cpio.format`, and `cpio.trailer` when something other than zeros follows.
    pub header: Vec<MemberField>,
    pub data: Arc<[u8]>,
}

impl Archive {
    /// The archive as an opened `format` (cpio, or the stream or package it came in),
    /// with `header` before its own header fields.
    pub fn into_opened(self, format: Format, mut header: Vec<MemberField>) -> Opened {
        header.extend(self.header);
        Opened {
            format,
            header,
            set: members_set(self.entries),
            fields: self.fields,
            views: BTreeMap::new(),
            data: self.data,
            how: Members::Ranges(self.ranges),
        }
    }
}

/// Open a cpio archive held in memory.
pub fn open(data: Arc<[u8]>, prefix: &[u8], budget: &mut Budget) -> Result<Opened, Problem> {
    Ok(read(data, prefix, budget)?.into_opened(Format::Cpio, Vec::new()))
}

/// Read the archives in `data` (which starts with a cpio header) and what follows them.
pub fn read(data: Arc<[u8]>, prefix: &[u8], budget: &mut Budget) -> Result<Archive, Problem> {
    let mut buf = data;
    let mut at = 0;
    let mut members: Vec<Member> = Vec::new();
    let mut forms: Vec<String> = Vec::new();
    let mut codec: Option<&'static str> = None;
    let mut trailer = None;
    loop {
        let form = Form::of(&buf[at..]).ok_or_else(|| bad(at, "no cpio header"))?;
        forms.push(match codec.take() {
            Some(c) => format!("{c}: {}", form.name()),
            None => form.name().to_string(),
        });
        at = archive(&buf, at, forms.len() - 1, prefix, &mut members, budget)?;
        let Some(z) = buf[at..].iter().position(|&b| b != 0).map(|i| at + i) else {
            break;
        };
        if is_cpio(&buf[z..]) {
            at = z;
            continue;
        }
        let c = Compression::detect(&buf[z..]);
        if c == Compression::None {
            trailer = Some(describe(&buf[z..], None));
            break;
        }
        let (out, _) = super::stream::decode(c, &buf[z..], budget)?;
        if !is_cpio(&out) {
            trailer = Some(describe(&buf[z..], Some(c.name())));
            break;
        }
        // The decoded archive goes on where the compressed one started, in one buffer.
        if !budget.take(z as u64) {
            return Err(Problem::Cut(format!(
                "its cpio archives take more than the {} bytes left",
                budget.left()
            )));
        }
        let mut joined = Vec::with_capacity(z + out.len());
        joined.extend_from_slice(&buf[..z]);
        joined.extend_from_slice(&out);
        buf = joined.into();
        at = z;
        codec = Some(c.name());
    }
    let mut header = vec![("cpio", "format".to_string(), forms.join(" + "))];
    if let Some(t) = trailer {
        header.push(("cpio", "trailer".to_string(), t));
    }
    let (entries, fields, ranges) = finish(members, &buf);
    Ok(Archive {
        entries,
        fields,
        ranges,
        header,
        data: buf,
    })
}

/// What follows the last archive, when it is not zeros.
fn describe(rest: &[u8], stream: Option<&str>) -> String {
    let digest = crate::report::hex(&crate::source::hash::sha256(rest)[..6]);
    match stream {
        Some(c) => format!(
            "{} bytes after the last archive: a {c} stream that holds no cpio archive (sha256 {digest}...)",
            rest.len()
        ),
        None => format!(
            "{} bytes after the last archive (sha256 {digest}...)",
            rest.len()
        ),
    }
}

/// Read one archive from `at` to its trailer; the offset after the trailer's padding.
fn archive(
    buf: &[u8],
    start: usize,
    number: usize,
    prefix: &[u8],
    members: &mut Vec<Member>,
    budget: &mut Budget,
) -> Result<usize, Problem> {
    let mut at = start;
    loop {
        let form = Form::of(&buf[at..]).ok_or_else(|| {
            if at >= buf.len() {
                bad(at, "no trailer: the archive is cut short")
            } else {
                bad(at, "no cpio header")
            }
        })?;
        let h = header(buf, at, form)?;
        let name_start = at + form.header_len();
        let name_end = usize::try_from(h.namesize)
            .ok()
            .and_then(|n| name_start.checked_add(n))
            .filter(|&e| e <= buf.len() && e > name_start)
            .ok_or_else(|| bad(at, "member name past the end"))?;
        let raw = buf[name_start..name_end]
            .strip_suffix(b"\0")
            .ok_or_else(|| bad(at, "member name not NUL-terminated"))?;
        // Some writers pad the name with more NULs (dracut-cpio, to align data).
        let name = &raw[..raw.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1)];
        let data_start = form.align(start, name_end);
        let data_end = usize::try_from(h.size)
            .ok()
            .and_then(|n| data_start.checked_add(n))
            .filter(|&e| e <= buf.len())
            .ok_or_else(|| bad(at, "member data past the end"))?;
        let next = form.align(start, data_end).min(buf.len());
        if name == TRAILER {
            return Ok(next);
        }
        // A member's entry and fields cost memory its header bytes do not show (a
        // member can be 78 bytes): paid for, so that many small members cannot add up
        // to more than the budget.
        if !budget.take(MEMBER_COST + name.len() as u64) {
            return Err(Problem::Cut(format!(
                "its members take more than the {} bytes left",
                budget.left()
            )));
        }
        let place = At {
            form,
            h: &h,
            name,
            number,
            data: data_start..data_end,
            order: members.len(),
        };
        members.push(member(place, prefix, buf));
        at = next;
    }
}

/// Where a member is: its header's form and fields, its name, which archive of a
/// concatenation, its data and its position.
struct At<'a> {
    form: Form,
    h: &'a Header,
    name: &'a [u8],
    number: usize,
    data: Range<usize>,
    order: usize,
}

fn member(at: At<'_>, prefix: &[u8], buf: &[u8]) -> Member {
    let h = at.h;
    let kind = kind_of(h.mode);
    let mut e = Entry::new([prefix, &normalize_path(at.name)].concat().into(), kind);
    e.mode = h.mode;
    e.uid = h.uid;
    e.gid = h.gid;
    e.mtime = Some(Timestamp::from_secs(h.mtime.min(i64::MAX as u64) as i64));
    e.order = Some(u32::try_from(at.order).unwrap_or(u32::MAX));
    let data = &buf[at.data.clone()];
    match kind {
        Kind::File => e.size = data.len() as u64,
        Kind::Symlink => e.link_target = Some(data.into()),
        Kind::CharDevice | Kind::BlockDevice => e.extra.get_mut().device = Some(h.rdev),
        _ => {}
    }
    let mut own: Vec<MemberField> = vec![
        ("cpio", "ino".into(), h.ino.to_string()),
        ("cpio", "dev".into(), format!("{}:{}", h.dev.0, h.dev.1)),
        ("cpio", "nlink".into(), h.nlink.to_string()),
    ];
    if at.form == Form::Crc && kind == Kind::File {
        let sum = data.iter().fold(0u32, |s, &b| s.wrapping_add(b.into()));
        if u64::from(sum) != h.check {
            let text = format!("{:#010x}, the data sums to {sum:#010x}", h.check);
            own.push(("cpio", "checksum".into(), text));
        }
    } else if h.check != 0 {
        own.push(("cpio", "checksum".into(), format!("{:#010x}", h.check)));
    }
    Member {
        entry: e,
        own,
        inode: (kind == Kind::File && h.nlink > 1).then_some((at.number, h.dev, h.ino)),
        data: at.data,
    }
}

type Finished = (
    Vec<Entry>,
    BTreeMap<Bytes, Vec<MemberField>>,
    BTreeMap<Bytes, Range<usize>>,
);

/// Hardlinks sorted out (the first member of a group is the file, with the data the
/// last link that has any carries; the others are hardlinks to it), contents hashed.
fn finish(mut members: Vec<Member>, buf: &[u8]) -> Finished {
    let mut groups: BTreeMap<(usize, (u64, u64), u64), Vec<usize>> = BTreeMap::new();
    for (i, m) in members.iter().enumerate() {
        if let Some(k) = m.inode {
            groups.entry(k).or_default().push(i);
        }
    }
    for links in groups.values().filter(|g| g.len() > 1) {
        let first = links[0];
        let with_data = links
            .iter()
            .rev()
            .find(|&&i| !members[i].data.is_empty())
            .map_or(first, |&i| i);
        let data = members[with_data].data.clone();
        let target = members[first].entry.path.clone();
        members[first].data = data;
        members[first].entry.size = members[first].data.len() as u64;
        for &i in &links[1..] {
            let e = &mut members[i].entry;
            e.kind = Kind::Hardlink;
            e.hardlink_target = Some(target.clone());
            e.size = 0;
            members[i].data = 0..0;
        }
    }
    let mut entries = Vec::with_capacity(members.len());
    let mut fields = BTreeMap::new();
    let mut ranges = BTreeMap::new();
    let mut digests: BTreeMap<Bytes, crate::entry::Digest> = BTreeMap::new();
    for m in members {
        let mut e = m.entry;
        if e.kind == Kind::File {
            let d = crate::source::hash::sha256(&buf[m.data.clone()]);
            e.digest = Some(d);
            digests.insert(e.path.clone(), d);
            ranges.insert(e.path.clone(), m.data);
        } else if let Some(t) = &e.hardlink_target {
            e.digest = digests.get(t).copied();
        }
        fields.insert(e.path.clone(), m.own);
        entries.push(e);
    }
    (entries, fields, ranges)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One `newc` (or `crc`) member: header, name, padding, data, padding, the
    /// padding counted from the start of `out`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn newc(
        out: &mut Vec<u8>,
        magic: &str,
        ino: u32,
        mode: u32,
        nlink: u32,
        rdev: (u32, u32),
        name: &str,
        data: &[u8],
    ) {
        let sum = data.iter().fold(0u32, |s, &b| s.wrapping_add(b.into()));
        // GNU cpio sums the data of regular files only.
        let regular = mode & 0o170_000 == 0o100_000;
        let check = if magic == "070702" && regular { sum } else { 0 };
        let h = format!(
            "{magic}{ino:08x}{mode:08x}{:08x}{:08x}{nlink:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{check:08x}",
            1000,
            100,
            1_700_000_000u32,
            data.len(),
            8,
            1,
            rdev.0,
            rdev.1,
            name.len() + 1
        );
        assert_eq!(h.len(), 110);
        out.extend(h.as_bytes());
        out.extend(name.as_bytes());
        out.push(0);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
        out.extend(data);
        while !out.len().is_multiple_of(4) {
            out.push(0);
        }
    }

    pub(crate) fn trailer(out: &mut Vec<u8>, magic: &str) {
        newc(out, magic, 0, 0, 1, (0, 0), "TRAILER!!!", b"");
    }

    fn odc(out: &mut Vec<u8>, ino: u32, mode: u32, nlink: u32, rdev: u32, name: &str, data: &[u8]) {
        let h = format!(
            "070707{:06o}{ino:06o}{mode:06o}{:06o}{:06o}{nlink:06o}{rdev:06o}{:011o}{:06o}{:011o}",
            0o4001,
            0,
            0,
            1_700_000_000u32,
            name.len() + 1,
            data.len()
        );
        assert_eq!(h.len(), 76);
        out.extend(h.as_bytes());
        out.extend(name.as_bytes());
        out.push(0);
        out.extend(data);
    }

    fn sample(magic: &str) -> Vec<u8> {
        let mut a = Vec::new();
        newc(&mut a, magic, 1, 0o040_755, 2, (0, 0), ".", b"");
        newc(&mut a, magic, 2, 0o100_644, 2, (0, 0), "./a", b"");
        newc(&mut a, magic, 3, 0o120_777, 1, (0, 0), "link", b"a");
        newc(&mut a, magic, 4, 0o020_600, 1, (5, 1), "dev/console", b"");
        newc(&mut a, magic, 2, 0o100_644, 2, (0, 0), "b", b"hello\n");
        trailer(&mut a, magic);
        a
    }

    fn open_all(a: Vec<u8>) -> Result<Opened, Problem> {
        open(a.into(), b"x.cpio!/", &mut Budget::new(1 << 20))
    }

    fn get<'a>(o: &'a Opened, p: &str) -> &'a Entry {
        o.set
            .get(format!("x.cpio!/{p}").as_bytes())
            .unwrap_or_else(|| panic!("no {p}"))
    }

    #[test]
    fn sniffs_whole_headers_only() {
        assert!(is_cpio(&sample("070701")));
        assert!(is_cpio(&sample("070702")));
        let mut o = Vec::new();
        odc(&mut o, 1, 0o100_644, 1, 0, "a", b"x");
        assert!(is_cpio(&o));
        assert!(!is_cpio(b"070701"));
        let mut bad = sample("070701");
        bad[20] = b'g';
        assert!(!is_cpio(&bad));
    }

    #[test]
    fn newc_members_and_hardlinks() {
        let o = open_all(sample("070701")).unwrap();
        let paths: Vec<&[u8]> = o.set.entries.iter().map(|e| &*e.path).collect();
        assert_eq!(
            paths,
            [
                &b"x.cpio!/."[..],
                b"x.cpio!/a",
                b"x.cpio!/b",
                b"x.cpio!/dev/console",
                b"x.cpio!/link"
            ]
        );
        // The data is stored with the last link; the first is the file.
        let a = get(&o, "a");
        assert_eq!((a.kind, a.size, a.order), (Kind::File, 6, Some(1)));
        assert_eq!(a.digest, Some(crate::source::hash::sha256(b"hello\n")));
        let b = get(&o, "b");
        assert_eq!(b.kind, Kind::Hardlink);
        assert_eq!(b.hardlink_target.as_deref(), Some(&b"x.cpio!/a"[..]));
        assert_eq!(b.digest, a.digest);
        assert_eq!(get(&o, "link").link_target.as_deref(), Some(&b"a"[..]));
        let dev = get(&o, "dev/console");
        assert_eq!(dev.kind, Kind::CharDevice);
        assert_eq!(dev.extra.get().device, Some((5, 1)));
        assert_eq!((a.uid, a.gid, a.mode), (1000, 100, 0o100_644));
        assert_eq!(a.mtime, Some(Timestamp::from_secs(1_700_000_000)));
        let f = &o.fields[&b"x.cpio!/a"[..]];
        assert!(f.contains(&("cpio", "ino".into(), "2".into())));
        assert!(f.contains(&("cpio", "dev".into(), "8:1".into())));
        assert!(o.header.contains(&("cpio", "format".into(), "newc".into())));
        let got = o
            .contents(b"x.cpio!/", &[a], &mut Budget::new(100))
            .unwrap();
        assert_eq!(&*got[&a.path], b"hello\n");
    }

    #[test]
    fn crc_checksums_are_checked() {
        let good = open_all(sample("070702")).unwrap();
        assert!(good.fields.values().flatten().all(|f| f.1 != "checksum"));
        let mut a = sample("070702");
        let at = a.windows(6).position(|w| w == b"hello\n").unwrap();
        a[at] = b'j';
        let o = open_all(a).unwrap();
        // The data, and so its checksum, is the last link's.
        let f = &o.fields[&b"x.cpio!/b"[..]];
        assert!(
            f.iter()
                .any(|x| x.1 == "checksum" && x.2 == "0x0000021e, the data sums to 0x00000220"),
            "{f:?}"
        );
    }

    #[test]
    fn odc_members_and_devices() {
        let mut a = Vec::new();
        odc(&mut a, 7, 0o100_644, 2, 0, "one", b"data");
        odc(&mut a, 7, 0o100_644, 2, 0, "two", b"data");
        odc(&mut a, 8, 0o060_660, 1, (8 << 8) | 17, "sda1", b"");
        odc(&mut a, 0, 0, 1, 0, "TRAILER!!!", b"");
        a.extend([0; 100]);
        let o = open_all(a).unwrap();
        assert_eq!(get(&o, "one").kind, Kind::File);
        assert_eq!(get(&o, "two").kind, Kind::Hardlink);
        assert_eq!(get(&o, "sda1").extra.get().device, Some((8, 17)));
        assert_eq!(split_dev(0o4001), (8, 1));
        assert!(o.header.contains(&("cpio", "format".into(), "odc".into())));
        assert!(!o.header.iter().any(|h| h.1 == "trailer"));
    }

    #[test]
    fn concatenated_and_compressed_archives_are_read_on() {
        let mut early = Vec::new();
        newc(
            &mut early,
            "070701",
            1,
            0o100_644,
            1,
            (0, 0),
            "early",
            b"microcode",
        );
        trailer(&mut early, "070701");
        early.resize(512, 0);
        let mut main = Vec::new();
        newc(
            &mut main,
            "070701",
            1,
            0o100_755,
            1,
            (0, 0),
            "init",
            b"#!/bin/sh\n",
        );
        trailer(&mut main, "070701");
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut z, &main).unwrap();
        let mut all = early.clone();
        all.extend(z.finish().unwrap());
        let mut budget = Budget::new(1 << 20);
        let o = open(all.clone().into(), b"x.cpio!/", &mut budget).unwrap();
        assert_eq!(get(&o, "init").order, Some(1));
        assert_eq!(get(&o, "early").size, 9);
        assert!(
            o.header
                .contains(&("cpio", "format".into(), "newc + gzip: newc".into()))
        );
        let init = get(&o, "init");
        let got = o
            .contents(b"x.cpio!/", &[init], &mut Budget::new(100))
            .unwrap();
        assert_eq!(&*got[&init.path], b"#!/bin/sh\n");
        // The decoded archive, the copy and the two members are paid for; too small a
        // budget cuts it.
        let members = 2 * MEMBER_COST + 5 + 4;
        assert_eq!(budget.used, (main.len() + 512) as u64 + members);
        let mut small = Budget::new(100);
        assert!(matches!(
            open(all.into(), b"", &mut small),
            Err(Problem::Cut(_))
        ));
        // Bytes that are no archive after the last one: a header field.
        let mut junk = early;
        junk.extend(b"junk");
        let o = open_all(junk).unwrap();
        assert!(
            o.header
                .iter()
                .any(|h| h.1 == "trailer" && h.2.starts_with("4 bytes after the last archive"))
        );
    }

    #[test]
    fn hostile_archives_are_malformed_not_panics() {
        let whole = sample("070701");
        for n in 0..whole.len() {
            // Cut anywhere before the trailer's end: malformed, never a panic.
            let r = open_all(whole[..n].to_vec());
            if n < whole.len() - 12 {
                assert!(matches!(r, Err(Problem::Malformed(_))), "cut at {n}");
            }
        }
        for at in 0..whole.len() {
            let mut b = whole.clone();
            b[at] ^= 0x55;
            let _ = open_all(b);
        }
        // Absurd name and data sizes.
        let mut a = Vec::new();
        newc(&mut a, "070701", 1, 0o100_644, 1, (0, 0), "a", b"x");
        let mut huge_name = a.clone();
        huge_name[94..102].copy_from_slice(b"FFFFFFFF");
        assert!(
            matches!(open_all(huge_name), Err(Problem::Malformed(m)) if m.contains("member name past the end"))
        );
        let mut huge_data = a.clone();
        huge_data[54..62].copy_from_slice(b"FFFFFFFF");
        assert!(
            matches!(open_all(huge_data), Err(Problem::Malformed(m)) if m.contains("data past the end"))
        );
        let mut no_nul = a.clone();
        no_nul[111] = b'!';
        assert!(open_all(no_nul).is_err());
        assert!(matches!(open_all(a), Err(Problem::Malformed(m)) if m.contains("no trailer")));
    }
}
