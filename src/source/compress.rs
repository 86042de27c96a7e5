//! Compression, found from magic bytes (never from the file name): zstd (frames written
//! with `--long` up to `--long=31` decode), gzip (multi-member), xz (multi-stream),
//! bzip2 (multi-stream), or none. Decoder errors become one-line messages that say how
//! far into the compressed input the problem was.

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
}

impl Compression {
    pub fn name(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
            Compression::Xz => "xz",
            Compression::Bzip2 => "bzip2",
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
        } else {
            Compression::None
        }
    }
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
}

impl Params {
    pub fn get(&self) -> Vec<crate::source::compress_facts::Param> {
        match &self.0 {
            None => Vec::new(),
            Some(ParamsSource::Tap(t)) => t.params(),
            Some(ParamsSource::Gzip(g)) => g.params(),
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
            let d = bzip2::bufread::MultiBzDecoder::new(r);
            (buffered(Box::new(d)), Params(Some(ParamsSource::Tap(tap))))
        }
    })
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
