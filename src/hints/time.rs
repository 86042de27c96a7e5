//! Hints about entry times: `unclamped-mtime` (mtimes later than
//! `--source-date-epoch`) and `timestamp-shift` (many times moved from one value to one
//! other value).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use super::{Evidence, Found, and_list, count, visible};
use crate::entry::Timestamp;
use crate::report::{Difference, FieldDiff, Value};

/// Entries whose times moved by one shift before it is a hint.
const MIN_SHIFT: usize = 2;

/// Which sides have an mtime later than `sde` at `path`: from the path's `mtime`
/// difference when it has one (hidden or not), else both (the mtimes are equal).
fn late_sides(d: Option<&Difference>, sde: Timestamp) -> [bool; 2] {
    let f = d.and_then(|d| d.fields.iter().find(|f| f.name() == "mtime"));
    match f {
        Some(f) => [&f.left, &f.right].map(|v| matches!(v, Value::Time(t) if *t > sde)),
        None => [true, true],
    }
}

/// `unclamped-mtime`: the entries the `source-date-epoch` notes name.
pub fn unclamped(ev: &Evidence<'_>) -> Vec<Found> {
    let Some(n) = ev.inputs.source_date_epoch else {
        return Vec::new();
    };
    let sde = Timestamp::from_secs(n);
    let notes: Vec<_> = ev
        .notes
        .iter()
        .filter(|x| x.kind == "source-date-epoch")
        .collect();
    if notes.is_empty() {
        return Vec::new();
    }
    let by_path: BTreeMap<&[u8], &Difference> = ev.diffs.iter().map(|d| (&d.path[..], d)).collect();
    let mut sides = [0usize; 2];
    for x in &notes {
        let late = late_sides(by_path.get(&x.path[..]).copied(), sde);
        for s in 0..2 {
            sides[s] += usize::from(late[s]);
        }
    }
    let on: Vec<String> = [(sides[0], "on the left"), (sides[1], "on the right")]
        .into_iter()
        .filter(|(k, _)| *k > 0)
        .map(|(k, side)| format!("{k} {side}"))
        .collect();
    let text = format!(
        "{} an mtime later than SOURCE_DATE_EPOCH, {sde} ({}): the build did not clamp \
         mtimes to it. Clamp them where the archive is made (GNU tar \
         --mtime=@$SOURCE_DATE_EPOCH --clamp-mtime), or set the files a build writes to \
         that time before packing (touch -h -d @$SOURCE_DATE_EPOCH).",
        count(notes.len(), "entry has", "entries have"),
        on.join(", ")
    );
    vec![Found {
        id: "unclamped-mtime",
        paths: notes.iter().map(|x| x.path.clone()).collect(),
        text,
        folds: Vec::new(),
        groups: Vec::new(),
    }]
}

/// A time's value on the left and on the right.
type Pair = (Timestamp, Timestamp);

/// A field's name as its family and key (`mtime`; `pax`, `LIBARCHIVE.creationtime`).
type Name<'a> = (&'static str, Option<&'a [u8]>);

/// The entries whose visible times moved by one amount.
#[derive(Default)]
struct Shift<'a> {
    /// How many times of each field moved by it.
    fields: BTreeMap<Name<'a>, usize>,
    /// The differences, in report order.
    at: Vec<usize>,
    /// How many times moved between each pair of values.
    pairs: BTreeMap<Pair, usize>,
}

/// How far a time moved, in nanoseconds.
fn delta((a, b): Pair) -> i128 {
    let ns = |t: Timestamp| i128::from(t.secs) * 1_000_000_000 + i128::from(t.nanos);
    ns(b) - ns(a)
}

/// The times of a difference that the policy shows: field and values.
fn times(d: &Difference) -> impl Iterator<Item = (&FieldDiff, Pair)> {
    visible(d).filter_map(|f| match (&f.left, &f.right) {
        (Value::Time(a), Value::Time(b)) => Some((f, (*a, *b))),
        _ => None,
    })
}

/// The shifts at least [`MIN_SHIFT`] entries' visible times moved by, by amount. The
/// amounts are counted first, so that only those kept are described.
fn shifts<'a>(ev: &Evidence<'a>) -> BTreeMap<i128, Shift<'a>> {
    // Entries per amount (and the last one counted), looked up only: the order of this
    // map reaches nothing.
    let mut counts: HashMap<i128, (usize, usize)> = HashMap::new();
    for (i, d) in ev.diffs.iter().enumerate() {
        for (_, p) in times(d) {
            let c = counts.entry(delta(p)).or_insert((0, usize::MAX));
            if c.1 != i {
                *c = (c.0 + 1, i);
            }
        }
    }
    let mut out: BTreeMap<i128, Shift> = counts
        .into_iter()
        .filter(|(_, (n, _))| *n >= MIN_SHIFT)
        .map(|(k, _)| (k, Shift::default()))
        .collect();
    if out.is_empty() {
        return out;
    }
    for (i, d) in ev.diffs.iter().enumerate() {
        for (f, p) in times(d) {
            let Some(s) = out.get_mut(&delta(p)) else {
                continue;
            };
            *s.fields.entry((f.field, f.key.as_deref())).or_default() += 1;
            *s.pairs.entry(p).or_default() += 1;
            if s.at.last() != Some(&i) {
                s.at.push(i);
            }
        }
    }
    out
}

/// Whether every visible field of `d` is a time that moved by one of the `kept` amounts.
fn only_shifted(d: &Difference, kept: &BTreeSet<i128>) -> bool {
    let mut any = false;
    for f in visible(d) {
        match (&f.left, &f.right) {
            (Value::Time(a), Value::Time(b)) if kept.contains(&delta((*a, *b))) => any = true,
            _ => return false,
        }
    }
    any
}

/// `timestamp-shift`: one hint per amount that at least [`MIN_SHIFT`] entries' times
/// moved by (usually from one value to one other value); the entries that differ in
/// nothing else are folded under it.
pub fn shift(ev: &Evidence<'_>) -> Vec<Found> {
    shifts(ev)
        .into_iter()
        .map(|(amount, s)| {
            let mut f = Found::at("timestamp-shift", ev, &s.at, shift_text(&s, ev));
            // Only what this hint explains whole: an entry whose other times moved by
            // another amount is more than "N mtimes are L on the left and R on the
            // right", and stays listed (each hint names it).
            let this = BTreeSet::from([amount]);
            f.folds =
                s.at.into_iter()
                    .filter(|&i| only_shifted(&ev.diffs[i], &this))
                    .collect();
            f
        })
        .collect()
}

/// `7274 mtimes are L on the left and R on the right: CAUSE`, or, from several values,
/// `8744 mtimes are 1 day later on the right, from 73 values (...): CAUSE`.
fn shift_text(s: &Shift<'_>, ev: &Evidence<'_>) -> String {
    let what: Vec<String> = s
        .fields
        .iter()
        .map(|(name, &n)| match name {
            (field, None) if !field.contains('.') => count(n, field, &format!("{field}s")),
            (field, key) => {
                let name = match key {
                    Some(k) => format!("{field}.{}", crate::entry::display_bytes(k)),
                    None => field.to_string(),
                };
                count(n, &format!("{name} value"), &format!("{name} values"))
            }
        })
        .collect();
    let what = and_list(&what);
    let times_only = s
        .fields
        .keys()
        .all(|k| matches!(k, ("atime" | "ctime", None)));
    let (&(l, r), &most) = s
        .pairs
        .iter()
        .max_by_key(|(p, n)| (**n, std::cmp::Reverse(**p)))
        .expect("a pair");
    if s.pairs.len() == 1 {
        let cause = match times_only {
            true => TIMES_CAUSE.to_string(),
            false => mtime_cause(l, r, ev.inputs.source_date_epoch),
        };
        return format!("{what} are {l} on the left and {r} on the right: {cause}");
    }
    let cause = match times_only {
        true => TIMES_CAUSE,
        false => {
            "every time moved by one amount, as when the builds ran with clocks or \
                  time zones set otherwise (zip, FAT and ISO 9660 store local time) or \
                  stamped files relative to when they ran. Build with TZ=UTC and one \
                  SOURCE_DATE_EPOCH, and clamp mtimes to it (GNU tar \
                  --mtime=@$SOURCE_DATE_EPOCH --clamp-mtime)."
        }
    };
    format!(
        "{what} are {} on the right than on the left, from {} different values ({most} \
         are {l} on the left and {r} on the right): {cause}",
        duration(delta((l, r))),
        s.pairs.len()
    )
}

/// Why atimes and ctimes moved.
const TIMES_CAUSE: &str = "atime and ctime say when the files were last read and changed, \
    which is when each build ran, and no build setting changes them; GNU tar's POSIX \
    format records them. Leave them out of the archive (GNU tar \
    --pax-option=delete=atime,delete=ctime, or --format=gnu), or compare with \
    --ignore-file-timestamps.";

/// `1 day later`, `2 hours earlier`, `0.480000023 seconds later`.
fn duration(ns: i128) -> String {
    let way = if ns < 0 { "earlier" } else { "later" };
    let ns = ns.unsigned_abs();
    let secs = ns / 1_000_000_000;
    let whole = ns.is_multiple_of(1_000_000_000);
    let (n, unit) = match secs {
        _ if !whole => return format!("{secs}.{:09} seconds {way}", ns % 1_000_000_000),
        s if s.is_multiple_of(86_400) => (s / 86_400, "day"),
        s if s.is_multiple_of(3_600) => (s / 3_600, "hour"),
        s if s.is_multiple_of(60) => (s / 60, "minute"),
        s => (s, "second"),
    };
    format!("{n} {unit}{} {way}", if n == 1 { "" } else { "s" })
}

/// Why mtimes moved from `l` to `r`.
fn mtime_cause(l: Timestamp, r: Timestamp, sde: Option<i64>) -> String {
    let unclamped = |side: &str| {
        format!(
            "the {side} build did not clamp its mtimes to SOURCE_DATE_EPOCH (see \
             unclamped-mtime): GNU tar --mtime=@$SOURCE_DATE_EPOCH --clamp-mtime."
        )
    };
    match sde.map(Timestamp::from_secs) {
        Some(s) if l == s && r > s => unclamped("right"),
        Some(s) if r == s && l > s => unclamped("left"),
        _ => "the builds used different SOURCE_DATE_EPOCH values (or one of them set \
              every mtime to the time it ran). Build both with the same \
              SOURCE_DATE_EPOCH and clamp mtimes to it (GNU tar \
              --mtime=@$SOURCE_DATE_EPOCH --clamp-mtime), or compare with \
              --ignore-file-timestamps."
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let s = 1_000_000_000i128;
        assert_eq!(duration(86_400 * s), "1 day later");
        assert_eq!(duration(-7_200 * s), "2 hours earlier");
        assert_eq!(duration(90 * s), "90 seconds later");
        assert_eq!(duration(s / 2), "0.500000000 seconds later");
    }
}
