//! Helpers shared by tests/fixtures.rs and tests/equivalence.rs.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use rdiff::cli::{Cli, Command};
use rdiff::entry::{Entry, display_bytes};
use rdiff::report::{Report, Status};
use rdiff::source::{EntrySet, Input, NoContent, ReadOptions, read_input};

use clap::Parser;

/// The repository root (where `testdata/` lives).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `testdata/<rel>` as an absolute path string.
pub fn testdata(rel: &str) -> String {
    repo()
        .join("testdata")
        .join(rel)
        .to_str()
        .unwrap()
        .to_string()
}

/// Read one input (tar in any compression, or a directory) through the library.
pub fn read_path(path: &str) -> EntrySet {
    read_input(&Input::from_arg(path), &ReadOptions::default(), &NoContent)
        .unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// Read `testdata/<rel>`.
pub fn read_fixture(rel: &str) -> EntrySet {
    read_path(&testdata(rel))
}

/// The entry at a normalized path, or a panic that says which one is missing.
pub fn entry<'a>(set: &'a EntrySet, path: &str) -> &'a Entry {
    entry_b(set, path.as_bytes())
}

pub fn entry_b<'a>(set: &'a EntrySet, path: &[u8]) -> &'a Entry {
    set.get(path).unwrap_or_else(|| {
        panic!(
            "{}: no entry {:?}; have {:?}",
            set.info.name,
            display_bytes(path),
            paths(set)
        )
    })
}

/// All normalized paths, lossy, in set order.
pub fn paths(set: &EntrySet) -> Vec<String> {
    set.entries.iter().map(|e| display_bytes(&e.path)).collect()
}

/// SHA-256 computed here, independently of rdiff's own hashing code.
pub fn sha256(data: &[u8]) -> [u8; 32] {
    use sha2::Digest as _;
    sha2::Sha256::digest(data).into()
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Parse `rdiff rootfs ARGS...` and build the report through the library.
pub fn report(args: &[&str]) -> Report {
    let mut v = vec!["rdiff", "rootfs"];
    v.extend_from_slice(args);
    let cli = Cli::try_parse_from(&v).unwrap_or_else(|e| panic!("{v:?}: {e}"));
    let Command::Rootfs(a) = cli.command else {
        unreachable!("rootfs")
    };
    rdiff::run::rootfs_report(&a).unwrap_or_else(|e| panic!("{v:?}: {e}"))
}

/// The visible differences of a report as (path, what) pairs: `what` is the field
/// name (`mode`, `xattrs.user.k`, ...) for a changed entry, `+` for an added entry and
/// `-` for a removed one.
pub fn visible(r: &Report) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for d in &r.differences {
        let p = display_bytes(&d.path);
        match d.status {
            Status::Added => {
                out.insert((p, "+".to_string()));
            }
            Status::Removed => {
                out.insert((p, "-".to_string()));
            }
            Status::Changed => {
                assert!(!d.fields.is_empty(), "{p}: changed without visible fields");
                for f in &d.fields {
                    out.insert((p.clone(), f.name()));
                }
            }
        }
    }
    out
}

/// Build an expected (path, what) set from string pairs.
pub fn set_of(items: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    items
        .iter()
        .map(|(p, f)| (p.to_string(), f.to_string()))
        .collect()
}

/// Python's `random.Random(seed)` (MT19937 seeded by `init_by_array`), enough of it to
/// reproduce `randbytes`, which the fixture script used for binary contents.
pub struct PyRandom {
    mt: [u32; 624],
    idx: usize,
}

impl PyRandom {
    pub fn new(seed: u32) -> Self {
        let mut mt = [0u32; 624];
        mt[0] = 19650218;
        for i in 1..624 {
            mt[i] = 1812433253u32
                .wrapping_mul(mt[i - 1] ^ (mt[i - 1] >> 30))
                .wrapping_add(i as u32);
        }
        // init_by_array with a one-word key (every seed used here fits 32 bits).
        let key = [seed];
        let (mut i, mut j) = (1usize, 0usize);
        for _ in 0..624 {
            mt[i] = (mt[i] ^ (mt[i - 1] ^ (mt[i - 1] >> 30)).wrapping_mul(1664525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= 624 {
                mt[0] = mt[623];
                i = 1;
            }
            if j >= key.len() {
                j = 0;
            }
        }
        for _ in 0..623 {
            mt[i] = (mt[i] ^ (mt[i - 1] ^ (mt[i - 1] >> 30)).wrapping_mul(1566083941))
                .wrapping_sub(i as u32);
            i += 1;
            if i >= 624 {
                mt[0] = mt[623];
                i = 1;
            }
        }
        mt[0] = 0x8000_0000;
        PyRandom { mt, idx: 624 }
    }

    fn next_u32(&mut self) -> u32 {
        if self.idx >= 624 {
            for k in 0..624 {
                let y = (self.mt[k] & 0x8000_0000) | (self.mt[(k + 1) % 624] & 0x7fff_ffff);
                let mut v = self.mt[(k + 397) % 624] ^ (y >> 1);
                if y & 1 != 0 {
                    v ^= 0x9908_b0df;
                }
                self.mt[k] = v;
            }
            self.idx = 0;
        }
        let mut y = self.mt[self.idx];
        self.idx += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// `randbytes(n)` for `n` a multiple of 4: `getrandbits(8n).to_bytes(n, "little")`.
    pub fn randbytes(&mut self, n: usize) -> Vec<u8> {
        assert!(n.is_multiple_of(4));
        let mut v = Vec::with_capacity(n);
        for _ in 0..n / 4 {
            v.extend_from_slice(&self.next_u32().to_le_bytes());
        }
        v
    }
}

/// Run a command, panic with its stderr if it fails.
pub fn sh(cmd: &mut std::process::Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
