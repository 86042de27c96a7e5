//! Renderers: each formats a finished `Report` and computes nothing. One file each.
//! The only thing done here for all of them is applying the presentation limits
//! (`--max-entries-shown`, `--max-report-size`): differences are cut from the end and
//! the report says how many were shown.

pub mod diffoscope;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod text;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{self, Write};

use crate::entry::{display_bytes, parent};
use crate::report::{ContentDiff, Cut, Difference, Report};

/// An output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
    Html,
    Markdown,
    Junit,
    DiffoscopeJson,
}

/// Markdown's size bound when none is given: GitHub comments stop at 65 536 characters.
pub const MARKDOWN_DEFAULT_MAX: u64 = 60_000;

/// How the text report may draw: colours, and the summary table's lines in Unicode or
/// ASCII (when the locale is not UTF-8).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Look {
    pub color: bool,
    pub ascii: bool,
}

impl Look {
    /// ASCII when the locale (`LC_ALL`, else `LC_CTYPE`, else `LANG`, the first one set)
    /// names no UTF-8 character set, such as `C` or `POSIX`; with none set, Unicode.
    pub fn ascii_from_env() -> bool {
        let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
            .iter()
            .filter_map(std::env::var_os)
            .find(|v| !v.is_empty());
        locale.is_some_and(|l| {
            let l = l.to_string_lossy().to_ascii_lowercase();
            !(l.contains("utf-8") || l.contains("utf8"))
        })
    }
}

/// Render `report` in `format` to `w`, within the report's limits.
pub fn render(report: &Report, format: Format, look: Look, w: &mut dyn Write) -> io::Result<()> {
    let limited = limit(report, format)?;
    render_full(&limited, format, look, w)
}

fn render_full(report: &Report, format: Format, look: Look, w: &mut dyn Write) -> io::Result<()> {
    match format {
        Format::Text => text::render(report, look, w),
        Format::Json => json::render(report, w),
        Format::Html => html::render(report, w),
        Format::Markdown => markdown::render(report, w),
        Format::Junit => junit::render(report, w),
        Format::DiffoscopeJson => diffoscope::render(report, w),
    }
}

struct Counter(u64);

impl Write for Counter {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0 += b.len() as u64;
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn cut(report: &Report, keep: usize, by: &str) -> Report {
    let mut r = report.clone();
    let total = report
        .cut
        .as_ref()
        .map_or(report.differences.len() as u64, |c| c.differences_total);
    let verdict = report.verdict();
    let mut not_shown = report
        .cut
        .as_ref()
        .map(|c| c.not_shown.clone())
        .unwrap_or_default();
    for d in r.differences.iter().skip(keep) {
        *not_shown.entry(d.part.clone()).or_default() += 1;
    }
    r.differences.truncate(keep);
    if let Some(h) = r.ignored_differences.as_mut() {
        h.truncate(keep);
    }
    // Each hint keeps as many paths as the report keeps differences, and counts what
    // is folded among those kept.
    for (k, h) in r.hints.iter_mut().enumerate() {
        h.paths_total = Some(h.explained());
        h.paths.truncate(keep);
        h.folded = r.differences.iter().filter(|d| d.folded == Some(k)).count() as u64;
        for g in &mut h.groups {
            g.folded = (r.differences.iter())
                .filter(|d| d.folded == Some(k) && g.holds(d))
                .count() as u64;
        }
    }
    r.cut = Some(Cut {
        differences_total: total,
        differences_shown: keep as u64,
        by: by.to_string(),
        not_shown,
    });
    r.verdict_before_cut = Some(verdict);
    r
}

/// How many differences, from the first, `--max-entries-shown N` keeps: N; but in the
/// text and Markdown reports as many as it takes to list N, since the folded ones are
/// not listed there (they are counted under their hint). Cutting at N there could keep
/// folded entries only, and list none of the others that fit. (The HTML page draws
/// every folded entry it keeps, under its hint: there they count as shown.)
fn entries_kept(report: &Report, format: Format, n: usize) -> usize {
    let all = report.differences.len();
    if !matches!(format, Format::Text | Format::Markdown) {
        return n.min(all);
    }
    let mut listed = 0;
    for (i, d) in report.differences.iter().enumerate() {
        if d.folded.is_none() {
            if listed == n {
                return i;
            }
            listed += 1;
        }
    }
    all
}

fn size(report: &Report, format: Format) -> io::Result<u64> {
    let mut c = Counter(0);
    render_full(report, format, Look::default(), &mut c)?;
    Ok(c.0)
}

/// Apply `--max-entries-shown` and `--max-report-size` (Markdown: its default bound).
pub fn limit(report: &Report, format: Format) -> io::Result<Cow<'_, Report>> {
    let mut r = Cow::Borrowed(report);
    if let Some(n) = report.limits.max_entries_shown {
        let keep = entries_kept(report, format, usize::try_from(n).unwrap_or(usize::MAX));
        if keep < report.differences.len() {
            r = Cow::Owned(cut(report, keep, &format!("--max-entries-shown {n}")));
        }
    }
    let max = report.limits.max_report_size.or(match format {
        Format::Markdown => Some(MARKDOWN_DEFAULT_MAX),
        _ => None,
    });
    if let Some(max) = max
        && size(&r, format)? > max
    {
        let by = match report.limits.max_report_size {
            Some(m) => format!("--max-report-size {m}"),
            None => format!("the Markdown size bound of {max} bytes"),
        };
        // The most differences that fit (the summary, counts and verdict always stay).
        let (mut lo, mut hi) = (0usize, r.differences.len());
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if size(&cut(&r, mid, &by), format)? <= max {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        r = Cow::Owned(cut(&r, lo, &by));
    }
    Ok(r)
}

/// Escape text for HTML and XML.
pub fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Characters XML 1.0 does not allow.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            '\u{fffe}' | '\u{ffff}' => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// Text from the inputs (a content diff's lines) as a terminal may be shown it: every
/// control character but tab and newline written as an escape (`\u{1b}`, `\r`), so
/// that a file's escape sequences never reach the terminal (clearing it, hiding what
/// follows, or writing over the verdict).
pub fn printable(s: &str) -> Cow<'_, str> {
    let raw = |c: char| c.is_control() && c != '\t' && c != '\n';
    if !s.chars().any(raw) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if raw(c) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// The "what was cut" sentence every format shows.
pub fn cut_note(c: &Cut) -> String {
    format!(
        "report cut: {} of {} differences shown ({}); the summary and the counts above are complete",
        c.differences_shown, c.differences_total, c.by
    )
}

/// Differences grouped as the text and Markdown reports list them.
pub struct Groups<'a> {
    /// The inputs as wholes (their bytes, compression, trailer), in a group of their
    /// own: not under `./`, where an entry named `input` would look the same.
    pub inputs: Vec<&'a Difference>,
    /// The packages of package databases, by part (`packages`, `layers/1/packages`),
    /// titled `packages/ (package database)`: apart from the entries, where a directory
    /// `packages/` would look the same. Parts in report order.
    pub packages: Vec<(String, Vec<&'a Difference>)>,
    /// The entries by parent directory, titled `./` or `usr/bin/`, directories in byte
    /// order and entries in report order within each.
    pub directories: Vec<(String, Vec<&'a Difference>)>,
}

/// Split differences into the inputs', the packages' and the entries' by parent
/// directory.
pub fn group_by_directory<'a>(diffs: impl Iterator<Item = &'a Difference>) -> Groups<'a> {
    let (inputs, entries): (Vec<&Difference>, Vec<&Difference>) =
        diffs.partition(|d| d.part == crate::compare::INPUT);
    let (packaged, entries): (Vec<&Difference>, Vec<&Difference>) = entries
        .into_iter()
        .partition(|d| crate::report::is_packages_part(&d.part));
    let mut packages: Vec<(String, Vec<&Difference>)> = Vec::new();
    for d in packaged {
        let title = format!("{}/ (package database)", d.part);
        match packages.iter_mut().find(|(t, _)| *t == title) {
            Some((_, ds)) => ds.push(d),
            None => packages.push((title, vec![d])),
        }
    }
    let mut groups: BTreeMap<&[u8], Vec<&Difference>> = BTreeMap::new();
    for d in entries {
        groups.entry(parent(&d.path)).or_default().push(d);
    }
    let directories = groups
        .into_iter()
        .map(|(dir, ds)| {
            let title = if dir == b"." {
                "./".to_string()
            } else {
                format!("{}/", display_bytes(dir))
            };
            (title, ds)
        })
        .collect();
    Groups {
        inputs,
        packages,
        directories,
    }
}

/// The differences that have something to say about content, with it, in report order.
/// The text and Markdown reports give it the differences they list (`Report::listed`):
/// the content of a difference folded under a hint is in JSON and in the HTML page.
pub fn content_diffs<'a>(
    diffs: impl Iterator<Item = &'a Difference>,
) -> Vec<(&'a Difference, &'a ContentDiff)> {
    diffs
        .filter_map(|d| d.content.as_ref().map(|c| (d, c)))
        .collect()
}

/// `package libc6` for an entry a package owns, in the reports that list entries.
pub fn package_label(d: &Difference) -> Option<String> {
    d.package
        .as_deref()
        .map(|p| format!("package {}", display_bytes(p)))
}
