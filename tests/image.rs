//! `rdiff image` end to end: input forms, the walk (platforms, attestations, index vs
//! single manifest), metadata field names and locations, layers (per layer, squashed,
//! whiteouts, compression), equivalence of the stored forms, every image rule alone,
//! `--report-dir`, and bad images (exit 2, one stderr line, nothing on stdout).
//!
//! Fixtures are `testdata/image/` (see its README for the expected differences). Damaged
//! or varied images are made here, in temporary directories, by copying a fixture and
//! editing it (`Layout` re-chains digests, sizes and diff_ids after an edit).

mod support;

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use support::data::sha256_hex;
use support::library::image_report as lib_report;
use support::oci::Layout;
use support::paths::{copy_dir, img, td, tmp};
use support::rawtar::{Member, fix_checksum, raw_header, read_tar, write_tar};
use support::report::{diff_at, field, fields_of, ignored_counts as ignored, notes};
use support::run::{Run, fake_bin, on_path, rdiff};

/// Upper bound for any one child: a hang fails the test instead of blocking it.
const TIMEOUT: Duration = Duration::from_secs(60);
/// What "quick" means for an error (a debug build, 2 cores, tiny inputs).
const QUICK: Duration = Duration::from_secs(10);

// ------------------------------------------------------------------------ helpers

/// `rdiff ARGS...` with these environment variables set.
fn run_with<I, S>(args: I, env: &[(&str, &str)]) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut c = rdiff(args).timeout(TIMEOUT);
    for (k, v) in env {
        c = c.env(k, v);
    }
    c.run()
}

/// `rdiff image ARGS...`
fn image<S: AsRef<str>>(args: &[S]) -> Run {
    run_with(
        ["image"].into_iter().chain(args.iter().map(AsRef::as_ref)),
        &[],
    )
}

/// `rdiff image --format json ARGS...`: exit code and the parsed report. Exit 2 fails.
fn report<S: AsRef<str>>(args: &[S]) -> (i32, Value) {
    let mut v = vec!["--format".to_string(), "json".to_string()];
    v.extend(args.iter().map(|s| s.as_ref().to_string()));
    let r = image(&v);
    assert!(
        r.code() == 0 || r.code() == 1,
        "rdiff image {v:?}: {}",
        r.describe()
    );
    let j = r.json();
    assert_eq!(
        j["equal"].as_bool(),
        Some(r.code() == 0),
        "exit code and `equal` disagree: {}",
        r.describe()
    );
    (r.code(), j)
}

type Fields = Vec<(String, String)>;

/// The visible (path, field name) pairs of a report, sorted, with multiplicity; an
/// added or removed entry without fields counts as (path, status).
fn visible(r: &Value) -> Fields {
    fields_of(&r["differences"])
}

fn fl(items: &[(&str, &str)]) -> Fields {
    let mut v: Fields = items
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    v.sort();
    v
}

fn ign(items: &[(&str, &str, u64)]) -> BTreeMap<(String, String), u64> {
    items
        .iter()
        .map(|(r, f, n)| ((r.to_string(), f.to_string()), *n))
        .collect()
}

fn minus(all: &Fields, hidden: &Fields) -> Fields {
    let mut left = all.clone();
    for h in hidden {
        let i = left
            .iter()
            .position(|x| x == h)
            .unwrap_or_else(|| panic!("{h:?} is not among the strict differences {all:?}"));
        left.remove(i);
    }
    left
}

/// Exit 2, nothing on stdout, no panic, exactly one stderr line that starts with
/// `rdiff: INPUT: ` and names every one of `problems` (in any case), quickly. Returns
/// the line.
fn assert_input_error(r: &Run, input: &str, problems: &[&str]) -> String {
    let line = support::run::assert_input_error(r, input, &[]);
    for p in problems {
        assert!(
            line.to_lowercase().contains(&p.to_lowercase()),
            "want {p:?} in the error: {}",
            r.describe()
        );
    }
    assert!(r.elapsed < QUICK, "slow error: {}", r.describe());
    line
}

/// A ustar regular file whose name is written as raw bytes (`..` allowed).
fn raw_file(name: &str, data: &[u8], mode: u32, mtime: u64) -> Member {
    let mut h = raw_header(
        name.as_bytes(),
        tar::EntryType::Regular,
        data.len() as u64,
        b"",
    );
    h.set_mode(mode);
    h.set_mtime(mtime);
    h.set_cksum();
    Member {
        header: h,
        data: data.to_vec(),
    }
}

// ---------------------------------------------------------------- input forms

#[test]
fn input_forms_are_detected_from_disk_and_forced_by_prefix() {
    let base = img("oci/base");
    let layout_index = std::fs::read(Path::new(&base).join("index.json")).unwrap();
    let archive_index = read_tar(&std::fs::read(img("archives/base.oci-archive.tar")).unwrap())
        .into_iter()
        .find(|m| m.name() == "index.json")
        .unwrap()
        .data;
    // The same JSON document.
    assert_eq!(
        serde_json::from_slice::<Value>(&layout_index).unwrap(),
        serde_json::from_slice::<Value>(&archive_index).unwrap()
    );
    assert_ne!(layout_index, archive_index);
    for (input, kind) in [
        (base.clone(), "oci-layout"),
        (format!("oci:{base}"), "oci-layout"),
        (format!("oci:{base}:v1"), "oci-layout"),
        (format!("{base}:v1"), "oci-layout"),
        (img("archives/base.oci-archive.tar"), "oci-archive"),
        (
            format!("oci-archive:{}", img("archives/base.oci-archive.tar")),
            "oci-archive",
        ),
        (img("archives/base.oci-archive.tar.gz"), "oci-archive"),
        (
            format!("oci-archive:{}", img("archives/base.oci-archive.tar.gz")),
            "oci-archive",
        ),
    ] {
        let (code, r) = report(&[base.as_str(), input.as_str()]);
        if kind == "oci-layout" {
            assert_eq!(code, 0, "{input}: {r:#}");
            assert_eq!(r["identical"], true, "{input}");
        } else {
            // The same blobs in an archive: strict names the other form, the archive's
            // index.json, which is the layout's JSON in other bytes (skopeo's writer), and
            // its oci-layout file, which skopeo spells `{"imageLayoutVersion": "1.0.0"}`
            // (umoci: no space, a newline).
            assert_eq!(code, 1, "{input}: {r:#}");
            assert_eq!(
                visible(&r),
                fl(&[
                    ("input", "format"),
                    ("index", "bytes"),
                    ("index", "oci_layout")
                ]),
                "{input}"
            );
            let f = field(&r, "index", "oci_layout");
            assert_eq!(
                (&f["left"], &f["right"]),
                (
                    &json!("{\"imageLayoutVersion\":\"1.0.0\"}\n"),
                    &json!("{\"imageLayoutVersion\": \"1.0.0\"}")
                ),
                "{input}"
            );
            let f = field(&r, "input", "format");
            assert_eq!(
                (&f["left"], &f["right"]),
                (&json!("oci-layout"), &json!(kind))
            );
            let f = field(&r, "index", "bytes");
            assert_eq!(
                (&f["left"], &f["right"]),
                (
                    &json!(format!("sha256:{}", sha256_hex(&layout_index))),
                    &json!(format!("sha256:{}", sha256_hex(&archive_index)))
                ),
                "{input}"
            );
            assert_eq!(r["semantically_equal"], true, "{input}");
            let (code, r) = report(&["--semantic", base.as_str(), input.as_str()]);
            assert_eq!(code, 0, "{input}: {:?}", visible(&r));
            assert_eq!(
                ignored(&r),
                ign(&[
                    ("ignore-tar-format", "format", 1),
                    ("ignore-manifest-format", "bytes", 1),
                    ("ignore-manifest-format", "oci_layout", 1)
                ]),
                "{input}"
            );
        }
        assert_eq!(r["left"]["kind"], "oci-layout");
        assert_eq!(r["right"]["kind"], kind, "{input}");
        assert_eq!(r["right"]["name"], input.as_str());
        assert_eq!(r["right"]["entries"], 19, "{input}: 14 + 5 layer members");
    }
    // Docker archives: detected (no oci-layout, a manifest.json) or forced.
    for input in [
        img("archives/base.docker-archive.tar"),
        format!("docker-archive:{}", img("archives/base.docker-archive.tar")),
        img("archives/base.docker-legacy.tar"),
        format!("docker-archive:{}", img("archives/base.docker-legacy.tar")),
        format!("docker-archive:{}", img("archives/base.docker25.tar")),
    ] {
        let (code, r) = report(&["--semantic", base.as_str(), input.as_str()]);
        assert_eq!(code, 0, "{input}: {r:#}");
        assert_eq!(r["right"]["kind"], "docker-archive", "{input}");
        assert_eq!(r["right"]["entries"], 19, "{input}");
    }
    // Docker 25+ holds both an OCI layout and a manifest.json: the layout wins unless
    // docker-archive: is given.
    for (input, kind) in [
        (img("archives/base.docker25.tar"), "oci-archive"),
        (
            format!("oci-archive:{}", img("archives/base.docker25.tar")),
            "oci-archive",
        ),
    ] {
        let (_, r) = report(&[base.as_str(), input.as_str()]);
        assert_eq!(r["right"]["kind"], kind, "{input}");
    }
}

#[test]
fn standard_input_is_an_archive_and_only_one_side_may_be_it() {
    let archive = std::fs::read(img("archives/base.oci-archive.tar.gz")).unwrap();
    let out = rdiff(["image", "--format", "json", "-"])
        .arg(img("oci/base"))
        .stdin_bytes(archive.clone())
        .timeout(TIMEOUT)
        .run();
    // Against the layout: the form, the archive's index.json bytes and its oci-layout
    // file (see input_forms_are_detected_from_disk_and_forced_by_prefix).
    assert_eq!(out.status, Some(1), "{}", out.describe());
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["left"]["name"], "-");
    assert_eq!(r["left"]["kind"], "oci-archive");
    assert_eq!(r["left"]["sha256"], sha256_hex(&archive).as_str());
    assert_eq!(r["right"]["sha256"], Value::Null);
    assert_eq!(
        visible(&r),
        fl(&[
            ("input", "format"),
            ("index", "bytes"),
            ("index", "oci_layout")
        ])
    );
    assert_eq!(r["semantically_equal"], true);
    // Against the file it was read from: identical.
    let gz = img("archives/base.oci-archive.tar.gz");
    for args in [["-", gz.as_str()], [gz.as_str(), "-"]] {
        let out = rdiff(["image", "--format", "json"])
            .args(args)
            .stdin_bytes(archive.clone())
            .timeout(TIMEOUT)
            .run();
        assert_eq!(out.status, Some(0), "{args:?}: {}", out.describe());
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(r["identical"], true, "{args:?}");
        assert_eq!(r["left"]["sha256"], r["right"]["sha256"], "{args:?}");
    }

    let out = rdiff(["image", "-", "-"])
        .stdin_bytes(archive)
        .timeout(TIMEOUT)
        .run();
    assert_eq!(out.status, Some(2));
    assert!(out.stdout.is_empty());
    let e = &out.stderr;
    assert!(e.contains("only one side can be standard input"), "{e}");
}

#[test]
fn wrong_prefix_for_what_is_on_disk_is_an_error() {
    let base = img("oci/base");
    let cases = [
        (
            format!("oci:{}", img("archives/base.oci-archive.tar")),
            "needs an OCI layout directory",
        ),
        (format!("oci-archive:{base}"), "is a directory"),
        (format!("docker-archive:{base}"), "is a directory"),
        (
            format!("docker-archive:{}", img("archives/base.oci-archive.tar")),
            "no manifest.json",
        ),
        (
            format!("oci-archive:{}", img("archives/base.docker-archive.tar")),
            "no oci-layout",
        ),
        (format!("oci:{base}:v2"), "no manifest with"),
        (format!("{base}:v2"), "no manifest with"),
        (img("oci/does-not-exist"), "no such file"),
    ];
    for (input, problem) in cases {
        let r = image(&[base.as_str(), input.as_str()]);
        assert_input_error(&r, &input, &[problem]);
        // The same on the left side.
        let r = image(&[input.as_str(), base.as_str()]);
        assert_input_error(&r, &input, &[problem]);
    }
}

#[test]
fn oci_ref_selects_the_manifest_by_ref_name() {
    // One layout holding base (ref v1) and changed (ref v2).
    let t = tmp();
    let l = Layout::copy("oci/base", t.path(), "two");
    let changed = Path::new(&img("oci/changed")).join("blobs/sha256");
    for e in std::fs::read_dir(&changed).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), l.dir.join("blobs/sha256").join(e.file_name())).unwrap();
    }
    let ci: Value =
        serde_json::from_slice(&std::fs::read(img("oci/changed/index.json")).unwrap()).unwrap();
    let mut idx = l.index();
    let mut second = ci["manifests"][0].clone();
    second["annotations"]["org.opencontainers.image.ref.name"] = json!("v2");
    idx["manifests"].as_array_mut().unwrap().push(second);
    l.set_index(&idx);
    let p = l.path();

    for v1 in [format!("oci:{p}:v1"), format!("{p}:v1")] {
        // The same image, picked from an index that lists another one too: the index
        // documents differ in bytes (strict), nothing else.
        let (code, r) = report(&[img("oci/base"), v1.clone()]);
        assert_eq!(code, 1, "{v1}: {:?}", visible(&r));
        assert_eq!(visible(&r), fl(&[("index", "bytes")]));
        assert_eq!(r["semantically_equal"], true);
    }
    // v2 is oci/changed's manifest; only its ref name annotation differs, and the index
    // documents (one descriptor against two, written here by serde_json) in `bytes`.
    let (code, r) = report(&[img("oci/changed"), format!("oci:{p}:v2")]);
    assert_eq!(code, 1);
    assert_eq!(
        visible(&r),
        fl(&[
            ("index", "bytes"),
            ("manifest", "annotations.org.opencontainers.image.ref.name")
        ])
    );
    let f = field(
        &r,
        "manifest",
        "annotations.org.opencontainers.image.ref.name",
    );
    assert_eq!((&f["left"], &f["right"]), (&json!("v1"), &json!("v2")));
    // ... which --ignore-image-name hides (and --ignore-manifest-format the index bytes).
    let (code, r) = report(&[
        "--ignore-image-name".to_string(),
        img("oci/changed"),
        format!("oci:{p}:v2"),
    ]);
    assert_eq!(code, 1, "{:?}", visible(&r));
    assert_eq!(visible(&r), fl(&[("index", "bytes")]));
    assert_eq!(ignored(&r), ign(&[("ignore-image-name", "annotations", 1)]));
    let (code, r) = report(&[
        "--ignore-image-name".to_string(),
        "--ignore-manifest-format".to_string(),
        img("oci/changed"),
        format!("oci:{p}:v2"),
    ]);
    assert_eq!(code, 0, "{:?}", visible(&r));
    assert_eq!(
        ignored(&r),
        ign(&[
            ("ignore-image-name", "annotations", 1),
            ("ignore-manifest-format", "bytes", 1)
        ])
    );
    assert_eq!(r["mode"], "custom");
}

#[test]
fn podman_and_docker_not_installed_is_a_clear_error() {
    let t = tmp();
    let empty = t.path().join("empty-bin");
    std::fs::create_dir_all(&empty).unwrap();
    let path = empty.to_str().unwrap();
    for (input, cli) in [
        ("podman://localhost/app:1", "podman"),
        ("docker://example/base:v1", "docker"),
    ] {
        let r = run_with(
            ["image", input, img("oci/base").as_str()],
            &[("PATH", path)],
        );
        assert_input_error(&r, input, &[&format!("{cli} is not installed")]);
    }
}

/// `docker image save` failing because no daemon answers: one line naming the input.
/// With the docker CLI installed, the real one against a socket that does not exist;
/// without it, a stand-in that fails as the CLI does, so the test never skips.
#[test]
fn docker_without_a_daemon_is_one_line_naming_the_input() {
    let has_docker = on_path("docker");
    let t = tmp();
    let bin = t.path().join("bin");
    let sock = "unix:///nonexistent/rdiff-test.sock";
    fake_bin(
        &bin,
        "docker",
        &format!(
            "echo 'Cannot connect to the Docker daemon at {sock}. Is the docker daemon running?' >&2\nexit 1"
        ),
    );
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let mut env = vec![("DOCKER_HOST", sock)];
    if !has_docker {
        env.push(("PATH", path.as_str()));
    }
    let input = "docker://example/base:v1";
    let r = run_with(["image", input, img("oci/base").as_str()], &env);
    assert_input_error(&r, input, &["docker image save example/base:v1"]);
    let r = run_with(["image", img("oci/base").as_str(), input], &env);
    assert_input_error(&r, input, &["failed"]);
}

/// What `podman image save --format oci-archive NAME` writes for oci/base: podman
/// tags the archive with the name the image was resolved to (libimage's
/// saveSingleImage), none when it was named by ID.
fn podman_archive(t: &Path, file: &str, ref_name: Option<&str>) -> String {
    archive_with(
        "archives/base.oci-archive.tar",
        "index.json",
        &t.join(file),
        |v| match ref_name {
            Some(r) => {
                v["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] = json!(r)
            }
            None => {
                v["manifests"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("annotations");
            }
        },
    )
}

#[test]
fn podman_and_docker_save_are_read_from_their_output() {
    // Stand-ins for the CLIs that check their arguments and print an archive.
    let t = tmp();
    let bin = t.path().join("bin");
    let podman = podman_archive(t.path(), "podman.tar", Some("localhost/base:v1"));
    fake_bin(
        &bin,
        "podman",
        &format!(
            r#"[ "$*" = "image save --format oci-archive localhost/base:v1" ] || {{ echo "bad args: $*" >&2; exit 3; }}
exec cat '{podman}'"#
        ),
    );
    fake_bin(
        &bin,
        "docker",
        &format!(
            r#"[ "$*" = "image save example/base:v1" ] || {{ echo "bad args: $*" >&2; echo "second line" >&2; exit 3; }}
exec cat '{}'"#,
            img("archives/base.docker-legacy.tar")
        ),
    );
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let env = [("PATH", path.as_str())];

    let r = run_with(
        [
            "image",
            "--format",
            "json",
            "podman://localhost/base:v1",
            &format!("oci-archive:{podman}"),
        ],
        &env,
    );
    assert_eq!(r.code(), 0, "{}", r.describe());
    let j = r.json();
    assert_eq!(j["identical"], true);
    assert_eq!(j["left"]["kind"], "oci-archive");
    assert_eq!(j["left"]["name"], "podman://localhost/base:v1");
    // Against the layout, only the name and the form differ, and the documents of the
    // layout itself: the archive's index.json (skopeo's, rewritten here by serde_json) and
    // oci-layout file (skopeo's spelling) are other bytes than umoci's.
    let r = run_with(
        [
            "image",
            "--format",
            "json",
            "podman://localhost/base:v1",
            &img("oci/base"),
        ],
        &env,
    );
    assert_eq!(r.code(), 1, "{}", r.describe());
    assert_eq!(
        visible(&r.json()),
        fl(&[
            ("input", "format"),
            ("index", "bytes"),
            ("index", "oci_layout"),
            ("manifest", "annotations.org.opencontainers.image.ref.name")
        ])
    );

    let r = run_with(
        [
            "image",
            "--format",
            "json",
            "--semantic",
            &img("oci/base"),
            "docker://example/base:v1",
        ],
        &env,
    );
    assert_eq!(r.code(), 0, "{}", r.describe());
    assert_eq!(r.json()["right"]["kind"], "docker-archive");

    // Two images of the same CLI can be compared.
    let r = run_with(
        [
            "image",
            "--format",
            "json",
            "docker://example/base:v1",
            "docker://example/base:v1",
        ],
        &env,
    );
    assert_eq!(r.code(), 0, "{}", r.describe());
    assert_eq!(r.json()["identical"], true);

    // A failing save: one line (the last of the CLI's stderr), naming the input.
    let r = run_with(
        ["image", "docker://other:1", img("oci/base").as_str()],
        &env,
    );
    let line = assert_input_error(&r, "docker://other:1", &["failed", "second line"]);
    assert!(!line.contains("bad args"), "{line}");
}

#[test]
fn podman_and_docker_names_other_than_the_stored_one() {
    let t = tmp();
    let bin = t.path().join("bin");
    let resolved = podman_archive(t.path(), "resolved.tar", Some("localhost/base:v1"));
    let by_id = podman_archive(t.path(), "by-id.tar", None);
    let untagged = docker_archive_with(t.path(), "untagged.tar", |v| {
        v[0]["RepoTags"] = Value::Null;
    });
    fake_bin(
        &bin,
        "podman",
        &format!(
            r#"case "$5" in base:v1) exec cat '{resolved}';; 576392e6e557) exec cat '{by_id}';; esac; exit 3"#
        ),
    );
    fake_bin(&bin, "docker", &format!("exec cat '{untagged}'"));
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let env = [("PATH", path.as_str())];
    for input in [
        "podman://base:v1",
        "podman://576392e6e557",
        "docker://576392e6e557",
    ] {
        let r = run_with(
            ["image", "--semantic", input, img("oci/base").as_str()],
            &env,
        );
        assert_eq!(r.code(), 0, "{input}: {}", r.describe());
    }
}

/// The repo digests a podman or Docker store recorded are said in the header and in
/// `InputSummary.repo_digests`: Arch's check compares them with the published digest.
#[test]
fn podman_and_docker_repo_digests_are_shown() {
    let t = tmp();
    let bin = t.path().join("bin");
    let podman = podman_archive(t.path(), "podman.tar", Some("localhost/base:v1"));
    let (a, b) = ("a".repeat(64), "b".repeat(64));
    fake_bin(
        &bin,
        "podman",
        &format!(
            r#"case "$*" in
"image save --format oci-archive localhost/base:v1") exec cat '{podman}';;
"image inspect --format {{{{json .RepoDigests}}}} localhost/base:v1")
  echo '["quay.io/x/base@sha256:{b}","docker.io/x/base@sha256:{a}","not a reference"]';;
*) echo "Error: bad args: $*" >&2; exit 125;;
esac"#
        ),
    );
    fake_bin(
        &bin,
        "docker",
        &format!(
            r#"case "$*" in
"image save"*) exec cat '{}';;
"image inspect --format {{{{json .RepoDigests}}}} example/base:v1") echo '[]';;
*) echo "Error: No such image: $4" >&2; exit 1;;
esac"#,
            img("archives/base.docker-legacy.tar")
        ),
    );
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let env = [("PATH", path.as_str())];
    let (p, d) = ("podman://localhost/base:v1", "docker://example/base:v1");
    let r = run_with(["image", "--format", "json", "--semantic", p, d], &env);
    assert_eq!(r.code(), 0, "{}", r.describe());
    let j = r.json();
    assert_eq!(
        j["left"]["repo_digests"],
        json!([
            format!("docker.io/x/base@sha256:{a}"),
            format!("quay.io/x/base@sha256:{b}")
        ])
    );
    assert_eq!(j["right"]["repo_digests"], json!([]));
    assert_eq!(j["warnings"], json!([]));
    let r = run_with(["image", "--semantic", p, d], &env);
    let text = r.stdout_text();
    for line in [
        format!("repo digest docker.io/x/base@sha256:{a}  {p}"),
        format!("repo digest quay.io/x/base@sha256:{b}  {p}"),
        format!("repo digest none recorded  {d}"),
    ] {
        assert!(text.contains(&line), "{line:?} not in {text}");
    }
    // Other inputs have none.
    let r = run_with(["image", "--format", "json", p, &img("oci/base")], &env);
    assert!(r.json()["right"].get("repo_digests").is_none());
    // A CLI that will not say: the comparison stands, a warning says why.
    let other = "docker://other:1";
    let r = run_with(["image", "--format", "json", "--semantic", other, d], &env);
    assert_eq!(r.code(), 0, "{}", r.describe());
    let j = r.json();
    assert!(j["left"].get("repo_digests").is_none());
    let w = j["warnings"][0].as_str().unwrap();
    assert!(
        w.starts_with("docker://other:1: repo digests not shown:") && w.contains("No such image"),
        "{w}"
    );
}

// ---------------------------------------------------------------- the walk

const MULTI_ARM64_DIFFS: &[(&str, &str)] = &[
    ("linux/arm64/v8/manifest", "digest"),
    ("linux/arm64/v8/config", "digest"),
    ("linux/arm64/v8/config", "rootfs.diff_ids.0"),
    ("linux/arm64/v8/layers/0", "digest"),
    ("linux/arm64/v8/layers/0", "size"),
    ("linux/arm64/v8/layers/0/etc/motd", "content"),
];

#[test]
fn index_manifests_are_matched_by_platform_never_by_position() {
    // oci/multi: amd64, arm64, attestation; oci/multi-reordered: arm64, attestation,
    // amd64, with arm64's etc/motd changed. Only arm64 may differ.
    for (a, b) in [
        ("oci/multi", "oci/multi-reordered"),
        ("oci/multi-reordered", "oci/multi"),
    ] {
        let (code, r) = report(&[img(a), img(b)]);
        assert_eq!(code, 1);
        // Paired by platform, but the index lists them in another order: strict says so.
        let mut want = fl(MULTI_ARM64_DIFFS);
        want.push(("index".to_string(), "order".to_string()));
        want.sort();
        assert_eq!(visible(&r), want, "{a} vs {b}");
        let f = field(&r, "index", "order");
        let (multi, reordered) = (
            json!("linux/amd64, linux/arm64/v8, attestation/linux/amd64"),
            json!("linux/arm64/v8, attestation/linux/amd64, linux/amd64"),
        );
        let want_order = if a == "oci/multi" {
            (&multi, &reordered)
        } else {
            (&reordered, &multi)
        };
        assert_eq!((&f["left"], &f["right"]), want_order, "{a} vs {b}");
        // --ignore-index-order hides exactly that.
        let (code, h) = report(&["--ignore-index-order".to_string(), img(a), img(b)]);
        assert_eq!(code, 1);
        assert_eq!(visible(&h), fl(MULTI_ARM64_DIFFS), "{a} vs {b}");
        assert_eq!(ignored(&h), ign(&[("ignore-index-order", "order", 1)]));
        let motd = diff_at(&r, "linux/arm64/v8/layers/0/etc/motd");
        let diff = motd["diff"].as_str().unwrap();
        let (minus, plus) = if a == "oci/multi" {
            ("-hello from arm64", "+hello from ARM64")
        } else {
            ("-hello from ARM64", "+hello from arm64")
        };
        assert!(diff.contains(minus) && diff.contains(plus), "{diff}");
        assert_eq!(r["left"]["entries"], 16);
    }
    let (code, r) = report(&[img("oci/multi"), img("oci/multi")]);
    assert_eq!((code, &r["identical"]), (0, &json!(true)));
    // The same list behind a nested index: only the nesting differs (a matter of format,
    // hidden by --semantic), and so the index.json documents (three manifest descriptors
    // against one index descriptor) in `bytes`.
    let (code, r) = report(&[img("oci/multi"), img("oci/multi-nested")]);
    assert_eq!(code, 1);
    assert_eq!(
        visible(&r),
        fl(&[("index", "bytes"), ("index/nested", "nesting")])
    );
    assert_eq!(r["semantically_equal"], true);
    let (code, r) = report(&[
        "--semantic".to_string(),
        img("oci/multi"),
        img("oci/multi-nested"),
    ]);
    assert_eq!(code, 0, "{:?}", visible(&r));
    let (code, r) = report(&[img("oci/multi-reordered"), img("oci/multi-nested:v1")]);
    assert_eq!(code, 1);
    let mut want = fl(MULTI_ARM64_DIFFS);
    want.push(("index/nested".to_string(), "nesting".to_string()));
    want.push(("index".to_string(), "order".to_string()));
    // (And the index.json documents' `bytes`, as above.)
    want.push(("index".to_string(), "bytes".to_string()));
    want.sort();
    let mut got = visible(&r);
    got.sort();
    assert_eq!(got, want);
}

/// oci/multi with its attestation manifest changed (an extra annotation in the
/// attestation manifest document).
fn multi_with_changed_attestation(t: &Path) -> Layout {
    let l = Layout::copy("oci/multi", t, "multi-att");
    let mut m = l.manifest(2);
    m["annotations"] = json!({"org.example.note": "changed"});
    l.set_manifest(2, &m);
    l
}

#[test]
fn attestations_are_paired_by_subject_and_can_be_left_out() {
    let t = tmp();
    let att = multi_with_changed_attestation(t.path());
    let (code, r) = report(&[img("oci/multi"), att.path()]);
    assert_eq!(code, 1);
    // `bytes`: the attestation manifest has a key more, and `Layout` writes the manifest
    // and index.json with serde_json (keys sorted), not in imgtool.py's key order.
    assert_eq!(
        visible(&r),
        fl(&[
            (
                "attestation/linux/amd64/manifest",
                "annotations.org.example.note"
            ),
            ("attestation/linux/amd64/manifest", "bytes"),
            ("attestation/linux/amd64/manifest", "digest"),
            ("attestation/linux/amd64/manifest", "size"),
            ("index", "bytes"),
        ])
    );
    // The reordered image's attestation sits at another position, same subject: equal.
    let (_, r) = report(&[img("oci/multi"), img("oci/multi-reordered")]);
    assert!(
        visible(&r)
            .iter()
            .all(|(p, _)| !p.starts_with("attestation")),
        "{:?}",
        visible(&r)
    );
    // Left out: equal but for the index's bytes (the attestations it lists differ).
    let (code, r) = report(&[
        "--ignore-attestations".to_string(),
        img("oci/multi"),
        att.path(),
    ]);
    assert_eq!(code, 1, "{:?}", visible(&r));
    assert_eq!(visible(&r), fl(&[("index", "bytes")]));
    let (code, r) = report(&[
        "--ignore-attestations".to_string(),
        "--ignore-manifest-format".to_string(),
        img("oci/multi"),
        att.path(),
    ]);
    assert_eq!(code, 0, "{:?}", visible(&r));
    assert_eq!(
        notes(&r),
        [(
            "index".to_string(),
            "filtered".to_string(),
            "2 manifest(s) left out by --platform / --ignore-attestations".to_string()
        )]
    );
    let (code, r) = report(&[
        "--ignore-attestations".to_string(),
        img("oci/multi"),
        img("oci/multi-reordered"),
    ]);
    assert_eq!(code, 1);
    // The two platform manifests are still listed in the other order.
    let mut want = fl(MULTI_ARM64_DIFFS);
    want.push(("index".to_string(), "order".to_string()));
    want.sort();
    assert_eq!(visible(&r), want);
    let f = field(&r, "index", "order");
    assert_eq!(
        (&f["left"], &f["right"]),
        (
            &json!("linux/amd64, linux/arm64/v8"),
            &json!("linux/arm64/v8, linux/amd64")
        )
    );
}

/// Paths of a report that start with `prefix`, with the prefix taken off.
fn under(r: &Value, prefix: &str) -> Fields {
    visible(r)
        .into_iter()
        .filter_map(|(p, f)| p.strip_prefix(prefix).map(|s| (s.to_string(), f)))
        .collect()
}

#[test]
fn index_against_a_single_manifest_in_either_order() {
    for (a, b, status) in [
        ("oci/multi", "oci/base", "removed"),
        ("oci/base", "oci/multi", "added"),
    ] {
        let (code, r) = report(&["--ignore-attestations".to_string(), img(a), img(b)]);
        assert_eq!(code, 1);
        // amd64 of the index is paired with the single (amd64) image, whatever the
        // order; layer counts differ (1 vs 2): squashed.
        let amd = under(&r, "linux/amd64/");
        for want in [
            ("config", "config.Env.LANG"),
            ("config", "config.Labels.org.example.name"),
            (
                "rootfs/etc/hostname",
                if status == "removed" {
                    "added"
                } else {
                    "removed"
                },
            ),
            ("rootfs/usr/bin/tool", "content"),
        ] {
            let want = (want.0.to_string(), want.1.to_string());
            assert!(amd.contains(&want), "{a} vs {b}: no {want:?} in {amd:?}");
        }
        assert!(
            notes(&r).iter().any(|n| n.0 == "linux/amd64/layers"
                && n.1 == "squash"
                && n.2.contains("layer counts differ")),
            "{:?}",
            notes(&r)
        );
        // arm64 is on one side only.
        let d = diff_at(&r, "linux/arm64/v8/manifest");
        assert_eq!(d["status"], status);
        let f = field(&r, "linux/arm64/v8/manifest", "platform");
        let (have, none) = if status == "removed" {
            (&f["left"], &f["right"])
        } else {
            (&f["right"], &f["left"])
        };
        assert_eq!((have, none), (&json!("linux/arm64/v8"), &Value::Null));
        assert!(visible(&r).iter().all(|(p, _)| p == "index"
            || p.starts_with("linux/amd64/")
            || p.starts_with("linux/arm64/v8/")));
    }
    // Narrowed to amd64 there is one pair, but the index holds several platforms: the
    // locations keep their platform prefix, so they do not move with the filter.
    let (code, r) = report(&[
        "--platform",
        "linux/amd64",
        "--ignore-attestations",
        &img("oci/base"),
        &img("oci/multi"),
    ]);
    assert_eq!(code, 1);
    let v = visible(&r);
    assert!(
        v.contains(&("linux/amd64/config".into(), "config.Env.LANG".into())),
        "{v:?}"
    );
    assert!(
        v.contains(&("linux/amd64/rootfs/etc/arch".into(), "added".into())),
        "{v:?}"
    );
    assert!(v.iter().all(|(p, _)| !p.contains("arm64")), "{v:?}");
}

#[test]
fn location_prefix_does_not_depend_on_attestations() {
    let (_, with) = report(&[img("oci/multi"), img("oci/base")]);
    let (_, without) = report(&[
        "--ignore-attestations".to_string(),
        img("oci/multi"),
        img("oci/base"),
    ]);
    let strip_att = |v: Fields| -> Fields {
        v.into_iter()
            .filter(|(p, _)| !p.starts_with("attestation/"))
            .collect()
    };
    assert_eq!(strip_att(visible(&with)), visible(&without));
    diff_at(&with, "linux/amd64/config");
}

#[test]
fn platform_narrows_the_walk() {
    // amd64 is the same image on both sides; the index lists it (and its attestation)
    // in another order, which strict reports and --ignore-index-order hides.
    let (code, r) = report(&[
        "--platform",
        "linux/amd64",
        &img("oci/multi"),
        &img("oci/multi-reordered"),
    ]);
    assert_eq!(code, 1, "{:?}", visible(&r));
    // `bytes` too: the manifests left out (arm64) count with their values, and
    // multi-reordered's arm64 manifest is another one.
    assert_eq!(visible(&r), fl(&[("index", "bytes"), ("index", "order")]));
    assert_eq!(r["semantically_equal"], true);
    assert!(
        notes(&r).iter().any(|n| n.1 == "filtered"),
        "{:?}",
        notes(&r)
    );
    let (code, r) = report(&[
        "--platform",
        "linux/amd64",
        "--ignore-index-order",
        &img("oci/multi"),
        &img("oci/multi-reordered"),
    ]);
    assert_eq!(code, 1, "{:?}", visible(&r));
    assert_eq!(visible(&r), fl(&[("index", "bytes")]));
    assert_eq!(ignored(&r), ign(&[("ignore-index-order", "order", 1)]));
    let (code, r) = report(&[
        "--platform",
        "linux/amd64",
        "--ignore-index-order",
        "--ignore-manifest-format",
        &img("oci/multi"),
        &img("oci/multi-reordered"),
    ]);
    assert_eq!(code, 0, "{:?}", visible(&r));
    assert_eq!(r["identical"], false);
    assert_eq!(
        ignored(&r),
        ign(&[
            ("ignore-index-order", "order", 1),
            ("ignore-manifest-format", "bytes", 1)
        ])
    );
    // arm64 (with or without the variant) keeps exactly the arm64 differences.
    let mut seen = Vec::new();
    for p in ["linux/arm64", "linux/arm64/v8"] {
        let (code, r) = report(&[
            "--platform",
            p,
            &img("oci/multi"),
            &img("oci/multi-reordered"),
        ]);
        assert_eq!(code, 1, "{p}");
        let v: Fields = visible(&r)
            .into_iter()
            .map(|(path, f)| {
                (
                    path.strip_prefix("linux/arm64/v8/")
                        .unwrap_or(&path)
                        .to_string(),
                    f,
                )
            })
            .collect();
        // The manifests left out (amd64, the attestation) are the same descriptors in
        // another order on each side: by the definition of `bytes` (the manifests a
        // set), no `index bytes`.
        let want: Fields = MULTI_ARM64_DIFFS
            .iter()
            .map(|(p, f)| {
                (
                    p.strip_prefix("linux/arm64/v8/").unwrap().to_string(),
                    f.to_string(),
                )
            })
            .collect();
        // arm64 alone: one manifest on each side, so no order to differ in.
        let mut want = want;
        want.sort();
        assert_eq!(v, want, "--platform {p}");
        assert_eq!(r["left"]["entries"], 8, "one image of 8 entries per side");
        seen.push(v);
    }
    assert_eq!(seen[0], seen[1]);
    // Repeatable.
    let (code, r) = report(&[
        "--platform",
        "linux/amd64",
        "--platform",
        "linux/arm64",
        &img("oci/multi"),
        &img("oci/multi-reordered"),
    ]);
    assert_eq!(code, 1);
    assert_eq!(r["left"]["entries"], 16);
    // Malformed values are usage errors.
    for bad in ["linux", "linux/", "/amd64", "a/b/c/d"] {
        let r = image(&["--platform", bad, &img("oci/multi"), &img("oci/multi")]);
        assert_eq!(r.code(), 2, "{bad}: {}", r.describe());
        assert!(r.stderr.contains("--platform"), "{}", r.describe());
        assert!(r.stdout.is_empty());
    }
}

#[test]
fn platform_matching_nothing_is_not_identical() {
    let r = image(&[
        "--platform",
        "linux/s390x",
        &img("oci/multi"),
        &img("oci/multi-reordered"),
    ]);
    assert_ne!(r.code(), 0, "{}", r.describe());
}

#[test]
fn narrowed_locations_keep_the_platform_prefix() {
    let (_, r) = report(&[
        "--platform",
        "linux/arm64",
        &img("oci/multi"),
        &img("oci/base"),
    ]);
    assert_eq!(diff_at(&r, "linux/arm64/v8/manifest")["status"], "removed");
}

#[test]
fn a_platform_on_one_side_only_is_a_difference() {
    let t = tmp();
    let l = Layout::copy("oci/multi", t.path(), "no-arm64");
    let mut idx = l.index();
    idx["manifests"].as_array_mut().unwrap().remove(1);
    l.set_index(&idx);
    let (code, r) = report(&[img("oci/multi"), l.path()]);
    assert_eq!(code, 1);
    // And index.json lists a manifest less (its `bytes`: another array length).
    assert_eq!(
        visible(&r),
        fl(&[("index", "bytes"), ("linux/arm64/v8/manifest", "platform")])
    );
    let d = diff_at(&r, "linux/arm64/v8/manifest");
    assert_eq!(d["status"], "removed");
    let (code, r) = report(&[l.path(), img("oci/multi")]);
    assert_eq!(code, 1);
    assert_eq!(diff_at(&r, "linux/arm64/v8/manifest")["status"], "added");
    // Not compared when not asked for; but the index documents still differ in bytes
    // (strict is bit-for-bit), which only `index.bytes` shows.
    let (code, r) = report(&["--platform", "linux/amd64", &img("oci/multi"), &l.path()]);
    assert_eq!(code, 1);
    assert_eq!(visible(&r), fl(&[("index", "bytes")]));
    let (code, _) = report(&[
        "--platform",
        "linux/amd64",
        "--semantic",
        &img("oci/multi"),
        &l.path(),
    ]);
    assert_eq!(code, 0);
}

// ---------------------------------------------------------------- metadata

const BASE_VS_CHANGED: &[(&str, &str)] = &[
    ("manifest", "digest"),
    ("manifest", "size"),
    ("manifest", "annotations.org.example.build"),
    ("manifest", "annotations.org.opencontainers.image.created"),
    ("config", "digest"),
    ("config", "size"),
    ("config", "config.Env.LANG"),
    ("config", "config.Labels.org.example.name"),
    ("config", "created"),
    ("config", "history.empty0.created"),
    ("config", "rootfs.diff_ids.1"),
    ("layers/1", "digest"),
    ("layers/1/etc/hostname", "content"),
];

#[test]
fn base_vs_changed_names_every_field() {
    let (code, r) = report(&[img("oci/base"), img("oci/changed")]);
    assert_eq!(code, 1);
    assert_eq!(r["command"], "image");
    assert_eq!(r["mode"], "strict");
    assert_eq!(r["identical"], false);
    assert_eq!(r["semantically_equal"], false);
    assert_eq!(visible(&r), fl(BASE_VS_CHANGED));
    assert_eq!(r["summary"]["changed"], 4);
    assert_eq!(r["summary"]["added"], 0);
    assert_eq!(r["summary"]["removed"], 0);
    let v = |path: &str, name: &str| {
        let f = field(&r, path, name);
        (f["left"].clone(), f["right"].clone())
    };
    assert_eq!(
        v("manifest", "annotations.org.example.build"),
        (json!("1"), json!("2"))
    );
    assert_eq!(
        v("config", "created"),
        (json!("2023-11-14T22:13:20Z"), json!("2024-01-01T00:00:00Z"))
    );
    assert_eq!(
        v("config", "config.Env.LANG"),
        (json!("LANG=C"), json!("LANG=C.UTF-8"))
    );
    assert_eq!(
        v("config", "config.Labels.org.example.name"),
        (json!("base"), json!("changed"))
    );
    assert_eq!(
        v("config", "rootfs.diff_ids.1"),
        (
            json!("sha256:c4f68559ea61ae9951ea67dbb39e89fb85c6e8a95ae5a52bbd6612007b22a1d0"),
            json!("sha256:94eb6672b64ed557c21ce3ef2ca5ac628bd177b2b89feb0b8713037bebee3062")
        )
    );
    assert_eq!(
        v("manifest", "digest"),
        (
            json!("sha256:caa3e717ab04d09ca9d379d0e42abd894ddbe6e195a95b370e7986c85e89e251"),
            json!("sha256:8a2e5892a47bae731ae47568cbd7f21dc6aec9c81d6b51350ddd465f910c29dc")
        )
    );
    assert_eq!(
        v("layers/1", "digest"),
        (
            json!("sha256:c073f36d139eb2a3eed967ab825bf94da30b95b119429e913b6f3cbf3d37648a"),
            json!("sha256:bcc4a051959b386674c9323192fe0fbe044d16ed9bc4870e65ea861c060cc87d")
        )
    );
    // Field structure: family and key.
    let f = field(&r, "config", "config.Labels.org.example.name");
    assert_eq!(f["field"], "config");
    assert_eq!(f["key"], "Labels.org.example.name");
    let f = field(&r, "config", "created");
    assert_eq!(f["key"], Value::Null);
    // The layer-1 hostname: content only (same size and mtime), with a text diff.
    let h = diff_at(&r, "layers/1/etc/hostname");
    assert_eq!(h["status"], "changed");
    assert_eq!(h["left_type"], "file");
    let diff = h["diff"].as_str().unwrap();
    assert!(
        diff.contains("-base-host") && diff.contains("+chgd-host"),
        "{diff}"
    );
    // Layer 0 is the same blob: nothing under layers/0.
    assert!(visible(&r).iter().all(|(p, _)| !p.starts_with("layers/0")));
}

#[test]
fn config_env_and_container_config_fields() {
    let t = tmp();
    let a = Layout::copy("oci/base", t.path(), "a");
    let b = Layout::copy("oci/base", t.path(), "b");
    let mut c = a.config(0);
    c["container_config"] = json!({"Env": ["LANG=C", "HOSTNAME=a"], "Hostname": "a"});
    a.set_config(0, &c);
    let mut c = b.config(0);
    c["config"]["Env"] = json!(["LANG=C", "PATH=/usr/bin"]); // order alone
    c["config"]["Entrypoint"] = json!(["/bin/sh"]);
    c["container_config"] = json!({"Env": ["LANG=C.UTF-8", "HOSTNAME=b"], "Hostname": "b"});
    c["org.example.extra"] = json!(1);
    b.set_config(0, &c);
    let (code, r) = report(&[a.path(), b.path()]);
    assert_eq!(code, 1);
    assert_eq!(
        under(&r, "config")
            .into_iter()
            .filter(|(p, _)| p.is_empty())
            .map(|x| x.1)
            .collect::<Vec<_>>(),
        // `bytes`: b's config has keys a's has not (Entrypoint, org.example.extra).
        [
            "bytes",
            "config.Entrypoint",
            "config.Env",
            "container_config.Env.HOSTNAME",
            "container_config.Env.LANG",
            "container_config.Hostname",
            "digest",
            "other.org.example.extra",
            "size",
        ]
    );
    // --ignore-env takes globs and covers container_config too; the order difference
    // (key `Env`) is not a variable.
    let (_, r) = report(&[
        "--ignore-env".to_string(),
        "*".to_string(),
        a.path(),
        b.path(),
    ]);
    let cfg: Vec<String> = visible(&r)
        .into_iter()
        .filter(|(p, _)| p == "config")
        .map(|x| x.1)
        .collect();
    assert_eq!(
        cfg,
        [
            "bytes",
            "config.Entrypoint",
            "config.Env",
            "container_config.Hostname",
            "digest",
            "other.org.example.extra",
            "size"
        ]
    );
    assert_eq!(ignored(&r), ign(&[("ignore-env *", "container_config", 2)]));
}

// ---------------------------------------------------------------- policies

/// Each rule alone hides exactly its fields, and `report.ignored` counts them by rule.
fn check_rule(
    flags: &[&str],
    left: &str,
    right: &str,
    hidden: &[(&str, &str)],
    counts: &[(&str, &str, u64)],
) {
    let (_, strict) = report(&[left, right]);
    let all = visible(&strict);
    let mut args: Vec<&str> = flags.to_vec();
    args.extend(["--show-ignored", left, right]);
    let (code, r) = report(&args);
    let hidden = fl(hidden);
    assert_eq!(visible(&r), minus(&all, &hidden), "{flags:?}");
    assert_eq!(ignored(&r), ign(counts), "{flags:?}");
    assert_eq!(
        fields_of(&r["ignored_differences"]),
        hidden,
        "{flags:?}: --show-ignored lists exactly the hidden fields"
    );
    for d in r["ignored_differences"].as_array().unwrap() {
        for f in d["fields"].as_array().unwrap() {
            assert!(
                counts.iter().any(|c| f["ignored_by"] == c.0),
                "{flags:?}: {f}"
            );
        }
    }
    assert_eq!(r["mode"], "custom", "{flags:?}");
    assert_eq!(code == 0, minus(&all, &hidden).is_empty(), "{flags:?}");
}

#[test]
fn each_image_rule_alone_hides_exactly_its_fields() {
    let (base, changed) = (img("oci/base"), img("oci/changed"));
    let (b, c) = (base.as_str(), changed.as_str());
    check_rule(
        &["--ignore-history"],
        b,
        c,
        &[("config", "history.empty0.created")],
        &[("ignore-history", "history", 1)],
    );
    let times = [
        ("manifest", "annotations.org.opencontainers.image.created"),
        ("config", "created"),
        ("config", "history.empty0.created"),
    ];
    check_rule(
        &["--ignore-image-timestamps"],
        b,
        c,
        &times,
        &[
            ("ignore-image-timestamps", "annotations", 1),
            ("ignore-image-timestamps", "created", 1),
            ("ignore-image-timestamps", "history", 1),
        ],
    );
    check_rule(
        &["--ignore-timestamps"],
        b,
        c,
        &times,
        &[
            ("ignore-timestamps", "annotations", 1),
            ("ignore-timestamps", "created", 1),
            ("ignore-timestamps", "history", 1),
        ],
    );
    check_rule(
        &["--ignore-descriptor-digests"],
        b,
        c,
        &[
            ("manifest", "digest"),
            ("manifest", "size"),
            ("config", "digest"),
            ("config", "size"),
            ("config", "rootfs.diff_ids.1"),
            ("layers/1", "digest"),
        ],
        &[
            ("ignore-descriptor-digests", "digest", 3),
            ("ignore-descriptor-digests", "size", 2),
            ("ignore-descriptor-digests", "rootfs", 1),
        ],
    );
    for key in ["org.example.build", "org.example.*", "*.build"] {
        check_rule(
            &["--ignore-annotation", key],
            b,
            c,
            &[("manifest", "annotations.org.example.build")],
            &[(&format!("ignore-annotation {key}"), "annotations", 1)],
        );
    }
    check_rule(
        &["--ignore-annotation", "org.opencontainers.image.*"],
        b,
        c,
        &[("manifest", "annotations.org.opencontainers.image.created")],
        &[(
            "ignore-annotation org.opencontainers.image.*",
            "annotations",
            1,
        )],
    );
    for key in ["org.example.name", "org.*", "*name"] {
        check_rule(
            &["--ignore-label", key],
            b,
            c,
            &[("config", "config.Labels.org.example.name")],
            &[(&format!("ignore-label {key}"), "config", 1)],
        );
    }
    for key in ["LANG", "LA*", "?ANG"] {
        check_rule(
            &["--ignore-env", key],
            b,
            c,
            &[("config", "config.Env.LANG")],
            &[(&format!("ignore-env {key}"), "config", 1)],
        );
    }
    // A key that differs nowhere hides nothing.
    check_rule(&["--ignore-env", "PATH"], b, c, &[], &[]);
    check_rule(&["--ignore-label", "other"], b, c, &[], &[]);
    // Rules with nothing to hide on base vs changed, each on a pair that has it.
    check_rule(&["--ignore-image-name"], b, c, &[], &[]);
    check_rule(&["--ignore-manifest-format"], b, c, &[], &[]);
    check_rule(&["--ignore-layer-compression"], b, c, &[], &[]);
    // Not squashed (2 layers each): no layer split to differ in.
    check_rule(&["--ignore-layer-split"], b, c, &[], &[]);
    let (s2, s3) = (img("oci/squash-2"), img("oci/squash-3"));
    check_rule(
        &["--ignore-layer-split"],
        &s2,
        &s3,
        &[("manifest", "layers"), ("config", "rootfs.diff_ids")],
        &[
            ("ignore-layer-split", "layers", 1),
            ("ignore-layer-split", "rootfs", 1),
        ],
    );
    let d25 = img("archives/base.docker25.tar");
    check_rule(
        &["--ignore-image-name"],
        b,
        &d25,
        &[("manifest", "annotations.io.containerd.image.name")],
        &[("ignore-image-name", "annotations", 1)],
    );
    let zstd = img("oci/base-zstd");
    let mut compression = Vec::new();
    for l in ["layers/0", "layers/1"] {
        for f in [
            "digest.blob",
            "size.blob",
            "media_type.compression",
            "compression",
        ] {
            compression.push((l, f));
        }
    }
    // skopeo wrote base-zstd's index.json, oci-layout and manifest: the same JSON in
    // other bytes (no trailing newline, `{"imageLayoutVersion": "1.0.0"}`).
    check_rule(
        &["--ignore-manifest-format"],
        b,
        &zstd,
        &[
            ("index", "bytes"),
            ("index", "oci_layout"),
            ("manifest", "bytes"),
        ],
        &[
            ("ignore-manifest-format", "bytes", 2),
            ("ignore-manifest-format", "oci_layout", 1),
        ],
    );
    check_rule(
        &["--ignore-layer-compression"],
        b,
        &zstd,
        &compression,
        &[
            ("ignore-layer-compression", "compression", 2),
            ("ignore-layer-compression", "digest", 2),
            ("ignore-layer-compression", "media_type", 2),
            ("ignore-layer-compression", "size", 2),
        ],
    );
    let docker = img("archives/base.docker-archive.tar");
    check_rule(
        &["--ignore-manifest-format"],
        b,
        &docker,
        &[
            ("index", "file"),
            (
                "manifest",
                "manifest_format.annotations.org.opencontainers.image.ref.name",
            ),
            ("manifest", "manifest_format.annotations.org.example.build"),
            (
                "manifest",
                "manifest_format.annotations.org.opencontainers.image.created",
            ),
            ("manifest", "media_type.format"),
            ("manifest", "media_type.format"),
            ("config", "media_type.format"),
            ("layers/0", "media_type.format"),
            ("layers/1", "media_type.format"),
            // No `bytes` for the manifest: rdiff makes the docker-archive's, so its
            // bytes say nothing about the input.
        ],
        &[
            ("ignore-manifest-format", "file", 1),
            ("ignore-manifest-format", "manifest_format", 3),
            ("ignore-manifest-format", "media_type", 5),
        ],
    );
}

#[test]
fn modes_strict_semantic_custom() {
    let (b, c) = (img("oci/base"), img("oci/changed"));
    let (_, r) = report(&[&b, &c]);
    assert_eq!(r["mode"], "strict");
    assert_eq!(r["rules"], json!([]));
    let (code, r) = report(&["--semantic", &b, &c]);
    assert_eq!(code, 1);
    assert_eq!(r["mode"], "semantic");
    let names: Vec<&str> = r["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            assert_eq!(x["origin"], "semantic");
            x["name"].as_str().unwrap()
        })
        .collect();
    assert_eq!(
        names,
        [
            "ignore-file-timestamps",
            "ignore-file-order",
            "ignore-tar-format",
            "treat-canonical-paths-equal",
            "ignore-file-mode-redundant-bits",
            "ignore-compression",
            "ignore-history",
            "ignore-image-timestamps",
            "ignore-image-name",
            "ignore-build-annotations",
            "ignore-manifest-format",
            "ignore-index-order",
            "ignore-layer-split",
            "ignore-layer-compression",
            "ignore-descriptor-digests",
        ]
    );
    // What matters is left: the build annotation, Env, label, the hostname content.
    assert_eq!(
        visible(&r),
        fl(&[
            ("manifest", "annotations.org.example.build"),
            ("config", "config.Env.LANG"),
            ("config", "config.Labels.org.example.name"),
            ("layers/1/etc/hostname", "content"),
        ])
    );
    assert_eq!(
        ignored(&r),
        ign(&[
            ("ignore-history", "history", 1),
            ("ignore-image-timestamps", "annotations", 1),
            ("ignore-image-timestamps", "created", 1),
            ("ignore-descriptor-digests", "digest", 3),
            ("ignore-descriptor-digests", "rootfs", 1),
            ("ignore-descriptor-digests", "size", 2),
        ])
    );
    // A semantic rule given again changes nothing; a keyed rule makes it custom.
    let (_, r) = report(&["--semantic", "--ignore-history", &b, &c]);
    assert_eq!(r["mode"], "semantic");
    let (code, r) = report(&[
        "--semantic",
        "--ignore-annotation",
        "org.example.build",
        "--ignore-env",
        "LANG",
        "--ignore-label",
        "org.example.name",
        &b,
        &c,
    ]);
    assert_eq!(r["mode"], "custom");
    assert_eq!(code, 1);
    assert_eq!(visible(&r), fl(&[("layers/1/etc/hostname", "content")]));
    // ... and --ignore-path on the location hides the last one.
    let (code, r) = report(&[
        "--semantic",
        "--ignore-annotation",
        "org.example.build",
        "--ignore-env",
        "LANG",
        "--ignore-label",
        "org.example.name",
        "--ignore-path",
        "layers/1/etc/hostname",
        &b,
        &c,
    ]);
    assert_eq!(code, 0, "{:?}", visible(&r));
    assert_eq!(r["equal"], true);
    assert_eq!(r["identical"], false);
}

fn verdict(r: &Run) -> String {
    r.stdout_text()
        .trim_end()
        .lines()
        .last()
        .unwrap_or("")
        .to_string()
}

#[test]
fn strict_verdict_names_what_breaks_identity_and_says_semantically_equal() {
    let r = image(&["--color", "never", &img("oci/base"), &img("oci/base-zstd")]);
    assert_eq!(r.code(), 1);
    // skopeo wrote base-zstd's index.json, oci-layout and manifest in other bytes.
    assert_eq!(
        verdict(&r),
        "not bit-for-bit identical (13 differences: index bytes, index oci_layout, \
         manifest digest, manifest size, manifest bytes, ...); semantically equal"
    );
    let r = image(&[
        "--color",
        "never",
        &img("oci/base"),
        &img("archives/base.docker-archive.tar"),
    ]);
    assert_eq!(r.code(), 1);
    let v = verdict(&r);
    // The form comes first: the input part is compared from the outside in.
    assert!(
        v.starts_with("not bit-for-bit identical (20 differences: input format, index file, ")
            && v.ends_with("; semantically equal"),
        "{v}"
    );
    let r = image(&[
        "--color",
        "never",
        &img("oci/squash-2"),
        &img("oci/squash-3"),
    ]);
    assert_eq!(r.code(), 1);
    let v = verdict(&r);
    assert!(
        v.starts_with("not bit-for-bit identical (12 differences: manifest digest, manifest size, manifest bytes, manifest layers, config digest, ...)")
            && v.ends_with("; semantically equal"),
        "{v}"
    );
    let r = image(&["--color", "never", &img("oci/base"), &img("oci/changed")]);
    assert_eq!(
        verdict(&r),
        "different: 4 entries differ (4 changed); also different under --semantic"
    );
    let r = image(&["--color", "never", &img("oci/base"), &img("oci/base")]);
    assert_eq!(r.code(), 0);
    assert_eq!(verdict(&r), "identical: no differences");
    let r = image(&[
        "--color",
        "never",
        "--semantic",
        &img("oci/base"),
        &img("oci/base-zstd"),
    ]);
    assert_eq!(r.code(), 0);
    assert_eq!(
        verdict(&r),
        "equal under the semantic policy; not bit-for-bit identical (13 differences ignored)"
    );
}

// ---------------------------------------------------------------- equivalence

/// What each stored form of oci/base really changes, in strict mode, against the layout.
fn form_differences(form: &str) -> Fields {
    let docker = || {
        let mut v = vec![
            ("index", "file"),
            (
                "manifest",
                "manifest_format.annotations.org.opencontainers.image.ref.name",
            ),
            ("manifest", "manifest_format.annotations.org.example.build"),
            (
                "manifest",
                "manifest_format.annotations.org.opencontainers.image.created",
            ),
            ("manifest", "digest"),
            ("manifest", "size"),
            ("manifest", "media_type.format"),
            ("manifest", "media_type.format"),
            ("config", "media_type.format"),
            // No manifest `bytes`: rdiff made the docker-archive's manifest.
        ];
        for l in ["layers/0", "layers/1"] {
            for f in [
                "digest.blob",
                "size.blob",
                "media_type.format",
                "media_type.compression",
                "compression",
            ] {
                v.push((l, f));
            }
        }
        fl(&v)
    };
    // Every archive is another form than the layout (`input` `format`); skopeo's
    // oci-archive holds the layout's index.json JSON in other bytes, and its own
    // oci-layout file (`{"imageLayoutVersion": "1.0.0"}`).
    let mut v = match form {
        "archives/base.oci-archive.tar" | "archives/base.oci-archive.tar.gz" => {
            fl(&[("index", "bytes"), ("index", "oci_layout")])
        }
        "archives/base.docker-archive.tar" | "archives/base.docker-legacy.tar" => docker(),
        "docker-archive:archives/base.docker25.tar" => docker(),
        _ => unreachable!("{form}"),
    };
    v.push(("input".to_string(), "format".to_string()));
    v.sort();
    v
}

fn form_arg(form: &str) -> String {
    match form.strip_prefix("docker-archive:") {
        Some(rest) => format!("docker-archive:{}", img(rest)),
        None => img(form),
    }
}

const FORMS: &[&str] = &[
    "archives/base.oci-archive.tar",
    "archives/base.oci-archive.tar.gz",
    "archives/base.docker-archive.tar",
    "archives/base.docker-legacy.tar",
    "docker-archive:archives/base.docker25.tar",
];

#[test]
fn stored_forms_are_semantically_equal_and_differ_only_where_the_form_does() {
    let base = img("oci/base");
    for form in FORMS {
        let arg = form_arg(form);
        for (l, r) in [(&base, &arg), (&arg, &base)] {
            let (code, rep) = report(&["--semantic", l.as_str(), r.as_str()]);
            assert_eq!(code, 0, "{form}: {:?}", visible(&rep));
            let (code, rep) = report(&[l.as_str(), r.as_str()]);
            let want = form_differences(form);
            assert_eq!(visible(&rep), want, "{form} (strict)");
            assert_eq!(code, 1, "{form}");
            assert_eq!(rep["semantically_equal"], true, "{form}");
            // Entries: every layer member on both sides.
            assert_eq!(rep["left"]["entries"], 19);
            assert_eq!(rep["right"]["entries"], 19);
        }
    }
    // The forms against each other, under --semantic.
    for a in FORMS {
        for b in FORMS {
            let (code, rep) = report(&["--semantic".to_string(), form_arg(a), form_arg(b)]);
            assert_eq!(code, 0, "{a} vs {b}: {:?}", visible(&rep));
        }
    }
    // The forms against each other, strict: the same form, the same blobs, other
    // archive bytes. docker25.tar read as a docker-archive and the legacy shape hold the
    // same documents; only the archives' own tar (member names, layout, the members
    // rdiff does not read) differ: `sha256` and `archive`, both hidden by
    // --ignore-tar-format.
    let (legacy, d25) = (
        img("archives/base.docker-legacy.tar"),
        form_arg("docker-archive:archives/base.docker25.tar"),
    );
    let (code, rep) = report(&[&legacy, &d25]);
    assert_eq!(code, 1);
    assert_eq!(
        visible(&rep),
        fl(&[("input", "archive"), ("input", "sha256")])
    );
    let f = field(&rep, "input", "archive");
    let starts = |v: &Value, p: &str| v.as_str().is_some_and(|s| s.starts_with(p));
    assert!(starts(&f["left"], "11 members, sha256:"), "{f}");
    assert!(starts(&f["right"], "12 members, sha256:"), "{f}");
    let f = field(&rep, "input", "sha256");
    let file_sha = |p: &str| json!(format!("sha256:{}", sha256_hex(&std::fs::read(p).unwrap())));
    assert_eq!(
        (&f["left"], &f["right"]),
        (
            &file_sha(&legacy),
            &file_sha(&img("archives/base.docker25.tar"))
        )
    );
    assert_eq!(rep["semantically_equal"], true);
    let (code, rep) = report(&["--ignore-tar-format", &legacy, &d25]);
    assert_eq!(code, 0, "{:?}", visible(&rep));
    assert_eq!(
        ignored(&rep),
        ign(&[
            ("ignore-tar-format", "archive", 1),
            ("ignore-tar-format", "sha256", 1)
        ])
    );
    // The oci-archive and its gzip: bytes and codec.
    let (code, rep) = report(&[
        img("archives/base.oci-archive.tar"),
        img("archives/base.oci-archive.tar.gz"),
    ]);
    assert_eq!(code, 1);
    assert_eq!(
        visible(&rep),
        fl(&[("input", "compression"), ("input", "sha256")])
    );
    let (code, rep) = report(&[
        "--ignore-compression".to_string(),
        img("archives/base.oci-archive.tar"),
        img("archives/base.oci-archive.tar.gz"),
    ]);
    assert_eq!(code, 0, "{:?}", visible(&rep));
    assert_eq!(
        ignored(&rep),
        ign(&[
            ("ignore-compression", "compression", 1),
            ("ignore-compression", "sha256", 1)
        ])
    );
    // The two docker-archive shapes hold the same image, but for the name they give it:
    // skopeo writes `docker.io/example/base:v1` in RepoTags, the legacy shape
    // `example/base:v1`; --ignore-image-name hides that, --ignore-tar-format the rest of
    // the archives' bytes (see docker_archive_shapes_differ_in_their_archive_too for
    // what strict says of those).
    let skopeo = img("archives/base.docker-archive.tar");
    let (code, rep) = report(&[&skopeo, &legacy]);
    assert_eq!(code, 1);
    assert_eq!(rep["semantically_equal"], true);
    for want in [("input", "sha256"), ("manifest", "repo_tags")] {
        let want = (want.0.to_string(), want.1.to_string());
        assert!(visible(&rep).contains(&want), "{:?}", visible(&rep));
    }
    let (code, rep) = report(&[
        "--ignore-image-name",
        "--ignore-tar-format",
        &skopeo,
        &legacy,
    ]);
    assert_eq!(code, 0, "{:?}", visible(&rep));
}

/// skopeo's docker-archive and the legacy `docker save` shape of oci/base hold the same
/// documents and blobs but the name, and are different archives: 26 624 against 30 720
/// bytes, layer.tar symlinks against files, other member names, modes (0444 / 0644) and
/// mtimes, other `<id>/json` and `repositories` members. Strict reports `archive` (the
/// archives' own tar framing) beside `sha256` and `repo_tags`, so --ignore-image-name
/// alone, which names the image's name only, leaves the archive difference visible.
#[test]
fn docker_archive_shapes_differ_in_their_archive_too() {
    let (skopeo, legacy) = (
        img("archives/base.docker-archive.tar"),
        img("archives/base.docker-legacy.tar"),
    );
    let (code, rep) = report(&[&skopeo, &legacy]);
    assert_eq!(code, 1);
    assert_eq!(
        visible(&rep),
        fl(&[
            ("input", "archive"),
            ("input", "sha256"),
            ("manifest", "repo_tags")
        ])
    );
    let (code, rep) = report(&["--ignore-image-name", &skopeo, &legacy]);
    assert_eq!(code, 1, "{:?}", ignored(&rep));
    assert_eq!(
        visible(&rep),
        fl(&[("input", "archive"), ("input", "sha256")])
    );
}

#[test]
fn docker25_archive_reports_its_missing_annotations() {
    let (b, d) = (img("oci/base"), img("archives/base.docker25.tar"));
    let (code, r) = report(&[&b, &d]);
    assert_eq!(code, 1);
    assert_eq!(r["right"]["kind"], "oci-archive");
    // imgtool.py's index.json (mediaType, platform, two annotations), manifest (mediaType,
    // config platform, no annotations) and oci-layout (no newline) are other documents
    // than umoci's: `bytes` and `oci_layout`.
    let mut want = vec![
        ("input", "format"),
        ("index", "bytes"),
        ("index", "oci_layout"),
        ("manifest", "bytes"),
        ("index", "media_type.format"),
        ("manifest", "annotations.io.containerd.image.name"),
        ("manifest", "digest"),
        ("manifest", "size"),
        ("manifest", "platform.architecture"),
        ("manifest", "platform.os"),
        ("manifest", "annotations.org.example.build"),
        ("manifest", "annotations.org.opencontainers.image.created"),
        ("manifest", "media_type.format"),
        ("config", "platform.architecture"),
        ("config", "platform.os"),
    ];
    for l in ["layers/0", "layers/1"] {
        for f in [
            "digest.blob",
            "size.blob",
            "media_type.compression",
            "compression",
        ] {
            want.push((l, f));
        }
    }
    assert_eq!(visible(&r), fl(&want));
    assert_eq!(r["semantically_equal"], false);
    let f = field(&r, "layers/0", "compression");
    assert_eq!((&f["left"], &f["right"]), (&json!("gzip"), &json!("none")));
    // Under --semantic, the one annotation its manifest lacks is what is left.
    let (code, r) = report(&["--semantic", &b, &d]);
    assert_eq!(code, 1);
    assert_eq!(
        visible(&r),
        fl(&[("manifest", "annotations.org.example.build")])
    );
    let f = field(&r, "manifest", "annotations.org.example.build");
    assert_eq!((&f["left"], &f["right"]), (&json!("1"), &Value::Null));
    let (code, _) = report(&[
        "--semantic",
        "--ignore-annotation",
        "org.example.build",
        &b,
        &d,
    ]);
    assert_eq!(code, 0);
}

// ---------------------------------------------------------------- layers

#[test]
fn squash_2_vs_3_is_the_same_filesystem() {
    let (s2, s3) = (img("oci/squash-2"), img("oci/squash-3"));
    // The layer split (`layers`, `rootfs.diff_ids`), and so the documents' lengths of
    // arrays (`bytes`: 2 layers and 3 history entries against 3 and 4).
    let want = fl(&[
        ("manifest", "digest"),
        ("manifest", "size"),
        ("manifest", "bytes"),
        ("manifest", "layers"),
        ("config", "digest"),
        ("config", "size"),
        ("config", "bytes"),
        ("config", "rootfs.diff_ids"),
        ("config", "history.layer0.comment"),
        ("config", "history.layer1.comment"),
        ("config", "history.layer1.created_by"),
        ("config", "history.layer2"),
    ]);
    let (code, r) = report(&[&s2, &s3]);
    assert_eq!(code, 1);
    assert_eq!(visible(&r), want);
    assert_eq!(
        notes(&r),
        [(
            "layers".to_string(),
            "squash".to_string(),
            "layer counts differ (2 vs 3): compared as squashed filesystems".to_string()
        )]
    );
    assert_eq!(r["semantically_equal"], true);
    // 15 entries in the final tree of each.
    assert_eq!(r["left"]["entries"], 15);
    assert_eq!(r["right"]["entries"], 15);
    let (code, r) = report(&["--semantic", &s2, &s3]);
    assert_eq!(code, 0, "{:?}", visible(&r));
    assert_eq!(
        ignored(&r),
        ign(&[
            ("ignore-history", "history", 4),
            ("ignore-manifest-format", "bytes", 2),
            ("ignore-layer-split", "layers", 1),
            ("ignore-layer-split", "rootfs", 1),
            ("ignore-descriptor-digests", "digest", 2),
            ("ignore-descriptor-digests", "size", 2),
        ])
    );
    // Asked for: the same, without the note.
    let (_, r) = report(&["--squash", &s2, &s3]);
    assert_eq!(visible(&r), want);
    assert!(notes(&r).is_empty(), "{:?}", notes(&r));
}

#[test]
fn squash_compares_the_final_filesystem() {
    let (code, r) = report(&["--squash", &img("oci/base"), &img("oci/changed")]);
    assert_eq!(code, 1);
    // The layer lists and diff_ids as wholes (layer 1 differs: `--ignore-layer-split`),
    // not per layer; the filesystem under rootfs/.
    assert_eq!(
        visible(&r),
        fl(&[
            ("manifest", "digest"),
            ("manifest", "size"),
            ("manifest", "layers"),
            ("config", "rootfs.diff_ids"),
            ("manifest", "annotations.org.example.build"),
            ("manifest", "annotations.org.opencontainers.image.created"),
            ("config", "digest"),
            ("config", "size"),
            ("config", "config.Env.LANG"),
            ("config", "config.Labels.org.example.name"),
            ("config", "created"),
            ("config", "history.empty0.created"),
            ("rootfs/etc/hostname", "content"),
        ])
    );
    assert_eq!(r["left"]["entries"], 17, "the final tree of oci/base");
}

#[test]
fn whiteouts_image_equals_itself_layered_and_squashed() {
    let w = img("oci/whiteouts");
    let (code, r) = report(&[&w, &w]);
    assert_eq!((code, &r["identical"]), (0, &json!(true)));
    assert_eq!(r["left"]["entries"], 24, "members of the 4 layers");
    let (code, r) = report(&["--squash", &w, &w]);
    assert_eq!((code, &r["identical"]), (0, &json!(true)));
    assert_eq!(
        r["left"]["entries"], 9,
        ". a a/keep b b/sub c c/new d d/e.txt"
    );
}

#[test]
fn whiteouts_are_applied_when_squashing() {
    let t = tmp();
    let w = img("oci/whiteouts");
    // Layer 1 without `a/.wh.gone`: a/gone survives.
    let no_wh = Layout::copy("oci/whiteouts", t.path(), "no-wh");
    no_wh.edit_layer(0, 1, |m| m.retain(|x| x.name() != "a/.wh.gone"));
    let (code, r) = report(&["--squash", &w, &no_wh.path()]);
    assert_eq!(code, 1);
    assert_eq!(
        under(&r, "rootfs/"),
        fl(&[("a/gone", "added")]),
        "{:?}",
        visible(&r)
    );
    // Layer by layer the marker itself is the difference.
    let (_, r) = report(&[&w, &no_wh.path()]);
    assert_eq!(under(&r, "layers/1/"), fl(&[("a/.wh.gone", "removed")]));

    // Layer 3 without the opaque marker: c/'s old children survive.
    let no_opq = Layout::copy("oci/whiteouts", t.path(), "no-opq");
    no_opq.edit_layer(0, 3, |m| m.retain(|x| x.name() != "c/.wh..wh..opq"));
    let (code, r) = report(&["--squash", &w, &no_opq.path()]);
    assert_eq!(code, 1);
    assert_eq!(
        under(&r, "rootfs/"),
        fl(&[
            ("c/old-sub", "added"),
            ("c/old-sub/z", "added"),
            ("c/old1", "added"),
            ("c/old2", "added"),
        ])
    );

    // Layer 2 without re-creating d/e.txt: the whiteout of layer 1 wins.
    let no_recreate = Layout::copy("oci/whiteouts", t.path(), "no-recreate");
    no_recreate.edit_layer(0, 2, |m| m.retain(|x| x.name() != "d/e.txt"));
    let (code, r) = report(&["--squash", &w, &no_recreate.path()]);
    assert_eq!(code, 1);
    assert_eq!(under(&r, "rootfs/"), fl(&[("d/e.txt", "removed")]));

    // An opaque marker at the root of the last layer hides every lower entry.
    let root_opq = Layout::copy("oci/whiteouts", t.path(), "root-opq");
    root_opq.edit_layer(0, 3, |m| {
        m.insert(0, raw_file(".wh..wh..opq", b"", 0o644, 1_700_000_000))
    });
    let (code, r) = report(&["--squash", &w, &root_opq.path()]);
    assert_eq!(code, 1);
    let removed: Vec<String> = under(&r, "rootfs/")
        .into_iter()
        .filter(|x| x.1 == "removed")
        .map(|x| x.0)
        .collect();
    assert_eq!(removed, ["a", "a/keep", "b", "b/sub", "d", "d/e.txt"]);
}

#[test]
fn layer_compression_is_its_own_difference() {
    let (b, z) = (img("oci/base"), img("oci/base-zstd"));
    let (code, r) = report(&[&b, &z]);
    assert_eq!(code, 1);
    // skopeo wrote base-zstd's documents: index.json and the manifest without umoci's
    // trailing newline, oci-layout as `{"imageLayoutVersion": "1.0.0"}`.
    let skopeo = [
        ("index", "bytes"),
        ("index", "oci_layout"),
        ("manifest", "bytes"),
    ];
    let mut want = vec![("manifest", "digest"), ("manifest", "size")];
    want.extend(skopeo);
    for l in ["layers/0", "layers/1"] {
        for f in [
            "digest.blob",
            "size.blob",
            "media_type.compression",
            "compression",
        ] {
            want.push((l, f));
        }
    }
    assert_eq!(visible(&r), fl(&want));
    let f = field(&r, "layers/1", "compression");
    assert_eq!((&f["left"], &f["right"]), (&json!("gzip"), &json!("zstd")));
    let f = field(&r, "layers/0", "size.blob");
    assert_eq!((&f["left"], &f["right"]), (&json!(2145), &json!(2044)));
    assert_eq!(r["semantically_equal"], true);
    // Alone, --ignore-layer-compression leaves only the manifest's own descriptor (and
    // the documents' bytes).
    let (code, r) = report(&["--ignore-layer-compression", &b, &z]);
    assert_eq!(code, 1);
    let mut want = vec![("manifest", "digest"), ("manifest", "size")];
    want.extend(skopeo);
    assert_eq!(visible(&r), fl(&want));
    let (code, r) = report(&["--semantic", &b, &z]);
    assert_eq!(code, 0, "{:?}", visible(&r));
    // Squashed, compression is not a question at all; nor is the layer split, which is
    // the same (two layers, the same diff_ids): no `layers`.
    let (code, r) = report(&["--squash", &b, &z]);
    assert_eq!(code, 1);
    let mut want = vec![("manifest", "digest"), ("manifest", "size")];
    want.extend(skopeo);
    assert_eq!(visible(&r), fl(&want));
}

#[test]
fn a_real_layer_difference_is_not_hidden_by_compression_rules() {
    // Same compression, different uncompressed content: digest and size are plain
    // `digest`/`size` (not `.blob`), so --ignore-layer-compression does not hide them.
    let (code, r) = report(&[
        "--ignore-layer-compression",
        &img("oci/base"),
        &img("oci/changed"),
    ]);
    assert_eq!(code, 1);
    field(&r, "layers/1", "digest");
    assert!(ignored(&r).is_empty());
}

#[test]
fn file_timestamps_in_layers_and_the_timestamp_rules() {
    // oci/base with layer 1's etc/hostname given another mtime (and regzipped).
    let t = tmp();
    let l = Layout::copy("oci/base", t.path(), "mtime");
    l.edit_layer(0, 1, |m| {
        for x in m.iter_mut().filter(|x| x.name() == "etc/hostname") {
            x.header.set_mtime(1_800_000_000);
            // Spelled as the layer's writer spelled it, so that the header bytes differ
            // in the mtime only (the tar crate's set_cksum writes 7 digits and a NUL,
            // which strict reports as a `header` difference).
            fix_checksum(x.header.as_mut_bytes());
        }
    });
    let (b, p) = (img("oci/base"), l.path());
    let (code, r) = report(&[&b, &p]);
    assert_eq!(code, 1);
    assert_eq!(
        under(&r, "layers/1/"),
        fl(&[("etc/hostname", "mtime")]),
        "{:?}",
        visible(&r)
    );
    let f = field(&r, "layers/1/etc/hostname", "mtime");
    assert_ne!(f["left"], f["right"]);
    assert_eq!(r["semantically_equal"], true);
    let (_, r) = report(&["--ignore-timestamps", &b, &p]);
    assert!(under(&r, "layers/1/").is_empty(), "{:?}", visible(&r));
    assert_eq!(
        ignored(&r),
        ign(&[("ignore-timestamps", "mtime", 1)]),
        "file timestamps are image timestamps' companions"
    );
    let (_, r) = report(&["--ignore-image-timestamps", &b, &p]);
    assert_eq!(under(&r, "layers/1/"), fl(&[("etc/hostname", "mtime")]));
    assert!(ignored(&r).is_empty());
    let (_, r) = report(&["--ignore-file-timestamps", &b, &p]);
    assert!(under(&r, "layers/1/").is_empty());
    // Squashed: the same difference, in the final filesystem.
    let (_, r) = report(&["--squash", &b, &p]);
    assert_eq!(under(&r, "rootfs/"), fl(&[("etc/hostname", "mtime")]));
    // Semantically the same image.
    let (code, r) = report(&["--semantic", &b, &p]);
    assert_eq!(code, 0, "{:?}", visible(&r));

    // The same edit with the checksum in the tar crate's spelling: the header bytes
    // differ beyond the mtime, which strict reports as `header`, and which
    // --ignore-tar-format hides (and not --ignore-file-timestamps).
    let l = Layout::copy("oci/base", t.path(), "mtime-cksum");
    l.edit_layer(0, 1, |m| {
        for x in m.iter_mut().filter(|x| x.name() == "etc/hostname") {
            x.header.set_mtime(1_800_000_000);
            x.header.set_cksum();
        }
    });
    let p = l.path();
    let (_, r) = report(&[&b, &p]);
    assert_eq!(
        under(&r, "layers/1/"),
        fl(&[("etc/hostname", "header"), ("etc/hostname", "mtime")])
    );
    let (_, r) = report(&["--ignore-file-timestamps", &b, &p]);
    assert_eq!(under(&r, "layers/1/"), fl(&[("etc/hostname", "header")]));
    let (_, r) = report(&["--ignore-file-timestamps", "--ignore-tar-format", &b, &p]);
    assert!(under(&r, "layers/1/").is_empty(), "{:?}", visible(&r));
    assert_eq!(
        ignored(&r)[&("ignore-tar-format".to_string(), "header".to_string())],
        1
    );
}

// ---------------------------------------------------------------- library entry

#[test]
fn library_report_is_the_json_report() {
    for args in [
        vec![img("oci/base"), img("oci/changed")],
        vec![
            "--semantic".into(),
            img("oci/multi"),
            img("oci/multi-reordered"),
        ],
        vec!["--squash".into(), img("oci/squash-2"), img("oci/squash-3")],
    ] {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let lib = serde_json::to_value(lib_report(&a)).unwrap();
        let (_, bin) = report(&a);
        assert_eq!(lib, bin, "{args:?}");
    }
    let r = lib_report(&[&img("oci/base"), &img("oci/base-zstd")]);
    assert_eq!(r.mode, "strict");
    assert!(!r.equal && !r.identical && r.semantically_equal);
    assert!(
        r.verdict().ends_with("; semantically equal"),
        "{}",
        r.verdict()
    );
}

#[test]
fn output_is_deterministic_across_runs_and_threads() {
    let args = [
        "--format",
        "json",
        &img("oci/multi"),
        &img("oci/multi-reordered"),
    ];
    let one = image(&args).stdout_text();
    for threads in ["1", "2", "4"] {
        let mut v = vec!["--threads", threads];
        v.extend(args);
        assert_eq!(image(&v).stdout_text(), one, "--threads {threads}");
    }
}

// ---------------------------------------------------------------- --report-dir

#[test]
fn report_dir_holds_reports_and_the_differing_files() {
    let t = tmp();
    let dir = t.path().join("out");
    let r = image(&[
        "--format",
        "json",
        "--report-dir",
        dir.to_str().unwrap(),
        &img("oci/base"),
        &img("oci/changed"),
    ]);
    assert_eq!(r.code(), 1, "{}", r.describe());
    let on_disk: Value =
        serde_json::from_slice(&std::fs::read(dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(on_disk, r.json());
    let txt = std::fs::read_to_string(dir.join("report.txt")).unwrap();
    assert!(
        txt.trim_end()
            .ends_with("different: 4 entries differ (4 changed); also different under --semantic"),
        "{txt}"
    );
    assert_eq!(
        std::fs::read(dir.join("left/layers/1/etc/hostname")).unwrap(),
        b"base-host\n"
    );
    assert_eq!(
        std::fs::read(dir.join("right/layers/1/etc/hostname")).unwrap(),
        b"chgd-host\n"
    );
    // Nothing else: only the differing file on each side.
    let mut all = Vec::new();
    fn walk(p: &Path, base: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(p).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                walk(&e.path(), base, out);
            } else {
                out.push(
                    e.path()
                        .strip_prefix(base)
                        .unwrap()
                        .to_str()
                        .unwrap()
                        .to_string(),
                );
            }
        }
    }
    walk(&dir, &dir, &mut all);
    all.sort();
    assert_eq!(
        all,
        [
            "left/layers/1/etc/hostname",
            "report.json",
            "report.txt",
            "right/layers/1/etc/hostname"
        ]
    );
    // Squashed: under rootfs/.
    let dir2 = t.path().join("out2");
    let r = image(&[
        "--squash",
        "--report-dir",
        dir2.to_str().unwrap(),
        &img("oci/base"),
        &img("oci/changed"),
    ]);
    assert_eq!(r.code(), 1);
    assert_eq!(
        std::fs::read(dir2.join("left/rootfs/etc/hostname")).unwrap(),
        b"base-host\n"
    );
    // Platform-prefixed locations.
    let dir3 = t.path().join("out3");
    let r = image(&[
        "--report-dir",
        dir3.to_str().unwrap(),
        &img("oci/multi"),
        &img("oci/multi-reordered"),
    ]);
    assert_eq!(r.code(), 1);
    assert_eq!(
        std::fs::read(dir3.join("right/linux/arm64/v8/layers/0/etc/motd")).unwrap(),
        b"hello from ARM64\n"
    );
}

#[test]
fn report_dir_refuses_a_planted_symlink() {
    let t = tmp();
    let outside = t.path().join("outside");
    std::fs::create_dir(&outside).unwrap();
    for plant in ["left", "left/layers", "right/layers/1/etc"] {
        let dir = t.path().join(format!("out-{}", plant.replace('/', "_")));
        let link = dir.join(plant);
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        let r = image(&[
            "--report-dir",
            dir.to_str().unwrap(),
            &img("oci/base"),
            &img("oci/changed"),
        ]);
        assert_eq!(r.code(), 2, "{plant}: {}", r.describe());
        let e = r.stderr.clone();
        assert_eq!(e.matches('\n').count(), 1, "{e}");
        assert!(e.starts_with("rdiff: ") && e.contains("symlink"), "{e}");
        assert!(!e.contains("panicked"));
        assert!(
            std::fs::read_dir(&outside).unwrap().next().is_none(),
            "{plant}: something was written outside the report directory"
        );
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
    // A symlink in place of report.json: the target is left alone.
    let dir = t.path().join("out-report");
    std::fs::create_dir(&dir).unwrap();
    let target = outside.join("victim");
    std::fs::write(&target, b"keep").unwrap();
    std::os::unix::fs::symlink(&target, dir.join("report.json")).unwrap();
    let r = image(&[
        "--report-dir",
        dir.to_str().unwrap(),
        &img("oci/base"),
        &img("oci/changed"),
    ]);
    assert_eq!(r.code(), 2, "{}", r.describe());
    assert!(r.stderr.contains("symlink"), "{}", r.describe());
    assert_eq!(std::fs::read(&target).unwrap(), b"keep");
}

#[test]
fn report_dir_never_climbs_out_with_dotdot_entries() {
    // Both sides hold a layer member `../../evil` whose content differs.
    let t = tmp();
    let a = Layout::copy("oci/whiteouts", t.path(), "a");
    let b = Layout::copy("oci/whiteouts", t.path(), "b");
    a.edit_layer(0, 2, |m| {
        m.push(raw_file("../../evil", b"left\n", 0o644, 0))
    });
    b.edit_layer(0, 2, |m| {
        m.push(raw_file("../../evil", b"right\n", 0o644, 0))
    });
    let dir = t.path().join("x/y/out");
    let r = image(&[
        "--format",
        "json",
        "--report-dir",
        dir.to_str().unwrap(),
        &a.path(),
        &b.path(),
    ]);
    assert_eq!(r.code(), 1, "{}", r.describe());
    let j = r.json();
    field(&j, "layers/2/../../evil", "content");
    for p in [
        t.path().join("evil"),
        t.path().join("x/evil"),
        t.path().join("x/y/evil"),
        dir.join("evil"),
        dir.join("left/evil"),
        dir.join("left/layers/evil"),
    ] {
        assert!(!p.exists(), "{} was written", p.display());
    }
    assert_eq!(
        std::fs::read(dir.join("left/layers/2/%2E%2E/%2E%2E/evil")).unwrap(),
        b"left\n"
    );
    assert_eq!(
        std::fs::read(dir.join("right/layers/2/%2E%2E/%2E%2E/evil")).unwrap(),
        b"right\n"
    );
}

// ---------------------------------------------------------------- bad images

/// Compare a damaged input against oci/base, on both sides.
fn assert_bad(input: &str, problems: &[&str]) {
    for (l, r) in [
        (img("oci/base"), input.to_string()),
        (input.to_string(), img("oci/base")),
    ] {
        let run = image(&[l.as_str(), r.as_str()]);
        assert_input_error(&run, input, problems);
    }
}

#[test]
fn missing_blobs() {
    let t = tmp();
    let l = Layout::copy("oci/base", t.path(), "no-config");
    let cfg = l.manifest(0)["config"]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::remove_file(l.blob(&cfg)).unwrap();
    assert_bad(&l.path(), &["missing", &cfg]);

    let l = Layout::copy("oci/base", t.path(), "no-layer");
    std::fs::remove_file(l.blob(&l.layer_digest(0, 1))).unwrap();
    assert_bad(&l.path(), &["layer 1", "no such file"]);

    let l = Layout::copy("oci/base", t.path(), "no-manifest");
    std::fs::remove_file(l.blob(&l.manifest_digest(0))).unwrap();
    assert_bad(&l.path(), &["missing"]);
}

#[test]
fn blob_digest_mismatch() {
    let t = tmp();
    let l = Layout::copy("oci/base", t.path(), "bad-config");
    let cfg = l.manifest(0)["config"]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let p = l.blob(&cfg);
    let mut b = std::fs::read(&p).unwrap();
    // One byte inside a JSON string: still valid JSON, same size.
    let i = b.windows(4).position(|w| w == b"base").unwrap();
    b[i] = b'B';
    std::fs::write(&p, &b).unwrap();
    assert_bad(&l.path(), &["digest mismatch", &cfg]);

    // A layer blob with one byte changed (same size).
    let l = Layout::copy("oci/base", t.path(), "bad-layer");
    let p = l.blob(&l.layer_digest(0, 0));
    let mut b = std::fs::read(&p).unwrap();
    let n = b.len();
    b[n - 1] ^= 0xff; // gzip trailer: the size field
    std::fs::write(&p, &b).unwrap();
    assert_bad(&l.path(), &["layer 0"]);
}

#[test]
fn layer_size_mismatch() {
    let t = tmp();
    let l = Layout::copy("oci/base", t.path(), "bigger");
    let p = l.blob(&l.layer_digest(0, 1));
    let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
    f.write_all(b"\0").unwrap();
    drop(f);
    assert_bad(&l.path(), &["layer 1", "size mismatch", "260", "261"]);
}

#[test]
fn diff_id_mismatch() {
    // Layer 1 replaced by oci/changed's (a valid layer, same size); the descriptor's
    // digest is fixed up, the config's diff_id is not.
    let t = tmp();
    let l = Layout::copy("oci/base", t.path(), "other-layer");
    let other = "sha256:bcc4a051959b386674c9323192fe0fbe044d16ed9bc4870e65ea861c060cc87d";
    std::fs::copy(
        Path::new(&img("oci/changed"))
            .join("blobs/sha256")
            .join(&other[7..]),
        l.blob(other),
    )
    .unwrap();
    let mut m = l.manifest(0);
    m["layers"][1]["digest"] = json!(other);
    m["layers"][1]["size"] = json!(std::fs::metadata(l.blob(other)).unwrap().len());
    l.set_manifest(0, &m);
    assert_bad(&l.path(), &["layer 1", "diff_id mismatch"]);
    // Under --squash too.
    let r = image(&["--squash", &img("oci/base"), &l.path()]);
    assert_input_error(&r, &l.path(), &["diff_id mismatch"]);
}

#[test]
fn layout_without_oci_layout_or_with_a_bad_index() {
    let t = tmp();
    let l = Layout::copy("oci/base", t.path(), "no-oci-layout");
    std::fs::remove_file(l.dir.join("oci-layout")).unwrap();
    assert_bad(&l.path(), &["oci-layout"]);

    let l = Layout::copy("oci/base", t.path(), "index-not-json");
    std::fs::write(l.dir.join("index.json"), b"{\"schemaVersion\": 2, \"manif").unwrap();
    assert_bad(&l.path(), &["index.json", "not valid JSON"]);

    let l = Layout::copy("oci/base", t.path(), "index-not-object");
    std::fs::write(l.dir.join("index.json"), b"[1, 2]").unwrap();
    assert_bad(&l.path(), &["index.json"]);

    let l = Layout::copy("oci/base", t.path(), "index-empty");
    l.set_index(&json!({"schemaVersion": 2, "manifests": []}));
    assert_bad(&l.path(), &["no manifest"]);

    let l = Layout::copy("oci/base", t.path(), "no-index");
    std::fs::remove_file(l.dir.join("index.json")).unwrap();
    assert_bad(&l.path(), &["index.json"]);

    // A plain directory is not an image.
    let d = t.path().join("plain");
    std::fs::create_dir_all(d.join("etc")).unwrap();
    std::fs::write(d.join("etc/hostname"), b"x\n").unwrap();
    assert_bad(d.to_str().unwrap(), &["oci-layout"]);
}

#[test]
fn a_manifest_that_refers_to_itself() {
    // Content addressing makes a true self-reference impossible: a manifest stored
    // under the digest it names as its own config. It must fail cleanly, not loop.
    let t = tmp();
    let l = Layout::copy("oci/base", t.path(), "self-ref");
    let fake = format!("sha256:{}", "5e1f".repeat(16));
    let mut m = l.manifest(0);
    m["config"]["digest"] = json!(fake);
    let bytes = serde_json::to_vec(&m).unwrap();
    m["config"]["size"] = json!(bytes.len());
    let bytes = serde_json::to_vec(&m).unwrap();
    std::fs::write(l.blob(&fake), &bytes).unwrap();
    let mut idx = l.index();
    idx["manifests"][0]["digest"] = json!(fake);
    idx["manifests"][0]["size"] = json!(bytes.len());
    l.set_index(&idx);
    assert_bad(&l.path(), &["manifest", "digest mismatch"]);

    // An image index listing itself.
    let l = Layout::copy("oci/base", t.path(), "self-index");
    let fake = format!("sha256:{}", "1d3c".repeat(16));
    let inner = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": fake, "size": 10}],
    });
    std::fs::write(l.blob(&fake), serde_json::to_vec(&inner).unwrap()).unwrap();
    l.set_index(&json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.index.v1+json", "digest": fake, "size": 10}],
    }));
    assert_bad(&l.path(), &["image index", "digest mismatch"]);
}

#[test]
fn indexes_nested_too_deep_are_refused() {
    // A chain of valid nested indexes around oci/base's manifest.
    let t = tmp();
    let l = Layout::copy("oci/base", t.path(), "deep");
    let mut desc = l.index()["manifests"][0].clone();
    for _ in 0..8 {
        let idx = json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [desc],
        });
        let (d, s) = l.put(&serde_json::to_vec(&idx).unwrap());
        desc =
            json!({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": d, "size": s});
    }
    l.set_index(&json!({"schemaVersion": 2, "manifests": [desc]}));
    assert_bad(&l.path(), &["nested"]);
    // Two levels (the buildx shape) are fine.
    let (code, _) = report(&[
        "--semantic".to_string(),
        img("oci/multi-nested"),
        img("oci/multi"),
    ]);
    assert_eq!(code, 0);
}

#[test]
fn unsupported_digest_algorithms() {
    let t = tmp();
    for (n, digest, problem) in [
        (0, format!("sha512:{}", "ab".repeat(64)), "sha512"),
        (1, format!("md5:{}", "ab".repeat(16)), "md5"),
    ] {
        let l = Layout::copy("oci/base", t.path(), &format!("algo-{n}"));
        let mut idx = l.index();
        idx["manifests"][0]["digest"] = json!(digest);
        l.set_index(&idx);
        assert_bad(&l.path(), &[problem, "not supported"]);
    }
    // In a layer descriptor.
    let l = Layout::copy("oci/base", t.path(), "algo-layer");
    let mut m = l.manifest(0);
    m["layers"][0]["digest"] = json!(format!("sha512:{}", "cd".repeat(64)));
    l.set_manifest(0, &m);
    assert_bad(&l.path(), &["sha512", "not supported"]);
    // Malformed.
    let l = Layout::copy("oci/base", t.path(), "algo-bad");
    let mut idx = l.index();
    idx["manifests"][0]["digest"] = json!("sha256:xyz");
    l.set_index(&idx);
    assert_bad(&l.path(), &["index.json"]);
}

#[test]
fn unknown_manifest_media_type_is_compared_by_descriptor() {
    let t = tmp();
    // An extra entry of an unknown type (its blob does not even exist).
    let extra = Layout::copy("oci/base", t.path(), "extra");
    let mut idx = extra.index();
    let thing = json!({
        "mediaType": "application/vnd.example.thing.v1+json",
        "digest": format!("sha256:{}", "b".repeat(64)),
        "size": 12,
    });
    idx["manifests"].as_array_mut().unwrap().push(thing.clone());
    extra.set_index(&idx);
    let (code, r) = report(&[extra.path(), extra.path()]);
    assert_eq!((code, &r["identical"]), (0, &json!(true)));
    let (code, r) = report(&[img("oci/base"), extra.path()]);
    assert_eq!(code, 1);
    let added: Vec<&Value> = r["differences"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["status"] == "added")
        .collect();
    assert_eq!(added.len(), 1, "{r:#}");
    assert!(added[0]["path"].as_str().unwrap().ends_with("manifest"));
    // The image itself is still compared, and equal; index.json lists an entry more
    // (its `bytes`).
    assert_eq!(
        visible(&r),
        fl(&[
            ("application/vnd.example.thing.v1+json/manifest", "platform"),
            ("index", "bytes")
        ])
    );

    // The same entry with another digest on the other side: a descriptor difference.
    let extra2 = Layout::copy("oci/base", t.path(), "extra2");
    let mut idx = extra2.index();
    let mut thing2 = thing.clone();
    thing2["digest"] = json!(format!("sha256:{}", "c".repeat(64)));
    idx["manifests"].as_array_mut().unwrap().push(thing2);
    extra2.set_index(&idx);
    let (code, r) = report(&[extra.path(), extra2.path()]);
    assert_eq!(code, 1);
    let v = visible(&r);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].1, "digest");

    // The only manifest of an unknown type.
    // (index.json edited in its own spelling, so that only the value differs.)
    let only = Layout::copy("oci/base", t.path(), "only");
    let p = only.dir.join("index.json");
    let text = std::fs::read_to_string(&p).unwrap();
    let manifest_type = "\"application/vnd.oci.image.manifest.v1+json\"";
    assert_eq!(text.matches(manifest_type).count(), 1, "{text}");
    std::fs::write(
        &p,
        text.replace(manifest_type, "\"application/vnd.example.thing.v1+json\""),
    )
    .unwrap();
    let (code, r) = report(&[img("oci/base"), only.path()]);
    assert_eq!(code, 1);
    assert_eq!(visible(&r), fl(&[("manifest", "media_type")]));
    let (code, _) = report(&[only.path(), only.path()]);
    assert_eq!(code, 0);
}

/// A copy of archive `src` (under testdata/image) with the JSON member `member`
/// rewritten.
fn archive_with(src: &str, member: &str, dst: &Path, edit: impl Fn(&mut Value)) -> String {
    let mut members = read_tar(&std::fs::read(img(src)).unwrap());
    let mut found = false;
    for m in &mut members {
        if m.name() == member {
            let mut v: Value = serde_json::from_slice(&m.data).unwrap();
            edit(&mut v);
            m.data = serde_json::to_vec(&v).unwrap();
            m.header.set_size(m.data.len() as u64);
            m.header.set_cksum();
            found = true;
        }
    }
    assert!(found, "no {member} in {src}");
    std::fs::write(dst, write_tar(&members)).unwrap();
    dst.to_str().unwrap().to_string()
}

/// oci/base's docker-archive with its manifest.json rewritten.
fn docker_archive_with(t: &Path, name: &str, edit: impl Fn(&mut Value)) -> String {
    archive_with(
        "archives/base.docker-archive.tar",
        "manifest.json",
        &t.join(name),
        edit,
    )
}

#[test]
fn docker_archive_paths_outside_the_archive() {
    let t = tmp();
    let layer = docker_archive_with(t.path(), "layer-out.tar", |v| {
        v[0]["Layers"][1] = json!("../x");
    });
    assert_bad(&layer, &["../x", "outside the archive"]);
    let deep = docker_archive_with(t.path(), "layer-deep.tar", |v| {
        v[0]["Layers"][0] = json!("a/../../../etc/passwd");
    });
    assert_bad(&deep, &["outside the archive"]);
    let config = docker_archive_with(t.path(), "config-out.tar", |v| {
        v[0]["Config"] = json!("../x.json");
    });
    assert_bad(&config, &["outside the archive"]);
    // A member that names no file: missing.
    let missing = docker_archive_with(t.path(), "layer-missing.tar", |v| {
        v[0]["Layers"][0] = json!("nope/layer.tar");
    });
    assert_bad(&missing, &["nope/layer.tar"]);
    // manifest.json that is not a list.
    let notlist = docker_archive_with(t.path(), "not-list.tar", |v| {
        *v = json!({"Config": "x"});
    });
    assert_bad(&notlist, &["manifest.json"]);
}

#[test]
fn docker_archive_symlink_out_of_the_archive() {
    // The legacy `<id>/layer.tar` symlink of the skopeo shape, aimed outside, and
    // manifest.json naming it.
    let t = tmp();
    let mut members = read_tar(&std::fs::read(img("archives/base.docker-archive.tar")).unwrap());
    let mut target = String::new();
    for m in &mut members {
        if m.header.entry_type() == tar::EntryType::Symlink && target.is_empty() {
            target = m.name();
            m.header.set_link_name("../../../../etc/passwd").unwrap();
            m.header.set_cksum();
        }
    }
    assert!(target.ends_with("/layer.tar"), "{target}");
    for m in &mut members {
        if m.name() == "manifest.json" {
            let mut v: Value = serde_json::from_slice(&m.data).unwrap();
            v[0]["Layers"][0] = json!(target);
            m.data = serde_json::to_vec(&v).unwrap();
            m.header.set_size(m.data.len() as u64);
            m.header.set_cksum();
        }
    }
    let p = t.path().join("symlink-out.tar");
    std::fs::write(&p, write_tar(&members)).unwrap();
    assert_bad(p.to_str().unwrap(), &["outside the archive"]);
}

#[test]
fn whiteout_escaping_the_root_under_squash() {
    let t = tmp();
    for (n, name) in ["../../.wh.x", "a/../../.wh.x", "a/.wh.."]
        .iter()
        .enumerate()
    {
        let l = Layout::copy("oci/whiteouts", t.path(), &format!("escape-{n}"));
        l.edit_layer(0, 1, |m| m.push(raw_file(name, b"", 0o644, 0)));
        let r = image(&["--squash", &img("oci/whiteouts"), &l.path()]);
        let problem = if name.ends_with("/.wh..") {
            "names no file"
        } else {
            "escapes the root"
        };
        assert_input_error(&r, &l.path(), &["layer 1", name, problem]);
        // Without --squash nothing is applied: the entry is just compared.
        let (code, j) = report(&[img("oci/whiteouts"), l.path()]);
        assert_eq!(code, 1);
        assert_eq!(
            under(&j, "layers/1/"),
            fl(&[(name, "added")]),
            "{name}: {:?}",
            visible(&j)
        );
    }
    // A plain file escaping the root, too.
    let l = Layout::copy("oci/whiteouts", t.path(), "escape-file");
    l.edit_layer(0, 2, |m| m.push(raw_file("../../x", b"boo\n", 0o644, 0)));
    let r = image(&["--squash", &img("oci/whiteouts"), &l.path()]);
    assert_input_error(&r, &l.path(), &["escapes the root"]);
}

#[test]
fn a_rootfs_tarball_is_not_an_image() {
    for rel in [
        "rootfs/left.tar",
        "rootfs/left.tar.gz",
        "rootfs/left.tar.zst",
    ] {
        let p = td(rel);
        assert_bad(&p, &["not an image"]);
    }
    // Not a tar at all.
    let t = tmp();
    let p = t.path().join("junk.tar");
    std::fs::write(
        &p,
        b"this is not a tar archive, not even close.\n".repeat(20),
    )
    .unwrap();
    assert_bad(p.to_str().unwrap(), &["not a tar archive"]);
    // Empty file.
    let p = t.path().join("empty.tar");
    std::fs::write(&p, b"").unwrap();
    assert_bad(p.to_str().unwrap(), &["not an image"]);
}

/// An archive member is read by offset and size: a sparse one (GNU tar `--sparse`, in
/// both its GNU and PAX forms) would be read past its stored data into the next header.
#[test]
fn sparse_members_in_an_archive_are_refused() {
    let t = tmp();
    for format in ["gnu", "posix"] {
        let dir = t.path().join(format!("layout-{format}"));
        copy_dir(Path::new(&img("oci/base")), &dir);
        // The same oci-layout text, then a hole: GNU tar stores it sparse.
        let f = dir.join("oci-layout");
        let text = std::fs::read(&f).unwrap();
        std::fs::write(&f, &text).unwrap();
        std::fs::OpenOptions::new()
            .write(true)
            .open(&f)
            .unwrap()
            .set_len(1 << 20)
            .unwrap();
        let archive = t.path().join(format!("sparse-{format}.tar"));
        let out = std::process::Command::new("tar")
            .arg(format!("--format={format}"))
            .args(["--sparse", "-cf"])
            .arg(&archive)
            .arg("-C")
            .arg(&dir)
            .args(["oci-layout", "index.json", "blobs"])
            .output()
            .expect("GNU tar");
        assert!(out.status.success(), "{out:?}");
        assert_bad(
            archive.to_str().unwrap(),
            &["member oci-layout is a sparse file"],
        );
    }
}

#[test]
fn truncated_archives() {
    let t = tmp();
    let full = std::fs::read(img("archives/base.oci-archive.tar")).unwrap();
    // Cut inside a header: truncated. Cut where a header is due (after the first
    // member, or before the last one), the archive is read as the reference tar
    // readers read a tar without an end-of-archive marker (issue 13), and the image
    // lacks what the missing members held.
    let n = full.len();
    for (cut, problem) in [
        (100, "not a tar"),
        (1024, "not an image"),
        (3000, "truncated"),
        (n - 2048, "not an image"),
    ] {
        let p = t.path().join(format!("cut-{cut}.tar"));
        std::fs::write(&p, &full[..cut]).unwrap();
        assert_bad(p.to_str().unwrap(), &[problem]);
    }
    // Every member, no end-of-archive marker: the same image; the archive as a tar
    // (its `archive` field, which covers what follows the last member) differs.
    let p = t.path().join("no-marker.tar");
    std::fs::write(&p, &full[..n - 1024]).unwrap();
    let run = image(&[
        "--format",
        "json",
        img("archives/base.oci-archive.tar").as_str(),
        p.to_str().unwrap(),
    ]);
    assert_eq!(run.code(), 1, "{}", run.describe());
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(out.contains("\"archive\""), "{}", run.describe());
    let run = image(&[
        "--ignore-tar-format",
        img("archives/base.oci-archive.tar").as_str(),
        p.to_str().unwrap(),
    ]);
    assert_eq!(run.code(), 0, "{}", run.describe());
    let gz = std::fs::read(img("archives/base.oci-archive.tar.gz")).unwrap();
    let p = t.path().join("cut.tar.gz");
    std::fs::write(&p, &gz[..gz.len() / 2]).unwrap();
    assert_bad(p.to_str().unwrap(), &["truncated gzip"]);
}

// ---------------------------------------------------------------- nested formats

/// A gzip of `text` whose header carries `mtime`.
fn gz(text: &[u8], mtime: u32) -> Vec<u8> {
    let mut e = flate2::GzBuilder::new()
        .mtime(mtime)
        .write(Vec::new(), flate2::Compression::default());
    e.write_all(text).unwrap();
    e.finish().unwrap()
}

#[test]
fn files_in_layers_are_opened_inside_too() {
    let t = tmp();
    let [l, r] = [
        ("l", b"one\n", 1_700_000_000),
        ("r", b"two\n", 1_710_000_000),
    ]
    .map(|(name, text, mtime)| {
        let lay = Layout::copy("oci/base", t.path(), name);
        let member = raw_file(
            "usr/share/doc/notes.gz",
            &gz(text, mtime),
            0o644,
            1_700_000_000,
        );
        lay.edit_layer(0, 0, |m| m.push(member));
        lay
    });
    for (flags, at) in [(&[][..], "layers/0/"), (&["--squash"][..], "rootfs/")] {
        let mut args: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
        args.extend([l.path(), r.path()]);
        let (code, rep) = report(&args);
        assert_eq!(code, 1);
        let outer = format!("{at}usr/share/doc/notes.gz");
        let names: Vec<&str> = diff_at(&rep, &outer)["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"gzip.mtime"), "{outer}: {names:?}");
        let inner = diff_at(&rep, &format!("{outer}!/notes"));
        assert!(inner["diff"].as_str().unwrap().contains("-one\n+two\n"));
        assert_eq!(inner["part"], at.trim_end_matches('/'));
    }
}
