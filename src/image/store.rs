//! Where an image's blobs live: an OCI layout directory, or a tar archive (oci-archive,
//! docker-archive in its shapes). An archive is indexed once (member name to offset and
//! size, symlinks resolved inside the archive) and then read by offset from a memory
//! map, so members may come in any order and layers can be read in parallel. A
//! compressed archive, standard input, a pipe, or the output of `podman image save` is
//! first spooled, decompressed, to a temporary file (deleted when done), since its
//! members cannot be read by offset otherwise.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::Mmap;

use crate::entry::{Kind, normalize_path};
use crate::error::{Error, ErrorKind, Result};
use crate::source::compress::{self, Compression, Counting};
use crate::source::mmap::MmapReader;
use crate::source::tar::TarReader;

/// A member of an archive.
#[derive(Clone, Debug)]
pub struct Member {
    offset: u64,
    size: u64,
    /// Symlink or hardlink target (a normalized member path).
    link: Option<String>,
}

/// The blobs of one image input, and the limits they are read under.
pub struct Store {
    blobs: Blobs,
    limits: Limits,
}

/// Where the blobs are.
enum Blobs {
    /// An OCI image layout directory; or, with `flat`, a skopeo `dir:` directory
    /// (`podman save --format docker-dir`), whose blobs are files named by their hex
    /// digest beside `manifest.json`.
    Layout { root: PathBuf, flat: Option<Flat> },
    /// A tar archive, indexed.
    Archive {
        map: Arc<Mmap>,
        members: BTreeMap<String, Member>,
        /// What the archive's own bytes are.
        facts: ArchiveFacts,
        /// Offsets of the members read (the blobs the walk compares).
        opened: std::sync::Mutex<std::collections::BTreeSet<u64>>,
        /// Keeps a spooled temporary file alive (and deletes it at the end).
        _spool: Option<tempfile::NamedTempFile>,
    },
    /// A repository on a registry: documents fetched whole, blobs streamed.
    Registry(Box<super::registry::Registry>),
}

/// A `dir:` directory's manifest, which is no file of its digest.
struct Flat {
    /// Hex SHA-256 of `manifest.json`.
    manifest: String,
}

/// What a store reads at most.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest JSON document (index, manifest, config): `--max-json-size`.
    pub json: u64,
    /// An archive's limits as a tar: the largest decompressed archive spooled to disk
    /// (`--max-uncompressed-size`), most members (`--max-entries`).
    pub tar: crate::source::tar::Limits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            json: MAX_JSON,
            tar: crate::source::tar::Limits::default(),
        }
    }
}

/// What an archive input is as bytes: its digest as given, its compression.
#[derive(Clone, Debug)]
pub struct ArchiveFacts {
    /// SHA-256 of the archive's bytes as given (the file, or the stream).
    pub sha256: crate::entry::Digest,
    pub compression: Compression,
    /// The parameters the compression's headers carry.
    pub params: Vec<crate::source::compress_facts::Param>,
    /// SHA-256 over the archive as a tar: each member in order (every header field and
    /// its framing digest, see `source::tar::framing`; for members of up to 1 MiB, their
    /// data and padding), and what follows the last member. Larger members are the
    /// blobs the walk compares by digest.
    pub framing: crate::entry::Digest,
    /// Members of the archive.
    pub members: u64,
    /// The archive's bytes as given (the file, or what the stream delivered).
    pub bytes: u64,
}

/// Largest JSON document read from an image (index, manifest, config), by default.
pub const MAX_JSON: u64 = 64 << 20;

impl Store {
    pub fn layout(root: &Path, limits: Limits) -> Store {
        Store {
            blobs: Blobs::Layout {
                root: root.to_path_buf(),
                flat: None,
            },
            limits,
        }
    }

    /// A skopeo `dir:` directory: `manifest.json`, and each blob in a file named by
    /// its hex digest. The manifest is found by its digest too.
    pub fn dir(root: &Path, limits: Limits) -> std::io::Result<Store> {
        let manifest = std::fs::read(root.join("manifest.json"))?;
        let hex = crate::report::hex(&crate::source::hash::sha256(&manifest));
        Ok(Store {
            blobs: Blobs::Layout {
                root: root.to_path_buf(),
                flat: Some(Flat { manifest: hex }),
            },
            limits,
        })
    }

    /// A registry repository, connected.
    pub fn registry(reg: super::registry::Registry, limits: Limits) -> Store {
        Store {
            blobs: Blobs::Registry(Box::new(reg)),
            limits,
        }
    }

    /// The registry, when the blobs are on one.
    pub fn remote(&self) -> Option<&super::registry::Registry> {
        match &self.blobs {
            Blobs::Registry(r) => Some(r),
            _ => None,
        }
    }

    /// Where a blob name is on disk: `blobs/sha256/HEX` is `HEX` in a `dir:` directory.
    fn file(root: &Path, flat: &Option<Flat>, name: &str) -> PathBuf {
        match (flat, name.strip_prefix("blobs/sha256/")) {
            (Some(f), Some(hex)) if hex == f.manifest => root.join("manifest.json"),
            (Some(_), Some(hex)) => root.join(hex),
            _ => root.join(name),
        }
    }

    /// Index an archive file (plain or compressed) or stream.
    pub fn archive(name: &str, path: Option<&Path>, limits: Limits) -> Result<Store> {
        let err = |k: ErrorKind| Error::new(name.to_string(), k);
        let (map, spool, facts) = match path {
            Some(p) if p.is_file() => {
                let file = File::open(p).map_err(|e| err(e.into()))?;
                let mut head = [0u8; 6];
                let n = (&file).take(6).read(&mut head).map_err(|e| err(e.into()))?;
                if Compression::detect(&head[..n]) == Compression::None {
                    let map = map_file(&file).map_err(|e| err(e.into()))?;
                    let facts = ArchiveFacts {
                        sha256: crate::source::hash::sha256(map_bytes(&map)),
                        compression: Compression::None,
                        params: Vec::new(),
                        framing: [0; 32],
                        members: 0,
                        bytes: map_bytes(&map).len() as u64,
                    };
                    (map, None, facts)
                } else {
                    let f = File::open(p).map_err(|e| err(e.into()))?;
                    spool(
                        Box::new(BufReader::with_capacity(256 << 10, f)),
                        &limits.tar,
                    )
                    .map_err(err)?
                }
            }
            Some(p) => {
                let f = File::open(p).map_err(|e| err(e.into()))?;
                spool(
                    Box::new(BufReader::with_capacity(256 << 10, f)),
                    &limits.tar,
                )
                .map_err(err)?
            }
            None => spool(
                Box::new(BufReader::with_capacity(256 << 10, io::stdin().lock())),
                &limits.tar,
            )
            .map_err(err)?,
        };
        let mut facts = facts;
        let members = index(&map, &mut facts, &limits.tar).map_err(err)?;
        Ok(Store {
            blobs: Blobs::Archive {
                map,
                members,
                facts,
                opened: Default::default(),
                _spool: spool,
            },
            limits,
        })
    }

    /// An archive read from a command's standard output.
    pub fn from_reader(name: &str, r: Box<dyn BufRead + '_>, limits: Limits) -> Result<Store> {
        let err = |k: ErrorKind| Error::new(name.to_string(), k);
        let (map, spool, mut facts) = spool(r, &limits.tar).map_err(err)?;
        let members = index(&map, &mut facts, &limits.tar).map_err(err)?;
        Ok(Store {
            blobs: Blobs::Archive {
                map,
                facts,
                members,
                opened: Default::default(),
                _spool: spool,
            },
            limits,
        })
    }

    /// Whether `name` (a path inside the layout or archive) exists.
    pub fn has(&self, name: &str) -> bool {
        match &self.blobs {
            Blobs::Layout { root, flat } => Store::file(root, flat, name).is_file(),
            Blobs::Archive { members, .. } => resolve(members, name).is_ok(),
            // Asked for when read: a missing blob is the registry's 404.
            Blobs::Registry(_) => true,
        }
    }

    /// Size of a blob.
    pub fn size(&self, name: &str) -> std::result::Result<u64, String> {
        match &self.blobs {
            Blobs::Layout { root, flat } => std::fs::metadata(Store::file(root, flat, name))
                .map(|m| m.len())
                .map_err(|e| format!("{name}: {e}")),
            Blobs::Archive { members, .. } => resolve(members, name).map(|m| m.size),
            // Known only from the descriptor, and checked as the blob streams.
            Blobs::Registry(_) => Err(format!("{name}: size unknown before it is fetched")),
        }
    }

    /// Open a blob for streaming.
    pub fn open(&self, name: &str) -> std::result::Result<Box<dyn BufRead + Send + '_>, String> {
        self.open_blob(name, None)
    }

    /// Open a blob for streaming, with the size its descriptor gives: a registry is not
    /// read past it (a local blob's size is checked by its reader).
    pub fn open_blob(
        &self,
        name: &str,
        size: Option<u64>,
    ) -> std::result::Result<Box<dyn BufRead + Send + '_>, String> {
        match &self.blobs {
            Blobs::Layout { root, flat } => {
                let f = File::open(Store::file(root, flat, name))
                    .map_err(|e| format!("{name}: {e}"))?;
                Ok(Box::new(BufReader::with_capacity(256 << 10, f)))
            }
            Blobs::Archive {
                map,
                members,
                opened,
                ..
            } => {
                let m = resolve(members, name)?;
                opened
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(m.offset);
                Ok(Box::new(MmapReader::range(
                    map.clone(),
                    m.offset as usize,
                    (m.offset + m.size) as usize,
                )))
            }
            Blobs::Registry(reg) => {
                let blob = reg.blob(&digest_of(name)?, size)?;
                Ok(Box::new(BufReader::with_capacity(256 << 10, blob)))
            }
        }
    }

    /// Read a small blob (JSON) whole, refusing more than the JSON limit.
    pub fn read_small(&self, name: &str) -> std::result::Result<Vec<u8>, String> {
        if let Blobs::Registry(reg) = &self.blobs {
            return reg.small_blob(&digest_of(name)?, self.registry_limit(None));
        }
        let size = self.size(name)?;
        let limit = self.limits.json;
        if size > limit {
            return Err(format!(
                "{name} is {} bytes, over the limit of {} bytes for a JSON document (--max-json-size)",
                size, limit
            ));
        }
        let mut v = Vec::with_capacity(size as usize);
        self.open(name)?
            .read_to_end(&mut v)
            .map_err(|e| format!("{name}: {e}"))?;
        Ok(v)
    }

    /// An image index or manifest, whole: from a registry's manifest endpoint, else
    /// as any small blob.
    pub fn read_manifest(&self, name: &str) -> std::result::Result<Vec<u8>, String> {
        self.read_document(name, true, None)
    }

    /// A JSON document a descriptor points to (`manifest`: an index or manifest), with
    /// the size the descriptor gives: a registry is not read past it. (A local blob's
    /// size is checked once read.)
    pub fn read_document(
        &self,
        name: &str,
        manifest: bool,
        size: Option<u64>,
    ) -> std::result::Result<Vec<u8>, String> {
        match &self.blobs {
            Blobs::Registry(reg) if manifest => reg
                .manifest(&digest_of(name)?, self.registry_limit(size))
                .map(|(bytes, _)| bytes),
            Blobs::Registry(reg) => reg.small_blob(&digest_of(name)?, self.registry_limit(size)),
            _ => self.read_small(name),
        }
    }

    /// What a registry document is read within.
    pub fn registry_limit(&self, size: Option<u64>) -> super::registry::Limit {
        super::registry::Limit {
            json: self.limits.json,
            size,
        }
    }

    /// SHA-256 of an archive's decompressed bytes (`None` for a layout directory).
    pub fn decoded_sha256(&self) -> Option<crate::entry::Digest> {
        match &self.blobs {
            Blobs::Layout { .. } | Blobs::Registry(_) => None,
            Blobs::Archive { map, .. } => Some(crate::source::hash::sha256(map_bytes(map))),
        }
    }

    /// SHA-256 over the data of an archive's members of over 1 MiB that were not read
    /// (the smaller ones are in `ArchiveFacts::framing`): blobs nothing refers to.
    pub fn unread_sha256(&self) -> Option<crate::entry::Digest> {
        use sha2::Digest as _;
        let Blobs::Archive {
            map,
            members,
            opened,
            ..
        } = &self.blobs
        else {
            return None;
        };
        let opened = opened.lock().unwrap_or_else(|e| e.into_inner());
        let data = map_bytes(map);
        let mut sha = sha2::Sha256::new();
        for (name, m) in members {
            if m.link.is_some() || m.size <= SMALL_MEMBER || opened.contains(&m.offset) {
                continue;
            }
            sha.update((name.len() as u64).to_le_bytes());
            sha.update(name.as_bytes());
            let (a, b) = (m.offset as usize, (m.offset + m.size) as usize);
            sha.update(data.get(a..b).unwrap_or_default());
        }
        Some(sha.finalize().into())
    }

    /// What an archive's own bytes are (`None` for a layout directory).
    pub fn facts(&self) -> Option<&ArchiveFacts> {
        match &self.blobs {
            Blobs::Layout { .. } | Blobs::Registry(_) => None,
            Blobs::Archive { facts, .. } => Some(facts),
        }
    }

    /// Member names (archives only), for error messages and shape detection.
    pub fn names(&self) -> Vec<String> {
        match &self.blobs {
            Blobs::Layout { .. } | Blobs::Registry(_) => Vec::new(),
            Blobs::Archive { members, .. } => members.keys().cloned().collect(),
        }
    }
}

/// `sha256:HEX` of a blob name `blobs/sha256/HEX`.
fn digest_of(name: &str) -> std::result::Result<String, String> {
    name.strip_prefix("blobs/sha256/")
        .map(|hex| format!("sha256:{hex}"))
        .ok_or_else(|| format!("{name}: not a blob of a registry"))
}

fn map_file(f: &File) -> io::Result<Arc<Mmap>> {
    if f.metadata()?.len() == 0 {
        // An empty map is not allowed; map an empty anonymous region instead.
        let m = memmap2::MmapOptions::new().len(1).map_anon()?;
        return Ok(Arc::new(m.make_read_only()?));
    }
    // SAFETY: read-only map; a file changed underneath may read inconsistently, as any
    // reader would see it.
    Ok(Arc::new(unsafe { Mmap::map(f)? }))
}

/// The bytes of a map (the one-byte map of an empty file holds none).
fn map_bytes(map: &Mmap) -> &[u8] {
    if map.len() == 1 && map[0] == 0 {
        &[]
    } else {
        &map[..]
    }
}

type Spooled = (Arc<Mmap>, Option<tempfile::NamedTempFile>, ArchiveFacts);

/// Decompress (by magic) a stream into a temporary file and map it.
fn spool(
    r: Box<dyn BufRead + '_>,
    limits: &crate::source::tar::Limits,
) -> std::result::Result<Spooled, ErrorKind> {
    let (mut r, sha) = crate::source::hash::Hashing::new(r, true);
    let (head, c) = compress::sniff(&mut r)?;
    let (counted, counters) = Counting::with_counters(io::Cursor::new(head).chain(r));
    let raw_bytes = counters.consumed.clone();
    let (mut d, params) =
        compress::decode_with_params(c, counted, counters).map_err(ErrorKind::from_io)?;
    let mut tmp = tempfile::NamedTempFile::new()?;
    // A compressed archive or a stream is bounded like any tar stream.
    let max = limits.max_uncompressed;
    let n = io::copy(&mut (&mut d).take(max.saturating_add(1)), tmp.as_file_mut())
        .map_err(ErrorKind::from_io)?;
    if n > max {
        return Err(ErrorKind::Limit(format!(
            "the uncompressed archive is over {} bytes (--max-uncompressed-size)",
            max
        )));
    }
    // Whatever follows the decoded stream is read too, so that the digest covers it.
    io::copy(&mut d, &mut io::sink()).map_err(ErrorKind::from_io)?;
    drop(d);
    let map = map_file(tmp.as_file())?;
    let facts = ArchiveFacts {
        sha256: sha.finish().unwrap_or_default(),
        compression: c,
        params: params.get(),
        framing: [0; 32],
        members: 0,
        bytes: raw_bytes.load(std::sync::atomic::Ordering::Relaxed),
    };
    Ok((map, Some(tmp), facts))
}

/// Members up to this size have their data in an archive's digest (`ArchiveFacts`).
const SMALL_MEMBER: u64 = 1 << 20;

/// Index the members of a plain tar held in a map, and digest its framing.
fn index(
    map: &Arc<Mmap>,
    facts: &mut ArchiveFacts,
    limits: &crate::source::tar::Limits,
) -> std::result::Result<BTreeMap<String, Member>, ErrorKind> {
    use sha2::Digest as _;
    let data = map_bytes(map);
    let mut tr = TarReader::with_limits(data, limits.clone());
    let mut members = BTreeMap::new();
    let mut framing = sha2::Sha256::new();
    let mut count = 0u64;
    while let Some(e) = tr.next_entry()? {
        count += 1;
        let offset = tr.position();
        let name = String::from_utf8_lossy(&normalize_path(&e.path)).into_owned();
        // A member is read by offset and size from the map: a sparse member's data is
        // not its content there. No image tool writes one; refuse it.
        let sparse = crate::entry::ext::SPARSE | crate::entry::ext::GNU_SPARSE;
        if e.format.is_some_and(|f| f.ext & sparse != 0) {
            return Err(ErrorKind::Other(format!(
                "member {name} is a sparse file (an image archive holds its files whole)"
            )));
        }
        let link = match e.kind() {
            Kind::Symlink => {
                let parent = crate::entry::parent(name.as_bytes());
                let joined = if e.link.starts_with(b"/") || parent == b"." {
                    e.link.clone()
                } else {
                    [parent, b"/", &e.link].concat()
                };
                Some(clean(&joined))
            }
            Kind::Hardlink => Some(clean(&e.link)),
            _ => None,
        };
        let size = e.size;
        // The member as a whole goes into the archive's digest: every field of its
        // header (values and framing), and the data of members of up to 1 MiB (the
        // archive's own files: `manifest.json`, `repositories`, a legacy `<id>/json`;
        // larger members are the blobs the walk compares by digest).
        let mut entry = crate::source::entry_from_tar(e);
        if size <= SMALL_MEMBER && entry.kind == Kind::File {
            let mut h = crate::source::hash::ContentHasher::new(size, None);
            tr.read_data(&mut |b| h.update(b))?;
            entry.digest = Some(h.finish().sha);
        } else {
            tr.skip_data()?;
        }
        entry.set_padding(tr.padding_sha());
        framing.update(entry.fingerprint());
        members.insert(name, Member { offset, size, link });
    }
    let limit = limits.max_uncompressed;
    if let Some(t) = tr.read_trailer(limit.saturating_sub(tr.position()))? {
        framing.update(t.bytes.to_le_bytes());
        framing.update(t.sha);
    }
    facts.framing = framing.finalize().into();
    facts.members = count;
    Ok(members)
}

/// Normalize a member path, resolving `..` lexically; a path that climbs out of the
/// archive becomes `../...` and never matches a member.
fn clean(p: &[u8]) -> String {
    let mut parts: Vec<&[u8]> = Vec::new();
    let mut escaped = false;
    for c in p.split(|&b| b == b'/') {
        match c {
            b"" | b"." => {}
            b".." => {
                if parts.pop().is_none() {
                    escaped = true;
                }
            }
            c => parts.push(c),
        }
    }
    let s = String::from_utf8_lossy(&parts.join(&b'/')).into_owned();
    if escaped { format!("../{s}") } else { s }
}

fn resolve<'a>(
    members: &'a BTreeMap<String, Member>,
    name: &str,
) -> std::result::Result<&'a Member, String> {
    let mut cur = clean(name.as_bytes());
    for _ in 0..16 {
        if cur.starts_with("../") {
            return Err(format!("{name} points outside the archive"));
        }
        let m = members
            .get(&cur)
            .ok_or_else(|| format!("{name}: no such member in the archive"))?;
        match &m.link {
            Some(l) => cur = l.clone(),
            None => return Ok(m),
        }
    }
    Err(format!(
        "{name}: too many levels of symbolic links in the archive"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cleaning_member_paths() {
        assert_eq!(clean(b"./blobs/sha256/ab"), "blobs/sha256/ab");
        assert_eq!(clean(b"a/../b"), "b");
        assert_eq!(clean(b"../../etc/passwd"), "../etc/passwd");
        assert!(clean(b"/../x").starts_with("../"));
    }
}
