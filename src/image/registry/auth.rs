//! Credentials for a registry, found where skopeo and Docker look: `--creds`,
//! `--authfile` (or `$REGISTRY_AUTH_FILE`), `$XDG_RUNTIME_DIR/containers/auth.json`,
//! `$XDG_CONFIG_HOME/containers/auth.json`, `$DOCKER_CONFIG/config.json` (default
//! `~/.docker/config.json`), each auth file with its `auths`, `credHelpers` and
//! `credsStore` (`docker-credential-NAME get`). A secret is never printed: errors name
//! the source only.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use serde_json::Value;

/// A user name and secret, and where they were found.
#[derive(Clone)]
pub struct Credentials {
    pub user: String,
    pub secret: String,
    /// `--creds`, `auth file /x/auth.json`, `docker-credential-pass`: for messages.
    pub source: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        write!(f, "Credentials({:?} from {})", self.user, self.source)
    }
}

impl Credentials {
    /// The `Authorization: Basic` value.
    pub fn basic(&self) -> String {
        let raw = format!("{}:{}", self.user, self.secret);
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

/// Where to look, from the flags and the environment.
#[derive(Clone, Debug, Default)]
pub struct Sources {
    /// `--creds USER[:PASS]`.
    pub creds: Option<String>,
    /// `--authfile FILE` (else `$REGISTRY_AUTH_FILE`).
    pub authfile: Option<PathBuf>,
}

/// `--creds USER` without a password, as skopeo and podman take it: the password is
/// asked for on the terminal (not echoed) when standard input is one; otherwise there
/// is no one to ask, and that is an error. `--creds USER:` is an empty password, given.
/// Asked once, before either side connects.
pub fn complete(sources: &mut Sources) -> Result<(), String> {
    let Some(c) = &sources.creds else {
        return Ok(());
    };
    let user = c.split_once(':').map_or(c.as_str(), |(u, _)| u);
    if user.is_empty() {
        return Err("--creds: the user name is empty (--creds USER[:PASSWORD])".into());
    }
    if c.contains(':') {
        return Ok(());
    }
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return Err(format!(
            "--creds {user}: no password given, and standard input is not a terminal to ask \
             for it (--creds {user}:PASSWORD, or podman login / docker login and their auth file)"
        ));
    }
    let pass = ask_password(&format!("Password for {user}: "))
        .map_err(|e| format!("--creds {user}: reading the password: {e}"))?;
    sources.creds = Some(format!("{user}:{pass}"));
    Ok(())
}

/// Prompt on standard error and read a line from standard input (a terminal) with its
/// echo off, restored afterwards: also when SIGINT, SIGTERM, SIGHUP or SIGQUIT ends
/// rdiff while it waits (Ctrl-C at the prompt must not leave the shell without echo).
fn ask_password(prompt: &str) -> std::io::Result<String> {
    use std::io::{BufRead, Write};
    let fd = libc::STDIN_FILENO;
    // SAFETY: termios is plain data; tcgetattr fills it for a terminal fd.
    let mut saved: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(fd, &mut saved) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let mut quiet = saved;
    quiet.c_lflag &= !libc::ECHO;
    quiet.c_lflag |= libc::ECHONL;
    let _ = SAVED_TERMIOS.set(saved);
    let old = on_fatal_signals(
        restore_terminal_and_die as extern "C" fn(libc::c_int) as libc::sighandler_t,
    );
    // SAFETY: the fd is a terminal; `quiet` is `saved` with echo off. Off before the
    // prompt shows, so that nothing typed after it is echoed.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &quiet) };
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    let read = std::io::stdin().lock().read_line(&mut line);
    // SAFETY: as above, restoring what was there.
    unsafe { libc::tcsetattr(fd, libc::TCSANOW, &saved) };
    for (sig, action) in old {
        // SAFETY: putting back the disposition read by on_fatal_signals.
        unsafe { libc::sigaction(sig, &action, std::ptr::null_mut()) };
    }
    read?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// The terminal's settings before the password prompt, for the signal handler.
static SAVED_TERMIOS: std::sync::OnceLock<libc::termios> = std::sync::OnceLock::new();

/// The signals that end rdiff while it waits for a password.
const FATAL: [libc::c_int; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

/// Install `handler` for the [`FATAL`] signals; the dispositions it replaced.
fn on_fatal_signals(handler: libc::sighandler_t) -> Vec<(libc::c_int, libc::sigaction)> {
    let mut old = Vec::new();
    for sig in FATAL {
        // SAFETY: sigaction is plain data; the handler only calls async-signal-safe
        // functions (tcsetattr, write, signal, raise).
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = handler;
            libc::sigemptyset(&mut action.sa_mask);
            let mut was: libc::sigaction = std::mem::zeroed();
            if libc::sigaction(sig, &action, &mut was) == 0 {
                old.push((sig, was));
            }
        }
    }
    old
}

/// Put the terminal back as it was, end the prompt's line, and die of `sig` as if it
/// had not been caught (the shell sees the usual 130 for Ctrl-C).
extern "C" fn restore_terminal_and_die(sig: libc::c_int) {
    // SAFETY: async-signal-safe calls only; SAVED_TERMIOS is set before the handler is
    // installed, and reading a set OnceLock is an atomic load.
    unsafe {
        if let Some(t) = SAVED_TERMIOS.get() {
            libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, t);
        }
        libc::write(libc::STDERR_FILENO, b"\n".as_ptr().cast(), 1);
        libc::signal(sig, libc::SIG_DFL);
        libc::raise(sig);
    }
}

/// The credentials for `host` (and `repo`, for auth files keyed by `host/namespace`),
/// and the sources looked at (for a 401 message). A broken source is an error.
pub fn find(
    sources: &Sources,
    host: &str,
    repo: &str,
) -> Result<(Option<Credentials>, Vec<String>), String> {
    let mut looked = Vec::new();
    if let Some(c) = &sources.creds {
        let (user, secret) = c.split_once(':').unwrap_or((c.as_str(), ""));
        return Ok((
            Some(Credentials {
                user: user.to_string(),
                secret: secret.to_string(),
                source: "--creds".into(),
            }),
            vec!["--creds".into()],
        ));
    }
    for file in auth_files(sources) {
        looked.push(format!("auth file {}", file.display()));
        let bytes = match std::fs::read(&file) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(format!("auth file {}: {e}", file.display())),
        };
        let json: Value = serde_json::from_slice(&bytes)
            .map_err(|e| format!("auth file {}: not valid JSON: {e}", file.display()))?;
        if let Some(c) = from_file(&json, &file, host, repo)? {
            return Ok((Some(c), looked));
        }
    }
    Ok((None, looked))
}

/// The auth files in the order containers-auth.json(5) and Docker read them. An
/// explicit `--authfile` (or `$REGISTRY_AUTH_FILE`) is the only one read.
fn auth_files(sources: &Sources) -> Vec<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(f) = sources
        .authfile
        .clone()
        .or_else(|| env("REGISTRY_AUTH_FILE"))
    {
        return vec![f];
    }
    let home = env("HOME");
    let mut v = Vec::new();
    if let Some(d) = env("XDG_RUNTIME_DIR") {
        v.push(d.join("containers/auth.json"));
    }
    if let Some(d) = env("XDG_CONFIG_HOME").or_else(|| home.as_ref().map(|h| h.join(".config"))) {
        v.push(d.join("containers/auth.json"));
    }
    if let Some(d) = env("DOCKER_CONFIG").or_else(|| home.as_ref().map(|h| h.join(".docker"))) {
        v.push(d.join("config.json"));
    }
    v
}

/// The keys an auth file may use for `host/repo`, most specific first.
fn keys(host: &str, repo: &str) -> Vec<String> {
    let mut v = Vec::new();
    let parts: Vec<&str> = repo.split('/').collect();
    for n in (1..=parts.len()).rev() {
        v.push(format!("{host}/{}", parts[..n].join("/")));
    }
    v.push(host.to_string());
    if host == super::reference::DOCKER_HUB {
        v.push("index.docker.io".into());
        v.push("registry-1.docker.io".into());
    }
    v
}

/// An auth file key without scheme and legacy API path (`https://index.docker.io/v1/`).
fn normalize_key(k: &str) -> &str {
    let k = k
        .strip_prefix("https://")
        .or_else(|| k.strip_prefix("http://"))
        .unwrap_or(k);
    let k = k.trim_end_matches('/');
    k.strip_suffix("/v1")
        .or_else(|| k.strip_suffix("/v2"))
        .unwrap_or(k)
}

fn from_file(
    json: &Value,
    file: &Path,
    host: &str,
    repo: &str,
) -> Result<Option<Credentials>, String> {
    let shown = file.display();
    for key in keys(host, repo) {
        let found = |section: &str| {
            json[section]
                .as_object()
                .and_then(|m| m.iter().find(|(k, _)| normalize_key(k) == key))
                .map(|(_, v)| v)
        };
        if let Some(helper) = found("credHelpers").and_then(Value::as_str) {
            return helper_get(helper, host, &format!("credHelpers in {shown}")).map(Some);
        }
        if let Some(auth) = found("auths").and_then(|e| e["auth"].as_str())
            && !auth.is_empty()
        {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .map_err(|_| {
                    format!("auth file {shown}: the auth entry for {key} is not base64")
                })?;
            let raw = String::from_utf8_lossy(&raw).into_owned();
            let (user, secret) = raw.split_once(':').ok_or_else(|| {
                format!("auth file {shown}: the auth entry for {key} is not USER:PASS")
            })?;
            return Ok(Some(Credentials {
                user: user.to_string(),
                secret: secret.to_string(),
                source: format!("auth file {shown}"),
            }));
        }
    }
    if let Some(store) = json["credsStore"].as_str().filter(|s| !s.is_empty()) {
        return match helper_get(store, host, &format!("credsStore in {shown}")) {
            Ok(c) => Ok(Some(c)),
            // The store has nothing for this registry: anonymous.
            Err(e) if e.contains("credentials not found") => Ok(None),
            Err(e) => Err(e),
        };
    }
    Ok(None)
}

/// `docker-credential-NAME get`, the server on standard input, JSON on standard output.
fn helper_get(name: &str, host: &str, why: &str) -> Result<Credentials, String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let prog = format!("docker-credential-{name}");
    let server = if host == super::reference::DOCKER_HUB {
        "https://index.docker.io/v1/".to_string()
    } else {
        host.to_string()
    };
    let mut child = Command::new(&prog)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {prog} ({why}): {e}"))?;
    if let Some(mut i) = child.stdin.take() {
        let _ = i.write_all(server.as_bytes());
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{prog} ({why}): {e}"))?;
    if !out.status.success() {
        // Helpers print "credentials not found in native keychain" on standard output.
        let msg = String::from_utf8_lossy(if out.stdout.is_empty() {
            &out.stderr
        } else {
            &out.stdout
        });
        let msg = msg.lines().next().unwrap_or("").trim().to_string();
        let msg = if msg.to_lowercase().contains("not found") {
            "credentials not found".to_string()
        } else {
            msg
        };
        return Err(format!("{prog} get ({why}) failed: {msg}"));
    }
    let json: Value = serde_json::from_slice(&out.stdout)
        .map_err(|_| format!("{prog} get ({why}): its output is not JSON"))?;
    let user = json["Username"].as_str().unwrap_or("").to_string();
    let secret = json["Secret"].as_str().unwrap_or("").to_string();
    if user == "<token>" {
        return Err(format!(
            "{prog} ({why}) gave an identity token, which rdiff does not use; log in with a user name and password"
        ));
    }
    Ok(Credentials {
        user,
        secret,
        source: format!("{prog} ({why})"),
    })
}

/// One `WWW-Authenticate` challenge: its scheme and parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Challenge {
    /// `bearer` or `basic` (lower case).
    pub scheme: String,
    pub realm: Option<String>,
    pub service: Option<String>,
    pub scope: Option<String>,
}

/// Parse `Bearer realm="https://auth.docker.io/token",service="registry.docker.io"`.
pub fn parse_challenge(h: &str) -> Challenge {
    let h = h.trim();
    let (scheme, rest) = h.split_once(' ').unwrap_or((h, ""));
    let mut c = Challenge {
        scheme: scheme.to_ascii_lowercase(),
        ..Challenge::default()
    };
    let mut rest = rest.trim();
    while !rest.is_empty() {
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let key = key.trim().to_ascii_lowercase();
        let after = after.trim_start();
        let (value, tail) = if let Some(q) = after.strip_prefix('"') {
            let end = q.find('"').unwrap_or(q.len());
            (&q[..end], q.get(end + 1..).unwrap_or(""))
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].trim(), &after[end..])
        };
        match key.as_str() {
            "realm" => c.realm = Some(value.to_string()),
            "service" => c.service = Some(value.to_string()),
            "scope" => c.scope = Some(value.to_string()),
            _ => {}
        }
        rest = tail.trim_start().trim_start_matches(',').trim_start();
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn challenges() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/alpine:pull""#,
        );
        assert_eq!(c.scheme, "bearer");
        assert_eq!(c.realm.as_deref(), Some("https://auth.docker.io/token"));
        assert_eq!(c.service.as_deref(), Some("registry.docker.io"));
        assert_eq!(c.scope.as_deref(), Some("repository:library/alpine:pull"));
        let b = parse_challenge(r#"Basic realm="Registry Realm""#);
        assert_eq!(b.scheme, "basic");
        assert_eq!(b.realm.as_deref(), Some("Registry Realm"));
    }

    #[test]
    fn auth_file_keys() {
        assert_eq!(
            normalize_key("https://index.docker.io/v1/"),
            "index.docker.io"
        );
        assert_eq!(normalize_key("quay.io"), "quay.io");
        assert_eq!(
            keys("quay.io", "a/b"),
            ["quay.io/a/b", "quay.io/a", "quay.io"]
        );
        let json: Value = serde_json::json!({"auths": {
            "https://index.docker.io/v1/": {"auth": "dTpw"},
            "quay.io/team": {"auth": "dDpx"},
        }});
        let f = Path::new("/x.json");
        let c = from_file(&json, f, "docker.io", "library/alpine")
            .unwrap()
            .unwrap();
        assert_eq!((c.user.as_str(), c.secret.as_str()), ("u", "p"));
        let c = from_file(&json, f, "quay.io", "team/app").unwrap().unwrap();
        assert_eq!((c.user.as_str(), c.secret.as_str()), ("t", "q"));
        assert!(
            from_file(&json, f, "quay.io", "other/app")
                .unwrap()
                .is_none()
        );
        assert!(!format!("{c:?}").contains('q'));
    }
}
