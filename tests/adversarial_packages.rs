//! Adversarial tests of the package stage (src/compare/packages.rs) and the
//! `package-version` fold (src/hints/nested.rs): databases written to make a fold hide
//! what the hint does not explain, or to make the package comparison hide the database
//! file's own bytes. Every tree is made here, in a temporary directory, by the `tar`
//! crate.

mod support;

use std::path::Path;

use serde_json::Value;

use support::paths::{s, tmp};
use support::run::{json_report, rdiff};

/// A member of a test tree: path, content (a symlink's target for `Link`), mode.
enum M<'a> {
    Dir(&'a str),
    File(&'a str, &'a [u8], u32),
    Link(&'a str, &'a str),
}

/// A GNU tar of these members (sorted by path, 0/0, mtime 1700000000).
fn tar(dir: &Path, name: &str, members: &[M<'_>]) -> String {
    let mut b = tar::Builder::new(Vec::new());
    let mut sorted: Vec<&M<'_>> = members.iter().collect();
    let path = |m: &M<'_>| match m {
        M::Dir(p) | M::File(p, _, _) | M::Link(p, _) => p.to_string(),
    };
    sorted.sort_by_key(|m| path(m));
    for m in sorted {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(1_700_000_000);
        h.set_uid(0);
        h.set_gid(0);
        match m {
            M::Dir(p) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o755);
                h.set_size(0);
                b.append_data(&mut h, p, &[][..]).unwrap();
            }
            M::File(p, data, mode) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(*mode);
                h.set_size(data.len() as u64);
                b.append_data(&mut h, p, *data).unwrap();
            }
            M::Link(p, to) => {
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_mode(0o777);
                h.set_size(0);
                b.append_link(&mut h, p, to).unwrap();
            }
        }
    }
    let out = dir.join(name);
    std::fs::write(&out, b.into_inner().unwrap()).unwrap();
    s(&out).to_string()
}

/// A dpkg status file of installed packages (name, version).
fn status(packages: &[(&str, &str)]) -> Vec<u8> {
    packages
        .iter()
        .map(|(n, v)| {
            format!(
                "Package: {n}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {v}\n\n"
            )
        })
        .collect::<String>()
        .into_bytes()
}

fn dirs() -> Vec<M<'static>> {
    [
        "etc",
        "usr",
        "usr/bin",
        "var",
        "var/lib",
        "var/lib/dpkg",
        "var/lib/dpkg/info",
    ]
    .into_iter()
    .map(M::Dir)
    .collect()
}

fn diffs(r: &Value) -> &Vec<Value> {
    r["differences"].as_array().unwrap()
}

fn diff<'a>(r: &'a Value, path: &str) -> &'a Value {
    diffs(r)
        .iter()
        .find(|d| d["path"] == path)
        .unwrap_or_else(|| panic!("no difference at {path}"))
}

/// The paths the package-version hint folds (JSON does not say which are folded; the
/// text report does: the count per package).
fn folded_line(text: &str) -> Option<String> {
    text.lines()
        .find(|l| l.trim_start().contains(" of hello ("))
        .map(|l| l.trim().to_string())
}

/// The text report: the paths listed with the differences (not folded) are there.
fn text_report(l: &str, r: &str) -> String {
    let out = rdiff(["rootfs", l, r]).run();
    assert_eq!(out.code(), 1, "{}", out.describe());
    out.stdout_text()
}

/// Left: hello 1.0 owns usr/bin/hello; etc/passwd and etc/hostname belong to no
/// package (as on Debian, where base-passwd's postinst writes passwd). Right: hello
/// 1.1, whose list claims etc/passwd, etc/hostname, the status file and its own list
/// as well; all of them differ. Only usr/bin/hello is hello's on both sides: only it
/// may be folded under hello's version change.
#[test]
fn a_fold_needs_the_owner_on_both_sides_and_never_takes_a_database_file() {
    let t = tmp();
    let mut left = dirs();
    let ls = status(&[("hello", "1.0")]);
    left.extend([
        M::File("var/lib/dpkg/status", &ls, 0o644),
        M::File(
            "var/lib/dpkg/info/hello.list",
            b"/.\n/usr\n/usr/bin\n/usr/bin/hello\n",
            0o644,
        ),
        M::File("usr/bin/hello", b"hello 1\n", 0o755),
        M::File("etc/passwd", b"root:x:0:0::/root:/bin/sh\n", 0o644),
        M::File("etc/hostname", b"a\n", 0o644),
    ]);
    let mut right = dirs();
    let rs = status(&[("hello", "1.1")]);
    right.extend([
        M::File("var/lib/dpkg/status", &rs, 0o644),
        M::File(
            "var/lib/dpkg/info/hello.list",
            b"/.\n/usr\n/usr/bin\n/usr/bin/hello\n/etc/passwd\n/etc/hostname\n\
              /var/lib/dpkg/status\n/var/lib/dpkg/info/hello.list\n",
            0o644,
        ),
        M::File("usr/bin/hello", b"hello 2\n", 0o755),
        M::File(
            "etc/passwd",
            b"root:x:0:0::/root:/bin/sh\nevil:x:0:0::/:/bin/sh\n",
            0o644,
        ),
        M::File("etc/hostname", b"b\n", 0o644),
    ]);
    let (l, r) = (
        tar(t.path(), "l.tar", &left),
        tar(t.path(), "r.tar", &right),
    );
    let (code, j) = json_report("rootfs", &[&l, &r]);
    assert_eq!(code, 1);
    // JSON keeps every difference; `package` says what a database names.
    assert_eq!(diff(&j, "packages/hello")["fields"][0]["right"], "1.1");
    assert_eq!(diff(&j, "usr/bin/hello")["package"], "hello");
    assert_eq!(diff(&j, "etc/passwd")["package"], "hello");
    let hint = j["hints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == "package-version")
        .expect("package-version hint");
    let paths: Vec<&str> = hint["paths"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap())
        .collect();
    assert_eq!(paths, ["packages/hello", "usr/bin/hello"], "{hint}");
    assert!(
        hint["text"]
            .as_str()
            .unwrap()
            .contains("1 entry they own differs"),
        "{hint}"
    );
    // The text report lists the rest with the differences.
    let text = text_report(&l, &r);
    assert_eq!(
        folded_line(&text).as_deref(),
        Some("1 entry of hello (1.0 -> 1.1)"),
        "{text}"
    );
    for p in ["passwd", "hostname", "status", "hello.list"] {
        assert!(
            text.contains(&format!("~ {p}  (package hello)")),
            "{p} not listed:\n{text}"
        );
    }
    assert!(text.contains("+evil:x:0:0::/:/bin/sh"), "{text}");
}

/// The same with the claim on the left only (a removed package's list, an old
/// database): the right side names no owner of etc/shadow, so it is not folded; a file
/// hello owns on both sides through a merged /usr symlink still is.
#[test]
fn an_owner_the_left_side_claims_alone_folds_nothing() {
    let t = tmp();
    let mut left = dirs();
    let ls = status(&[("hello", "1.0")]);
    left.extend([
        M::Link("bin", "usr/bin"),
        M::File("var/lib/dpkg/status", &ls, 0o644),
        M::File(
            "var/lib/dpkg/info/hello.list",
            b"/bin/hello\n/etc/shadow\n",
            0o644,
        ),
        M::File("usr/bin/hello", b"hello 1\n", 0o755),
        M::File("etc/shadow", b"root:*:1::::::\n", 0o640),
    ]);
    let mut right = dirs();
    let rs = status(&[("hello", "1.1")]);
    right.extend([
        M::Link("bin", "usr/bin"),
        M::File("var/lib/dpkg/status", &rs, 0o644),
        M::File("var/lib/dpkg/info/hello.list", b"/bin/hello\n", 0o644),
        M::File("usr/bin/hello", b"hello 2\n", 0o4755),
        M::File("etc/shadow", b"root::1::::::\n", 0o644),
    ]);
    let (l, r) = (
        tar(t.path(), "l.tar", &left),
        tar(t.path(), "r.tar", &right),
    );
    let (_, j) = json_report("rootfs", &[&l, &r]);
    assert_eq!(diff(&j, "etc/shadow")["package"], "hello");
    let text = text_report(&l, &r);
    assert_eq!(
        folded_line(&text).as_deref(),
        Some("1 entry of hello (1.0 -> 1.1)"),
        "{text}"
    );
    assert!(text.contains("~ shadow"), "{text}");
    assert!(text.contains("-root:*:1::::::"), "{text}");
}

/// A status file with a package `decoy/hello` whose version changed beside an
/// unchanged `hello`: the report must not say that `hello` changed (the package was
/// once named by its last component, `packages/hello`, and hello's files, edited by
/// hand, were folded under the decoy's version). dpkg refuses a `/` in a name: the
/// database is malformed, nothing is folded, and the edit is listed.
#[test]
fn a_package_name_with_a_slash_passes_for_no_other() {
    let t = tmp();
    let mut left = dirs();
    let ls = status(&[("decoy/hello", "1"), ("hello", "1.0")]);
    left.extend([
        M::File("var/lib/dpkg/status", &ls, 0o644),
        M::File("var/lib/dpkg/info/hello.list", b"/usr/bin/hello\n", 0o644),
        M::File("usr/bin/hello", b"hello 1\n", 0o755),
    ]);
    let mut right = dirs();
    let rs = status(&[("decoy/hello", "2"), ("hello", "1.0")]);
    right.extend([
        M::File("var/lib/dpkg/status", &rs, 0o644),
        M::File("var/lib/dpkg/info/hello.list", b"/usr/bin/hello\n", 0o644),
        M::File("usr/bin/hello", b"hello evil\n", 0o4755),
    ]);
    let (l, r) = (
        tar(t.path(), "l.tar", &left),
        tar(t.path(), "r.tar", &right),
    );
    let (_, j) = json_report("rootfs", &[&l, &r]);
    assert!(
        diffs(&j).iter().all(|d| d["path"] != "packages/hello"),
        "hello's version did not change: {:#}",
        j["differences"]
    );
    assert!(
        j["hints"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["id"] != "package-version"),
        "{:#}",
        j["hints"]
    );
    let text = text_report(&l, &r);
    assert!(text.contains("+hello evil"), "{text}");
}

/// One stanza of a million distinct fields (13 MB, under the 64 MiB bound): dpkg's
/// "a field given twice" check once looked each name up in a list, a quadratic parse
/// that ran for hours. Now it is a set: the run ends in seconds.
#[test]
fn a_stanza_of_a_million_fields_is_parsed_in_linear_time() {
    let t = tmp();
    let mut st = b"Package: hello\nVersion: 1.0\n".to_vec();
    for i in 0..1_000_000u32 {
        st.extend_from_slice(format!("X-F{i:07}: v\n").as_bytes());
    }
    let mut left = dirs();
    left.extend([
        M::File("var/lib/dpkg/status", &st, 0o644),
        M::File("etc/hostname", b"a\n", 0o644),
    ]);
    let mut right = dirs();
    right.extend([
        M::File("var/lib/dpkg/status", &st, 0o644),
        M::File("etc/hostname", b"b\n", 0o644),
    ]);
    let (l, r) = (
        tar(t.path(), "l.tar", &left),
        tar(t.path(), "r.tar", &right),
    );
    let out = rdiff(["rootfs", "--format", "json", &l, &r])
        .timeout(std::time::Duration::from_secs(120))
        .run();
    assert_eq!(out.code(), 1, "{}", out.describe());
    let j = out.json();
    assert_eq!(j["summary"]["changed"], 1, "{:#}", j["summary"]);
    assert_eq!(
        j["notes"].as_array().map_or(0, Vec::len),
        0,
        "{:#}",
        j["notes"]
    );
}
