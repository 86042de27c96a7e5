//! Hints about what differing contents hold, read from the excerpts the content stage
//! kept (`Difference::excerpts`): `embedded-date`, `embedded-build-path`, `random-id`.

use std::collections::BTreeMap;

use super::scan::{self, Class};
use super::{Evidence, Found, and_list, count, field, quoted};
use crate::entry::display_bytes;
use crate::report::Difference;

/// What one differing content holds.
#[derive(Clone, Debug, PartialEq)]
pub struct Explained {
    /// The difference (index in `Evidence::diffs`).
    pub at: usize,
    /// The classes of the values that differ, each with its first example.
    pub classes: scan::Explained,
    /// Whether those values are all that differs (every region explained, and the
    /// regions cover every difference).
    pub all: bool,
}

/// The differences whose content is visible and differs, with their excerpts.
fn with_content<'a>(ev: &Evidence<'a>) -> impl Iterator<Item = (usize, &'a Difference)> {
    ev.diffs
        .iter()
        .enumerate()
        .filter(|(_, d)| field(d, "content").is_some() && d.excerpts.is_some())
}

/// What each differing content holds, for those where a recognized value differs.
pub fn explain_all(ev: &Evidence<'_>) -> Vec<Explained> {
    let mut out = Vec::new();
    for (at, d) in with_content(ev) {
        let ex = d.excerpts.as_deref().expect("filtered");
        let mut classes = scan::Explained::new();
        let mut all = ex.complete && !ex.regions.is_empty();
        for [l, r] in &ex.regions {
            match scan::explain(l, r) {
                Some(found) => {
                    for (class, example) in found {
                        classes.entry(class).or_insert(example);
                    }
                }
                None => all = false,
            }
        }
        if !classes.is_empty() {
            out.push(Explained { at, classes, all });
        }
    }
    out
}

/// The files whose differing bytes hold values of `class`, and the sentence saying so:
/// `what` is the value in the singular and the plural.
fn by_class(
    ev: &Evidence<'_>,
    id: &'static str,
    class: Class,
    what: [&str; 2],
    remedy: &str,
) -> Vec<Found> {
    let all: Vec<&Explained> = ev
        .contents()
        .iter()
        .filter(|e| e.classes.contains_key(&class))
        .collect();
    // A file whose member holds the value too is named by the member, which says where.
    let inner: Vec<&[u8]> = all
        .iter()
        .map(|e| &ev.diffs[e.at].path[..])
        .filter(|p| super::nested::is_nested(p))
        .collect();
    let hits: Vec<&Explained> = all
        .into_iter()
        .filter(|e| {
            let outer = [&ev.diffs[e.at].path[..], super::nested::NESTED].concat();
            !inner.iter().any(|p| p.starts_with(&outer))
        })
        .collect();
    let Some(first) = hits.first() else {
        return Vec::new();
    };
    let n = hits.len();
    let only = hits
        .iter()
        .filter(|e| e.all && e.classes.len() == 1)
        .count();
    let [l, r] = &first.classes[&class];
    let no_other = match only {
        k if k == n => format!(
            "; no other bytes differ in {}",
            if n == 1 { "it" } else { "them" }
        ),
        0 => String::new(),
        k => format!("; in {k} of them no other bytes differ"),
    };
    let holds = match n {
        1 => format!("1 file holds {} that differs", what[0]),
        _ => format!("{n} files hold {} that differ", what[1]),
    };
    let text = format!(
        "{holds} (e.g. {}: {} -> {}){no_other}: {remedy}",
        display_bytes(&ev.diffs[first.at].path),
        quoted(l),
        quoted(r)
    );
    let at: Vec<usize> = hits.iter().map(|e| e.at).collect();
    vec![Found::at(id, ev, &at, text)]
}

/// `embedded-date`: differing bytes that are dates, times or epochs.
pub fn embedded_date(ev: &Evidence<'_>) -> Vec<Found> {
    by_class(
        ev,
        "embedded-date",
        Class::Date,
        ["a date or time", "dates or times"],
        "the builds wrote the time they ran into them. Tools that embed a date should \
         take it from SOURCE_DATE_EPOCH (gcc does for __DATE__ and __TIME__, as do most \
         documentation generators and archivers); give both builds the same value, or \
         leave the date out.",
    )
}

/// `embedded-build-path`: differing bytes that are paths under a build directory.
pub fn embedded_build_path(ev: &Evidence<'_>) -> Vec<Found> {
    by_class(
        ev,
        "embedded-build-path",
        Class::BuildPath,
        ["a build directory path", "build directory paths"],
        "the builds ran in different directories, and the path was written into what \
         they made (debug information, __FILE__, scripts, .pc and .la files). Build in one \
         fixed directory, or map it away: -ffile-prefix-map=$PWD=. (gcc 8+, clang 10+), \
         --remap-path-prefix (rustc), -trimpath (go).",
    )
}

/// Kinds of values made at random (or on the day of the build) for each build, in the
/// order the `random-id` text names them: what they are and what to do about them.
const RANDOM: [(&str, &str); 5] = [
    (
        "machine ID",
        "ship /etc/machine-id empty (or leave it out) so that systemd-machine-id-setup \
         makes it at first boot",
    ),
    (
        "random seed",
        "leave var/lib/systemd/random-seed out; systemd-random-seed.service makes it at boot",
    ),
    (
        "SSH host key",
        "generate host keys at first boot (ssh-keygen -A, sshd-keygen.service), not in \
         the image",
    ),
    (
        "UUID",
        "give UUIDs fixed values (mkfs -U, a UUID derived from the build inputs) or make \
         them at first boot",
    ),
    (
        "last password change day",
        "give both builds the same SOURCE_DATE_EPOCH when users are made (shadow's \
         useradd and chpasswd, and systemd-sysusers, take the day from it), or empty \
         /etc/shadow's third field after the build",
    ),
];

/// Which of [`RANDOM`] a path holds by its name.
fn random_by_path(path: &[u8]) -> Option<usize> {
    let is = |tail: &str| {
        path == tail.as_bytes()
            || path.ends_with(format!("/{tail}").as_bytes())
            || path.ends_with(format!("!/{tail}").as_bytes())
    };
    let base = crate::entry::base_name(path);
    if is("etc/machine-id") || is("var/lib/dbus/machine-id") {
        Some(0)
    } else if is("var/lib/systemd/random-seed") {
        Some(1)
    } else if base.starts_with(b"ssh_host_") && crate::entry::parent(path).ends_with(b"etc/ssh") {
        Some(2)
    } else {
        None
    }
}

/// Lines of /etc/shadow that differ only in the third field (the day of the last
/// password change): the first such pair of days.
fn shadow_days(d: &Difference) -> Option<[Vec<u8>; 2]> {
    let base = crate::entry::base_name(&d.path);
    let etc = crate::entry::parent(&d.path).ends_with(b"etc");
    if !(base == b"shadow" || base == b"shadow-") || !etc {
        return None;
    }
    let ex = d.excerpts.as_deref()?;
    let mut first = None;
    for [l, r] in &ex.regions {
        let (a, b): (Vec<&[u8]>, Vec<&[u8]>) = (
            l.split(|&c| c == b':').collect(),
            r.split(|&c| c == b':').collect(),
        );
        let numeric = |x: &[u8]| x.iter().all(u8::is_ascii_digit);
        let only_third = a.len() == b.len()
            && a.len() >= 3
            && (0..a.len()).all(|k| k == 2 || a[k] == b[k])
            && numeric(a[2])
            && numeric(b[2]);
        if !only_third {
            return None;
        }
        first.get_or_insert([a[2].to_vec(), b[2].to_vec()]);
    }
    first
}

/// The entries of one kind of [`RANDOM`], and the first example with a value to show.
#[derive(Default)]
struct Kind {
    at: Vec<usize>,
    example: Option<[Vec<u8>; 2]>,
}

/// The differing contents that hold random values, by kind (index in [`RANDOM`]).
fn random_kinds(ev: &Evidence<'_>) -> BTreeMap<usize, Kind> {
    let uuids: BTreeMap<usize, &[Vec<u8>; 2]> = ev
        .contents()
        .iter()
        .filter_map(|e| e.classes.get(&Class::Uuid).map(|x| (e.at, x)))
        .collect();
    let mut kinds: BTreeMap<usize, Kind> = BTreeMap::new();
    let differing = ev.diffs.iter().enumerate();
    for (i, d) in differing.filter(|(_, d)| field(d, "content").is_some()) {
        let (kind, example) = if let Some(k) = random_by_path(&d.path) {
            (k, None)
        } else if let Some(days) = shadow_days(d) {
            (4, Some(days))
        } else if let Some(x) = uuids.get(&i) {
            (3, Some((*x).clone()))
        } else {
            continue;
        };
        let k = kinds.entry(kind).or_default();
        k.at.push(i);
        if k.example.is_none() {
            k.example = example;
        }
    }
    kinds
}

/// `random-id`: machine IDs, random seeds, SSH host keys (by path), UUIDs in differing
/// bytes, /etc/shadow's last change day.
pub fn random_id(ev: &Evidence<'_>) -> Vec<Found> {
    let kinds = random_kinds(ev);
    let mut at: Vec<usize> = kinds.values().flat_map(|k| k.at.iter().copied()).collect();
    if at.is_empty() {
        return Vec::new();
    }
    at.sort_unstable();
    let mut what = Vec::new();
    let mut remedies = Vec::new();
    for (k, kind) in &kinds {
        let (name, remedy) = RANDOM[*k];
        let first = display_bytes(&ev.diffs[kind.at[0]].path);
        let more = match kind.at.len() {
            1 => String::new(),
            n => format!(" and {} more", n - 1),
        };
        let shown = match &kind.example {
            Some([l, r]) => format!("{first}: {} -> {}", quoted(l), quoted(r)),
            None => first,
        };
        let n = count(kind.at.len(), name, &format!("{name}s"));
        what.push(format!("{n} ({shown}{more})"));
        remedies.push(remedy);
    }
    let text = format!(
        "{} values made at random, or on the day of the build, for each build: {}. \
         They will differ in every build: {}.",
        count(at.len(), "entry holds", "entries hold"),
        and_list(&what),
        remedies.join("; ")
    );
    vec![Found::at("random-id", ev, &at, text)]
}
