//! Bytes -> (possibly compressed) tar source -> entries. Must never panic, hang or
//! allocate without bound; errors are fine.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rdiff::source::{Checks, Collector, NoContent, ReadOptions, finish_set, read_tar_from};

fuzz_target!(|data: &[u8]| {
    let opts = ReadOptions {
        tar_limits: rdiff::source::tar::Limits {
            max_meta: 1 << 20,
            max_sparse_chunks: 1 << 12,
            max_sparse_holes: 64 << 20,
            max_uncompressed: 64 << 20,
            max_entries: 100_000,
        },
        ..ReadOptions::default()
    };
    let mut c = Collector::new(&opts, &NoContent);
    let res = read_tar_from(
        Box::new(data),
        &opts.tar_limits,
        true,
        Some(Checks {
            blob: true,
            diff_id: true,
        }),
        |tr| {
            while let Some(t) = tr.next_entry()? {
                c.member(tr, t)?;
            }
            Ok(())
        },
    );
    if res.is_ok() {
        let info = rdiff::source::InputInfo::new("fuzz", rdiff::source::SourceKind::Tar);
        let set = finish_set(c.entries, info);
        // Sorted and unique, whatever the archive said.
        assert!(set.entries.windows(2).all(|w| w[0].path < w[1].path));
    }
});
