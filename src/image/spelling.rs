//! How a JSON document is spelled, apart from the values in it: a SHA-256 over its
//! bytes where every scalar value written as `serde_json` would write it is left out
//! (its value is compared by the metadata diff), and everything else goes in as it is:
//! spacing, key order, keys, escapes, numbers spelled otherwise (`1e3`, `1.50`),
//! string escapes that need not be there. Two documents with equal spellings and equal
//! values are the same bytes; so the `bytes` field of an index, manifest or config says
//! exactly what no value difference shows.
//!
//! A document with a key twice in one object goes in whole: which of the two values a
//! reader takes is up to the reader, so neither is "the value compared".

use std::collections::HashSet;

use sha2::{Digest as _, Sha256};

use crate::entry::Digest;

/// The spelling digest of a JSON document (see the module doc); `extra` goes in after
/// it.
pub fn json_spelling(doc: &[u8], extra: &[&[u8]]) -> Digest {
    let mut sha = Sha256::new();
    let ok = scan(doc, &mut |t| feed(&mut sha, &t));
    if ok.is_none() {
        sha = Sha256::new();
        sha.update([2]);
        sha.update(doc);
    }
    for e in extra {
        sha.update([3]);
        sha.update((e.len() as u64).to_le_bytes());
        sha.update(e);
    }
    sha.finalize().into()
}

/// The spelling digest of an image index, where the elements of its top-level
/// `manifests` array count as a set (their order is the `order` field; the manifests
/// are compared by platform, not position), and `extra` (the descriptors a filter
/// left out of the comparison) goes in after it.
pub fn index_spelling(doc: &[u8], extra: &[&[u8]]) -> Digest {
    let mut toks: Vec<(Tok<'_>, usize, bool)> = Vec::new();
    let mut manifests_next = false;
    let mut in_manifests = false;
    let ok = scan(doc, &mut |t| {
        // Depth 1 is the top object; its `manifests` key is followed by the array,
        // whose elements sit at depth 2 and below.
        if let Tok::Key(k, 1) = t {
            manifests_next = k == b"\"manifests\"";
        }
        match t {
            Tok::Open(b'[', 1) if manifests_next => in_manifests = true,
            Tok::Close(b']', 1) if in_manifests => {
                in_manifests = false;
                manifests_next = false;
            }
            _ => {}
        }
        let inside = in_manifests && t.depth() >= 2;
        toks.push((t, t.depth(), inside));
    });
    if ok.is_none() {
        return json_spelling(doc, extra);
    }
    let mut sha = Sha256::new();
    let mut elements: Vec<Digest> = Vec::new();
    let mut current: Option<Sha256> = None;
    for (t, depth, inside) in toks {
        if !inside {
            if let Some(e) = current.take() {
                elements.push(e.finalize().into());
            }
            if matches!(t, Tok::Close(b']', 1)) {
                elements.sort();
                for e in elements.drain(..) {
                    sha.update([4]);
                    sha.update(e);
                }
            }
            feed(&mut sha, &t);
            continue;
        }
        // A comma between elements ends one; the spacing between them is the
        // array's, in order.
        if depth == 2 && matches!(t, Tok::Raw(b",", _)) {
            if let Some(e) = current.take() {
                elements.push(e.finalize().into());
            }
            continue;
        }
        if depth == 2 && matches!(t, Tok::Raw(b, _) if b[0].is_ascii_whitespace()) {
            feed(&mut sha, &t);
            continue;
        }
        feed(current.get_or_insert_with(Sha256::new), &t);
    }
    for e in extra {
        sha.update([3]);
        sha.update((e.len() as u64).to_le_bytes());
        sha.update(e);
    }
    sha.finalize().into()
}

/// A token, and the depth (open containers) it is at.
#[derive(Clone, Copy)]
enum Tok<'a> {
    /// Bytes as they are (spacing, `:` and `,`, a scalar in another spelling).
    Raw(&'a [u8], usize),
    /// A key of an object.
    Key(&'a [u8], usize),
    /// A scalar value in canonical spelling.
    Value(usize),
    Open(u8, usize),
    Close(u8, usize),
}

impl Tok<'_> {
    fn depth(&self) -> usize {
        match *self {
            Tok::Raw(_, d)
            | Tok::Key(_, d)
            | Tok::Value(d)
            | Tok::Open(_, d)
            | Tok::Close(_, d) => d,
        }
    }
}

fn feed(sha: &mut Sha256, t: &Tok<'_>) {
    match *t {
        Tok::Raw(b, _) | Tok::Key(b, _) => {
            sha.update([0]);
            sha.update((b.len() as u64).to_le_bytes());
            sha.update(b);
        }
        Tok::Value(_) => sha.update([1]),
        Tok::Open(c, _) | Tok::Close(c, _) => sha.update([0, 1, 0, 0, 0, 0, 0, 0, 0, c]),
    }
}

/// Walk the tokens of a document; `None` when it does not tokenize or repeats a key.
fn scan<'a>(doc: &'a [u8], f: &mut dyn FnMut(Tok<'a>)) -> Option<()> {
    // Per open container: whether it is an object, its keys, whether a key comes next.
    let mut stack: Vec<(bool, HashSet<&[u8]>, bool)> = Vec::new();
    let mut i = 0;
    while i < doc.len() {
        let c = doc[i];
        let depth = stack.len();
        match c {
            b'{' | b'[' => {
                f(Tok::Open(c, depth));
                stack.push((c == b'{', HashSet::new(), c == b'{'));
                i += 1;
            }
            b'}' | b']' => {
                stack.pop()?;
                f(Tok::Close(c, depth - 1));
                i += 1;
            }
            b',' | b':' => {
                if c == b','
                    && let Some(top) = stack.last_mut()
                {
                    top.2 = top.0;
                }
                f(Tok::Raw(&doc[i..=i], depth));
                i += 1;
            }
            b' ' | b'\t' | b'\n' | b'\r' => {
                // A run of spacing is one token.
                let end = doc[i..]
                    .iter()
                    .position(|b| !b" \t\n\r".contains(b))
                    .map_or(doc.len(), |p| i + p);
                f(Tok::Raw(&doc[i..end], depth));
                i = end;
            }
            b'"' => {
                let end = string_end(doc, i)?;
                let tok = &doc[i..end];
                match stack.last_mut() {
                    Some(top) if top.2 => {
                        if !top.1.insert(tok) {
                            return None;
                        }
                        top.2 = false;
                        f(Tok::Key(tok, depth));
                    }
                    _ => f(scalar(tok, depth)),
                }
                i = end;
            }
            _ => {
                let end = doc[i..]
                    .iter()
                    .position(|b| b",]} \t\n\r:".contains(b))
                    .map_or(doc.len(), |p| i + p);
                if end == i {
                    return None;
                }
                f(scalar(&doc[i..end], depth));
                i = end;
            }
        }
    }
    stack.is_empty().then_some(())
}

/// The end (one past the closing quote) of the string starting at `start`.
fn string_end(doc: &[u8], start: usize) -> Option<usize> {
    let mut i = start + 1;
    while i < doc.len() {
        match doc[i] {
            b'\\' => i += 2,
            b'"' => return Some(i + 1),
            _ => i += 1,
        }
    }
    None
}

/// A scalar token: left out when `serde_json` writes its value back the same way.
fn scalar(tok: &[u8], depth: usize) -> Tok<'_> {
    // The common cases without a parse: a string with no escape (serde_json escapes
    // only `"`, `\` and control characters), an integer without leading zeros.
    let plain_string = tok.len() >= 2
        && tok[0] == b'"'
        && !tok[1..tok.len() - 1]
            .iter()
            .any(|&b| b == b'\\' || b == b'"' || b < 0x20);
    let plain_int = {
        let digits = tok.strip_prefix(b"-").unwrap_or(tok);
        !digits.is_empty()
            && digits.len() < 19
            && digits.iter().all(u8::is_ascii_digit)
            && (digits[0] != b'0' || digits.len() == 1)
            && tok != b"-0"
    };
    let canonical = plain_string
        || plain_int
        || matches!(tok, b"true" | b"false" | b"null")
        || serde_json::from_slice::<serde_json::Value>(tok)
            .ok()
            .filter(|v| !v.is_object() && !v.is_array())
            .and_then(|v| serde_json::to_vec(&v).ok())
            .is_some_and(|b| b == tok);
    if canonical {
        Tok::Value(depth)
    } else {
        Tok::Raw(tok, depth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_out_spelling_in() {
        let a = br#"{"a": "x", "n": 1}"#;
        let b = br#"{"a": "y", "n": 2}"#;
        assert_eq!(json_spelling(a, &[]), json_spelling(b, &[]));
        // Spacing, key order, number spelling, escapes.
        for other in [
            &br#"{"a":"x","n":1}"#[..],
            br#"{"n": 1, "a": "x"}"#,
            br#"{"a": "x", "n": 1e0}"#,
            br#"{"a": "\u0078", "n": 1}"#,
            br#"{"a": "x", "n": 01}"#,
        ] {
            assert_ne!(
                json_spelling(a, &[]),
                json_spelling(other, &[]),
                "{other:?}"
            );
        }
        // A repeated key: the whole document.
        let d1 = br#"{"a": "x", "a": "y"}"#;
        let d2 = br#"{"a": "z", "a": "y"}"#;
        assert_ne!(json_spelling(d1, &[]), json_spelling(d2, &[]));
        // What goes in after it.
        assert_ne!(json_spelling(a, &[b"1"]), json_spelling(a, &[b"2"]));
    }

    #[test]
    fn index_manifests_are_a_set() {
        let a = br#"{"manifests": [{"d": "1", "p": {"os": "a"}}, {"d": "2"}], "x": 1}"#;
        let b = br#"{"manifests": [{"d": "2"}, {"d": "1", "p": {"os": "a"}}], "x": 1}"#;
        assert_eq!(index_spelling(a, &[]), index_spelling(b, &[]));
        let c = br#"{"manifests": [{"d": "2"}, {"d":"1", "p": {"os": "a"}}], "x": 1}"#;
        assert_ne!(index_spelling(a, &[]), index_spelling(c, &[]));
        let d = br#"{"manifests": [{"d": "2"}], "x": 1}"#;
        assert_ne!(index_spelling(a, &[]), index_spelling(d, &[]));
    }
}
