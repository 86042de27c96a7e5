//! Command-line flags (clap derive). Parsing only validates; `run` turns the flags
//! into a plan (sources, policy, outputs).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::compare::policy::{self, Policy, RULES};
use crate::error::Result;
use crate::render::Format;
use crate::report::Origin;

const ROOTFS_EXAMPLES: &str = "\
Examples:
  rdiff rootfs a.tar.zst b.tar.zst                 strict: every difference counts
  rdiff rootfs --semantic a.tar.zst b.tar.zst      ignore timestamps, order, tar format, ...
  rdiff rootfs --ignore-file-timestamps --ignore-path 'var/log/**' a.tar b.tar.gz
  rdiff rootfs --json report.json rootfs/ b.tar.zst
  zstd -dc b.tar.zst | rdiff rootfs a.tar.zst -

Exit status: 0 equal, 1 different, 2 trouble (unreadable input, corrupt archive, bad flags).";

/// Say, fast and exactly, how two rootFS tarballs or two container images differ.
#[derive(Parser, Debug)]
#[command(name = "rdiff", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

const IMAGE_EXAMPLES: &str = "\
Inputs: an OCI layout directory (oci:DIR or oci:DIR:REF), an oci-archive (oci-archive:FILE,
compressed or not), a docker-archive (docker-archive:FILE: docker save, Docker 25+,
podman/skopeo shapes), podman://NAME or docker://NAME (streamed from `podman|docker image
save`), or - for an archive on standard input. Without a prefix the kind is found from
what is on disk. A registry image: [HOST[:PORT]/]REPO[:TAG][@DIGEST] when no local file
or directory has that name (alpine = docker.io/library/alpine:latest), or registry://REF.

Examples:
  rdiff image oci:build-a:latest oci:build-b:latest     strict: every difference counts
  rdiff image --semantic a.oci.tar docker-archive:b.tar what would a container see?
  rdiff image --squash --ignore-history a/ b/            compare flattened filesystems
  rdiff image --platform linux/arm64 --ignore-annotation 'org.opencontainers.image.*' a/ b/
  rdiff image --report-dir out/ podman://localhost/app:1 podman://localhost/app:1
  rdiff image --semantic alpine:3.18.2 alpine:3.18.3    two tags from Docker Hub

Exit status: 0 equal, 1 different, 2 trouble (unreadable input, digest mismatch, bad flags).";

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Compare two rootFS trees: tarballs (any compression) or directories.
    #[command(after_help = ROOTFS_EXAMPLES)]
    Rootfs(RootfsArgs),
    /// Compare two OCI or Docker images: metadata, and layers (one by one, or squashed).
    #[command(after_help = IMAGE_EXAMPLES)]
    Image(ImageArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    #[command(after_help = "Example:\n  rdiff completions bash > /etc/bash_completion.d/rdiff")]
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a man page (roff) on standard output: rdiff(1), or rdiff-rootfs(1) /
    /// rdiff-image(1).
    #[command(
        after_help = "Example:\n  rdiff man > rdiff.1 && rdiff man rootfs > rdiff-rootfs.1 && man ./rdiff-rootfs.1"
    )]
    Man {
        /// The subcommand whose page to print.
        #[arg(value_parser = ["rootfs", "image", "completions", "man"])]
        subcommand: Option<String>,
    },
}

#[derive(Args, Debug, Clone)]
pub struct ImageArgs {
    /// Left image (see below for the forms).
    pub left: std::ffi::OsString,
    /// Right image.
    pub right: std::ffi::OsString,
    #[command(flatten)]
    pub rules: FileRules,
    #[command(flatten)]
    pub image_rules: ImageRules,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// How registry images are reached (skopeo's flag names and meanings).
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Registry")]
pub struct RegistryArgs {
    /// Credentials for both registry inputs, instead of the auth files. Without
    /// :PASSWORD, the password is asked for on the terminal.
    #[arg(long, value_name = "USER[:PASSWORD]")]
    pub creds: Option<String>,
    /// Read credentials from this auth file only (default: $REGISTRY_AUTH_FILE, else
    /// $XDG_RUNTIME_DIR/containers/auth.json, ~/.config/containers/auth.json,
    /// ~/.docker/config.json, with their credHelpers and credsStore).
    #[arg(long, value_name = "FILE")]
    pub authfile: Option<PathBuf>,
    /// CA certificates (*.crt) and a client certificate (*.cert with its *.key) for
    /// the registries (default: /etc/containers/certs.d/HOST, /etc/docker/certs.d/HOST).
    #[arg(long, value_name = "DIR")]
    pub cert_dir: Option<PathBuf>,
    /// Verify registries' TLS certificates and require HTTPS. Default: verify, with
    /// plain HTTP allowed for loopback registries only (localhost, 127.0.0.0/8, ::1);
    /// false also allows plain HTTP for any registry.
    #[arg(long, value_name = "BOOL", num_args = 0..=1, require_equals = true,
          default_missing_value = "true")]
    pub tls_verify: Option<bool>,
}

impl RegistryArgs {
    /// The registry options for the walk.
    pub fn options(&self, images: &ImageRules) -> crate::image::registry::Options {
        crate::image::registry::Options {
            auth: crate::image::registry::auth::Sources {
                creds: self.creds.clone(),
                authfile: self.authfile.clone(),
            },
            cert_dir: self.cert_dir.clone(),
            tls_verify: self.tls_verify,
            platforms: images.platform.clone(),
            ignore_attestations: images.ignore_attestations,
        }
    }
}

/// Image rules and walk options.
#[derive(Args, Debug, Clone, Default)]
#[command(
    next_help_heading = "Image policy (every rule marked [--semantic] is also switched on by --semantic)"
)]
pub struct ImageRules {
    #[command(flatten)]
    pub rules: ImageRuleFlags,
    /// Compare the squashed filesystems (whiteouts applied) instead of layer by layer;
    /// the layer list itself is then not compared. Automatic when layer counts differ.
    #[arg(long)]
    pub squash: bool,
    /// Compare only this platform (os/arch[/variant]). Repeatable.
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    pub platform: Vec<String>,
    /// Leave out attestation manifests (BuildKit provenance, SBOM).
    #[arg(long)]
    pub ignore_attestations: bool,
}

impl ImageRules {
    /// Add these rules to a policy built from the file rules.
    pub fn add_to(&self, p: &mut Policy) -> Result<()> {
        self.rules.0.add_to(p)
    }
}

/// Rule flags, from the table `policy::RULES`: the flags given, each with its argument
/// for the rules that take one.
#[derive(Debug, Clone, Default)]
pub struct RuleFlags {
    pub given: Vec<(&'static str, Option<String>)>,
}

impl RuleFlags {
    /// Add the rules given to a policy.
    pub fn add_to(&self, p: &mut Policy) -> Result<()> {
        for (flag, arg) in &self.given {
            let spec = policy::spec(flag).expect("a rule of the table");
            p.add(spec.rule(arg.as_deref(), Origin::Flag)?);
        }
        Ok(())
    }

    fn specs(image_only: bool) -> impl Iterator<Item = &'static policy::RuleSpec> {
        RULES.iter().filter(move |r| r.rootfs != image_only)
    }

    fn augment(mut cmd: clap::Command, image_only: bool) -> clap::Command {
        for r in Self::specs(image_only) {
            let sem = if r.semantic { " [--semantic]" } else { "" };
            let arg = clap::Arg::new(r.flag)
                .long(r.flag)
                .help(format!("Ignore {}{sem}", r.hides));
            let arg = match r.value {
                Some(v) => arg.value_name(v).action(clap::ArgAction::Append),
                None => arg.action(clap::ArgAction::SetTrue),
            };
            cmd = cmd.arg(arg);
        }
        cmd
    }

    fn from_matches(m: &clap::ArgMatches, image_only: bool) -> RuleFlags {
        let mut given = Vec::new();
        for r in Self::specs(image_only) {
            match r.value {
                Some(_) => {
                    for v in m.get_many::<String>(r.flag).into_iter().flatten() {
                        given.push((r.flag, Some(v.clone())));
                    }
                }
                None => {
                    if m.get_flag(r.flag) {
                        given.push((r.flag, None));
                    }
                }
            }
        }
        RuleFlags { given }
    }
}

macro_rules! rule_flags {
    ($name:ident, $image_only:expr, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone, Default)]
        pub struct $name(pub RuleFlags);

        impl clap::FromArgMatches for $name {
            fn from_arg_matches(m: &clap::ArgMatches) -> std::result::Result<Self, clap::Error> {
                Ok($name(RuleFlags::from_matches(m, $image_only)))
            }
            fn update_from_arg_matches(
                &mut self,
                m: &clap::ArgMatches,
            ) -> std::result::Result<(), clap::Error> {
                *self = Self::from_arg_matches(m)?;
                Ok(())
            }
        }

        impl clap::Args for $name {
            fn augment_args(cmd: clap::Command) -> clap::Command {
                RuleFlags::augment(cmd, $image_only)
            }
            fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
                RuleFlags::augment(cmd, $image_only)
            }
        }
    };
}

rule_flags!(
    FileRuleFlags,
    false,
    "The rule flags `rdiff rootfs` has (and `rdiff image` too)."
);
rule_flags!(
    ImageRuleFlags,
    true,
    "The rule flags only `rdiff image` has."
);

#[derive(Args, Debug, Clone)]
pub struct RootfsArgs {
    /// Left input: a tarball (none, gzip, zstd, xz or bzip2, found from its bytes), a
    /// directory, or - for standard input.
    pub left: std::ffi::OsString,
    /// Right input, as LEFT.
    pub right: std::ffi::OsString,
    #[command(flatten)]
    pub rules: FileRules,
    #[command(flatten)]
    pub output: OutputArgs,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Resource limits: hostile or broken inputs stop with a clear error, never exhaust the
/// machine.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Limits")]
pub struct LimitArgs {
    /// Largest uncompressed tar stream (a rootfs input, or one image layer) in bytes; a
    /// decompression bomb stops here.
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 30)]
    pub max_uncompressed_size: u64,
    /// Most bytes of sparse-file holes in one tar stream (a rootfs input, or one image
    /// layer), all members together. Holes are hashed as zeros but not read, so they do
    /// not count against --max-uncompressed-size.
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 30)]
    pub max_sparse_holes: u64,
    /// Most entries in one input (archive members, directory nodes, layer members).
    #[arg(long, value_name = "N", default_value_t = 10_000_000)]
    pub max_entries: u64,
    /// Largest JSON document of an image (index, manifest, config) in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 64 << 20)]
    pub max_json_size: u64,
    /// Give up after this many seconds (exit 2, nothing on standard output); 0 means no
    /// limit.
    #[arg(long, value_name = "SECONDS")]
    pub timeout: Option<u64>,
    /// Worker threads (default: all cores). With 1, the inputs are read one after the
    /// other, as with --low-memory.
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Read the two inputs (for images: the layers) one after the other instead of at
    /// the same time, and hold no file contents while waiting for the other side: peak
    /// memory is about one decompression window instead of two (two 170 MB `zstd --long`
    /// rootFS tarballs: 141 MiB instead of 279 MiB), at 1.8 to 2.1 times the wall time
    /// (0.51 s instead of 0.29 s). The report is the same, byte for byte.
    #[arg(long)]
    pub low_memory: bool,
}

impl LimitArgs {
    /// The tar reader's limits.
    pub fn tar_limits(&self) -> crate::source::tar::Limits {
        crate::source::tar::Limits {
            max_uncompressed: self.max_uncompressed_size,
            max_sparse_holes: self.max_sparse_holes,
            max_entries: self.max_entries,
            ..crate::source::tar::Limits::default()
        }
    }
}

/// The policy flags `rootfs` and `image` share.
#[derive(Args, Debug, Clone, Default)]
#[command(next_help_heading = "Policy (default: strict, every difference counts)")]
pub struct FileRules {
    /// Ignore what does not change what an extraction or a container sees: every rule
    /// marked [--semantic].
    #[arg(long)]
    pub semantic: bool,
    #[command(flatten)]
    pub rules: FileRuleFlags,
    /// Note every entry whose mtime is later than N on either side ("not clamped");
    /// changes no verdict.
    #[arg(long, value_name = "N", allow_hyphen_values = true)]
    pub source_date_epoch: Option<i64>,
}

impl FileRules {
    /// The policy these flags describe (rootfs).
    pub fn policy(&self) -> Result<Policy> {
        self.policy_for(policy::Command::Rootfs)
    }

    /// The policy these flags describe, for `cmd` (which says what `--semantic` means).
    pub fn policy_for(&self, cmd: policy::Command) -> Result<Policy> {
        let mut p = if self.semantic {
            Policy::semantic_for(cmd)
        } else {
            Policy::strict_for(cmd)
        };
        self.rules.0.add_to(&mut p)?;
        Ok(p)
    }
}

impl OutputArgs {
    /// The limits renderers apply.
    pub fn limits(&self) -> crate::report::ReportLimits {
        crate::report::ReportLimits {
            max_diff_lines: self.max_diff_lines,
            max_report_size: self.max_report_size,
            max_entries_shown: self.max_entries_shown,
        }
    }

    /// Every (format, file) asked for; `None` for standard output.
    pub fn targets(&self) -> Vec<(Format, Option<&std::path::Path>)> {
        let mut out = Vec::new();
        for (fmt, path) in [
            (Format::Text, &self.text),
            (Format::Json, &self.json),
            (Format::Html, &self.html),
            (Format::Markdown, &self.markdown),
            (Format::Junit, &self.junit),
            (Format::DiffoscopeJson, &self.diffoscope_json),
        ] {
            if let Some(p) = path {
                out.push((fmt, (p.as_os_str() != "-").then_some(p.as_path())));
            }
        }
        out
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Format of the report on standard output (when no other report goes there).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Write the text report to FILE (- for standard output).
    #[arg(long, value_name = "FILE")]
    pub text: Option<PathBuf>,
    /// Write the JSON report (docs/json-format.md) to FILE (- for standard output).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a self-contained HTML report to FILE (- for standard output).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Write a Markdown report (merge requests, $GITHUB_STEP_SUMMARY) to FILE.
    #[arg(long, value_name = "FILE")]
    pub markdown: Option<PathBuf>,
    /// Write a JUnit XML report (GitLab, Jenkins, GitHub test reporters) to FILE.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write diffoscope-compatible JSON (diffoscope --load-existing-diff reads it) to FILE.
    #[arg(long, value_name = "FILE")]
    pub diffoscope_json: Option<PathBuf>,
    /// Largest report, in bytes, in any format: past it the differences are cut (the
    /// summary and the ignored counts stay) and the report says so. Markdown defaults to
    /// 60000 (GitHub comments stop at 65536 characters).
    #[arg(long, value_name = "BYTES")]
    pub max_report_size: Option<u64>,
    /// Show at most N differences in each report (the rest is counted, not listed).
    #[arg(long, value_name = "N")]
    pub max_entries_shown: Option<u64>,
    /// No progress bar on standard error.
    #[arg(short, long)]
    pub quiet: bool,
    /// Read and list the contents of byte-identical input files too (by default they
    /// are found identical from their bytes, without decompressing anything).
    #[arg(long)]
    pub read_identical: bool,
    /// List the differences the policy hides, not only their counts.
    #[arg(long)]
    pub show_ignored: bool,
    /// Colour the text report: auto (when standard output is a terminal and NO_COLOR is
    /// unset), always, never.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
    /// Lines of unified diff shown per file; the rest is cut, and the cut is said.
    #[arg(long, default_value_t = 200, value_name = "N")]
    pub max_diff_lines: u64,
    /// Files up to this many bytes get a text diff (and are held in memory for it).
    #[arg(long, default_value_t = 1 << 20, value_name = "BYTES")]
    pub max_text_size: u64,
    /// Write report.json, report.txt and the differing files of both sides (under left/
    /// and right/) into DIR. Nothing is written outside DIR.
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,
    #[command(flatten)]
    pub deep: DeepArgs,
}

/// How far rdiff looks inside files whose contents differ.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Inside files")]
pub struct DeepArgs {
    /// Do not open differing files as nested formats (compressed streams, tar, zip, ar,
    /// ELF, pyc):
    /// their content difference is all that is said.
    #[arg(long)]
    pub no_deep: bool,
    /// Open nested formats at most N levels deep (x.deb!/data.tar.xz!/usr/bin/x is two
    /// levels); what lies deeper is a note.
    #[arg(long, value_name = "N", default_value_t = 8)]
    pub max_depth: u32,
    /// Bytes opened inside differing files per report: both sides' contents, and every
    /// byte decompressed or inflated at any depth; what would go over it is a note.
    #[arg(long, value_name = "BYTES", default_value_t = 256 << 20)]
    pub max_nested_bytes: u64,
}

impl DeepArgs {
    /// How deep to open nested formats (0: not at all).
    pub fn depth(&self) -> u32 {
        if self.no_deep { 0 } else { self.max_depth }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> RootfsArgs {
        let mut v = vec!["rdiff", "rootfs"];
        v.extend(args);
        v.extend(["a", "b"]);
        match Cli::try_parse_from(v).unwrap().command {
            Command::Rootfs(a) => a,
            _ => unreachable!(),
        }
    }

    #[test]
    fn each_rule_flag_alone() {
        for (flag, rule) in [
            ("--ignore-file-timestamps", "ignore-file-timestamps"),
            ("--ignore-file-order", "ignore-file-order"),
            ("--ignore-tar-format", "ignore-tar-format"),
            (
                "--treat-canonical-paths-equal",
                "treat-canonical-paths-equal",
            ),
            (
                "--ignore-file-mode-redundant-bits",
                "ignore-file-mode-redundant-bits",
            ),
            ("--ignore-owner-names", "ignore-owner-names"),
            ("--ignore-compression", "ignore-compression"),
        ] {
            let p = parse(&[flag]).rules.policy().unwrap();
            assert_eq!(p.rules.len(), 1, "{flag}");
            assert_eq!(p.rules[0].name, rule);
            assert_eq!(p.mode(), "custom");
        }
    }

    #[test]
    fn semantic_and_strict() {
        assert_eq!(parse(&[]).rules.policy().unwrap().mode(), "strict");
        assert_eq!(
            parse(&["--semantic"]).rules.policy().unwrap().mode(),
            "semantic"
        );
        // A semantic flag given again adds nothing.
        let p = parse(&["--semantic", "--ignore-file-order"])
            .rules
            .policy()
            .unwrap();
        assert_eq!(p.rules.len(), 6);
        let p = parse(&["--semantic", "--ignore-path", "var/**"])
            .rules
            .policy()
            .unwrap();
        assert_eq!(p.mode(), "custom");
    }

    #[test]
    fn output_flags() {
        let a = parse(&[
            "--format",
            "json",
            "--json",
            "x.json",
            "--max-diff-lines",
            "5",
        ]);
        assert_eq!(a.output.format, Format::Json);
        assert_eq!(
            a.output.json.as_deref(),
            Some(std::path::Path::new("x.json"))
        );
        assert_eq!(a.output.max_diff_lines, 5);
        assert_eq!(parse(&[]).output.color, ColorChoice::Auto);
        let a = parse(&["--source-date-epoch", "-5"]);
        assert_eq!(a.rules.source_date_epoch, Some(-5));
    }

    #[test]
    fn bad_flags_are_rejected() {
        assert!(Cli::try_parse_from(["rdiff", "rootfs", "a"]).is_err());
        assert!(Cli::try_parse_from(["rdiff", "rootfs", "--format", "xml", "a", "b"]).is_err());
        assert!(
            Cli::try_parse_from(["rdiff", "rootfs", "--source-date-epoch", "x", "a", "b"]).is_err()
        );
        assert!(parse(&["--ignore-path", "a[b"]).rules.policy().is_err());
    }

    #[test]
    fn image_flags() {
        let v = [
            "rdiff",
            "image",
            "--semantic",
            "--ignore-history",
            "--ignore-annotation",
            "org.*",
            "--ignore-label",
            "build",
            "--ignore-env",
            "HOSTNAME",
            "--platform",
            "linux/arm64",
            "--squash",
            "a",
            "b",
        ];
        let Command::Image(a) = Cli::try_parse_from(v).unwrap().command else {
            panic!("image")
        };
        let mut p = a.rules.policy_for(policy::Command::Image).unwrap();
        assert_eq!(p.mode(), "semantic");
        a.image_rules.add_to(&mut p).unwrap();
        let names: Vec<&str> = p.rules.iter().map(|r| r.name.as_str()).collect();
        assert!(names.contains(&"ignore-annotation org.*"));
        assert!(names.contains(&"ignore-label build"));
        assert!(names.contains(&"ignore-env HOSTNAME"));
        assert_eq!(p.mode(), "custom");
        assert!(a.image_rules.squash);
        assert_eq!(a.image_rules.platform, ["linux/arm64"]);
    }

    #[test]
    fn clap_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
