//! Reports end to end: several outputs in one run, the HTML page in headless Chromium
//! (tree, filters, a screenshot that is not blank, 100 000 differences), Markdown, JUnit
//! read by junitparser, diffoscope JSON read by `diffoscope --load-existing-diff`, the
//! presentation limits in every format, progress on standard error, completions, the
//! man page and `--help`.
//!
//! External consumers are found through environment variables, or their defaults:
//! RDIFF_CHROMIUM (/usr/bin/chromium), RDIFF_DIFFOSCOPE
//! (~/.cache/rdiff-bench/diffoscope-venv/bin/diffoscope), RDIFF_PYTHON (python3, or the
//! bench venv's python, with `junitparser` importable). A test whose tool is missing
//! says why and returns, unless RDIFF_REQUIRE_TOOLS=1 (CI), where it fails.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;
use support::data;
use support::paths::repo;
use support::report::ignored;
use support::run::{self, RDIFF, Run};

/// Upper bound for one rdiff run on the small fixtures (a debug build on 2 cores).
const TIMEOUT: Duration = Duration::from_secs(120);
/// Upper bound for one Chromium load of a small page.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);
/// Generous bound for the 100 000-difference report (debug build, 2 cores).
const BIG_TIMEOUT: Duration = Duration::from_secs(300);

/// Every format, as the flag that writes it to a file and the `--format` value.
const FORMATS: [&str; 6] = [
    "text",
    "json",
    "html",
    "markdown",
    "junit",
    "diffoscope-json",
];

// ------------------------------------------------------------------------ helpers

/// The rootfs pair and the image pair, relative to the repository root (rdiff runs
/// there, so the names in the reports are these short ones).
const ROOTFS: [&str; 2] = [
    "testdata/rootfs/left.tar.zst",
    "testdata/rootfs/right.tar.zst",
];
/// Byte-identical inputs (the same file twice): identical in strict mode.
const ROOTFS_SAME: [&str; 2] = [
    "testdata/rootfs/left.tar.zst",
    "testdata/rootfs/left.tar.zst",
];
/// One tree in two byte-different forms (zstd and gzip): in strict mode the inputs
/// differ (their SHA-256 and compression) and no entry does; `--semantic` is equal.
const ROOTFS_FORMS: [&str; 2] = [
    "testdata/rootfs/left.tar.zst",
    "testdata/rootfs/left.tar.gz",
];
/// The ROOTFS pair's differences: 30 entries and the inputs as wholes (their SHA-256).
const ROOTFS_DIFFS: usize = 31;
/// Of them, those that differ only in a ctime that moved from one value to one other
/// value on every entry (GNU tar's POSIX format records the build time): folded under
/// the `timestamp-shift` hint by the text, Markdown and HTML reports.
const ROOTFS_FOLDED: usize = 17;
const IMAGE: [&str; 2] = ["testdata/image/oci/base", "testdata/image/oci/changed"];

/// Run rdiff in the repository root with standard output and error piped.
fn rdiff<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    rdiff_timeout(args, TIMEOUT)
}

fn rdiff_timeout<I, S>(args: I, timeout: Duration) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let r = run::rdiff(args).in_repo().timeout(timeout).piped().run();
    assert!(!r.timed_out, "{} did not finish within {timeout:?}", r.what);
    r
}

/// `rdiff <cmd> <extra...> <left> <right>`.
fn compare(cmd: &str, pair: [&str; 2], extra: &[&str]) -> Run {
    let mut v: Vec<OsString> = vec![cmd.into()];
    v.extend(extra.iter().map(OsString::from));
    v.extend(pair.iter().map(OsString::from));
    rdiff(v)
}

/// The report in one format on standard output (exit 0 or 1 required).
fn report(cmd: &str, pair: [&str; 2], format: &str, extra: &[&str]) -> String {
    let mut a = vec!["--format", format];
    a.extend_from_slice(extra);
    let r = compare(cmd, pair, &a);
    assert!(
        r.code() == 0 || r.code() == 1,
        "{cmd} --format {format} {extra:?}: exit {}, stderr {}",
        r.code(),
        r.stderr
    );
    assert!(!r.stdout.is_empty(), "{format}: empty report");
    r.stdout_text()
}

fn tmpdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("rdiff-reports-")
        .tempdir()
        .expect("tempdir")
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The JSON report's differences as displayed paths (non-UTF-8 paths as rdiff shows
/// them in text: `caf\xe9.txt`).
fn json_path(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Object(o) => {
            let b = base64::engine::general_purpose::STANDARD
                .decode(o["bytes"].as_str().expect("bytes"))
                .expect("base64 path");
            rdiff::entry::display_bytes(&b)
        }
        other => panic!("path {other}"),
    }
}

fn count(hay: &str, needle: &str) -> usize {
    hay.matches(needle).count()
}

/// The SHA-256 of a file, in hex, computed here (not by rdiff).
fn sha256_hex(path: &Path) -> String {
    data::sha256_hex(&fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// `HEX  NAME`, as `sha256sum NAME` prints it in the repository root.
fn sha256sum_line(name: &str) -> String {
    format!("{}  {name}", sha256_hex(&repo().join(name)))
}

// ----------------------------------------------------------- tar pairs made here

struct TarFile {
    name: Vec<u8>,
    mtime: u64,
    data: Vec<u8>,
}

fn file(name: impl AsRef<[u8]>, mtime: u64, data: &[u8]) -> TarFile {
    TarFile {
        name: name.as_ref().to_vec(),
        mtime,
        data: data.to_vec(),
    }
}

/// A plain (uncompressed) tar of regular files.
fn write_tar(path: &Path, files: impl IntoIterator<Item = TarFile>) {
    use std::os::unix::ffi::OsStrExt;
    let f = fs::File::create(path).unwrap();
    let mut b = tar::Builder::new(std::io::BufWriter::new(f));
    for tf in files {
        let mut h = tar::Header::new_gnu();
        h.set_entry_type(tar::EntryType::Regular);
        h.set_mode(0o644);
        h.set_uid(0);
        h.set_gid(0);
        h.set_mtime(tf.mtime);
        h.set_size(tf.data.len() as u64);
        b.append_data(&mut h, Path::new(OsStr::from_bytes(&tf.name)), &tf.data[..])
            .unwrap_or_else(|e| panic!("tar entry {:?}: {e}", tf.name));
    }
    b.into_inner().unwrap();
}

/// Two plain tars of `n` empty files in directories of 1000 (`dNNN/fNNNNNN`), the same
/// names on both sides, differing only in mtime: `n` differences. Each mtime moves by
/// its own amount (file `i` by `i + 1` seconds), so that no `timestamp-shift` hint
/// folds them: every difference is listed. `shift_pair` moves them all by one.
fn mtime_pair(dir: &Path, n: usize) -> (PathBuf, PathBuf) {
    let l = dir.join(format!("left-{n}.tar"));
    let r = dir.join(format!("right-{n}.tar"));
    for (p, step) in [(&l, 0), (&r, 1)] {
        write_tar(
            p,
            (0..n).map(|i| {
                let mtime = 1_000_000_000 + step * (i as u64 + 1);
                file(format!("d{:03}/f{i:06}", i / 1000), mtime, b"")
            }),
        );
    }
    (l, r)
}

/// Like `mtime_pair`, but every mtime moves by the same second: one `timestamp-shift`.
fn shift_pair(dir: &Path, n: usize) -> (PathBuf, PathBuf) {
    let l = dir.join(format!("shift-left-{n}.tar"));
    let r = dir.join(format!("shift-right-{n}.tar"));
    for (p, mtime) in [(&l, 1_000_000_000), (&r, 1_000_000_001)] {
        write_tar(
            p,
            (0..n).map(|i| file(format!("d{:03}/f{i:06}", i / 1000), mtime, b"")),
        );
    }
    (l, r)
}

// ------------------------------------------------------------------ external tools

/// A missing tool: fail under RDIFF_REQUIRE_TOOLS=1, otherwise say why and skip.
fn missing(what: &str, why: String) -> Option<PathBuf> {
    run::missing_tool(format_args!("{what} unusable: {why}"));
    None
}

fn home_cache(rel: &str) -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/rdiff-bench").join(rel))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

fn chromium() -> Option<PathBuf> {
    let p = std::env::var_os("RDIFF_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if is_executable(&p) {
        Some(p)
    } else {
        missing("chromium", format!("{} is not an executable", p.display()))
    }
}

fn diffoscope() -> Option<PathBuf> {
    let p = std::env::var_os("RDIFF_DIFFOSCOPE")
        .map(PathBuf::from)
        .or_else(|| home_cache("diffoscope-venv/bin/diffoscope"))
        .unwrap_or_else(|| PathBuf::from("diffoscope"));
    match std::process::Command::new(&p).arg("--version").output() {
        Ok(o) if o.status.success() => Some(p),
        Ok(o) => missing(
            "diffoscope",
            format!(
                "{} --version failed: {}",
                p.display(),
                String::from_utf8_lossy(&o.stderr)
            ),
        ),
        Err(e) => missing("diffoscope", format!("{}: {e}", p.display())),
    }
}

/// A python with junitparser: RDIFF_PYTHON, else python3, else the bench venv's python.
fn python_junitparser() -> Option<PathBuf> {
    let candidates: Vec<PathBuf> = match std::env::var_os("RDIFF_PYTHON") {
        Some(p) => vec![PathBuf::from(p)],
        None => [
            Some(PathBuf::from("python3")),
            home_cache("diffoscope-venv/bin/python"),
        ]
        .into_iter()
        .flatten()
        .collect(),
    };
    let mut why = Vec::new();
    for p in candidates {
        match std::process::Command::new(&p)
            .args(["-c", "import junitparser"])
            .output()
        {
            Ok(o) if o.status.success() => return Some(p),
            Ok(_) => why.push(format!("{}: cannot import junitparser", p.display())),
            Err(e) => why.push(format!("{}: {e}", p.display())),
        }
    }
    missing("python with junitparser", why.join("; "))
}

/// Run an external tool in its own process group, output to files; on timeout the whole
/// group is killed and the test fails.
fn run_tool(
    cmd: &mut std::process::Command,
    timeout: Duration,
    what: &str,
) -> (i32, Vec<u8>, String) {
    let d = tmpdir();
    let (o, e) = (d.path().join("out"), d.path().join("err"));
    let start = Instant::now();
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(fs::File::create(&o).unwrap())
        .stderr(fs::File::create(&e).unwrap())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|err| panic!("{what}: {err}"));
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > timeout {
            // SAFETY: kill(2) on the process group of the child we started.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
            let _ = child.wait();
            panic!("{what}: no answer within {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // Helpers Chromium left behind in the group.
    // SAFETY: as above; the group is ours and its leader has exited.
    unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
    let mut out = Vec::new();
    fs::File::open(&o).unwrap().read_to_end(&mut out).unwrap();
    (status.code().unwrap_or(-1), out, read(&e))
}

/// One Chromium at a time: two cores, and each instance is heavy.
static BROWSER: Mutex<()> = Mutex::new(());

fn chromium_cmd(chrome: &Path, profile: &Path) -> std::process::Command {
    let mut c = std::process::Command::new(chrome);
    c.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    c
}

fn file_url(page: &Path, hash: &str) -> String {
    let p = page.canonicalize().unwrap();
    let mut u = format!("file://{}", p.display());
    if !hash.is_empty() {
        u.push('#');
        u.push_str(hash);
    }
    u
}

/// The DOM after the page's script ran, as Chromium serializes it.
fn dump_dom(chrome: &Path, page: &Path, hash: &str, timeout: Duration) -> String {
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let profile = tmpdir();
    let mut c = chromium_cmd(chrome, profile.path());
    c.arg("--dump-dom").arg(file_url(page, hash));
    let (code, out, err) = run_tool(&mut c, timeout, "chromium --dump-dom");
    assert_eq!(code, 0, "chromium --dump-dom failed: {err}");
    let dom = String::from_utf8(out).expect("DOM is UTF-8");
    assert!(
        dom.contains("data-ready=\"1\""),
        "the page's script did not finish (no body data-ready=1) for #{hash}; stderr: {}",
        err.lines().rev().take(20).collect::<Vec<_>>().join("\n")
    );
    dom
}

fn screenshot(chrome: &Path, page: &Path, hash: &str, png: &Path) {
    let _one = BROWSER.lock().unwrap_or_else(|e| e.into_inner());
    let profile = tmpdir();
    let mut c = chromium_cmd(chrome, profile.path());
    c.arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1200,1400")
        .arg(file_url(page, hash));
    let (code, _, err) = run_tool(&mut c, BROWSER_TIMEOUT, "chromium --screenshot");
    assert_eq!(code, 0, "chromium --screenshot failed: {err}");
}

// ------------------------------------------------------------------ DOM reading

/// The part of `dom` from the element with `id` to the next `end` marker.
fn section<'a>(dom: &'a str, id: &str, end: &str) -> &'a str {
    let start = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in the DOM"));
    let rest = &dom[start..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

/// Each drawn `div.entry` in `html`: its data-path and its own markup (up to the next
/// entry).
fn entries(html: &str) -> Vec<(String, &str)> {
    let starts: Vec<usize> = html
        .match_indices("<div class=\"entry ")
        .map(|(i, _)| i)
        .collect();
    starts
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let end = starts.get(k + 1).copied().unwrap_or(html.len());
            let body = &html[i..end];
            let tag = &body[..body.find('>').expect("tag end")];
            let a = tag.find("data-path=\"").expect("data-path") + "data-path=\"".len();
            let v = &tag[a..];
            (unescape(&v[..v.find('"').unwrap()]), body)
        })
        .collect()
}

fn entry_paths(html: &str) -> Vec<String> {
    entries(html).into_iter().map(|(p, _)| p).collect()
}

/// The text of every `<span class="{class}">` in `html`.
fn spans(html: &str, class: &str) -> Vec<String> {
    let open = format!("<span class=\"{class}\">");
    html.match_indices(&open)
        .map(|(i, _)| {
            let t = &html[i + open.len()..];
            unescape(&t[..t.find("</span>").unwrap()])
        })
        .collect()
}

fn info(dom: &str) -> String {
    let s = section(dom, "info", "</span>");
    s[s.find('>').unwrap() + 1..].to_string()
}

/// The differences embedded in an HTML report (what its script draws from).
fn html_data(html: &str) -> Value {
    let open = "<script id=\"rdiff-data\" type=\"application/json\">";
    let a = html.find(open).expect("embedded data") + open.len();
    let t = &html[a..];
    serde_json::from_str(&t[..t.find("</script>").unwrap()]).expect("embedded JSON")
}

// ------------------------------------------------------------------ PNG reading

/// Decode an 8-bit, non-interlaced RGB or RGBA PNG (what Chromium writes) into RGB.
fn png_rgb(bytes: &[u8]) -> (u32, u32, Vec<[u8; 3]>) {
    assert!(
        bytes.len() > 8 && &bytes[..8] == b"\x89PNG\r\n\x1a\n",
        "not a PNG"
    );
    let (mut i, mut idat, mut ihdr) = (8usize, Vec::new(), None);
    while i + 8 <= bytes.len() {
        let n = u32::from_be_bytes(bytes[i..i + 4].try_into().unwrap()) as usize;
        let kind = &bytes[i + 4..i + 8];
        let data = &bytes[i + 8..i + 8 + n];
        match kind {
            b"IHDR" => ihdr = Some(data.to_vec()),
            b"IDAT" => idat.extend_from_slice(data),
            b"IEND" => break,
            _ => {}
        }
        i += 12 + n;
    }
    let h = ihdr.expect("IHDR");
    let width = u32::from_be_bytes(h[0..4].try_into().unwrap());
    let height = u32::from_be_bytes(h[4..8].try_into().unwrap());
    let (depth, color, interlace) = (h[8], h[9], h[12]);
    assert_eq!((depth, interlace), (8, 0), "unsupported PNG layout");
    let bpp = match color {
        2 => 3,
        6 => 4,
        c => panic!("unsupported PNG colour type {c}"),
    };
    let mut raw = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut raw)
        .expect("IDAT inflates");
    let stride = width as usize * bpp;
    assert_eq!(raw.len(), (stride + 1) * height as usize, "IDAT size");
    let mut prev = vec![0u8; stride];
    let mut px = Vec::with_capacity(width as usize * height as usize);
    for y in 0..height as usize {
        let row = &raw[y * (stride + 1)..(y + 1) * (stride + 1)];
        let (filter, src) = (row[0], &row[1..]);
        let mut line = vec![0u8; stride];
        for x in 0..stride {
            let a = if x >= bpp { line[x - bpp] as i32 } else { 0 };
            let b = prev[x] as i32;
            let c = if x >= bpp { prev[x - bpp] as i32 } else { 0 };
            let pred = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => (a + b) / 2,
                4 => {
                    let p = a + b - c;
                    let (pa, pb, pc) = ((p - a).abs(), (p - b).abs(), (p - c).abs());
                    if pa <= pb && pa <= pc {
                        a
                    } else if pb <= pc {
                        b
                    } else {
                        c
                    }
                }
                f => panic!("bad PNG filter {f}"),
            };
            line[x] = src[x].wrapping_add(pred as u8);
        }
        for p in line.chunks(bpp) {
            px.push([p[0], p[1], p[2]]);
        }
        prev = line;
    }
    (width, height, px)
}

fn colour_histogram(px: &[[u8; 3]]) -> BTreeMap<[u8; 3], usize> {
    let mut h = BTreeMap::new();
    for p in px {
        *h.entry(*p).or_insert(0) += 1;
    }
    h
}

fn rgb(hex: u32) -> [u8; 3] {
    [(hex >> 16) as u8, (hex >> 8) as u8, hex as u8]
}

/// Why a screenshot does not look like a drawn report: too few colours, one colour
/// everywhere, or the verdict and the coloured diff lines missing.
fn screenshot_problems(png: &Path, want_colours: &[(&str, u32)]) -> Vec<String> {
    let bytes = fs::read(png).unwrap();
    let (w, h, px) = png_rgb(&bytes);
    let mut problems = Vec::new();
    if (w, h) != (1200, 1400) {
        problems.push(format!("size {w}x{h}, want 1200x1400"));
    }
    let hist = colour_histogram(&px);
    if hist.len() < 64 {
        problems.push(format!(
            "{} distinct colours (a drawn page has hundreds)",
            hist.len()
        ));
    }
    let top = hist.values().max().copied().unwrap_or(0);
    if top * 100 > px.len() * 97 {
        problems.push(format!(
            "one colour covers {}% of the page",
            top * 100 / px.len().max(1)
        ));
    }
    for (what, hex) in want_colours {
        let n = hist.get(&rgb(*hex)).copied().unwrap_or(0);
        if n < 2000 {
            problems.push(format!("{what} (#{hex:06x}) covers {n} pixels"));
        }
    }
    problems
}

// ======================================================= several outputs per run

/// Flag for writing `fmt` to a file or to standard output.
fn out_flag(fmt: &str) -> String {
    format!("--{fmt}")
}

fn multi_output_matches_single_runs(cmd: &str, pair: [&str; 2]) {
    let single: BTreeMap<&str, String> = FORMATS
        .iter()
        .map(|f| (*f, report(cmd, pair, f, &["--quiet"])))
        .collect();
    // No output option: text on standard output.
    let plain = compare(cmd, pair, &[]);
    assert_eq!(plain.code(), 1);
    assert_eq!(
        plain.stdout_text(),
        single["text"],
        "{cmd}: default stdout is text"
    );

    // Every format to a file; then each format in turn on stdout, the others to files.
    for on_stdout in std::iter::once(None).chain(FORMATS.iter().map(Some)) {
        let d = tmpdir();
        let mut args: Vec<OsString> = vec![cmd.into(), "--quiet".into()];
        for f in FORMATS {
            args.push(out_flag(f).into());
            if Some(&f) == on_stdout {
                args.push("-".into());
            } else {
                args.push(d.path().join(format!("report.{f}")).into());
            }
        }
        args.extend(pair.iter().map(OsString::from));
        let r = rdiff(args);
        assert_eq!(r.code(), 1, "{cmd} stdout={on_stdout:?}: {}", r.stderr);
        assert_eq!(r.stderr, "", "nothing on stderr");
        match on_stdout {
            // Every format went to a file, so stdout gets the default text report.
            None => assert_eq!(r.stdout_text(), single["text"]),
            Some(f) => assert_eq!(
                r.stdout_text(),
                single[f],
                "{cmd}: --{f} - differs from --format {f}"
            ),
        }
        for f in FORMATS {
            if Some(&f) == on_stdout {
                assert!(!d.path().join(format!("report.{f}")).exists());
                continue;
            }
            let got = read(&d.path().join(format!("report.{f}")));
            assert_eq!(
                got, single[f],
                "{cmd}: --{f} FILE (with stdout={on_stdout:?}) differs from a single run"
            );
        }
    }
}

#[test]
fn rootfs_every_format_in_one_run_equals_single_runs() {
    multi_output_matches_single_runs("rootfs", ROOTFS);
}

#[test]
fn image_every_format_in_one_run_equals_single_runs() {
    multi_output_matches_single_runs("image", IMAGE);
}

#[test]
fn single_formats_look_like_themselves() {
    let r = report("rootfs", ROOTFS, "text", &[]);
    assert!(r.starts_with("rdiff rootfs\n"), "{r}");
    assert!(
        r.trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("different: 30 entries differ")
    );
    let j: Value = serde_json::from_str(&report("rootfs", ROOTFS, "json", &[])).unwrap();
    assert_eq!(j["equal"], false);
    let diffs = j["differences"].as_array().unwrap();
    assert_eq!(diffs.len(), ROOTFS_DIFFS);
    // The inputs as wholes first (their bytes differ), then the 30 entries.
    assert_eq!(diffs[0]["part"], "input");
    assert_eq!(diffs[0]["fields"][0]["name"], "sha256");
    assert!(diffs[1..].iter().all(|d| d["part"] == "rootfs"));
    assert_eq!(
        j["summary"]["changed"], 27,
        "the input is not a changed entry"
    );
    assert!(report("rootfs", ROOTFS, "html", &[]).starts_with("<!DOCTYPE html>"));
    assert!(report("rootfs", ROOTFS, "markdown", &[]).starts_with("## "));
    assert!(report("rootfs", ROOTFS, "junit", &[]).starts_with("<?xml version=\"1.0\""));
    let d: Value = serde_json::from_str(&report("rootfs", ROOTFS, "diffoscope-json", &[])).unwrap();
    assert_eq!(d["diffoscope-json-version"], 1);
}

/// Every format carries both inputs' SHA-256 as `sha256sum` prints them (checked against
/// digests computed here), so one run also answers a published-checksum check.
#[test]
fn every_format_carries_both_inputs_sha256() {
    let (l, r) = (sha256sum_line(ROOTFS[0]), sha256sum_line(ROOTFS[1]));
    let lh = sha256_hex(&repo().join(ROOTFS[0]));
    let rh = sha256_hex(&repo().join(ROOTFS[1]));
    assert_ne!(lh, rh);

    // Text: two lines in the header, after the inputs and before the mode; the inputs'
    // own difference first, under its `input` heading.
    let text = report("rootfs", ROOTFS, "text", &[]);
    let header: Vec<&str> = text
        .lines()
        .take_while(|x| !x.starts_with("mode "))
        .collect();
    let sums: Vec<&str> = header
        .iter()
        .copied()
        .filter(|x| x.starts_with("sha256 "))
        .collect();
    assert_eq!(
        sums,
        [format!("sha256 {l}"), format!("sha256 {r}")],
        "{text}"
    );
    assert_eq!(
        header.last(),
        Some(&sums[1]),
        "right after the inputs: {text}"
    );
    // (Every entry of ./ differs only in its ctime: folded under the hint.)
    assert!(
        text.contains(&format!(
            "\ninput\n      sha256  sha256:{lh} -> sha256:{rh}\netc/\n"
        )),
        "{text}"
    );

    // JSON: the hex in each input's summary, and the difference of the `input` part.
    let j: Value = serde_json::from_str(&report("rootfs", ROOTFS, "json", &[])).unwrap();
    assert_eq!(j["schema_version"], 2);
    assert_eq!(j["left"]["sha256"], lh);
    assert_eq!(j["right"]["sha256"], rh);
    assert_eq!(j["parts"], serde_json::json!(["input", "rootfs"]));
    let first = &j["differences"][0];
    assert_eq!(first["path"], "input");
    assert_eq!(first["part"], "input");
    assert_eq!(
        first["fields"],
        serde_json::json!([{
            "name": "sha256", "scope": "input", "field": "sha256", "key": null,
            "left": format!("sha256:{lh}"), "right": format!("sha256:{rh}"),
        }])
    );

    // HTML: a row under each input's row.
    let html = report("rootfs", ROOTFS, "html", &[]);
    let inputs = section(&html, "inputs", "</table>");
    let at = |needle: &str| {
        inputs
            .find(needle)
            .unwrap_or_else(|| panic!("no {needle:?} in {inputs}"))
    };
    let row =
        |hex: &str| format!("<tr><th></th><td class=\"mono\" colspan=\"3\">sha256 {hex}</td></tr>");
    let order = [
        at(&format!(
            "<tr><th>left</th><td class=\"mono\">{}</td>",
            ROOTFS[0]
        )),
        at(&row(&lh)),
        at(&format!(
            "<tr><th>right</th><td class=\"mono\">{}</td>",
            ROOTFS[1]
        )),
        at(&row(&rh)),
        at("<tr><th>mode</th>"),
    ];
    assert!(order.is_sorted(), "{inputs}");

    // Markdown: a fenced block of both lines, before the summary table.
    let md = report("rootfs", ROOTFS, "markdown", &[]);
    let block = md
        .find(&format!("\n```\n{l}\n{r}\n```\n"))
        .expect("sha256sum block");
    assert!(block < md.find("| | differences | ignored |").unwrap());

    // JUnit: properties of the `input` suite.
    let xml = report("rootfs", ROOTFS, "junit", &[]);
    for (side, line) in [("left", &l), ("right", &r)] {
        assert!(
            xml.contains(&format!(
                "<property name=\"{side}.sha256\" value=\"{line}\"/>"
            )),
            "{xml}"
        );
    }

    // diffoscope JSON: comments on the top node.
    let d: Value = serde_json::from_str(&report("rootfs", ROOTFS, "diffoscope-json", &[])).unwrap();
    let comments: Vec<&str> = d["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(
        comments[1..3],
        [format!("sha256 {l}"), format!("sha256 {r}")]
    );

    // junitparser reads the properties.
    if let Some(py) = python_junitparser() {
        let suites = junitparser(&py, &xml).expect("junitparser reads it");
        assert_eq!(
            suite(&suites, "input")["properties"],
            serde_json::json!({"left.sha256": l, "right.sha256": r})
        );
    }
}

/// A directory has no SHA-256 of its own: no line for it in any format; an image archive
/// beside it has one.
#[test]
fn a_directory_input_has_no_sha256_line() {
    let archive = "testdata/image/archives/base.docker-archive.tar";
    for (pair, right) in [
        (IMAGE, None),
        ([IMAGE[0], archive], Some(sha256sum_line(archive))),
    ] {
        let text = report("image", pair, "text", &[]);
        let sums: Vec<&str> = text
            .lines()
            .take_while(|x| !x.starts_with("mode "))
            .filter(|x| x.starts_with("sha256 "))
            .collect();
        let want: Vec<String> = right.iter().map(|x| format!("sha256 {x}")).collect();
        assert_eq!(sums, want, "{text}");
        let j: Value = serde_json::from_str(&report("image", pair, "json", &[])).unwrap();
        assert_eq!(j["left"]["sha256"], Value::Null);
        assert_eq!(
            j["right"]["sha256"].as_str().map(str::to_string),
            right.as_ref().map(|x| x[..64].to_string())
        );
        let html = report("image", pair, "html", &[]);
        assert_eq!(count(&html, "colspan=\"3\">sha256 "), want.len());
        let xml = report("image", pair, "junit", &[]);
        assert_eq!(count(&xml, "<property "), want.len(), "{xml}");
        assert_eq!(count(&xml, "<properties>"), want.len().min(1), "{xml}");
        let md = report("image", pair, "markdown", &[]);
        assert_eq!(count(&md, "  testdata/image/"), want.len(), "{md}");
        let d = report("image", pair, "diffoscope-json", &[]);
        assert_eq!(count(&d, "\"sha256 "), want.len(), "{d}");
    }
}

/// Strict is bit-for-bit: one tree as .tar.zst and as .tar.gz is not identical (the
/// inputs differ in SHA-256 and compression, no entry does), and is equal under
/// --semantic, which counts what it hid. Byte-identical inputs are identical.
#[test]
fn byte_different_forms_of_one_tree_differ_in_strict_mode_only() {
    let r = compare("rootfs", ROOTFS_FORMS, &["--format", "json"]);
    assert_eq!(r.code(), 1, "{}", r.stderr);
    let j = r.json();
    assert_eq!(
        (&j["equal"], &j["identical"], &j["semantically_equal"]),
        (&Value::Bool(false), &Value::Bool(false), &Value::Bool(true))
    );
    for k in ["added", "removed", "changed"] {
        assert_eq!(j["summary"][k], 0, "{k}: the input is not an entry");
    }
    let diffs = j["differences"].as_array().unwrap();
    assert_eq!(diffs.len(), 1, "{diffs:?}");
    assert_eq!(diffs[0]["part"], "input");
    let fields: Vec<(&str, &Value, &Value)> = diffs[0]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["name"].as_str().unwrap(), &f["left"], &f["right"]))
        .collect();
    assert_eq!(fields.len(), 2, "{fields:?}");
    assert_eq!(fields[0].0, "sha256");
    assert_eq!(
        fields[0].1,
        &format!("sha256:{}", sha256_hex(&repo().join(ROOTFS_FORMS[0])))
    );
    assert_eq!(
        fields[0].2,
        &format!("sha256:{}", sha256_hex(&repo().join(ROOTFS_FORMS[1])))
    );
    assert_eq!(fields[1], ("compression", &"zstd".into(), &"gzip".into()));
    let text = report("rootfs", ROOTFS_FORMS, "text", &[]);
    assert!(
        text.trim_end().ends_with(
            "not bit-for-bit identical (2 differences: input sha256, input compression); \
             semantically equal"
        ),
        "{text}"
    );
    assert!(report("rootfs", ROOTFS_FORMS, "markdown", &[]).starts_with("## ❌ "));
    let xml = report("rootfs", ROOTFS_FORMS, "junit", &[]);
    if let Some(py) = python_junitparser() {
        let suites = junitparser(&py, &xml).expect("junitparser reads it");
        let fails = failing_cases(suite(&suites, "input"));
        assert_eq!(fails["input"]["message"], "changed: sha256, compression");
        assert_eq!(suite(&suites, "rootfs")["failures"], 0, "no entry differs");
    }

    // --semantic: equal, and it says what it hid.
    let r = compare("rootfs", ROOTFS_FORMS, &["--semantic", "--format", "json"]);
    assert_eq!(r.code(), 0, "{}", r.stderr);
    let j = r.json();
    assert_eq!(j["equal"], true);
    assert_eq!(j["identical"], false);
    assert_eq!(j["differences"], serde_json::json!([]));
    let hid = ignored(&j);
    assert_eq!(
        hid,
        BTreeSet::from([
            ("ignore-compression".into(), "compression".into()),
            ("ignore-compression".into(), "sha256".into()),
        ])
    );

    // Byte-identical inputs: identical in strict mode.
    let r = compare("rootfs", ROOTFS_SAME, &["--format", "json"]);
    assert_eq!(r.code(), 0, "{}", r.stderr);
    assert_eq!(r.json()["identical"], true);
    assert_eq!(r.json()["differences"], serde_json::json!([]));
}

/// A root entry named `input` is an entry, apart from the inputs as wholes, in every
/// format that groups by location.
#[test]
fn an_entry_named_input_is_not_the_inputs() {
    let d = tmpdir();
    let page = html_of_names(d.path(), &["input"]);
    let (l, r) = (d.path().join("l.tar"), d.path().join("r.tar"));
    let run = |fmt: &str| {
        let run = rdiff([
            OsStr::new("rootfs"),
            OsStr::new("--format"),
            OsStr::new(fmt),
            l.as_os_str(),
            r.as_os_str(),
        ]);
        assert_eq!(run.code(), 1, "{}", run.stderr);
        run.stdout_text()
    };
    let text = run("text");
    assert!(text.contains("\ninput\n      sha256  sha256:"), "{text}");
    assert!(
        text.contains("\n./\n  ~ input\n      content  sha256:"),
        "{text}"
    );
    let md = run("markdown");
    let inputs = md.find("**<code>input</code>**").expect("an input group");
    let root = md.find("**<code>./</code>**").expect("a ./ group");
    assert!(inputs < root, "{md}");
    assert!(md[inputs..root].contains("| <code>sha256</code> |"), "{md}");
    assert!(!md[inputs..root].contains("<code>content</code>"), "{md}");
    assert!(md[root..].contains("| ~ | <code>input</code> | <code>content</code> |"));
    if let Some(py) = python_junitparser() {
        let suites = junitparser(&py, &run("junit")).expect("junitparser reads it");
        let fails = failing_cases(suite(&suites, "input"));
        assert_eq!(fails["input"]["message"], "changed: sha256");
        let fails = failing_cases(suite(&suites, "rootfs"));
        assert_eq!(fails["input"]["message"], "changed: content");
    }
    let Some(chrome) = chromium() else { return };
    // The tree draws two entries, the inputs' first, not one node holding both.
    let dom = dump_dom(&chrome, &page, "", BROWSER_TIMEOUT);
    let tree = section(&dom, "tree", "<div id=\"results\"");
    assert_eq!(count(tree, "<details class=\"node\""), 0, "{tree}");
    let drawn = entries(tree);
    assert_eq!(drawn.len(), 2, "{tree}");
    assert!(drawn.iter().all(|(p, _)| p == "input"));
    assert!(!drawn[0].1.contains("<span class=\"kind\">"), "{tree}");
    assert!(
        drawn[1].1.contains("<span class=\"kind\">file</span>"),
        "{tree}"
    );
}

#[test]
fn format_flag_is_only_for_a_stdout_nobody_else_took() {
    let r = compare("rootfs", ROOTFS, &["--format", "html", "--json", "-"]);
    assert_eq!(r.code(), 1);
    assert_eq!(
        r.json()["command"],
        "rootfs",
        "--json - wins over --format html"
    );
    // --format picks the stdout report when every other one goes to a file.
    let d = tmpdir();
    let j = d.path().join("r.json");
    let r = compare(
        "rootfs",
        ROOTFS,
        &["--format", "markdown", "--json", j.to_str().unwrap()],
    );
    assert_eq!(r.code(), 1);
    assert_eq!(r.stdout_text(), report("rootfs", ROOTFS, "markdown", &[]));
    serde_json::from_str::<Value>(&read(&j)).expect("the file is JSON");
}

#[test]
fn two_reports_on_stdout_is_a_usage_error() {
    for (a, b) in [
        ("--json", "--markdown"),
        ("--text", "--html"),
        ("--junit", "--diffoscope-json"),
    ] {
        let d = tmpdir();
        let other = d.path().join("other.html");
        let flag = if a == "--text" { "--json" } else { "--html" };
        let r = compare(
            "rootfs",
            ROOTFS,
            &[a, "-", b, "-", flag, other.to_str().unwrap()],
        );
        assert_eq!(r.code(), 2, "{a} - {b} -: {}", r.stderr);
        assert!(
            r.stdout.is_empty(),
            "nothing on stdout: {}",
            r.stdout_text()
        );
        assert!(
            r.stderr.contains("standard output"),
            "the error says why: {}",
            r.stderr
        );
        assert!(!other.exists(), "no file written when the flags are bad");
    }
    // The same for images.
    let r = compare("image", IMAGE, &["--junit", "-", "--text", "-"]);
    assert_eq!(r.code(), 2);
    assert!(r.stdout.is_empty());
}

#[test]
fn unwritable_output_file_is_an_error_before_anything_is_written() {
    let d = tmpdir();
    let good = d.path().join("good.json");
    let bad = d.path().join("no/such/dir/r.html");
    let r = compare(
        "rootfs",
        ROOTFS,
        &[
            "--json",
            good.to_str().unwrap(),
            "--html",
            bad.to_str().unwrap(),
        ],
    );
    assert_eq!(r.code(), 2, "{}", r.stderr);
    assert!(r.stdout.is_empty(), "{}", r.stdout_text());
    assert!(r.stderr.contains("r.html"), "names the file: {}", r.stderr);
}

// ========================================================================== HTML

fn html_file(dir: &Path, cmd: &str, pair: [&str; 2], extra: &[&str]) -> PathBuf {
    let p = dir.join(format!("{cmd}.html"));
    let mut a = vec!["--quiet", "--html", p.to_str().unwrap()];
    a.extend_from_slice(extra);
    let r = compare(cmd, pair, &a);
    assert!(r.code() == 0 || r.code() == 1, "{}", r.stderr);
    p
}

#[test]
fn html_is_one_self_contained_file() {
    let html = report("rootfs", ROOTFS, "html", &["--semantic"]);
    for banned in [
        "<link", " src=", "href=", "url(", "@import", "http://", "https://",
    ] {
        assert!(
            !html.contains(banned),
            "the page must not load anything: found {banned:?}"
        );
    }
    assert!(html.contains("<meta charset=\"utf-8\">"));
    assert!(html.contains("<style>") && html.contains("<script>"));
    // Verdict, summary table, ignored-by-rule counts, the data the tree is drawn from.
    assert!(html.contains("id=\"verdict\" class=\"verdict different\""));
    assert!(html.contains("<table id=\"summary\">"));
    let j: Value =
        serde_json::from_str(&report("rootfs", ROOTFS, "json", &["--semantic"])).unwrap();
    let ignored = j["ignored"].as_array().unwrap();
    assert!(!ignored.is_empty());
    let list = section(&html, "ignored", "</ul>");
    assert_eq!(count(list, "<li"), ignored.len(), "{list}");
    for i in ignored {
        let line = format!(
            "<code>--{}</code> (semantic): {} {} ",
            i["rule"].as_str().unwrap(),
            i["count"],
            i["field"].as_str().unwrap()
        );
        assert!(list.contains(&line), "missing {line:?} in {list}");
    }
    let data = html_data(&html);
    assert_eq!(data["differences"], j["differences"]);
    // An equal comparison says so: byte-identical inputs in strict mode; one tree in two
    // byte-different forms only under --semantic.
    let eq = report("rootfs", ROOTFS_SAME, "html", &[]);
    assert!(eq.contains("class=\"verdict equal\""));
    let forms = report("rootfs", ROOTFS_FORMS, "html", &[]);
    assert!(forms.contains("class=\"verdict different\""));
    assert!(forms.contains(">not bit-for-bit identical ("), "{forms}");
    let forms = report("rootfs", ROOTFS_FORMS, "html", &["--semantic"]);
    assert!(forms.contains("class=\"verdict equal\""));
}

#[test]
fn html_tree_in_chromium() {
    let Some(chrome) = chromium() else { return };
    let d = tmpdir();
    let page = html_file(d.path(), "rootfs", ROOTFS, &[]);
    let dom = dump_dom(&chrome, &page, "", BROWSER_TIMEOUT);
    assert_eq!(
        info(&dom),
        format!("{ROOTFS_DIFFS} differences ({ROOTFS_FOLDED} folded under likely causes)")
    );
    let tree = section(&dom, "tree", "<div id=\"results\"");
    let nodes = count(tree, "<details class=\"node\"");
    assert!(nodes >= 4, "collapsible nodes drawn: {nodes}");
    for dir in ["etc/", "opt/", "usr/", "var/"] {
        assert!(
            tree.contains(&format!("<summary><code>{dir}</code>")),
            "no node {dir} in {tree}"
        );
    }
    // dev/ and run/ hold only entries that differ in their ctime alone: folded under
    // the timestamp-shift hint, not in the tree.
    for dir in ["dev/", "run/"] {
        assert!(
            !tree.contains(&format!("<summary><code>{dir}</code>")),
            "{tree}"
        );
    }
    // Closed nodes are drawn lazily: only the top level is there.
    assert_eq!(count(tree, " open=\""), 0);
    let top = entry_paths(tree);
    assert_eq!(
        top.first().map(String::as_str),
        Some("input"),
        "input first"
    );
    assert!(!top.contains(&".".to_string()), "folded: {top:?}");
    assert!(!top.contains(&"etc/hostname".to_string()), "{top:?}");
    // The results list is empty without a filter.
    assert!(entries(section(&dom, "results", "<button id=\"more\"")).is_empty());
}

#[test]
fn html_path_filter_shows_the_entry_with_fields_and_coloured_diff() {
    let Some(chrome) = chromium() else { return };
    let d = tmpdir();
    let page = html_file(d.path(), "rootfs", ROOTFS, &[]);
    let dom = dump_dom(&chrome, &page, "q=hostname", BROWSER_TIMEOUT);
    assert_eq!(info(&dom), format!("1 of {ROOTFS_DIFFS} differences match"));
    let res = section(&dom, "results", "<button id=\"more\"");
    let found = entries(res);
    assert_eq!(
        found.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
        ["etc/hostname"]
    );
    let body = found[0].1;
    assert!(body.contains("<pre class=\"diff\">"), "{body}");
    assert_eq!(spans(body, "add"), ["+repro-right"]);
    assert_eq!(spans(body, "del"), ["-repro-left"]);
    // Fields side by side: name, left, right.
    assert!(
        body.contains(
            "<tr><td class=\"mono\">size</td><td class=\"mono\">11</td><td class=\"mono\">12</td></tr>"
        ),
        "{body}"
    );
    // The tree is hidden while a filter is on.
    assert!(dom.contains("<div id=\"tree\" class=\"hidden\">"));
    // No match: nothing shown, and it says so.
    let dom = dump_dom(&chrome, &page, "q=no-such-entry-anywhere", BROWSER_TIMEOUT);
    assert_eq!(info(&dom), format!("0 of {ROOTFS_DIFFS} differences match"));
    assert!(entries(section(&dom, "results", "<button id=\"more\"")).is_empty());
}

#[test]
fn html_field_filter_in_chromium() {
    let Some(chrome) = chromium() else { return };
    let d = tmpdir();
    let page = html_file(d.path(), "rootfs", ROOTFS, &[]);
    let j: Value = serde_json::from_str(&report("rootfs", ROOTFS, "json", &[])).unwrap();
    let with_field = |fam: &str| -> BTreeSet<String> {
        j["differences"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|d| {
                d["fields"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|f| f["field"] == fam)
            })
            .map(|d| json_path(&d["path"]))
            .collect()
    };
    for (hash, want) in [
        ("field=xattrs", with_field("xattrs")),
        ("field=mode", with_field("mode")),
        ("field=link_target", with_field("link_target")),
        ("field=content", with_field("content")),
        ("field=sha256", BTreeSet::from(["input".to_string()])),
        (
            "q=ping&field=content",
            BTreeSet::from(["usr/bin/ping".into(), "usr/bin/ping6".into()]),
        ),
        (
            "q=ping&field=xattrs",
            BTreeSet::from(["usr/bin/ping".to_string()]),
        ),
    ] {
        assert!(!want.is_empty());
        let dom = dump_dom(&chrome, &page, hash, BROWSER_TIMEOUT);
        let got: BTreeSet<String> = entry_paths(section(&dom, "results", "<button id=\"more\""))
            .into_iter()
            .collect();
        assert_eq!(got, want, "#{hash}");
        assert_eq!(
            info(&dom),
            format!("{} of {ROOTFS_DIFFS} differences match", want.len())
        );
    }
    // The field select offers exactly the field families that differ.
    let dom = dump_dom(&chrome, &page, "", BROWSER_TIMEOUT);
    let select = section(&dom, "field", "</select>");
    let fams: BTreeSet<&str> = j["summary"]["fields"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, c)| c["differences"].as_u64().unwrap() > 0)
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(count(select, "<option"), fams.len() + 1, "{select}");
    for f in fams {
        assert!(
            select.contains(&format!("<option value=\"{f}\">{f}</option>")),
            "{f}"
        );
    }
}

#[test]
fn html_open_all_draws_every_entry() {
    let Some(chrome) = chromium() else { return };
    let d = tmpdir();
    let page = html_file(d.path(), "rootfs", ROOTFS, &[]);
    let dom = dump_dom(&chrome, &page, "open=all", BROWSER_TIMEOUT);
    let tree = section(&dom, "tree", "<div id=\"results\"");
    let nodes = count(tree, "<details class=\"node\"");
    assert!(nodes > 6);
    assert_eq!(
        count(tree, "<details class=\"node\" open=\"\""),
        nodes,
        "every node open"
    );
    // The tree, and the entries folded under the likely causes, opened too.
    let mut drawn = entry_paths(tree);
    assert_eq!(drawn[0], "input", "the inputs as wholes first");
    let folded = entry_paths(section(&dom, "hints", "</ol>"));
    assert_eq!(folded.len(), ROOTFS_FOLDED, "{folded:?}");
    drawn.extend(folded);
    assert_eq!(drawn.len(), ROOTFS_DIFFS, "{drawn:?}");
    let j: Value = serde_json::from_str(&report("rootfs", ROOTFS, "json", &[])).unwrap();
    let utf8: BTreeSet<String> = j["differences"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["path"].as_str().map(str::to_string))
        .collect();
    let drawn: BTreeSet<String> = drawn.into_iter().collect();
    assert!(
        drawn.is_superset(&utf8),
        "missing {:?}",
        utf8.difference(&drawn)
    );
    // Every content diff is drawn, coloured.
    assert_eq!(count(tree, "<pre class=\"diff\">"), 3);
    assert!(spans(tree, "add").contains(&"+line 1500 LOREM IPSUM".to_string()));
    assert!(spans(tree, "del").contains(&"-line 1500 lorem ipsum".to_string()));
}

#[test]
fn html_nested_members_hang_below_their_file() {
    let Some(chrome) = chromium() else { return };
    let d = tmpdir();
    let pair = ["testdata/nested/left.tar", "testdata/nested/right.tar"];
    let page = html_file(d.path(), "rootfs", pair, &[]);
    let dom = dump_dom(&chrome, &page, "open=all", BROWSER_TIMEOUT);
    let tree = section(&dom, "tree", "<div id=\"results\"");
    // The jar is a node of its own, `app.jar!/`, holding its own difference and its
    // members; the .deb holds data.tar.xz, which holds usr/bin/hello.
    for node in ["app.jar!/", "hello.deb!/", "data.tar.xz!/", "META-INF/"] {
        assert!(
            tree.contains(&format!("<summary><code>{node}</code>")),
            "no node {node} in {tree}"
        );
    }
    // No directory named after the file with a `!`.
    assert!(!tree.contains("<code>app.jar!</code>"), "{tree}");
    assert!(!tree.contains("<code>app.jar!/META-INF/</code>"), "{tree}");
    // The jar's own difference is drawn inside that node, before its members (a
    // directory `app.jar!` beside the entry `app.jar` would draw it before the node).
    let at = |s: &str| tree.find(s).unwrap_or_else(|| panic!("no {s} in {tree}"));
    let node = at("<summary><code>app.jar!/</code>");
    let jar = at(">opt/app/app.jar<");
    let member = at(">opt/app/app.jar!/META-INF/MANIFEST.MF<");
    assert!(node < jar && jar < member, "{node} {jar} {member}");
    // Every difference is still drawn once.
    let drawn = entry_paths(tree).len() + entry_paths(section(&dom, "hints", "</ol>")).len();
    let j: Value = serde_json::from_str(&report("rootfs", pair, "json", &[])).unwrap();
    assert_eq!(drawn, j["differences"].as_array().unwrap().len());
}

#[test]
fn html_non_utf8_path_is_shown_in_its_directory() {
    let Some(chrome) = chromium() else { return };
    let d = tmpdir();
    let page = html_file(d.path(), "rootfs", ROOTFS, &[]);
    // Every other format shows usr/share/doc/caf\xe9.txt; the filter should find it.
    let dom = dump_dom(&chrome, &page, "q=doc/caf", BROWSER_TIMEOUT);
    let got = entry_paths(section(&dom, "results", "<button id=\"more\""));
    assert_eq!(got, ["usr/share/doc/caf\\xe9.txt"]);
    // And the tree has it under usr/ -> share/ -> doc/, not at the top level.
    let dom = dump_dom(&chrome, &page, "", BROWSER_TIMEOUT);
    let top = entry_paths(section(&dom, "tree", "<div id=\"results\""));
    assert_eq!(
        top,
        ["input"],
        "only the inputs as wholes are a top-level entry ('.' is folded under a hint)"
    );
}

#[test]
fn html_image_report_in_chromium() {
    let Some(chrome) = chromium() else { return };
    let d = tmpdir();
    let page = html_file(d.path(), "image", IMAGE, &[]);
    let dom = dump_dom(&chrome, &page, "q=hostname", BROWSER_TIMEOUT);
    let found = entries(section(&dom, "results", "<button id=\"more\""));
    assert_eq!(
        found.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
        ["layers/1/etc/hostname"]
    );
    assert_eq!(spans(found[0].1, "add"), ["+chgd-host"]);
    assert_eq!(spans(found[0].1, "del"), ["-base-host"]);
    let dom = dump_dom(&chrome, &page, "open=all", BROWSER_TIMEOUT);
    let tree = section(&dom, "tree", "<div id=\"results\"");
    assert!(tree.contains("<summary><code>layers/</code>"), "{tree}");
    let got: BTreeSet<String> = entry_paths(tree).into_iter().collect();
    assert_eq!(
        got,
        BTreeSet::from(
            ["config", "layers/1", "layers/1/etc/hostname", "manifest"].map(String::from)
        )
    );
    let dom = dump_dom(&chrome, &page, "field=annotations", BROWSER_TIMEOUT);
    assert_eq!(
        entry_paths(section(&dom, "results", "<button id=\"more\"")),
        ["manifest"]
    );
}

/// An HTML report of two tars holding `names`, each with different content (so the
/// tars' bytes differ too: one more difference, the `input`'s SHA-256).
fn html_of_names(dir: &Path, names: &[&str]) -> PathBuf {
    for (side, data) in [("l", b"one\n"), ("r", b"two\n")] {
        write_tar(
            &dir.join(format!("{side}.tar")),
            names.iter().map(|n| file(n, 7, data)),
        );
    }
    let page = dir.join("names.html");
    let run = rdiff([
        OsStr::new("rootfs"),
        OsStr::new("-q"),
        OsStr::new("--html"),
        page.as_os_str(),
        dir.join("l.tar").as_os_str(),
        dir.join("r.tar").as_os_str(),
    ]);
    assert_eq!(run.code(), 1, "{}", run.stderr);
    page
}

/// The entries drawn for `names`, and the inputs as wholes.
fn with_input(names: &[&str]) -> BTreeSet<String> {
    names
        .iter()
        .copied()
        .chain(["input"])
        .map(String::from)
        .collect()
}

#[test]
fn html_survives_markup_in_names() {
    let Some(chrome) = chromium() else { return };
    let d = tmpdir();
    let names = ["x</script><b>y", "</SCRIPT>up", "q\"&amp;<i>", "<script>s"];
    let page = html_of_names(d.path(), &names);
    let dom = dump_dom(&chrome, &page, "open=all", BROWSER_TIMEOUT);
    let drawn = &dom[..dom.find("<script id=\"rdiff-data\"").expect("data")];
    assert!(!drawn.contains("<b>"), "a name became markup");
    assert!(drawn.contains("&lt;b&gt;y"), "the name is shown as text");
    let got: BTreeSet<String> = entry_paths(section(&dom, "tree", "<div id=\"results\""))
        .into_iter()
        .collect();
    assert_eq!(got, with_input(&names));
    let dom = dump_dom(&chrome, &page, "q=%3C%2Fscript", BROWSER_TIMEOUT);
    let got: BTreeSet<String> = entry_paths(section(&dom, "results", "<button id=\"more\""))
        .into_iter()
        .collect();
    assert_eq!(
        got,
        BTreeSet::from(["x</script><b>y".to_string(), "</SCRIPT>up".to_string()])
    );
}

#[test]
fn html_survives_comment_openers_in_names() {
    let d = tmpdir();
    let names = ["<!--z", "a<!--b-->c"];
    let page = html_of_names(d.path(), &names);
    // The embedded data must stay JSON (this is what the page's script parses).
    let data = html_data(&read(&page));
    assert_eq!(
        data["differences"].as_array().unwrap().len(),
        names.len() + 1
    );
    let Some(chrome) = chromium() else { return };
    let dom = dump_dom(&chrome, &page, "open=all", BROWSER_TIMEOUT);
    let got: BTreeSet<String> = entry_paths(section(&dom, "tree", "<div id=\"results\""))
        .into_iter()
        .collect();
    assert_eq!(got, with_input(&names));
}

#[test]
fn html_screenshot_is_a_drawn_page() {
    let Some(chrome) = chromium() else { return };
    let d = tmpdir();
    let page = html_file(d.path(), "rootfs", ROOTFS, &[]);
    let png = d.path().join("shot.png");
    screenshot(&chrome, &page, "q=hostname", &png);
    let want = [
        ("the 'different' verdict box", 0xfdecea),
        ("an added diff line", 0xdafbe1),
        ("a removed diff line", 0xffebe9),
    ];
    let problems = screenshot_problems(&png, &want);
    assert!(problems.is_empty(), "screenshot looks broken: {problems:?}");
    assert!(fs::metadata(&png).unwrap().len() > 20_000);

    // The check fails on a blank page, and on a page whose script broke (no tree, no
    // diff drawn).
    let blank = d.path().join("blank.html");
    fs::write(&blank, "<!DOCTYPE html><html><body></body></html>").unwrap();
    let blank_png = d.path().join("blank.png");
    screenshot(&chrome, &blank, "", &blank_png);
    assert!(!screenshot_problems(&blank_png, &want).is_empty());
    let broken = d.path().join("broken.html");
    let html = read(&page).replace("<script>", "<script>throw 1;");
    fs::write(&broken, html).unwrap();
    let broken_png = d.path().join("broken.png");
    screenshot(&chrome, &broken, "q=hostname", &broken_png);
    let p = screenshot_problems(&broken_png, &want);
    assert!(
        p.iter().any(|x| x.contains("diff line")),
        "a page without its script must fail the check: {p:?}"
    );
}

#[test]
fn html_hundred_thousand_differences() {
    let d = tmpdir();
    let (l, r) = mtime_pair(d.path(), 100_000);
    let page = d.path().join("big.html");
    let cut_page = d.path().join("cut.html");
    let json = d.path().join("big.json");
    let start = Instant::now();
    let run = rdiff_timeout(
        [
            OsStr::new("rootfs"),
            OsStr::new("--quiet"),
            OsStr::new("--html"),
            page.as_os_str(),
            OsStr::new("--json"),
            json.as_os_str(),
            l.as_os_str(),
            r.as_os_str(),
        ],
        BIG_TIMEOUT,
    );
    assert_eq!(run.code(), 1, "{}", run.stderr);
    eprintln!("100 000 differences: rdiff took {:?}", start.elapsed());
    let j: Value = serde_json::from_str(&read(&json)).unwrap();
    // 100 000 entries and the inputs as wholes (their SHA-256).
    assert_eq!(j["differences"].as_array().unwrap().len(), 100_001);
    assert_eq!(j["summary"]["changed"], 100_000);
    drop(j);

    // --max-report-size keeps even this one small, and says so.
    let max = 300_000u64;
    let run = rdiff_timeout(
        [
            OsStr::new("rootfs"),
            OsStr::new("--quiet"),
            OsStr::new("--max-report-size"),
            OsStr::new(&max.to_string()),
            OsStr::new("--html"),
            cut_page.as_os_str(),
            l.as_os_str(),
            r.as_os_str(),
        ],
        BIG_TIMEOUT,
    );
    assert_eq!(run.code(), 1, "{}", run.stderr);
    let cut = read(&cut_page);
    assert!(cut.len() as u64 <= max, "{} > {max}", cut.len());
    assert!(
        cut.contains("<p id=\"cut\"><strong>report cut: "),
        "no cut note"
    );
    assert!(cut.contains(" of 100001 differences shown (--max-report-size 300000)"));

    let Some(chrome) = chromium() else { return };
    let start = Instant::now();
    let dom = dump_dom(&chrome, &page, "q=f054321", BIG_TIMEOUT);
    eprintln!(
        "100000 differences: chromium filter took {:?}",
        start.elapsed()
    );
    assert_eq!(info(&dom), "1 of 100001 differences match");
    assert_eq!(
        entry_paths(section(&dom, "results", "<button id=\"more\"")),
        ["d054/f054321"]
    );
    // A filter matching many shows one page of them and offers more.
    let dom = dump_dom(&chrome, &page, "q=d054/", BIG_TIMEOUT);
    assert_eq!(info(&dom), "1000 of 100001 differences match");
    let shown = entries(section(&dom, "results", "<button id=\"more\"")).len();
    assert!(
        shown > 0 && shown < 1000,
        "a page of matches, not all: {shown}"
    );
    assert!(dom.contains("<button id=\"more\" class=\"more\""));
    // Unfiltered: the tree draws its 100 top-level nodes, not 100 000 entries (only the
    // inputs' own difference is an entry at the top).
    let dom = dump_dom(&chrome, &page, "", BIG_TIMEOUT);
    let tree = section(&dom, "tree", "<div id=\"results\"");
    assert_eq!(count(tree, "<details class=\"node\""), 100);
    assert!(tree.contains("<summary><code>d054/</code><span class=\"count\"> (1000)</span>"));
    assert_eq!(entry_paths(tree), ["input"]);
    // The cut page loads too, with its note.
    let dom = dump_dom(&chrome, &cut_page, "q=d000/f000000", BIG_TIMEOUT);
    assert_eq!(
        entry_paths(section(&dom, "results", "<button id=\"more\"")),
        ["d000/f000000"]
    );
}

/// The hint fixtures' rebuild pair: two builds with different SOURCE_DATE_EPOCH values,
/// build directories, machine IDs (testdata/hints/README.md).
const REBUILD: [&str; 2] = [
    "testdata/hints/rebuild-left.tar",
    "testdata/hints/rebuild-right.tar",
];

#[test]
fn html_likely_causes_in_chromium() {
    let d = tmpdir();
    let page = html_file(d.path(), "rootfs", REBUILD, &[]);
    let html = read(&page);
    // The hints are static HTML, most entries explained first.
    let ol = section(&html, "hints", "</ol>");
    let ids: Vec<&str> = ol
        .match_indices("<li class=\"hint\" data-id=\"")
        .map(|(i, m)| {
            let t = &ol[i + m.len()..];
            &t[..t.find('"').unwrap()]
        })
        .collect();
    assert_eq!(
        ids,
        [
            "timestamp-shift",
            "random-id",
            "embedded-date",
            "embedded-build-path"
        ]
    );
    assert!(
        ol.contains("29 entries: <code>.</code>, <code>etc</code>"),
        "{ol}"
    );
    assert_eq!(count(ol, "<details class=\"hint-folded\""), 1);
    let Some(chrome) = chromium() else { return };
    // The tree leaves the folded entries out; they are drawn under the hint when it is
    // opened, and not before.
    let dom = dump_dom(&chrome, &page, "", BROWSER_TIMEOUT);
    // 29 entries, the inputs' own difference and 2 sections of the object files.
    assert_eq!(info(&dom), "32 differences (21 folded under likely causes)");
    assert!(entry_paths(section(&dom, "hints", "</ol>")).is_empty());
    let dom = dump_dom(&chrome, &page, "open=all", BROWSER_TIMEOUT);
    let tree = entry_paths(section(&dom, "tree", "<div id=\"results\""));
    let folded = entry_paths(section(&dom, "hints", "</ol>"));
    assert_eq!((tree.len(), folded.len()), (11, 21), "{tree:?} {folded:?}");
    assert!(folded.contains(&"etc/hostname".to_string()), "{folded:?}");
    assert!(!tree.contains(&"etc/hostname".to_string()), "{tree:?}");
    assert!(tree.contains(&"etc/machine-id".to_string()), "{tree:?}");
    // A folded entry is drawn with its fields, like any other.
    let hostname = entries(section(&dom, "hints", "</ol>"))
        .into_iter()
        .find(|(p, _)| p == "etc/hostname")
        .unwrap()
        .1;
    assert!(
        hostname
            .contains("<td class=\"mono\">mtime</td><td class=\"mono\">2023-11-14T22:13:20Z</td>"),
        "{hostname}"
    );
    // The filter finds folded entries too.
    let dom = dump_dom(&chrome, &page, "q=hostname", BROWSER_TIMEOUT);
    assert_eq!(
        entry_paths(section(&dom, "results", "<button id=\"more\"")),
        ["etc/hostname"]
    );
}

/// Thousands of mtimes moved by one shift: one hint in every format; the text and
/// Markdown reports fold them all and stay small; a cut keeps the hint's paths in step.
#[test]
fn one_shift_folds_thousands_of_entries() {
    let d = tmpdir();
    let (l, r) = shift_pair(d.path(), 3000);
    let pair = [l.to_str().unwrap(), r.to_str().unwrap()];
    let j: Value = serde_json::from_str(&report("rootfs", pair, "json", &[])).unwrap();
    let hints = j["hints"].as_array().unwrap();
    assert_eq!(hints.len(), 1, "{hints:?}");
    assert_eq!(hints[0]["id"], "timestamp-shift");
    assert_eq!(hints[0]["paths"].as_array().unwrap().len(), 3000);
    assert!(
        hints[0]["text"]
            .as_str()
            .unwrap()
            .starts_with("3000 mtimes are 2001-09-09T01:46:40Z on the left and 2001-09-09T01:46:41Z on the right: the builds used different SOURCE_DATE_EPOCH values")
    );
    assert_eq!(j["differences"].as_array().unwrap().len(), 3001);
    let text = report("rootfs", pair, "text", &[]);
    assert!(text.len() < 4000, "{}", text.len());
    assert!(text.contains("\n      3000 of them differ in nothing else: folded here"));
    assert_eq!(shown("text", &text), 3001);
    let md = report("rootfs", pair, "markdown", &[]);
    assert!(md.len() < 4000, "{}", md.len());
    assert_eq!(count(&md, "| ~ |"), 1, "only the inputs' own row: {md}");
    assert!(md.contains("<br>_3000 of them differ in nothing else: folded here"));
    // A cut to 10 differences keeps 10 of the hint's paths and says how many it had.
    let j: Value = serde_json::from_str(&report(
        "rootfs",
        pair,
        "json",
        &["--max-entries-shown", "10"],
    ))
    .unwrap();
    assert_eq!(j["hints"][0]["paths"].as_array().unwrap().len(), 10);
    assert_eq!(j["hints"][0]["paths_total"], 3000);
    // The text report lists one difference (the inputs'): nothing is cut from it, and
    // the folded ones take no place among the ten.
    let text = report("rootfs", pair, "text", &["--max-entries-shown", "10"]);
    assert!(
        text.contains("      3000 entries: d000/f000000, "),
        "{text}"
    );
    assert!(
        text.contains("\n      3000 of them differ in nothing else"),
        "{text}"
    );
    assert!(!text.contains("report cut"), "{text}");
}

// ====================================================================== Markdown

#[test]
fn markdown_layout() {
    let md = report("rootfs", ROOTFS, "markdown", &[]);
    let first = md.lines().next().unwrap();
    assert!(
        first.starts_with("## ") && first.contains("different: 30 entries differ"),
        "verdict first: {first}"
    );
    // The summary table comes before the differences.
    let table = md
        .find("| entries changed | 27 | 0 |")
        .expect("summary table");
    let diffs = md.find("### Differences").expect("differences");
    assert!(table < diffs);
    // Grouped by directory.
    for g in ["**<code>etc/</code>**", "**<code>usr/share/doc/</code>**"] {
        assert!(md.contains(g), "group {g}");
    }
    // Content diffs in ```diff fences, folded in <details>.
    assert_eq!(count(&md, "```diff\n"), 3);
    assert!(md.contains("<details><summary><code>etc/hostname</code></summary>\n\n```diff\n--- left/etc/hostname\n+++ right/etc/hostname\n@@ -1 +1 @@\n-repro-left\n+repro-right\n```"));
    assert_eq!(count(&md, "<details>"), count(&md, "</details>"));
    // Nothing is cut at this size.
    assert!(!md.contains("report cut"));
    // Ignored counts under --semantic.
    let md = report("rootfs", ROOTFS, "markdown", &["--semantic"]);
    assert!(md.contains("### Ignored"));
    assert!(
        md.contains("- <code>--ignore-file-timestamps</code> (semantic): 27 ctime differences")
    );
}

#[test]
fn markdown_folds_long_groups_and_keeps_the_default_bound() {
    let d = tmpdir();
    let (l, r) = mtime_pair(d.path(), 3000);
    let args = |extra: &[&str]| -> Vec<OsString> {
        let mut v: Vec<OsString> = vec!["rootfs".into(), "--format".into(), "markdown".into()];
        v.extend(extra.iter().map(OsString::from));
        v.push(l.clone().into());
        v.push(r.clone().into());
        v
    };
    let run = rdiff(args(&[]));
    assert_eq!(run.code(), 1);
    let md = run.stdout_text();
    assert!(md.len() <= 60_000, "markdown is {} bytes", md.len());
    assert!(
        md.len() > 50_000,
        "the bound is used, not wasted: {}",
        md.len()
    );
    assert!(
        md.contains(" of 3001 differences shown (the Markdown size bound of 60000 bytes)"),
        "no cut note"
    );
    assert!(
        md.contains("| entries changed | 3000 | 0 |"),
        "summary complete"
    );
    assert!(
        md.contains("<details><summary><code>d000/</code>"),
        "long group folded"
    );
    // An explicit --max-report-size replaces the default bound.
    let run = rdiff(args(&["--max-report-size", "10000000"]));
    let full = run.stdout_text();
    assert!(full.len() > 60_000);
    assert!(!full.contains("report cut"));
    // Other formats have no default bound.
    let run = rdiff(
        ["rootfs", "--format", "text"]
            .iter()
            .map(OsString::from)
            .chain([l.clone().into(), r.clone().into()]),
    );
    assert!(!run.stdout_text().contains("report cut"));
}

// ========================================================================= JUnit

const JUNIT_PY: &str = r#"
import json, sys
from junitparser import JUnitXml, TestSuite
x = JUnitXml.fromfile(sys.argv[1])
suites = [x] if isinstance(x, TestSuite) else list(x)
out = []
for s in suites:
    cases = []
    for c in s:
        cases.append({"name": c.name, "classname": c.classname, "passed": c.is_passed,
                      "results": [{"kind": type(r).__name__, "message": r.message,
                                   "text": r.text} for r in c.result]})
    out.append({"name": s.name, "tests": s.tests, "failures": s.failures,
                "errors": s.errors, "cases": cases,
                "properties": {p.name: p.value for p in s.properties()}})
json.dump(out, sys.stdout)
"#;

/// JUnit XML as junitparser reads it: suites with their cases and properties.
fn junitparser(python: &Path, xml: &str) -> Result<Value, String> {
    let d = tmpdir();
    let f = d.path().join("junit.xml");
    fs::write(&f, xml).unwrap();
    let o = std::process::Command::new(python)
        .args(["-c", JUNIT_PY])
        .arg(&f)
        .output()
        .expect("python");
    if !o.status.success() {
        return Err(String::from_utf8_lossy(&o.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&o.stdout).expect("script output"))
}

fn suite<'a>(suites: &'a Value, name: &str) -> &'a Value {
    suites
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no suite {name} in {suites}"))
}

fn failing_cases(s: &Value) -> BTreeMap<String, Value> {
    s["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| {
            let r = c["results"].as_array().unwrap();
            assert_eq!(r.len(), 1, "{c}");
            assert_eq!(r[0]["kind"], "Failure", "{c}");
            (c["name"].as_str().unwrap().to_string(), r[0].clone())
        })
        .collect()
}

/// Every difference of the JSON report is a failing case named after its path in the
/// suite of its part; parts without differences pass; nothing else fails.
fn check_junit_against_json(suites: &Value, j: &Value) {
    let mut want: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for p in j["parts"].as_array().unwrap() {
        want.entry(p.as_str().unwrap().into()).or_default();
    }
    for d in j["differences"].as_array().unwrap() {
        want.entry(d["part"].as_str().unwrap().into())
            .or_default()
            .insert(json_path(&d["path"]));
    }
    let names: BTreeSet<String> = suites
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .filter(|n| n != "ignored" && n != "likely causes")
        .collect();
    assert_eq!(names, want.keys().cloned().collect(), "one suite per part");
    // The likely causes: a suite of passing cases, one per hint, named by its id.
    let hints = j["hints"].as_array().unwrap();
    let has_causes = suites
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s["name"] == "likely causes");
    assert_eq!(
        has_causes,
        !hints.is_empty(),
        "a likely-causes suite when there are hints"
    );
    if has_causes {
        let causes = suite(suites, "likely causes");
        assert_eq!(causes["failures"], 0);
        let cases: Vec<&Value> = causes["cases"].as_array().unwrap().iter().collect();
        assert!(cases.iter().all(|c| c["passed"] == true), "{causes}");
        let ids: Vec<&Value> = hints.iter().map(|h| &h["id"]).collect();
        let names: Vec<&Value> = cases.iter().map(|c| &c["name"]).collect();
        assert_eq!(names, ids, "one case per hint, in the report's order");
    }
    let mut total = 0;
    for (part, paths) in &want {
        let s = suite(suites, part);
        let failing: BTreeSet<String> = failing_cases(s).into_keys().collect();
        assert_eq!(&failing, paths, "suite {part}");
        assert_eq!(
            s["failures"],
            paths.len(),
            "suite {part} failures attribute"
        );
        assert!(s["tests"].as_u64().unwrap() >= 1, "suite {part} has a test");
        total += paths.len();
        if paths.is_empty() {
            let cases = s["cases"].as_array().unwrap();
            assert!(!cases.is_empty() && cases.iter().all(|c| c["passed"] == true));
        }
    }
    assert_eq!(total, j["differences"].as_array().unwrap().len());
    // The rule suite passes.
    let ign = suite(suites, "ignored");
    assert_eq!(ign["failures"], 0);
    assert_eq!(
        ign["cases"].as_array().unwrap().len(),
        j["ignored"].as_array().unwrap().len(),
        "one case per rule and field"
    );
}

#[test]
fn junit_rootfs_read_by_junitparser() {
    let Some(py) = python_junitparser() else {
        return;
    };
    for extra in [&[][..], &["--semantic"][..]] {
        let xml = report("rootfs", ROOTFS, "junit", extra);
        let suites = junitparser(&py, &xml).expect("junitparser reads it");
        let j: Value = serde_json::from_str(&report("rootfs", ROOTFS, "json", extra)).unwrap();
        check_junit_against_json(&suites, &j);
    }
    let xml = report("rootfs", ROOTFS, "junit", &[]);
    let suites = junitparser(&py, &xml).unwrap();
    // The inputs as wholes: their own suite, failing on their SHA-256, with both
    // SHA-256 lines as sha256sum prints them in its properties.
    let input = suite(&suites, "input");
    let input_fails = failing_cases(input);
    assert_eq!(input_fails["input"]["message"], "changed: sha256");
    assert_eq!(
        input["properties"],
        serde_json::json!({
            "left.sha256": sha256sum_line(ROOTFS[0]),
            "right.sha256": sha256sum_line(ROOTFS[1]),
        })
    );
    let fails = failing_cases(suite(&suites, "rootfs"));
    assert_eq!(fails.len(), 30);
    // Failures carry the fields and the diff.
    let h = &fails["etc/hostname"];
    assert_eq!(h["message"], "changed: size, ctime, content");
    let text = h["text"].as_str().unwrap();
    assert!(text.contains("size: 11 -> 12\n"), "{text}");
    assert!(text.contains("-repro-left\n+repro-right\n"), "{text}");
    assert!(
        fails["usr/bin/ping"]["text"]
            .as_str()
            .unwrap()
            .contains("binary content differs; first difference at byte 70000 (0x11170)")
    );
    assert!(
        fails.contains_key("usr/share/doc/caf\\xe9.txt"),
        "{:?}",
        fails.keys()
    );
    assert!(fails["usr/share/doc/removed.txt"]["message"] == "removed");
    // Semantic: the rules that hid something are passing cases with their counts.
    let xml = report("rootfs", ROOTFS, "junit", &["--semantic"]);
    let suites = junitparser(&py, &xml).unwrap();
    let ign = suite(&suites, "ignored");
    let names: Vec<&str> = ign["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"ignored by --ignore-file-timestamps (ctime)"),
        "{names:?}"
    );
    assert!(xml.contains("27 ctime difference(s) ignored by --ignore-file-timestamps"));
}

#[test]
fn junit_image_one_suite_per_part() {
    let Some(py) = python_junitparser() else {
        return;
    };
    let xml = report("image", IMAGE, "junit", &[]);
    let suites = junitparser(&py, &xml).expect("junitparser reads it");
    let j: Value = serde_json::from_str(&report("image", IMAGE, "json", &[])).unwrap();
    check_junit_against_json(&suites, &j);
    let names: BTreeSet<&str> = suites
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "config", "ignored", "index", "input", "layers/0", "layers/1", "manifest"
        ])
    );
    // Two OCI layout directories: no SHA-256 of their own, so the input suite passes
    // and carries no (empty) <properties>.
    let input = suite(&suites, "input");
    assert_eq!(input["failures"], 0);
    assert_eq!(input["properties"], serde_json::json!({}));
    assert!(!xml.contains("<properties>"), "{xml}");
    let l1 = failing_cases(suite(&suites, "layers/1"));
    assert!(
        l1["layers/1/etc/hostname"]["text"]
            .as_str()
            .unwrap()
            .contains("-base-host\n+chgd-host")
    );
}

#[test]
fn junit_equal_comparison_is_a_passing_suite() {
    let Some(py) = python_junitparser() else {
        return;
    };
    // Byte-identical inputs in strict mode; one tree in two byte-different forms under
    // --semantic (in strict mode those differ: see
    // byte_different_forms_of_one_tree_differ_in_strict_mode_only).
    for (cmd, pair, extra) in [
        ("rootfs", ROOTFS_SAME, &[][..]),
        ("rootfs", ROOTFS_FORMS, &["--semantic"][..]),
        ("image", [IMAGE[0], IMAGE[0]], &[][..]),
    ] {
        let mut args = vec!["--format", "junit"];
        args.extend_from_slice(extra);
        let r = compare(cmd, pair, &args);
        assert_eq!(r.code(), 0, "{cmd} {pair:?}: {}", r.stderr);
        let suites = junitparser(&py, &r.stdout_text()).expect("junitparser reads it");
        let all: Vec<&Value> = suites.as_array().unwrap().iter().collect();
        let cases: Vec<&Value> = all
            .iter()
            .flat_map(|s| s["cases"].as_array().unwrap())
            .collect();
        assert!(
            !cases.is_empty(),
            "{cmd}: an equal run still has test cases"
        );
        assert!(cases.iter().all(|c| c["passed"] == true), "{cmd}: {suites}");
        assert!(all.iter().all(|s| s["failures"] == 0 && s["errors"] == 0));
        assert!(all.iter().any(|s| s["tests"].as_u64().unwrap() >= 1));
    }
}

#[test]
fn junit_messages_keep_field_names() {
    let xml = report("image", IMAGE, "junit", &[]);
    assert!(
        xml.contains("config.Env.LANG, config.Labels.org.example.name"),
        "field names and keys are case-sensitive; message was: {}",
        xml.lines()
            .find(|l| l.contains("<failure message=\"changed: digest, size, config"))
            .unwrap_or("")
    );
}

fn special_names_pair(dir: &Path, names: &[&str]) -> (PathBuf, PathBuf) {
    let (l, r) = (dir.join("l.tar"), dir.join("r.tar"));
    for (p, data) in [(&l, b"one\n"), (&r, b"two\n")] {
        write_tar(p, names.iter().map(|n| file(n, 5, data)));
    }
    (l, r)
}

#[test]
fn junit_well_formed_with_markup_and_control_characters() {
    let d = tmpdir();
    let names = ["a<b&c\"d'e>f", "ctl\u{1}\u{1b}\u{7f}z", "amp&amp;]]>x"];
    let (l, r) = special_names_pair(d.path(), &names);
    let run = rdiff([
        OsStr::new("rootfs"),
        OsStr::new("--format"),
        OsStr::new("junit"),
        l.as_os_str(),
        r.as_os_str(),
    ]);
    assert_eq!(run.code(), 1, "{}", run.stderr);
    let xml = run.stdout_text();
    assert!(
        !xml.chars()
            .any(|c| (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r')),
        "a control character XML 1.0 forbids"
    );
    let Some(py) = python_junitparser() else {
        return;
    };
    let suites = junitparser(&py, &xml).expect("well-formed JUnit");
    let fails = failing_cases(suite(&suites, "rootfs"));
    assert_eq!(fails.len(), 3);
    assert!(fails.contains_key("a<b&c\"d'e>f"), "{:?}", fails.keys());
    assert!(fails.contains_key("amp&amp;]]>x"), "{:?}", fails.keys());
    assert!(
        fails
            .keys()
            .any(|k| k.starts_with("ctl") && k.ends_with('z'))
    );
    assert!(
        fails["a<b&c\"d'e>f"]["text"]
            .as_str()
            .unwrap()
            .contains("--- left/a<b&c\"d'e>f")
    );
}

#[test]
fn junit_well_formed_with_noncharacters() {
    let d = tmpdir();
    let (l, r) = special_names_pair(d.path(), &["nonchar\u{ffff}x", "nonchar\u{fffe}y"]);
    let run = rdiff([
        OsStr::new("rootfs"),
        OsStr::new("--format"),
        OsStr::new("junit"),
        l.as_os_str(),
        r.as_os_str(),
    ]);
    assert_eq!(run.code(), 1, "{}", run.stderr);
    let xml = run.stdout_text();
    assert!(
        !xml.contains(['\u{fffe}', '\u{ffff}']),
        "characters XML 1.0 forbids are written as they are"
    );
    let Some(py) = python_junitparser() else {
        return;
    };
    junitparser(&py, &xml).expect("well-formed JUnit");
}

// ============================================================== diffoscope JSON

/// Our JSON follows diffoscope's node shape everywhere.
fn check_diffoscope_node(v: &Value, top: bool) {
    let o = v.as_object().expect("node is an object");
    for k in o.keys() {
        let allowed = ["source1", "source2", "unified_diff", "details", "comments"];
        assert!(
            allowed.contains(&k.as_str()) || (top && k == "diffoscope-json-version"),
            "unknown key {k}"
        );
    }
    assert!(o["source1"].is_string() && o["source2"].is_string(), "{v}");
    assert!(
        o["unified_diff"].is_string() || o["unified_diff"].is_null(),
        "{v}"
    );
    if let Some(c) = o.get("comments") {
        assert!(c.as_array().unwrap().iter().all(Value::is_string));
    }
    if let Some(d) = o.get("details") {
        let d = d.as_array().unwrap();
        assert!(!d.is_empty());
        for n in d {
            check_diffoscope_node(n, false);
        }
    }
}

fn diffoscope_loads(cmd: &str, pair: [&str; 2], expect: &[&str]) {
    let ours = report(cmd, pair, "diffoscope-json", &[]);
    let v: Value = serde_json::from_str(&ours).unwrap();
    assert_eq!(v["diffoscope-json-version"], 1);
    assert_eq!(v["source1"], pair[0]);
    assert_eq!(v["source2"], pair[1]);
    check_diffoscope_node(&v, true);
    let Some(dfs) = diffoscope() else { return };
    let d = tmpdir();
    let f = d.path().join("rdiff.json");
    fs::write(&f, &ours).unwrap();
    let mut c = std::process::Command::new(&dfs);
    c.arg("--load-existing-diff").arg(&f).args(["--text", "-"]);
    let (code, out, err) = run_tool(&mut c, TIMEOUT, "diffoscope --load-existing-diff");
    assert!(code == 0 || code == 1, "diffoscope exit {code}: {err}");
    let text = String::from_utf8_lossy(&out);
    assert!(err.trim().is_empty() || !err.contains("Traceback"), "{err}");
    for e in expect {
        assert!(text.contains(e), "diffoscope's text has no {e:?}:\n{text}");
    }
    // diffoscope writes back what it read: our file is in its own model.
    let back = d.path().join("back.json");
    let mut c = std::process::Command::new(&dfs);
    c.arg("--load-existing-diff")
        .arg(&f)
        .arg("--json")
        .arg(&back);
    let (code, _, err) = run_tool(&mut c, TIMEOUT, "diffoscope --json");
    assert!(code == 0 || code == 1, "{err}");
    let again: Value = serde_json::from_str(&read(&back)).unwrap();
    assert_eq!(again, v, "diffoscope's re-export differs from our file");
}

#[test]
fn diffoscope_loads_rootfs_report() {
    diffoscope_loads(
        "rootfs",
        ROOTFS,
        &[
            "--- testdata/rootfs/left.tar.zst",
            "+++ testdata/rootfs/right.tar.zst",
            "├── file list",
            "│ -usr/share/doc/removed.txt",
            "│ +usr/share/doc/added.txt",
            "├── etc/hostname",
            "│ -size: 11",
            "│ │ +repro-right",
            "├── usr/share/doc/big.txt",
            "├── usr/share/doc/caf\\xe9.txt",
            "binary content differs; first difference at byte 70000 (0x11170)",
            "├── input",
            &format!("│ -sha256: sha256:{}", sha256_hex(&repo().join(ROOTFS[0]))),
            &format!("│ +sha256: sha256:{}", sha256_hex(&repo().join(ROOTFS[1]))),
            &format!("│┄ sha256 {}", sha256sum_line(ROOTFS[0])),
            &format!("│┄ sha256 {}", sha256sum_line(ROOTFS[1])),
        ],
    );
}

#[test]
fn diffoscope_loads_image_report() {
    diffoscope_loads(
        "image",
        IMAGE,
        &[
            "--- testdata/image/oci/base",
            "├── manifest",
            "├── config",
            "│ +config.Env.LANG: \"LANG=C.UTF-8\"",
            "├── layers/1/etc/hostname",
            "│ │ +chgd-host",
        ],
    );
}

#[test]
fn diffoscope_loads_equal_and_cut_reports() {
    diffoscope_loads("rootfs", ROOTFS_SAME, &["identical: no differences"]);
    diffoscope_loads(
        "rootfs",
        ROOTFS_FORMS,
        &[
            "not bit-for-bit identical (2 differences: input sha256, input compression)",
            "├── input",
            "│ -compression: zstd",
            "│ +compression: gzip",
        ],
    );
    let ours = report(
        "rootfs",
        ROOTFS,
        "diffoscope-json",
        &["--max-entries-shown", "2"],
    );
    let v: Value = serde_json::from_str(&ours).unwrap();
    check_diffoscope_node(&v, true);
    assert!(v["comments"].as_array().unwrap().iter().any(|c| {
        c.as_str()
            .unwrap()
            .starts_with("report cut: 2 of 31 differences shown")
    }));
}

// ======================================================================= limits

/// How many differences a report in `fmt` lists.
/// The differences a text or Markdown report folds under its hints: `N of them
/// differ in nothing else: folded here` under each.
fn folded_in(out: &str) -> usize {
    out.lines()
        .filter(|l| l.contains(" in nothing else: folded here"))
        .map(|l| {
            let n = l.trim_start_matches([' ', '<', 'b', 'r', '>', '_']);
            n[..n.find(' ').unwrap()].parse::<usize>().unwrap()
        })
        .sum()
}

fn shown(fmt: &str, out: &str) -> usize {
    match fmt {
        // Entries are `  ~ name` lines; the inputs as wholes are the `input` heading;
        // and those folded under a hint.
        "text" => {
            out.lines()
                .filter(|l| {
                    *l == "input"
                        || l.starts_with("  ~ ")
                        || l.starts_with("  + ")
                        || l.starts_with("  - ")
                })
                .count()
                + folded_in(out)
        }
        "json" => serde_json::from_str::<Value>(out).unwrap()["differences"]
            .as_array()
            .unwrap()
            .len(),
        "html" => html_data(out)["differences"].as_array().unwrap().len(),
        "markdown" => {
            out.lines()
                .filter(|l| {
                    l.starts_with("| ~ |") || l.starts_with("| + |") || l.starts_with("| - |")
                })
                .count()
                + folded_in(out)
        }
        // A part whose differences were all or partly cut gets one failing case that
        // says so; it lists no difference.
        "junit" => count(out, "<failure ") - count(out, "cut from this report"),
        "diffoscope-json" => {
            let v: Value = serde_json::from_str(out).unwrap();
            let mut n = 0;
            for d in v["details"].as_array().map(Vec::as_slice).unwrap_or(&[]) {
                if d["source1"] == "file list" {
                    n += d["unified_diff"]
                        .as_str()
                        .unwrap()
                        .lines()
                        .filter(|l| !l.starts_with("@@"))
                        .count();
                } else {
                    n += 1;
                }
            }
            n
        }
        f => panic!("{f}"),
    }
}

/// The cut note, in each format's own words.
fn cut_said(fmt: &str, out: &str, shown: usize, total: &str, by: &str) -> bool {
    let note = format!("report cut: {shown} of {total} differences shown ({by})");
    match fmt {
        "json" => {
            let v: Value = serde_json::from_str(out).unwrap();
            v["cut"]["differences_shown"] == shown
                && v["cut"]["differences_total"] == total.replace(' ', "").parse::<u64>().unwrap()
                && v["cut"]["by"] == by
        }
        _ => out.contains(&note),
    }
}

#[test]
fn max_entries_shown_in_every_format() {
    // The rootfs pair: the inputs as wholes and 30 entries. The image pair is two
    // directories: no input difference.
    for (cmd, pair, total) in [("rootfs", ROOTFS, "31"), ("image", IMAGE, "4")] {
        let full_json: Value = serde_json::from_str(&report(cmd, pair, "json", &[])).unwrap();
        for f in FORMATS {
            let out = report(cmd, pair, f, &["--max-entries-shown", "3"]);
            // Text and Markdown list three; the entries folded before the third listed
            // one are kept too (they are not listed, and take no place).
            let kept = shown(f, &out);
            match f {
                "text" | "markdown" => {
                    assert_eq!(kept - folded_in(&out), 3, "{cmd} {f}:\n{out}")
                }
                _ => assert_eq!(kept, 3, "{cmd} {f}:\n{out}"),
            }
            assert!(
                cut_said(f, &out, kept, total, "--max-entries-shown 3"),
                "{cmd} {f}: no cut note:\n{out}"
            );
            // The first three, in order, and the summary untouched.
            if f == "json" {
                let v: Value = serde_json::from_str(&out).unwrap();
                assert_eq!(v["summary"], full_json["summary"]);
                assert_eq!(
                    v["differences"].as_array().unwrap()[..],
                    full_json["differences"].as_array().unwrap()[..3]
                );
                assert_eq!(v["equal"], false);
            }
            // At or above the count nothing is cut.
            let out = report(cmd, pair, f, &["--max-entries-shown", total]);
            assert_eq!(shown(f, &out), total.parse::<usize>().unwrap(), "{cmd} {f}");
            assert!(!out.contains("report cut"), "{cmd} {f}");
        }
    }
}

#[test]
fn max_report_size_bounds_every_format() {
    let d = tmpdir();
    let (l, r) = mtime_pair(d.path(), 400);
    // Above the HTML page with no difference left (its style and script, about 12 KB).
    let max = 13_000usize;
    let pair = [l.to_str().unwrap(), r.to_str().unwrap()];
    // 400 entries (or 30) and the inputs as wholes.
    for (cmd_pair, total) in [(pair, "401"), (ROOTFS, "31")] {
        let full_json: Value =
            serde_json::from_str(&report("rootfs", cmd_pair, "json", &[])).unwrap();
        for f in FORMATS {
            let full = report("rootfs", cmd_pair, f, &["--max-report-size", "100000000"]);
            if full.len() <= max {
                // (text of the rootfs pair) nothing to cut at this size.
                assert!(!full.contains("report cut"));
                continue;
            }
            let by = format!("--max-report-size {max}");
            let out = report(
                "rootfs",
                cmd_pair,
                f,
                &["--max-report-size", &max.to_string()],
            );
            assert!(out.len() <= max, "{f}: {} bytes > {max}", out.len());
            let n = shown(f, &out);
            assert!(n < total.parse::<usize>().unwrap(), "{f}: nothing cut");
            assert!(cut_said(f, &out, n, total, &by), "{f}: no cut note:\n{out}");
            if f == "json" {
                let v: Value = serde_json::from_str(&out).expect("still JSON");
                assert_eq!(v["summary"], full_json["summary"]);
            }
            if f == "diffoscope-json" {
                check_diffoscope_node(&serde_json::from_str(&out).unwrap(), true);
            }
        }
    }
    // All six in one run: each file is bounded on its own.
    let mut args: Vec<OsString> = vec![
        "rootfs".into(),
        "--max-report-size".into(),
        max.to_string().into(),
    ];
    for f in FORMATS {
        args.push(out_flag(f).into());
        args.push(d.path().join(format!("all.{f}")).into());
    }
    args.extend([l.clone().into(), r.clone().into()]);
    let run = rdiff(args);
    assert_eq!(run.code(), 1, "{}", run.stderr);
    for f in FORMATS {
        let out = read(&d.path().join(format!("all.{f}")));
        assert!(out.len() <= max, "{f}: {}", out.len());
        assert!(cut_said(
            f,
            &out,
            shown(f, &out),
            "401",
            &format!("--max-report-size {max}")
        ));
    }
}

#[test]
fn a_limit_too_small_cuts_everything_but_never_fails_the_run() {
    for f in FORMATS {
        let r = compare(
            "rootfs",
            ROOTFS,
            &["--format", f, "--max-report-size", "100"],
        );
        assert_eq!(r.code(), 1, "{f}: {}", r.stderr);
        let out = r.stdout_text();
        assert_eq!(shown(f, &out), 0, "{f}");
        assert!(
            cut_said(f, &out, 0, "31", "--max-report-size 100"),
            "{f}: no cut note:\n{out}"
        );
        let r = compare(
            "rootfs",
            ROOTFS,
            &["--format", f, "--max-entries-shown", "0"],
        );
        assert_eq!(r.code(), 1, "{f}");
        assert_eq!(shown(f, &r.stdout_text()), 0, "{f}");
    }
    // The exit code still tells the truth for an equal pair, and for a pair whose
    // inputs alone differ.
    let limits = ["--max-report-size", "1", "--max-entries-shown", "0"];
    assert_eq!(compare("rootfs", ROOTFS_SAME, &limits).code(), 0);
    assert_eq!(compare("rootfs", ROOTFS_FORMS, &limits).code(), 1);
    let mut semantic = vec!["--semantic"];
    semantic.extend_from_slice(&limits);
    assert_eq!(compare("rootfs", ROOTFS_FORMS, &semantic).code(), 0);
}

#[test]
fn max_diff_lines_cut_is_said_in_every_format() {
    let extra = ["--max-diff-lines", "4"];
    let text = report("rootfs", ROOTFS, "text", &extra);
    assert!(text.contains("[diff cut: 4 of 5 lines shown"), "{text}");
    let j: Value = serde_json::from_str(&report("rootfs", ROOTFS, "json", &extra)).unwrap();
    let h = j["differences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["path"] == "etc/hostname")
        .unwrap();
    assert_eq!(h["content"]["lines"], 5);
    assert_eq!(h["content"]["lines_shown"], 4);
    assert_eq!(h["diff"].as_str().unwrap().lines().count(), 4);
    let md = report("rootfs", ROOTFS, "markdown", &extra);
    assert!(md.contains("_diff cut: 4 of 5 lines shown (--max-diff-lines)_"));
    let dj = report("rootfs", ROOTFS, "diffoscope-json", &extra);
    assert!(dj.contains("\"diff cut: 4 of 5 lines shown (--max-diff-lines)\""));
    let html = report("rootfs", ROOTFS, "html", &extra);
    let data = html_data(&html);
    assert!(
        data["differences"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["content"]["lines_shown"] == 4 && d["content"]["lines"] == 5)
    );
    // Going over is not an error.
    assert_eq!(compare("rootfs", ROOTFS, &extra).code(), 1);
    let Some(chrome) = chromium() else { return };
    let d = tmpdir();
    let page = html_file(d.path(), "rootfs", ROOTFS, &extra);
    let dom = dump_dom(&chrome, &page, "q=hostname", BROWSER_TIMEOUT);
    let res = section(&dom, "results", "<button id=\"more\"");
    assert!(
        res.contains("[diff cut: 4 of 5 lines shown]"),
        "the page says the diff was cut: {res}"
    );
    assert_eq!(spans(res, "del"), ["-repro-left"]);
    assert!(spans(res, "add").is_empty());
}

#[test]
fn junit_says_when_a_diff_was_cut() {
    let xml = report("rootfs", ROOTFS, "junit", &["--max-diff-lines", "4"]);
    let case = &xml[xml.find("name=\"etc/hostname\"").unwrap()..];
    let failure = &case[..case.find("</failure>").unwrap()];
    assert!(failure.contains("-repro-left"));
    assert!(
        failure.contains("diff cut") && failure.contains("4 of 5"),
        "every format says what was cut: {failure}"
    );
}

// ===================================================================== progress

#[test]
fn no_progress_on_a_pipe() {
    let d = tmpdir();
    let (l, r) = mtime_pair(d.path(), 20_000);
    for q in [&[][..], &["--quiet"][..]] {
        for (cmd, pair) in [
            ("rootfs", [l.to_str().unwrap(), r.to_str().unwrap()]),
            ("rootfs", ROOTFS_SAME),
            ("rootfs", ROOTFS_FORMS),
            ("image", IMAGE),
        ] {
            let run = compare(cmd, pair, q);
            assert!(run.code() == 0 || run.code() == 1, "{}", run.stderr);
            assert_eq!(run.stderr, "", "stderr must stay empty on a pipe");
            assert!(!run.stdout_text().contains('\r'));
            assert!(
                !run.stdout_text().contains("\u{1b}["),
                "no escapes on stdout"
            );
        }
    }
}

/// Run a shell command line under `script`, so that it has a terminal; returns what was
/// written to the terminal. None when `script` is missing.
fn under_terminal(cmdline: &str) -> Option<(i32, String)> {
    let script = ["/usr/bin/script", "/bin/script"]
        .into_iter()
        .find(|p| is_executable(Path::new(p)))?;
    let mut c = std::process::Command::new(script);
    c.args(["-qefc", cmdline, "/dev/null"]);
    let (code, out, _) = run_tool(&mut c, BIG_TIMEOUT, "script");
    Some((code, String::from_utf8_lossy(&out).into_owned()))
}

fn sh_quote(p: &Path) -> String {
    format!("'{}'", p.to_str().unwrap().replace('\'', "'\\''"))
}

#[test]
fn progress_goes_to_a_terminal_stderr_only_and_quiet_stops_it() {
    let d = tmpdir();
    let (l, r) = mtime_pair(d.path(), 20_000);
    // The left side arrives on stdin after a pause, so the run lasts well over the half
    // second before bars show, whatever the build profile.
    let line = |quiet: bool, tag: &str| {
        format!(
            "cd {} && {{ sleep 1.5; cat {}; }} | {} rootfs {} --json {} - {} > {}",
            sh_quote(&repo()),
            sh_quote(&l),
            sh_quote(Path::new(RDIFF)),
            if quiet { "--quiet" } else { "" },
            sh_quote(&d.path().join(format!("{tag}.json"))),
            sh_quote(&r),
            sh_quote(&d.path().join(format!("{tag}.txt"))),
        )
    };
    // Without a terminal: nothing on stderr.
    let mut c = std::process::Command::new("sh");
    c.args(["-c", &line(false, "piped")]);
    let (code, _, err) = run_tool(&mut c, BIG_TIMEOUT, "sh");
    assert_eq!(code, 1, "{err}");
    assert_eq!(err, "", "no progress when stderr is a pipe");
    let piped = read(&d.path().join("piped.txt"));
    assert!(piped.starts_with("rdiff rootfs\n"), "{piped}");
    for quiet in [false, true] {
        let tag = format!("tty-{quiet}");
        let Some((code, terminal)) = under_terminal(&line(quiet, &tag)) else {
            run::missing_tool("the terminal half needs `script` (util-linux)");
            return;
        };
        assert_eq!(code, 1, "{terminal}");
        // Standard output (a file here) is the same report as without a terminal.
        assert_eq!(
            read(&d.path().join(format!("{tag}.txt"))),
            piped,
            "quiet={quiet}"
        );
        assert_eq!(
            read(&d.path().join(format!("{tag}.json"))),
            read(&d.path().join("piped.json"))
        );
        if quiet {
            assert_eq!(terminal, "", "--quiet draws nothing");
        } else {
            assert!(
                terminal.contains(" left ") && terminal.contains("right "),
                "bars on a terminal stderr: {terminal:?}"
            );
            // Standard input has no known total: bytes and speed, no empty bar.
            assert!(!terminal.contains("0 B/0 B"), "{terminal:?}");
        }
    }
}

#[test]
fn no_progress_flash_for_short_runs() {
    let line = format!(
        "cd {} && {} rootfs {} {} > /dev/null",
        sh_quote(&repo()),
        sh_quote(Path::new(RDIFF)),
        ROOTFS[0],
        ROOTFS[1]
    );
    let Some((code, terminal)) = under_terminal(&line) else {
        run::missing_tool("`script` (util-linux) is missing");
        return;
    };
    assert_eq!(code, 1);
    assert_eq!(terminal, "", "a ~0.1 s run should draw no bars");
}

// ========================================================= completions, man, help

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let r = rdiff(["completions", shell]);
        assert_eq!(r.code(), 0, "{shell}: {}", r.stderr);
        let s = r.stdout_text();
        assert!(s.len() > 500, "{shell}: {} bytes", s.len());
        for w in ["rootfs", "image", "max-report-size", "diffoscope-json"] {
            assert!(s.contains(w), "{shell} completion lacks {w}");
        }
    }
    assert_eq!(rdiff(["completions", "tcsh"]).code(), 2);
}

#[test]
fn man_page_is_roff_for_both_subcommands() {
    let r = rdiff(["man"]);
    assert_eq!(r.code(), 0, "{}", r.stderr);
    let m = r.stdout_text();
    assert!(
        m.starts_with(".ie") || m.starts_with(".TH") || m.starts_with(".\\\""),
        "{}",
        &m[..m.len().min(200)]
    );
    assert!(m.contains(".TH rdiff"), "title header");
    assert!(m.contains(".SH NAME") && m.contains(".SH SYNOPSIS"));
    for w in ["rootfs", "image"] {
        assert!(m.contains(w), "man page lacks {w}");
    }
    // `rdiff man help` is no page, so the pages do not point to one.
    assert!(!m.contains("rdiff\\-help"), "{m}");
    assert_eq!(rdiff(["man", "help"]).code(), 2);
    // The examples keep their line breaks (roff would fill them into one paragraph).
    let r = rdiff(["man", "rootfs"]);
    let m = r.stdout_text();
    let at = m
        .find(".SH EXAMPLES\n.nf\n")
        .expect("an EXAMPLES section, verbatim");
    let end = at + m[at..].find("\n.fi\n").expect("the verbatim block ends");
    let block = &m[at..end];
    assert!(
        block.contains("\n  rdiff rootfs a.tar.zst b.tar.zst ")
            && block.contains("\n  zstd \\-dc b.tar.zst | rdiff rootfs a.tar.zst \\-\n"),
        "{block}"
    );
}

#[test]
fn help_shows_examples() {
    for cmd in ["rootfs", "image"] {
        let r = rdiff([cmd, "--help"]);
        assert_eq!(r.code(), 0);
        let h = r.stdout_text();
        assert!(h.contains("Examples:"), "{cmd} --help");
        assert!(
            h.contains(&format!("rdiff {cmd} ")),
            "{cmd}: an example line"
        );
        for flag in [
            "--html",
            "--markdown",
            "--junit",
            "--diffoscope-json",
            "--max-report-size",
            "--max-entries-shown",
            "--quiet",
        ] {
            assert!(h.contains(flag), "{cmd} --help lacks {flag}");
        }
    }
    for cmd in ["completions", "man"] {
        let r = rdiff([cmd, "--help"]);
        assert_eq!(r.code(), 0);
        assert!(r.stdout_text().contains("Example:"), "{cmd} --help");
        // Flags of a comparison are not offered where nothing is compared.
        assert!(!r.stdout_text().contains("--threads"), "{cmd} --help");
    }
    for cmd in ["rootfs", "image"] {
        assert!(
            rdiff([cmd, "--help"]).stdout_text().contains("--threads"),
            "{cmd}"
        );
    }
}

/// The summary table is drawn in ASCII when the locale is not UTF-8 (`LANG=C`), and in
/// Unicode when it is, or when no locale is set; nothing else in the text changes.
#[test]
fn text_table_in_ascii_when_the_locale_is_not_utf8() {
    let text = |env: &[(&str, &str)]| {
        let mut cmd = run::rdiff(["rootfs", "--semantic"])
            .args([
                "testdata/rootfs/left.tar.zst",
                "testdata/rootfs/right.tar.zst",
            ])
            .in_repo()
            .timeout(TIMEOUT)
            .piped()
            .env_remove("LC_ALL")
            .env_remove("LC_CTYPE")
            .env_remove("LANG");
        for (k, v) in env {
            cmd = cmd.env(k, v);
        }
        let out = cmd.run();
        assert_eq!(out.status, Some(1));
        out.stdout_text()
    };
    let unicode = text(&[("LANG", "en_US.UTF-8")]);
    assert!(unicode.contains("┌─"), "{unicode}");
    assert_eq!(text(&[]), unicode);
    assert_eq!(text(&[("LC_ALL", "C.utf8"), ("LANG", "C")]), unicode);
    for env in [
        &[("LANG", "C")][..],
        &[("LC_ALL", "POSIX")],
        &[("LC_CTYPE", "de_DE.ISO-8859-1")],
    ] {
        let ascii = text(env);
        assert!(ascii.is_ascii(), "{env:?}: {ascii}");
        assert!(
            ascii.contains("| entries added   |           2 |       0 |"),
            "{ascii}"
        );
        let strip = |s: &str| -> Vec<String> {
            s.lines()
                .filter(|l| !l.starts_with(['+', '|', '┌', '│', '╞', '└']))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(strip(&ascii), strip(&unicode), "{env:?}");
    }
}

/// What `--low-memory` costs is said in the same words by `--help` and the README.
#[test]
fn low_memory_cost_is_said_the_same_in_help_and_readme() {
    let help = rdiff(["rootfs", "--help"]).stdout_text();
    let at = help.find("\n      --low-memory ").unwrap() + 1;
    let text: String = help[at..]
        .lines()
        .enumerate()
        .take_while(|(i, l)| *i == 0 || !(l.trim_start().starts_with('-') || l.is_empty()))
        .map(|(_, l)| l)
        .map(|l| l.trim())
        .collect::<Vec<_>>()
        .join(" ");
    let text = text.trim_start_matches("--low-memory").trim().to_string();
    assert!(text.contains("instead of 279 MiB"), "{text}");
    let readme = fs::read_to_string(repo().join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("| `--low-memory` | {text} (")),
        "{text}"
    );
}

/// `--timeout 0` means no limit, as in timeout(1) and curl.
#[test]
fn timeout_zero_is_no_limit() {
    let (l, r) = (
        "testdata/rootfs/left.tar.zst",
        "testdata/rootfs/right.tar.zst",
    );
    let out = rdiff(["rootfs", "--timeout", "0", "--quiet", l, r]);
    assert_eq!(out.code(), 1, "{}", out.stderr);
    assert_eq!(out.stderr, "");
}
