//! Helpers shared by the integration tests; each test file says `mod support;` once.
//!
//! - `paths`: the repository, `testdata/`, path strings, temporary directories;
//! - `run`: the rdiff binary (and other commands) run from a test;
//! - `report`: a JSON report read back (visible fields, ignored counts, lookups);
//! - `library`: rdiff as a library (read an input, build a report in process);
//! - `data`: seeded random data, compressors, hashes computed here;
//! - `rawtar`: tar archives written byte by byte;
//! - `oci`: OCI image layouts written or edited here;
//! - `registry`: a real `docker-registry` started here, and fake registries (for
//!   tests/registry.rs and tests/registry_hostile.rs);
//! - `xxh3_collide`: contents with equal XXH3 hashes.
#![allow(dead_code)]

pub mod data;
pub mod library;
pub mod oci;
pub mod paths;
pub mod rawtar;
pub mod registry;
pub mod report;
pub mod run;
pub mod xxh3_collide;
