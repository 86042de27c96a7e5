//! `--report-dir DIR`: `report.json`, `report.txt`, and the differing files of both sides
//! under `left/` and `right/`. Whatever the paths inside the inputs say, nothing is
//! written outside DIR: `..` components are escaped, and no existing symlink inside DIR
//! is ever followed.

use std::ffi::OsStr;
use std::fs::{self, OpenOptions};
use std::io::{BufWriter, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::compare::content::HeldContent;
use crate::error::{Error, Result};
use crate::render::{self, Format};
use crate::report::Report;

fn fail(p: &Path, msg: impl std::fmt::Display) -> Error {
    Error::other(p.display().to_string(), msg.to_string())
}

/// Create `dir/a/b/...` one component at a time, refusing symlinks.
fn make_dirs(base: &Path, comps: &[&[u8]]) -> Result<PathBuf> {
    let mut p = base.to_path_buf();
    for c in comps {
        p.push(OsStr::from_bytes(c));
        match fs::symlink_metadata(&p) {
            Ok(m) if m.file_type().is_symlink() => {
                return Err(fail(
                    &p,
                    "refusing to write through a symlink in the report directory",
                ));
            }
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(fail(&p, "exists and is not a directory")),
            Err(_) => fs::create_dir(&p).map_err(|e| fail(&p, e))?,
        }
    }
    Ok(p)
}

fn create_file(p: &Path) -> Result<fs::File> {
    if let Ok(m) = fs::symlink_metadata(p)
        && m.file_type().is_symlink()
    {
        return Err(fail(
            p,
            "refusing to write through a symlink in the report directory",
        ));
    }
    OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(p)
        .map_err(|e| fail(p, e))
}

/// Path components that stay inside the directory they are joined to.
fn safe_components(path: &[u8]) -> Vec<Vec<u8>> {
    path.split(|&b| b == b'/')
        .filter(|c| !c.is_empty() && *c != b".")
        .map(|c| {
            if c == b".." {
                b"%2E%2E".to_vec()
            } else {
                c.to_vec()
            }
        })
        .collect()
}

/// Write the report directory.
pub fn write(dir: &Path, report: &Report, held: &[HeldContent]) -> Result<()> {
    fs::create_dir_all(dir).map_err(|e| fail(dir, e))?;
    for (name, fmt) in [("report.json", Format::Json), ("report.txt", Format::Text)] {
        let p = dir.join(name);
        let mut w = BufWriter::new(create_file(&p)?);
        render::render(report, fmt, render::Look::default(), &mut w)
            .and_then(|_| w.flush())
            .map_err(|e| fail(&p, e))?;
    }
    for (path, sides) in held {
        let comps = safe_components(path);
        let Some((file, parents)) = comps.split_last() else {
            continue;
        };
        for (side, bytes) in ["left", "right"].iter().zip(sides) {
            let Some(bytes) = bytes else { continue };
            let mut all: Vec<&[u8]> = vec![side.as_bytes()];
            all.extend(parents.iter().map(|c| c.as_slice()));
            let d = make_dirs(dir, &all)?;
            let p = d.join(OsStr::from_bytes(file));
            let mut f = create_file(&p)?;
            f.write_all(bytes).map_err(|e| fail(&p, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_never_climb() {
        assert_eq!(
            safe_components(b"layers/0/../../etc/x"),
            vec![
                b"layers".to_vec(),
                b"0".to_vec(),
                b"%2E%2E".to_vec(),
                b"%2E%2E".to_vec(),
                b"etc".to_vec(),
                b"x".to_vec()
            ]
        );
        assert_eq!(
            safe_components(b"/abs//./y"),
            vec![b"abs".to_vec(), b"y".to_vec()]
        );
    }

    #[test]
    fn symlinks_inside_the_directory_are_refused() {
        let t = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::os::unix::fs::symlink(outside.path(), t.path().join("left")).unwrap();
        let err = make_dirs(t.path(), &[b"left", b"etc"]).unwrap_err();
        assert!(err.to_string().contains("symlink"), "{err}");
        assert!(fs::read_dir(outside.path()).unwrap().next().is_none());
    }
}
