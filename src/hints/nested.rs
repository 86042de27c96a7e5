//! Hints over the fields of nested formats and package databases, read by name from
//! the differences (docs/hints.md, "What the rules read"): `gzip-mtime`,
//! `zip-timestamps`, `pyc-timestamp`, `elf-build-id`, `archive-order`, `rpm-build`,
//! `package-version`. A nested member's path is `OUTER!/INNER`; a header field of a
//! stream or container is a field of the outer entry named `FORMAT.FIELD`.

use std::collections::{BTreeMap, BTreeSet};

use super::{Evidence, Found, and_list, count, field, visible};
use crate::entry::display_bytes;
use crate::report::{Difference, HintGroup, Scope, Status, Value, is_packages_part, packages_part};

/// Between an outer path and an inner one.
pub const NESTED: &[u8] = b"!/";

/// Names of archives in the zip format (by their last extension, lower case).
const ZIP_NAMES: &[&str] = &[
    "zip", "jar", "war", "ear", "aar", "apk", "whl", "epub", "xpi", "nupkg", "odt", "ods", "odp",
    "docx", "xlsx", "pptx",
];

/// Zip extra fields that carry times: extended timestamp (0x5455, `UT`), NTFS
/// (0x000a), Info-ZIP Unix (0x5855, `UX`).
const TIME_EXTRAS: &[&str] = &["0x5455", "0x000a", "0x5855", "UT", "UX"];

fn text(b: &[u8]) -> String {
    display_bytes(b)
}

/// Where `inner` splits into its outer path and its member: `(x.jar, a/B.class)`.
fn split_outer(path: &[u8]) -> Option<(&[u8], &[u8])> {
    let at = path.windows(2).rposition(|w| w == NESTED)?;
    Some((&path[..at], &path[at + 2..]))
}

/// Whether a path is inside another entry (`OUTER!/INNER`).
pub fn is_nested(path: &[u8]) -> bool {
    path.windows(2).any(|w| w == NESTED)
}

/// Whether the visible fields of `d` are all among `allowed`.
fn only_fields(d: &Difference, allowed: &[&str]) -> bool {
    visible(d).all(|f| allowed.contains(&f.name().as_str()))
}

/// The entries with a visible difference in the header field `name`: each, and
/// whether nothing else differs in it (no other field but `content`, nothing inside).
fn header_field(ev: &Evidence<'_>, name: &str) -> Vec<(usize, bool)> {
    ev.diffs
        .iter()
        .enumerate()
        .filter(|(_, d)| field(d, name).is_some())
        .map(|(i, d)| {
            let only = only_fields(d, &[name, "content"]) && ev.inside(&d.path).is_empty();
            (i, only)
        })
        .collect()
}

/// `; nothing else differs in them`, `; in 2 of them nothing else differs`, or nothing.
fn nothing_else(n: usize, only: usize) -> String {
    match only {
        k if k == n && n == 1 => "; nothing else differs in it".into(),
        k if k == n => "; nothing else differs in them".into(),
        0 => String::new(),
        k => format!("; in {k} of them nothing else differs"),
    }
}

/// A hint about one header field: `N FILES differ in WHAT (e.g. P: L -> R)...: REMEDY`;
/// `what` names the field after "its" or "their".
fn header_hint(
    ev: &Evidence<'_>,
    id: &'static str,
    name: &str,
    [one, many, what]: [&str; 3],
    remedy: &str,
) -> Vec<Found> {
    let hits = header_field(ev, name);
    let Some(&(first, _)) = hits.first() else {
        return Vec::new();
    };
    let f = field(&ev.diffs[first], name).expect("found");
    let only = hits.iter().filter(|h| h.1).count();
    let text = format!(
        "{} {} in {} {what} (e.g. {}: {} -> {}){}: {remedy}",
        count(hits.len(), one, many),
        if hits.len() == 1 { "differs" } else { "differ" },
        if hits.len() == 1 { "its" } else { "their" },
        text(&ev.diffs[first].path),
        f.left,
        f.right,
        nothing_else(hits.len(), only)
    );
    let at: Vec<usize> = hits.iter().map(|h| h.0).collect();
    vec![Found::at(id, ev, &at, text)]
}

/// `gzip-mtime`: the mtime in gzip headers (`gzip.mtime`).
pub fn gzip_mtime(ev: &Evidence<'_>) -> Vec<Found> {
    header_hint(
        ev,
        "gzip-mtime",
        "gzip.mtime",
        ["gzip file", "gzip files", "gzip header's mtime"],
        "gzip writes the input file's mtime (or the time it ran) into its header. \
         Compress with gzip -n (--no-name), which leaves the name and the mtime out, or \
         give the file the SOURCE_DATE_EPOCH time first; strip-nondeterminism clears it \
         after the fact.",
    )
}

/// `pyc-timestamp`: the source mtime in the header of timestamp-based .pyc files
/// (`pyc.mtime`).
pub fn pyc_timestamp(ev: &Evidence<'_>) -> Vec<Found> {
    header_hint(
        ev,
        "pyc-timestamp",
        "pyc.mtime",
        [".pyc file", ".pyc files", "header's source mtime"],
        "Python writes the mtime of the .py file into each timestamp-based .pyc. \
         Compile hash-based pycs instead (python -m compileall --invalidation-mode \
         checked-hash), or set SOURCE_DATE_EPOCH when compiling, which makes py_compile \
         and compileall write checked-hash pycs (Python 3.7+).",
    )
}

/// `rpm-build`: the build time and host rpmbuild writes into a package's header
/// (`rpm.buildtime`, `rpm.buildhost`).
pub fn rpm_build(ev: &Evidence<'_>) -> Vec<Found> {
    const NAMES: [&str; 2] = ["rpm.buildtime", "rpm.buildhost"];
    let mut at: Vec<usize> = NAMES
        .iter()
        .flat_map(|n| header_field(ev, n))
        .map(|h| h.0)
        .collect();
    at.sort_unstable();
    at.dedup();
    let Some(&first) = at.first() else {
        return Vec::new();
    };
    let d = &ev.diffs[first];
    let what: Vec<String> = NAMES
        .iter()
        .zip(["build time", "build host"])
        .filter_map(|(n, w)| field(d, n).map(|f| format!("{w} {} -> {}", f.left, f.right)))
        .collect();
    let text = format!(
        "{} {} in the build time or host rpmbuild records in the header (e.g. {}: {}): \
         rpmbuild writes the time it ran and the name of the machine into every package. \
         Build with SOURCE_DATE_EPOCH set, use_source_date_epoch_as_buildtime defined to 1 \
         and _buildhost to a fixed name (rpmbuild --define \
         'use_source_date_epoch_as_buildtime 1' --define '_buildhost reproducible'); \
         --ignore-file-timestamps hides rpm.buildtime.",
        count(at.len(), "rpm package", "rpm packages"),
        if at.len() == 1 { "differs" } else { "differ" },
        text(&d.path),
        what.join(", ")
    );
    vec![Found::at("rpm-build", ev, &at, text)]
}

/// Whether a zip member's field is one of its times.
fn is_member_time(name: &str, left: &Value, right: &Value) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    matches!(left, Value::Time(_))
        || matches!(right, Value::Time(_))
        || matches!(last, "mtime" | "atime" | "ctime")
        || (name.contains("extra") && TIME_EXTRAS.iter().any(|x| name.ends_with(x)))
}

/// Whether the archive at `outer` is in the zip format: by its name, or by a `zip.*`
/// field on it or on one of its `members`.
fn is_zip(ev: &Evidence<'_>, outer: &[u8], members: &[(usize, bool)]) -> bool {
    let ext = outer
        .rsplit(|&c| c == b'.')
        .next()
        .map(|e| e.to_ascii_lowercase());
    let by_name = ext.is_some_and(|e| ZIP_NAMES.iter().any(|z| z.as_bytes() == e));
    let zip_field = |d: &Difference| visible(d).any(|f| f.field == "zip");
    by_name
        || members.iter().any(|m| zip_field(&ev.diffs[m.0]))
        || ev.diffs.iter().any(|d| &*d.path == outer && zip_field(d))
}

/// Whether the file `outer` is a difference whose visible fields are its content (and
/// size) and times only: no archive comment or other header field of its own differs.
/// (A path with `!/` in it may also be a real file's, under a directory whose name
/// ends in `!`: without the outer entry's difference there is no archive to speak of.)
fn outer_only_content(ev: &Evidence<'_>, outer: &[u8]) -> bool {
    ev.diffs.iter().any(|d| {
        &*d.path == outer
            && d.ignored_by.is_none()
            && field(d, "content").is_some()
            && visible(d).all(|f| {
                matches!(f.name().as_str(), "content" | "size")
                    || matches!((&f.left, &f.right), (Value::Time(_), Value::Time(_)))
            })
    })
}

/// `zip-timestamps`: zip-format archives whose members differ only in their times.
pub fn zip_timestamps(ev: &Evidence<'_>) -> Vec<Found> {
    // Per archive: its members that differ, and whether each differs only in times.
    let mut archives: BTreeMap<&[u8], Vec<(usize, bool)>> = BTreeMap::new();
    for (i, d) in ev.diffs.iter().enumerate() {
        let Some((outer, member)) = split_outer(&d.path) else {
            continue;
        };
        // What a rule hides explains nothing (and needs no explaining); a member added
        // or removed is no time.
        let hidden = d.status == Status::Changed && visible(d).next().is_none();
        if is_nested(member) || d.ignored_by.is_some() || hidden {
            continue;
        }
        let times = d.status == Status::Changed
            && visible(d).all(|f| is_member_time(&f.name(), &f.left, &f.right));
        archives.entry(outer).or_default().push((i, times));
    }
    archives.retain(|outer, members| {
        members.iter().all(|m| m.1) && is_zip(ev, outer, members) && outer_only_content(ev, outer)
    });
    let Some((first, members)) = archives.iter().next() else {
        return Vec::new();
    };
    let m = &ev.diffs[members[0].0];
    let example = visible(m)
        .next()
        .map(|f| {
            format!(
                "e.g. {}: {} {} -> {}",
                text(&m.path),
                f.name(),
                f.left,
                f.right
            )
        })
        .unwrap_or_default();
    let mut at: Vec<usize> = Vec::new();
    for (outer, members) in &archives {
        at.extend(ev.diffs.iter().position(|d| &*d.path == *outer));
        at.extend(members.iter().map(|m| m.0));
    }
    at.sort_unstable();
    let n_members: usize = archives.values().map(Vec::len).sum();
    let which = match archives.len() {
        1 => format!("the members of {} that differ", text(first)),
        n => format!("the members of {n} archives that differ"),
    };
    let text = format!(
        "{which} differ only in their times ({}; {example}): zip records each member's \
         mtime (in local time, and again in extra fields). Give the files the \
         SOURCE_DATE_EPOCH time before zipping (touch -d @$SOURCE_DATE_EPOCH), let the \
         tool take it (jar --date, Python's zipfile with a fixed date_time; wheel honours \
         SOURCE_DATE_EPOCH), or run strip-nondeterminism on the result.",
        count(n_members, "member", "members"),
    );
    vec![Found::at("zip-timestamps", ev, &at, text)]
}

/// `elf-build-id`: build IDs (`elf.build_id`) that differ; whether other sections do.
pub fn elf_build_id(ev: &Evidence<'_>) -> Vec<Found> {
    let hits: Vec<usize> = ev
        .diffs
        .iter()
        .enumerate()
        .filter(|(_, d)| field(d, "elf.build_id").is_some())
        .map(|(i, _)| i)
        .collect();
    let Some(&first) = hits.first() else {
        return Vec::new();
    };
    let mut sections: BTreeSet<String> = BTreeSet::new();
    let mut alone = 0;
    for &i in &hits {
        let d = &ev.diffs[i];
        let inner: Vec<String> = ev
            .inside(&d.path)
            .into_iter()
            .filter_map(|k| split_outer(&ev.diffs[k].path).map(|(_, m)| text(m)))
            .filter(|m| m != ".note.gnu.build-id")
            .collect();
        if inner.is_empty() && only_fields(d, &["elf.build_id", "content"]) {
            alone += 1;
        }
        sections.extend(inner);
    }
    let f = field(&ev.diffs[first], "elf.build_id").expect("found");
    let mut text = format!(
        "{} different build IDs (e.g. {}: {} -> {}).",
        count(hits.len(), "ELF file has", "ELF files have"),
        text(&ev.diffs[first].path),
        f.left,
        f.right
    );
    let which = |k: usize| match hits.len() {
        1 => "it".to_string(),
        _ => format!("{k} of them"),
    };
    if alone > 0 {
        text.push_str(&format!(
            " In {} nothing else differs: the build ID itself was set differently \
             (ld --build-id=0x..., or another --build-id style); link both with the same \
             setting.",
            which(alone)
        ));
    }
    if alone < hits.len() {
        let shown: Vec<String> = sections.iter().take(6).cloned().collect();
        let more = if sections.len() > 6 { ", ..." } else { "" };
        let what = match shown.is_empty() {
            true => "other bytes differ too".to_string(),
            false => format!("other sections differ too ({}{more})", shown.join(", ")),
        };
        text.push_str(&format!(
            " In {} {what}: a build ID is a hash of the linked output, so it follows from \
             them; look there for the cause.",
            which(hits.len() - alone)
        ));
    }
    vec![Found::at("elf-build-id", ev, &hits, text)]
}

/// `archive-order`: members of archives (nested ones, or the input's, or a layer's own
/// entries) in another order; those that differ in nothing else are folded under it.
/// Image metadata's `order` (manifests in an index) is no archive's.
pub fn archive_order(ev: &Evidence<'_>) -> Vec<Found> {
    let mut by_archive: BTreeMap<String, usize> = BTreeMap::new();
    let mut at = Vec::new();
    for (i, d) in ev.diffs.iter().enumerate() {
        if field(d, "order").is_none_or(|f| f.scope != Scope::Entry) {
            continue;
        }
        let archive = split_outer(&d.path).map_or_else(|| d.part.clone(), |(o, _)| text(o));
        *by_archive.entry(archive).or_default() += 1;
        at.push(i);
    }
    if at.is_empty() {
        return Vec::new();
    }
    let mut list: Vec<String> = by_archive
        .iter()
        .take(4)
        .map(|(a, n)| format!("{a} ({n})"))
        .collect();
    if by_archive.len() > 4 {
        list.push(format!("{} more", by_archive.len() - 4));
    }
    let text = format!(
        "{} in another order in {}: archivers list files in the order the file system \
         returns them, which differs between file systems and builds. Sort them: GNU tar \
         --sort=name, a sorted file list for zip, jar, cpio and ar, or strip-nondeterminism \
         afterwards.",
        count(at.len(), "entry is", "entries are"),
        and_list(&list)
    );
    let mut found = Found::at("archive-order", ev, &at, text);
    // What moved and differs in nothing else is folded under it.
    found.folds = at
        .into_iter()
        .filter(|&i| visible(&ev.diffs[i]).all(|f| f.field == "order"))
        .collect();
    vec![found]
}

/// The package a difference at `PART/NAME` is about: `NAME`, whole (never only its last
/// component).
fn package_name(d: &Difference) -> &[u8] {
    d.path
        .strip_prefix(d.part.as_bytes())
        .and_then(|p| p.strip_prefix(b"/"))
        .unwrap_or(&d.path)
}

/// `package-version`: packages whose version differs (`packages/NAME`, a changed
/// difference with a visible field `version`, in a part named `packages` or ending in
/// `/packages`). The differences of the entries those packages own (`package`, in the
/// part the packages were read from: `rootfs` for `packages`, `layers/1` for
/// `layers/1/packages`) follow from the version: they join the hint's paths and are
/// folded under it, grouped by package. They need not differ only in ways a version
/// explains: a new version may change any file of its package.
pub fn package_version(ev: &Evidence<'_>) -> Vec<Found> {
    let hits: Vec<usize> = ev
        .diffs
        .iter()
        .enumerate()
        .filter(|(_, d)| {
            is_packages_part(&d.part)
                && d.status == Status::Changed
                && field(d, "version").is_some()
        })
        .map(|(i, _)| i)
        .collect();
    if hits.is_empty() {
        return Vec::new();
    }
    // The packages by (part, name), in report order.
    let mut groups: Vec<HintGroup> = Vec::new();
    let mut index: BTreeMap<(&str, &[u8]), usize> = BTreeMap::new();
    for &i in &hits {
        let d = &ev.diffs[i];
        let f = field(d, "version").expect("found");
        let name = package_name(d);
        index.insert((&d.part, name), groups.len());
        groups.push(HintGroup {
            part: d.part.clone(),
            package: name.into(),
            label: format!("{} ({} -> {})", text(name), f.left, f.right),
            folded: 0,
        });
    }
    // The entries they own, on every side that has them (an owner one side's database
    // claims alone explains nothing), but those a path rule hides (they are not listed
    // anyway).
    let mut owned: Vec<usize> = Vec::new();
    for (i, d) in ev.diffs.iter().enumerate() {
        let Some(p) = d.package.as_deref().filter(|_| d.package_on_each_side) else {
            continue;
        };
        if d.ignored_by.is_some() || (d.status == Status::Changed && visible(d).next().is_none()) {
            continue;
        }
        if index.contains_key(&(packages_part(&d.part).as_str(), p)) {
            owned.push(i);
        }
    }
    let shown: Vec<String> = hits
        .iter()
        .take(4)
        .map(|&i| {
            let d = &ev.diffs[i];
            let f = field(d, "version").expect("found");
            let name = package_name(d);
            format!("{}: {} -> {}", text(name), f.left, f.right)
        })
        .collect();
    let more = match groups.len() {
        n if n > 4 => format!(" and {} more", n - 4),
        _ => String::new(),
    };
    let files = match owned.len() {
        0 => String::new(),
        n => format!(
            "; {} they own {}",
            count(n, "entry", "entries"),
            if n == 1 { "differs" } else { "differ" }
        ),
    };
    let text = format!(
        "{} another version ({}{more}){files}: the differences in the files they own \
         follow from that. Build both from the same package versions (a snapshot mirror, \
         a lock file), or look at what changed between the versions.",
        count(hits.len(), "package has", "packages have"),
        shown.join(", ")
    );
    let mut at: Vec<usize> = hits.iter().chain(&owned).copied().collect();
    at.sort_unstable();
    let mut found = Found::at("package-version", ev, &at, text);
    found.folds = owned;
    found.groups = groups;
    vec![found]
}
