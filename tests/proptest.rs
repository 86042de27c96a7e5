//! Property tests: a random tree written as a tar is identical to a copy of itself, and
//! through gzip and zstd differs only in the input's bytes and codec (equal under
//! `--semantic`); one random mutation is found exactly once, at its path, as exactly
//! the expected field(s), with the expected content diff, beside the input's `sha256`;
//! `--semantic` hides exactly the mtime mutations and counts what it hid.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::fmt;
use std::os::unix::ffi::OsStrExt;

use proptest::prelude::*;
use proptest::sample::Index;
use rdiff::entry::display_bytes;
use rdiff::report::{ContentDiff, Report, Status, Value};
use support::data::{Codec, Rng, sha256};
use support::library;

// ---------------------------------------------------------------------------------
// The model

#[derive(Clone, PartialEq, Eq)]
struct Content {
    bytes: Vec<u8>,
}

impl Content {
    fn is_text(&self) -> bool {
        !self.bytes.contains(&0)
    }
}

impl fmt::Debug for Content {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = &self.bytes[..self.bytes.len().min(24)];
        write!(
            f,
            "Content({} bytes, {}, starts {:?})",
            self.bytes.len(),
            if self.is_text() { "text" } else { "binary" },
            String::from_utf8_lossy(head)
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum NodeKind {
    File(Content),
    Dir,
    Symlink(String),
    /// A hardlink to an earlier regular file, by path.
    Hardlink(Vec<u8>),
}

#[derive(Clone, Debug)]
struct Node {
    /// Bytes, not necessarily UTF-8.
    path: Vec<u8>,
    kind: NodeKind,
    mode: u32,
    /// Large values are written base-256 by the tar crate.
    uid: u64,
    gid: u64,
    /// Negative only with `pax_mtime`; past 8^11 - 1 the header holds base-256.
    secs: i64,
    nanos: u32,
    /// The mtime travels in a PAX `mtime` record (with nanoseconds); otherwise only in
    /// the header, in whole seconds.
    pax_mtime: bool,
    /// `user.*` names to binary values.
    xattrs: BTreeMap<String, Vec<u8>>,
}

/// How a PAX `mtime` record spells the fraction of a second.
#[derive(Clone, Copy, Debug)]
enum Fraction {
    /// Always nine digits (`1700000000.123456780`), as this writer always did.
    NineDigits,
    /// Without trailing zeros, none at all for whole seconds, as GNU tar, libarchive
    /// and Go write it (and rdiff's framing digest expects).
    Trimmed,
}

/// Nodes in archive order.
#[derive(Clone, Debug)]
struct Tree {
    nodes: Vec<Node>,
}

impl Tree {
    fn hardlink_targets(&self) -> BTreeSet<Vec<u8>> {
        self.nodes
            .iter()
            .filter_map(|n| match &n.kind {
                NodeKind::Hardlink(t) => Some(t.clone()),
                _ => None,
            })
            .collect()
    }

    fn to_tar(&self) -> Vec<u8> {
        self.to_tar_with(Fraction::NineDigits)
    }

    fn to_tar_with(&self, fraction: Fraction) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for n in &self.nodes {
            let mut pax: Vec<(String, Vec<u8>)> = Vec::new();
            if n.pax_mtime {
                let frac = format!("{:09}", n.nanos);
                let time = match fraction {
                    Fraction::NineDigits => format!("{}.{frac}", n.secs),
                    Fraction::Trimmed if n.nanos == 0 => n.secs.to_string(),
                    Fraction::Trimmed => format!("{}.{}", n.secs, frac.trim_end_matches('0')),
                };
                pax.push(("mtime".into(), time.into_bytes()));
            }
            for (k, v) in &n.xattrs {
                pax.push((format!("SCHILY.xattr.{k}"), v.clone()));
            }
            // A target too long for the linkname field (the path itself fits with the
            // ustar prefix) goes in a PAX record.
            if let NodeKind::Hardlink(t) = &n.kind
                && t.len() > 100
            {
                pax.push(("linkpath".into(), t.clone()));
            }
            if !pax.is_empty() {
                b.append_pax_extensions(pax.iter().map(|(k, v)| (k.as_str(), v.as_slice())))
                    .unwrap();
            }
            let mut h = tar::Header::new_ustar();
            h.set_path(OsStr::from_bytes(&n.path)).unwrap();
            h.set_mode(n.mode);
            h.set_uid(n.uid);
            h.set_gid(n.gid);
            h.set_mtime(n.secs.max(0) as u64);
            let data: &[u8] = match &n.kind {
                NodeKind::File(c) => {
                    h.set_entry_type(tar::EntryType::Regular);
                    &c.bytes
                }
                NodeKind::Dir => {
                    h.set_entry_type(tar::EntryType::Directory);
                    &[]
                }
                NodeKind::Symlink(t) => {
                    h.set_entry_type(tar::EntryType::Symlink);
                    h.set_link_name_literal(t).unwrap();
                    &[]
                }
                NodeKind::Hardlink(t) => {
                    h.set_entry_type(tar::EntryType::Link);
                    h.set_link_name_literal(&t[..t.len().min(100)]).unwrap();
                    &[]
                }
            };
            h.set_size(data.len() as u64);
            h.set_cksum();
            b.append(&h, data).unwrap();
        }
        b.into_inner().unwrap()
    }
}

// ---------------------------------------------------------------------------------
// Strategies

const WORDS: &[&str] = &[
    "alpha", "beta", "gamma", "delta", "lorem", "ipsum", "root", "etc", "passwd", "tar", "zstd",
    "x", "quux", "01", "=", "#",
];

fn text_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(len + 16);
    while out.len() < len {
        let words = rng.range(1, 8);
        for w in 0..words {
            if w > 0 {
                out.push(b' ');
            }
            out.extend_from_slice(WORDS[rng.range(0, WORDS.len() - 1)].as_bytes());
        }
        out.push(b'\n');
    }
    out.truncate(len);
    out
}

fn binary_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut v = Rng::new(seed).bytes(len);
    if let Some(b) = v.first_mut() {
        *b = 0; // a NUL byte: binary whatever the rest is
    }
    v
}

fn content() -> impl Strategy<Value = Content> {
    let len = prop_oneof![
        4 => 0usize..200,
        3 => 200usize..5000,
        1 => 60_000usize..70_000,            // around one 64 KiB block
        1 => (64 * 1024 + 1usize)..(200 * 1024),  // several blocks
    ];
    (len, any::<u64>(), any::<bool>()).prop_map(|(len, seed, text)| Content {
        bytes: if text {
            text_bytes(len, seed)
        } else {
            binary_bytes(len, seed)
        },
    })
}

fn xattr_value() -> impl Strategy<Value = Vec<u8>> {
    // Binary, with newlines (PAX records are walked by length, not split on '\n').
    prop::collection::vec(
        prop_oneof![1 => Just(b'\n'), 1 => Just(0u8), 4 => any::<u8>()],
        1..40,
    )
}

fn xattrs() -> impl Strategy<Value = BTreeMap<String, Vec<u8>>> {
    let name = prop::sample::select(vec!["user.a", "user.b", "user.comment", "user.mime_type"])
        .prop_map(String::from);
    prop_oneof![
        2 => Just(BTreeMap::new()),
        1 => prop::collection::btree_map(name, xattr_value(), 1..3),
    ]
}

/// Everything about a node except its path; the kind choice is resolved against the
/// tree (directories where children exist, hardlinks only to earlier files).
#[derive(Clone, Debug)]
struct Attrs {
    kind: u8,
    content: Content,
    target: String,
    link_pick: Index,
    mode: u32,
    uid: u64,
    gid: u64,
    secs: i64,
    nanos: u32,
    pax_mtime: bool,
    xattrs: BTreeMap<String, Vec<u8>>,
}

fn id() -> impl Strategy<Value = u64> {
    prop_oneof![4 => 0u64..70_000, 1 => 2_097_152u64..(1 << 32)]
}

fn attrs() -> impl Strategy<Value = Attrs> {
    (
        (0u8..4, content(), "[a-z0-9./_-]{1,40}", any::<Index>()),
        (
            0u32..0o10000,
            id(),
            id(),
            prop_oneof![4 => 0i64..8_000_000_000, 1 => 8_589_934_592i64..(1 << 40)],
            0u32..1_000_000_000,
            any::<bool>(),
            -5_000_000_000i64..0,
        ),
        xattrs(),
    )
        .prop_map(
            |(
                (kind, content, target, link_pick),
                (mode, uid, gid, secs, nanos, pax_mtime, neg),
                xattrs,
            )| Attrs {
                kind,
                content,
                target,
                link_pick,
                mode,
                uid,
                gid,
                // Before 1970 now and then, which only PAX can say.
                secs: if pax_mtime && nanos % 3 == 0 {
                    neg
                } else {
                    secs
                },
                nanos: if pax_mtime { nanos } else { 0 },
                pax_mtime,
                xattrs,
            },
        )
}

/// Path components: short names, UTF-8 and non-UTF-8 bytes, and a long one (three of
/// them need the ustar prefix field).
const COMPONENTS: &[&[u8]] = &[
    b"a",
    b"b",
    b"c",
    b"lib",
    b"x.txt",
    "\u{e9}t\u{e9}".as_bytes(),
    b"bad\xff\xfe",
    b"long-component-padded-to-sixty-bytes-xxxxxxxxxxxxxxxxxxxxxxx",
];

fn paths() -> impl Strategy<Value = Vec<Vec<u8>>> {
    let comp = prop::sample::select(COMPONENTS.to_vec());
    let path = prop::collection::vec(comp, 1..=3).prop_map(|v| v.join(&b'/'));
    prop::collection::btree_set(path, 1..9).prop_map(|set| {
        // Add every parent directory; BTreeSet order puts parents before children.
        let mut all: BTreeSet<Vec<u8>> = BTreeSet::new();
        for p in set {
            let mut acc: Vec<u8> = Vec::new();
            for c in p.split(|&b| b == b'/') {
                if !acc.is_empty() {
                    acc.push(b'/');
                }
                acc.extend_from_slice(c);
                all.insert(acc.clone());
            }
        }
        all.into_iter().collect()
    })
}

fn tree() -> impl Strategy<Value = Tree> {
    paths()
        .prop_flat_map(|paths| {
            let n = paths.len();
            (Just(paths), prop::collection::vec(attrs(), n))
        })
        .prop_map(|(paths, attrs)| {
            let mut nodes: Vec<Node> = Vec::with_capacity(paths.len());
            for (path, a) in paths.iter().zip(attrs) {
                let has_children = paths
                    .iter()
                    .any(|q| q.len() > path.len() && q.starts_with(path) && q[path.len()] == b'/');
                let earlier_files: Vec<&[u8]> = nodes
                    .iter()
                    .filter(|n| matches!(n.kind, NodeKind::File(_)))
                    .map(|n| n.path.as_slice())
                    .collect();
                let kind = if has_children {
                    NodeKind::Dir
                } else {
                    match a.kind {
                        0 => NodeKind::File(a.content),
                        1 => NodeKind::Dir,
                        2 => NodeKind::Symlink(a.target),
                        _ if !earlier_files.is_empty() => {
                            NodeKind::Hardlink(a.link_pick.get(&earlier_files).to_vec())
                        }
                        _ => NodeKind::File(a.content),
                    }
                };
                nodes.push(Node {
                    path: path.clone(),
                    kind,
                    mode: a.mode,
                    uid: a.uid,
                    gid: a.gid,
                    secs: a.secs,
                    nanos: a.nanos,
                    pax_mtime: a.pax_mtime,
                    xattrs: a.xattrs,
                });
            }
            Tree { nodes }
        })
}

// ---------------------------------------------------------------------------------
// Mutations

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mutation {
    ContentFlip,
    ContentResize,
    Mode,
    Uid,
    Mtime,
    Xattr,
    SymlinkTarget,
    Add,
    Remove,
}

const MUTATIONS: [Mutation; 9] = [
    Mutation::ContentFlip,
    Mutation::ContentResize,
    Mutation::Mode,
    Mutation::Uid,
    Mutation::Mtime,
    Mutation::Xattr,
    Mutation::SymlinkTarget,
    Mutation::Add,
    Mutation::Remove,
];

/// What the content diff must show.
#[derive(Clone, Debug)]
enum ContentCheck {
    /// A unified diff with these lines (`-old`, `+new`, ...).
    Text(Vec<String>),
    /// Binary: the first differing byte.
    Binary(u64),
}

#[derive(Clone, Debug)]
struct Expected {
    mutation: Mutation,
    path: Vec<u8>,
    status: Status,
    /// Field families (`content`, `size`, ...).
    fields: BTreeSet<&'static str>,
    /// The full field name when it has a key (`xattrs.user.a`).
    keyed_name: Option<String>,
    content: Option<ContentCheck>,
}

/// The line of `text` that holds byte `i`, without its newline.
fn line_at(text: &[u8], i: usize) -> String {
    let start = text[..i]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |p| p + 1);
    let end = text[i..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(text.len(), |p| i + p);
    String::from_utf8_lossy(&text[start..end]).into_owned()
}

/// Apply `want` (or, when no node allows it, a mode change) to the node `pick` chooses
/// among those it applies to. `r` supplies the new values.
fn mutate(tree: &Tree, want: Mutation, pick: Index, r: u64) -> (Tree, Expected) {
    let targets = tree.hardlink_targets();
    let applicable = |m: Mutation, n: &Node| -> bool {
        match (m, &n.kind) {
            // A hardlink target's content is also its hardlinks' content.
            (Mutation::ContentFlip, NodeKind::File(c)) => {
                !c.bytes.is_empty() && !targets.contains(&n.path)
            }
            (Mutation::ContentResize, NodeKind::File(_)) => !targets.contains(&n.path),
            (Mutation::ContentFlip | Mutation::ContentResize, _) => false,
            (Mutation::Xattr, _) => !n.xattrs.is_empty(),
            (Mutation::SymlinkTarget, k) => matches!(k, NodeKind::Symlink(_)),
            (Mutation::Remove, _) => !targets.contains(&n.path),
            _ => true,
        }
    };
    let mut m = want;
    let mut cands: Vec<usize> = (0..tree.nodes.len())
        .filter(|&i| applicable(m, &tree.nodes[i]))
        .collect();
    if cands.is_empty() {
        m = Mutation::Mode;
        cands = (0..tree.nodes.len()).collect();
    }
    let i = *pick.get(&cands);
    let mut t = tree.clone();
    let path = t.nodes[i].path.clone();
    let mut exp = Expected {
        mutation: m,
        path: path.clone(),
        status: Status::Changed,
        fields: BTreeSet::new(),
        keyed_name: None,
        content: None,
    };
    let node = &mut t.nodes[i];
    match m {
        Mutation::ContentFlip => {
            let NodeKind::File(c) = &mut node.kind else {
                unreachable!()
            };
            let old = c.bytes.clone();
            let len = old.len();
            if c.is_text() {
                // Replace a non-newline byte with a different letter.
                let mut at = (r as usize) % len;
                let tries = (0..len).map(|k| (at + k) % len);
                let found = tries.clone().find(|&k| old[k] != b'\n');
                match found {
                    Some(k) => {
                        at = k;
                        let mut new = b'a' + (r % 26) as u8;
                        if new == old[at] {
                            new = if new == b'z' { b'a' } else { new + 1 };
                        }
                        c.bytes[at] = new;
                        exp.content = Some(ContentCheck::Text(vec![
                            format!("-{}\n", line_at(&old, at)),
                            format!("+{}\n", line_at(&c.bytes, at)),
                        ]));
                    }
                    None => {
                        // Only newlines: turn one into a letter.
                        c.bytes[at] = b'q';
                        exp.content = Some(ContentCheck::Text(vec![format!(
                            "+{}\n",
                            line_at(&c.bytes, at)
                        )]));
                    }
                }
            } else {
                let at = (r as usize) % len;
                c.bytes[at] ^= 1 + (r % 255) as u8;
                exp.content = Some(ContentCheck::Binary(at as u64));
            }
            exp.fields = ["content"].into();
        }
        Mutation::ContentResize => {
            let NodeKind::File(c) = &mut node.kind else {
                unreachable!()
            };
            let old_len = c.bytes.len();
            if c.is_text() {
                let line = format!("appended line {}", r % 1000);
                c.bytes.extend_from_slice(format!("\n{line}\n").as_bytes());
                exp.content = Some(ContentCheck::Text(vec![format!("+{line}\n")]));
            } else if r.is_multiple_of(2) && old_len > 0 {
                let new_len = (r as usize / 2) % old_len;
                c.bytes.truncate(new_len);
                exp.content = Some(ContentCheck::Binary(new_len as u64));
            } else {
                let mut extra = binary_bytes(1 + (r % 300) as usize, r);
                extra[0] = 0;
                c.bytes.extend_from_slice(&extra);
                exp.content = Some(ContentCheck::Binary(old_len as u64));
            }
            exp.fields = ["content", "size"].into();
        }
        Mutation::Mode => {
            node.mode = (node.mode ^ (1 + (r % 0o777) as u32)) & 0o7777;
            exp.fields = ["mode"].into();
        }
        Mutation::Uid => {
            node.uid += 1 + r % 1000;
            exp.fields = ["uid"].into();
        }
        Mutation::Mtime => {
            node.secs += 1 + (r % 1_000_000) as i64;
            if node.pax_mtime {
                node.nanos = (r % 1_000_000_000) as u32;
            }
            exp.fields = ["mtime"].into();
        }
        Mutation::Xattr => {
            let keys: Vec<String> = node.xattrs.keys().cloned().collect();
            let k = keys[(r as usize) % keys.len()].clone();
            let v = node.xattrs.get_mut(&k).unwrap();
            let at = (r as usize / 7) % v.len();
            v[at] ^= 1 + (r % 255) as u8;
            exp.fields = ["xattrs"].into();
            exp.keyed_name = Some(format!("xattrs.{k}"));
        }
        Mutation::SymlinkTarget => {
            let NodeKind::Symlink(tg) = &mut node.kind else {
                unreachable!()
            };
            tg.push_str(&format!("-{}", r % 100));
            exp.fields = ["link_target"].into();
        }
        Mutation::Remove => {
            t.nodes.remove(i);
            exp.status = Status::Removed;
        }
        Mutation::Add => {
            let new_path = format!("zz-new-{}", r % 1000).into_bytes();
            let new = Node {
                path: new_path.clone(),
                kind: NodeKind::File(Content {
                    bytes: text_bytes((r % 500) as usize, r),
                }),
                mode: 0o644,
                uid: 0,
                gid: 0,
                secs: 1_700_000_000,
                nanos: 0,
                pax_mtime: false,
                xattrs: BTreeMap::new(),
            };
            let at = (r as usize) % (t.nodes.len() + 1);
            t.nodes.insert(at, new);
            exp.path = new_path;
            exp.status = Status::Added;
        }
    }
    (t, exp)
}

// ---------------------------------------------------------------------------------
// Running rdiff

fn report(left: &std::path::Path, right: &std::path::Path, flags: &[&str]) -> Report {
    let (l, r) = (left.display().to_string(), right.display().to_string());
    library::report(&[flags, &[l.as_str(), r.as_str()]].concat())
}

fn describe(r: &Report) -> String {
    let mut s = r.verdict();
    for d in &r.differences {
        s.push_str(&format!(
            "\n  {} {:?} [{}]",
            display_bytes(&d.path),
            d.status,
            d.fields
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    s
}

/// SHA-256 of a file, computed here.
fn file_sha256(p: &std::path::Path) -> [u8; 32] {
    sha256(&std::fs::read(p).unwrap())
}

/// The difference of the inputs as wholes: two plain tars written by the same code
/// differ only in their bytes (`sha256`), which is shown with the entry difference that
/// explains it.
fn check_input_bytes(
    r: &Report,
    a: &std::path::Path,
    b: &std::path::Path,
) -> Result<(), TestCaseError> {
    let inputs: Vec<&rdiff::report::Difference> =
        r.differences.iter().filter(|d| d.part == "input").collect();
    prop_assert_eq!(inputs.len(), 1, "{}", describe(r));
    let d = inputs[0];
    prop_assert_eq!(&d.path[..], &b"input"[..]);
    prop_assert_eq!(d.status, Status::Changed);
    let names: Vec<String> = d.fields.iter().map(|f| f.name()).collect();
    prop_assert_eq!(names, vec!["sha256".to_string()], "{}", describe(r));
    let f = &d.fields[0];
    prop_assert_eq!(f.scope, rdiff::report::Scope::Input);
    prop_assert_eq!(&f.left, &Value::Digest(file_sha256(a)));
    prop_assert_eq!(&f.right, &Value::Digest(file_sha256(b)));
    Ok(())
}

/// One entry difference as `exp` says (besides the input's `sha256`, see
/// [`check_input_bytes`]).
fn check_one_difference(r: &Report, exp: &Expected) -> Result<(), TestCaseError> {
    prop_assert!(!r.identical, "{}", describe(r));
    let entries: Vec<&rdiff::report::Difference> =
        r.differences.iter().filter(|d| d.part != "input").collect();
    prop_assert_eq!(entries.len(), 1, "{}", describe(r));
    prop_assert_eq!(r.differences.len(), 2, "{}", describe(r));
    let d = entries[0];
    prop_assert_eq!(&d.path[..], &exp.path[..]);
    prop_assert_eq!(d.status, exp.status);
    let fields: BTreeSet<&str> = d.fields.iter().map(|f| f.field).collect();
    prop_assert_eq!(
        d.fields.len(),
        fields.len(),
        "one entry per field: {}",
        describe(r)
    );
    prop_assert_eq!(&fields, &exp.fields, "{}", describe(r));
    if let Some(name) = &exp.keyed_name {
        prop_assert_eq!(&d.fields[0].name(), name);
    }
    // `changed` counts entries only (not the input's difference).
    let (added, removed, changed) = match exp.status {
        Status::Added => (1, 0, 0),
        Status::Removed => (0, 1, 0),
        Status::Changed => (0, 0, 1),
    };
    prop_assert_eq!(
        (r.summary.added, r.summary.removed, r.summary.changed),
        (added, removed, changed)
    );
    match (&exp.content, &d.content) {
        (None, _) => {}
        (Some(ContentCheck::Text(lines)), Some(ContentDiff::Text { unified, .. })) => {
            let head = format!(
                "--- left/{p}\n+++ right/{p}\n",
                p = display_bytes(&exp.path)
            );
            prop_assert!(unified.starts_with(&head), "{}", unified);
            for l in lines {
                prop_assert!(unified.contains(l.as_str()), "want {:?} in\n{}", l, unified);
            }
        }
        (
            Some(ContentCheck::Binary(off)),
            Some(ContentDiff::Binary {
                first_difference, ..
            }),
        ) => {
            prop_assert_eq!(*first_difference, Some(*off));
        }
        (want, got) => prop_assert!(false, "content diff: want {:?}, got {:?}", want, got),
    }
    Ok(())
}

/// 48 cases by default (seconds); `PROPTEST_CASES=N` runs more.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(48);
    ProptestConfig {
        cases,
        max_shrink_iters: 256,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    /// (a) A tree compared with a byte copy of itself (identical), a gzip copy and a
    /// zstd copy: strict is bit-for-bit, so the compressed copies differ in the input's
    /// bytes and codec and in nothing else; under --semantic (and --ignore-compression
    /// alone) they are equal, with exactly those hidden.
    #[test]
    fn tree_is_identical_to_its_copies(tree in tree()) {
        let dir = tempfile::tempdir().unwrap();
        let tar = tree.to_tar();
        let a = dir.path().join("a.tar");
        let b = dir.path().join("b.tar");
        let gz = dir.path().join("b.tar.gz");
        let zst = dir.path().join("b.tar.zst");
        std::fs::write(&a, &tar).unwrap();
        std::fs::write(&b, &tar).unwrap();
        std::fs::write(&gz, Codec::Gzip.compress(&tar)).unwrap();
        std::fs::write(&zst, Codec::Zstd.compress(&tar)).unwrap();
        let n = Some(tree.nodes.len() as u64);
        let r = report(&a, &b, &["--read-identical"]);
        prop_assert!(r.identical && r.equal && r.semantically_equal, "{}", describe(&r));
        prop_assert!(r.differences.is_empty() && r.ignored.is_empty());
        // Every node was read: nothing is identical because nothing was seen.
        prop_assert_eq!(r.left.entries, n);
        prop_assert_eq!(r.right.entries, n);
        for (left, right) in [(&a, &gz), (&a, &zst), (&gz, &zst)] {
            let r = report(left, right, &["--read-identical"]);
            prop_assert!(!r.identical && !r.equal && r.semantically_equal, "{}", describe(&r));
            prop_assert_eq!(r.differences.len(), 1, "{}", describe(&r));
            let d = &r.differences[0];
            prop_assert_eq!(&d.part, "input");
            let names: Vec<String> = d.fields.iter().map(|f| f.name()).collect();
            prop_assert_eq!(names, vec!["sha256".to_string(), "compression".to_string()]);
            prop_assert_eq!(&d.fields[0].left, &Value::Digest(file_sha256(left)));
            prop_assert_eq!(&d.fields[0].right, &Value::Digest(file_sha256(right)));
            prop_assert!(r.ignored.is_empty());
            prop_assert_eq!(r.left.entries, n);
            prop_assert_eq!(r.right.entries, n);
            for flag in ["--semantic", "--ignore-compression"] {
                let r = report(left, right, &[flag]);
                prop_assert!(r.equal && !r.identical, "{}: {}", flag, describe(&r));
                prop_assert!(r.differences.is_empty());
                let hidden: Vec<(&str, &str, u64)> = r
                    .ignored
                    .iter()
                    .map(|i| (i.rule.as_str(), i.field.as_str(), i.count))
                    .collect();
                prop_assert_eq!(
                    hidden,
                    vec![
                        ("ignore-compression", "compression", 1),
                        ("ignore-compression", "sha256", 1)
                    ],
                    "{}",
                    flag
                );
                // Every entry was compared and found equal.
                prop_assert_eq!(r.left.entries, n);
            }
        }
        // Without --read-identical the byte copy is found identical without reading it.
        let r = report(&a, &b, &[]);
        prop_assert!(r.identical && r.left.entries.is_none());
    }

    /// (b), (c) One mutation at a time (each kind in turn, on the same tree): one
    /// visible difference with exactly the expected fields and content diff; under
    /// --semantic only the mtime mutation disappears, and is counted as ignored.
    ///
    /// PAX mtimes with a nine-digit fraction (trailing zeros kept): the spelling
    /// follows the time, so an mtime mutation is `mtime` alone (see
    /// `pax_mtime_with_a_trailing_zero_is_no_header_difference`).
    #[test]
    fn one_mutation_is_found_exactly_once(tree in tree(), pick in any::<Index>(), r in any::<u64>()) {
        one_mutation_at_a_time(&tree, pick, r, Fraction::NineDigits)?;
    }

    /// The same, with PAX mtimes spelled as GNU tar spells them.
    #[test]
    fn one_mutation_is_found_exactly_once_gnu_time_spelling(
        tree in tree(),
        pick in any::<Index>(),
        r in any::<u64>(),
    ) {
        one_mutation_at_a_time(&tree, pick, r, Fraction::Trimmed)?;
    }
}

fn one_mutation_at_a_time(
    tree: &Tree,
    pick: Index,
    r: u64,
    fraction: Fraction,
) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("left.tar");
    std::fs::write(&a, tree.to_tar_with(fraction)).unwrap();
    for m in MUTATIONS {
        let (mutated, exp) = mutate(tree, m, pick, r);
        let b = dir.path().join("right.tar");
        std::fs::write(&b, mutated.to_tar_with(fraction)).unwrap();
        check_mutation(&a, &b, &exp).map_err(|e| TestCaseError::fail(format!("{exp:?}: {e}")))?;
    }
    Ok(())
}

/// The same writer, the same spelling (a nine-digit fraction), two mtimes: the header
/// bytes differ only in the `mtime` record's value, which `mtime` shows. A PAX time
/// spelled otherwise than rdiff spells it (`1700000000.123456780`, a trailing zero) is
/// left out of the framing digest like one spelled as rdiff does; its spelling is kept
/// aside and compared only where the times are equal (a writer's spelling can follow
/// from the time, as here).
#[test]
fn pax_mtime_with_a_trailing_zero_is_no_header_difference() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, nanos: u32| {
        let t = Tree {
            nodes: vec![Node {
                path: b"f".to_vec(),
                kind: NodeKind::File(Content {
                    bytes: b"abc".to_vec(),
                }),
                mode: 0o644,
                uid: 0,
                gid: 0,
                secs: 1_700_000_000,
                nanos,
                pax_mtime: true,
                xattrs: BTreeMap::new(),
            }],
        };
        let p = dir.path().join(name);
        std::fs::write(&p, t.to_tar_with(Fraction::NineDigits)).unwrap();
        p
    };
    let (a, b) = (write("a.tar", 123_456_789), write("b.tar", 123_456_780));
    let strict = report(&a, &b, &[]);
    let shown: Vec<(String, String)> = strict
        .differences
        .iter()
        .flat_map(|d| d.fields.iter().map(|f| (display_bytes(&d.path), f.name())))
        .collect();
    assert_eq!(
        shown,
        [
            ("input".to_string(), "sha256".to_string()),
            ("f".to_string(), "mtime".to_string())
        ],
        "{}",
        describe(&strict)
    );
    let r = report(&a, &b, &["--ignore-file-timestamps"]);
    assert!(r.equal, "{}", describe(&r));
}

fn check_mutation(
    a: &std::path::Path,
    b: &std::path::Path,
    exp: &Expected,
) -> Result<(), TestCaseError> {
    let strict = report(a, b, &[]);
    prop_assert!(!strict.equal);
    check_one_difference(&strict, exp)?;
    check_input_bytes(&strict, a, b)?;
    prop_assert_eq!(strict.semantically_equal, exp.mutation == Mutation::Mtime);

    let sem = report(a, b, &["--semantic"]);
    prop_assert!(!sem.identical);
    if exp.mutation == Mutation::Mtime {
        prop_assert!(sem.equal, "{}", describe(&sem));
        prop_assert!(sem.differences.is_empty());
        // The input's sha256 goes with the mtime that explains it.
        let hidden: Vec<(&str, &str, u64)> = sem
            .ignored
            .iter()
            .map(|i| (i.rule.as_str(), i.field.as_str(), i.count))
            .collect();
        prop_assert_eq!(
            hidden,
            vec![
                ("ignore-file-timestamps", "mtime", 1),
                ("ignore-file-timestamps", "sha256", 1)
            ]
        );
        // The entry (the input's difference is no entry).
        prop_assert_eq!(sem.summary.ignored_entries, 1);
    } else {
        prop_assert!(!sem.equal);
        prop_assert!(sem.ignored.is_empty(), "{:?}", sem.ignored);
        check_one_difference(&sem, exp)?;
        check_input_bytes(&sem, a, b)?;
    }
    Ok(())
}

/// The generators produce the shapes the properties are about, and each mutation kind
/// finds a node to apply to in most trees (a guard against a strategy that silently
/// stops producing them, which would make the properties vacuous).
#[test]
fn strategies_cover_the_interesting_cases() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let (mut big, mut multi_block, mut nl_xattr, mut hard, mut sym, mut nanos) =
        (false, false, false, false, false, false);
    let (mut long_path, mut non_utf8, mut base256_id, mut base256_time, mut before_1970) =
        (false, false, false, false, false);
    let mut applied: BTreeMap<String, u32> = BTreeMap::new();
    let (mut text_flips, mut binary_flips) = (0, 0);
    let trees = 300;
    for _ in 0..trees {
        let t = tree().new_tree(&mut runner).unwrap().current();
        let pick = any::<Index>().new_tree(&mut runner).unwrap().current();
        let r = any::<u64>().new_tree(&mut runner).unwrap().current();
        for m in MUTATIONS {
            let exp = mutate(&t, m, pick, r).1;
            *applied.entry(format!("{:?}", exp.mutation)).or_default() += 1;
            match exp.content {
                Some(ContentCheck::Text(_)) if m == Mutation::ContentFlip => text_flips += 1,
                Some(ContentCheck::Binary(_)) if m == Mutation::ContentFlip => binary_flips += 1,
                _ => {}
            }
        }
        for n in &t.nodes {
            match &n.kind {
                NodeKind::File(c) if c.bytes.len() > 64 * 1024 => {
                    big = true;
                    multi_block |= c.bytes.len() > 2 * 64 * 1024;
                }
                NodeKind::Hardlink(_) => hard = true,
                NodeKind::Symlink(_) => sym = true,
                _ => {}
            }
            nl_xattr |= n.xattrs.values().any(|v| v.contains(&b'\n'));
            nanos |= n.pax_mtime && n.nanos != 0;
            long_path |= n.path.len() > 100;
            non_utf8 |= std::str::from_utf8(&n.path).is_err();
            base256_id |= n.uid >= 1 << 21;
            base256_time |= n.secs >= 1 << 33;
            before_1970 |= n.secs < 0;
        }
    }
    assert!(big && multi_block && nl_xattr && hard && sym && nanos);
    assert!(long_path && non_utf8 && base256_id && base256_time && before_1970);
    for m in MUTATIONS {
        let n = applied.get(&format!("{m:?}")).copied().unwrap_or(0);
        assert!(
            n >= trees / 3,
            "{m:?} applied to only {n} of {trees} trees: {applied:?}"
        );
    }
    assert!(
        text_flips >= trees / 6 && binary_flips >= trees / 6,
        "{text_flips} {binary_flips}"
    );
}
