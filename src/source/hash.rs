//! Content hashing while the bytes stream past: SHA-256 of the whole content (sha2
//! picks the CPU's SHA extensions at run time), which alone decides whether two
//! contents are equal; XXH3-64 hashes of each 64 KiB block, keyed with a seed drawn at
//! random once per run, which only *locate* the first differing block of a large file
//! after SHA-256 said the contents differ (the bytes found there are then compared
//! themselves); and a copy of small contents for content diffs.

use std::sync::OnceLock;

use sha2::{Digest as _, Sha256};
use xxhash_rust::xxh3::Xxh3;

use crate::entry::{BLOCK_SIZE, Digest};

/// The seed of the block hashes: random per process, so that no input can be prepared
/// in advance to make two different blocks look alike (XXH3's default secret is
/// public). It decides nothing: a block it points at is compared byte for byte.
fn block_seed() -> u64 {
    static SEED: OnceLock<u64> = OnceLock::new();
    *SEED.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let mut h = std::collections::hash_map::RandomState::new().build_hasher();
        h.write_u64(std::process::id().into());
        h.finish()
    })
}

pub struct ContentHasher<'a> {
    sha: Sha256,
    block: Option<(Xxh3, u64, Vec<u64>)>,
    keep: Option<&'a mut Vec<u8>>,
    /// The first bytes of a content over one block, for [`ContentHash::format`].
    head: [u8; crate::source::nested::HEAD],
    head_len: usize,
}

/// What hashing a content found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContentHash {
    /// SHA-256: the content's identity (equal digests, equal contents).
    pub sha: Digest,
    /// Seeded XXH3-64 of each 64 KiB block, for contents over one block (locating only).
    pub blocks: Option<Box<[u64]>>,
    /// For contents over one block, the nested format their first bytes show (a
    /// smaller content is at hand whole when the content stage wants it).
    pub format: Option<crate::source::nested::Format>,
}

impl<'a> ContentHasher<'a> {
    /// `size` is the expected content size; `keep`, if given, receives a copy of the
    /// content (the caller only passes it for small files).
    pub fn new(size: u64, keep: Option<&'a mut Vec<u8>>) -> Self {
        let block = (size > BLOCK_SIZE).then(|| {
            (
                Xxh3::with_seed(block_seed()),
                0u64,
                Vec::with_capacity(size.div_ceil(BLOCK_SIZE).min(1 << 20) as usize),
            )
        });
        let mut keep = keep;
        if let Some(k) = keep.as_mut() {
            k.clear();
            k.reserve(size as usize);
        }
        ContentHasher {
            sha: Sha256::new(),
            block,
            keep,
            head: [0; crate::source::nested::HEAD],
            head_len: 0,
        }
    }

    pub fn update(&mut self, mut data: &[u8]) {
        self.sha.update(data);
        if let Some(k) = self.keep.as_mut() {
            k.extend_from_slice(data);
        }
        if let Some((x, fill, blocks)) = self.block.as_mut() {
            if self.head_len < self.head.len() {
                let n = (self.head.len() - self.head_len).min(data.len());
                self.head[self.head_len..self.head_len + n].copy_from_slice(&data[..n]);
                self.head_len += n;
            }
            while !data.is_empty() {
                let take = ((BLOCK_SIZE - *fill) as usize).min(data.len());
                x.update(&data[..take]);
                *fill += take as u64;
                data = &data[take..];
                if *fill == BLOCK_SIZE {
                    blocks.push(x.digest());
                    x.reset();
                    *fill = 0;
                }
            }
        }
    }

    /// The SHA-256 digest and, for contents over one block, the block hashes.
    pub fn finish(self) -> ContentHash {
        let format = self
            .block
            .as_ref()
            .and_then(|_| crate::source::nested::sniff(&self.head[..self.head_len]));
        let blocks = self.block.map(|(x, fill, mut blocks)| {
            if fill > 0 {
                blocks.push(x.digest());
            }
            blocks.into_boxed_slice()
        });
        ContentHash {
            sha: self.sha.finalize().into(),
            blocks,
            format,
        }
    }
}

/// SHA-256 of a byte slice.
pub fn sha256(data: &[u8]) -> Digest {
    Sha256::digest(data).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn large_contents_say_their_nested_format() {
        let mut data = b"\x1f\x8b\x08\0".to_vec();
        data.resize(200_000, 7);
        let mut h = ContentHasher::new(data.len() as u64, None);
        for c in data.chunks(3) {
            h.update(c);
        }
        let f = h.finish().format;
        assert_eq!(f, Some(crate::source::nested::Format::Gzip));
        // A small content is at hand whole when wanted: nothing is recorded.
        let mut h = ContentHasher::new(4, None);
        h.update(&data[..4]);
        assert_eq!(h.finish().format, None);
    }

    #[test]
    fn chunking_does_not_change_results() {
        let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let mut a = ContentHasher::new(data.len() as u64, None);
        a.update(&data);
        let mut b = ContentHasher::new(data.len() as u64, None);
        for c in data.chunks(777) {
            b.update(c);
        }
        let (ha, hb) = (a.finish(), b.finish());
        assert_eq!(ha, hb);
        assert_eq!(ha.blocks.as_ref().unwrap().len(), 5);
        assert_eq!(ha.sha, sha256(&data));
        // Known answer: SHA-256 of "abc".
        assert_eq!(sha256(b"abc")[..4], [0xba, 0x78, 0x16, 0xbf]);
    }
}

/// A reader that hashes (SHA-256) every byte read or consumed through it, into a
/// handle that outlives the reader (the reader usually ends up boxed inside a decoder).
pub struct Hashing<R> {
    inner: R,
    sha: Option<std::sync::Arc<std::sync::Mutex<Sha256>>>,
}

/// The digest a `Hashing` reader computed.
#[derive(Clone, Default)]
pub struct HashHandle(Option<std::sync::Arc<std::sync::Mutex<Sha256>>>);

impl HashHandle {
    /// The digest of everything read so far (`None` when hashing was off).
    pub fn finish(&self) -> Option<Digest> {
        self.0.as_ref().map(|s| {
            let s = s.lock().unwrap_or_else(|e| e.into_inner()).clone();
            s.finalize().into()
        })
    }
}

impl<R> Hashing<R> {
    pub fn new(inner: R, enabled: bool) -> (Self, HashHandle) {
        let sha = enabled.then(|| std::sync::Arc::new(std::sync::Mutex::new(Sha256::new())));
        (
            Hashing {
                inner,
                sha: sha.clone(),
            },
            HashHandle(sha),
        )
    }

    fn update(&self, b: &[u8]) {
        if let Some(s) = &self.sha {
            s.lock().unwrap_or_else(|e| e.into_inner()).update(b);
        }
    }
}

impl<R: std::io::Read> std::io::Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.update(&buf[..n]);
        Ok(n)
    }
}

impl<R: std::io::BufRead> std::io::BufRead for Hashing<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        if self.sha.is_some() && amt > 0 {
            // The buffer just returned by fill_buf is returned again without reading.
            if let Ok(b) = self.inner.fill_buf() {
                let b = &b[..amt.min(b.len())];
                if let Some(s) = &self.sha {
                    s.lock().unwrap_or_else(|e| e.into_inner()).update(b);
                }
            }
        }
        self.inner.consume(amt)
    }
}
