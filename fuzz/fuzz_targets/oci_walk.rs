//! Bytes -> the JSON documents of an OCI layout (index.json, a manifest, a config),
//! packed as an oci-archive in memory -> the walk and the metadata comparison. `@D2`,
//! `@S2`, `@D3`, `@S3` in the input stand for the digest and size of documents 2 and 3,
//! so the fuzzer can reach past index.json. Must never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use sha2::{Digest, Sha256};

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut docs: Vec<String> = text.splitn(3, '\u{1}').map(str::to_string).collect();
    docs.resize(3, String::from("{}"));
    let digest = |s: &str| format!("sha256:{}", hex(&Sha256::digest(s.as_bytes())));
    let d3 = docs[2].clone();
    let d2 = docs[1]
        .replace("@D3", &digest(&d3)[7..])
        .replace("@S3", &d3.len().to_string());
    let d1 = docs[0]
        .replace("@D2", &digest(&d2)[7..])
        .replace("@S2", &d2.len().to_string())
        .replace("@D3", &digest(&d3)[7..])
        .replace("@S3", &d3.len().to_string());
    let mut b = tar::Builder::new(Vec::new());
    let mut add = |name: &str, body: &[u8]| {
        let mut h = tar::Header::new_ustar();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        let _ = b.append_data(&mut h, name, body);
    };
    add("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
    add("index.json", d1.as_bytes());
    add(
        &format!("blobs/sha256/{}", &digest(&d2)[7..]),
        d2.as_bytes(),
    );
    add(
        &format!("blobs/sha256/{}", &digest(&d3)[7..]),
        d3.as_bytes(),
    );
    let Ok(archive) = b.into_inner() else { return };
    let input = rdiff::image::walk::ImageInput::parse(std::ffi::OsStr::new("fuzz.tar"));
    let Ok(store) = rdiff::image::store::Store::from_reader(
        "fuzz",
        Box::new(&archive[..]),
        Default::default(),
    ) else {
        return;
    };
    if let Ok(img) = rdiff::image::walk::walk_store(&input, store, "archive", 0) {
        for m in &img.manifests {
            let _ = rdiff::image::meta::descriptor(&m.descriptor.raw, &m.descriptor.raw, false);
            if let (Some(d), Some(c)) = (&m.doc, &m.config) {
                let _ = rdiff::image::meta::document(&d.json, &c.json);
                let _ = rdiff::image::meta::config(&c.json, &d.json, true);
            }
        }
    }
    // The comparison functions on arbitrary JSON, too.
    if let (Ok(a), Ok(b)) = (
        serde_json::from_str::<serde_json::Value>(&d1),
        serde_json::from_str::<serde_json::Value>(&d2),
    ) {
        let _ = rdiff::image::meta::config(&a, &b, true);
        let _ = rdiff::image::meta::descriptor(&a, &b, true);
        let _ = rdiff::image::meta::document(&a, &b);
    }
});
