//! Running the rdiff binary and other programs.

/// The rdiff binary built for this test run.
pub const RDIFF: &str = env!("CARGO_BIN_EXE_rdiff");

/// Run a command, panic with its stderr if it fails.
pub fn sh(cmd: &mut std::process::Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}
