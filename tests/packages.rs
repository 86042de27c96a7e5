//! Package databases (testdata/packages/, made by make-packages.sh: dpkg-deb and dpkg
//! install the dpkg trees, pacman the pacman ones; apk's database is written by its
//! format): packages compared at `packages/NAME`, each differing entry's owning
//! `package`, the `package-version` hint folding the files of a package whose version
//! changed, malformed databases as notes, rpm found and not read; in rootfs and image
//! pairs, layer by layer and squashed, under every reading mode.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::Value;

use support::oci::{LayerBlob, write_layout};
use support::paths::{read_testdata, td, tmp};
use support::report::notes;
use support::run::RDIFF;

fn fixture(name: &str) -> String {
    td(&format!("packages/{name}"))
}

/// `rdiff ARGS` (paths as given): exit code, standard output, standard error.
fn rdiff(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(RDIFF)
        .args(args)
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    let (o, e) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    assert!(code == 0 || code == 1, "exit {code}: {e}");
    (code, o, e)
}

/// `rdiff rootfs --format json ARGS LEFT RIGHT` on two fixtures: exit code and report.
fn rootfs(args: &[&str], pair: [&str; 2]) -> (i32, Value) {
    let [l, r] = pair.map(fixture);
    let mut a = vec!["rootfs", "--format", "json"];
    a.extend(args);
    a.extend([l.as_str(), r.as_str()]);
    let (code, out, _) = rdiff(&a);
    (code, serde_json::from_str(&out).unwrap())
}

fn diffs(r: &Value) -> &Vec<Value> {
    r["differences"].as_array().unwrap()
}

/// The difference at `path`.
fn diff<'a>(r: &'a Value, path: &str) -> &'a Value {
    diffs(r)
        .iter()
        .find(|d| d["path"] == path)
        .unwrap_or_else(|| panic!("no difference at {path}: {:?}", paths(r)))
}

fn paths(r: &Value) -> Vec<String> {
    diffs(r)
        .iter()
        .map(|d| d["path"].as_str().unwrap().to_string())
        .collect()
}

/// `(part, path)` of every difference, in report order.
fn located(r: &Value) -> Vec<(String, String)> {
    diffs(r)
        .iter()
        .map(|d| {
            (
                d["part"].as_str().unwrap().to_string(),
                d["path"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// `name scope left right` of each field of the difference at `path`.
fn fields(r: &Value, path: &str) -> Vec<String> {
    diff(r, path)["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {} {} {}", f["name"], f["scope"], f["left"], f["right"]))
        .map(|s| s.replace('"', ""))
        .collect()
}

/// The package of the difference at `path` (`None` when it has none).
fn package<'a>(r: &'a Value, path: &str) -> Option<&'a str> {
    let d = diff(r, path);
    d.get("package").map(|p| p.as_str().unwrap())
}

fn hint<'a>(r: &'a Value, id: &str) -> &'a Value {
    r["hints"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["id"] == id)
        .unwrap_or_else(|| panic!("no hint {id}: {}", r["hints"]))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_version_change_is_a_package_difference_that_explains_its_files() {
    let (code, r) = rootfs(&[], ["dpkg-left.tar", "dpkg-right.tar"]);
    assert_eq!(code, 1);
    assert_eq!(strings(&r["parts"]), ["input", "packages", "rootfs"]);
    let d = diff(&r, "packages/hello");
    assert_eq!(d["part"], "packages");
    assert_eq!(d["status"], "changed");
    assert_eq!(d["left_type"], Value::Null);
    assert_eq!(
        fields(&r, "packages/hello"),
        [
            "version package 1.0-1 1.1-1",
            "installed_size package 12288 16384"
        ]
    );
    // The package's files that differ carry it; bin/hello-legacy is listed by dpkg as
    // /bin/hello-legacy and lies at usr/bin/hello-legacy (bin -> usr/bin).
    for p in [
        "usr/bin/hello",
        "usr/bin/hello-legacy",
        "usr/share/doc/hello/NEWS",
        "usr/share/doc/hello/changelog",
    ] {
        assert_eq!(package(&r, p), Some("hello"), "{p}");
    }
    // What no package lists has none; nor do the database files themselves.
    for p in [
        "etc/hostname",
        "var/lib/dpkg/status",
        "var/lib/dpkg/info/hello.list",
    ] {
        assert_eq!(package(&r, p), None, "{p}");
        assert!(!diff(&r, p).as_object().unwrap().contains_key("package"));
    }
    let h = hint(&r, "package-version");
    assert_eq!(
        strings(&h["paths"]),
        [
            "packages/hello",
            "usr/bin/hello",
            "usr/bin/hello-legacy",
            "usr/share/doc/hello/NEWS",
            "usr/share/doc/hello/changelog"
        ]
    );
    assert!(
        h["text"].as_str().unwrap().starts_with(
            "1 package has another version (hello: 1.0-1 -> 1.1-1); 4 entries they own differ: "
        ),
        "{}",
        h["text"]
    );
    // JSON lists every difference, folded or not; the packages come first.
    let l = located(&r);
    assert_eq!(l[0], ("input".into(), "input".into()));
    assert_eq!(l[1], ("packages".into(), "packages/hello".into()));
    assert!(l.iter().any(|(_, p)| p == "usr/bin/hello"));
    assert_eq!(r["summary"]["fields"]["version"]["differences"], 4);
}

#[test]
fn added_removed_and_multiarch_packages() {
    let (_, r) = rootfs(&[], ["dpkg-left.tar", "dpkg-right.tar"]);
    let pk: Vec<String> = located(&r)
        .into_iter()
        .filter(|(part, _)| part == "packages")
        .map(|(_, p)| p)
        .collect();
    // libgreet1:amd64 is on both sides, the same: no difference.
    assert_eq!(
        pk,
        [
            "packages/hello",
            "packages/libgreet1:i386",
            "packages/newtool",
            "packages/oldtool"
        ]
    );
    assert_eq!(diff(&r, "packages/libgreet1:i386")["status"], "added");
    assert_eq!(
        fields(&r, "packages/libgreet1:i386"),
        [
            "version package null 2.0-1",
            "architecture package null i386",
            "status package null install ok installed",
            "installed_size package null 8192"
        ]
    );
    assert_eq!(diff(&r, "packages/oldtool")["status"], "removed");
    assert_eq!(
        fields(&r, "packages/oldtool")[0],
        "version package 0.1-1 null"
    );
    // The i386 files are owned by libgreet1:i386 (its list is libgreet1:i386.list).
    assert_eq!(
        package(&r, "usr/lib/i386-linux-gnu/libgreet.so.1"),
        Some("libgreet1:i386")
    );
    assert_eq!(package(&r, "usr/bin/newtool"), Some("newtool"));
    assert_eq!(package(&r, "usr/bin/oldtool"), Some("oldtool"));
    // Only a changed version makes the hint: added and removed packages are not in it.
    let h = hint(&r, "package-version");
    assert!(!strings(&h["paths"]).iter().any(|p| p.contains("tool")));
}

#[test]
fn the_text_report_folds_the_files_under_their_package() {
    let [l, r] = ["dpkg-left.tar", "dpkg-right.tar"].map(fixture);
    let (_, out, _) = rdiff(&["rootfs", &l, &r]);
    assert!(
        out.contains(
            "      4 of them belong to these packages: folded here by package, not listed with the differences\n        4 entries of hello (1.0-1 -> 1.1-1)\n"
        ),
        "{out}"
    );
    // The list of differences: after the hints, before the content diffs.
    let listed = out
        .split("\ncontent differences:")
        .next()
        .unwrap()
        .split("\n\ninput\n")
        .nth(1)
        .unwrap();
    // The package's own difference is listed, in its own group; its files are not.
    assert!(listed.contains(
        "packages/ (package database)\n  ~ hello\n      version         1.0-1 -> 1.1-1\n"
    ));
    assert!(!listed.contains("  ~ hello  (package hello)"), "{out}");
    assert!(!listed.contains("changelog"), "{out}");
    assert!(listed.contains("  + newtool  (file, 19 bytes, package newtool)\n"));
    // Nor are their content diffs (JSON and HTML have them).
    assert!(!out.contains("+++ right/usr/bin/hello\n"), "{out}");
    assert!(out.contains("+++ right/etc/hostname\n"));
    // Markdown folds the same way.
    let (_, md, _) = rdiff(&["rootfs", "--format", "markdown", &l, &r]);
    assert!(
        md.contains("  <br>4 entries of hello (1.0-1 -&gt; 1.1-1)\n"),
        "{md}"
    );
    assert!(
        md.contains("**<code>packages/ (package database)</code>**"),
        "{md}"
    );
    assert!(!md.contains("<summary><code>usr/bin/hello</code></summary>"));
    assert!(md.contains("<summary><code>etc/hostname</code></summary>"));
    // HTML: a list per package under the hint, drawn from the data.
    let (_, html, _) = rdiff(&["rootfs", "--format", "html", &l, &r]);
    assert!(
        html.contains(
            "<details class=\"hint-folded\" data-hint=\"0\" data-group=\"0\"><summary>4 entries of hello (1.0-1 -&gt; 1.1-1)</summary>"
        ),
        "{html}"
    );
    assert!(html.contains("\"package\":\"hello\""));
}

#[test]
fn apk_database() {
    let (code, r) = rootfs(&[], ["apk-left.tar", "apk-right.tar"]);
    assert_eq!(code, 1);
    assert_eq!(
        fields(&r, "packages/musl"),
        ["version package 1.2.4-r1 1.2.4-r2"]
    );
    assert_eq!(diff(&r, "packages/curl")["status"], "added");
    assert_eq!(
        fields(&r, "packages/curl"),
        [
            "version package null 8.5.0-r0",
            "architecture package null x86_64",
            "installed_size package null 339968"
        ]
    );
    assert_eq!(diff(&r, "packages/wget")["status"], "removed");
    assert!(!paths(&r).contains(&"packages/busybox".to_string()));
    assert_eq!(package(&r, "lib/ld-musl-x86_64.so.1"), Some("musl"));
    assert_eq!(package(&r, "usr/bin/curl"), Some("curl"));
    assert_eq!(package(&r, "usr/bin/wget"), Some("wget"));
    assert_eq!(
        strings(&hint(&r, "package-version")["paths"]),
        ["packages/musl", "lib/ld-musl-x86_64.so.1"]
    );
}

#[test]
fn pacman_database() {
    let (code, r) = rootfs(&[], ["pacman-left.tar", "pacman-right.tar"]);
    assert_eq!(code, 1);
    assert_eq!(
        fields(&r, "packages/hello"),
        [
            "version package 1.0-1 1.1-1",
            "installed_size package 12288 16384"
        ]
    );
    assert_eq!(diff(&r, "packages/oldtool")["status"], "removed");
    assert_eq!(diff(&r, "packages/newtool")["status"], "added");
    assert!(!paths(&r).contains(&"packages/rdiff-base".to_string()));
    assert_eq!(package(&r, "usr/share/doc/hello/README"), Some("hello"));
    assert_eq!(package(&r, "usr/bin/hello"), Some("hello"));
    assert_eq!(package(&r, "etc/hostname"), None);
    assert_eq!(
        strings(&hint(&r, "package-version")["paths"]),
        [
            "packages/hello",
            "usr/bin/hello",
            "usr/share/doc/hello/README"
        ]
    );
}

#[test]
fn a_malformed_database_is_a_note_and_changes_no_exit_code() {
    let (code, r) = rootfs(&[], ["dpkg-left.tar", "dpkg-malformed.tar"]);
    assert_eq!(code, 1, "the files differ");
    assert_eq!(
        notes(&r),
        [(
            "var/lib/dpkg/status".to_string(),
            "packages-malformed".to_string(),
            "dpkg database on the right side is malformed (line 2: not a field: this line \
             is no field): its packages are not compared"
                .to_string()
        )]
    );
    assert!(!paths(&r).iter().any(|p| p.starts_with("packages/")));
    // The left side's lists still name owners.
    assert_eq!(package(&r, "usr/bin/hello"), Some("hello"));
    // Only the status file differs here: hidden by a rule, the run is equal (exit 0)
    // and still says the database is malformed.
    let (code, r) = rootfs(
        &["--ignore-path", "var/lib/dpkg/status"],
        ["dpkg-right.tar", "dpkg-malformed.tar"],
    );
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["equal"], true);
    assert_eq!(notes(&r).len(), 1);
    assert_eq!(notes(&r)[0].1, "packages-malformed");
}

#[test]
fn equal_databases_give_owners_and_no_package_difference() {
    let (code, r) = rootfs(&[], ["dpkg-left.tar", "dpkg-edited.tar"]);
    assert_eq!(code, 1);
    assert_eq!(
        paths(&r),
        ["input", "etc/hostname", "usr/bin/hello"],
        "no packages/ difference"
    );
    assert_eq!(strings(&r["parts"]), ["input", "packages", "rootfs"]);
    assert_eq!(package(&r, "usr/bin/hello"), Some("hello"));
    assert!(
        r["hints"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["id"] != "package-version")
    );
    // Not folded: the text report lists it, with its package.
    let [l, rt] = ["dpkg-left.tar", "dpkg-edited.tar"].map(fixture);
    let (_, out, _) = rdiff(&["rootfs", &l, &rt]);
    assert!(
        out.contains("usr/bin/\n  ~ hello  (package hello)\n"),
        "{out}"
    );
}

#[test]
fn semantic_keeps_package_differences() {
    let (code, r) = rootfs(&["--semantic"], ["dpkg-left.tar", "dpkg-right.tar"]);
    assert_eq!(code, 1);
    assert_eq!(r["semantically_equal"], false);
    assert_eq!(
        fields(&r, "packages/hello"),
        [
            "version package 1.0-1 1.1-1",
            "installed_size package 12288 16384"
        ]
    );
    assert_eq!(
        hint(&r, "package-version")["paths"]
            .as_array()
            .unwrap()
            .len(),
        5
    );
}

/// No rule that hides fields hides a package's: they live in a scope of their own.
#[test]
fn package_fields_survive_every_field_rule() {
    use rdiff::compare::policy::RULES;
    for rule in RULES.iter().filter(|r| r.value.is_none() && r.rootfs) {
        let flag = format!("--{}", rule.flag);
        let (_, r) = rootfs(&[&flag], ["dpkg-left.tar", "dpkg-right.tar"]);
        assert_eq!(
            fields(&r, "packages/hello"),
            [
                "version package 1.0-1 1.1-1",
                "installed_size package 12288 16384"
            ],
            "{flag}"
        );
    }
}

#[test]
fn path_rules_hide_packages_by_name_or_by_their_database() {
    let (_, r) = rootfs(
        &["--ignore-path", "packages/oldtool"],
        ["dpkg-left.tar", "dpkg-right.tar"],
    );
    assert!(!paths(&r).contains(&"packages/oldtool".to_string()));
    assert!(paths(&r).contains(&"packages/newtool".to_string()));
    assert_eq!(r["rules"][0]["matched"], 1);
    assert_eq!(r["warnings"], Value::Array(vec![]));
    // A rule that hides the database hides what is read from it, and it is counted.
    let (_, r) = rootfs(
        &["--ignore-path", "var/lib/dpkg/**", "--show-ignored"],
        ["dpkg-left.tar", "dpkg-right.tar"],
    );
    assert!(
        !paths(&r).iter().any(|p| p.starts_with("packages/")),
        "{:?}",
        paths(&r)
    );
    let hidden: Vec<&Value> = r["ignored_differences"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["part"] == "packages")
        .collect();
    assert_eq!(hidden.len(), 4);
    assert!(
        hidden
            .iter()
            .all(|d| d["ignored_by"] == "ignore-path var/lib/dpkg/**")
    );
    // No package difference is visible, so no package explains anything.
    assert!(
        r["hints"]
            .as_array()
            .unwrap()
            .iter()
            .all(|h| h["id"] != "package-version")
    );
}

#[test]
fn rpm_is_found_and_said_not_read() {
    let (code, r) = rootfs(&[], ["rpm-left.tar", "rpm-right.tar"]);
    assert_eq!(code, 1);
    assert_eq!(
        notes(&r),
        [(
            "var/lib/rpm/rpmdb.sqlite".to_string(),
            "packages-not-read".to_string(),
            "rpm database found (left and right): not read (rdiff has no pure-Rust reader \
             for rpm's SQLite, Berkeley DB or ndb databases); its packages are not compared"
                .to_string()
        )]
    );
    assert_eq!(strings(&r["parts"]), ["input", "rootfs"]);
}

/// Every way of reading a pair (both at once, one after the other, a side from
/// standard input, one thread) gives the same report.
#[test]
fn the_same_report_whatever_the_reading() {
    let [l, r] = ["dpkg-left.tar", "dpkg-right.tar"].map(fixture);
    let base = rdiff(&["rootfs", "--format", "json", &l, &r]).1;
    for extra in [&["--low-memory"][..], &["--threads", "1"], &["--no-deep"]] {
        let mut a = vec!["rootfs", "--format", "json"];
        a.extend(extra);
        a.extend([l.as_str(), r.as_str()]);
        assert_eq!(rdiff(&a).1, base, "{extra:?}");
    }
    // The left side from standard input: its database files are held as it streams.
    let out = Command::new(RDIFF)
        .args(["rootfs", "--format", "json", "-", &r])
        .stdin(Stdio::from(std::fs::File::open(&l).unwrap()))
        .output()
        .unwrap();
    let streamed: Value = serde_json::from_slice(&out.stdout).unwrap();
    let base: Value = serde_json::from_str(&base).unwrap();
    assert_eq!(
        located(&streamed),
        located(&base),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(streamed["hints"], base["hints"]);
    assert_eq!(package(&streamed, "usr/bin/hello"), Some("hello"));
}

/// Two one-layer-over-a-base images from the fixtures.
fn images(dir: &Path) -> [String; 2] {
    let base = read_testdata("hints/clamp-left.tar");
    ["dpkg-left.tar", "dpkg-right.tar"].map(|side| {
        let top = read_testdata(&format!("packages/{side}"));
        write_layout(
            &dir.join(side),
            &[LayerBlob::plain(base.clone()), LayerBlob::gzip(top)],
            serde_json::json!({}),
        )
    })
}

#[test]
fn images_layer_by_layer_and_squashed() {
    let d = tmp();
    let [l, r] = images(d.path());
    let (code, out, _) = rdiff(&["image", "--format", "json", &l, &r]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    let parts = strings(&v["parts"]);
    let at = |p: &str| parts.iter().position(|x| x == p).unwrap();
    assert!(at("layers/1/packages") + 1 == at("layers/1"), "{parts:?}");
    assert!(!parts.contains(&"layers/0/packages".to_string()));
    let d = diff(&v, "layers/1/packages/hello");
    assert_eq!(d["part"], "layers/1/packages");
    assert_eq!(package(&v, "layers/1/usr/bin/hello"), Some("hello"));
    assert_eq!(
        strings(&hint(&v, "package-version")["paths"])[..2],
        ["layers/1/packages/hello", "layers/1/usr/bin/hello"]
    );
    // Squashed: the packages of the filesystem a container sees.
    let (_, out, _) = rdiff(&["image", "--squash", "--format", "json", &l, &r]);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(diff(&v, "packages/hello")["part"], "packages");
    assert_eq!(package(&v, "rootfs/usr/bin/hello"), Some("hello"));
    let parts = strings(&v["parts"]);
    assert_eq!(&parts[parts.len() - 2..], ["packages", "rootfs"]);
    // The text report folds them the same way.
    let (_, text, _) = rdiff(&["image", "--squash", &l, &r]);
    assert!(
        text.contains("        4 entries of hello (1.0-1 -> 1.1-1)\n"),
        "{text}"
    );
}

/// A presentation limit keeps the first differences; a package's group counts only the
/// folded entries that are kept.
#[test]
fn a_cut_report_counts_what_it_keeps_of_a_package() {
    let [l, r] = ["dpkg-left.tar", "dpkg-right.tar"].map(fixture);
    // Kept: input, the 4 packages, etc/hostname, usr/bin/hello, usr/bin/hello-legacy.
    let (_, out, _) = rdiff(&["rootfs", "--max-entries-shown", "8", &l, &r]);
    assert!(
        out.contains("      2 of them belong to these packages: folded here by package, not listed with the differences\n        2 entries of hello (1.0-1 -> 1.1-1)\n"),
        "{out}"
    );
    // Kept: input and 2 packages; nothing folded is left, so no group is said.
    let (_, out, _) = rdiff(&["rootfs", "--max-entries-shown", "3", &l, &r]);
    assert!(out.contains("[package-version]"));
    assert!(!out.contains("entries of hello"), "{out}");
}

/// The same trees as directories give the same packages and owners as the archives.
#[test]
fn directories_give_the_same_packages() {
    let d = tmp();
    let dirs = ["dpkg-left.tar", "dpkg-right.tar"].map(|t| {
        let to = d.path().join(t.trim_end_matches(".tar"));
        std::fs::create_dir_all(&to).unwrap();
        tar::Archive::new(std::fs::File::open(fixture(t)).unwrap())
            .unpack(&to)
            .unwrap();
        to.to_str().unwrap().to_string()
    });
    // Unpacking set the directories' mtimes to when it ran: leave times out.
    let t = "--ignore-file-timestamps";
    let (_, out, _) = rdiff(&["rootfs", "--format", "json", t, &dirs[0], &dirs[1]]);
    let from_dirs: Value = serde_json::from_str(&out).unwrap();
    let (_, from_tars) = rootfs(&[t], ["dpkg-left.tar", "dpkg-right.tar"]);
    let owners = |r: &Value| -> Vec<(String, Option<String>)> {
        diffs(r)
            .iter()
            .filter(|d| d["part"] != "input")
            .map(|d| {
                (
                    d["path"].as_str().unwrap().to_string(),
                    d.get("package").map(|p| p.as_str().unwrap().to_string()),
                )
            })
            .collect()
    };
    assert_eq!(owners(&from_dirs), owners(&from_tars));
    assert_eq!(
        fields(&from_dirs, "packages/hello"),
        fields(&from_tars, "packages/hello")
    );
    assert_eq!(from_dirs["hints"], from_tars["hints"]);
}
