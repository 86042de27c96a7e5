//! The walk: index -> manifest(s) -> config -> layer descriptors, for every local form
//! of an image. Every JSON blob read is checked against the digest and size of the
//! descriptor that points to it. Documents are kept as raw `serde_json::Value` (nothing
//! dropped) and checked for shape with oci-spec at the edge.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::registry::{Options as RegistryOptions, Reference, Registry};
use super::store::{Limits, Store};
use crate::error::{Error, Result};

pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// How the user named an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    /// Detect from what is on disk.
    Auto,
    Oci,
    OciArchive,
    DockerArchive,
    Podman,
    Docker,
    /// skopeo's `dir:` (what `podman save --format docker-dir` writes).
    Dir,
    /// A registry: `registry://REF`, or a bare `[HOST[:PORT]/]REPO[:TAG][@DIGEST]`
    /// that names no local file or directory.
    Registry,
}

#[derive(Clone, Debug)]
pub struct ImageInput {
    /// As the user wrote it.
    pub name: String,
    pub transport: Transport,
    /// File or directory (`None`: standard input, or a CLI image name).
    pub path: Option<PathBuf>,
    /// `oci:DIR:REF`, or the image name for podman/docker.
    pub reference: Option<String>,
}

impl ImageInput {
    pub fn parse(arg: &std::ffi::OsStr) -> ImageInput {
        let name = crate::entry::display_bytes(std::os::unix::ffi::OsStrExt::as_bytes(arg));
        let s = arg.to_string_lossy().into_owned();
        let with =
            |transport: Transport, path: Option<PathBuf>, reference: Option<String>| ImageInput {
                name: name.clone(),
                transport,
                path,
                reference,
            };
        let files = [
            ("oci-archive:", Transport::OciArchive),
            ("docker-archive:", Transport::DockerArchive),
            ("oci:", Transport::Oci),
        ];
        for (prefix, t) in files {
            if let Some(rest) = s.strip_prefix(prefix) {
                let (path, reference) = split_ref(rest);
                return with(t, Some(path), reference);
            }
        }
        if let Some(rest) = s.strip_prefix("dir:") {
            return with(Transport::Dir, Some(PathBuf::from(rest)), None);
        }
        // Images named to a CLI or a registry (skopeo's `containers-storage:` and
        // `docker-daemon:` are podman's and the Docker daemon's stores).
        let named = [
            ("containers-storage:", Transport::Podman),
            ("docker-daemon:", Transport::Docker),
            ("podman://", Transport::Podman),
            ("docker://", Transport::Docker),
            ("registry://", Transport::Registry),
        ];
        for (prefix, t) in named {
            if let Some(rest) = s.strip_prefix(prefix) {
                return with(t, None, Some(rest.to_string()));
            }
        }
        if s == "-" {
            return with(Transport::Auto, None, None);
        }
        // `DIR:REF` also works without the `oci:` prefix.
        let (path, reference) = split_ref(&s);
        if reference.is_some() {
            return with(Transport::Auto, Some(path), reference);
        }
        if implicit_reference(&s) {
            return with(Transport::Registry, None, Some(s));
        }
        with(Transport::Auto, Some(PathBuf::from(arg)), None)
    }
}

/// Whether a bare argument is a registry reference: no local file or directory has
/// that name, it parses as one, and it does not end like an archive's file name
/// (`base.tar`, `x.tar.gz`: a missing file, not Docker Hub's `library/base.tar`).
fn implicit_reference(s: &str) -> bool {
    let last = s.rsplit('/').next().unwrap_or(s);
    let archive = [".tar", ".tgz", ".gz", ".zst", ".xz", ".bz2"]
        .iter()
        .any(|e| last.split(':').next().unwrap_or(last).ends_with(e));
    !Path::new(s).exists() && !archive && super::registry::Reference::parse(s).is_ok()
}

/// Whether `reference` picks an image in the layout (`oci:DIR:REF`, `DIR:REF`), rather
/// than naming the image a CLI saved (`podman://NAME`: the save holds that one image,
/// under whatever name the CLI resolved it to).
fn picks_by_ref(input: &ImageInput) -> bool {
    !matches!(
        input.transport,
        Transport::Podman | Transport::Docker | Transport::Registry
    )
}

/// `PATH:REF` where PATH exists (a layout directory or an archive), split at the first
/// colon after it (as skopeo does: a REF such as `localhost/repro:1`, which podman's
/// oci-dir writes, has colons of its own); otherwise the whole string is the path.
fn split_ref(rest: &str) -> (PathBuf, Option<String>) {
    if !Path::new(rest).exists() {
        for (i, _) in rest.match_indices(':') {
            let d = &rest[..i];
            if !d.is_empty() && Path::new(d).exists() {
                return (PathBuf::from(d), Some(rest[i + 1..].to_string()));
            }
        }
    }
    (PathBuf::from(rest), None)
}

/// A JSON document of the image.
#[derive(Clone, Debug)]
pub struct Doc {
    /// `sha256:...` (computed for documents not addressed by digest).
    pub digest: String,
    pub size: u64,
    pub json: Value,
    /// How the bytes spell the JSON, apart from its values (`spelling::json_spelling`).
    pub spelling: crate::entry::Digest,
}

/// A content descriptor as the walk uses it, in the spirit of go-containerregistry's
/// `v1.Descriptor`: the fields the walk and the plan need, read once, typed; and the
/// JSON as written (`raw`) for the metadata diff, which compares every key, known or
/// not (a typed model would drop the keys it does not know). The documents holding
/// descriptors were checked for shape by oci-spec before these are read.
#[derive(Clone, Debug, Default)]
pub struct Descriptor {
    /// `mediaType` (empty when absent).
    pub media_type: String,
    /// `digest` (`sha256:HEX`), as written.
    pub digest: Option<String>,
    pub size: Option<u64>,
    /// `os/arch[/variant]` of `platform`.
    pub platform: Option<String>,
    pub raw: Value,
}

impl Descriptor {
    pub fn new(raw: Value) -> Descriptor {
        Descriptor {
            media_type: str_field(&raw, "mediaType").unwrap_or("").to_string(),
            digest: str_field(&raw, "digest").map(str::to_string),
            size: raw.get("size").and_then(Value::as_u64),
            platform: raw.get("platform").and_then(platform_of),
            raw,
        }
    }

    /// An annotation's value.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.raw["annotations"][key].as_str()
    }
}

/// A layer: its descriptor, where its blob is, and what the config says of it.
#[derive(Clone, Debug)]
pub struct Layer {
    /// For a docker-archive (which has none) the digest its file name gives, if any,
    /// and the file's size; `raw` is null.
    pub descriptor: Descriptor,
    /// Where the blob is in the store.
    pub blob: String,
    /// `rootfs.diff_ids[i]` of the config.
    pub diff_id: Option<String>,
}

impl Layer {
    /// Whether the blob is a filesystem layer (a tar), not an artifact.
    pub fn is_tar(&self) -> bool {
        let m = &self.descriptor.media_type;
        m.is_empty() || m.contains(".tar") || m.contains("rootfs.diff")
    }

    /// The digest the blob must have, when known.
    pub fn digest(&self) -> Option<&str> {
        self.descriptor.digest.as_deref()
    }

    /// The size the blob must have, when known.
    pub fn size(&self) -> Option<u64> {
        self.descriptor.size
    }
}

/// What a manifest is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ManifestKind {
    Image,
    /// A BuildKit attestation manifest, for the manifest with this digest.
    Attestation(Option<String>),
    /// Something rdiff does not walk into (unknown media type, artifact); compared by its
    /// descriptor only.
    Other,
}

#[derive(Clone, Debug)]
pub struct Manifest {
    /// The descriptor that points to it (index entry); made up for a docker-archive.
    pub descriptor: Descriptor,
    pub doc: Option<Doc>,
    pub kind: ManifestKind,
    /// `os/arch[/variant]`, from the descriptor's platform or else the config.
    pub platform: Option<String>,
    pub ref_name: Option<String>,
    pub config: Option<Doc>,
    pub layers: Vec<Layer>,
    /// The manifest was made up from a docker-archive's manifest.json.
    pub synthesized: bool,
    /// A docker-archive's `RepoTags` for this image.
    pub repo_tags: Option<Value>,
}

/// An image, walked.
pub struct Image {
    pub name: String,
    /// `oci-layout`, `oci-archive`, `docker-archive`.
    pub form: String,
    pub bytes: u64,
    pub store: Store,
    /// The top-level index (`index.json`), and a nested index it points to, if any.
    pub indexes: Vec<Doc>,
    /// The `oci-layout` file's bytes (OCI layouts and archives).
    pub layout_file: Option<Vec<u8>>,
    pub manifests: Vec<Manifest>,
    /// The digest of the document a registry reference names (an index or a
    /// manifest), as `podman inspect --format '{{.Digest}}'` prints it.
    pub digest: Option<String>,
    /// A `podman://` or `docker://` image: the repo digests its store recorded
    /// (`NAME@sha256:HEX`, what it was pulled by or pushed as), or why the CLI would
    /// not say them.
    pub repo_digests: Option<std::result::Result<Vec<String>, String>>,
}

impl Image {
    /// An image of this input, form and size whose blobs are in `store`, before its
    /// walk: no documents yet.
    fn unwalked(input: &ImageInput, form: &str, bytes: u64, store: Store) -> Image {
        Image {
            name: input.name.clone(),
            form: form.to_string(),
            bytes,
            store,
            indexes: Vec::new(),
            layout_file: None,
            manifests: Vec::new(),
            digest: None,
            repo_digests: None,
        }
    }
}

fn err(input: &ImageInput, msg: impl Into<String>) -> Error {
    Error::other(input.name.clone(), msg)
}

/// Check a digest string and return the blob path for it.
pub fn blob_path(digest: &str) -> std::result::Result<String, String> {
    let d: oci_spec::image::Digest = digest
        .parse()
        .map_err(|e| format!("malformed digest {digest:?}: {e}"))?;
    match d.algorithm() {
        oci_spec::image::DigestAlgorithm::Sha256 => Ok(format!("blobs/sha256/{}", d.digest())),
        a => Err(format!(
            "digest algorithm {} is not supported (only sha256)",
            a.as_ref()
        )),
    }
}

pub fn sha256_hex(b: &[u8]) -> String {
    format!(
        "sha256:{}",
        crate::report::hex(&crate::source::hash::sha256(b))
    )
}

/// Read a JSON blob by descriptor, checking its digest and size (`manifest`: an index
/// or manifest, which a registry serves from its manifest endpoint).
fn read_doc(
    input: &ImageInput,
    store: &Store,
    (what, manifest): (&str, bool),
    desc: &Value,
) -> Result<Doc> {
    let digest = desc
        .get("digest")
        .and_then(Value::as_str)
        .ok_or_else(|| err(input, format!("{what}: descriptor has no digest")))?;
    let path = blob_path(digest).map_err(|m| err(input, format!("{what}: {m}")))?;
    if !store.has(&path) {
        return Err(err(input, format!("{what}: blob {digest} is missing")));
    }
    let size = desc.get("size").and_then(Value::as_u64);
    let bytes = store
        .read_document(&path, manifest, size)
        .map_err(|m| err(input, format!("{what}: {m}")))?;
    let found = sha256_hex(&bytes);
    if found != digest {
        return Err(err(
            input,
            format!("{what}: digest mismatch for blob {digest}: found {found}"),
        ));
    }
    if let Some(size) = desc.get("size").and_then(Value::as_u64)
        && size != bytes.len() as u64
    {
        return Err(err(
            input,
            format!(
                "{what}: size mismatch for blob {digest}: descriptor says {size}, blob has {}",
                bytes.len()
            ),
        ));
    }
    let json = parse_json(&bytes).map_err(|m| err(input, format!("{what}: blob {digest}: {m}")))?;
    Ok(Doc {
        digest: digest.to_string(),
        size: bytes.len() as u64,
        json,
        spelling: super::spelling::json_spelling(&bytes, &[]),
    })
}

fn parse_json(bytes: &[u8]) -> std::result::Result<Value, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON: {e}"))?;
    if !v.is_object() {
        return Err("not a JSON object".into());
    }
    Ok(v)
}

fn str_field<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Value::as_str)
}

fn platform_of(v: &Value) -> Option<String> {
    let os = str_field(v, "os")?;
    let arch = str_field(v, "architecture")?;
    Some(match str_field(v, "variant") {
        Some(var) if !var.is_empty() => format!("{os}/{arch}/{var}"),
        _ => format!("{os}/{arch}"),
    })
}

fn is_index(media: &str, doc: Option<&Value>) -> bool {
    media == OCI_INDEX
        || media == DOCKER_LIST
        || (media.is_empty() && doc.is_some_and(|d| d.get("manifests").is_some()))
}

fn is_manifest(media: &str) -> bool {
    media == OCI_MANIFEST || media == DOCKER_MANIFEST
}

/// Open and walk an image.
pub fn open(input: &ImageInput, limits: &Limits, registry: &RegistryOptions) -> Result<Image> {
    let (store, form_hint, bytes) = match input.transport {
        Transport::Registry => return open_registry(input, limits, registry),
        Transport::Podman | Transport::Docker => {
            let store = open_cli(input, limits)?;
            let mut image = walk_store(input, store, "archive", 0)?;
            image.repo_digests = Some(repo_digests(input));
            return Ok(image);
        }
        _ => match &input.path {
            Some(p) if p.is_dir() => {
                // A directory is an OCI layout, or a skopeo `dir:` copy (a manifest.json
                // and no oci-layout file).
                let flat = p.join("manifest.json").is_file() && !p.join("oci-layout").exists();
                match input.transport {
                    Transport::Dir | Transport::Auto => {}
                    Transport::Oci if !flat => {}
                    Transport::Oci => {
                        let msg = "not an OCI image layout: no oci-layout file (a skopeo dir: copy? use dir:)";
                        return Err(err(input, msg));
                    }
                    _ => return Err(err(input, "is a directory, not an archive")),
                }
                if input.transport == Transport::Dir || flat {
                    let store = Store::dir(p, limits.clone())
                        .map_err(|e| err(input, format!("manifest.json: {e}")))?;
                    (store, "dir", dir_size(p))
                } else {
                    (Store::layout(p, limits.clone()), "oci-layout", dir_size(p))
                }
            }
            Some(_) if input.transport == Transport::Dir => {
                return Err(err(input, "dir: needs a directory"));
            }
            Some(p) => {
                if input.transport == Transport::Oci {
                    return Err(err(input, "oci: needs an OCI layout directory"));
                }
                let size = std::fs::metadata(p)
                    .map_err(|e| Error::new(input.name.clone(), e))?
                    .len();
                (
                    Store::archive(&input.name, Some(p), limits.clone())?,
                    "archive",
                    size,
                )
            }
            None => (
                Store::archive(&input.name, None, limits.clone())?,
                "archive",
                0,
            ),
        },
    };
    walk_store(input, store, form_hint, bytes)
}

/// Walk an image whose blobs are in `store` (`form_hint`: `oci-layout` or `archive`).
pub fn walk_store(input: &ImageInput, store: Store, form_hint: &str, bytes: u64) -> Result<Image> {
    if form_hint == "dir" {
        let mut image = Image::unwalked(input, "dir", bytes, store);
        walk_dir(input, &mut image)?;
        return Ok(image);
    }
    let has_layout = store.has("oci-layout") && store.has("index.json");
    let has_docker = store.has("manifest.json");
    let use_docker = match input.transport {
        Transport::DockerArchive | Transport::Docker => true,
        Transport::Oci
        | Transport::OciArchive
        | Transport::Podman
        | Transport::Dir
        | Transport::Registry => false,
        Transport::Auto => !has_layout && has_docker,
    };
    let form = match (form_hint, use_docker) {
        ("oci-layout", _) => "oci-layout",
        (_, true) => "docker-archive",
        _ => "oci-archive",
    };
    let mut image = Image::unwalked(input, form, bytes, store);
    if use_docker {
        if !has_docker {
            return Err(err(input, "no manifest.json: not a docker-archive"));
        }
        walk_docker(input, &mut image)?;
    } else {
        if !image.store.has("oci-layout") {
            return Err(err(
                input,
                if form == "oci-layout" {
                    "not an OCI image layout: no oci-layout file"
                } else if has_docker {
                    "no oci-layout in the archive (a docker-archive? use docker-archive:)"
                } else {
                    "not an image: no oci-layout (OCI) and no manifest.json (docker-archive)"
                },
            ));
        }
        walk_oci(input, &mut image)?;
    }
    if image.manifests.is_empty() {
        return Err(err(input, "the image holds no manifest"));
    }
    Ok(image)
}

/// The bytes of an image directory's blobs (`blobs/sha256/` of a layout; the files of
/// a `dir:` copy).
fn dir_size(p: &Path) -> u64 {
    let blobs = p.join("blobs/sha256");
    let p = if blobs.is_dir() {
        blobs
    } else {
        p.to_path_buf()
    };
    let mut n = 0;
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            n += e.metadata().map(|m| m.len()).unwrap_or(0);
        }
    }
    n
}

fn open_cli(input: &ImageInput, limits: &Limits) -> Result<Store> {
    let (cli, args): (&str, &[&str]) = match input.transport {
        Transport::Podman => ("podman", &["image", "save", "--format", "oci-archive"]),
        _ => ("docker", &["image", "save"]),
    };
    let name = input.reference.as_deref().unwrap_or("");
    let shown = format!("{cli} {} {name}", args.join(" "));
    let mut child = super::save::Child::spawn(cli, args, name).map_err(|e| {
        err(
            input,
            if e.kind() == std::io::ErrorKind::NotFound {
                format!("{cli} is not installed (needed for {cli}://)")
            } else {
                format!("cannot run {cli}: {e}")
            },
        )
    })?;
    let stdout = child.stdout();
    let store = Store::from_reader(
        &input.name,
        Box::new(std::io::BufReader::new(stdout)),
        limits.clone(),
    );
    if store.is_err() {
        // Nothing reads the rest: end the save now, and wait for it to clean up.
        child.terminate();
    }
    let (status, stderr) = child
        .wait()
        .map_err(|e| err(input, format!("{cli}: {e}")))?;
    if store.is_ok() && !status.success() {
        let msg = stderr.lines().last().unwrap_or("").trim().to_string();
        return Err(err(input, format!("`{shown}` failed ({status}): {msg}")));
    }
    store
}

/// The repo digests podman's or Docker's store recorded for a saved image (`podman
/// image inspect --format '{{json .RepoDigests}}' NAME`, the same for docker): what the
/// image was pulled by or pushed as, `REPO@sha256:HEX`. Asked after the save, by the
/// same name; an image built here and never pushed has none.
fn repo_digests(input: &ImageInput) -> std::result::Result<Vec<String>, String> {
    let cli = if input.transport == Transport::Podman {
        "podman"
    } else {
        "docker"
    };
    let args = ["image", "inspect", "--format", "{{json .RepoDigests}}"];
    let name = input.reference.as_deref().unwrap_or("");
    let shown = format!("`{cli} {} {name}`", args.join(" "));
    let mut child = super::save::Child::spawn(cli, &args, name)
        .map_err(|e| format!("cannot run {shown}: {e}"))?;
    let mut out = String::new();
    let read = std::io::Read::read_to_string(&mut child.stdout(), &mut out);
    let (status, stderr) = child.wait().map_err(|e| format!("{shown}: {e}"))?;
    if !status.success() || read.is_err() {
        let msg = stderr.lines().last().unwrap_or("").trim().to_string();
        return Err(format!("{shown} failed ({status}): {msg}"));
    }
    let list: Option<Vec<String>> =
        serde_json::from_str(out.trim()).map_err(|_| format!("{shown} printed no JSON list"))?;
    // Each must be a reference by digest; anything else the CLI printed is not shown.
    let mut list: Vec<String> = list
        .unwrap_or_default()
        .into_iter()
        .filter(|d| Reference::parse(d).is_ok_and(|r| r.digest.is_some()))
        .collect();
    list.sort();
    list.dedup();
    Ok(list)
}

fn walk_oci(input: &ImageInput, image: &mut Image) -> Result<()> {
    image.layout_file = Some(
        image
            .store
            .read_small("oci-layout")
            .map_err(|m| err(input, m))?,
    );
    let bytes = image
        .store
        .read_small("index.json")
        .map_err(|m| err(input, m))?;
    let json = parse_json(&bytes).map_err(|m| err(input, format!("index.json: {m}")))?;
    oci_spec::image::ImageIndex::from_reader(&bytes[..])
        .map_err(|e| err(input, format!("index.json: malformed index: {e}")))?;
    let top = Doc {
        digest: sha256_hex(&bytes),
        size: bytes.len() as u64,
        json,
        spelling: super::spelling::index_spelling(&bytes, &[]),
    };
    let mut entries = descriptors(&top.json["manifests"]);
    image.indexes.push(top);
    if let Some(r) = input.reference.as_ref().filter(|_| picks_by_ref(input)) {
        entries.retain(|d| d.annotation(REF_NAME) == Some(r.as_str()));
        if entries.is_empty() {
            return Err(err(
                input,
                format!("no manifest with {REF_NAME} {r:?} in index.json"),
            ));
        }
    }
    // One nested index (a layout whose index.json points to an image index, as buildx
    // and skopeo write multi-platform images): walk into it.
    if entries.len() == 1 && is_index(&entries[0].media_type, None) {
        let (doc, nested) = read_index(input, &image.store, &entries[0])?;
        entries = nested;
        image.indexes.push(doc);
    }
    let walked = std::cell::Cell::new(0);
    for d in entries {
        let m = walk_manifest(input, &image.store, d, 0, &walked)?;
        image.manifests.extend(m);
    }
    Ok(())
}

/// The descriptors of a `manifests` or `layers` array.
fn descriptors(list: &Value) -> Vec<Descriptor> {
    list.as_array()
        .into_iter()
        .flatten()
        .map(|d| Descriptor::new(d.clone()))
        .collect()
}

/// Read an image index a descriptor points to: the document, checked for shape, and
/// the descriptors of its manifests.
fn read_index(
    input: &ImageInput,
    store: &Store,
    desc: &Descriptor,
) -> Result<(Doc, Vec<Descriptor>)> {
    let mut doc = read_doc(input, store, ("image index", true), &desc.raw)?;
    // An index's manifests count as a set in its spelling.
    if let Some(Ok(p)) = desc.digest.as_deref().map(blob_path)
        && let Ok(bytes) = store.read_manifest(&p)
    {
        doc.spelling = super::spelling::index_spelling(&bytes, &[]);
    }
    oci_spec::image::ImageIndex::from_reader(
        serde_json::to_vec(&doc.json).unwrap_or_default().as_slice(),
    )
    .map_err(|e| {
        let what = format!("image index {}: malformed index: {e}", doc.digest);
        err(input, what)
    })?;
    let manifests = descriptors(&doc.json["manifests"]);
    if manifests.len() > MAX_WALKED {
        let what = format!(
            "image index {}: {} manifests, more than the {MAX_WALKED} rdiff walks",
            doc.digest,
            manifests.len()
        );
        return Err(err(input, what));
    }
    Ok((doc, manifests))
}

/// Most descriptors the walk of one image follows (indexes and manifests). Indexes
/// that list the same nested index over and over multiply at each level (100 entries,
/// 4 levels: 100 million walks of a few documents); no real image comes near this.
pub const MAX_WALKED: usize = 10_000;

/// The manifests a descriptor leads to: itself, or those of the index it points to
/// (indexes nested at most 4 deep, [`MAX_WALKED`] descriptors in all, counted in
/// `walked`).
fn walk_manifest(
    input: &ImageInput,
    store: &Store,
    desc: Descriptor,
    depth: u32,
    walked: &std::cell::Cell<usize>,
) -> Result<Vec<Manifest>> {
    let digest = desc.digest.clone().unwrap_or_else(|| "?".into());
    walked.set(walked.get() + 1);
    if walked.get() > MAX_WALKED {
        let what = format!(
            "manifest {digest}: more than {MAX_WALKED} manifests and indexes under the image's \
             index (indexes that list indexes over and over?)"
        );
        return Err(err(input, what));
    }
    if is_index(&desc.media_type, None) {
        if depth >= 4 {
            let what = format!("manifest {digest}: image indexes nested too deep (a loop?)");
            return Err(err(input, what));
        }
        let (_, manifests) = read_index(input, store, &desc)?;
        let mut out = Vec::new();
        for d in manifests {
            if d.digest.as_deref() == Some(digest.as_str()) {
                return Err(err(input, format!("image index {digest} refers to itself")));
            }
            out.extend(walk_manifest(input, store, d, depth + 1, walked)?);
        }
        return Ok(out);
    }
    let ref_name = desc.annotation(REF_NAME).map(str::to_string);
    if !is_manifest(&desc.media_type) && !desc.media_type.is_empty() {
        return Ok(vec![Manifest {
            platform: desc.platform.clone(),
            descriptor: desc,
            doc: None,
            kind: ManifestKind::Other,
            ref_name,
            config: None,
            layers: Vec::new(),
            synthesized: false,
            repo_tags: None,
        }]);
    }
    let (doc, config) = read_manifest(input, store, &desc, &digest)?;
    let layers = layers(input, &doc, &config, &digest)?;
    let kind = if desc.annotation("vnd.docker.reference.type") == Some("attestation-manifest") {
        let subject = desc.annotation("vnd.docker.reference.digest");
        ManifestKind::Attestation(subject.map(str::to_string))
    } else {
        ManifestKind::Image
    };
    let platform = desc.platform.clone().or_else(|| platform_of(&config.json));
    Ok(vec![Manifest {
        descriptor: desc,
        doc: Some(doc),
        kind,
        platform,
        ref_name,
        config: Some(config),
        layers,
        synthesized: false,
        repo_tags: None,
    }])
}

/// Read an image manifest and its config, checked against their descriptors and for
/// shape, and refusing a manifest that points to itself.
fn read_manifest(
    input: &ImageInput,
    store: &Store,
    desc: &Descriptor,
    digest: &str,
) -> Result<(Doc, Doc)> {
    let what = format!("manifest {digest}");
    let doc = read_doc(input, store, ("manifest", true), &desc.raw)?;
    if doc.json.get("manifests").is_some() {
        let msg = format!("{what}: descriptor says manifest, blob is an index");
        return Err(err(input, msg));
    }
    oci_spec::image::ImageManifest::from_reader(
        serde_json::to_vec(&doc.json).unwrap_or_default().as_slice(),
    )
    .map_err(|e| err(input, format!("{what}: malformed manifest: {e}")))?;
    let points_here = |v: &Value| v["digest"].as_str() == Some(digest);
    if points_here(&doc.json["config"])
        || doc.json["layers"]
            .as_array()
            .is_some_and(|l| l.iter().any(points_here))
    {
        return Err(err(input, format!("{what}: the manifest refers to itself")));
    }
    let config = read_doc(
        input,
        store,
        (&format!("config of {what}"), false),
        &doc.json["config"],
    )?;
    Ok((doc, config))
}

/// `rootfs.diff_ids` of a config.
fn diff_ids(config: &Value) -> Vec<String> {
    config["rootfs"]["diff_ids"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// A manifest's layers, each tar layer given its diff_id (artifact layers have none).
fn layers(input: &ImageInput, manifest: &Doc, config: &Doc, digest: &str) -> Result<Vec<Layer>> {
    let diff_ids = diff_ids(&config.json);
    let mut layers = Vec::new();
    let mut tar_index = 0;
    for descriptor in descriptors(&manifest.json["layers"]) {
        let ld = descriptor.digest.as_deref().unwrap_or("");
        let blob =
            blob_path(ld).map_err(|m| err(input, format!("manifest {digest}: layer: {m}")))?;
        let mut layer = Layer {
            descriptor,
            blob,
            diff_id: None,
        };
        if layer.is_tar() {
            layer.diff_id = diff_ids.get(tar_index).cloned();
            tar_index += 1;
        }
        layers.push(layer);
    }
    Ok(layers)
}

/// A registry image: the document the reference names (by tag or digest), then the
/// walk as for a layout. The document's digest is checked against the reference's
/// (`@sha256:...`) or the registry's `Docker-Content-Digest`. Of an index, the
/// manifests that `--platform` or `--ignore-attestations` leave out are not fetched.
fn open_registry(input: &ImageInput, limits: &Limits, opts: &RegistryOptions) -> Result<Image> {
    let text = input.reference.as_deref().unwrap_or("");
    // A bare name without a registry host may have been meant as a file.
    let maybe_file = !input.name.starts_with("registry://")
        && !text.starts_with("docker.io/")
        && Reference::parse(text).is_ok_and(|r| r.host == super::registry::reference::DOCKER_HUB);
    let fail = |m: String| {
        let m = if maybe_file {
            format!("no such file or directory, and as a registry image: {m}")
        } else {
            m
        };
        err(input, m)
    };
    let reference = Reference::parse(text).map_err(|m| fail(format!("{text}: {m}")))?;
    let reg = Registry::connect(reference.clone(), opts).map_err(&fail)?;
    let limit = super::registry::Limit {
        json: limits.json,
        size: None,
    };
    let (bytes, media) = reg.manifest(reference.target(), limit).map_err(&fail)?;
    let json = parse_json(&bytes).map_err(|m| fail(format!("{reference}: {m}")))?;
    let media = match media.as_str() {
        "" | "application/json" | "text/plain" => {
            str_field(&json, "mediaType").unwrap_or("").to_string()
        }
        _ => media,
    };
    if !is_index(&media, Some(&json)) && !is_manifest(&media) {
        let msg = format!(
            "{reference}: the registry serves a manifest of type {media:?}, which rdiff does \
             not read (OCI or Docker schema 2 image manifests and indexes)"
        );
        return Err(fail(msg));
    }
    let digest = sha256_hex(&bytes);
    let raw = serde_json::json!({"mediaType": media, "digest": digest, "size": bytes.len()});
    let store = Store::registry(reg, limits.clone());
    let mut image = Image {
        digest: Some(digest),
        ..Image::unwalked(input, "registry", 0, store)
    };
    let top = Descriptor::new(raw);
    let walked = std::cell::Cell::new(0);
    if !is_index(&media, Some(&json)) {
        image.manifests = walk_manifest(input, &image.store, top, 0, &walked)?;
    } else {
        let (doc, entries) = read_index(input, &image.store, &top)?;
        image.indexes.push(doc);
        for d in &entries {
            if wanted(d, &entries, opts) {
                let m = walk_manifest(input, &image.store, d.clone(), 0, &walked)?;
                image.manifests.extend(m);
            } else {
                image.manifests.push(unfetched(d.clone()));
            }
        }
    }
    image.bytes = stored_bytes(&image);
    Ok(image)
}

/// Whether an index entry is fetched: not an attestation `--ignore-attestations`
/// leaves out, nor of (or for) a platform `--platform` does not name.
fn wanted(d: &Descriptor, all: &[Descriptor], opts: &RegistryOptions) -> bool {
    let attestation = d.annotation("vnd.docker.reference.type") == Some("attestation-manifest");
    if attestation && opts.ignore_attestations {
        return false;
    }
    let platform = if attestation {
        let subject = d.annotation("vnd.docker.reference.digest");
        all.iter()
            .find(|x| x.digest.is_some() && x.digest.as_deref() == subject)
            .and_then(|x| x.platform.clone())
    } else {
        d.platform.clone()
    };
    match platform {
        Some(p) => super::plan::platform_matches(Some(&p), &opts.platforms),
        None => true,
    }
}

/// An index entry left unfetched: known by its descriptor, which the plan filters out.
fn unfetched(descriptor: Descriptor) -> Manifest {
    let kind = match descriptor.annotation("vnd.docker.reference.type") {
        Some("attestation-manifest") => ManifestKind::Attestation(
            descriptor
                .annotation("vnd.docker.reference.digest")
                .map(str::to_string),
        ),
        _ => ManifestKind::Image,
    };
    Manifest {
        platform: descriptor.platform.clone(),
        descriptor,
        doc: None,
        kind,
        ref_name: None,
        config: None,
        layers: Vec::new(),
        synthesized: false,
        repo_tags: None,
    }
}

/// What the walked manifests say their configs and layers weigh, stored.
fn stored_bytes(image: &Image) -> u64 {
    image
        .manifests
        .iter()
        .map(|m| {
            let layers: u64 = m.layers.iter().filter_map(Layer::size).sum();
            layers + m.config.as_ref().map_or(0, |c| c.size)
        })
        .sum()
}

/// A skopeo `dir:` directory: `manifest.json` is the image's manifest itself (as a
/// registry serves it), its digest that of the file; config and layers are files
/// named by their hex digest.
fn walk_dir(input: &ImageInput, image: &mut Image) -> Result<()> {
    let bytes = image
        .store
        .read_small("manifest.json")
        .map_err(|m| err(input, m))?;
    let json = parse_json(&bytes).map_err(|m| err(input, format!("manifest.json: {m}")))?;
    let media = str_field(&json, "mediaType").unwrap_or("");
    if is_index(media, Some(&json)) {
        return Err(err(
            input,
            "manifest.json is an image index (skopeo copy --all): a dir: copy of one \
             image is read; copy one platform, or copy to oci:",
        ));
    }
    let mut raw = serde_json::json!({"digest": sha256_hex(&bytes), "size": bytes.len()});
    if !media.is_empty() {
        raw["mediaType"] = Value::String(media.to_string());
    }
    let walked = std::cell::Cell::new(0);
    image.manifests = walk_manifest(input, &image.store, Descriptor::new(raw), 0, &walked)?;
    Ok(())
}

/// A docker-archive: `manifest.json` lists, per image, a config and layer paths.
fn walk_docker(input: &ImageInput, image: &mut Image) -> Result<()> {
    let bytes = image
        .store
        .read_small("manifest.json")
        .map_err(|m| err(input, m))?;
    let list: Value = serde_json::from_slice(&bytes)
        .map_err(|e| err(input, format!("manifest.json: not valid JSON: {e}")))?;
    let list = list
        .as_array()
        .ok_or_else(|| err(input, "manifest.json: not a list"))?;
    for (n, item) in list.iter().enumerate() {
        let ref_name = item["RepoTags"]
            .as_array()
            .and_then(|t| t.first())
            .and_then(Value::as_str)
            .map(str::to_string);
        let config = docker_config(input, &image.store, item, n)?;
        let layers = docker_layers(input, &image.store, item, n, &diff_ids(&config.json))?;
        let tags = || item["RepoTags"].as_array().into_iter().flatten();
        if let Some(r) = input.reference.as_ref().filter(|_| picks_by_ref(input))
            && !tags().any(|t| t.as_str() == Some(r))
        {
            continue;
        }
        image.manifests.push(Manifest {
            descriptor: Descriptor::default(),
            doc: None,
            kind: ManifestKind::Image,
            platform: platform_of(&config.json),
            ref_name,
            config: Some(config),
            layers,
            synthesized: true,
            repo_tags: item.get("RepoTags").cloned(),
        });
    }
    if let Some(r) = input.reference.as_ref().filter(|_| picks_by_ref(input))
        && image.manifests.is_empty()
    {
        let names: Vec<&str> = list
            .iter()
            .flat_map(|i| i["RepoTags"].as_array().into_iter().flatten())
            .filter_map(Value::as_str)
            .collect();
        let msg = format!("no image named {r:?} in manifest.json (it has {names:?})");
        return Err(err(input, msg));
    }
    Ok(())
}

/// The config of entry `n` of a docker-archive's `manifest.json`, checked against the
/// digest its file name gives.
fn docker_config(input: &ImageInput, store: &Store, item: &Value, n: usize) -> Result<Doc> {
    let cfg_path = str_field(item, "Config")
        .ok_or_else(|| err(input, format!("manifest.json entry {n}: no Config")))?;
    let cfg_bytes = store
        .read_small(cfg_path)
        .map_err(|m| err(input, format!("manifest.json entry {n}: {m}")))?;
    let cfg_digest = sha256_hex(&cfg_bytes);
    if let Some(hex) = digest_in_name(cfg_path)
        && cfg_digest != format!("sha256:{hex}")
    {
        let msg = format!("config {cfg_path}: digest mismatch: found {cfg_digest}");
        return Err(err(input, msg));
    }
    let json = parse_json(&cfg_bytes).map_err(|m| err(input, format!("config {cfg_path}: {m}")))?;
    Ok(Doc {
        digest: cfg_digest,
        size: cfg_bytes.len() as u64,
        json,
        spelling: super::spelling::json_spelling(&cfg_bytes, &[]),
    })
}

/// The layers of entry `n` of a docker-archive's `manifest.json`: each a file of the
/// archive, with the digest its name gives (if any) and the config's diff_id.
fn docker_layers(
    input: &ImageInput,
    store: &Store,
    item: &Value,
    n: usize,
    diff_ids: &[String],
) -> Result<Vec<Layer>> {
    let mut layers = Vec::new();
    for (i, l) in item["Layers"].as_array().into_iter().flatten().enumerate() {
        let p = l.as_str().ok_or_else(|| {
            err(
                input,
                format!("manifest.json entry {n}: a layer is not a path"),
            )
        })?;
        if !store.has(p) {
            let why = store.size(p).err().unwrap_or_default();
            return Err(err(input, format!("layer {p}: {why}")));
        }
        let descriptor = Descriptor {
            digest: digest_in_name(p).map(|h| format!("sha256:{h}")),
            size: store.size(p).ok(),
            ..Descriptor::default()
        };
        layers.push(Layer {
            descriptor,
            blob: p.to_string(),
            diff_id: diff_ids.get(i).cloned(),
        });
    }
    Ok(layers)
}

/// `blobs/sha256/HEX`, `HEX.tar`, `HEX.json`, `HEX/layer.tar`: the hex digest a docker
/// archive names a file by, when it does (legacy layer directories are ids, not digests).
fn digest_in_name(p: &str) -> Option<String> {
    let p = p.trim_start_matches("./");
    let cand = if let Some(h) = p.strip_prefix("blobs/sha256/") {
        h
    } else {
        p.strip_suffix(".tar").or_else(|| p.strip_suffix(".json"))?
    };
    (cand.len() == 64 && cand.bytes().all(|b| b.is_ascii_hexdigit())).then(|| cand.to_string())
}

/// A docker-archive's manifest made up once its layers' digests are known: `m` with
/// its document, descriptor and layer descriptors filled in.
pub fn synthesized_manifest(m: &Manifest, layer_facts: &[(String, u64, &str)]) -> Manifest {
    let mut m = m.clone();
    let cfg = m.config.as_ref().expect("docker images have a config");
    let layers: Vec<Value> = layer_facts
        .iter()
        .map(|(d, s, media)| serde_json::json!({"mediaType": media, "size": s, "digest": d}))
        .collect();
    let json = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {"mediaType": DOCKER_CONFIG, "size": cfg.size, "digest": cfg.digest},
        "layers": layers,
    });
    let bytes = serde_json::to_vec(&json).unwrap_or_default();
    m.descriptor = Descriptor::new(serde_json::json!({
        "mediaType": DOCKER_MANIFEST,
        "digest": sha256_hex(&bytes),
        "size": bytes.len(),
    }));
    for (l, (d, s, media)) in m.layers.iter_mut().zip(layer_facts) {
        l.descriptor =
            Descriptor::new(serde_json::json!({"mediaType": media, "size": s, "digest": d}));
    }
    m.doc = Some(Doc {
        digest: sha256_hex(&bytes),
        size: bytes.len() as u64,
        json,
        spelling: super::spelling::json_spelling(&bytes, &[]),
    });
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_with_colons_splits_after_the_directory() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().to_str().unwrap();
        let (p, r) = split_ref(&format!("{dir}:localhost/repro:1"));
        assert_eq!(
            (p.as_path(), r.as_deref()),
            (t.path(), Some("localhost/repro:1"))
        );
        let (p, r) = split_ref(&format!("{dir}:latest"));
        assert_eq!((p.as_path(), r.as_deref()), (t.path(), Some("latest")));
        let (p, r) = split_ref(dir);
        assert_eq!((p.as_path(), r), (t.path(), None));
        let o = ImageInput::parse(std::ffi::OsStr::new(&format!("oci:{dir}:localhost/a:b")));
        assert_eq!(o.reference.as_deref(), Some("localhost/a:b"));
    }

    #[test]
    fn transports() {
        let p = |s: &str| ImageInput::parse(std::ffi::OsStr::new(s));
        assert_eq!(p("oci-archive:x.tar").transport, Transport::OciArchive);
        assert_eq!(
            p("docker-archive:x.tar").transport,
            Transport::DockerArchive
        );
        let o = p("oci:/tmp:latest");
        assert_eq!(o.transport, Transport::Oci);
        assert_eq!(o.reference.as_deref(), Some("latest"));
        assert_eq!(o.path.as_deref(), Some(Path::new("/tmp")));
        let pm = p("podman://localhost/x:1");
        assert_eq!(pm.transport, Transport::Podman);
        assert_eq!(pm.reference.as_deref(), Some("localhost/x:1"));
        assert_eq!(p("x.tar").transport, Transport::Auto);
    }

    #[test]
    fn digests_in_docker_archive_names() {
        let h = "a".repeat(64);
        assert_eq!(
            digest_in_name(&format!("blobs/sha256/{h}")),
            Some(h.clone())
        );
        assert_eq!(digest_in_name(&format!("{h}.tar")), Some(h.clone()));
        assert_eq!(digest_in_name(&format!("{h}/layer.tar")), None);
        assert_eq!(
            blob_path(&format!("sha256:{h}")).unwrap(),
            format!("blobs/sha256/{h}")
        );
        assert!(blob_path("sha256:xyz").is_err());
        assert!(blob_path(&format!("md5:{h}")).is_err());
    }
}
