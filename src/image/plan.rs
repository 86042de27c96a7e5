//! The plan of an image comparison: which manifests pair up (by platform, never by
//! position), where each pair's differences go (its location prefix), and how each
//! pair's filesystems are compared (layer by layer, or squashed).

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::report::Note;

use super::ImageOptions;
use super::walk::{Image, ManifestKind};

/// How a pair of manifests' filesystems are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sets {
    /// Not at all: a manifest on one side only, or one rdiff does not walk into.
    None,
    /// Layer `i` against layer `i` (same layer counts).
    Layers,
    /// As the squashed filesystems (`--squash`, or layer counts that differ).
    Squash,
}

/// A pair of manifests to compare, and where their differences go.
#[derive(Clone, Debug)]
pub struct Pair {
    /// `linux/arm64/`, `attestation/linux/amd64/`, or empty for a lone image.
    pub prefix: String,
    pub left: Option<usize>,
    pub right: Option<usize>,
    pub sets: Sets,
}

impl Pair {
    /// Both manifests, when the pair has both.
    pub fn both(&self) -> Option<(usize, usize)> {
        Some((self.left?, self.right?))
    }

    /// This side's manifest (0 left, 1 right).
    pub fn side(&self, side: usize) -> Option<usize> {
        [self.left, self.right][side]
    }
}

/// What to compare.
pub struct Plan {
    pub pairs: Vec<Pair>,
    /// Manifests left out by a filter, pairs compared squashed because their layer
    /// counts differ.
    pub notes: Vec<Note>,
}

/// Pair the two images' manifests and decide how each pair is compared.
pub fn plan(l: &Image, r: &Image, opts: &ImageOptions) -> Result<Plan> {
    if let Some(p) = platform_matching_nothing(l, r, &opts.platforms) {
        return Err(Error::usage(format!(
            "--platform {p} matches no manifest in {} or {}",
            l.name, r.name
        )));
    }
    let li = kept(l, opts);
    let ri = kept(r, opts);
    let mut notes = Vec::new();
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
    let mut raw = pair_by_key(l, r, &li, &ri, &mut notes);
    pair_variants(&mut raw);
    pair_lone(&mut raw);
    let mut pairs = prefixes(l, r, raw);
    for p in &mut pairs {
        p.sets = sets(l, r, p, opts, &mut notes);
    }
    Ok(Plan { pairs, notes })
}

pub fn platform_matches(p: Option<&str>, wanted: &[String]) -> bool {
    if wanted.is_empty() {
        return true;
    }
    let Some(p) = p else { return false };
    wanted
        .iter()
        .any(|w| p == w || p.starts_with(&format!("{w}/")))
}

/// A `--platform` that names no manifest on either side (an error: a typo would
/// otherwise compare nothing and say "identical").
fn platform_matching_nothing(l: &Image, r: &Image, platforms: &[String]) -> Option<String> {
    let hit = |img: &Image, w: &String| {
        img.manifests
            .iter()
            .any(|m| platform_matches(m.platform.as_deref(), std::slice::from_ref(w)))
    };
    platforms
        .iter()
        .rfind(|w| !hit(l, w) && !hit(r, w))
        .cloned()
}

/// The key a manifest is matched by: kind (0 image, 1 attestation, 2 other), platform,
/// and the subject's platform for attestations. Never the position in the index.
type Key = (u8, String);

fn match_key(img: &Image, i: usize) -> Key {
    let m = &img.manifests[i];
    match &m.kind {
        ManifestKind::Image => (0, m.platform.clone().unwrap_or_default()),
        ManifestKind::Attestation(subject) => {
            let sp = subject
                .as_ref()
                .and_then(|d| {
                    img.manifests
                        .iter()
                        .find(|x| x.descriptor.digest.as_ref() == Some(d))
                })
                .and_then(|x| x.platform.clone())
                .unwrap_or_default();
            (1, sp)
        }
        ManifestKind::Other => (2, m.descriptor.media_type.clone()),
    }
}

/// The manifests `--platform` and `--ignore-attestations` keep.
fn kept(img: &Image, opts: &ImageOptions) -> Vec<usize> {
    let keep = |i: usize| {
        let key = match_key(img, i);
        if opts.ignore_attestations && key.0 == 1 {
            return false;
        }
        match key.0 {
            0 | 1 => {
                platform_matches(
                    Some(&key.1).filter(|s| !s.is_empty()).map(|s| s.as_str()),
                    &opts.platforms,
                ) || (opts.platforms.is_empty() && img.manifests[i].platform.is_none())
            }
            _ => opts.platforms.is_empty(),
        }
    };
    (0..img.manifests.len()).filter(|&i| keep(i)).collect()
}

/// Manifests paired so far, with the key they were paired by.
type Paired = (Option<usize>, Option<usize>, Key);

/// Group by key; pair within a group by ref name, then by content (the same config),
/// then one to one in index order (with a note where that was a choice among several).
fn pair_by_key(
    l: &Image,
    r: &Image,
    li: &[usize],
    ri: &[usize],
    notes: &mut Vec<Note>,
) -> Vec<Paired> {
    let mut groups: BTreeMap<Key, (Vec<usize>, Vec<usize>)> = BTreeMap::new();
    for &i in li {
        groups.entry(match_key(l, i)).or_default().0.push(i);
    }
    for &i in ri {
        groups.entry(match_key(r, i)).or_default().1.push(i);
    }
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
        fn config(img: &Image, i: usize) -> Option<&String> {
            img.manifests[i].config.as_ref().map(|c| &c.digest)
        }
        a.retain(|&x| {
            let c = config(l, x);
            match b.iter().position(|&y| c.is_some() && config(r, y) == c) {
                Some(pos) => {
                    paired.push((Some(x), Some(b.remove(pos))));
                    false
                }
                None => true,
            }
        });
        let chosen = a.len() > 1 || b.len() > 1;
        while !a.is_empty() && !b.is_empty() {
            let (x, y) = (a.remove(0), b.remove(0));
            if chosen {
                notes.push(position_note(l, x, r, y));
            }
            paired.push((Some(x), Some(y)));
        }
        paired.extend(a.into_iter().map(|x| (Some(x), None)));
        paired.extend(b.into_iter().map(|y| (None, Some(y))));
        for (x, y) in paired {
            raw.push((x, y, key.clone()));
        }
    }
    raw
}

/// Which images were paired by their place in the list, where names and configs left a
/// choice.
fn position_note(l: &Image, x: usize, r: &Image, y: usize) -> Note {
    let name = |img: &Image, i: usize| {
        let m = &img.manifests[i];
        m.ref_name.clone().unwrap_or_else(|| {
            let digest = m.descriptor.digest.as_deref();
            let config = m.config.as_ref().map(|c| c.digest.as_str());
            format!("image {}", digest.or(config).unwrap_or("?"))
        })
    };
    Note {
        path: b"index".as_slice().into(),
        kind: "paired",
        message: format!(
            "{} (left) paired with {} (right) by their place in the list: no name or config \
             tells the images apart (name one with FILE:REF)",
            name(l, x),
            name(r, y)
        ),
    }
}

/// An image whose config names no variant against an index entry `os/arch/variant`
/// (or the reverse): the same platform as far as one side can say.
fn pair_variants(raw: &mut Vec<Paired>) {
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
}

/// Single unmatched manifests on both sides (different platforms or tools): pair them.
fn pair_lone(raw: &mut Vec<Paired>) {
    let lone = |side: usize| -> Vec<usize> {
        (0..raw.len())
            .filter(|&k| {
                if side == 0 {
                    raw[k].1.is_none()
                } else {
                    raw[k].0.is_none()
                }
            })
            .collect()
    };
    let (lone_l, lone_r) = (lone(0), lone(1));
    if raw.len() == 2 && lone_l.len() == 1 && lone_r.len() == 1 {
        let y = raw[lone_r[0]].1;
        raw[lone_l[0]].1 = y;
        raw.remove(lone_r[0]);
    }
}

/// Locations get a prefix when either side holds several images (counted before
/// `--platform` narrowed them, so a location does not move with the filter);
/// attestations have their own prefix and do not count.
fn prefixes(l: &Image, r: &Image, raw: Vec<Paired>) -> Vec<Pair> {
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
    let name = |img: &Image, i: Option<usize>| i.and_then(|i| img.manifests[i].ref_name.clone());
    raw.into_iter()
        .map(|(x, y, key)| {
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
                sets: Sets::None,
            }
        })
        .collect()
}

/// How a pair's filesystems are compared; a note where layer counts force squashing.
fn sets(l: &Image, r: &Image, p: &Pair, opts: &ImageOptions, notes: &mut Vec<Note>) -> Sets {
    let Some((a, b)) = p.both() else {
        return Sets::None;
    };
    let (ma, mb) = (&l.manifests[a], &r.manifests[b]);
    if ma.kind == ManifestKind::Other || mb.kind == ManifestKind::Other {
        return Sets::None;
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
    if squash { Sets::Squash } else { Sets::Layers }
}
