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
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Value, json};

mod support;
use support::registry::*;
use support::run::{RDIFF, fake_bin, have};

#[test]
fn same_report_as_from_layouts() {
    let Some((reg, env)) = registry_with(Auth::None, &[]) else {
        return;
    };
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
    let Some((reg, env)) = registry_with(Auth::None, &[("base", "t/base")]) else {
        return;
    };
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

/// `base` and `changed`, and `base` again as `t/again`: one image under two names.
const BASE_CHANGED_AGAIN: &[(&str, &str)] = &[
    ("base", "t/base"),
    ("changed", "t/changed"),
    ("base", "t/again"),
];

#[test]
fn layers_equal_by_digest_are_not_fetched() {
    let Some((reg, env)) = registry_with(Auth::None, BASE_CHANGED_AGAIN) else {
        return;
    };
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
    let Some((reg, env)) = registry_with(Auth::None, &[("multi-nested", "t/multi")]) else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    reg.push(&nested_copy("multi-reordered", t.path()), "t/reordered");
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
    let (u, p) = user_pass.split_once(':').unwrap();
    let script = format!(
        "read server\n[ \"$1\" = get ] || exit 1\n\
         printf '{{\"ServerURL\":\"%s\",\"Username\":\"{u}\",\"Secret\":\"{p}\"}}' \"$server\""
    );
    fake_bin(
        &env.path("bin"),
        &format!("docker-credential-{name}"),
        &script,
    );
}

#[test]
fn basic_auth_from_every_source() {
    let Some((reg, env)) = registry_with(Auth::Htpasswd, &[("base", "t/base")]) else {
        return;
    };
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
    let pushed = [("base", "t/base"), ("changed", "t/changed")];
    let Some((reg, env)) = registry_with(Auth::None, &pushed) else {
        return;
    };
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
    let Some((reg, env)) = registry_with(Auth::None, &[("base", "t/base")]) else {
        return;
    };
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
    if !have_registry(&["openssl"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let (ca, cert, key) = certificates(t.path());
    let reg = Registry::start(Auth::None, Some((&cert, &key)));
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
    let pushed = [("base", "t/base"), ("base-zstd", "t/zstd")];
    let Some((reg, env)) = registry_with(Auth::None, &pushed) else {
        return;
    };
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

/// A token server for docker-registry's `auth: token`: a key and a self-signed
/// certificate (the registry's `rootcertbundle`) made with openssl, and JWTs signed
/// with them (RS256, the certificate in `x5c`). `rdiff:s3cret` gets the actions it asks
/// for, anyone else none; a wrong password a 401.
struct TokenServer {
    fake: Fake,
    cert: PathBuf,
    _dir: tempfile::TempDir,
}

impl TokenServer {
    fn start() -> TokenServer {
        let dir = tempfile::tempdir().unwrap();
        let (key, cert) = (dir.path().join("key.pem"), dir.path().join("cert.pem"));
        let out = Command::new("openssl")
            .args([
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            ])
            .args(["-subj", "/CN=rdiff test token issuer", "-keyout"])
            .args([&key, Path::new("-out"), &cert])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let der = Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(&cert)
            .output()
            .unwrap()
            .stdout;
        let x5c = base64::engine::general_purpose::STANDARD.encode(der);
        let fake = Fake::start(move |r| token_answer(r, &key, &x5c));
        TokenServer {
            fake,
            cert,
            _dir: dir,
        }
    }

    fn realm(&self) -> String {
        format!("http://{}/token", self.fake.host())
    }
}

use base64::Engine as _;

/// `/token?service=S&scope=repository:NAME:ACTIONS...`, answered with a signed JWT.
fn token_answer(r: &Request, key: &Path, x5c: &str) -> Response {
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let basic = |up: &str| {
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(up)
        )
    };
    let auth = r.header("authorization").map(str::to_string);
    let user = match auth {
        None => None,
        Some(a) if a == basic("rdiff:s3cret") => Some("rdiff"),
        Some(_) => return Response::new(401, r#"{"details":"wrong password"}"#),
    };
    let query = r.target.split_once('?').map_or("", |(_, q)| q);
    let access: Vec<Value> = query
        .split('&')
        .filter_map(|kv| kv.strip_prefix("scope="))
        .map(|s| {
            s.replace("%3A", ":")
                .replace("%2F", "/")
                .replace("%2C", ",")
        })
        .filter(|_| user.is_some())
        .filter_map(|s| {
            let mut p = s.splitn(3, ':');
            let (kind, name, actions) = (p.next()?, p.next()?, p.next()?);
            Some(serde_json::json!({"type": kind, "name": name,
                "actions": actions.split(',').collect::<Vec<_>>()}))
        })
        .collect();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = serde_json::json!({"typ": "JWT", "alg": "RS256", "x5c": [x5c]});
    let claims = serde_json::json!({"iss": "rdiff-test-issuer", "sub": user.unwrap_or(""),
        "aud": "rdiff-test", "exp": now + 600, "nbf": now - 60, "iat": now,
        "jti": format!("{now}-{}", access.len()), "access": access});
    let signing = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-sign"])
        .arg(key)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(signing.as_bytes())
        .unwrap();
    let sig = child.wait_with_output().unwrap().stdout;
    let token = format!("{signing}.{}", b64(&sig));
    Response::ok(serde_json::json!({"token": token, "expires_in": 600}).to_string())
}

#[test]
fn bearer_tokens_from_the_registrys_own_token_auth() {
    if !have_registry(&["openssl"]) {
        return;
    }
    let tokens = TokenServer::start();
    let auth = Auth::Token {
        realm: tokens.realm(),
        bundle: tokens.cert.clone(),
    };
    let reg = Registry::start(auth, None);
    reg.push(&fixture("base"), "t/base");
    reg.push(&fixture("changed"), "t/changed");
    let env = Env::new();
    let (at, base) = (reg.at("t/base:v1"), fixture("base"));
    // Anonymous: a token with no access, and the registry's 401 said in one line.
    env.fails(
        &[&at, &base],
        &[],
        &at,
        &["access denied (401)", "no credentials"],
    );
    let err = env.fails(
        &["--creds", "rdiff:wrong", &at, &base],
        &[],
        &at,
        &["access denied (401)", "token server refused", "--creds"],
    );
    assert!(!err.contains("wrong"), "{err}");
    let before = tokens.fake.requests().len();
    let (code, j) = env.report(&["--creds", "rdiff:s3cret", "--semantic", &at, &base]);
    assert_eq!(code, 0, "{j}");
    // Two registry inputs: the same report as from the layouts.
    let changed = reg.at("t/changed:v1");
    let (_, r) = env.report(&["--creds", "rdiff:s3cret", &at, &changed]);
    let (_, l) = env.report(&[&base, &fixture("changed")]);
    assert_eq!(comparable(&l), comparable(&r));
    let asked = &tokens.fake.requests()[before..];
    assert!(!asked.is_empty());
    for q in asked {
        assert!(q.target.contains("service=rdiff-test"), "{q:?}");
        assert!(q.target.contains("scope=repository%3At%2F"), "{q:?}");
        assert!(q.header("authorization").is_some(), "{q:?}");
    }
}

/// `rdiff image --format json MODE A B` for the registry pair and the layout pair: the
/// same differences (outside what only a layout has) and the same exit code.
fn same_as_layouts(env: &Env, mode: &[&str], remote: [&str; 2], local: [&str; 2]) {
    let args = |pair: [&str; 2]| -> Vec<String> {
        mode.iter()
            .copied()
            .chain(pair)
            .map(str::to_string)
            .collect()
    };
    let (r, l) = (args(remote), args(local));
    let (rc, rj) = env.report(&r.iter().map(String::as_str).collect::<Vec<_>>());
    let (lc, lj) = env.report(&l.iter().map(String::as_str).collect::<Vec<_>>());
    let (rd, ld) = (comparable(&rj), comparable(&lj));
    if remote.iter().all(|a| !Path::new(a).exists()) {
        assert_eq!(ld, rd, "{r:?} against {l:?}");
        assert_eq!(lc, rc, "{r:?} against {l:?}: exit codes");
    } else {
        // A registry image against a layout: the layout's ref name annotation is what
        // only a layout has (--ignore-image-name's), and nothing else may differ.
        let (rd, ld) = (without_ref_name(&rd), without_ref_name(&ld));
        assert_eq!(ld, rd, "{r:?} against {l:?}");
    }
}

/// Differences without the `org.opencontainers.image.ref.name` annotation.
fn without_ref_name(d: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for x in d {
        let mut x = x.clone();
        if let Some(f) = x["fields"].as_array_mut() {
            f.retain(|f| f["key"] != "org.opencontainers.image.ref.name");
            if f.is_empty() {
                continue;
            }
        }
        out.push(x);
    }
    out
}

#[test]
fn zstd_layers_through_the_registry_as_from_layouts() {
    let Some((reg, env)) = registry_with(Auth::None, &[("base-zstd", "t/base-zstd")]) else {
        return;
    };
    // changed with zstd layers, as base-zstd was made from base.
    let t = tempfile::tempdir().unwrap();
    let changed = t.path().join("changed-zstd");
    let out = Command::new("skopeo")
        .args(["copy", "-q", "--dest-compress-format", "zstd"])
        .arg(format!("oci:{}:v1", fixture("changed")))
        .arg(format!("oci:{}:v1", changed.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let changed = changed.to_str().unwrap();
    reg.push(changed, "t/changed-zstd");
    let (ra, rb) = (reg.at("t/base-zstd:v1"), reg.at("t/changed-zstd:v1"));
    let (la, lb) = (fixture("base-zstd"), changed.to_string());
    for mode in [&[][..], &["--semantic"][..], &["--squash"][..]] {
        same_as_layouts(&env, mode, [&ra, &rb], [&la, &lb]);
        same_as_layouts(&env, mode, [&ra, &lb], [&la, &lb]);
    }
    // The zstd layers were read as zstd: a layer's compression is a field of its own.
    let (_, j) = env.report(&[&ra, &fixture("base")]);
    let text = j["differences"].to_string();
    assert!(text.contains("zstd"), "{text}");
}

#[test]
fn multi_platform_registry_against_layout() {
    let Some((reg, env)) = registry_with(Auth::None, &[("multi-nested", "t/multi")]) else {
        return;
    };
    let multi = reg.at("t/multi:v1");
    let (nested, reordered) = (fixture("multi-nested"), fixture("multi-reordered"));
    for mode in [
        &[][..],
        &["--semantic"][..],
        &["--squash"][..],
        &["--platform", "linux/arm64"][..],
    ] {
        same_as_layouts(&env, mode, [&multi, &reordered], [&nested, &reordered]);
        same_as_layouts(&env, mode, [&reordered, &multi], [&reordered, &nested]);
    }
    // Every layer is shared with the layout: none is downloaded, only the configs.
    let blob_gets = || -> Vec<String> {
        reg.log()
            .lines()
            .filter(|l| l.contains("\"GET /v2/t/multi/blobs/"))
            .map(str::to_string)
            .collect()
    };
    let before = blob_gets().len();
    let (code, j) = env.report(&["--semantic", &multi, &nested]);
    assert_eq!(code, 0, "{j}");
    let mut configs = Vec::new();
    for e in std::fs::read_dir(format!("{nested}/blobs/sha256")).unwrap() {
        let v: Value = serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap())
            .unwrap_or(Value::Null);
        if let Some(c) = v["config"]["digest"].as_str() {
            configs.push(c.to_string());
        }
    }
    let after = blob_gets();
    assert!(after.len() > before);
    for l in &after[before..] {
        assert!(configs.iter().any(|c| l.contains(c.as_str())), "{l}");
    }
}

#[test]
fn squash_downloads_only_what_the_squashed_view_needs() {
    let Some((reg, env)) = registry_with(Auth::None, BASE_CHANGED_AGAIN) else {
        return;
    };
    let layer_gets = || -> Vec<String> {
        let mut v: Vec<String> = reg
            .log()
            .lines()
            .filter(|l| l.contains("\"GET /v2/") && l.contains("/blobs/"))
            .filter_map(|l| l.split_whitespace().find(|w| w.starts_with("/v2/")))
            .map(str::to_string)
            .filter(|p| {
                ["576392e6", "d20a6828"]
                    .iter()
                    .all(|config| !p.contains(config))
            })
            .collect();
        v.sort();
        v
    };
    let (base, again) = (reg.at("t/base:v1"), reg.at("t/again:v1"));
    // The same layers: the squashed views are equal by digest, nothing is downloaded.
    for other in [again.clone(), fixture("base")] {
        let (code, j) = env.report(&["--squash", "--semantic", &base, &other]);
        assert_eq!(code, 0, "{j}");
        let note = &j["notes"].as_array().unwrap()[0];
        assert_eq!(
            (&note["path"], &note["kind"]),
            (&json!("rootfs"), &json!("not_read"))
        );
    }
    assert_eq!(layer_gets(), Vec::<String>::new());
    // Views that differ need every layer of each side, each downloaded once: the
    // base layer both images share (a8eeb041) once for both sides, not once per side.
    let changed = reg.at("t/changed:v1");
    let (code, j) = env.report(&["--squash", &base, &changed]);
    assert_eq!(code, 1);
    let got = layer_gets();
    let blobs: Vec<&str> = got.iter().map(|p| p.rsplit(':').next().unwrap()).collect();
    assert_eq!(
        blobs.iter().map(|b| &b[..8]).collect::<Vec<_>>(),
        ["a8eeb041", "c073f36d", "bcc4a051"],
        "{got:#?}"
    );
    // And the report is the one a pair of layouts gives.
    let (_, local) = env.report(&["--squash", &fixture("base"), &fixture("changed")]);
    assert_eq!(j["differences"], local["differences"]);
    // Against a layout, the shared layer is read from the layout (no download, and the
    // local file is hashed), one side after the other too: only the left's own layer
    // is downloaded (under --low-memory twice: the side read first keeps no content,
    // and is read again for the text diff).
    let changed_layout = fixture("changed");
    for (low, gets) in [(&[][..], 1), (&["--low-memory"][..], 2)] {
        let before = layer_gets().len();
        let args = [low, &["--squash", &base, &changed_layout][..]].concat();
        let (code, j) = env.report(&args);
        assert_eq!(code, 1);
        let rootfs = |j: &Value| -> Vec<Value> {
            let all = j["differences"].as_array().unwrap();
            all.iter()
                .filter(|d| d["part"] == "rootfs")
                .cloned()
                .collect()
        };
        assert_eq!(rootfs(&j), rootfs(&local));
        assert_eq!(rootfs(&j).len(), 1, "{j}");
        let got = layer_gets();
        let count = |blob: &str| got.iter().filter(|p| p.contains(blob)).count();
        assert_eq!(got.len(), before + gets, "{got:#?}");
        assert_eq!(count("a8eeb041"), 1, "{got:#?}");
    }
}

#[test]
fn creds_without_a_password_ask_the_terminal_or_fail() {
    let Some((reg, env)) = registry_with(Auth::Htpasswd, &[("base", "t/base")]) else {
        return;
    };
    let (at, base) = (reg.at("t/base:v1"), fixture("base"));
    // No terminal to ask on: one line, exit 2, nothing asked of the registry.
    let before = reg.log().lines().count();
    for (creds, says) in [
        (
            "rdiff",
            "--creds rdiff: no password given, and standard input is not a terminal",
        ),
        (":s3cret", "--creds: the user name is empty"),
    ] {
        let out = env.rdiff(&["image", "--creds", creds, &at, &base], &[]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with(&format!("rdiff: {says}")), "{err}");
    }
    assert_eq!(reg.log().lines().count(), before);
    // A local pair needs no password.
    let out = env.rdiff(&["image", "--creds", "rdiff", &base, &base], &[]);
    assert_eq!(out.status.code(), Some(0));
    // On a terminal (a pty from script(1)), the password is asked for and not echoed.
    if !have(&["script"]) {
        return;
    }
    let cmd = format!("{RDIFF} image --semantic --creds rdiff {at} {base}");
    let mut child = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .env("HOME", env.path("home"))
        .env("XDG_RUNTIME_DIR", env.path("run"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    stdin.write_all(b"s3cret\n").unwrap();
    let out = child.wait_with_output().unwrap();
    drop(stdin);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("Password for rdiff: "), "{text}");
    assert!(!text.contains("s3cret"), "echoed: {text}");
}

/// Two images on one base that holds a dpkg database (a real one, from
/// testdata/packages), their top layers changing a file the base's `hello` package
/// owns: squashed from the registry, the base is downloaded once for both sides, and
/// its database still gives the packages and the owner, as two layouts do.
#[test]
fn squash_shared_base_keeps_its_package_database() {
    let Some((reg, env)) = registry_with(Auth::None, &[]) else {
        return;
    };
    let dir = support::paths::tmp();
    let base = support::paths::read_testdata("packages/dpkg-left.tar");
    let top = |text: &[u8]| {
        let mut b = tar::Builder::new(Vec::new());
        let mut h = tar::Header::new_gnu();
        h.set_size(text.len() as u64);
        h.set_mode(0o755);
        h.set_mtime(1_700_000_000);
        h.set_cksum();
        b.append_data(&mut h, "usr/bin/hello", text).unwrap();
        b.into_inner().unwrap()
    };
    let layouts = [("l", &b"hello, left\n"[..]), ("r", &b"hello, right\n"[..])].map(|(n, t)| {
        support::oci::write_layout(
            &dir.path().join(n),
            &[
                support::oci::LayerBlob::plain(base.clone()),
                support::oci::LayerBlob::plain(top(t)),
            ],
            json!({}),
        )
    });
    // write_layout names no tag: copy the layout's one image by its path alone.
    for (layout, repo) in layouts.iter().zip(["p/left", "p/right"]) {
        let out = Command::new("skopeo")
            .args(["copy", "-q", "--dest-tls-verify=false"])
            .arg(format!("oci:{layout}"))
            .arg(format!("docker://{}:v1", reg.at(repo)))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let rootfs = |j: &Value| -> Vec<Value> {
        let all = j["differences"].as_array().unwrap();
        all.iter()
            .filter(|d| d["part"] == "rootfs" || d["part"] == "packages")
            .cloned()
            .collect()
    };
    let (code, local) = env.report(&["--squash", &layouts[0], &layouts[1]]);
    assert_eq!(code, 1, "{local}");
    let hello = rootfs(&local)
        .into_iter()
        .find(|d| d["path"] == "rootfs/usr/bin/hello")
        .unwrap_or_else(|| panic!("{local}"));
    assert_eq!(hello["package"], "hello", "{hello}");
    let (code, remote) = env.report(&["--squash", &reg.at("p/left:v1"), &reg.at("p/right:v1")]);
    assert_eq!(code, 1, "{remote}");
    assert_eq!(rootfs(&remote), rootfs(&local));
    assert_eq!(remote["notes"], local["notes"]);
    // skopeo compresses the layers as it pushes them, so the base's digest is the
    // registry's: two configs, the base and two tops, no digest twice.
    let log = reg.log();
    let mut blobs: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("\"GET /v2/") && l.contains("rdiff/"))
        .filter_map(|l| l.split_whitespace().nth(6))
        .filter(|p| p.contains("/blobs/"))
        .filter_map(|p| p.rsplit('/').next())
        .collect();
    assert_eq!(blobs.len(), 5, "{blobs:#?}");
    blobs.sort();
    blobs.dedup();
    assert_eq!(blobs.len(), 5, "a blob downloaded twice");
}
