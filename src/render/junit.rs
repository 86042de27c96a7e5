//! JUnit XML for CI test reporters (GitLab, Jenkins, GitHub actions that read JUnit):
//! one test suite per compared part (`rootfs`; for images `index`, `manifest`, `config`,
//! each `layers/N` or the squashed `rootfs`), one failing test case per entry that
//! differs, one passing test case per part without differences and per rule that hid
//! something (its counts in system-out). An equal comparison is a passing suite, never an
//! empty file.

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
        let kind = d
            .left_kind
            .or(d.right_kind)
            .map(|k| k.to_string())
            .unwrap_or_default();
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

pub fn render(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    let mut by_part: BTreeMap<&str, Vec<&Difference>> = BTreeMap::new();
    for p in &r.parts {
        by_part.entry(p.as_str()).or_default();
    }
    for d in &r.differences {
        by_part.entry(d.part.as_str()).or_default().push(d);
    }
    let rule_cases = r.ignored.len();
    let cut_parts = r.cut.as_ref().map_or(0, |c| c.not_shown.len());
    let tests: usize = by_part
        .iter()
        .map(|(p, v)| {
            let cut = r.cut.as_ref().is_some_and(|c| c.not_shown.contains_key(*p));
            (v.len() + usize::from(cut)).max(1)
        })
        .sum::<usize>()
        + rule_cases;
    let failures = r.differences.len() + cut_parts;
    writeln!(w, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        w,
        r#"<testsuites name="rdiff {}" tests="{tests}" failures="{failures}" errors="0">"#,
        escape_xml(&r.command)
    )?;
    let class = format!("rdiff.{}", r.command);
    for (part, ds) in &by_part {
        let cut_here = r
            .cut
            .as_ref()
            .is_some_and(|c| c.not_shown.contains_key(*part));
        let failures = ds.len() + usize::from(cut_here);
        writeln!(
            w,
            r#"  <testsuite name="{}" tests="{}" failures="{failures}" errors="0" skipped="0">"#,
            escape_xml(part),
            failures.max(1),
        )?;
        // The inputs' SHA-256, as `sha256sum` prints them (none for directories; the
        // common JUnit schemas want at least one <property> in a <properties>).
        let sums: Vec<(&str, String)> = if *part == crate::compare::INPUT {
            [("left", &r.left), ("right", &r.right)]
                .into_iter()
                .filter_map(|(side, i)| i.sha256_line().map(|l| (side, l)))
                .collect()
        } else {
            Vec::new()
        };
        if !sums.is_empty() {
            writeln!(w, "    <properties>")?;
            for (side, l) in sums {
                writeln!(
                    w,
                    r#"      <property name="{side}.sha256" value="{}"/>"#,
                    escape_xml(&l)
                )?;
            }
            writeln!(w, "    </properties>")?;
        }
        let hidden = r
            .cut
            .as_ref()
            .and_then(|c| c.not_shown.get(*part))
            .copied()
            .unwrap_or(0);
        if hidden > 0 {
            writeln!(
                w,
                r#"    <testcase classname="{}" name="{} differences not shown"><failure message="{hidden} {} cut from this report" type="difference">{}</failure></testcase>"#,
                escape_xml(&class),
                escape_xml(part),
                crate::report::plural(hidden, "difference", "differences"),
                escape_xml(&r.cut.as_ref().map(cut_note).unwrap_or_default())
            )?;
        } else if ds.is_empty() {
            writeln!(
                w,
                r#"    <testcase classname="{}" name="{} is equal"/>"#,
                escape_xml(&class),
                escape_xml(part)
            )?;
        }
        for d in ds {
            writeln!(
                w,
                r#"    <testcase classname="{}" name="{}">"#,
                escape_xml(&class),
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
        writeln!(w, "  </testsuite>")?;
    }
    // What the policy hid: one passing case per rule, so CI shows it was looked at.
    writeln!(
        w,
        r#"  <testsuite name="ignored" tests="{rule_cases}" failures="0" errors="0" skipped="0">"#
    )?;
    for i in &r.ignored {
        writeln!(
            w,
            r#"    <testcase classname="{}" name="ignored by --{} ({})">"#,
            escape_xml(&class),
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
    writeln!(w, "  </testsuite>")?;
    writeln!(w, "  <system-out>{}", escape_xml(&r.verdict()))?;
    if let Some(c) = &r.cut {
        writeln!(w, "{}", escape_xml(&cut_note(c)))?;
    }
    writeln!(w, "  </system-out>")?;
    writeln!(w, "</testsuites>")
}
