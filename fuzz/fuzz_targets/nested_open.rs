//! Bytes -> a nested format by its first bytes -> opened (members, header fields) ->
//! every member's content read again. Must never panic, hang or allocate without bound
//! (the budget is 16 MiB); errors are fine.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rdiff::source::nested::{Budget, open, sniff};

fuzz_target!(|data: &[u8]| {
    let Some(format) = sniff(&data[..data.len().min(rdiff::source::nested::HEAD)]) else {
        return;
    };
    let mut budget = Budget::new(16 << 20);
    let Ok(o) = open(format, data.into(), b"x!/", b"x", &mut budget) else {
        assert!(budget.used <= budget.cap);
        return;
    };
    assert!(budget.used <= budget.cap);
    // Sorted and unique, every path under the prefix.
    assert!(o.set.entries.windows(2).all(|w| w[0].path < w[1].path));
    assert!(o.set.entries.iter().all(|e| e.path.starts_with(b"x!/")));
    let files: Vec<&rdiff::entry::Entry> = o
        .set
        .entries
        .iter()
        .filter(|e| e.kind == rdiff::entry::Kind::File && e.digest.is_some())
        .collect();
    if let Ok(got) = o.contents(b"x!/", &files, &mut budget) {
        for e in files {
            if let Some(b) = got.get(&e.path) {
                assert_eq!(Some(rdiff::source::hash::sha256(b)), e.digest);
            }
        }
    }
});
