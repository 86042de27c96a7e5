//! Golden tests: each directory under tests/cases/ holds `args` (one argument per line,
//! paths relative to the repository root), and the expected `stdout`, `stderr` (absent when
//! empty) and exit `code`.
//! Run with RDIFF_BLESS=1 to rewrite the expectations from the current output.

mod support;

use std::fs;
use std::path::Path;

use support::paths::repo;
use support::run::rdiff;

fn run_case(dir: &Path) -> Result<(), String> {
    let args: Vec<String> = fs::read_to_string(dir.join("args"))
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    let out = rdiff(&args).in_repo().env("LC_ALL", "C.UTF-8").run();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = out.stderr.clone();
    let code = out.code().to_string() + "\n";
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
            out.stderr
        ));
    }
    Ok(())
}

#[test]
fn golden_cases() {
    let root = repo().join("tests/cases");
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

/// Each output sample in the README and docs/ marked `<!-- rdiff-sample: ARGS -->` is
/// what `rdiff ARGS` prints: its lines, with `...` for lines left out, appear in the
/// real output in order, and lines not separated by `...` are adjacent there too.
#[test]
fn documented_samples_are_real_output() {
    let root = repo();
    let mut docs = vec![root.join("README.md")];
    for e in fs::read_dir(root.join("docs")).unwrap() {
        docs.push(e.unwrap().path());
    }
    let mut checked = 0;
    for doc in docs.iter().filter(|p| p.extension() == Some("md".as_ref())) {
        let text = fs::read_to_string(doc).unwrap();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            let Some(args) = line
                .strip_prefix("<!-- rdiff-sample: ")
                .and_then(|l| l.strip_suffix(" -->"))
            else {
                continue;
            };
            assert_eq!(lines.next(), Some("```"), "{}: {args}", doc.display());
            let sample: Vec<&str> = lines.by_ref().take_while(|l| *l != "```").collect();
            let out = rdiff(args.split(' '))
                .in_repo()
                .env("NO_COLOR", "1")
                .env("LC_ALL", "C.UTF-8")
                .run();
            let real = out.stdout_text();
            if let Err(e) = abridged_of(&sample, &real) {
                panic!(
                    "{}: sample of `rdiff {args}`: {e}\n--- real output\n{real}",
                    doc.display()
                );
            }
            checked += 1;
        }
    }
    assert!(checked >= 2, "the README's samples are not marked");
}

/// Whether `sample` (runs of lines separated by `...`) is `real` with lines left out.
fn abridged_of(sample: &[&str], real: &str) -> Result<(), String> {
    let real: Vec<&str> = real.lines().collect();
    let mut at = 0;
    for run in sample.split(|l| *l == "...") {
        let Some(first) = run.first() else { continue };
        let start = (at..real.len())
            .find(|&i| real[i..].starts_with(run))
            .ok_or_else(|| format!("no run starting with {first:?} after line {at}"))?;
        at = start + run.len();
    }
    Ok(())
}
