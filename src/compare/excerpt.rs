//! The bytes around where two contents differ (`report::Excerpts`), taken by the
//! content stage while both sides' bytes are at hand, for the hints to read
//! (docs/hints.md). Bounded: at most [`MAX_REGIONS`] regions of at most [`MAX_CORE`]
//! differing bytes each, with some context; the report drops them once the hints are
//! found.

use crate::entry::Bytes;
use crate::report::Excerpts;

/// Bytes of context kept before and after a differing region.
const CONTEXT: usize = 32;
/// Further context, while the bytes go on being one token (a path, a word).
const STRETCH: usize = 96;
/// Differing bytes kept per region (and the largest span of differing bytes taken as
/// one region when the contents differ in length).
pub const MAX_CORE: usize = 256;
/// Regions kept per content.
pub const MAX_REGIONS: usize = 8;
/// Differing bytes closer than this are one region.
const GAP: usize = 16;

fn prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn suffix(a: &[u8], b: &[u8]) -> usize {
    a.iter()
        .rev()
        .zip(b.iter().rev())
        .take_while(|(x, y)| x == y)
        .count()
}

/// Bytes that continue a token (a path, a word, a number): printable, no space.
fn is_token(c: u8) -> bool {
    c.is_ascii_graphic()
}

/// Where the context before `at` starts.
fn back(a: &[u8], at: usize) -> usize {
    let mut j = at.saturating_sub(CONTEXT);
    while j > 0 && at - j < CONTEXT + STRETCH && is_token(a[j - 1]) {
        j -= 1;
    }
    j
}

/// Where the context after `at` ends.
fn forward(a: &[u8], at: usize) -> usize {
    let mut j = (at + CONTEXT).min(a.len());
    while j < a.len() && j - at < CONTEXT + STRETCH && is_token(a[j]) {
        j += 1;
    }
    j
}

/// One region: `a[sa..ea]` against `b[sb..eb]`, with the context around them (the bytes
/// before both start at the same offset, as do the bytes after both ends).
fn region(a: &[u8], b: &[u8], (sa, ea): (usize, usize), (sb, eb): (usize, usize)) -> [Bytes; 2] {
    let before = sa.min(sb) - back(a, sa.min(sb));
    let after = (forward(a, ea) - ea).min(b.len() - eb);
    [
        a[sa - before..ea + after].into(),
        b[sb - before..eb + after].into(),
    ]
}

/// Where two binary contents (or two lines of text) differ.
pub fn binary(a: &[u8], b: &[u8]) -> Excerpts {
    let p = prefix(a, b);
    let s = suffix(&a[p..], &b[p..]);
    let (ea, eb) = (a.len() - s, b.len() - s);
    if ea - p <= MAX_CORE && eb - p <= MAX_CORE {
        return Excerpts {
            regions: vec![region(a, b, (p, ea), (p, eb))],
            complete: true,
        };
    }
    if a.len() != b.len() {
        // The first differing bytes only: past them, the two sides no longer line up.
        let end = |e: usize| (p + MAX_CORE / 4).min(e);
        return Excerpts {
            regions: vec![region(a, b, (p, end(ea)), (p, end(eb)))],
            complete: false,
        };
    }
    runs(a, b, p, ea)
}

/// The runs of differing bytes of two contents of one length, from `from` to `to`.
fn runs(a: &[u8], b: &[u8], from: usize, to: usize) -> Excerpts {
    let mut out = Excerpts {
        regions: Vec::new(),
        complete: true,
    };
    let mut i = from;
    while i < to {
        if a[i] == b[i] {
            i += 1;
            continue;
        }
        if out.regions.len() == MAX_REGIONS {
            out.complete = false;
            break;
        }
        let start = i;
        let mut end = i + 1;
        let mut j = end;
        while j < to && j - end < GAP {
            if a[j] != b[j] {
                end = j + 1;
            }
            j += 1;
        }
        if end - start > MAX_CORE {
            out.complete = false;
            end = start + MAX_CORE;
        }
        out.regions.push(region(a, b, (start, end), (start, end)));
        i = j.max(end);
    }
    out
}

/// Where two texts differ, from their line diff: each replaced line against the line
/// that replaced it. Lines only one side has make the excerpts incomplete (they are no
/// value that changed).
pub fn text(diff: &similar::TextDiff<'_, '_, str>) -> Excerpts {
    let mut out = Excerpts {
        regions: Vec::new(),
        complete: true,
    };
    for op in diff.ops() {
        let (tag, old, new) = op.as_tag_tuple();
        match tag {
            similar::DiffTag::Equal => continue,
            similar::DiffTag::Replace if old.len() == new.len() => {}
            _ => {
                out.complete = false;
                continue;
            }
        }
        for (o, n) in old.zip(new) {
            let (Some(x), Some(y)) = (diff.old_slice(o), diff.new_slice(n)) else {
                continue;
            };
            let (x, y) = (x.as_bytes(), y.as_bytes());
            // Short lines whole (a record's fields stay countable), long ones around
            // where they differ.
            let line = if x.len().max(y.len()) <= 2 * MAX_CORE {
                Excerpts {
                    regions: vec![[x.into(), y.into()]],
                    complete: true,
                }
            } else {
                binary(x, y)
            };
            out.complete &= line.complete;
            for r in line.regions {
                if out.regions.len() == MAX_REGIONS {
                    out.complete = false;
                    return out;
                }
                out.regions.push(r);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(e: &Excerpts) -> Vec<[String; 2]> {
        e.regions
            .iter()
            .map(|[l, r]| [l, r].map(|x| String::from_utf8_lossy(x).into_owned()))
            .collect()
    }

    #[test]
    fn one_region_with_its_context_lines_up() {
        let a = b"\0\0\0built Nov 14 2023 22:13:20 by cc\0\0";
        let b = b"\0\0\0built Mar  9 2024 16:00:00 by cc\0\0";
        let e = binary(a, b);
        assert!(e.complete);
        assert_eq!(
            texts(&e),
            [[
                "\0\0\0built Nov 14 2023 22:13:20 by cc\0\0".to_string(),
                "\0\0\0built Mar  9 2024 16:00:00 by cc\0\0".to_string()
            ]]
        );
    }

    #[test]
    fn a_path_of_another_length_is_one_region() {
        let mut a = vec![0u8; 1000];
        let mut b = vec![0u8; 1000];
        a.extend_from_slice(b"/build/pkg-AbCdEf/src/main.c\0tail");
        b.extend_from_slice(b"/build/pkg-X1/src/main.c\0tail");
        let e = binary(&a, &b);
        assert!(e.complete);
        let [l, r] = &texts(&e)[0];
        assert!(l.ends_with("/build/pkg-AbCdEf/src/main.c\0tail"), "{l:?}");
        assert!(r.ends_with("/build/pkg-X1/src/main.c\0tail"), "{r:?}");
        // The context before is the same length on both sides.
        assert_eq!(l.len() - r.len(), 4);
    }

    #[test]
    fn scattered_runs_are_regions_up_to_the_bound() {
        let a = vec![b'a'; 10_000];
        let mut b = a.clone();
        for k in 0..3 {
            b[1000 + k * 2000] = b'b';
        }
        let e = binary(&a, &b);
        assert!(e.complete);
        assert_eq!(e.regions.len(), 3);
        for k in 0..20 {
            b[100 + k * 400] = b'c';
        }
        let e = binary(&a, &b);
        assert!(!e.complete);
        assert_eq!(e.regions.len(), MAX_REGIONS);
    }

    #[test]
    fn text_pairs_replaced_lines_and_added_lines_make_it_incomplete() {
        let a = "x\nBUILD_DATE=2023-11-14\ny\n";
        let b = "x\nBUILD_DATE=2024-03-09\ny\n";
        let d = similar::TextDiff::from_lines(a, b);
        let e = text(&d);
        assert!(e.complete);
        assert_eq!(
            texts(&e),
            [[
                "BUILD_DATE=2023-11-14\n".to_string(),
                "BUILD_DATE=2024-03-09\n".to_string()
            ]]
        );
        let d = similar::TextDiff::from_lines(a, "x\nBUILD_DATE=2024-03-09\ny\nz\n");
        assert!(!text(&d).complete);
    }
}
