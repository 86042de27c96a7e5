//! The package stage of a pair: when a tree holds a package database (dpkg, apk,
//! pacman), its packages are compared as packages, and each differing entry is given
//! the package that owns it.
//!
//! - **Bytes.** The database files are small but needed on both sides whether or not
//!   they differ (the lists say who owns the files that do). While the sides are read,
//!   the sink of each side ([`PairSink`]) holds the bytes of every database file
//!   (`packages::wanted`) in a [`DbHolder`], by path and SHA-256, up to [`BUDGET`] bytes
//!   per side; what it did not hold (a side read without a sink) is read again through
//!   the side's `Fetcher`, checked against the first read's digest. A side whose
//!   database files add up to more than [`BUDGET`] is not read: a note says so.
//! - **Parsing** is `packages::*`, pure over the bytes; a database its manager would
//!   refuse is a note (`packages-malformed`), and that manager's packages are not
//!   compared (its lists still name owners on the side that is well formed).
//! - **Differences** are ordinary [`Difference`]s at `packages/NAME` (after the pair's
//!   location: `layers/1/packages/NAME`) in the part [`packages_part`] names, with the
//!   fields `version`, `architecture`, `status`, `installed_size` (scope `package`),
//!   tagged by the policy like any other: a path rule matches `packages/NAME`, and a
//!   path rule that hides the database file hides the packages read from it.
//! - **Owners**: a differing entry's `package` is the package whose list has its path
//!   (for `OUTER!/INNER`, the outer file's), on the left side if it has one there, else
//!   on the right. A path listed by two packages (a shared directory) has none. A
//!   listed path under a top-level symlink to a directory (`bin -> usr/bin` on a merged
//!   `/usr`, where dpkg lists `/bin/ls` and the file is `usr/bin/ls`) counts for the
//!   path the symlink leads to as well.
//! - rpm's databases (`packages::RPM_PATHS`) are found and not read: a note
//!   (`packages-not-read`) says so.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use super::keeper::Side;
use super::policy::{PathHits, Policy};
use crate::entry::{Bytes, Digest, Entry, Kind, display_bytes, normalize_path};
use crate::error::Result;
use crate::packages::{self, Db, Manager, Package, Problem};
use crate::report::{Difference, FieldDiff, Note, Scope, Status, Value, packages_part};
use crate::source::{ContentSink, EntrySet, Fetcher, Want};

/// Bytes of database files held per side of a pair.
pub const BUDGET: u64 = 64 << 20;

/// A note on a database that was found and not read.
pub const NOT_READ: &str = "packages-not-read";
/// A note on a database its manager would refuse.
pub const MALFORMED: &str = "packages-malformed";

/// The database files one side held while it was read, by path and SHA-256.
pub type HeldFiles = HashMap<(Bytes, Digest), Arc<[u8]>>;

#[derive(Default)]
struct Holding {
    files: [HeldFiles; 2],
    bytes: [u64; 2],
}

/// Holds the bytes of database files while both sides are read, up to a budget per
/// side.
pub struct DbHolder {
    state: Mutex<Holding>,
    budget: u64,
}

impl DbHolder {
    pub fn new(budget: u64) -> Self {
        DbHolder {
            state: Mutex::new(Holding::default()),
            budget,
        }
    }

    /// Whether a database file of `size` bytes may be held at all.
    pub fn wants(&self, path: &[u8], size: u64) -> bool {
        size <= self.budget && packages::wanted(path)
    }

    /// Hold a database file's bytes (unless the side's budget is spent).
    pub fn hold(&self, side: Side, path: &[u8], digest: Digest, bytes: &[u8]) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let s = side as usize;
        let key = (Bytes::from(path), digest);
        if st.files[s].contains_key(&key) || st.bytes[s] + bytes.len() as u64 > self.budget {
            return;
        }
        st.bytes[s] += bytes.len() as u64;
        st.files[s].insert(key, Arc::from(bytes));
    }

    pub fn into_files(self) -> [HeldFiles; 2] {
        self.state
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .files
    }
}

/// The sink of one side while a pair is read: database files go to the holder, small
/// contents to the keeper's sink (if any).
pub struct PairSink<'a> {
    pub db: &'a DbHolder,
    pub keeper: Option<&'a dyn ContentSink>,
    pub side: Side,
}

impl ContentSink for PairSink<'_> {
    fn wants(&self, path: &[u8], size: u64) -> bool {
        self.db.wants(path, size) || self.keeper.is_some_and(|k| k.wants(path, size))
    }
    fn content(&self, path: &[u8], digest: Digest, bytes: &[u8]) {
        if self.db.wants(path, bytes.len() as u64) {
            self.db.hold(self.side, path, digest, bytes);
        }
        if let Some(k) = self.keeper
            && k.wants(path, bytes.len() as u64)
        {
            k.content(path, digest, bytes);
        }
    }
}

/// What the package stage of a pair gave.
#[derive(Default)]
pub struct Outcome {
    /// The package differences, by name, at their full paths and in their part.
    pub differences: Vec<Difference>,
    /// Notes, at paths in the tree (the pair's location not yet before them).
    pub notes: Vec<Note>,
    /// The packages part, when a database was found on either side.
    pub part: Option<String>,
}

/// Everything the stage needs of the pair.
pub struct Pair<'a> {
    pub sets: [&'a EntrySet; 2],
    pub fetchers: [&'a dyn Fetcher; 2],
    pub held: [HeldFiles; 2],
    /// The pair's location (`layers/1/`, empty for a rootfs) and part (`rootfs`).
    pub location: &'a [u8],
    pub part: &'a str,
    pub sequential: bool,
    /// Bytes of database files read per side ([`BUDGET`]).
    pub budget: u64,
}

/// One side's database files of each manager found: the entries.
type Found<'a> = BTreeMap<Manager, Vec<&'a Entry>>;

/// One side's database files: path -> bytes.
type Files = BTreeMap<Bytes, Arc<[u8]>>;

/// One side's databases, parsed, by manager.
type Parsed = BTreeMap<Manager, std::result::Result<Db, Problem>>;

/// Compare the package databases of a pair, and give `diffs` (the pair's differences,
/// paths not yet after the location) their owners.
pub fn compare(
    pair: Pair<'_>,
    diffs: &mut [Difference],
    policy: &Policy,
    hits: &PathHits,
) -> Result<Outcome> {
    let found = [find(pair.sets[0]), find(pair.sets[1])];
    let mut out = Outcome::default();
    rpm_notes(pair.sets, &mut out.notes);
    if found.iter().all(BTreeMap::is_empty) {
        return Ok(out);
    }
    out.part = Some(packages_part(pair.part));
    let Some(files) = bytes_of(&pair, &found, &mut out.notes)? else {
        return Ok(out);
    };
    // Each side's databases, parsed.
    let mut dbs: [Parsed; 2] = Default::default();
    for s in 0..2 {
        for &m in found[s].keys() {
            let of: BTreeMap<&[u8], &[u8]> = files[s]
                .iter()
                .filter(|(p, _)| m.file_of(p))
                .map(|(p, b)| (&p[..], &b[..]))
                .collect();
            dbs[s].insert(m, m.parse(&of));
        }
    }
    let packages_at = format!("{}/", packages_part(pair.part));
    let rule_location = packages_at
        .strip_suffix("packages/")
        .unwrap_or_default()
        .as_bytes()
        .to_vec();
    let mut by_name: BTreeMap<Bytes, Difference> = BTreeMap::new();
    for m in Manager::ALL {
        let sides = [dbs[0].get(&m), dbs[1].get(&m)];
        if sides.iter().all(Option::is_none) {
            continue;
        }
        let mut bad = false;
        for (s, db) in sides.iter().enumerate() {
            if let Some(Err(p)) = db {
                bad = true;
                out.notes.push(malformed(m, p, s));
            }
        }
        if bad {
            continue;
        }
        let empty = Db::default();
        let [l, r] = sides.map(|d| d.and_then(|d| d.as_ref().ok()).unwrap_or(&empty));
        let hidden = database_rule(m, pair.location, policy);
        for d in differences(l, r) {
            // The whole name: a name with a `/` in it (which no manager accepts, and
            // the parsers refuse) must never pass for its last component.
            let name = Bytes::from(d.path.strip_prefix(&b"packages/"[..]).unwrap_or(&d.path));
            if by_name.contains_key(&name) {
                out.notes.push(Note {
                    path: m.database().as_bytes().into(),
                    kind: MALFORMED,
                    message: format!(
                        "package {} is in another package database too; the first one's is \
                         compared",
                        display_bytes(&name)
                    ),
                });
                continue;
            }
            let mut d = d;
            let own = [&b"packages/"[..], &name].concat();
            d.path = [packages_at.as_bytes(), &name].concat().into();
            d.part = packages_part(pair.part);
            let rule = policy.path_rule_at(&own, &rule_location, hits).or(hidden);
            d.ignored_by = rule.map(|r| policy.rules[r].name.clone());
            for f in &mut d.fields {
                f.ignored_by = policy.field_rule(f).map(|r| policy.rules[r].name.clone());
            }
            by_name.insert(name, d);
        }
    }
    out.differences = by_name.into_values().collect();
    attribute(diffs, pair.sets, &dbs);
    Ok(out)
}

/// The database files of each manager in a set (regular files only): ranges of the
/// sorted entries, so the cost does not grow with the tree.
fn find(set: &EntrySet) -> Found<'_> {
    let mut out = Found::new();
    let range = |prefix: &'static [u8]| {
        let e = &set.entries;
        let start = e.partition_point(|x| *x.path < *prefix);
        e[start..]
            .iter()
            .take_while(move |x| x.path.starts_with(prefix))
    };
    for m in Manager::ALL {
        let prefix = match m {
            Manager::Dpkg => &b"var/lib/dpkg/"[..],
            Manager::Apk => packages::apk::INSTALLED.as_bytes(),
            Manager::Pacman => b"var/lib/pacman/local/",
        };
        let files: Vec<&Entry> = range(prefix)
            .filter(|e| e.kind == Kind::File && m.file_of(&e.path))
            .collect();
        // A database is there when its main file is: dpkg's status, apk's installed,
        // a pacman entry's desc.
        let main = files.iter().any(|e| match m {
            Manager::Pacman => e.path.ends_with(b"/desc"),
            _ => *e.path == *m.database().as_bytes(),
        });
        if main {
            out.insert(m, files);
        }
    }
    out
}

/// A note per rpm database found (on either side or both).
fn rpm_notes(sets: [&EntrySet; 2], notes: &mut Vec<Note>) {
    for p in packages::RPM_PATHS {
        let on: Vec<&str> = [(sets[0], "left"), (sets[1], "right")]
            .iter()
            .filter(|(s, _)| s.get(p.as_bytes()).is_some_and(|e| e.kind == Kind::File))
            .map(|(_, n)| *n)
            .collect();
        if on.is_empty() {
            continue;
        }
        notes.push(Note {
            path: p.as_bytes().into(),
            kind: NOT_READ,
            message: format!(
                "rpm database found ({}): not read (rdiff has no pure-Rust reader for \
                 rpm's SQLite, Berkeley DB or ndb databases); its packages are not compared",
                on.join(" and ")
            ),
        });
    }
}

/// Both sides' database files, path -> bytes; `None` (with a note) when a side's are
/// over the budget or cannot be read.
fn bytes_of(
    pair: &Pair<'_>,
    found: &[Found<'_>; 2],
    notes: &mut Vec<Note>,
) -> Result<Option<[Files; 2]>> {
    let mut out: [Files; 2] = Default::default();
    let mut wanted: [BTreeMap<Bytes, Want>; 2] = Default::default();
    for s in 0..2 {
        let entries: Vec<&Entry> = found[s].values().flatten().copied().collect();
        let total: u64 = entries.iter().map(|e| e.size).sum();
        if total > pair.budget {
            for m in found[s].keys() {
                notes.push(Note {
                    path: m.database().as_bytes().into(),
                    kind: NOT_READ,
                    message: format!(
                        "{} database not read: the {} side's package database files are {} \
                         bytes, over the {} bytes rdiff reads; packages are not compared",
                        m.name(),
                        side_name(s),
                        total,
                        pair.budget
                    ),
                });
            }
            return Ok(None);
        }
        for e in entries {
            let held = e
                .digest
                .and_then(|d| pair.held[s].get(&(e.path.clone(), d)).cloned());
            match held {
                Some(b) => {
                    out[s].insert(e.path.clone(), b);
                }
                None => {
                    wanted[s].insert(
                        e.path.clone(),
                        Want {
                            order: e.order,
                            layer: e.layer,
                            start: 0,
                            len: e.size,
                            expect: e.digest,
                        },
                    );
                }
            }
        }
    }
    for s in 0..2 {
        if !wanted[s].is_empty() && !pair.fetchers[s].rereadable() {
            for m in found[s].keys() {
                notes.push(Note {
                    path: m.database().as_bytes().into(),
                    kind: NOT_READ,
                    message: format!(
                        "{} database not read: the {} side is a stream (standard input, a \
                         pipe) whose database files were not kept; packages are not compared",
                        m.name(),
                        side_name(s)
                    ),
                });
            }
            return Ok(None);
        }
    }
    if wanted.iter().any(|w| !w.is_empty()) {
        let fetch = |s: usize| -> Result<BTreeMap<Bytes, crate::source::Fetched>> {
            if wanted[s].is_empty() {
                Ok(BTreeMap::new())
            } else {
                pair.fetchers[s].fetch(&wanted[s])
            }
        };
        let (l, r) = if pair.sequential {
            (fetch(0), fetch(1))
        } else {
            rayon::join(|| fetch(0), || fetch(1))
        };
        for (s, got) in [l?, r?].into_iter().enumerate() {
            for (path, f) in got {
                out[s].insert(path, Arc::from(f.bytes));
            }
        }
    }
    Ok(Some(out))
}

fn side_name(s: usize) -> &'static str {
    [Side::Left, Side::Right][s].name()
}

/// The note on a database its manager would refuse.
fn malformed(m: Manager, p: &Problem, side: usize) -> Note {
    Note {
        path: p.path.clone(),
        kind: MALFORMED,
        message: format!(
            "{} database on the {} side is malformed ({}): its packages are not compared",
            m.name(),
            side_name(side),
            p.message
        ),
    }
}

/// The path rule that hides a manager's database file (at the pair's location), which
/// hides the packages read from it too.
fn database_rule(m: Manager, location: &[u8], policy: &Policy) -> Option<usize> {
    if !policy.has_path_rules() {
        return None;
    }
    let db = m.database().as_bytes();
    policy
        .path_rule(db)
        .or_else(|| policy.path_rule(&[location, db].concat()))
}

/// The differences between two databases of one manager, by name (paths `packages/NAME`,
/// parts not yet set).
fn differences(l: &Db, r: &Db) -> Vec<Difference> {
    let mut out = Vec::new();
    let names: std::collections::BTreeSet<&Bytes> =
        l.packages.keys().chain(r.packages.keys()).collect();
    for name in names {
        let (a, b) = (l.packages.get(name), r.packages.get(name));
        let status = match (a, b) {
            (Some(_), None) => Status::Removed,
            (None, Some(_)) => Status::Added,
            _ => Status::Changed,
        };
        let fields = fields(a, b);
        if fields.is_empty() {
            continue;
        }
        let mut d = Difference::new([&b"packages/"[..], name].concat().into(), status);
        d.fields = fields;
        out.push(d);
    }
    out
}

/// The fields in which two packages (either may be absent) differ, in a fixed order.
fn fields(a: Option<&Package>, b: Option<&Package>) -> Vec<FieldDiff> {
    let text = |p: Option<&Package>, f: fn(&Package) -> &Option<Bytes>| {
        p.and_then(|p| f(p).clone())
            .map_or(Value::Absent, Value::Bytes)
    };
    let size = |p: Option<&Package>| {
        p.and_then(|p| p.installed_size)
            .map_or(Value::Absent, Value::Uint)
    };
    let all = [
        ("version", text(a, |p| &p.version), text(b, |p| &p.version)),
        (
            "architecture",
            text(a, |p| &p.architecture),
            text(b, |p| &p.architecture),
        ),
        ("status", text(a, |p| &p.status), text(b, |p| &p.status)),
        ("installed_size", size(a), size(b)),
    ];
    all.into_iter()
        .filter(|(_, x, y)| x != y)
        .map(|(f, x, y)| FieldDiff::new(f, x, y).in_scope(Scope::Package))
        .collect()
}

/// Who owns a path on one side: one package, or several (no owner).
#[derive(Clone, Copy, PartialEq)]
enum Owner<'a> {
    One(&'a [u8]),
    Several,
}

/// Give each difference the package that owns its entry (its outer file's, inside a
/// file), and say whether that package owns it on every side that has the entry (the
/// only entries `package-version` may fold: an owner one side's database claims alone,
/// where the other side's names none or another, explains nothing of a file both trees
/// have; nor does a list naming a database file, which is the evidence itself).
fn attribute(diffs: &mut [Difference], sets: [&EntrySet; 2], dbs: &[Parsed; 2]) {
    if diffs.is_empty() {
        return;
    }
    let outer = |p: &[u8]| -> usize { p.windows(2).position(|w| w == b"!/").unwrap_or(p.len()) };
    let wanted: std::collections::HashSet<&[u8]> =
        diffs.iter().map(|d| &d.path[..outer(&d.path)]).collect();
    let owners = [0, 1].map(|s| owners_on(&dbs[s], sets[s], &wanted));
    let chosen: Vec<(Option<Bytes>, bool)> = diffs
        .iter()
        .map(|d| {
            let p = &d.path[..outer(&d.path)];
            let one = |s: usize| match owners[s].get(p) {
                Some(Owner::One(n)) => Some(*n),
                _ => None,
            };
            let package = one(0).or_else(|| one(1));
            let database = Manager::ALL.iter().any(|m| in_database(*m, p));
            let on_each_side = package.is_some()
                && !database
                && (0..2)
                    .filter(|&s| sets[s].get(p).is_some())
                    .map(|s| one(s) == package)
                    .reduce(|a, b| a && b)
                    .unwrap_or(false);
            (package.map(Bytes::from), on_each_side)
        })
        .collect();
    for (d, (p, each)) in diffs.iter_mut().zip(chosen) {
        d.package = p;
        d.package_on_each_side = each;
    }
}

/// Whether `path` is in the directory of a manager's database (`var/lib/dpkg/...`,
/// `lib/apk/db/...`, `var/lib/pacman/local/...`), or is one of its files.
fn in_database(m: Manager, path: &[u8]) -> bool {
    let dir: &[u8] = match m {
        Manager::Dpkg => b"var/lib/dpkg",
        Manager::Apk => b"lib/apk/db",
        Manager::Pacman => b"var/lib/pacman/local",
    };
    m.file_of(path)
        || path
            .strip_prefix(dir)
            .is_some_and(|r| r.is_empty() || r[0] == b'/')
}

/// The owners on one side of the paths in `wanted`.
fn owners_on<'a, 'w>(
    dbs: &'a Parsed,
    set: &EntrySet,
    wanted: &std::collections::HashSet<&'w [u8]>,
) -> HashMap<&'w [u8], Owner<'a>> {
    let mut out: HashMap<&'w [u8], Owner<'a>> = HashMap::new();
    // Top-level symlinks to directories: `bin` -> `usr/bin` (each first component
    // looked up once; `None`: no such symlink).
    let mut alias: HashMap<&[u8], Option<Bytes>> = HashMap::new();
    for db in dbs.values().flatten() {
        for p in db.packages.values() {
            for f in &p.files {
                let first = &f[..f.iter().position(|&c| c == b'/').unwrap_or(f.len())];
                alias
                    .entry(first)
                    .or_insert_with(|| symlink_dir(set, first));
            }
        }
    }
    for db in dbs.values().flatten() {
        for (name, p) in &db.packages {
            for f in &p.files {
                let first_len = f.iter().position(|&c| c == b'/').unwrap_or(f.len());
                let aliased: Option<Cow<[u8]>> = alias
                    .get(&f[..first_len])
                    .and_then(Option::as_ref)
                    .map(|to| Cow::Owned([&to[..], &f[first_len..]].concat()));
                for path in std::iter::once(&f[..]).chain(aliased.as_deref()) {
                    let Some(&key) = wanted.get(path) else {
                        continue;
                    };
                    out.entry(key)
                        .and_modify(|o| {
                            if *o != Owner::One(name) {
                                *o = Owner::Several;
                            }
                        })
                        .or_insert(Owner::One(name));
                }
            }
        }
    }
    out
}

/// Where a top-level symlink leads, when it is one to a path in the tree (`usr/bin`,
/// `/usr/bin`; not `..`).
fn symlink_dir(set: &EntrySet, name: &[u8]) -> Option<Bytes> {
    if name.is_empty() || name == b"." {
        return None;
    }
    let e = set.get(name)?;
    let target = e
        .link_target
        .as_deref()
        .filter(|_| e.kind == Kind::Symlink)?;
    if target.split(|&c| c == b'/').any(|c| c == b"..") {
        return None;
    }
    let to = normalize_path(target);
    (&to[..] != b"." && &to[..] != name).then_some(to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkg(v: &str, size: Option<u64>, files: &[&str]) -> Package {
        Package {
            version: Some(v.as_bytes().into()),
            architecture: Some(b"amd64".as_slice().into()),
            status: Some(b"install ok installed".as_slice().into()),
            installed_size: size,
            files: files.iter().map(|f| f.as_bytes().into()).collect(),
        }
    }

    fn db(ps: &[(&str, Package)]) -> Db {
        Db {
            packages: ps
                .iter()
                .map(|(n, p)| (n.as_bytes().into(), p.clone()))
                .collect(),
        }
    }

    #[test]
    fn package_differences() {
        let l = db(&[
            ("a", pkg("1", Some(1024), &[])),
            ("b", pkg("1", None, &[])),
            ("same", pkg("1", None, &[])),
        ]);
        let r = db(&[
            ("a", pkg("2", Some(2048), &[])),
            ("c", pkg("3", None, &[])),
            ("same", pkg("1", None, &["usr/x"])),
        ]);
        let d = differences(&l, &r);
        let got: Vec<(String, Status, Vec<String>)> = d
            .iter()
            .map(|d| {
                (
                    display_bytes(&d.path),
                    d.status,
                    d.fields
                        .iter()
                        .map(|f| format!("{} {} {}", f.name(), f.left, f.right))
                        .collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (
                    "packages/a".to_string(),
                    Status::Changed,
                    vec!["version 1 2".to_string(), "installed_size 1024 2048".into()]
                ),
                (
                    "packages/b".into(),
                    Status::Removed,
                    vec![
                        "version 1 (none)".into(),
                        "architecture amd64 (none)".into(),
                        "status install ok installed (none)".into()
                    ]
                ),
                (
                    "packages/c".into(),
                    Status::Added,
                    vec![
                        "version (none) 3".into(),
                        "architecture (none) amd64".into(),
                        "status (none) install ok installed".into()
                    ]
                ),
            ]
        );
        assert!(
            d.iter()
                .flat_map(|d| &d.fields)
                .all(|f| f.scope == Scope::Package)
        );
    }

    /// A fetcher that serves contents from memory (and says what it was asked for).
    struct Memory {
        files: BTreeMap<Bytes, Vec<u8>>,
        rereadable: bool,
        asked: Mutex<Vec<Bytes>>,
    }

    impl Fetcher for Memory {
        fn rereadable(&self) -> bool {
            self.rereadable
        }
        fn fetch(
            &self,
            wanted: &BTreeMap<Bytes, Want>,
        ) -> Result<BTreeMap<Bytes, crate::source::Fetched>> {
            let mut out = BTreeMap::new();
            for p in wanted.keys() {
                self.asked.lock().unwrap().push(p.clone());
                let bytes = self.files[p].clone();
                out.insert(
                    p.clone(),
                    crate::source::Fetched {
                        bytes,
                        sha: [0; 32],
                    },
                );
            }
            Ok(out)
        }
    }

    const STATUS: &[u8] = b"Package: hello\nVersion: 1.0\nArchitecture: amd64\n\n";

    /// A set of regular files with these contents (digest: the first byte, repeated).
    fn set(files: &[(&str, &[u8])]) -> EntrySet {
        let entries = files
            .iter()
            .map(|(p, c)| {
                let mut e = Entry::new(p.as_bytes().into(), Kind::File);
                e.size = c.len() as u64;
                e.digest = Some([c.first().copied().unwrap_or(0); 32]);
                e
            })
            .collect();
        crate::source::finish_set(
            entries,
            crate::source::InputInfo::new("x", crate::source::SourceKind::Tar),
        )
    }

    fn memory(files: &[(&str, &[u8])], rereadable: bool) -> Memory {
        Memory {
            files: files
                .iter()
                .map(|(p, c)| (p.as_bytes().into(), c.to_vec()))
                .collect(),
            rereadable,
            asked: Mutex::new(Vec::new()),
        }
    }

    fn stage(
        sets: [&EntrySet; 2],
        fetchers: [&Memory; 2],
        held: [HeldFiles; 2],
        budget: u64,
    ) -> Outcome {
        let policy = Policy::default();
        let hits = PathHits::new(&policy);
        let pair = Pair {
            sets,
            fetchers: [fetchers[0], fetchers[1]],
            held,
            location: b"",
            part: "rootfs",
            sequential: true,
            budget,
        };
        compare(pair, &mut [], &policy, &hits).unwrap()
    }

    #[test]
    fn what_was_not_held_is_read_again() {
        let right: &[u8] = b"Package: hello\nVersion: 2.0\nArchitecture: amd64\n\n";
        let files = [("var/lib/dpkg/status", STATUS)];
        let (l, r) = (set(&files), set(&[("var/lib/dpkg/status", right)]));
        let (fl, fr) = (memory(&files, true), memory(&[], true));
        // The right side's bytes were held, the left side's were not (read first
        // without a sink): the left side is read again, the right one is not.
        let mut held: [HeldFiles; 2] = Default::default();
        held[1].insert(
            (Bytes::from(&b"var/lib/dpkg/status"[..]), [right[0]; 32]),
            Arc::from(right),
        );
        let out = stage([&l, &r], [&fl, &fr], held, BUDGET);
        assert_eq!(out.part.as_deref(), Some("packages"));
        assert_eq!(out.differences.len(), 1);
        assert_eq!(&out.differences[0].path[..], b"packages/hello");
        assert_eq!(fl.asked.lock().unwrap().len(), 1);
        assert!(fr.asked.lock().unwrap().is_empty());
        assert!(out.notes.is_empty());
    }

    #[test]
    fn over_the_budget_or_a_stream_not_held_is_a_note() {
        let files = [("var/lib/dpkg/status", STATUS)];
        let s = set(&files);
        let f = memory(&files, true);
        let out = stage([&s, &s], [&f, &f], Default::default(), 10);
        assert!(out.differences.is_empty());
        assert_eq!(out.part.as_deref(), Some("packages"));
        assert_eq!(out.notes.len(), 1);
        assert_eq!(out.notes[0].kind, NOT_READ);
        assert_eq!(
            out.notes[0].message,
            format!(
                "dpkg database not read: the left side's package database files are {} \
                 bytes, over the 10 bytes rdiff reads; packages are not compared",
                STATUS.len()
            )
        );
        let stream = memory(&files, false);
        let out = stage([&s, &s], [&stream, &f], Default::default(), BUDGET);
        assert_eq!(out.notes.len(), 1);
        assert!(
            out.notes[0].message.starts_with(
                "dpkg database not read: the left side is a stream (standard input, a pipe)"
            ),
            "{}",
            out.notes[0].message
        );
        assert!(stream.asked.lock().unwrap().is_empty());
    }

    #[test]
    fn no_database_no_part() {
        let s = set(&[("etc/passwd", b"root:x:0:0::/root:/bin/sh\n")]);
        let f = memory(&[], true);
        let out = stage([&s, &s], [&f, &f], Default::default(), BUDGET);
        assert_eq!(out.part, None);
        assert!(out.notes.is_empty() && out.differences.is_empty());
    }

    #[test]
    fn holder_budget() {
        let h = DbHolder::new(10);
        assert!(h.wants(b"var/lib/dpkg/status", 10));
        assert!(!h.wants(b"var/lib/dpkg/status", 11));
        assert!(!h.wants(b"etc/passwd", 1));
        h.hold(Side::Left, b"var/lib/dpkg/status", [1; 32], b"123456");
        h.hold(Side::Left, b"var/lib/dpkg/info/a.list", [2; 32], b"123456");
        h.hold(Side::Right, b"var/lib/dpkg/status", [3; 32], b"123456");
        let [l, r] = h.into_files();
        assert_eq!(l.len(), 1, "the second file is over the left side's budget");
        assert_eq!(r.len(), 1);
    }
}
