//! Helpers for the registry tests (tests/registry.rs, tests/registry_hostile.rs): a
//! real `docker-registry` started on 127.0.0.1, a HOME of the test's own to run rdiff
//! in, and [`Fake`], a scriptable HTTP server that answers as a registry, a token server
//! or a storage backend does, or as none of them should (bytes that are not their
//! digest, lengths that lie, redirects, endless bodies, silence). Nothing here reaches
//! beyond this machine.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::data::sha256_hex;
use super::oci::digest;
use super::paths::{copy_dir, img};
use super::run::{RDIFF, have};

/// How a docker-registry authenticates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    None,
    /// htpasswd basic auth ([`HTPASSWD`]).
    Htpasswd,
    /// `auth: token`: tokens from `realm`, signed by a key whose certificate is in
    /// `bundle`.
    Token {
        realm: String,
        bundle: PathBuf,
    },
}

/// `rdiff:s3cret`, bcrypt (`htpasswd -nbB -C 5 rdiff s3cret`).
pub const HTPASSWD: &str = "rdiff:$2y$05$uLQeeQZEFv7o0pB.AFenvu21SD2dInKngxjZzLfL2bBoKBnYQp5Jq\n";
/// The layer `oci/base` and `oci/changed` share (layer 0).
pub const SHARED: &str = "sha256:a8eeb0412b2ca6ef37ded69de6e545f9bc95dd40fd15675a23ec9654ee52fd13";

/// `testdata/image/oci/NAME`.
pub fn fixture(name: &str) -> String {
    img(&format!("oci/{name}"))
}

/// Whether the tools a real registry needs are here: docker-registry and skopeo, and
/// `more`. If not, the test is skipped, or fails under `RDIFF_REQUIRE_TOOLS=1`.
pub fn have_registry(more: &[&str]) -> bool {
    have(&[&["docker-registry", "skopeo"][..], more].concat())
}

/// What most registry tests start with: unless docker-registry or skopeo is missing
/// ([`have_registry`]; `None`, the test returns), a registry over plain HTTP with
/// `auth`, each `(fixture, repo)` of `testdata/image/oci` pushed to it as `REPO:v1`,
/// and an [`Env`] to run rdiff in.
pub fn registry_with(auth: Auth, pushed: &[(&str, &str)]) -> Option<(Registry, Env)> {
    if !have_registry(&[]) {
        return None;
    }
    let reg = Registry::start(auth, None);
    for (name, repo) in pushed {
        reg.push(&fixture(name), repo);
    }
    Some((reg, Env::new()))
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A docker-registry process with its storage, config and log in a temporary directory.
pub struct Registry {
    pub dir: tempfile::TempDir,
    pub port: u16,
    child: Child,
    /// `--dest-creds` for skopeo when the registry has htpasswd auth.
    creds: Option<&'static str>,
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Registry {
    /// Start one with this authentication; `tls`: a certificate and key to serve HTTPS
    /// with.
    pub fn start(auth: Auth, tls: Option<(&Path, &Path)>) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut cfg = format!(
            "version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: false\n\
             storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
             http:\n  addr: 127.0.0.1:{port}\n",
            dir.path().join("data").display()
        );
        if let Some((cert, key)) = tls {
            let (c, k) = (cert.display(), key.display());
            cfg += &format!("  tls:\n    certificate: {c}\n    key: {k}\n");
        }
        match &auth {
            Auth::None => {}
            Auth::Htpasswd => {
                std::fs::write(dir.path().join("htpasswd"), HTPASSWD).unwrap();
                let p = dir.path().join("htpasswd");
                cfg += &format!(
                    "auth:\n  htpasswd:\n    realm: rdiff\n    path: {}\n",
                    p.display()
                );
            }
            Auth::Token { realm, bundle } => {
                cfg += &format!(
                    "auth:\n  token:\n    realm: {realm}\n    service: rdiff-test\n    \
                     issuer: rdiff-test-issuer\n    rootcertbundle: {}\n",
                    bundle.display()
                );
            }
        }
        std::fs::write(dir.path().join("config.yml"), cfg).unwrap();
        let log = std::fs::File::create(dir.path().join("log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.path().join("config.yml"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("docker-registry");
        let creds = (auth != Auth::None).then_some("rdiff:s3cret");
        let reg = Registry {
            dir,
            port,
            child,
            creds,
        };
        reg.wait_listening();
        reg
    }

    pub fn wait_listening(&self) {
        let t = Instant::now();
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "registry did not start: {}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `127.0.0.1:PORT/REPO`.
    pub fn at(&self, repo: &str) -> String {
        format!("127.0.0.1:{}/{repo}", self.port)
    }

    /// `skopeo copy --all oci:DIR:v1 docker://127.0.0.1:PORT/REPO:v1`.
    pub fn push(&self, layout: &str, repo: &str) {
        let mut c = Command::new("skopeo");
        c.args(["copy", "-q", "--all", "--dest-tls-verify=false"]);
        if let Some(cr) = self.creds {
            c.args(["--dest-creds", cr]);
        }
        let out = c
            .arg(format!("oci:{layout}:v1"))
            .arg(format!("docker://{}:v1", self.at(repo)))
            .output()
            .expect("skopeo");
        assert!(
            out.status.success(),
            "skopeo: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }

    /// The access log's GET requests for a blob (with their status: 200, or 206 for a
    /// `Range` request).
    pub fn blob_gets(&self, digest: &str) -> Vec<String> {
        let needle = format!("/blobs/{digest} ");
        self.log()
            .lines()
            .filter(|l| l.contains("\"GET ") && l.contains(&needle))
            .map(str::to_string)
            .collect()
    }

    /// The stored bytes of a blob.
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        let rel = format!("docker/registry/v2/blobs/sha256/{}/{hex}/data", &hex[..2]);
        self.dir.path().join("data").join(rel)
    }
}

/// A HOME, XDG_RUNTIME_DIR and PATH of the test's own: no credentials of this machine.
pub struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        for d in ["home", "run", "bin"] {
            std::fs::create_dir(dir.path().join(d)).unwrap();
        }
        Env { dir }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// `rdiff ARGS` with `extra` environment variables.
    pub fn rdiff(&self, args: &[&str], extra: &[(&str, &Path)]) -> Output {
        let path = format!(
            "{}:{}",
            self.path("bin").display(),
            std::env::var("PATH").unwrap()
        );
        let mut c = Command::new(RDIFF);
        c.args(args)
            .env("HOME", self.path("home"))
            .env("XDG_RUNTIME_DIR", self.path("run"))
            .env("PATH", path)
            .env_remove("REGISTRY_AUTH_FILE")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("DOCKER_CONFIG")
            .stdin(Stdio::null());
        for (k, v) in extra {
            c.env(k, v);
        }
        c.output().expect("rdiff")
    }

    /// `rdiff image --format json ARGS`: exit code and report (an error fails).
    pub fn report(&self, args: &[&str]) -> (i32, Value) {
        let mut v = vec!["image", "--format", "json"];
        v.extend(args);
        let out = self.rdiff(&v, &[]);
        let code = out.status.code().unwrap();
        assert!(
            code < 2,
            "rdiff {v:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        (code, serde_json::from_slice(&out.stdout).unwrap())
    }

    /// `rdiff image ARGS` must fail with one line naming `input` and saying each of
    /// `says`, exit 2, nothing on standard output.
    pub fn fails(
        &self,
        args: &[&str],
        extra: &[(&str, &Path)],
        input: &str,
        says: &[&str],
    ) -> String {
        let mut v = vec!["image"];
        v.extend(args);
        let out = self.rdiff(&v, extra);
        let err = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.code(), Some(2), "{v:?}: {err}");
        assert!(out.stdout.is_empty(), "{v:?}: output on stdout");
        assert_eq!(err.lines().count(), 1, "{v:?}: not one line: {err}");
        assert!(
            err.starts_with(&format!("rdiff: {input}: ")),
            "{v:?}: {err}"
        );
        for s in says {
            assert!(err.contains(s), "{v:?}: {err:?} does not say {s:?}");
        }
        err
    }
}

/// A report's differences outside the parts only a layout has (`index`, `index/nested`:
/// a registry image has no `index.json`) and the inputs as wholes.
pub fn comparable(report: &Value) -> Vec<Value> {
    let d = report["differences"].as_array().unwrap();
    d.iter()
        .filter(|d| {
            let part = d["part"].as_str().unwrap();
            part != "input" && !part.starts_with("index")
        })
        .cloned()
        .collect()
}

/// `oci/multi-reordered` as skopeo pushes a multi-platform image: its index as a blob,
/// named by the ref `v1` in a new index.json (what `oci/multi-nested` is to `oci/multi`).
pub fn nested_copy(name: &str, to: &Path) -> String {
    let dir = to.join(name);
    copy_dir(Path::new(&fixture(name)), &dir);
    let index = std::fs::read(dir.join("index.json")).unwrap();
    let hex = sha256_hex(&index);
    std::fs::write(dir.join("blobs/sha256").join(&hex), &index).unwrap();
    let top = serde_json::json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "digest": format!("sha256:{hex}"), "size": index.len(),
        "annotations": {"org.opencontainers.image.ref.name": "v1"}}]});
    std::fs::write(dir.join("index.json"), top.to_string()).unwrap();
    dir.to_str().unwrap().to_string()
}

/// One request as [`Fake`] saw it.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// The path and query.
    pub target: String,
    /// Names in lower case.
    pub headers: Vec<(String, String)>,
}

impl Request {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The `Range: bytes=N-` start, if any.
    pub fn range_start(&self) -> Option<usize> {
        self.header("range")?
            .strip_prefix("bytes=")?
            .trim_end_matches('-')
            .parse()
            .ok()
    }
}

/// What [`Fake`] sends back for the body.
#[derive(Clone, Debug)]
pub enum Body {
    Bytes(Vec<u8>),
    /// Zeros without end (whatever the headers say), until the client hangs up.
    Endless,
    /// These bytes, then the connection closed (the headers may have said more).
    Cut(Vec<u8>),
    /// Nothing at all, not even a status line: the connection is held open.
    Silence,
}

/// A response of [`Fake`]: `Content-Length` is the body's unless `length` says otherwise.
#[derive(Clone, Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Body,
    pub length: Option<u64>,
}

impl Response {
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Response {
        Response {
            status,
            headers: Vec::new(),
            body: Body::Bytes(body.into()),
            length: None,
        }
    }

    pub fn ok(body: impl Into<Vec<u8>>) -> Response {
        Response::new(200, body)
    }

    pub fn body(mut self, body: Body) -> Response {
        self.body = body;
        self
    }

    pub fn header(mut self, k: &str, v: impl Into<String>) -> Response {
        self.headers.push((k.to_string(), v.into()));
        self
    }

    /// A `Content-Length` that is not the body's.
    pub fn length(mut self, n: u64) -> Response {
        self.length = Some(n);
        self
    }

    /// A distribution error body: `{"errors":[{"code":CODE}]}`.
    pub fn error(status: u16, code: &str) -> Response {
        Response::new(status, format!(r#"{{"errors":[{{"code":"{code}"}}]}}"#))
    }
}

type Handler = dyn Fn(&Request) -> Response + Send + Sync;

/// A scriptable HTTP/1.1 server on a free port: every request is logged and answered by
/// the handler, one connection per request (`Connection: close`).
pub struct Fake {
    pub port: u16,
    pub ip: IpAddr,
    log: Arc<Mutex<Vec<Request>>>,
}

impl Fake {
    /// On 127.0.0.1.
    pub fn start(h: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Fake {
        Fake::start_at(IpAddr::V4(Ipv4Addr::LOCALHOST), h)
    }

    pub fn start_at(ip: IpAddr, h: impl Fn(&Request) -> Response + Send + Sync + 'static) -> Fake {
        let l = TcpListener::bind((ip, 0)).unwrap();
        let port = l.local_addr().unwrap().port();
        let log: Arc<Mutex<Vec<Request>>> = Arc::default();
        let handler: Arc<Handler> = Arc::new(h);
        let log2 = log.clone();
        std::thread::spawn(move || {
            for c in l.incoming().flatten() {
                let (h, log) = (handler.clone(), log2.clone());
                std::thread::spawn(move || serve_one(c, &*h, &log));
            }
        });
        Fake { port, ip, log }
    }

    /// `IP:PORT`.
    pub fn host(&self) -> String {
        format!("{}:{}", self.ip, self.port)
    }

    /// `IP:PORT/REF`, a reference to an image here.
    pub fn at(&self, reference: &str) -> String {
        format!("{}/{reference}", self.host())
    }

    pub fn requests(&self) -> Vec<Request> {
        self.log.lock().unwrap().clone()
    }

    /// The requests whose target contains `s`.
    pub fn requests_for(&self, s: &str) -> Vec<Request> {
        self.requests()
            .into_iter()
            .filter(|r| r.target.contains(s))
            .collect()
    }
}

fn serve_one(c: TcpStream, h: &Handler, log: &Mutex<Vec<Request>>) {
    let mut r = BufReader::new(c.try_clone().unwrap());
    let mut line = String::new();
    if r.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let mut req = Request {
        method: method.to_string(),
        target: target.to_string(),
        headers: Vec::new(),
    };
    loop {
        let mut l = String::new();
        if r.read_line(&mut l).unwrap_or(0) == 0 || l.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            req.headers
                .push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    log.lock().unwrap().push(req.clone());
    let resp = h(&req);
    write_response(c, resp, method == "HEAD");
}

fn write_response(mut c: TcpStream, resp: Response, head_only: bool) {
    if matches!(resp.body, Body::Silence) {
        std::thread::sleep(Duration::from_secs(120));
        return;
    }
    let mut head = format!("HTTP/1.1 {} X\r\n", resp.status);
    for (k, v) in &resp.headers {
        head += &format!("{k}: {v}\r\n");
    }
    let len = match (&resp.body, resp.length) {
        (_, Some(n)) => Some(n),
        (Body::Bytes(b) | Body::Cut(b), None) => Some(b.len() as u64),
        _ => None,
    };
    if let Some(n) = len {
        head += &format!("Content-Length: {n}\r\n");
    }
    head += "Connection: close\r\n\r\n";
    if c.write_all(head.as_bytes()).is_err() || head_only {
        return;
    }
    match resp.body {
        Body::Bytes(b) | Body::Cut(b) => {
            let _ = c.write_all(&b);
        }
        Body::Endless => {
            let zeros = vec![0u8; 64 << 10];
            while c.write_all(&zeros).is_ok() {}
        }
        Body::Silence => {}
    }
    let _ = c.flush();
    let _ = c.shutdown(std::net::Shutdown::Both);
}

/// Images from OCI layouts as a registry serves them: each layout a repository, each
/// `org.opencontainers.image.ref.name` of its index.json a tag.
#[derive(Clone, Default)]
pub struct Layouts {
    /// Blob and manifest bytes by digest.
    pub blobs: HashMap<String, Vec<u8>>,
    /// `(repo, tag)` to a manifest's or index's digest.
    pub tags: HashMap<(String, String), String>,
}

impl Layouts {
    pub fn new(repos: &[(&str, &str)]) -> Layouts {
        let mut l = Layouts::default();
        for (repo, dir) in repos {
            l.add(repo, Path::new(dir));
        }
        l
    }

    /// A layout's blobs, and its index.json entries as tags of `repo`.
    pub fn add(&mut self, repo: &str, dir: &Path) {
        for e in std::fs::read_dir(dir.join("blobs/sha256")).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().to_string_lossy().into_owned();
            self.blobs
                .insert(format!("sha256:{name}"), std::fs::read(e.path()).unwrap());
        }
        let index: Value =
            serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
        for m in index["manifests"].as_array().unwrap() {
            if let Some(tag) = m["annotations"]["org.opencontainers.image.ref.name"].as_str() {
                let d = m["digest"].as_str().unwrap().to_string();
                self.tags.insert((repo.to_string(), tag.to_string()), d);
            }
        }
    }

    /// Put a document (manifest, index, config) in: its digest.
    pub fn put(&mut self, bytes: Vec<u8>) -> String {
        let d = digest(&bytes);
        self.blobs.insert(d.clone(), bytes);
        d
    }

    pub fn tag(&mut self, repo: &str, tag: &str, digest: &str) {
        self.tags
            .insert((repo.to_string(), tag.to_string()), digest.to_string());
    }

    /// The JSON document stored under a digest.
    pub fn json(&self, digest: &str) -> Value {
        serde_json::from_slice(&self.blobs[digest]).unwrap()
    }

    /// The answer a registry gives, or a 404.
    pub fn answer(&self, req: &Request) -> Response {
        let t = req.target.as_str();
        if t == "/v2/" {
            return Response::ok("{}");
        }
        let Some(rest) = t.strip_prefix("/v2/") else {
            return Response::error(404, "NOT_FOUND");
        };
        if let Some((repo, r)) = rest.split_once("/manifests/") {
            let named = if r.contains(':') {
                Some(r.to_string())
            } else {
                self.tags.get(&(repo.to_string(), r.to_string())).cloned()
            };
            let Some(bytes) = named.as_ref().and_then(|d| self.blobs.get(d)) else {
                return Response::error(404, "MANIFEST_UNKNOWN");
            };
            let v: Value = serde_json::from_slice(bytes).unwrap();
            let media = v["mediaType"]
                .as_str()
                .unwrap_or("application/vnd.oci.image.manifest.v1+json");
            return Response::ok(bytes.clone())
                .header("Content-Type", media)
                .header("Docker-Content-Digest", digest(bytes));
        }
        if let Some((_, d)) = rest.split_once("/blobs/") {
            return match self.blobs.get(d) {
                Some(b) => Response::ok(b.clone()),
                None => Response::error(404, "BLOB_UNKNOWN"),
            };
        }
        Response::error(404, "NOT_FOUND")
    }
}

/// An address of this machine that is not loopback (the interface a route to a
/// documentation address would leave by; nothing is sent), if it has one.
pub fn non_loopback_ip() -> Option<IpAddr> {
    let s = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    s.connect("192.0.2.1:9").ok()?;
    let ip = s.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}
