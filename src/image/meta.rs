//! Image metadata, compared as raw JSON so nothing is dropped: descriptors, index and
//! manifest documents, and the config (Docker-only fields included). Each difference is
//! a field of a family (`annotations`, `config`, `history`, `digest`, `media_type`, ...)
//! with a key inside it, so that rules can name exactly what they hide.

use serde_json::{Map, Value};

use crate::report::{FieldDiff, Value as V};

fn jv(v: Option<&Value>) -> V {
    match v {
        None | Some(Value::Null) => V::Absent,
        Some(v) => V::Json(v.clone()),
    }
}

/// A key of two JSON objects whose values differ, and the two values (`None`: absent).
type Changed<'a> = (&'a str, Option<&'a Value>, Option<&'a Value>);

/// The keys whose values differ between two JSON objects (an absent value, or one that
/// is no object, has no keys), in key order.
fn changed<'a>(a: Option<&'a Value>, b: Option<&'a Value>) -> Vec<Changed<'a>> {
    let (a, b) = (a.and_then(Value::as_object), b.and_then(Value::as_object));
    let get = |m: Option<&'a Map<String, Value>>, k: &str| m.and_then(|m| m.get(k));
    let mut keys: Vec<&str> = a
        .iter()
        .chain(&b)
        .flat_map(|m| m.keys())
        .map(String::as_str)
        .collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|k| (k, get(a, k), get(b, k)))
        .filter(|(_, x, y)| x != y)
        .collect()
}

/// Per-key differences of two JSON objects, in one family, keys prefixed.
fn keyed(
    out: &mut Vec<FieldDiff>,
    family: &'static str,
    prefix: &str,
    a: Option<&Value>,
    b: Option<&Value>,
) {
    for (k, x, y) in changed(a, b) {
        out.push(FieldDiff::keyed(
            family,
            format!("{prefix}{k}").into_bytes(),
            jv(x),
            jv(y),
        ));
    }
}

fn whole(out: &mut Vec<FieldDiff>, family: &'static str, a: Option<&Value>, b: Option<&Value>) {
    if a != b {
        out.push(FieldDiff::new(family, jv(a), jv(b)));
    }
}

/// The parts of a media type that rules may ignore: which naming (Docker or OCI) and
/// which compression; and what remains.
fn media_parts(m: &str) -> (String, &'static str, &'static str) {
    const DOCKER: &[(&str, &str, &str)] = &[
        (
            "application/vnd.docker.distribution.manifest.v2+json",
            "application/vnd.oci.image.manifest.v1+json",
            "",
        ),
        (
            "application/vnd.docker.distribution.manifest.list.v2+json",
            "application/vnd.oci.image.index.v1+json",
            "",
        ),
        (
            "application/vnd.docker.container.image.v1+json",
            "application/vnd.oci.image.config.v1+json",
            "",
        ),
        (
            "application/vnd.docker.image.rootfs.diff.tar",
            "application/vnd.oci.image.layer.v1.tar",
            "",
        ),
        (
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "application/vnd.oci.image.layer.v1.tar",
            "gzip",
        ),
        (
            "application/vnd.docker.image.rootfs.diff.tar.zstd",
            "application/vnd.oci.image.layer.v1.tar",
            "zstd",
        ),
        (
            "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
            "application/vnd.oci.image.layer.nondistributable.v1.tar",
            "gzip",
        ),
    ];
    for (d, o, c) in DOCKER {
        if m == *d {
            return (o.to_string(), "docker", c);
        }
    }
    for (suffix, c) in [("+gzip", "gzip"), ("+zstd", "zstd")] {
        if let Some(base) = m.strip_suffix(suffix) {
            return (base.to_string(), "oci", c);
        }
    }
    (m.to_string(), "oci", "")
}

/// A media type difference: `media_type.format` when only the naming differs (Docker
/// vs OCI), `media_type.compression` when only the compression does (both when both),
/// plain `media_type` otherwise.
fn media_type(out: &mut Vec<FieldDiff>, a: Option<&Value>, b: Option<&Value>) {
    if a == b {
        return;
    }
    match (a.and_then(Value::as_str), b.and_then(Value::as_str)) {
        (Some(x), Some(y)) => {
            let (px, fx, cx) = media_parts(x);
            let (py, fy, cy) = media_parts(y);
            if px != py {
                out.push(FieldDiff::new("media_type", jv(a), jv(b)));
                return;
            }
            if fx != fy {
                out.push(FieldDiff::keyed("media_type", &b"format"[..], jv(a), jv(b)));
            }
            if cx != cy {
                out.push(FieldDiff::keyed(
                    "media_type",
                    &b"compression"[..],
                    jv(a),
                    jv(b),
                ));
            }
        }
        // `mediaType` is optional in OCI documents: absent against the type it has to be
        // is a matter of format.
        (x, y) if x.is_none() != y.is_none() && is_document_type(x.or(y).unwrap_or("")) => {
            out.push(FieldDiff::keyed("media_type", &b"format"[..], jv(a), jv(b)))
        }
        _ => out.push(FieldDiff::new("media_type", jv(a), jv(b))),
    }
}

fn is_document_type(m: &str) -> bool {
    [
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    ]
    .contains(&m)
}

/// Whether a manifest is in Docker's schema 2 format.
pub fn is_docker_manifest(descriptor: &Value, doc: Option<&Value>) -> bool {
    let docker = |v: Option<&str>| v.is_some_and(|m| m.starts_with("application/vnd.docker."));
    docker(descriptor.get("mediaType").and_then(Value::as_str))
        || docker(doc.and_then(|d| d.get("mediaType")).and_then(Value::as_str))
}

/// Docker manifests cannot carry annotations: when one side is Docker and the other
/// OCI, an annotation only the OCI side has is a matter of format.
pub fn annotations_lost_to_format(fields: &mut [FieldDiff], left_docker: bool, right_docker: bool) {
    if left_docker == right_docker {
        return;
    }
    for f in fields.iter_mut() {
        let docker_side_absent = if left_docker {
            f.left == V::Absent
        } else {
            f.right == V::Absent
        };
        if f.field == "annotations" && docker_side_absent {
            f.field = "manifest_format";
            let k = f.key.take().unwrap_or_default();
            f.key = Some([&b"annotations."[..], &k].concat().into());
        }
    }
}

/// Differences between two descriptors (what an index says of a manifest, what a
/// manifest says of its config and layers). `blob_only`: the two blobs have the same
/// uncompressed content (equal diff_ids), so digest and size differ only through
/// compression; those are then keyed `blob`.
pub fn descriptor(a: &Value, b: &Value, blob_only: bool) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    for (k, x, y) in changed(Some(a), Some(b)) {
        match k {
            "mediaType" => media_type(&mut out, x, y),
            "digest" | "size" => {
                let family = if k == "digest" { "digest" } else { "size" };
                if blob_only {
                    out.push(FieldDiff::keyed(family, &b"blob"[..], jv(x), jv(y)));
                } else {
                    out.push(FieldDiff::new(family, jv(x), jv(y)));
                }
            }
            "annotations" => keyed(&mut out, "annotations", "", x, y),
            "platform" => keyed(&mut out, "platform", "", x, y),
            "artifactType" => whole(&mut out, "artifact_type", x, y),
            "urls" => whole(&mut out, "urls", x, y),
            "subject" => whole(&mut out, "subject", x, y),
            "data" => whole(&mut out, "data", x, y),
            _ => out.push(FieldDiff::keyed("other", k.as_bytes(), jv(x), jv(y))),
        }
    }
    out
}

/// Differences between two index or manifest documents, leaving out what is compared
/// elsewhere (`manifests`, `config`, `layers`).
pub fn document(a: &Value, b: &Value) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    for (k, x, y) in changed(Some(a), Some(b)) {
        match k {
            "manifests" | "config" | "layers" => {}
            "schemaVersion" => whole(&mut out, "schema_version", x, y),
            "mediaType" => media_type(&mut out, x, y),
            "artifactType" => whole(&mut out, "artifact_type", x, y),
            "annotations" => keyed(&mut out, "annotations", "", x, y),
            "subject" => whole(&mut out, "subject", x, y),
            _ => out.push(FieldDiff::keyed("other", k.as_bytes(), jv(x), jv(y))),
        }
    }
    out
}

/// `NAME=value` pairs of an Env list, in order.
fn env_pairs(v: Option<&Value>) -> Vec<(String, Value)> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|e| {
                    let s = e.as_str().unwrap_or("");
                    let name = s.split_once('=').map_or(s, |(n, _)| n).to_string();
                    (name, e.clone())
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The container configuration (`config` or Docker's `container_config`): every key;
/// `Env` variable by variable (and its order, which strict mode counts), `Labels`,
/// `ExposedPorts` and `Volumes` key by key.
fn container_config(
    out: &mut Vec<FieldDiff>,
    family: &'static str,
    a: Option<&Value>,
    b: Option<&Value>,
) {
    for (k, x, y) in changed(a, b) {
        match k {
            "Env" => {
                let (ea, eb) = (env_pairs(x), env_pairs(y));
                let mut names: Vec<&String> = ea.iter().chain(eb.iter()).map(|(n, _)| n).collect();
                names.sort();
                names.dedup();
                let mut per_name = false;
                for n in names {
                    // A variable set twice takes its last value, as a container sees it.
                    let va = ea.iter().rev().find(|(m, _)| m == n).map(|(_, v)| v);
                    let vb = eb.iter().rev().find(|(m, _)| m == n).map(|(_, v)| v);
                    if va != vb {
                        per_name = true;
                        out.push(FieldDiff::keyed(
                            family,
                            format!("Env.{n}").into_bytes(),
                            jv(va),
                            jv(vb),
                        ));
                    }
                }
                // The same values as a container sees them, but another list: order, or a
                // variable set more than once.
                if !per_name {
                    out.push(FieldDiff::keyed(family, &b"Env"[..], jv(x), jv(y)));
                }
            }
            "Labels" | "ExposedPorts" | "Volumes" => keyed(out, family, &format!("{k}."), x, y),
            _ => out.push(FieldDiff::keyed(family, k.as_bytes(), jv(x), jv(y))),
        }
    }
}

/// Differences between two image configs. `layers`: compare `rootfs.diff_ids` (not
/// under --squash, where the layer list is not compared).
pub fn config(a: &Value, b: &Value, layers: bool) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    for (k, x, y) in changed(Some(a), Some(b)) {
        match k {
            "created" => whole(&mut out, "created", x, y),
            "author" => whole(&mut out, "author", x, y),
            "architecture" => whole(&mut out, "architecture", x, y),
            "os" => whole(&mut out, "os", x, y),
            "variant" => whole(&mut out, "variant", x, y),
            "os.version" => whole(&mut out, "os.version", x, y),
            "os.features" => whole(&mut out, "os.features", x, y),
            "config" => container_config(&mut out, "config", x, y),
            "container_config" => container_config(&mut out, "container_config", x, y),
            "history" => history(&mut out, x, y),
            "rootfs" => {
                let (ra, rb) = (x.unwrap_or(&Value::Null), y.unwrap_or(&Value::Null));
                if ra.get("type") != rb.get("type") {
                    out.push(FieldDiff::keyed(
                        "rootfs",
                        &b"type"[..],
                        jv(ra.get("type")),
                        jv(rb.get("type")),
                    ));
                }
                if layers {
                    let da = ra["diff_ids"].as_array().cloned().unwrap_or_default();
                    let db = rb["diff_ids"].as_array().cloned().unwrap_or_default();
                    for i in 0..da.len().max(db.len()) {
                        if da.get(i) != db.get(i) {
                            out.push(FieldDiff::keyed(
                                "rootfs",
                                format!("diff_ids.{i}").into_bytes(),
                                jv(da.get(i)),
                                jv(db.get(i)),
                            ));
                        }
                    }
                }
            }
            _ => out.push(FieldDiff::keyed("other", k.as_bytes(), jv(x), jv(y))),
        }
    }
    out
}

/// History, entry by entry. Entries are paired by position among the entries that made
/// a layer (and, separately, among the `empty_layer` ones), so an extra `ENV` step does
/// not shift every layer's history.
fn history(out: &mut Vec<FieldDiff>, a: Option<&Value>, b: Option<&Value>) {
    type Entries = Vec<(usize, Value)>;
    let split = |v: Option<&Value>| -> (Entries, Entries) {
        let mut layers = Vec::new();
        let mut empty = Vec::new();
        for (i, h) in v
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .enumerate()
        {
            if h["empty_layer"].as_bool() == Some(true) {
                empty.push((i, h));
            } else {
                layers.push((i, h));
            }
        }
        (layers, empty)
    };
    let (la, ea) = split(a);
    let (lb, eb) = split(b);
    for (label, xa, xb) in [("layer", &la, &lb), ("empty", &ea, &eb)] {
        for n in 0..xa.len().max(xb.len()) {
            let (ha, hb) = (xa.get(n).map(|p| &p.1), xb.get(n).map(|p| &p.1));
            if ha == hb {
                continue;
            }
            let key = format!("{label}{n}");
            match (ha, hb) {
                (Some(_), Some(_)) => keyed(out, "history", &format!("{key}."), ha, hb),
                _ => out.push(FieldDiff::keyed(
                    "history",
                    key.into_bytes(),
                    jv(ha),
                    jv(hb),
                )),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(v: &[FieldDiff]) -> Vec<String> {
        v.iter().map(|f| f.name()).collect()
    }

    #[test]
    fn media_types_split_into_format_and_compression() {
        let d = descriptor(
            &json!({"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip"}),
            &json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd"}),
            false,
        );
        assert_eq!(names(&d), ["media_type.format", "media_type.compression"]);
        let d = descriptor(
            &json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip"}),
            &json!({"mediaType": "application/vnd.oci.image.config.v1+json"}),
            false,
        );
        assert_eq!(names(&d), ["media_type"]);
    }

    #[test]
    fn config_fields_by_name() {
        let a = json!({
            "created": "2023-11-14T22:13:20Z",
            "config": {"Env": ["PATH=/usr/bin", "LANG=C"], "Labels": {"a": "1", "b": "2"}, "Cmd": ["sh"]},
            "history": [{"created_by": "x"}, {"created_by": "ENV", "empty_layer": true}],
            "rootfs": {"type": "layers", "diff_ids": ["sha256:1"]},
            "container_config": {"Hostname": "h1"},
        });
        let b = json!({
            "created": "2024-01-01T00:00:00Z",
            "config": {"Env": ["PATH=/usr/bin", "LANG=C.UTF-8"], "Labels": {"a": "1", "b": "3"}, "Cmd": ["bash"]},
            "history": [{"created_by": "y"}],
            "rootfs": {"type": "layers", "diff_ids": ["sha256:2"]},
            "container_config": {"Hostname": "h2"},
        });
        assert_eq!(
            names(&config(&a, &b, true)),
            [
                "config.Cmd",
                "config.Env.LANG",
                "config.Labels.b",
                "container_config.Hostname",
                "created",
                "history.layer0.created_by",
                "history.empty0",
                "rootfs.diff_ids.0",
            ]
        );
        assert!(!names(&config(&a, &b, false)).contains(&"rootfs.diff_ids.0".to_string()));
    }

    #[test]
    fn env_variable_set_twice_counts_by_its_last_value() {
        let a = json!({"config": {"Env": ["A=1", "B=2", "A=3"]}});
        let b = json!({"config": {"Env": ["A=1", "B=2"]}});
        assert_eq!(names(&config(&a, &b, true)), ["config.Env.A"]);
        let c = json!({"config": {"Env": ["A=1", "A=3", "B=2"]}});
        assert_eq!(names(&config(&a, &c, true)), ["config.Env"]);
    }

    #[test]
    fn env_order_alone_is_one_difference() {
        let a = json!({"config": {"Env": ["A=1", "B=2"]}});
        let b = json!({"config": {"Env": ["B=2", "A=1"]}});
        assert_eq!(names(&config(&a, &b, true)), ["config.Env"]);
    }
}
