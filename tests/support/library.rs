//! rdiff as a library, in this process: read an input, build a report, look at entries
//! and differences.

use std::collections::BTreeSet;

use clap::Parser;
use rdiff::cli::{Cli, Command};
use rdiff::entry::{Entry, display_bytes};
use rdiff::report::{Report, Status};
use rdiff::source::{EntrySet, Input, NoContent, ReadOptions, read_input};

use super::paths::td;

/// Read one input (tar in any compression, or a directory) through the library.
pub fn read_path(path: &str) -> EntrySet {
    read_input(&Input::from_arg(path), &ReadOptions::default(), &NoContent)
        .unwrap_or_else(|e| panic!("reading {path}: {e}"))
}

/// Read `testdata/<rel>`.
pub fn read_fixture(rel: &str) -> EntrySet {
    read_path(&td(rel))
}

/// The entry at a normalized path, or a panic that says which one is missing.
pub fn entry<'a>(set: &'a EntrySet, path: &str) -> &'a Entry {
    entry_b(set, path.as_bytes())
}

pub fn entry_b<'a>(set: &'a EntrySet, path: &[u8]) -> &'a Entry {
    set.get(path).unwrap_or_else(|| {
        panic!(
            "{}: no entry {:?}; have {:?}",
            set.info.name,
            display_bytes(path),
            paths(set)
        )
    })
}

/// All normalized paths, lossy, in set order.
pub fn paths(set: &EntrySet) -> Vec<String> {
    set.entries.iter().map(|e| display_bytes(&e.path)).collect()
}

/// `rdiff rootfs ARGS...` parsed and run through the library: the report, or the error.
pub fn try_report(args: &[&str]) -> rdiff::error::Result<Report> {
    let mut v = vec!["rdiff", "rootfs"];
    v.extend_from_slice(args);
    let cli = Cli::try_parse_from(&v).unwrap_or_else(|e| panic!("{v:?}: {e}"));
    let Command::Rootfs(a) = cli.command else {
        unreachable!("rootfs")
    };
    rdiff::run::rootfs_report(&a)
}

/// `rdiff rootfs ARGS...` through the library; an error fails the test.
pub fn report(args: &[&str]) -> Report {
    try_report(args).unwrap_or_else(|e| panic!("rdiff rootfs {args:?}: {e}"))
}

/// The visible differences of a report as (path, what) pairs: `what` is the field
/// name (`mode`, `xattrs.user.k`, ...) for a changed entry, `+` for an added entry and
/// `-` for a removed one.
pub fn visible(r: &Report) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for d in &r.differences {
        let p = display_bytes(&d.path);
        match d.status {
            Status::Added => {
                out.insert((p, "+".to_string()));
            }
            Status::Removed => {
                out.insert((p, "-".to_string()));
            }
            Status::Changed => {
                assert!(!d.fields.is_empty(), "{p}: changed without visible fields");
                for f in &d.fields {
                    out.insert((p.clone(), f.name()));
                }
            }
        }
    }
    out
}

/// `rdiff image ARGS...` through the library; an error fails the test.
pub fn image_report(args: &[&str]) -> Report {
    let mut v = vec!["rdiff", "image"];
    v.extend_from_slice(args);
    let cli = Cli::try_parse_from(&v).unwrap_or_else(|e| panic!("{v:?}: {e}"));
    let Command::Image(a) = cli.command else {
        unreachable!("image")
    };
    rdiff::run::image_report(&a).unwrap_or_else(|e| panic!("{v:?}: {e}"))
}
