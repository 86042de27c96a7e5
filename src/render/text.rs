//! The human report: header, summary table, differences grouped by directory, content
//! diffs, notes, what was ignored, and the verdict last.

use std::collections::BTreeMap;
use std::io::{self, Write};

use comfy_table::{CellAlignment, ContentArrangement, Table, presets};

use crate::entry::{display_bytes, parent};
use crate::error::group;
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
    format!("{label:<6} {}  ({})", i.name, what.join(", "))
}

/// `sha256 HEX  NAME`: what `sha256sum` prints for the input, after a label.
fn sha256_line(i: &crate::report::InputSummary) -> Option<String> {
    i.sha256_line().map(|l| format!("sha256 {l}"))
}

fn summary_table(r: &Report) -> Table {
    let mut t = Table::new();
    t.load_style(presets::UTF8_FULL_CONDENSED)
        .force_no_tty()
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(vec!["", "differences", "ignored"]);
    let s = &r.summary;
    for (label, n, ign) in [
        ("entries added", s.added, 0),
        ("entries removed", s.removed, 0),
        ("entries changed", s.changed, s.ignored_entries),
    ] {
        t.add_row(vec![label.to_string(), group(n), group(ign)]);
    }
    for (field, c) in &s.fields {
        t.add_row(vec![
            format!("  {field}"),
            group(c.differences),
            group(c.ignored),
        ]);
    }
    for col in 1..3 {
        if let Some(c) = t.column_mut(col) {
            c.set_cell_alignment(CellAlignment::Right);
        }
    }
    t
}

fn entry_label(d: &Difference) -> String {
    let kind = d
        .left_kind
        .or(d.right_kind)
        .map(|k| k.to_string())
        .unwrap_or_default();
    match (d.status, d.size) {
        (Status::Added | Status::Removed, Some(sz)) if kind == "file" => {
            format!("({kind}, {} {})", group(sz), plural(sz, "byte", "bytes"))
        }
        (Status::Added | Status::Removed, _) if !kind.is_empty() => format!("({kind})"),
        _ => String::new(),
    }
}

fn base_name(path: &[u8]) -> &[u8] {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => &path[i + 1..],
        None => path,
    }
}

fn write_differences(w: &mut dyn Write, diffs: &[Difference], st: &Style) -> io::Result<()> {
    // The inputs as wholes first (their bytes, compression, trailer), then the entries
    // by directory.
    let (inputs, entries): (Vec<&Difference>, Vec<&Difference>) =
        diffs.iter().partition(|d| d.part == crate::compare::INPUT);
    for d in inputs {
        writeln!(w, "{}", st.bold("input"))?;
        write_fields(w, d, st)?;
    }
    let mut groups: BTreeMap<&[u8], Vec<&Difference>> = BTreeMap::new();
    for d in entries {
        groups.entry(parent(&d.path)).or_default().push(d);
    }
    for (dir, ds) in groups {
        let header = if dir == b"." {
            "./".to_string()
        } else {
            format!("{}/", display_bytes(dir))
        };
        writeln!(w, "{}", st.bold(&header))?;
        for d in ds {
            let name = if &*d.path == b"." {
                ".".to_string()
            } else {
                display_bytes(base_name(&d.path))
            };
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
            write_fields(w, d, st)?;
        }
    }
    Ok(())
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

pub fn render(r: &Report, color: bool, w: &mut dyn Write) -> io::Result<()> {
    let st = Style { on: color };
    writeln!(w, "{}", st.bold(&format!("rdiff {}", r.command)))?;
    writeln!(w, "{}", input_line("left", &r.left))?;
    writeln!(w, "{}", input_line("right", &r.right))?;
    for l in [sha256_line(&r.left), sha256_line(&r.right)]
        .into_iter()
        .flatten()
    {
        writeln!(w, "{l}")?;
    }
    let rules: Vec<String> = r.rules.iter().map(|x| format!("--{}", x.name)).collect();
    if rules.is_empty() {
        writeln!(w, "mode   {}", r.mode)?;
    } else {
        writeln!(w, "mode   {} ({})", r.mode, rules.join(" "))?;
    }
    for warn in &r.warnings {
        writeln!(w, "{}", st.yellow(&format!("warning: {warn}")))?;
    }
    writeln!(w)?;
    writeln!(w, "{}", summary_table(r))?;
    if let Some(c) = &r.cut {
        writeln!(w, "{}", st.yellow(&format!("[{}]", super::cut_note(c))))?;
    }

    if !r.differences.is_empty() {
        writeln!(w)?;
        write_differences(w, &r.differences, &st)?;
    }

    let contents: Vec<&Difference> = r
        .differences
        .iter()
        .filter(|d| d.content.is_some())
        .collect();
    if !contents.is_empty() {
        writeln!(w)?;
        writeln!(w, "{}", st.bold("content differences:"))?;
        for d in contents {
            writeln!(w)?;
            let p = display_bytes(&d.path);
            match d.content.as_ref().expect("filtered") {
                ContentDiff::Text {
                    unified,
                    lines,
                    lines_shown,
                } => {
                    for line in unified.lines() {
                        let painted = if line.starts_with("+++") || line.starts_with("---") {
                            st.bold(line)
                        } else if line.starts_with('+') {
                            st.green(line)
                        } else if line.starts_with('-') {
                            st.red(line)
                        } else if line.starts_with("@@") {
                            st.cyan(line)
                        } else {
                            line.to_string()
                        };
                        writeln!(w, "{painted}")?;
                    }
                    if lines_shown < lines {
                        writeln!(
                            w,
                            "{}",
                            st.dim(&format!(
                                "[diff cut: {} of {} lines shown; raise --max-diff-lines to see more]",
                                group(*lines_shown),
                                group(*lines)
                            ))
                        )?;
                    }
                }
                other => {
                    writeln!(w, "{p}: {}", other.sentence().unwrap_or_default())?;
                }
            }
        }
    }

    if let Some(hidden) = &r.ignored_differences
        && !hidden.is_empty()
    {
        writeln!(w)?;
        writeln!(w, "{}", st.bold("ignored differences:"))?;
        write_differences(w, hidden, &st)?;
    }

    if !r.notes.is_empty() {
        writeln!(w)?;
        writeln!(w, "{}", st.bold("notes:"))?;
        for n in &r.notes {
            writeln!(w, "  {}: {}", display_bytes(&n.path), n.message)?;
        }
    }

    if !r.ignored.is_empty() {
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
    }

    writeln!(w)?;
    let verdict = r.verdict();
    let painted = if r.equal {
        st.green(&verdict)
    } else {
        st.red(&verdict)
    };
    writeln!(w, "{}", st.bold(&painted))
}
