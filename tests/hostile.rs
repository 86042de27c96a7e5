//! Hostile inputs, end to end through the binary: streams that ask for too much (a zstd
//! window over 2 GiB, decompression bombs, trailing garbage), tar members that lie (PAX
//! `size` against the header, a 2 MiB GNU long name, a 10 000-level path, `..` and
//! absolute names, hardlinks to nothing, symlink loops), a million entries, images with
//! 10 000 layers or a 100 MB config, devices in layers, FIFOs and sockets in
//! directories, `--timeout`, and inputs that must never be modified.
//!
//! Every case is made here, in a temporary directory (nothing large is checked in), and
//! run with a time bound (the child's process group is killed when it runs over, so a
//! hang fails the test instead of blocking it). Every case has one expected outcome:
//! exit 2 with exactly one stderr line `rdiff: INPUT: PROBLEM` and nothing on stdout,
//! or a report whose differences are checked; never a panic, never a hang, never
//! "equal" when part of an input could not be read.
//!
//! Peak memory is measured with GNU time (`/usr/bin/time -f %M`; the `time` package),
//! which waits for exactly one child: `getrusage(RUSAGE_CHILDREN)` in this process
//! would mix every child this test binary ever waited for. Without the tool the memory
//! assertions are skipped with a message, unless `RDIFF_REQUIRE_TOOLS=1`.
//!
//! Heavy cases (hundreds of MB of input, or many seconds of CPU in a debug build) take
//! the `HEAVY` lock so that they do not run at the same time as each other.

mod support;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use sha2::Digest as _;
use support::data::{Codec, gzip_with, hex, sha256_hex, zstd};
use support::oci::Layout;
use support::paths::{img, mkfifo, read_testdata, s, td, tmp};
use support::rawtar::{Member, pax_record, push_padded, raw_header};
use support::report::{diff_at, field, set, visible_by_status as visible};
use support::run::{Run, assert_input_error, assert_one_error_line, assert_sane, rdiff};

/// Time bound for one run of the binary.
const CASE_TIMEOUT: Duration = Duration::from_secs(30);
/// Time bound for the runs that read a million entries or 20 000 layers: about 13 s
/// each in a debug build on an idle 2-core machine, so 30 s is too close under load.
const BIG_TIMEOUT: Duration = Duration::from_secs(90);
/// What "quickly" means for an error that a limit raises early.
const QUICK: Duration = Duration::from_secs(15);

const MB: u64 = 1000 * 1000;

static HEAVY: Mutex<()> = Mutex::new(());

/// Serialize the heavy cases (a failed one must not block the others: ignore poison).
fn heavy() -> MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

// ------------------------------------------------------------------------ running

#[derive(Clone, Copy)]
struct Opts {
    timeout: Duration,
    /// Measure the peak RSS with GNU time (skipped when the tool is missing).
    measure: bool,
    /// RLIMIT_AS for the child, so a runaway allocation fails the run instead of the
    /// machine.
    address_space: Option<u64>,
}

const NORMAL: Opts = Opts {
    timeout: CASE_TIMEOUT,
    measure: false,
    address_space: None,
};

/// [`NORMAL`], with the peak RSS measured.
const MEASURED: Opts = Opts {
    measure: true,
    ..NORMAL
};

/// `rdiff ARGS...` with these options.
fn run_opts<S: AsRef<OsStr>>(args: &[S], o: Opts) -> Run {
    let mut c = rdiff(args).timeout(o.timeout);
    if o.measure {
        c = c.measure_peak();
    }
    if let Some(limit) = o.address_space {
        c = c.address_space(limit);
    }
    c.run()
}

fn run<S: AsRef<OsStr>>(args: &[S]) -> Run {
    run_opts(args, NORMAL)
}

/// Exit 2 with exactly this line.
fn assert_error(r: &Run, want: &str) {
    let line = assert_one_error_line(r);
    assert_eq!(line, want, "{}", r.describe());
}

/// `rdiff ARGS...` refused at once: exit 2 with exactly the line `rdiff: INPUT: PROBLEM`,
/// quickly, its peak RSS (where measured) below `max_mb` MB.
fn assert_refused_quickly(args: &[&str], input: &str, problem: &str, max_mb: u64) {
    let r = run_opts(args, MEASURED);
    assert_error(&r, &format!("rdiff: {input}: {problem}"));
    assert!(r.elapsed < QUICK, "{}", r.describe());
    assert_peak_below(&r, max_mb);
}

/// A JSON report (`--format json` must be among the arguments) with this exit code:
/// nothing on stderr, `equal` agreeing with the exit code.
fn assert_report(r: &Run, code: i32) -> Value {
    assert_sane(r);
    assert_eq!(r.status, Some(code), "{}", r.describe());
    assert!(r.stderr.is_empty(), "stderr: {}", r.describe());
    let j = r.json();
    assert_eq!(j["equal"], json!(code == 0), "{}", r.describe());
    j
}

/// Peak RSS below `max_mb` (MB), when it was measured.
fn assert_peak_below(r: &Run, max_mb: u64) {
    if let Some(k) = r.peak_kib {
        assert!(
            k * 1024 < max_mb * MB,
            "peak RSS {} MB over the bound of {max_mb} MB: {}",
            k * 1024 / MB,
            r.describe()
        );
        eprintln!(
            "{}: peak RSS {} MB in {:?}",
            r.what,
            k * 1024 / MB,
            r.elapsed
        );
    }
}

// ------------------------------------------------------------------------ tar bytes

/// Builds raw tar streams.
#[derive(Default)]
struct TarBuf(Vec<u8>);

impl TarBuf {
    fn header(&mut self, h: &tar::Header) -> &mut Self {
        self.0.extend_from_slice(h.as_bytes());
        self
    }
    fn data(&mut self, d: &[u8]) -> &mut Self {
        push_padded(&mut self.0, d);
        self
    }
    fn file(&mut self, name: &str, d: &[u8]) -> &mut Self {
        self.header(&raw_header(
            name.as_bytes(),
            tar::EntryType::Regular,
            d.len() as u64,
            b"",
        ))
        .data(d)
    }
    fn link(&mut self, kind: tar::EntryType, name: &str, target: &str) -> &mut Self {
        self.header(&raw_header(name.as_bytes(), kind, 0, target.as_bytes()))
    }
    /// A local PAX header with these records.
    fn pax(&mut self, records: &[(&str, &[u8])]) -> &mut Self {
        let data: Vec<u8> = records.iter().flat_map(|(k, v)| pax_record(k, v)).collect();
        self.header(&raw_header(
            b"PaxHeaders/x",
            tar::EntryType::XHeader,
            data.len() as u64,
            b"",
        ))
        .data(&data)
    }
    fn finish(&mut self) -> Vec<u8> {
        self.0.resize(self.0.len() + 1024, 0);
        std::mem::take(&mut self.0)
    }
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn pax_tar() -> String {
    td("formats/pax.tar")
}

// ------------------------------------------------------------------------ streams

/// One zstd frame holding `data` in raw blocks, whose header asks for a window of
/// 2^(10 + exponent) bytes (window descriptor exponent in bits 7..3, mantissa 0; no
/// single-segment flag, no content size, no checksum).
fn zstd_frame_with_window(exponent: u8, data: &[u8]) -> Vec<u8> {
    assert!(exponent < 32);
    let mut out = vec![0x28, 0xb5, 0x2f, 0xfd, 0x00, exponent << 3];
    let mut chunks = data.chunks(100_000).peekable();
    while let Some(c) = chunks.next() {
        let last = u32::from(chunks.peek().is_none());
        let h = ((c.len() as u32) << 3) | last; // block type 0: raw
        out.extend_from_slice(&h.to_le_bytes()[..3]);
        out.extend_from_slice(c);
    }
    out
}

#[test]
fn zstd_window_over_2gib_is_refused() {
    let t = tmp();
    let tar = read_testdata("formats/pax.tar");
    // Control: windowLog 31 (2 GiB, what `zstd --long=31` writes) is accepted: against
    // the plain tar only the compression differs (strict), and nothing else.
    let ok = write(t.path(), "w31.tar.zst", &zstd_frame_with_window(21, &tar));
    let r = run(&["rootfs", "--format", "json", s(&ok), &pax_tar()]);
    let j = assert_report(&r, 1);
    assert_eq!(
        visible(&j),
        set(&[("input", "sha256"), ("input", "compression")])
    );
    let r = run(&[
        "rootfs",
        "--format",
        "json",
        "--ignore-compression",
        s(&ok),
        &pax_tar(),
    ]);
    assert_report(&r, 0);
    // windowLog 32 (4 GiB) and 41 (2 TiB, the largest a header can ask for).
    for (exp, name) in [(22u8, "w32.tar.zst"), (31, "w41.tar.zst")] {
        let bad = write(t.path(), name, &zstd_frame_with_window(exp, &tar));
        for args in [
            [s(&bad).to_string(), pax_tar()],
            [pax_tar(), s(&bad).to_string()],
        ] {
            assert_refused_quickly(
                &["rootfs", &args[0], &args[1]],
                s(&bad),
                "corrupt zstd stream near byte 6: Frame requires too much memory for decoding",
                100,
            );
        }
    }
}

/// What rdiff says about one input with bytes appended after the last frame/member.
#[derive(Debug)]
enum Tail {
    /// `corrupt FORMAT stream near byte N: MESSAGE`, N within the appended bytes.
    Corrupt(&'static str),
    /// `truncated FORMAT stream after N bytes`, N the whole file.
    Truncated,
    /// Read as the clean stream (the xz format's own stream padding; bytes after a
    /// bzip2 stream): equal to the plain tar but for the compression, and to the clean
    /// stream but for this input field (`compression.encoding` for xz padding,
    /// `compression.trailing_data` after bzip2).
    Accepted(&'static str),
}

fn check_tail(codec: Codec, garbage: &[u8], want: Tail) {
    let t = tmp();
    let tar = read_testdata("formats/pax.tar");
    let clean = codec.compress(&tar);
    let mut bytes = clean.clone();
    bytes.extend_from_slice(garbage);
    let p = write(t.path(), &format!("tail.{}", codec.name()), &bytes);
    let name = s(&p).to_string();
    if let Tail::Accepted(what) = want {
        let c = s(&write(t.path(), &format!("clean.{}", codec.name()), &clean)).to_string();
        let r = run(&["rootfs", "--format", "json", &c, &name]);
        let j = assert_report(&r, 1);
        assert_eq!(visible(&j), set(&[("input", "sha256"), ("input", what)]));
        let (n, unit) = match what {
            "compression.encoding" => (bytes.len(), "compressed bytes"),
            _ => (garbage.len(), "bytes after the last stream"),
        };
        assert_eq!(field(&j, "input", what)["right"], format!("{n} {unit}"));
        let r = run(&["rootfs", "--format", "json", "--semantic", &c, &name]);
        assert_report(&r, 0);
    }
    for args in [[name.clone(), pax_tar()], [pax_tar(), name.clone()]] {
        let r = run(&["rootfs", "--format", "json", &args[0], &args[1]]);
        let what = format!(
            "{} + {} garbage bytes {:?}",
            codec.name(),
            garbage.len(),
            want
        );
        match want {
            Tail::Accepted(_) => {
                let j = assert_report(&r, 1);
                assert_eq!(
                    visible(&j),
                    set(&[("input", "sha256"), ("input", "compression")]),
                    "{what}"
                );
                let r = run(&[
                    "rootfs",
                    "--format",
                    "json",
                    "--ignore-compression",
                    &args[0],
                    &args[1],
                ]);
                assert_report(&r, 0);
            }
            Tail::Truncated => assert_error(
                &r,
                &format!(
                    "rdiff: {name}: truncated {} stream after {} bytes",
                    codec.name(),
                    (bytes.len() as u64)
                ),
            ),
            Tail::Corrupt(msg) => {
                let line = assert_input_error(&r, &name, &[]);
                let head = format!("rdiff: {name}: corrupt {} stream near byte ", codec.name());
                let rest = line
                    .strip_prefix(&head)
                    .unwrap_or_else(|| panic!("{what}: {line}"));
                let (num, m) = rest.split_once(": ").unwrap();
                assert_eq!(m, msg, "{what}: {line}");
                let n: usize = num.replace(' ', "").parse().unwrap();
                assert!(
                    n >= clean.len() && n <= bytes.len(),
                    "{what}: offset {n} is not in the garbage ({}..={}): {line}",
                    clean.len(),
                    bytes.len()
                );
            }
        }
    }
}

const TEXT_TAIL: &[u8] = b"garbage-not-magic-1234567890";

/// After the last zstd frame, anything but another frame is an error (never "equal").
#[test]
fn trailing_garbage_after_the_last_zstd_frame() {
    use Codec::Zstd;
    check_tail(Zstd, TEXT_TAIL, Tail::Corrupt("Unknown frame descriptor"));
    check_tail(Zstd, &[0u8; 3], Tail::Corrupt("Unknown frame descriptor"));
    check_tail(
        Zstd,
        &[0u8; 1024],
        Tail::Corrupt("Unknown frame descriptor"),
    );
    // The start of another frame, cut.
    check_tail(Zstd, &[0x28, 0xb5, 0x2f, 0xfd], Tail::Truncated);
    check_tail(Zstd, &[0x28], Tail::Truncated);
}

/// After the last gzip member, anything but another member is an error: rdiff does not
/// follow gzip(1), which ignores trailing zeros with a warning.
#[test]
fn trailing_garbage_after_the_last_gzip_member() {
    use Codec::Gzip;
    check_tail(Gzip, TEXT_TAIL, Tail::Corrupt("invalid gzip header"));
    check_tail(Gzip, &[0u8; 1024], Tail::Corrupt("invalid gzip header"));
    check_tail(Gzip, &[0u8; 3], Tail::Truncated);
    check_tail(Gzip, &[0x1f, 0x8b], Tail::Truncated);
    check_tail(Gzip, &[0x1f], Tail::Truncated);
}

/// The same for xz (whose format allows zero padding in multiples of four bytes) and
/// bzip2.
#[test]
fn trailing_garbage_after_xz_and_bzip2_streams() {
    use Codec::{Bzip2, Xz};
    check_tail(Xz, TEXT_TAIL, Tail::Corrupt("lzma data error"));
    check_tail(Xz, &[0u8; 3], Tail::Corrupt("lzma data error"));
    check_tail(Xz, &[0u8; 1024], Tail::Accepted("compression.encoding"));
    check_tail(Xz, b"\xfd7zXZ\x00", Tail::Truncated);
    // Bytes after a bzip2 stream that start no other stream are read and ignored, as
    // bzip2 -d, GNU tar, bsdtar and Python ignore them; `compression.trailing_data`
    // says so (issue 13).
    check_tail(
        Bzip2,
        TEXT_TAIL,
        Tail::Accepted("compression.trailing_data"),
    );
    check_tail(
        Bzip2,
        &[0u8; 1024],
        Tail::Accepted("compression.trailing_data"),
    );
    check_tail(Bzip2, b"BZh9", Tail::Truncated);
}

/// A tar header for one 2 GiB file, then `frames` times 1 MiB of zeros, each in its own
/// zstd frame (or gzip member): a ~100 KB (zstd) or ~2 MB (gzip) file that expands to
/// 2 GiB + 1 MiB, a valid archive.
fn bomb(gz: bool, with_header: bool, frames: usize) -> Vec<u8> {
    let zeros = vec![0u8; 1 << 20];
    let enc = |b: &[u8]| {
        if gz {
            gzip_with(b, flate2::Compression::best())
        } else {
            zstd(b, 3)
        }
    };
    let mut out = Vec::new();
    if with_header {
        let h = raw_header(b"bomb", tar::EntryType::Regular, 2 << 30, b"");
        out.extend(enc(h.as_bytes()));
    }
    let z = enc(&zeros);
    for _ in 0..frames {
        out.extend_from_slice(&z);
    }
    out
}

#[test]
fn decompression_bombs_stop_at_max_uncompressed_size() {
    let _g = heavy();
    let t = tmp();
    for (name, bytes) in [
        ("bomb.tar.zst", bomb(false, true, 2049)),
        ("bomb.tar.gz", bomb(true, true, 2049)),
        // Only zeros: an empty archive, then 2 GiB after its end marker, which rdiff
        // decodes to check the stream (and counts against the limit).
        ("zeros.tar.zst", bomb(false, false, 2048)),
    ] {
        assert!(bytes.len() < 3_000_000, "{name}: {}", bytes.len());
        let p = write(t.path(), name, &bytes);
        assert_refused_quickly(
            &[
                "rootfs",
                "--max-uncompressed-size",
                "100000000",
                s(&p),
                &pax_tar(),
            ],
            s(&p),
            "the uncompressed stream is over 100000000 bytes (--max-uncompressed-size)",
            200,
        );
    }
}

/// A limit just above the real size is no error: the limit counts the tar stream.
#[test]
fn max_uncompressed_size_counts_the_tar_stream_exactly() {
    let t = tmp();
    let tar = read_testdata("formats/pax.tar");
    let p = write(t.path(), "pax.tar.zst", &zstd(&tar, 3));
    let len = tar.len() as u64;
    // (The zstd input differs from the plain tar in its compression only.)
    let r = run(&[
        "rootfs",
        "--format",
        "json",
        "--ignore-compression",
        "--max-uncompressed-size",
        &len.to_string(),
        s(&p),
        &pax_tar(),
    ]);
    assert_report(&r, 0);
    let r = run(&[
        "rootfs",
        "--max-uncompressed-size",
        &(len - 1).to_string(),
        s(&p),
        &pax_tar(),
    ]);
    assert_input_error(&r, &s(&p), &["(--max-uncompressed-size)"]);
}

// ------------------------------------------------------------------------ tar members

/// A PAX `size` record overrides the header's size field (as in tar): the reader then
/// lands where the record says, and a lie shows as a damaged archive.
#[test]
fn pax_size_disagreeing_with_the_header() {
    let t = tmp();
    // f: header size 600, data 600 bytes of 'F'; then g; then the end blocks.
    let make = |pax_size: u64, data: &[u8]| {
        TarBuf::default()
            .pax(&[("size", pax_size.to_string().as_bytes())])
            .header(&raw_header(
                b"f",
                tar::EntryType::Regular,
                data.len() as u64,
                b"",
            ))
            .data(data)
            .file("g", b"ggg")
            .finish()
    };
    let f600 = vec![b'F'; 600];
    // Control: the record agrees with the header.
    let ok = write(t.path(), "agree.tar", &make(600, &f600));
    let plain = write(
        t.path(),
        "plain.tar",
        &TarBuf::default()
            .file("f", &f600)
            .file("g", b"ggg")
            .finish(),
    );
    // The PAX header is there on one side only: `format` names it, and `header` covers
    // its own header block (name `PaxHeaders/x`, mode, owner...), which no other field
    // shows. Both go with --ignore-tar-format.
    let r = run(&["rootfs", "--format", "json", s(&ok), s(&plain)]);
    let j = assert_report(&r, 1);
    assert_eq!(
        visible(&j),
        set(&[("input", "sha256"), ("f", "format"), ("f", "header")])
    );
    let r = run(&[
        "rootfs",
        "--format",
        "json",
        "--ignore-tar-format",
        s(&ok),
        s(&plain),
    ]);
    assert_report(&r, 0);

    // Bigger: f swallows its padding and g's header; the next header is g's data.
    let p = write(t.path(), "bigger.tar", &make(1200, &f600));
    let r = run(&["rootfs", s(&p), s(&plain)]);
    assert_error(
        &r,
        &format!(
            "rdiff: {}: bad header checksum (corrupt after 1 member) (tar byte 3072)",
            s(&p)
        ),
    );
    // Much bigger: past the end of the archive.
    let p = write(t.path(), "huge.tar", &make(1_000_000, &f600));
    let r = run(&["rootfs", s(&plain), s(&p)]);
    assert_error(
        &r,
        &format!(
            "rdiff: {}: truncated: stream ends with 996928 bytes of the member still to come (tar byte 4608, member f)",
            s(&p)
        ),
    );
    // Smaller: the next header is read from inside f's data.
    for (size, at) in [(0u64, "1536"), (100, "2048")] {
        let p = write(t.path(), &format!("smaller-{size}.tar"), &make(size, &f600));
        let r = run(&["rootfs", s(&p), s(&plain)]);
        assert_error(
            &r,
            &format!(
                "rdiff: {}: bad header checksum (corrupt after 1 member) (tar byte {at})",
                s(&p)
            ),
        );
    }
    // Smaller, over data that is all zeros: those zeros are an end-of-archive marker,
    // as GNU tar reads them too (`tar tvf` lists f with 0 bytes and stops). g is never
    // seen; against the archive that has g, that is a difference, not equality. What
    // follows the end marker (g's header and data) is the input's `trailer`; f's header
    // block holds 1 024 in its size field, a value no other field shows (`size` is the
    // PAX record's 0), and its PAX header is on one side only: `header` differs.
    let zeros = make(0, &[0u8; 1024]);
    let p = write(t.path(), "smaller-zeros.tar", &zeros);
    let r = run(&["rootfs", "--format", "json", s(&p), s(&plain)]);
    let j = assert_report(&r, 1);
    assert_eq!(
        visible(&j),
        set(&[
            ("input", "sha256"),
            ("input", "trailer"),
            ("f", "size"),
            ("f", "content"),
            ("f", "format"),
            ("f", "header"),
            ("g", "added")
        ])
    );
    assert_eq!(field(&j, "f", "size")["left"], 0);
    // The trailer starts after f's header (PAX header, its data, f's header: 1 536).
    assert_eq!(
        field(&j, "input", "trailer")["left"],
        format!(
            "3072 bytes, not all zeros (sha256:{})",
            sha256_hex(&zeros[1536..])
        )
    );
    assert_eq!(
        field(&j, "input", "trailer")["right"],
        "1024 bytes: 2 zero blocks"
    );
}

/// A GNU long name of 2 MiB (one component) is read; one of 17 MiB is over the 16 MiB
/// limit for extension headers.
#[test]
fn gnu_long_name_over_a_mebibyte() {
    let t = tmp();
    let long = "n".repeat(2 << 20);
    let make = |content: &[u8]| {
        let mut name = long.clone().into_bytes();
        name.push(0);
        TarBuf::default()
            .header(&{
                let mut h = tar::Header::new_gnu();
                h.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
                h.set_size(name.len() as u64);
                h.set_mode(0o644);
                h.set_mtime(0);
                h.set_entry_type(tar::EntryType::GNULongName);
                h.set_cksum();
                h
            })
            .data(&name)
            .header(&raw_header(
                &long.as_bytes()[..100],
                tar::EntryType::Regular,
                content.len() as u64,
                b"",
            ))
            .data(content)
            .finish()
    };
    let a = write(t.path(), "a.tar", &make(b"one\n"));
    let b = write(t.path(), "b.tar", &make(b"two\n"));
    let r = run_opts(&["rootfs", "--format", "json", s(&a), s(&b)], MEASURED);
    let j = assert_report(&r, 1);
    assert_eq!(
        visible(&j),
        set(&[("input", "sha256"), (long.as_str(), "content")])
    );
    assert_peak_below(&r, 300);
    // The text report too (it groups by parent directory).
    let r = run(&["rootfs", s(&a), s(&b)]);
    assert_sane(&r);
    assert_eq!(r.status, Some(1), "{}", r.describe());

    // 17 MiB claimed: refused from the size field alone.
    let mut h = tar::Header::new_gnu();
    h.as_old_mut().name[..13].copy_from_slice(b"././@LongLink");
    h.set_size(17 << 20);
    h.set_entry_type(tar::EntryType::GNULongName);
    h.set_cksum();
    let mut data = h.as_bytes().to_vec();
    data.extend(vec![b'n'; 4096]);
    let p = write(t.path(), "huge-name.tar", &data);
    let r = run(&["rootfs", s(&p), &pax_tar()]);
    assert_error(
        &r,
        &format!(
            "rdiff: {}: GNU long name of 17825792 bytes is over the limit of 16777216 bytes (tar byte 512)",
            s(&p)
        ),
    );
}

/// Write `n` empty regular files `dNNN/fNNNNNNN` as a plain tar, fast: one template
/// header whose checksum is adjusted for the name bytes.
fn many_empty_entries(path: &Path, n: usize) {
    let mut tpl = raw_header(b"", tar::EntryType::Regular, 0, b"")
        .as_bytes()
        .to_owned();
    tpl[148..156].fill(b' ');
    let base: u32 = tpl.iter().map(|&b| u32::from(b)).sum();
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path).unwrap());
    for i in 0..n {
        let mut h = tpl;
        let name = format!("d{:03}/f{i:07}", i / 1000);
        h[..name.len()].copy_from_slice(name.as_bytes());
        let sum = base + name.bytes().map(u32::from).sum::<u32>();
        h[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        w.write_all(&h).unwrap();
    }
    w.write_all(&[0u8; 1024]).unwrap();
    w.flush().unwrap();
}

/// 1 000 000 empty members (a 512 MB plain tar): read within the time bound and a
/// memory bound; `--max-entries 1000` stops at the 1001st; `--timeout 1` ends the run.
#[test]
fn a_million_empty_entries() {
    let _g = heavy();
    let t = tmp();
    let big = t.path().join("million.tar");
    many_empty_entries(&big, 1_000_000);
    // The right side: the first two members, and one of its own.
    let small = t.path().join("small.tar");
    {
        many_empty_entries(&small, 2);
        let mut b = std::fs::read(&small).unwrap();
        b.truncate(1024);
        let mut extra = TarBuf(b);
        extra.header(&raw_header(b"zz", tar::EntryType::Regular, 0, b""));
        std::fs::write(&small, extra.finish()).unwrap();
    }
    let (big_s, small_s) = (s(&big), s(&small));

    // Measured when written: 13 s and a peak of 996 to 1004 MB in a debug build (2
    // cores), about 1 KB per empty entry, when an `Entry` was 384 bytes; with the rare
    // fields out of line (256 bytes) it is 716 MB: the entry plus its path and
    // spelling, the entry vector growing by doubling, and the 999 998 differences.
    // The bound (1 GB) leaves room and catches a return to the old size.
    let r = run_opts(
        &[
            "rootfs",
            "--format",
            "json",
            "--max-entries-shown",
            "3",
            big_s,
            small_s,
        ],
        Opts {
            timeout: BIG_TIMEOUT,
            measure: true,
            address_space: None,
        },
    );
    let j = assert_report(&r, 1);
    assert_eq!(j["left"]["entries"], 1_000_000);
    assert_eq!(j["right"]["entries"], 3);
    assert_eq!(j["summary"]["removed"], 999_998);
    assert_eq!(j["summary"]["added"], 1);
    // No entry changed; the input itself differs (its sha256), listed first.
    assert_eq!(j["summary"]["changed"], 0);
    assert_eq!(j["summary"]["fields"]["sha256"]["differences"], 1);
    assert_eq!(j["differences"].as_array().unwrap().len(), 3);
    assert_eq!(j["differences"][0]["path"], "input");
    assert_eq!(j["differences"][0]["fields"].as_array().unwrap().len(), 1);
    assert_eq!(j["differences"][0]["fields"][0]["name"], "sha256");
    assert_peak_below(&r, 1000);

    let r = run(&["rootfs", "--max-entries", "1000", big_s, small_s]);
    assert_error(
        &r,
        &format!("rdiff: {big_s}: more than 1000 entries (--max-entries)"),
    );
    assert!(r.elapsed < QUICK, "{}", r.describe());
    // The limit is on members: exactly 1000 is fine.
    let thousand = t.path().join("thousand.tar");
    many_empty_entries(&thousand, 1000);
    let r = run(&[
        "rootfs",
        "--format",
        "json",
        "--max-entries",
        "1000",
        s(&thousand),
        small_s,
    ]);
    assert_report(&r, 1);

    let r = run(&["rootfs", "--timeout", "1", big_s, small_s]);
    assert_error(&r, "rdiff: timed out after 1 seconds (--timeout)");
    assert!(
        r.elapsed >= Duration::from_secs(1) && r.elapsed < Duration::from_secs(10),
        "{}",
        r.describe()
    );
    // With report files asked for: none is written.
    let jf = t.path().join("report.json");
    let r = run(&["rootfs", "--timeout", "1", "--json", s(&jf), big_s, small_s]);
    assert_error(&r, "rdiff: timed out after 1 seconds (--timeout)");
    assert!(!jf.exists(), "a report file was written: {}", r.describe());
}

/// A `--timeout` that is not reached changes nothing.
#[test]
fn timeout_not_reached_is_a_normal_run() {
    let left = td("rootfs/left.tar.zst");
    let right = td("rootfs/right.tar.zst");
    let plain = run(&["rootfs", "--format", "json", &left, &right]);
    let j = assert_report(&plain, 1);
    let r = run(&[
        "rootfs",
        "--format",
        "json",
        "--timeout",
        "60",
        &left,
        &right,
    ]);
    assert_eq!(assert_report(&r, 1), j);
}

/// A 10 000-level path (20 001 bytes, in a PAX `path` record) is one entry, in every
/// report format.
#[test]
fn ten_thousand_level_path() {
    let t = tmp();
    let deep = format!("{}f", "a/".repeat(10_000));
    let make = |content: &[u8]| {
        TarBuf::default()
            .pax(&[("path", deep.as_bytes())])
            .header(&raw_header(
                b"placeholder",
                tar::EntryType::Regular,
                content.len() as u64,
                b"",
            ))
            .data(content)
            .finish()
    };
    let a = write(t.path(), "a.tar", &make(b"1\n"));
    let b = write(t.path(), "b.tar", &make(b"2\n"));
    let r = run(&["rootfs", "--format", "json", s(&a), s(&b)]);
    let j = assert_report(&r, 1);
    assert_eq!(
        visible(&j),
        set(&[("input", "sha256"), (deep.as_str(), "content")])
    );
    assert_eq!(j["left"]["entries"], 1);
    for fmt in ["text", "html", "markdown", "junit", "diffoscope-json"] {
        let r = run(&["rootfs", "--format", fmt, s(&a), s(&b)]);
        assert_sane(&r);
        assert_eq!(r.status, Some(1), "{fmt}: {}", r.describe());
        assert!(r.stderr.is_empty(), "{fmt}: {}", r.describe());
    }
}

/// `..` components and absolute names are entries with normalized paths (`..` kept,
/// the leading `/` dropped); `path_spelling` keeps what the archive wrote. Nothing is
/// ever extracted, and `--report-dir` writes such paths inside itself.
#[test]
fn dotdot_and_absolute_names() {
    let t = tmp();
    let a = write(
        t.path(),
        "a.tar",
        &TarBuf::default()
            .file("/etc/abs", b"1")
            .file("../up", b"left\n")
            .file("a/../../b", b"1")
            .file("./c/./d/", b"1")
            .file("/", b"")
            .finish(),
    );
    let b = write(
        t.path(),
        "b.tar",
        &TarBuf::default()
            .file("etc/abs", b"1")
            .file("../up", b"rght\n")
            .file("a/../../b", b"1")
            .file("c/d", b"1")
            .finish(),
    );
    let out = t.path().join("x/y/out");
    let r = run(&[
        "rootfs",
        "--format",
        "json",
        "--report-dir",
        s(&out),
        s(&a),
        s(&b),
    ]);
    let j = assert_report(&r, 1);
    assert_eq!(
        visible(&j),
        set(&[
            ("input", "sha256"),
            (".", "removed"),
            ("../up", "content"),
            ("c/d", "path_spelling"),
            ("etc/abs", "path_spelling"),
        ])
    );
    assert_eq!(field(&j, "etc/abs", "path_spelling")["left"], "/etc/abs");
    assert_eq!(field(&j, "etc/abs", "path_spelling")["right"], "etc/abs");
    assert_eq!(field(&j, "c/d", "path_spelling")["left"], "./c/./d/");
    // A regular file named `/` is the root, `.`, of type file.
    assert_eq!(diff_at(&j, ".")["left_type"], "file");
    assert_eq!(j["left"]["entries"], 5);
    // The `..` file's contents stayed inside the report directory.
    for p in [
        t.path().join("up"),
        t.path().join("x/up"),
        t.path().join("x/y/up"),
        out.join("up"),
    ] {
        assert!(!p.exists(), "{} was written", p.display());
    }
    assert_eq!(
        std::fs::read(out.join("left/%2E%2E/up")).unwrap(),
        b"left\n"
    );
    assert_eq!(
        std::fs::read(out.join("right/%2E%2E/up")).unwrap(),
        b"rght\n"
    );
    // --semantic treats the spellings as one path.
    let r = run(&["rootfs", "--format", "json", "--semantic", s(&a), s(&b)]);
    let j = assert_report(&r, 1);
    assert_eq!(
        visible(&j),
        set(&[("input", "sha256"), (".", "removed"), ("../up", "content")])
    );
}

#[test]
fn hardlink_to_a_missing_target() {
    use tar::EntryType::{Link, Regular};
    let t = tmp();
    let missing = write(
        t.path(),
        "missing.tar",
        &TarBuf::default().link(Link, "h", "missing").finish(),
    );
    let present = write(
        t.path(),
        "present.tar",
        &TarBuf::default()
            .header(&raw_header(b"missing", Regular, 2, b""))
            .data(b"x\n")
            .link(Link, "h", "missing")
            .finish(),
    );
    // Read on both sides (not the byte-identical shortcut): equal to itself.
    let r = run(&[
        "rootfs",
        "--format",
        "json",
        "--read-identical",
        s(&missing),
        s(&missing),
    ]);
    let j = assert_report(&r, 0);
    assert_eq!(j["left"]["entries"], 1);
    // With the target present the hardlink gets its content; without, none. (h's
    // header is the same on both sides.)
    let r = run(&["rootfs", "--format", "json", s(&missing), s(&present)]);
    let j = assert_report(&r, 1);
    assert_eq!(
        visible(&j),
        set(&[("input", "sha256"), ("h", "content"), ("missing", "added")])
    );
    assert_eq!(field(&j, "h", "content")["left"], Value::Null);
    assert_eq!(
        field(&j, "h", "content")["right"],
        format!("sha256:{}", sha256_hex(b"x\n"))
    );
}

/// Another missing target is a `hardlink_target` difference, and only that: the header
/// blocks differ only in the link name field, whose value `hardlink_target` shows (as
/// `link_target` does for a symlink, where no `header` difference is reported).
#[test]
fn hardlink_to_another_missing_target() {
    use tar::EntryType::Link;
    let t = tmp();
    let missing = write(
        t.path(),
        "missing.tar",
        &TarBuf::default().link(Link, "h", "missing").finish(),
    );
    let other = write(
        t.path(),
        "other.tar",
        &TarBuf::default().link(Link, "h", "other").finish(),
    );
    let r = run(&["rootfs", "--format", "json", s(&missing), s(&other)]);
    let j = assert_report(&r, 1);
    assert_eq!(
        visible(&j),
        set(&[("input", "sha256"), ("h", "hardlink_target")])
    );
}

/// Symlinks are never followed: a loop is two symlinks, in a tar and in a directory.
#[test]
fn symlink_loop() {
    use tar::EntryType::Symlink;
    let t = tmp();
    let lp = write(
        t.path(),
        "loop.tar",
        &TarBuf::default()
            .link(Symlink, "a", "b")
            .link(Symlink, "b", "a")
            .finish(),
    );
    let nolp = write(
        t.path(),
        "noloop.tar",
        &TarBuf::default()
            .link(Symlink, "a", "b")
            .link(Symlink, "b", "c")
            .finish(),
    );
    let r = run(&["rootfs", "--format", "json", s(&lp), s(&nolp)]);
    let j = assert_report(&r, 1);
    // No `header`: the link name field holds the value `link_target` shows.
    assert_eq!(
        visible(&j),
        set(&[("input", "sha256"), ("b", "link_target")])
    );

    let (d1, d2) = (t.path().join("d1"), t.path().join("d2"));
    for (d, b) in [(&d1, "a"), (&d2, "c")] {
        std::fs::create_dir(d).unwrap();
        std::os::unix::fs::symlink("b", d.join("a")).unwrap();
        std::os::unix::fs::symlink(b, d.join("b")).unwrap();
        std::os::unix::fs::symlink("self", d.join("self")).unwrap();
    }
    let r = run(&["rootfs", "--format", "json", s(&d1), s(&d1)]);
    let j = assert_report(&r, 0);
    assert_eq!(j["left"]["entries"], 4);
    let r = run(&[
        "rootfs",
        "--format",
        "json",
        "--ignore-file-timestamps",
        s(&d1),
        s(&d2),
    ]);
    let j = assert_report(&r, 1);
    assert_eq!(visible(&j), set(&[("b", "link_target")]));
}

// ------------------------------------------------------------------------ OCI layouts

fn device(name: &str, kind: tar::EntryType, major: u32, minor: u32) -> Member {
    let mut h = raw_header(name.as_bytes(), kind, 0, b"");
    h.set_device_major(major).unwrap();
    h.set_device_minor(minor).unwrap();
    h.set_mode(0o666);
    h.set_cksum();
    Member {
        header: h,
        data: Vec::new(),
    }
}

/// Device members in a layer are entries (never opened: they are tar headers), layer by
/// layer and squashed.
#[test]
fn device_entries_in_an_image_layer() {
    use tar::EntryType::{Block, Char};
    let t = tmp();
    let base = img("oci/base");
    let a = Layout::copy("oci/base", t.path(), "a").gzip_level(flate2::Compression::fast());
    a.edit_layer(0, 1, |m| {
        m.push(device("dev/null", Char, 1, 3));
        m.push(device("dev/sda", Block, 8, 0));
    });
    let b = Layout::copy("oci/base", t.path(), "b").gzip_level(flate2::Compression::fast());
    b.edit_layer(0, 1, |m| {
        m.push(device("dev/null", Char, 1, 5));
        m.push(device("dev/sda", Block, 8, 0));
    });
    // Descriptor sizes differ or not, as the gzip of the layer happens to come out.
    let no_sizes = |j: &Value| {
        let mut v = visible(j);
        v.retain(|(p, f)| {
            !(f == "size" && ["manifest", "config", "layers/1"].contains(&p.as_str()))
        });
        v
    };
    let r = run(&["image", "--format", "json", &base, &a.path()]);
    let j = assert_report(&r, 1);
    let mut want = set(&[
        ("manifest", "digest"),
        ("config", "digest"),
        ("config", "rootfs.diff_ids.1"),
        ("layers/1", "digest"),
        ("layers/1/dev/null", "added"),
        ("layers/1/dev/sda", "added"),
    ]);
    // The fixture's layer was gzipped with a header mtime and XFL 0; `Layout` here
    // (flate2, fast) writes mtime 0 and XFL 4: real differences in the layer's bytes.
    let mut want_base = want.clone();
    want_base.insert(("layers/1".into(), "compression.mtime".into()));
    want_base.insert(("layers/1".into(), "compression.xfl".into()));
    // `Layout` writes the config, manifest and index.json it edits with serde_json (keys
    // sorted, `<` not escaped), not in umoci's (Go's) spelling: their `bytes` too.
    for p in ["index", "manifest", "config"] {
        want_base.insert((p.into(), "bytes".into()));
    }
    assert_eq!(no_sizes(&j), want_base, "{}", r.describe());
    assert_eq!(field(&j, "layers/1", "compression.mtime")["right"], "0");
    assert_eq!(
        field(&j, "layers/1", "compression.xfl")["right"],
        "4 (fastest)"
    );
    assert_eq!(
        diff_at(&j, "layers/1/dev/null")["right_type"],
        "char-device"
    );
    assert_eq!(
        diff_at(&j, "layers/1/dev/sda")["right_type"],
        "block-device"
    );

    let r = run(&["image", "--format", "json", &a.path(), &b.path()]);
    let j = assert_report(&r, 1);
    for x in ["layers/1/dev/null", "layers/1/dev/sda"] {
        want.remove(&(x.to_string(), "added".to_string()));
    }
    want.insert(("layers/1/dev/null".into(), "device".into()));
    assert_eq!(no_sizes(&j), want, "{}", r.describe());
    assert_eq!(field(&j, "layers/1/dev/null", "device")["left"], "1:3");
    assert_eq!(field(&j, "layers/1/dev/null", "device")["right"], "1:5");

    let r = run(&[
        "image",
        "--format",
        "json",
        "--squash",
        &a.path(),
        &b.path(),
    ]);
    let j = assert_report(&r, 1);
    assert_eq!(field(&j, "rootfs/dev/null", "device")["right"], "1:5");
    assert!(
        !visible(&j).iter().any(|(p, _)| p == "rootfs/dev/sda"),
        "{:?}",
        visible(&j)
    );
}

/// An OCI layout (copy of oci/base) whose manifest lists `n` layers, each an
/// uncompressed tar holding `l/NNNNN`; in `changed`, the last one's content differs.
/// The blobs of the first are hard-linked into the second.
fn many_layers(t: &Path, n: usize) -> (Layout, Layout) {
    let a = Layout::copy("oci/base", t, "many-a");
    let b = Layout::copy("oci/base", t, "many-b");
    let layer = |i: usize, content: &[u8]| {
        let mut tb = TarBuf::default();
        tb.file(&format!("l/{i:05}"), content);
        tb.finish()
    };
    let mut descs = Vec::with_capacity(n);
    let mut diff_ids = Vec::with_capacity(n);
    for i in 0..n {
        let (d, size) = a.put(&layer(i, format!("{i}\n").as_bytes()));
        std::fs::hard_link(a.blob(&d), b.blob(&d)).unwrap();
        descs.push(json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": d,
            "size": size,
        }));
        diff_ids.push(json!(d));
    }
    for (l, changed) in [(&a, false), (&b, true)] {
        let (mut descs, mut diff_ids) = (descs.clone(), diff_ids.clone());
        if changed {
            // Same length as the original, so that only the content differs.
            let changed = format!("{}\n", "x".repeat((n - 1).to_string().len()));
            let (d, size) = l.put(&layer(n - 1, changed.as_bytes()));
            descs[n - 1]["digest"] = json!(d);
            descs[n - 1]["size"] = json!(size);
            diff_ids[n - 1] = json!(d);
        }
        let mut c = l.config(0);
        c["rootfs"]["diff_ids"] = json!(diff_ids);
        c["history"] = json!([]);
        let (cd, cs) = l.put(&serde_json::to_vec(&c).unwrap());
        let mut m = l.manifest(0);
        m["layers"] = json!(descs);
        m["config"]["digest"] = json!(cd);
        m["config"]["size"] = json!(cs);
        l.set_manifest(0, &m);
    }
    (a, b)
}

/// 10 000 layers, squashed: done in time, in little memory, the one change found.
#[test]
fn ten_thousand_layers_squashed() {
    let _g = heavy();
    let t = tmp();
    let n = 10_000;
    let (a, b) = many_layers(t.path(), n);
    // Measured: 11 s and a peak of 112 MB in a debug build.
    let r = run_opts(
        &[
            "image",
            "--format",
            "json",
            "--squash",
            &a.path(),
            &b.path(),
        ],
        Opts {
            timeout: BIG_TIMEOUT,
            measure: true,
            address_space: Some(8 << 30),
        },
    );
    let j = assert_report(&r, 1);
    // Squashed, the layers and the diff_ids are compared as wholes (the layer split,
    // `--ignore-layer-split`), not one by one.
    assert_eq!(
        visible(&j),
        set(&[
            ("manifest", "digest"),
            ("manifest", "layers"),
            ("config", "digest"),
            ("config", "rootfs.diff_ids"),
            ("rootfs/l/09999", "content"),
        ])
    );
    // n files (their directory `l` is in no layer, so in no squashed tree either).
    assert_eq!(j["left"]["entries"], n);
    assert_peak_below(&r, 500);
}

/// 10 000 layers compared layer by layer.
#[test]
fn ten_thousand_layers_layer_by_layer() {
    let _g = heavy();
    let t = tmp();
    let n = 10_000;
    let (a, b) = many_layers(t.path(), n);
    // Limit the child's address space so the bug fails the test, not the machine.
    let r = run_opts(
        &["image", "--format", "json", &a.path(), &b.path()],
        Opts {
            timeout: BIG_TIMEOUT,
            measure: true,
            address_space: Some(6 << 30),
        },
    );
    let j = assert_report(&r, 1);
    assert_eq!(
        visible(&j),
        set(&[
            ("manifest", "digest"),
            ("config", "digest"),
            ("config", "rootfs.diff_ids.9999"),
            ("layers/9999", "digest"),
            ("layers/9999/l/09999", "content"),
        ])
    );
    assert_peak_below(&r, 1000);
}

/// The quadratic growth above, at a size that runs in a second: 1000 layers layer by
/// layer must not take more memory than a few times 1000 layers squashed.
#[test]
fn thousand_layers_layer_by_layer_memory() {
    let _g = heavy();
    let t = tmp();
    let (a, b) = many_layers(t.path(), 1000);
    let r = run_opts(
        &["image", "--format", "json", &a.path(), &b.path()],
        Opts {
            timeout: CASE_TIMEOUT,
            measure: true,
            address_space: Some(6 << 30),
        },
    );
    let j = assert_report(&r, 1);
    assert!(visible(&j).contains(&("layers/999/l/00999".to_string(), "content".to_string())));
    assert_peak_below(&r, 300);
}

/// A config blob of 100 000 000 bytes: the same JSON as oci/base's config, padded with
/// spaces (so the report stays small). Written and hashed in pieces.
fn padded_config(l: &Layout, total: u64) -> (String, u64) {
    let cfg = l.read(l.manifest(0)["config"]["digest"].as_str().unwrap());
    let (head, tail) = cfg.split_at(cfg.len() - 1);
    let pad = total - cfg.len() as u64;
    let tmp_blob = l.dir.join("blobs/sha256/tmp");
    let mut w = BufWriter::new(File::create(&tmp_blob).unwrap());
    let mut h = sha2::Sha256::new();
    let chunk = vec![b' '; 1 << 20];
    let mut put = |b: &[u8]| {
        h.update(b);
        w.write_all(b).unwrap();
    };
    put(head);
    let mut left = pad;
    while left > 0 {
        let k = left.min(chunk.len() as u64) as usize;
        put(&chunk[..k]);
        left -= k as u64;
    }
    put(tail);
    w.flush().unwrap();
    drop(w);
    let digest = format!("sha256:{}", hex(&h.finalize()));
    std::fs::rename(&tmp_blob, l.blob(&digest)).unwrap();
    (digest, total)
}

#[test]
fn hundred_megabyte_json_config() {
    let _g = heavy();
    let t = tmp();
    let base = img("oci/base");
    let big = Layout::copy("oci/base", t.path(), "big");
    let (cd, cs) = padded_config(&big, 100 * MB);
    big.set_config_blob(0, &cd, cs);
    let md = big.manifest_digest(0);
    let hex = cd.strip_prefix("sha256:").unwrap();
    // Refused by default (64 MiB), on either side, at once.
    for args in [[big.path(), base.clone()], [base.clone(), big.path()]] {
        let r = run(&["image", &args[0], &args[1]]);
        assert_error(
            &r,
            &format!(
                "rdiff: {}: config of manifest {md}: blobs/sha256/{hex} is 100000000 bytes, \
                 over the limit of 67108864 bytes for a JSON document (--max-json-size)",
                big.path()
            ),
        );
        assert!(r.elapsed < QUICK, "{}", r.describe());
    }
    // Allowed: read and compared; only the descriptors differ (the document is the
    // same once parsed), and the bytes: the config's spacing, and the manifest and
    // index.json that `Layout` wrote with serde_json (not in umoci's spelling).
    // Measured: 5.2 s and a peak of 110 MB in a debug build (0.25 s in release).
    let r = run_opts(
        &[
            "image",
            "--format",
            "json",
            "--max-json-size",
            "200000000",
            &big.path(),
            &base,
        ],
        MEASURED,
    );
    let j = assert_report(&r, 1);
    assert_eq!(
        visible(&j),
        set(&[
            ("index", "bytes"),
            ("manifest", "digest"),
            ("manifest", "size"),
            ("manifest", "bytes"),
            ("config", "digest"),
            ("config", "size"),
            ("config", "bytes"),
        ])
    );
    assert_eq!(field(&j, "config", "size")["left"], 100_000_000);
    assert_eq!(j["semantically_equal"], true);
    assert_peak_below(&r, 1000);
    // One byte under the size: refused.
    let r = run(&["image", "--max-json-size", "99999999", &big.path(), &base]);
    assert_input_error(&r, &big.path(), &["(--max-json-size)"]);
}

/// JSON nested deeper than a parser should recurse: a clear error, not a stack overflow.
#[test]
fn deeply_nested_json_config() {
    let t = tmp();
    let l = Layout::copy("oci/base", t.path(), "nested");
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let text = serde_json::to_string(&l.config(0)).unwrap();
    let text = format!("{},\"x-deep\":{deep}}}", &text[..text.len() - 1]);
    let (d, sz) = l.put(text.as_bytes());
    l.set_config_blob(0, &d, sz);
    for args in [[l.path(), img("oci/base")], [img("oci/base"), l.path()]] {
        let r = run(&["image", &args[0], &args[1]]);
        assert_input_error(
            &r,
            &l.path(),
            &[
                "config of manifest ",
                "not valid JSON: recursion limit exceeded",
            ],
        );
    }
}

/// A layer that is a decompression bomb stops at the limit, naming the layer.
#[test]
fn layer_bomb_stops_at_max_uncompressed_size() {
    let _g = heavy();
    let t = tmp();
    let l = Layout::copy("oci/base", t.path(), "bomb");
    let (d, size) = l.put(&bomb(false, true, 2049));
    let mut m = l.manifest(0);
    m["layers"][1]["digest"] = json!(d);
    m["layers"][1]["size"] = json!(size);
    m["layers"][1]["mediaType"] = json!("application/vnd.oci.image.layer.v1.tar+zstd");
    l.set_manifest(0, &m);
    assert_refused_quickly(
        &[
            "image",
            "--max-uncompressed-size",
            "100000000",
            &img("oci/base"),
            &l.path(),
        ],
        &l.path(),
        &format!(
            "layer 1 ({d}): the uncompressed stream is over 100000000 bytes (--max-uncompressed-size)"
        ),
        200,
    );
}

// ------------------------------------------------------------------------ directories

/// An empty-ish root made the same way every time (compare two of them with
/// --ignore-file-timestamps).
fn root(t: &Path, name: &str) -> PathBuf {
    let d = t.join(name);
    std::fs::create_dir(&d).unwrap();
    std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::write(d.join("same.txt"), b"same\n").unwrap();
    d
}

fn two_roots(t: &Path) -> (PathBuf, PathBuf) {
    (root(t, "a"), root(t, "b"))
}

/// A symlink pointing out of the tree is a symlink entry; what it points to is not read.
#[test]
fn directory_symlink_pointing_outside() {
    let t = tmp();
    let outside = t.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    std::fs::write(outside.join("secret"), b"secret\n").unwrap();
    let (a, b) = two_roots(t.path());
    std::os::unix::fs::symlink("../outside", b.join("escape")).unwrap();
    std::os::unix::fs::symlink(&outside, b.join("abs")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret"), b.join("file")).unwrap();
    let r = run(&[
        "rootfs",
        "--format",
        "json",
        "--ignore-file-timestamps",
        s(&a),
        s(&b),
    ]);
    let j = assert_report(&r, 1);
    assert_eq!(
        visible(&j),
        set(&[("abs", "added"), ("escape", "added"), ("file", "added")])
    );
    for p in ["abs", "escape", "file"] {
        assert_eq!(diff_at(&j, p)["right_type"], "symlink");
        assert_eq!(diff_at(&j, p)["size"], 0);
    }
    assert_eq!(j["right"]["entries"], 5);
    // Against a copy with other targets: only the targets differ.
    let c = root(t.path(), "c");
    std::os::unix::fs::symlink("/", c.join("escape")).unwrap();
    std::os::unix::fs::symlink("../outside/secret", c.join("abs")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret"), c.join("file")).unwrap();
    let r = run(&[
        "rootfs",
        "--format",
        "json",
        "--ignore-file-timestamps",
        s(&b),
        s(&c),
    ]);
    let j = assert_report(&r, 1);
    assert_eq!(
        visible(&j),
        set(&[("abs", "link_target"), ("escape", "link_target")])
    );
    assert_eq!(field(&j, "escape", "link_target")["left"], "../outside");
    assert_eq!(field(&j, "escape", "link_target")["right"], "/");
}

/// A FIFO nobody writes to: listed, never opened (opening it would block).
#[test]
fn directory_fifo_does_not_block() {
    let t = tmp();
    let (a, b) = two_roots(t.path());
    mkfifo(&b.join("fifo"), 0o644);
    let r = run(&[
        "rootfs",
        "--format",
        "json",
        "--ignore-file-timestamps",
        s(&a),
        s(&b),
    ]);
    let j = assert_report(&r, 1);
    assert_eq!(visible(&j), set(&[("fifo", "added")]));
    assert_eq!(diff_at(&j, "fifo")["right_type"], "fifo");
    assert!(r.elapsed < QUICK, "{}", r.describe());
    // Both sides hold it: equal, no content read.
    mkfifo(&a.join("fifo"), 0o644);
    let r = run(&[
        "rootfs",
        "--format",
        "json",
        "--ignore-file-timestamps",
        s(&a),
        s(&b),
    ]);
    assert_report(&r, 0);
}

/// A listening Unix socket: listed, never connected to.
#[test]
fn directory_socket_is_listed_not_opened() {
    let t = tmp();
    let (a, b) = two_roots(t.path());
    let listener = std::os::unix::net::UnixListener::bind(b.join("sock")).unwrap();
    listener.set_nonblocking(true).unwrap();
    let r = run(&[
        "rootfs",
        "--format",
        "json",
        "--ignore-file-timestamps",
        s(&a),
        s(&b),
    ]);
    let j = assert_report(&r, 1);
    assert_eq!(visible(&j), set(&[("sock", "added")]));
    assert_eq!(diff_at(&j, "sock")["right_type"], "socket");
    match listener.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        other => panic!("rdiff connected to the socket: {other:?}"),
    }
}

#[test]
fn directory_max_entries() {
    let t = tmp();
    let (a, _) = two_roots(t.path());
    for i in 0..20 {
        std::fs::write(a.join(format!("f{i:02}")), b"x").unwrap();
    }
    // `.`, same.txt and 20 files: 22 nodes.
    let r = run(&["rootfs", "--max-entries", "10", s(&a), &pax_tar()]);
    assert_error(
        &r,
        &format!("rdiff: {}: more than 10 entries (--max-entries)", s(&a)),
    );
    let r = run(&[
        "rootfs",
        "--format",
        "json",
        "--max-entries",
        "22",
        s(&a),
        s(&a),
    ]);
    assert_report(&r, 0);
}

/// A directory tree 1500 levels deep (paths of 3000 bytes, under PATH_MAX).
#[test]
fn deep_directory_tree() {
    let t = tmp();
    let root = t.path().join("deep");
    let mut p = root.clone();
    for _ in 0..1500 {
        p.push("a");
    }
    std::fs::create_dir_all(&p).unwrap();
    std::fs::write(p.join("f"), b"x\n").unwrap();
    let r = run(&["rootfs", "--format", "json", s(&root), s(&root)]);
    let j = assert_report(&r, 0);
    assert_eq!(j["left"]["entries"], 1502);
}

// ------------------------------------------------------------------------ inputs stay

/// (size, mtime, sha256 or link target) of every file, directory and symlink under a
/// path (or of the file itself).
fn snapshot(root: &Path) -> BTreeMap<PathBuf, (u64, SystemTime, String)> {
    fn walk(p: &Path, out: &mut BTreeMap<PathBuf, (u64, SystemTime, String)>) {
        let m = std::fs::symlink_metadata(p).unwrap();
        let ft = m.file_type();
        let what = if ft.is_file() {
            sha256_hex(&std::fs::read(p).unwrap())
        } else if ft.is_symlink() {
            format!("-> {}", std::fs::read_link(p).unwrap().display())
        } else if ft.is_dir() {
            "dir".into()
        } else {
            "other".into()
        };
        out.insert(p.to_path_buf(), (m.len(), m.modified().unwrap(), what));
        if ft.is_dir() {
            for e in std::fs::read_dir(p).unwrap() {
                walk(&e.unwrap().path(), out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, &mut out);
    out
}

#[test]
fn inputs_are_never_modified() {
    let t = tmp();
    // Tarballs, compressed and not.
    let ta = t.path().join("a.tar.zst");
    std::fs::write(&ta, zstd(&read_testdata("rootfs/left.tar"), 3)).unwrap();
    let tb = t.path().join("b.tar");
    let right = zstd::decode_all(&read_testdata("rootfs/right.tar.zst")[..]).unwrap();
    std::fs::write(&tb, right).unwrap();
    // A directory with a FIFO, a symlink out and a file.
    let dir = t.path().join("tree");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(dir.join("f"), b"f\n").unwrap();
    mkfifo(&dir.join("fifo"), 0o644);
    std::os::unix::fs::symlink("../a.tar.zst", dir.join("out")).unwrap();
    // OCI layouts.
    let la = Layout::copy("oci/base", t.path(), "la");
    let lb = Layout::copy("oci/changed", t.path(), "lb");
    let inputs = [&ta, &tb, &dir, &la.dir, &lb.dir];
    let before: Vec<_> = inputs.iter().map(|p| snapshot(p)).collect();
    // Make later writes visible in mtimes even on coarse-timestamp filesystems.
    std::thread::sleep(Duration::from_millis(20));
    let rd = t.path().join("rd");
    let runs: Vec<Vec<String>> = vec![
        vec!["rootfs".into(), s(&ta).into(), s(&tb).into()],
        vec![
            "rootfs".into(),
            "--read-identical".into(),
            s(&ta).into(),
            s(&ta).into(),
        ],
        vec!["rootfs".into(), s(&dir).into(), s(&tb).into()],
        vec!["image".into(), la.path(), lb.path()],
        vec!["image".into(), "--squash".into(), la.path(), lb.path()],
        vec![
            "rootfs".into(),
            "--report-dir".into(),
            s(&rd.join("r1")).into(),
            s(&ta).into(),
            s(&tb).into(),
        ],
        vec![
            "image".into(),
            "--report-dir".into(),
            s(&rd.join("r2")).into(),
            la.path(),
            lb.path(),
        ],
    ];
    for args in &runs {
        let r = run(args);
        assert_sane(&r);
        let want = if args[1] == "--read-identical" { 0 } else { 1 };
        assert_eq!(r.status, Some(want), "{}", r.describe());
    }
    let after: Vec<_> = inputs.iter().map(|p| snapshot(p)).collect();
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        assert_eq!(b, a, "input {} changed", inputs[i].display());
    }
}

/// `rootfs --report-dir` into a directory holding a planted `left` symlink pointing
/// outside: refused, nothing written outside (tests/image.rs checks `image`).
#[test]
fn rootfs_report_dir_refuses_a_planted_symlink() {
    let t = tmp();
    let outside = t.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    let a = write(
        t.path(),
        "a.tar",
        &TarBuf::default().file("x", b"a\n").finish(),
    );
    let b = write(
        t.path(),
        "b.tar",
        &TarBuf::default().file("x", b"b\n").finish(),
    );
    let rd = t.path().join("rd");
    std::fs::create_dir(&rd).unwrap();
    std::os::unix::fs::symlink("../outside", rd.join("left")).unwrap();
    let r = run(&["rootfs", "--report-dir", s(&rd), s(&a), s(&b)]);
    let line = assert_one_error_line(&r);
    assert!(line.contains("symlink"), "{}", r.describe());
    assert!(
        std::fs::read_dir(&outside).unwrap().next().is_none(),
        "something was written outside the report directory"
    );
    assert!(
        std::fs::symlink_metadata(rd.join("left"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}
