//! `rdiff image`: OCI images from every local form. The walk reads index, manifests and
//! configs; layers are tar sources read by the rootfs core, verified (blob digest and
//! size, diff_id) as they stream; metadata is compared as raw JSON; layer entries are
//! compared layer by layer, or squashed into the filesystem a container would see.

pub mod meta;
pub mod metadata;
pub mod plan;
pub mod read;
pub mod registry;
pub mod save;
pub mod spelling;
pub mod squash;
pub mod store;
pub mod walk;

use crate::compare::content::{ContentOptions, HeldContent};
use crate::compare::pair::{Left, PairContext, SetPair, compare_pair};
use crate::compare::policy::{PathHits, Policy};
use crate::entry::Kind;
use crate::error::Result;
use crate::report::{Difference, FieldDiff, Note, Scope, Value as V};
use walk::Image;

/// Settings of an image comparison.
#[derive(Clone, Debug)]
pub struct ImageOptions {
    /// Compare the flattened filesystems, not layer by layer.
    pub squash: bool,
    /// `os/arch[/variant]` to keep (empty: all).
    pub platforms: Vec<String>,
    pub ignore_attestations: bool,
    /// How layers are read.
    pub reading: read::LayerReading,
    pub content: ContentOptions,
    pub source_date_epoch: Option<i64>,
    /// Return the contents read for text diffs (for --report-dir).
    pub keep_contents: bool,
}

/// What an image comparison produced.
pub struct ImageDiff {
    pub differences: Vec<Difference>,
    pub notes: Vec<Note>,
    /// Entries read on each side.
    pub entries: [u64; 2],
    /// Contents held for content diffs, by location path (for --report-dir).
    pub contents: Vec<HeldContent>,
    /// Every part compared.
    pub parts: Vec<String>,
    /// Path rules that matched no entry or location.
    pub warnings: Vec<String>,
    /// Per rule, the entries and locations a path rule matched (`PathHits::matched`).
    pub matched: Vec<Option<u64>>,
}

/// Compare two walked images: plan (pair the manifests), read (every compared layer),
/// the metadata diff, then each pair of entry sets as a rootfs is compared, and the
/// inputs as wholes.
pub fn compare_images(
    l: &Image,
    r: &Image,
    policy: &Policy,
    opts: &ImageOptions,
) -> Result<ImageDiff> {
    let plan = plan::plan(l, r, opts)?;
    let layers = read::read_layers(&plan, [l, r], &opts.reading)?;
    let views = [
        read::manifests_as_read(l, 0, &layers),
        read::manifests_as_read(r, 1, &layers),
    ];
    let sides = [0, 1].map(|i| metadata::Side {
        image: [l, r][i],
        manifests: &views[i],
    });
    let hits = PathHits::new(policy);
    let mut differences = metadata::differences(&plan, sides, &layers, policy, &hits)?;
    let mut notes = plan.notes.clone();
    notes.extend(layers.notes.iter().cloned());
    let cx = PairContext {
        policy,
        hits: &hits,
        content: &opts.content,
        source_date_epoch: opts.source_date_epoch,
    };
    let mut entries = [0u64; 2];
    let mut contents = Vec::new();
    let (mut spent, mut nested_spent) = (0u64, 0u64);
    let mut parts = parts(&plan, l, r);
    for set in layers.sets {
        let (a, b) = plan.pairs[set.pair]
            .both()
            .expect("a set pair has both sides");
        let fetchers = [(l, a), (r, b)].map(|(image, m)| read::LayerFetcher {
            image,
            layers: &image.manifests[m].layers,
            read: &opts.reading.read,
        });
        for (n, side) in entries.iter_mut().zip(&set.sides) {
            *n += side.entries.len() as u64;
        }
        let pair = SetPair {
            part: set.location.trim_end_matches('/').to_string(),
            location: set.location,
            sets: [&set.sides[0], &set.sides[1]],
            fetchers: [&fetchers[0], &fetchers[1]],
            kept: set.kept,
            db: set.db,
        };
        // One text-diff budget and one nested budget for the whole report.
        let left = Left {
            text: opts.content.budget.saturating_sub(spent),
            nested: opts.content.nested_budget.saturating_sub(nested_spent),
        };
        let set_part = pair.part.clone();
        let outcome = compare_pair(pair, &cx, left)?;
        // The packages part comes just before the part it was read from.
        if let Some(p) = outcome.packages_part
            && let Some(i) = parts.iter().position(|x| *x == set_part)
        {
            parts.insert(i, p);
        }
        spent += outcome.spent;
        nested_spent += outcome.nested_spent;
        if opts.keep_contents {
            contents.extend(outcome.held);
        }
        notes.extend(outcome.notes);
        differences.extend(outcome.differences);
    }
    // The inputs as wholes come first (outside in).
    if let Some(d) = input_difference(l, r, !differences.is_empty(), policy) {
        differences.insert(0, d);
    }
    Ok(ImageDiff {
        differences,
        notes,
        entries,
        contents,
        parts,
        warnings: hits.warnings(policy),
        matched: hits.matched(policy),
    })
}

/// Every part compared, in a stable order.
fn parts(plan: &plan::Plan, l: &Image, r: &Image) -> Vec<String> {
    let mut parts: Vec<String> = vec![crate::compare::INPUT.to_string()];
    if !l.indexes.is_empty() || !r.indexes.is_empty() {
        parts.push("index".into());
    }
    if l.indexes.len() > 1 || r.indexes.len() > 1 {
        parts.push("index/nested".into());
    }
    for p in &plan.pairs {
        parts.push(format!("{}manifest", p.prefix));
        let Some((a, b)) = p.both() else { continue };
        if l.manifests[a].config.is_some() && r.manifests[b].config.is_some() {
            parts.push(format!("{}config", p.prefix));
        }
        match p.sets {
            plan::Sets::Squash => parts.push(format!("{}rootfs", p.prefix)),
            plan::Sets::Layers => {
                for i in 0..l.manifests[a].layers.len() {
                    parts.push(format!("{}layers/{i}", p.prefix));
                }
            }
            plan::Sets::None => {}
        }
    }
    parts
}

/// The image inputs as wholes (the `input` part): their form (`format`), and for
/// archives their bytes (`sha256`), compression, and own tar framing (`archive`: the
/// members' headers, names and order, what follows the last member; the members' data
/// are the blobs and documents the walk compares).
pub fn input_difference(
    l: &Image,
    r: &Image,
    others_differ: bool,
    policy: &Policy,
) -> Option<Difference> {
    let mut f = Vec::new();
    if l.form != r.form {
        f.push(FieldDiff::new(
            "format",
            V::Text(l.form.clone()),
            V::Text(r.form.clone()),
        ));
    }
    if let (Some(a), Some(b)) = (l.store.facts(), r.store.facts()) {
        if a.sha256 != b.sha256 {
            f.push(FieldDiff::new(
                "sha256",
                V::Digest(a.sha256),
                V::Digest(b.sha256),
            ));
        }
        f.extend(crate::compare::compression_fields(
            (a.compression, &a.params),
            (b.compression, &b.params),
        ));
        // The archive as a tar, and the large members nothing read.
        let whole = |img: &Image, x: &store::ArchiveFacts| {
            let unread = img.store.unread_sha256().unwrap_or_default();
            crate::source::hash::sha256(&[&x.framing[..], &unread].concat())
        };
        let (wa, wb) = (whole(l, a), whole(r, b));
        if wa != wb {
            let v = |x: &store::ArchiveFacts, w: &crate::entry::Digest| {
                V::Text(format!(
                    "{} members, sha256:{}",
                    x.members,
                    crate::report::hex(w)
                ))
            };
            f.push(FieldDiff::new("archive", v(a, &wa), v(b, &wb)));
        }
        // Same codec and parameters, the same archive as a tar and the same blobs: the
        // decompressed archives say whether only the compressed bytes differ.
        let compressed = a.compression != crate::source::compress::Compression::None;
        if f.len() == 1 && f[0].field == "sha256" && compressed && !others_differ {
            let digests = l.store.decoded_sha256().zip(r.store.decoded_sha256());
            f.extend(crate::compare::decoded_difference(
                digests.map(|(x, y)| [x, y]),
                a.bytes,
                b.bytes,
            ));
        }
    }
    let f: Vec<FieldDiff> = f.into_iter().map(|x| x.in_scope(Scope::Input)).collect();
    crate::compare::input_part(f, policy)
}

/// Kinds of entries that are whiteout markers (for the text of tricky cases).
pub fn is_whiteout(path: &[u8], kind: Kind) -> bool {
    kind == Kind::File
        && path
            .rsplit(|&b| b == b'/')
            .next()
            .is_some_and(|n| n.starts_with(b".wh."))
}
