//! Markdown for merge-request comments and `$GITHUB_STEP_SUMMARY`: verdict first, the
//! summary table, differences grouped by directory (long groups folded in `<details>`),
//! content diffs in ```diff fences, what was ignored. Values go in `<code>` with HTML
//! escaping, so `|` and backticks in paths cannot break the tables.

use std::collections::BTreeMap;
use std::io::{self, Write};

use super::{cut_note, escape_xml};
use crate::entry::{display_bytes, parent};
use crate::error::group;
use crate::report::{ContentDiff, Difference, Report, Status, plural};

fn code(s: &str) -> String {
    format!("<code>{}</code>", escape_xml(s).replace('|', "&#124;"))
}

fn mark(s: Status) -> &'static str {
    match s {
        Status::Added => "+",
        Status::Removed => "-",
        Status::Changed => "~",
    }
}

/// Groups with more entries than this are folded.
const FOLD: usize = 10;

fn fence(diff: &str) -> String {
    // A fence longer than any backtick run inside.
    let mut n = 3;
    let mut run = 0;
    for c in diff.chars() {
        if c == '`' {
            run += 1;
            n = n.max(run + 1);
        } else {
            run = 0;
        }
    }
    "`".repeat(n)
}

fn write_group(w: &mut dyn Write, title: &str, ds: &[&Difference]) -> io::Result<()> {
    let fold = ds.len() > FOLD;
    if fold {
        writeln!(
            w,
            "<details><summary>{} ({} {})</summary>\n",
            code(title),
            ds.len(),
            plural(ds.len() as u64, "entry", "entries")
        )?;
    } else {
        writeln!(w, "**{}**\n", code(title))?;
    }
    writeln!(w, "| | entry | field | left | right |")?;
    writeln!(w, "|---|---|---|---|---|")?;
    for d in ds {
        let name = match d.path.iter().rposition(|&b| b == b'/') {
            Some(i) => display_bytes(&d.path[i + 1..]),
            None => display_bytes(&d.path),
        };
        if d.fields.is_empty() {
            let kind = d
                .left_kind
                .or(d.right_kind)
                .map(|k| k.to_string())
                .unwrap_or_default();
            writeln!(
                w,
                "| {} | {} | {} | | |",
                mark(d.status),
                code(&name),
                escape_xml(&kind)
            )?;
        }
        for (i, f) in d.fields.iter().enumerate() {
            let (m, n) = if i == 0 {
                (mark(d.status), code(&name))
            } else {
                ("", String::new())
            };
            writeln!(
                w,
                "| {m} | {n} | {} | {} | {} |",
                code(&f.name()),
                code(&f.left.to_string()),
                code(&f.right.to_string())
            )?;
        }
    }
    writeln!(w)?;
    if fold {
        writeln!(w, "</details>\n")?;
    }
    Ok(())
}

pub fn render(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    let icon = if r.equal { "✅" } else { "❌" };
    writeln!(
        w,
        "## {icon} rdiff {}: {}\n",
        r.command,
        escape_xml(&r.verdict())
    )?;
    writeln!(
        w,
        "Left {} ({}, {}) · right {} ({}, {}) · mode **{}**{}\n",
        code(&r.left.name),
        r.left.kind,
        r.left.entries_text(),
        code(&r.right.name),
        r.right.kind,
        r.right.entries_text(),
        r.mode,
        if r.rules.is_empty() {
            String::new()
        } else {
            format!(
                " ({})",
                r.rules
                    .iter()
                    .map(|x| code(&format!("--{}", x.name)))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        }
    )?;
    let sums: Vec<String> = [&r.left, &r.right]
        .iter()
        .filter_map(|i| i.sha256_line())
        .collect();
    if !sums.is_empty() {
        let text = sums.join("\n");
        let f = fence(&text);
        writeln!(w, "{f}\n{text}\n{f}\n")?;
    }
    for warn in &r.warnings {
        writeln!(w, "> **warning:** {}\n", escape_xml(warn))?;
    }
    writeln!(w, "| | differences | ignored |\n|---|---:|---:|")?;
    let s = &r.summary;
    writeln!(w, "| entries added | {} | 0 |", group(s.added))?;
    writeln!(w, "| entries removed | {} | 0 |", group(s.removed))?;
    writeln!(
        w,
        "| entries changed | {} | {} |",
        group(s.changed),
        group(s.ignored_entries)
    )?;
    for (field, c) in &s.fields {
        writeln!(
            w,
            "| {} | {} | {} |",
            code(field),
            group(c.differences),
            group(c.ignored)
        )?;
    }
    writeln!(w)?;
    if let Some(c) = &r.cut {
        writeln!(w, "> **{}**\n", escape_xml(&cut_note(c)))?;
    }
    if !r.differences.is_empty() {
        writeln!(w, "### Differences\n")?;
        // The inputs as wholes first, in a group of their own (not under `./`, where an
        // entry named `input` would look the same), then the entries by directory.
        let (inputs, entries): (Vec<&Difference>, Vec<&Difference>) = r
            .differences
            .iter()
            .partition(|d| d.part == crate::compare::INPUT);
        if !inputs.is_empty() {
            write_group(w, crate::compare::INPUT, &inputs)?;
        }
        let mut groups: BTreeMap<&[u8], Vec<&Difference>> = BTreeMap::new();
        for d in entries {
            groups.entry(parent(&d.path)).or_default().push(d);
        }
        for (dir, ds) in groups {
            let title = if dir == b"." {
                "./".to_string()
            } else {
                format!("{}/", display_bytes(dir))
            };
            write_group(w, &title, &ds)?;
        }
        let contents: Vec<&Difference> = r
            .differences
            .iter()
            .filter(|d| d.content.is_some())
            .collect();
        if !contents.is_empty() {
            writeln!(w, "### Content differences\n")?;
            for d in contents {
                let p = display_bytes(&d.path);
                match d.content.as_ref().expect("filtered") {
                    ContentDiff::Text {
                        unified,
                        lines,
                        lines_shown,
                    } => {
                        writeln!(w, "<details><summary>{}</summary>\n", code(&p))?;
                        let f = fence(unified);
                        writeln!(w, "{f}diff\n{}{f}\n", unified)?;
                        if lines_shown < lines {
                            writeln!(
                                w,
                                "_diff cut: {} of {} lines shown (--max-diff-lines)_\n",
                                group(*lines_shown),
                                group(*lines)
                            )?;
                        }
                        writeln!(w, "</details>\n")?;
                    }
                    other => {
                        writeln!(
                            w,
                            "- {}: {}\n",
                            code(&p),
                            escape_xml(&other.sentence().unwrap_or_default())
                        )?;
                    }
                }
            }
            writeln!(w)?;
        }
    }
    if !r.notes.is_empty() {
        writeln!(w, "<details><summary>Notes ({})</summary>\n", r.notes.len())?;
        for n in &r.notes {
            writeln!(
                w,
                "- {}: {}",
                code(&display_bytes(&n.path)),
                escape_xml(&n.message)
            )?;
        }
        writeln!(w, "\n</details>\n")?;
    }
    if !r.ignored.is_empty() {
        writeln!(w, "### Ignored\n")?;
        for i in &r.ignored {
            writeln!(
                w,
                "- {}{}: {}",
                code(&format!("--{}", i.rule)),
                i.origin_label(),
                i.what()
            )?;
        }
        writeln!(w)?;
    }
    writeln!(
        w,
        "<sub>rdiff {} · report schema {}</sub>",
        env!("CARGO_PKG_VERSION"),
        r.schema_version
    )
}
