//! A minimal OCI image layout writer for tests: one manifest, one config, the given
//! layers (plain tar or gzip, as given), every digest, size and diff_id computed here
//! (independently of rdiff's own code).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};
use sha2::Digest as _;

/// `sha256:HEX` of some bytes.
pub fn digest(b: &[u8]) -> String {
    let d = sha2::Sha256::digest(b);
    format!(
        "sha256:{}",
        d.iter().map(|x| format!("{x:02x}")).collect::<String>()
    )
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
        use std::io::Write;
        let mut e = flate2::GzBuilder::new()
            .mtime(0)
            .write(Vec::new(), flate2::Compression::default());
        e.write_all(&tar).unwrap();
        LayerBlob {
            blob: e.finish().unwrap(),
            tar,
            media_type: "application/vnd.oci.image.layer.v1.tar+gzip",
        }
    }
}

/// Write an image layout at `dir` with these layers and `config.config` = `cfg`; returns
/// the directory as a string.
pub fn write_layout(dir: &Path, layers: &[LayerBlob], cfg: Value) -> String {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |b: &[u8]| -> String {
        let d = digest(b);
        std::fs::write(blobs.join(&d[7..]), b).unwrap();
        d
    };
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
    path_str(dir)
}

pub fn path_str(p: &Path) -> String {
    p.to_str().expect("UTF-8 test path").to_string()
}

/// A path under a directory, as a string.
pub fn under(dir: &Path, name: &str) -> String {
    path_str(&PathBuf::from(dir).join(name))
}
