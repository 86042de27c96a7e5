//! Micro-benchmarks of the core stages, so a regression in one is visible:
//! tar parsing (entries/s), content hashing (bytes/s), matching and comparing entry sets,
//! rendering a large report. End-to-end timings live in benches/e2e.sh.

use std::hint::black_box;
use std::io::Cursor;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use rdiff::compare::policy::{PathHits, Policy};
use rdiff::compare::{ReportParts, build_report, compare_sets};
use rdiff::entry::{Entry, Kind, Timestamp};
use rdiff::report::{InputSummary, ReportLimits};
use rdiff::source::hash::ContentHasher;
use rdiff::source::tar::TarReader;
use rdiff::source::{EntrySet, InputInfo, SourceKind};

/// A tar of `n` small files in a few directories, built in memory.
fn synthetic_tar(n: usize) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for i in 0..n {
        let data = format!("file number {i}\n").repeat(1 + i % 7);
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(1_700_000_000 + (i as u64 % 1000));
        h.set_cksum();
        b.append_data(
            &mut h,
            format!("./usr/share/d{}/f{i}.txt", i % 50),
            data.as_bytes(),
        )
        .unwrap();
    }
    b.into_inner().unwrap()
}

fn bench_tar(c: &mut Criterion) {
    let data = synthetic_tar(20_000);
    let mut g = c.benchmark_group("tar");
    g.throughput(Throughput::Elements(20_000));
    g.bench_function("parse+hash 20k members", |b| {
        b.iter(|| {
            let mut r = TarReader::new(Cursor::new(&data[..]));
            let mut n = 0u64;
            while let Some(e) = r.next_entry().unwrap() {
                let mut h = ContentHasher::new(e.size, None);
                r.read_data(&mut |d| h.update(d)).unwrap();
                black_box(h.finish());
                n += 1;
            }
            n
        })
    });
    g.finish();
}

fn bench_hash(c: &mut Criterion) {
    let data = vec![0x5au8; 64 << 20];
    let mut g = c.benchmark_group("hash");
    g.throughput(Throughput::Bytes(data.len() as u64));
    g.sample_size(10);
    // What every regular file costs: SHA-256 (the identity) and the seeded XXH3-64
    // block hashes (which only locate differences).
    g.bench_function("sha256+blocks 64 MiB", |b| {
        b.iter(|| {
            let mut h = ContentHasher::new(data.len() as u64, None);
            for c in data.chunks(1 << 20) {
                h.update(c);
            }
            black_box(h.finish())
        })
    });
    g.finish();
}

fn entry_set(n: usize, salt: u64) -> EntrySet {
    let mut entries: Vec<Entry> = (0..n)
        .map(|i| {
            let mut e = Entry::new(
                format!("usr/lib/d{}/f{i:08}", i % 1000).into_bytes().into(),
                Kind::File,
            );
            e.mode = 0o644;
            e.size = i as u64;
            // Each differing mtime by its own amount: no timestamp-shift hint folds
            // them, so the report lists every difference (`bench_hints` has the shift).
            e.mtime = Some(Timestamp::from_secs(
                1_700_000_000
                    + if i % 10 == 0 {
                        salt as i64 * (i as i64 + 1)
                    } else {
                        0
                    },
            ));
            e.digest = Some([(i % 251) as u8; 32]);
            e.order = Some(i as u32);
            e
        })
        .collect();
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    EntrySet {
        entries,
        info: InputInfo {
            entries: n as u64,
            rereadable: false,
            ..InputInfo::new("bench", SourceKind::Tar)
        },
    }
}

fn parts() -> ReportParts {
    let s = InputSummary {
        name: "x".into(),
        kind: "tar".into(),
        compression: None,
        entries: Some(0),
        bytes: 0,
        sha256: None,
        digest: None,
        bytes_fetched: None,
        repo_digests: None,
    };
    ReportParts {
        command: "rootfs".into(),
        left: s.clone(),
        right: s,
        notes: vec![],
        warnings: vec![],
        show_ignored: false,
        limits: ReportLimits {
            max_diff_lines: 200,
            ..ReportLimits::default()
        },
        parts: vec!["rootfs".into()],
        matched: Vec::new(),
        source_date_epoch: None,
    }
}

fn bench_compare(c: &mut Criterion) {
    let n = 1_000_000;
    let (l, r) = (entry_set(n, 0), entry_set(n, 7));
    let mut g = c.benchmark_group("compare");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    let hits = PathHits::new(&Policy::strict());
    g.bench_function("match+compare 1M entries (10% mtime differ)", |b| {
        b.iter(|| black_box(compare_sets(&l, &r, &Policy::strict(), b"", &hits).len()))
    });
    g.finish();
}

fn bench_render(c: &mut Criterion) {
    let (l, r) = (entry_set(100_000, 0), entry_set(100_000, 7));
    let diffs = compare_sets(
        &l,
        &r,
        &Policy::strict(),
        b"",
        &PathHits::new(&Policy::strict()),
    );
    let report = build_report(diffs, &Policy::strict(), parts());
    let mut g = c.benchmark_group("render");
    g.sample_size(10);
    g.throughput(Throughput::Elements(report.differences.len() as u64));
    for fmt in [rdiff::render::Format::Text, rdiff::render::Format::Json] {
        g.bench_function(format!("{fmt:?} 10k differences"), |b| {
            b.iter_batched(
                Vec::new,
                |mut out| {
                    rdiff::render::render(&report, fmt, rdiff::render::Look::default(), &mut out)
                        .unwrap();
                    out.len()
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

/// The hints stage over 100 000 differences: every mtime moved by one shift (one hint
/// that folds them all), and every mtime moved by its own amount (no hint).
fn bench_hints(c: &mut Criterion) {
    let n = 100_000;
    let shifted = |salt: i64, own: bool| {
        let mut s = entry_set(n, 0);
        for (i, e) in s.entries.iter_mut().enumerate() {
            let by = if own { salt * (i as i64 + 1) } else { salt };
            e.mtime = Some(Timestamp::from_secs(1_700_000_000 + by));
        }
        s
    };
    let left = entry_set(n, 0);
    let hits = PathHits::new(&Policy::strict());
    let mut g = c.benchmark_group("hints");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    for (name, own) in [("one shift", false), ("no shift", true)] {
        let right = shifted(7, own);
        let diffs = compare_sets(&left, &right, &Policy::strict(), b"", &hits);
        let inputs = rdiff::hints::Inputs::default();
        g.bench_function(format!("100k differences, {name}"), |b| {
            b.iter(|| {
                let ev = rdiff::hints::Evidence::new(&diffs, &[], &inputs);
                black_box(rdiff::hints::find(&ev).0.len())
            })
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    bench_tar,
    bench_hash,
    bench_compare,
    bench_render,
    bench_hints
);
criterion_main!(benches);
