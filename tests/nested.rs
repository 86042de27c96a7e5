//! Nested formats: differing files opened inside (testdata/make-nested.sh made the
//! pairs with gzip, zip, python's zipfile, GNU tar, xz, zstd, bzip2, dpkg-deb, GNU cpio
//! and rpmbuild),
//! their differences at `OUTER!/INNER` paths and their header fields, under strict and
//! semantic policies; the bounds (depth, bytes) and malformed contents as notes.

use std::process::Command;

use serde_json::Value;

const RDIFF: &str = env!("CARGO_BIN_EXE_rdiff");

fn fixture(name: &str) -> String {
    format!("{}/testdata/nested/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Run `rdiff rootfs ARGS LEFT RIGHT` with a JSON report: exit code and report.
fn run(args: &[&str], pair: [&str; 2]) -> (i32, Value) {
    let out = Command::new(RDIFF)
        .args(["rootfs", "--format", "json"])
        .args(args)
        .args(pair.map(fixture))
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    assert!(
        code == 0 || code == 1,
        "exit {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (code, serde_json::from_slice(&out.stdout).unwrap())
}

fn main_pair(args: &[&str]) -> Value {
    run(args, ["left.tar", "right.tar"]).1
}

/// The difference at `path`.
fn diff<'a>(r: &'a Value, path: &str) -> &'a Value {
    r["differences"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["path"] == path)
        .unwrap_or_else(|| panic!("no difference at {path}: {}", paths(r).join("\n")))
}

fn paths(r: &Value) -> Vec<String> {
    r["differences"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap().to_string())
        .collect()
}

/// The names of the fields of the difference at `path`, and each one's two values.
fn fields(r: &Value, path: &str) -> Vec<(String, String, String)> {
    diff(r, path)["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let v = |x: &Value| x.as_str().map_or(x.to_string(), str::to_string);
            (
                f["name"].as_str().unwrap().to_string(),
                v(&f["left"]),
                v(&f["right"]),
            )
        })
        .collect()
}

fn names(r: &Value, path: &str) -> Vec<String> {
    fields(r, path).into_iter().map(|f| f.0).collect()
}

fn notes(r: &Value) -> Vec<(String, String, String)> {
    r["notes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let s = |k: &str| n[k].as_str().unwrap().to_string();
            (s("path"), s("kind"), s("message"))
        })
        .collect()
}

#[test]
fn gzip_header_and_stream() {
    let r = main_pair(&[]);
    let f = fields(&r, "usr/share/doc/pkg/changelog.gz");
    assert!(f.contains(&(
        "gzip.mtime".into(),
        "1700000000".into(),
        "1710000000".into()
    )));
    // Same text inside: no member difference.
    assert!(
        !paths(&r)
            .iter()
            .any(|p| p.starts_with("usr/share/doc/pkg/changelog.gz!/"))
    );
    let notes = diff(&r, "opt/app/notes.lz!/notes")["diff"]
        .as_str()
        .unwrap();
    assert!(notes.contains("-the old line\n+the new line\n"), "{notes}");
    let news = diff(&r, "usr/share/doc/pkg/NEWS.gz!/NEWS");
    let text = news["diff"].as_str().unwrap();
    assert!(text.contains("-the old line\n+the new line\n"), "{text}");
    assert!(text.starts_with("--- left/usr/share/doc/pkg/NEWS.gz!/NEWS\n"));
}

#[test]
fn other_compressions_header_fields() {
    let r = main_pair(&[]);
    let one = |p: &str, name: &str, l: &str, rr: &str| {
        assert!(
            fields(&r, p).contains(&(name.into(), l.into(), rr.into())),
            "{p}: {:?}",
            fields(&r, p)
        );
        assert!(!paths(&r).iter().any(|x| x.starts_with(&format!("{p}!/"))));
    };
    one("opt/app/data.xz", "xz.check", "CRC64", "CRC32");
    one("opt/app/data.zst", "zstd.checksum", "yes", "no");
    one("opt/app/data.bz2", "bzip2.block_size", "900k", "100k");
}

#[test]
fn compressed_tar_is_opened_in_one_step() {
    let r = main_pair(&[]);
    let d = diff(&r, "opt/app/src.tar.gz!/src/README");
    assert!(d["diff"].as_str().unwrap().contains("+readme, edited"));
}

#[test]
fn zip_members_and_their_fields() {
    let r = main_pair(&[]);
    let m = "opt/app/app.jar!/META-INF/MANIFEST.MF";
    assert_eq!(names(&r, m), ["size", "mtime", "content"]);
    assert!(
        diff(&r, m)["diff"]
            .as_str()
            .unwrap()
            .contains("+Built-By: bob")
    );
    assert!(
        fields(&r, "opt/app/app.jar!/com/example/App.class").contains(&(
            "mtime".into(),
            "2023-11-14T22:13:20Z".into(),
            "2024-03-09T16:00:00Z".into()
        ))
    );
    // Info-ZIP's extended timestamp, decoded.
    assert!(fields(&r, "opt/app/info.zip!/b.txt").contains(&(
        "zip.extra.0x5455".into(),
        "mtime 2023-11-14T22:13:20Z".into(),
        "mtime 2024-03-09T16:00:00Z".into()
    )));
    assert!(!paths(&r).contains(&"opt/app/info.zip!/a.txt".to_string()));
}

#[test]
fn deb_members_opened_in_turn() {
    let r = main_pair(&[]);
    for m in ["debian-binary", "control.tar.xz", "data.tar.xz"] {
        let p = format!("var/cache/hello.deb!/{m}");
        assert!(names(&r, &p).contains(&"mtime".to_string()), "{p}");
    }
    let d = diff(&r, "var/cache/hello.deb!/data.tar.xz!/usr/bin/hello");
    assert!(d["diff"].as_str().unwrap().contains("+echo hello, world"));
}

#[test]
fn malformed_contents_are_notes() {
    let (code, r) = run(&[], ["left.tar", "right.tar"]);
    assert_eq!(code, 1);
    let n = notes(&r);
    assert!(n.contains(&(
        "opt/app/broken.gz".into(),
        "nested-malformed".into(),
        "right is not a readable gzip: truncated gzip stream after 26 bytes".into()
    )));
    assert!(
        n.iter()
            .any(|x| x.0 == "opt/app/corrupt.jar" && x.1 == "nested-malformed"),
        "{n:?}"
    );
}

#[test]
fn semantic_hides_times_inside_too() {
    let r = main_pair(&["--semantic"]);
    // The outer content difference stays; the times inside are counted as ignored.
    assert_eq!(names(&r, "usr/share/doc/pkg/changelog.gz"), ["content"]);
    assert!(!paths(&r).contains(&"opt/app/app.jar!/com/example/App.class".to_string()));
    assert!(!paths(&r).contains(&"opt/app/info.zip!/b.txt".to_string()));
    assert_eq!(
        names(&r, "opt/app/app.jar!/META-INF/MANIFEST.MF"),
        ["size", "content"]
    );
    let ignored = ignored_rules(&r);
    for f in ["mtime", "gzip", "zip"] {
        assert!(
            ignored.contains(&(f.into(), "ignore-file-timestamps".into())),
            "{f}: {ignored:?}"
        );
    }
    // What is not a time stays.
    assert!(names(&r, "opt/app/data.xz").contains(&"xz.check".to_string()));
}

#[test]
fn no_deep_opens_nothing() {
    let r = main_pair(&["--no-deep"]);
    assert!(!paths(&r).iter().any(|p| p.contains("!/")));
    assert_eq!(names(&r, "usr/share/doc/pkg/changelog.gz"), ["content"]);
    assert!(notes(&r).is_empty());
}

#[test]
fn max_depth_stops_with_a_note() {
    let r = main_pair(&["--max-depth", "1"]);
    assert!(paths(&r).contains(&"var/cache/hello.deb!/data.tar.xz".to_string()));
    assert!(!paths(&r).iter().any(|p| p.contains("data.tar.xz!/")));
    assert!(notes(&r).contains(&(
        "var/cache/hello.deb!/data.tar.xz".into(),
        "nested-not-opened".into(),
        "not opened as xz: nested deeper than --max-depth 1".into()
    )));
}

#[test]
fn byte_budget_stops_with_a_note() {
    let r = main_pair(&["--max-nested-bytes", "2000"]);
    let n = notes(&r);
    assert!(
        n.iter().any(|x| x.1 == "nested-not-opened"
            && x.2 == "not opened: over the 2000 bytes of --max-nested-bytes for this report"),
        "{n:?}"
    );
    // Opened in path order until the budget ran out: the first ones are there.
    assert!(paths(&r).contains(&"opt/app/app.jar!/META-INF/MANIFEST.MF".to_string()));
}

#[test]
fn depth_bomb_and_decompression_bomb_stop_at_their_bounds() {
    let (code, r) = run(&[], ["bomb-left.tar", "bomb-right.tar"]);
    assert_eq!(code, 1);
    let n = notes(&r);
    let deep = "deep.zip!/level1.zip!/level2.zip!/level3.zip!/level4.zip!/level5.zip!/level6.zip!/level7.zip!/level8.zip";
    assert!(n.contains(&(
        deep.into(),
        "nested-not-opened".into(),
        "not opened as zip: nested deeper than --max-depth 8".into()
    )));
    assert!(
        n.iter().any(|x| x.0 == "bomb.zip!/zeros.zst"
            && x.1 == "nested-not-opened"
            && x.2.contains("decodes to more than the")),
        "{n:?}"
    );
    assert!(
        !paths(&r)
            .iter()
            .any(|p| p.starts_with(&format!("{deep}!/")))
    );
}

#[test]
fn same_report_with_one_thread() {
    let a = run(&[], ["left.tar", "right.tar"]).1;
    let b = run(&["--threads", "1"], ["left.tar", "right.tar"]).1;
    assert_eq!(a, b);
    let a = run(&["--max-nested-bytes", "5000"], ["left.tar", "right.tar"]).1;
    let b = run(
        &["--max-nested-bytes", "5000", "--threads", "1"],
        ["left.tar", "right.tar"],
    )
    .1;
    assert_eq!(a, b);
}

/// The paths and field names of a report's differences.
fn shape(r: &Value) -> Vec<(String, Vec<String>)> {
    paths(r)
        .into_iter()
        .map(|p| (p.clone(), names(r, &p)))
        .collect()
}

#[test]
fn contents_read_again_when_not_held() {
    // With no text diffs nothing is held: every content opened is read again from the
    // input (the large-file path), and one side after the other with --low-memory.
    let base = shape(&main_pair(&[]));
    assert_eq!(shape(&main_pair(&["--max-text-size", "0"])), base);
    assert_eq!(shape(&main_pair(&["--low-memory"])), base);
    assert_eq!(
        shape(&main_pair(&["--max-text-size", "0", "--low-memory"])),
        base
    );
}

#[test]
fn path_rules_match_nested_paths() {
    let r = main_pair(&["--ignore-path", "*.class"]);
    assert!(!paths(&r).iter().any(|p| p.ends_with(".class")));
    assert!(paths(&r).contains(&"opt/app/app.jar!/META-INF/MANIFEST.MF".to_string()));
}

#[test]
fn elf_sections_and_build_id() {
    let r = main_pair(&[]);
    assert!(fields(&r, "usr/bin/same-code").contains(&(
        "elf.build_id".into(),
        "1111111111111111111111111111111111111111".into(),
        "2222222222222222222222222222222222222222".into()
    )));
    // Same code: only the note that holds the build-id differs, shown as a note.
    let inside: Vec<String> = paths(&r)
        .into_iter()
        .filter(|p| p.starts_with("usr/bin/same-code!/"))
        .collect();
    assert_eq!(inside, ["usr/bin/same-code!/.note.gnu.build-id"]);
    let note = diff(&r, "usr/bin/same-code!/.note.gnu.build-id")["diff"]
        .as_str()
        .unwrap();
    assert!(
        note.contains("+GNU type 3: 2222222222222222222222222222222222222222"),
        "{note}"
    );
    // Other code: .rodata differs, and the symbols that moved are a text diff.
    assert!(paths(&r).contains(&"usr/bin/tool!/.rodata".to_string()));
    let syms = diff(&r, "usr/bin/tool!/.symtab")["diff"].as_str().unwrap();
    assert!(syms.contains("__GNU_EH_FRAME_HDR"), "{syms}");
}

#[test]
fn pyc_header_fields() {
    let p = "usr/lib/python3/dist-packages/mod/__pycache__/m.cpython-311.pyc";
    let r = main_pair(&[]);
    assert!(fields(&r, p).contains(&(
        "pyc.mtime".into(),
        "2023-11-14T22:13:20Z".into(),
        "2024-03-09T16:00:00Z".into()
    )));
    assert!(!paths(&r).contains(&format!("{p}!/code")));
    let r = main_pair(&["--semantic"]);
    assert_eq!(names(&r, p), ["content"]);
}

fn pkg_pair(args: &[&str]) -> Value {
    run(args, ["pkg-left.tar", "pkg-right.tar"]).1
}

#[test]
fn cpio_archives_opened_in_all_three_forms() {
    let r = pkg_pair(&[]);
    // An initramfs: an early uncompressed archive, then a zstd-compressed one, read on
    // into one set (the same form on both sides: no cpio.format difference).
    let init = diff(&r, "boot/initrd.img!/init");
    assert!(
        init["diff"]
            .as_str()
            .unwrap()
            .contains("+echo hello, world\n")
    );
    assert_eq!(names(&r, "boot/initrd.img"), ["size", "content"]);
    // gzip of a cpio: opened in one step, as a compressed tar is.
    assert_eq!(names(&r, "opt/app/root.cpio.gz!/etc/motd"), ["mtime"]);
    // odc, in another order: the order and the inode numbers cpio gave.
    assert_eq!(
        fields(&r, "opt/app/old.cpio!/a"),
        [
            ("order".into(), "0".into(), "2".into()),
            ("cpio.ino".into(), "0".into(), "2".into())
        ]
    );
    // crc: a hardlink pair, the data with the last link; the first is the file.
    let d = diff(&r, "opt/app/sums.cpio!/data");
    assert!(d["diff"].as_str().unwrap().contains("+sum hello, world\n"));
    assert_eq!(d["left_type"], "file");
    assert_eq!(
        diff(&r, "opt/app/sums.cpio!/data.link")["left_type"],
        "hardlink"
    );
    assert!(notes(&r).contains(&(
        "opt/app/cut.cpio".into(),
        "nested-malformed".into(),
        "right is not a readable cpio: truncated member header (byte 116)".into()
    )));
}

#[test]
fn rpm_header_fields_and_payload() {
    let r = pkg_pair(&[]);
    let f = fields(&r, "var/cache/hello.rpm");
    for want in [
        ("rpm.release", "1", "2"),
        (
            "rpm.buildtime",
            "2023-11-14T22:13:20Z",
            "2024-03-09T16:00:00Z",
        ),
        ("rpm.buildhost", "builder-a", "builder-b"),
        (
            "rpm.sourcerpm",
            "hello-1.0-1.src.rpm",
            "hello-1.0-2.src.rpm",
        ),
    ] {
        assert!(
            f.contains(&(want.0.into(), want.1.into(), want.2.into())),
            "{want:?}: {f:?}"
        );
    }
    // Digests and sizes of the other parts, and the per-file lists, are no fields.
    assert!(
        !f.iter()
            .any(|x| x.0.contains("sha") || x.0.contains("file")),
        "{f:?}"
    );
    let hello = diff(&r, "var/cache/hello.rpm!/usr/bin/hello");
    assert!(
        hello["diff"]
            .as_str()
            .unwrap()
            .contains("+echo hello, world\n")
    );
    assert_eq!(
        names(&r, "var/cache/hello.rpm!/usr/bin/hello-again"),
        ["mtime", "content"]
    );
    // The %ghost file is an entry from the header alone.
    assert_eq!(
        names(&r, "var/cache/hello.rpm!/var/log/hello.log"),
        ["mtime"]
    );
}

#[test]
fn semantic_hides_cpio_bookkeeping_and_rpm_buildtime() {
    let r = pkg_pair(&["--semantic"]);
    assert!(
        !paths(&r)
            .iter()
            .any(|p| p.starts_with("opt/app/old.cpio!/"))
    );
    let f = names(&r, "var/cache/hello.rpm");
    assert!(!f.contains(&"rpm.buildtime".to_string()), "{f:?}");
    assert!(f.contains(&"rpm.buildhost".to_string()), "{f:?}");
    let rules = ignored_rules(&r);
    for (field, rule) in [
        ("rpm", "ignore-file-timestamps"),
        ("cpio", "ignore-tar-format"),
        ("order", "ignore-file-order"),
    ] {
        assert!(
            rules.contains(&(field.into(), rule.into())),
            "{field}: {rules:?}"
        );
    }
}

#[test]
fn cpio_and_rpm_within_the_byte_budget() {
    // Spent in path order: the rpm, last, no longer fits; a note, and the run goes on.
    let r = pkg_pair(&["--max-nested-bytes", "14000"]);
    let n = notes(&r);
    assert!(
        n.iter()
            .any(|x| x.0 == "var/cache/hello.rpm" && x.1 == "nested-not-opened"),
        "{n:?}"
    );
}

/// The report's `ignored` list as (field family, rule).
fn ignored_rules(r: &Value) -> Vec<(String, String)> {
    r["ignored"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["field"].as_str().unwrap().into(),
                i["rule"].as_str().unwrap().into(),
            )
        })
        .collect()
}
