//! JSON output: the report model serialized as documented in docs/json-format.md.

use std::io::{self, Write};

use crate::report::Report;

pub fn render(report: &Report, w: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *w, report).map_err(io::Error::other)?;
    w.write_all(b"\n")
}
