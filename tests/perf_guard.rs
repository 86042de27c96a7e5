//! A performance regression guard that does not depend on timing noise: peak memory
//! (deterministic to a few percent) and the exact report on a synthetic pair of plain
//! tars with 200 000 small files each.
//!
//! The pair (made here, in a temporary directory, about 300 MB each): files
//! `dNNN/fNNNNNN`, 1 KiB of text each. On the right, every 10th file (i % 10 == 0) has
//! another mtime and every 1000th (i % 1000 == 7) another content, so the report must
//! list exactly 20 000 mtime changes and 200 content changes, and the input's `sha256`,
//! nothing else (an mtime changes the header checksum too, but that value follows from
//! the rest of the block: no `header` difference).
//!
//! Peak RSS is measured with GNU time (`/usr/bin/time -f %M`, package `time`) around
//! the binary of this test build (debug profile, as CI runs it). Without the tool the
//! memory assertion is skipped with a message, unless `RDIFF_REQUIRE_TOOLS=1`.

mod support;

use std::collections::BTreeSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::time::Duration;

use support::run::rdiff;

const FILES: usize = 200_000;
const FILE_SIZE: usize = 1024;

/// Peak RSS bound in MB. Measured on 2026-11-26 on the 2-core development machine
/// (debug build, `rdiff rootfs --format json` of this pair, fuzzers running alongside):
/// 307, 373 and 375 MB in three runs (300 084 to 366 544 KiB by GNU time; the spread
/// comes from how far one side's reading runs ahead of the other's), 7.4 to 8.1 s.
/// Bound: twice the highest measurement.
const PEAK_RSS_BOUND_MB: u64 = 750;

/// Only a hang guard: the run takes about 8 s in a debug build.
const TIMEOUT: Duration = Duration::from_secs(180);

fn content(i: usize, changed: bool) -> Vec<u8> {
    let mut v: Vec<u8> = format!("line {i:06}\n")
        .repeat(FILE_SIZE / 12 + 1)
        .into_bytes();
    v.truncate(FILE_SIZE);
    if changed {
        v[..4].copy_from_slice(b"LINE");
    }
    v
}

fn mtime_changed(i: usize) -> bool {
    i.is_multiple_of(10)
}

fn content_changed(i: usize) -> bool {
    i % 1000 == 7
}

fn name(i: usize) -> String {
    format!("d{:03}/f{i:06}", i / 1000)
}

/// Write the left (`right == false`) or right tar of the pair.
fn write_pair_side(path: &Path, right: bool) {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path).unwrap());
    let mut tpl = tar::Header::new_ustar();
    tpl.set_size(FILE_SIZE as u64);
    tpl.set_mode(0o644);
    tpl.set_uid(0);
    tpl.set_gid(0);
    tpl.set_entry_type(tar::EntryType::Regular);
    for i in 0..FILES {
        let mut h = tpl.clone();
        h.set_path(name(i)).unwrap();
        let mtime = if right && mtime_changed(i) {
            1_700_000_001
        } else {
            1_700_000_000
        };
        h.set_mtime(mtime);
        h.set_cksum();
        w.write_all(h.as_bytes()).unwrap();
        w.write_all(&content(i, right && content_changed(i)))
            .unwrap();
    }
    w.write_all(&[0u8; 1024]).unwrap();
    w.flush().unwrap();
}

#[test]
fn small_files_pair_memory_and_report() {
    let t = tempfile::tempdir().unwrap();
    let (a, b) = (t.path().join("a.tar"), t.path().join("b.tar"));
    write_pair_side(&a, false);
    write_pair_side(&b, true);
    let out = rdiff(["rootfs", "--format", "json"])
        .arg(&a)
        .arg(&b)
        .timeout(TIMEOUT)
        .measure_peak()
        .run();
    assert!(!out.timed_out, "rdiff did not finish within {TIMEOUT:?}");
    let (elapsed, stderr) = (out.elapsed, &out.stderr);
    assert_eq!(out.status, Some(1), "{}", out.describe());
    assert!(stderr.is_empty(), "{stderr}");

    // The report: exactly the expected differences.
    let r = out.json();
    assert_eq!(r["left"]["entries"], FILES);
    assert_eq!(r["right"]["entries"], FILES);
    let mut got = BTreeSet::new();
    for d in r["differences"].as_array().unwrap() {
        assert_eq!(d["status"], "changed", "{d}");
        for f in d["fields"].as_array().unwrap() {
            got.insert((
                d["path"].as_str().unwrap().to_string(),
                f["name"].as_str().unwrap().to_string(),
            ));
        }
    }
    let mut want = BTreeSet::new();
    want.insert(("input".to_string(), "sha256".to_string()));
    for i in 0..FILES {
        if mtime_changed(i) {
            want.insert((name(i), "mtime".to_string()));
        }
        if content_changed(i) {
            want.insert((name(i), "content".to_string()));
        }
    }
    assert_eq!(want.len(), 20_201);
    if got != want {
        let extra: Vec<_> = got.difference(&want).take(10).collect();
        let missing: Vec<_> = want.difference(&got).take(10).collect();
        panic!("report differs: unexpected {extra:?}, missing {missing:?}");
    }
    assert_eq!(r["summary"]["changed"], 20_200);
    assert_eq!(r["summary"]["fields"]["sha256"]["differences"], 1);
    assert_eq!(r["summary"]["fields"]["mtime"]["differences"], 20_000);
    assert_eq!(r["summary"]["fields"]["content"]["differences"], 200);
    assert_eq!(
        r["summary"]["fields"].as_object().unwrap().len(),
        3,
        "{}",
        r["summary"]
    );
    assert!(r.get("cut").is_none(), "the report was cut");

    // Peak memory.
    if let Some(kib) = out.peak_kib {
        let mb = kib * 1024 / 1_000_000;
        eprintln!("peak RSS {mb} MB ({kib} KiB), {elapsed:?}; bound {PEAK_RSS_BOUND_MB} MB");
        assert!(
            mb < PEAK_RSS_BOUND_MB,
            "peak RSS {mb} MB is over the bound of {PEAK_RSS_BOUND_MB} MB"
        );
    }
}
