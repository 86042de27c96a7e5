//! The metadata diff: an image's index, manifests, configs and layer descriptors,
//! compared as raw JSON (`meta`) plus what the JSON does not say (how the bytes spell
//! it, the `oci-layout` file, blobs and documents rdiff does not read as tars).

use std::borrow::Cow;

use crate::compare::policy::{PathHits, Policy};
use crate::error::Result;
use crate::report::{Difference, FieldDiff, Scope, Status, Value as V};

use super::plan::{Pair, Plan, Sets};
use super::read::{Layers, layer_err};
use super::walk::{self, Image, Layer, Manifest, ManifestKind};
use super::{meta, spelling};

/// The images as compared: each with its manifests as read (`read::manifests_as_read`).
#[derive(Clone, Copy)]
pub struct Side<'a> {
    pub image: &'a Image,
    pub manifests: &'a [Cow<'a, Manifest>],
}

/// Every metadata difference of the plan, in report order: the index, then each pair's
/// manifest, config and layer descriptors.
pub fn differences(
    plan: &Plan,
    sides: [Side<'_>; 2],
    layers: &Layers,
    policy: &Policy,
    hits: &PathHits,
) -> Result<Vec<Difference>> {
    let mut diffs = index_differences(plan, sides, policy, hits);
    for p in &plan.pairs {
        let Some((a, b)) = p.both() else {
            diffs.push(one_side(p, sides, policy, hits)?);
            continue;
        };
        let (ma, mb) = (&*sides[0].manifests[a], &*sides[1].manifests[b]);
        let mf = manifest_fields((sides[0].image, ma), (sides[1].image, mb), p.sets)?;
        diffs.extend(changed(
            format!("{}manifest", p.prefix),
            Scope::Manifest,
            mf,
            policy,
            hits,
        ));
        if let (Some(ca), Some(cb)) = (&ma.config, &mb.config) {
            let cf = config_fields(ma, mb, (ca, cb), p.sets == Sets::Squash);
            diffs.extend(changed(
                format!("{}config", p.prefix),
                Scope::Config,
                cf,
                policy,
                hits,
            ));
        }
        if p.sets == Sets::Layers {
            for i in 0..ma.layers.len() {
                let f = layer_fields(sides, (a, b), i, layers)?;
                let at = format!("{}layers/{i}", p.prefix);
                diffs.extend(changed(at, Scope::Layer, f, policy, hits));
            }
        }
    }
    Ok(diffs)
}

/// The index (`index.json`) and a nested index it points to.
fn index_differences(
    plan: &Plan,
    [ls, rs]: [Side<'_>; 2],
    policy: &Policy,
    hits: &PathHits,
) -> Vec<Difference> {
    let (l, r) = (ls.image, rs.image);
    let mut diffs = Vec::new();
    match (l.indexes.first(), r.indexes.first()) {
        (Some(a), Some(b)) => {
            let mut f = meta::document(&a.json, &b.json);
            f.extend(index_order(l, r, &plan.pairs));
            // The manifests a filter left out count in the bytes of the index that
            // lists them (the nested one, where both have one).
            let extra = [left_out(l, &plan.pairs, 0), left_out(r, &plan.pairs, 1)];
            let nested = l.indexes.len() > 1 && r.indexes.len() > 1;
            let top_extra: [&[Vec<u8>]; 2] = if nested {
                [&[], &[]]
            } else {
                [&extra[0], &extra[1]]
            };
            f.extend(bytes_field(a, b, top_extra));
            f.extend(layout_field(l, r));
            diffs.extend(changed("index".into(), Scope::Index, f, policy, hits));
            if l.indexes.len() != r.indexes.len() {
                // One side's index.json points to an image index, the other's lists the
                // manifests itself: a matter of format (buildx/skopeo --all vs flat).
                let v = |img: &Image| {
                    img.indexes
                        .get(1)
                        .map_or(V::Absent, |d| V::Text(format!("image index {}", d.digest)))
                };
                let f = vec![FieldDiff::new("nesting", v(l), v(r))];
                diffs.extend(changed(
                    "index/nested".into(),
                    Scope::Index,
                    f,
                    policy,
                    hits,
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
                    hits,
                ));
            }
        }
        (a, b) if a.is_some() != b.is_some() => {
            let v = |x: Option<&walk::Doc>| x.map_or(V::Absent, |_| V::Text("index.json".into()));
            let f = vec![FieldDiff::new("file", v(a), v(b))];
            diffs.extend(changed("index".into(), Scope::Index, f, policy, hits));
        }
        _ => {}
    }
    diffs
}

/// A manifest on one side only: added or removed, with its platform. Its layers are
/// not compared, but read and checked against their descriptors all the same.
fn one_side(
    p: &Pair,
    sides: [Side<'_>; 2],
    policy: &Policy,
    hits: &PathHits,
) -> Result<Difference> {
    let (side, i, status) = match (p.left, p.right) {
        (Some(a), _) => (0, a, Status::Removed),
        (None, b) => (1, b.expect("one side"), Status::Added),
    };
    let m = &sides[side].manifests[i];
    // Checked when at hand; not downloaded from a registry for nothing to compare.
    if sides[side].image.store.remote().is_none() {
        for (n, layer) in m.layers.iter().enumerate() {
            verify_blob(sides[side].image, layer, n)?;
        }
    }
    let platform = || V::Text(m.platform.clone().unwrap_or_default());
    let (l, r) = if status == Status::Removed {
        (platform(), V::Absent)
    } else {
        (V::Absent, platform())
    };
    let mut d = Difference::new(format!("{}manifest", p.prefix).into_bytes().into(), status);
    d.part = format!("{}manifest", p.prefix);
    d.fields = vec![FieldDiff::new("platform", l, r).in_scope(Scope::Manifest)];
    // No rule hides a whole manifest, but a path rule naming it has matched something.
    policy.path_rule_hits(&d.path, hits);
    Ok(d)
}

/// A manifest's descriptor and document.
fn manifest_fields(
    (l, ma): (&Image, &Manifest),
    (r, mb): (&Image, &Manifest),
    sets: Sets,
) -> Result<Vec<FieldDiff>> {
    let mut mf = meta::descriptor(&ma.descriptor.raw, &mb.descriptor.raw, false);
    if let (Some(da), Some(db)) = (&ma.doc, &mb.doc) {
        mf.extend(meta::document(&da.json, &db.json));
        // A manifest rdiff made up for a docker-archive has no bytes of its own.
        if !ma.synthesized && !mb.synthesized {
            mf.extend(bytes_field(da, db, [&[], &[]]));
        }
    }
    mf.extend(unread_document((l, ma), (r, mb))?);
    if sets == Sets::Squash {
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
        meta::is_docker_manifest(&ma.descriptor.raw, ma.doc.as_ref().map(|d| &d.json)),
        meta::is_docker_manifest(&mb.descriptor.raw, mb.doc.as_ref().map(|d| &d.json)),
    );
    Ok(mf)
}

/// A config's descriptor and document.
fn config_fields(
    ma: &Manifest,
    mb: &Manifest,
    (ca, cb): (&walk::Doc, &walk::Doc),
    squash: bool,
) -> Vec<FieldDiff> {
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
    let diff_ids = |c: &walk::Doc| c.json["rootfs"]["diff_ids"].clone();
    if squash && diff_ids(ca) != diff_ids(cb) {
        // Compared as one filesystem: the layers' split is a difference of its own
        // (`--ignore-layer-split`), not of what they hold.
        cf.push(FieldDiff::keyed(
            "rootfs",
            &b"diff_ids"[..],
            V::Json(diff_ids(ca)),
            V::Json(diff_ids(cb)),
        ));
    }
    cf
}

/// Layer `i`'s descriptor, blob (if not read as a tar), compression and trailer.
fn layer_fields(
    sides: [Side<'_>; 2],
    (a, b): (usize, usize),
    i: usize,
    layers: &Layers,
) -> Result<Vec<FieldDiff>> {
    let (l, r) = (sides[0].image, sides[1].image);
    let (la, lb) = (
        &sides[0].manifests[a].layers[i],
        &sides[1].manifests[b].layers[i],
    );
    let blob = unread_blob(l, la, r, lb, i)?;
    let (fa, fb) = (layers.facts.get(&(0, a, i)), layers.facts.get(&(1, b, i)));
    let same_content =
        matches!((fa, fb), (Some(x), Some(y)) if x.diff_id.is_some() && x.diff_id == y.diff_id);
    let mut lf = meta::descriptor(&la.descriptor.raw, &lb.descriptor.raw, same_content);
    lf.extend(blob);
    if let (Some(x), Some(y)) = (fa, fb) {
        lf.extend(crate::compare::compression_fields(
            (x.compression, &x.params),
            (y.compression, &y.params),
        ));
        lf.extend(crate::compare::trailer_field(
            x.trailer.as_ref(),
            y.trailer.as_ref(),
        ));
    }
    Ok(lf)
}

/// A metadata difference at `path`, its fields tagged with the rules that hide them.
pub fn changed(
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
            img.manifests[i]
                .descriptor
                .digest
                .clone()
                .unwrap_or_else(|| "?".into())
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
fn layer_split(ma: &Manifest, mb: &Manifest) -> Option<FieldDiff> {
    // By what the layers hold (diff_ids): another compression is no other split.
    let list = |m: &Manifest| {
        m.layers
            .iter()
            .map(|x| {
                x.diff_id
                    .clone()
                    .or_else(|| x.descriptor.digest.clone())
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
    // The same digest and size, and a side on a registry: equal by digest, as for
    // layers (`read::same_by_digest`); only a local side's file is read, to be sure it
    // is that digest.
    let remote = [l, r].map(|img| img.store.remote().is_some());
    if (remote[0] || remote[1])
        && la.digest().is_some()
        && la.digest() == lb.digest()
        && la.size() == lb.size()
    {
        for (img, layer, far) in [(l, la, remote[0]), (r, lb, remote[1])] {
            if !far {
                verify_blob(img, layer, i)?;
            }
        }
        return Ok(None);
    }
    let (da, db) = (verify_blob(l, la, i)?, verify_blob(r, lb, i)?);
    Ok((da != db).then(|| FieldDiff::new("blob", V::Text(da), V::Text(db))))
}

/// The digest of a layer blob, read whole and checked against its descriptor.
pub fn verify_blob(img: &Image, layer: &Layer, i: usize) -> Result<String> {
    let mut r = img
        .store
        .open_blob(&layer.blob, layer.size())
        .map_err(|m| layer_err(img, i, layer, m))?;
    let (mut h, handle) = crate::source::hash::Hashing::new(&mut r, true);
    let n = std::io::copy(&mut h, &mut std::io::sink()).map_err(|e| layer_err(img, i, layer, e))?;
    let got = format!(
        "sha256:{}",
        crate::report::hex(&handle.finish().unwrap_or_default())
    );
    if let Some(want) = layer.digest()
        && *want != got
    {
        return Err(layer_err(
            img,
            i,
            layer,
            format!("digest mismatch: expected {want}, found {got}"),
        ));
    }
    if let Some(size) = layer.size()
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
fn unread_document(
    (l, ma): (&Image, &Manifest),
    (r, mb): (&Image, &Manifest),
) -> Result<Option<FieldDiff>> {
    if ma.kind != ManifestKind::Other && mb.kind != ManifestKind::Other {
        return Ok(None);
    }
    let read = |img: &Image, m: &Manifest| -> Result<Option<String>> {
        if m.kind != ManifestKind::Other {
            return Ok(m.doc.as_ref().map(|d| d.digest.clone()));
        }
        let layer = Layer {
            descriptor: m.descriptor.clone(),
            blob: match m.descriptor.digest.as_deref().map(walk::blob_path) {
                Some(Ok(p)) => p,
                _ => return Ok(None),
            },
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
        let v = |f: &Option<Vec<u8>>| f.as_ref().map_or(V::Absent, |b| V::Bytes(b[..].into()));
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
        .map(|i| serde_json::to_vec(&img.manifests[i].descriptor.raw).unwrap_or_default())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect()
}
