//! diffoscope-compatible JSON (`"diffoscope-json-version": 1`): the tree of `source1`,
//! `source2`, `unified_diff`, `details`, `comments` that `diffoscope
//! --load-existing-diff` and tools built on diffoscope's output (rebuilders, the Debian
//! janitor) read. The top node is the two inputs; a `file list` node lists added and
//! removed entries as a unified diff; each changed entry is a node whose unified diff
//! shows its differing fields as `field: value` lines, with a child node for a content
//! diff; rdiff's verdict, likely causes, notes and ignored counts are comments.

use std::io::{self, Write};

use serde_json::{Map, Value, json};

use super::cut_note;
use crate::entry::display_bytes;
use crate::report::{ContentDiff, Difference, Report, Status};

fn node(
    s1: &str,
    s2: &str,
    diff: Option<String>,
    comments: Vec<String>,
    details: Vec<Value>,
) -> Value {
    let mut m = Map::new();
    m.insert("source1".into(), json!(s1));
    m.insert("source2".into(), json!(s2));
    m.insert(
        "unified_diff".into(),
        diff.map_or(Value::Null, Value::String),
    );
    if !comments.is_empty() {
        m.insert("comments".into(), json!(comments));
    }
    if !details.is_empty() {
        m.insert("details".into(), Value::Array(details));
    }
    Value::Object(m)
}

/// A unified diff hunk of `-left` / `+right` lines.
fn hunk(left: &[String], right: &[String]) -> String {
    let mut s = format!("@@ -1,{} +1,{} @@\n", left.len(), right.len());
    for l in left {
        s.push_str(&format!("-{l}\n"));
    }
    for r in right {
        s.push_str(&format!("+{r}\n"));
    }
    s
}

/// The hunks of our unified diff, without its `---`/`+++` header (diffoscope keeps the
/// file names in source1/source2).
fn strip_header(unified: &str) -> String {
    unified
        .lines()
        .skip_while(|l| l.starts_with("---") || l.starts_with("+++"))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn changed(d: &Difference) -> Value {
    let p = display_bytes(&d.path);
    let left: Vec<String> = d
        .fields
        .iter()
        .map(|f| format!("{}: {}", f.name(), f.left))
        .collect();
    let right: Vec<String> = d
        .fields
        .iter()
        .map(|f| format!("{}: {}", f.name(), f.right))
        .collect();
    let mut details = Vec::new();
    let mut comments = Vec::new();
    if let Some(c) = &d.content {
        if let ContentDiff::Text { unified, .. } = c {
            let cut: Vec<String> = c.cut_sentence().into_iter().collect();
            details.push(node(&p, &p, Some(strip_header(unified)), cut, Vec::new()));
        }
        comments.extend(c.sentence());
    }
    node(
        &p,
        &p,
        (!left.is_empty()).then(|| hunk(&left, &right)),
        comments,
        details,
    )
}

pub fn render(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    let mut details = Vec::new();
    let removed: Vec<String> = r
        .differences
        .iter()
        .filter(|d| d.status == Status::Removed)
        .map(|d| display_bytes(&d.path))
        .collect();
    let added: Vec<String> = r
        .differences
        .iter()
        .filter(|d| d.status == Status::Added)
        .map(|d| display_bytes(&d.path))
        .collect();
    if !added.is_empty() || !removed.is_empty() {
        details.push(node(
            "file list",
            "file list",
            Some(hunk(&removed, &added)),
            Vec::new(),
            Vec::new(),
        ));
    }
    for d in r.differences.iter().filter(|d| d.status == Status::Changed) {
        details.push(changed(d));
    }
    let mut comments = vec![format!(
        "rdiff {} ({} mode): {}",
        r.command,
        r.mode,
        r.verdict()
    )];
    for i in [&r.left, &r.right] {
        if let Some(l) = i.sha256_line() {
            comments.push(format!("sha256 {l}"));
        }
    }
    for h in &r.hints {
        comments.push(format!(
            "likely cause [{}]: {} ({}: {})",
            h.id,
            h.text,
            h.entries_text(),
            h.paths_line()
        ));
    }
    for i in &r.ignored {
        comments.push(format!("ignored by --{}: {} {}", i.rule, i.count, i.field));
    }
    for n in &r.notes {
        comments.push(format!("{}: {}", display_bytes(&n.path), n.message));
    }
    if let Some(c) = &r.cut {
        comments.push(cut_note(c));
    }
    let mut top = node(&r.left.name, &r.right.name, None, comments, details);
    // serde_json sorts object keys; readers do not mind.
    let mut m = Map::new();
    m.insert("diffoscope-json-version".into(), json!(1));
    if let Value::Object(o) = &mut top {
        for (k, v) in std::mem::take(o) {
            m.insert(k, v);
        }
    }
    serde_json::to_writer_pretty(&mut *w, &Value::Object(m)).map_err(io::Error::other)?;
    w.write_all(b"\n")
}
