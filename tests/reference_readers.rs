//! rdiff against the tar readers people trust: GNU tar, bsdtar (libarchive), Go's
//! archive/tar and Python's tarfile, over archives from their own test suites
//! (`testdata/formats/reference/`, where FIXTURES.md says where each came from, its
//! licence and what each reference reader does with it) and over codecs made by the
//! tools themselves (`testdata/codecs/`).
//!
//! Two checks:
//!
//! - `every_fixture_has_the_agreed_verdict`: a table of what rdiff reads (path, kind,
//!   size, link target, and what `format` or the trailer says was unusual) or the error
//!   it refuses with. Where the references agree the table is their verdict; where they
//!   differ it is the majority's (then POSIX's), as FIXTURES.md explains.
//! - `live_reference_readers_agree_with_rdiff`: GNU tar, bsdtar and Python's tarfile
//!   run over every fixture; wherever all three accept it with the same paths, rdiff
//!   reads it with those paths (and Python's kind, size and link target); wherever all
//!   three refuse it, rdiff refuses it. A missing tool skips this test with a message,
//!   or fails it under RDIFF_REQUIRE_TOOLS=1.

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

use rdiff::entry::{Entry, display_bytes};
use rdiff::source::tar::{Limits, TarReader};
use rdiff::source::{EntrySet, Input, NoContent, ReadOptions, read_input};
use support::paths::{testdata, tmp};
use support::run::rdiff;

fn reference(name: &str) -> PathBuf {
    testdata("formats/reference").join(name)
}

/// The limits the table reads with: no more than 1 GiB of sparse holes are hashed (the
/// 60 GB members of Go's `*-sparse-big.tar` are read by their headers instead), and a
/// small uncompressed limit that holes must not count against.
fn limits() -> Limits {
    Limits {
        max_sparse_holes: 1 << 30,
        max_uncompressed: 1 << 20,
        ..Limits::default()
    }
}

fn read(path: &PathBuf) -> Result<EntrySet, String> {
    let opts = ReadOptions {
        tar_limits: limits(),
        ..ReadOptions::default()
    };
    read_input(&Input::from_arg(path), &opts, &NoContent).map_err(|e| e.to_string())
}

/// One entry as the table spells it: `path kind size [-> link]`, then what its `format`
/// says beyond the header format's name, when asked.
fn line(e: &Entry) -> String {
    let mut s = format!("{} {} {}", display_bytes(&e.path), e.kind.name(), e.size);
    let link = e.link_target.as_ref().or(e.hardlink_target.as_ref());
    if let Some(l) = link {
        s.push_str(&format!(" -> {}", display_bytes(l)));
    }
    s
}

/// What rdiff should do with one fixture.
enum Verdict {
    /// Read it: these lines (see [`line`]), in path order; every `format` or trailer
    /// fact named must show somewhere (`trailer:TEXT` for the input's trailer).
    Reads(&'static [&'static str], &'static [&'static str]),
    /// Refuse it, with an error holding this text.
    Refuses(&'static str),
}

use Verdict::{Reads, Refuses};

/// The table. Names are under `testdata/formats/reference/`.
const CASES: &[(&str, Verdict)] = &[
    // --- Go's archive/tar testdata
    // No end-of-archive marker (item 4): all four readers read these.
    (
        "go-gnu-incremental.tar",
        Reads(
            &[
                "test2 dir 0",
                "test2/foo file 64",
                "test2/sparse file 536870912",
            ],
            &["trailer:no end-of-archive marker"],
        ),
    ),
    (
        "go-nil-uid.tar",
        Reads(
            &["P1050238.JPG.log file 14"],
            &["trailer:no end-of-archive marker"],
        ),
    ),
    (
        "go-ustar-file-reg.tar",
        Reads(&["foo file 684"], &["trailer:no end-of-archive marker"]),
    ),
    // Two GNU long names before one member (item 3): the last one applies.
    (
        "go-gnu-multi-hdrs.tar",
        Reads(
            &["GNU2/GNU2/long-path-name symlink 0 -> GNU4/GNU4/long-linkpath-name"],
            &["superseded-header", "trailer:no end-of-archive marker"],
        ),
    ),
    // Two PAX x headers before one member (item 3): the last one applies.
    (
        "go-pax-multi-hdrs.tar",
        Reads(
            &["bar symlink 0 -> PAX4/PAX4/long-linkpath-name"],
            &["superseded-header", "trailer:no end-of-archive marker"],
        ),
    ),
    // Pre-Go-1.8 writer: part of a long name in the GNU atime field (item 4).
    (
        "go-invalid-go17.tar",
        Reads(&["foo file 0"], &["ignored-value"]),
    ),
    // A PAX mtime that does not parse beside a valid ustar mtime (item 4).
    (
        "go-pax-bad-mtime-file.tar",
        Reads(
            &["foo file 684"],
            &["ignored-value", "trailer:no end-of-archive marker"],
        ),
    ),
    // NUL bytes in a PAX path or xattr keyword (item 5).
    (
        "go-pax-nul-path.tar",
        Refuses("has a NUL byte in its value"),
    ),
    (
        "go-pax-nul-xattrs.tar",
        Refuses("has a NUL byte in its keyword"),
    ),
    // A global `path=` deletes the header's name (item 6; POSIX, GNU tar, Python):
    // file3 and file4 have no name, as GNU tar reads them (it substitutes `.`).
    (
        "go-pax-global-records.tar",
        Reads(
            &[". file 0", "file2 file 0", "global1 file 0"],
            &["global-header"],
        ),
    ),
    (
        "go-pax-records.tar",
        Reads(&["file file 0"], &["other-records"]),
    ),
    (
        "go-pax-path-hdr.tar",
        Refuses("the stream ends after extension headers, before their member"),
    ),
    (
        "go-neg-size.tar",
        Refuses("header field size is out of range"),
    ),
    (
        "go-pax-bad-hdr-file.tar",
        Refuses("does not end in a newline"),
    ),
    (
        "go-pax-pos-size-file.tar",
        Reads(&["foo file 999"], &["trailer:no end-of-archive marker"]),
    ),
    (
        "go-gnu-not-utf8.tar",
        Reads(&["hi\\x80\\x81\\x82\\x83bye file 0"], &[]),
    ),
    ("go-gnu-long-nul.tar", Reads(&["0123456789 file 0"], &[])),
    (
        "go-trailing-slash.tar",
        Reads(
            &[
                "123456789/123456789/123456789/123456789/123456789/123456789/123456789/123456789/123456789/123456789/123456789/123456789/123456789/123456789/123456789/123456789/123456789/123456789/123456789/123456789/123456789/123456789/123456789/123456789/123456789/123456789/123456789/123456789/123456789/123456789 dir 0",
            ],
            &[],
        ),
    ),
    (
        "go-xattrs.tar",
        Reads(&["small.txt file 5", "small2.txt file 11"], &[]),
    ),
    (
        "go-hdr-only.tar",
        Reads(
            &[
                "badlink symlink 0 -> missing",
                "dir dir 0",
                "fifo fifo 0",
                "file file 46",
                "hardlink hardlink 0 -> file",
                "null char-device 0",
                "sda block-device 0",
                "symlink symlink 0 -> file",
            ],
            &[],
        ),
    ),
    (
        "go-sparse-formats.tar",
        Reads(
            &[
                "end file 4",
                "sparse-gnu file 200",
                "sparse-posix-0.0 file 200",
                "sparse-posix-0.1 file 200",
                "sparse-posix-1.0 file 200",
            ],
            &["gnu-old-sparse", "GNU.sparse"],
        ),
    ),
    (
        "go-star.tar",
        Reads(&["small.txt file 5", "small2.txt file 11"], &[]),
    ),
    (
        "go-v7.tar",
        Reads(&["small.txt file 5", "small2.txt file 11"], &[]),
    ),
    // --- libarchive's test archives
    // Leading NULs in the size field (item 2): GNU tar, bsdtar and Python read 0.
    (
        "libarchive-timestamp_overflow.tar",
        Reads(&["tmp/f.txt file 0"], &[]),
    ),
    // An mtime record that does not parse, with a valid ustar mtime (item 4).
    (
        "libarchive-pax_timestamps.tar",
        Reads(&["empty file 0"], &["ignored-value"]),
    ),
    (
        "libarchive-pax_negative_time.tar",
        Reads(&["empty file 0"], &[]),
    ),
    ("libarchive-concatenated.tar", Reads(&["file1 file 0"], &[])),
    (
        "libarchive-invalid_pax_size.tar",
        Refuses("has no length prefix"),
    ),
    (
        "libarchive-V_negative_size.tar",
        Refuses("header field size is out of range"),
    ),
    // A volume label is no member (bsdtar agrees; GNU tar and Python list it).
    ("libarchive-empty_with_gnulabel.tar", Reads(&[], &[])),
    // --- tar-rs tests
    // One header and no end-of-archive marker; an empty name is the root.
    (
        "tar-rs-empty_filename.tar",
        Reads(&[". dir 0"], &["trailer:no end-of-archive marker"]),
    ),
    (
        "tar-rs-simple_missing_last_header.tar",
        Reads(&["a file 0", "b file 0", "c file 0"], &[]),
    ),
    ("tar-rs-spaces.tar", Reads(&["a file 2"], &[])),
    ("tar-rs-pax_size.tar", Reads(&["test file 4"], &["size"])),
    ("tar-rs-biguid_gnu.tar", Reads(&["test.txt file 14"], &[])),
    (
        "tar-rs-biguid_pax.tar",
        Reads(&["test.txt file 14"], &["uid"]),
    ),
];

/// Whether `fact` shows: a `format` name of some entry, or the input's trailer text.
fn shows(set: &EntrySet, fact: &str) -> bool {
    if let Some(t) = fact.strip_prefix("trailer:") {
        let want = if t == "no end-of-archive marker" {
            Some(false)
        } else {
            None
        };
        return set.info.trailer.as_ref().map(|tr| tr.marker) == want.or(Some(true));
    }
    set.entries
        .iter()
        .filter_map(|e| e.format)
        .any(|f| f.to_string().contains(fact))
}

#[test]
fn every_fixture_has_the_agreed_verdict() {
    let mut failures = Vec::new();
    for (name, verdict) in CASES {
        let got = read(&reference(name));
        match (verdict, got) {
            (Reads(lines, facts), Ok(set)) => {
                let have: Vec<String> = set.entries.iter().map(line).collect();
                if have != *lines {
                    failures.push(format!("{name}: read {have:#?}, want {lines:#?}"));
                }
                for f in *facts {
                    if !shows(&set, f) {
                        failures.push(format!("{name}: {f} does not show"));
                    }
                }
                if !facts.iter().any(|f| f.starts_with("trailer:"))
                    && set.info.trailer.as_ref().is_some_and(|t| !t.marker)
                {
                    failures.push(format!(
                        "{name}: no end-of-archive marker, not in the table"
                    ));
                }
            }
            (Reads(..), Err(e)) => failures.push(format!("{name}: refused: {e}")),
            (Refuses(msg), Err(e)) if e.contains(msg) => {}
            (Refuses(msg), Err(e)) => failures.push(format!("{name}: error {e:?}, want {msg:?}")),
            (Refuses(_), Ok(set)) => {
                let have: Vec<String> = set.entries.iter().map(line).collect();
                failures.push(format!("{name}: read {have:?}, want an error"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every archive in `testdata/formats/reference/` has a row in the table (Go's
/// `*-sparse-big.tar` and tar-rs' `sparse-large.tar` have their own tests, and
/// Python's testtar the live one).
#[test]
fn every_reference_fixture_is_in_the_table() {
    let own = [
        "go-gnu-sparse-big.tar",
        "go-pax-sparse-big.tar",
        "tar-rs-sparse-large.tar",
        "tar-rs-xattrs.tar",
        "python-testtar.tar.xz",
    ];
    let mut missing = Vec::new();
    for d in std::fs::read_dir(testdata("formats/reference")).unwrap() {
        let n = d.unwrap().file_name().into_string().unwrap();
        let tar = n.ends_with(".tar") || n.ends_with(".tar.xz");
        if tar && !own.contains(&n.as_str()) && !CASES.iter().any(|c| c.0 == n) {
            missing.push(n);
        }
    }
    assert!(missing.is_empty(), "not in the table: {missing:?}");
}

// ---------------------------------------------------------------------------------
// Sparse holes (item 7)

/// The members of an archive as its headers give them, data skipped (no hole hashed).
fn headers(path: &PathBuf) -> Vec<(String, u64)> {
    let f = std::fs::File::open(path).unwrap();
    let mut tr = TarReader::new(std::io::BufReader::new(f));
    let mut out = Vec::new();
    while let Some(e) = tr.next_entry().unwrap() {
        out.push((display_bytes(&e.path), e.size));
        tr.skip_data().unwrap();
    }
    out
}

/// Go's 60 GB sparse members (all holes) and tar-rs' 12 GB one: read (GNU tar, bsdtar,
/// Go and Python read them; Python gives the PAX 1.0 one its stored size), and their
/// holes count against `--max-sparse-holes` only: under a 1 MiB uncompressed limit the
/// error names the holes' budget, never a limit no flag can lift.
#[test]
fn huge_sparse_members_count_against_the_holes_budget_only() {
    for (name, path, size) in [
        ("go-gnu-sparse-big.tar", "gnu-sparse", 60_000_000_000u64),
        ("go-pax-sparse-big.tar", "pax-sparse", 60_000_000_000),
        ("tar-rs-sparse-large.tar", "huge", 12_626_929_280),
    ] {
        assert_eq!(
            headers(&reference(name)),
            [(path.to_string(), size)],
            "{name}"
        );
        let e = read(&reference(name)).err().unwrap_or_default();
        assert!(
            e.contains("holes are over 1073741824 bytes (--max-sparse-holes)"),
            "{name}: {e}"
        );
    }
}

// ---------------------------------------------------------------------------------
// Codecs (item 8) and bytes after a bzip2 stream (item 4)

fn codec(name: &str) -> Result<EntrySet, String> {
    read(&testdata("codecs").join(name))
}

#[test]
fn lzip_and_lzma_read_like_the_plain_tar() {
    let plain = read(&testdata("formats/pax.tar")).unwrap();
    for (name, c) in [("pax.tar.lz", "lzip"), ("pax.tar.lzma", "lzma")] {
        let set = codec(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(set.info.compression.map(|c| c.name()), Some(c), "{name}");
        assert_eq!(set.entries, plain.entries, "{name}");
    }
}

#[test]
fn unread_codecs_are_named() {
    for (name, codec_name) in [
        ("pax.tar.lz4", "lz4"),
        // An lz4 frame after a skippable frame (zstd's magic too): not corrupt zstd.
        ("skippable-pax.tar.lz4", "lz4"),
        ("pax.tar.Z", "compress (.Z)"),
        ("pax.tar.lzo", "lzop"),
    ] {
        let e = codec(name).err().unwrap_or_default();
        assert!(
            e.contains(&format!("{codec_name}-compressed input is not supported")),
            "{name}: {e}"
        );
    }
}

#[test]
fn bytes_after_a_bzip2_stream_are_read_and_shown() {
    let set = codec("junk-pax.tar.bz2").unwrap();
    assert_eq!(set.entries.len(), 14);
    let p: Vec<_> = set
        .info
        .compression_params
        .iter()
        .map(|p| (p.0, p.1.as_str()))
        .collect();
    assert!(
        p.contains(&("trailing_data", "22 bytes after the last stream")),
        "{p:?}"
    );
}

// ---------------------------------------------------------------------------------
// Adversarial: what the new readings leave out of the compared fields must still make
// two archives differ (strict means bit-for-bit).

const BLOCK: usize = 512;

/// A ustar header block (valid checksum) with `f` applied to it before the checksum.
fn header(name: &[u8], size: u64, typeflag: u8, f: impl Fn(&mut [u8])) -> Vec<u8> {
    let mut h = vec![0u8; BLOCK];
    h[..name.len()].copy_from_slice(name);
    h[100..108].copy_from_slice(b"0000644\0");
    h[108..116].copy_from_slice(b"0000000\0");
    h[116..124].copy_from_slice(b"0000000\0");
    h[124..136].copy_from_slice(format!("{size:011o}\0").as_bytes());
    h[136..148].copy_from_slice(b"14524770400\0");
    h[156] = typeflag;
    h[257..265].copy_from_slice(b"ustar\x0000");
    f(&mut h);
    h[148..156].fill(b' ');
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    h
}

fn padded(data: &[u8]) -> Vec<u8> {
    let mut v = data.to_vec();
    v.resize(data.len().div_ceil(BLOCK) * BLOCK, 0);
    v
}

/// A PAX header (`x` or `g`) holding these records.
fn pax(typeflag: u8, records: &[(&str, &[u8])]) -> Vec<u8> {
    let mut data = Vec::new();
    for (k, v) in records {
        let body = k.len() + v.len() + 3;
        let mut n = body + 1;
        while n.to_string().len() + body != n {
            n = n.to_string().len() + body;
        }
        data.extend(format!("{n} {k}=").as_bytes());
        data.extend(*v);
        data.push(b'\n');
    }
    let mut out = header(b"PaxHeader", data.len() as u64, typeflag, |_| {});
    out.extend(padded(&data));
    out
}

fn archive(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut v = parts.concat();
    v.extend([0u8; 2 * BLOCK]);
    v
}

/// rdiff's strict verdict on two archives: `identical` or not, and the entries.
fn strict(a: &[u8], b: &[u8]) -> (bool, EntrySet) {
    let t = tmp();
    let (pa, pb) = (t.path().join("a.tar"), t.path().join("b.tar"));
    std::fs::write(&pa, a).unwrap();
    std::fs::write(&pb, b).unwrap();
    let j = rdiff(["rootfs", "--format", "json"])
        .arg(&pa)
        .arg(&pb)
        .run()
        .json();
    (j["identical"] == true, read(&pb).unwrap())
}

fn file(name: &[u8], f: impl Fn(&mut [u8])) -> Vec<u8> {
    header(name, 0, b'0', f)
}

/// Item 2: digits after the NUL that ends a number are no part of it (both read 0),
/// yet two archives that differ only there are not identical.
#[test]
fn digits_after_a_number_s_nul_are_not_lost() {
    let a = archive(&[file(b"f", |h| {
        h[124..136].copy_from_slice(b"\0\0\0\0\0\0 0016\0")
    })]);
    let b = archive(&[file(b"f", |h| {
        h[124..136].copy_from_slice(b"\0\0\0\0\0\0 0017\0")
    })]);
    let (identical, set) = strict(&a, &b);
    assert_eq!(
        set.entries.iter().map(line).collect::<Vec<_>>(),
        ["f file 0"]
    );
    assert!(!identical);
}

/// Item 3: a superseded `x` header applies nothing, but its bytes are compared.
#[test]
fn a_superseded_pax_header_still_counts() {
    let mk = |first: &[u8]| {
        archive(&[
            pax(b'x', &[("path", first)]),
            pax(b'x', &[("path", b"last")]),
            file(b"f", |_| {}),
        ])
    };
    let (identical, set) = strict(&mk(b"one"), &mk(b"two"));
    assert_eq!(
        set.entries.iter().map(line).collect::<Vec<_>>(),
        ["last file 0"]
    );
    assert!(!identical);
    let (identical, _) = strict(&mk(b"last"), &mk(b"last"));
    assert!(identical);
}

/// Item 4: an ignored PAX time and an ignored GNU atime field are still compared.
#[test]
fn ignored_times_still_count() {
    let bad = |v: &[u8]| archive(&[pax(b'x', &[("mtime", v)]), file(b"f", |_| {})]);
    let (identical, set) = strict(&bad(b"17000x0000"), &bad(b"17000x0001"));
    assert_eq!(set.entries[0].mtime.map(|t| t.secs), Some(1_700_000_000));
    assert!(!identical);
    let gnu = |atime: &[u8]| {
        archive(&[file(b"f", |h| {
            h[257..265].copy_from_slice(b"ustar  \0");
            h[345..345 + atime.len()].copy_from_slice(atime);
        })])
    };
    let (identical, set) = strict(&gnu(b"aa12aa"), &gnu(b"aa13aa"));
    assert_eq!(set.entries[0].atime(), None);
    assert!(!identical);
}

/// Item 6: an empty `uname` or `gname` (global or local) deletes the header's field
/// (POSIX, GNU tar, Python; rdiff used to keep the header's `user`); an empty `uid`
/// keeps the header's number.
#[test]
fn empty_values_delete_name_fields() {
    let with_uname = |h: &mut [u8]| h[265..269].copy_from_slice(b"user");
    let tar = archive(&[
        pax(b'g', &[("uname", b"gl")]),
        file(b"a", with_uname),
        pax(b'g', &[("uname", b""), ("uid", b"")]),
        file(b"b", with_uname),
        pax(b'x', &[("gname", b"")]),
        file(b"c", |h| h[297..302].copy_from_slice(b"group")),
    ]);
    let t = tmp();
    let p = t.path().join("g.tar");
    std::fs::write(&p, &tar).unwrap();
    let set = read(&p).unwrap();
    let names: Vec<_> = set
        .entries
        .iter()
        .map(|e| {
            let s = |b: &Option<rdiff::entry::Bytes>| b.as_deref().map(display_bytes);
            (s(&e.uname), s(&e.gname))
        })
        .collect();
    // An empty name is no name: `None`, as for a header whose field is empty.
    assert_eq!(
        names,
        [(Some("gl".to_string()), None), (None, None), (None, None)]
    );
}

// ---------------------------------------------------------------------------------
// The reference readers themselves

/// A missing tool: fail under RDIFF_REQUIRE_TOOLS=1, otherwise say why and skip.
fn tool_missing(what: &str) -> bool {
    let ok = Command::new(what)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        support::run::missing_tool(format_args!("{what} cannot be run"));
    }
    !ok
}

/// A path as rdiff normalizes it: no `./` or `/` prefix, no trailing `/`, `.` for none.
fn normalize(p: &str) -> String {
    let parts: Vec<&str> = p
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    }
}

/// A tool's listing: whether it exited 0, and the paths it printed (normalized), or
/// `None` where a name is escaped (not printable), which the listing cannot compare.
fn list_paths(tool: &str, file: &PathBuf) -> (bool, Option<Vec<String>>) {
    let out = Command::new(tool)
        .env("LC_ALL", "C.UTF-8")
        .arg("-tf")
        .arg(file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let escaped = text.contains('\\') || text.contains('?') || text.contains('\u{fffd}');
    let mut paths: Vec<String> = text.lines().map(normalize).collect();
    paths.sort();
    paths.dedup();
    (out.status.success(), (!escaped).then_some(paths))
}

/// Python's tarfile: whether it read the file, and per path (the last member of that
/// path) its kind, size and link target, as rdiff names them.
fn list_python(python: &str, file: &PathBuf) -> (bool, BTreeMap<String, String>) {
    const SCRIPT: &str = r#"
import sys, tarfile
kinds = {b"1": "hardlink", b"2": "symlink", b"3": "char-device", b"4": "block-device",
         b"5": "dir", b"6": "fifo"}
try:
    with tarfile.open(sys.argv[1]) as t:
        for m in t.getmembers():
            k = kinds.get(m.type, "file")
            size = m.size if k == "file" else 0
            link = " -> " + m.linkname if k in ("symlink", "hardlink") else ""
            print("%s\t%s %d%s" % (m.name, k, size, link))
except Exception as e:
    print("ERROR", e, file=sys.stderr)
    sys.exit(1)
"#;
    let out = Command::new(python)
        .args(["-c", SCRIPT])
        .arg(file)
        .output()
        .unwrap();
    let mut map = BTreeMap::new();
    for l in String::from_utf8_lossy(&out.stdout).lines() {
        if let Some((p, rest)) = l.split_once('\t') {
            map.insert(normalize(p), rest.to_string());
        }
    }
    (out.status.success(), map)
}

/// Every fixture, with GNU tar, bsdtar and Python: where all three accept it and list
/// the same paths, rdiff reads those paths, with Python's kind, size and link target
/// (hardlink targets normalized); where all three refuse it, rdiff refuses it.
/// Disagreements are the table's (and FIXTURES.md's) business.
#[test]
fn live_reference_readers_agree_with_rdiff() {
    let python = std::env::var("RDIFF_PYTHON").unwrap_or_else(|_| "python3".into());
    if tool_missing("tar") || tool_missing("bsdtar") || tool_missing(&python) {
        return;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(testdata("formats/reference"))
        .unwrap()
        .map(|d| d.unwrap().path())
        .filter(|p| p.to_string_lossy().contains(".tar"))
        .collect();
    files.sort();
    let (mut agreed, mut failures) = (0, Vec::new());
    for f in &files {
        let name = f.file_name().unwrap().to_string_lossy().into_owned();
        let (gnu_ok, gnu) = list_paths("tar", f);
        let (bsd_ok, bsd) = list_paths("bsdtar", f);
        let (py_ok, py) = list_python(&python, f);
        let py_paths: Vec<String> = py.keys().cloned().collect();
        let rdiff = if headers_only(&name) {
            Err(String::new())
        } else {
            read(f)
        };
        if !gnu_ok && !bsd_ok && !py_ok {
            agreed += 1;
            if rdiff.is_ok() {
                failures.push(format!(
                    "{name}: every reference refuses it, rdiff reads it"
                ));
            }
            continue;
        }
        let same = gnu.is_some() && gnu == bsd && gnu.as_ref() == Some(&py_paths);
        if !(gnu_ok && bsd_ok && py_ok && same) || headers_only(&name) {
            continue;
        }
        agreed += 1;
        match rdiff {
            Err(e) => failures.push(format!("{name}: every reference reads it, rdiff: {e}")),
            Ok(set) => {
                let have: BTreeMap<String, String> = set
                    .entries
                    .iter()
                    .map(|e| {
                        let l = line(e);
                        let (p, rest) = l.split_once(' ').unwrap();
                        (p.to_string(), rest.to_string())
                    })
                    .collect();
                if have != py {
                    failures.push(format!("{name}: rdiff {have:#?}\nreferences {py:#?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    eprintln!(
        "the references agree on {agreed} of {} fixtures",
        files.len()
    );
    assert!(
        agreed >= 20,
        "only {agreed} fixtures where the references agree"
    );
}

/// Fixtures whose holes are too many to hash in a test (see
/// `huge_sparse_members_count_against_the_holes_budget_only`).
fn headers_only(name: &str) -> bool {
    name.contains("sparse-big") || name.contains("sparse-large")
}
