//! Renderers: each formats a finished `Report` and computes nothing. One file each.

pub mod json;
pub mod text;

use std::io::{self, Write};

/// An output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Render `report` in `format` to `w`.
pub fn render(
    report: &crate::report::Report,
    format: Format,
    color: bool,
    w: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Text => text::render(report, color, w),
        Format::Json => json::render(report, w),
    }
}
