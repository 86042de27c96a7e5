//! The rules on hand-built differences: each id from the fields it reads, including
//! the fields of nested formats and packages that other stages bring.

use super::*;
use crate::entry::Timestamp;
use crate::report::{ContentDiff, Excerpts, FieldDiff, Scope, Status, Value};

fn t(secs: i64) -> Value {
    Value::Time(Timestamp::from_secs(secs))
}

fn changed(path: &str, fields: Vec<FieldDiff>) -> Difference {
    let mut d = Difference::new(path.as_bytes().into(), Status::Changed);
    d.fields = fields;
    d.part = "rootfs".into();
    d
}

fn content() -> FieldDiff {
    FieldDiff::new("content", Value::Digest([1; 32]), Value::Digest([2; 32]))
}

/// A changed file whose content differs in the regions given (complete).
fn with_bytes(path: &str, regions: &[(&str, &str)]) -> Difference {
    let mut d = changed(path, vec![content()]);
    d.content = Some(ContentDiff::Binary {
        first_difference: Some(0),
        first_difference_within: None,
    });
    d.excerpts = Some(Box::new(Excerpts {
        regions: regions
            .iter()
            .map(|(l, r)| [l.as_bytes().into(), r.as_bytes().into()])
            .collect(),
        complete: true,
    }));
    d
}

fn named(name: &'static str, left: Value, right: Value) -> FieldDiff {
    FieldDiff::new(name, left, right)
}

fn run(diffs: &[Difference], notes: &[Note], sde: Option<i64>) -> (Vec<Hint>, Vec<(usize, usize)>) {
    let inputs = Inputs {
        source_date_epoch: sde,
    };
    find(&Evidence::new(diffs, notes, &inputs))
}

fn hints(diffs: &[Difference]) -> Vec<Hint> {
    run(diffs, &[], None).0
}

fn paths(h: &Hint) -> Vec<String> {
    h.paths.iter().map(|p| display_bytes(p)).collect()
}

fn only(hints: &[Hint], id: &str) -> Hint {
    let found: Vec<&Hint> = hints.iter().filter(|h| h.id == id).collect();
    assert_eq!(found.len(), 1, "{id} in {hints:#?}");
    found[0].clone()
}

#[test]
fn timestamp_shift_said_once_and_folded() {
    let mut diffs: Vec<Difference> = (0..5)
        .map(|i| {
            changed(
                &format!("usr/f{i}"),
                vec![named("mtime", t(1_700_000_000), t(1_710_000_000))],
            )
        })
        .collect();
    // Also differs in content: explained in its mtime, but not folded.
    diffs.push(changed(
        "usr/g",
        vec![
            named("mtime", t(1_700_000_000), t(1_710_000_000)),
            content(),
        ],
    ));
    // A time that moved otherwise: alone, no hint.
    diffs.push(changed("usr/h", vec![named("mtime", t(1), t(2))]));
    let (h, folds) = run(&diffs, &[], None);
    assert_eq!(h.len(), 1, "{h:#?}");
    assert_eq!(h[0].id, "timestamp-shift");
    assert_eq!(
        h[0].text,
        "6 mtimes are 2023-11-14T22:13:20Z on the left and 2024-03-09T16:00:00Z on the right: \
         the builds used different SOURCE_DATE_EPOCH values (or one of them set every mtime \
         to the time it ran). Build both with the same SOURCE_DATE_EPOCH and clamp mtimes to \
         it (GNU tar --mtime=@$SOURCE_DATE_EPOCH --clamp-mtime), or compare with \
         --ignore-file-timestamps."
    );
    assert_eq!(h[0].paths.len(), 6);
    assert_eq!(h[0].folded, 5);
    assert_eq!(folds, (0..5).map(|i| (i, 0)).collect::<Vec<_>>());
}

#[test]
fn timestamp_shift_by_one_amount_from_many_values() {
    // Every mtime a day later, from three values: one hint, folding all.
    let day = 86_400;
    let diffs: Vec<Difference> = (0..6)
        .map(|i| {
            let l = 1_600_000_000 + (i % 3) * 1000;
            changed(&format!("f{i}"), vec![named("mtime", t(l), t(l + day))])
        })
        .collect();
    let (h, folds) = run(&diffs, &[], None);
    assert_eq!(h.len(), 1, "{h:#?}");
    assert!(
        h[0].text.starts_with(
            "6 mtimes are 1 day later on the right than on the left, from 3 different values \
             (2 are 2020-09-13T12:26:40Z on the left and 2020-09-14T12:26:40Z on the right): \
             every time moved by one amount"
        ),
        "{}",
        h[0].text
    );
    assert_eq!(folds.len(), 6);
}

#[test]
fn timestamp_shift_of_ctimes_names_the_archive_format() {
    let diffs: Vec<Difference> = (0..3)
        .map(|i| changed(&format!("d{i}"), vec![named("ctime", t(5), t(6))]))
        .collect();
    let h = only(&hints(&diffs), "timestamp-shift");
    assert!(
        h.text
            .starts_with("3 ctimes are 1970-01-01T00:00:05Z on the left"),
        "{}",
        h.text
    );
    assert!(
        h.text.contains("--pax-option=delete=atime,delete=ctime"),
        "{}",
        h.text
    );
}

#[test]
fn hidden_fields_and_hidden_entries_explain_nothing() {
    let mut diffs: Vec<Difference> = (0..3)
        .map(|i| changed(&format!("f{i}"), vec![named("mtime", t(5), t(6))]))
        .collect();
    for d in &mut diffs {
        d.fields[0].ignored_by = Some("ignore-file-timestamps".into());
    }
    assert_eq!(hints(&diffs), []);
}

#[test]
fn unclamped_mtime_counts_sides_from_the_notes() {
    let note = |p: &str| Note {
        path: p.as_bytes().into(),
        kind: "source-date-epoch",
        message: String::new(),
    };
    let diffs = vec![
        changed("a", vec![named("mtime", t(100), t(300))]),
        changed("b", vec![named("mtime", t(300), t(400))]),
    ];
    // `c` is later on both sides and does not differ.
    let notes = vec![note("a"), note("b"), note("c")];
    let (h, _) = run(&diffs, &notes, Some(200));
    let u = only(&h, "unclamped-mtime");
    assert_eq!(paths(&u), ["a", "b", "c"]);
    assert!(
        u.text.starts_with(
            "3 entries have an mtime later than SOURCE_DATE_EPOCH, 1970-01-01T00:03:20Z \
             (2 on the left, 3 on the right): the build did not clamp"
        ),
        "{}",
        u.text
    );
    // Without --source-date-epoch there are no such notes, and no hint.
    assert!(
        run(&diffs, &notes, None)
            .0
            .iter()
            .all(|h| h.id != "unclamped-mtime")
    );
}

#[test]
fn a_shift_to_an_unclamped_time_says_which_side() {
    let diffs: Vec<Difference> = (0..2)
        .map(|i| changed(&format!("f{i}"), vec![named("mtime", t(200), t(900))]))
        .collect();
    let (h, _) = run(&diffs, &[], Some(200));
    let s = only(&h, "timestamp-shift");
    assert!(
        s.text.contains("the right build did not clamp its mtimes"),
        "{}",
        s.text
    );
}

#[test]
fn embedded_date_and_build_path_in_content() {
    let diffs = vec![
        with_bytes(
            "usr/lib/a.o",
            &[("\0Nov 14 2023 22:13:20\0", "\0Mar  9 2024 16:00:00\0")],
        ),
        with_bytes(
            "usr/lib/b.o",
            &[
                ("/build/p-AAAA/src/b.c", "/build/p-BBBB/src/b.c"),
                ("x", "y"),
            ],
        ),
        with_bytes(
            "etc/info",
            &[("date=1700000000 dir=/tmp/x1", "date=1710000000 dir=/tmp/y2")],
        ),
        with_bytes("etc/other", &[("status installed", "status unpacked")]),
    ];
    let h = hints(&diffs);
    let date = only(&h, "embedded-date");
    assert_eq!(paths(&date), ["usr/lib/a.o", "etc/info"]);
    assert!(
        date.text.starts_with(
            "2 files hold dates or times that differ (e.g. usr/lib/a.o: \"Nov 14 2023 \
             22:13:20\" -> \"Mar  9 2024 16:00:00\"); in 1 of them no other bytes differ: "
        ),
        "{}",
        date.text
    );
    let path = only(&h, "embedded-build-path");
    assert_eq!(paths(&path), ["usr/lib/b.o", "etc/info"]);
    assert!(
        path.text.contains("-ffile-prefix-map=$PWD=."),
        "{}",
        path.text
    );
    // Most entries explained first; at equal counts, the table's order.
    let ids: Vec<&str> = h.iter().map(|h| h.id).collect();
    assert_eq!(ids, ["embedded-date", "embedded-build-path"]);
}

#[test]
fn a_file_and_its_member_holding_one_date_count_once() {
    let diffs = vec![
        with_bytes("usr/lib/v.o", &[("Nov 14 2023", "Mar  9 2024")]),
        with_bytes("usr/lib/v.o!/.rodata", &[("Nov 14 2023", "Mar  9 2024")]),
    ];
    let d = only(&hints(&diffs), "embedded-date");
    assert_eq!(paths(&d), ["usr/lib/v.o!/.rodata"]);
    assert!(
        d.text
            .starts_with("1 file holds a date or time that differs"),
        "{}",
        d.text
    );
}

#[test]
fn random_ids_by_name_by_value_and_shadow_days() {
    let diffs = vec![
        changed("etc/machine-id", vec![content()]),
        changed("etc/ssh/ssh_host_ed25519_key.pub", vec![content()]),
        with_bytes(
            "etc/fstab",
            &[(
                "UUID=1b4e28ba-2fa1-11d2-883f-0016d3cca427 / ext4",
                "UUID=6f1c8a2e-93b4-4c1e-9a7d-2b5e8f0c1d3a / ext4",
            )],
        ),
        with_bytes(
            "etc/shadow",
            &[("root:*:19675:0:99999:7:::\n", "root:*:19791:0:99999:7:::\n")],
        ),
        with_bytes(
            "etc/passwd",
            &[(
                "root:x:0:0::/root:/bin/sh\n",
                "root:x:0:0::/root:/bin/bash\n",
            )],
        ),
    ];
    let r = only(&hints(&diffs), "random-id");
    assert_eq!(
        paths(&r),
        [
            "etc/machine-id",
            "etc/ssh/ssh_host_ed25519_key.pub",
            "etc/fstab",
            "etc/shadow"
        ]
    );
    for part in [
        "1 machine ID (etc/machine-id)",
        "1 SSH host key (etc/ssh/ssh_host_ed25519_key.pub)",
        "1 UUID (etc/fstab: \"1b4e28ba-2fa1-11d2-883f-0016d3cca427\" -> \"6f1c8a2e-93b4-4c1e-9a7d-2b5e8f0c1d3a\")",
        "1 last password change day (etc/shadow: \"19675\" -> \"19791\")",
        "systemd-machine-id-setup",
        "ssh-keygen -A",
    ] {
        assert!(r.text.contains(part), "{part:?} in {}", r.text);
    }
}

#[test]
fn gzip_mtime_only_when_nothing_inside_differs() {
    let gz = |p: &str| {
        changed(
            p,
            vec![
                content(),
                named("gzip.mtime", t(1_700_000_000), t(1_710_000_000)),
            ],
        )
    };
    let mut inner = changed("usr/share/doc/b.gz!/b", vec![content()]);
    inner.part = "rootfs".into();
    let diffs = vec![gz("usr/share/doc/a.gz"), gz("usr/share/doc/b.gz"), inner];
    let g = only(&hints(&diffs), "gzip-mtime");
    assert_eq!(paths(&g), ["usr/share/doc/a.gz", "usr/share/doc/b.gz"]);
    assert!(
        g.text.starts_with(
            "2 gzip files differ in their gzip header's mtime (e.g. usr/share/doc/a.gz: \
             2023-11-14T22:13:20Z -> 2024-03-09T16:00:00Z); in 1 of them nothing else differs: \
             gzip writes"
        ),
        "{}",
        g.text
    );
    assert!(g.text.contains("gzip -n"), "{}", g.text);
}

#[test]
fn zip_timestamps_when_members_differ_only_in_times() {
    let diffs = vec![
        changed("usr/share/java/a.jar", vec![content()]),
        changed(
            "usr/share/java/a.jar!/META-INF/MANIFEST.MF",
            vec![named("mtime", t(10), t(20))],
        ),
        changed(
            "usr/share/java/a.jar!/x/Y.class",
            vec![
                named("mtime", t(10), t(20)),
                named("extra.0x5455", Value::Uint(1), Value::Uint(2)),
            ],
        ),
        // A member whose content differs: this archive is not explained.
        changed("usr/share/java/b.jar", vec![content()]),
        changed("usr/share/java/b.jar!/Z.class", vec![content()]),
        // Not a zip by its name or fields.
        changed("data.tar!/x", vec![named("mtime", t(10), t(20))]),
    ];
    let z = only(&hints(&diffs), "zip-timestamps");
    assert_eq!(
        paths(&z),
        [
            "usr/share/java/a.jar",
            "usr/share/java/a.jar!/META-INF/MANIFEST.MF",
            "usr/share/java/a.jar!/x/Y.class"
        ]
    );
    assert!(
        z.text.starts_with(
            "the members of usr/share/java/a.jar that differ differ only in their times (2 \
             members; e.g. usr/share/java/a.jar!/META-INF/MANIFEST.MF: mtime"
        ),
        "{}",
        z.text
    );
}

#[test]
fn pyc_timestamp_suggests_hash_based_pycs() {
    let diffs = vec![changed(
        "usr/lib/python3/x/__pycache__/m.cpython-311.pyc",
        vec![
            content(),
            named("pyc.mtime", t(1_700_000_000), t(1_710_000_000)),
        ],
    )];
    let p = only(&hints(&diffs), "pyc-timestamp");
    assert!(
        p.text
            .starts_with("1 .pyc file differs in its header's source mtime"),
        "{}",
        p.text
    );
    assert!(
        p.text.contains("; nothing else differs in it:"),
        "{}",
        p.text
    );
    assert!(p.text.contains("checked-hash") && p.text.contains("SOURCE_DATE_EPOCH"));
}

#[test]
fn elf_build_id_says_whether_other_sections_differ() {
    let id = |a: &str, b: &str| named("elf.build_id", Value::Text(a.into()), Value::Text(b.into()));
    let diffs = vec![
        changed("usr/bin/a", vec![content(), id("aa", "bb")]),
        changed("usr/bin/a!/.note.gnu.build-id", vec![content()]),
        changed("usr/bin/b", vec![content(), id("cc", "dd")]),
        changed("usr/bin/b!/.note.gnu.build-id", vec![content()]),
        changed("usr/bin/b!/.text", vec![content()]),
        changed("usr/bin/b!/.rodata", vec![content()]),
    ];
    let e = only(&hints(&diffs), "elf-build-id");
    assert_eq!(paths(&e), ["usr/bin/a", "usr/bin/b"]);
    assert_eq!(
        e.text,
        "2 ELF files have different build IDs (e.g. usr/bin/a: aa -> bb). In 1 of them \
         nothing else differs: the build ID itself was set differently (ld \
         --build-id=0x..., or another --build-id style); link both with the same setting. \
         In 1 of them other sections differ too (.rodata, .text): a build ID is a hash of \
         the linked output, so it follows from them; look there for the cause."
    );
}

#[test]
fn archive_order_names_the_archives() {
    let order = |a, b| named("order", Value::Uint(a), Value::Uint(b));
    let mut index = changed("index", vec![order(0, 1).in_scope(Scope::Index)]);
    index.part = "index".into();
    let diffs = vec![
        index,
        changed("x.jar!/a", vec![order(1, 2)]),
        changed("x.jar!/b", vec![order(2, 1)]),
        changed("etc/z", vec![order(7, 3)]),
    ];
    // The order of manifests in an image index is no archive's.
    let (h, folds) = run(&diffs, &[], None);
    let a = only(&h, "archive-order");
    assert_eq!(paths(&a), ["x.jar!/a", "x.jar!/b", "etc/z"]);
    assert_eq!(folds, [(1, 0), (2, 0), (3, 0)]);
    assert!(
        a.text
            .starts_with("3 entries are in another order in rootfs (1) and x.jar (2): "),
        "{}",
        a.text
    );
    assert!(a.text.contains("--sort=name"));
}

#[test]
fn package_version_reads_the_packages_part() {
    let mut p = changed(
        "packages/libc6",
        vec![named(
            "version",
            Value::Text("2.36-9".into()),
            Value::Text("2.36-9+deb12u1".into()),
        )],
    );
    p.part = "packages".into();
    // A directory of that name in a rootfs is no package.
    let dir = changed(
        "packages/x",
        vec![named("version", Value::Uint(1), Value::Uint(2))],
    );
    let v = only(&hints(&[p, dir]), "package-version");
    assert_eq!(paths(&v), ["packages/libc6"]);
    assert!(
        v.text
            .starts_with("1 package has another version (libc6: 2.36-9 -> 2.36-9+deb12u1): ")
    );
}

/// A package difference in `part` (`packages`, `layers/1/packages`).
fn package_diff(part: &str, name: &str, l: &str, r: &str) -> Difference {
    let mut d = changed(
        &format!("{}/{name}", part),
        vec![
            named("version", Value::Text(l.into()), Value::Text(r.into())).in_scope(Scope::Package),
        ],
    );
    d.part = part.into();
    d
}

fn owned(path: &str, part: &str, package: &str) -> Difference {
    let mut d = changed(path, vec![content()]);
    d.part = part.into();
    d.package = Some(package.as_bytes().into());
    d.package_on_each_side = true;
    d
}

#[test]
fn package_version_folds_the_files_of_changed_packages_by_package() {
    let mut hidden = owned("usr/lib/libc.so.6.hidden", "rootfs", "libc6");
    hidden.ignored_by = Some("ignore-path usr/lib/*.hidden".into());
    let mut semantic_only = owned("usr/lib/gconv", "rootfs", "libc6");
    semantic_only.fields = vec![named("mtime", t(1), t(2))];
    semantic_only.fields[0].ignored_by = Some("ignore-file-timestamps".into());
    let diffs = vec![
        package_diff("packages", "libc6", "2.36-9", "2.36-9+deb12u1"),
        package_diff("packages", "zlib1g", "1:1.2.13", "1:1.2.13.1"),
        owned("lib/x86_64-linux-gnu/libc.so.6", "rootfs", "libc6"),
        owned("usr/bin/ldd", "rootfs", "libc6"),
        owned("usr/lib/libz.so.1", "rootfs", "zlib1g"),
        // A package whose version is the same: its files are not explained.
        owned("usr/bin/hello", "rootfs", "hello"),
        // The same name in another pair (a layer) is another package.
        owned("layers/1/usr/bin/ldd", "layers/1", "libc6"),
        hidden,
        semantic_only,
    ];
    let (hints, folds) = run(&diffs, &[], None);
    let h = only(&hints, "package-version");
    assert_eq!(
        paths(&h),
        [
            "packages/libc6",
            "packages/zlib1g",
            "lib/x86_64-linux-gnu/libc.so.6",
            "usr/bin/ldd",
            "usr/lib/libz.so.1"
        ]
    );
    assert!(h.text.starts_with(
        "2 packages have another version (libc6: 2.36-9 -> 2.36-9+deb12u1, zlib1g: 1:1.2.13 -> \
         1:1.2.13.1); 3 entries they own differ: "
    ));
    assert_eq!(folds, [(2, 0), (3, 0), (4, 0)]);
    assert_eq!(h.folded, 3);
    let groups: Vec<String> = h.groups.iter().map(|g| g.line()).collect();
    assert_eq!(
        groups,
        [
            "2 entries of libc6 (2.36-9 -> 2.36-9+deb12u1)",
            "1 entry of zlib1g (1:1.2.13 -> 1:1.2.13.1)"
        ]
    );
    assert!(
        h.folded_sentence()
            .starts_with("3 of them belong to these packages")
    );
}

#[test]
fn package_version_in_a_layer_explains_that_layer_only() {
    let diffs = vec![
        package_diff("layers/1/packages", "libc6", "1", "2"),
        owned("layers/0/usr/bin/ldd", "layers/0", "libc6"),
        owned("layers/1/usr/bin/ldd", "layers/1", "libc6"),
        owned("usr/bin/ldd", "rootfs", "libc6"),
    ];
    let (hints, folds) = run(&diffs, &[], None);
    let h = only(&hints, "package-version");
    assert_eq!(
        paths(&h),
        ["layers/1/packages/libc6", "layers/1/usr/bin/ldd"]
    );
    assert_eq!(folds, [(2, 0)]);
    assert_eq!(h.groups[0].part, "layers/1/packages");
    // Squashed (`linux/arm64/rootfs`): the packages part is `linux/arm64/packages`.
    let diffs = vec![
        package_diff("linux/arm64/packages", "libc6", "1", "2"),
        owned(
            "linux/arm64/rootfs/usr/bin/ldd",
            "linux/arm64/rootfs",
            "libc6",
        ),
    ];
    let (_, folds) = run(&diffs, &[], None);
    assert_eq!(folds, [(1, 0)]);
}

#[test]
fn order_is_by_entries_explained_then_table_then_text() {
    let mut diffs: Vec<Difference> = (0..2)
        .map(|i| changed(&format!("a{i}"), vec![named("ctime", t(5), t(6))]))
        .collect();
    diffs.extend((0..3).map(|i| changed(&format!("b{i}"), vec![named("mtime", t(10), t(20))])));
    diffs.extend((0..2).map(|i| changed(&format!("c{i}"), vec![named("mtime", t(100), t(300))])));
    let h = hints(&diffs);
    let firsts: Vec<String> = h.iter().map(|h| display_bytes(&h.paths[0])).collect();
    assert_eq!(firsts, ["b0", "a0", "c0"], "{h:#?}");
    // The same differences give the same hints, byte for byte.
    assert_eq!(hints(&diffs), h);
}

#[test]
fn rpm_build_names_time_and_host() {
    let rpm = |p: &str, host: bool| {
        let mut f = vec![
            content(),
            named(
                "rpm.buildtime",
                Value::Text("2023-11-14T22:13:20Z".into()),
                Value::Text("2024-03-09T16:00:00Z".into()),
            ),
        ];
        if host {
            f.push(named(
                "rpm.buildhost",
                Value::Text("builder-a".into()),
                Value::Text("builder-b".into()),
            ));
        }
        changed(p, f)
    };
    let diffs = vec![rpm("var/cache/a.rpm", true), rpm("var/cache/b.rpm", false)];
    let r = only(&hints(&diffs), "rpm-build");
    assert_eq!(paths(&r), ["var/cache/a.rpm", "var/cache/b.rpm"]);
    assert!(
        r.text.starts_with(
            "2 rpm packages differ in the build time or host rpmbuild records in the header \
             (e.g. var/cache/a.rpm: build time 2023-11-14T22:13:20Z -> 2024-03-09T16:00:00Z, \
             build host builder-a -> builder-b): "
        ),
        "{}",
        r.text
    );
    assert!(r.text.contains("use_source_date_epoch_as_buildtime"));
    // A package whose header differs elsewhere only is no hint.
    let other = changed(
        "x.rpm",
        vec![
            content(),
            named(
                "rpm.release",
                Value::Text("1".into()),
                Value::Text("2".into()),
            ),
        ],
    );
    assert!(hints(&[other]).iter().all(|h| h.id != "rpm-build"));
}

#[test]
fn every_rule_is_documented() {
    let doc = include_str!("../../docs/hints.md");
    for rule in RULES {
        let heading = format!("\n## `{}`\n", rule.id);
        assert!(
            doc.contains(&heading),
            "docs/hints.md has no section {heading:?}"
        );
    }
}
