//! `rdiff image` with registry inputs, against a real registry: Debian's
//! `docker-registry` (distribution 2.8) started here on 127.0.0.1 with a free port and a
//! temporary storage, images pushed with `skopeo copy` from `testdata/image/oci`. Without
//! either tool these tests say why and return, unless `RDIFF_REQUIRE_TOOLS=1` (CI), where
//! they fail. What a real registry cannot be made to say (429, a schema 1 manifest) and a
//! bearer-token challenge come from a small fake registry in this file, which needs no tool.
//! No test reaches beyond this machine: every credential source is isolated in a
//! temporary HOME.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::Value;

#[path = "support/registry.rs"]
mod support;
use support::*;

#[test]
fn same_report_as_from_layouts() {
    if !have(&["docker-registry", "skopeo"]) {
        return;
    }
    let reg = Registry::start(false, None);
    let t = tempfile::tempdir().unwrap();
    let reordered = nested_copy("multi-reordered", t.path());
    let layouts = [
        ("base", fixture("base")),
        ("changed", fixture("changed")),
        ("base-zstd", fixture("base-zstd")),
        ("squash-2", fixture("squash-2")),
        ("squash-3", fixture("squash-3")),
        ("multi", fixture("multi-nested")),
        ("multi-reordered", reordered),
    ];
    for (repo, dir) in &layouts {
        reg.push(dir, &format!("t/{repo}"));
    }
    let dir_of = |r: &str| layouts.iter().find(|(n, _)| *n == r).unwrap().1.clone();
    let env = Env::new();
    let pairs = [
        ("base", "changed"),
        ("base", "base-zstd"),
        ("squash-2", "squash-3"),
        ("multi", "multi-reordered"),
    ];
    for (a, b) in pairs {
        for mode in [&[][..], &["--semantic"][..], &["--squash"][..]] {
            let (la, lb) = (format!("{}:v1", dir_of(a)), format!("{}:v1", dir_of(b)));
            let (ra, rb) = (reg.at(&format!("t/{a}:v1")), reg.at(&format!("t/{b}:v1")));
            let local: Vec<&str> = mode
                .iter()
                .copied()
                .chain([la.as_str(), lb.as_str()])
                .collect();
            let remote: Vec<&str> = mode
                .iter()
                .copied()
                .chain([ra.as_str(), rb.as_str()])
                .collect();
            let (lc, lj) = env.report(&local);
            let (rc, rj) = env.report(&remote);
            assert_eq!(comparable(&lj), comparable(&rj), "{a} {b} {mode:?}");
            assert_eq!(lc, rc, "{a} {b} {mode:?}: exit codes");
            assert_eq!(rj["left"]["kind"], "registry");
        }
    }
}

#[test]
fn registry_against_layout_and_digest_in_header() {
    if !have(&["docker-registry", "skopeo"]) {
        return;
    }
    let reg = Registry::start(false, None);
    reg.push(&fixture("base"), "t/base");
    let env = Env::new();
    let at = reg.at("t/base:v1");
    let (code, j) = env.report(&["--semantic", &at, &fixture("base")]);
    assert_eq!(code, 0, "{j}");
    // The digest podman inspect prints: the manifest's, as the layout's index.json says.
    let index: Value =
        serde_json::from_slice(&std::fs::read(fixture("base") + "/index.json").unwrap()).unwrap();
    assert_eq!(j["left"]["digest"], index["manifests"][0]["digest"]);
    assert!(j["right"].get("digest").is_none() && j["right"].get("bytes_fetched").is_none());
    let out = env.rdiff(&["image", &at, &fixture("base")], &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    let digest = index["manifests"][0]["digest"].as_str().unwrap();
    assert!(text.contains(&format!("digest {digest}  {at}")), "{text}");
    assert!(text.contains("bytes fetched"), "{text}");
}

#[test]
fn layers_equal_by_digest_are_not_fetched() {
    if !have(&["docker-registry", "skopeo"]) {
        return;
    }
    let reg = Registry::start(false, None);
    reg.push(&fixture("base"), "t/base");
    reg.push(&fixture("changed"), "t/changed");
    reg.push(&fixture("base"), "t/again");
    let env = Env::new();
    let (_, j) = env.report(&[&reg.at("t/base:v1"), &reg.at("t/changed:v1")]);
    assert_eq!(
        reg.blob_gets(SHARED),
        Vec::<String>::new(),
        "the shared layer was fetched"
    );
    let notes = j["notes"].as_array().unwrap();
    let note = notes
        .iter()
        .find(|n| n["path"] == "layers/0")
        .expect("a note at layers/0");
    assert_eq!(note["kind"], "not_read");
    assert!(
        note["message"]
            .as_str()
            .unwrap()
            .starts_with("equal by digest, not read")
    );
    // Fetched: the two manifests, configs and second layers; not the shared 2 145 bytes.
    for side in ["left", "right"] {
        let fetched = j[side]["bytes_fetched"].as_u64().unwrap();
        assert!(
            fetched > 0 && fetched < j[side]["bytes"].as_u64().unwrap(),
            "{side}: {j}"
        );
    }
    // One image under two names: no layer at all, only the two configs.
    let blob_gets = || reg.log().lines().filter(|l| l.contains("/blobs/")).count();
    let before = blob_gets();
    let (code, j) = env.report(&[&reg.at("t/base:v1"), &reg.at("t/again:v1")]);
    assert_eq!((code, &j["identical"]), (0, &Value::Bool(true)), "{j}");
    assert_eq!(
        blob_gets() - before,
        2,
        "only the two configs: {}",
        reg.log()
    );
}

#[test]
fn platform_narrows_what_is_fetched() {
    if !have(&["docker-registry", "skopeo"]) {
        return;
    }
    let reg = Registry::start(false, None);
    let t = tempfile::tempdir().unwrap();
    reg.push(&fixture("multi-nested"), "t/multi");
    reg.push(&nested_copy("multi-reordered", t.path()), "t/reordered");
    let env = Env::new();
    let (a, b) = (reg.at("t/multi:v1"), reg.at("t/reordered:v1"));
    let (_, j) = env.report(&["--platform", "linux/arm64", &a, &b]);
    let parts: Vec<&str> = j["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert!(
        parts.iter().all(|p| !p.starts_with("linux/amd64")),
        "{parts:?}"
    );
    let index: Value =
        serde_json::from_slice(&std::fs::read(fixture("multi") + "/index.json").unwrap()).unwrap();
    let amd64 = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["platform"]["architecture"] == "amd64")
        .unwrap()["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let gets = reg
        .log()
        .lines()
        .filter(|l| l.contains(&format!("GET /v2/t/multi/manifests/{amd64}")))
        .count();
    assert_eq!(gets, 0, "the amd64 manifest was fetched");
}

/// An auth file with `auth` for the registry, as podman login and docker login write it.
fn auth_file(path: &Path, host: &str, user_pass: &str) {
    use base64::Engine as _;
    let auth = base64::engine::general_purpose::STANDARD.encode(user_pass);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(
        path,
        serde_json::json!({"auths": {host: {"auth": auth}}}).to_string(),
    )
    .unwrap();
}

/// A `docker-credential-NAME` helper that knows `user_pass` for any server.
fn helper(env: &Env, name: &str, user_pass: &str) {
    use std::os::unix::fs::PermissionsExt;
    let (u, p) = user_pass.split_once(':').unwrap();
    let p_ = env.path("bin").join(format!("docker-credential-{name}"));
    let script = format!(
        "#!/bin/sh\nread server\n[ \"$1\" = get ] || exit 1\n\
         printf '{{\"ServerURL\":\"%s\",\"Username\":\"{u}\",\"Secret\":\"{p}\"}}' \"$server\"\n"
    );
    std::fs::write(&p_, script).unwrap();
    std::fs::set_permissions(&p_, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn basic_auth_from_every_source() {
    if !have(&["docker-registry", "skopeo"]) {
        return;
    }
    let reg = Registry::start(true, None);
    reg.push(&fixture("base"), "t/base");
    let env = Env::new();
    let (at, host) = (reg.at("t/base:v1"), format!("127.0.0.1:{}", reg.port));
    let base = fixture("base");
    let ok = |args: &[&str], extra: &[(&str, &Path)]| {
        let mut v = vec!["image", "--semantic"];
        v.extend(args);
        v.extend([at.as_str(), base.as_str()]);
        let out = env.rdiff(&v, extra);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let err = env.fails(
        &[&at, &base],
        &[],
        &at,
        &["access denied (401)", "no credentials", "auth.json"],
    );
    assert!(!err.contains("s3cret"));
    let err = env.fails(
        &["--creds", "rdiff:wrong", &at, &base],
        &[],
        &at,
        &["401", "--creds", "\"rdiff\""],
    );
    assert!(!err.contains("wrong"), "the secret is shown: {err}");
    ok(&["--creds", "rdiff:s3cret"], &[]);
    let file = env.path("auth.json");
    auth_file(&file, &host, "rdiff:s3cret");
    ok(&["--authfile", file.to_str().unwrap()], &[]);
    ok(&[], &[("REGISTRY_AUTH_FILE", &file)]);
    auth_file(&env.path("run/containers/auth.json"), &host, "rdiff:s3cret");
    ok(&[], &[]);
    std::fs::remove_file(env.path("run/containers/auth.json")).unwrap();
    let docker = env.path("home/.docker/config.json");
    auth_file(&docker, &host, "rdiff:s3cret");
    ok(&[], &[]);
    helper(&env, "rdifftest", "rdiff:s3cret");
    let helpers = serde_json::json!({"credHelpers": {&host: "rdifftest"}});
    std::fs::write(&docker, helpers.to_string()).unwrap();
    ok(&[], &[]);
    std::fs::write(&docker, r#"{"credsStore": "rdifftest"}"#).unwrap();
    ok(&[], &[]);
    // A wrong password from a helper: the helper is named, not the secret.
    helper(&env, "rdifftest", "rdiff:nope");
    let err = env.fails(
        &[&at, &base],
        &[],
        &at,
        &["401", "docker-credential-rdifftest"],
    );
    assert!(!err.contains("nope"), "{err}");
}

#[test]
fn errors_are_one_line() {
    if !have(&["docker-registry", "skopeo"]) {
        return;
    }
    let reg = Registry::start(false, None);
    reg.push(&fixture("base"), "t/base");
    reg.push(&fixture("changed"), "t/changed");
    let env = Env::new();
    let base = fixture("base");
    let tag = reg.at("t/base:nope");
    env.fails(
        &[&tag, &base],
        &[],
        &tag,
        &["tag nope not found in t/base", "(404)", "it has v1"],
    );
    let repo = reg.at("t/none:v1");
    env.fails(
        &[&base, &repo],
        &[],
        &repo,
        &["repository t/none not found", "(404)"],
    );
    let refused = format!("127.0.0.1:{}/t/base:v1", free_port());
    env.fails(&[&refused, &base], &[], &refused, &["connection refused"]);
    let forced = format!("registry://{refused}");
    env.fails(&[&forced, &base], &[], &forced, &["connection refused"]);
    // A layer whose stored bytes were changed: its gzip header's mtime, so that it still
    // decodes and only the digest tells.
    let (l, r) = (reg.at("t/base:v1"), reg.at("t/changed:v1"));
    let layer = "sha256:bcc4a051959b386674c9323192fe0fbe044d16ed9bc4870e65ea861c060cc87d";
    let file = reg.blob_file(layer);
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[4] ^= 1;
    std::fs::write(&file, bytes).unwrap();
    env.fails(
        &[&l, &r],
        &[],
        &r,
        &["layer 1", "digest mismatch: expected", layer],
    );
}

#[test]
fn a_changed_manifest_is_refused() {
    if !have(&["docker-registry", "skopeo"]) {
        return;
    }
    let reg = Registry::start(false, None);
    reg.push(&fixture("base"), "t/base");
    let env = Env::new();
    let index: Value =
        serde_json::from_slice(&std::fs::read(fixture("base") + "/index.json").unwrap()).unwrap();
    let digest = index["manifests"][0]["digest"].as_str().unwrap();
    let file = reg.blob_file(digest);
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("\"1\"", "\"7\"");
    std::fs::write(&file, text).unwrap();
    let at = reg.at("t/base:v1");
    env.fails(
        &[&at, &fixture("base")],
        &[],
        &at,
        &["digest mismatch", digest],
    );
}

/// A test CA and a certificate for 127.0.0.1 it signed, made with openssl.
fn certificates(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let ssl = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    std::fs::create_dir(dir.join("ca")).unwrap();
    let rsa = ["-newkey", "rsa:2048", "-nodes"];
    ssl(&[
        &["req", "-x509"][..],
        &rsa,
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca/ca.crt",
            "-days",
            "2",
            "-subj",
            "/CN=rdiff test CA",
        ],
    ]
    .concat());
    ssl(&[
        &["req"][..],
        &rsa,
        &[
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    ]
    .concat());
    std::fs::write(dir.join("ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    ssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca/ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "ext",
    ]);
    (
        dir.join("ca"),
        dir.join("server.crt"),
        dir.join("server.key"),
    )
}

#[test]
fn tls_with_cert_dir_or_without_verification() {
    if !have(&["docker-registry", "skopeo", "openssl"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(t.path());
    let reg = Registry::start(false, Some((&cert, &key)));
    reg.push(&fixture("base"), "t/base");
    let env = Env::new();
    let (at, base) = (reg.at("t/base:v1"), fixture("base"));
    env.fails(
        &[&at, &base],
        &[],
        &at,
        &["TLS", "UnknownIssuer", "--tls-verify=false", "--cert-dir"],
    );
    let ca = ca.to_str().unwrap();
    for flags in [&["--cert-dir", ca][..], &["--tls-verify=false"][..]] {
        let args: Vec<&str> = flags
            .iter()
            .copied()
            .chain(["--semantic", at.as_str(), base.as_str()])
            .collect();
        let (code, _) = env.report(&args);
        assert_eq!(code, 0, "{flags:?}");
    }
}

/// A proxy to the registry that cuts, once, the response to a GET whose request line
/// holds `cut`, after `after` bytes of its body.
fn cutting_proxy(to: u16, cut: String, after: usize) -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let armed = Arc::new(AtomicBool::new(true));
    std::thread::spawn(move || {
        for client in l.incoming().flatten() {
            let server = TcpStream::connect(("127.0.0.1", to)).unwrap();
            let pending = Arc::new(AtomicBool::new(false));
            let (c2, s2, p2, cut2) = (
                client.try_clone().unwrap(),
                server.try_clone().unwrap(),
                pending.clone(),
                cut.clone(),
            );
            std::thread::spawn(move || requests(c2, s2, &p2, &cut2));
            let armed = armed.clone();
            std::thread::spawn(move || responses(server, client, &pending, &armed, after));
        }
    });
    port
}

/// Client to server, line by line: note when the request to cut goes by.
fn requests(client: TcpStream, mut server: TcpStream, pending: &AtomicBool, cut: &str) {
    let mut r = BufReader::new(client);
    let mut line = Vec::new();
    while r.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
        if line.starts_with(b"GET ") && String::from_utf8_lossy(&line).contains(cut) {
            pending.store(true, Ordering::SeqCst);
        }
        if server.write_all(&line).is_err() {
            break;
        }
        line.clear();
    }
    let _ = server.shutdown(Shutdown::Write);
}

/// Server to client: after the cut request, the head and `after` bytes, then both closed.
fn responses(
    mut server: TcpStream,
    mut client: TcpStream,
    pending: &AtomicBool,
    armed: &AtomicBool,
    after: usize,
) {
    let mut seen: Vec<u8> = Vec::new();
    let mut buf = [0u8; 1];
    while server.read(&mut buf).is_ok_and(|n| n == 1) {
        if pending.load(Ordering::SeqCst) && armed.load(Ordering::SeqCst) {
            seen.push(buf[0]);
            let head = seen.windows(4).position(|w| w == b"\r\n\r\n");
            if head.is_some_and(|h| seen.len() >= h + 4 + after) {
                armed.store(false, Ordering::SeqCst);
                let _ = client.shutdown(Shutdown::Both);
                let _ = server.shutdown(Shutdown::Both);
                return;
            }
        }
        if client.write_all(&buf).is_err() {
            return;
        }
    }
    let _ = client.shutdown(Shutdown::Write);
}

#[test]
fn a_dropped_connection_is_resumed_with_a_range() {
    if !have(&["docker-registry", "skopeo"]) {
        return;
    }
    let reg = Registry::start(false, None);
    reg.push(&fixture("base"), "t/base");
    reg.push(&fixture("base-zstd"), "t/zstd");
    let env = Env::new();
    let direct = env.report(&[&reg.at("t/base:v1"), &reg.at("t/zstd:v1")]);
    let proxy = cutting_proxy(reg.port, SHARED.to_string(), 1000);
    let (a, b) = (
        format!("127.0.0.1:{proxy}/t/base:v1"),
        format!("127.0.0.1:{proxy}/t/zstd:v1"),
    );
    let cut = env.report(&[&a, &b]);
    assert_eq!(comparable(&direct.1), comparable(&cut.1));
    assert_eq!(direct.0, cut.0);
    let gets = reg.blob_gets(SHARED);
    assert!(
        gets.iter().any(|l| l.contains("\" 206 ")),
        "no Range request: {gets:#?}"
    );
}

/// A fake registry on 127.0.0.1 that wants an anonymous bearer token (as Docker Hub
/// does) and then answers a manifest request with what a real registry cannot be made
/// to say: `limited` a 429 with a Retry-After, `old` a schema 1 manifest.
fn fake_registry() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for c in l.incoming().flatten() {
            std::thread::spawn(move || answer(c, port));
        }
    });
    port
}

fn answer(c: TcpStream, port: u16) {
    let mut r = BufReader::new(c.try_clone().unwrap());
    let mut head = String::new();
    while r.read_line(&mut head).is_ok_and(|n| n > 2) {}
    let target = head.split_whitespace().nth(1).unwrap_or("").to_string();
    let authorized = head
        .to_ascii_lowercase()
        .contains("authorization: bearer tok");
    let challenge = format!(
        "WWW-Authenticate: Bearer realm=\"http://127.0.0.1:{port}/token\",service=\"fake\"\r\n"
    );
    let (status, headers, body) = match target.as_str() {
        t if t.starts_with("/token?service=fake&scope=repository%3A") => {
            ("200 OK", String::new(), r#"{"token":"tok"}"#)
        }
        _ if !authorized => ("401 Unauthorized", challenge, "{}"),
        "/v2/" => ("200 OK", String::new(), "{}"),
        "/v2/limited/manifests/t" => ("429 Too Many Requests", "Retry-After: 7\r\n".into(), "{}"),
        "/v2/old/manifests/t" => (
            "200 OK",
            "Content-Type: application/vnd.docker.distribution.manifest.v1+prettyjws\r\n".into(),
            r#"{"schemaVersion":1,"name":"old","tag":"t"}"#,
        ),
        _ => (
            "404 Not Found",
            String::new(),
            r#"{"errors":[{"code":"NAME_UNKNOWN"}]}"#,
        ),
    };
    let mut w = c;
    let _ = write!(
        w,
        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

#[test]
fn bearer_token_then_rate_limit_or_an_unread_manifest_type() {
    let port = fake_registry();
    let env = Env::new();
    let base = fixture("base");
    let limited = format!("127.0.0.1:{port}/limited:t");
    env.fails(
        &[&limited, &base],
        &[],
        &limited,
        &["rate limited", "429", "retry after 7 seconds"],
    );
    let old = format!("127.0.0.1:{port}/old:t");
    let err = env.fails(
        &[&base, &old],
        &[],
        &old,
        &["manifest.v1+prettyjws", "does not read"],
    );
    assert!(!err.contains("tok"), "{err}");
}
