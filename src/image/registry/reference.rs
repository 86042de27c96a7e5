//! Image references as Docker and the distribution spec write them:
//! `[HOST[:PORT]/]REPO[:TAG][@DIGEST]`, normalized as Docker does (`alpine` is
//! `docker.io/library/alpine:latest`).

use std::fmt;

/// A normalized registry reference.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// `docker.io`, `quay.io`, `127.0.0.1:5000`, `[::1]:5000`.
    pub host: String,
    /// `library/alpine`.
    pub repo: String,
    /// The tag, when one is given (or `latest` when neither tag nor digest is).
    pub tag: Option<String>,
    /// `sha256:HEX`, when given.
    pub digest: Option<String>,
}

/// Docker Hub's name, and the host its API answers on.
pub const DOCKER_HUB: &str = "docker.io";
const DOCKER_HUB_API: &str = "registry-1.docker.io";

impl Reference {
    /// Parse and normalize; `Err` says why the string is no reference.
    pub fn parse(s: &str) -> Result<Reference, String> {
        let (rest, digest) = match s.split_once('@') {
            Some((r, d)) => (r, Some(d.to_string())),
            None => (s, None),
        };
        if let Some(d) = &digest
            && !valid_digest(d)
        {
            return Err(format!("malformed digest {d:?}"));
        }
        // The tag is after the last colon that follows the last slash (a colon before
        // it belongs to HOST:PORT).
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match rest[last_slash..].rfind(':') {
            Some(i) => (
                &rest[..last_slash + i],
                Some(rest[last_slash + i + 1..].to_string()),
            ),
            None => (rest, None),
        };
        if let Some(t) = &tag
            && !valid_tag(t)
        {
            return Err(format!("malformed tag {t:?}"));
        }
        let (host, repo) = split_host(name);
        let host = if host == "index.docker.io" {
            DOCKER_HUB.to_string()
        } else {
            host
        };
        if !valid_host(&host) {
            return Err(format!("malformed registry host {host:?}"));
        }
        let repo = if host == DOCKER_HUB && !repo.contains('/') {
            format!("library/{repo}")
        } else {
            repo.to_string()
        };
        if !repo.split('/').all(valid_component) {
            return Err(format!(
                "malformed repository name {repo:?} (lower-case letters, digits, separators)"
            ));
        }
        let tag = if tag.is_none() && digest.is_none() {
            Some("latest".to_string())
        } else {
            tag
        };
        Ok(Reference {
            host,
            repo,
            tag,
            digest,
        })
    }

    /// The host the API is asked on (`registry-1.docker.io` for Docker Hub).
    pub fn api_host(&self) -> &str {
        if self.host == DOCKER_HUB {
            DOCKER_HUB_API
        } else {
            &self.host
        }
    }

    /// What a manifest is asked for by: the digest when given, else the tag.
    pub fn target(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }

    /// Whether the host is this machine (plain HTTP allowed, as Docker does).
    pub fn is_loopback(&self) -> bool {
        loopback(host_only(&self.host))
    }
}

/// Whether a host name (no port) is this machine: `localhost`, 127.0.0.0/8, `::1`.
pub fn loopback(h: &str) -> bool {
    h == "localhost"
        || h.parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| a.is_loopback())
        || h.trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::Ipv6Addr>()
            .is_ok_and(|a| a.is_loopback())
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.host, self.repo)?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// Docker's rule: the first component is a host when it has a dot or a colon, is
/// `localhost`, or has upper-case letters (which a repository cannot).
fn split_host(name: &str) -> (String, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (first.to_string(), rest)
        }
        _ => (DOCKER_HUB.to_string(), name),
    }
}

/// The host without its port.
fn host_only(host: &str) -> &str {
    if host.starts_with('[') {
        return host.split_once(']').map_or(host, |(h, _)| &h[1..]);
    }
    host.split_once(':').map_or(host, |(h, _)| h)
}

fn valid_host(host: &str) -> bool {
    let (h, port) = if host.starts_with('[') {
        match host.split_once(']') {
            Some((h, p)) => (&h[1..], p.strip_prefix(':')),
            None => return false,
        }
    } else {
        match host.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (host, None),
        }
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.parse::<u16>().is_ok());
    let host_ok = if host.starts_with('[') {
        h.parse::<std::net::Ipv6Addr>().is_ok()
    } else {
        !h.is_empty()
            && h.split('.').all(|c| {
                !c.is_empty()
                    && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    && !c.starts_with('-')
                    && !c.ends_with('-')
            })
    };
    port_ok && host_ok
}

/// `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*`
fn valid_component(c: &str) -> bool {
    let b = c.as_bytes();
    if b.is_empty() || !alnum(b[0]) || !alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if alnum(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && !alnum(b[i]) {
            i += 1;
        }
        let sep = &c[start..i];
        if !(sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|x| x == b'-')) {
            return false;
        }
    }
    true
}

fn alnum(b: u8) -> bool {
    b.is_ascii_lowercase() || b.is_ascii_digit()
}

/// `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`
pub fn valid_tag(t: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let b = t.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && word(b[0])
        && b.iter().all(|&x| word(x) || x == b'.' || x == b'-')
}

fn valid_digest(d: &str) -> bool {
    match d.split_once(':') {
        Some((alg, hex)) => {
            !alg.is_empty()
                && alg.bytes().all(|b| alnum(b) || b"+._-".contains(&b))
                && hex.len() >= 32
                && hex
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"=_-".contains(&b))
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(r: &str) -> String {
        Reference::parse(r).unwrap().to_string()
    }

    #[test]
    fn docker_normalization() {
        assert_eq!(s("alpine"), "docker.io/library/alpine:latest");
        assert_eq!(s("alpine:3.18.2"), "docker.io/library/alpine:3.18.2");
        assert_eq!(
            s("archlinux/archlinux:base"),
            "docker.io/archlinux/archlinux:base"
        );
        assert_eq!(s("index.docker.io/x/y"), "docker.io/x/y:latest");
        assert_eq!(s("quay.io/a/b:1"), "quay.io/a/b:1");
        assert_eq!(s("localhost/x"), "localhost/x:latest");
        assert_eq!(s("127.0.0.1:5000/a/b:t"), "127.0.0.1:5000/a/b:t");
        assert_eq!(s("[::1]:5000/a"), "[::1]:5000/a:latest");
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(s(&format!("a@{d}")), format!("docker.io/library/a@{d}"));
        assert_eq!(s(&format!("h.io/a:t@{d}")), format!("h.io/a:t@{d}"));
        assert_eq!(
            Reference::parse("alpine").unwrap().api_host(),
            "registry-1.docker.io"
        );
    }

    #[test]
    fn not_references() {
        for bad in [
            "",
            "/abs/path",
            "./rel",
            "../up",
            "~/x",
            "Upper",
            "a//b",
            "a:",
            "a:-x",
            "a@sha256:xyz",
            "x.io:port/a",
            "a/B",
            "-",
            "a b",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn loopback_hosts() {
        let l = |r: &str| Reference::parse(r).unwrap().is_loopback();
        assert!(l("localhost:5000/a"));
        assert!(l("127.0.0.1:5000/a"));
        assert!(l("127.1.2.3/a"));
        assert!(l("[::1]:5000/a"));
        assert!(!l("quay.io/a"));
        assert!(!l("alpine"));
        assert!(!l("10.0.0.1:5000/a"));
    }
}
