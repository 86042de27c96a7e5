//! Policies are data: a list of rules, each a list of matchers that say which
//! differences it hides. Strict is the empty list; `--semantic` is a fixed list; every
//! flag adds one rule. The comparer computes every difference, then asks the policy
//! which rule (if any) hides it, so what a rule hides is counted, never lost.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use globset::{Glob, GlobBuilder, GlobMatcher};

use crate::entry::ext;
use crate::error::{Error, Result};
use crate::report::{FieldDiff, Origin, RuleInfo, Value};

/// One way a rule recognizes a difference it hides.
#[derive(Clone, Debug)]
pub enum Matcher {
    /// Any difference in this field family.
    Field(&'static str),
    /// A difference in this field family whose key matches the glob.
    FieldKey(&'static str, GlobMatcher),
    /// A `mode` difference in the file-type bits only (permission bits equal).
    ModeTypeBitsOnly,
    /// A `format` difference explained only by these extension records (`ext::*` bits).
    FormatRecordsOnly(u32),
    /// Whole entries whose path, or one of whose parent directories, matches the glob.
    Path(GlobMatcher),
    /// A difference in this field family where one side has no value at all (an
    /// optional field one writer fills in and another leaves out).
    OneSideAbsent(&'static str),
}

impl Matcher {
    fn hides_field(&self, d: &FieldDiff) -> bool {
        match self {
            Matcher::Field(f) => d.field == *f,
            Matcher::FieldKey(f, g) => {
                d.field == *f
                    && d.key
                        .as_deref()
                        .is_some_and(|k| g.is_match(OsStr::from_bytes(k)))
            }
            Matcher::ModeTypeBitsOnly => match (&d.left, &d.right) {
                (Value::Mode(l), Value::Mode(r)) => d.field == "mode" && l & 0o7777 == r & 0o7777,
                _ => false,
            },
            Matcher::FormatRecordsOnly(mask) => match (&d.left, &d.right) {
                (Value::Format(l), Value::Format(r)) => {
                    // A member is PAX only because of these records if, without them,
                    // nothing PAX is left: then it counts as ustar.
                    let strip = |f: &crate::entry::Format| {
                        let ext = f.ext & !mask;
                        let pax_only_for_these = f.header == crate::entry::HeaderFormat::Pax
                            && ext & !(ext::PREFIX) == 0;
                        let header = if pax_only_for_these {
                            crate::entry::HeaderFormat::Ustar
                        } else {
                            f.header
                        };
                        (header, ext)
                    };
                    d.field == "format" && strip(l) == strip(r)
                }
                _ => false,
            },
            Matcher::Path(_) => false,
            Matcher::OneSideAbsent(f) => {
                d.field == *f && (d.left == Value::Absent) != (d.right == Value::Absent)
            }
        }
    }

    fn hides_path(&self, path: &[u8]) -> bool {
        let Matcher::Path(g) = self else {
            return false;
        };
        let mut p = path;
        loop {
            if g.is_match(OsStr::from_bytes(p)) {
                return true;
            }
            match p.iter().rposition(|&b| b == b'/') {
                Some(i) => p = &p[..i],
                None => return false,
            }
        }
    }
}

/// A named rule.
#[derive(Clone, Debug)]
pub struct Rule {
    /// The flag that enables it, without dashes: `ignore-file-timestamps`,
    /// `ignore-path var/log/**`.
    pub name: String,
    pub origin: Origin,
    pub matchers: Vec<Matcher>,
}

/// The rules in force.
#[derive(Clone, Debug)]
pub struct Policy {
    pub rules: Vec<Rule>,
    /// The rules `--semantic` means for this command.
    pub semantic_names: &'static [&'static str],
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            rules: Vec::new(),
            semantic_names: SEMANTIC_ROOTFS,
        }
    }
}

/// The names of the rules `--semantic` turns on, for rootfs comparisons.
pub const SEMANTIC_ROOTFS: &[&str] = &[
    "ignore-file-timestamps",
    "ignore-file-order",
    "ignore-tar-format",
    "treat-canonical-paths-equal",
    "ignore-file-mode-redundant-bits",
];

/// The names of the rules `--semantic` turns on, for image comparisons.
pub const SEMANTIC_IMAGE: &[&str] = &[
    "ignore-file-timestamps",
    "ignore-file-order",
    "ignore-tar-format",
    "treat-canonical-paths-equal",
    "ignore-file-mode-redundant-bits",
    "ignore-history",
    "ignore-image-timestamps",
    "ignore-image-name",
    "ignore-manifest-format",
    "ignore-layer-compression",
    "ignore-descriptor-digests",
];

fn key_glob(pattern: &str) -> GlobMatcher {
    GlobBuilder::new(pattern)
        .literal_separator(false)
        .build()
        .map(|g| g.compile_matcher())
        .unwrap_or_else(|_| {
            GlobBuilder::new(&globset::escape(pattern))
                .build()
                .expect("escaped glob")
                .compile_matcher()
        })
}

/// Matchers of the rules that take no argument.
fn builtin_matchers(name: &str) -> Option<Vec<Matcher>> {
    Some(match name {
        "ignore-history" => vec![Matcher::Field("history")],
        "ignore-image-timestamps" => vec![
            Matcher::Field("created"),
            Matcher::FieldKey("history", key_glob("*.created")),
            Matcher::FieldKey("annotations", key_glob("org.opencontainers.image.created")),
        ],
        "ignore-image-name" => vec![
            Matcher::FieldKey("annotations", key_glob("io.containerd.image.name")),
            Matcher::FieldKey("annotations", key_glob("org.opencontainers.image.ref.name")),
            Matcher::FieldKey(
                "manifest_format",
                key_glob("annotations.org.opencontainers.image.ref.name"),
            ),
            Matcher::Field("repo_tags"),
        ],
        "ignore-timestamps" => {
            let mut m = builtin_matchers("ignore-image-timestamps")?;
            m.extend(builtin_matchers("ignore-file-timestamps")?);
            m
        }
        "ignore-manifest-format" => vec![
            Matcher::FieldKey("media_type", key_glob("format")),
            Matcher::Field("index"),
            Matcher::Field("manifest_format"),
            Matcher::OneSideAbsent("platform"),
        ],
        "ignore-layer-compression" => vec![
            Matcher::Field("compression"),
            Matcher::FieldKey("media_type", key_glob("compression")),
            Matcher::FieldKey("digest", key_glob("blob")),
            Matcher::FieldKey("size", key_glob("blob")),
        ],
        "ignore-descriptor-digests" => vec![
            Matcher::Field("digest"),
            Matcher::Field("size"),
            Matcher::FieldKey("rootfs", key_glob("diff_ids.*")),
        ],
        _ => return builtin_file_matchers(name),
    })
}

/// A rule that takes an argument: `--ignore-annotation KEY`, `--ignore-label KEY`,
/// `--ignore-env NAME` (globs allowed).
pub fn keyed_rule(flag: &str, arg: &str) -> Rule {
    let m = match flag {
        "ignore-annotation" => Matcher::FieldKey("annotations", key_glob(arg)),
        "ignore-label" => Matcher::FieldKey("config", key_glob(&format!("Labels.{arg}"))),
        "ignore-env" => Matcher::FieldKey("config", key_glob(&format!("Env.{arg}"))),
        other => unreachable!("not a keyed rule: {other}"),
    };
    let mut matchers = vec![m];
    if flag == "ignore-annotation" {
        matchers.push(Matcher::FieldKey(
            "manifest_format",
            key_glob(&format!("annotations.{arg}")),
        ));
    } else {
        let family = if flag == "ignore-label" {
            "Labels"
        } else {
            "Env"
        };
        matchers.push(Matcher::FieldKey(
            "container_config",
            key_glob(&format!("{family}.{arg}")),
        ));
    }
    Rule {
        name: format!("{flag} {arg}"),
        origin: Origin::Flag,
        matchers,
    }
}

/// A rule by its flag name, for the rules that take no argument.
pub fn builtin_rule(name: &str, origin: Origin) -> Option<Rule> {
    Some(Rule {
        name: name.to_string(),
        origin,
        matchers: builtin_matchers(name)?,
    })
}

fn builtin_file_matchers(name: &str) -> Option<Vec<Matcher>> {
    let m: Vec<Matcher> = match name {
        "ignore-file-timestamps" => vec![
            Matcher::Field("mtime"),
            Matcher::Field("atime"),
            Matcher::Field("ctime"),
            Matcher::FormatRecordsOnly(ext::TIMES),
        ],
        "ignore-file-order" => vec![Matcher::Field("order")],
        "ignore-tar-format" => vec![Matcher::Field("format"), Matcher::Field("duplicates")],
        "treat-canonical-paths-equal" => vec![Matcher::Field("path_spelling")],
        "ignore-file-mode-redundant-bits" => vec![Matcher::ModeTypeBitsOnly],
        "ignore-owner-names" => vec![Matcher::Field("uname"), Matcher::Field("gname")],
        _ => return None,
    };
    Some(m)
}

/// Compile a path glob: `*` stays within one path component, `**` crosses them; a
/// leading `/` or `./` is dropped, as paths are compared in normalized form.
pub fn path_glob(pattern: &str) -> Result<GlobMatcher> {
    let p = pattern.trim_start_matches("./").trim_start_matches('/');
    let p = p.trim_end_matches('/');
    let p = if p.is_empty() { "." } else { p };
    GlobBuilder::new(p)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map(|g: Glob| g.compile_matcher())
        .map_err(|e| Error::usage(format!("--ignore-path {pattern:?}: {e}")))
}

impl Policy {
    pub fn strict() -> Policy {
        Policy::default()
    }

    /// No rules, for a command whose `--semantic` means `names`.
    pub fn strict_for(names: &'static [&'static str]) -> Policy {
        Policy {
            rules: Vec::new(),
            semantic_names: names,
        }
    }

    /// The semantic rule set for rootfs comparisons.
    pub fn semantic() -> Policy {
        Policy::semantic_for(SEMANTIC_ROOTFS)
    }

    /// The semantic rule set `names`.
    pub fn semantic_for(names: &'static [&'static str]) -> Policy {
        Policy {
            rules: names
                .iter()
                .map(|n| builtin_rule(n, Origin::Semantic).expect("known rule"))
                .collect(),
            semantic_names: names,
        }
    }

    /// Add a rule unless one of that name is there already.
    pub fn add(&mut self, rule: Rule) {
        if !self.rules.iter().any(|r| r.name == rule.name) {
            self.rules.push(rule);
        }
    }

    /// `strict`, `semantic`, or `custom`.
    pub fn mode(&self) -> &'static str {
        if self.rules.is_empty() {
            "strict"
        } else if self.rules.len() == self.semantic_names.len()
            && self.rules.iter().all(|r| r.origin == Origin::Semantic)
        {
            "semantic"
        } else {
            "custom"
        }
    }

    pub fn infos(&self) -> Vec<RuleInfo> {
        self.rules
            .iter()
            .map(|r| RuleInfo {
                name: r.name.clone(),
                origin: r.origin,
            })
            .collect()
    }

    /// The rule that hides a whole entry at this path.
    pub fn path_rule(&self, path: &[u8]) -> Option<usize> {
        self.rules
            .iter()
            .position(|r| r.matchers.iter().any(|m| m.hides_path(path)))
    }

    /// The rule that hides this field difference.
    pub fn field_rule(&self, d: &FieldDiff) -> Option<usize> {
        self.rules
            .iter()
            .position(|r| r.matchers.iter().any(|m| m.hides_field(d)))
    }

    /// A policy of just rule `i` (to ask what that one rule matches).
    pub fn only(&self, i: usize) -> Policy {
        Policy {
            rules: vec![self.rules[i].clone()],
            semantic_names: self.semantic_names,
        }
    }

    /// Index of the rule with this name (rule names are unique in a policy).
    pub fn index_of(&self, name: &str) -> usize {
        self.rules
            .iter()
            .position(|r| r.name == name)
            .unwrap_or(usize::MAX)
    }

    /// This policy with the semantic rules added (for the "semantically equal" verdict).
    pub fn with_semantic(&self) -> Policy {
        let mut p = self.clone();
        for r in Policy::semantic_for(self.semantic_names).rules {
            p.add(r);
        }
        p
    }

    /// Indices of the path rules, for "matched nothing" warnings.
    pub fn path_rules(&self) -> Vec<usize> {
        (0..self.rules.len())
            .filter(|&i| {
                self.rules[i]
                    .matchers
                    .iter()
                    .any(|m| matches!(m, Matcher::Path(_)))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entry::{Format, HeaderFormat};

    #[test]
    fn semantic_hides_timestamps_and_type_bits_only() {
        let p = Policy::semantic();
        let mtime = FieldDiff::new("mtime", Value::Uint(1), Value::Uint(2));
        assert_eq!(
            p.rules[p.field_rule(&mtime).unwrap()].name,
            "ignore-file-timestamps"
        );
        let bits = FieldDiff::new("mode", Value::Mode(0o100644), Value::Mode(0o644));
        assert_eq!(
            p.rules[p.field_rule(&bits).unwrap()].name,
            "ignore-file-mode-redundant-bits"
        );
        let perms = FieldDiff::new("mode", Value::Mode(0o644), Value::Mode(0o600));
        assert_eq!(p.field_rule(&perms), None);
        let content = FieldDiff::new("content", Value::Uint(1), Value::Uint(2));
        assert_eq!(p.field_rule(&content), None);
        assert_eq!(p.mode(), "semantic");
        assert_eq!(Policy::strict().mode(), "strict");
    }

    #[test]
    fn timestamp_rule_hides_format_changes_from_time_records_only() {
        let mut p = Policy::strict();
        p.add(builtin_rule("ignore-file-timestamps", Origin::Flag).unwrap());
        assert_eq!(p.mode(), "custom");
        let f = |ext| {
            Value::Format(Format {
                header: HeaderFormat::Pax,
                ext,
            })
        };
        let times = FieldDiff::new(
            "format",
            f(ext::PATH),
            f(ext::PATH | ext::ATIME | ext::CTIME),
        );
        assert!(p.field_rule(&times).is_some());
        let xattr = FieldDiff::new("format", f(ext::PATH), f(ext::PATH | ext::XATTR));
        assert!(p.field_rule(&xattr).is_none());
    }

    #[test]
    fn path_globs_cover_children() {
        let mut p = Policy::strict();
        p.add(Rule {
            name: "ignore-path var/log".into(),
            origin: Origin::Flag,
            matchers: vec![Matcher::Path(path_glob("/var/log").unwrap())],
        });
        p.add(Rule {
            name: "ignore-path *.pyc".into(),
            origin: Origin::Flag,
            matchers: vec![Matcher::Path(path_glob("**/*.pyc").unwrap())],
        });
        assert_eq!(p.path_rule(b"var/log"), Some(0));
        assert_eq!(p.path_rule(b"var/log/dpkg.log"), Some(0));
        assert_eq!(p.path_rule(b"var/logs"), None);
        assert_eq!(p.path_rule(b"usr/lib/x/y.pyc"), Some(1));
        assert_eq!(p.path_rule(b"y.pyc"), Some(1));
        let star = path_glob("etc/*").unwrap();
        assert!(star.is_match("etc/x"));
        assert!(!star.is_match("etc/x/y"));
    }
}
