//! Compression, found from magic bytes (never from the file name): zstd (frames written
//! with `--long` up to `--long=31` decode), gzip (multi-member), xz (multi-stream),
//! bzip2 (multi-stream), lzip (multi-member) and lzma-alone (both through liblzma), or
//! none. Codecs rdiff does not read (lz4, lzop, `compress`'s `.Z`) are named in an
//! error instead of being read as a tar. Decoder errors become one-line messages that
//! say how far into the compressed input the problem was.

use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::ErrorKind;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
    Xz,
    Bzip2,
    /// lzip (`LZIP` magic), read with liblzma's lzip decoder.
    Lzip,
    /// The legacy `.lzma` format (lzma-alone: no magic, a properties header).
    Lzma,
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Xz => "xz",
            Compression::Bzip2 => "bzip2",
            Compression::Lzip => "lzip",
            Compression::Lzma => "lzma",
        }
    }

    /// Identify the compression of a stream from its first bytes.
    pub fn detect(magic: &[u8]) -> Compression {
        if magic.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else if magic.len() >= 4
            && magic[1..4] == [0x2a, 0x4d, 0x18]
            && (0x50..=0x5f).contains(&magic[0])
        {
            // A zstd skippable frame (e.g. a seekable-format index) comes first.
            Compression::Zstd
        } else if magic.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else if magic.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
            Compression::Xz
        } else if magic.starts_with(b"BZh")
            && magic.get(3).is_some_and(|d| (b'1'..=b'9').contains(d))
        {
            Compression::Bzip2
        } else if magic.starts_with(b"LZIP") {
            Compression::Lzip
        } else if is_lzma_alone(magic) {
            Compression::Lzma
        } else {
            Compression::None
        }
    }
}

/// Whether a stream starts with the 13-byte header of the lzma-alone format as `lzma`,
/// `xz --format=lzma` and 7-Zip write it: the properties byte 0x5D (lc=3, lp=0, pb=2,
/// every writer's default), a dictionary size of 2^n or 2^n + 2^(n-1) bytes (at least
/// 4 KiB), and an uncompressed size that is unknown (all 0xFF) or below 2^48. A tar
/// member whose name starts with `]` would need name bytes 1 to 4 to spell such a
/// dictionary size (NULs and control bytes), which no name has.
fn is_lzma_alone(h: &[u8]) -> bool {
    if h.len() < 13 || h[0] != 0x5d {
        return false;
    }
    let dict = u32::from_le_bytes([h[1], h[2], h[3], h[4]]);
    let dict_ok = dict >= 4096 && {
        let t = dict >> dict.trailing_zeros();
        t == 1 || t == 3
    };
    let size = &h[5..13];
    dict_ok && (size.iter().all(|&b| b == 0xff) || size[6..].iter().all(|&b| b == 0))
}

/// Codecs rdiff does not read, by their magic: named in the error.
fn unsupported(magic: &[u8]) -> Option<&'static str> {
    const KNOWN: &[(&[u8], &str)] = &[
        (&[0x04, 0x22, 0x4d, 0x18], "lz4"),
        (&[0x02, 0x21, 0x4c, 0x18], "lz4 (legacy format)"),
        (&[0x1f, 0x9d], "compress (.Z)"),
        (&[0x1f, 0xa0], "compress (.Z, LZH)"),
        (&[0x1f, 0x1e], "pack (.z)"),
        (&[0x89, b'L', b'Z', b'O', 0x00], "lzop"),
    ];
    KNOWN
        .iter()
        .find(|(m, _)| magic.starts_with(m))
        .map(|(_, n)| *n)
}

/// Whether `h` starts with a skippable frame (zstd and lz4 share the format): magic
/// 0x184D2A5?, then its length as 4 bytes little-endian.
fn skippable_len(h: &[u8]) -> Option<u64> {
    (h.len() >= 8 && h[1..4] == [0x2a, 0x4d, 0x18] && (0x50..=0x5f).contains(&h[0]))
        .then(|| u64::from(u32::from_le_bytes([h[4], h[5], h[6], h[7]])))
}

/// Bytes read to find a stream's compression (13 for what may be lzma-alone's header,
/// more when skippable frames come first).
pub const HEAD: usize = 6;

/// Read the first bytes of a stream and tell its compression. They are returned, to be
/// put back in front of the stream. Skippable frames at the start are read past (up to
/// 1 MiB of them) to the magic after them: zstd's and lz4's look the same. A codec
/// rdiff does not read is an error that names it.
pub fn sniff(r: &mut dyn Read) -> Result<(Vec<u8>, Compression), ErrorKind> {
    let mut head = Vec::with_capacity(HEAD);
    r.take(HEAD as u64).read_to_end(&mut head)?;
    if head.first() == Some(&0x5d) {
        r.take(13 - HEAD as u64).read_to_end(&mut head)?;
    }
    let mut at = 0usize;
    if head.len() >= 4 && head[1..4] == [0x2a, 0x4d, 0x18] && (0x50..=0x5f).contains(&head[0]) {
        // A skippable frame's length follows its magic.
        r.take(8 - head.len() as u64).read_to_end(&mut head)?;
    }
    while let Some(n) = skippable_len(&head[at..]) {
        let next = at as u64 + 8 + n;
        if next > 1 << 20 {
            // Too far to look: a skippable frame first is zstd's (a seekable index).
            return Ok((head, Compression::Zstd));
        }
        // Up to the next frame's magic, and a skippable frame's length after it.
        let want = next + 8 - head.len() as u64;
        r.take(want).read_to_end(&mut head)?;
        at = next as usize;
        if head.len() <= at {
            break;
        }
    }
    let magic = &head[at.min(head.len())..];
    if let Some(name) = unsupported(magic) {
        return Err(ErrorKind::Other(format!(
            "{name}-compressed input is not supported (rdiff reads zstd, gzip, xz, bzip2, lzip, lzma and uncompressed tar)"
        )));
    }
    let c = match Compression::detect(magic) {
        // Skippable frames and then no magic: leave it to the zstd decoder to say.
        Compression::None if at > 0 => Compression::Zstd,
        c => c,
    };
    Ok((head, c))
}

/// A reader that counts the bytes consumed from it (the compressed input), and how far
/// into the input a decoder has been handed bytes (where damage it reports must lie
/// before).
pub struct Counting<R> {
    inner: R,
    count: Arc<AtomicU64>,
    seen: Arc<AtomicU64>,
}

/// The two counters of a `Counting` reader.
#[derive(Clone)]
pub struct Counters {
    /// Bytes consumed.
    pub consumed: Arc<AtomicU64>,
    /// Bytes handed to the reader's user (consumed plus buffered).
    pub seen: Arc<AtomicU64>,
}

impl<R> Counting<R> {
    pub fn new(inner: R) -> (Self, Arc<AtomicU64>) {
        let (c, counters) = Self::with_counters(inner);
        (c, counters.consumed)
    }

    pub fn with_counters(inner: R) -> (Self, Counters) {
        let count = Arc::new(AtomicU64::new(0));
        let seen = Arc::new(AtomicU64::new(0));
        (
            Counting {
                inner,
                count: count.clone(),
                seen: seen.clone(),
            },
            Counters {
                consumed: count,
                seen,
            },
        )
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let c = self.count.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        self.seen.fetch_max(c, Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counting<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        let b = self.inner.fill_buf()?;
        let end = self.count.load(Ordering::Relaxed) + b.len() as u64;
        self.seen.fetch_max(end, Ordering::Relaxed);
        Ok(b)
    }
    fn consume(&mut self, amt: usize) {
        self.count.fetch_add(amt as u64, Ordering::Relaxed);
        self.inner.consume(amt)
    }
}

/// Wraps a decoder so that its errors name the format and the compressed offset.
struct Decoded<D> {
    inner: D,
    format: &'static str,
    count: Arc<AtomicU64>,
    seen: Option<Arc<AtomicU64>>,
}

impl<D: Read> Read for Decoded<D> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.inner.read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let consumed = self.count.load(Ordering::Relaxed);
                    // Errors of the underlying file pass through unchanged.
                    if e.get_ref().is_some_and(|i| i.is::<ErrorKind>()) {
                        return Err(e);
                    }
                    let kind = if e.kind() == io::ErrorKind::UnexpectedEof
                        || is_truncation_message(&e.to_string())
                    {
                        ErrorKind::TruncatedCompressed {
                            format: self.format,
                            offset: consumed,
                        }
                    } else {
                        // A decoder may find damage anywhere in what it was handed (a
                        // frame checksum only at the frame's end): name the end of that.
                        let seen = self.seen.as_ref().map_or(0, |s| s.load(Ordering::Relaxed));
                        ErrorKind::CorruptCompressed {
                            format: self.format,
                            offset: consumed.max(seen),
                            message: e.to_string(),
                        }
                    };
                    return Err(kind.into_io());
                }
            }
        }
    }
}

fn is_truncation_message(m: &str) -> bool {
    let m = m.to_ascii_lowercase();
    m.contains("incomplete") || m.contains("premature") || m.contains("unexpected end")
}

/// Size of the buffer between the decoder and the tar reader.
pub const DECODED_BUF: usize = 1 << 20;

/// Wrap `r` (positioned at the start of the stream) in the decoder its magic calls for.
/// The result is buffered. `count` is the counter of bytes consumed from the input.
pub fn decode<'a, R: BufRead + 'a>(
    kind: Compression,
    r: R,
    count: Arc<AtomicU64>,
) -> io::Result<Box<dyn BufRead + 'a>> {
    decode_counted(
        kind,
        r,
        Counters {
            consumed: count,
            seen: Arc::new(AtomicU64::new(0)),
        },
    )
}

/// As `decode`, with both counters of a `Counting` reader, for better error offsets.
pub fn decode_counted<'a, R: BufRead + 'a>(
    kind: Compression,
    r: R,
    counters: Counters,
) -> io::Result<Box<dyn BufRead + 'a>> {
    decode_with_params(kind, r, counters).map(|(d, _)| d)
}

/// The parameters a compressed stream's headers carry, read while it is decoded (see
/// `compress_facts`); ask once the stream has been read.
#[derive(Clone, Default)]
pub struct Params(Option<ParamsSource>);

#[derive(Clone)]
enum ParamsSource {
    Tap(crate::source::compress_facts::TapHandle),
    Gzip(crate::source::compress_facts::GzFacts),
    /// bzip2's header parameters and the bytes after its last stream.
    Bzip2(crate::source::compress_facts::TapHandle, Arc<AtomicU64>),
}

impl Params {
    pub fn get(&self) -> Vec<crate::source::compress_facts::Param> {
        match &self.0 {
            None => Vec::new(),
            Some(ParamsSource::Tap(t)) => t.params(),
            Some(ParamsSource::Gzip(g)) => g.params(),
            Some(ParamsSource::Bzip2(t, junk)) => {
                let mut p = t.params();
                let n = junk.load(Ordering::Relaxed);
                if n > 0 {
                    let v = format!("{n} bytes after the last stream");
                    p.push(("trailing_data", v));
                }
                p
            }
        }
    }
}

/// As `decode_counted`, and the handle on the parameters the stream's headers carry.
pub fn decode_with_params<'a, R: BufRead + 'a>(
    kind: Compression,
    r: R,
    counters: Counters,
) -> io::Result<(Box<dyn BufRead + 'a>, Params)> {
    use crate::source::compress_facts::{Bzip2Tap, GzMembers, Tapped, XzTap, ZstdTap};
    let format = kind.name();
    let count = counters.consumed;
    let seen = Some(counters.seen);
    let buffered = |inner: Box<dyn Read + 'a>| -> Box<dyn BufRead + 'a> {
        Box::new(BufReader::with_capacity(
            DECODED_BUF,
            Decoded {
                inner,
                format,
                count: count.clone(),
                seen: seen.clone(),
            },
        ))
    };
    Ok(match kind {
        Compression::None => (Box::new(r), Params::default()),
        Compression::Zstd => {
            let (r, tap) = Tapped::new(r, ZstdTap::new());
            let mut d = zstd::stream::read::Decoder::with_buffer(r)?;
            // Accept frames written with --long=31 (a 2 GiB window).
            d.window_log_max(31)?;
            (buffered(Box::new(d)), Params(Some(ParamsSource::Tap(tap))))
        }
        Compression::Gzip => {
            let d = GzMembers::new(r);
            let facts = d.facts();
            (
                buffered(Box::new(d)),
                Params(Some(ParamsSource::Gzip(facts))),
            )
        }
        Compression::Xz => {
            let (r, tap) = Tapped::new(r, XzTap::new());
            let d = liblzma::bufread::XzDecoder::new_multi_decoder(r);
            (buffered(Box::new(d)), Params(Some(ParamsSource::Tap(tap))))
        }
        Compression::Bzip2 => {
            let (r, tap) = Tapped::new(r, Bzip2Tap::new());
            let junk = Arc::new(AtomicU64::new(0));
            let d = BzStreams {
                dec: Some(bzip2::bufread::BzDecoder::new(r)),
                junk: junk.clone(),
            };
            let params = Params(Some(ParamsSource::Bzip2(tap, junk)));
            (buffered(Box::new(d)), params)
        }
        Compression::Lzip | Compression::Lzma => {
            use liblzma::stream::{CONCATENATED, Stream};
            // As for zstd's 2 GiB window: a header asking for more memory (an lzma
            // dictionary of up to 4 GiB) is refused by liblzma, not allocated.
            const MEMLIMIT: u64 = (2 << 30) + (64 << 20);
            let stream = if kind == Compression::Lzip {
                Stream::new_lzip_decoder(MEMLIMIT, CONCATENATED)
            } else {
                Stream::new_lzma_decoder(MEMLIMIT)
            }
            .map_err(io::Error::other)?;
            let d = liblzma::bufread::XzDecoder::new_stream(r, stream);
            (buffered(Box::new(d)), Params::default())
        }
    })
}

/// bzip2 streams one after another, as `bzip2 -d` reads them. Bytes after the last
/// stream that do not start another one (`BZh`) are trailing data: read (so that the
/// input's digest covers them), counted (the `trailing_data` parameter, so strict mode
/// sees them) and otherwise ignored, as bzip2, GNU tar, bsdtar and Python ignore them.
struct BzStreams<R: BufRead> {
    dec: Option<bzip2::bufread::BzDecoder<R>>,
    junk: Arc<AtomicU64>,
}

impl<R: BufRead> Read for BzStreams<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let Some(d) = self.dec.as_mut() else {
                return Ok(0);
            };
            let n = d.read(buf)?;
            if n > 0 || buf.is_empty() {
                return Ok(n);
            }
            let Some(d) = self.dec.take() else {
                return Ok(0);
            };
            let mut r = d.into_inner();
            let head = r.fill_buf()?;
            if head.is_empty() {
                return Ok(0);
            }
            // Another stream (a short buffer that could be one's start counts too:
            // the decoder then says what is wrong with it).
            if b"BZh".starts_with(&head[..head.len().min(3)]) {
                self.dec = Some(bzip2::bufread::BzDecoder::new(r));
                continue;
            }
            let mut n = 0u64;
            loop {
                let b = r.fill_buf()?;
                if b.is_empty() {
                    break;
                }
                let l = b.len();
                r.consume(l);
                n += l as u64;
            }
            self.junk.fetch_add(n, Ordering::Relaxed);
            return Ok(0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_magic() {
        assert_eq!(
            Compression::detect(&[0x28, 0xb5, 0x2f, 0xfd, 0]),
            Compression::Zstd
        );
        assert_eq!(
            Compression::detect(&[0x50, 0x2a, 0x4d, 0x18]),
            Compression::Zstd
        );
        assert_eq!(Compression::detect(&[0x1f, 0x8b, 8]), Compression::Gzip);
        assert_eq!(Compression::detect(b"\xfd7zXZ\x00"), Compression::Xz);
        assert_eq!(Compression::detect(b"BZh9"), Compression::Bzip2);
        assert_eq!(Compression::detect(b"BZhx"), Compression::None);
        assert_eq!(Compression::detect(b"etc/\0\0"), Compression::None);
        assert_eq!(Compression::detect(b""), Compression::None);
    }
}
