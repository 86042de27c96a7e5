//! Comparison: two entry sets and a policy in, differences out, then the report model.
//! Pure: reads nothing but its arguments (content diffs aside, which ask the sources
//! for bytes), prints nothing.

pub mod content;
pub mod excerpt;
pub mod keeper;
pub mod nested;
pub mod order;
pub mod packages;
pub mod pair;
pub mod policy;

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::entry::{Bytes, Entry, Timestamp};
use crate::report::{
    Difference, FieldCount, FieldDiff, IgnoredCount, InputSummary, Note, Report, ReportLimits,
    RuleInfo, SCHEMA_VERSION, Scope, Status, Summary, Value,
};
use crate::source::{Carries, EntrySet, InputInfo, SourceKind};
use policy::{PathHits, Policy};

fn opt_bytes(b: &Option<Bytes>) -> Value {
    match b {
        Some(b) => Value::Bytes(b.clone()),
        None => Value::Absent,
    }
}

fn spelling_value(e: &Entry) -> Value {
    e.spelling_bytes()
        .map_or(Value::Absent, |b| Value::Bytes(b.into_owned().into()))
}

fn opt_time(t: Option<Timestamp>) -> Value {
    t.map_or(Value::Absent, Value::Time)
}

fn xattr_value(name: &[u8], v: Option<&Bytes>) -> Value {
    match v {
        None => Value::Absent,
        Some(raw) => Value::Xattr {
            raw: raw.clone(),
            decoded: (name == b"security.capability")
                .then(|| crate::meta::decode_capability(raw))
                .flatten(),
        },
    }
}

/// Every field difference of two entries at the same path, in the documented order.
pub fn compare_fields(l: &Entry, r: &Entry, lc: Carries, rc: Carries) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    let mut push = |field: &'static str, a: Value, b: Value| {
        if a != b {
            out.push(FieldDiff::new(field, a, b));
        }
    };
    push("type", Value::Kind(l.kind), Value::Kind(r.kind));
    push("mode", Value::Mode(l.mode), Value::Mode(r.mode));
    push("uid", Value::Uint(l.uid), Value::Uint(r.uid));
    push("gid", Value::Uint(l.gid), Value::Uint(r.gid));
    push("uname", opt_bytes(&l.uname), opt_bytes(&r.uname));
    push("gname", opt_bytes(&l.gname), opt_bytes(&r.gname));
    push("size", Value::Uint(l.size), Value::Uint(r.size));
    push("mtime", opt_time(l.mtime), opt_time(r.mtime));
    if lc.atime_ctime && rc.atime_ctime {
        push("atime", opt_time(l.atime()), opt_time(r.atime()));
        push("ctime", opt_time(l.ctime()), opt_time(r.ctime()));
    }
    push(
        "link_target",
        opt_bytes(&l.link_target),
        opt_bytes(&r.link_target),
    );
    let hardlink = |e: &Entry| opt_bytes(&e.hardlink_target);
    push("hardlink_target", hardlink(l), hardlink(r));
    let device = |e: &Entry| {
        e.device()
            .map_or(Value::Absent, |(a, b)| Value::Device(a, b))
    };
    push("device", device(l), device(r));
    // Contents are equal exactly when their SHA-256 digests are (computed while
    // streaming, for every regular file of both sides).
    let content = |e: &Entry| e.digest.map_or(Value::Absent, Value::Digest);
    push("content", content(l), content(r));
    // How the tar wrote the member (a directory has none of it).
    let tar = lc.format && rc.format;
    if tar {
        tar_fields(l, r, &mut push);
    }
    if lc.spelling && rc.spelling {
        push("path_spelling", spelling_value(l), spelling_value(r));
    }
    keyed_fields(l, r, tar, &mut out);
    out
}

/// The fields of how a tar wrote a member: header format, duplicates, the header bytes
/// no other field explains, the padding after the data (see `source::tar::framing`).
fn tar_fields(l: &Entry, r: &Entry, push: &mut impl FnMut(&'static str, Value, Value)) {
    let format = |e: &Entry| e.format.map_or(Value::Absent, Value::Format);
    push("format", format(l), format(r));
    let dups = |e: &Entry| Value::Uint(u64::from(e.occurrences));
    push("duplicates", dups(l), dups(r));
    let header = |e: &Entry| e.header.map_or(Value::Absent, Value::Digest);
    let (lh, rh) = (header(l), header(r));
    match time_spelling_difference(l, r) {
        Some((a, b)) if lh == rh => push("header", a, b),
        _ => push("header", lh, rh),
    }
    let pad = |e: &Entry| {
        e.padding()
            .map_or(Value::Text("zeros".into()), |d| Value::Digest(*d))
    };
    push("padding", pad(l), pad(r));
}

/// xattrs, PAX records (between tar sources: `tar`) and ACLs, key by key (each map is
/// sorted).
fn keyed_fields(l: &Entry, r: &Entry, tar: bool, out: &mut Vec<FieldDiff>) {
    let keys: std::collections::BTreeSet<&Bytes> =
        l.xattrs().keys().chain(r.xattrs().keys()).collect();
    for k in keys {
        let (a, b) = (l.xattrs().get(k), r.xattrs().get(k));
        if a != b {
            let (a, b) = (xattr_value(k, a), xattr_value(k, b));
            out.push(FieldDiff::keyed("xattrs", k.clone(), a, b));
        }
    }
    // PAX records rdiff reads into no other field, keyword by keyword (a tar's: a
    // directory has none to compare).
    let keys: std::collections::BTreeSet<&Bytes> = if tar {
        l.pax().keys().chain(r.pax().keys()).collect()
    } else {
        Default::default()
    };
    for k in keys {
        let (a, b) = (l.pax().get(k), r.pax().get(k));
        if a != b {
            let (a, b) = (opt_bytes(&a.cloned()), opt_bytes(&b.cloned()));
            out.push(FieldDiff::keyed("pax", k.clone(), a, b));
        }
    }
    let kinds: std::collections::BTreeSet<&&str> = l.acl().keys().chain(r.acl().keys()).collect();
    for k in kinds {
        let (a, b) = (l.acl().get(*k), r.acl().get(*k));
        if a != b {
            let v = |x: Option<&String>| x.map_or(Value::Absent, |s| Value::Text(s.clone()));
            out.push(FieldDiff::keyed("acl", k.as_bytes(), v(a), v(b)));
        }
    }
}

/// Where a time is the same on both sides but its PAX record is spelled otherwise
/// (`1700000000.0` against `1700000000`): a header difference no other field shows.
fn time_spelling_difference(l: &Entry, r: &Entry) -> Option<(Value, Value)> {
    let times = |e: &Entry| [e.mtime, e.atime(), e.ctime()];
    let (lt, rt) = (times(l), times(r));
    let (ls, rs) = (l.time_spellings(), r.time_spellings());
    for (i, name) in ["mtime", "atime", "ctime"].iter().enumerate() {
        if ls[i] != rs[i] && lt[i] == rt[i] {
            let v = |s: &Option<Bytes>| {
                Value::Text(match s {
                    Some(shape) => format!(
                        "{name} record spelled {}",
                        crate::source::tar::framing::shape_text(shape)
                    ),
                    None => format!("{name} record spelled as rdiff spells it"),
                })
            };
            return Some((v(&ls[i]), v(&rs[i])));
        }
    }
    None
}

enum Item {
    Left(usize),
    Right(usize),
    Both(usize, usize, bool),
}

/// All differences between two entry sets, sorted by path, each field (and each whole
/// entry) tagged with the rule that hides it, if any. Path rules are matched once per
/// entry, against its path and against its location (`location` + path: `layers/1/`
/// for images, empty for a rootfs), and what they match is marked in `hits`.
pub fn compare_sets(
    left: &EntrySet,
    right: &EntrySet,
    policy: &Policy,
    location: &[u8],
    hits: &PathHits,
) -> Vec<Difference> {
    let (le, re) = (&left.entries, &right.entries);
    let (lc, rc) = (left.info.kind.carries(), right.info.kind.carries());
    let mut items = merge(le, re);
    if lc.order && rc.order {
        mark_moved(&mut items, le, re);
    }
    let paths = policy.has_path_rules();
    items
        .par_iter()
        .filter_map(|it| {
            let hidden_by = if paths {
                let path = match *it {
                    Item::Left(a) | Item::Both(a, _, _) => &le[a].path,
                    Item::Right(b) => &re[b].path,
                };
                policy.path_rule_at(path, location, hits)
            } else {
                None
            };
            let mut d = difference(it, le, re, (lc, rc))?;
            d.ignored_by = hidden_by.map(|r| policy.rules[r].name.clone());
            for f in &mut d.fields {
                f.ignored_by = policy.field_rule(f).map(|r| policy.rules[r].name.clone());
            }
            Some(d)
        })
        .collect()
}

/// Both sorted entry lists merged by path.
fn merge(le: &[Entry], re: &[Entry]) -> Vec<Item> {
    let mut items = Vec::with_capacity(le.len().max(re.len()));
    let (mut i, mut j) = (0, 0);
    while i < le.len() || j < re.len() {
        match (le.get(i), re.get(j)) {
            (Some(a), Some(b)) if a.path == b.path => {
                items.push(Item::Both(i, j, false));
                i += 1;
                j += 1;
            }
            (Some(a), Some(b)) if a.path < b.path => {
                items.push(Item::Left(i));
                i += 1;
            }
            (Some(_), None) => {
                items.push(Item::Left(i));
                i += 1;
            }
            _ => {
                items.push(Item::Right(j));
                j += 1;
            }
        }
    }
    items
}

/// Mark the common entries that moved: those outside the longest run that keeps its
/// order on both sides.
fn mark_moved(items: &mut [Item], le: &[Entry], re: &[Entry]) {
    let mut common: Vec<(u64, u64, usize)> = items
        .iter()
        .enumerate()
        .filter_map(|(k, it)| match it {
            Item::Both(a, b, _) => Some((u64::from(le[*a].order?), u64::from(re[*b].order?), k)),
            _ => None,
        })
        .collect();
    common.sort_unstable();
    let positions: Vec<u64> = common.iter().map(|c| c.1).collect();
    for (m, c) in order::moved(&positions).into_iter().zip(&common) {
        if m && let Item::Both(_, _, moved) = &mut items[c.2] {
            *moved = true;
        }
    }
}

/// The difference one merged item makes, if any (before any rule is asked).
fn difference(
    it: &Item,
    le: &[Entry],
    re: &[Entry],
    (lc, rc): (Carries, Carries),
) -> Option<Difference> {
    let one_side = |e: &Entry, status: Status| {
        let mut d = Difference::new(e.path.clone(), status);
        if status == Status::Removed {
            d.left_kind = Some(e.kind);
        } else {
            d.right_kind = Some(e.kind);
        }
        d.size = Some(e.size);
        d.target = e.link_target.clone().or_else(|| e.hardlink_target.clone());
        d
    };
    match *it {
        Item::Left(a) => Some(one_side(&le[a], Status::Removed)),
        Item::Right(b) => Some(one_side(&re[b], Status::Added)),
        Item::Both(a, b, moved) => {
            let (l, r) = (&le[a], &re[b]);
            let mut fields = compare_fields(l, r, lc, rc);
            if moved {
                let order = |e: &Entry| e.order.map_or(Value::Absent, |o| Value::Uint(o.into()));
                fields.push(FieldDiff::new("order", order(l), order(r)));
            }
            if fields.is_empty() {
                return None;
            }
            let mut d = Difference::new(l.path.clone(), Status::Changed);
            d.left_kind = Some(l.kind);
            d.right_kind = Some(r.kind);
            d.fields = fields;
            Some(d)
        }
    }
}

/// The path and part of the differences of the inputs as wholes.
pub const INPUT: &str = "input";

fn kind_name(k: SourceKind) -> &'static str {
    match k {
        SourceKind::Tar => "tar",
        SourceKind::Directory => "directory",
        SourceKind::Squashed => "squashed layers",
        SourceKind::Members => "members",
    }
}

/// How the bytes after the last member read in a report.
fn trailer_value(t: &crate::source::tar::Trailer) -> Value {
    let n = t.bytes.to_string();
    if !t.marker {
        return Value::Text(if t.bytes == 0 {
            "no end-of-archive marker".to_string()
        } else {
            format!(
                "no end-of-archive marker; {n} bytes of headers for no member (sha256:{})",
                crate::report::hex(&t.sha)
            )
        });
    }
    Value::Text(if t.zeros && t.bytes.is_multiple_of(512) {
        format!("{n} bytes: {} zero blocks", (t.bytes / 512))
    } else if t.zeros {
        format!("{n} bytes of zeros")
    } else {
        format!(
            "{n} bytes, not all zeros (sha256:{})",
            crate::report::hex(&t.sha)
        )
    })
}

/// The fields in which two inputs differ as wholes, outside their entries: what they
/// are (`format`: tar or directory), their bytes (`sha256`), their `compression` (codec,
/// then each parameter its headers carry as `compression.NAME`), and the `trailer`
/// after the last member.
pub fn input_fields(l: &InputInfo, r: &InputInfo) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    let mut push = |f: FieldDiff| {
        if f.left != f.right {
            out.push(f.in_scope(Scope::Input));
        }
    };
    let text = |s: &str| Value::Text(s.to_string());
    push(FieldDiff::new(
        "format",
        text(kind_name(l.kind)),
        text(kind_name(r.kind)),
    ));
    if let (Some(a), Some(b)) = (l.sha256, r.sha256) {
        push(FieldDiff::new("sha256", Value::Digest(a), Value::Digest(b)));
    }
    if let (Some(a), Some(b)) = (l.compression, r.compression) {
        for f in compression_fields((a, &l.compression_params), (b, &r.compression_params)) {
            push(f);
        }
    }
    if let Some(f) = trailer_field(l.trailer.as_ref(), r.trailer.as_ref()) {
        push(f);
    }
    out
}

/// `trailer`, when what follows the last member differs.
pub fn trailer_field(
    l: Option<&crate::source::tar::Trailer>,
    r: Option<&crate::source::tar::Trailer>,
) -> Option<FieldDiff> {
    let (a, b) = (l?, r?);
    (!a.same_as(b)).then(|| FieldDiff::new("trailer", trailer_value(a), trailer_value(b)))
}

/// A compression and the parameters its headers carry.
pub type CompressionFacts<'a> = (
    crate::source::compress::Compression,
    &'a [crate::source::compress_facts::Param],
);

/// `compression` when the codecs differ, else `compression.NAME` for each parameter
/// the headers carry that differs.
pub fn compression_fields(
    (lc, lp): CompressionFacts,
    (rc, rp): CompressionFacts,
) -> Vec<FieldDiff> {
    if lc != rc {
        return vec![FieldDiff::new(
            "compression",
            Value::Text(lc.name().into()),
            Value::Text(rc.name().into()),
        )];
    }
    let mut names: Vec<&str> = lp.iter().map(|p| p.0).collect();
    for (n, _) in rp {
        if !names.contains(n) {
            names.push(n);
        }
    }
    let get = |ps: &[crate::source::compress_facts::Param], n: &str| {
        ps.iter()
            .find(|p| p.0 == n)
            .map_or(Value::Absent, |p| Value::Text(p.1.clone()))
    };
    names
        .into_iter()
        .map(|n| FieldDiff::keyed("compression", n.as_bytes(), get(lp, n), get(rp, n)))
        .filter(|f| f.left != f.right)
        .collect()
}

/// The decompressed streams' SHA-256, of both sides, read again when asked for (`None`
/// where an input cannot be read again).
pub type DecodedDigests<'a> =
    &'a dyn Fn() -> crate::error::Result<Option<[crate::entry::Digest; 2]>>;

/// The difference of the inputs as wholes (see [`input_fields`]), given the differences
/// found in their entries. When nothing else differs (same codec and parameters, no
/// entry, header, padding or trailer difference), the decompressed streams are read
/// again and compared (`decoded`): the same stream in other compressed bytes is
/// `compression.encoding`; another stream (bytes no field shows) is `tar_stream`, which
/// no rule hides.
pub fn input_difference(
    l: &InputInfo,
    r: &InputInfo,
    entries_differ: bool,
    policy: &Policy,
    decoded: DecodedDigests,
) -> crate::error::Result<Option<Difference>> {
    let mut fields = input_fields(l, r);
    let only_bytes = fields.len() == 1 && fields[0].field == "sha256";
    let compressed = l
        .compression
        .is_some_and(|c| c != crate::source::compress::Compression::None);
    if only_bytes && !entries_differ && compressed {
        fields.extend(decoded_difference(decoded()?, l.bytes, r.bytes));
    }
    Ok(input_part(fields, policy))
}

/// What the decompressed streams' digests say of two inputs whose compressed bytes
/// differ where nothing else does: `compression.encoding` (the same stream), or
/// `tar_stream` (another one).
pub fn decoded_difference(
    digests: Option<[crate::entry::Digest; 2]>,
    l_bytes: u64,
    r_bytes: u64,
) -> Option<FieldDiff> {
    let [a, b] = digests?;
    let f = if a == b {
        let size = |n: u64| Value::Text(format!("{} compressed bytes", n));
        FieldDiff::keyed(
            "compression",
            &b"encoding"[..],
            size(l_bytes),
            size(r_bytes),
        )
    } else {
        FieldDiff::new("tar_stream", Value::Digest(a), Value::Digest(b))
    };
    Some(f.in_scope(Scope::Input))
}

/// The `input` difference with these fields, tagged by the policy.
pub fn input_part(mut fields: Vec<FieldDiff>, policy: &Policy) -> Option<Difference> {
    if fields.is_empty() {
        return None;
    }
    let mut d = Difference::new(INPUT.as_bytes().into(), Status::Changed);
    d.part = INPUT.to_string();
    for f in &mut fields {
        f.ignored_by = policy.field_rule(f).map(|i| policy.rules[i].name.clone());
    }
    d.fields = fields;
    Some(d)
}

/// Whether a field is an input's `sha256`: it differs exactly when some byte of the
/// input does, so it is explained by the other differences, and hidden when all of
/// them are (by the rule that hides the first of them).
fn is_input_digest(f: &FieldDiff) -> bool {
    f.scope == Scope::Input && f.field == "sha256"
}

/// Tag the inputs' `sha256` differences (see [`is_input_digest`]).
fn tag_input_digests(all: &mut [Difference]) {
    let mut other = false;
    let mut first_rule: Option<String> = None;
    let mut visible = false;
    for d in all.iter() {
        if d.fields.is_empty() || d.ignored_by.is_some() {
            other = true;
            match &d.ignored_by {
                Some(r) => {
                    first_rule.get_or_insert_with(|| r.clone());
                }
                None => visible = true,
            }
            continue;
        }
        for f in d.fields.iter().filter(|f| !is_input_digest(f)) {
            other = true;
            match &f.ignored_by {
                Some(r) => {
                    first_rule.get_or_insert_with(|| r.clone());
                }
                None => visible = true,
            }
        }
    }
    let rule = if other && !visible { first_rule } else { None };
    for d in all.iter_mut() {
        for f in d.fields.iter_mut().filter(|f| is_input_digest(f)) {
            f.ignored_by = rule.clone();
        }
    }
}

/// Whether every difference is hidden by `p` (the inputs' `sha256` counting as hidden
/// when the differences that explain it are).
fn all_hidden(all: &[Difference], p: &Policy) -> bool {
    let mut others = false;
    let mut digest = false;
    for d in all {
        // A path rule of the policy the difference was tagged with (`p` has them all,
        // and it may not be its own path that matched: the packages of a database
        // file a path rule hides).
        let path_hidden =
            d.part != INPUT && (d.ignored_by.is_some() || p.path_rule(&d.path).is_some());
        if d.fields.iter().any(is_input_digest) {
            digest = true;
        }
        let fields: Vec<&FieldDiff> = d.fields.iter().filter(|f| !is_input_digest(f)).collect();
        if fields.is_empty() && d.status == Status::Changed {
            continue;
        }
        others = true;
        let hidden = path_hidden
            || (d.status == Status::Changed && fields.iter().all(|f| p.field_rule(f).is_some()));
        if !hidden {
            return false;
        }
    }
    !digest || others
}

/// Remarks that are not differences: duplicate paths, and entries newer than
/// SOURCE_DATE_EPOCH.
pub fn notes(left: &EntrySet, right: &EntrySet, sde: Option<i64>, policy: &Policy) -> Vec<Note> {
    let mut out: BTreeMap<(Bytes, &'static str), Vec<String>> = BTreeMap::new();
    for (side, set) in [("left", left), ("right", right)] {
        for e in &set.entries {
            if e.occurrences > 1 {
                out.entry((e.path.clone(), "duplicate"))
                    .or_default()
                    .push(format!(
                        "appears {} times in {side}; the last one wins, as on extraction",
                        e.occurrences
                    ));
            }
            if let (Some(n), Some(t)) = (sde, e.mtime)
                && t > Timestamp::from_secs(n)
                && policy.path_rule(&e.path).is_none()
            {
                out.entry((e.path.clone(), "source-date-epoch"))
                    .or_default()
                    .push(format!("{side} {t}"));
            }
        }
    }
    let mut notes: Vec<Note> = left_out_note(left, right).into_iter().collect();
    notes.extend(out.into_iter().map(|((path, kind), parts)| Note {
        path,
        kind,
        message: match kind {
            "source-date-epoch" => format!(
                "newer than SOURCE_DATE_EPOCH ({}): not clamped ({})",
                Timestamp::from_secs(sde.unwrap_or(0)),
                parts.join(", ")
            ),
            _ => parts.join("; "),
        },
    }));
    notes
}

/// The fields one side cannot carry (a directory against a tar archive: no member
/// order, header format, path spelling, atime or ctime), said rather than silently left
/// out of a strict comparison.
fn left_out_note(left: &EntrySet, right: &EntrySet) -> Option<Note> {
    let (l, r) = (left.info.kind.carries(), right.info.kind.carries());
    let fields: Vec<&str> = [
        (l.atime_ctime, r.atime_ctime, "atime, ctime"),
        (l.order, r.order, "order"),
        (
            l.format,
            r.format,
            "format, duplicates, header, padding, pax.*",
        ),
        (l.spelling, r.spelling, "path_spelling"),
    ]
    .into_iter()
    .filter(|(a, b, _)| a != b)
    .map(|(_, _, f)| f)
    .collect();
    if fields.is_empty() {
        return None;
    }
    let sides = [(l, "left"), (r, "right")];
    let dir = sides
        .iter()
        .find(|(c, _)| !c.format)
        .map_or("one side", |s| s.1);
    Some(Note {
        path: b".".as_slice().into(),
        kind: "fields-left-out",
        message: format!(
            "{dir} is a directory: {} are not compared (a directory does not carry them)",
            fields.join(", ")
        ),
    })
}

pub fn input_summary(info: &InputInfo) -> InputSummary {
    InputSummary {
        name: info.name.clone(),
        kind: match info.kind {
            SourceKind::Tar => "tar".into(),
            SourceKind::Directory => "directory".into(),
            SourceKind::Squashed => "squashed layers".into(),
            SourceKind::Members => "members".into(),
        },
        compression: info.compression.map(|c| c.name().to_string()),
        entries: Some(info.entries),
        bytes: info.bytes,
        sha256: info.sha256.map(|d| crate::report::hex(&d)),
        digest: None,
        bytes_fetched: None,
        repo_digests: None,
    }
}

/// Everything the report needs besides the differences.
pub struct ReportParts {
    pub command: String,
    pub left: InputSummary,
    pub right: InputSummary,
    pub notes: Vec<Note>,
    pub warnings: Vec<String>,
    pub show_ignored: bool,
    pub limits: ReportLimits,
    /// Every part compared, and the part of differences that name none.
    pub parts: Vec<String>,
    /// Per rule, for path rules, the entries and locations it matched
    /// (`PathHits::matched`; empty when nothing was compared).
    pub matched: Vec<Option<u64>>,
    /// `--source-date-epoch`, for the hints.
    pub source_date_epoch: Option<i64>,
}

/// Split differences into what the policy shows and what it hides, count the hidden by
/// rule and field, give the verdicts, and find the likely causes (`hints`).
pub fn build_report(mut all: Vec<Difference>, policy: &Policy, parts: ReportParts) -> Report {
    let identical = all.is_empty();
    let semantically_equal = all_hidden(&all, &policy.with_semantic());
    tag_input_digests(&mut all);
    let hints = find_hints(&mut all, &parts);
    let mut tally = Tally {
        policy,
        show_ignored: parts.show_ignored,
        summary: Summary::default(),
        counts: BTreeMap::new(),
        shown: Vec::new(),
        hidden: Vec::new(),
    };
    for mut d in all {
        if d.part.is_empty() {
            d.part = parts.parts.first().cloned().unwrap_or_default();
        }
        tally.add(d);
    }
    let ignored = tally
        .counts
        .into_iter()
        .map(|((r, field), count)| IgnoredCount {
            rule: policy.rules[r].name.clone(),
            origin: policy.rules[r].origin,
            field,
            count,
        })
        .collect();
    Report {
        schema_version: SCHEMA_VERSION,
        command: parts.command,
        mode: policy.mode().to_string(),
        equal: tally.shown.is_empty(),
        identical,
        semantically_equal,
        left: parts.left,
        right: parts.right,
        rules: policy
            .infos()
            .into_iter()
            .zip(parts.matched.iter().copied().chain(std::iter::repeat(None)))
            .map(|(info, matched)| RuleInfo { matched, ..info })
            .collect(),
        summary: tally.summary,
        hints,
        differences: tally.shown,
        ignored,
        ignored_differences: parts.show_ignored.then_some(tally.hidden),
        notes: parts.notes,
        warnings: parts.warnings,
        parts: parts.parts,
        cut: None,
        verdict_before_cut: None,
        limits: parts.limits,
    }
}

/// The hints of the differences (each field tagged with the rule that hides it), with
/// the differences they fold marked; the excerpts they were read from are dropped.
fn find_hints(all: &mut [Difference], parts: &ReportParts) -> Vec<crate::report::Hint> {
    let inputs = crate::hints::Inputs {
        source_date_epoch: parts.source_date_epoch,
    };
    let (hints, folds) =
        crate::hints::find(&crate::hints::Evidence::new(all, &parts.notes, &inputs));
    for (i, h) in folds {
        all[i].folded = Some(h);
    }
    for d in all.iter_mut() {
        d.excerpts = None;
    }
    hints
}

/// The differences sorted into shown and hidden, and counted.
struct Tally<'a> {
    policy: &'a Policy,
    show_ignored: bool,
    summary: Summary,
    /// Hidden differences by (rule, field; `entry` for whole entries).
    counts: BTreeMap<(usize, String), u64>,
    shown: Vec<Difference>,
    hidden: Vec<Difference>,
}

impl Tally<'_> {
    fn add(&mut self, mut d: Difference) {
        if let Some(name) = &d.ignored_by {
            self.count(self.policy.index_of(name), "entry");
            self.summary.ignored_entries += 1;
            for f in &d.fields {
                self.field(f.field).ignored += 1;
            }
            if self.show_ignored {
                self.hidden.push(d);
            }
            return;
        }
        let (vis, hid): (Vec<FieldDiff>, Vec<FieldDiff>) =
            d.fields.drain(..).partition(|f| f.ignored_by.is_none());
        for f in &hid {
            let rule = self
                .policy
                .index_of(f.ignored_by.as_deref().expect("hidden"));
            self.count(rule, f.field);
            self.field(f.field).ignored += 1;
        }
        for f in &vis {
            self.field(f.field).differences += 1;
        }
        let content_visible = vis.iter().any(|f| f.field == "content");
        if !hid.is_empty() && self.show_ignored {
            let mut h = d.clone();
            h.fields = hid;
            h.folded = None;
            if content_visible {
                h.content = None;
            }
            self.hidden.push(h);
        }
        // The inputs as wholes are no entry: their fields count, not the part.
        let entry = u64::from(d.part != INPUT);
        if d.status == Status::Changed && vis.is_empty() {
            self.summary.ignored_entries += entry;
            return;
        }
        match d.status {
            Status::Added => self.summary.added += 1,
            Status::Removed => self.summary.removed += 1,
            Status::Changed => self.summary.changed += entry,
        }
        if !content_visible {
            d.content = None;
        }
        d.fields = vis;
        self.shown.push(d);
    }

    fn count(&mut self, rule: usize, field: &str) {
        *self.counts.entry((rule, field.to_string())).or_default() += 1;
    }

    fn field(&mut self, field: &str) -> &mut FieldCount {
        self.summary.fields.entry(field.to_string()).or_default()
    }
}
