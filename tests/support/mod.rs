//! Helpers shared by bad_input.rs, short_reads.rs and proptest.rs: paths, a seeded
//! RNG (no `rand` dependency), compressors and tar-building primitives.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;

/// A file under the repository's `testdata/`.
pub fn testdata(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata")
        .join(rel)
}

pub fn read_testdata(rel: &str) -> Vec<u8> {
    std::fs::read(testdata(rel)).unwrap_or_else(|e| panic!("testdata/{rel}: {e}"))
}

/// The rdiff binary built for this test run.
pub const RDIFF: &str = env!("CARGO_BIN_EXE_rdiff");

/// SplitMix64: small, seeded, good enough to pick read sizes and test data.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        assert!(lo <= hi);
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next_u64() as u8).collect()
    }
}

/// The compressed formats rdiff detects, with a compressor for each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    Zstd,
    Gzip,
    Xz,
    Bzip2,
}

impl Codec {
    pub const ALL: [Codec; 4] = [Codec::Zstd, Codec::Gzip, Codec::Xz, Codec::Bzip2];

    /// The name rdiff uses in messages.
    pub fn name(self) -> &'static str {
        match self {
            Codec::Zstd => "zstd",
            Codec::Gzip => "gzip",
            Codec::Xz => "xz",
            Codec::Bzip2 => "bzip2",
        }
    }

    /// Length of the magic rdiff needs to recognize the format.
    pub fn magic_len(self) -> usize {
        match self {
            Codec::Zstd => 4,
            Codec::Gzip => 2,
            Codec::Xz => 6,
            Codec::Bzip2 => 4,
        }
    }

    /// Compress with an integrity check (zstd gets its optional content checksum; the
    /// other formats always carry a CRC).
    pub fn compress(self, data: &[u8]) -> Vec<u8> {
        match self {
            Codec::Zstd => {
                let mut e = zstd::stream::write::Encoder::new(Vec::new(), 3).unwrap();
                e.include_checksum(true).unwrap();
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Codec::Gzip => {
                let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Codec::Xz => {
                let mut e = liblzma::write::XzEncoder::new(Vec::new(), 1);
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
            Codec::Bzip2 => {
                let mut e = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            }
        }
    }
}

/// Recompute a raw 512-byte header's checksum in place.
pub fn fix_checksum(block: &mut [u8]) {
    assert_eq!(block.len(), 512);
    block[148..156].fill(b' ');
    let sum: u32 = block.iter().map(|&b| u32::from(b)).sum();
    let s = format!("{sum:06o}\0 ");
    block[148..156].copy_from_slice(s.as_bytes());
}

/// A ustar header for a regular file (valid checksum).
pub fn file_header(name: &str, size: u64) -> tar::Header {
    let mut h = tar::Header::new_ustar();
    h.set_path(name).unwrap();
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(1_700_000_000);
    h.set_entry_type(tar::EntryType::Regular);
    h.set_cksum();
    h
}

/// Append `data` and zero padding up to the next 512-byte boundary.
pub fn push_padded(out: &mut Vec<u8>, data: &[u8]) {
    out.extend_from_slice(data);
    let rem = out.len() % 512;
    if rem != 0 {
        out.resize(out.len() + 512 - rem, 0);
    }
}
