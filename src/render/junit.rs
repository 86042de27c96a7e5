//! JUnit XML for CI test reporters (GitLab, Jenkins, GitHub actions that read JUnit):
//! one test suite per compared part (`rootfs`; for images `index`, `manifest`, `config`,
//! each `layers/N` or the squashed `rootfs`), one failing test case per entry that
//! differs, one passing test case per part without differences and per rule that hid
//! something (its counts in system-out), and a `likely causes` suite with a passing case
//! per hint. An equal comparison is a passing suite, never an empty file.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::{cut_note, escape_xml};
use crate::entry::display_bytes;
use crate::report::{ContentDiff, Difference, Report};

fn failure_text(d: &Difference) -> String {
    let mut t = String::new();
    for f in &d.fields {
        t.push_str(&format!("{}: {} -> {}\n", f.name(), f.left, f.right));
    }
    if d.fields.is_empty() {
        let kind = d.kind_name();
        t.push_str(&format!("{:?} {kind}\n", d.status).to_lowercase());
    }
    if let Some(c) = &d.content {
        if let ContentDiff::Text { unified, .. } = c {
            t.push('\n');
            t.push_str(unified);
        }
        for sentence in [c.sentence(), c.cut_sentence()].into_iter().flatten() {
            t.push_str(&format!("[{sentence}]\n"));
        }
    }
    t
}

fn message(d: &Difference) -> String {
    let status = format!("{:?}", d.status).to_lowercase();
    if d.fields.is_empty() {
        return status;
    }
    let names: Vec<String> = d.fields.iter().map(|f| f.name()).collect();
    format!("{status}: {}", names.join(", "))
}

/// Differences not shown in `part` when a limit cut the report (`None` where the cut
/// took none of its differences, or there was no cut).
fn not_shown(r: &Report, part: &str) -> Option<u64> {
    r.cut.as_ref().and_then(|c| c.not_shown.get(part)).copied()
}

/// The differences by part: every compared part, with or without differences, in
/// name order.
fn by_part(r: &Report) -> BTreeMap<&str, Vec<&Difference>> {
    let mut by_part: BTreeMap<&str, Vec<&Difference>> = BTreeMap::new();
    for p in &r.parts {
        by_part.entry(p.as_str()).or_default();
    }
    for d in &r.differences {
        by_part.entry(d.part.as_str()).or_default().push(d);
    }
    by_part
}

/// The test suite of one part: a failing case per difference, one for the differences
/// a limit cut, or one passing case when the part is equal.
fn write_part(
    w: &mut dyn Write,
    r: &Report,
    class: &str,
    part: &str,
    ds: &[&Difference],
) -> io::Result<()> {
    let hidden = not_shown(r, part);
    let failures = ds.len() + usize::from(hidden.is_some());
    writeln!(
        w,
        r#"  <testsuite name="{}" tests="{}" failures="{failures}" errors="0" skipped="0">"#,
        escape_xml(part),
        failures.max(1),
    )?;
    if part == crate::compare::INPUT {
        write_sha256_properties(w, r)?;
    }
    let hidden = hidden.unwrap_or(0);
    if hidden > 0 {
        writeln!(
            w,
            r#"    <testcase classname="{}" name="{} differences not shown"><failure message="{hidden} {} cut from this report" type="difference">{}</failure></testcase>"#,
            escape_xml(class),
            escape_xml(part),
            crate::report::plural(hidden, "difference", "differences"),
            escape_xml(&r.cut.as_ref().map(cut_note).unwrap_or_default())
        )?;
    } else if ds.is_empty() {
        writeln!(
            w,
            r#"    <testcase classname="{}" name="{} is equal"/>"#,
            escape_xml(class),
            escape_xml(part)
        )?;
    }
    for d in ds {
        writeln!(
            w,
            r#"    <testcase classname="{}" name="{}">"#,
            escape_xml(class),
            escape_xml(&display_bytes(&d.path))
        )?;
        writeln!(
            w,
            r#"      <failure message="{}" type="difference">{}</failure>"#,
            escape_xml(&message(d)),
            escape_xml(&failure_text(d))
        )?;
        writeln!(w, "    </testcase>")?;
    }
    writeln!(w, "  </testsuite>")
}

/// The inputs' SHA-256 as `sha256sum` prints them, as properties of the input part's
/// suite (none for directories: the common JUnit schemas want at least one
/// <property> in a <properties>).
fn write_sha256_properties(w: &mut dyn Write, r: &Report) -> io::Result<()> {
    let sums: Vec<(&str, String)> = [("left", &r.left), ("right", &r.right)]
        .into_iter()
        .filter_map(|(side, i)| i.sha256_line().map(|l| (side, l)))
        .collect();
    if sums.is_empty() {
        return Ok(());
    }
    writeln!(w, "    <properties>")?;
    for (side, l) in sums {
        writeln!(
            w,
            r#"      <property name="{side}.sha256" value="{}"/>"#,
            escape_xml(&l)
        )?;
    }
    writeln!(w, "    </properties>")
}

/// What the policy hid: one passing case per rule, so CI shows it was looked at.
fn write_ignored(w: &mut dyn Write, r: &Report, class: &str) -> io::Result<()> {
    writeln!(
        w,
        r#"  <testsuite name="ignored" tests="{}" failures="0" errors="0" skipped="0">"#,
        r.ignored.len()
    )?;
    for i in &r.ignored {
        writeln!(
            w,
            r#"    <testcase classname="{}" name="ignored by --{} ({})">"#,
            escape_xml(class),
            escape_xml(&i.rule),
            escape_xml(&i.field)
        )?;
        writeln!(
            w,
            "      <system-out>{} {} difference(s) ignored by --{}</system-out>",
            i.count,
            escape_xml(&i.field),
            escape_xml(&i.rule)
        )?;
        writeln!(w, "    </testcase>")?;
    }
    writeln!(w, "  </testsuite>")
}

/// The likely causes: one passing case per hint, with its text and the entries it
/// explains in system-out, so CI shows them beside the failures.
fn write_hints(w: &mut dyn Write, r: &Report, class: &str) -> io::Result<()> {
    if r.hints.is_empty() {
        return Ok(());
    }
    writeln!(
        w,
        r#"  <testsuite name="likely causes" tests="{}" failures="0" errors="0" skipped="0">"#,
        r.hints.len()
    )?;
    for h in &r.hints {
        writeln!(
            w,
            r#"    <testcase classname="{}" name="{}">"#,
            escape_xml(class),
            escape_xml(h.id)
        )?;
        writeln!(
            w,
            "      <system-out>{}\n{}: {}</system-out>",
            escape_xml(&h.text),
            h.entries_text(),
            escape_xml(&h.paths_line())
        )?;
        writeln!(w, "    </testcase>")?;
    }
    writeln!(w, "  </testsuite>")
}

pub fn render(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    let by_part = by_part(r);
    let cut_parts = r.cut.as_ref().map_or(0, |c| c.not_shown.len());
    let tests: usize = by_part
        .iter()
        .map(|(p, v)| (v.len() + usize::from(not_shown(r, p).is_some())).max(1))
        .sum::<usize>()
        + r.ignored.len()
        + r.hints.len();
    let failures = r.differences.len() + cut_parts;
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        w,
        r#"<testsuites name="rdiff {}" tests="{tests}" failures="{failures}" errors="0">"#,
        escape_xml(&r.command)
    )?;
    let class = format!("rdiff.{}", r.command);
    for (part, ds) in &by_part {
        write_part(w, r, &class, part, ds)?;
    }
    write_ignored(w, r, &class)?;
    write_hints(w, r, &class)?;
    writeln!(w, "  <system-out>{}", escape_xml(&r.verdict()))?;
    if let Some(c) = &r.cut {
        writeln!(w, "{}", escape_xml(&cut_note(c)))?;
    }
    writeln!(w, "  </system-out>")?;
    writeln!(w, "</testsuites>")
}
