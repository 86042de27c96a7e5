//! An rpm package inside a file: a 96-byte lead, the signature header (padded to 8
//! bytes), the header, and the payload: a cpio archive, mostly compressed. Both headers
//! are an index of 16-byte entries (tag, type, offset, count) and a store their values
//! live in. Read by hand rather than with the `rpm` crate (see docs/design.md).
//!
//! The payload is decoded within the budget and opened as the cpio archive it is, in
//! one step: members are `x.rpm!/usr/bin/x`, as a compressed tar's are. The header's
//! per-file lists add what the cpio does not carry: owner and group names (`uname`,
//! `gname`), the file flags as `rpm.flags` (`config`, `doc`, `ghost`, ...) and
//! capabilities as `rpm.caps`; a `%ghost` file, which is in the header and not in the
//! payload, is an entry too (with no content).
//!
//! The other tags are header fields of the outer entry: `rpm.NAME` for a tag of the
//! header (`rpm.version`, `rpm.release`, `rpm.buildtime`, `rpm.buildhost`,
//! `rpm.requirename`, ...; `rpm.tag.N` for a tag rdiff has no name for),
//! `rpm.signature.NAME` for the signature header, `rpm.lead` for the lead; the payload's
//! compression parameters as its codec's (`zstd.window_size`). Not compared, because
//! other fields show what they are made of: the per-file lists the members show (sizes,
//! modes, times, digests, link targets, devices, inodes, names), the payload's digests
//! and sizes, the signature header's digests and sizes of the other parts, and the
//! region tags. Two packages that differ only there are the `nested-no-difference` note.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::{Budget, Format, MemberField, Opened, Problem, cpio};
use crate::entry::{Bytes, Entry, Kind, Timestamp, normalize_path};
use crate::source::compress::Compression;

/// The lead's first bytes.
pub const LEAD_MAGIC: [u8; 4] = [0xed, 0xab, 0xee, 0xdb];
const LEAD: usize = 96;
const HEADER_MAGIC: [u8; 3] = [0x8e, 0xad, 0xe8];
/// rpm's own limits on a header (lib/header.c: `hdrchkTags`, `hdrchkData`).
const MAX_TAGS: u32 = 0xffff;
const MAX_STORE: u32 = 0x00ff_ffff;
/// A value rendered longer than this is shown as its length and digest.
const MAX_TEXT: usize = 200;

fn bad(at: usize, what: &str) -> Problem {
    Problem::Malformed(format!("{what} (byte {at})"))
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// One index entry and its value's bytes in the store.
struct Tag<'a> {
    tag: u32,
    kind: u32,
    count: u32,
    value: &'a [u8],
}

/// The header at `at`: its tags, in index order, and where it ends. Each value's bytes
/// are taken from the budget as they are found, so values that overlap in the store
/// cannot multiply the work.
fn header<'a>(
    data: &'a [u8],
    at: usize,
    what: &str,
    budget: &mut Budget,
) -> Result<(Vec<Tag<'a>>, usize), Problem> {
    let h = data
        .get(at..at + 16)
        .ok_or_else(|| bad(at, &format!("{what} cut short")))?;
    if h[..3] != HEADER_MAGIC {
        return Err(bad(at, &format!("no {what} magic")));
    }
    if h[3] != 1 {
        return Err(bad(at, &format!("{what} of version {}", h[3])));
    }
    let (n, size) = (be32(&h[8..12]), be32(&h[12..16]));
    if n > MAX_TAGS || size > MAX_STORE {
        let what = format!("{what} of {n} tags and {size} bytes, over rpm's limits");
        return Err(bad(at, &what));
    }
    let index = at + 16;
    let store = index + n as usize * 16;
    let end = store + size as usize;
    let st = data
        .get(store..end)
        .ok_or_else(|| bad(at, &format!("{what} cut short")))?;
    let mut tags = Vec::with_capacity(n as usize);
    for e in data[index..store].chunks_exact(16) {
        let (tag, kind, offset, count) = (be32(e), be32(&e[4..]), be32(&e[8..]), be32(&e[12..]));
        let value = extent(kind, offset, count, st).ok_or_else(|| {
            bad(
                at,
                &format!("{what}: tag {tag}'s value is not in its store"),
            )
        })?;
        // A list costs its bytes and, once split, a slot per item.
        let items = if matches!(kind, 1..=5 | 8 | 9) {
            u64::from(count)
        } else {
            0
        };
        if !budget.take(value.len() as u64 + 16 * items) {
            return Err(Problem::Cut(format!(
                "its {what}'s values take more than the {} bytes left",
                budget.left()
            )));
        }
        tags.push(Tag {
            tag,
            kind,
            count,
            value,
        });
    }
    Ok((tags, end))
}

/// The bytes a value of this type and count takes at `offset` of the store.
fn extent(kind: u32, offset: u32, count: u32, store: &[u8]) -> Option<&[u8]> {
    let rest = store.get(usize::try_from(offset).ok()?..)?;
    let width = match kind {
        0 => return Some(&[]),
        1 | 2 | 7 => 1,
        3 => 2,
        4 => 4,
        5 => 8,
        6 | 8 | 9 => {
            // NUL-terminated strings: one for a string, `count` for an array. Each
            // takes at least a byte, so this walks at most the store.
            let n = if kind == 6 { 1 } else { count };
            let mut p = 0;
            for _ in 0..n {
                p += rest.get(p..)?.iter().position(|&b| b == 0)? + 1;
            }
            return Some(&rest[..p]);
        }
        _ => return None,
    };
    rest.get(..usize::try_from(count).ok()?.checked_mul(width)?)
}

impl Tag<'_> {
    fn strings(&self) -> Vec<&[u8]> {
        match self.kind {
            6 | 8 | 9 => self
                .value
                .split(|&b| b == 0)
                .take(if self.kind == 6 {
                    1
                } else {
                    self.count as usize
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    fn numbers(&self) -> Vec<u64> {
        let w = match self.kind {
            1 | 2 => 1,
            3 => 2,
            4 => 4,
            5 => 8,
            _ => return Vec::new(),
        };
        self.value
            .chunks_exact(w)
            .map(|c| c.iter().fold(0u64, |n, &b| n << 8 | u64::from(b)))
            .collect()
    }

    /// The value as text: a string, a list, a number (a time for the build time), hex.
    fn text(&self, time: bool) -> String {
        let t = match self.kind {
            6 => String::from_utf8_lossy(self.value.split(|&b| b == 0).next().unwrap_or_default())
                .into_owned(),
            // A list, its empty strings as `""`.
            8 | 9 => self
                .strings()
                .iter()
                .map(|s| match s.is_empty() {
                    true => "\"\"".into(),
                    false => String::from_utf8_lossy(s),
                })
                .collect::<Vec<_>>()
                .join(", "),
            7 => crate::report::hex(self.value),
            0 => String::new(),
            _ if time && self.count == 1 => {
                Timestamp::from_secs(self.numbers()[0] as i64).to_string()
            }
            _ => self
                .numbers()
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        };
        if t.chars().count() <= MAX_TEXT {
            return t;
        }
        let digest = crate::report::hex(&crate::source::hash::sha256(self.value)[..6]);
        let unit = match self.kind {
            6 => "bytes of text",
            7 => "bytes",
            8 | 9 => "strings",
            _ => "numbers",
        };
        let n = if self.kind == 6 || self.kind == 7 {
            self.value.len().saturating_sub(usize::from(self.kind == 6))
        } else {
            self.count as usize
        };
        format!("{n} {unit}, sha256 {digest}...")
    }
}

mod tag {
    pub const BUILDTIME: u32 = 1006;
    pub const INSTALLTIME: u32 = 1008;
    pub const FILEFLAGS: u32 = 1037;
    pub const FILEUSERNAME: u32 = 1039;
    pub const FILEGROUPNAME: u32 = 1040;
    pub const FILESIZES: u32 = 1028;
    pub const FILEMODES: u32 = 1030;
    pub const FILERDEVS: u32 = 1033;
    pub const FILEMTIMES: u32 = 1034;
    pub const FILELINKTOS: u32 = 1036;
    pub const OLDFILENAMES: u32 = 1027;
    pub const DIRINDEXES: u32 = 1116;
    pub const BASENAMES: u32 = 1117;
    pub const DIRNAMES: u32 = 1118;
    pub const LONGFILESIZES: u32 = 5008;
    pub const FILECAPS: u32 = 5010;
}

/// Header tags not compared as fields: region tags, what the members show, and what is
/// computed from the payload.
const NOT_FIELDS: &[u32] = &[
    61, 62, 63, 64,   // regions
    1009, // size: the sum of the files' sizes
    1027, 1028, 1030, 1033, 1034, 1035, 1036, 1037, 1039, 1040, // per-file lists
    1046, // archivesize
    1095, 1096, 1116, 1117, 1118, // devices, inodes, names
    5008, 5009, 5010, // long sizes, capabilities
    5092, 5097, // payload digests
];

/// Signature tags not compared: digests and sizes of the header and payload, reserved
/// space.
const NOT_SIGNATURE_FIELDS: &[u32] = &[62, 269, 270, 271, 273, 999, 1000, 1004, 1007, 1008];

const SIGNATURE_NAMES: &[(u32, &str)] = &[
    (267, "dsa"),
    (268, "rsa"),
    (274, "filesignatures"),
    (275, "filesignaturelength"),
    (276, "veritysignatures"),
    (277, "veritysignaturealgo"),
    (278, "openpgp"),
    (1002, "pgp"),
    (1005, "gpg"),
    (1006, "pgp5"),
];

/// File flags (`rpmfileAttrs`) by bit.
const FILE_FLAGS: &[(u64, &str)] = &[
    (1 << 0, "config"),
    (1 << 1, "doc"),
    (1 << 2, "icon"),
    (1 << 3, "missingok"),
    (1 << 4, "noreplace"),
    (1 << 5, "specfile"),
    (1 << 6, "ghost"),
    (1 << 7, "license"),
    (1 << 8, "readme"),
    (1 << 11, "pubkey"),
    (1 << 12, "artifact"),
];
const GHOST: u64 = 1 << 6;

fn flags_text(f: u64) -> String {
    let mut names: Vec<String> = FILE_FLAGS
        .iter()
        .filter(|(b, _)| f & b != 0)
        .map(|(_, n)| n.to_string())
        .collect();
    let rest = FILE_FLAGS.iter().fold(f, |f, (b, _)| f & !b);
    if rest != 0 {
        names.push(format!("{rest:#x}"));
    }
    names.join(",")
}

fn tag_name(t: u32) -> String {
    match TAG_NAMES.binary_search_by_key(&t, |x| x.0) {
        Ok(i) => TAG_NAMES[i].1.to_string(),
        Err(_) => format!("tag.{t}"),
    }
}

/// Open an rpm package held in memory.
pub fn open(data: Arc<[u8]>, prefix: &[u8], budget: &mut Budget) -> Result<Opened, Problem> {
    let lead = data
        .get(..LEAD)
        .filter(|l| l.starts_with(&LEAD_MAGIC))
        .ok_or_else(|| bad(0, "no lead"))?;
    let (sig, sig_end) = header(&data, LEAD, "signature header", budget)?;
    let (tags, end) = header(&data, sig_end.next_multiple_of(8), "header", budget)?;
    let mut fields: Vec<MemberField> = vec![("rpm", "lead".into(), lead_text(lead))];
    for t in tags.iter().filter(|t| !NOT_FIELDS.contains(&t.tag)) {
        let time = matches!(t.tag, tag::BUILDTIME | tag::INSTALLTIME);
        fields.push(("rpm", tag_name(t.tag), t.text(time)));
    }
    for t in sig
        .iter()
        .filter(|t| !NOT_SIGNATURE_FIELDS.contains(&t.tag))
    {
        let name = match SIGNATURE_NAMES.binary_search_by_key(&t.tag, |x| x.0) {
            Ok(i) => SIGNATURE_NAMES[i].1.to_string(),
            Err(_) => format!("tag.{}", t.tag),
        };
        fields.push(("rpm", format!("signature.{name}"), t.text(false)));
    }
    let payload = &data[end..];
    let payload_problem = |p: Problem| match p {
        Problem::Malformed(m) => Problem::Malformed(format!("its payload at byte {end}: {m}")),
        cut => cut,
    };
    let c = Compression::detect(payload);
    let (out, params) = if c == Compression::None {
        if !budget.take(payload.len() as u64) {
            let left = budget.left();
            return Err(Problem::Cut(format!(
                "its payload is more than the {left} bytes left"
            )));
        }
        (payload.to_vec(), Vec::new())
    } else {
        super::stream::decode(c, payload, budget).map_err(payload_problem)?
    };
    fields.extend(super::headed(c.name(), params));
    if !cpio::is_cpio(&out) {
        return Err(bad(end, "the payload is not a cpio archive"));
    }
    let mut archive = cpio::read(out.into(), prefix, budget).map_err(payload_problem)?;
    files(&tags, prefix, &mut archive, budget)?;
    Ok(archive.into_opened(Format::Rpm, fields))
}

/// The lead, as text: its version, type, name, arch and os numbers, signature type.
fn lead_text(l: &[u8]) -> String {
    let u16at = |i: usize| u16::from_be_bytes([l[i], l[i + 1]]);
    let name = &l[10..76];
    let name = &name[..name.iter().position(|&b| b == 0).unwrap_or(name.len())];
    format!(
        "{}.{} {} {} (arch {}, os {}, signature type {})",
        l[4],
        l[5],
        match u16at(6) {
            0 => "binary".to_string(),
            1 => "source".to_string(),
            t => format!("type {t}"),
        },
        String::from_utf8_lossy(name),
        u16at(8),
        u16at(76),
        u16at(78)
    )
}

/// What the header's per-file lists add to the payload's members: owner names, flags,
/// capabilities; and the `%ghost` files, which have no member.
fn files(
    tags: &[Tag<'_>],
    prefix: &[u8],
    archive: &mut cpio::Archive,
    budget: &mut Budget,
) -> Result<(), Problem> {
    let find = |t: u32| tags.iter().find(|x| x.tag == t);
    let strings = |t: u32| find(t).map(Tag::strings).unwrap_or_default();
    let numbers = |t: u32| find(t).map(Tag::numbers).unwrap_or_default();
    let (bases, olds) = (strings(tag::BASENAMES), strings(tag::OLDFILENAMES));
    let (dirs, index) = (strings(tag::DIRNAMES), numbers(tag::DIRINDEXES));
    let name = |i: usize| -> Vec<u8> {
        match bases.get(i) {
            Some(base) => {
                let dir = index.get(i).and_then(|&d| dirs.get(d as usize));
                [dir.copied().unwrap_or_default(), base].concat()
            }
            None => olds.get(i).copied().unwrap_or_default().to_vec(),
        }
    };
    let (users, groups) = (strings(tag::FILEUSERNAME), strings(tag::FILEGROUPNAME));
    let (flags, caps) = (numbers(tag::FILEFLAGS), strings(tag::FILECAPS));
    let (modes, mtimes) = (numbers(tag::FILEMODES), numbers(tag::FILEMTIMES));
    let sizes = match find(tag::LONGFILESIZES) {
        Some(t) => t.numbers(),
        None => numbers(tag::FILESIZES),
    };
    let (links, rdevs) = (strings(tag::FILELINKTOS), numbers(tag::FILERDEVS));
    let mut at: BTreeMap<Bytes, usize> = BTreeMap::new();
    for (i, e) in archive.entries.iter().enumerate() {
        at.insert(e.path.clone(), i);
    }
    let mut ghosts = Vec::new();
    for i in 0..bases.len().max(olds.len()) {
        let path: Bytes = [prefix, &normalize_path(&name(i))].concat().into();
        let flag = flags.get(i).copied().unwrap_or(0);
        let entry = match at.get(&path) {
            Some(&j) => &mut archive.entries[j],
            None if flag & GHOST != 0 => {
                // An entry made from the header alone: paid for, as a member's copy is.
                let cost = (std::mem::size_of::<Entry>() + path.len()) as u64;
                if !budget.take(cost) {
                    return Err(Problem::Cut(format!(
                        "its header's %ghost files take more than the {} bytes left",
                        budget.left()
                    )));
                }
                let mode = modes.get(i).copied().unwrap_or(0) as u32;
                let mut e = Entry::new(path.clone(), cpio::kind_of(mode));
                e.mode = mode;
                e.mtime = mtimes.get(i).map(|&t| Timestamp::from_secs(t as i64));
                if e.kind == Kind::File {
                    e.size = sizes.get(i).copied().unwrap_or(0);
                }
                if e.kind == Kind::Symlink {
                    e.link_target = links.get(i).map(|l| (*l).into());
                }
                if matches!(e.kind, Kind::CharDevice | Kind::BlockDevice) {
                    let d = rdevs.get(i).copied().unwrap_or(0);
                    e.extra.get_mut().device = Some((d >> 8 & 0xff, d & 0xff));
                }
                ghosts.push(e);
                ghosts.last_mut().expect("pushed")
            }
            None => continue,
        };
        entry.uname = users.get(i).map(|u| (*u).into());
        entry.gname = groups.get(i).map(|g| (*g).into());
        let own = archive.fields.entry(path).or_default();
        if flag != 0 {
            own.push(("rpm", "flags".into(), flags_text(flag)));
        }
        if let Some(c) = caps.get(i).filter(|c| !c.is_empty()) {
            own.push((
                "rpm",
                "caps".into(),
                String::from_utf8_lossy(c).into_owned(),
            ));
        }
    }
    archive.entries.extend(ghosts);
    Ok(())
}

/// Names of the header's tags (rpm 4.18's `rpmtag.h`), by number.
const TAG_NAMES: &[(u32, &str)] = &[
    (100, "headeri18ntable"),
    (257, "sigsize"),
    (259, "sigpgp"),
    (261, "pkgid"),
    (262, "siggpg"),
    (266, "pubkeys"),
    (267, "dsaheader"),
    (268, "rsaheader"),
    (269, "sha1header"),
    (270, "longsigsize"),
    (271, "longarchivesize"),
    (273, "sha256header"),
    (276, "veritysignatures"),
    (277, "veritysignaturealgo"),
    (1000, "name"),
    (1001, "version"),
    (1002, "release"),
    (1003, "epoch"),
    (1004, "summary"),
    (1005, "description"),
    (1006, "buildtime"),
    (1007, "buildhost"),
    (1008, "installtime"),
    (1009, "size"),
    (1010, "distribution"),
    (1011, "vendor"),
    (1012, "gif"),
    (1013, "xpm"),
    (1014, "license"),
    (1015, "packager"),
    (1016, "group"),
    (1018, "source"),
    (1019, "patch"),
    (1020, "url"),
    (1021, "os"),
    (1022, "arch"),
    (1023, "prein"),
    (1024, "postin"),
    (1025, "preun"),
    (1026, "postun"),
    (1027, "oldfilenames"),
    (1028, "filesizes"),
    (1029, "filestates"),
    (1030, "filemodes"),
    (1033, "filerdevs"),
    (1034, "filemtimes"),
    (1035, "filedigests"),
    (1036, "filelinktos"),
    (1037, "fileflags"),
    (1039, "fileusername"),
    (1040, "filegroupname"),
    (1043, "icon"),
    (1044, "sourcerpm"),
    (1045, "fileverifyflags"),
    (1046, "archivesize"),
    (1047, "providename"),
    (1048, "requireflags"),
    (1049, "requirename"),
    (1050, "requireversion"),
    (1051, "nosource"),
    (1052, "nopatch"),
    (1053, "conflictflags"),
    (1054, "conflictname"),
    (1055, "conflictversion"),
    (1059, "excludearch"),
    (1060, "excludeos"),
    (1061, "exclusivearch"),
    (1062, "exclusiveos"),
    (1064, "rpmversion"),
    (1065, "triggerscripts"),
    (1066, "triggername"),
    (1067, "triggerversion"),
    (1068, "triggerflags"),
    (1069, "triggerindex"),
    (1079, "verifyscript"),
    (1080, "changelogtime"),
    (1081, "changelogname"),
    (1082, "changelogtext"),
    (1085, "preinprog"),
    (1086, "postinprog"),
    (1087, "preunprog"),
    (1088, "postunprog"),
    (1089, "buildarchs"),
    (1090, "obsoletename"),
    (1091, "verifyscriptprog"),
    (1092, "triggerscriptprog"),
    (1094, "cookie"),
    (1095, "filedevices"),
    (1096, "fileinodes"),
    (1097, "filelangs"),
    (1098, "prefixes"),
    (1099, "instprefixes"),
    (1106, "sourcepackage"),
    (1112, "provideflags"),
    (1113, "provideversion"),
    (1114, "obsoleteflags"),
    (1115, "obsoleteversion"),
    (1116, "dirindexes"),
    (1117, "basenames"),
    (1118, "dirnames"),
    (1119, "origdirindexes"),
    (1120, "origbasenames"),
    (1121, "origdirnames"),
    (1122, "optflags"),
    (1123, "disturl"),
    (1124, "payloadformat"),
    (1125, "payloadcompressor"),
    (1126, "payloadflags"),
    (1127, "installcolor"),
    (1128, "installtid"),
    (1129, "removetid"),
    (1132, "platform"),
    (1133, "patchesname"),
    (1134, "patchesflags"),
    (1135, "patchesversion"),
    (1140, "filecolors"),
    (1141, "fileclass"),
    (1142, "classdict"),
    (1143, "filedependsx"),
    (1144, "filedependsn"),
    (1145, "dependsdict"),
    (1146, "sourcepkgid"),
    (1147, "filecontexts"),
    (1148, "fscontexts"),
    (1149, "recontexts"),
    (1150, "policies"),
    (1151, "pretrans"),
    (1152, "posttrans"),
    (1153, "pretransprog"),
    (1154, "posttransprog"),
    (1155, "disttag"),
    (1156, "oldsuggestsname"),
    (1157, "oldsuggestsversion"),
    (1158, "oldsuggestsflags"),
    (1159, "oldenhancesname"),
    (1160, "oldenhancesversion"),
    (1161, "oldenhancesflags"),
    (1195, "dbinstance"),
    (1196, "nvra"),
    (5000, "filenames"),
    (5001, "fileprovide"),
    (5002, "filerequire"),
    (5005, "triggerconds"),
    (5006, "triggertype"),
    (5007, "origfilenames"),
    (5008, "longfilesizes"),
    (5009, "longsize"),
    (5010, "filecaps"),
    (5011, "filedigestalgo"),
    (5012, "bugurl"),
    (5013, "evr"),
    (5014, "nvr"),
    (5015, "nevr"),
    (5016, "nevra"),
    (5017, "headercolor"),
    (5018, "verbose"),
    (5019, "epochnum"),
    (5020, "preinflags"),
    (5021, "postinflags"),
    (5022, "preunflags"),
    (5023, "postunflags"),
    (5024, "pretransflags"),
    (5025, "posttransflags"),
    (5026, "verifyscriptflags"),
    (5027, "triggerscriptflags"),
    (5030, "policynames"),
    (5031, "policytypes"),
    (5032, "policytypesindexes"),
    (5033, "policyflags"),
    (5034, "vcs"),
    (5035, "ordername"),
    (5036, "orderversion"),
    (5037, "orderflags"),
    (5040, "instfilenames"),
    (5041, "requirenevrs"),
    (5042, "providenevrs"),
    (5043, "obsoletenevrs"),
    (5044, "conflictnevrs"),
    (5045, "filenlinks"),
    (5046, "recommendname"),
    (5047, "recommendversion"),
    (5048, "recommendflags"),
    (5049, "suggestname"),
    (5050, "suggestversion"),
    (5051, "suggestflags"),
    (5052, "supplementname"),
    (5053, "supplementversion"),
    (5054, "supplementflags"),
    (5055, "enhancename"),
    (5056, "enhanceversion"),
    (5057, "enhanceflags"),
    (5058, "recommendnevrs"),
    (5059, "suggestnevrs"),
    (5060, "supplementnevrs"),
    (5061, "enhancenevrs"),
    (5062, "encoding"),
    (5066, "filetriggerscripts"),
    (5067, "filetriggerscriptprog"),
    (5068, "filetriggerscriptflags"),
    (5069, "filetriggername"),
    (5070, "filetriggerindex"),
    (5071, "filetriggerversion"),
    (5072, "filetriggerflags"),
    (5076, "transfiletriggerscripts"),
    (5077, "transfiletriggerscriptprog"),
    (5078, "transfiletriggerscriptflags"),
    (5079, "transfiletriggername"),
    (5080, "transfiletriggerindex"),
    (5081, "transfiletriggerversion"),
    (5082, "transfiletriggerflags"),
    (5084, "filetriggerpriorities"),
    (5085, "transfiletriggerpriorities"),
    (5086, "filetriggerconds"),
    (5087, "filetriggertype"),
    (5088, "transfiletriggerconds"),
    (5089, "transfiletriggertype"),
    (5090, "filesignatures"),
    (5091, "filesignaturelength"),
    (5092, "payloaddigest"),
    (5093, "payloaddigestalgo"),
    (5096, "modularitylabel"),
    (5097, "payloaddigestalt"),
    (5098, "archsuffix"),
    (5099, "spec"),
    (5100, "translationurl"),
    (5101, "upstreamreleases"),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::nested::cpio::tests::{newc, trailer};

    /// A header of these tags: (tag, type, count, value).
    fn header_bytes(tags: &[(u32, u32, u32, &[u8])]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut store: Vec<u8> = Vec::new();
        for (tag, kind, count, value) in tags {
            for n in [*tag, *kind, store.len() as u32, *count] {
                index.extend(n.to_be_bytes());
            }
            store.extend(*value);
        }
        let mut h = vec![0x8e, 0xad, 0xe8, 1, 0, 0, 0, 0];
        h.extend((tags.len() as u32).to_be_bytes());
        h.extend((store.len() as u32).to_be_bytes());
        h.extend(index);
        h.extend(store);
        h
    }

    fn package(buildtime: u32, host: &str, data: &[u8]) -> Vec<u8> {
        let mut p = LEAD_MAGIC.to_vec();
        p.extend([3, 0, 0, 0, 0, 1]);
        p.extend(b"hello-1.0-1");
        p.resize(LEAD, 0);
        p[76..80].copy_from_slice(&[0, 1, 0, 5]);
        // A signature header with one digest (not compared), padded to 8 bytes.
        p.extend(header_bytes(&[(273, 6, 1, b"abc\0\0")]));
        while !p.len().is_multiple_of(8) {
            p.push(0);
        }
        let host = [host.as_bytes(), b"\0"].concat();
        p.extend(header_bytes(&[
            (1000, 6, 1, b"hello\0"),
            (1006, 4, 1, &buildtime.to_be_bytes()),
            (1007, 6, 1, &host),
            (1037, 4, 2, &[0, 0, 0, 0x11, 0, 0, 0, 0x40]),
            (1039, 8, 2, b"root\0nobody\0"),
            (1040, 8, 2, b"root\0nogroup\0"),
            (1030, 3, 2, &[0x81, 0xa4, 0x81, 0xa4]),
            (1116, 4, 2, &[0, 0, 0, 0, 0, 0, 0, 0]),
            (1117, 8, 2, b"hello.conf\0ghost.log\0"),
            (1118, 8, 1, b"/etc/\0"),
        ]));
        let mut cpio = Vec::new();
        newc(
            &mut cpio,
            "070701",
            1,
            0o100_644,
            1,
            (0, 0),
            "./etc/hello.conf",
            data,
        );
        trailer(&mut cpio, "070701");
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut z, &cpio).unwrap();
        p.extend(z.finish().unwrap());
        p
    }

    fn open_it(p: Vec<u8>) -> Result<Opened, Problem> {
        open(p.into(), b"x.rpm!/", &mut Budget::new(1 << 20))
    }

    #[test]
    fn header_fields_and_members() {
        let o = open_it(package(1_700_000_000, "builder-a", b"color=blue\n")).unwrap();
        let h = |k: &str| o.header.iter().find(|x| x.1 == k).map(|x| x.2.as_str());
        assert_eq!(h("name"), Some("hello"));
        assert_eq!(h("buildtime"), Some("2023-11-14T22:13:20Z"));
        assert_eq!(h("buildhost"), Some("builder-a"));
        assert_eq!(
            h("lead"),
            Some("3.0 binary hello-1.0-1 (arch 1, os 1, signature type 5)")
        );
        assert!(o.header.contains(&("gzip", "mtime".into(), "0".into())));
        assert_eq!(h("format"), Some("newc"));
        // Digests and the per-file lists are not fields.
        assert!(h("signature.tag.273").is_none() && h("fileflags").is_none());
        let conf = o.set.get(b"x.rpm!/etc/hello.conf").unwrap();
        assert_eq!(conf.uname.as_deref(), Some(&b"root"[..]));
        assert_eq!(conf.size, 11);
        let f = &o.fields[&b"x.rpm!/etc/hello.conf"[..]];
        assert!(f.contains(&("rpm", "flags".into(), "config,noreplace".into())));
        // A %ghost file has no member: an entry from the header, without content.
        let ghost = o.set.get(b"x.rpm!/etc/ghost.log").unwrap();
        assert_eq!((ghost.kind, ghost.digest), (Kind::File, None));
        assert_eq!(ghost.uname.as_deref(), Some(&b"nobody"[..]));
        let f = &o.fields[&b"x.rpm!/etc/ghost.log"[..]];
        assert!(f.contains(&("rpm", "flags".into(), "ghost".into())));
    }

    #[test]
    fn overlapping_values_are_paid_for() {
        // Many tags whose values are all the whole store: stopped by the budget.
        let store = vec![7u8; 4096];
        let tags: Vec<(u32, u32, u32, &[u8])> =
            (0..1000).map(|t| (2000 + t, 7, 4096, &[][..])).collect();
        let mut h = header_bytes(&tags);
        h.extend(&store);
        // The store size written is that of the values given (none): set it.
        h[12..16].copy_from_slice(&4096u32.to_be_bytes());
        let mut b = Budget::new(1 << 20);
        let r = header(&h, 0, "header", &mut b);
        assert!(matches!(r, Err(Problem::Cut(_))), "{:?}", r.map(|x| x.1));
    }

    #[test]
    fn the_payload_is_decoded_within_the_budget() {
        let mut b = Budget::new(100);
        let p = package(1, "h", &[b'x'; 1000]);
        assert!(matches!(open(p.into(), b"", &mut b), Err(Problem::Cut(_))));
        // The headers' values were paid for; the payload, refused, cost nothing.
        assert!(b.refused && b.used < 100, "{b:?}");
    }

    #[test]
    fn hostile_packages_are_malformed_not_panics() {
        let whole = package(1, "h", b"x");
        for n in 0..whole.len() {
            assert!(open_it(whole[..n].to_vec()).is_err(), "cut at {n}");
        }
        for at in 0..whole.len() {
            for x in [0x01, 0x80, 0xff] {
                let mut b = whole.clone();
                b[at] ^= x;
                let _ = open_it(b);
            }
        }
        // Absurd counts: of tags, of store bytes, of a string array's strings.
        let sig = LEAD + 8;
        let mut many = whole.clone();
        many[sig..sig + 4].copy_from_slice(&[0xff; 4]);
        assert!(
            matches!(open_it(many), Err(Problem::Malformed(m)) if m.contains("over rpm's limits"))
        );
        let mut big = whole.clone();
        big[sig + 4..sig + 8].copy_from_slice(&[0, 0xff, 0, 0]);
        assert!(matches!(open_it(big), Err(Problem::Malformed(m)) if m.contains("cut short")));
        assert_eq!(extent(8, 0, u32::MAX, b"a\0b\0"), None);
        assert_eq!(extent(4, u32::MAX, 1, b"abcd"), None);
        assert_eq!(extent(5, 0, u32::MAX, b"abcdefgh"), None);
        assert_eq!(extent(42, 0, 1, b"abcd"), None);
    }

    #[test]
    fn long_values_are_their_length_and_digest() {
        let v = vec![b'a'; 300];
        let t = Tag {
            tag: 1005,
            kind: 7,
            count: 300,
            value: &v,
        };
        assert!(t.text(false).starts_with("300 bytes, sha256 "));
        assert_eq!(flags_text(0x11 | 0x8000), "config,noreplace,0x8000");
        assert_eq!(tag_name(1007), "buildhost");
        assert_eq!(tag_name(4242), "tag.4242");
    }
}
