//! The human report: header, summary table, differences grouped by directory, content
//! diffs, notes, what was ignored, and the verdict last.

use std::io::{self, Write};

use comfy_table::{CellAlignment, ContentArrangement, Table, presets};

use super::{content_diffs, cut_note, group_by_directory, package_label};
use crate::entry::{base_name, display_bytes};
use crate::report::{ContentDiff, Difference, Report, Status, plural};

struct Style {
    on: bool,
}

impl Style {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(&self, s: &str) -> String {
        self.paint("1", s)
    }
    fn red(&self, s: &str) -> String {
        self.paint("31", s)
    }
    fn green(&self, s: &str) -> String {
        self.paint("32", s)
    }
    fn yellow(&self, s: &str) -> String {
        self.paint("33", s)
    }
    fn cyan(&self, s: &str) -> String {
        self.paint("36", s)
    }
    fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }
}

fn input_line(label: &str, i: &crate::report::InputSummary) -> String {
    let mut what = vec![i.kind.clone()];
    if let Some(c) = i.compression.as_deref().filter(|c| *c != "none") {
        what.push(c.to_string());
    }
    what.push(i.entries_text());
    if let Some(n) = i.bytes_fetched {
        what.push(format!("{n} bytes fetched"));
    }
    format!("{label:<6} {}  ({})", i.name, what.join(", "))
}

/// `sha256 HEX  NAME`: what `sha256sum` prints for the input, after a label.
fn sha256_line(i: &crate::report::InputSummary) -> Option<String> {
    i.sha256_line().map(|l| format!("sha256 {l}"))
}

fn summary_table(r: &Report, ascii: bool) -> Table {
    let mut t = Table::new();
    let preset = match ascii {
        true => presets::ASCII_FULL_CONDENSED,
        false => presets::UTF8_FULL_CONDENSED,
    };
    t.load_style(preset)
        .force_no_tty()
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(vec!["", "differences", "ignored"]);
    let s = &r.summary;
    for (label, n, ign) in s.entry_rows() {
        t.add_row(vec![label.to_string(), n.to_string(), ign.to_string()]);
    }
    for (field, c) in &s.fields {
        t.add_row(vec![
            format!("  {field}"),
            c.differences.to_string(),
            c.ignored.to_string(),
        ]);
    }
    for col in 1..3 {
        if let Some(c) = t.column_mut(col) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

/// `(file, 1234 bytes)`, `(symlink -> libx.so.1)`, `(hardlink to usr/bin/ping)` or
/// `(dir)` after an added or removed entry's name, with the package that owns it
/// (`(file, 3 bytes, package hello)`, `(package hello)`).
fn entry_label(d: &Difference) -> String {
    let kind = d.kind_name();
    let target = d.target.as_deref().map(crate::entry::display_bytes);
    let what = match (d.status, d.size) {
        (Status::Added | Status::Removed, Some(sz)) if kind == "file" => {
            format!("{kind}, {} {}", sz, plural(sz, "byte", "bytes"))
        }
        (Status::Added | Status::Removed, _) if target.is_some() => {
            let link = if kind == "hardlink" { "to" } else { "->" };
            format!("{kind} {link} {}", target.unwrap_or_default())
        }
        (Status::Added | Status::Removed, _) if !kind.is_empty() => kind,
        _ => String::new(),
    };
    let parts: Vec<String> = [Some(what).filter(|w| !w.is_empty()), package_label(d)]
        .into_iter()
        .flatten()
        .collect();
    match parts.is_empty() {
        true => String::new(),
        false => format!("({})", parts.join(", ")),
    }
}

/// The inputs as wholes first (their bytes, compression, trailer), then the entries by
/// directory, each with its differing fields (not those folded under a hint).
fn write_differences(w: &mut dyn Write, diffs: &[&Difference], st: &Style) -> io::Result<()> {
    let groups = group_by_directory(diffs.iter().copied());
    for d in groups.inputs {
        writeln!(w, "{}", st.bold("input"))?;
        write_fields(w, d, st)?;
    }
    for (header, ds) in groups.packages.into_iter().chain(groups.directories) {
        writeln!(w, "{}", st.bold(&header))?;
        for d in ds {
            write_entry(w, d, st)?;
        }
    }
    Ok(())
}

/// One entry under its directory: `+ name  (file, 3 bytes)`, then its fields.
fn write_entry(w: &mut dyn Write, d: &Difference, st: &Style) -> io::Result<()> {
    let name = display_bytes(base_name(&d.path));
    let name = match d.status {
        Status::Added => st.green(&format!("+ {name}")),
        Status::Removed => st.red(&format!("- {name}")),
        Status::Changed => st.yellow(&format!("~ {name}")),
    };
    let label = entry_label(d);
    let ignored = d
        .ignored_by
        .as_ref()
        .map(|r| format!(" [ignored by --{r}]"))
        .unwrap_or_default();
    if label.is_empty() && ignored.is_empty() {
        writeln!(w, "  {name}")?;
    } else {
        writeln!(w, "  {name}  {}{}", st.dim(&label), st.dim(&ignored))?;
    }
    write_fields(w, d, st)
}

fn write_fields(w: &mut dyn Write, d: &Difference, st: &Style) -> io::Result<()> {
    let width = d.fields.iter().map(|f| f.name().len()).max().unwrap_or(0);
    for f in &d.fields {
        let by = f
            .ignored_by
            .as_ref()
            .map(|r| st.dim(&format!("  [--{r}]")))
            .unwrap_or_default();
        writeln!(
            w,
            "      {:<width$}  {} -> {}{by}",
            f.name(),
            f.left,
            f.right,
        )?;
    }
    Ok(())
}

/// The command, the inputs, the mode and any warnings, then the summary table (and
/// what a limit cut).
fn write_header(w: &mut dyn Write, r: &Report, st: &Style, ascii: bool) -> io::Result<()> {
    writeln!(w, "{}", st.bold(&format!("rdiff {}", r.command)))?;
    writeln!(w, "{}", input_line("left", &r.left))?;
    writeln!(w, "{}", input_line("right", &r.right))?;
    let digests = [r.left.digest_lines(), r.right.digest_lines()].concat();
    for l in [sha256_line(&r.left), sha256_line(&r.right)]
        .into_iter()
        .flatten()
        .chain(digests)
    {
        writeln!(w, "{l}")?;
    }
    let rules = r.rule_flags();
    if rules.is_empty() {
        writeln!(w, "mode   {}", r.mode)?;
    } else {
        writeln!(w, "mode   {} ({})", r.mode, rules.join(" "))?;
    }
    for warn in &r.warnings {
        writeln!(w, "{}", st.yellow(&format!("warning: {warn}")))?;
    }
    writeln!(w)?;
    writeln!(w, "{}", summary_table(r, ascii))?;
    if let Some(c) = &r.cut {
        writeln!(w, "{}", st.yellow(&format!("[{}]", cut_note(c))))?;
    }
    Ok(())
}

/// The likely causes, most entries explained first: each hint's text, the entries it
/// explains, and how many of them are folded here instead of listed.
fn write_hints(w: &mut dyn Write, r: &Report, st: &Style) -> io::Result<()> {
    if r.hints.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(w, "{}", st.bold("likely causes:"))?;
    for h in &r.hints {
        writeln!(w, "  {} {}", st.cyan(&format!("[{}]", h.id)), h.text)?;
        writeln!(w, "      {}: {}", h.entries_text(), h.paths_line())?;
        if h.folded > 0 {
            writeln!(w, "      {}", st.dim(&h.folded_sentence()))?;
        }
        for g in h.groups.iter().filter(|g| g.folded > 0) {
            writeln!(w, "        {}", st.dim(&g.line()))?;
        }
    }
    Ok(())
}

/// The content diffs: unified diffs coloured by line, a sentence for the others.
fn write_content_diffs(w: &mut dyn Write, r: &Report, st: &Style) -> io::Result<()> {
    let contents = content_diffs(r.listed());
    if contents.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(w, "{}", st.bold("content differences:"))?;
    for (d, content) in contents {
        writeln!(w)?;
        match content {
            ContentDiff::Text {
                unified,
                lines,
                lines_shown,
            } => {
                for line in unified.lines() {
                    writeln!(w, "{}", paint_diff_line(&super::printable(line), st))?;
                }
                if lines_shown < lines {
                    writeln!(
                        w,
                        "{}",
                        st.dim(&format!(
                            "[diff cut: {} of {} lines shown; raise --max-diff-lines to see more]",
                            (*lines_shown),
                            (*lines)
                        ))
                    )?;
                }
            }
            other => {
                let p = display_bytes(&d.path);
                writeln!(w, "{p}: {}", other.sentence().unwrap_or_default())?;
            }
        }
    }
    Ok(())
}

/// One line of a unified diff: headers bold, additions green, removals red, hunks cyan.
fn paint_diff_line(line: &str, st: &Style) -> String {
    if line.starts_with("+++") || line.starts_with("---") {
        st.bold(line)
    } else if line.starts_with('+') {
        st.green(line)
    } else if line.starts_with('-') {
        st.red(line)
    } else if line.starts_with("@@") {
        st.cyan(line)
    } else {
        line.to_string()
    }
}

fn write_notes(w: &mut dyn Write, r: &Report, st: &Style) -> io::Result<()> {
    if r.notes.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(w, "{}", st.bold("notes:"))?;
    for n in &r.notes {
        writeln!(w, "  {}: {}", display_bytes(&n.path), n.message)?;
    }
    Ok(())
}

/// What the policy hid, one line per rule: `--ignore-file-timestamps (semantic): 3 mtime
/// differences, 1 ctime difference ignored`.
fn write_ignored(w: &mut dyn Write, r: &Report, st: &Style) -> io::Result<()> {
    if r.ignored.is_empty() {
        return Ok(());
    }
    writeln!(w)?;
    writeln!(w, "{}", st.bold("ignored:"))?;
    let mut by_rule: Vec<(String, Vec<String>)> = Vec::new();
    for i in &r.ignored {
        let key = format!("--{}{}", i.rule, i.origin_label());
        let what = i.what();
        match by_rule.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(what),
            None => by_rule.push((key, vec![what])),
        }
    }
    for (k, v) in by_rule {
        writeln!(w, "  {k}: {} ignored", v.join(", "))?;
    }
    if r.ignored_differences.is_none() {
        writeln!(w, "  {}", st.dim("(--show-ignored lists them)"))?;
    }
    Ok(())
}

pub fn render(r: &Report, look: super::Look, w: &mut dyn Write) -> io::Result<()> {
    let st = Style { on: look.color };
    write_header(w, r, &st, look.ascii)?;
    write_hints(w, r, &st)?;
    let listed: Vec<&Difference> = r.listed().collect();
    if !listed.is_empty() {
        writeln!(w)?;
        write_differences(w, &listed, &st)?;
    }
    write_content_diffs(w, r, &st)?;
    if let Some(hidden) = &r.ignored_differences
        && !hidden.is_empty()
    {
        writeln!(w)?;
        writeln!(w, "{}", st.bold("ignored differences:"))?;
        write_differences(w, &hidden.iter().collect::<Vec<_>>(), &st)?;
    }
    write_notes(w, r, &st)?;
    write_ignored(w, r, &st)?;
    writeln!(w)?;
    let verdict = r.verdict();
    let painted = if r.equal {
        st.green(&verdict)
    } else {
        st.red(&verdict)
    };
    writeln!(w, "{}", st.bold(&painted))
}
