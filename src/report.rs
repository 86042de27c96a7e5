//! The report model: plain data with sorted collections, built by the comparer and
//! formatted by the renderers. Nothing here reads input or prints.

use std::collections::BTreeMap;
use std::fmt;

use serde::ser::{SerializeMap, SerializeStruct};
use serde::{Serialize, Serializer};

use crate::entry::{Bytes, Digest, Format, Kind, Timestamp, display_bytes};

/// Version of the JSON schema (docs/json-format.md). Bump on incompatible changes.
pub const SCHEMA_VERSION: u32 = 2;

/// A compared value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// The side has no such value (attribute missing, entry of another kind).
    Absent,
    Uint(u64),
    Text(String),
    /// Bytes that are usually text (names, link targets).
    Bytes(Bytes),
    Mode(u32),
    Time(Timestamp),
    Digest(Digest),
    Device(u64, u64),
    Kind(Kind),
    Format(Format),
    /// An xattr value, with its decoded meaning where rdiff knows one.
    Xattr {
        raw: Bytes,
        decoded: Option<String>,
    },
    /// A JSON value (image metadata).
    Json(serde_json::Value),
}

pub fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push_str(&format!("{x:02x}"));
    }
    s
}

fn is_printable(b: &[u8]) -> bool {
    std::str::from_utf8(b)
        .is_ok_and(|s| !s.chars().any(|c| c.is_control() && c != '\n' && c != '\t'))
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Absent => f.write_str("(none)"),
            Value::Uint(n) => write!(f, "{n}"),
            // Text can come from an input (a platform, an `oci-layout` file): control
            // characters are escaped, never sent to a terminal.
            Value::Text(s) if s.chars().any(char::is_control) => {
                f.write_str(&display_bytes(s.as_bytes()))
            }
            Value::Text(s) => f.write_str(s),
            Value::Bytes(b) => f.write_str(&display_bytes(b)),
            Value::Mode(m) => write!(f, "{m:04o}"),
            Value::Time(t) => write!(f, "{t}"),
            Value::Digest(d) => write!(f, "sha256:{}", hex(d)),
            Value::Device(a, b) => write!(f, "{a}:{b}"),
            Value::Kind(k) => write!(f, "{k}"),
            Value::Format(x) => write!(f, "{x}"),
            Value::Xattr { raw, decoded } => match decoded {
                Some(d) => f.write_str(d),
                None if is_printable(raw) => write!(f, "{:?}", String::from_utf8_lossy(raw)),
                None => write!(f, "0x{}", hex(raw)),
            },
            Value::Json(v) => write!(f, "{v}"),
        }
    }
}

/// Serialize bytes as a string when they are UTF-8, else as `{"bytes": base64}`.
pub struct BytesJson<'a>(pub &'a [u8]);

impl Serialize for BytesJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(self.0) {
            Ok(t) => s.serialize_str(t),
            Err(_) => {
                use base64::Engine;
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(
                    "bytes",
                    &base64::engine::general_purpose::STANDARD.encode(self.0),
                )?;
                m.end()
            }
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Absent => s.serialize_none(),
            Value::Uint(n) => s.serialize_u64(*n),
            Value::Text(t) => s.serialize_str(t),
            Value::Bytes(b) => BytesJson(b).serialize(s),
            Value::Mode(_)
            | Value::Time(_)
            | Value::Digest(_)
            | Value::Device(..)
            | Value::Kind(_)
            | Value::Format(_) => s.serialize_str(&self.to_string()),
            Value::Xattr { raw, decoded } => match decoded {
                Some(d) => {
                    let mut st = s.serialize_struct("Xattr", 2)?;
                    st.serialize_field("decoded", d)?;
                    st.serialize_field("hex", &hex(raw))?;
                    st.end()
                }
                None => BytesJson(raw).serialize(s),
            },
            Value::Json(v) => v.serialize(s),
        }
    }
}

/// Where a field lives. Rules match fields by scope as well as by name, so that a rule
/// about image metadata (a descriptor's `size`) can never hide an entry's field of the
/// same spelling (a file's `size`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    /// An input as a whole: its bytes, its compression, what follows the last member.
    Input,
    /// An image's index (`index.json`, a nested index).
    Index,
    /// A manifest and its descriptor.
    Manifest,
    /// An image config and its descriptor.
    Config,
    /// A layer's descriptor and blob.
    Layer,
    /// A filesystem entry (a tar member, a directory node), in a rootfs or a layer.
    #[default]
    Entry,
    /// A package of a package database (`packages/NAME`).
    Package,
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Scope::Input => "input",
            Scope::Index => "index",
            Scope::Manifest => "manifest",
            Scope::Config => "config",
            Scope::Layer => "layer",
            Scope::Entry => "entry",
            Scope::Package => "package",
        }
    }
}

/// One differing field of an entry.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDiff {
    /// Where the field lives.
    pub scope: Scope,
    /// Field family: `mtime`, `xattrs`, `content`, ...
    pub field: &'static str,
    /// Sub-key within the family: the xattr name, the ACL kind, ...
    pub key: Option<Bytes>,
    pub left: Value,
    pub right: Value,
    /// Name of the rule that hides this difference.
    pub ignored_by: Option<String>,
}

impl FieldDiff {
    /// A field of an entry (see [`FieldDiff::in_scope`] for the others).
    pub fn new(field: &'static str, left: Value, right: Value) -> Self {
        FieldDiff {
            scope: Scope::Entry,
            field,
            key: None,
            left,
            right,
            ignored_by: None,
        }
    }

    pub fn keyed(field: &'static str, key: impl Into<Bytes>, left: Value, right: Value) -> Self {
        FieldDiff {
            scope: Scope::Entry,
            field,
            key: Some(key.into()),
            left,
            right,
            ignored_by: None,
        }
    }

    /// The same difference, in another scope.
    pub fn in_scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }

    /// `xattrs.security.capability`, `mtime`, ...
    pub fn name(&self) -> String {
        match &self.key {
            Some(k) => format!("{}.{}", self.field, display_bytes(k)),
            None => self.field.to_string(),
        }
    }
}

impl Serialize for FieldDiff {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Field", 7)?;
        st.serialize_field("name", &self.name())?;
        st.serialize_field("scope", &self.scope)?;
        st.serialize_field("field", self.field)?;
        st.serialize_field("key", &self.key.as_deref().map(BytesJson))?;
        st.serialize_field("left", &self.left)?;
        st.serialize_field("right", &self.right)?;
        if let Some(r) = &self.ignored_by {
            st.serialize_field("ignored_by", r)?;
        }
        st.end()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Added,
    Removed,
    Changed,
}

/// What rdiff could say about differing content.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ContentDiff {
    /// A unified diff of text content.
    Text {
        #[serde(skip)]
        unified: String,
        /// Lines of the full unified diff.
        lines: u64,
        /// Lines kept in `unified` (the rest was cut by --max-diff-lines).
        lines_shown: u64,
    },
    /// Binary content: where the first differing byte is.
    Binary {
        first_difference: Option<u64>,
        /// When only a range is known (the exact byte could not be fetched again).
        first_difference_within: Option<(u64, u64)>,
    },
    /// No content diff, and why.
    Unavailable { reason: String },
}

/// One entry (or one metadata location) that differs.
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    /// Where: `etc/hostname` (rootfs), `config`, `layers/0/etc/hostname` (image).
    pub path: Bytes,
    pub status: Status,
    /// Entry kind on each side (absent for metadata locations).
    pub left_kind: Option<Kind>,
    pub right_kind: Option<Kind>,
    /// Size of the added or removed entry.
    pub size: Option<u64>,
    /// What an added or removed symlink points to, or the path a hardlink shares.
    pub target: Option<Bytes>,
    pub fields: Vec<FieldDiff>,
    pub content: Option<ContentDiff>,
    /// For a whole entry hidden by a path rule: that rule's name.
    pub ignored_by: Option<String>,
    /// The compared part the difference belongs to: `rootfs`, or for images `index`,
    /// `manifest`, `config`, `layers/N`, `rootfs` (with a platform prefix when needed).
    pub part: String,
    /// The bytes around where the contents differ, for the hints (not serialized; the
    /// report drops them once the hints are found).
    pub excerpts: Option<Box<Excerpts>>,
    /// The hint (index in `Report::hints`) this difference is folded under: the hint
    /// explains it (every visible field of it, or, for `package-version`, it belongs to
    /// a package whose version changed), and the text, Markdown and HTML reports show
    /// it there instead of in the list of differences.
    pub folded: Option<usize>,
    /// The package that owns the entry (or, inside a file, `OUTER!/INNER`, the outer
    /// file), as the tree's package database lists it: the left side's owner when the
    /// left side has one, else the right side's.
    pub package: Option<Bytes>,
    /// Whether `package` owns the entry on every side that has it (both sides' databases
    /// name it, and no other, for an entry in both trees) and the entry is no file of a
    /// package database: only then may `package-version` fold it (not serialized). An
    /// owner one side's database claims alone, or a database file a list names, explains
    /// nothing.
    pub package_on_each_side: bool,
    /// For a difference inside a file (a member of an archive, a section of an ELF
    /// file): the path of the difference of the file it is inside (`x.deb!/data.tar.xz`
    /// for `x.deb!/data.tar.xz!/usr/bin/x`). A real path may hold `!/` too (a directory
    /// named `a.gz!`); this, not the path, tells them apart.
    pub inside: Option<Bytes>,
}

/// Where two contents differ, as pairs of byte ranges with some context around them:
/// what the content stage saw, handed to the hints.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Excerpts {
    /// Left and right bytes of each differing region, in content order.
    pub regions: Vec<[Bytes; 2]>,
    /// Whether the regions cover every difference of the two contents (false when only
    /// the first ones, or one block of a large file, were looked at).
    pub complete: bool,
}

impl Difference {
    pub fn new(path: Bytes, status: Status) -> Self {
        Difference {
            path,
            status,
            left_kind: None,
            right_kind: None,
            size: None,
            target: None,
            fields: Vec::new(),
            content: None,
            ignored_by: None,
            part: String::new(),
            excerpts: None,
            folded: None,
            package: None,
            package_on_each_side: false,
            inside: None,
        }
    }

    /// The unified diff text, when there is one.
    pub fn unified(&self) -> Option<&str> {
        match &self.content {
            Some(ContentDiff::Text { unified, .. }) => Some(unified),
            _ => None,
        }
    }

    /// The entry's kind as text (`file`, `dir`, ...): the left side's, else the right
    /// side's; empty for a metadata location.
    pub fn kind_name(&self) -> String {
        self.left_kind
            .or(self.right_kind)
            .map(|k| k.to_string())
            .unwrap_or_default()
    }
}

impl Serialize for Difference {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Difference", 9)?;
        st.serialize_field("path", &BytesJson(&self.path))?;
        st.serialize_field("part", &self.part)?;
        st.serialize_field("status", &self.status)?;
        st.serialize_field("left_type", &self.left_kind.map(|k| k.to_string()))?;
        st.serialize_field("right_type", &self.right_kind.map(|k| k.to_string()))?;
        if self.size.is_some() {
            st.serialize_field("size", &self.size)?;
        }
        if let Some(t) = &self.target {
            st.serialize_field("target", &BytesJson(t))?;
        }
        if let Some(p) = &self.package {
            st.serialize_field("package", &BytesJson(p))?;
        }
        if let Some(p) = &self.inside {
            st.serialize_field("inside", &BytesJson(p))?;
        }
        st.serialize_field("fields", &self.fields)?;
        st.serialize_field("diff", &self.unified())?;
        st.serialize_field("content", &self.content)?;
        if let Some(r) = &self.ignored_by {
            st.serialize_field("ignored_by", r)?;
        }
        st.end()
    }
}

/// Where a rule came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// Part of `--semantic`.
    Semantic,
    /// Given on its own.
    Flag,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RuleInfo {
    pub name: String,
    pub origin: Origin,
    /// For a path rule: how many entries and locations it matched (whether or not they
    /// differ), so that a glob that matches less than meant shows.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub matched: Option<u64>,
}

/// How many differences of one field a rule hid.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct IgnoredCount {
    pub rule: String,
    pub origin: Origin,
    /// Field family, or `entry` for whole entries hidden by a path rule.
    pub field: String,
    pub count: u64,
}

impl IgnoredCount {
    /// `3 mtime differences`, or `2 entries` for a path rule.
    pub fn what(&self) -> String {
        let n = self.count.to_string();
        if self.field == "entry" {
            format!("{n} {}", plural(self.count, "entry", "entries"))
        } else {
            format!(
                "{n} {} {}",
                self.field,
                plural(self.count, "difference", "differences")
            )
        }
    }

    /// ` (semantic)` for the rules `--semantic` brought in.
    pub fn origin_label(&self) -> &'static str {
        match self.origin {
            Origin::Semantic => " (semantic)",
            Origin::Flag => "",
        }
    }
}

impl ContentDiff {
    /// The sentence every format uses for content without a text diff:
    /// `binary content differs; first difference at byte 70 000 (0x11170)`.
    pub fn sentence(&self) -> Option<String> {
        match self {
            ContentDiff::Text { .. } => None,
            ContentDiff::Binary {
                first_difference: Some(o),
                ..
            } => Some(format!(
                "binary content differs; first difference at byte {} (0x{o:x})",
                (*o)
            )),
            ContentDiff::Binary {
                first_difference_within: Some((a, b)),
                ..
            } => Some(format!(
                "binary content differs; first difference between bytes {} and {}",
                (*a),
                (*b)
            )),
            ContentDiff::Binary { .. } => Some("binary content differs".into()),
            ContentDiff::Unavailable { reason } => {
                Some(format!("content differs; no diff: {reason}"))
            }
        }
    }

    /// `diff cut: 200 of 5 123 lines shown` when --max-diff-lines cut a text diff.
    pub fn cut_sentence(&self) -> Option<String> {
        match self {
            ContentDiff::Text {
                lines, lines_shown, ..
            } if lines_shown < lines => Some(format!(
                "diff cut: {} of {} lines shown (--max-diff-lines)",
                (*lines_shown),
                (*lines)
            )),
            _ => None,
        }
    }
}

/// Counts for one field family.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct FieldCount {
    pub differences: u64,
    pub ignored: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Summary {
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
    /// Entries that differ only in ignored ways.
    pub ignored_entries: u64,
    pub fields: BTreeMap<String, FieldCount>,
}

impl Summary {
    /// The summary table's rows for whole entries: label, differences, ignored.
    pub fn entry_rows(&self) -> [(&'static str, u64, u64); 3] {
        [
            ("entries added", self.added, 0),
            ("entries removed", self.removed, 0),
            ("entries changed", self.changed, self.ignored_entries),
        ]
    }
}

/// A remark about an entry that is not a difference (duplicates, SOURCE_DATE_EPOCH).
#[derive(Clone, Debug, PartialEq)]
pub struct Note {
    pub path: Bytes,
    /// Short, stable category: `duplicate`, `source-date-epoch`.
    pub kind: &'static str,
    pub message: String,
}

impl Serialize for Note {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Note", 3)?;
        st.serialize_field("path", &BytesJson(&self.path))?;
        st.serialize_field("kind", self.kind)?;
        st.serialize_field("message", &self.message)?;
        st.end()
    }
}

/// A likely cause of differences (docs/hints.md): a known cause with its evidence,
/// and the entries it explains.
#[derive(Clone, Debug, PartialEq)]
pub struct Hint {
    /// Short, stable name of the cause: `timestamp-shift`, `embedded-date`, ...
    pub id: &'static str,
    /// The entries (and locations) it explains, in report order.
    pub paths: Vec<Bytes>,
    /// What was found and what to do about it, in one paragraph.
    pub text: String,
    /// How many of the report's differences are folded under it (see
    /// `Difference::folded`).
    pub folded: u64,
    /// When a presentation limit cut `paths`: how many there were.
    pub paths_total: Option<u64>,
    /// How the folded differences are grouped under it (`package-version`: by the
    /// package that owns them), in the order the reports list the groups; empty when
    /// they are not grouped.
    pub groups: Vec<HintGroup>,
}

/// A group of the differences folded under a hint: those of one package.
#[derive(Clone, Debug, PartialEq)]
pub struct HintGroup {
    /// The packages part the package is in (`packages`, `layers/1/packages`).
    pub part: String,
    /// The package that owns the group's differences.
    pub package: Bytes,
    /// What the reports say of it: `libc6 (2.36-9 -> 2.36-9+deb12u1)`.
    pub label: String,
    /// How many of the report's differences are in it.
    pub folded: u64,
}

impl HintGroup {
    /// Whether `d` (folded under the group's hint) is in this group.
    pub fn holds(&self, d: &Difference) -> bool {
        d.package.as_deref() == Some(&self.package[..]) && packages_part(&d.part) == self.part
    }

    /// `412 entries of libc6 (2.36-9 -> 2.36-9+deb12u1)`.
    pub fn line(&self) -> String {
        format!(
            "{} {} of {}",
            self.folded,
            plural(self.folded, "entry", "entries"),
            self.label
        )
    }
}

/// The part the package differences of a compared part are in: `packages` for a
/// rootfs (`rootfs`) or a squashed image (`linux/arm64/rootfs` ->
/// `linux/arm64/packages`), `layers/1/packages` for a layer (`layers/1`).
pub fn packages_part(part: &str) -> String {
    match part.strip_suffix("rootfs") {
        Some(prefix) if prefix.is_empty() || prefix.ends_with('/') => format!("{prefix}packages"),
        _ => format!("{part}/packages"),
    }
}

/// Whether a part holds package differences (`packages`, `layers/1/packages`).
pub fn is_packages_part(part: &str) -> bool {
    part == "packages" || part.ends_with("/packages")
}

impl Serialize for Hint {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Hint", 4)?;
        st.serialize_field("id", self.id)?;
        let paths: Vec<BytesJson> = self.paths.iter().map(|p| BytesJson(p)).collect();
        st.serialize_field("paths", &paths)?;
        if let Some(n) = self.paths_total {
            st.serialize_field("paths_total", &n)?;
        }
        st.serialize_field("text", &self.text)?;
        st.end()
    }
}

/// Paths a renderer names in a line of text before "and N more".
pub const HINT_PATHS_SHOWN: usize = 8;

impl Hint {
    /// How many entries it explains (`paths` may have been cut).
    pub fn explained(&self) -> u64 {
        self.paths_total.unwrap_or(self.paths.len() as u64)
    }

    /// The first paths, for a line of text.
    pub fn paths_shown(&self) -> impl Iterator<Item = String> {
        self.paths
            .iter()
            .take(HINT_PATHS_SHOWN)
            .map(|p| display_bytes(p))
    }

    /// ` and 12 more` after the paths shown, or nothing.
    pub fn more_paths(&self) -> String {
        let shown = self.paths.len().min(HINT_PATHS_SHOWN) as u64;
        match self.explained() - shown {
            0 => String::new(),
            n => format!(" and {n} more"),
        }
    }

    /// `etc/a, etc/b and 12 more`: the first paths, for a line of text.
    pub fn paths_line(&self) -> String {
        let shown: Vec<String> = self.paths_shown().collect();
        format!("{}{}", shown.join(", "), self.more_paths())
    }

    /// `3 entries`, `1 entry`.
    pub fn entries_text(&self) -> String {
        let n = self.explained();
        format!("{n} {}", plural(n, "entry", "entries"))
    }

    /// What the reports that fold say under the hint.
    pub fn folded_sentence(&self) -> String {
        if !self.groups.is_empty() {
            return format!(
                "{} of them {} to these packages: folded here by package, not listed with \
                 the differences",
                self.folded,
                plural(self.folded, "belongs", "belong")
            );
        }
        format!(
            "{} of them {} in nothing else: folded here, not listed with the differences",
            self.folded,
            plural(self.folded, "differs", "differ")
        )
    }
}

/// Facts about one input.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct InputSummary {
    pub name: String,
    /// `tar`, `directory`, `squashed layers`; for images `oci-layout`, `oci-archive`,
    /// `docker-archive`.
    pub kind: String,
    pub compression: Option<String>,
    /// Entries read; `null` when the input was not read (byte-identical inputs).
    pub entries: Option<u64>,
    pub bytes: u64,
    /// SHA-256 of the input's bytes as given, in hex (as `sha256sum` prints it); `null`
    /// for a directory.
    pub sha256: Option<String>,
    /// A registry image: the digest of the index or manifest its reference names, as
    /// the registry serves it (`sha256:HEX`). Absent for other inputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// A registry image: the bytes received from the registry (documents and blobs).
    /// Absent for other inputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes_fetched: Option<u64>,
    /// A `podman://` or `docker://` image: the repo digests its store recorded
    /// (`REPO@sha256:HEX`, sorted; empty for an image never pulled or pushed). Absent
    /// for other inputs, and when the CLI would not say (a warning says why).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repo_digests: Option<Vec<String>>,
}

impl InputSummary {
    /// `HEX  NAME`, the line `sha256sum` prints for the input.
    pub fn sha256_line(&self) -> Option<String> {
        self.sha256.as_ref().map(|h| format!("{h}  {}", self.name))
    }

    /// `digest sha256:HEX  NAME`: a registry image's digest, as `podman inspect`
    /// prints it; `repo digest REPO@sha256:HEX  NAME` for each repo digest a podman or
    /// Docker store recorded (`repo digest none recorded  NAME` when it has none).
    pub fn digest_lines(&self) -> Vec<String> {
        let name = &self.name;
        let mut v: Vec<String> = self
            .digest
            .iter()
            .map(|d| format!("digest {d}  {name}"))
            .collect();
        match self.repo_digests.as_deref() {
            Some([]) => v.push(format!("repo digest none recorded  {name}")),
            Some(list) => v.extend(list.iter().map(|d| format!("repo digest {d}  {name}"))),
            None => {}
        }
        v
    }

    /// `28 entries`, or `not read` for an input that was not read.
    pub fn entries_text(&self) -> String {
        match self.entries {
            Some(n) => format!("{} {}", n, plural(n, "entry", "entries")),
            None => "not read".to_string(),
        }
    }
}

/// The whole comparison.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub schema_version: u32,
    /// `rootfs` or `image`.
    pub command: String,
    /// `strict`, `semantic` or `custom`.
    pub mode: String,
    /// Equal under the chosen policy: the exit code.
    pub equal: bool,
    /// No difference of any kind, ignored or not.
    pub identical: bool,
    /// Equal under the semantic rules plus any rules given.
    pub semantically_equal: bool,
    pub left: InputSummary,
    pub right: InputSummary,
    pub rules: Vec<RuleInfo>,
    pub summary: Summary,
    /// Likely causes, the one that explains the most entries first (docs/hints.md).
    pub hints: Vec<Hint>,
    /// Differences the policy does not hide (only their visible fields).
    pub differences: Vec<Difference>,
    /// What was ignored, by rule and field.
    pub ignored: Vec<IgnoredCount>,
    /// With `--show-ignored`: the hidden differences (only their hidden fields).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ignored_differences: Option<Vec<Difference>>,
    pub notes: Vec<Note>,
    pub warnings: Vec<String>,
    /// The parts compared (`rootfs`; for images `index`, `manifest`, `config`,
    /// `layers/N` or `rootfs`, per platform), with or without differences.
    pub parts: Vec<String>,
    /// Set when a size or count limit cut the report for presentation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cut: Option<Cut>,
    /// The verdict of the report before a cut (a cut report lists fewer differences).
    #[serde(skip)]
    pub verdict_before_cut: Option<String>,
    /// Settings the renderers need (not computed by them).
    #[serde(skip)]
    pub limits: ReportLimits,
}

/// What a limit cut from a report.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Cut {
    /// Differences in the report before the cut.
    pub differences_total: u64,
    /// Differences shown.
    pub differences_shown: u64,
    /// `--max-entries-shown N` or `--max-report-size N`.
    pub by: String,
    /// Differences not shown, by part.
    pub not_shown: BTreeMap<String, u64>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReportLimits {
    pub max_diff_lines: u64,
    /// Bytes per rendered report (`None`: no limit; Markdown has its own default).
    pub max_report_size: Option<u64>,
    /// Differences shown per report.
    pub max_entries_shown: Option<u64>,
}

impl Report {
    /// The differences the text, Markdown and HTML reports list: those not folded under
    /// a hint.
    pub fn listed(&self) -> impl Iterator<Item = &Difference> {
        self.differences.iter().filter(|d| d.folded.is_none())
    }

    /// The group (index in its hint's `groups`) a folded difference is in, if its hint
    /// groups what it folds.
    pub fn fold_group(&self, d: &Difference) -> Option<usize> {
        let h = self.hints.get(d.folded?)?;
        h.groups.iter().position(|g| g.holds(d))
    }

    /// The rules in force, as the flags that name them: `--ignore-file-order`, ...
    pub fn rule_flags(&self) -> Vec<String> {
        self.rules
            .iter()
            .map(|x| match x.matched {
                Some(n) => format!("--{} ({} matched)", x.name, n),
                None => format!("--{}", x.name),
            })
            .collect()
    }

    /// The one-line verdict, e.g. `different: 3 entries differ (1 added, 2 changed)`.
    pub fn verdict(&self) -> String {
        if let Some(v) = &self.verdict_before_cut {
            return v.clone();
        }
        let s = &self.summary;
        let n = s.added + s.removed + s.changed;
        let hidden: u64 = self.ignored.iter().map(|i| i.count).sum();
        if self.identical {
            return "identical: no differences".to_string();
        }
        if self.equal {
            return format!(
                "equal under the {} policy; not bit-for-bit identical ({} {} ignored)",
                self.mode,
                hidden,
                plural(hidden, "difference", "differences"),
            );
        }
        let mut parts = Vec::new();
        for (k, label) in [
            (s.added, "added"),
            (s.removed, "removed"),
            (s.changed, "changed"),
        ] {
            if k > 0 {
                parts.push(format!("{} {label}", k));
            }
        }
        if self.mode == "strict" && self.semantically_equal {
            // Both verdicts in one line, naming what breaks bit-for-bit identity.
            let mut what: Vec<String> = Vec::new();
            let mut count = 0u64;
            for d in &self.differences {
                if d.fields.is_empty() {
                    count += 1;
                    what.push(format!("{} {:?}", display_bytes(&d.path), d.status).to_lowercase());
                }
                for f in &d.fields {
                    count += 1;
                    what.push(format!("{} {}", display_bytes(&d.path), f.name()));
                }
            }
            let shown = what.len().min(5);
            let more = if what.len() > shown { ", ..." } else { "" };
            return format!(
                "not bit-for-bit identical ({} {}: {}{more}); semantically equal",
                count,
                plural(count, "difference", "differences"),
                what[..shown].join(", ")
            );
        }
        let mut v = if n == 0 {
            // Only the inputs as wholes differ (their compression, what follows the
            // last member): name the fields.
            let what: Vec<String> = self
                .differences
                .iter()
                .flat_map(|d| d.fields.iter().map(|f| f.name()))
                .collect();
            format!("different: the inputs differ ({})", what.join(", "))
        } else {
            format!(
                "different: {} {} ({})",
                n,
                plural(n, "entry differs", "entries differ"),
                parts.join(", ")
            )
        };
        if self.mode == "strict" {
            v.push_str("; also different under --semantic");
        }
        v
    }
}

pub fn plural<'a>(n: u64, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}
