//! Readers that hand out data in short, random-sized pieces must not change what is
//! read: the tar reader and the decompressors see the same members and the same content
//! as when the whole input sits in one slice.

mod support;

use std::io::{self, BufRead, BufReader, Read, Write};
use std::time::Duration;

use rdiff::source::compress::{Compression, Counting, decode};
use rdiff::source::tar::TarReader;
use sha2::{Digest, Sha256};
use support::data::Rng;
use support::paths::{read_testdata, testdata};
use support::run::{Run, rdiff};

/// A `BufRead` over a slice whose `fill_buf` offers a random window of 1..=700 bytes
/// (often a single byte) and, optionally, fails now and then with `Interrupted`.
struct ShortBufRead<'a> {
    data: &'a [u8],
    pos: usize,
    /// Bytes left in the window offered by the last `fill_buf`.
    window: usize,
    rng: Rng,
    interrupts: bool,
    fills: u64,
}

impl<'a> ShortBufRead<'a> {
    fn new(data: &'a [u8], seed: u64, interrupts: bool) -> Self {
        ShortBufRead {
            data,
            pos: 0,
            window: 0,
            rng: Rng::new(seed),
            interrupts,
            fills: 0,
        }
    }

    fn pick(rng: &mut Rng) -> usize {
        match rng.range(0, 9) {
            0..=2 => 1,
            3 => rng.range(2, 16),
            _ => rng.range(1, 700),
        }
    }
}

impl BufRead for ShortBufRead<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.window == 0 {
            // Only between windows, so a repeated call sees the same bytes.
            if self.interrupts && self.rng.range(0, 7) == 0 {
                return Err(io::ErrorKind::Interrupted.into());
            }
            let left = self.data.len() - self.pos;
            self.window = Self::pick(&mut self.rng).min(left);
            self.fills += 1;
        }
        Ok(&self.data[self.pos..self.pos + self.window])
    }

    fn consume(&mut self, amt: usize) {
        assert!(
            amt <= self.window,
            "consumed {amt} of a {}-byte window",
            self.window
        );
        self.pos += amt;
        self.window -= amt;
    }
}

impl Read for ShortBufRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

/// A `Read` that returns 1..=700 bytes per call (often one).
struct ShortRead<R> {
    inner: R,
    rng: Rng,
    calls: u64,
}

impl<R: Read> Read for ShortRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.calls += 1;
        let n = ShortBufRead::pick(&mut self.rng).min(buf.len());
        self.inner.read(&mut buf[..n])
    }
}

/// One member as read: every header fact, the content digest and its length.
#[derive(Debug, PartialEq, Eq)]
struct Member {
    facts: String,
    digest: Option<[u8; 32]>,
    len: u64,
}

/// Read all members; `read_content(i)` says whether member `i`'s content is read (the
/// rest is skipped by the reader).
fn members<R: BufRead>(r: R, read_content: impl Fn(usize) -> bool) -> (Vec<Member>, R) {
    let (m, r, _) = members_at(r, read_content);
    (m, r)
}

/// As `members`, also returning the tar position where the reader stopped.
fn members_at<R: BufRead>(r: R, read_content: impl Fn(usize) -> bool) -> (Vec<Member>, R, u64) {
    let mut tr = TarReader::new(r);
    let mut out = Vec::new();
    while let Some(e) = tr
        .next_entry()
        .unwrap_or_else(|e| panic!("after {out:?}: {e}"))
    {
        let facts = format!("{e:?}");
        let (digest, len) = if read_content(out.len()) {
            let mut h = Sha256::new();
            let mut len = 0u64;
            tr.read_data(&mut |b| {
                h.update(b);
                len += b.len() as u64;
            })
            .unwrap_or_else(|e| panic!("content of {facts}: {e}"));
            (Some(h.finalize().into()), len)
        } else {
            (None, 0)
        };
        out.push(Member { facts, digest, len });
    }
    let pos = tr.position();
    (out, tr.into_inner(), pos)
}

fn formats() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(testdata("formats"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".tar"))
        .collect();
    v.sort();
    // The fixtures this test must not lose track of.
    for must in [
        "sparse-gnu.tar",
        "sparse-pax.tar",
        "python.tar",
        "gnu.tar",
        "pax.tar",
    ] {
        assert!(
            v.iter().any(|n| n == must),
            "{must} missing from testdata/formats"
        );
    }
    v
}

#[test]
fn tar_reader_over_short_bufread_matches_whole_slice() {
    for name in formats() {
        let data = read_testdata(&format!("formats/{name}"));
        let (want, _) = members(&data[..], |_| true);
        assert!(!want.is_empty(), "{name}: no members");
        assert!(
            want.iter().any(|m| m.len > 0),
            "{name}: no content at all, the test would prove little"
        );
        for seed in 0..12u64 {
            let interrupts = seed % 2 == 1;
            let r = ShortBufRead::new(&data, seed, interrupts);
            let (got, r, pos) = members_at(r, |_| true);
            assert_eq!(got, want, "{name}, seed {seed}, interrupts {interrupts}");
            assert!(
                r.fills > pos / 700,
                "{name}: the reader was not exercised ({} fills)",
                r.fills
            );
        }
    }
}

#[test]
fn skipping_content_over_short_bufread_matches_whole_slice() {
    for name in formats() {
        let data = read_testdata(&format!("formats/{name}"));
        for parity in 0..2 {
            let pick = |i: usize| i % 2 == parity;
            let (want, _) = members(&data[..], pick);
            for seed in 100..106u64 {
                let (got, _) = members(ShortBufRead::new(&data, seed, seed % 2 == 0), pick);
                assert_eq!(got, want, "{name}, parity {parity}, seed {seed}");
            }
        }
    }
}

/// Sparse files are expanded the same way whatever the read sizes (and the expansion
/// really happens: the content is longer than what is stored).
#[test]
fn sparse_members_expand_identically() {
    for name in ["sparse-gnu.tar", "sparse-pax.tar"] {
        let data = read_testdata(&format!("formats/{name}"));
        let (want, _) = members(&data[..], |_| true);
        let biggest = want.iter().map(|m| m.len).max().unwrap();
        assert!(
            biggest > data.len() as u64,
            "{name}: expected an expanded sparse member larger than the archive"
        );
        for seed in 200..210u64 {
            let (got, _) = members(ShortBufRead::new(&data, seed, false), |_| true);
            assert_eq!(got, want, "{name}, seed {seed}");
        }
    }
}

/// The binary xattr value (with a `\n` byte) survives short reads of the PAX header.
#[test]
fn binary_pax_xattr_survives_short_reads() {
    let data = read_testdata("formats/python.tar");
    let read = |r: &mut dyn BufRead| {
        let mut tr = TarReader::new(r);
        let mut caps = Vec::new();
        while let Some(e) = tr.next_entry().unwrap() {
            for (k, v) in e.xattrs {
                if k == b"security.capability" {
                    caps.push(v);
                }
            }
        }
        caps
    };
    let want = read(&mut &data[..]);
    assert!(
        !want.is_empty(),
        "python.tar should carry security.capability"
    );
    assert!(
        want.iter().any(|v| v.contains(&b'\n')),
        "the value should hold a newline byte"
    );
    for seed in 300..316u64 {
        let mut r = ShortBufRead::new(&data, seed, seed % 3 == 0);
        assert_eq!(read(&mut r), want, "seed {seed}");
    }
}

/// Decode a compressed file read through short reads and a 7-byte buffer.
fn decode_short(bytes: &[u8], seed: u64) -> (Vec<Member>, u64, u64, u64) {
    let kind = Compression::detect(bytes);
    let short = ShortRead {
        inner: bytes,
        rng: Rng::new(seed),
        calls: 0,
    };
    let (counted, count) = Counting::new(BufReader::with_capacity(7, short));
    let decoded = decode(kind, counted, count.clone()).unwrap();
    let (got, mut rest, pos) = members_at(decoded, |_| true);
    // Read the decompressed stream to its end, as rdiff does, so every frame is checked.
    let tail = io::copy(&mut rest, &mut io::sink()).unwrap();
    let consumed = count.load(std::sync::atomic::Ordering::Relaxed);
    (got, consumed, pos, tail)
}

#[test]
fn compressed_fixtures_through_short_reads() {
    // All of testdata/compress holds formats/pax.tar in different compressions.
    let (want, _) = members(&read_testdata("formats/pax.tar")[..], |_| true);
    let mut names: Vec<String> = std::fs::read_dir(testdata("compress"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert!(names.len() >= 8, "{names:?}");
    let mut kinds = std::collections::BTreeSet::new();
    for name in names {
        let bytes = read_testdata(&format!("compress/{name}"));
        let kind = Compression::detect(&bytes);
        assert_ne!(kind, Compression::None, "{name} should be compressed");
        kinds.insert(kind.name());
        // The reference: the same decoder over the whole slice.
        let count = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let whole = decode(kind, &bytes[..], count).unwrap();
        let (direct, _) = members(whole, |_| true);
        assert_eq!(direct, want, "{name} read from one slice");
        for seed in 0..6u64 {
            let (got, consumed, pos, tail) = decode_short(&bytes, seed);
            assert_eq!(got, want, "{name}, seed {seed}");
            // The tar reader stops at the end-of-archive marker; the record padding
            // after it is still decoded.
            assert_eq!(pos + tail, 20480, "{name}: decompressed length");
            assert_eq!(
                consumed,
                bytes.len() as u64,
                "{name}: compressed bytes counted"
            );
        }
    }
    assert_eq!(kinds.len(), 4, "all four compressions covered: {kinds:?}");
}

// ---------------------------------------------------------------------------------
// Standard input that arrives in pieces

const TIMEOUT: Duration = Duration::from_secs(20);

/// Compare `file` with the same bytes fed to standard input: first `first` bytes, a
/// pause (so rdiff's first read sees only those), then the rest in small writes.
fn stdin_in_pieces(file: &str, first: usize) -> Run {
    let bytes = read_testdata(file);
    let r = rdiff(["rootfs", &testdata(file).display().to_string(), "-"])
        .stdin_with(move |mut stdin| {
            // Errors here mean rdiff stopped reading; its exit status says why.
            let _ = stdin.write_all(&bytes[..first]).and_then(|_| stdin.flush());
            std::thread::sleep(Duration::from_millis(300));
            for chunk in bytes[first..].chunks(333) {
                if stdin.write_all(chunk).is_err() {
                    break;
                }
            }
        })
        .timeout(TIMEOUT)
        .run();
    assert!(!r.timed_out, "rdiff did not finish within {TIMEOUT:?}");
    r
}

fn assert_identical(out: &Run, what: &str) {
    let stderr = &out.stderr;
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    assert_eq!(out.status, Some(0), "{what}: stderr: {stderr}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("identical"),
        "{what}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn plain_tar_on_stdin_in_pieces() {
    assert_identical(
        &stdin_in_pieces("formats/pax.tar", 1),
        "pax.tar, 1 byte first",
    );
    assert_identical(
        &stdin_in_pieces("formats/gnu.tar", 700),
        "gnu.tar, 700 bytes first",
    );
}

#[test]
fn compressed_stdin_in_pieces_after_the_magic() {
    assert_identical(&stdin_in_pieces("compress/pax.tar.zst", 64), "pax.tar.zst");
    assert_identical(&stdin_in_pieces("compress/pax.tar.xz", 6), "pax.tar.xz");
}

/// A pipe may deliver fewer bytes than the magic in its first read; detection must
/// wait for enough bytes instead of deciding "not compressed".
#[test]
fn compressed_stdin_whose_first_read_is_shorter_than_the_magic() {
    for (file, first) in [
        ("compress/pax.tar.zst", 2),
        ("compress/pax.tar.gz", 1),
        ("compress/pax.tar.xz", 3),
        ("compress/pax.tar.bz2", 2),
    ] {
        assert_identical(
            &stdin_in_pieces(file, first),
            &format!("{file}, {first} bytes first"),
        );
    }
}
