//! A registry as an image store: the OCI distribution API (`/v2/`, manifests by tag or
//! digest, blobs) over a small synchronous HTTP client (`ureq`, rustls), with the
//! token handling written here. Documents are fetched whole (and checked by the walk);
//! layer blobs are streams handed straight to the tar source, resumed with a `Range`
//! request when a connection drops. Nothing is written to disk.

pub mod auth;
pub mod reference;

use std::io::{self, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use auth::{Challenge, Credentials};
pub use reference::Reference;

/// The media types a manifest is asked for with.
pub const MANIFEST_TYPES: [&str; 4] = [
    super::walk::OCI_INDEX,
    super::walk::OCI_MANIFEST,
    super::walk::DOCKER_LIST,
    super::walk::DOCKER_MANIFEST,
];

/// How to reach registries: the flags skopeo has for it, and what to fetch.
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub auth: auth::Sources,
    /// `--cert-dir DIR`: `*.crt` CA certificates, `*.cert`/`*.key` client pairs.
    pub cert_dir: Option<PathBuf>,
    /// `--tls-verify`: `None` verifies, with plain HTTP for loopback hosts only;
    /// `Some(false)` skips the certificate checks and allows plain HTTP;
    /// `Some(true)` requires HTTPS everywhere.
    pub tls_verify: Option<bool>,
    /// `--platform`: manifests of other platforms are not fetched.
    pub platforms: Vec<String>,
    /// `--ignore-attestations`: attestation manifests are not fetched.
    pub ignore_attestations: bool,
}

/// How much of a document is read: at most the JSON limit (`--max-json-size`), and
/// exactly the size its descriptor gives, when one does.
#[derive(Clone, Copy, Debug)]
pub struct Limit {
    pub json: u64,
    pub size: Option<u64>,
}

/// Attempts for one request or one blob's stream (the first included).
const ATTEMPTS: u32 = 5;

/// One repository on one registry, connected (scheme and credentials settled).
pub struct Registry {
    pub reference: Reference,
    agent: ureq::Agent,
    /// `https://HOST` or `http://HOST`.
    base: String,
    /// The `Authorization` value in use, if any.
    authorization: Mutex<Option<String>>,
    /// The challenge of the last 401, for getting a new token when one expires.
    challenge: Mutex<Option<Challenge>>,
    creds: Option<Credentials>,
    /// Where credentials were looked for (for messages).
    looked: Vec<String>,
    /// Bytes received (documents and blobs, resumed parts included).
    fetched: AtomicU64,
    /// Manifests fetched so far, by digest (the walk asks for the top one again).
    docs: Mutex<std::collections::HashMap<String, Vec<u8>>>,
    pub options: Options,
}

/// What a request came back with, or why none did.
enum Failure {
    /// No response: host unknown, refused, TLS, reset.
    Transport(String),
    /// Authentication failed (the message names the credentials tried).
    Auth(String),
    /// A body that could not be read whole (over the limit, or cut short every time).
    Body(String),
    Status(u16, Box<ureq::http::Response<ureq::Body>>),
}

impl Registry {
    /// Reach the registry: pick the scheme (`/v2/` answered), find credentials and
    /// authenticate as its challenge asks.
    pub fn connect(reference: Reference, options: &Options) -> Result<Registry, String> {
        let (creds, looked) = auth::find(&options.auth, &reference.host, &reference.repo)?;
        let verify = options.tls_verify != Some(false);
        let tls = tls_config(options, &reference, verify)?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .tls_config(tls)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_per_read(Some(Duration::from_secs(60)))
            .user_agent(concat!("rdiff/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        let plain_ok = options.tls_verify == Some(false)
            || (options.tls_verify.is_none() && reference.is_loopback());
        let mut reg = Registry {
            base: format!("https://{}", reference.api_host()),
            reference,
            agent,
            authorization: Mutex::new(None),
            challenge: Mutex::new(None),
            creds,
            looked,
            fetched: AtomicU64::new(0),
            docs: Default::default(),
            options: options.clone(),
        };
        match reg.send("/v2/", &[], false) {
            Ok(_) => Ok(reg),
            // HTTPS failed where plain HTTP is allowed: try it, and if that fails too,
            // say why HTTPS did (a certificate problem, not the HTTP server's 400).
            Err(Failure::Transport(https)) if plain_ok && !unreachable(&https) => {
                reg.base = format!("http://{}", reg.reference.api_host());
                match reg.send("/v2/", &[], false) {
                    Ok(_) => Ok(reg),
                    // No answer, or an HTTPS server's 400 to plain HTTP.
                    Err(Failure::Transport(_) | Failure::Status(400, _)) => Err(https),
                    Err(f) => Err(reg.failure(f, "/v2/")),
                }
            }
            Err(f) => Err(reg.failure(f, "/v2/")),
        }
    }

    /// Bytes received so far.
    pub fn fetched(&self) -> u64 {
        self.fetched.load(Ordering::Relaxed)
    }

    fn host(&self) -> &str {
        &self.reference.host
    }

    /// One GET with the current authorization; a 401 is answered once by
    /// authenticating as its challenge says. With `retry`, 5xx answers and dropped
    /// connections are tried again (with a growing pause).
    fn send(
        &self,
        path: &str,
        headers: &[(&str, String)],
        retry: bool,
    ) -> Result<ureq::http::Response<ureq::Body>, Failure> {
        let mut attempt = 0;
        let mut authenticated = false;
        loop {
            attempt += 1;
            let url = format!("{}{path}", self.base);
            let mut req = self.agent.get(&url);
            for (k, v) in headers {
                req = req.header(*k, v);
            }
            if let Some(a) = self
                .authorization
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
            {
                req = req.header("Authorization", a);
            }
            let again = |retry_this: bool| retry && retry_this && attempt < ATTEMPTS;
            match req.call() {
                Ok(r) if r.status() == 401 && !self.ours(&r) => {
                    return Err(Failure::Auth(self.foreign_challenge(&r, path)));
                }
                Ok(r) if r.status() == 401 && !authenticated => {
                    authenticated = true;
                    let challenge = r
                        .headers()
                        .get("www-authenticate")
                        .and_then(|v| v.to_str().ok())
                        .map(auth::parse_challenge);
                    let Some(c) = challenge else {
                        return Err(Failure::Status(401, Box::new(r)));
                    };
                    if let Err(msg) = self.authenticate(&c) {
                        return Err(Failure::Auth(msg));
                    }
                    *self.challenge.lock().unwrap_or_else(|e| e.into_inner()) = Some(c);
                }
                Ok(r) if r.status().is_success() || r.status().is_redirection() => return Ok(r),
                Ok(r) if r.status().is_server_error() && again(true) => pause(attempt),
                Ok(r) => return Err(Failure::Status(r.status().as_u16(), Box::new(r))),
                Err(e) => {
                    let (msg, transient) = describe(&e, self.host());
                    if again(transient) {
                        pause(attempt);
                    } else {
                        return Err(Failure::Transport(msg));
                    }
                }
            }
        }
    }

    /// Whether a response came from the registry itself, not from a host a redirect led
    /// to (a CDN or storage backend): only the registry's own challenges are answered
    /// with credentials.
    fn ours(&self, r: &ureq::http::Response<ureq::Body>) -> bool {
        use ureq::ResponseExt as _;
        let base: Option<ureq::http::Uri> = self.base.parse().ok();
        base.is_some_and(|b| origin(&b) == origin(r.get_uri()))
    }

    /// The error for a 401 from a host a redirect led to.
    fn foreign_challenge(&self, r: &ureq::http::Response<ureq::Body>, path: &str) -> String {
        use ureq::ResponseExt as _;
        let (host, port) = origin(r.get_uri());
        format!(
            "GET {path} on {} was redirected to {host}:{port}, which asks for authentication: \
             rdiff sends credentials only to the registry it was given",
            self.host()
        )
    }

    /// Answer a challenge: basic credentials as they are, or a bearer token from the
    /// realm (anonymous when no credentials were found).
    fn authenticate(&self, c: &Challenge) -> Result<(), String> {
        let value = match c.scheme.as_str() {
            "basic" => match &self.creds {
                Some(cr) => cr.basic(),
                None => {
                    return Err(self.denied(401, "the registry asks for a user name and password"));
                }
            },
            "bearer" => format!("Bearer {}", self.token(c)?),
            other => {
                return Err(format!(
                    "the registry asks for {other:?} authentication, which rdiff does not speak"
                ));
            }
        };
        *self.authorization.lock().unwrap_or_else(|e| e.into_inner()) = Some(value);
        Ok(())
    }

    /// A bearer token for pulling this repository, from the challenge's realm.
    fn token(&self, c: &Challenge) -> Result<String, String> {
        let realm = c
            .realm
            .as_deref()
            .ok_or("the registry's bearer challenge names no realm")?;
        self.check_realm(realm)?;
        let mut url = format!("{realm}{}", if realm.contains('?') { '&' } else { '?' });
        if let Some(s) = &c.service {
            url.push_str(&format!("service={}&", encode(s)));
        }
        let scope = format!("repository:{}:pull", self.reference.repo);
        url.push_str(&format!("scope={}", encode(&scope)));
        let mut req = self.agent.get(&url);
        if let Some(cr) = &self.creds {
            req = req.header("Authorization", cr.basic());
        }
        let mut r = req.call().map_err(|e| {
            let (msg, _) = describe(&e, realm);
            format!("token server: {msg}")
        })?;
        let status = r.status().as_u16();
        if status == 401 || status == 403 {
            return Err(self.denied(status, "the token server refused"));
        }
        if !r.status().is_success() {
            return Err(format!("token server {realm} answered {status}"));
        }
        let body = r
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()
            .map_err(|e| format!("token server {realm}: {e}"))?;
        let json: serde_json::Value = serde_json::from_slice(&body)
            .map_err(|_| format!("token server {realm}: its answer is not JSON"))?;
        json["token"]
            .as_str()
            .or(json["access_token"].as_str())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or_else(|| format!("token server {realm}: no token in its answer"))
    }

    /// Whether credentials may go to a token server: over HTTPS, or plain HTTP to a
    /// loopback host (or anywhere with `--tls-verify=false`, as for the registry
    /// itself). A realm on another host is how Docker Hub works, and the registry names
    /// it; a secret sent in clear over the network is not something it may ask for.
    fn check_realm(&self, realm: &str) -> Result<(), String> {
        let uri: ureq::http::Uri = realm
            .parse()
            .map_err(|_| format!("the registry's token server {realm:?} is no URL"))?;
        let host = uri.host().unwrap_or("");
        match uri.scheme_str() {
            Some("https") => Ok(()),
            Some("http")
                if self.creds.is_none()
                    || self.options.tls_verify == Some(false)
                    || reference::loopback(host) =>
            {
                Ok(())
            }
            Some("http") => Err(format!(
                "the registry {} sends for tokens to {realm}, plain HTTP on another host: \
                 rdiff does not send credentials ({}) there in clear (--tls-verify=false allows it)",
                self.host(),
                self.creds.as_ref().map_or("", |c| c.source.as_str())
            )),
            _ => Err(format!(
                "the registry's token server {realm:?} is neither https:// nor http://"
            )),
        }
    }

    /// `access denied (401)`, naming the credentials tried, never the secret.
    fn denied(&self, status: u16, what: &str) -> String {
        let tried = match &self.creds {
            Some(c) => format!("credentials from {} (user {:?})", c.source, c.user),
            None if self.looked.is_empty() => "no credentials (anonymous)".to_string(),
            None => format!(
                "no credentials (anonymous; none for {} in {})",
                self.host(),
                self.looked.join(", ")
            ),
        };
        format!(
            "access denied ({status}) to {} on {}: {what}; tried {tried} (--creds, --authfile)",
            self.reference.repo,
            self.host()
        )
    }

    /// The error message for a failed request for `what`.
    fn failure(&self, f: Failure, what: &str) -> String {
        match f {
            Failure::Transport(msg) | Failure::Auth(msg) | Failure::Body(msg) => msg,
            Failure::Status(status, mut r) => {
                let retry_after = r
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let body = r
                    .body_mut()
                    .with_config()
                    .limit(64 << 10)
                    .read_to_vec()
                    .unwrap_or_default();
                let code = error_code(&body);
                self.status_message(status, code.as_deref(), retry_after, what)
            }
        }
    }

    fn status_message(
        &self,
        status: u16,
        code: Option<&str>,
        retry_after: Option<String>,
        what: &str,
    ) -> String {
        let (host, repo) = (self.host(), &self.reference.repo);
        match (status, code) {
            (401 | 403, _) => self.denied(status, &format!("GET {what}")),
            (404, Some("NAME_UNKNOWN")) => format!("repository {repo} not found on {host} (404)"),
            (404, Some("MANIFEST_UNKNOWN")) | (404, None) if what.starts_with("manifest ") => {
                format!("{what} not found in {repo} on {host} (404)")
            }
            (404, _) => format!("{what} not found in {repo} on {host} (404)"),
            (429, _) => format!(
                "rate limited by {host} (429 Too Many Requests){}",
                retry_after.map_or(String::new(), |s| format!(", retry after {s} seconds"))
            ),
            (s, c) => format!(
                "{host} answered {s}{} for {what}",
                c.map_or(String::new(), |c| format!(" ({c})"))
            ),
        }
    }

    /// A manifest or index by tag or digest, at most `limit` bytes, with its media
    /// type and the digest the registry says it has (`Docker-Content-Digest`).
    pub fn manifest(&self, target: &str, limit: Limit) -> Result<(Vec<u8>, String), String> {
        if let Some(b) = self
            .docs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(target)
        {
            return Ok((b.clone(), String::new()));
        }
        let what = if target.contains(':') {
            // A digest rdiff cannot compute is refused before anything is fetched.
            check_digest(target, None).map_err(|m| format!("manifest {target}: {m}"))?;
            format!("manifest {target}")
        } else {
            format!("manifest for tag {target}")
        };
        let accept = format!("{}, */*;q=0.1", MANIFEST_TYPES.join(", "));
        let path = format!("/v2/{}/manifests/{target}", self.reference.repo);
        let (bytes, headers) = match self.whole(&path, &[("Accept", accept)], &what, limit) {
            Ok(x) => x,
            Err(Failure::Status(404, _)) if !target.contains(':') => {
                return Err(self.missing_tag(target));
            }
            Err(f) => return Err(self.failure(f, &what)),
        };
        let header = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
        let media = header("content-type")
            .and_then(|v| v.split(';').next())
            .unwrap_or("")
            .trim()
            .to_string();
        let said = header("docker-content-digest").map(str::to_string);
        let found = super::walk::sha256_hex(&bytes);
        // By digest: the bytes must have it. By tag: they must have the digest the
        // registry says they have, when it says one rdiff can compute.
        let expected = if target.contains(':') {
            Some(target.to_string())
        } else {
            said.filter(|d| d.starts_with("sha256:") || d.starts_with("sha512:"))
        };
        if let Some(want) = expected {
            check_digest(&want, Some(&bytes)).map_err(|m| format!("{what}: {m}"))?;
        }
        self.docs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(found, bytes.clone());
        Ok((bytes, media))
    }

    /// Why a tag was not found: no such repository, or no such tag in it (with the
    /// first tags it has). The distribution spec's 404 says `MANIFEST_UNKNOWN` for both.
    fn missing_tag(&self, tag: &str) -> String {
        let (host, repo) = (self.host(), &self.reference.repo);
        let path = format!("/v2/{repo}/tags/list?n=100");
        let tags = match self.send(&path, &[], true) {
            Err(Failure::Status(404, _)) => {
                return format!("repository {repo} not found on {host} (404)");
            }
            Err(_) => None,
            Ok(mut r) => r
                .body_mut()
                .with_config()
                .limit(1 << 20)
                .read_to_vec()
                .ok()
                .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok()),
        };
        let list: Vec<&str> = tags
            .as_ref()
            .and_then(|t| t["tags"].as_array())
            .into_iter()
            .flatten()
            .filter_map(serde_json::Value::as_str)
            // What the registry says goes into an error line: tags only, no escapes.
            .filter(|t| reference::valid_tag(t))
            .collect();
        let has = match list.len() {
            0 => String::new(),
            n if n <= 5 => format!("; it has {}", list.join(", ")),
            n => format!("; it has {} and {} more", list[..5].join(", "), n - 5),
        };
        format!("tag {tag} not found in {repo} on {host} (404){has}")
    }

    /// A small blob (a config) whole, within `limit`.
    pub fn small_blob(&self, digest: &str, limit: Limit) -> Result<Vec<u8>, String> {
        let what = format!("blob {digest}");
        let path = format!("/v2/{}/blobs/{digest}", self.reference.repo);
        self.whole(&path, &[], &what, limit)
            .map(|(bytes, _)| bytes)
            .map_err(|f| self.failure(f, &what))
    }

    /// GET a whole body within `limit`, with the response's headers; a body cut short is
    /// asked for again (up to `ATTEMPTS` times).
    fn whole(
        &self,
        path: &str,
        headers: &[(&str, String)],
        what: &str,
        limit: Limit,
    ) -> Result<(Vec<u8>, ureq::http::HeaderMap), Failure> {
        let mut attempt = 1;
        loop {
            let mut r = self.send(path, headers, true)?;
            match read_limited(r.body_mut(), limit, what) {
                Ok(bytes) => {
                    self.fetched
                        .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    return Ok((bytes, r.headers().clone()));
                }
                Err((_, true)) if attempt < ATTEMPTS => {
                    pause(attempt);
                    attempt += 1;
                }
                Err((msg, _)) => return Err(Failure::Body(msg)),
            }
        }
    }

    /// A blob as a stream, resumed where it broke off. With its descriptor's `size`,
    /// no more than that is read: a body announced or found longer is an error at once
    /// (not a download without end before the digest check).
    pub fn blob(&self, digest: &str, size: Option<u64>) -> Result<BlobReader<'_>, String> {
        let body = self.blob_body(digest, 0, size)?;
        Ok(BlobReader {
            reg: self,
            digest: digest.to_string(),
            size,
            body: Some(body),
            offset: 0,
            attempts: 1,
        })
    }

    /// The body of a blob from byte `offset` on (a `Range` request past 0).
    fn blob_body(
        &self,
        digest: &str,
        offset: u64,
        size: Option<u64>,
    ) -> Result<ureq::BodyReader<'static>, String> {
        let what = format!("blob {digest}");
        let path = format!("/v2/{}/blobs/{digest}", self.reference.repo);
        let headers = if offset > 0 {
            vec![("Range", format!("bytes={offset}-"))]
        } else {
            Vec::new()
        };
        let r = self
            .send(&path, &headers, true)
            .map_err(|f| self.failure(f, &what))?;
        let partial = r.status() == 206;
        if partial {
            let range = r
                .headers()
                .get("content-range")
                .and_then(|v| v.to_str().ok());
            if !range.is_some_and(|v| v.starts_with(&format!("bytes {offset}-"))) {
                return Err(format!(
                    "{what}: asked for the bytes from {offset} on, the registry sent {}",
                    range.unwrap_or("another range")
                ));
            }
        }
        let announced = r.body().content_length();
        let start = if partial { offset } else { 0 };
        if let (Some(size), Some(n)) = (size, announced)
            && start.saturating_add(n) != size
        {
            return Err(format!(
                "{what}: the registry sends {} bytes, the descriptor says {size}",
                start.saturating_add(n)
            ));
        }
        let mut body = r.into_body().into_reader();
        if offset > 0 && !partial {
            // The server ignored the range: skip what was read already.
            let skipped = io::copy(&mut (&mut body).take(offset), &mut io::sink())
                .map_err(|e| format!("{what}: {e}"))?;
            self.fetched.fetch_add(skipped, Ordering::Relaxed);
            if skipped < offset {
                return Err(format!("{what}: the blob is shorter on a second read"));
            }
        }
        Ok(body)
    }
}

/// A blob streamed from the registry. A read that fails (a connection reset, a
/// stall past the read timeout, a body cut short) is resumed from the byte reached
/// with a `Range` request, up to `ATTEMPTS` times; the blob's digest and size are
/// checked by whoever reads it, as for a local blob.
pub struct BlobReader<'a> {
    reg: &'a Registry,
    digest: String,
    /// The descriptor's size: more is not read.
    size: Option<u64>,
    body: Option<ureq::BodyReader<'static>>,
    offset: u64,
    attempts: u32,
}

impl Read for BlobReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if self.body.is_none() {
                let b = self
                    .reg
                    .blob_body(&self.digest, self.offset, self.size)
                    .map_err(io::Error::other)?;
                self.body = Some(b);
            }
            let body = self.body.as_mut().expect("opened above");
            match body.read(buf) {
                Ok(n) => {
                    self.offset += n as u64;
                    self.reg.fetched.fetch_add(n as u64, Ordering::Relaxed);
                    if let Some(size) = self.size
                        && self.offset > size
                    {
                        return Err(io::Error::other(format!(
                            "blob {}: the registry sent more than the {size} bytes the descriptor says",
                            self.digest
                        )));
                    }
                    return Ok(n);
                }
                Err(e) if self.attempts < ATTEMPTS => {
                    let _ = e;
                    self.body = None;
                    pause(self.attempts);
                    self.attempts += 1;
                }
                Err(e) => {
                    return Err(io::Error::other(format!(
                        "blob {}: the connection to {} broke off after {} bytes, {ATTEMPTS} times: {e}",
                        self.digest,
                        self.reg.host(),
                        self.offset
                    )));
                }
            }
        }
    }
}

/// Whether `bytes` have the digest `want` (`sha256:` or `sha512:`, lower-case hex);
/// any other algorithm is refused, never taken on trust. Without bytes: whether the
/// algorithm is one rdiff computes.
fn check_digest(want: &str, bytes: Option<&[u8]>) -> Result<(), String> {
    use sha2::Digest as _;
    let found = match (want.split_once(':'), bytes) {
        (Some(("sha256" | "sha512", _)), None) => return Ok(()),
        (Some(("sha256", _)), Some(b)) => super::walk::sha256_hex(b),
        (Some(("sha512", _)), Some(b)) => {
            format!("sha512:{}", crate::report::hex(&sha2::Sha512::digest(b)))
        }
        _ => {
            let alg = want.split(':').next().unwrap_or(want);
            return Err(format!(
                "digest algorithm {alg} is not supported (sha256, sha512): {want} cannot be checked"
            ));
        }
    };
    if found != want {
        return Err(format!(
            "digest mismatch: expected {want}, the registry sent {found}"
        ));
    }
    Ok(())
}

/// A growing pause before attempt `n + 1`.
fn pause(n: u32) {
    std::thread::sleep(Duration::from_millis(100 << n.min(5)));
}

/// Read a whole body within `limit`: over the JSON limit, or longer than the
/// descriptor's size (announced or found), is an error before more is read. An error
/// says whether another try may help (a body cut short, not one too long).
fn read_limited(
    body: &mut ureq::Body,
    limit: Limit,
    what: &str,
) -> Result<Vec<u8>, (String, bool)> {
    let json = limit.json;
    let over = || {
        let msg = format!(
            "{what} is over the limit of {json} bytes for a JSON document (--max-json-size)"
        );
        (msg, false)
    };
    let announced = body.content_length();
    if let (Some(n), Some(size)) = (announced, limit.size)
        && n != size
    {
        let msg = format!("{what}: the registry sends {n} bytes, the descriptor says {size}");
        return Err((msg, false));
    }
    if announced.is_some_and(|n| n > json) || limit.size.is_some_and(|n| n > json) {
        return Err(over());
    }
    let cap = limit.size.unwrap_or(json);
    let mut v = Vec::new();
    body.as_reader()
        .take(cap.saturating_add(1))
        .read_to_end(&mut v)
        .map_err(|e| (format!("{what}: {e}"), true))?;
    match limit.size {
        Some(size) if v.len() as u64 > size => Err((
            format!("{what}: the registry sent more than the {size} bytes the descriptor says"),
            false,
        )),
        None if v.len() as u64 > json => Err(over()),
        _ => Ok(v),
    }
}

/// The first error code of a distribution error body (`{"errors":[{"code":...}]}`):
/// upper-case letters and underscores, as the spec's codes are (anything else the
/// registry put there stays out of the error line).
fn error_code(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    v["errors"][0]["code"]
        .as_str()
        .filter(|c| c.len() <= 64 && c.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'))
        .map(str::to_string)
}

/// A transport error in words, and whether another try may help.
fn describe(e: &ureq::Error, host: &str) -> (String, bool) {
    use ureq::Error as E;
    let tls_hint = "(--tls-verify=false skips certificate checks, --cert-dir DIR adds a CA)";
    match e {
        E::HostNotFound => (format!("cannot resolve host {host} (unknown host)"), false),
        E::Io(io) => match io.kind() {
            io::ErrorKind::ConnectionRefused => (
                format!("cannot connect to {host}: connection refused"),
                false,
            ),
            _ if is_tls(io) => (format!("TLS failure with {host}: {io} {tls_hint}"), false),
            _ if io.to_string().contains("failed to lookup address") => {
                (format!("cannot resolve host {host} (unknown host)"), false)
            }
            _ => (format!("{host}: {io}"), true),
        },
        E::Tls(m) => (format!("TLS failure with {host}: {m} {tls_hint}"), false),
        E::Pem(m) => (format!("TLS: bad certificate file: {m}"), false),
        E::Rustls(r) => (format!("TLS failure with {host}: {r} {tls_hint}"), false),
        E::Timeout(t) => (format!("{host}: timed out ({t})"), true),
        E::Protocol(p) => (format!("{host}: {p}"), true),
        E::ConnectionFailed => (format!("cannot connect to {host}"), true),
        other => (format!("{host}: {other}"), false),
    }
}

/// Whether an I/O error carries a rustls error (a failed handshake or certificate).
fn is_tls(e: &io::Error) -> bool {
    e.get_ref().is_some_and(|x| x.is::<rustls::Error>())
}

/// A first contact that cannot work over plain HTTP either.
fn unreachable(msg: &str) -> bool {
    msg.contains("unknown host") || msg.contains("connection refused")
}

/// The host (lower case) and port of a URL, the port filled in from the scheme.
fn origin(u: &ureq::http::Uri) -> (String, u16) {
    let host = u.host().unwrap_or("").to_ascii_lowercase();
    let port = u.port_u16().unwrap_or(if u.scheme_str() == Some("http") {
        80
    } else {
        443
    });
    (host, port)
}

/// Percent-encode a query value.
fn encode(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

/// TLS settings: the system's roots plus `--cert-dir`'s (or
/// `/etc/containers/certs.d/HOST`'s, `/etc/docker/certs.d/HOST`'s) `*.crt`, and a
/// client certificate from its `*.cert`/`*.key` pair.
fn tls_config(
    options: &Options,
    reference: &Reference,
    verify: bool,
) -> Result<ureq::tls::TlsConfig, String> {
    use ureq::tls::{Certificate, ClientCert, PrivateKey, RootCerts, TlsConfig};
    let mut roots: Vec<Certificate<'static>> = rustls_native_certs::load_native_certs()
        .certs
        .iter()
        .map(|c| Certificate::from_der(c.as_ref()).to_owned())
        .collect();
    let dirs: Vec<PathBuf> = match &options.cert_dir {
        Some(d) => vec![d.clone()],
        None => ["/etc/containers/certs.d", "/etc/docker/certs.d"]
            .iter()
            .map(|d| PathBuf::from(d).join(&reference.host))
            .collect(),
    };
    let mut client = None;
    for dir in dirs {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            if options.cert_dir.is_some() {
                return Err(format!("--cert-dir {}: cannot read it", dir.display()));
            }
            continue;
        };
        let mut files: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        files.sort();
        for f in &files {
            let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
            let read = || std::fs::read(f).map_err(|e| format!("{}: {e}", f.display()));
            if ext == "crt" {
                for item in ureq::tls::parse_pem(&read()?) {
                    if let Ok(ureq::tls::PemItem::Certificate(c)) = item {
                        roots.push(c);
                    }
                }
            } else if ext == "cert" {
                let key = f.with_extension("key");
                let chain: Vec<Certificate<'static>> = ureq::tls::parse_pem(&read()?)
                    .filter_map(|i| match i {
                        Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
                        _ => None,
                    })
                    .collect();
                let key_pem = std::fs::read(&key)
                    .map_err(|e| format!("{}: {e} (the key of {})", key.display(), f.display()))?;
                let key = PrivateKey::from_pem(&key_pem)
                    .map_err(|e| format!("{}: {e}", key.display()))?;
                client = Some(ClientCert::new_with_certs(&chain, key));
            }
        }
    }
    // ring, not aws-lc-rs (rustls' default): no cmake and C build, a smaller binary.
    // rustls 0.23.48 deprecates ring's provider for lacking post-quantum key exchange,
    // which a registry pull does not need.
    #[allow(deprecated)]
    let ring = Arc::new(rustls::crypto::ring::default_provider());
    Ok(TlsConfig::builder()
        .unversioned_rustls_crypto_provider(ring)
        .root_certs(RootCerts::Specific(Arc::new(roots)))
        .client_cert(client)
        .disable_verification(!verify)
        .build())
}
