//! Golden tests: each directory under tests/cases/ holds `args` (one argument per line,
//! paths relative to the repository root), and the expected `stdout`, `stderr` (absent when
//! empty) and exit `code`.
//! Run with RDIFF_BLESS=1 to rewrite the expectations from the current output.

use std::fs;
use std::path::Path;
use std::process::Command;

fn run_case(dir: &Path) -> Result<(), String> {
    let args: Vec<String> = fs::read_to_string(dir.join("args"))
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    let out = Command::new(env!("CARGO_BIN_EXE_rdiff"))
        .args(&args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("NO_COLOR")
        .output()
        .map_err(|e| e.to_string())?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code().unwrap_or(-1).to_string() + "\n";
    if std::env::var_os("RDIFF_BLESS").is_some() {
        fs::write(dir.join("stdout"), &stdout).unwrap();
        fs::write(dir.join("code"), &code).unwrap();
        match stderr.is_empty() {
            true => drop(fs::remove_file(dir.join("stderr"))),
            false => fs::write(dir.join("stderr"), &stderr).unwrap(),
        }
        return Ok(());
    }
    let want = fs::read_to_string(dir.join("stdout")).unwrap_or_default();
    let want_code = fs::read_to_string(dir.join("code")).unwrap_or_default();
    let want_stderr = fs::read_to_string(dir.join("stderr")).unwrap_or_default();
    if want_stderr != stderr {
        return Err(format!(
            "case {}: stderr {stderr:?}, expected {want_stderr:?}",
            dir.display()
        ));
    }
    if want != stdout || want_code != code {
        let diff = similar::TextDiff::from_lines(&want, &stdout)
            .unified_diff()
            .header("expected", "actual")
            .to_string();
        return Err(format!(
            "case {}: exit code {} (expected {}), stderr: {}\n{diff}",
            dir.display(),
            code.trim(),
            want_code.trim(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(())
}

#[test]
fn golden_cases() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cases");
    let mut dirs: Vec<_> = fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("args").exists())
        .collect();
    dirs.sort();
    assert!(dirs.len() >= 8, "golden cases missing");
    let failures: Vec<String> = dirs.iter().filter_map(|d| run_case(d).err()).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
