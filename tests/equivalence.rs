//! Equivalence: one tree as a directory, a `.tar`, a `.tar.gz` and a `.tar.zst` (packed
//! by GNU tar, compressed by gzip and zstd) gives the same entries, and reports that
//! differ only in the input part (its form, bytes and codec: strict is bit-for-bit) and
//! are equal under `--semantic`; two such trees give the same entry differences
//! whatever form each side takes; and the extracted rootfs fixture pair differs as its
//! tarballs do.

mod support;

use std::collections::BTreeSet;
use std::ffi::{CString, OsStr};
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Command;

use rdiff::entry::{Entry, Kind};
use serde_json::{Value as Json, json};
use support::data::{hex, sha256};
use support::library::{entry, entry_b, read_path, report, visible};
use support::paths::{mkfifo, s, td};
use support::report::{field_in, ignored_counts, notes, pairs as json_set, set as set_of};
use support::run::{self, sh};

/// Every mtime (and atime) in the built trees: whole seconds, as tar stores them.
const MTIME: i64 = 1_700_000_000;

const CAFE: &[u8] = b"usr/share/doc/caf\xe9.txt";

/// Deterministic binary bytes (xorshift), different per seed.
fn binary(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn write(root: &Path, rel: &str, data: &[u8], mode: u32) {
    let p = root.join(rel);
    fs::write(&p, data).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(mode)).unwrap();
}

fn mkdir(root: &Path, rel: &str) {
    let p = root.join(rel);
    fs::create_dir_all(&p).unwrap();
    fs::set_permissions(&p, fs::Permissions::from_mode(0o755)).unwrap();
}

/// Set atime and mtime of `p` (not following a symlink) to `secs`.
fn set_times(p: &Path, secs: i64) {
    let c = CString::new(p.as_os_str().as_bytes()).unwrap();
    let t = libc::timespec {
        tv_sec: secs as libc::time_t,
        tv_nsec: 0,
    };
    let times = [t, t];
    // SAFETY: valid path and a two-element timespec array.
    let rc = unsafe {
        libc::utimensat(
            libc::AT_FDCWD,
            c.as_ptr(),
            times.as_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    assert_eq!(
        rc,
        0,
        "utimensat {}: {}",
        p.display(),
        std::io::Error::last_os_error()
    );
}

/// Stamp every node under (and including) `root` with `secs`.
fn stamp_all(root: &Path, secs: i64) {
    fn walk(p: &Path, secs: i64) {
        if p.symlink_metadata().unwrap().is_dir() {
            for e in fs::read_dir(p).unwrap() {
                walk(&e.unwrap().path(), secs);
            }
        }
        set_times(p, secs);
    }
    walk(root, secs);
}

#[derive(Clone, Copy, PartialEq)]
enum Variant {
    Left,
    /// Left with a content change, a mode change, an xattr change, a symlink retarget,
    /// one file added and one removed.
    Right,
}

/// Number of entries `build_tree` makes (root included), either variant.
const TREE_ENTRIES: usize = 21;

/// A tree with every kind a rootfs has that needs no privilege: dirs (one empty),
/// text and binary files (two > 64 KiB), an empty file, a symlink, a hardlink pair, a
/// FIFO, a file with a user.* xattr and a non-UTF-8 name.
fn build_tree(root: &Path, v: Variant) {
    let right = v == Variant::Right;
    fs::set_permissions(root, fs::Permissions::from_mode(0o755)).unwrap();
    for d in [
        "etc",
        "run",
        "usr/bin",
        "usr/lib",
        "usr/share/doc",
        "empty-dir",
    ] {
        mkdir(root, d);
    }
    mkdir(root, "usr");
    mkdir(root, "usr/share");
    let host: &[u8] = if right {
        b"host-right-changed\n"
    } else {
        b"host-left\n"
    };
    write(root, "etc/hostname", host, 0o644);
    write(
        root,
        "etc/passwd",
        b"root:x:0:0:root:/root:/bin/sh\n",
        if right { 0o600 } else { 0o644 },
    );
    write(root, "etc/empty", b"", 0o644);
    write(root, "etc/xattr.txt", b"has an xattr\n", 0o644);
    let comment: &[u8] = if right { b"world" } else { b"hello" };
    xattr::set(root.join("etc/xattr.txt"), "user.comment", comment).unwrap();
    mkfifo(&root.join("run/fifo"), 0o600);
    write(root, "usr/bin/tool", &binary(1, 100_000), 0o755);
    fs::hard_link(root.join("usr/bin/tool"), root.join("usr/bin/tool-hard")).unwrap();
    symlink(
        if right { "tool-hard" } else { "tool" },
        root.join("usr/bin/link"),
    )
    .unwrap();
    let mut big = binary(2, 150_000);
    if right {
        big[70_000] ^= 0xff;
    }
    write(root, "usr/lib/big.bin", &big, 0o644);
    let readme: String = (1..=50).map(|i| format!("readme line {i}\n")).collect();
    write(root, "usr/share/doc/readme.txt", readme.as_bytes(), 0o644);
    let cafe = root.join(OsStr::from_bytes(CAFE));
    fs::write(&cafe, b"non-UTF-8 name\n").unwrap();
    fs::set_permissions(&cafe, fs::Permissions::from_mode(0o644)).unwrap();
    if right {
        write(root, "usr/share/doc/added.txt", b"only in right\n", 0o644);
    } else {
        write(root, "usr/share/doc/removed.txt", b"only in left\n", 0o644);
    }
    stamp_all(root, MTIME);
}

/// The tree packed with GNU tar (pax, sorted, xattrs; no atime/ctime records, which a
/// directory does not carry) and compressed with gzip and zstd.
struct Packed {
    dir: PathBuf,
    tar: PathBuf,
    gz: PathBuf,
    zst: PathBuf,
}

fn pack(dir: &Path, out: &Path, name: &str) -> Packed {
    let tar = out.join(format!("{name}.tar"));
    let gz = out.join(format!("{name}.tar.gz"));
    let zst = out.join(format!("{name}.tar.zst"));
    sh(Command::new("tar")
        .args([
            "--sort=name",
            "--xattrs",
            "--format=pax",
            "--pax-option=delete=atime,delete=ctime",
            "-C",
        ])
        .arg(dir)
        .arg("-cf")
        .arg(&tar)
        .arg("."));
    sh(Command::new("gzip")
        .args(["-n", "-c"])
        .arg(&tar)
        .stdout(fs::File::create(&gz).unwrap()));
    // From a pipe, like Arch's `zstd --long`: no content size, 128 MiB window.
    sh(Command::new("zstd")
        .args(["-q", "--long=27", "-c"])
        .stdin(fs::File::open(&tar).unwrap())
        .stdout(fs::File::create(&zst).unwrap()));
    Packed {
        dir: dir.to_path_buf(),
        tar,
        gz,
        zst,
    }
}

impl Packed {
    fn all(&self) -> [(&'static str, &Path); 4] {
        [
            ("dir", &self.dir),
            ("tar", &self.tar),
            ("tar.gz", &self.gz),
            ("tar.zst", &self.zst),
        ]
    }
}

/// Run `rdiff rootfs ARGS` in the repository root (standard input: a pipe that the
/// file `stdin` is written to, or none); returns (exit code, stdout).
fn rdiff(args: &[&str], stdin: Option<&Path>) -> (i32, String) {
    let mut cmd = run::rdiff(["rootfs"])
        .args(args)
        .in_repo()
        .env("NO_COLOR", "1");
    if let Some(p) = stdin {
        cmd = cmd.stdin_bytes(fs::read(p).unwrap());
    }
    let r = cmd.run();
    assert!(r.code() == 0 || r.code() == 1, "{}", r.describe());
    (r.code(), r.stdout_text())
}

/// `rdiff rootfs --format json ARGS`: (exit code, parsed report).
fn rdiff_json(args: &[&str], stdin: Option<&Path>) -> (i32, Json) {
    let mut a = vec!["--format", "json"];
    a.extend_from_slice(args);
    let (code, out) = rdiff(&a, stdin);
    let j: Json = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    (code, j)
}

fn assert_identical(label: &str, code: i32, j: &Json) {
    assert_eq!(code, 0, "{label}: {j:#}");
    assert_eq!(j["identical"], Json::Bool(true), "{label}: {j:#}");
    assert_eq!(j["equal"], Json::Bool(true), "{label}");
    assert_eq!(j["differences"], Json::Array(vec![]), "{label}");
    assert_eq!(j["ignored"], Json::Array(vec![]), "{label}");
    assert_no_entry_differs(label, j);
}

/// The whole tree on both sides, and no entry added, removed, changed or hidden (the
/// inputs as wholes are no entry).
fn assert_no_entry_differs(label: &str, j: &Json) {
    for k in ["added", "removed", "changed", "ignored_entries"] {
        assert_eq!(j["summary"][k], 0, "{label}: summary.{k}");
    }
    assert_eq!(j["left"]["entries"], TREE_ENTRIES, "{label}");
    assert_eq!(j["right"]["entries"], TREE_ENTRIES, "{label}");
}

/// The fields a directory cannot carry: the comparer must not report them when one
/// side is a directory, and with GNU tar writing both sides the same way they must not
/// differ between two tarballs either (`header`: the member's header bytes beyond its
/// decoded fields; `padding`: non-zero bytes after its data).
const TAR_ONLY: [&str; 8] = [
    "order",
    "format",
    "path_spelling",
    "duplicates",
    "atime",
    "ctime",
    "header",
    "padding",
];

/// The entry facts a directory and a tar both carry (drop the tar-only ones).
fn comparable(e: &Entry) -> Entry {
    let mut e = e.clone();
    e.spelling = rdiff::entry::Spelling::None;
    e.order = None;
    e.format = None;
    e.header = None;
    e.set_padding(None);
    e.set_atime(None);
    e.set_ctime(None);
    e
}

/// What strict mode reports on the `input` part between two forms of one tree (the
/// form labels of [`Packed::all`]): a directory against a tarball differs in `format`
/// only (a directory has no bytes of its own, so no `sha256`, and no codec); two
/// tarballs in their bytes and their codec.
fn input_differences(a: &str, b: &str) -> BTreeSet<(String, String)> {
    if a == b {
        BTreeSet::new()
    } else if a == "dir" || b == "dir" {
        set_of(&[("input", "format")])
    } else {
        set_of(&[("input", "sha256"), ("input", "compression")])
    }
}

/// The rule that hides each of those input differences under `--semantic`: the input's
/// `sha256` goes with the rule that hid the first other difference.
fn input_rules(a: &str, b: &str) -> BTreeSet<(String, String, u64)> {
    input_differences(a, b)
        .into_iter()
        .map(|(_, f)| {
            let rule = if f == "format" {
                "ignore-tar-format"
            } else {
                "ignore-compression"
            };
            (rule.to_string(), f, 1)
        })
        .collect()
}

/// `ignored` of a JSON report as (rule, field, count).
fn json_ignored(j: &Json) -> BTreeSet<(String, String, u64)> {
    ignored_counts(j)
        .into_iter()
        .map(|((rule, field), n)| (rule, field, n))
        .collect()
}

/// Two forms of the tree in strict mode: not identical, and the only differences are
/// `want` on the input part (semantically equal).
fn assert_only_input_differs(label: &str, code: i32, j: &Json, want: &BTreeSet<(String, String)>) {
    assert_eq!(code, 1, "{label}: {j:#}");
    assert_eq!(j["mode"], "strict", "{label}");
    assert_eq!(j["identical"], false, "{label}");
    assert_eq!(j["equal"], false, "{label}");
    assert_eq!(j["semantically_equal"], true, "{label}");
    assert_eq!(&json_set(&j["differences"]), want, "{label}");
    for d in j["differences"].as_array().unwrap() {
        assert_eq!((&d["path"], &d["part"]), (&json!("input"), &json!("input")));
        for f in d["fields"].as_array().unwrap() {
            assert_eq!(f["scope"], "input", "{label}: {f}");
        }
    }
    assert_eq!(j["ignored"], Json::Array(vec![]), "{label}");
    assert_no_entry_differs(label, j);
}

/// Two forms of the tree under `--semantic` (or the rules that hide the input
/// differences): equal, nothing visible, and exactly `rules` hidden.
fn assert_equal_forms(label: &str, code: i32, j: &Json, rules: &BTreeSet<(String, String, u64)>) {
    assert_eq!(code, 0, "{label}: {j:#}");
    assert_eq!(j["identical"], false, "{label}");
    assert_eq!(j["equal"], true, "{label}");
    assert_eq!(j["differences"], Json::Array(vec![]), "{label}");
    assert_eq!(&json_ignored(j), rules, "{label}");
    // The input's difference is no entry.
    assert_no_entry_differs(label, j);
}

#[test]
fn same_tree_as_dir_tar_gz_zst_is_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tree");
    fs::create_dir(&dir).unwrap();
    build_tree(&dir, Variant::Left);
    let p = pack(&dir, tmp.path(), "t");

    // The library gives the same entries for all four forms.
    let from_dir = read_path(s(&p.dir));
    assert_eq!(from_dir.entries.len(), TREE_ENTRIES);
    // The tree really has what it should (so the comparisons below are not vacuous).
    let kind_of = |path: &[u8]| entry_b(&from_dir, path).kind;
    assert_eq!(kind_of(b"run/fifo"), Kind::Fifo);
    assert_eq!(kind_of(b"usr/bin/link"), Kind::Symlink);
    assert_eq!(kind_of(b"usr/bin/tool"), Kind::File);
    assert_eq!(kind_of(b"usr/bin/tool-hard"), Kind::Hardlink);
    assert_eq!(kind_of(b"empty-dir"), Kind::Dir);
    assert_eq!(kind_of(CAFE), Kind::File);
    let hard = entry(&from_dir, "usr/bin/tool-hard");
    assert_eq!(hard.hardlink_target.as_deref(), Some(&b"usr/bin/tool"[..]));
    assert_eq!(hard.digest, Some(sha256(&binary(1, 100_000))));
    let x = entry(&from_dir, "etc/xattr.txt");
    assert_eq!(
        x.xattrs().get(&b"user.comment"[..]).map(|v| &v[..]),
        Some(&b"hello"[..])
    );
    assert_eq!(entry(&from_dir, "etc/empty").digest, Some(sha256(b"")));
    assert_eq!(
        entry(&from_dir, "usr/lib/big.bin")
            .blocks()
            .map(|b| b.len()),
        Some(3)
    );
    for e in &from_dir.entries {
        assert_eq!(
            e.mtime.map(|t| (t.secs, t.nanos)),
            Some((MTIME, 0)),
            "{:?}",
            e.path
        );
    }
    let want: Vec<Entry> = from_dir.entries.iter().map(comparable).collect();
    for (label, path) in &p.all()[1..] {
        let set = read_path(s(path));
        assert_eq!(set.entries.len(), TREE_ENTRIES, "{label}");
        for e in &set.entries {
            // GNU tar wrote no atime/ctime (deleted) and no sub-second mtime.
            assert_eq!((e.atime(), e.ctime()), (None, None), "{label} {:?}", e.path);
        }
        let got: Vec<Entry> = set.entries.iter().map(comparable).collect();
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g, w, "{label}");
        }
    }

    // The binary. Strict: a form against a byte copy of itself is identical; two
    // different forms differ only in the input part (strict is bit-for-bit).
    // --semantic: every pair of forms is equal, with exactly those hidden; the rules that
    // name them (--ignore-tar-format, --ignore-compression) are enough alone.
    let copies = tmp.path().join("copies");
    fs::create_dir(&copies).unwrap();
    let forms = p.all();
    for (label, path) in &forms {
        let copy = if path.is_dir() {
            path.to_path_buf()
        } else {
            let c = copies.join(path.file_name().unwrap());
            fs::copy(path, &c).unwrap();
            c
        };
        let (code, js) = rdiff_json(&["--read-identical", s(path), s(&copy)], None);
        assert_identical(&format!("{label} vs its copy"), code, &js);
    }
    for (a, pa) in &forms {
        for (b, pb) in &forms {
            if a == b {
                continue;
            }
            let label = format!("{a} vs {b}");
            let (code, js) = rdiff_json(&[s(pa), s(pb)], None);
            assert_only_input_differs(&label, code, &js, &input_differences(a, b));
            let (code, js) = rdiff_json(&["--semantic", s(pa), s(pb)], None);
            assert_equal_forms(
                &format!("{label} --semantic"),
                code,
                &js,
                &input_rules(a, b),
            );
            let rule_flags = if *a == "dir" || *b == "dir" {
                "--ignore-tar-format"
            } else {
                "--ignore-compression"
            };
            let (code, js) = rdiff_json(&[rule_flags, s(pa), s(pb)], None);
            assert_equal_forms(
                &format!("{label} {rule_flags}"),
                code,
                &js,
                &input_rules(a, b),
            );
            assert_eq!(js["mode"], "custom", "{label}");
        }
    }
    let (code, text) = rdiff(&[s(&p.dir), s(&p.tar)], None);
    assert_eq!(code, 1);
    assert_eq!(
        text.lines().last(),
        Some("not bit-for-bit identical (1 difference: input format); semantically equal"),
        "{text}"
    );
    let (code, text) = rdiff(&["--semantic", s(&p.dir), s(&p.tar)], None);
    assert_eq!(code, 0);
    assert_eq!(
        text.lines().last(),
        Some("equal under the semantic policy; not bit-for-bit identical (1 difference ignored)"),
        "{text}"
    );

    // The .tar.zst on standard input, against the directory, both ways round: the input
    // format differs; the stream's SHA-256 is the file's.
    let zst_sha = hex(&sha256(&fs::read(&p.zst).unwrap()));
    let want = input_differences("dir", "tar.zst");
    let (code, js) = rdiff_json(&[s(&p.dir), "-"], Some(&p.zst));
    assert_only_input_differs("dir vs stdin", code, &js, &want);
    assert_eq!(js["right"]["name"], "-");
    assert_eq!(js["right"]["compression"], "zstd");
    assert_eq!(js["right"]["sha256"], zst_sha.as_str());
    assert_eq!(js["left"]["kind"], "directory");
    assert_eq!(js["left"]["sha256"], Json::Null);
    let (code, js) = rdiff_json(&["-", s(&p.dir)], Some(&p.zst));
    assert_only_input_differs("stdin vs dir", code, &js, &want);
    let (code, js) = rdiff_json(&["--semantic", "-", s(&p.dir)], Some(&p.zst));
    assert_equal_forms(
        "stdin vs dir --semantic",
        code,
        &js,
        &input_rules("dir", "tar.zst"),
    );
    // Against the file it came from, standard input is identical.
    let (code, js) = rdiff_json(&["-", s(&p.zst)], Some(&p.zst));
    assert_identical("stdin vs tar.zst", code, &js);
    assert_eq!(js["left"]["sha256"], zst_sha.as_str());
}

/// A directory against a tar archive leaves out, in strict mode, the fields a
/// directory does not carry; the report says which, on the side that is the directory.
/// Between two forms that carry the same fields there is no such note.
#[test]
fn directory_against_tar_names_the_fields_left_out() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tree");
    fs::create_dir(&dir).unwrap();
    build_tree(&dir, Variant::Left);
    let p = pack(&dir, tmp.path(), "t");
    let left_out = |j: &Json| -> Vec<String> {
        notes(j)
            .into_iter()
            .filter(|(_, kind, _)| kind == "fields-left-out")
            .map(|(path, _, message)| format!("{path}: {message}"))
            .collect()
    };
    let fields = "atime, ctime, order, format, duplicates, header, padding, pax.*, path_spelling";
    for (l, r, side) in [(&p.dir, &p.zst, "left"), (&p.tar, &p.dir, "right")] {
        let (_, j) = rdiff_json(&[s(l), s(r)], None);
        let want = format!(
            ".: {side} is a directory: {fields} are not compared (a directory does not carry them)"
        );
        assert_eq!(left_out(&j), [want], "{l:?} {r:?}");
    }
    for (l, r) in [(&p.dir, &p.dir), (&p.tar, &p.zst)] {
        let (_, j) = rdiff_json(&[s(l), s(r)], None);
        assert!(left_out(&j).is_empty(), "{l:?} {r:?}: {:?}", left_out(&j));
    }
}

#[test]
fn same_changes_found_whatever_the_form() {
    let tmp = tempfile::tempdir().unwrap();
    let (d1, d2) = (tmp.path().join("one"), tmp.path().join("two"));
    fs::create_dir(&d1).unwrap();
    fs::create_dir(&d2).unwrap();
    build_tree(&d1, Variant::Left);
    build_tree(&d2, Variant::Right);
    let (p1, p2) = (pack(&d1, tmp.path(), "one"), pack(&d2, tmp.path(), "two"));

    let want = set_of(&[
        ("etc/hostname", "size"),
        ("etc/hostname", "content"),
        ("etc/passwd", "mode"),
        ("etc/xattr.txt", "xattrs.user.comment"),
        ("usr/bin/link", "link_target"),
        ("usr/lib/big.bin", "content"),
        ("usr/share/doc/added.txt", "+"),
        ("usr/share/doc/removed.txt", "-"),
    ]);

    let mut runs: Vec<(String, Json)> = Vec::new();
    // (label, left form, right form, left path, right path)
    let pairs: Vec<(String, &str, &str, &Path, &Path)> = p1
        .all()
        .iter()
        .zip(p2.all().iter())
        .map(|((l, a), (_, b))| (format!("{l} vs {l}"), *l, *l, *a, *b))
        .chain([
            (
                "dir vs tar.zst".to_string(),
                "dir",
                "tar.zst",
                p1.dir.as_path(),
                p2.zst.as_path(),
            ),
            (
                "tar vs dir".to_string(),
                "tar",
                "dir",
                p1.tar.as_path(),
                p2.dir.as_path(),
            ),
            (
                "tar.gz vs tar.zst".to_string(),
                "tar.gz",
                "tar.zst",
                p1.gz.as_path(),
                p2.zst.as_path(),
            ),
        ])
        .collect();
    for (label, fa, fb, a, b) in &pairs {
        let (code, js) = rdiff_json(&[s(a), s(b)], None);
        assert_eq!(code, 1, "{label}");
        assert_eq!(js["mode"], "strict", "{label}");
        assert_eq!(js["identical"], false, "{label}");
        // Strict is bit-for-bit: besides the entries, the inputs as wholes differ. Two
        // tarballs of different trees differ in their bytes (`sha256`, shown since the
        // entries that explain it are), and in their codec when it is another; a
        // directory against a tarball in `format`; two directories not at all.
        let (input, entries): (Vec<Json>, Vec<Json>) = js["differences"]
            .as_array()
            .unwrap()
            .iter()
            .cloned()
            .partition(|d| d["part"] == "input");
        let want_input = match (*fa, *fb) {
            ("dir", "dir") => BTreeSet::new(),
            ("dir", _) | (_, "dir") => set_of(&[("input", "format")]),
            (x, y) if x == y => set_of(&[("input", "sha256")]),
            _ => set_of(&[("input", "sha256"), ("input", "compression")]),
        };
        let input = Json::Array(input);
        assert_eq!(json_set(&input), want_input, "{label}");
        let entries = Json::Array(entries);
        assert_eq!(js["summary"]["added"], 1, "{label}");
        assert_eq!(js["summary"]["removed"], 1, "{label}");
        // The changed entries (the inputs as wholes are no entry).
        assert_eq!(js["summary"]["changed"], 5, "{label}");
        // Nothing only a tar carries: not compared against a directory, and equal
        // between the two tarballs (same writer, same order, no time records).
        for (p, f) in json_set(&entries) {
            assert!(!TAR_ONLY.contains(&f.as_str()), "{label}: {p} {f}");
        }
        assert_eq!(
            js["ignored"],
            Json::Array(vec![]),
            "{label}: nothing hidden"
        );
        assert_eq!(json_set(&entries), want, "{label}");

        // The rules that name the input's form and codec hide exactly those, and leave
        // the entries as they were; `sha256` stays, explained by the entries.
        let (code, jr) = rdiff_json(
            &["--ignore-tar-format", "--ignore-compression", s(a), s(b)],
            None,
        );
        assert_eq!(code, 1, "{label}");
        let hidden: BTreeSet<(String, String, u64)> = want_input
            .iter()
            .filter(|(_, f)| f != "sha256")
            .map(|(_, f)| {
                let rule = if f == "format" {
                    "ignore-tar-format"
                } else {
                    "ignore-compression"
                };
                (rule.to_string(), f.clone(), 1)
            })
            .collect();
        assert_eq!(json_ignored(&jr), hidden, "{label}");
        let mut still = want.clone();
        if want_input.contains(&("input".to_string(), "sha256".to_string())) {
            still.insert(("input".to_string(), "sha256".to_string()));
        }
        assert_eq!(json_set(&jr["differences"]), still, "{label}");
        runs.push((label.clone(), entries));
    }
    let (first_label, first) = &runs[0];
    for (label, diffs) in &runs[1..] {
        assert_eq!(diffs, first, "{label} differs from {first_label}");
    }

    // And the differences say what was changed.
    let d = first;
    let f = field_in(d, "etc/passwd", "mode");
    assert_eq!(
        (&f["left"], &f["right"]),
        (&Json::from("0644"), &Json::from("0600"))
    );
    let f = field_in(d, "etc/xattr.txt", "xattrs.user.comment");
    assert_eq!(
        (&f["left"], &f["right"]),
        (&Json::from("hello"), &Json::from("world"))
    );
    let f = field_in(d, "usr/bin/link", "link_target");
    assert_eq!(
        (&f["left"], &f["right"]),
        (&Json::from("tool"), &Json::from("tool-hard"))
    );
    let f = field_in(d, "etc/hostname", "size");
    assert_eq!(
        (&f["left"], &f["right"]),
        (&Json::from(10), &Json::from(19))
    );
    let entry_of = |p: &str| {
        d.as_array()
            .unwrap()
            .iter()
            .find(|x| x["path"] == p)
            .unwrap()
            .clone()
    };
    let big = entry_of("usr/lib/big.bin");
    assert_eq!(big["content"]["kind"], "binary");
    assert_eq!(big["content"]["first_difference"], 70_000);
    let host = entry_of("etc/hostname");
    assert_eq!(host["content"]["kind"], "text");
    let diff = host["diff"].as_str().unwrap();
    assert!(
        diff.contains("\n-host-left\n+host-right-changed\n"),
        "{diff}"
    );
    assert_eq!(entry_of("usr/share/doc/added.txt")["size"], 14);
    assert_eq!(entry_of("usr/share/doc/removed.txt")["size"], 13);
}

/// A hardlinked file with an xattr: the directory sees the xattr at both paths (one
/// inode), the tarball stores it with the first member only (GNU tar writes no xattr
/// records for a hardlink member, FIXTURES.md §1) yet extracts it to both. The two
/// forms of one tree must compare equal.
#[test]
fn hardlinked_file_with_xattr_dir_vs_tar() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tree");
    fs::create_dir(&dir).unwrap();
    write(&dir, "a", b"content\n", 0o644);
    xattr::set(dir.join("a"), "user.k", b"v").unwrap();
    fs::hard_link(dir.join("a"), dir.join("b")).unwrap();
    stamp_all(&dir, MTIME);
    let p = pack(&dir, tmp.path(), "t");
    // Strict: the input format is all that differs (no xattr, no hardlink difference).
    let (code, js) = rdiff_json(&[s(&p.dir), s(&p.tar)], None);
    assert_eq!(code, 1, "{:#}", js["differences"]);
    assert_eq!(
        json_set(&js["differences"]),
        set_of(&[("input", "format")]),
        "{:#}",
        js["differences"]
    );
    assert_eq!(js["semantically_equal"], true);
    // ... which --ignore-tar-format hides, and nothing else is there to hide.
    let (code, js) = rdiff_json(&["--ignore-tar-format", s(&p.dir), s(&p.tar)], None);
    assert_eq!(code, 0, "{:#}", js["differences"]);
    assert_eq!(js["equal"], true);
    assert_eq!(
        json_ignored(&js),
        BTreeSet::from([("ignore-tar-format".to_string(), "format".to_string(), 1)])
    );
}

// ---------------------------------------------------------------------------------
// The rootfs fixture pair, extracted by GNU tar as root.

fn extract(tarball: &str, into: &Path) {
    fs::create_dir(into).unwrap();
    sh(Command::new("tar")
        .args([
            "--xattrs",
            "--xattrs-include=*",
            "--acls",
            "--numeric-owner",
            "-xpf",
            tarball,
            "-C",
        ])
        .arg(into));
}

/// Extracted trees of rootfs/left.tar.zst and rootfs/right.tar.zst, or None when not root
/// (device nodes, security.capability and ownership need it).
fn extracted_pair() -> Option<(tempfile::TempDir, String, String)> {
    if !run::running_as_root() {
        run::skip("extracting the rootfs fixtures needs root");
        return None;
    }
    let tmp = tempfile::tempdir().unwrap();
    let (l, r) = (tmp.path().join("left"), tmp.path().join("right"));
    extract(&td("rootfs/left.tar.zst"), &l);
    extract(&td("rootfs/right.tar.zst"), &r);
    let (l, r) = (s(&l).to_string(), s(&r).to_string());
    Some((tmp, l, r))
}

/// The (path, field) differences of the two directories and of the two tarballs.
///
/// uname/gname are left out: the tarballs were made with --numeric-owner, so they
/// carry no names, while a directory source looks names up in this host's
/// /etc/passwd and /etc/group. Those fields therefore measure the host, not the trees
/// (they cannot differ within dir-vs-dir or within tar-vs-tar here, but they would
/// between a directory and a tarball).
fn dir_and_tar_differences(extra: &[&str]) -> Option<[BTreeSet<(String, String)>; 2]> {
    let (_tmp, l, r) = extracted_pair()?;
    let mut dir_args = vec!["--ignore-file-timestamps"];
    dir_args.extend_from_slice(extra);
    dir_args.extend([l.as_str(), r.as_str()]);
    let dirs = report(&dir_args);
    assert_eq!(dirs.left.kind, "directory");
    let (lt, rt) = (td("rootfs/left.tar.zst"), td("rootfs/right.tar.zst"));
    let mut tar_args = vec![
        "--ignore-file-timestamps",
        "--ignore-tar-format",
        "--ignore-file-order",
        "--treat-canonical-paths-equal",
    ];
    tar_args.extend_from_slice(extra);
    tar_args.extend([lt.as_str(), rt.as_str()]);
    let tars = report(&tar_args);
    let no_names = |v: BTreeSet<(String, String)>| -> BTreeSet<(String, String)> {
        v.into_iter()
            .filter(|(_, f)| f != "uname" && f != "gname")
            .collect()
    };
    // The inputs as wholes: two directories have no bytes of their own to compare; the
    // two tarballs differ in their bytes (same codec and parameters), which strict and
    // these rules show since the entries that explain it are visible. Set aside, so the
    // entries can be compared.
    let (dirs, tars) = (visible(&dirs), visible(&tars));
    let input = |v: &BTreeSet<(String, String)>| -> BTreeSet<(String, String)> {
        v.iter().filter(|(p, _)| p == "input").cloned().collect()
    };
    assert_eq!(input(&dirs), BTreeSet::new());
    assert_eq!(input(&tars), set_of(&[("input", "sha256")]));
    let entries = |v: BTreeSet<(String, String)>| -> BTreeSet<(String, String)> {
        v.into_iter().filter(|(p, _)| p != "input").collect()
    };
    Some([no_names(entries(dirs)), no_names(entries(tars))])
}

/// What FIXTURES.md lists as the left -> right differences (ping6 aside).
fn documented_differences() -> BTreeSet<(String, String)> {
    set_of(&[
        ("etc/hostname", "content"),
        ("etc/hostname", "size"),
        ("etc/passwd", "mode"),
        ("opt/acl", "acl.access"),
        ("usr/bin/ping", "content"),
        ("usr/bin/ping", "xattrs.security.capability"),
        ("usr/lib/libx.so", "link_target"),
        ("usr/lib/libx.so.2", "+"),
        ("usr/share/doc/added.txt", "+"),
        ("usr/share/doc/big.txt", "content"),
        ("usr/share/doc/comment.txt", "xattrs.user.comment"),
        ("usr/share/doc/removed.txt", "-"),
        ("var/log/dpkg.log", "content"),
        ("var/log/dpkg.log", "size"),
    ])
}

#[test]
fn extracted_rootfs_dirs_differ_as_their_tarballs() {
    let Some([dirs, tars]) = dir_and_tar_differences(&[]) else {
        return;
    };
    assert_eq!(dirs, tars);
}

/// The same comparison with the hardlink ping6 left out (see the ignored test above
/// for it): everything else agrees, and is what FIXTURES.md documents.
#[test]
fn extracted_rootfs_dirs_differ_as_their_tarballs_apart_from_the_hardlink() {
    let Some([dirs, tars]) = dir_and_tar_differences(&["--ignore-path", "usr/bin/ping6"]) else {
        return;
    };
    assert_eq!(dirs, documented_differences());
    assert_eq!(tars, documented_differences());
}

/// An extracted tree equals the tarball it came from (under --semantic, names aside
/// because of --numeric-owner).
#[test]
fn extracted_rootfs_equals_its_tarball() {
    let Some((_tmp, l, _r)) = extracted_pair() else {
        return;
    };
    let t = td("rootfs/left.tar.zst");
    let r = report(&["--semantic", "--ignore-owner-names", &l, &t]);
    assert!(r.equal, "{:?}", visible(&r));
}

#[test]
fn extracted_rootfs_equals_its_tarball_apart_from_the_hardlink() {
    let Some((_tmp, l, r)) = extracted_pair() else {
        return;
    };
    for (dir, tar) in [(l, "rootfs/left.tar.zst"), (r, "rootfs/right.tar.zst")] {
        let t = td(tar);
        let rep = report(&[
            "--semantic",
            "--ignore-owner-names",
            "--ignore-path",
            "usr/bin/ping6",
            &dir,
            &t,
        ]);
        assert!(rep.equal, "{tar}: {:?}", visible(&rep));
        // Without --ignore-owner-names the only differences are the names.
        let rep = report(&["--semantic", "--ignore-path", "usr/bin/ping6", &dir, &t]);
        let fields: BTreeSet<String> = visible(&rep).into_iter().map(|(_, f)| f).collect();
        assert_eq!(
            fields,
            BTreeSet::from(["gname".to_string(), "uname".to_string()]),
            "{tar}"
        );
    }
}

/// Two GNU tar archives of one tree, but for a file the right one adds under var/log:
/// both are one 10 KiB record, so the zeros after the end-of-archive marker are fewer
/// on the right (7 680 against 4 096 bytes). That is the same writer's record padding,
/// no `trailer` difference of its own: `--ignore-path var/log/**` hides the added file
/// and leaves nothing visible (the `sha256` goes with it).
#[test]
fn trailer_that_follows_from_hidden_entries_is_hidden_with_them() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    for root in [&a, &b] {
        fs::create_dir(root).unwrap();
        mkdir(root, "var/log");
        write(root, "f", b"hi\n", 0o644);
    }
    write(&b, "var/log/new.log", &[b'x'; 3000], 0o644);
    stamp_all(&a, MTIME);
    stamp_all(&b, MTIME);
    let (pa, pb) = (pack(&a, tmp.path(), "a"), pack(&b, tmp.path(), "b"));
    assert_eq!(fs::metadata(&pa.tar).unwrap().len(), 10_240);
    assert_eq!(fs::metadata(&pb.tar).unwrap().len(), 10_240);
    let (code, js) = rdiff_json(&[s(&pa.tar), s(&pb.tar)], None);
    assert_eq!(code, 1);
    assert_eq!(
        json_set(&js["differences"]),
        set_of(&[("input", "sha256"), ("var/log/new.log", "+")]),
        "{:#}",
        js["differences"]
    );
    let (code, js) = rdiff_json(
        &["--ignore-path", "var/log/**", s(&pa.tar), s(&pb.tar)],
        None,
    );
    assert_eq!(code, 0, "{:#}", js["differences"]);
}
