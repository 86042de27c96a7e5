//! Policies are data: a list of rules, each a list of matchers that say which
//! differences it hides. Strict is the empty list; `--semantic` is the command's rules
//! marked `semantic` in [`RULES`]; every flag adds one rule. The comparer computes every
//! difference, then asks the policy which rule (if any) hides it, so what a rule hides
//! is counted, never lost.
//!
//! [`RULES`] is the one table of rules: their flag names, help, what they match,
//! which command has them and whether `--semantic` includes them. The command-line
//! flags (`cli`), `rdiff man`, the README's rule tables (a test keeps them equal) and
//! the rule names in reports all come from it.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use globset::{Glob, GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};

use crate::entry::ext;
use crate::error::{Error, Result};
use crate::report::{FieldDiff, Origin, RuleInfo, Scope, Value};

/// A set of scopes a matcher applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scopes(u8);

impl Scopes {
    pub const INPUT: Scopes = Scopes(1 << 0);
    pub const INDEX: Scopes = Scopes(1 << 1);
    pub const MANIFEST: Scopes = Scopes(1 << 2);
    pub const CONFIG: Scopes = Scopes(1 << 3);
    pub const LAYER: Scopes = Scopes(1 << 4);
    pub const ENTRY: Scopes = Scopes(1 << 5);
    pub const PACKAGE: Scopes = Scopes(1 << 6);
    /// Image metadata: index, manifests, configs, layer descriptors.
    pub const IMAGE: Scopes = Scopes(0b1_1110);

    pub fn has(self, s: Scope) -> bool {
        let bit = match s {
            Scope::Input => Scopes::INPUT,
            Scope::Index => Scopes::INDEX,
            Scope::Manifest => Scopes::MANIFEST,
            Scope::Config => Scopes::CONFIG,
            Scope::Layer => Scopes::LAYER,
            Scope::Entry => Scopes::ENTRY,
            Scope::Package => Scopes::PACKAGE,
        };
        self.0 & bit.0 != 0
    }
}

/// One way a rule recognizes a difference it hides.
#[derive(Clone, Debug)]
pub enum Matcher {
    /// Any difference in this field family, in these scopes.
    Field(Scopes, &'static str),
    /// A difference in this field family whose key matches the glob.
    FieldKey(Scopes, &'static str, GlobMatcher),
    /// An entry's `mode` difference in the file-type bits only (permission bits equal).
    ModeTypeBitsOnly,
    /// An entry's `format` difference explained only by these extension records
    /// (`ext::*` bits).
    FormatRecordsOnly(u32),
    /// Whole entries whose path, or one of whose parent directories, matches the glob.
    Path(GlobMatcher),
    /// A difference in this field family where one side has no value at all (an
    /// optional field one writer fills in and another leaves out).
    OneSideAbsent(Scopes, &'static str),
}

impl Matcher {
    fn hides_field(&self, d: &FieldDiff) -> bool {
        match self {
            Matcher::Field(s, f) => s.has(d.scope) && d.field == *f,
            Matcher::FieldKey(s, f, g) => {
                s.has(d.scope)
                    && d.field == *f
                    && d.key
                        .as_deref()
                        .is_some_and(|k| g.is_match(OsStr::from_bytes(k)))
            }
            Matcher::ModeTypeBitsOnly => match (&d.left, &d.right) {
                // Only the file-type bits (`S_IFMT`, 0o170000) may differ.
                (Value::Mode(l), Value::Mode(r)) => {
                    d.scope == Scope::Entry && d.field == "mode" && (l ^ r) & !0o170_000 == 0
                }
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
                    d.scope == Scope::Entry && d.field == "format" && strip(l) == strip(r)
                }
                _ => false,
            },
            Matcher::Path(_) => false,
            Matcher::OneSideAbsent(s, f) => {
                s.has(d.scope)
                    && d.field == *f
                    && (d.left == Value::Absent) != (d.right == Value::Absent)
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

/// The command a policy is for (the rules `--semantic` means differ).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Command {
    #[default]
    Rootfs,
    Image,
}

/// One rule of the table.
pub struct RuleSpec {
    /// The flag, without dashes.
    pub flag: &'static str,
    /// The name of its argument, for the rules that take one (repeatable).
    pub value: Option<&'static str>,
    /// What it hides: the flag's help, and the README's and man page's description.
    pub hides: &'static str,
    /// Whether `rdiff rootfs` has it (`rdiff image` has every rule).
    pub rootfs: bool,
    /// Whether `--semantic` includes it.
    pub semantic: bool,
    /// Its matchers, given its argument.
    matchers: fn(&str) -> Result<Vec<Matcher>>,
}

impl RuleSpec {
    /// Whether `cmd` has this rule.
    pub fn applies(&self, cmd: Command) -> bool {
        self.rootfs || cmd == Command::Image
    }

    /// The rule, with its argument for the rules that take one.
    pub fn rule(&self, arg: Option<&str>, origin: Origin) -> Result<Rule> {
        let arg = arg.unwrap_or("");
        Ok(Rule {
            name: if self.value.is_some() {
                format!("{} {arg}", self.flag)
            } else {
                self.flag.to_string()
            },
            origin,
            matchers: (self.matchers)(arg)?,
        })
    }
}

use Matcher::{Field, FieldKey, OneSideAbsent};
use Scopes as S;

fn file_timestamps(_: &str) -> Result<Vec<Matcher>> {
    Ok(vec![
        Field(S::ENTRY, "mtime"),
        Field(S::ENTRY, "atime"),
        Field(S::ENTRY, "ctime"),
        FieldKey(S::ENTRY, "pax", key_glob("LIBARCHIVE.creationtime")),
        Matcher::FormatRecordsOnly(ext::TIMES),
        // The same times inside files (nested members' `mtime` is matched above).
        FieldKey(S::ENTRY, "gzip", key_glob("mtime")),
        FieldKey(S::ENTRY, "zip", key_glob("extra.0x5455")),
        FieldKey(S::ENTRY, "pyc", key_glob("mtime")),
        FieldKey(S::ENTRY, "rpm", key_glob("buildtime")),
    ])
}

/// The fields of a nested cpio archive that say how it is written (`cpio.format`, what
/// follows its trailer) and describe the file system it was made from (inode, device,
/// link count), not what an extraction makes.
const CPIO_BOOKKEEPING: &[&str] = &["format", "trailer", "ino", "dev", "nlink"];

/// PAX records that describe the file system the archive was made from or how its
/// headers are encoded, not what an extraction makes.
const PAX_BOOKKEEPING: &[&str] = &[
    "comment",
    "SCHILY.dev",
    "SCHILY.ino",
    "SCHILY.nlink",
    "hdrcharset",
    "charset",
];

fn image_timestamps(_: &str) -> Result<Vec<Matcher>> {
    Ok(vec![
        Field(S::CONFIG, "created"),
        FieldKey(S::CONFIG, "history", key_glob("*.created")),
        FieldKey(
            S::IMAGE,
            "annotations",
            key_glob("org.opencontainers.image.created"),
        ),
    ])
}

/// Every rule, in the order `--help`, the README and reports list them.
pub static RULES: &[RuleSpec] = &[
    RuleSpec {
        flag: "ignore-file-timestamps",
        value: None,
        hides: "file `mtime`, `atime`, `ctime`, the creation time bsdtar records (`pax.LIBARCHIVE.creationtime`), and `format` differences that come only from the PAX records carrying them; inside differing files too: nested members' times, a gzip header's `gzip.mtime`, a zip member's extended timestamp `zip.extra.0x5455`, a pyc's `pyc.mtime`, an rpm's `rpm.buildtime`",
        rootfs: true,
        semantic: true,
        matchers: file_timestamps,
    },
    RuleSpec {
        flag: "ignore-file-order",
        value: None,
        hides: "the `order` of entries in the archive",
        rootfs: true,
        semantic: true,
        matchers: |_| Ok(vec![Field(S::ENTRY, "order")]),
    },
    RuleSpec {
        flag: "ignore-tar-format",
        value: None,
        hides: "how the tar is written: an entry's header `format` (ustar/gnu/pax, extension records), `duplicates`, `header` bytes and `padding`, the PAX records about the source file system, the header encoding and comments (`pax.SCHILY.dev`, `pax.SCHILY.ino`, `pax.SCHILY.nlink`, `pax.hdrcharset`, `pax.charset`, `pax.comment`); inside differing files, a cpio archive's the same (`cpio.ino`, `cpio.dev`, `cpio.nlink`), its header form (`cpio.format`) and what follows its trailer (`cpio.trailer`); the `trailer` after the last member of an input or a layer; the input's `format` (tar or directory; for images the form it is held in) and, for image archives, `archive` (the archive as a tar: its members' headers and order, the data of its own files that are no blob, what follows the last member)",
        rootfs: true,
        semantic: true,
        matchers: |_| {
            Ok(vec![
                Field(S::ENTRY, "format"),
                Field(S::ENTRY, "duplicates"),
                Field(S::ENTRY, "header"),
                Field(S::ENTRY, "padding"),
                Field(S::INPUT, "format"),
                Field(S::INPUT, "trailer"),
                Field(S::LAYER, "trailer"),
                Field(S::INPUT, "archive"),
            ]
            .into_iter()
            .chain(
                PAX_BOOKKEEPING
                    .iter()
                    .map(|k| FieldKey(S::ENTRY, "pax", key_glob(k))),
            )
            .chain(
                CPIO_BOOKKEEPING
                    .iter()
                    .map(|k| FieldKey(S::ENTRY, "cpio", key_glob(k))),
            )
            .collect())
        },
    },
    RuleSpec {
        flag: "treat-canonical-paths-equal",
        value: None,
        hides: "`path_spelling`: `./etc/x`, `etc/x` and `/etc/x` are the same spelling",
        rootfs: true,
        semantic: true,
        matchers: |_| Ok(vec![Field(S::ENTRY, "path_spelling")]),
    },
    RuleSpec {
        flag: "ignore-file-mode-redundant-bits",
        value: None,
        hides: "`mode` differences in the file-type bits only (some writers store them)",
        rootfs: true,
        semantic: true,
        matchers: |_| Ok(vec![Matcher::ModeTypeBitsOnly]),
    },
    RuleSpec {
        flag: "ignore-compression",
        value: None,
        hides: "the input's `compression`: codec, the parameters its headers carry, and `compression.encoding` (same decompressed stream, different compressed bytes)",
        rootfs: true,
        semantic: true,
        matchers: |_| Ok(vec![Field(S::INPUT, "compression")]),
    },
    RuleSpec {
        flag: "ignore-owner-names",
        value: None,
        hides: "`uname`, `gname` (`uid` and `gid` still count)",
        rootfs: true,
        semantic: false,
        matchers: |_| Ok(vec![Field(S::ENTRY, "uname"), Field(S::ENTRY, "gname")]),
    },
    RuleSpec {
        flag: "ignore-path",
        value: Some("GLOB"),
        hides: "whole entries whose path or a parent directory matches GLOB, read as gitignore reads a pattern: `*` within a component, `**` across; a glob with no `/` (or only a trailing one) matches at any depth (`*.pyc`, `__pycache__/`), one with a `/` at its start or inside is anchored at the root (`/passwd`, `var/log/**`); for images also a location such as `layers/1/**` or `config`; repeatable; the report counts what each glob matched, and a glob that matches nothing is a warning (in the report and on stderr)",
        rootfs: true,
        semantic: false,
        matchers: |g| Ok(vec![Matcher::Path(path_glob(g)?)]),
    },
    RuleSpec {
        flag: "ignore-history",
        value: None,
        hides: "the config's `history.*`",
        rootfs: false,
        semantic: true,
        matchers: |_| Ok(vec![Field(S::CONFIG, "history")]),
    },
    RuleSpec {
        flag: "ignore-image-timestamps",
        value: None,
        hides: "the config's `created` and `history.*.created`, the `org.opencontainers.image.created` annotation",
        rootfs: false,
        semantic: true,
        matchers: image_timestamps,
    },
    RuleSpec {
        flag: "ignore-image-name",
        value: None,
        hides: "the `io.containerd.image.name` and `org.opencontainers.image.ref.name` annotations, a docker-archive's `repo_tags`",
        rootfs: false,
        semantic: true,
        matchers: |_| {
            Ok(vec![
                FieldKey(
                    S::IMAGE,
                    "annotations",
                    key_glob("io.containerd.image.name"),
                ),
                FieldKey(
                    S::IMAGE,
                    "annotations",
                    key_glob("org.opencontainers.image.ref.name"),
                ),
                FieldKey(
                    S::IMAGE,
                    "manifest_format",
                    key_glob("annotations.org.opencontainers.image.ref.name"),
                ),
                Field(S::MANIFEST, "repo_tags"),
            ])
        },
    },
    RuleSpec {
        flag: "ignore-build-annotations",
        value: None,
        hides: "annotations a build tool records about its own run rather than the image: `org.opencontainers.image.base.digest` (buildah writes the digest of an intermediate image, which carries build timestamps, so two otherwise equal rebuilds differ there); the base image's name (`org.opencontainers.image.base.name`) stays compared",
        rootfs: false,
        semantic: true,
        matchers: |_| {
            let key = "org.opencontainers.image.base.digest";
            Ok(vec![
                FieldKey(S::IMAGE, "annotations", key_glob(key)),
                FieldKey(
                    S::IMAGE,
                    "manifest_format",
                    key_glob(&format!("annotations.{key}")),
                ),
            ])
        },
    },
    RuleSpec {
        flag: "ignore-timestamps",
        value: None,
        hides: "image and file timestamps (`--ignore-image-timestamps` and `--ignore-file-timestamps`, as diffoci)",
        rootfs: false,
        semantic: false,
        matchers: |a| {
            let mut m = image_timestamps(a)?;
            m.extend(file_timestamps(a)?);
            Ok(m)
        },
    },
    RuleSpec {
        flag: "ignore-manifest-format",
        value: None,
        hides: "Docker schema 2 vs OCI media types (`media_type.format`), an absent optional `mediaType`, a descriptor `platform` present on one side only, annotations a Docker manifest cannot carry (`manifest_format.*`), `index.json` present on one side only (`index.file`), an index.json that points to a nested image index against one that lists the manifests itself (`index/nested.nesting`), the `oci-layout` file (`index.oci_layout`), and an index, manifest or config whose bytes spell the JSON otherwise (`bytes`: spacing, key order, escapes, a key written twice; for the index also the manifests left out by `--platform` / `--ignore-attestations`)",
        rootfs: false,
        semantic: true,
        matchers: |_| {
            Ok(vec![
                FieldKey(S::IMAGE, "media_type", key_glob("format")),
                Field(S::INDEX, "file"),
                Field(S::INDEX, "nesting"),
                Field(S::IMAGE, "manifest_format"),
                Field(S::IMAGE, "bytes"),
                Field(S::INDEX, "oci_layout"),
                OneSideAbsent(S::IMAGE, "platform"),
            ])
        },
    },
    RuleSpec {
        flag: "ignore-index-order",
        value: None,
        hides: "the `order` of the manifests an index lists (manifests are paired by platform whatever their order)",
        rootfs: false,
        semantic: true,
        matchers: |_| Ok(vec![Field(S::INDEX, "order")]),
    },
    RuleSpec {
        flag: "ignore-layer-split",
        value: None,
        hides: "how the filesystem is split into layers, where two images are compared as squashed filesystems (`--squash`, or layer counts that differ): the manifest's `layers` list and the config's `rootfs.diff_ids`",
        rootfs: false,
        semantic: true,
        matchers: |_| {
            Ok(vec![
                Field(S::MANIFEST, "layers"),
                FieldKey(S::CONFIG, "rootfs", key_glob("diff_ids")),
            ])
        },
    },
    RuleSpec {
        flag: "ignore-layer-compression",
        value: None,
        hides: "a layer's `compression` (codec and parameters), `media_type.compression`, and the blob `digest.blob` / `size.blob` of layers whose uncompressed content (diff_id) is equal",
        rootfs: false,
        semantic: true,
        matchers: |_| {
            Ok(vec![
                Field(S::LAYER, "compression"),
                FieldKey(S::IMAGE, "media_type", key_glob("compression")),
                FieldKey(S::IMAGE, "digest", key_glob("blob")),
                FieldKey(S::IMAGE, "size", key_glob("blob")),
            ])
        },
    },
    RuleSpec {
        flag: "ignore-descriptor-digests",
        value: None,
        hides: "descriptor `digest` and `size`, and the config's `rootfs.diff_ids.N` (what they point to is compared instead, under the same rules; a file's `size` is another field)",
        rootfs: false,
        semantic: true,
        matchers: |_| {
            Ok(vec![
                Field(S::IMAGE, "digest"),
                Field(S::IMAGE, "size"),
                FieldKey(S::CONFIG, "rootfs", key_glob("diff_ids.*")),
            ])
        },
    },
    RuleSpec {
        flag: "ignore-annotation",
        value: Some("KEY"),
        hides: "an annotation (glob); repeatable",
        rootfs: false,
        semantic: false,
        matchers: |k| {
            Ok(vec![
                FieldKey(S::IMAGE, "annotations", key_glob(k)),
                FieldKey(
                    S::IMAGE,
                    "manifest_format",
                    key_glob(&format!("annotations.{k}")),
                ),
            ])
        },
    },
    RuleSpec {
        flag: "ignore-label",
        value: Some("KEY"),
        hides: "a config label (glob); repeatable",
        rootfs: false,
        semantic: false,
        matchers: |k| {
            Ok(vec![
                FieldKey(S::CONFIG, "config", key_glob(&format!("Labels.{k}"))),
                FieldKey(
                    S::CONFIG,
                    "container_config",
                    key_glob(&format!("Labels.{k}")),
                ),
            ])
        },
    },
    RuleSpec {
        flag: "ignore-env",
        value: Some("NAME"),
        hides: "an environment variable of the config (glob); repeatable",
        rootfs: false,
        semantic: false,
        matchers: |k| {
            Ok(vec![
                FieldKey(S::CONFIG, "config", key_glob(&format!("Env.{k}"))),
                FieldKey(S::CONFIG, "container_config", key_glob(&format!("Env.{k}"))),
            ])
        },
    },
];

/// The rule of that flag name.
pub fn spec(flag: &str) -> Option<&'static RuleSpec> {
    RULES.iter().find(|r| r.flag == flag)
}

/// The rules `--semantic` turns on for a command, in table order.
pub fn semantic_rules(cmd: Command) -> impl Iterator<Item = &'static RuleSpec> {
    RULES.iter().filter(move |r| r.semantic && r.applies(cmd))
}

/// The README's table of the rules `cmd` has (`image_only`: only those `rootfs` has
/// not), in Markdown.
pub fn markdown_table(cmd: Command, image_only: bool) -> String {
    let mut out = String::from("| rule | hides | in `--semantic` |\n| --- | --- | --- |\n");
    for r in RULES
        .iter()
        .filter(|r| r.applies(cmd) && (!image_only || !r.rootfs))
    {
        let flag = match r.value {
            Some(v) => format!("`--{} {v}`", r.flag),
            None => format!("`--{}`", r.flag),
        };
        let sem = if r.semantic { "yes" } else { "" };
        out.push_str(&format!("| {flag} | {} | {sem} |\n", r.hides));
    }
    out
}

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

/// A rule by its flag name, for the rules that take no argument.
pub fn builtin_rule(name: &str, origin: Origin) -> Option<Rule> {
    spec(name)
        .filter(|s| s.value.is_none())
        .and_then(|s| s.rule(None, origin).ok())
}

/// Compile a path glob as gitignore reads one: `*` stays within one path component,
/// `**` crosses them; a pattern with no `/` but at its end (`*.pyc`, `__pycache__/`)
/// matches at any depth, one with a `/` at its start or inside (`/etc`, `var/log`) is
/// anchored at the root (a leading `/` or `./` is dropped, as paths are compared in
/// normalized form).
pub fn path_glob(pattern: &str) -> Result<GlobMatcher> {
    let trimmed = pattern.trim_end_matches('/');
    let anchored = trimmed.contains('/');
    let p = trimmed.trim_start_matches("./").trim_start_matches('/');
    let p = if p.is_empty() { "." } else { p };
    let any_depth;
    let p = if anchored || p == "." || p.starts_with("**") {
        p
    } else {
        any_depth = format!("**/{p}");
        &any_depth
    };
    path_glob_builder(p)
        .build()
        .map(|g: Glob| g.compile_matcher())
        .map_err(|e| Error::usage(format!("--ignore-path {pattern:?}: {e}")))
}

fn path_glob_builder(pattern: &str) -> GlobBuilder<'_> {
    let mut b = GlobBuilder::new(pattern);
    b.literal_separator(true).backslash_escape(true);
    b
}

/// The rules in force.
#[derive(Clone, Debug, Default)]
pub struct Policy {
    pub rules: Vec<Rule>,
    /// The command, which says what `--semantic` means.
    pub command: Command,
    /// The path rules compiled into one set, made when first asked for (`add` drops it).
    paths: OnceLock<PathSet>,
}

/// Every path rule's glob in one `GlobSet`, so that a path is matched once against all
/// of them. A rule hides a path when its glob matches the path or one of its parent
/// directories: each glob `G` is in the set twice, as `G` and as `G/**` (which matches
/// exactly the paths with a parent that `G` matches, `**` being a whole component).
#[derive(Clone, Debug, Default)]
struct PathSet {
    set: GlobSet,
    /// The rule of each glob in the set.
    rule: Vec<usize>,
}

impl PathSet {
    fn new(rules: &[Rule]) -> PathSet {
        let mut b = GlobSetBuilder::new();
        let mut rule = Vec::new();
        for (i, r) in rules.iter().enumerate() {
            for m in &r.matchers {
                if let Matcher::Path(g) = m {
                    let glob = g.glob();
                    let below = path_glob_builder(&format!("{}/**", glob.glob()))
                        .build()
                        .expect("a valid glob with /** after it");
                    b.add(glob.clone());
                    b.add(below);
                    rule.extend([i, i]);
                }
            }
        }
        PathSet {
            set: b.build().expect("globs that each compiled"),
            rule,
        }
    }

    /// The rules (in policy order, each once) whose glob matches `path` or a parent.
    fn matching(&self, path: &[u8]) -> Vec<usize> {
        if self.rule.is_empty() {
            return Vec::new();
        }
        let candidate = globset::Candidate::new(OsStr::from_bytes(path));
        if !self.set.is_match_candidate(&candidate) {
            return Vec::new();
        }
        let mut rules: Vec<usize> = self
            .set
            .matches_candidate(&candidate)
            .into_iter()
            .map(|g| self.rule[g])
            .collect();
        rules.sort_unstable();
        rules.dedup();
        rules
    }
}

/// How many entries or locations each path rule matched: counted while comparing, for
/// the report (`RuleInfo.matched`) and the "matched nothing" warnings. Shared by every
/// compared set of one report.
#[derive(Debug)]
pub struct PathHits(Vec<AtomicU64>);

impl PathHits {
    pub fn new(policy: &Policy) -> PathHits {
        PathHits(policy.rules.iter().map(|_| AtomicU64::new(0)).collect())
    }

    /// One entry (or location) matched by these rules.
    fn count(&self, rules: &[usize]) {
        for &r in rules {
            if let Some(n) = self.0.get(r) {
                n.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Entries and locations each rule matched (`None` for a rule that hides no path).
    pub fn matched(&self, policy: &Policy) -> Vec<Option<u64>> {
        let paths = policy.path_rules();
        (0..policy.rules.len())
            .map(|i| {
                paths
                    .contains(&i)
                    .then(|| self.0.get(i).map_or(0, |n| n.load(Ordering::Relaxed)))
            })
            .collect()
    }

    /// `--RULE matched no entry`, for each path rule that matched nothing, in policy
    /// order.
    pub fn warnings(&self, policy: &Policy) -> Vec<String> {
        self.matched(policy)
            .iter()
            .enumerate()
            .filter(|(_, m)| **m == Some(0))
            .map(|(i, _)| format!("--{} matched no entry", policy.rules[i].name))
            .collect()
    }
}

impl Policy {
    /// No rules, for `rdiff rootfs`.
    pub fn strict() -> Policy {
        Policy::default()
    }

    /// No rules, for `cmd`.
    pub fn strict_for(cmd: Command) -> Policy {
        Policy {
            rules: Vec::new(),
            command: cmd,
            paths: OnceLock::new(),
        }
    }

    /// The semantic rules of `rdiff rootfs`.
    pub fn semantic() -> Policy {
        Policy::semantic_for(Command::Rootfs)
    }

    /// The semantic rules of `cmd`.
    pub fn semantic_for(cmd: Command) -> Policy {
        Policy {
            rules: semantic_rules(cmd)
                .map(|s| {
                    s.rule(None, Origin::Semantic)
                        .expect("a rule without argument")
                })
                .collect(),
            command: cmd,
            paths: OnceLock::new(),
        }
    }

    /// Add a rule unless one of that name is there already.
    pub fn add(&mut self, rule: Rule) {
        if !self.rules.iter().any(|r| r.name == rule.name) {
            self.rules.push(rule);
            self.paths = OnceLock::new();
        }
    }

    /// `strict`, `semantic`, or `custom`.
    pub fn mode(&self) -> &'static str {
        if self.rules.is_empty() {
            "strict"
        } else if self.rules.len() == semantic_rules(self.command).count()
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
                matched: None,
            })
            .collect()
    }

    /// The rule that hides a whole entry at this path (a path rule whose glob matches
    /// it or a parent directory; the first in policy order).
    pub fn path_rule(&self, path: &[u8]) -> Option<usize> {
        self.path_set().matching(path).first().copied()
    }

    /// As [`Policy::path_rule`], counting the entry in `hits` for every path rule that
    /// matches it.
    pub fn path_rule_hits(&self, path: &[u8], hits: &PathHits) -> Option<usize> {
        self.path_rule_at(path, b"", hits)
    }

    /// The path rule that hides an entry at `path` in a set at `location` (`layers/1/`,
    /// empty for a rootfs): one that matches the path, or else one that matches the
    /// location and path. The entry counts once for each rule matching either.
    pub fn path_rule_at(&self, path: &[u8], location: &[u8], hits: &PathHits) -> Option<usize> {
        let set = self.path_set();
        let own = set.matching(path);
        let mut all = own.clone();
        if !location.is_empty() {
            all.extend(set.matching(&[location, path].concat()));
            all.sort_unstable();
            all.dedup();
        }
        hits.count(&all);
        own.first().or(all.first()).copied()
    }

    /// Whether any rule hides whole entries (then paths are worth matching).
    pub fn has_path_rules(&self) -> bool {
        !self.path_set().rule.is_empty()
    }

    fn path_set(&self) -> &PathSet {
        self.paths.get_or_init(|| PathSet::new(&self.rules))
    }

    /// The rule that hides this field difference.
    pub fn field_rule(&self, d: &FieldDiff) -> Option<usize> {
        self.rules
            .iter()
            .position(|r| r.matchers.iter().any(|m| m.hides_field(d)))
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
        for r in Policy::semantic_for(self.command).rules {
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

    /// The one-set matching (`G` and `G/**`) against the definition: a glob matching
    /// the path or one of its parents, rule by rule in order.
    #[test]
    fn path_set_matches_as_parent_by_parent() {
        let patterns = [
            "var/log",
            "**/*.pyc",
            "etc/*",
            "*",
            "usr/**/doc",
            "layers/1/**",
            "layers/0/.",
            "a/{b,c}",
            "x?z",
            "[ab]/c",
            "usr/share/d0005/**/*.txt",
            ".",
            "**",
            "etc/\\*",
        ];
        let paths = [
            ".",
            "var",
            "var/log",
            "var/log/dpkg.log",
            "var/logs",
            "y.pyc",
            "usr/lib/x/y.pyc",
            "usr/lib/x.pyc/z",
            "etc",
            "etc/x",
            "etc/x/y",
            "etc/*",
            "usr/share/doc",
            "usr/doc/x",
            "usr/a/b/doc/c",
            "layers/1",
            "layers/1/etc/x",
            "layers/0/.",
            "layers/0/etc",
            "a/b",
            "a/c/d",
            "a/d",
            "xyz/q",
            "a/c",
            "b/c/d",
            "usr/share/d0005/f0005.txt",
            "usr/share/d0005/x/f.txt",
        ];
        fn by_parents(g: &GlobMatcher, path: &[u8]) -> bool {
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
        let spec = spec("ignore-path").unwrap();
        // Every pattern alone, and all of them in one policy (first rule wins).
        let mut all = Policy::strict();
        for pat in patterns {
            let mut one = Policy::strict();
            one.add(spec.rule(Some(pat), Origin::Flag).unwrap());
            all.add(spec.rule(Some(pat), Origin::Flag).unwrap());
            let g = path_glob(pat).unwrap();
            for path in paths {
                assert_eq!(
                    one.path_rule(path.as_bytes()).is_some(),
                    by_parents(&g, path.as_bytes()),
                    "{pat} on {path}"
                );
            }
        }
        for path in paths {
            let want = patterns
                .iter()
                .position(|pat| by_parents(&path_glob(pat).unwrap(), path.as_bytes()));
            let hits = PathHits::new(&all);
            assert_eq!(all.path_rule_hits(path.as_bytes(), &hits), want, "{path}");
            let warned = hits.warnings(&all).len();
            let matched = patterns
                .iter()
                .filter(|pat| by_parents(&path_glob(pat).unwrap(), path.as_bytes()))
                .count();
            assert_eq!(warned, patterns.len() - matched, "{path}");
        }
    }

    #[test]
    fn path_globs_cover_children() {
        let mut p = Policy::strict();
        let path = spec("ignore-path").unwrap();
        p.add(path.rule(Some("/var/log"), Origin::Flag).unwrap());
        p.add(path.rule(Some("**/*.pyc"), Origin::Flag).unwrap());
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
