//! Layer flattening: N layer entry sets in, the filesystem a container would see out.
//! Applied bottom-up as the OCI image spec says: in each layer, opaque markers
//! (`DIR/.wh..wh..opq`) first hide everything below DIR from lower layers, then
//! whiteouts (`DIR/.wh.NAME`) delete NAME (and what is below it) from lower layers, then
//! the layer's own entries are added, replacing what lower layers had at those paths.
//! Whiteout files themselves never appear in the result. A path that climbs out of the
//! root (`..`) is refused.

use std::collections::BTreeMap;

use crate::entry::{Bytes, Entry};
use crate::source::{EntrySet, resolve_hardlinks};

const WH: &[u8] = b".wh.";
const OPQ: &[u8] = b".wh..wh..opq";

fn escapes(path: &[u8]) -> bool {
    path.split(|&b| b == b'/').any(|c| c == b"..")
}

fn split(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => (&path[..i], &path[i + 1..]),
        None => (b".", path),
    }
}

fn join(dir: &[u8], name: &[u8]) -> Bytes {
    if dir == b"." {
        name.into()
    } else {
        [dir, b"/", name].concat().into()
    }
}

/// Remove `path` and everything below it.
fn remove_tree(m: &mut BTreeMap<Bytes, Entry>, path: &[u8]) {
    m.remove(path);
    remove_below(m, path);
}

/// Remove everything below directory `dir` (not `dir` itself).
fn remove_below(m: &mut BTreeMap<Bytes, Entry>, dir: &[u8]) {
    if dir == b"." {
        m.retain(|k, _| &**k == b".");
        return;
    }
    let mut lo = dir.to_vec();
    lo.push(b'/');
    let mut hi = dir.to_vec();
    hi.push(b'/' + 1);
    let doomed: Vec<Bytes> = m
        .range::<[u8], _>((
            std::ops::Bound::Included(&lo[..]),
            std::ops::Bound::Excluded(&hi[..]),
        ))
        .map(|(k, _)| k.clone())
        .collect();
    for k in doomed {
        m.remove(&k);
    }
}

/// Flatten layers (bottom first). Errors name the layer and the offending path.
pub fn squash(layers: &[&EntrySet]) -> Result<Vec<Entry>, String> {
    let mut m: BTreeMap<Bytes, Entry> = BTreeMap::new();
    for (i, layer) in layers.iter().enumerate() {
        // Opaque directories first, then whiteouts, then the layer's entries.
        for e in &layer.entries {
            let (dir, name) = split(&e.path);
            if escapes(&e.path) {
                return Err(format!(
                    "layer {i}: entry {} escapes the root",
                    crate::entry::display_bytes(&e.path)
                ));
            }
            if name == OPQ {
                remove_below(&mut m, dir);
            }
        }
        for e in &layer.entries {
            let (dir, name) = split(&e.path);
            if name != OPQ
                && let Some(victim) = name.strip_prefix(WH)
            {
                if victim.is_empty() || victim == b"." || victim == b".." {
                    return Err(format!(
                        "layer {i}: whiteout {} names no file",
                        crate::entry::display_bytes(&e.path)
                    ));
                }
                remove_tree(&mut m, &join(dir, victim));
            }
        }
        for e in &layer.entries {
            let (_, name) = split(&e.path);
            if name.starts_with(WH) {
                continue;
            }
            // A non-directory replaces a whole tree; a directory over a directory keeps
            // what is below it.
            if let Some(old) = m.get(&e.path)
                && (old.kind != crate::entry::Kind::Dir || e.kind != crate::entry::Kind::Dir)
            {
                remove_below(&mut m, &e.path.clone());
            }
            m.insert(e.path.clone(), e.clone());
        }
    }
    let mut out: Vec<Entry> = m.into_values().collect();
    resolve_hardlinks(&mut out);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::Kind;
    use crate::source::{InputInfo, SourceKind};

    fn set(paths: &[(&str, Kind)]) -> EntrySet {
        let mut entries: Vec<Entry> = paths
            .iter()
            .map(|(p, k)| Entry::new(p.as_bytes().into(), *k))
            .collect();
        entries.sort_by(|a, b| a.path.cmp(&b.path));
        EntrySet {
            entries,
            info: InputInfo {
                rereadable: false,
                ..InputInfo::new("", SourceKind::Tar)
            },
        }
    }

    fn paths(v: &[Entry]) -> Vec<String> {
        v.iter()
            .map(|e| String::from_utf8_lossy(&e.path).into_owned())
            .collect()
    }

    #[test]
    fn whiteouts_and_opaque_dirs() {
        use Kind::*;
        let l0 = set(&[
            ("a", Dir),
            ("a/x", File),
            ("a/y", File),
            ("b", Dir),
            ("b/z", File),
            ("b/sub", Dir),
            ("b/sub/deep", File),
            ("c", File),
        ]);
        let l1 = set(&[
            ("a", Dir),
            ("a/.wh.x", File),
            ("b", Dir),
            ("b/.wh..wh..opq", File),
            ("b/new", File),
            (".wh.c", File),
        ]);
        let out = squash(&[&l0, &l1]).unwrap();
        assert_eq!(paths(&out), ["a", "a/y", "b", "b/new"]);
        // Re-created after deletion in a later layer.
        let l2 = set(&[("c", Dir), ("c/again", File)]);
        let out = squash(&[&l0, &l1, &l2]).unwrap();
        assert_eq!(paths(&out), ["a", "a/y", "b", "b/new", "c", "c/again"]);
    }

    #[test]
    fn opaque_marker_keeps_the_layers_own_entries() {
        use Kind::*;
        let l0 = set(&[("d", Dir), ("d/old", File)]);
        let l1 = set(&[("d", Dir), ("d/.wh..wh..opq", File), ("d/mine", File)]);
        assert_eq!(paths(&squash(&[&l0, &l1]).unwrap()), ["d", "d/mine"]);
        // An opaque marker in the root hides every lower entry.
        let l2 = set(&[(".wh..wh..opq", File), ("top", File)]);
        assert_eq!(paths(&squash(&[&l0, &l2]).unwrap()), ["top"]);
    }

    #[test]
    fn file_replacing_a_directory_drops_its_tree() {
        use Kind::*;
        let l0 = set(&[("d", Dir), ("d/f", File)]);
        let l1 = set(&[("d", File)]);
        assert_eq!(paths(&squash(&[&l0, &l1]).unwrap()), ["d"]);
    }

    #[test]
    fn escaping_paths_are_refused() {
        use Kind::*;
        let l0 = set(&[("a", Dir)]);
        let l1 = set(&[("../../x", File)]);
        assert!(
            squash(&[&l0, &l1])
                .unwrap_err()
                .contains("escapes the root")
        );
        let l2 = set(&[("a/.wh...", File)]);
        assert!(squash(&[&l0, &l2]).is_err());
    }
}
