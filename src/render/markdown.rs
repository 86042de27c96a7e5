//! Markdown for merge-request comments and `$GITHUB_STEP_SUMMARY`: verdict first, the
//! summary table, differences grouped by directory (long groups folded in `<details>`),
//! content diffs in ```diff fences, what was ignored. Values go in `<code>` with HTML
//! escaping, so `|` and backticks in paths cannot break the tables.

use std::io::{self, Write};

use super::{content_diffs, cut_note, escape_xml, group_by_directory, package_label};
use crate::entry::{base_name, display_bytes};
use crate::report::{ContentDiff, Difference, Report, Status, plural};

fn code(s: &str) -> String {
    format!("<code>{}</code>", escape_xml(s).replace('|', "&#124;"))
}

/// Text for a paragraph: HTML-escaped, and the characters Markdown reads as
/// emphasis or code (`__DATE__`, `*.pc`) written as themselves.
fn prose(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in escape_xml(s).chars() {
        if matches!(c, '\\' | '_' | '*' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out
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

/// One group of differences as a table (folded in `<details>` when long): a row per
/// field, the entry's mark and name on its first row.
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
        write_rows(w, d)?;
    }
    writeln!(w)?;
    if fold {
        writeln!(w, "</details>\n")?;
    }
    Ok(())
}

/// One entry's rows in its group's table: one per differing field, or one with its
/// kind when no field differs (an added or removed entry).
fn write_rows(w: &mut dyn Write, d: &Difference) -> io::Result<()> {
    // The name, and the package that owns the entry: `<code>hello</code> (package hello)`.
    let name = code(&display_bytes(base_name(&d.path)))
        + &package_label(d)
            .map(|p| format!(" ({})", escape_xml(&p)))
            .unwrap_or_default();
    if d.fields.is_empty() {
        writeln!(
            w,
            "| {} | {} | {} | | |",
            mark(d.status),
            name,
            escape_xml(&d.kind_name())
        )?;
    }
    for (i, f) in d.fields.iter().enumerate() {
        let (m, n) = if i == 0 {
            (mark(d.status), name.clone())
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
    Ok(())
}

/// The verdict as the title, the inputs and the mode, their SHA-256 in a fence, any
/// warnings.
fn write_header(w: &mut dyn Write, r: &Report) -> io::Result<()> {
    let icon = if r.equal { "✅" } else { "❌" };
    writeln!(
        w,
        "## {icon} rdiff {}: {}\n",
        r.command,
        escape_xml(&r.verdict())
    )?;
    let rules = r.rule_flags();
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
        if rules.is_empty() {
            String::new()
        } else {
            format!(
                " ({})",
                rules.iter().map(|x| code(x)).collect::<Vec<_>>().join(" ")
            )
        }
    )?;
    let sums: Vec<String> = [&r.left, &r.right]
        .iter()
        .filter_map(|i| i.sha256_line())
        .chain([&r.left, &r.right].iter().flat_map(|i| i.digest_lines()))
        .collect();
    if !sums.is_empty() {
        let text = sums.join("\n");
        let f = fence(&text);
        writeln!(w, "{f}\n{text}\n{f}\n")?;
    }
    for warn in &r.warnings {
        writeln!(w, "> **warning:** {}\n", escape_xml(warn))?;
    }
    Ok(())
}

/// The counts table, then what a limit cut.
fn write_summary(w: &mut dyn Write, r: &Report) -> io::Result<()> {
    writeln!(w, "| | differences | ignored |\n|---|---:|---:|")?;
    let s = &r.summary;
    for (label, n, ign) in s.entry_rows() {
        writeln!(w, "| {label} | {} | {} |", n, ign)?;
    }
    for (field, c) in &s.fields {
        writeln!(w, "| {} | {} | {} |", code(field), c.differences, c.ignored)?;
    }
    writeln!(w)?;
    if let Some(c) = &r.cut {
        writeln!(w, "> **{}**\n", escape_xml(&cut_note(c)))?;
    }
    Ok(())
}

/// The likely causes, most entries explained first: each hint's text, the entries it
/// explains, and how many of them are folded here instead of listed.
fn write_hints(w: &mut dyn Write, r: &Report) -> io::Result<()> {
    if r.hints.is_empty() {
        return Ok(());
    }
    writeln!(w, "### Likely causes\n")?;
    for h in &r.hints {
        writeln!(w, "- {}: {}", code(h.id), prose(&h.text))?;
        let paths: Vec<String> = h.paths_shown().map(|p| code(&p)).collect();
        writeln!(
            w,
            "  <br>{}: {}{}",
            h.entries_text(),
            paths.join(", "),
            h.more_paths()
        )?;
        if h.folded > 0 {
            writeln!(w, "  <br>_{}_", escape_xml(&h.folded_sentence()))?;
        }
        for g in h.groups.iter().filter(|g| g.folded > 0) {
            writeln!(w, "  <br>{}", escape_xml(&g.line()))?;
        }
    }
    writeln!(w)
}

/// The differences by group (the inputs, then each directory; not those folded under a
/// hint), then the content diffs.
fn write_differences(w: &mut dyn Write, r: &Report) -> io::Result<()> {
    if r.listed().next().is_none() {
        return Ok(());
    }
    writeln!(w, "### Differences\n")?;
    let groups = group_by_directory(r.listed());
    if !groups.inputs.is_empty() {
        write_group(w, crate::compare::INPUT, &groups.inputs)?;
    }
    for (title, ds) in groups.packages.into_iter().chain(groups.directories) {
        write_group(w, &title, &ds)?;
    }
    write_content_diffs(w, r)
}

/// Each content diff folded in `<details>` as a ```diff fence, or its sentence.
fn write_content_diffs(w: &mut dyn Write, r: &Report) -> io::Result<()> {
    let contents = content_diffs(r.listed());
    if contents.is_empty() {
        return Ok(());
    }
    writeln!(w, "### Content differences\n")?;
    for (d, content) in contents {
        let p = display_bytes(&d.path);
        match content {
            ContentDiff::Text {
                unified,
                lines,
                lines_shown,
            } => {
                writeln!(w, "<details><summary>{}</summary>\n", code(&p))?;
                let unified = super::printable(unified);
                let f = fence(&unified);
                writeln!(w, "{f}diff\n{}{f}\n", unified)?;
                if lines_shown < lines {
                    writeln!(
                        w,
                        "_diff cut: {} of {} lines shown (--max-diff-lines)_\n",
                        (*lines_shown),
                        (*lines)
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
    writeln!(w)
}

/// The notes (folded) and what the policy ignored.
fn write_notes_and_ignored(w: &mut dyn Write, r: &Report) -> io::Result<()> {
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
    Ok(())
}

pub fn render(r: &Report, w: &mut dyn Write) -> io::Result<()> {
    write_header(w, r)?;
    write_summary(w, r)?;
    write_hints(w, r)?;
    write_differences(w, r)?;
    write_notes_and_ignored(w, r)?;
    writeln!(
        w,
        "<sub>rdiff {} · report schema {}</sub>",
        env!("CARGO_PKG_VERSION"),
        r.schema_version
    )
}
