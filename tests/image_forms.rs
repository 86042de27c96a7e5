//! Image inputs as podman, buildah and skopeo write them (issue 13, images): a `REF`
//! with colons after the path (`oci:DIR:localhost/repro:1`, as podman's oci-dir writes
//! it), multi-image docker archives (`podman save -m`) paired by name, then config,
//! else by place with a note, skopeo's `dir:` copies, `containers-storage:` and
//! `docker-daemon:` as skopeo spells them, and `podman|docker image save` children that
//! are stopped and waited for when rdiff gives up.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use support::paths::{copy_dir, img, s, tmp};
use support::rawtar::{Member, read_tar, write_tar};
use support::run::{self, Run, assert_input_error, fake_bin, rdiff};

const TIMEOUT: Duration = Duration::from_secs(120);

fn image(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut c = rdiff(["image"]).args(args).timeout(TIMEOUT);
    for (k, v) in env {
        c = c.env(k, v);
    }
    c.run()
}

/// A copy of `oci/base` whose one manifest is named `name` in index.json.
fn named_layout(dir: &Path, name: &str) -> String {
    copy_dir(Path::new(&img("oci/base")), dir);
    let index = dir.join("index.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&index).unwrap()).unwrap();
    v["manifests"][0]["annotations"] = json!({ "org.opencontainers.image.ref.name": name });
    std::fs::write(&index, serde_json::to_vec(&v).unwrap()).unwrap();
    s(dir).to_string()
}

#[test]
fn a_ref_with_colons_follows_the_path() {
    let t = tmp();
    let layout = named_layout(&t.path().join("layout"), "localhost/repro:1");
    let archive = t.path().join("repro.oci-archive.tar");
    run::sh(
        Command::new("tar")
            .args(["--sort=name", "-C", &layout, "-cf"])
            .arg(&archive)
            .arg("."),
    );
    let archive = s(&archive);
    let by_ref = format!("oci:{layout}:localhost/repro:1");
    for other in [
        by_ref.clone(),
        format!("{layout}:localhost/repro:1"),
        format!("oci-archive:{archive}:localhost/repro:1"),
        format!("{archive}:localhost/repro:1"),
    ] {
        let r = image(&["--semantic", &by_ref, &other], &[]);
        assert_eq!(r.code(), 0, "{other}: {}", r.describe());
    }
    // A REF that names no image is an error naming it, not a path that does not exist.
    let wrong = format!("oci:{layout}:localhost/repro:2");
    let r = image(&[&wrong, &by_ref], &[]);
    assert_input_error(&r, &wrong, &["localhost/repro:2"]);
    // docker-archive:FILE:NAME:TAG picks by any of the RepoTags.
    let legacy = img("archives/base.docker-legacy.tar");
    let r = image(
        &[&format!("docker-archive:{legacy}:example/base:v1"), &legacy],
        &[],
    );
    assert_eq!(r.code(), 0, "{}", r.describe());
    let missing = format!("docker-archive:{legacy}:example/base:v2");
    let r = image(&[&missing, &legacy], &[]);
    assert_input_error(&r, &missing, &["no image named \"example/base:v2\""]);
}

/// `skopeo copy oci:... docker-archive:FILE:NAME` of testdata's `changed` image.
fn skopeo_docker_archive(dir: &Path, image: &str, name: &str) -> Option<Vec<u8>> {
    let ok = Command::new("skopeo")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        run::missing_tool("skopeo is not installed");
        return None;
    }
    let out = dir.join(format!("{}.tar", name.replace(['/', ':'], "_")));
    run::sh(Command::new("skopeo").args([
        "copy",
        "-q",
        &format!("oci:{}", img(image)),
        &format!("docker-archive:{}:{name}", s(&out)),
    ]));
    Some(std::fs::read(out).unwrap())
}

/// One docker archive holding the images of `archives`, in that order (what
/// `podman save -m` writes): their members once each, their manifest.json entries
/// concatenated.
fn multi_archive(archives: &[&[u8]]) -> Vec<u8> {
    let mut manifest = Vec::new();
    let mut members: Vec<Member> = Vec::new();
    for a in archives {
        for m in read_tar(a) {
            if m.name() == "manifest.json" {
                let v: Vec<Value> = serde_json::from_slice(&m.data).unwrap();
                manifest.extend(v);
            } else if m.name() != "repositories" && members.iter().all(|x| x.name() != m.name()) {
                members.push(m);
            }
        }
    }
    let data = serde_json::to_vec(&manifest).unwrap();
    let mut h = tar::Header::new_ustar();
    h.set_path("manifest.json").unwrap();
    h.set_size(data.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    members.push(Member { header: h, data });
    write_tar(&members)
}

#[test]
fn multi_image_docker_archives_pair_by_name_then_config() {
    let t = tmp();
    let Some(changed) = skopeo_docker_archive(t.path(), "oci/changed", "example/changed:v1") else {
        return;
    };
    let base = std::fs::read(img("archives/base.docker-archive.tar")).unwrap();
    let write = |name: &str, bytes: Vec<u8>| {
        let p = t.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        s(&p).to_string()
    };
    let ab = write("ab.tar", multi_archive(&[&base, &changed]));
    let ba = write("ba.tar", multi_archive(&[&changed, &base]));
    // Named alike on both sides: paired by name whatever the order, so equal.
    let r = image(&["--semantic", "--format", "json", &ab, &ba], &[]);
    assert_eq!(r.code(), 0, "{}", r.describe());
    let notes = support::report::notes(&r.json());
    assert!(notes.iter().all(|n| n.1 != "paired"), "{notes:?}");
    // One side holds one of the two images: the other one is on one side only, and
    // its layers are still checked.
    let r = image(
        &[
            "--semantic",
            "--format",
            "json",
            &ab,
            &img("archives/base.docker-archive.tar"),
        ],
        &[],
    );
    assert_eq!(r.code(), 1, "{}", r.describe());
    let mut members = read_tar(&std::fs::read(&ab).unwrap());
    let only_changed = "94eb6672b64ed557c21ce3ef2ca5ac628bd177b2b89feb0b8713037bebee3062.tar";
    let layer = members
        .iter_mut()
        .find(|m| m.name() == only_changed)
        .unwrap();
    let last = layer.data.len() - 1;
    layer.data[last] ^= 0xff;
    let bad = write("ab-bad.tar", write_tar(&members));
    let r = image(
        &["--semantic", &bad, &img("archives/base.docker-archive.tar")],
        &[],
    );
    assert_input_error(&r, &bad, &["94eb6672"]);
    // Names that differ, configs that match: paired by config digest.
    let mut m = read_tar(&multi_archive(&[&changed, &base]));
    let man = m.iter_mut().find(|x| x.name() == "manifest.json").unwrap();
    let mut v: Vec<Value> = serde_json::from_slice(&man.data).unwrap();
    v[0]["RepoTags"] = json!(["other/one:1"]);
    v[1]["RepoTags"] = json!(["other/two:1"]);
    man.data = serde_json::to_vec(&v).unwrap();
    man.header.set_size(man.data.len() as u64);
    man.header.set_cksum();
    let renamed = write("renamed.tar", write_tar(&m));
    let r = image(&["--semantic", &ab, &renamed], &[]);
    assert_eq!(r.code(), 0, "{}", r.describe());
}

#[test]
fn skopeo_dir_copies_read_as_images() {
    for dir in [
        "dir:".to_string() + &img("dir/base"),
        img("dir/base"),
        img("dir/base-v2s2"),
    ] {
        let r = image(&["--semantic", &dir, &img("oci/base")], &[]);
        assert_eq!(r.code(), 0, "{dir}: {}", r.describe());
    }
    // A dir: copy is no OCI layout, and the error says what it looks like.
    let as_oci = format!("oci:{}", img("dir/base"));
    let r = image(&[&as_oci, &img("oci/base")], &[]);
    assert_input_error(&r, &as_oci, &["no oci-layout file", "dir:"]);
}

#[test]
fn containers_storage_and_docker_daemon_are_podman_and_docker() {
    let t = tmp();
    let bin = t.path().join("bin");
    let archive = img("archives/base.oci-archive.tar");
    // What each CLI's `image save` writes: an oci-archive when asked, a docker-archive.
    for (cli, saves) in [
        ("podman", archive.clone()),
        ("docker", img("archives/base.docker-legacy.tar")),
    ] {
        fake_bin(
            &bin,
            cli,
            &format!(
                "echo \"$*\" >> '{}/{cli}.args'\n[ \"$2\" = inspect ] && exit 0\n[ \"$1\" = inspect ] && {{ echo '[]'; exit 0; }}\nexec cat '{saves}'",
                s(t.path())
            ),
        );
    }
    let path = format!("{}:/usr/bin:/bin", s(&bin));
    let env = [("PATH", path.as_str())];
    for (input, cli, args) in [
        (
            "containers-storage:localhost/base:v1",
            "podman",
            "image save --format oci-archive localhost/base:v1",
        ),
        (
            "docker-daemon:example/base:v1",
            "docker",
            "image save example/base:v1",
        ),
    ] {
        let r = image(&["--semantic", input, &archive], &env);
        assert_eq!(r.code(), 0, "{input}: {}", r.describe());
        let said = std::fs::read_to_string(t.path().join(format!("{cli}.args"))).unwrap();
        // The save, then (for the repo digests the store recorded) an inspect.
        assert_eq!(said.lines().next(), Some(args), "{input}");
    }
}

/// Whether a process whose command line holds `needle` still runs.
fn running(needle: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().flatten().any(|e| {
        std::fs::read(e.path().join("cmdline"))
            .is_ok_and(|c| String::from_utf8_lossy(&c).contains(needle))
    })
}

/// `podman image save` that writes part of an archive, then hangs: on TERM it writes a
/// marker and ends (with the `sleep` it waits for).
fn hanging_podman(t: &Path) -> (String, std::path::PathBuf) {
    let bin = t.join("bin");
    let marker = t.join("terminated");
    let archive = img("archives/base.oci-archive.tar");
    fake_bin(
        &bin,
        "podman",
        &format!(
            "trap 'echo TERM > \"{m}\"; kill $pid; exit 143' TERM\nhead -c 3000 '{archive}'\nsleep 60 &\npid=$!\nwait $pid",
            m = s(&marker)
        ),
    );
    (format!("{}:/usr/bin:/bin", s(&bin)), marker)
}

fn wait_for(what: impl Fn() -> bool, limit: Duration) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if what() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    what()
}

#[test]
fn save_children_are_stopped_on_timeout() {
    let t = tmp();
    let (path, marker) = hanging_podman(t.path());
    let start = Instant::now();
    let r = image(
        &[
            "--timeout",
            "2",
            "podman://localhost/hang:1",
            &img("oci/base"),
        ],
        &[("PATH", path.as_str())],
    );
    assert_eq!(r.code(), 2, "{}", r.describe());
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{:?}",
        start.elapsed()
    );
    assert!(
        r.stderr.contains("timed out after 2 seconds"),
        "{}",
        r.describe()
    );
    // The child was told to stop before rdiff exited, and is gone.
    assert!(marker.exists(), "podman got no TERM: {}", r.describe());
    assert!(wait_for(
        || !running(s(&t.path().join("bin"))),
        Duration::from_secs(5)
    ));
}

#[test]
fn save_children_are_stopped_on_sigint_and_sigterm() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let t = tmp();
        let (path, marker) = hanging_podman(t.path());
        let mut child = Command::new(run::RDIFF)
            .args(["image", "podman://localhost/hang:1", &img("oci/base")])
            .env("PATH", &path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // The save has started once podman is running.
        assert!(wait_for(
            || running(s(&t.path().join("bin"))),
            Duration::from_secs(10)
        ));
        std::thread::sleep(Duration::from_millis(300));
        // SAFETY: sending a signal to our own child.
        unsafe { libc::kill(child.id() as i32, signal) };
        let status = child.wait().unwrap();
        assert!(!status.success(), "{signal}: {status:?}");
        assert!(marker.exists(), "{signal}: podman got no TERM");
        assert!(wait_for(
            || !running(s(&t.path().join("bin"))),
            Duration::from_secs(5)
        ));
    }
}

/// A GNU sparse member whose PAX size is smaller than its map: an error naming it
/// (this underflowed: a panic in debug builds). The fuzz seed is the archive.
#[test]
fn sparse_map_larger_than_the_stored_size_is_an_error() {
    let seed = support::paths::repo().join("fuzz/seeds/tar_source/gnu-sparse-pax-size.tar");
    let r = rdiff(["rootfs", "--read-identical"])
        .arg(&seed)
        .arg(&seed)
        .timeout(TIMEOUT)
        .run();
    assert_input_error(
        &r,
        s(&seed),
        &["sparse map describes 8192 bytes but the member stores 1"],
    );
}

/// Buildah records the digest of an intermediate image (which carries build timestamps)
/// as `org.opencontainers.image.base.digest`: `--ignore-build-annotations` (part of
/// `--semantic`) hides that key and only that key; the base image's name stays compared.
#[test]
fn build_annotations_hide_the_base_digest_only() {
    use support::oci::Layout;
    let t = tmp();
    let annotate = |name: &str, digest: &str, base: &str| {
        let l = Layout::copy("oci/base", t.path(), name);
        let mut m = l.manifest(0);
        m["annotations"] = json!({
            "org.opencontainers.image.base.digest": digest,
            "org.opencontainers.image.base.name": base,
        });
        l.set_manifest(0, &m);
        l.path()
    };
    let d1 = format!("sha256:{}", "1".repeat(64));
    let d2 = format!("sha256:{}", "2".repeat(64));
    let a = annotate("a", &d1, "docker.io/library/debian:12");
    let b = annotate("b", &d2, "docker.io/library/debian:12");
    let c = annotate("c", &d2, "docker.io/library/debian:13");
    // The annotation is in the manifest, so the manifest's digest differs too: alone, the
    // rule goes with --ignore-descriptor-digests.
    let alone = ["--ignore-build-annotations", "--ignore-descriptor-digests"];
    for flags in [&alone[..], &["--semantic"]] {
        let r = image(&[flags, &["--format", "json", &a, &b]].concat(), &[]);
        assert_eq!(r.code(), 0, "{flags:?}: {}", r.describe());
        let r = image(&[flags, &["--format", "json", &a, &c]].concat(), &[]);
        assert_eq!(r.code(), 1, "{flags:?}: {}", r.describe());
        let visible = support::report::visible(&r.json());
        let want: std::collections::BTreeSet<(String, String)> = [(
            "manifest".to_string(),
            "annotations.org.opencontainers.image.base.name".to_string(),
        )]
        .into();
        assert_eq!(visible, want, "{flags:?}");
    }
    let r = image(&["--format", "json", &a, &b], &[]);
    assert_eq!(r.code(), 1, "strict: {}", r.describe());
}
