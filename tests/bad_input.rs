//! Bad inputs: every one gives exit code 2 and exactly one line on standard error,
//! `rdiff: INPUT: PROBLEM`, with nothing on standard output, no panic, and quickly.
//! All damaged inputs are made here, in a temporary directory, from good archives.

mod support;

use std::ffi::OsString;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use rdiff::error::ErrorKind;
use rdiff::source::tar::TarReader;
use support::data::{Codec, Rng, sha256_hex};
use support::paths::{mkfifo, read_testdata, repo, testdata, tmp};
use support::rawtar::{file_header, fix_checksum, push_padded};
use support::report::{Pairs, set as fields, visible_by_status};
use support::run::{self, RDIFF, Run, assert_input_error, assert_one_error_line, running_as_root};

/// Upper bound for any one child; a hang fails the test instead of blocking it.
const TIMEOUT: Duration = Duration::from_secs(20);

fn rdiff(args: &[OsString]) -> Run {
    run::rdiff(args).timeout(TIMEOUT).run()
}

fn rootfs(left: &Path, right: &Path) -> Run {
    rdiff(&["rootfs".into(), left.into(), right.into()])
}

/// Write `bytes` as `dir/name`, compare it on either side with a good archive, and
/// check that both runs fail with the same one-line error naming it.
fn check_bad(dir: &Path, name: &str, bytes: &[u8], problems: &[&str]) -> String {
    let bad = dir.join(name);
    std::fs::write(&bad, bytes).unwrap();
    let good = testdata("formats/pax.tar");
    let a = assert_input_error(&rootfs(&bad, &good), &bad, problems);
    let b = assert_input_error(&rootfs(&good, &bad), &bad, problems);
    assert_eq!(
        a, b,
        "the same input should give the same message on either side"
    );
    a
}

/// The visible (path, field name) pairs of a JSON report on standard output; added and
/// removed entries as (path, status).
fn visible(out: &Run) -> Pairs {
    visible_by_status(&out.json())
}

/// `rdiff rootfs --format json [FLAGS...] LEFT RIGHT`.
fn rootfs_json(flags: &[&str], left: &Path, right: &Path) -> Run {
    let mut a: Vec<OsString> = vec!["rootfs".into(), "--format".into(), "json".into()];
    a.extend(flags.iter().map(OsString::from));
    a.push(left.into());
    a.push(right.into());
    rdiff(&a)
}

// ---------------------------------------------------------------------------------
// Compressed streams

fn truncation_offsets(len: usize) -> Vec<usize> {
    let mut v = vec![
        1,
        2,
        3,
        5,
        9,
        17,
        100,
        len / 4,
        len / 3,
        len / 2,
        3 * len / 4,
        len - 9,
        len - 5,
        len - 1,
    ];
    v.retain(|&o| o > 0 && o < len);
    v.sort_unstable();
    v.dedup();
    v
}

fn check_truncations(codec: Codec) {
    let dir = tmp();
    let tar = read_testdata("rootfs/left.tar");
    let full = codec.compress(&tar);
    // The intact stream is fine (so the failures below are about the cut): against the
    // plain tar it differs only in how it is compressed, which strict mode reports and
    // --ignore-compression hides.
    let whole = dir.path().join("whole");
    std::fs::write(&whole, &full).unwrap();
    let plain = testdata("rootfs/left.tar");
    let out = rootfs_json(&[], &whole, &plain);
    assert_eq!(out.status, Some(1), "{}", out.describe());
    assert_eq!(
        visible(&out),
        fields(&[("input", "sha256"), ("input", "compression")]),
        "{}",
        out.describe()
    );
    let out = rootfs_json(&["--ignore-compression"], &whole, &plain);
    assert_eq!(out.status, Some(0), "{}", out.describe());
    assert!(visible(&out).is_empty(), "{}", out.describe());

    for (i, off) in truncation_offsets(full.len()).into_iter().enumerate() {
        let bad = dir.path().join(format!("cut-{off}.tar.{}", codec.name()));
        std::fs::write(&bad, &full[..off]).unwrap();
        let good = testdata("formats/pax.tar");
        // Alternate the side the bad input is on.
        let out = if i % 2 == 0 {
            rootfs(&bad, &good)
        } else {
            rootfs(&good, &bad)
        };
        let line = assert_input_error(&out, &bad, &[]);
        if off < codec.magic_len() {
            // Too short to be recognized as compressed: a plain stream shorter than one
            // tar header.
            assert!(
                line.contains("not a tar archive") || line.contains("truncated"),
                "{} cut at {off}: {line}",
                codec.name()
            );
        } else {
            let want = format!(
                "rdiff: {}: truncated {} stream after {} bytes",
                bad.display(),
                codec.name(),
                (off as u64)
            );
            assert_eq!(
                line,
                want,
                "{} cut at {off} of {}",
                codec.name(),
                full.len()
            );
        }
    }
}

#[test]
fn truncated_zstd_stream() {
    check_truncations(Codec::Zstd);
}

#[test]
fn truncated_gzip_stream() {
    check_truncations(Codec::Gzip);
}

#[test]
fn truncated_xz_stream() {
    check_truncations(Codec::Xz);
}

#[test]
fn truncated_bzip2_stream() {
    check_truncations(Codec::Bzip2);
}

/// The compressed streams the CLI tools wrote are caught too (zstd's own frame
/// layout differs from the crate's; --long=31 frames as well).
#[test]
fn truncated_fixture_streams() {
    let dir = tmp();
    for (rel, fmt) in [
        ("rootfs/left.tar.zst", "zstd"),
        ("rootfs/left.tar.gz", "gzip"),
        ("compress/long31.tar.zst", "zstd"),
        ("compress/multi.tar.gz", "gzip"),
        ("compress/multi.tar.zst", "zstd"),
        ("compress/pax.tar.xz", "xz"),
        ("compress/pax.tar.bz2", "bzip2"),
    ] {
        let full = read_testdata(rel);
        for off in [full.len() / 2, full.len() - 1] {
            let bad = dir.path().join(format!("{}-{off}", rel.replace('/', "_")));
            std::fs::write(&bad, &full[..off]).unwrap();
            let out = rootfs(&testdata("formats/pax.tar"), &bad);
            let line = assert_input_error(&out, &bad, &[]);
            assert_eq!(
                line,
                format!(
                    "rdiff: {}: truncated {fmt} stream after {} bytes",
                    bad.display(),
                    (off as u64)
                ),
                "{rel} cut at {off}"
            );
        }
    }
}

/// Flip bits in the middle of a compressed stream: a decoder error (or, if the
/// damage decodes, a tar error), never silent acceptance.
fn check_bit_flips(codec: Codec) {
    let dir = tmp();
    let tar = read_testdata("rootfs/left.tar");
    let full = codec.compress(&tar);
    let mut rng = Rng::new(7 + codec as u64);
    for (k, frac) in [(0, 2), (1, 3), (2, 2), (3, 5)] {
        let pos = full.len() * (frac - 1) / frac + rng.range(0, 64);
        let bit = rng.range(0, 7);
        let mut bad_bytes = full.clone();
        bad_bytes[pos] ^= 1 << bit;
        let bad = dir.path().join(format!("flip-{k}.{}", codec.name()));
        std::fs::write(&bad, &bad_bytes).unwrap();
        let out = rootfs(&bad, &testdata("rootfs/left.tar"));
        let line = assert_input_error(&out, &bad, &[]);
        let corrupt = format!("corrupt {} stream near byte ", codec.name());
        assert!(
            line.contains(&corrupt) || line.contains("(tar byte "),
            "flip of bit {bit} at {pos} of {}: {line}",
            full.len()
        );
    }
}

#[test]
fn bit_flip_zstd() {
    check_bit_flips(Codec::Zstd);
}

#[test]
fn bit_flip_gzip() {
    check_bit_flips(Codec::Gzip);
}

#[test]
fn bit_flip_xz() {
    check_bit_flips(Codec::Xz);
}

#[test]
fn bit_flip_bzip2() {
    check_bit_flips(Codec::Bzip2);
}

/// The offset in "corrupt FORMAT stream near byte N" cannot lie before the damaged
/// byte: a decoder only finds damage in input it has read. (The whole stream here is
/// smaller than rdiff's input buffer, so no buffering explains a lag.)
fn check_corrupt_offset(codec: Codec) {
    let dir = tmp();
    let tar = read_testdata("rootfs/left.tar");
    let full = codec.compress(&tar);
    let pos = full.len() / 2;
    let mut bad_bytes = full.clone();
    bad_bytes[pos] ^= 0x10;
    let bad = dir.path().join(format!("flip.{}", codec.name()));
    std::fs::write(&bad, &bad_bytes).unwrap();
    let line = assert_input_error(&rootfs(&bad, &testdata("rootfs/left.tar")), &bad, &[]);
    let marker = format!("corrupt {} stream near byte ", codec.name());
    let at = line
        .find(&marker)
        .unwrap_or_else(|| panic!("not a decoder error: {line}"))
        + marker.len();
    let digits: String = line[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ' ')
        .filter(char::is_ascii_digit)
        .collect();
    let reported: usize = digits.parse().unwrap();
    assert!(
        reported >= pos && reported <= full.len(),
        "damage at byte {pos} of {}, reported near byte {reported}: {line}",
        full.len()
    );
}

#[test]
fn corrupt_offset_zstd() {
    check_corrupt_offset(Codec::Zstd);
}

#[test]
fn corrupt_offset_gzip() {
    check_corrupt_offset(Codec::Gzip);
}

#[test]
fn corrupt_offset_xz() {
    check_corrupt_offset(Codec::Xz);
}

#[test]
fn corrupt_offset_bzip2() {
    check_corrupt_offset(Codec::Bzip2);
}

// ---------------------------------------------------------------------------------
// Plain tar damage

/// Three files: headers at 0, 1536 and 3072, end-of-archive blocks at 4096..5120.
fn three_files() -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, len, byte) in [
        ("a.txt", 1000, b'a'),
        ("b.txt", 600, b'b'),
        ("c.txt", 10, b'c'),
    ] {
        b.append(&file_header(name, len as u64), &vec![byte; len][..])
            .unwrap();
    }
    let v = b.into_inner().unwrap();
    assert_eq!(v.len(), 5120);
    assert_eq!(&v[1536..1541], b"b.txt");
    assert_eq!(&v[3072..3077], b"c.txt");
    v
}

/// Replace the size field of the header at `at` and fix its checksum.
fn set_size_field(data: &mut [u8], at: usize, field: &[u8; 12]) {
    data[at + 124..at + 136].copy_from_slice(field);
    fix_checksum(&mut data[at..at + 512]);
}

#[test]
fn the_three_file_archive_is_valid() {
    let dir = tmp();
    let p = dir.path().join("ok.tar");
    std::fs::write(&p, three_files()).unwrap();
    let out = rootfs(&p, &p);
    assert_eq!(out.status, Some(0), "{}", out.describe());
}

#[test]
fn plain_tar_cut_mid_entry() {
    let dir = tmp();
    let data = three_files();
    check_bad(
        dir.path(),
        "mid-entry.tar",
        &data[..1000],
        &[
            "truncated: stream ends with 512 bytes of the member still to come",
            "tar byte 1000",
            "member a.txt",
        ],
    );
    // Inside the padding after the data.
    check_bad(
        dir.path(),
        "mid-padding.tar",
        &data[..2700],
        &["truncated", "b.txt"],
    );
}

#[test]
fn plain_tar_cut_mid_header() {
    let dir = tmp();
    let data = three_files();
    check_bad(
        dir.path(),
        "mid-header.tar",
        &data[..1536 + 100],
        &["truncated: stream ends inside a header block (100 of 512 bytes)"],
    );
}

/// No end-of-archive marker: read as GNU tar, bsdtar, Go and Python read it (issue
/// 13), with the `trailer` saying the marker is missing; cut inside the extension
/// headers of a member, it is still an error.
#[test]
fn plain_tar_cut_at_header_boundary() {
    let dir = tmp();
    let data = three_files();
    let p = dir.path().join("no-eof.tar");
    std::fs::write(&p, &data[..4096]).unwrap();
    let full = dir.path().join("full.tar");
    std::fs::write(&full, &data).unwrap();
    let out = run::rdiff(["rootfs", "--format", "json"])
        .arg(&full)
        .arg(&p)
        .run();
    assert_eq!(out.status, Some(1), "{}", out.stderr);
    let j = out.json();
    let diffs = j["differences"].as_array().unwrap();
    assert_eq!(diffs.len(), 1, "{j}");
    let fields: Vec<(&str, &str)> = diffs[0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["name"].as_str().unwrap(),
                f["right"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(fields[1], ("trailer", "no end-of-archive marker"), "{j}");
    let mut cut = pax_then_file(b"11 path=gx\n");
    cut.truncate(1024);
    check_bad(
        dir.path(),
        "no-member.tar",
        &cut,
        &["truncated: the stream ends after extension headers, before their member"],
    );
}

#[test]
fn bad_header_checksum() {
    let dir = tmp();
    let mut data = three_files();
    data[1536 + 2] ^= 0x01; // "b.txt" -> "b/txt": checksum no longer matches
    check_bad(
        dir.path(),
        "cksum.tar",
        &data,
        &["bad header checksum", "tar byte 1536"],
    );
}

#[test]
fn size_field_runs_past_the_end() {
    let dir = tmp();
    let mut data = three_files();
    set_size_field(&mut data, 0, b"00000200000\0"); // 64 KiB, the archive has 5 KiB
    check_bad(
        dir.path(),
        "size-past-end.tar",
        &data,
        &["truncated", "member a.txt"],
    );
}

#[test]
fn size_field_not_octal() {
    let dir = tmp();
    let mut data = three_files();
    set_size_field(&mut data, 1536, b"0000x001130\0");
    check_bad(
        dir.path(),
        "size-garbage.tar",
        &data,
        &["header field size is not a number"],
    );
}

#[test]
fn size_field_negative_base256() {
    let dir = tmp();
    let mut data = three_files();
    set_size_field(&mut data, 0, &[0xff; 12]); // -1
    check_bad(dir.path(), "size-neg.tar", &data, &["negative size -1"]);
}

#[test]
fn size_field_huge_base256() {
    let dir = tmp();
    let mut data = three_files();
    let mut f = [0xffu8; 12];
    f[0] = 0x80; // 2^88 - 1: over i64
    set_size_field(&mut data, 0, &f);
    check_bad(
        dir.path(),
        "size-huge.tar",
        &data,
        &["header field size is out of range"],
    );
}

/// A PAX `x` header with `data`, then a small file and the end blocks.
fn pax_then_file(data: &[u8]) -> Vec<u8> {
    let mut h = tar::Header::new_ustar();
    h.set_path("PaxHeaders/f").unwrap();
    h.set_entry_type(tar::EntryType::XHeader);
    h.set_size(data.len() as u64);
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    push_padded(&mut out, data);
    out.extend_from_slice(file_header("f", 3).as_bytes());
    push_padded(&mut out, b"xyz");
    out.resize(out.len() + 1024, 0);
    out
}

#[test]
fn pax_archive_builder_is_valid() {
    // The frame used below, with well-formed records, reads fine.
    let dir = tmp();
    let p = dir.path().join("ok.tar");
    std::fs::write(&p, pax_then_file(b"11 path=gx\n")).unwrap();
    let out = rootfs(&p, &p);
    assert_eq!(out.status, Some(0), "{}", out.describe());
}

#[test]
fn pax_record_with_wrong_length_prefix() {
    let dir = tmp();
    check_bad(
        dir.path(),
        "pax-long.tar",
        &pax_then_file(b"30 path=x\n"),
        &["PAX record at offset 0 claims 30 bytes but 10 remain"],
    );
    check_bad(
        dir.path(),
        "pax-short.tar",
        &pax_then_file(b"9 path=xy\n"),
        &["PAX record at offset 0", "does not end in a newline"],
    );
    check_bad(
        dir.path(),
        "pax-nodigits.tar",
        &pax_then_file(b"1x path=x\n"),
        &["PAX record at offset 0 has a bad length prefix"],
    );
}

#[test]
fn pax_header_over_the_meta_limit() {
    let dir = tmp();
    // Only the size field says 16 MiB + 1; the data is not there.
    let mut h = tar::Header::new_ustar();
    h.set_path("PaxHeaders/big").unwrap();
    h.set_entry_type(tar::EntryType::XHeader);
    h.set_size((16 << 20) + 1);
    h.set_cksum();
    let mut data = h.as_bytes().to_vec();
    push_padded(&mut data, b"20 comment=xxxxxxxx\n");
    data.resize(data.len() + 1024, 0);
    check_bad(
        dir.path(),
        "pax-huge.tar",
        &data,
        &["PAX header of 16777217 bytes is over the limit of 16777216 bytes"],
    );
}

#[test]
fn pax_header_not_followed_by_a_member() {
    let dir = tmp();
    let mut data = pax_then_file(b"11 path=gx\n");
    data.truncate(1024); // the x header and its data, then end blocks
    data.resize(1024 + 1024, 0);
    check_bad(
        dir.path(),
        "pax-alone.tar",
        &data,
        &["extension header not followed by a member"],
    );
}

#[test]
fn gnu_long_name_cut() {
    let dir = tmp();
    let mut h = tar::Header::new_gnu();
    h.set_path("././@LongLink").unwrap();
    h.set_entry_type(tar::EntryType::GNULongName);
    h.set_size(300);
    h.set_cksum();
    let mut data = h.as_bytes().to_vec();
    data.extend_from_slice(&[b'n'; 100]);
    check_bad(
        dir.path(),
        "longname-cut.tar",
        &data,
        &["truncated: stream ends with 200 bytes of the member still to come"],
    );
}

// ---------------------------------------------------------------------------------
// Files and directories

#[test]
fn missing_input_file() {
    let dir = tmp();
    let missing = dir.path().join("missing.tar");
    let good = testdata("formats/pax.tar");
    assert_input_error(
        &rootfs(&missing, &good),
        &missing,
        &["No such file or directory"],
    );
    assert_input_error(
        &rootfs(&good, &missing),
        &missing,
        &["No such file or directory"],
    );
}

fn setpriv() -> Option<PathBuf> {
    ["/usr/bin/setpriv", "/bin/setpriv"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// Run rdiff as an unprivileged user (root reads everything).
fn rootfs_unprivileged(left: &Path, right: &Path) -> Option<Run> {
    let mut cmd = run::rdiff(["rootfs"]).arg(left).arg(right).timeout(TIMEOUT);
    if running_as_root() {
        let Some(sp) = setpriv() else {
            run::missing_tool("running as root and setpriv (util-linux) is missing");
            return None;
        };
        cmd = cmd.via(sp, ["--reuid=65534", "--regid=65534", "--clear-groups"]);
    }
    Some(cmd.run())
}

fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn directory_with_an_unreadable_directory() {
    let dir = tmp();
    set_mode(dir.path(), 0o755);
    let root = dir.path().join("tree");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/ok.txt"), "ok\n").unwrap();
    std::fs::create_dir(root.join("etc/locked")).unwrap();
    std::fs::write(root.join("etc/locked/inner.txt"), "secret\n").unwrap();
    set_mode(&root.join("etc/locked"), 0o000);
    let good = testdata("formats/pax.tar");

    let Some(out) = rootfs_unprivileged(&root, &good) else {
        return;
    };
    let line = assert_one_error_line(&out);
    let want = format!("rdiff: {}/etc/locked: ", root.display());
    assert!(line.starts_with(&want), "want {want:?}: {line}");
    assert!(line.contains("Permission denied"), "{line}");

    // The same on the right side.
    let out = rootfs_unprivileged(&good, &root).unwrap();
    let line = assert_one_error_line(&out);
    assert!(line.starts_with(&want), "want {want:?}: {line}");
    set_mode(&root.join("etc/locked"), 0o755);
}

#[test]
fn directory_with_an_unreadable_file() {
    let dir = tmp();
    set_mode(dir.path(), 0o755);
    let root = dir.path().join("tree");
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/shadow"), "root:*:\n").unwrap();
    set_mode(&root.join("etc/shadow"), 0o000);
    let Some(out) = rootfs_unprivileged(&root, &testdata("formats/pax.tar")) else {
        return;
    };
    let line = assert_one_error_line(&out);
    let want = format!("rdiff: {}/etc/shadow: ", root.display());
    assert!(line.starts_with(&want), "want {want:?}: {line}");
    assert!(line.contains("Permission denied"), "{line}");
}

/// A GNU PAX 0.1 sparse member that declares `real` bytes but stores 10 (at the end).
fn sparse_claiming(real: u64) -> Vec<u8> {
    let rec = |k: &str, v: &str| {
        let body = format!(" {k}={v}\n");
        let mut n = body.len() + 1;
        while n.to_string().len() + body.len() != n {
            n += 1;
        }
        format!("{n}{body}")
    };
    let pax: String = [
        rec("GNU.sparse.major", "0"),
        rec("GNU.sparse.minor", "1"),
        rec("GNU.sparse.name", "f"),
        rec("GNU.sparse.realsize", &real.to_string()),
        rec("GNU.sparse.map", &format!("{},10", real - 10)),
    ]
    .concat();
    let mut h = tar::Header::new_ustar();
    h.set_path("PaxHeaders/f").unwrap();
    h.set_entry_type(tar::EntryType::XHeader);
    h.set_size(pax.len() as u64);
    h.set_cksum();
    let mut out = h.as_bytes().to_vec();
    push_padded(&mut out, pax.as_bytes());
    out.extend_from_slice(file_header("GNUSparseFile.0/f", 10).as_bytes());
    push_padded(&mut out, b"0123456789");
    out.resize(out.len() + 1024, 0);
    out
}

#[test]
fn small_sparse_member_is_read() {
    // The frame of the next test, at a size that is fine: 1 MiB of holes and 10 bytes.
    let dir = tmp();
    let p = dir.path().join("sparse.tar");
    std::fs::write(&p, sparse_claiming(1 << 20)).unwrap();
    let out = rootfs(&p, &p);
    assert_eq!(out.status, Some(0), "{}", out.describe());
    let data = sparse_claiming(1 << 20);
    let mut tr = TarReader::new(&data[..]);
    let e = tr.next_entry().unwrap().unwrap();
    assert_eq!((e.path.as_slice(), e.size), (&b"f"[..], 1 << 20));
}

/// A 3 KiB archive whose sparse map declares a 1 PiB file: rdiff must not spend days
/// hashing zeros. Either a limit error naming the input, or an answer, in time.
#[test]
fn sparse_member_declaring_a_petabyte() {
    let dir = tmp();
    let p = dir.path().join("sparse-bomb.tar");
    std::fs::write(&p, sparse_claiming(1 << 50)).unwrap();
    let out = rootfs(&p, &testdata("formats/pax.tar"));
    assert!(
        out.status.is_some(),
        "killed after {TIMEOUT:?}: {}",
        out.describe()
    );
    assert!(!out.stderr.contains("panicked"));
    if out.status == Some(2) {
        assert_input_error(&out, &p, &[]);
    }
}

/// Something that is not a tar archive is said to be none, once, with what its bytes
/// look like: text, a zip, an ELF binary, an HTML error page from a failed download, with
/// the compression it came in.
#[test]
fn not_a_tar_archive_says_what_it_looks_like() {
    let dir = tmp();
    let text = b"hello world, this is text\n".to_vec();
    let html = b"<!DOCTYPE html>\n<html><body>404 Not Found</body></html>\n".repeat(20);
    let elf = std::fs::read("/proc/self/exe").unwrap()[..4096].to_vec();
    let cases: Vec<(&str, Vec<u8>, String)> = vec![
        ("t.txt", text.clone(), "text, 26 bytes".into()),
        (
            "t.txt.gz",
            Codec::Gzip.compress(&text),
            "text, gzip-compressed, 26 bytes".into(),
        ),
        (
            "page.html.zst",
            Codec::Zstd.compress(&html),
            "an HTML page (a failed download?), zstd-compressed".into(),
        ),
        ("prog", elf, "an ELF binary".into()),
        (
            "noise",
            (0..600u32).map(|i| (i * 7 % 251) as u8).collect(),
            "no tar header at its start".into(),
        ),
        (
            "bits",
            vec![1, 2, 3],
            "3 bytes, less than one 512-byte header".into(),
        ),
    ];
    let tar = testdata("formats/pax.tar");
    for (name, bytes, what) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let line = assert_one_error_line(&rootfs(&p, &tar));
        assert_eq!(
            line,
            format!("rdiff: {}: not a tar archive: {what}", p.display())
        );
    }
    let z = dir.path().join("a.zip");
    let made = std::process::Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile; zipfile.ZipFile(sys.argv[1], 'w').writestr('a.txt', 'x' * 2000)",
        ])
        .arg(&z)
        .status();
    if made.is_ok_and(|s| s.success()) {
        let line = assert_one_error_line(&rootfs(&z, &tar));
        let want = format!(
            "rdiff: {}: not a tar archive: a zip archive (or jar, wheel, apk)",
            z.display()
        );
        assert_eq!(line, want);
    }
}

/// Bad input on standard input is named `-`.
#[test]
fn truncated_stream_on_stdin() {
    let full = Codec::Zstd.compress(&read_testdata("formats/pax.tar"));
    let cut = full[..full.len() / 2].to_vec();
    let out = run::rdiff(["rootfs", "-"])
        .arg(testdata("formats/pax.tar"))
        .stdin_bytes(cut.clone())
        .timeout(TIMEOUT)
        .run();
    let line = assert_one_error_line(&out);
    assert_eq!(
        line,
        format!(
            "rdiff: -: truncated zstd stream after {} bytes",
            (cut.len() as u64)
        )
    );
}

/// Compare a named pipe fed with pax.tar against pax.tar itself.
fn run_with_fifo() -> Run {
    use std::os::unix::fs::OpenOptionsExt;
    let dir = tmp();
    let fifo = dir.path().join("in.tar");
    mkfifo(&fifo, 0o644);
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let data = read_testdata("formats/pax.tar");
            // Blocks until a reader opens the pipe; errors mean the reader went away.
            if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&fifo) {
                use std::io::Write;
                let _ = f.write_all(&data);
            }
        })
    };
    let out = rootfs(&fifo, &testdata("formats/pax.tar"));
    // Release the writer if rdiff never opened the pipe.
    let _unblock = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo);
    writer.join().unwrap();
    out
}

#[test]
fn named_pipe_input_does_not_hang_or_panic() {
    let out = run_with_fifo();
    assert!(out.status.is_some(), "{}", out.describe());
    assert!(!out.stderr.contains("panicked"));
    if out.status != Some(0) {
        assert_one_error_line(&out);
    }
}

/// `rdiff rootfs <(zstd -dc a.tar.zst) b.tar`, `/dev/stdin`, a FIFO: all are pipes.
#[test]
fn named_pipe_input_is_read() {
    let out = run_with_fifo();
    assert_eq!(out.status, Some(0), "{}", out.describe());
}

/// Input file names need not be UTF-8 either.
#[test]
fn non_utf8_input_file_name() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tmp();
    let p = dir.path().join(std::ffi::OsStr::from_bytes(b"in\xff.tar"));
    std::fs::copy(testdata("formats/pax.tar"), &p).unwrap();
    let out = rootfs(&p, &testdata("formats/pax.tar"));
    assert_eq!(out.status, Some(0), "{}", out.describe());
}

// ---------------------------------------------------------------------------------
// Flags

fn args(v: &[&str]) -> Vec<OsString> {
    v.iter().map(OsString::from).collect()
}

fn pax() -> String {
    testdata("formats/pax.tar").display().to_string()
}

/// clap's own errors: exit 2, a message on stderr, nothing on stdout, no panic.
/// A flag error in clap's format, whose first line alone says what is wrong (it holds
/// every word of `says`); returns that line.
fn assert_usage_error(out: &Run, says: &[&str]) -> String {
    let stderr = &out.stderr;
    assert_eq!(out.status, Some(2), "{}", out.describe());
    assert!(out.stdout.is_empty(), "{}", out.describe());
    assert!(!stderr.contains("panicked"), "{}", out.describe());
    assert!(
        !stderr.contains('\x1b'),
        "no colour off a terminal: {}",
        out.describe()
    );
    let first = stderr.lines().next().unwrap_or_default().to_string();
    assert!(first.starts_with("error: "), "{}", out.describe());
    for w in says {
        assert!(
            first.contains(w),
            "first line lacks {w:?}: {}",
            out.describe()
        );
    }
    first
}

#[test]
fn unknown_flag() {
    let p = pax();
    let out = rdiff(&args(&["rootfs", "--no-such-flag", &p, &p]));
    assert_usage_error(&out, &["unexpected argument", "--no-such-flag"]);
}

#[test]
fn unknown_format() {
    let p = pax();
    let out = rdiff(&args(&["rootfs", "--format", "xml", &p, &p]));
    assert_usage_error(&out, &["invalid value", "xml", "--format"]);
}

#[test]
fn missing_operand() {
    let p = pax();
    let first = assert_usage_error(&rdiff(&args(&["rootfs", &p])), &["<RIGHT>"]);
    assert_eq!(
        first,
        "error: the following required arguments were not provided: <RIGHT>"
    );
    let out = rdiff(&args(&["image"]));
    assert_usage_error(&out, &["not provided", "<LEFT>, <RIGHT>"]);
    let out = rdiff(&args(&["image", "--platform"]));
    assert_usage_error(&out, &["a value is required", "--platform"]);
    // No subcommand: the help, on stderr, exit 2.
    let out = rdiff(&args(&[]));
    assert_eq!(out.status, Some(2), "{}", out.describe());
    assert!(out.stderr.contains("Usage: rdiff <COMMAND>"));
}

#[test]
fn bad_ignore_path_glob() {
    let p = pax();
    let line = assert_one_error_line(&rdiff(&args(&["rootfs", "--ignore-path", "a[", &p, &p])));
    assert!(line.starts_with("rdiff: --ignore-path \"a[\": "), "{line}");
}

#[test]
fn both_sides_standard_input() {
    let line = assert_one_error_line(&rdiff(&args(&["rootfs", "-", "-"])));
    assert_eq!(line, "rdiff: only one side can be standard input (-)");
}

#[test]
fn zero_threads() {
    let p = pax();
    let line = assert_one_error_line(&rdiff(&args(&["rootfs", "--threads", "0", &p, &p])));
    assert_eq!(line, "rdiff: --threads must be at least 1");
}

// ---------------------------------------------------------------------------------
// Inputs that are not errors

/// A 0-byte file or standard input is a failed download, not an archive (GNU tar and
/// Python refuse it); zero blocks are an empty archive.
#[test]
fn empty_file_is_an_error_and_zero_blocks_an_empty_archive() {
    let dir = tmp();
    let nothing = dir.path().join("nothing.tar");
    let empty = dir.path().join("empty.tar");
    let zeros = dir.path().join("zeros.tar");
    std::fs::write(&nothing, b"").unwrap();
    std::fs::write(&empty, vec![0u8; 1024]).unwrap();
    std::fs::write(&zeros, vec![0u8; 10 * 1024]).unwrap();
    for (l, r) in [(&nothing, &nothing), (&nothing, &zeros), (&zeros, &nothing)] {
        let line = assert_one_error_line(&rootfs(l, r));
        let want = format!("rdiff: {}: empty file: not an archive", nothing.display());
        assert_eq!(line, want);
    }
    let out = run::rdiff(["rootfs", "-"])
        .arg(&zeros)
        .stdin_bytes(Vec::new())
        .timeout(TIMEOUT)
        .run();
    let line = assert_one_error_line(&out);
    assert_eq!(line, "rdiff: -: empty file: not an archive");
    for (l, r) in [(&empty, &empty), (&zeros, &zeros)] {
        let out = rootfs(l, r);
        assert_eq!(out.status, Some(0), "{}", out.describe());
        assert!(out.stderr.is_empty(), "{}", out.describe());
    }
    // Both are empty archives, but their bytes differ after the (absent) last member:
    // strict mode says so in the input's `trailer`; --semantic finds them equal.
    for (l, r, trailer) in [
        (
            &empty,
            &zeros,
            ["1024 bytes: 2 zero blocks", "10240 bytes: 20 zero blocks"],
        ),
        (
            &zeros,
            &empty,
            ["10240 bytes: 20 zero blocks", "1024 bytes: 2 zero blocks"],
        ),
    ] {
        let out = rootfs_json(&[], l, r);
        assert_eq!(out.status, Some(1), "{}", out.describe());
        assert!(out.stderr.is_empty(), "{}", out.describe());
        assert_eq!(
            visible(&out),
            fields(&[("input", "sha256"), ("input", "trailer")]),
            "{}",
            out.describe()
        );
        let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(j["left"]["entries"], 0, "{}", out.describe());
        assert_eq!(j["right"]["entries"], 0, "{}", out.describe());
        let t = &j["differences"][0]["fields"][1];
        assert_eq!(t["name"], "trailer", "{}", out.describe());
        assert_eq!(
            (&t["left"], &t["right"]),
            (&trailer[0].into(), &trailer[1].into())
        );
        let out = rootfs_json(&["--semantic"], l, r);
        assert_eq!(out.status, Some(0), "{}", out.describe());
        assert!(visible(&out).is_empty(), "{}", out.describe());
    }
    // Read as empty, not as something that hides the other side.
    let out = rootfs_json(&["--semantic"], &empty, &testdata("formats/pax.tar"));
    assert_eq!(out.status, Some(1), "{}", out.describe());
    assert!(out.stderr.is_empty(), "{}", out.describe());
    let mut v = visible(&out);
    // The inputs' bytes differ, and other differences are visible: sha256 stays.
    assert!(
        v.remove(&("input".to_string(), "sha256".to_string())),
        "{v:?}"
    );
    assert_eq!(v.len(), 14, "{v:?}");
    assert!(v.iter().all(|(_, what)| what == "added"), "{v:?}");
}

#[test]
fn trailing_garbage_after_end_of_archive_is_a_trailer_difference() {
    let dir = tmp();
    let clean = read_testdata("formats/pax.tar");
    // After the whole file.
    let mut appended = clean.clone();
    appended.extend(Rng::new(3).bytes(4096));
    // In the record padding right after the two zero blocks (end marker at 16 896).
    let mut overwritten = clean.clone();
    assert!(overwritten[16896..17920].iter().all(|&b| b == 0));
    let g = Rng::new(4).bytes(overwritten.len() - 17920);
    overwritten[17920..].copy_from_slice(&g);
    // The members are read as in the clean archive; the bytes after them are a
    // `trailer` difference in strict mode (never an error), hidden by --semantic.
    for (name, bytes) in [("appended.tar", appended), ("overwritten.tar", overwritten)] {
        // The trailer: everything after the last member's data (16 896).
        let tail = &bytes[16896..];
        let trailer = format!(
            "{} bytes, not all zeros (sha256:{})",
            (tail.len() as u64),
            sha256_hex(tail)
        );
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let out = rootfs_json(&[], &p, &testdata("formats/pax.tar"));
        assert_eq!(out.status, Some(1), "{name}: {}", out.describe());
        assert!(out.stderr.is_empty(), "{name}: {}", out.describe());
        assert_eq!(
            visible(&out),
            fields(&[("input", "sha256"), ("input", "trailer")]),
            "{name}: {}",
            out.describe()
        );
        let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let t = &j["differences"][0]["fields"][1];
        assert_eq!(t["name"], "trailer", "{name}: {}", out.describe());
        assert_eq!(t["left"], trailer, "{name}: {}", out.describe());
        assert_eq!(
            t["right"],
            "3584 bytes: 7 zero blocks",
            "{name}: {}",
            out.describe()
        );
        let out = rootfs_json(&["--semantic"], &p, &testdata("formats/pax.tar"));
        assert_eq!(out.status, Some(0), "{name}: {}", out.describe());
        assert!(out.stderr.is_empty(), "{name}: {}", out.describe());
    }
}

// ---------------------------------------------------------------------------------
// Broken pipe

fn broken_pipe_run(read_first: bool) {
    use std::process::Command as StdCommand;
    let mut child = StdCommand::new(RDIFF)
        .args([
            "rootfs",
            "testdata/rootfs/left.tar.zst",
            "testdata/rootfs/right.tar.zst",
        ])
        .current_dir(repo())
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    if read_first {
        let mut one = [0u8; 1];
        stdout.read_exact(&mut one).unwrap();
    }
    drop(stdout); // every read end is closed now: the next write gets EPIPE
    let mut stderr = String::new();
    let mut err = child.stderr.take().unwrap();
    // Bounded wait: poll instead of blocking forever on a hung child.
    let deadline = std::time::Instant::now() + TIMEOUT;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("rdiff did not finish within {TIMEOUT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    err.read_to_string(&mut stderr).unwrap();
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(stderr.is_empty(), "a broken pipe is not an error: {stderr}");
    assert_eq!(
        status.code(),
        Some(1),
        "different inputs: exit 1; stderr: {stderr}"
    );
}

#[test]
fn broken_pipe_after_one_byte() {
    broken_pipe_run(true);
}

#[test]
fn broken_pipe_before_any_output() {
    broken_pipe_run(false);
}

// ---------------------------------------------------------------------------------
// Library level: errors carry the tar offset

fn tar_error(data: &[u8]) -> (Vec<String>, rdiff::source::tar::TarError) {
    let mut tr = TarReader::new(data);
    let mut names = Vec::new();
    loop {
        match tr.next_entry() {
            Ok(Some(e)) => names.push(String::from_utf8_lossy(&e.path).into_owned()),
            Ok(None) => panic!("no error; members {names:?}"),
            Err(ErrorKind::Tar(t)) => return (names, t),
            Err(other) => panic!("not a tar error: {other:?}"),
        }
    }
}

#[test]
fn bad_checksum_in_third_header_has_its_offset() {
    let mut data = three_files();
    data[3072 + 100] ^= 0x07; // mode field of c.txt
    let (names, e) = tar_error(&data);
    assert_eq!(names, ["a.txt", "b.txt"]);
    assert_eq!(e.offset, 3072);
    assert!(e.problem.contains("bad header checksum"), "{e}");
    assert!(e.to_string().contains("(tar byte 3072"), "{e}");
}

#[test]
fn bad_checksum_offset_counts_extension_headers() {
    // Member 2 is preceded by a PAX header; the damaged header is the 4th block run.
    let mut data = pax_then_file(b"11 path=gx\n"); // x @0, data @512, f @1024, data @1536
    let tail = data.split_off(2048);
    let mut more = three_files();
    more.truncate(4096);
    more[1536 + 1] ^= 0x40;
    data.extend(more);
    data.extend(tail);
    let (names, e) = tar_error(&data);
    assert_eq!(names, ["gx", "a.txt"]);
    assert_eq!(e.offset, 2048 + 1536);
}

#[test]
fn truncation_error_is_at_the_end_of_the_stream() {
    let data = three_files();
    let (_, e) = tar_error(&data[..2100]);
    assert_eq!(e.offset, 2100);
    assert_eq!(e.member.as_deref(), Some("b.txt"));
    let (_, e) = tar_error(&data[..4096 + 100]);
    assert_eq!(e.offset, 4096 + 100);
}
