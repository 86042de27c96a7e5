//! Why a file differs inside: the content stage's last step. For each changed regular
//! file whose two contents differ and are the same nested format (by their first
//! bytes: a `.gz`, a jar, a `.deb`, a tar), both contents are opened
//! (`source::nested`) and compared as any two entry sets are, under the same policy;
//! what differs inside becomes ordinary differences at `OUTER!/INNER`, and the
//! stream's or container's header fields (`gzip.mtime`) fields of the outer entry.
//! Members that differ are compared in turn (text diff, opened again), down to
//! `--max-depth`.
//!
//! Bounds: the bytes opened per report (`--max-nested-bytes`: both sides' outer
//! contents, then every byte decoded or copied out at any depth) and the depth. What a
//! bound stops, and content that is not what its first bytes said, is a note on the
//! entry; it never fails the run. Entries are opened in parallel; the budget is spent
//! in path order whatever the threads did (see [`open_all`]), so the report is the
//! same on every run.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rayon::prelude::*;

use super::content::{ContentOptions, HeldContent, first_mismatch, whole};
use super::policy::{PathHits, Policy};
use crate::entry::{BLOCK_SIZE, Bytes, Entry, Kind};
use crate::error::Result;
use crate::report::{ContentDiff, Difference, FieldDiff, Note, Status, Value};
use crate::source::nested::{self, Budget, Format, Opened, Problem, sniff};
use crate::source::{EntrySet, Fetcher, Want};

/// A note on an entry a bound kept from being opened (or opened whole).
pub const NOT_OPENED: &str = "nested-not-opened";
/// A note on an entry whose content is not what its first bytes say.
pub const MALFORMED: &str = "nested-malformed";
/// A note on an entry opened on both sides where nothing compared inside differs.
pub const NO_DIFFERENCE: &str = "nested-no-difference";

/// Everything one nested comparison is done under.
struct Cx<'a> {
    policy: &'a Policy,
    hits: &'a PathHits,
    location: &'a [u8],
    opts: &'a ContentOptions,
}

/// What opening one pair of contents found: fields of the outer entry, differences
/// inside (in report order), notes.
#[derive(Default)]
struct Found {
    fields: Vec<FieldDiff>,
    diffs: Vec<Difference>,
    notes: Vec<Note>,
}

impl Found {
    fn note(path: &[u8], kind: &'static str, message: String) -> Found {
        Found {
            notes: vec![Note {
                path: path.into(),
                kind,
                message,
            }],
            ..Found::default()
        }
    }
}

/// What the nested stage of one pair gave besides the differences it added.
#[derive(Default)]
pub struct NestedOutcome {
    pub notes: Vec<Note>,
    /// Bytes of the report's nested budget it used.
    pub spent: u64,
}

/// Both sides' contents of an entry, where known.
type Both = [Option<Arc<[u8]>>; 2];

/// One changed entry to open: its place in the differences and both contents.
struct Job {
    index: usize,
    path: Bytes,
    bytes: Both,
    /// Both outer contents' sizes, the first bytes it takes from the budget.
    cost: u64,
}

/// Open the changed files of one pair whose contents are the same nested format and
/// add what differs inside to `diffs` (after each outer entry) and its fields.
#[allow(clippy::too_many_arguments)]
pub fn explain(
    diffs: &mut Vec<Difference>,
    sets: [&EntrySet; 2],
    fetchers: [&dyn Fetcher; 2],
    held: &[HeldContent],
    policy: &Policy,
    hits: &PathHits,
    location: &[u8],
    opts: &ContentOptions,
) -> Result<NestedOutcome> {
    let mut out = NestedOutcome::default();
    if opts.max_depth == 0 {
        return Ok(out);
    }
    let (mut jobs, mut wanted) = choose(diffs, sets, fetchers, held, opts, &mut out);
    fetch(&mut jobs, &mut wanted, fetchers, opts.sequential)?;
    let cx = Cx {
        policy,
        hits,
        location,
        opts,
    };
    let (found, used) = open_all(&cx, jobs, opts.nested_budget);
    out.spent = used;
    let mut found: BTreeMap<usize, Found> = found.into_iter().collect();
    let old = std::mem::take(diffs);
    for (i, mut d) in old.into_iter().enumerate() {
        match found.remove(&i) {
            Some(f) => {
                d.fields.extend(f.fields);
                diffs.push(d);
                diffs.extend(f.diffs);
                out.notes.extend(f.notes);
            }
            None => diffs.push(d),
        }
    }
    Ok(out)
}

/// The entries worth opening, in path order, as far as the budget could go for their
/// outer contents alone: both regular, contents that differ, not hidden by a path
/// rule, and (as far as known before reading them) the same nested format. Also what
/// must be fetched again for them.
fn choose(
    diffs: &[Difference],
    sets: [&EntrySet; 2],
    fetchers: [&dyn Fetcher; 2],
    held: &[HeldContent],
    opts: &ContentOptions,
    out: &mut NestedOutcome,
) -> (Vec<Job>, [BTreeMap<Bytes, Want>; 2]) {
    let held: HashMap<&[u8], &Both> = held.iter().map(|(p, c)| (&p[..], c)).collect();
    let mut jobs = Vec::new();
    let mut wanted = [BTreeMap::new(), BTreeMap::new()];
    let mut reserved = 0u64;
    for (index, d) in diffs.iter().enumerate() {
        let Some(pair) = candidate(d, sets) else {
            continue;
        };
        let bytes = held.get(&d.path[..]).map_or([None, None], |c| (*c).clone());
        if !worth_opening(pair, &bytes) {
            continue;
        }
        let cost = pair[0].size + pair[1].size;
        if reserved + cost > opts.nested_budget {
            out.notes.push(over_budget(&d.path, opts));
            continue;
        }
        if (0..2).any(|s| bytes[s].is_none() && !fetchers[s].rereadable()) {
            continue;
        }
        reserved += cost;
        for (s, e) in pair.iter().enumerate() {
            if bytes[s].is_none() {
                wanted[s].insert(d.path.clone(), Want::whole(e));
            }
        }
        let path = d.path.clone();
        jobs.push(Job {
            index,
            path,
            bytes,
            cost,
        });
    }
    (jobs, wanted)
}

fn over_budget(path: &[u8], opts: &ContentOptions) -> Note {
    let message = format!(
        "not opened: over the {} bytes of --max-nested-bytes for this report",
        opts.nested_budget_total
    );
    Note {
        path: path.into(),
        kind: NOT_OPENED,
        message,
    }
}

/// Both entries of a changed regular file whose content differs, unless a path rule
/// hides it.
fn candidate<'a>(d: &Difference, sets: [&'a EntrySet; 2]) -> Option<[&'a Entry; 2]> {
    let regular = |e: &Entry| matches!(e.kind, Kind::File | Kind::Other(_));
    if d.status != Status::Changed
        || d.ignored_by.is_some()
        || !d.fields.iter().any(|f| f.field == "content")
    {
        return None;
    }
    let (l, r) = (sets[0].get(&d.path)?, sets[1].get(&d.path)?);
    (regular(l) && regular(r) && l.digest != r.digest).then_some([l, r])
}

/// Whether the two contents may be the same nested format, from what is known before
/// reading them: the bytes at hand, else the format the reader saw at the start of a
/// content over one block; a smaller content not at hand is read to find out.
fn worth_opening(pair: [&Entry; 2], bytes: &Both) -> bool {
    let known = |s: usize| -> Option<Option<Format>> {
        match &bytes[s] {
            Some(b) => Some(sniff(b)),
            None if pair[s].size > BLOCK_SIZE => Some(pair[s].nested_format()),
            None => None,
        }
    };
    match (known(0), known(1)) {
        (Some(None), _) | (_, Some(None)) => false,
        (Some(a), Some(b)) => a == b,
        _ => true,
    }
}

/// Read again the contents not at hand (both sides at once, unless `sequential`).
fn fetch(
    jobs: &mut [Job],
    wanted: &mut [BTreeMap<Bytes, Want>; 2],
    fetchers: [&dyn Fetcher; 2],
    sequential: bool,
) -> Result<()> {
    if wanted.iter().all(BTreeMap::is_empty) {
        return Ok(());
    }
    let mut got = super::content::fetch_both(fetchers, wanted, sequential)?;
    for job in jobs {
        for (s, g) in got.iter_mut().enumerate() {
            if job.bytes[s].is_none()
                && let Some(f) = g.remove(&job.path)
                && Some(f.bytes.len() as u64) == wanted[s].get(&job.path).map(|w| w.len)
            {
                job.bytes[s] = Some(Arc::from(f.bytes));
            }
        }
    }
    Ok(())
}

/// Open every job, in parallel, and spend the budget in path order: job `i` may use
/// what the jobs before it left (`left` less what they used). A job is run with
/// what was left when its chunk started; its result stands when it needed no more
/// than its own share (a smaller cap it never reached changes nothing), and it is run
/// again with its share otherwise. Same report whatever the threads and timing.
fn open_all(cx: &Cx<'_>, jobs: Vec<Job>, mut left: u64) -> (Vec<(usize, Found)>, u64) {
    let chunk = (rayon::current_num_threads() * 4).max(1);
    let mut out = Vec::with_capacity(jobs.len());
    let mut used = 0u64;
    for batch in jobs.chunks(chunk) {
        let cap = left;
        let tried: Vec<(Found, Budget)> = batch
            .par_iter()
            .map(|job| {
                let mut b = Budget::new(cap);
                (open_job(cx, job, &mut b), b)
            })
            .collect();
        for (job, (found, b)) in batch.iter().zip(tried) {
            let (found, b) = if b.cap == left || (!b.refused && b.used <= left) {
                (found, b)
            } else {
                let mut again = Budget::new(left);
                (open_job(cx, job, &mut again), again)
            };
            left -= b.used;
            used += b.used;
            out.push((job.index, found));
        }
    }
    (out, used)
}

/// Open one job: its outer contents are paid for first, then what opening them costs.
fn open_job(cx: &Cx<'_>, job: &Job, budget: &mut Budget) -> Found {
    let [Some(a), Some(b)] = &job.bytes else {
        return Found::default();
    };
    if !budget.take(job.cost) {
        return Found {
            notes: vec![over_budget(&job.path, cx.opts)],
            ..Found::default()
        };
    }
    open_pair(cx, &job.path, [a.clone(), b.clone()], 1, budget)
}

/// Open two contents of the same format at `path` (depth 1 for a file of the input)
/// and compare what they hold.
fn open_pair(
    cx: &Cx<'_>,
    path: &[u8],
    bytes: [Arc<[u8]>; 2],
    depth: u32,
    budget: &mut Budget,
) -> Found {
    let format = match (sniff(&bytes[0]), sniff(&bytes[1])) {
        (Some(a), Some(b)) if a == b => a,
        _ => return Found::default(),
    };
    if depth > cx.opts.max_depth {
        let message = format!(
            "not opened as {}: nested deeper than --max-depth {}",
            format.name(),
            cx.opts.max_depth
        );
        return Found::note(path, NOT_OPENED, message);
    }
    let prefix = [path, b"!/"].concat();
    let name = nested::stream::member_name(path);
    let [a, b] = bytes
        .clone()
        .map(|d| nested::open(format, d, &prefix, &name, budget));
    let (a, b) = match (a, b) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => return problems(path, format, [a.err(), b.err()]),
    };
    let mut found = Found {
        fields: header_fields(&a, &b, cx.policy),
        ..Found::default()
    };
    let mut diffs = super::compare_sets(&a.set, &b.set, cx.policy, cx.location, cx.hits);
    let outer: Bytes = [cx.location, path].concat().into();
    for d in &mut diffs {
        d.inside = Some(outer.clone());
    }
    member_fields(&mut diffs, &a, &b, cx.policy);
    found.notes = super::notes(&a.set, &b.set, None, cx.policy);
    let deeper = member_contents(cx, &mut diffs, [&a, &b], &prefix, depth, budget);
    if found.fields.is_empty() && diffs.is_empty() {
        same_inside(path, &a, [&bytes[0], &bytes[1]], cx.policy, &mut found);
    } else if a.format == Format::Gzip && diffs.is_empty() {
        gzip_beyond_headers([&bytes[0], &bytes[1]], cx.policy, &mut found);
    }
    let mut deeper: BTreeMap<usize, Found> = deeper.into_iter().collect();
    for (i, mut d) in diffs.into_iter().enumerate() {
        let f = deeper.remove(&i).unwrap_or_default();
        d.fields.extend(f.fields);
        found.diffs.push(d);
        found.diffs.extend(f.diffs);
        found.notes.extend(f.notes);
    }
    found
}

/// The notes for contents that did not open: malformed on a side, or cut by a bound.
fn problems(path: &[u8], format: Format, errs: [Option<Problem>; 2]) -> Found {
    let mut found = Found::default();
    for (side, e) in ["left", "right"].iter().zip(errs) {
        let (kind, message) = match e {
            None => continue,
            Some(Problem::Malformed(m)) => (
                MALFORMED,
                format!("{side} is not a readable {}: {m}", format.name()),
            ),
            Some(Problem::Cut(m)) => (
                NOT_OPENED,
                format!("not opened on {side}: {m} (--max-nested-bytes)"),
            ),
        };
        found.notes.push(Note {
            path: path.into(),
            kind,
            message,
        });
    }
    found
}

/// The header fields of the two streams or containers that differ, as `FAMILY.KEY`
/// fields of the outer entry (in the order the left side has them, then the right's
/// own), tagged by the policy.
fn header_fields(a: &Opened, b: &Opened, policy: &Policy) -> Vec<FieldDiff> {
    // Each key once (a hostile header may repeat one; its first value counts).
    let mut keys: Vec<(&'static str, &str)> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for f in a.header.iter().chain(&b.header) {
        if seen.insert((f.0, f.1.as_str())) {
            keys.push((f.0, f.1.as_str()));
        }
    }
    let (va, vb) = (header_values(a), header_values(b));
    let get = |m: &BTreeMap<(&'static str, &str), &str>, k| {
        m.get(k)
            .map_or(Value::Absent, |v| Value::Text(v.to_string()))
    };
    keys.iter()
        .map(|k| FieldDiff::keyed(k.0, k.1.as_bytes(), get(&va, k), get(&vb, k)))
        .filter(|f| f.left != f.right)
        .map(|f| tagged(f, policy))
        .collect()
}

/// A container's header fields by family and key (the first of a repeated key).
fn header_values(o: &Opened) -> BTreeMap<(&'static str, &str), &str> {
    let mut m = BTreeMap::new();
    for f in o.header.iter().rev() {
        m.insert((f.0, f.1.as_str()), f.2.as_str());
    }
    m
}

fn tagged(mut f: FieldDiff, policy: &Policy) -> FieldDiff {
    f.ignored_by = policy.field_rule(&f).map(|r| policy.rules[r].name.clone());
    f
}

/// Add the members' format-only fields (`zip.method`) that differ to the differences,
/// making a difference for a member that had none.
fn member_fields(diffs: &mut Vec<Difference>, a: &Opened, b: &Opened, policy: &Policy) {
    let sorted = diffs.len();
    for (path, fa) in &a.fields {
        let (Some(fb), Some(la), Some(lb)) = (b.fields.get(path), a.set.get(path), b.set.get(path))
        else {
            continue;
        };
        let map = |f: &[nested::MemberField]| -> BTreeMap<(&'static str, String), String> {
            f.iter()
                .map(|(fam, k, v)| ((*fam, k.clone()), v.clone()))
                .collect()
        };
        let (ma, mb) = (map(fa), map(fb));
        let keys: std::collections::BTreeSet<&(&'static str, String)> =
            ma.keys().chain(mb.keys()).collect();
        let text = |v: Option<&String>| v.map_or(Value::Absent, |s| Value::Text(s.clone()));
        let fields: Vec<FieldDiff> = keys
            .into_iter()
            .filter(|k| ma.get(*k) != mb.get(*k))
            .map(|k| FieldDiff::keyed(k.0, k.1.as_bytes(), text(ma.get(k)), text(mb.get(k))))
            .map(|f| tagged(f, policy))
            .collect();
        if fields.is_empty() {
            continue;
        }
        // The differences compare_sets gave are sorted; new ones go after them.
        match diffs[..sorted].binary_search_by(|d| d.path.cmp(path)) {
            Ok(i) => diffs[i].fields.extend(fields),
            Err(_) => {
                let mut d = Difference::new(path.clone(), Status::Changed);
                d.left_kind = Some(la.kind);
                d.right_kind = Some(lb.kind);
                d.fields = fields;
                d.ignored_by = policy.path_rule(path).map(|r| policy.rules[r].name.clone());
                diffs.push(d);
            }
        }
    }
    if diffs.len() > sorted {
        diffs.sort_by(|x, y| x.path.cmp(&y.path));
    }
}

/// Content diffs of the members whose contents differ, and what is nested in them.
fn member_contents(
    cx: &Cx<'_>,
    diffs: &mut [Difference],
    opened: [&Opened; 2],
    prefix: &[u8],
    depth: u32,
    budget: &mut Budget,
) -> Vec<(usize, Found)> {
    let sets = [&opened[0].set, &opened[1].set];
    let todo: Vec<(usize, [&Entry; 2])> = diffs
        .iter()
        .enumerate()
        .filter_map(|(i, d)| Some((i, candidate(d, sets)?)))
        .collect();
    if todo.is_empty() {
        return Vec::new();
    }
    let mut got = Vec::new();
    for s in 0..2 {
        let want: Vec<&Entry> = todo.iter().map(|(_, p)| p[s]).collect();
        got.push(
            opened[s]
                .contents(prefix, &want, budget)
                .unwrap_or_default(),
        );
    }
    let mut out = Vec::new();
    for (i, pair) in todo {
        let path = &diffs[i].path;
        let (Some(a), Some(b)) = (got[0].remove(path), got[1].remove(path)) else {
            diffs[i].content = Some(ContentDiff::Unavailable {
                reason: format!(
                    "over the {} bytes of --max-nested-bytes for this report",
                    cx.opts.nested_budget_total
                ),
            });
            continue;
        };
        let small = pair.iter().all(|e| e.size <= cx.opts.keep_limit);
        let views = [0, 1].map(|s| opened[s].views.get(path));
        let (content, excerpts) = if let [Some(va), Some(vb)] = views {
            // A readable view says more than raw bytes (symbols, notes, strings).
            whole(va, vb, path, cx.opts)
        } else if small {
            whole(&a, &b, path, cx.opts)
        } else {
            let cd = ContentDiff::Binary {
                first_difference: Some(first_mismatch(&a, &b)),
                first_difference_within: None,
            };
            (cd, crate::compare::excerpt::binary(&a, &b))
        };
        diffs[i].content = Some(content);
        // Where the members differ, for the hints (as for the outer entries).
        diffs[i].excerpts = Some(Box::new(excerpts));
        out.push((
            i,
            open_pair(cx, &diffs[i].path.clone(), [a, b], depth + 1, budget),
        ));
    }
    out
}

/// One member of a gzip stream: its header without the mtime (and without the header
/// CRC, which covers the mtime), and the deflate data and trailer after it.
struct GzMember<'a> {
    head: Vec<u8>,
    body: &'a [u8],
}

/// The members of a gzip stream held in memory, or `None` if they do not parse.
fn gzip_members(data: &[u8]) -> Option<Vec<GzMember<'_>>> {
    use flate2::{Decompress, FlushDecompress, Status};
    let mut out = Vec::new();
    let mut at = 0;
    let mut buf = vec![0u8; 64 << 10];
    while at < data.len() {
        let d = &data[at..];
        if d.len() < 10 || d[..3] != [0x1f, 0x8b, 8] {
            return None;
        }
        let flags = d[3];
        let mut i = 10;
        if flags & 4 != 0 {
            let n = u16::from_le_bytes([*d.get(i)?, *d.get(i + 1)?]);
            i += 2 + usize::from(n);
        }
        for bit in [8, 16] {
            if flags & bit != 0 {
                i += d.get(i..)?.iter().position(|&b| b == 0)? + 1;
            }
        }
        let start = i + if flags & 2 != 0 { 2 } else { 0 };
        let mut head = d.get(..4)?.to_vec();
        head.extend_from_slice(d.get(8..i)?);
        let mut z = Decompress::new(false);
        loop {
            let (was_in, was_out) = (z.total_in(), z.total_out());
            let input = d.get(start + z.total_in() as usize..)?;
            match z.decompress(input, &mut buf, FlushDecompress::None).ok()? {
                Status::StreamEnd => break,
                _ if (z.total_in(), z.total_out()) == (was_in, was_out) => return None,
                _ => {}
            }
        }
        let end = start + z.total_in() as usize + 8;
        out.push(GzMember {
            head,
            body: d.get(start..end)?,
        });
        at += end;
    }
    Some(out)
}

/// Two gzip streams that decode to the same bytes and whose headers differ: when the
/// bytes differ in more than the header fields show (the deflate data, or a header
/// field the member summary does not tell apart), `gzip.encoding` says so, so that a
/// header mtime is never all that is seen to differ (and `gzip-mtime` never says
/// nothing else does) when `gzip -n` would not make the two the same.
fn gzip_beyond_headers(bytes: [&[u8]; 2], policy: &Policy, found: &mut Found) {
    let other_fields = found
        .fields
        .iter()
        .any(|f| f.field == "gzip" && f.key.as_deref() != Some(&b"mtime"[..]));
    let differ = match (gzip_members(bytes[0]), gzip_members(bytes[1])) {
        (Some(a), Some(b)) => {
            a.len() != b.len()
                || a.iter()
                    .zip(&b)
                    .any(|(x, y)| x.body != y.body || (!other_fields && x.head != y.head))
        }
        _ => true,
    };
    if differ {
        let size = |b: &[u8]| Value::Text(format!("{} compressed bytes", b.len()));
        let f = FieldDiff::keyed("gzip", &b"encoding"[..], size(bytes[0]), size(bytes[1]));
        found.fields.push(tagged(f, policy));
    }
}

/// Two contents opened whole with nothing compared found different: a stream's bytes
/// differ in their encoding only (`FORMAT.encoding`); of a container, say so.
fn same_inside(path: &[u8], a: &Opened, bytes: [&[u8]; 2], policy: &Policy, found: &mut Found) {
    if matches!(
        a.format,
        Format::Gzip
            | Format::Xz
            | Format::Zstd
            | Format::Bzip2
            | Format::Lzip
            | Format::Lzma
            | Format::Pyc
    ) {
        let size = |b: &[u8]| Value::Text(format!("{} compressed bytes", b.len()));
        let f = FieldDiff::keyed(
            a.format.name(),
            &b"encoding"[..],
            size(bytes[0]),
            size(bytes[1]),
        );
        found.fields.push(tagged(f, policy));
        return;
    }
    let message = format!(
        "opened as {} on both sides: no difference in what rdiff compares inside; the bytes differ elsewhere (first difference at byte {})",
        a.format.name(),
        first_mismatch(bytes[0], bytes[1])
    );
    found.notes.push(Note {
        path: path.into(),
        kind: NO_DIFFERENCE,
        message,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_with(method: ::zip::CompressionMethod) -> Arc<[u8]> {
        let mut w = ::zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        let opts = ::zip::write::SimpleFileOptions::default()
            .compression_method(method)
            .last_modified_time(::zip::DateTime::default());
        for name in ["a.txt", "b.txt"] {
            w.start_file(name, opts).unwrap();
            w.write_all(b"same content\n").unwrap();
        }
        w.finish().unwrap().into_inner().into()
    }

    #[test]
    fn a_member_differing_only_in_zip_fields_is_a_difference() {
        let mut budget = Budget::new(1 << 20);
        let [a, b] = [
            ::zip::CompressionMethod::Stored,
            ::zip::CompressionMethod::Deflated,
        ]
        .map(|m| nested::open(Format::Zip, zip_with(m), b"x.zip!/", b"", &mut budget).unwrap());
        let policy = Policy::strict();
        let mut diffs = Vec::new();
        member_fields(&mut diffs, &a, &b, &policy);
        let got: Vec<(String, String)> = diffs
            .iter()
            .flat_map(|d| {
                d.fields
                    .iter()
                    .map(|f| (crate::entry::display_bytes(&d.path), f.name()))
            })
            .collect();
        // The writer also records another version for a deflated member (zip.made_by).
        for m in ["x.zip!/a.txt", "x.zip!/b.txt"] {
            assert!(
                got.contains(&(m.to_string(), "zip.method".to_string())),
                "{got:?}"
            );
        }
        assert!(got.iter().all(|(_, f)| f.starts_with("zip.")), "{got:?}");
        assert_eq!(diffs.len(), 2);
    }
}
