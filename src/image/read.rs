//! Reading the layers a plan compares: every layer blob through the same tar source as
//! a rootfs, verified as it streams (blob digest and size, diff_id), each pair of sets
//! read with [`read_pair`] so that small contents that differ are kept on the way.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use rayon::prelude::*;

use crate::compare::keeper::{Budgets, Side};
use crate::compare::packages::BUDGET as PACKAGES_BUDGET;
use crate::compare::pair::{Kept, ReadPair, Reading, read_pair};
use crate::entry::{Bytes, Digest};
use crate::error::{Error, ErrorKind, Result};
use crate::source::compress::Compression;
use crate::source::{
    Checks, Collector, ContentSink, EntrySet, Fetched, Fetcher, InputInfo, ReadOptions, SourceKind,
    StreamFacts, Want, fetch_members, finish_set, read_tar_from,
};

use super::plan::{Plan, Sets};
use super::walk::{self, Image, Layer, Manifest};

/// How the layers are read.
#[derive(Clone, Debug)]
pub struct LayerReading {
    pub read: ReadOptions,
    pub progress: Option<std::sync::Arc<crate::progress::Progress>>,
    pub budgets: Budgets,
    /// One layer at a time, each pair one side after the other (`--low-memory`).
    pub sequential: bool,
}

/// One pair of entry sets read: a layer pair, or a pair's squashed filesystems.
pub struct ReadSet {
    /// The plan's pair the sets belong to.
    pub pair: usize,
    /// `layers/0/`, `linux/arm64/rootfs/`.
    pub location: String,
    pub sides: [EntrySet; 2],
    pub kept: Kept,
    /// The package database files held while the sides were read.
    pub db: [crate::compare::packages::HeldFiles; 2],
}

/// What reading the layers gave.
pub struct Layers {
    /// In plan order, layer by layer within a pair.
    pub sets: Vec<ReadSet>,
    /// What each layer's stream said, by (side, manifest, layer).
    pub facts: HashMap<(usize, usize, usize), StreamFacts>,
    /// Set pairs not read because their blobs are the same by digest.
    pub notes: Vec<crate::report::Note>,
}

/// One side of a set pair as read: its entries, and each layer's stream facts.
struct SideRead {
    set: EntrySet,
    facts: Vec<(usize, StreamFacts)>,
}

impl AsRef<EntrySet> for SideRead {
    fn as_ref(&self) -> &EntrySet {
        &self.set
    }
}

/// One set pair to read: a plan pair's layer `Some(i)` or its squashed trees (`None`).
struct Job {
    pair: usize,
    manifests: [usize; 2],
    layer: Option<usize>,
    location: String,
}

/// Read every set pair the plan compares: in parallel, or one after the other.
pub fn read_layers(plan: &Plan, imgs: [&Image; 2], how: &LayerReading) -> Result<Layers> {
    let (jobs, notes, unread) = jobs(plan, imgs);
    verify_local(imgs, &unread)?;
    if let Some(p) = &how.progress {
        for j in &jobs {
            for (side, (img, m)) in imgs.iter().zip(j.manifests).enumerate() {
                for i in layers_of(img, m, j.layer) {
                    p.add_total(side, img.manifests[m].layers[i].size().unwrap_or(0));
                }
            }
        }
    }
    let read_job = |j: &Job| read_job(j, imgs, how);
    let results: Vec<Result<ReadPair<SideRead>>> = if how.sequential {
        jobs.iter().map(read_job).collect()
    } else {
        jobs.par_iter().map(read_job).collect()
    };
    let mut out = Layers {
        sets: Vec::new(),
        facts: HashMap::new(),
        notes,
    };
    for (j, res) in jobs.into_iter().zip(results) {
        let ReadPair { sides, kept, db } = res?;
        let [l, r] = sides;
        for (side, s) in [(0, &l), (1, &r)] {
            for (i, f) in &s.facts {
                out.facts.insert((side, j.manifests[side], *i), f.clone());
            }
        }
        out.sets.push(ReadSet {
            pair: j.pair,
            location: j.location,
            sides: [l.set, r.set],
            kept,
            db,
        });
    }
    Ok(out)
}

/// Layers left unread because both sides' blobs are the same by digest: the pair's
/// manifests and the layers' indexes.
type Unread = ([usize; 2], Vec<usize>);

/// The set pairs of a plan, in plan order: each layer pair whose blobs are both tars,
/// or the squashed trees; and a note for each set pair left unread because its blobs
/// are the same by digest ([`same_by_digest`]), with those layers.
fn jobs(plan: &Plan, imgs: [&Image; 2]) -> (Vec<Job>, Vec<crate::report::Note>, Vec<Unread>) {
    let mut jobs = Vec::new();
    let mut notes = Vec::new();
    let mut unread = Vec::new();
    let remote = imgs.iter().any(|i| i.store.remote().is_some());
    for (k, p) in plan.pairs.iter().enumerate() {
        let Some((a, b)) = p.both() else { continue };
        let job = |layer: Option<usize>, location: String| Job {
            pair: k,
            manifests: [a, b],
            layer,
            location,
        };
        let (la, lb) = (&imgs[0].manifests[a].layers, &imgs[1].manifests[b].layers);
        match p.sets {
            Sets::None => {}
            Sets::Squash if remote && same_by_digest(la, lb) => {
                notes.push(not_read(format!("{}rootfs", p.prefix), la));
                unread.push(([a, b], (0..la.len()).collect()));
            }
            Sets::Squash => jobs.push(job(None, format!("{}rootfs/", p.prefix))),
            Sets::Layers => {
                for i in 0..la.len() {
                    let (x, y) = (&la[i..=i], &lb[i..=i]);
                    if !(x[0].is_tar() && y[0].is_tar()) {
                        continue;
                    }
                    if remote && same_by_digest(x, y) {
                        notes.push(not_read(format!("{}layers/{i}", p.prefix), x));
                        unread.push(([a, b], vec![i]));
                    } else {
                        jobs.push(job(Some(i), format!("{}layers/{i}/", p.prefix)));
                    }
                }
            }
        }
    }
    (jobs, notes, unread)
}

/// Whether two lists of layers are the same blobs: the same digests, sizes and
/// diff_ids, in order. The same SHA-256 is the same bytes, so such layers hold the same
/// entries; when one side is on a registry they are not downloaded only to confirm it.
/// Descriptors that give one digest two sizes (or one blob two diff_ids) cannot both
/// be right: those blobs are read, and the one that lies is refused. (A media type
/// names a compression the bytes themselves show; it is compared with the manifests.)
fn same_by_digest(a: &[Layer], b: &[Layer]) -> bool {
    a.len() == b.len()
        && a.iter().zip(b).all(|(x, y)| {
            x.digest().is_some()
                && x.digest() == y.digest()
                && x.size() == y.size()
                && x.diff_id == y.diff_id
        })
}

/// Hash the blobs of unread layers that a local store holds (a layout, an archive): the
/// registry's blob is named by its digest, but a local file is only what its bytes
/// are, and "equal by digest" must not rest on a file whose bytes are not that digest.
/// Reading a local file costs no download.
fn verify_local(imgs: [&Image; 2], unread: &[Unread]) -> Result<()> {
    let mut blobs = Vec::new();
    for (manifests, layers) in unread {
        for (side, img) in imgs.iter().enumerate() {
            if img.store.remote().is_none() {
                let m = &img.manifests[manifests[side]];
                blobs.extend(layers.iter().map(|&i| (*img, &m.layers[i], i)));
            }
        }
    }
    blobs
        .par_iter()
        .try_for_each(|&(img, layer, i)| super::metadata::verify_blob(img, layer, i).map(|_| ()))
}

/// The note of a set pair not read: `equal by digest, not read`.
fn not_read(location: String, layers: &[Layer]) -> crate::report::Note {
    let digests: Vec<&str> = layers.iter().filter_map(Layer::digest).collect();
    crate::report::Note {
        path: location.into_bytes().into(),
        kind: "not_read",
        message: format!("equal by digest, not read ({})", digests.join(", ")),
    }
}

/// The layers one side of a job reads: layer `i`, or every tar layer (squashed).
fn layers_of(img: &Image, manifest: usize, layer: Option<usize>) -> Vec<usize> {
    match layer {
        Some(i) => vec![i],
        None => (0..img.manifests[manifest].layers.len())
            .filter(|&i| img.manifests[manifest].layers[i].is_tar())
            .collect(),
    }
}

fn read_job(j: &Job, imgs: [&Image; 2], how: &LayerReading) -> Result<ReadPair<SideRead>> {
    let reading = if how.sequential {
        Reading::OneAfterTheOther { first: Side::Left }
    } else {
        Reading::Together
    };
    let shared = shared_layers(j, imgs);
    let once = read_shared(&shared, j, imgs, how)?;
    let mut pair = read_pair(reading, how.budgets, [false, false], |side, sink| {
        let s = side as usize;
        let img = imgs[s];
        let opts = how.read.for_side(how.progress.as_ref(), s);
        let mut layers = layers_of(img, j.manifests[s], j.layer);
        layers.retain(|i| !shared.iter().any(|x| x.index[s] == *i));
        // The shared layers' contents first: they are usually the base, and a content
        // offered later for the same path is taken as the one the side ends with.
        let mut read: Vec<(usize, ReadLayer)> = (shared.iter().zip(&once))
            .map(|(x, layer)| (x.index[s], layer.as_side(x.index[s], sink)))
            .collect();
        let read_one = |&i: &usize| {
            let layer = &img.manifests[j.manifests[s]].layers[i];
            read_layer(img, layer, i, sink, &opts).map(|x| (i, x))
        };
        let own: Vec<Result<(usize, ReadLayer)>> = if how.sequential {
            layers.iter().map(read_one).collect()
        } else {
            layers.par_iter().map(read_one).collect()
        };
        read.extend(own.into_iter().collect::<Result<Vec<_>>>()?);
        if j.layer.is_some() {
            let (i, x) = read.into_iter().next().expect("one layer");
            return Ok(SideRead {
                set: x.set,
                facts: vec![(i, x.facts)],
            });
        }
        read.sort_by_key(|(i, _)| *i);
        let sets: Vec<&EntrySet> = read.iter().map(|(_, x)| &x.set).collect();
        let entries =
            super::squash::squash(&sets).map_err(|m| Error::other(img.name.clone(), m))?;
        let mut info = InputInfo::new(img.name.clone(), SourceKind::Squashed);
        info.entries = entries.len() as u64;
        Ok(SideRead {
            set: EntrySet { info, entries },
            facts: read.into_iter().map(|(i, x)| (i, x.facts)).collect(),
        })
    })?;
    keep_shared(&mut pair, &once);
    Ok(pair)
}

/// A file that differs and that a side ends with from a shared layer: its bytes are
/// among those that layer offered, so they are kept here rather than downloaded again
/// for the content diff. (The keeper, offered one path several times by the layers
/// of a squashed side, can have let them go when they matched the other side's copy
/// from the same layer.)
fn keep_shared(pair: &mut ReadPair<SideRead>, once: &[ReadOnce]) {
    for (path, digest, bytes) in once.iter().flat_map(|o| &o.offered) {
        let ends = [0, 1].map(|s| pair.sides[s].set.get(path).and_then(|e| e.digest));
        if ends[0] == ends[1] {
            continue;
        }
        for s in 0..2 {
            if ends[s] == Some(*digest) {
                let slot = pair.kept.entry(path.clone()).or_default();
                if slot[s].as_ref().is_none_or(|(d, _)| d != digest) {
                    slot[s] = Some((*digest, bytes.clone()));
                }
            }
        }
    }
}

/// A layer both sides of a squashed pair hold, the same by digest, size and diff_id
/// ([`same_by_digest`]): read once, for both sides, when a side is on a registry (two
/// images on one base do not download the base twice).
struct Shared {
    /// The layer's index on each side.
    index: [usize; 2],
    /// The side that reads it: a local store's when there is one (its bytes cost no
    /// download, and a local file must be hashed to be its digest), else the left.
    reader: usize,
}

/// The layers of a squashed job that both sides share, each right layer used once.
fn shared_layers(j: &Job, imgs: [&Image; 2]) -> Vec<Shared> {
    if j.layer.is_some() || imgs.iter().all(|i| i.store.remote().is_none()) {
        return Vec::new();
    }
    let la = &imgs[0].manifests[j.manifests[0]].layers;
    let lb = &imgs[1].manifests[j.manifests[1]].layers;
    let reader = usize::from(imgs[1].store.remote().is_none());
    let mut used = vec![false; lb.len()];
    let mut out = Vec::new();
    for i in (0..la.len()).filter(|&i| la[i].is_tar()) {
        let same =
            |&k: &usize| !used[k] && lb[k].is_tar() && same_by_digest(&la[i..=i], &lb[k..=k]);
        if let Some(k) = (0..lb.len()).find(same) {
            used[k] = true;
            out.push(Shared {
                index: [i, k],
                reader,
            });
        }
    }
    out
}

/// A shared layer read once: what it gave, and the small contents it offered (kept up
/// to the waiting budget), to be offered again by each side as if it had read them.
struct ReadOnce {
    layer: ReadLayer,
    offered: Vec<Offered>,
}

/// A content a layer offered: its path, SHA-256 and bytes.
type Offered = (Bytes, Digest, std::sync::Arc<[u8]>);

impl ReadOnce {
    /// The layer as side reading it at index `i` sees it: its entries stamped with that
    /// index (the content stage reads again from that side's layer `i`), its contents
    /// offered to that side's sink.
    fn as_side(&self, i: usize, sink: &dyn ContentSink) -> ReadLayer {
        for (path, digest, bytes) in &self.offered {
            if sink.wants(path, bytes.len() as u64) {
                sink.content(path, *digest, bytes);
            }
        }
        let mut set = self.layer.set.clone();
        for e in &mut set.entries {
            e.layer = i as u32;
        }
        ReadLayer {
            set,
            facts: self.layer.facts.clone(),
        }
    }
}

/// Holds what a shared layer offers, up to a byte budget.
struct Capture {
    keep_limit: u64,
    budget: u64,
    held: std::sync::Mutex<Held>,
}

/// What a [`Capture`] holds: bytes of small contents and of database files, and both.
#[derive(Default)]
struct Held {
    small: u64,
    database: u64,
    offered: Vec<Offered>,
}

impl ContentSink for Capture {
    fn wants(&self, path: &[u8], size: u64) -> bool {
        (size > 0 && size <= self.keep_limit)
            || (size <= PACKAGES_BUDGET && crate::packages::wanted(path))
    }
    fn content(&self, path: &[u8], digest: Digest, bytes: &[u8]) {
        let mut held = self.held.lock().unwrap_or_else(|e| e.into_inner());
        let n = bytes.len() as u64;
        // Package database files up to the bound the package stage holds them to, the
        // rest up to the waiting budget; what is over is read again if it is needed.
        if crate::packages::wanted(path) && held.database + n <= PACKAGES_BUDGET {
            held.database += n;
        } else if held.small + n <= self.budget {
            held.small += n;
        } else {
            return;
        }
        held.offered.push((path.into(), digest, bytes.into()));
    }
}

/// Read each shared layer once, from its reader side; the other side's progress
/// counts it as read.
fn read_shared(
    shared: &[Shared],
    j: &Job,
    imgs: [&Image; 2],
    how: &LayerReading,
) -> Result<Vec<ReadOnce>> {
    let read_one = |x: &Shared| {
        let (s, i) = (x.reader, x.index[x.reader]);
        let img = imgs[s];
        let layer = &img.manifests[j.manifests[s]].layers[i];
        let capture = Capture {
            keep_limit: how.budgets.keep_limit,
            budget: how.budgets.waiting / shared.len().max(1) as u64,
            held: Default::default(),
        };
        let opts = how.read.for_side(how.progress.as_ref(), s);
        let layer = read_layer(img, layer, i, &capture, &opts)?;
        if let Some(p) = &how.progress {
            let o = 1 - s;
            p.add(
                o,
                imgs[o].manifests[j.manifests[o]].layers[x.index[o]]
                    .size()
                    .unwrap_or(0),
            );
        }
        let offered = capture
            .held
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .offered;
        Ok(ReadOnce { layer, offered })
    };
    if how.sequential {
        shared.iter().map(read_one).collect()
    } else {
        shared.par_iter().map(read_one).collect()
    }
}

/// A layer read: its entries and what the stream said.
struct ReadLayer {
    set: EntrySet,
    facts: StreamFacts,
}

pub fn layer_err(img: &Image, i: usize, layer: &Layer, msg: impl std::fmt::Display) -> Error {
    Error::other(
        img.name.clone(),
        format!(
            "layer {i} ({}): {msg}",
            layer.digest().unwrap_or(&layer.blob)
        ),
    )
}

/// Read one layer blob into entries, verifying its digest, size and diff_id.
fn read_layer(
    img: &Image,
    layer: &Layer,
    index: usize,
    sink: &dyn ContentSink,
    read: &ReadOptions,
) -> Result<ReadLayer> {
    if let (Some(want), Ok(have)) = (layer.size(), img.store.size(&layer.blob))
        && want != have
    {
        let msg = format!("size mismatch: descriptor says {want}, blob has {have}");
        return Err(layer_err(img, index, layer, msg));
    }
    let r = img
        .store
        .open_blob(&layer.blob, layer.size())
        .map_err(|m| layer_err(img, index, layer, m))?;
    let r: Box<dyn std::io::BufRead + '_> = match &read.progress {
        Some(p) => Box::new(crate::source::ProgressReader {
            inner: r,
            p: p.clone(),
        }),
        None => r,
    };
    let mut collector = Collector::new(read, sink);
    collector.layer = index as u32;
    let checks = Checks {
        blob: true,
        diff_id: true,
    };
    let facts = read_tar_from(r, &read.tar_limits, true, Some(checks), |tr| {
        while let Some(t) = tr.next_entry()? {
            collector.member(tr, t)?;
        }
        Ok(())
    })
    .map_err(|k: ErrorKind| layer_err(img, index, layer, k))?;
    verify_layer(img, layer, index, &facts)?;
    let mut info = InputInfo::new(img.name.clone(), SourceKind::Tar);
    info.compression = Some(facts.compression);
    info.bytes = facts.raw_bytes;
    info.tar_bytes = facts.tar_bytes;
    info.sha256 = facts.blob_digest;
    info.trailer = facts.trailer.clone();
    info.compression_params = facts.params.clone();
    Ok(ReadLayer {
        set: finish_set(collector.entries, info),
        facts,
    })
}

/// Check what a layer's stream was against its descriptor and the config's diff_id.
fn verify_layer(img: &Image, layer: &Layer, index: usize, facts: &StreamFacts) -> Result<()> {
    let hex = |d: Option<Digest>| d.map(|d| format!("sha256:{}", crate::report::hex(&d)));
    let err = |msg: String| Err(layer_err(img, index, layer, msg));
    if let (Some(want), Some(got)) = (layer.digest(), hex(facts.blob_digest))
        && *want != got
    {
        return err(format!("digest mismatch: expected {want}, found {got}"));
    }
    if let Some(size) = layer.size()
        && size != facts.raw_bytes
    {
        let got = facts.raw_bytes;
        return err(format!(
            "size mismatch: descriptor says {size}, blob has {got}"
        ));
    }
    if let (Some(want), Some(got)) = (&layer.diff_id, hex(facts.diff_id))
        && *want != got
    {
        return err(format!(
            "diff_id mismatch: config says {want}, layer is {got}"
        ));
    }
    Ok(())
}

/// The manifests as compared: a docker-archive has no manifest of its own, so rdiff
/// makes one from what reading its layers found (digests, sizes, compression); the
/// others are the walk's.
pub fn manifests_as_read<'a>(
    img: &'a Image,
    side: usize,
    layers: &Layers,
) -> Vec<Cow<'a, Manifest>> {
    img.manifests
        .iter()
        .enumerate()
        .map(|(mi, m)| {
            if !m.synthesized {
                return Cow::Borrowed(m);
            }
            let facts: Vec<(String, u64, &str)> = (0..m.layers.len())
                .filter_map(|i| {
                    let f = layers.facts.get(&(side, mi, i))?;
                    let media = match f.compression {
                        Compression::Gzip => "application/vnd.docker.image.rootfs.diff.tar.gzip",
                        Compression::Zstd => "application/vnd.docker.image.rootfs.diff.tar.zstd",
                        _ => "application/vnd.docker.image.rootfs.diff.tar",
                    };
                    let digest = format!("sha256:{}", crate::report::hex(&f.blob_digest?));
                    Some((digest, f.raw_bytes, media))
                })
                .collect();
            if facts.len() == m.layers.len() {
                Cow::Owned(walk::synthesized_manifest(m, &facts))
            } else {
                Cow::Borrowed(m)
            }
        })
        .collect()
}

/// Reads content again from layer blobs.
pub struct LayerFetcher<'a> {
    pub image: &'a Image,
    pub layers: &'a [Layer],
    pub read: &'a ReadOptions,
}

impl Fetcher for LayerFetcher<'_> {
    fn rereadable(&self) -> bool {
        true
    }

    fn fetch(&self, wanted: &BTreeMap<Bytes, Want>) -> Result<BTreeMap<Bytes, Fetched>> {
        let mut by_layer: BTreeMap<u32, BTreeMap<Bytes, Want>> = BTreeMap::new();
        for (p, w) in wanted {
            by_layer.entry(w.layer).or_default().insert(p.clone(), *w);
        }
        let mut out = BTreeMap::new();
        for (l, want) in by_layer {
            let Some(layer) = self.layers.get(l as usize) else {
                continue;
            };
            let err = |m| layer_err(self.image, l as usize, layer, m);
            let r = self
                .image
                .store
                .open_blob(&layer.blob, layer.size())
                .map_err(err)?;
            read_tar_from(r, &self.read.tar_limits, false, None, |tr| {
                fetch_members(tr, &want, &mut out)
            })
            .map_err(|k| layer_err(self.image, l as usize, layer, k))?;
        }
        Ok(out)
    }
}
