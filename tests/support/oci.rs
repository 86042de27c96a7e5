//! OCI image layouts for tests: [`write_layout`] writes a minimal one (one manifest, one
//! config, the given layers); [`Layout`] copies a fixture of `testdata/image/` and edits
//! it. Every digest, size and diff_id is computed here (independently of rdiff's own
//! code).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::data::{gunzip, gzip, gzip_with, sha256_hex};
use super::paths::{copy_dir, img, s};
use super::rawtar::{Member, read_tar, write_tar};

/// `sha256:HEX` of some bytes.
pub fn digest(b: &[u8]) -> String {
    format!("sha256:{}", sha256_hex(b))
}

/// One layer: its blob and its uncompressed tar (for the diff_id).
pub struct LayerBlob {
    pub blob: Vec<u8>,
    pub tar: Vec<u8>,
    pub media_type: &'static str,
}

impl LayerBlob {
    /// An uncompressed layer.
    pub fn plain(tar: Vec<u8>) -> LayerBlob {
        LayerBlob {
            blob: tar.clone(),
            tar,
            media_type: "application/vnd.oci.image.layer.v1.tar",
        }
    }

    /// A gzip layer (flate2, level 6, no header mtime).
    pub fn gzip(tar: Vec<u8>) -> LayerBlob {
        LayerBlob {
            blob: gzip(&tar),
            tar,
            media_type: "application/vnd.oci.image.layer.v1.tar+gzip",
        }
    }
}

/// Write an image layout at `dir` with these layers and `config.config` = `cfg`; returns
/// the directory as a string.
pub fn write_layout(dir: &Path, layers: &[LayerBlob], cfg: Value) -> String {
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    let layout = Layout::at(dir);
    let put = |b: &[u8]| -> String { layout.put(b).0 };
    let mut descs = Vec::new();
    let mut diff_ids = Vec::new();
    for l in layers {
        descs
            .push(json!({"mediaType": l.media_type, "digest": put(&l.blob), "size": l.blob.len()}));
        diff_ids.push(digest(&l.tar));
    }
    let config = serde_json::to_vec(&json!({
        "architecture": "amd64",
        "os": "linux",
        "config": cfg,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    }))
    .unwrap();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": put(&config), "size": config.len()},
        "layers": descs,
    }))
    .unwrap();
    let md = put(&manifest);
    let index = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": md, "size": manifest.len()}],
    });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    s(dir).to_string()
}

/// An OCI image layout in a directory (a copy of a fixture, in a temporary directory),
/// with edits that keep every digest, size and diff_id consistent unless asked
/// otherwise: a blob stored anew is pointed to by its parents, up to index.json.
pub struct Layout {
    pub dir: PathBuf,
    /// The gzip level of the layers written (default: flate2's default).
    gzip: flate2::Compression,
}

impl Layout {
    /// A copy of `testdata/image/<fixture>` at `tmp/name`.
    pub fn copy(fixture: &str, tmp: &Path, name: &str) -> Layout {
        let dir = tmp.join(name);
        copy_dir(Path::new(&img(fixture)), &dir);
        Layout::at(&dir)
    }

    /// The layout already at `dir`.
    pub fn at(dir: &Path) -> Layout {
        Layout {
            dir: dir.to_path_buf(),
            gzip: flate2::Compression::default(),
        }
    }

    /// Write the layers it edits at this gzip level.
    pub fn gzip_level(mut self, level: flate2::Compression) -> Layout {
        self.gzip = level;
        self
    }

    pub fn path(&self) -> String {
        s(&self.dir).to_string()
    }

    /// Where the blob `digest` is stored.
    pub fn blob(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").expect("sha256 digest");
        self.dir.join("blobs/sha256").join(hex)
    }

    pub fn read(&self, digest: &str) -> Vec<u8> {
        std::fs::read(self.blob(digest)).unwrap()
    }

    pub fn read_json(&self, digest: &str) -> Value {
        serde_json::from_slice(&self.read(digest)).unwrap()
    }

    /// Store a blob; returns its digest and size.
    pub fn put(&self, bytes: &[u8]) -> (String, u64) {
        let d = digest(bytes);
        std::fs::write(self.blob(&d), bytes).unwrap();
        (d, bytes.len() as u64)
    }

    pub fn index_bytes(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("index.json")).unwrap()
    }

    pub fn index(&self) -> Value {
        serde_json::from_slice(&self.index_bytes()).unwrap()
    }

    pub fn set_index(&self, v: &Value) {
        std::fs::write(self.dir.join("index.json"), serde_json::to_vec(v).unwrap()).unwrap();
    }

    /// Edit index.json (written back by serde_json).
    pub fn edit_index(&self, f: impl FnOnce(&mut Value)) {
        let mut idx = self.index();
        f(&mut idx);
        self.set_index(&idx);
    }

    pub fn manifest_digest(&self, i: usize) -> String {
        self.index()["manifests"][i]["digest"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn manifest(&self, i: usize) -> Value {
        self.read_json(&self.manifest_digest(i))
    }

    /// Store a manifest and point index entry `i` at it.
    pub fn set_manifest(&self, i: usize, m: &Value) {
        let (d, s) = self.put(&serde_json::to_vec(m).unwrap());
        self.edit_index(|idx| {
            idx["manifests"][i]["digest"] = json!(d);
            idx["manifests"][i]["size"] = json!(s);
        });
    }

    pub fn config_digest(&self, i: usize) -> String {
        self.manifest(i)["config"]["digest"]
            .as_str()
            .unwrap()
            .to_string()
    }

    pub fn config(&self, i: usize) -> Value {
        self.read_json(&self.config_digest(i))
    }

    /// Store a config and re-chain manifest `i` and the index.
    pub fn set_config(&self, i: usize, c: &Value) {
        self.set_config_bytes(i, &serde_json::to_vec(c).unwrap());
    }

    /// Edit the config of manifest `i` (written back by serde_json), re-chaining
    /// manifest `i` and the index.
    pub fn edit_config(&self, i: usize, f: impl FnOnce(&mut Value)) {
        let mut c = self.config(i);
        f(&mut c);
        self.set_config(i, &c);
    }

    /// Store these bytes as the config of manifest `i`, re-chaining it and the index.
    pub fn set_config_bytes(&self, i: usize, bytes: &[u8]) {
        let (d, s) = self.put(bytes);
        self.set_config_blob(i, &d, s);
    }

    /// Point manifest `i` at a config blob already stored.
    pub fn set_config_blob(&self, i: usize, digest: &str, size: u64) {
        let mut m = self.manifest(i);
        m["config"]["digest"] = json!(digest);
        m["config"]["size"] = json!(size);
        self.set_manifest(i, &m);
    }

    pub fn layer_digest(&self, i: usize, n: usize) -> String {
        self.manifest(i)["layers"][n]["digest"]
            .as_str()
            .unwrap()
            .to_string()
    }

    /// The uncompressed tar of layer `n` of manifest `i` (gzip layers).
    pub fn layer_tar(&self, i: usize, n: usize) -> Vec<u8> {
        gunzip(&self.read(&self.layer_digest(i, n)))
    }

    /// Replace layer `n` of manifest `i` by this tar (gzipped), fixing the layer
    /// descriptor, the config's diff_id, the config and manifest descriptors and the
    /// index.
    pub fn set_layer_tar(&self, i: usize, n: usize, tar: &[u8]) {
        let diff_id = digest(tar);
        let (d, s) = self.put(&gzip_with(tar, self.gzip));
        let mut c = self.config(i);
        c["rootfs"]["diff_ids"][n] = json!(diff_id);
        let (cd, cs) = self.put(&serde_json::to_vec(&c).unwrap());
        let mut m = self.manifest(i);
        m["config"]["digest"] = json!(cd);
        m["config"]["size"] = json!(cs);
        m["layers"][n]["digest"] = json!(d);
        m["layers"][n]["size"] = json!(s);
        self.set_manifest(i, &m);
    }

    /// Edit the members of layer `n` of manifest `i`.
    pub fn edit_layer(&self, i: usize, n: usize, f: impl FnOnce(&mut Vec<Member>)) {
        let mut members = read_tar(&self.layer_tar(i, n));
        f(&mut members);
        self.set_layer_tar(i, n, &write_tar(&members));
    }

    /// Replace the blob `old` by `edit(old bytes as text)` and re-chain every
    /// descriptor that points to it (see [`Layout::replace_blob`]); the new digest.
    pub fn edit_text(&self, old: &str, edit: impl FnOnce(String) -> String) -> String {
        let bytes = String::from_utf8(self.read(old)).unwrap();
        let new = edit(bytes.clone());
        assert_ne!(new, bytes, "the edit of {old} changed nothing");
        self.replace_blob(old, new.as_bytes())
    }

    /// Replace the blob `old` by `new` (the old blob stays, unreferenced) and rewrite
    /// `"digest":"OLD","size":N` in index.json and in every JSON blob, as text (so that
    /// nothing else of the documents that point to it changes); the new digest.
    pub fn replace_blob(&self, old: &str, new: &[u8]) -> String {
        let old_size = self.read(old).len();
        let (d, _) = self.put(new);
        let from = format!(r#""digest":"{old}","size":{old_size}"#);
        let to = format!(r#""digest":"{d}","size":{}"#, new.len());
        let index = String::from_utf8(self.index_bytes()).unwrap();
        if index.contains(&from) {
            std::fs::write(self.dir.join("index.json"), index.replace(&from, &to)).unwrap();
        }
        let mut parents = Vec::new();
        for e in std::fs::read_dir(self.dir.join("blobs/sha256")).unwrap() {
            let name = e.unwrap().file_name().into_string().unwrap();
            let digest = format!("sha256:{name}");
            if digest == d {
                continue;
            }
            if let Ok(text) = String::from_utf8(self.read(&digest))
                && text.contains(&from)
            {
                parents.push(digest);
            }
        }
        for p in parents {
            self.edit_text(&p, |t| t.replace(&from, &to));
        }
        d
    }
}
