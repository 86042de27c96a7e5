//! Hints: likely causes of differences, each named with its evidence and the entries it
//! explains (docs/hints.md). A pure stage between the comparison and the report:
//! differences, notes and a few facts about the run in, hints out. Rules read the
//! finished differences by their field names and values, never the sources, so a rule
//! about the fields nested formats or package databases bring (`gzip.mtime`,
//! `elf.build_id`, `packages/NAME`) needs nothing but those differences.
//!
//! A rule is one line of [`RULES`]: an id and a function from the [`Evidence`] to what
//! it found. The hints are ordered by the number of entries they explain (most
//! first), then by their place in the table, then by text, so the order depends on
//! the differences alone.

mod content;
mod nested;
pub mod scan;
mod time;

use std::cell::OnceCell;

use crate::entry::{Bytes, display_bytes};
use crate::report::{Difference, FieldDiff, Hint, Note};

/// Facts about the run the rules may read besides the differences and notes.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// `--source-date-epoch`.
    pub source_date_epoch: Option<i64>,
}

/// What the rules read: every difference of the report (each field tagged with the
/// rule that hides it, if any), in report order; the notes; the run's inputs.
pub struct Evidence<'a> {
    pub diffs: &'a [Difference],
    pub notes: &'a [Note],
    pub inputs: &'a Inputs,
    /// What the differing contents hold, worked out once for the rules that read it.
    contents: OnceCell<Vec<content::Explained>>,
    /// The paths inside other entries (`OUTER!/INNER`), sorted, with their indices.
    nested: OnceCell<Vec<(&'a [u8], usize)>>,
}

impl<'a> Evidence<'a> {
    pub fn new(diffs: &'a [Difference], notes: &'a [Note], inputs: &'a Inputs) -> Self {
        Evidence {
            diffs,
            notes,
            inputs,
            contents: OnceCell::new(),
            nested: OnceCell::new(),
        }
    }

    fn contents(&self) -> &[content::Explained] {
        self.contents.get_or_init(|| content::explain_all(self))
    }

    /// The differences inside the entry at `outer` (`outer!/...`, at any depth), in
    /// report order.
    fn inside(&self, outer: &[u8]) -> Vec<usize> {
        let index = self.nested.get_or_init(|| {
            let mut v: Vec<(&[u8], usize)> = (self.diffs.iter().enumerate())
                .filter(|(_, d)| nested::is_nested(&d.path))
                .map(|(i, d)| (&d.path[..], i))
                .collect();
            v.sort_unstable();
            v
        });
        let prefix = [outer, nested::NESTED].concat();
        let start = index.partition_point(|(p, _)| *p < &prefix[..]);
        let mut out: Vec<usize> = index[start..]
            .iter()
            .take_while(|(p, _)| p.starts_with(&prefix))
            .map(|(_, i)| *i)
            .collect();
        out.sort_unstable();
        out
    }
}

/// What one rule found: one hint to be.
#[derive(Clone, Debug, PartialEq)]
pub struct Found {
    pub id: &'static str,
    /// The entries and locations it explains, in report order.
    pub paths: Vec<Bytes>,
    pub text: String,
    /// Differences (indices in `Evidence::diffs`) it explains whole: the reports that
    /// fold show them under the hint instead of in the list.
    pub folds: Vec<usize>,
    /// How the folded differences are grouped (their counts are made when they are
    /// folded).
    pub groups: Vec<crate::report::HintGroup>,
}

impl Found {
    /// A hint about the differences at `explains` (indices, in report order).
    fn at(id: &'static str, ev: &Evidence<'_>, explains: &[usize], text: String) -> Found {
        Found {
            id,
            paths: explains.iter().map(|&i| ev.diffs[i].path.clone()).collect(),
            text,
            folds: Vec::new(),
            groups: Vec::new(),
        }
    }
}

/// One known cause: its id (docs/hints.md has a section of that name) and the
/// function that looks for it.
pub struct Rule {
    pub id: &'static str,
    pub find: fn(&Evidence<'_>) -> Vec<Found>,
}

/// Every rule, in the order hints that explain as many entries are listed.
pub static RULES: &[Rule] = &[
    Rule {
        id: "package-version",
        find: nested::package_version,
    },
    Rule {
        id: "unclamped-mtime",
        find: time::unclamped,
    },
    Rule {
        id: "timestamp-shift",
        find: time::shift,
    },
    Rule {
        id: "gzip-mtime",
        find: nested::gzip_mtime,
    },
    Rule {
        id: "zip-timestamps",
        find: nested::zip_timestamps,
    },
    Rule {
        id: "pyc-timestamp",
        find: nested::pyc_timestamp,
    },
    Rule {
        id: "elf-build-id",
        find: nested::elf_build_id,
    },
    Rule {
        id: "rpm-build",
        find: nested::rpm_build,
    },
    Rule {
        id: "archive-order",
        find: nested::archive_order,
    },
    Rule {
        id: "embedded-date",
        find: content::embedded_date,
    },
    Rule {
        id: "embedded-build-path",
        find: content::embedded_build_path,
    },
    Rule {
        id: "random-id",
        find: content::random_id,
    },
];

/// The hints for a report, most entries explained first, and which differences are
/// folded under which of them: `(difference index, hint index)`, each difference under
/// the first hint that folds it.
pub fn find(ev: &Evidence<'_>) -> (Vec<Hint>, Vec<(usize, usize)>) {
    let mut found: Vec<(usize, Found)> = Vec::new();
    for (k, rule) in RULES.iter().enumerate() {
        found.extend((rule.find)(ev).into_iter().map(|f| (k, f)));
    }
    found.sort_by(|(ka, a), (kb, b)| {
        b.paths
            .len()
            .cmp(&a.paths.len())
            .then(ka.cmp(kb))
            .then_with(|| a.text.cmp(&b.text))
    });
    let mut folded_under: Vec<Option<usize>> = vec![None; ev.diffs.len()];
    let mut hints = Vec::with_capacity(found.len());
    for (h, (_, mut f)) in found.into_iter().enumerate() {
        let mut n = 0;
        for i in f.folds {
            if folded_under[i].is_none() {
                folded_under[i] = Some(h);
                n += 1;
                if let Some(g) = f.groups.iter_mut().find(|g| g.holds(&ev.diffs[i])) {
                    g.folded += 1;
                }
            }
        }
        hints.push(Hint {
            id: f.id,
            paths: f.paths,
            text: f.text,
            folded: n,
            paths_total: None,
            groups: f.groups,
        });
    }
    let folds = folded_under
        .into_iter()
        .enumerate()
        .filter_map(|(i, h)| h.map(|h| (i, h)))
        .collect();
    (hints, folds)
}

/// The fields of a difference the policy shows (none for an entry a path rule hides).
fn visible(d: &Difference) -> impl Iterator<Item = &FieldDiff> {
    d.fields
        .iter()
        .filter(move |f| d.ignored_by.is_none() && f.ignored_by.is_none())
}

/// The visible field named `name` (`mtime`, `gzip.mtime`, `xattrs.user.x`).
fn field<'d>(d: &'d Difference, name: &str) -> Option<&'d FieldDiff> {
    visible(d).find(|f| is_named(f, name))
}

/// Whether `f.name()` is `name`, without making the name.
fn is_named(f: &FieldDiff, name: &str) -> bool {
    match &f.key {
        None => f.field == name,
        Some(k) => name
            .strip_prefix(f.field)
            .and_then(|n| n.strip_prefix('.'))
            .is_some_and(|n| n.as_bytes() == &k[..]),
    }
}

/// `3 files`, `1 file`.
fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", crate::report::plural(n as u64, one, many))
}

/// A value from the bytes of an input, quoted for a sentence: `"Nov 14 2023"`, or
/// `(none)`.
fn quoted(b: &[u8]) -> String {
    if b.is_empty() {
        "(none)".to_string()
    } else {
        format!("\"{}\"", display_bytes(b))
    }
}

/// `a, b and c`.
fn and_list(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
pub(crate) mod tests;
