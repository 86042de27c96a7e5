//! Real bytes from real tools: every fixture under testdata/formats, testdata/compress
//! and testdata/rootfs (made by testdata/make-fixtures.sh with GNU tar 1.34, bsdtar
//! 3.6.2, Python 3.11 tarfile, zstd/gzip/xz/bzip2) read through the library, and each
//! fact testdata/FIXTURES.md records about them asserted with its exact value.
//!
//! Expected contents are rebuilt here from FIXTURES.md's description (Python's
//! `random.Random(n).randbytes`, the line patterns) and hashed with sha2 directly, so a
//! digest check does not trust rdiff's own hashing; they are also checked against the
//! sha256 table of FIXTURES.md, which pins the generators down.

mod support;

use std::collections::BTreeMap;

use rdiff::entry::{Entry, Format, HeaderFormat, Kind, Timestamp, ext};
use rdiff::report::{ContentDiff, FieldDiff, Report, Status, Value};
use rdiff::source::EntrySet;
use rdiff::source::compress::Compression;
use support::data::{PyRandom, hex, sha256, unhex};
use support::library::{entry, entry_b, paths, read_fixture, report, visible};
use support::paths::td;
use support::report::set as set_of;

const T0: i64 = 1_700_000_000;
const T1: i64 = 1_710_000_000;

fn ts(secs: i64) -> Option<Timestamp> {
    Some(Timestamp::from_secs(secs))
}

const NSEC: Option<Timestamp> = Some(Timestamp {
    secs: 1_700_000_000,
    nanos: 123_456_789,
});

const LONG_DIR: &str = "long-directory-name-padded-to-sixty-characters-xxxxxxxxxxxxx";
const LONG_FILE: &str = "long-directory-name-padded-to-sixty-characters-xxxxxxxxxxxxx/long-file-name-padded-to-ninety-characters-yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy.txt";

/// security.capability of formats ./cap.bin: cap_dac_override,cap_fowner,cap_net_raw+ep;
/// byte 4 is 0x0a, a newline inside a PAX record value.
const CAP_BIN: &str = "010000020a200000000000000000000000000000";
const CAP_PING_LEFT: &str = "0100000200200000000000000000000000000000";
const CAP_PING_RIGHT: &str = "0100000200300000000000000000000000000000";

const ACL_DIR_ACCESS: &str = "user::rwx,user:4711:rwx,group::r-x,mask::rwx,other::r-x";
const ACL_NAMED_ACCESS: &str = "user::rwx,user:1000:r-x,group::r-x,mask::r-x,other::r-x";
const ACL_NAMED_DEFAULT: &str = "user::rwx,group::r-x,group:100:r--,mask::r-x,other::r-x";
const ACL_RIGHT_ACCESS: &str = "user::rwx,user:1000:rwx,group::r-x,mask::r-x,other::r-x";

/// The 14 normalized paths of the formats tree, in byte order (= archive order).
const FORMATS_PATHS: [&str; 14] = [
    ".",
    "acl-dir",
    "acl-named",
    "cap.bin",
    "empty-dir",
    "fifo",
    "file.txt",
    "hardlink.txt",
    LONG_DIR,
    LONG_FILE,
    "long-symlink",
    "nsec.txt",
    "short-symlink",
    "xattr.txt",
];

fn b(s: &str) -> Box<[u8]> {
    s.as_bytes().into()
}

fn xattrs(e: &Entry) -> BTreeMap<String, String> {
    e.xattrs()
        .iter()
        .map(|(k, v)| (String::from_utf8(k.to_vec()).unwrap(), hex(v)))
        .collect()
}

fn xmap(items: &[(&str, &str)]) -> BTreeMap<String, String> {
    items
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn acls(e: &Entry) -> BTreeMap<String, String> {
    e.acl()
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn fmt(header: HeaderFormat, ext: u32) -> Option<Format> {
    Some(Format { header, ext })
}

// ---------------------------------------------------------------------------------
// formats/: one small tree, many writers

#[derive(Clone, Copy, Debug, PartialEq)]
enum Writer {
    Gnu,
    Ustar,
    Pax,
    PosixDefault,
    Bsdtar,
    BsdtarPax,
    Python,
}

use Writer::*;

impl Writer {
    fn file(self) -> &'static str {
        match self {
            Gnu => "formats/gnu.tar",
            Ustar => "formats/ustar.tar",
            Pax => "formats/pax.tar",
            PosixDefault => "formats/posix-default.tar",
            Bsdtar => "formats/bsdtar.tar",
            BsdtarPax => "formats/bsdtar-pax.tar",
            Python => "formats/python.tar",
        }
    }
    fn has_xattrs(self) -> bool {
        matches!(self, Pax | PosixDefault | Bsdtar | BsdtarPax | Python)
    }
    fn has_acls(self) -> bool {
        matches!(self, Pax | PosixDefault | Bsdtar | BsdtarPax)
    }
    /// Whether the writer kept nsec.txt's nanoseconds (bsdtar's restricted pax drops them).
    fn has_nsec(self) -> bool {
        matches!(self, Pax | PosixDefault | BsdtarPax | Python)
    }
    fn has_times(self) -> bool {
        matches!(self, PosixDefault | BsdtarPax)
    }
    fn names(self) -> Option<&'static str> {
        match self {
            PosixDefault => None, // --numeric-owner
            _ => Some("root"),
        }
    }

    /// The header format and extension records of each member, from the dumps.
    fn format(self, path: &str) -> Option<Format> {
        use HeaderFormat as H;
        match self {
            Gnu => fmt(
                H::Gnu,
                match path {
                    LONG_FILE => ext::GNU_LONGNAME,
                    "long-symlink" => ext::GNU_LONGLINK,
                    _ => 0,
                },
            ),
            Ustar => fmt(H::Ustar, if path == LONG_FILE { ext::PREFIX } else { 0 }),
            Pax | PosixDefault => {
                let extra = match path {
                    "acl-dir" | "acl-named" => ext::XATTR | ext::ACL,
                    "cap.bin" | "xattr.txt" => ext::XATTR,
                    LONG_FILE => ext::PATH,
                    "long-symlink" => ext::LINKPATH,
                    "nsec.txt" => ext::MTIME,
                    _ => 0,
                };
                if self == PosixDefault {
                    fmt(H::Pax, extra | ext::ATIME | ext::CTIME)
                } else if extra == 0 {
                    // GNU tar writes no `x` header for a member that needs none.
                    fmt(H::Ustar, 0)
                } else {
                    fmt(H::Pax, extra)
                }
            }
            Bsdtar | BsdtarPax => {
                let extra = match path {
                    "acl-dir" | "acl-named" => ext::ACL,
                    "cap.bin" | "xattr.txt" => ext::XATTR | ext::LIBARCHIVE_XATTR,
                    LONG_FILE => ext::PREFIX,
                    "long-symlink" => ext::LINKPATH,
                    "nsec.txt" if self == BsdtarPax => ext::MTIME,
                    _ => 0,
                };
                if self == BsdtarPax {
                    fmt(H::Pax, extra | ext::ATIME | ext::CTIME)
                } else if extra & !ext::PREFIX == 0 {
                    fmt(H::Ustar, extra)
                } else {
                    fmt(H::Pax, extra)
                }
            }
            Python => {
                let extra = match path {
                    "cap.bin" | "xattr.txt" => ext::XATTR,
                    LONG_FILE => ext::PATH,
                    "long-symlink" => ext::LINKPATH,
                    _ => 0,
                };
                // The leading global header (comment=fixture) applies to every member;
                // `comment` is a record rdiff has no field for (OTHER). Every member has
                // its own `mtime` record (tarfile writes float mtimes).
                fmt(H::Pax, extra | ext::GLOBAL | ext::OTHER | ext::MTIME)
            }
        }
    }

    /// The path exactly as the archive spells it.
    fn spelling(self, path: &str, kind: Kind) -> String {
        let slash = if kind == Kind::Dir { "/" } else { "" };
        match (self, path) {
            (_, ".") => "./".to_string(),
            (Python, p) => format!("{p}{slash}"),
            (_, p) => format!("./{p}{slash}"),
        }
    }
}

fn formats_kind(path: &str) -> Kind {
    match path {
        "." | "acl-dir" | "acl-named" | "empty-dir" | LONG_DIR => Kind::Dir,
        "fifo" => Kind::Fifo,
        "hardlink.txt" => Kind::Hardlink,
        "long-symlink" | "short-symlink" => Kind::Symlink,
        _ => Kind::File,
    }
}

fn formats_mode(w: Writer, path: &str) -> u32 {
    match path {
        // st_mode is 0775 (group bits = ACL mask); bsdtar stores the group:: entry's bits.
        "acl-dir" if matches!(w, Bsdtar | BsdtarPax) => 0o755,
        "acl-dir" => 0o775,
        "fifo" | "file.txt" | "hardlink.txt" | LONG_FILE | "nsec.txt" | "xattr.txt" => 0o644,
        "long-symlink" | "short-symlink" => 0o777,
        _ => 0o755,
    }
}

fn formats_size(path: &str) -> u64 {
    match path {
        "cap.bin" => 64,
        "file.txt" => 13,
        LONG_FILE => 10,
        "nsec.txt" => 17,
        "xattr.txt" => 13,
        _ => 0,
    }
}

/// Every fact about one writer's archive of the formats tree.
fn check_formats_tree(w: Writer) -> EntrySet {
    let set = read_fixture(w.file());
    let want: Vec<&str> = FORMATS_PATHS
        .iter()
        .copied()
        .filter(|p| !(w == Ustar && *p == "long-symlink"))
        .collect();
    assert_eq!(paths(&set), want, "{w:?}: paths");
    assert_eq!(set.info.entries, want.len() as u64, "{w:?}");
    assert_eq!(set.info.compression, Some(Compression::None), "{w:?}");
    assert_eq!(
        LONG_FILE.len() + 2,
        153,
        "the ./ path of the long file is 153 bytes"
    );

    let file_txt = sha256(b"regular file\n");
    let long_txt = sha256(b"long name\n");
    let cap_bin = sha256(&PyRandom::new(7).randbytes(64));
    for (i, p) in want.iter().enumerate() {
        let e = entry(&set, p);
        let ctx = format!("{w:?} {p}");
        let kind = formats_kind(p);
        assert_eq!(e.kind, kind, "{ctx}: kind");
        assert_eq!(e.mode, formats_mode(w, p), "{ctx}: mode {:o}", e.mode);
        assert_eq!((e.uid, e.gid), (0, 0), "{ctx}: owner");
        assert_eq!(e.uname, w.names().map(b), "{ctx}: uname");
        assert_eq!(e.gname, w.names().map(b), "{ctx}: gname");
        assert_eq!(e.size, formats_size(p), "{ctx}: size");
        let mtime = if *p == "nsec.txt" && w.has_nsec() {
            NSEC
        } else {
            ts(T0)
        };
        assert_eq!(e.mtime, mtime, "{ctx}: mtime");
        if w.has_times() {
            assert!(e.ctime().is_some(), "{ctx}: ctime");
            // The hardlink member's atime is the time tar read the link target (§0).
            if *p != "hardlink.txt" {
                let atime = if *p == "nsec.txt" { NSEC } else { ts(T0) };
                assert_eq!(e.atime(), atime, "{ctx}: atime");
            } else {
                assert!(e.atime().is_some(), "{ctx}: atime");
            }
        } else {
            assert_eq!((e.atime(), e.ctime()), (None, None), "{ctx}: atime/ctime");
        }
        let link = match *p {
            "short-symlink" => Some(b("file.txt")),
            "long-symlink" => Some(b(LONG_FILE)),
            _ => None,
        };
        assert_eq!(e.link_target, link, "{ctx}: link target");
        let hl = (*p == "hardlink.txt").then(|| b("file.txt"));
        assert_eq!(e.hardlink_target, hl, "{ctx}: hardlink target");
        assert_eq!(e.device(), None, "{ctx}: device");
        let digest = match *p {
            "file.txt" | "hardlink.txt" => Some(file_txt),
            LONG_FILE => Some(long_txt),
            "cap.bin" => Some(cap_bin),
            "nsec.txt" | "xattr.txt" => e.digest, // content not described; see agreement test
            _ => None,
        };
        assert_eq!(e.digest, digest, "{ctx}: digest");
        if kind == Kind::File {
            assert!(e.digest.is_some(), "{ctx}: a file has a digest");
        }
        let want_x = match *p {
            "cap.bin" if w.has_xattrs() => xmap(&[("security.capability", CAP_BIN)]),
            "xattr.txt" if w.has_xattrs() => xmap(&[("user.k", "76")]),
            _ => xmap(&[]),
        };
        assert_eq!(xattrs(e), want_x, "{ctx}: xattrs");
        let want_acl = match *p {
            // GNU tar writes an empty SCHILY.acl.default for acl-dir: no default ACL.
            "acl-dir" if w.has_acls() => xmap(&[("access", ACL_DIR_ACCESS)]),
            "acl-named" if w.has_acls() => {
                xmap(&[("access", ACL_NAMED_ACCESS), ("default", ACL_NAMED_DEFAULT)])
            }
            _ => xmap(&[]),
        };
        assert_eq!(acls(e), want_acl, "{ctx}: acl");
        assert_eq!(e.format, w.format(p), "{ctx}: format");
        assert_eq!(e.occurrences, 1, "{ctx}: occurrences");
        assert_eq!(e.order, Some(i as u32), "{ctx}: order");
        assert_eq!(
            e.spelling_bytes().as_deref(),
            Some(w.spelling(p, kind).as_bytes()),
            "{ctx}: spelling"
        );
    }
    set
}

#[test]
fn gnu_tar_long_name_and_long_link_headers() {
    let set = check_formats_tree(Gnu);
    // GNU format cannot carry nanoseconds, xattrs or ACLs.
    assert_eq!(entry(&set, "nsec.txt").mtime, ts(T0));
    assert_eq!(
        entry(&set, "long-symlink")
            .link_target
            .as_deref()
            .map(<[u8]>::len),
        Some(151)
    );
}

#[test]
fn ustar_tar_uses_the_prefix_field() {
    let set = check_formats_tree(Ustar);
    assert!(set.get(b"long-symlink").is_none());
    assert_eq!(
        entry(&set, LONG_FILE).format,
        fmt(HeaderFormat::Ustar, ext::PREFIX)
    );
}

#[test]
fn gnu_tar_pax_format() {
    let set = check_formats_tree(Pax);
    let cap = entry(&set, "cap.bin");
    // The 0x0a byte survives: records are walked by their length prefix.
    assert_eq!(cap.xattrs()[&b("security.capability")][4], 0x0a);
    assert_eq!(
        rdiff::meta::decode_capability(&cap.xattrs()[&b("security.capability")]).as_deref(),
        Some("cap_dac_override,cap_fowner,cap_net_raw=ep")
    );
    assert_eq!(entry(&set, "nsec.txt").mtime, NSEC);
}

#[test]
fn gnu_tar_posix_default_with_atime_ctime() {
    check_formats_tree(PosixDefault);
}

#[test]
fn bsdtar_restricted_pax() {
    let set = check_formats_tree(Bsdtar);
    // bsdtar's restricted pax drops the nanoseconds.
    assert_eq!(entry(&set, "nsec.txt").mtime, ts(T0));
}

#[test]
fn bsdtar_full_pax() {
    check_formats_tree(BsdtarPax);
}

#[test]
fn python_tarfile_pax_with_global_header() {
    let set = check_formats_tree(Python);
    assert_eq!(entry(&set, "nsec.txt").mtime, NSEC);
    assert_eq!(
        hex(&entry(&set, "cap.bin").xattrs()[&b("security.capability")]),
        CAP_BIN
    );
}

/// GNU tar, bsdtar and Python wrote the same tree; where the formats can carry a fact,
/// they must agree on it.
#[test]
fn writers_agree_on_the_same_tree() {
    let all = [Gnu, Ustar, Pax, PosixDefault, Bsdtar, BsdtarPax, Python];
    let sets: Vec<(Writer, EntrySet)> = all.iter().map(|&w| (w, read_fixture(w.file()))).collect();
    let pax = &sets[2].1;
    assert_eq!(pax.entries.len(), 14);
    for (w, set) in &sets {
        for p in paths(set) {
            let (a, e) = (entry(pax, &p), entry(set, &p));
            let ctx = format!("{w:?} {p}");
            assert_eq!(e.kind, a.kind, "{ctx}");
            assert_eq!(e.size, a.size, "{ctx}");
            assert_eq!(e.digest, a.digest, "{ctx}: digest");
            assert_eq!(e.link_target, a.link_target, "{ctx}");
            assert_eq!(e.hardlink_target, a.hardlink_target, "{ctx}");
            assert_eq!((e.uid, e.gid), (a.uid, a.gid), "{ctx}");
            if !(p == "acl-dir" && matches!(w, Bsdtar | BsdtarPax)) {
                assert_eq!(e.mode, a.mode, "{ctx}");
            }
            if w.has_xattrs() {
                assert_eq!(e.xattrs(), a.xattrs(), "{ctx}");
            }
            if w.has_acls() {
                // GNU tar's names-only text (+ binary xattrs) and bsdtar's
                // names-and-ids text come out as one canonical form.
                assert_eq!(e.acl(), a.acl(), "{ctx}");
            }
            if p != "nsec.txt" || w.has_nsec() {
                assert_eq!(e.mtime, a.mtime, "{ctx}");
            }
        }
    }
    // The two files whose content FIXTURES.md does not spell out still have contents.
    assert_eq!(entry(pax, "nsec.txt").size, 17);
    assert!(entry(pax, "xattr.txt").digest.is_some());

    // The same, as the report says it under --semantic. Where an entry differs, the
    // inputs' `sha256` is shown too (it is hidden only with every difference that
    // explains it); the headers each writer spells its own way are hidden
    // (--ignore-tar-format).
    let r = report(&["--semantic", &td(Pax.file()), &td(Bsdtar.file())]);
    assert_eq!(
        visible(&r),
        set_of(&[("acl-dir", "mode"), ("input", "sha256")])
    );
    let f = field(&r, "acl-dir", "mode");
    assert_eq!(
        (&f.left, &f.right),
        (&Value::Mode(0o775), &Value::Mode(0o755))
    );

    let r = report(&["--semantic", &td(Pax.file()), &td(BsdtarPax.file())]);
    assert_eq!(
        visible(&r),
        set_of(&[("acl-dir", "mode"), ("input", "sha256")])
    );

    let r = report(&["--semantic", &td(Pax.file()), &td(Python.file())]);
    assert_eq!(
        visible(&r),
        set_of(&[
            ("acl-dir", "acl.access"),
            ("acl-named", "acl.access"),
            ("acl-named", "acl.default"),
            ("input", "sha256"),
        ])
    );
    let f = field(&r, "acl-named", "acl.default");
    assert_eq!(
        (&f.left, &f.right),
        (&Value::Text(ACL_NAMED_DEFAULT.into()), &Value::Absent)
    );

    let r = report(&[
        "--semantic",
        "--ignore-owner-names",
        &td(Pax.file()),
        &td(PosixDefault.file()),
    ]);
    assert!(r.equal, "{:?}", visible(&r));
    assert!(!r.identical);

    let r = report(&["--semantic", &td(Pax.file()), &td(Gnu.file())]);
    assert_eq!(
        visible(&r),
        set_of(&[
            ("acl-dir", "acl.access"),
            ("acl-named", "acl.access"),
            ("acl-named", "acl.default"),
            ("cap.bin", "xattrs.security.capability"),
            ("input", "sha256"),
            ("xattr.txt", "xattrs.user.k"),
        ])
    );
    let f = field(&r, "cap.bin", "xattrs.security.capability");
    assert_eq!(
        f.left,
        Value::Xattr {
            raw: unhex(CAP_BIN).into(),
            decoded: Some("cap_dac_override,cap_fowner,cap_net_raw=ep".into()),
        }
    );
    assert_eq!(f.right, Value::Absent);

    let r = report(&["--semantic", &td(Gnu.file()), &td(Ustar.file())]);
    assert_eq!(
        visible(&r),
        set_of(&[("input", "sha256"), ("long-symlink", "-")])
    );
}

/// The input's field `name` is the text `left` on the left and `right` on the right.
fn assert_input_text(r: &Report, name: &str, left: &str, right: &str) {
    let f = field(r, "input", name);
    assert_eq!(
        (&f.left, &f.right),
        (&Value::Text(left.into()), &Value::Text(right.into())),
        "{name}"
    );
}

/// `a` and `b` hold the same tar stream: strict reports exactly `want` (field names)
/// on the input part and nothing else; `--ignore-compression` hides exactly those (the
/// `sha256` with them, by the same rule); `--semantic` too.
fn assert_only_compression_differs(a: &str, b: &str, want: &[&str]) -> Report {
    let ctx = format!("{a} vs {b}");
    let r = report(&[a, b]);
    let want_set: std::collections::BTreeSet<(String, String)> = want
        .iter()
        .map(|f| ("input".to_string(), f.to_string()))
        .collect();
    assert_eq!(visible(&r), want_set, "{ctx}");
    assert!(!r.identical && !r.equal && r.semantically_equal, "{ctx}");
    assert_eq!(r.differences.len(), 1, "{ctx}");
    assert_eq!(r.differences[0].part, "input", "{ctx}");
    for f in &r.differences[0].fields {
        assert_eq!(f.scope, rdiff::report::Scope::Input, "{ctx}: {}", f.name());
    }
    for flags in [&["--ignore-compression"][..], &["--semantic"][..]] {
        let mut args = flags.to_vec();
        args.extend([a, b]);
        let h = report(&args);
        assert!(
            h.equal && !h.identical,
            "{ctx} {flags:?}: {:?}",
            visible(&h)
        );
        let mut hidden: BTreeMap<(String, String), u64> = BTreeMap::new();
        for i in &h.ignored {
            hidden.insert((i.rule.clone(), i.field.clone()), i.count);
        }
        let codec = want.len() as u64 - 1;
        assert_eq!(
            hidden,
            BTreeMap::from([
                (
                    ("ignore-compression".to_string(), "compression".to_string()),
                    codec
                ),
                (("ignore-compression".to_string(), "sha256".to_string()), 1),
            ]),
            "{ctx} {flags:?}"
        );
    }
    r
}

fn field<'a>(r: &'a Report, path: &str, name: &str) -> &'a FieldDiff {
    r.differences
        .iter()
        .filter(|d| &*d.path == path.as_bytes())
        .flat_map(|d| &d.fields)
        .find(|f| f.name() == name)
        .unwrap_or_else(|| panic!("no visible {path} {name}"))
}

#[test]
fn global_header_in_the_middle_applies_to_later_members_only() {
    let set = read_fixture("formats/global-mid.tar");
    assert_eq!(paths(&set), ["after-1.txt", "after-2.txt", "before.txt"]);
    let before = entry(&set, "before.txt");
    let after1 = entry(&set, "after-1.txt");
    let after2 = entry(&set, "after-2.txt");
    assert_eq!((before.uid, before.mtime, before.size), (0, ts(T0), 25));
    assert_eq!(
        (after1.uid, after1.mtime, after1.size),
        (4242, ts(1_600_000_000), 49)
    );
    // The local x header (uid=7) beats the global one; the global mtime still applies.
    assert_eq!(
        (after2.uid, after2.mtime, after2.size),
        (7, ts(1_600_000_000), 34)
    );
    for e in [before, after1, after2] {
        assert_eq!((e.gid, e.mode, e.kind), (0, 0o644, Kind::File));
        assert_eq!((e.uname.as_deref(), e.gname.as_deref()), (None, None));
        assert!(e.digest.is_some());
    }
    assert_eq!(
        (before.order, after1.order, after2.order),
        (Some(0), Some(1), Some(2))
    );
    assert_eq!(before.format, fmt(HeaderFormat::Ustar, 0));
    let g = ext::GLOBAL | ext::UID | ext::MTIME;
    assert_eq!(after1.format, fmt(HeaderFormat::Pax, g));
    assert_eq!(after2.format, fmt(HeaderFormat::Pax, g));
}

/// 1 MiB: Random(11).randbytes(4096) at 0, Random(12).randbytes(4096) at 524288, holes.
fn sparse_content() -> Vec<u8> {
    let mut v = vec![0u8; 1 << 20];
    v[..4096].copy_from_slice(&PyRandom::new(11).randbytes(4096));
    v[524288..528384].copy_from_slice(&PyRandom::new(12).randbytes(4096));
    v
}

fn check_sparse(file: &str, format: Option<Format>, spelling: &str) {
    let set = read_fixture(file);
    assert_eq!(paths(&set), ["sparse.bin"], "{file}");
    let e = entry(&set, "sparse.bin");
    assert_eq!(e.kind, Kind::File, "{file}");
    assert_eq!(e.size, 1_048_576, "{file}");
    assert_eq!(
        (e.mode, e.uid, e.gid, e.mtime),
        (0o644, 0, 0, ts(T0)),
        "{file}"
    );
    assert_eq!(e.uname.as_deref(), Some(&b"root"[..]));
    assert_eq!(
        e.digest,
        Some(sha256(&sparse_content())),
        "{file}: expanded content"
    );
    assert_eq!(e.format, format, "{file}");
    assert_eq!(
        e.spelling_bytes().as_deref(),
        Some(spelling.as_bytes()),
        "{file}"
    );
    // Block hashes: 16 blocks of 64 KiB; blocks 1-7 and 9-15 are all holes.
    let blocks = e.blocks().expect("block hashes");
    assert_eq!(blocks.len(), 16, "{file}");
    for i in [2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 14, 15] {
        assert_eq!(blocks[i], blocks[1], "{file}: zero block {i}");
    }
    assert_ne!(blocks[0], blocks[1], "{file}");
    assert_ne!(blocks[8], blocks[1], "{file}");
    assert_ne!(blocks[0], blocks[8], "{file}");
}

#[test]
fn sparse_files_expand_to_their_real_content() {
    // The generator matches the stored data chunks (old GNU: data right after the header).
    let raw = std::fs::read(td("formats/sparse-gnu.tar")).unwrap();
    let want = sparse_content();
    assert_eq!(&raw[512..4608], &want[..4096]);
    assert_eq!(&raw[4608..8704], &want[524288..528384]);

    check_sparse(
        "formats/sparse-gnu.tar",
        fmt(HeaderFormat::Gnu, ext::GNU_SPARSE),
        "sparse.bin",
    );
    // PAX 1.0: the real name comes from GNU.sparse.name, not ./GNUSparseFile.1/...
    check_sparse(
        "formats/sparse-pax.tar",
        fmt(HeaderFormat::Pax, ext::SPARSE),
        // the spelling is GNU.sparse.name's: the header name is only a placeholder
        "sparse.bin",
    );
    let r = report(&[
        "--semantic",
        &td("formats/sparse-gnu.tar"),
        &td("formats/sparse-pax.tar"),
    ]);
    assert!(r.equal, "{:?}", visible(&r));
}

#[test]
fn duplicate_member_last_one_wins() {
    let set = read_fixture("formats/dup.tar");
    assert_eq!(paths(&set), ["dup.txt", "other.txt"]);
    let dup = entry(&set, "dup.txt");
    assert_eq!(dup.occurrences, 2);
    assert_eq!(dup.size, 23);
    assert_eq!(dup.mtime, ts(T1));
    assert_eq!(dup.digest, Some(sha256(b"second version, longer\n")));
    assert_eq!(dup.order, Some(2));
    assert_eq!(dup.format, fmt(HeaderFormat::Gnu, 0));
    let other = entry(&set, "other.txt");
    assert_eq!(
        (other.occurrences, other.size, other.order),
        (1, 10, Some(1))
    );

    let r = report(&[
        "--read-identical",
        &td("formats/dup.tar"),
        &td("formats/dup.tar"),
    ]);
    assert!(r.identical);
    let notes: Vec<(String, &str)> = r
        .notes
        .iter()
        .map(|n| (String::from_utf8_lossy(&n.path).into_owned(), n.kind))
        .collect();
    assert_eq!(notes, [("dup.txt".to_string(), "duplicate")]);
}

// ---------------------------------------------------------------------------------
// compress/: formats/pax.tar under every compressor

#[test]
fn every_compressed_file_gives_the_entries_of_pax_tar() {
    let pax = read_fixture("formats/pax.tar");
    assert_eq!(
        hex(&sha256(&std::fs::read(td("formats/pax.tar")).unwrap())),
        "45e0c0d7fa9759cf6fb5ae75790f250a68b4ec0aa128934577af8a1e5be97f42"
    );
    let cases = [
        ("long27.tar.zst", Compression::Zstd),
        ("long31.tar.zst", Compression::Zstd), // 2 GiB window
        ("multi.tar.gz", Compression::Gzip),   // 2 gzip members
        ("multi.tar.zst", Compression::Zstd),  // 2 zstd frames
        ("pax.tar.bz2", Compression::Bzip2),
        ("pax.tar.gz", Compression::Gzip),
        ("pax.tar.xz", Compression::Xz),
        ("pax.tar.zst", Compression::Zstd),
        ("zstd-named.tar.gz", Compression::Zstd), // zstd bytes, .gz name
    ];
    let mut listed: Vec<String> = std::fs::read_dir(td("compress"))
        .unwrap()
        .map(|d| d.unwrap().file_name().into_string().unwrap())
        .collect();
    listed.sort();
    let names: Vec<&str> = cases.iter().map(|c| c.0).collect();
    assert_eq!(listed, names, "every compressed fixture is covered");

    for (name, comp) in cases {
        let rel = format!("compress/{name}");
        let set = read_fixture(&rel);
        assert_eq!(set.info.compression, Some(comp), "{name}");
        // Read to the end of the decompressed stream: all 20480 tar bytes, also past
        // the first gzip member / zstd frame.
        assert_eq!(set.info.tar_bytes, 20480, "{name}");
        assert_eq!(set.entries.len(), 14, "{name}");
        // Entry derives PartialEq over every field: digests, formats, order, spelling.
        for (a, e) in pax.entries.iter().zip(&set.entries) {
            assert_eq!(e, a, "{name}");
        }
        // Strict is bit-for-bit: the same tar stream compressed is another input, which
        // differs in its bytes and its codec, and in nothing else.
        let r = assert_only_compression_differs(
            &td("formats/pax.tar"),
            &td(&rel),
            &["sha256", "compression"],
        );
        assert_eq!(r.right.compression.as_deref(), Some(comp.name()), "{name}");
        let f = field(&r, "input", "compression");
        assert_eq!(
            (&f.left, &f.right),
            (
                &Value::Text("none".into()),
                &Value::Text(comp.name().into())
            ),
            "{name}"
        );
        let f = field(&r, "input", "sha256");
        let file_sha = |p: &str| sha256(&std::fs::read(td(p)).unwrap());
        assert_eq!(
            (&f.left, &f.right),
            (
                &Value::Digest(file_sha("formats/pax.tar")),
                &Value::Digest(file_sha(&rel))
            ),
            "{name}"
        );
        assert_eq!(r.right.sha256, Some(hex(&file_sha(&rel))), "{name}");
    }

    // Same codec: the parameters FIXTURES.md records for each file, named as such.
    let c = |n: &str| td(&format!("compress/{n}"));
    let r = assert_only_compression_differs(
        &c("long27.tar.zst"),
        &c("long31.tar.zst"),
        &["sha256", "compression.window_size"],
    );
    assert_input_text(&r, "compression.window_size", "128 MiB", "2 GiB");
    let r = assert_only_compression_differs(
        &c("pax.tar.gz"),
        &c("multi.tar.gz"),
        &["sha256", "compression.members"],
    );
    assert_input_text(&r, "compression.members", "1", "2");
    // pax.tar.zst: one frame of the whole 20 KiB with its content size; multi.tar.zst:
    // two frames of 10 KiB.
    let r = assert_only_compression_differs(
        &c("pax.tar.zst"),
        &c("multi.tar.zst"),
        &[
            "sha256",
            "compression.frames",
            "compression.window_size",
            "compression.blocks",
        ],
    );
    assert_input_text(&r, "compression.frames", "1", "2");
    // From a pipe: no content size, so no single-segment frame either.
    assert_only_compression_differs(
        &c("pax.tar.zst"),
        &c("long27.tar.zst"),
        &[
            "sha256",
            "compression.window_size",
            "compression.single_segment",
            "compression.content_size",
        ],
    );
    // Two codecs: the codec alone, not its parameters.
    let r = assert_only_compression_differs(
        &c("pax.tar.xz"),
        &c("pax.tar.bz2"),
        &["sha256", "compression"],
    );
    assert_input_text(&r, "compression", "xz", "bzip2");
    // zstd-named.tar.gz is pax.tar.zst byte for byte, whatever its name says.
    let r = report(&[&c("pax.tar.zst"), &c("zstd-named.tar.gz")]);
    assert!(r.identical, "{:?}", visible(&r));
}

// ---------------------------------------------------------------------------------
// rootfs/: the Arch-style pair

const LEFT_PATHS: [&str; 28] = [
    ".",
    "dev",
    "dev/loop0",
    "dev/null",
    "etc",
    "etc/hostname",
    "etc/os-release",
    "etc/passwd",
    "opt",
    "opt/acl",
    "run",
    "run/initctl",
    "usr",
    "usr/bin",
    "usr/bin/ping",
    "usr/bin/ping6",
    "usr/lib",
    "usr/lib/libx.so",
    "usr/lib/libx.so.1",
    "usr/share",
    "usr/share/doc",
    "usr/share/doc/big.txt",
    "usr/share/doc/caf\\xe9.txt",
    "usr/share/doc/comment.txt",
    "usr/share/doc/removed.txt",
    "var",
    "var/log",
    "var/log/dpkg.log",
];

const CAFE: &[u8] = b"usr/share/doc/caf\xe9.txt";

fn big_txt(right: bool) -> Vec<u8> {
    let mut s = String::new();
    for i in 1..=3000 {
        match (right, i) {
            (true, 1500) => s.push_str("line 1500 LOREM IPSUM\n"),
            (true, 2500) => s.push_str("line 2500 changed!!!!\n"),
            _ => s.push_str(&format!("line {i:04} lorem ipsum\n")),
        }
    }
    s.into_bytes()
}

fn dpkg_log(right: bool) -> Vec<u8> {
    let mut s = String::new();
    for i in 1..=20 {
        let status = match (right, i) {
            (true, 5) => "half-configured",
            (true, 15) => "unpacked",
            _ => "installed",
        };
        s.push_str(&format!(
            "2023-11-14 22:13:{i:02} status {status} pkg{i:02}:amd64 1.0-{i}\n"
        ));
    }
    s.into_bytes()
}

fn ping(right: bool) -> Vec<u8> {
    let mut v = PyRandom::new(42).randbytes(102400);
    if right {
        v[70000] ^= 0xff;
    }
    v
}

type FileRow = (&'static [u8], u64, &'static str, Option<Vec<u8>>);

fn row(p: &'static [u8], size: u64, sha: &'static str, content: Option<Vec<u8>>) -> FileRow {
    (p, size, sha, content)
}

/// The regular files of one side: (path, size, sha256 from FIXTURES.md, the content
/// rebuilt from FIXTURES.md's description where it gives one).
fn rootfs_files(right: bool) -> Vec<FileRow> {
    let mut v = vec![
        row(
            b"etc/os-release",
            201,
            "31a677fe0262bd0b6c6100dac08fda17e0cdf38cbde731bcea38f726fef037c8",
            None,
        ),
        row(
            b"etc/passwd",
            198,
            "dc3e61e05833fc6381571f5eb5146974de6979af8c3ba9c633b797bf9d16d520",
            None,
        ),
        row(
            b"usr/lib/libx.so.1",
            2048,
            "73041ddd468109ab99e580d8f4a0cfe89089fbc446ea4e444a7176c1551df996",
            Some(PyRandom::new(1).randbytes(2048)),
        ),
        row(
            CAFE,
            25,
            "057c1c27c01157f61fd663bf6c4aadd155e814e32f9e8a4410fd494a1ed6f19d",
            None,
        ),
        row(
            b"usr/share/doc/comment.txt",
            31,
            "f0626110c6e75fca64528792fd96aea59453785e5f4d34f2cfc44bc78ea73447",
            None,
        ),
    ];
    if !right {
        v.extend([
            row(
                b"etc/hostname",
                11,
                "fdc291de04c74c24b8bb99aa04fac7457308ce7c9a8eaec786fecf8809dd2fb2",
                Some(b"repro-left\n".to_vec()),
            ),
            row(
                b"usr/bin/ping",
                102400,
                "e3d7a37d7469665e78e853e4a4bfe9a5c360c425e0b781065d9047558f6380f9",
                Some(ping(false)),
            ),
            row(
                b"usr/share/doc/big.txt",
                66000,
                "90fcd1e94da7ff5e06b0d8e96c73ae05f716235dca7d9d93d4f8a21917ed892c",
                Some(big_txt(false)),
            ),
            row(
                b"usr/share/doc/removed.txt",
                13,
                "6cace7704126e9f1bd0b484bc2b45aa9dae87a4eb7ebac2cad9624ea86655959",
                Some(b"only in left\n".to_vec()),
            ),
            row(
                b"var/log/dpkg.log",
                1111,
                "535c1c5509d69788ced22dc232286ae5f29a3b22fd9a5488d85a6d6f4caf4e96",
                Some(dpkg_log(false)),
            ),
        ]);
    } else {
        v.extend([
            row(
                b"etc/hostname",
                12,
                "0cb09f15819c0248954f88134b3f1043b3398977874b6788bded2e35c3bca71d",
                Some(b"repro-right\n".to_vec()),
            ),
            row(
                b"usr/bin/ping",
                102400,
                "0acd51c176e7c25bb157e428f1cabe1cd5ad45950630118b369306347705132c",
                Some(ping(true)),
            ),
            row(
                b"usr/lib/libx.so.2",
                2048,
                "ee54d5fb154a834483cdb6b6a0335d49addb9592b40f4c8871cfbe7b39d6e453",
                Some(PyRandom::new(2).randbytes(2048)),
            ),
            row(
                b"usr/share/doc/added.txt",
                14,
                "bb3715417ad191bce91e5d5d4aac91584958a27f25528d807d2f6306fe735ede",
                Some(b"only in right\n".to_vec()),
            ),
            row(
                b"usr/share/doc/big.txt",
                66000,
                "269bccdda1837c90bd77a897ffec2a8bd1df03b260e6bd2d965726d46074e434",
                Some(big_txt(true)),
            ),
            row(
                b"var/log/dpkg.log",
                1116,
                "93308501f06f7233a07be00eb04b29c1a3d31c30ecadab58ab30d98bfacb962d",
                Some(dpkg_log(true)),
            ),
        ]);
    }
    v
}

fn check_rootfs(set: &EntrySet, right: bool) {
    let mut want: Vec<String> = LEFT_PATHS.iter().map(|s| s.to_string()).collect();
    if right {
        want.retain(|p| p != "usr/share/doc/removed.txt");
        want.push("usr/lib/libx.so.2".into());
        want.push("usr/share/doc/added.txt".into());
        // (the displayed \\xe9 sorts like the raw byte among these names)
        want.sort();
    }
    assert_eq!(paths(set), want);
    assert_eq!(set.info.entries, if right { 29 } else { 28 });
    // The non-UTF-8 name is the raw 0xE9 byte (GNU tar put it in a `path` record).
    let cafe = entry_b(set, CAFE);
    assert_eq!(
        cafe.format,
        fmt(HeaderFormat::Pax, ext::PATH | ext::ATIME | ext::CTIME)
    );
    assert_eq!(
        cafe.spelling_bytes().as_deref(),
        Some(&b"./usr/share/doc/caf\xe9.txt"[..])
    );

    let files = rootfs_files(right);
    for e in &set.entries {
        let p = rdiff::entry::display_bytes(&e.path);
        let ctx = format!("{} {p}", if right { "right" } else { "left" });
        assert_eq!((e.uid, e.gid), (0, 0), "{ctx}");
        // --numeric-owner: no names.
        assert_eq!(
            (e.uname.as_deref(), e.gname.as_deref()),
            (None, None),
            "{ctx}"
        );
        assert_eq!(e.occurrences, 1, "{ctx}");
        assert!(e.ctime().is_some(), "{ctx}: ctime");
        let late = right && (p == "etc/os-release" || p == "var/log/dpkg.log");
        assert_eq!(e.mtime, ts(if late { T1 } else { T0 }), "{ctx}: mtime");
        if p != "usr/bin/ping6" {
            // the hardlink member's atime is "now" at build time (§0)
            assert_eq!(e.atime(), ts(if late { T1 } else { T0 }), "{ctx}: atime");
        }
        let extra = match &*p {
            "opt/acl" => ext::XATTR | ext::ACL,
            "usr/bin/ping" | "usr/share/doc/comment.txt" => ext::XATTR,
            _ if &*e.path == CAFE => ext::PATH,
            _ => 0,
        };
        assert_eq!(
            e.format,
            fmt(HeaderFormat::Pax, extra | ext::ATIME | ext::CTIME),
            "{ctx}: format"
        );
        let (kind, mode) = match &*p {
            "dev/loop0" => (Kind::BlockDevice, 0o660),
            "dev/null" => (Kind::CharDevice, 0o666),
            "run/initctl" => (Kind::Fifo, 0o600),
            "usr/bin/ping6" => (Kind::Hardlink, 0o755),
            "usr/lib/libx.so" => (Kind::Symlink, 0o777),
            "etc/passwd" => (Kind::File, if right { 0o600 } else { 0o644 }),
            "usr/bin/ping" | "usr/lib/libx.so.1" | "usr/lib/libx.so.2" => (Kind::File, 0o755),
            _ if files.iter().any(|f| f.0 == &*e.path) => (Kind::File, 0o644),
            _ => (Kind::Dir, 0o755),
        };
        assert_eq!(
            (e.kind, e.mode),
            (kind, mode),
            "{ctx}: kind/mode {:o}",
            e.mode
        );
        let device = match &*p {
            "dev/loop0" => Some((7, 0)),
            "dev/null" => Some((1, 3)),
            _ => None,
        };
        assert_eq!(e.device(), device, "{ctx}: device");
        let link =
            (p == "usr/lib/libx.so").then(|| b(if right { "libx.so.2" } else { "libx.so.1" }));
        assert_eq!(e.link_target, link, "{ctx}: link target");
        // Hardlink target is normalized (the archive says ./usr/bin/ping).
        let hl = (p == "usr/bin/ping6").then(|| b("usr/bin/ping"));
        assert_eq!(e.hardlink_target, hl, "{ctx}: hardlink target");
        let want_x = match &*p {
            "usr/bin/ping" => xmap(&[(
                "security.capability",
                if right { CAP_PING_RIGHT } else { CAP_PING_LEFT },
            )]),
            "usr/share/doc/comment.txt" => xmap(&[(
                "user.comment",
                if right { "776f726c64" } else { "68656c6c6f" },
            )]),
            // Hardlink members carry no xattr records (FIXTURES §1).
            _ => xmap(&[]),
        };
        assert_eq!(xattrs(e), want_x, "{ctx}: xattrs");
        let want_acl = match &*p {
            // The binary system.posix_acl_* xattrs (numeric ids) win over the text
            // with the build host's names (cloudsdk, users).
            "opt/acl" => xmap(&[
                (
                    "access",
                    if right {
                        ACL_RIGHT_ACCESS
                    } else {
                        ACL_NAMED_ACCESS
                    },
                ),
                ("default", ACL_NAMED_DEFAULT),
            ]),
            _ => xmap(&[]),
        };
        assert_eq!(acls(e), want_acl, "{ctx}: acl");
        match files.iter().find(|f| f.0 == &*e.path) {
            Some((_, size, sha, content)) => {
                assert_eq!(e.size, *size, "{ctx}: size");
                assert_eq!(
                    e.digest.as_ref().map(|d| hex(d)).as_deref(),
                    Some(*sha),
                    "{ctx}: digest"
                );
                if let Some(c) = content {
                    assert_eq!(c.len() as u64, *size, "{ctx}: rebuilt content size");
                    assert_eq!(hex(&sha256(c)), *sha, "{ctx}: rebuilt content");
                }
                let blocks = e.blocks().map(|b| b.len());
                assert_eq!(
                    blocks,
                    (*size > 65536).then(|| size.div_ceil(65536) as usize),
                    "{ctx}"
                );
            }
            None if kind == Kind::Hardlink => {
                assert_eq!(e.size, 0, "{ctx}");
                assert_eq!(
                    e.digest,
                    entry(set, "usr/bin/ping").digest,
                    "{ctx}: target's digest"
                );
            }
            None => {
                assert_eq!((e.size, e.digest.is_none()), (0, true), "{ctx}");
            }
        }
    }
    // Archive order is GNU tar's --sort=name order.
    let mut by_order: Vec<&Entry> = set.entries.iter().collect();
    by_order.sort_by_key(|e| e.order);
    let ordered: Vec<String> = by_order
        .iter()
        .map(|e| rdiff::entry::display_bytes(&e.path))
        .collect();
    assert_eq!(ordered, want);
    assert_eq!(by_order.last().unwrap().order, Some(want.len() as u32 - 1));
}

#[test]
fn rootfs_left_in_three_compressions() {
    let tar = read_fixture("rootfs/left.tar");
    check_rootfs(&tar, false);
    assert_eq!(tar.info.compression, Some(Compression::None));
    for (f, c) in [
        ("rootfs/left.tar.gz", Compression::Gzip),
        ("rootfs/left.tar.zst", Compression::Zstd), // 128 MiB window, no content size
    ] {
        let set = read_fixture(f);
        assert_eq!(set.info.compression, Some(c), "{f}");
        assert_eq!(set.info.tar_bytes, 225280, "{f}");
        assert_eq!(set.entries, tar.entries, "{f}");
        // The same entries; strict sees the compressed bytes and the codec.
        assert_only_compression_differs(&td("rootfs/left.tar"), &td(f), &["sha256", "compression"]);
    }
    let r = report(&[&td("rootfs/left.tar"), &td("rootfs/left.tar")]);
    assert!(r.identical);
}

#[test]
fn rootfs_right() {
    let set = read_fixture("rootfs/right.tar.zst");
    check_rootfs(&set, true);
    assert_eq!(set.info.tar_bytes, 225280);
}

#[test]
fn rootfs_pair_differs_exactly_as_documented() {
    let left = td("rootfs/left.tar.zst");
    let right = td("rootfs/right.tar.zst");
    let r = report(&["--semantic", &left, &right]);
    assert_eq!(r.mode, "semantic");
    assert!(!r.equal && !r.identical && !r.semantically_equal);
    assert_eq!(
        visible(&r),
        set_of(&[
            ("etc/hostname", "content"),
            ("etc/hostname", "size"),
            ("etc/passwd", "mode"),
            ("opt/acl", "acl.access"),
            ("usr/bin/ping", "content"),
            ("usr/bin/ping", "xattrs.security.capability"),
            // ping6 is still a hardlink to ping; rdiff gives a hardlink its target's
            // digest (entry.rs), so the changed content shows at both paths.
            ("usr/bin/ping6", "content"),
            // The two .tar.zst files' bytes: shown while what explains it is.
            ("input", "sha256"),
            ("usr/lib/libx.so", "link_target"),
            ("usr/lib/libx.so.2", "+"),
            ("usr/share/doc/added.txt", "+"),
            ("usr/share/doc/big.txt", "content"),
            ("usr/share/doc/comment.txt", "xattrs.user.comment"),
            ("usr/share/doc/removed.txt", "-"),
            ("var/log/dpkg.log", "content"),
            ("var/log/dpkg.log", "size"),
        ])
    );
    // 9 changed entries (the input's difference is no entry).
    assert_eq!(
        (r.summary.added, r.summary.removed, r.summary.changed),
        (2, 1, 9)
    );
    let f = field(&r, "input", "sha256");
    let file_sha = |p: &str| Value::Digest(sha256(&std::fs::read(p).unwrap()));
    assert_eq!((&f.left, &f.right), (&file_sha(&left), &file_sha(&right)));

    let pair = |p: &str, n: &str| {
        let f = field(&r, p, n);
        (f.left.clone(), f.right.clone())
    };
    assert_eq!(
        pair("etc/hostname", "size"),
        (Value::Uint(11), Value::Uint(12))
    );
    assert_eq!(
        pair("var/log/dpkg.log", "size"),
        (Value::Uint(1111), Value::Uint(1116))
    );
    assert_eq!(
        pair("etc/passwd", "mode"),
        (Value::Mode(0o644), Value::Mode(0o600))
    );
    assert_eq!(
        pair("opt/acl", "acl.access"),
        (
            Value::Text(ACL_NAMED_ACCESS.into()),
            Value::Text(ACL_RIGHT_ACCESS.into())
        )
    );
    assert_eq!(
        pair("usr/bin/ping", "xattrs.security.capability"),
        (
            Value::Xattr {
                raw: unhex(CAP_PING_LEFT).into(),
                decoded: Some("cap_net_raw=ep".into())
            },
            Value::Xattr {
                raw: unhex(CAP_PING_RIGHT).into(),
                decoded: Some("cap_net_admin,cap_net_raw=ep".into())
            }
        )
    );
    assert_eq!(
        pair("usr/lib/libx.so", "link_target"),
        (Value::Bytes(b("libx.so.1")), Value::Bytes(b("libx.so.2")))
    );
    assert_eq!(
        pair("usr/share/doc/comment.txt", "xattrs.user.comment"),
        (
            Value::Xattr {
                raw: b("hello"),
                decoded: None
            },
            Value::Xattr {
                raw: b("world"),
                decoded: None
            }
        )
    );
    assert_eq!(
        pair("usr/bin/ping", "content"),
        (
            Value::Digest(sha256(&ping(false))),
            Value::Digest(sha256(&ping(true)))
        )
    );

    let diff = |p: &str| {
        r.differences
            .iter()
            .find(|d| &*d.path == p.as_bytes())
            .unwrap_or_else(|| panic!("{p}"))
    };
    assert_eq!(
        diff("usr/bin/ping").content,
        Some(ContentDiff::Binary {
            first_difference: Some(70000),
            first_difference_within: None
        })
    );
    let big = diff("usr/share/doc/big.txt").unified().expect("text diff");
    for line in [
        "--- left/usr/share/doc/big.txt",
        "+++ right/usr/share/doc/big.txt",
        "-line 1500 lorem ipsum",
        "+line 1500 LOREM IPSUM",
        "-line 2500 lorem ipsum",
        "+line 2500 changed!!!!",
    ] {
        assert!(
            big.lines().any(|l| l == line),
            "big.txt diff lacks {line:?}:\n{big}"
        );
    }
    assert_eq!(
        big.lines()
            .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
            .count(),
        2
    );
    let host = diff("etc/hostname").unified().expect("text diff");
    assert!(host.contains("\n-repro-left\n+repro-right\n"), "{host}");
    let dpkg = diff("var/log/dpkg.log").unified().expect("text diff");
    assert!(dpkg.contains("+2023-11-14 22:13:05 status half-configured pkg05:amd64 1.0-5\n"));
    assert!(dpkg.contains("+2023-11-14 22:13:15 status unpacked pkg15:amd64 1.0-15\n"));
    for (p, st, size) in [
        ("usr/lib/libx.so.2", Status::Added, 2048),
        ("usr/share/doc/added.txt", Status::Added, 14),
        ("usr/share/doc/removed.txt", Status::Removed, 13),
    ] {
        let d = diff(p);
        assert_eq!((d.status, d.size), (st, Some(size)), "{p}");
    }

    // What --ignore-file-timestamps hid: os-release and dpkg.log mtime (and their atime
    // records), ping6's atime, and ctime everywhere (the 27 paths on both sides).
    // (That semantic mode hides nothing else is rootfs_pair_framing_differs_only_with_
    // the_entries, ignored for now.)
    let hidden: BTreeMap<String, u64> = r
        .ignored
        .iter()
        .filter(|i| i.rule == "ignore-file-timestamps")
        .map(|i| (i.field.clone(), i.count))
        .collect();
    assert_eq!(
        hidden,
        BTreeMap::from([
            ("atime".to_string(), 3),
            ("ctime".to_string(), 27),
            ("mtime".to_string(), 2)
        ])
    );

    // Strict mode shows them.
    let s = report(&[&left, &right]);
    let f = field(&s, "etc/os-release", "mtime");
    assert_eq!(
        (&f.left, &f.right),
        (
            &Value::Time(Timestamp::from_secs(T0)),
            &Value::Time(Timestamp::from_secs(T1))
        )
    );
    assert!(visible(&s).contains(&("etc/os-release".to_string(), "atime".to_string())));
}

/// GNU tar wrote both sides the same way (same format bits, same order, same spellings,
/// both padded to 22 records of 10 KiB), so apart from timestamps strict sees exactly
/// what semantic sees, and semantic hides nothing but timestamps.
///
/// The only header bytes of `opt/acl` that differ are the SCHILY.acl.access text
/// record and the SCHILY.xattr.system.posix_acl_access record, which both say the
/// user:1000 r-x -> rwx change that `acl.access` shows: no `header` difference (the
/// framing digest takes the permissions out of ACL text that lines up with the ACL
/// compared, and the binary record where the ACL text gives it back).
#[test]
fn rootfs_pair_framing_differs_only_with_the_entries() {
    let left = td("rootfs/left.tar.zst");
    let right = td("rootfs/right.tar.zst");
    let r = report(&["--semantic", &left, &right]);
    let rules: std::collections::BTreeSet<&str> =
        r.ignored.iter().map(|i| i.rule.as_str()).collect();
    assert_eq!(
        rules,
        ["ignore-file-timestamps"].into_iter().collect(),
        "{:?}",
        r.ignored
    );
    let s = report(&[&left, &right]);
    let strict_rest: std::collections::BTreeSet<(String, String)> = visible(&s)
        .into_iter()
        .filter(|(_, n)| !["mtime", "atime", "ctime"].contains(&n.as_str()))
        .collect();
    assert_eq!(strict_rest, visible(&r));
}
