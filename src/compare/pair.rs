//! One pair of entry sets, from reading to differences: a rootfs is one pair, an image
//! is one pair per layer (or one squashed pair) per manifest pair. Both commands read a
//! pair with [`read_pair`] (how, [`Reading`], is chosen in one place) and compare it
//! with [`compare_pair`]: entries, then the content stage, then notes.

use std::collections::HashMap;

use crate::entry::Bytes;
use crate::error::Result;
use crate::report::{Difference, Note};
use crate::source::{ContentSink, EntrySet, Fetcher};

use super::content::{ContentOptions, HeldContent, complete_kept, content_diffs};
use super::keeper::{Budgets, Keeper, KeptPair, Side};
use super::packages::{self as pkgs, DbHolder, HeldFiles, PairSink};
use super::policy::{PathHits, Policy};

/// Contents kept while reading, because they differ: by path, per side.
pub type Kept = HashMap<Bytes, KeptPair>;

/// How the two sides of a pair are read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    /// Both at the same time on the thread pool; the keeper holds a small content a
    /// while for the other side to reach the same path.
    Together,
    /// Both at the same time on two threads of their own, whatever the thread count:
    /// two streams, which one writer may feed (`tee`), so that one read to its end
    /// first would block it.
    TwoStreams,
    /// `first` completely, then the other (`--low-memory`, and what one worker thread
    /// does anyway): one decompressor window lives at a time. The side read first
    /// offers nothing; the other's small contents are kept where they differ from the
    /// first side's entries, whose bytes the content stage reads again. So `first` must
    /// be a side that can be read again.
    OneAfterTheOther { first: Side },
}

impl Reading {
    /// The way to read two inputs: `streams` says which cannot be read again.
    pub fn choose(one_at_a_time: bool, streams: [bool; 2]) -> Reading {
        match (one_at_a_time, streams) {
            (_, [true, true]) => Reading::TwoStreams,
            (true, [false, _]) => Reading::OneAfterTheOther { first: Side::Left },
            (true, [true, false]) => Reading::OneAfterTheOther { first: Side::Right },
            (false, _) => Reading::Together,
        }
    }
}

/// A pair as read: both sides' results (entries and whatever else the reader gives),
/// the contents kept because they differ, and the package database files of each side.
pub struct ReadPair<T> {
    pub sides: [T; 2],
    pub kept: Kept,
    pub db: [HeldFiles; 2],
}

/// Read both sides of a pair: `read(side, sink)` reads one side, offering its small
/// contents to `sink`, and gives its entries (`.as_ref()`) and what else it found.
/// `offer_empty[i]`: side `i` offers empty contents too (where the other side is a
/// stream, whose differing contents must be kept while it is read).
pub fn read_pair<T, F>(
    reading: Reading,
    budgets: Budgets,
    offer_empty: [bool; 2],
    read: F,
) -> Result<ReadPair<T>>
where
    T: AsRef<EntrySet> + Send,
    F: Fn(Side, &dyn ContentSink) -> Result<T> + Sync,
{
    // Both sides hold their package database files, whatever else they offer.
    let db = DbHolder::new(pkgs::BUDGET);
    if let Reading::OneAfterTheOther { first } = reading {
        let only_db = PairSink {
            db: &db,
            keeper: None,
            side: first,
        };
        let done = read(first, &only_db)?;
        let second = first.other();
        let keeper = Keeper::against(second, done.as_ref(), budgets);
        let sink = keeper.sink(second);
        let other = read(
            second,
            &PairSink {
                db: &db,
                keeper: Some(&sink),
                side: second,
            },
        )?;
        let kept = keeper.into_kept();
        let sides = match first {
            Side::Left => [done, other],
            Side::Right => [other, done],
        };
        return Ok(ReadPair {
            sides,
            kept,
            db: db.into_files(),
        });
    }
    let mut keeper = Keeper::new(budgets);
    for side in [Side::Left, Side::Right] {
        if offer_empty[side as usize] {
            keeper = keeper.offer_empty(side);
        }
    }
    // A side read completely ends the wait of the other side's contents.
    let read_side = |side: Side| {
        let sink = keeper.sink(side);
        let both = PairSink {
            db: &db,
            keeper: Some(&sink),
            side,
        };
        let r = read(side, &both);
        keeper.finish(side);
        r
    };
    let (l, r) = if reading == Reading::TwoStreams {
        std::thread::scope(|sc| {
            let l = sc.spawn(|| read_side(Side::Left));
            let r = read_side(Side::Right);
            (l.join().unwrap_or_else(|p| std::panic::resume_unwind(p)), r)
        })
    } else {
        rayon::join(|| read_side(Side::Left), || read_side(Side::Right))
    };
    let sides = [l?, r?];
    Ok(ReadPair {
        sides,
        kept: keeper.into_kept(),
        db: db.into_files(),
    })
}

/// One pair of entry sets to compare.
pub struct SetPair<'a> {
    /// Where the sets are in the report: empty for a rootfs, `layers/0/` or
    /// `linux/arm64/rootfs/` in an image. Differences' paths start with it, and path
    /// rules match it too.
    pub location: String,
    /// The report part the differences belong to (`rootfs`, `layers/0`).
    pub part: String,
    pub sets: [&'a EntrySet; 2],
    /// Where the content stage reads contents again.
    pub fetchers: [&'a dyn Fetcher; 2],
    pub kept: Kept,
    /// The package database files held while the sets were read.
    pub db: [HeldFiles; 2],
}

/// What comparing one pair gave.
pub struct PairOutcome {
    /// Sorted by path (after the location).
    pub differences: Vec<Difference>,
    /// Notes (duplicates, SOURCE_DATE_EPOCH), at their locations.
    pub notes: Vec<Note>,
    /// The contents the content stage read, at their locations.
    pub held: Vec<HeldContent>,
    /// Bytes of text-diff budget the content stage used.
    pub spent: u64,
    /// Bytes of the nested budget (`--max-nested-bytes`) opening nested formats used.
    pub nested_spent: u64,
    /// The part of the package differences (`packages`, `layers/1/packages`), when
    /// either side holds a package database; its differences come first in
    /// `differences`.
    pub packages_part: Option<String>,
}

/// What is left of the report's budgets when a pair is compared.
#[derive(Clone, Copy, Debug)]
pub struct Left {
    /// Bytes of content read for text diffs.
    pub text: u64,
    /// Bytes nested formats may open.
    pub nested: u64,
}

/// Everything a pair is compared under.
pub struct PairContext<'a> {
    pub policy: &'a Policy,
    pub hits: &'a PathHits,
    pub content: &'a ContentOptions,
    pub source_date_epoch: Option<i64>,
}

/// Compare one pair: its entries under the policy, the content diffs of the files that
/// differ and what differs inside them (within what is left of the report's budgets,
/// `budget_left`), and its notes.
pub fn compare_pair(
    pair: SetPair<'_>,
    cx: &PairContext<'_>,
    budget_left: Left,
) -> Result<PairOutcome> {
    let [left, right] = pair.sets;
    let loc = pair.location.as_bytes();
    let copts = ContentOptions {
        label_prefix: pair.location.clone(),
        budget: budget_left.text,
        nested_budget: budget_left.nested,
        ..cx.content.clone()
    };
    let mut kept = pair.kept;
    complete_kept(&mut kept, pair.sets, pair.fetchers, &copts)?;
    let mut differences = super::compare_sets(left, right, cx.policy, loc, cx.hits);
    let held = content_diffs(&mut differences, pair.sets, pair.fetchers, &kept, &copts)?;
    drop(kept);
    let spent = held
        .iter()
        .flat_map(|(_, c)| c.iter().flatten())
        .map(|b| b.len() as u64)
        .sum();
    let nested = super::nested::explain(
        &mut differences,
        pair.sets,
        pair.fetchers,
        &held,
        cx.policy,
        cx.hits,
        loc,
        &copts,
    )?;
    let packages = pkgs::compare(
        pkgs::Pair {
            sets: pair.sets,
            fetchers: pair.fetchers,
            held: pair.db,
            location: loc,
            part: &pair.part,
            sequential: copts.sequential,
            budget: pkgs::BUDGET,
        },
        &mut differences,
        cx.policy,
        cx.hits,
    )?;
    let at = |path: &[u8]| -> Bytes { [loc, path].concat().into() };
    let mut notes = super::notes(left, right, cx.source_date_epoch, cx.policy);
    if !nested.notes.is_empty() || !packages.notes.is_empty() {
        // In path order, after the note about the inputs as wholes.
        notes.extend(nested.notes);
        notes.extend(packages.notes);
        let first = usize::from(notes[0].kind == "fields-left-out");
        notes[first..].sort_by(|a, b| a.path.cmp(&b.path));
    }
    let notes = notes
        .into_iter()
        .map(|n| Note {
            path: at(&n.path),
            ..n
        })
        .collect();
    for d in &mut differences {
        if !loc.is_empty() {
            d.path = at(&d.path);
        }
        d.part = pair.part.clone();
    }
    let held = held.into_iter().map(|(p, c)| (at(&p), c)).collect();
    // The packages first: what the entries' `package` names.
    let differences = packages
        .differences
        .into_iter()
        .chain(differences)
        .collect();
    Ok(PairOutcome {
        differences,
        notes,
        held,
        spent,
        nested_spent: nested.spent,
        packages_part: packages.part,
    })
}
