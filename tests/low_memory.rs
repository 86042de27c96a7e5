//! `--low-memory`: the inputs (image layers) are read one after the other and nothing
//! is held while waiting, so peak memory is one decompression window, not two. The
//! report must be byte for byte the one the default (parallel) mode writes, including
//! content diffs, whose first-side contents are read again.

mod support;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use support::paths::td;
use support::rawtar::file_header;
use support::run::{RDIFF, Run, gnu_time, rdiff};

/// `rdiff ARGS...`, standard input from the file `stdin` (or none).
fn run(args: &[&str], stdin: Option<&str>) -> Run {
    let mut c = rdiff(args);
    if let Some(p) = stdin {
        c = c.stdin_file(p);
    }
    c.run()
}

/// The same command with and without `--low-memory` (and with `--threads 1`, which
/// reads one side after the other too): same exit code, same stdout.
fn assert_same_with_low_memory(cmd: &str, args: &[&str], stdin: Option<&str>, want_code: i32) {
    let mut plain = vec![cmd];
    plain.extend(args);
    let a = run(&plain, stdin);
    assert_eq!(a.status, Some(want_code), "{args:?}: {}", a.stderr);
    assert!(!a.stdout.is_empty());
    for flags in [&["--low-memory"][..], &["--threads", "1"]] {
        let mut low = vec![cmd];
        low.extend(flags);
        low.extend(args);
        let b = run(&low, stdin);
        assert_eq!(b.status, Some(want_code), "{low:?}: {}", b.stderr);
        assert!(
            a.stdout == b.stdout,
            "{low:?} changed the report:\n--- default\n{}\n--- {flags:?}\n{}",
            String::from_utf8_lossy(&a.stdout),
            String::from_utf8_lossy(&b.stdout)
        );
    }
}

#[test]
fn rootfs_report_is_the_same() {
    let (l, r) = (td("rootfs/left.tar.zst"), td("rootfs/right.tar.zst"));
    for format in ["json", "text"] {
        assert_same_with_low_memory("rootfs", &["--format", format, &l, &r], None, 1);
    }
    // The report shows text diffs, so the side read first really was read again.
    let out = run(
        &["rootfs", "--low-memory", "--format", "json", &l, &r],
        None,
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let diffs = j["differences"].as_array().unwrap();
    let with_text: Vec<&str> = diffs
        .iter()
        .filter(|d| d["diff"].as_str().is_some_and(|t| t.contains("\n-")))
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        with_text,
        ["etc/hostname", "usr/share/doc/big.txt", "var/log/dpkg.log"],
        "{j}"
    );
}

#[test]
fn rootfs_with_standard_input_on_the_left() {
    // Standard input cannot be read again, so --low-memory reads the right side first.
    let (l, r) = (td("rootfs/left.tar.zst"), td("rootfs/right.tar.zst"));
    assert_same_with_low_memory("rootfs", &["--format", "json", "-", &r], Some(&l), 1);
    assert_same_with_low_memory("rootfs", &["--format", "json", &l, "-"], Some(&r), 1);
}

#[test]
fn rootfs_with_two_pipes() {
    // Neither side can be read again: the first one's small contents must wait for
    // the second, or the text diffs would be lost.
    let (l, r) = (td("rootfs/left.tar.zst"), td("rootfs/right.tar.zst"));
    let run = |flags: &str| {
        let out = Command::new("bash")
            .arg("-c")
            .arg(format!(
                "exec \"$0\" rootfs {flags} --format json <(cat \"$1\") <(cat \"$2\")"
            ))
            .args([RDIFF, &l, &r])
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{flags}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let default = run("");
    let j: serde_json::Value = serde_json::from_slice(&default).unwrap();
    let texts = j["differences"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["diff"].as_str().is_some_and(|t| t.contains("\n-")))
        .count();
    assert_eq!(texts, 3, "{j}");
    for flags in ["--low-memory", "--threads 1"] {
        assert!(
            run(flags) == default,
            "{flags} changed the report of two pipes"
        );
    }
}

#[test]
fn rootfs_identical_and_directory_inputs() {
    let l = td("rootfs/left.tar.zst");
    let plain = td("rootfs/left.tar");
    // The same tar, compressed and not: different in strict mode (the input's sha256
    // and compression), equal with --ignore-compression.
    assert_same_with_low_memory("rootfs", &["--format", "json", &l, &plain], None, 1);
    assert_same_with_low_memory(
        "rootfs",
        &["--format", "json", "--ignore-compression", &l, &plain],
        None,
        0,
    );
    assert_same_with_low_memory(
        "rootfs",
        &["--format", "json", "--read-identical", &l, &l],
        None,
        0,
    );
}

#[test]
fn image_reports_are_the_same() {
    let base = td("image/oci/base");
    let changed = td("image/oci/changed");
    let (s2, s3) = (td("image/oci/squash-2"), td("image/oci/squash-3"));
    assert_same_with_low_memory("image", &["--format", "json", &base, &changed], None, 1);
    assert_same_with_low_memory("image", &["--format", "text", &base, &changed], None, 1);
    assert_same_with_low_memory(
        "image",
        &["--format", "json", "--squash", &s2, &s3],
        None,
        1,
    );
    assert_same_with_low_memory(
        "image",
        &["--format", "json", "--semantic", &base, &changed],
        None,
        1,
    );
}

/// A tar of `files` members of `size` pseudo-random bytes (incompressible, so the
/// decoder's window fills), zstd-compressed with a 32 MiB window (`--long=25`).
fn write_zstd_pair_side(path: &Path, files: usize, size: usize, flip: Option<usize>) {
    let f = BufWriter::with_capacity(1 << 20, File::create(path).unwrap());
    let mut enc = zstd::stream::Encoder::new(f, 1).unwrap();
    enc.window_log(25).unwrap();
    enc.long_distance_matching(true).unwrap();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut data = vec![0u8; size];
    for i in 0..files {
        for chunk in data.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes()[..chunk.len()]);
        }
        if flip == Some(i) {
            data[size / 2] ^= 0xff;
        }
        let h = file_header(&format!("data/f{i:03}"), size as u64);
        enc.write_all(h.as_bytes()).unwrap();
        enc.write_all(&data).unwrap();
        if flip == Some(i) {
            data[size / 2] ^= 0xff;
        }
    }
    enc.write_all(&[0u8; 1024]).unwrap();
    enc.finish().unwrap().flush().unwrap();
}

/// Peak RSS in KiB of `rdiff ARGS` by GNU time, and its stdout. `None` without GNU
/// time (skipped with a message, or a failure under RDIFF_REQUIRE_TOOLS=1).
fn peak_kib(args: &[&str]) -> Option<(u64, Vec<u8>)> {
    gnu_time()?;
    let out = rdiff(args).measure_peak().run();
    assert_eq!(out.status, Some(1), "{args:?}: {}", out.stderr);
    let kib = out
        .peak_kib
        .unwrap_or_else(|| panic!("no peak RSS from GNU time: {}", out.describe()));
    Some((kib, out.stdout))
}

#[test]
fn low_memory_holds_one_window_at_a_time() {
    // 40 MiB per side through a 32 MiB window: reading both sides at once keeps two
    // windows resident, one after the other only one.
    let t = tempfile::tempdir().unwrap();
    let (a, b) = (t.path().join("a.tar.zst"), t.path().join("b.tar.zst"));
    write_zstd_pair_side(&a, 10, 4 << 20, None);
    write_zstd_pair_side(&b, 10, 4 << 20, Some(7));
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    let args = ["rootfs", "--format", "json", a, b];
    let Some((both, out_both)) = peak_kib(&args) else {
        return;
    };
    let low_args = ["rootfs", "--low-memory", "--format", "json", a, b];
    let (low, out_low) = peak_kib(&low_args).unwrap();
    eprintln!("peak RSS: default {both} KiB, --low-memory {low} KiB");
    assert_eq!(out_both, out_low, "the reports differ");
    let j: serde_json::Value = serde_json::from_slice(&out_low).unwrap();
    // The input (its sha256 only: same compression parameters) and data/f007, the one
    // changed entry.
    assert_eq!(j["summary"]["changed"], 1, "{j}");
    let diffs = j["differences"].as_array().unwrap();
    assert_eq!(diffs.len(), 2, "{j}");
    assert_eq!(diffs[0]["path"], "input", "{j}");
    assert_eq!(diffs[0]["fields"].as_array().unwrap().len(), 1, "{j}");
    assert_eq!(diffs[0]["fields"][0]["name"], "sha256", "{j}");
    assert_eq!(diffs[1]["path"], "data/f007", "{j}");
    // One 32 MiB window less (allow 8 MiB of noise), and at most one window plus
    // 40 MiB for the rest (a debug build, two entry lists, buffers).
    let window = 32 * 1024;
    assert!(
        low + window - 8 * 1024 <= both,
        "--low-memory peaked at {low} KiB, the default at {both} KiB: not one window less"
    );
    assert!(
        low <= window + 40 * 1024,
        "--low-memory peaked at {low} KiB"
    );
}

fn tar_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        b.append(&file_header(name, data.len() as u64), *data)
            .unwrap();
    }
    b.into_inner().unwrap()
}

#[test]
fn an_empty_file_against_a_stream() {
    // The right side comes on standard input and cannot be read again; its `motd`
    // differs from the left's empty one, so its bytes must be kept while it is read,
    // in every mode.
    let t = tempfile::tempdir().unwrap();
    let (l, r) = (t.path().join("l.tar"), t.path().join("r.tar"));
    std::fs::write(&l, tar_of(&[("etc/motd", b""), ("etc/same", b"x\n")])).unwrap();
    std::fs::write(
        &r,
        tar_of(&[("etc/motd", b"hello\n"), ("etc/same", b"x\n")]),
    )
    .unwrap();
    let (l, r) = (l.to_str().unwrap(), r.to_str().unwrap());
    for (args, stdin) in [
        (["--format", "json", l, "-"], Some(r)),
        (["--format", "json", "-", r], Some(l)),
    ] {
        assert_same_with_low_memory("rootfs", &args, stdin, 1);
        let out = run(&[&["rootfs"][..], &args].concat(), stdin);
        let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let diffs = j["differences"].as_array().unwrap();
        // The input's sha256 (standard input has one too), then etc/motd.
        assert_eq!(diffs.len(), 2, "{j}");
        assert_eq!(diffs[0]["path"], "input", "{j}");
        assert_eq!(diffs[0]["fields"].as_array().unwrap().len(), 1, "{j}");
        assert_eq!(diffs[0]["fields"][0]["name"], "sha256", "{j}");
        let d = &diffs[1];
        assert_eq!(d["path"], "etc/motd", "{j}");
        assert_eq!(d["content"]["kind"], "text", "{j}");
        assert!(
            d["diff"].as_str().unwrap().contains("+hello"),
            "{args:?}: {j}"
        );
    }
}

#[test]
fn two_fifos_fed_by_one_writer_do_not_hang() {
    // One writer feeds both FIFOs a piece at a time: reading one to its end before
    // the other would block it forever. Two streams are read at the same time, with
    // --low-memory and --threads 1 too.
    let t = tempfile::tempdir().unwrap();
    let (l, r) = (td("rootfs/left.tar.zst"), td("rootfs/right.tar.zst"));
    let mut reports = Vec::new();
    for flags in [&[][..], &["--low-memory"], &["--threads", "1"]] {
        let (fa, fb) = (t.path().join("a"), t.path().join("b"));
        for f in [&fa, &fb] {
            let _ = std::fs::remove_file(f);
            let c = std::ffi::CString::new(f.to_str().unwrap()).unwrap();
            // SAFETY: a valid NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
        }
        let mut writer = Command::new("python3")
            .arg("-c")
            .arg(
                "import sys\n\
                 a, b = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read()\n\
                 fa, fb = open(sys.argv[3], 'wb'), open(sys.argv[4], 'wb')\n\
                 for i in range(0, max(len(a), len(b)), 16384):\n\
                 \x20   fa.write(a[i:i + 16384]); fa.flush()\n\
                 \x20   fb.write(b[i:i + 16384]); fb.flush()\n\
                 fa.close(); fb.close()\n",
            )
            .args([&l, &r])
            .args([&fa, &fb])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = rdiff(["rootfs"])
            .args(flags)
            .args(["--format", "json"])
            .args([&fa, &fb])
            .timeout(Duration::from_secs(60))
            .run();
        if out.timed_out {
            let _ = writer.kill();
            let _ = writer.wait();
            panic!("{flags:?}: rdiff hung on two FIFOs fed by one writer");
        }
        assert!(writer.wait().unwrap().success());
        assert_eq!(out.status, Some(1), "{flags:?}: {}", out.stderr);
        reports.push(out.stdout);
    }
    assert!(
        reports.iter().all(|r| *r == reports[0]),
        "the reports differ"
    );
}
