//! What differing bytes hold: dates and times, build directories, UUIDs. Hand-written
//! recognizers over bytes (contents need not be UTF-8), documented in docs/hints.md.

use std::collections::BTreeMap;
use std::ops::Range;

/// A kind of value the recognizers know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Class {
    /// A date, a time, or both, in a common spelling; an epoch in seconds or ms.
    Date,
    /// A path under a directory builds run in (`/build/`, `/tmp/`, ...).
    BuildPath,
    /// A UUID (8-4-4-4-12 hex digits).
    Uuid,
}

/// One recognized value: its class and where it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub class: Class,
    pub at: Range<usize>,
}

/// Directories builds run in, whose names end up in what they make.
pub const BUILD_ROOTS: &[&str] = &[
    "/build/",
    "/builddir/",
    "/buildroot/",
    "/tmp/",
    "/var/tmp/",
    "/home/",
    "/root/",
    "/usr/src/",
    "/workspace/",
    "/github/workspace/",
    "/builds/",
    "/private/tmp/",
    "/private/var/folders/",
];

/// Full names first: a name is taken whole, never as the start of a longer word.
const MONTHS: [&str; 24] = [
    "January",
    "February",
    "March",
    "April",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
    "Jan",
    "Feb",
    "Mar",
    "Apr",
    "May",
    "Jun",
    "Jul",
    "Aug",
    "Sep",
    "Oct",
    "Nov",
    "Dec",
    "Sept",
];
const DAYS: [&str; 14] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
    "Mon",
    "Tue",
    "Wed",
    "Thu",
    "Fri",
    "Sat",
    "Sun",
];
/// Epochs from 2000-01-01 to 2100-01-01.
const EPOCHS: Range<u64> = 946_684_800..4_102_444_800;

fn is_word(c: u8) -> bool {
    c.is_ascii_alphanumeric()
}

/// Bytes of a build path. Not `=` or `,`: they end one in what build tools write
/// (`-fdebug-prefix-map=/build/x=.`, `-I/build/a,-L/build/b`), and a path that took
/// them in would call `/tmp/x` against `/tmp/x,--evil=1` a difference of build paths.
fn is_path(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"._+-/~@%".contains(&c)
}

/// Bytes of a path component before a `/`, which makes it no start of a path
/// (`usr/tmp/x`); `=` and `,` do not (`-fdebug-prefix-map=/build/x=.`).
fn in_component(c: u8) -> bool {
    is_path(c)
}

/// Exactly `n` digits at `i` (and no digit after them), as a number.
fn digits(b: &[u8], i: usize, n: usize) -> Option<u64> {
    let d = b.get(i..i + n)?;
    if !d.iter().all(u8::is_ascii_digit) || b.get(i + n).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    Some(d.iter().fold(0, |v, c| v * 10 + u64::from(c - b'0')))
}

/// One or two digits at `i` no greater than `max`: (value, end).
fn small(b: &[u8], i: usize, max: u64) -> Option<(u64, usize)> {
    let n = if b.get(i + 1).is_some_and(u8::is_ascii_digit) {
        2
    } else {
        1
    };
    digits(b, i, n).filter(|&v| v <= max).map(|v| (v, i + n))
}

fn year(b: &[u8], i: usize) -> Option<usize> {
    digits(b, i, 4)
        .filter(|y| (1970..2100).contains(y))
        .map(|_| i + 4)
}

fn lit(b: &[u8], i: usize, s: &str) -> Option<usize> {
    b.get(i..)?.starts_with(s.as_bytes()).then_some(i + s.len())
}

/// Spaces (at least one) at `i`: their end.
fn spaces(b: &[u8], i: usize) -> Option<usize> {
    let n = b.get(i..)?.iter().take_while(|&&c| c == b' ').count();
    (n > 0).then_some(i + n)
}

/// `HH:MM`, `HH:MM:SS`, with a fraction: its end. Seconds are required unless
/// `minutes` allows a time to stop at the minutes.
fn time(b: &[u8], i: usize, minutes: bool) -> Option<usize> {
    let (_, j) = small(b, i, 23)?;
    let j = lit(b, j, ":")?;
    digits(b, j, 2).filter(|&m| m < 60)?;
    let mut j = j + 2;
    match lit(b, j, ":").and_then(|k| digits(b, k, 2).filter(|&s| s <= 60).map(|_| k + 2)) {
        Some(k) => j = k,
        None if minutes => return Some(j),
        None => return None,
    }
    if let Some(k) = lit(b, j, ".") {
        let n = b[k..].iter().take_while(|c| c.is_ascii_digit()).count();
        if n > 0 {
            j = k + n;
        }
    }
    Some(j)
}

/// A time zone after a time: `Z`, ` UTC`, `+0100`, ` +01:00`: its end (or `i`).
fn zone(b: &[u8], i: usize) -> usize {
    if let Some(j) = lit(b, i, "Z") {
        return j;
    }
    for name in [" UTC", " GMT", " CET", " CEST", " EST", " PST"] {
        if let Some(j) = lit(b, i, name) {
            return j;
        }
    }
    let k = lit(b, i, " ").unwrap_or(i);
    match b.get(k) {
        Some(b'+' | b'-') if digits(b, k + 1, 4).is_some() => k + 5,
        Some(b'+' | b'-') if digits(b, k + 1, 2).is_some() && lit(b, k + 3, ":").is_some() => {
            digits(b, k + 4, 2).map_or(i, |_| k + 6)
        }
        _ => i,
    }
}

/// `2023-11-14`, `2023/11/14`, `2023-11-14T22:13:20.5Z`, `2023-11-14 22:13 +0100`.
fn iso(b: &[u8], i: usize) -> Option<usize> {
    let j = year(b, i)?;
    let sep = *b.get(j).filter(|c| matches!(c, b'-' | b'/'))?;
    digits(b, j + 1, 2).filter(|m| (1..=12).contains(m))?;
    lit(b, j + 3, std::str::from_utf8(&[sep]).ok()?)?;
    digits(b, j + 4, 2).filter(|d| (1..=31).contains(d))?;
    let j = j + 6;
    match b.get(j) {
        Some(b'T' | b' ') => Some(time(b, j + 1, true).map_or(j, |k| zone(b, k))),
        _ => Some(j),
    }
}

/// `20231114T221320Z`.
fn compact(b: &[u8], i: usize) -> Option<usize> {
    let d = digits(b, i, 8)?;
    (1970..2100).contains(&(d / 10_000)).then_some(())?;
    let j = lit(b, i + 8, "T")?;
    digits(b, j, 6)?;
    Some(lit(b, j + 6, "Z").unwrap_or(j + 6))
}

fn name_of(b: &[u8], i: usize, names: &[&str]) -> Option<usize> {
    names
        .iter()
        .filter_map(|n| lit(b, i, n))
        .find(|&j| !b.get(j).is_some_and(|&c| is_word(c)))
}

/// `Tue ` or `Tue, ` before a date: where the date starts.
fn weekday(b: &[u8], i: usize) -> Option<usize> {
    let j = name_of(b, i, &DAYS)?;
    spaces(b, lit(b, j, ",").unwrap_or(j))
}

/// `Nov 14 2023` (`__DATE__`), `Nov 14 22:13`, `Tue Nov 14 22:13:20 UTC 2023` (date(1)),
/// `Nov 14, 2023`.
fn month_first(b: &[u8], i: usize) -> Option<usize> {
    let j = name_of(b, i, &MONTHS)?;
    let j = spaces(b, j).or_else(|| lit(b, j, "-"))?;
    let (_, mut j) = small(b, j, 31)?;
    let mut found = false;
    if let Some(k) = spaces(b, lit(b, j, ",").unwrap_or(j)).and_then(|k| year(b, k)) {
        (j, found) = (k, true);
    }
    if let Some(k) = spaces(b, j).and_then(|k| time(b, k, true)) {
        (j, found) = (zone(b, k), true);
        if let Some(k) = spaces(b, j).and_then(|k| year(b, k)) {
            j = k;
        }
    }
    found.then_some(j)
}

/// `14 Nov 2023`, `14-Nov-2023`, `Tue, 14 Nov 2023 22:13:20 +0000` (RFC 2822).
fn day_first(b: &[u8], i: usize) -> Option<usize> {
    let (_, j) = small(b, i, 31)?;
    let j = spaces(b, j).or_else(|| lit(b, j, "-"))?;
    let j = name_of(b, j, &MONTHS)?;
    let j = spaces(b, j).or_else(|| lit(b, j, "-"))?;
    let j = year(b, j)?;
    match spaces(b, j).and_then(|k| time(b, k, true)) {
        Some(k) => Some(zone(b, k)),
        None => Some(j),
    }
}

/// Seconds (or milliseconds) since 1970 between 2000 and 2100, as digits.
fn epoch(b: &[u8], i: usize) -> Option<usize> {
    let n = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
    let v = match n {
        9 | 10 => digits(b, i, n)?,
        13 => digits(b, i, n)? / 1000,
        _ => return None,
    };
    EPOCHS.contains(&v).then_some(i + n)
}

fn date(b: &[u8], i: usize) -> Option<usize> {
    let i = weekday(b, i).unwrap_or(i);
    iso(b, i)
        .or_else(|| compact(b, i))
        .or_else(|| month_first(b, i))
        .or_else(|| day_first(b, i))
        .or_else(|| time(b, i, false).map(|j| zone(b, j)))
        .or_else(|| epoch(b, i))
}

fn uuid(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    for (k, n) in [8, 4, 4, 4, 12].into_iter().enumerate() {
        if k > 0 {
            j = lit(b, j, "-")?;
        }
        let run = b.get(j..j + n)?;
        if !run.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        j += n;
    }
    (!b.get(j).is_some_and(|&c| is_word(c))).then_some(j)
}

fn build_path(b: &[u8], i: usize) -> Option<usize> {
    let j = BUILD_ROOTS.iter().find_map(|r| lit(b, i, r))?;
    Some(j + b[j..].iter().take_while(|&&c| is_path(c)).count())
}

/// Every value the recognizers find in `b`, left to right, not overlapping.
pub fn tokens(b: &[u8]) -> Vec<Token> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let prev = i.checked_sub(1).map(|k| b[k]);
        let found = if b[i] == b'/' && !prev.is_some_and(in_component) {
            build_path(b, i).map(|j| (Class::BuildPath, j))
        } else if prev.is_some_and(is_word) {
            None
        } else {
            let ends = |j: &usize| !b.get(*j).is_some_and(|&c| is_word(c));
            let d = date(b, i).filter(ends).map(|j| (Class::Date, j));
            d.or_else(|| uuid(b, i).map(|j| (Class::Uuid, j)))
        };
        match found {
            Some((class, j)) if j > i => {
                out.push(Token { class, at: i..j });
                i = j;
            }
            _ => i += 1,
        }
    }
    out
}

/// What a region's change is: the classes of the values that differ, each with its
/// first example (left and right values).
pub type Explained = BTreeMap<Class, [Vec<u8>; 2]>;

/// `b` with each token replaced by a marker of its class.
fn masked(b: &[u8], toks: &[Token]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut at = 0;
    for t in toks {
        out.extend_from_slice(&b[at..t.at.start]);
        out.extend_from_slice(&[0xff, t.class as u8]);
        at = t.at.end;
    }
    out.extend_from_slice(&b[at..]);
    out
}

fn covered(r: &Range<usize>, toks: &[Token]) -> bool {
    let mut at = r.start;
    for t in toks {
        if t.at.start <= at && at < t.at.end {
            at = t.at.end;
        }
    }
    at >= r.end
}

/// Whether the change from `l` to `r` is only in recognized values: either the two are
/// the same once every value is masked, or the bytes that differ lie within values on
/// both sides (one side may have none: a path that the other build mapped away).
pub fn explain(l: &[u8], r: &[u8]) -> Option<Explained> {
    let (tl, tr) = (tokens(l), tokens(r));
    let mut out = Explained::new();
    if tl.len() == tr.len() && masked(l, &tl) == masked(r, &tr) {
        for (a, b) in tl.iter().zip(&tr) {
            let (x, y) = (&l[a.at.clone()], &r[b.at.clone()]);
            if x != y {
                out.entry(a.class)
                    .or_insert_with(|| [x.to_vec(), y.to_vec()]);
            }
        }
        return (!out.is_empty()).then_some(out);
    }
    let p = l.iter().zip(r).take_while(|(a, b)| a == b).count();
    let s = l[p..]
        .iter()
        .rev()
        .zip(r[p..].iter().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (cl, cr) = (p..l.len() - s, p..r.len() - s);
    if !covered(&cl, &tl) || !covered(&cr, &tr) {
        return None;
    }
    let touching = |toks: &[Token], c: &Range<usize>, side: &[u8]| -> Vec<(Class, Vec<u8>)> {
        toks.iter()
            .filter(|t| t.at.start < c.end.max(c.start + 1) && c.start < t.at.end)
            .map(|t| (t.class, side[t.at.clone()].to_vec()))
            .collect()
    };
    let (a, b) = (touching(&tl, &cl, l), touching(&tr, &cr, r));
    for (class, x) in &a {
        let y = b.iter().find(|t| t.0 == *class).map(|t| t.1.clone());
        out.entry(*class)
            .or_insert_with(|| [x.clone(), y.unwrap_or_default()]);
    }
    for (class, y) in b {
        out.entry(class).or_insert_with(|| [Vec::new(), y]);
    }
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(s: &str) -> Vec<(Class, &str)> {
        tokens(s.as_bytes())
            .into_iter()
            .map(|t| (t.class, &s[t.at]))
            .collect()
    }

    #[test]
    fn dates_in_their_common_spellings() {
        for d in [
            "2023-11-14",
            "2023/11/14",
            "2023-11-14T22:13:20Z",
            "2023-11-14T22:13:20.123456789Z",
            "2023-11-14 22:13:20 +0000",
            "2023-11-14 22:13",
            "2023-11-14T22:13:20+01:00",
            "20231114T221320Z",
            "Nov 14 2023",
            "Mar  9 2024",
            "Nov 14, 2023",
            "November 14, 2023",
            "Tue Nov 14 22:13:20 UTC 2023",
            "Tue, 14 Nov 2023 22:13:20 +0000",
            "14-Nov-2023",
            "22:13:20",
            "1700000000",
            "1700000000123",
        ] {
            assert_eq!(found(&format!("at {d}; done")), [(Class::Date, d)], "{d}");
        }
    }

    #[test]
    fn numbers_and_words_that_are_no_dates() {
        for s in [
            "version 1.0-5",
            "12:30",
            "size 123456",
            "port 8080:80",
            "99999999999",
            "2023-13-01",
            "x1700000000",
            "Novel 14 2023",
            "Nov 14",
            "November14 2023",
        ] {
            assert_eq!(found(s), [], "{s}");
        }
    }

    #[test]
    fn build_paths_and_uuids() {
        assert_eq!(
            found("DW_AT_comp_dir /build/pkg-AbC/src=. and /usr/lib/x"),
            [(Class::BuildPath, "/build/pkg-AbC/src")]
        );
        assert_eq!(
            found("x=/build/a,/tmp/b=c"),
            [(Class::BuildPath, "/build/a"), (Class::BuildPath, "/tmp/b")]
        );
        assert_eq!(found("a/tmp/x"), []);
        assert_eq!(
            found("UUID=1b4e28ba-2fa1-11d2-883f-0016d3cca427 /"),
            [(Class::Uuid, "1b4e28ba-2fa1-11d2-883f-0016d3cca427")]
        );
    }

    fn explained(l: &str, r: &str) -> Option<Vec<(Class, String, String)>> {
        explain(l.as_bytes(), r.as_bytes()).map(|m| {
            m.into_iter()
                .map(|(c, [a, b])| {
                    let s = |x: Vec<u8>| String::from_utf8(x).unwrap();
                    (c, s(a), s(b))
                })
                .collect()
        })
    }

    #[test]
    fn a_change_is_explained_by_the_values_that_differ() {
        assert_eq!(
            explained(
                "built 2023-11-14 in /build/a1/x",
                "built 2024-03-09 in /build/b2/x"
            ),
            Some(vec![
                (Class::Date, "2023-11-14".into(), "2024-03-09".into()),
                (Class::BuildPath, "/build/a1/x".into(), "/build/b2/x".into()),
            ])
        );
        // A path one build mapped away.
        assert_eq!(
            explained("file /build/a1/src/x.c\0", "file src/x.c\0"),
            Some(vec![(
                Class::BuildPath,
                "/build/a1/src/x.c".into(),
                "".into()
            )])
        );
        // Dates that are equal do not explain what else differs.
        assert_eq!(
            explained(
                "2023-11-14 22:13:05 status installed pkg05",
                "2023-11-14 22:13:05 status half-configured pkg05"
            ),
            None
        );
        assert_eq!(explained("a 2023-11-14 b", "a 2023-11-14 c"), None);
        // Bytes after a path that build tools would not write into one are no path.
        assert_eq!(explained("cc /tmp/x", "cc /tmp/x,--evil=1"), None);
        assert_eq!(
            explained(
                "-ffile-prefix-map=/build/a1=.",
                "-ffile-prefix-map=/build/b2=."
            ),
            Some(vec![(
                Class::BuildPath,
                "/build/a1".into(),
                "/build/b2".into()
            )])
        );
    }
}
