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
use crate::source::{EntrySet, Fetched, Fetcher, Want};

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
        wanted[side].insert(path.clone(), Want::whole(e));
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
/// first differing byte is. Returns the whole contents compared (for `--report-dir`).
pub fn content_diffs(
    diffs: &mut [Difference],
    sets: [&EntrySet; 2],
    fetchers: [&dyn Fetcher; 2],
    kept: &HashMap<Bytes, KeptPair>,
    opts: &ContentOptions,
) -> Result<Vec<HeldContent>> {
    let todo = plan(diffs, sets, opts);
    if todo.is_empty() {
        return Ok(Vec::new());
    }
    let wanted = wanted(diffs, &todo, sets, fetchers, kept);
    let got = Got {
        kept,
        fetched: fetch_both(fetchers, &wanted, opts.sequential)?,
        fetchers,
    };
    let mut held_out: Vec<HeldContent> = Vec::new();
    for (i, plan) in todo {
        let path = diffs[i].path.clone();
        let pair = [0, 1].map(|side| sets[side].get(&path).expect("present"));
        let (cd, excerpts) = match plan {
            Plan::Exact(off) => (binary_at(Some(off)), None),
            Plan::Whole => match [0, 1].map(|side| got.whole(side, &path, pair[side])) {
                [Some(a), Some(b)] => {
                    let (cd, ex) = whole(&a, &b, &path, opts);
                    held_out.push((path, [Some(a), Some(b)]));
                    (cd, Some(ex))
                }
                [None, _] => (got.unavailable(0), None),
                [_, None] => (got.unavailable(1), None),
            },
            Plan::Block(b) => {
                let fetched = [0, 1].map(|side| got.fetched[side].get(&path));
                block_diff(b, fetched, pair[0].size.max(pair[1].size))
            }
        };
        diffs[i].content = Some(cd);
        diffs[i].excerpts = excerpts.map(Box::new);
    }
    Ok(held_out)
}

/// Which differences get a content diff, and how: changed regular files whose contents
/// differ, unless a path rule hides them. Contents both within the keep limit are
/// diffed whole, in path order within the text-diff budget (those past it are told so
/// here); larger ones at the block their hashes point to.
fn plan(
    diffs: &mut [Difference],
    sets: [&EntrySet; 2],
    opts: &ContentOptions,
) -> Vec<(usize, Plan)> {
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
    todo
}

/// Content the keeper holds already, checked against the entry's digest (an empty
/// content is never kept: it is known).
fn held(kept: &HashMap<Bytes, KeptPair>, side: usize, path: &[u8], e: &Entry) -> Option<Arc<[u8]>> {
    if e.size == 0 && is_regular(e) {
        return Some(Arc::from(&[][..]));
    }
    let pair = kept.get(path)?;
    let (d, b) = pair[side].as_ref()?;
    (Some(*d) == e.digest).then(|| b.clone())
}

/// What to read again for the plans: whole contents the keeper does not hold, the
/// blocks the block hashes point to; nothing from an input that cannot be read twice.
fn wanted(
    diffs: &[Difference],
    todo: &[(usize, Plan)],
    sets: [&EntrySet; 2],
    fetchers: [&dyn Fetcher; 2],
    kept: &HashMap<Bytes, KeptPair>,
) -> [BTreeMap<Bytes, Want>; 2] {
    let mut wanted: [BTreeMap<Bytes, Want>; 2] = [BTreeMap::new(), BTreeMap::new()];
    for (i, plan) in todo {
        let path = &diffs[*i].path;
        for side in 0..2 {
            let e = sets[side].get(path).expect("present");
            let want = match plan {
                Plan::Whole if held(kept, side, path, e).is_some() => continue,
                Plan::Whole => Want::whole(e),
                Plan::Block(b) => Want::range(e, b * BLOCK_SIZE, BLOCK_SIZE),
                Plan::Exact(_) => continue,
            };
            if fetchers[side].rereadable() {
                wanted[side].insert(path.clone(), want);
            }
        }
    }
    wanted
}

/// Read both sides again, at the same time or (`sequential`) one after the other.
pub(super) fn fetch_both(
    fetchers: [&dyn Fetcher; 2],
    wanted: &[BTreeMap<Bytes, Want>; 2],
    sequential: bool,
) -> Result<[BTreeMap<Bytes, Fetched>; 2]> {
    let (fl, fr) = if sequential {
        (fetchers[0].fetch(&wanted[0]), fetchers[1].fetch(&wanted[1]))
    } else {
        rayon::join(
            || fetchers[0].fetch(&wanted[0]),
            || fetchers[1].fetch(&wanted[1]),
        )
    };
    Ok([fl?, fr?])
}

/// The bytes a content diff has: held by the keeper, or fetched again.
struct Got<'a> {
    kept: &'a HashMap<Bytes, KeptPair>,
    fetched: [BTreeMap<Bytes, Fetched>; 2],
    fetchers: [&'a dyn Fetcher; 2],
}

impl Got<'_> {
    /// The whole content of `e` on `side`, held or fetched.
    fn whole(&self, side: usize, path: &Bytes, e: &Entry) -> Option<Arc<[u8]>> {
        held(self.kept, side, path, e).or_else(|| {
            self.fetched[side]
                .get(path)
                .filter(|f| f.bytes.len() as u64 == e.size)
                .map(|v| Arc::from(&v.bytes[..]))
        })
    }

    /// Why `side`'s content is missing.
    fn unavailable(&self, side: usize) -> ContentDiff {
        let reason = if self.fetchers[side].rereadable() {
            "content could not be read again".to_string()
        } else {
            format!(
                "content of {} was not kept and a stream (standard input, a pipe) cannot be read twice",
                ["left", "right"][side]
            )
        };
        ContentDiff::Unavailable { reason }
    }
}

/// A binary content diff saying where the contents first differ, if known.
fn binary_at(first_difference: Option<u64>) -> ContentDiff {
    ContentDiff::Binary {
        first_difference,
        first_difference_within: None,
    }
}

/// The content diff of two large contents from block `b`, as fetched from each side
/// (`size`: the larger content's size), and the excerpts of where the block differs.
fn block_diff(b: u64, got: [Option<&Fetched>; 2], size: u64) -> (ContentDiff, Option<Excerpts>) {
    let start = b * BLOCK_SIZE;
    match got {
        // The block hashes pointed here; the bytes say where, if anywhere.
        [Some(a), Some(c)] if a.bytes != c.bytes => {
            // One block of the file: other blocks may differ too.
            let mut ex = super::excerpt::binary(&a.bytes, &c.bytes);
            ex.complete = false;
            let cd = binary_at(Some(start + first_mismatch(&a.bytes, &c.bytes)));
            (cd, Some(ex))
        }
        [Some(_), Some(_)] => (binary_at(None), None),
        _ => {
            let cd = ContentDiff::Binary {
                first_difference: None,
                first_difference_within: Some((start, (start + BLOCK_SIZE).min(size) - 1)),
            };
            (cd, None)
        }
    }
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

    /// Diffs of at most 10 lines.
    fn opts() -> ContentOptions {
        ContentOptions {
            keep_limit: 1 << 20,
            max_diff_lines: 10,
            budget: 1 << 30,
            label_prefix: String::new(),
            budget_total: 0,
            sequential: false,
            max_depth: 8,
            nested_budget: 1 << 20,
            nested_budget_total: 1 << 20,
        }
    }

    #[test]
    fn text_diff_is_cut_at_the_line_limit() {
        let a: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let b: String = (0..100).map(|i| format!("LINE {i}\n")).collect();
        let opts = opts();
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
        let opts = opts();
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
