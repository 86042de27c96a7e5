//! Layer flattening: arbitrary layers of arbitrary paths (whiteouts, opaque markers,
//! `..`, files over directories) -> squashed entries. Never a panic; never a path that
//! climbs out of the root, a whiteout marker, or a duplicate in the result.
#![no_main]
use libfuzzer_sys::fuzz_target;
use rdiff::entry::{Entry, Kind, normalize_path};
use rdiff::source::{EntrySet, InputInfo, SourceKind};

fuzz_target!(|data: &[u8]| {
    let mut layers: Vec<EntrySet> = Vec::new();
    for layer in data.split(|&b| b == 0).take(16) {
        let mut entries: Vec<Entry> = layer
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .take(256)
            .map(|l| {
                let kind = if l[0] % 2 == 0 { Kind::Dir } else { Kind::File };
                Entry::new(normalize_path(&l[1..]), kind)
            })
            .collect();
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        entries.dedup_by(|a, b| a.path == b.path);
        layers.push(EntrySet {
            entries,
            info: InputInfo::new("", SourceKind::Tar),
        });
    }
    let refs: Vec<&EntrySet> = layers.iter().collect();
    if let Ok(out) = rdiff::image::squash::squash(&refs) {
        for e in &out {
            assert!(
                !e.path.split(|&b| b == b'/').any(|c| c == b".."),
                "escaped: {:?}",
                e.path
            );
            let name = e.path.rsplit(|&b| b == b'/').next().unwrap_or(&[]);
            assert!(!name.starts_with(b".wh."), "whiteout left: {:?}", e.path);
        }
        assert!(out.windows(2).all(|w| w[0].path < w[1].path));
    }
});
