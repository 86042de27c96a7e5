//! A registry that lies: rdiff against fake registries (tests/support/registry.rs's
//! `Fake`, serving `testdata/image/oci` as a registry would, then changing what it
//! says). Each test is an attempt to make rdiff call images that differ equal, hang,
//! crash, or hand a secret to the wrong host; docs/tricky-cases.md ("Registries") says
//! what each one found. No tool is needed and nothing leaves this machine.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod support;
use support::paths::copy_dir;
use support::registry::*;
use support::run::skip;

/// `oci/base`'s manifest, and its layer 1 (`oci/changed` has another layer 1).
const BASE: &str = "sha256:caa3e717ab04d09ca9d379d0e42abd894ddbe6e195a95b370e7986c85e89e251";
const BASE_L1: &str = "sha256:c073f36d139eb2a3eed967ab825bf94da30b95b119429e913b6f3cbf3d37648a";
const BASE_CONFIG: &str = "sha256:576392e6e557f91b93f30f9358a9e7ea6696c209b91f6f1f9efcd3ad66a8cf59";

/// `t/base` and `t/changed`, tag `v1`.
fn layouts() -> Layouts {
    Layouts::new(&[
        ("t/base", &fixture("base")),
        ("t/changed", &fixture("changed")),
    ])
}

fn serve(l: Layouts) -> Fake {
    Fake::start(move |r| l.answer(r))
}

/// `oci/base`'s manifest with `edit` applied, tagged `REPO:v1`.
fn edited(l: &mut Layouts, repo: &str, edit: impl FnOnce(&mut Value)) -> String {
    let mut m = l.json(BASE);
    edit(&mut m);
    let d = l.put(serde_json::to_vec(&m).unwrap());
    l.tag(repo, "v1", &d);
    d
}

/// `rdiff image --format json ARGS`: exit code and report, or the error line.
fn run(env: &Env, args: &[&str]) -> (i32, Result<Value, String>) {
    let mut v = vec!["image", "--format", "json"];
    v.extend(args);
    let out = env.rdiff(&v, &[]);
    let code = out.status.code().unwrap_or(-1);
    if code == 2 {
        return (code, Err(String::from_utf8_lossy(&out.stderr).into_owned()));
    }
    (code, Ok(serde_json::from_slice(&out.stdout).unwrap()))
}

#[test]
fn a_local_blob_that_is_not_its_digest_is_not_equal_by_digest() {
    // The registry's layers are named by their digests; the layout's file of layer 1 is
    // not what its name says (one byte of the gzip header's mtime). Not downloading the
    // registry's blob is fine, but the local file must be what "equal by digest" says.
    let t = tempfile::tempdir().unwrap();
    let local = t.path().join("base");
    copy_dir(std::path::Path::new(&fixture("base")), &local);
    let file = local.join("blobs/sha256").join(&BASE_L1[7..]);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[4] ^= 1;
    std::fs::write(&file, bytes).unwrap();
    let reg = serve(layouts());
    let env = Env::new();
    let local = local.to_str().unwrap();
    let at = reg.at("t/base:v1");
    for mode in ["--semantic", "--squash"] {
        env.fails(
            &[mode, &at, local],
            &[],
            local,
            &["layer 1", "digest mismatch", BASE_L1],
        );
    }
    assert!(reg.requests_for(&BASE_L1[7..]).is_empty(), "downloaded");
}

#[test]
fn one_digest_with_two_sizes_is_read_and_the_liar_refused() {
    let mut l = layouts();
    edited(&mut l, "t/liar", |m| {
        m["layers"][1]["size"] = json!(261);
    });
    let reg = serve(l);
    let env = Env::new();
    let liar = reg.at("t/liar:v1");
    for other in [reg.at("t/base:v1"), fixture("base")] {
        env.fails(
            &["--semantic", &liar, &other],
            &[],
            &liar,
            &["layer 1", "260", "descriptor says 261"],
        );
    }
}

#[test]
fn the_same_layer_with_another_diff_id_is_read_and_refused() {
    let mut l = layouts();
    let mut cfg = l.json(BASE_CONFIG);
    let id = cfg["rootfs"]["diff_ids"][1].as_str().unwrap().to_string();
    let flipped = format!(
        "{}{}",
        &id[..id.len() - 1],
        if id.ends_with('0') { 1 } else { 0 }
    );
    cfg["rootfs"]["diff_ids"][1] = json!(flipped);
    let bytes = serde_json::to_vec(&cfg).unwrap();
    let (size, digest) = (bytes.len(), l.put(bytes));
    edited(&mut l, "t/liar", |m| {
        m["config"]["digest"] = json!(digest);
        m["config"]["size"] = json!(size);
    });
    let reg = serve(l);
    let env = Env::new();
    let liar = reg.at("t/liar:v1");
    env.fails(
        &["--semantic", &reg.at("t/base:v1"), &liar],
        &[],
        &liar,
        &["layer 1", "diff_id mismatch", &flipped],
    );
}

#[test]
fn a_media_type_that_lies_is_shown_and_the_blob_still_equal_by_digest() {
    // gzip bytes labelled zstd: the same blob (the same digest) on both sides, so the
    // same entries; the label is the manifest's, and the manifests are compared.
    let mut l = layouts();
    edited(&mut l, "t/zstd-label", |m| {
        m["layers"][1]["mediaType"] = json!("application/vnd.oci.image.layer.v1.tar+zstd");
    });
    let reg = serve(l);
    let env = Env::new();
    let (code, j) = run(&env, &[&reg.at("t/base:v1"), &reg.at("t/zstd-label:v1")]);
    let j = j.unwrap();
    assert_eq!(code, 1, "{j}");
    let fields: Vec<(&str, &str)> = j["differences"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| {
            let part = d["part"].as_str().unwrap();
            d["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(move |f| (part, f["field"].as_str().unwrap()))
        })
        .collect();
    assert!(fields.contains(&("layers/1", "media_type")), "{fields:?}");
    let notes = j["notes"].as_array().unwrap();
    assert!(
        notes
            .iter()
            .any(|n| n["path"] == "layers/1" && n["kind"] == "not_read"),
        "{notes:?}"
    );
    assert!(reg.requests_for(&BASE_L1[7..]).is_empty(), "downloaded");
}

#[test]
fn bytes_that_are_not_their_digest_are_refused() {
    // Layer 1 of base differs from changed's, so it is read; the config always is.
    // The layer's byte is its gzip header's mtime: it still decodes, only the digest tells.
    for (blob, what, at) in [(BASE_L1, "layer 1", 4), (BASE_CONFIG, "config", 20)] {
        let l = layouts();
        let mut bytes = l.blobs[blob].clone();
        bytes[at] ^= 1;
        let reg = Fake::start(move |r| {
            if r.target.ends_with(blob) {
                return Response::ok(bytes.clone());
            }
            l.answer(r)
        });
        let env = Env::new();
        let base = reg.at("t/base:v1");
        env.fails(
            &["--semantic", &fixture("changed"), &base],
            &[],
            &base,
            &[what, "digest mismatch", blob],
        );
    }
}

/// A registry that wants `rdiff:s3cret` (basic auth) and sends blob requests to
/// `storage` (`307`, as registries send them to a CDN or a bucket).
fn redirecting(l: Layouts, storage: u16) -> Fake {
    Fake::start(move |r| {
        if r.header("authorization") != Some("Basic cmRpZmY6czNjcmV0") {
            return Response::new(401, "{}").header("WWW-Authenticate", "Basic realm=\"r\"");
        }
        match r.target.split_once("/blobs/") {
            Some((_, d)) if d != BASE_CONFIG => Response::new(307, "")
                .header("Location", format!("http://127.0.0.1:{storage}/bucket/{d}")),
            _ => l.answer(r),
        }
    })
}

#[test]
fn a_redirect_to_another_host_carries_no_credentials() {
    let l = layouts();
    let blobs = l.clone();
    let storage = Fake::start(move |r| {
        let d = r.target.rsplit('/').next().unwrap();
        Response::ok(blobs.blobs[d].clone())
    });
    let reg = redirecting(l.clone(), storage.port);
    let env = Env::new();
    let (code, j) = run(
        &env,
        &[
            "--creds",
            "rdiff:s3cret",
            &reg.at("t/base:v1"),
            &reg.at("t/changed:v1"),
        ],
    );
    assert_eq!(code, 1, "{j:?}");
    let got = storage.requests();
    assert!(!got.is_empty());
    assert!(
        got.iter().all(|r| r.header("authorization").is_none()),
        "{got:#?}"
    );
    // A storage host that asks for credentials (a bearer token from a realm of its own)
    // is not given the registry's.
    let storage = Fake::start(|r| {
        if r.target.starts_with("/token") {
            return Response::ok(r#"{"token":"t"}"#);
        }
        let port = r
            .header("host")
            .unwrap_or("")
            .rsplit(':')
            .next()
            .unwrap()
            .to_string();
        Response::new(401, "").header(
            "WWW-Authenticate",
            format!("Bearer realm=\"http://127.0.0.1:{port}/token\""),
        )
    });
    let reg = redirecting(l, storage.port);
    let base = reg.at("t/base:v1");
    let out = env.rdiff(
        &[
            "image",
            "--creds",
            "rdiff:s3cret",
            &base,
            &fixture("changed"),
        ],
        &[],
    );
    let got = storage.requests();
    assert!(
        got.iter().all(|r| r.header("authorization").is_none()),
        "{got:#?}"
    );
    assert_eq!(out.status.code(), Some(2));
    let err = env.fails(
        &["--creds", "rdiff:s3cret", &base, &fixture("changed")],
        &[],
        &base,
        &[
            &format!("redirected to 127.0.0.1:{}", storage.port),
            "asks for authentication",
            "only to the registry",
        ],
    );
    assert!(!err.contains("s3cret"), "{err}");
}

#[test]
fn credentials_never_go_to_a_plain_http_token_server_elsewhere() {
    // A token server on this machine's non-loopback address stands for another host.
    let Some(ip) = non_loopback_ip() else {
        skip("no non-loopback address here to stand for another host");
        return;
    };
    let tokens = Fake::start_at(ip, |_| Response::ok(r#"{"token":"tok"}"#));
    let realm = format!("http://{}/token", tokens.host());
    let l = layouts();
    let reg = Fake::start(move |r| match r.header("authorization") {
        Some("Bearer tok") => l.answer(r),
        _ => Response::new(401, "{}").header(
            "WWW-Authenticate",
            format!("Bearer realm=\"{realm}\",service=\"s\""),
        ),
    });
    let env = Env::new();
    let base = reg.at("t/base:v1");
    let err = env.fails(
        &[
            "--semantic",
            "--creds",
            "rdiff:s3cret",
            &base,
            &fixture("base"),
        ],
        &[],
        &base,
        &["plain HTTP", "--creds", "--tls-verify=false"],
    );
    assert!(!err.contains("s3cret"), "{err}");
    assert!(tokens.requests().is_empty(), "{:#?}", tokens.requests());
    // Anonymous, there is nothing to leak: the token is fetched.
    let (code, _) = run(&env, &["--semantic", &base, &fixture("base")]);
    assert_eq!(code, 0);
    let asked = tokens.requests();
    assert_eq!(asked.len(), 1, "{asked:#?}");
    assert!(asked[0].header("authorization").is_none());
    // With --tls-verify=false the user allows it, as for the registry itself.
    let (code, _) = run(
        &env,
        &[
            "--semantic",
            "--tls-verify=false",
            "--creds",
            "rdiff:s3cret",
            &base,
            &fixture("base"),
        ],
    );
    assert_eq!(code, 0);
}

/// A registry whose answers for `target` are replaced by `f`'s.
fn with(
    l: Layouts,
    target: &'static str,
    f: impl Fn(&Request, &Layouts) -> Response + Send + Sync + 'static,
) -> Fake {
    Fake::start(move |r| {
        if r.target.contains(target) {
            f(r, &l)
        } else {
            l.answer(r)
        }
    })
}

#[test]
fn lengths_that_lie_are_refused_at_once() {
    let env = Env::new();
    let t = Instant::now();
    // A manifest announced at a petabyte.
    let reg = with(layouts(), "/manifests/", |r, l| l.answer(r).length(1 << 50));
    let at = reg.at("t/base:v1");
    env.fails(
        &[&at, &fixture("base")],
        &[],
        &at,
        &["over the limit", "--max-json-size"],
    );
    // A config announced at a petabyte, or sent without end: its descriptor says 993.
    for body in [None, Some(Body::Endless)] {
        let reg = with(layouts(), &BASE_CONFIG[7..], move |r, l| match &body {
            None => l.answer(r).length(1 << 50),
            Some(b) => l.answer(r).body(b.clone()),
        });
        let at = reg.at("t/base:v1");
        env.fails(
            &[&at, &fixture("base")],
            &[],
            &at,
            &["config", "the descriptor says", "993"],
        );
    }
    // A layer announced at a petabyte, or sent without end.
    for body in [None, Some(Body::Endless)] {
        let reg = with(layouts(), &BASE_L1[7..], move |r, l| match &body {
            None => l.answer(r).length(1 << 50),
            Some(b) => l.answer(r).body(b.clone()),
        });
        let at = reg.at("t/base:v1");
        env.fails(
            &[&at, &fixture("changed")],
            &[],
            &at,
            &["layer 1", "the descriptor says", "260"],
        );
    }
    assert!(t.elapsed() < Duration::from_secs(20), "{:?}", t.elapsed());
}

#[test]
fn a_content_range_that_lies_is_caught() {
    // The first answer breaks off after 100 bytes; the resumed one starts where asked
    // (by its Content-Range) but sends the blob from its start, or says another range.
    for honest_header in [true, false] {
        let reg = with(layouts(), &BASE_L1[7..], move |r, l| {
            let Body::Bytes(b) = l.answer(r).body else {
                unreachable!()
            };
            match r.range_start() {
                None => Response::ok(b[..100].to_vec())
                    .length(b.len() as u64)
                    .body(Body::Cut(b[..100].to_vec())),
                Some(n) => {
                    let from = if honest_header { n } else { 0 };
                    let range = format!("bytes {from}-{}/{}", b.len() - 1, b.len());
                    Response::new(206, b[..b.len() - n].to_vec()).header("Content-Range", range)
                }
            }
        });
        let env = Env::new();
        let at = reg.at("t/base:v1");
        let says: &[&str] = if honest_header {
            &["layer 1", BASE_L1]
        } else {
            &["layer 1", "asked for the bytes from 100 on", "bytes 0-"]
        };
        let err = env.fails(&[&at, &fixture("changed")], &[], &at, says);
        assert!(!err.contains("identical"), "{err}");
    }
}

#[test]
fn endless_503s_end() {
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let reg = with(layouts(), "/manifests/", move |_, _| {
        h.fetch_add(1, Ordering::SeqCst);
        Response::new(503, "busy")
    });
    let env = Env::new();
    let at = reg.at("t/base:v1");
    let t = Instant::now();
    env.fails(&[&at, &fixture("base")], &[], &at, &["answered 503"]);
    assert_eq!(hits.load(Ordering::SeqCst), 5);
    assert!(t.elapsed() < Duration::from_secs(15), "{:?}", t.elapsed());
    // And a blob: a few resumptions of a few tries each, not more.
    let hits = Arc::new(AtomicUsize::new(0));
    let h = hits.clone();
    let reg = with(layouts(), &BASE_L1[7..], move |_, _| {
        h.fetch_add(1, Ordering::SeqCst);
        Response::new(503, "busy")
    });
    let at = reg.at("t/base:v1");
    env.fails(&[&at, &fixture("changed")], &[], &at, &["layer 1", "503"]);
    assert!(hits.load(Ordering::SeqCst) <= 25, "{hits:?}");
}

#[test]
fn a_silent_registry_ends_with_the_timeout() {
    let reg = with(layouts(), &BASE_L1[7..], |_, _| {
        Response::ok("").body(Body::Silence)
    });
    let env = Env::new();
    let at = reg.at("t/base:v1");
    let t = Instant::now();
    let out = env.rdiff(&["image", "--timeout", "2", &at, &fixture("changed")], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("timed out after 2 seconds"), "{err}");
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
}

/// An index document listing `n` times the descriptor `d`.
fn index_of(d: &Value, n: usize) -> Vec<u8> {
    let list: Vec<Value> = (0..n).map(|_| d.clone()).collect();
    let v = json!({"schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": list});
    serde_json::to_vec(&v).unwrap()
}

fn descriptor(media: &str, digest: &str, size: usize) -> Value {
    json!({"mediaType": media, "digest": digest, "size": size,
        "platform": {"os": "linux", "architecture": "amd64"}})
}

#[test]
fn indexes_that_fan_out_or_loop_are_refused() {
    const INDEX: &str = "application/vnd.oci.image.index.v1+json";
    let mut l = layouts();
    // 20 entries a level, 4 levels: 160 000 walks of the same few documents.
    let size = l.blobs[BASE].len();
    let mut d = descriptor("application/vnd.oci.image.manifest.v1+json", BASE, size);
    for _ in 0..4 {
        let bytes = index_of(&d, 20);
        let size = bytes.len();
        d = descriptor(INDEX, &l.put(bytes), size);
    }
    l.tag("t/fan", "v1", d["digest"].as_str().unwrap());
    // An index whose entry is "itself": a digest whose document the registry answers
    // with the index again (no document can name its own digest).
    let zeros = format!("sha256:{}", "0".repeat(64));
    // (Its size is its own, so that only the digest can tell.)
    let mut looping = index_of(&descriptor(INDEX, &zeros, 100), 1);
    while index_of(&descriptor(INDEX, &zeros, looping.len()), 1).len() != looping.len() {
        looping = index_of(&descriptor(INDEX, &zeros, looping.len()), 1);
    }
    let looping = index_of(&descriptor(INDEX, &zeros, looping.len()), 1);
    let top = l.put(looping.clone());
    l.tag("t/loop", "v1", &top);
    l.blobs.insert(zeros, looping);
    let reg = serve(l);
    let env = Env::new();
    let t = Instant::now();
    let fan = reg.at("t/fan:v1");
    env.fails(
        &[&fan, &fixture("base")],
        &[],
        &fan,
        &["more than 10000 manifests"],
    );
    assert!(t.elapsed() < Duration::from_secs(30), "{:?}", t.elapsed());
    let lp = reg.at("t/loop:v1");
    env.fails(&[&lp, &fixture("base")], &[], &lp, &["digest mismatch"]);
}

fn sha512(b: &[u8]) -> String {
    use sha2::Digest as _;
    let d = sha2::Sha512::digest(b);
    format!(
        "sha512:{}",
        d.iter().map(|x| format!("{x:02x}")).collect::<String>()
    )
}

#[test]
fn digests_other_than_sha256_are_checked_or_refused() {
    let mut l = layouts();
    let base512 = sha512(&l.blobs[BASE]);
    l.blobs.insert(base512.clone(), l.blobs[BASE].clone());
    let changed = l.tags[&("t/changed".to_string(), "v1".to_string())].clone();
    let changed512 = sha512(&l.blobs[&changed]);
    l.blobs.insert(changed512.clone(), l.blobs[BASE].clone());
    edited(&mut l, "t/l512", |m| {
        m["layers"][1]["digest"] = json!(format!("sha512:{}", "ab".repeat(64)));
    });
    let reg = serve(l.clone());
    let env = Env::new();
    let base = fixture("base");
    // Pinned by sha512: computed and compared.
    let ok = format!("{}/t/base@{base512}", reg.host());
    let (code, j) = run(&env, &["--semantic", &ok, &base]);
    assert_eq!(code, 0, "{j:?}");
    let bad = format!("{}/t/changed@{changed512}", reg.host());
    env.fails(
        &[&bad, &base],
        &[],
        &bad,
        &["digest mismatch: expected sha512:"],
    );
    let md5 = format!("{}/t/base@md5:{}", reg.host(), "0".repeat(32));
    env.fails(
        &[&md5, &base],
        &[],
        &md5,
        &["digest algorithm md5 is not supported"],
    );
    // A layer named by sha512: refused, not taken as equal to anything.
    let l512 = reg.at("t/l512:v1");
    env.fails(
        &[&l512, &l512],
        &[],
        &l512,
        &["layer", "sha512 is not supported"],
    );
    // A Docker-Content-Digest the bytes do not have, by tag.
    let lying = Fake::start(move |r| {
        let mut a = l.answer(r);
        a.headers.retain(|(k, _)| k != "Docker-Content-Digest");
        a.header(
            "Docker-Content-Digest",
            base512.replace("sha512:", "sha512:0"),
        )
    });
    let at = lying.at("t/base:v1");
    env.fails(
        &[&at, &base],
        &[],
        &at,
        &["digest mismatch: expected sha512:0"],
    );
}

#[test]
fn what_a_registry_says_cannot_break_the_error_line() {
    // Error codes and tag lists are the registry's words: a newline and terminal
    // escapes in them must not reach the terminal.
    let evil = "X\n\u{1b}]0;pwned\u{7}\u{1b}[2J";
    let l = layouts();
    let reg = Fake::start(move |r| {
        if r.target.contains("/tags/list") {
            return Response::ok(json!({"name": "t/base", "tags": ["v1", evil]}).to_string());
        }
        if r.target.contains("/t/busy/") {
            let body = json!({"errors": [{"code": evil, "message": evil}]}).to_string();
            return Response::new(500, body);
        }
        l.answer(r)
    });
    let env = Env::new();
    for (at, says) in [
        (reg.at("t/base:nope"), "it has v1"),
        (reg.at("t/busy:v1"), "answered 500"),
    ] {
        let err = env.fails(&[&at, &fixture("base")], &[], &at, &[says]);
        assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err:?}");
    }
}
