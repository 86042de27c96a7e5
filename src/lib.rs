//! rdiff: say, fast and exactly, how two rootFS tarballs (or directories) differ.
//!
//! Data flows one way: [`source`] (inputs to normalized [`entry::Entry`] sets) ->
//! [`compare`] (two sets and a [`compare::policy::Policy`] to a [`report::Report`]) ->
//! [`render`] (a report to text or JSON). Sources know formats and nothing about
//! comparison; comparison prints nothing; renderers compute nothing.

pub mod cli;
pub mod compare;
pub mod entry;
pub mod error;
pub mod hints;
pub mod image;
pub mod meta;
pub mod packages;
pub mod progress;
pub mod render;
pub mod report;
pub mod report_dir;
pub mod run;
pub mod source;
