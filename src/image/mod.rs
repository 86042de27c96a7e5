//! `rdiff image`: OCI images from every local form. The walk reads index, manifests and
//! configs; layers are tar sources read by the rootfs core, verified (blob digest and
//! size, diff_id) as they stream; metadata is compared as raw JSON; layer entries are
//! compared layer by layer, or squashed into the filesystem a container would see.

pub mod meta;
pub mod spelling;
pub mod squash;
pub mod store;
pub mod walk;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rayon::prelude::*;

use crate::compare::content::{ContentOptions, content_diffs};
use crate::compare::policy::{PathHits, Policy};
use crate::compare::{compare_sets, notes as entry_notes};
use crate::entry::{Bytes, Kind};
use crate::error::{Error, ErrorKind, Result};
use crate::report::{Difference, FieldDiff, Note, Scope, Status, Value as V};
use crate::source::keeper::KeptPair;
use crate::source::{
    Checks, Collector, EntrySet, Fetcher, InputInfo, Keeper, ReadOptions, Side, SourceKind,
    StreamFacts, Want, fetch_members, finish_set, read_tar_from,
};
use walk::{Image, Layer, ManifestKind};

/// Settings of an image comparison.
#[derive(Clone, Debug)]
pub struct ImageOptions {
    /// Compare the flattened filesystems, not layer by layer.
    pub squash: bool,
    /// `os/arch[/variant]` to keep (empty: all).
    pub platforms: Vec<String>,
    pub ignore_attestations: bool,
    pub read: ReadOptions,
    pub content: ContentOptions,
    pub source_date_epoch: Option<i64>,
    /// Bytes one side may hold waiting for the other (per compared pair).
    pub keeper_budget: u64,
    /// Return the contents read for text diffs (for --report-dir).
    pub keep_contents: bool,
    /// Read one layer at a time, holding nothing while waiting (--low-memory).
    pub sequential: bool,
}

/// What an image comparison produced.
pub struct ImageDiff {
    pub differences: Vec<Difference>,
    pub notes: Vec<Note>,
    /// Entries read on each side.
    pub entries: [u64; 2],
    /// Contents held for content diffs, by location path (for --report-dir).
    pub contents: Vec<crate::compare::content::HeldContent>,
    /// Every part compared.
    pub parts: Vec<String>,
    /// Path rules that matched no entry or location.
    pub warnings: Vec<String>,
}

/// A pair of manifests to compare, and where their differences go.
struct Pair {
    prefix: String,
    left: Option<usize>,
    right: Option<usize>,
}

fn platform_matches(p: Option<&str>, wanted: &[String]) -> bool {
    if wanted.is_empty() {
        return true;
    }
    let Some(p) = p else { return false };
    wanted
        .iter()
        .any(|w| p == w || p.starts_with(&format!("{w}/")))
}

/// The key a manifest is matched by: kind, platform, and the subject's platform for
/// attestations. Never the position in the index.
fn match_key(img: &Image, i: usize) -> (u8, String) {
    let m = &img.manifests[i];
    match &m.kind {
        ManifestKind::Image => (0, m.platform.clone().unwrap_or_default()),
        ManifestKind::Attestation(subject) => {
            let sp = subject
                .as_ref()
                .and_then(|d| {
                    img.manifests
                        .iter()
                        .find(|x| x.descriptor["digest"].as_str() == Some(d))
                })
                .and_then(|x| x.platform.clone())
                .unwrap_or_default();
            (1, sp)
        }
        ManifestKind::Other => (
            2,
            m.descriptor["mediaType"].as_str().unwrap_or("").to_string(),
        ),
    }
}

fn pair_manifests(
    l: &Image,
    r: &Image,
    opts: &ImageOptions,
    notes: &mut Vec<Note>,
    bad_platform: &mut Option<String>,
) -> Vec<Pair> {
    let keep = |img: &Image, i: usize| {
        let m = &img.manifests[i];
        let key = match_key(img, i);
        if opts.ignore_attestations && key.0 == 1 {
            return false;
        }
        match key.0 {
            0 | 1 => {
                platform_matches(
                    Some(&key.1).filter(|s| !s.is_empty()).map(|s| s.as_str()),
                    &opts.platforms,
                ) || (opts.platforms.is_empty() && m.platform.is_none())
            }
            _ => opts.platforms.is_empty(),
        }
    };
    let li: Vec<usize> = (0..l.manifests.len()).filter(|&i| keep(l, i)).collect();
    let ri: Vec<usize> = (0..r.manifests.len()).filter(|&i| keep(r, i)).collect();
    for w in &opts.platforms {
        let hit = |img: &Image| {
            (0..img.manifests.len()).any(|i| {
                platform_matches(
                    img.manifests[i].platform.as_deref(),
                    std::slice::from_ref(w),
                )
            })
        };
        if !hit(l) && !hit(r) {
            *bad_platform = Some(w.clone());
        }
    }
    let dropped = l.manifests.len() - li.len() + r.manifests.len() - ri.len();
    if dropped > 0 {
        notes.push(Note {
            path: b"index".as_slice().into(),
            kind: "filtered",
            message: format!(
                "{dropped} manifest(s) left out by --platform / --ignore-attestations"
            ),
        });
    }
    // Group by key; pair within a group by ref name, then one to one.
    let mut groups: BTreeMap<(u8, String), (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for &i in &li {
        groups.entry(match_key(l, i)).or_default().0.push(i);
    }
    for &i in &ri {
        groups.entry(match_key(r, i)).or_default().1.push(i);
    }
    // An image with one manifest (no platform known) against an index: match it to the
    // index entry of the same platform, whatever the order.
    type Paired = (Option<usize>, Option<usize>, (u8, String));
    let mut raw: Vec<Paired> = Vec::new();
    for (key, (mut a, mut b)) in groups {
        let mut paired = Vec::new();
        a.retain(|&x| {
            let rn = &l.manifests[x].ref_name;
            if let Some(pos) = b
                .iter()
                .position(|&y| rn.is_some() && r.manifests[y].ref_name == *rn)
            {
                paired.push((Some(x), Some(b.remove(pos))));
                false
            } else {
                true
            }
        });
        while !a.is_empty() && !b.is_empty() {
            paired.push((Some(a.remove(0)), Some(b.remove(0))));
        }
        paired.extend(a.into_iter().map(|x| (Some(x), None)));
        paired.extend(b.into_iter().map(|y| (None, Some(y))));
        for (x, y) in paired {
            raw.push((x, y, key.clone()));
        }
    }
    // An image whose config names no variant against an index entry `os/arch/variant`
    // (or the reverse): the same platform as far as one side can say.
    let base = |p: &str| p.splitn(3, '/').take(2).collect::<Vec<_>>().join("/");
    let mut k = 0;
    while k < raw.len() {
        if raw[k].1.is_none() && raw[k].2.0 == 0 {
            let pk = raw[k].2.1.clone();
            if let Some(j) = (0..raw.len()).find(|&j| {
                raw[j].0.is_none()
                    && raw[j].2.0 == 0
                    && (raw[j].2.1.matches('/').count() != pk.matches('/').count())
                    && base(&raw[j].2.1) == base(&pk)
                    && !pk.is_empty()
            }) {
                let y = raw[j].1;
                raw[k].1 = y;
                // Keep the more precise platform for the location.
                if raw[j].2.1.len() > raw[k].2.1.len() {
                    raw[k].2.1 = raw[j].2.1.clone();
                }
                raw.remove(j);
                if j < k {
                    k -= 1;
                }
            }
        }
        k += 1;
    }
    // Single unmatched manifests on both sides (different platforms or tools): pair them.
    let lone_l: Vec<usize> = raw
        .iter()
        .enumerate()
        .filter(|(_, p)| p.1.is_none())
        .map(|(k, _)| k)
        .collect();
    let lone_r: Vec<usize> = raw
        .iter()
        .enumerate()
        .filter(|(_, p)| p.0.is_none())
        .map(|(k, _)| k)
        .collect();
    if raw.len() == 2 && lone_l.len() == 1 && lone_r.len() == 1 {
        let y = raw[lone_r[0]].1;
        raw[lone_l[0]].1 = y;
        raw.remove(lone_r[0]);
    }
    // Locations get a prefix when either side holds several images (counted before
    // --platform narrowed them, so a location does not move with the filter); attestations
    // have their own prefix and do not count.
    let images = |img: &Image| {
        (0..img.manifests.len())
            .filter(|&i| match_key(img, i).0 != 1)
            .count()
    };
    let several = images(l).max(images(r)) > 1;
    let image_pairs: Vec<&String> = raw.iter().filter(|p| p.2.0 != 1).map(|p| &p.2.1).collect();
    let distinct = {
        let mut p = image_pairs.clone();
        p.sort();
        p.dedup();
        p.len() == image_pairs.len()
    };
    raw.into_iter()
        .map(|(x, y, key)| {
            let name =
                |img: &Image, i: Option<usize>| i.and_then(|i| img.manifests[i].ref_name.clone());
            let mut prefix = String::new();
            if key.0 == 1 {
                prefix.push_str("attestation/");
            }
            if several {
                if distinct && !key.1.is_empty() {
                    prefix.push_str(&key.1);
                    prefix.push('/');
                } else if let Some(n) = name(l, x).or_else(|| name(r, y)) {
                    prefix.push_str(&n.replace('/', "_"));
                    if !key.1.is_empty() {
                        prefix.push('@');
                        prefix.push_str(&key.1);
                    }
                    prefix.push('/');
                } else if !key.1.is_empty() {
                    prefix.push_str(&key.1);
                    prefix.push('/');
                }
            }
            Pair {
                prefix,
                left: x,
                right: y,
            }
        })
        .collect()
}

/// A layer read: its entries and what the stream said.
struct ReadLayer {
    set: EntrySet,
    facts: StreamFacts,
}

fn layer_err(img: &Image, i: usize, layer: &Layer, msg: impl std::fmt::Display) -> Error {
    Error::other(
        img.name.clone(),
        format!(
            "layer {i} ({}): {msg}",
            layer.digest.as_deref().unwrap_or(&layer.blob)
        ),
    )
}

/// Read one layer blob into entries, verifying its digest, size and diff_id.
fn read_layer(
    img: &Image,
    layer: &Layer,
    index: usize,
    side: Side,
    keeper: Option<&Keeper>,
    read: &ReadOptions,
) -> Result<ReadLayer> {
    if let (Some(want), Ok(have)) = (layer.size, img.store.size(&layer.blob))
        && want != have
    {
        return Err(layer_err(
            img,
            index,
            layer,
            format!("size mismatch: descriptor says {want}, blob has {have}"),
        ));
    }
    let r = img
        .store
        .open(&layer.blob)
        .map_err(|m| layer_err(img, index, layer, m))?;
    let r: Box<dyn std::io::BufRead + '_> = match &read.progress {
        Some(p) => Box::new(crate::source::ProgressReader {
            inner: r,
            p: (p.clone(), side as usize),
        }),
        None => r,
    };
    let mut collector = Collector::new(side, read, keeper);
    collector.layer = index as u32;
    let facts = read_tar_from(
        r,
        &read.tar_limits,
        true,
        Some(Checks {
            blob: true,
            diff_id: true,
        }),
        |tr| {
            while let Some(t) = tr.next_entry()? {
                collector.member(tr, t)?;
            }
            Ok(())
        },
    )
    .map_err(|k: ErrorKind| layer_err(img, index, layer, k))?;
    let hex =
        |d: Option<crate::entry::Digest>| d.map(|d| format!("sha256:{}", crate::report::hex(&d)));
    let blob = hex(facts.blob_digest);
    if let (Some(want), Some(got)) = (&layer.digest, &blob)
        && want != got
    {
        return Err(layer_err(
            img,
            index,
            layer,
            format!("digest mismatch: expected {want}, found {got}"),
        ));
    }
    if let Some(size) = layer.size
        && size != facts.raw_bytes
    {
        return Err(layer_err(
            img,
            index,
            layer,
            format!(
                "size mismatch: descriptor says {size}, blob has {}",
                facts.raw_bytes
            ),
        ));
    }
    let diff_id = hex(facts.diff_id);
    if let (Some(want), Some(got)) = (&layer.diff_id, &diff_id)
        && want != got
    {
        return Err(layer_err(
            img,
            index,
            layer,
            format!("diff_id mismatch: config says {want}, layer is {got}"),
        ));
    }
    let info = InputInfo {
        name: img.name.clone(),
        kind: SourceKind::Tar,
        compression: Some(facts.compression),
        entries: 0,
        bytes: facts.raw_bytes,
        tar_bytes: facts.tar_bytes,
        rereadable: true,
        sha256: facts.blob_digest,
        trailer: facts.trailer.clone(),
        compression_params: facts.params.clone(),
    };
    Ok(ReadLayer {
        set: finish_set(collector.entries, info),
        facts,
    })
}

/// Reads content again from layer blobs.
struct LayerFetcher<'a> {
    image: &'a Image,
    layers: &'a [Layer],
    read: &'a ReadOptions,
}

impl Fetcher for LayerFetcher<'_> {
    fn rereadable(&self) -> bool {
        true
    }

    fn fetch(
        &self,
        wanted: &BTreeMap<Bytes, Want>,
    ) -> Result<BTreeMap<Bytes, crate::source::Fetched>> {
        let mut by_layer: BTreeMap<u32, BTreeMap<Bytes, Want>> = BTreeMap::new();
        for (p, w) in wanted {
            by_layer.entry(w.layer).or_default().insert(p.clone(), *w);
        }
        let mut out = BTreeMap::new();
        for (l, want) in by_layer {
            let Some(layer) = self.layers.get(l as usize) else {
                continue;
            };
            let r = self
                .image
                .store
                .open(&layer.blob)
                .map_err(|m| layer_err(self.image, l as usize, layer, m))?;
            read_tar_from(r, &self.read.tar_limits, false, None, |tr| {
                fetch_members(tr, &want, &mut out)
            })
            .map_err(|k| layer_err(self.image, l as usize, layer, k))?;
        }
        Ok(out)
    }
}

/// A location inside a compared set: `layers/0/etc/x`; the set's root is `layers/0/.`
/// (`layers/0` is the layer's descriptor).
fn prefixed(prefix: &str, path: &[u8]) -> Bytes {
    [prefix.as_bytes(), path].concat().into()
}

fn changed(
    path: String,
    scope: Scope,
    fields: Vec<FieldDiff>,
    policy: &Policy,
    hits: &PathHits,
) -> Option<Difference> {
    if fields.is_empty() {
        return None;
    }
    let mut d = Difference::new(path.clone().into_bytes().into(), Status::Changed);
    d.part = path;
    d.fields = fields.into_iter().map(|f| f.in_scope(scope)).collect();
    // --ignore-path also names metadata locations (`manifest`, `linux/arm64/config`).
    d.ignored_by = policy
        .path_rule_hits(&d.path, hits)
        .map(|r| policy.rules[r].name.clone());
    for f in &mut d.fields {
        f.ignored_by = policy.field_rule(f).map(|r| policy.rules[r].name.clone());
    }
    Some(d)
}

/// What one compared entry-set pair needs for its content diffs.
struct SetJob {
    pair: usize,
    prefix: String,
    left: EntrySet,
    right: EntrySet,
    keeper: Arc<Keeper>,
    /// The manifests (left, right) whose layers the entries come from.
    manifests: (usize, usize),
}

/// Compare two walked images.
pub fn compare_images(
    l: &mut Image,
    r: &mut Image,
    policy: &Policy,
    opts: &ImageOptions,
) -> Result<ImageDiff> {
    let mut notes = Vec::new();
    let mut bad_platform = None;
    let pairs = pair_manifests(l, r, opts, &mut notes, &mut bad_platform);
    if let Some(p) = bad_platform {
        return Err(Error::usage(format!(
            "--platform {p} matches no manifest in {} or {}",
            l.name, r.name
        )));
    }
    let mut diffs: Vec<Difference> = Vec::new();
    let hits = PathHits::new(policy);

    // Which layers to read, and with which keeper.
    struct Job {
        pair: usize,
        squash: bool,
        keepers: Vec<Arc<Keeper>>,
    }
    let mut jobs: Vec<Job> = Vec::new();
    for (k, p) in pairs.iter().enumerate() {
        let (Some(a), Some(b)) = (p.left, p.right) else {
            continue;
        };
        let (ma, mb) = (&l.manifests[a], &r.manifests[b]);
        if ma.kind == ManifestKind::Other || mb.kind == ManifestKind::Other {
            continue;
        }
        let ta = ma.layers.iter().filter(|x| x.is_tar()).count();
        let tb = mb.layers.iter().filter(|x| x.is_tar()).count();
        let squash = opts.squash || ta != tb || ma.layers.len() != mb.layers.len();
        if squash && !opts.squash {
            notes.push(Note {
                path: format!("{}layers", p.prefix).into_bytes().into(),
                kind: "squash",
                message: format!(
                    "layer counts differ ({} vs {}): compared as squashed filesystems",
                    ma.layers.len(),
                    mb.layers.len()
                ),
            });
        }
        let n = if squash { 1 } else { ma.layers.len() };
        let keepers = (0..n)
            .map(|_| {
                let waiting = if opts.sequential {
                    0
                } else {
                    opts.keeper_budget
                };
                Arc::new(Keeper::new(waiting, opts.content.budget))
            })
            .collect();
        jobs.push(Job {
            pair: k,
            squash,
            keepers,
        });
    }

    // Read every layer of both sides, in parallel; the two sides of one layer pair at
    // the same time (their keeper pairs small contents that differ).
    type Key = (usize, usize, usize); // side, manifest, layer
    let mut tasks: Vec<(Key, Key, Arc<Keeper>)> = Vec::new();
    let mut single: Vec<(Key, Arc<Keeper>)> = Vec::new();
    for j in &jobs {
        let p = &pairs[j.pair];
        let (a, b) = (p.left.expect("paired"), p.right.expect("paired"));
        let (la, lb) = (&l.manifests[a].layers, &r.manifests[b].layers);
        if j.squash {
            for (i, x) in la.iter().enumerate() {
                if x.is_tar() {
                    single.push(((0, a, i), j.keepers[0].clone()));
                }
            }
            for (i, x) in lb.iter().enumerate() {
                if x.is_tar() {
                    single.push(((1, b, i), j.keepers[0].clone()));
                }
            }
        } else {
            for i in 0..la.len() {
                if la[i].is_tar() && lb[i].is_tar() {
                    tasks.push(((0, a, i), (1, b, i), j.keepers[i].clone()));
                }
            }
        }
    }
    let imgs: [&Image; 2] = [l, r];
    if let Some(p) = &opts.read.progress {
        for (key, _) in tasks
            .iter()
            .flat_map(|(a, b, k)| [(a, k), (b, k)])
            .chain(single.iter().map(|(a, k)| (a, k)))
        {
            let layer = &imgs[key.0].manifests[key.1].layers[key.2];
            p.add_total(key.0, layer.size.unwrap_or(0));
        }
    }
    let read_one = |key: Key, keeper: &Keeper| -> Result<(Key, ReadLayer)> {
        let img = imgs[key.0];
        let side = if key.0 == 0 { Side::Left } else { Side::Right };
        let layer = &img.manifests[key.1].layers[key.2];
        read_layer(img, layer, key.2, side, Some(keeper), &opts.read).map(|x| (key, x))
    };
    // Per layer pair, a side read completely ends the wait of the other side's contents.
    let read_and_finish = |key: Key, keeper: &Keeper| {
        let r = read_one(key, keeper);
        keeper.finish(if key.0 == 0 { Side::Left } else { Side::Right });
        r
    };
    let results: Vec<Result<(Key, ReadLayer)>> = if opts.sequential {
        // --low-memory: one layer at a time, left before right (layers can be read
        // again, so the left side holds nothing while it waits).
        let mut v = Vec::new();
        for (ka, kb, keeper) in &tasks {
            v.push(read_and_finish(*ka, keeper));
            v.push(read_and_finish(*kb, keeper));
        }
        v.extend(single.iter().map(|(k, keeper)| read_one(*k, keeper)));
        v
    } else {
        let mut v: Vec<_> = tasks
            .par_iter()
            .flat_map_iter(|(ka, kb, keeper)| {
                let (x, y) = rayon::join(
                    || read_and_finish(*ka, keeper),
                    || read_and_finish(*kb, keeper),
                );
                [x, y]
            })
            .collect();
        v.extend(
            single
                .par_iter()
                .map(|(k, keeper)| read_one(*k, keeper))
                .collect::<Vec<_>>(),
        );
        v
    };
    // The keepers now belong to the jobs alone (each set job takes its own below, and
    // must be its only owner to get what it kept).
    drop(tasks);
    drop(single);
    let mut layers: HashMap<Key, ReadLayer> = HashMap::new();
    for res in results {
        let (k, v) = res?;
        layers.insert(k, v);
    }

    // Docker archives have no manifest of their own: make it up from what was read.
    for (side, img) in [(0usize, &mut *l), (1, &mut *r)] {
        for (mi, m) in img.manifests.iter_mut().enumerate() {
            if !m.synthesized {
                continue;
            }
            let facts: Vec<(String, u64, &str)> = (0..m.layers.len())
                .filter_map(|i| {
                    let rl = layers.get(&(side, mi, i))?;
                    let media = match rl.facts.compression {
                        crate::source::compress::Compression::Gzip => {
                            "application/vnd.docker.image.rootfs.diff.tar.gzip"
                        }
                        crate::source::compress::Compression::Zstd => {
                            "application/vnd.docker.image.rootfs.diff.tar.zstd"
                        }
                        _ => "application/vnd.docker.image.rootfs.diff.tar",
                    };
                    Some((
                        format!("sha256:{}", crate::report::hex(&rl.facts.blob_digest?)),
                        rl.facts.raw_bytes,
                        media,
                    ))
                })
                .collect();
            if facts.len() == m.layers.len() {
                walk::synthesize_manifest(m, &facts);
            }
        }
    }
    let (l, r) = (&*l, &*r);

    // The index.
    match (l.indexes.first(), r.indexes.first()) {
        (Some(a), Some(b)) => {
            let mut f = meta::document(&a.json, &b.json);
            f.extend(index_order(l, r, &pairs));
            // The manifests a filter left out count in the bytes of the index that
            // lists them (the nested one, where both have one).
            let extra = [left_out(l, &pairs, 0), left_out(r, &pairs, 1)];
            let nested = l.indexes.len() > 1 && r.indexes.len() > 1;
            let top_extra: [&[Vec<u8>]; 2] = if nested {
                [&[], &[]]
            } else {
                [&extra[0], &extra[1]]
            };
            f.extend(bytes_field(a, b, top_extra));
            f.extend(layout_field(l, r));
            diffs.extend(changed("index".into(), Scope::Index, f, policy, &hits));
            if l.indexes.len() != r.indexes.len() {
                // One side's index.json points to an image index, the other's lists the
                // manifests itself: a matter of format (buildx/skopeo --all vs flat).
                let v = |img: &Image| {
                    img.indexes
                        .get(1)
                        .map_or(V::Absent, |d| V::Text(format!("image index {}", d.digest)))
                };
                diffs.extend(changed(
                    "index/nested".into(),
                    Scope::Index,
                    vec![FieldDiff::new("index", v(l), v(r))],
                    policy,
                    &hits,
                ));
            }
            if let (Some(a2), Some(b2)) = (l.indexes.get(1), r.indexes.get(1)) {
                // The descriptor index.json holds for the nested index, and the index itself.
                let mut f =
                    meta::descriptor(&a.json["manifests"][0], &b.json["manifests"][0], false);
                f.extend(meta::document(&a2.json, &b2.json));
                f.extend(bytes_field(a2, b2, [&extra[0], &extra[1]]));
                diffs.extend(changed(
                    "index/nested".into(),
                    Scope::Index,
                    f,
                    policy,
                    &hits,
                ));
            }
        }
        (a, b) if a.is_some() != b.is_some() => {
            let v = |x: Option<&walk::Doc>| x.map_or(V::Absent, |_| V::Text("index.json".into()));
            diffs.extend(changed(
                "index".into(),
                Scope::Index,
                vec![FieldDiff::new("index", v(a), v(b))],
                policy,
                &hits,
            ));
        }
        _ => {}
    }

    let mut set_jobs: Vec<SetJob> = Vec::new();
    for (k, p) in pairs.iter().enumerate() {
        let (a, b) = match (p.left, p.right) {
            (Some(a), Some(b)) => (a, b),
            (x, _) => {
                let (img, i, status) = match x {
                    Some(a) => (l, a, Status::Removed),
                    None => (r, p.right.expect("one side"), Status::Added),
                };
                let m = &img.manifests[i];
                let mut d =
                    Difference::new(format!("{}manifest", p.prefix).into_bytes().into(), status);
                d.part = format!("{}manifest", p.prefix);
                d.fields = vec![
                    FieldDiff::new(
                        "platform",
                        if status == Status::Removed {
                            V::Text(m.platform.clone().unwrap_or_default())
                        } else {
                            V::Absent
                        },
                        if status == Status::Added {
                            V::Text(m.platform.clone().unwrap_or_default())
                        } else {
                            V::Absent
                        },
                    )
                    .in_scope(Scope::Manifest),
                ];
                d.ignored_by = None;
                policy.path_rule_hits(&d.path, &hits);
                diffs.push(d);
                continue;
            }
        };
        let (ma, mb) = (&l.manifests[a], &r.manifests[b]);
        let mut mf = meta::descriptor(&ma.descriptor, &mb.descriptor, false);
        if let (Some(da), Some(db)) = (&ma.doc, &mb.doc) {
            mf.extend(meta::document(&da.json, &db.json));
            // A manifest rdiff made up for a docker-archive has no bytes of its own.
            if !ma.synthesized && !mb.synthesized {
                mf.extend(bytes_field(da, db, [&[], &[]]));
            }
        }
        mf.extend(unread_document(l, a, r, b)?);
        let job = jobs.iter().find(|j| j.pair == k);
        let squash = job.is_some_and(|j| j.squash);
        if squash {
            mf.extend(layer_split(ma, mb));
        }
        if let (Some(ta), Some(tb)) = (&ma.repo_tags, &mb.repo_tags)
            && ta != tb
        {
            mf.push(FieldDiff::new(
                "repo_tags",
                V::Json(ta.clone()),
                V::Json(tb.clone()),
            ));
        }
        meta::annotations_lost_to_format(
            &mut mf,
            meta::is_docker_manifest(&ma.descriptor, ma.doc.as_ref().map(|d| &d.json)),
            meta::is_docker_manifest(&mb.descriptor, mb.doc.as_ref().map(|d| &d.json)),
        );
        diffs.extend(changed(
            format!("{}manifest", p.prefix),
            Scope::Manifest,
            mf,
            policy,
            &hits,
        ));
        if let (Some(ca), Some(cb)) = (&ma.config, &mb.config) {
            let mut cf = Vec::new();
            if let (Some(da), Some(db)) = (&ma.doc, &mb.doc) {
                cf.extend(meta::descriptor(
                    &da.json["config"],
                    &db.json["config"],
                    false,
                ));
            }
            cf.extend(meta::config(&ca.json, &cb.json, !squash));
            cf.extend(bytes_field(ca, cb, [&[], &[]]));
            if squash && ca.json["rootfs"]["diff_ids"] != cb.json["rootfs"]["diff_ids"] {
                // Compared as one filesystem: the layers' split is a difference of its
                // own (`--ignore-layer-split`), not of what they hold.
                cf.push(FieldDiff::keyed(
                    "rootfs",
                    &b"diff_ids"[..],
                    V::Json(ca.json["rootfs"]["diff_ids"].clone()),
                    V::Json(cb.json["rootfs"]["diff_ids"].clone()),
                ));
            }
            diffs.extend(changed(
                format!("{}config", p.prefix),
                Scope::Config,
                cf,
                policy,
                &hits,
            ));
        }
        let Some(job) = job else { continue };
        if squash {
            let collect = |side: usize, mi: usize, img: &Image| -> Result<EntrySet> {
                let sets: Vec<&EntrySet> = (0..img.manifests[mi].layers.len())
                    .filter_map(|i| layers.get(&(side, mi, i)).map(|x| &x.set))
                    .collect();
                let entries =
                    squash::squash(&sets).map_err(|m| Error::other(img.name.clone(), m))?;
                Ok(EntrySet {
                    info: InputInfo {
                        name: img.name.clone(),
                        kind: SourceKind::Squashed,
                        compression: None,
                        entries: entries.len() as u64,
                        bytes: 0,
                        tar_bytes: 0,
                        rereadable: true,
                        sha256: None,
                        trailer: None,
                        compression_params: Vec::new(),
                    },
                    entries,
                })
            };
            set_jobs.push(SetJob {
                pair: k,
                prefix: format!("{}rootfs/", p.prefix),
                left: collect(0, a, l)?,
                right: collect(1, b, r)?,
                keeper: job.keepers[0].clone(),
                manifests: (a, b),
            });
        } else {
            for i in 0..ma.layers.len() {
                let (la, lb) = (&ma.layers[i], &mb.layers[i]);
                let blob = unread_blob(l, la, r, lb, i)?;
                // Each layer's entries are moved into its job, never copied.
                let (owned_a, owned_b) = (layers.remove(&(0, a, i)), layers.remove(&(1, b, i)));
                let (ra, rb) = (owned_a.as_ref(), owned_b.as_ref());
                let same_content = matches!((ra, rb), (Some(x), Some(y)) if x.facts.diff_id.is_some() && x.facts.diff_id == y.facts.diff_id);
                let mut lf = meta::descriptor(&la.descriptor, &lb.descriptor, same_content);
                lf.extend(blob);
                if let (Some(x), Some(y)) = (ra, rb) {
                    lf.extend(crate::compare::compression_fields(
                        (x.facts.compression, &x.facts.params),
                        (y.facts.compression, &y.facts.params),
                    ));
                    lf.extend(crate::compare::trailer_field(
                        x.facts.trailer.as_ref(),
                        y.facts.trailer.as_ref(),
                    ));
                }
                diffs.extend(changed(
                    format!("{}layers/{i}", p.prefix),
                    Scope::Layer,
                    lf,
                    policy,
                    &hits,
                ));
                if let (Some(x), Some(y)) = (owned_a, owned_b) {
                    set_jobs.push(SetJob {
                        pair: k,
                        prefix: format!("{}layers/{i}/", p.prefix),
                        left: x.set,
                        right: y.set,
                        keeper: job.keepers[i].clone(),
                        manifests: (a, b),
                    });
                }
            }
        }
    }

    for j in &mut jobs {
        j.keepers.clear();
    }

    // Entries, set by set, with content diffs.
    let mut entries = [0u64; 2];
    let mut contents = Vec::new();
    let mut spent = 0u64;
    for sj in set_jobs {
        entries[0] += sj.left.entries.len() as u64;
        entries[1] += sj.right.entries.len() as u64;
        // Path rules also match the location (`layers/1/**`).
        let mut d = compare_sets(&sj.left, &sj.right, policy, sj.prefix.as_bytes(), &hits);
        let p = &pairs[sj.pair];
        let fl = LayerFetcher {
            image: l,
            layers: &l.manifests[sj.manifests.0].layers,
            read: &opts.read,
        };
        let fr = LayerFetcher {
            image: r,
            layers: &r.manifests[sj.manifests.1].layers,
            read: &opts.read,
        };
        let kept: HashMap<Bytes, KeptPair> = Arc::try_unwrap(sj.keeper)
            .map(Keeper::into_kept)
            .unwrap_or_else(|_| unreachable!("a set job owns its keeper"));
        let _ = p;
        // One text-diff budget for the whole report.
        let copts = ContentOptions {
            label_prefix: sj.prefix.clone(),
            budget: opts.content.budget.saturating_sub(spent),
            budget_total: opts.content.budget,
            ..opts.content.clone()
        };
        let held = content_diffs(&mut d, [&sj.left, &sj.right], [&fl, &fr], &kept, &copts)?;
        drop(kept);
        for (path, c) in held {
            spent += c.iter().flatten().map(|b| b.len() as u64).sum::<u64>();
            if opts.keep_contents {
                contents.push((prefixed(&sj.prefix, &path), c));
            }
        }
        for n in entry_notes(&sj.left, &sj.right, opts.source_date_epoch, policy) {
            notes.push(Note {
                path: prefixed(&sj.prefix, &n.path),
                ..n
            });
        }
        for mut x in d {
            x.path = prefixed(&sj.prefix, &x.path);
            x.part = sj.prefix.trim_end_matches('/').to_string();
            diffs.push(x);
        }
    }
    // The inputs as wholes come first (outside in).
    if let Some(d) = input_difference(l, r, !diffs.is_empty(), policy) {
        diffs.insert(0, d);
    }
    // Every part compared, in a stable order.
    let mut parts: Vec<String> = vec![crate::compare::INPUT.to_string()];
    if !l.indexes.is_empty() || !r.indexes.is_empty() {
        parts.push("index".into());
    }
    if l.indexes.len() > 1 || r.indexes.len() > 1 {
        parts.push("index/nested".into());
    }
    for (k, p) in pairs.iter().enumerate() {
        parts.push(format!("{}manifest", p.prefix));
        if let (Some(a), Some(b)) = (p.left, p.right) {
            if l.manifests[a].config.is_some() && r.manifests[b].config.is_some() {
                parts.push(format!("{}config", p.prefix));
            }
            match jobs.iter().find(|j| j.pair == k) {
                Some(j) if j.squash => parts.push(format!("{}rootfs", p.prefix)),
                Some(_) => {
                    for i in 0..l.manifests[a].layers.len() {
                        parts.push(format!("{}layers/{i}", p.prefix));
                    }
                }
                None => {}
            }
        }
    }
    let warnings = hits.warnings(policy);
    Ok(ImageDiff {
        differences: diffs,
        notes,
        entries,
        contents,
        parts,
        warnings,
    })
}

/// `order`, when the manifests both indexes list come in another order (they are paired
/// by platform whatever their order, but the index's bytes, and digest once pushed,
/// differ).
fn index_order(l: &Image, r: &Image, pairs: &[Pair]) -> Option<FieldDiff> {
    let mut both: Vec<(usize, usize, &str)> = pairs
        .iter()
        .filter_map(|p| Some((p.left?, p.right?, p.prefix.as_str())))
        .collect();
    both.sort_by_key(|x| x.0);
    if both.windows(2).all(|w| w[0].1 < w[1].1) {
        return None;
    }
    let label = |img: &Image, i: usize, prefix: &str| {
        let p = prefix.trim_end_matches('/');
        if p.is_empty() {
            img.manifests[i].descriptor["digest"]
                .as_str()
                .unwrap_or("?")
                .to_string()
        } else {
            p.to_string()
        }
    };
    let list = |side: usize| {
        let mut v: Vec<(usize, String)> = both
            .iter()
            .map(|&(a, b, p)| {
                if side == 0 {
                    (a, label(l, a, p))
                } else {
                    (b, label(r, b, p))
                }
            })
            .collect();
        v.sort();
        V::Text(v.into_iter().map(|x| x.1).collect::<Vec<_>>().join(", "))
    };
    Some(FieldDiff::new("order", list(0), list(1)))
}

/// `bytes`: a document's bytes spell its JSON otherwise (spacing, key order, escapes,
/// a key written twice: see `spelling`), which no value difference shows.
fn bytes_field(a: &walk::Doc, b: &walk::Doc, extra: [&[Vec<u8>]; 2]) -> Option<FieldDiff> {
    let spell = |d: &walk::Doc, e: &[Vec<u8>]| {
        if e.is_empty() {
            d.spelling
        } else {
            let parts: Vec<&[u8]> = std::iter::once(&d.spelling[..])
                .chain(e.iter().map(Vec::as_slice))
                .collect();
            spelling::json_spelling(b"null", &parts)
        }
    };
    (spell(a, extra[0]) != spell(b, extra[1])).then(|| {
        FieldDiff::new(
            "bytes",
            V::Text(a.digest.clone()),
            V::Text(b.digest.clone()),
        )
    })
}

/// `layers`, when two manifests compared as squashed filesystems list other layers
/// (hidden by `--ignore-layer-split`: what they hold is compared as one tree).
fn layer_split(ma: &walk::Manifest, mb: &walk::Manifest) -> Option<FieldDiff> {
    // By what the layers hold (diff_ids): another compression is no other split.
    let list = |m: &walk::Manifest| {
        m.layers
            .iter()
            .map(|x| {
                x.diff_id
                    .clone()
                    .or_else(|| x.digest.clone())
                    .unwrap_or_else(|| x.blob.clone())
            })
            .collect::<Vec<_>>()
    };
    let (a, b) = (list(ma), list(mb));
    (a != b).then(|| {
        let v = |l: &[String]| {
            V::Text(format!(
                "{} {}: {}",
                l.len(),
                crate::report::plural(l.len() as u64, "layer", "layers"),
                l.join(", ")
            ))
        };
        FieldDiff::new("layers", v(&a), v(&b))
    })
}

/// Check a blob rdiff does not read as a tar (an attestation's in-toto statement, an
/// artifact) against its descriptor, and say `blob` when the two differ: their bytes
/// are what the descriptors point to, and no other field compares them.
fn unread_blob(
    l: &Image,
    la: &Layer,
    r: &Image,
    lb: &Layer,
    i: usize,
) -> Result<Option<FieldDiff>> {
    if la.is_tar() && lb.is_tar() {
        return Ok(None);
    }
    let (da, db) = (verify_blob(l, la, i)?, verify_blob(r, lb, i)?);
    Ok((da != db).then(|| FieldDiff::new("blob", V::Text(da), V::Text(db))))
}

/// The digest of a layer blob, read whole and checked against its descriptor.
fn verify_blob(img: &Image, layer: &Layer, i: usize) -> Result<String> {
    let mut r = img
        .store
        .open(&layer.blob)
        .map_err(|m| layer_err(img, i, layer, m))?;
    let (mut h, handle) = crate::source::hash::Hashing::new(&mut r, true);
    let n = std::io::copy(&mut h, &mut std::io::sink()).map_err(|e| layer_err(img, i, layer, e))?;
    let got = format!(
        "sha256:{}",
        crate::report::hex(&handle.finish().unwrap_or_default())
    );
    if let Some(want) = &layer.digest
        && *want != got
    {
        return Err(layer_err(
            img,
            i,
            layer,
            format!("digest mismatch: expected {want}, found {got}"),
        ));
    }
    if let Some(size) = layer.size
        && size != n
    {
        return Err(layer_err(
            img,
            i,
            layer,
            format!("size mismatch: descriptor says {size}, blob has {n}"),
        ));
    }
    Ok(got)
}

/// `document`, for manifests of a type rdiff does not walk into: their bytes, read and
/// checked against their descriptors, which no other field compares.
fn unread_document(l: &Image, a: usize, r: &Image, b: usize) -> Result<Option<FieldDiff>> {
    let (ma, mb) = (&l.manifests[a], &r.manifests[b]);
    if ma.kind != ManifestKind::Other && mb.kind != ManifestKind::Other {
        return Ok(None);
    }
    let read = |img: &Image, m: &walk::Manifest| -> Result<Option<String>> {
        if m.kind != ManifestKind::Other {
            return Ok(m.doc.as_ref().map(|d| d.digest.clone()));
        }
        let layer = Layer {
            descriptor: m.descriptor.clone(),
            blob: match m.descriptor["digest"].as_str().map(walk::blob_path) {
                Some(Ok(p)) => p,
                _ => return Ok(None),
            },
            digest: m.descriptor["digest"].as_str().map(str::to_string),
            size: m.descriptor["size"].as_u64(),
            media_type: String::new(),
            diff_id: None,
        };
        if !img.store.has(&layer.blob) {
            return Ok(None);
        }
        verify_blob(img, &layer, 0).map(Some)
    };
    let (x, y) = (read(l, ma)?, read(r, mb)?);
    Ok((x != y).then(|| {
        let v = |d: Option<String>| d.map_or(V::Absent, V::Text);
        FieldDiff::new("document", v(x), v(y))
    }))
}

/// `oci_layout`, when the layouts' `oci-layout` files differ.
fn layout_field(l: &Image, r: &Image) -> Option<FieldDiff> {
    (l.layout_file != r.layout_file).then(|| {
        let v = |f: &Option<Vec<u8>>| {
            f.as_ref().map_or(V::Absent, |b| {
                V::Text(String::from_utf8_lossy(b).into_owned())
            })
        };
        FieldDiff::new("oci_layout", v(&l.layout_file), v(&r.layout_file))
    })
}

/// The descriptors of the manifests a filter (`--platform`, `--ignore-attestations`)
/// left out of the comparison: their values count in the index's `bytes`.
fn left_out(img: &Image, pairs: &[Pair], side: usize) -> Vec<Vec<u8>> {
    let paired: Vec<usize> = pairs
        .iter()
        .filter_map(|p| if side == 0 { p.left } else { p.right })
        .collect();
    (0..img.manifests.len())
        .filter(|i| !paired.contains(i))
        .map(|i| serde_json::to_vec(&img.manifests[i].descriptor).unwrap_or_default())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
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
                    crate::error::group(x.members),
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
                l.bytes,
                r.bytes,
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
