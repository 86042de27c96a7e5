//! Content diffs for changed regular files: a unified diff for text, the first
//! differing byte for binary content. Whether two contents differ was decided by
//! their SHA-256 digests while streaming; this stage only explains how. Small contents
//! come from the keeper; what it did not hold is fetched again from the input (only
//! the bytes needed, each fetched content hashed again whole and checked against its
//! first digest); for large files the block hashes taken while streaming say which
//! 64 KiB block to fetch, and the bytes fetched say where in it the difference is.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use similar::TextDiff;

use crate::compare::keeper::KeptPair;
use crate::entry::{BLOCK_SIZE, Bytes, Entry, display_bytes};
use crate::error::Result;
use crate::report::{ContentDiff, Difference, Excerpts, Status};
use crate::source::{EntrySet, Fetcher, Want};

/// Contents read for a content diff: the entry path and both sides' bytes.
pub type HeldContent = (Bytes, [Option<Arc<[u8]>>; 2]);

/// Settings for content diffs.
#[derive(Clone, Debug)]
pub struct ContentOptions {
    /// Largest content diffed as text (and kept in memory for it).
    pub keep_limit: u64,
    /// Lines of unified diff kept per file.
    pub max_diff_lines: u64,
    /// Bytes of content (both sides) read for text diffs in all; files past it, in path
    /// order, get no text diff (deterministically, whatever was kept while reading).
    pub budget: u64,
    /// Put before paths in diff headers (`layers/1/` for images).
    pub label_prefix: String,
    /// The whole report's budget, for messages (`budget` may be what is left of it).
    pub budget_total: u64,
    /// Read the two sides again one after the other, not at the same time
    /// (`--low-memory`: one decompression window at a time).
    pub sequential: bool,
    /// How deep nested formats are opened (`--max-depth`; 0: not at all, `--no-deep`).
    pub max_depth: u32,
    /// Bytes nested formats may still open (`--max-nested-bytes`, less what the pairs
    /// compared before used).
    pub nested_budget: u64,
    /// The whole report's nested budget, for messages.
    pub nested_budget_total: u64,
}

enum Plan {
    /// Both contents wanted whole.
    Whole,
    /// The block that holds the first difference, as the block hashes tell it.
    Block(u64),
    /// Every block both have hashes equal: the shorter content ends first.
    Exact(u64),
}

fn first_differing_block(l: &Entry, r: &Entry) -> Plan {
    let min = l.size.min(r.size);
    let (Some(lb), Some(rb)) = (l.blocks(), r.blocks()) else {
        return Plan::Block(0);
    };
    let mut b = 0u64;
    while (b as usize) < lb.len() && (b as usize) < rb.len() && lb[b as usize] == rb[b as usize] {
        b += 1;
    }
    if b * BLOCK_SIZE >= min {
        Plan::Exact(min)
    } else {
        Plan::Block(b)
    }
}

fn is_regular(e: &Entry) -> bool {
    matches!(
        e.kind,
        crate::entry::Kind::File | crate::entry::Kind::Other(_)
    )
}

/// Read the other side's bytes of the contents the keeper holds on one side only (a
/// side read after the other, `--low-memory`, keeps just its own), so that the text
/// diffs have both. Done first, before the differences are built, so that the decoder
/// window of this read does not come on top of them. Within `opts.budget` in path
/// order, as the diffs will be; a content that changed since it was first read is an
/// error, any other failure is left to [`content_diffs`], which reads again what it
/// misses and says what it could not get.
pub fn complete_kept(
    kept: &mut HashMap<Bytes, KeptPair>,
    sets: [&EntrySet; 2],
    fetchers: [&dyn Fetcher; 2],
    opts: &ContentOptions,
) -> Result<()> {
    let mut wanted: [BTreeMap<Bytes, Want>; 2] = [BTreeMap::new(), BTreeMap::new()];
    let mut paths: Vec<&Bytes> = kept.keys().collect();
    paths.sort();
    let mut bytes = 0u64;
    for path in paths {
        let pair = &kept[path];
        let Some(side) = (0..2).find(|&s| pair[s].is_none() && pair[1 - s].is_some()) else {
            continue;
        };
        let Some(e) = sets[side].get(path) else {
            continue;
        };
        let other = pair[1 - side].as_ref().map(|(d, b)| (*d, b.len() as u64));
        if !is_regular(e)
            || !fetchers[side].rereadable()
            || e.digest.is_none()
            || other.is_some_and(|(d, _)| Some(d) == e.digest)
            || e.size > opts.keep_limit
            || bytes + e.size + other.map_or(0, |(_, n)| n) > opts.budget
        {
            continue;
        }
        bytes += e.size + other.map_or(0, |(_, n)| n);
        let want = Want {
            order: e.order,
            layer: e.layer,
            start: 0,
            len: e.size,
            expect: e.digest,
        };
        wanted[side].insert(path.clone(), want);
    }
    for side in 0..2 {
        if wanted[side].is_empty() {
            continue;
        }
        let got = match fetchers[side].fetch(&wanted[side]) {
            Err(e) if matches!(e.kind, crate::error::ErrorKind::Changed(_)) => return Err(e),
            got => got.unwrap_or_default(),
        };
        for (path, f) in got {
            let Some(e) = sets[side].get(&path) else {
                continue;
            };
            if f.bytes.len() as u64 == e.size
                && let (Some(d), Some(pair)) = (e.digest, kept.get_mut(&path))
            {
                pair[side] = Some((d, Arc::from(f.bytes)));
            }
        }
    }
    Ok(())
}

/// Fill `content` of changed regular files in `diffs`: a unified diff, or where the
/// first differing byte is.
pub fn content_diffs(
    diffs: &mut [Difference],
    sets: [&EntrySet; 2],
    fetchers: [&dyn Fetcher; 2],
    kept: &HashMap<Bytes, KeptPair>,
    opts: &ContentOptions,
) -> Result<Vec<HeldContent>> {
    let mut held_out: Vec<HeldContent> = Vec::new();
    // Which differences need content, and how.
    let mut todo: Vec<(usize, Plan)> = Vec::new();
    let mut over_budget: Vec<usize> = Vec::new();
    let mut spent = 0u64;
    for (i, d) in diffs.iter().enumerate() {
        if d.status != Status::Changed || !d.fields.iter().any(|f| f.field == "content") {
            continue;
        }
        let (Some(l), Some(r)) = (sets[0].get(&d.path), sets[1].get(&d.path)) else {
            continue;
        };
        // Entries a path rule hides get no content diff (and use none of the budget);
        // hardlinks carry their target's content, whose diff is shown at the target.
        if d.ignored_by.is_some() || !is_regular(l) || !is_regular(r) {
            continue;
        }
        let plan = if l.size <= opts.keep_limit && r.size <= opts.keep_limit {
            if spent + l.size + r.size > opts.budget {
                over_budget.push(i);
                continue;
            }
            spent += l.size + r.size;
            Plan::Whole
        } else {
            first_differing_block(l, r)
        };
        todo.push((i, plan));
    }
    for &i in &over_budget {
        diffs[i].content = Some(ContentDiff::Unavailable {
            reason: format!(
                "over the {} MiB budget for text diffs in one report",
                opts.budget_total.max(opts.budget) >> 20
            ),
        });
    }
    if todo.is_empty() {
        return Ok(held_out);
    }

    // Content we hold already, checked against the entry's digest (an empty content
    // is never kept: it is known).
    let held = |side: usize, path: &[u8], e: &Entry| -> Option<Arc<[u8]>> {
        if e.size == 0 && is_regular(e) {
            return Some(Arc::from(&[][..]));
        }
        let pair = kept.get(path)?;
        let (d, b) = pair[side].as_ref()?;
        (Some(*d) == e.digest).then(|| b.clone())
    };

    let mut wanted: [BTreeMap<Bytes, Want>; 2] = [BTreeMap::new(), BTreeMap::new()];
    for (i, plan) in &todo {
        let path = &diffs[*i].path;
        for side in 0..2 {
            let e = sets[side].get(path).expect("present");
            let (start, len) = match plan {
                Plan::Whole if held(side, path, e).is_some() => continue,
                Plan::Whole => (0, e.size),
                Plan::Block(b) => (b * BLOCK_SIZE, BLOCK_SIZE),
                Plan::Exact(_) => continue,
            };
            if fetchers[side].rereadable() {
                let want = Want {
                    order: e.order,
                    layer: e.layer,
                    start,
                    len,
                    expect: e.digest,
                };
                wanted[side].insert(path.clone(), want);
            }
        }
    }
    let (fl, fr) = if opts.sequential {
        (fetchers[0].fetch(&wanted[0]), fetchers[1].fetch(&wanted[1]))
    } else {
        rayon::join(
            || fetchers[0].fetch(&wanted[0]),
            || fetchers[1].fetch(&wanted[1]),
        )
    };
    let fetched = [fl?, fr?];

    let get = |side: usize, path: &Bytes, e: &Entry| -> Option<Arc<[u8]>> {
        held(side, path, e).or_else(|| {
            fetched[side]
                .get(path)
                .filter(|f| f.bytes.len() as u64 == e.size)
                .map(|v| Arc::from(&v.bytes[..]))
        })
    };
    let stdin_reason = |side: usize| {
        if fetchers[side].rereadable() {
            "content could not be read again".to_string()
        } else {
            format!(
                "content of {} was not kept and a stream (standard input, a pipe) cannot be read twice",
                ["left", "right"][side]
            )
        }
    };

    for (i, plan) in todo {
        let path = diffs[i].path.clone();
        let l = sets[0].get(&path).expect("present");
        let r = sets[1].get(&path).expect("present");
        let mut excerpts = None;
        let cd = match plan {
            Plan::Exact(off) => ContentDiff::Binary {
                first_difference: Some(off),
                first_difference_within: None,
            },
            Plan::Whole => match (get(0, &path, l), get(1, &path, r)) {
                (Some(a), Some(b)) => {
                    let (cd, ex) = whole(&a, &b, &path, opts);
                    excerpts = Some(ex);
                    held_out.push((path.clone(), [Some(a), Some(b)]));
                    cd
                }
                (None, _) => ContentDiff::Unavailable {
                    reason: stdin_reason(0),
                },
                (_, None) => ContentDiff::Unavailable {
                    reason: stdin_reason(1),
                },
            },
            Plan::Block(b) => {
                let start = b * BLOCK_SIZE;
                match (fetched[0].get(&path), fetched[1].get(&path)) {
                    // The block hashes pointed here; the bytes say where, if anywhere.
                    (Some(a), Some(c)) if a.bytes != c.bytes => {
                        // One block of the file: other blocks may differ too.
                        let mut ex = super::excerpt::binary(&a.bytes, &c.bytes);
                        ex.complete = false;
                        excerpts = Some(ex);
                        ContentDiff::Binary {
                            first_difference: Some(start + first_mismatch(&a.bytes, &c.bytes)),
                            first_difference_within: None,
                        }
                    }
                    (Some(_), Some(_)) => ContentDiff::Binary {
                        first_difference: None,
                        first_difference_within: None,
                    },
                    _ => ContentDiff::Binary {
                        first_difference: None,
                        first_difference_within: Some((
                            start,
                            (start + BLOCK_SIZE).min(l.size.max(r.size)) - 1,
                        )),
                    },
                }
            }
        };
        diffs[i].content = Some(cd);
        diffs[i].excerpts = excerpts.map(Box::new);
    }
    Ok(held_out)
}

pub(crate) fn first_mismatch(a: &[u8], b: &[u8]) -> u64 {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len())) as u64
}

fn is_text(b: &[u8]) -> bool {
    !b.contains(&0)
}

/// Lines of the two contents beyond which no text diff is attempted.
const MAX_TEXT_LINES: usize = 50_000;

/// The content diff of two whole contents, and the excerpts of where they differ.
pub(crate) fn whole(
    a: &[u8],
    b: &[u8],
    path: &[u8],
    opts: &ContentOptions,
) -> (ContentDiff, Excerpts) {
    let binary = || {
        let cd = ContentDiff::Binary {
            first_difference: Some(first_mismatch(a, b)),
            first_difference_within: None,
        };
        (cd, super::excerpt::binary(a, b))
    };
    if !is_text(a) || !is_text(b) {
        return binary();
    }
    let lines =
        a.iter().filter(|&&c| c == b'\n').count() + b.iter().filter(|&&c| c == b'\n').count();
    if lines > MAX_TEXT_LINES {
        return binary();
    }
    let la = String::from_utf8_lossy(a);
    let lb = String::from_utf8_lossy(b);
    // Patience diff (anchored on unique lines) reads best for config files and code. The
    // deadline only guards against pathological inputs; a diff that hits it is still
    // correct, only less minimal.
    let diff = TextDiff::configure()
        .algorithm(similar::Algorithm::Patience)
        .timeout(std::time::Duration::from_secs(30))
        .diff_lines(&*la, &*lb);
    let p = format!("{}{}", opts.label_prefix, display_bytes(path));
    let full = diff
        .unified_diff()
        .context_radius(3)
        .header(&format!("left/{p}"), &format!("right/{p}"))
        .to_string();
    let total = full.lines().count() as u64;
    let shown = total.min(opts.max_diff_lines);
    let unified = if shown < total {
        let mut s: String = full
            .lines()
            .take(shown as usize)
            .flat_map(|l| [l, "\n"])
            .collect();
        s.truncate(s.len());
        s
    } else {
        full
    };
    let cd = ContentDiff::Text {
        unified,
        lines: total,
        lines_shown: shown,
    };
    (cd, super::excerpt::text(&diff))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_diff_is_cut_at_the_line_limit() {
        let a: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let b: String = (0..100).map(|i| format!("LINE {i}\n")).collect();
        let opts = ContentOptions {
            keep_limit: 1 << 20,
            max_diff_lines: 10,
            budget: 1 << 30,
            label_prefix: String::new(),
            budget_total: 0,
            sequential: false,
            max_depth: 8,
            nested_budget: 1 << 20,
            nested_budget_total: 1 << 20,
        };
        match whole(a.as_bytes(), b.as_bytes(), b"f", &opts).0 {
            ContentDiff::Text {
                unified,
                lines,
                lines_shown,
            } => {
                assert_eq!(lines_shown, 10);
                assert!(lines > 200);
                assert_eq!(unified.lines().count(), 10);
                assert!(unified.starts_with("--- left/f\n+++ right/f\n@@"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn binary_gives_first_differing_byte() {
        let a = vec![0u8; 100];
        let mut b = a.clone();
        b[42] = 1;
        let opts = ContentOptions {
            keep_limit: 1 << 20,
            max_diff_lines: 10,
            budget: 1 << 30,
            label_prefix: String::new(),
            budget_total: 0,
            sequential: false,
            max_depth: 8,
            nested_budget: 1 << 20,
            nested_budget_total: 1 << 20,
        };
        assert_eq!(
            whole(&a, &b, b"f", &opts).0,
            ContentDiff::Binary {
                first_difference: Some(42),
                first_difference_within: None
            }
        );
        assert_eq!(first_mismatch(b"abc", b"abcd"), 3);
    }
}
