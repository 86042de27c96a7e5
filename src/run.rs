//! The plan: read both inputs at the same time, compare, build the report, render it to
//! every output asked for. Exit codes: 0 equal, 1 different, 2 trouble.

use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::Path;

use crate::cli::{Cli, ColorChoice, Command, ImageArgs, OutputArgs, RootfsArgs};
use crate::compare::content::{ContentOptions, HeldContent};
use crate::compare::keeper::{Budgets, Side};
use crate::compare::pair::{
    Left, PairContext, ReadPair, Reading, SetPair, compare_pair, read_pair,
};
use crate::compare::policy::PathHits;
use crate::compare::{self, ReportParts, build_report};
use crate::error::{Error, Result};
use crate::image::read::LayerReading;
use crate::image::walk::{self, ImageInput, Transport};
use crate::image::{ImageOptions, compare_images};
use crate::render::{self, Format};
use crate::report::InputSummary;
use crate::report::Report;
use crate::source::{ContentSink, Input, InputFetcher, ReadOptions, read_input};

/// Bytes one side may hold waiting for the other in the content keeper.
const KEEPER_BUDGET: u64 = 64 << 20;
/// Bytes of content (both sides) held for content diffs in all.
const CONTENT_BUDGET: u64 = 256 << 20;

/// Run the parsed command line; returns the exit code.
pub fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Completions { shell } => {
            use clap::CommandFactory;
            let mut cmd = Cli::command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "rdiff", &mut buf);
            write_stdout(&buf)?;
            Ok(0)
        }
        Command::Man { subcommand } => {
            use clap::CommandFactory;
            let mut buf = Vec::new();
            // `rdiff help` has no page of its own.
            let mut cmd = Cli::command().disable_help_subcommand(true);
            cmd.build();
            let page = match &subcommand {
                Some(name) => {
                    let sub = cmd
                        .find_subcommand(name)
                        .cloned()
                        .ok_or_else(|| Error::usage(format!("no subcommand {name}")))?;
                    // The page is named rdiff-NAME(1); clap wants a 'static name.
                    let page_name: &'static str =
                        Box::leak(format!("rdiff-{name}").into_boxed_str());
                    sub.name(page_name)
                }
                None => cmd,
            };
            clap_mangen::Man::new(page)
                .render(&mut buf)
                .map_err(|e| Error::new("standard output", e))?;
            write_stdout(examples_verbatim(&String::from_utf8_lossy(&buf)).as_bytes())?;
            Ok(0)
        }
        Command::Rootfs(args) => {
            start(&args.limits)?;
            let (report, held) = rootfs_report_with_contents(&args)?;
            if let Some(dir) = &args.output.report_dir {
                crate::report_dir::write(dir, &report, &held)?;
            }
            warn(&report);
            write_outputs(&report, &args.output)?;
            Ok(if report.equal { 0 } else { 1 })
        }
        Command::Image(args) => {
            start(&args.limits)?;
            let (report, held) = image_report_with_contents(&args)?;
            if let Some(dir) = &args.output.report_dir {
                crate::report_dir::write(dir, &report, &held)?;
            }
            warn(&report);
            write_outputs(&report, &args.output)?;
            Ok(if report.equal { 0 } else { 1 })
        }
    }
}

/// The man page's examples section (clap's `after_help`, one example per line) kept
/// as written: roff fills the lines of a paragraph into one unless told `.nf`.
fn examples_verbatim(page: &str) -> String {
    let Some(at) = page.find(".SH EXTRA\n") else {
        return page.to_string();
    };
    let body = at + ".SH EXTRA\n".len();
    let end = page[body..]
        .find("\n.SH ")
        .map_or(page.len(), |e| body + e + 1);
    format!(
        "{}.SH EXAMPLES\n.nf\n{}.fi\n{}",
        &page[..at],
        &page[body..end],
        &page[end..]
    )
}

/// What `--threads` and `--timeout` set up before a comparison starts.
fn start(limits: &crate::cli::LimitArgs) -> Result<()> {
    if let Some(n) = limits.threads {
        if n == 0 {
            return Err(Error::usage("--threads must be at least 1"));
        }
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| Error::usage(format!("--threads: {e}")))?;
    }
    watchdog(limits.timeout.filter(|&s| s > 0));
    Ok(())
}

/// The report's warnings on standard error too, one line each, so that they reach the
/// terminal whatever the report goes to.
fn warn(report: &Report) {
    for w in &report.warnings {
        eprintln!("rdiff: warning: {w}");
    }
}

/// Compare two images and build the report.
pub fn image_report(args: &ImageArgs) -> Result<Report> {
    image_report_with_contents(args).map(|(r, _)| r)
}

fn image_report_with_contents(args: &ImageArgs) -> Result<(Report, Vec<HeldContent>)> {
    let mut policy = args
        .rules
        .policy_for(crate::compare::policy::Command::Image)?;
    args.image_rules.add_to(&mut policy)?;
    for p in &args.image_rules.platform {
        let n = p.split('/').count();
        if !(2..=3).contains(&n) || p.split('/').any(str::is_empty) {
            return Err(Error::usage(format!(
                "--platform {p:?}: expected os/arch or os/arch/variant"
            )));
        }
    }
    let inputs = [
        ImageInput::parse(&args.left),
        ImageInput::parse(&args.right),
    ];
    let stdin = |i: &ImageInput| i.path.is_none() && i.transport == Transport::Auto;
    if stdin(&inputs[0]) && stdin(&inputs[1]) {
        return Err(Error::usage("only one side can be standard input (-)"));
    }
    let limits = crate::image::store::Limits {
        json: args.limits.max_json_size,
        tar: args.limits.tar_limits(),
    };
    let registry = registry_options(args, &inputs)?;
    let (l, r) = rayon::join(
        || walk::open(&inputs[0], &limits, &registry),
        || walk::open(&inputs[1], &limits, &registry),
    );
    let (l, r) = (l?, r?);
    let progress = progress_for(&args.output);
    let _bars = progress
        .clone()
        .and_then(|p| crate::progress::start(p, [l.name.clone(), r.name.clone()]));
    let opts = ImageOptions {
        squash: args.image_rules.squash,
        platforms: args.image_rules.platform.clone(),
        ignore_attestations: args.image_rules.ignore_attestations,
        reading: LayerReading {
            read: ReadOptions {
                tar_limits: args.limits.tar_limits(),
                ..ReadOptions::default()
            },
            progress,
            budgets: budgets(&args.output),
            sequential: one_at_a_time(&args.limits),
        },
        content: content_options(&args.output, &args.limits),
        source_date_epoch: args.rules.source_date_epoch,
        keep_contents: args.output.report_dir.is_some(),
    };
    let result = compare_images(&l, &r, &policy, &opts)?;
    let left = image_summary(&l, result.entries[0]);
    let right = image_summary(&r, result.entries[1]);
    let mut warnings = result.warnings;
    for img in [&l, &r] {
        if let Some(Err(why)) = &img.repo_digests {
            warnings.push(format!("{}: repo digests not shown: {why}", img.name));
        }
    }
    let report = build_report(
        result.differences,
        &policy,
        ReportParts {
            command: "image".into(),
            left,
            right,
            notes: result.notes,
            warnings,
            show_ignored: args.output.show_ignored,
            limits: args.output.limits(),
            parts: result.parts,
            matched: result.matched,
            source_date_epoch: args.rules.source_date_epoch,
        },
    );
    Ok((report, result.contents))
}

/// How registry inputs are reached; a `--creds` password asked for once, here, when
/// an input is a registry image.
fn registry_options(
    args: &ImageArgs,
    inputs: &[ImageInput],
) -> Result<crate::image::registry::Options> {
    let mut registry = args.registry.options(&args.image_rules);
    if inputs.iter().any(|i| i.transport == Transport::Registry) {
        crate::image::registry::auth::complete(&mut registry.auth).map_err(Error::usage)?;
    }
    Ok(registry)
}

/// What the report says of an image input (after its layers were read: what a
/// registry sent is counted then).
fn image_summary(img: &crate::image::walk::Image, entries: u64) -> InputSummary {
    InputSummary {
        name: img.name.clone(),
        kind: img.form.clone(),
        compression: img.store.facts().map(|f| f.compression.name().to_string()),
        entries: Some(entries),
        bytes: img.store.facts().map_or(img.bytes, |f| f.bytes),
        sha256: img.store.facts().map(|f| crate::report::hex(&f.sha256)),
        digest: img.digest.clone(),
        bytes_fetched: img.store.remote().map(|r| r.fetched()),
        repo_digests: img.repo_digests.clone().and_then(Result::ok),
    }
}

/// Compare two rootFS inputs and build the report.
pub fn rootfs_report(args: &RootfsArgs) -> Result<Report> {
    rootfs_report_with_contents(args).map(|(r, _)| r)
}

fn rootfs_report_with_contents(args: &RootfsArgs) -> Result<(Report, Vec<HeldContent>)> {
    let policy = args.rules.policy()?;
    let inputs = [Input::from_arg(&args.left), Input::from_arg(&args.right)];
    if inputs[0].path.is_none() && inputs[1].path.is_none() {
        return Err(Error::usage("only one side can be standard input (-)"));
    }
    if !args.output.read_identical
        && let (Some(a), Some(b)) = (&inputs[0].path, &inputs[1].path)
        && let Some((len, sha)) = byte_identical(a, b)?
    {
        let names = [&inputs[0].name, &inputs[1].name];
        let report = identical_report(&policy, "rootfs", names, (len, sha), &args.output);
        return Ok((report, Vec::new()));
    }
    let progress = progress_for(&args.output);
    let _bars = rootfs_progress(progress.as_ref(), &inputs);
    let read = ReadOptions {
        tar_limits: args.limits.tar_limits(),
        ..ReadOptions::default()
    };
    let pair = read_rootfs(&inputs, &read, progress.as_ref(), args)?;
    let [left, right] = &pair.sides;

    // Compare them, entries then contents.
    let fetchers = [0, 1].map(|i| InputFetcher {
        input: &inputs[i],
        opts: &read,
        rereadable: pair.sides[i].info.rereadable,
    });
    let hits = PathHits::new(&policy);
    let content = content_options(&args.output, &args.limits);
    let cx = PairContext {
        policy: &policy,
        hits: &hits,
        content: &content,
        source_date_epoch: args.rules.source_date_epoch,
    };
    let set_pair = SetPair {
        location: String::new(),
        part: "rootfs".into(),
        sets: [left, right],
        fetchers: [&fetchers[0], &fetchers[1]],
        kept: pair.kept,
        db: pair.db,
    };
    let budget = Left {
        text: CONTENT_BUDGET,
        nested: content.nested_budget,
    };
    let outcome = compare_pair(set_pair, &cx, budget)?;
    let mut diffs = outcome.differences;

    // The inputs as wholes, outside in: their bytes, compression, trailer.
    let entries_differ = !diffs.is_empty();
    if let Some(d) = rootfs_input_difference(&inputs, [left, right], entries_differ, &policy, args)?
    {
        diffs.insert(0, d);
    }
    let report = build_report(
        diffs,
        &policy,
        ReportParts {
            command: "rootfs".into(),
            left: compare::input_summary(&left.info),
            right: compare::input_summary(&right.info),
            notes: outcome.notes,
            warnings: hits.warnings(&policy),
            show_ignored: args.output.show_ignored,
            limits: args.output.limits(),
            parts: [compare::INPUT.to_string()]
                .into_iter()
                .chain(outcome.packages_part)
                .chain(["rootfs".to_string()])
                .collect(),
            matched: hits.matched(&policy),
            source_date_epoch: args.rules.source_date_epoch,
        },
    );
    Ok((report, outcome.held))
}

/// The progress bars of a rootfs run, sized by the input files.
fn rootfs_progress(
    progress: Option<&std::sync::Arc<crate::progress::Progress>>,
    inputs: &[Input; 2],
) -> Option<crate::progress::Bars> {
    let p = progress?;
    for (i, input) in inputs.iter().enumerate() {
        if let Some(m) = input.path.as_ref().and_then(|p| std::fs::metadata(p).ok()) {
            p.add_total(i, if m.is_file() { m.len() } else { 0 });
        }
    }
    crate::progress::start(p.clone(), [inputs[0].name.clone(), inputs[1].name.clone()])
}

/// Read both rootfs inputs, in the way `Reading::choose` picks for them.
fn read_rootfs(
    inputs: &[Input; 2],
    read: &ReadOptions,
    progress: Option<&std::sync::Arc<crate::progress::Progress>>,
    args: &RootfsArgs,
) -> Result<ReadPair<crate::source::EntrySet>> {
    let streams = [!can_read_again(&inputs[0]), !can_read_again(&inputs[1])];
    let reading = Reading::choose(one_at_a_time(&args.limits), streams);
    let hint = std::sync::atomic::AtomicU64::new(0);
    let read_side = |side: Side, sink: &dyn ContentSink| {
        // The side read second is sized from the first (see `ReadOptions::entries_hint`).
        let mut opts = read.for_side(progress, side as usize);
        opts.entries_hint = hint.load(std::sync::atomic::Ordering::Relaxed);
        let set = read_input(&inputs[side as usize], &opts, sink)?;
        if matches!(reading, Reading::OneAfterTheOther { .. }) {
            hint.store(
                set.entries.len() as u64,
                std::sync::atomic::Ordering::Relaxed,
            );
        }
        Ok(set)
    };
    // A side offers its empty contents too where the other side is a stream.
    let offer_empty = [streams[1], streams[0]];
    read_pair(reading, budgets(&args.output), offer_empty, read_side)
}

/// The rootfs inputs as wholes (the `input` part): their bytes, compression, trailer;
/// whether only the compressed bytes differ is asked of the decompressed streams.
fn rootfs_input_difference(
    inputs: &[Input; 2],
    [left, right]: [&crate::source::EntrySet; 2],
    entries_differ: bool,
    policy: &crate::compare::policy::Policy,
    args: &RootfsArgs,
) -> Result<Option<crate::report::Difference>> {
    let decoded = || {
        let limits = args.limits.tar_limits();
        let (a, b) = rayon::join(
            || crate::source::decoded_sha256(&inputs[0], &left.info, &limits),
            || crate::source::decoded_sha256(&inputs[1], &right.info, &limits),
        );
        Ok(match (a?, b?) {
            (Some(a), Some(b)) => Some([a, b]),
            _ => None,
        })
    };
    compare::input_difference(&left.info, &right.info, entries_differ, policy, &decoded)
}

/// What the keeper may hold while both sides are read.
fn budgets(out: &OutputArgs) -> Budgets {
    Budgets {
        waiting: KEEPER_BUDGET,
        kept: CONTENT_BUDGET,
        keep_limit: out.max_text_size,
    }
}

/// Settings of the content stage.
fn content_options(out: &OutputArgs, limits: &crate::cli::LimitArgs) -> ContentOptions {
    ContentOptions {
        keep_limit: out.max_text_size,
        max_diff_lines: out.max_diff_lines,
        budget: CONTENT_BUDGET,
        label_prefix: String::new(),
        budget_total: CONTENT_BUDGET,
        sequential: one_at_a_time(limits),
        max_depth: out.deep.depth(),
        nested_budget: out.deep.max_nested_bytes,
        nested_budget_total: out.deep.max_nested_bytes,
    }
}

/// Whether an input can be read a second time (a file or a directory; not standard
/// input, a FIFO or `<(...)`).
fn can_read_again(i: &Input) -> bool {
    i.path.as_ref().is_some_and(|p| p.is_file() || p.is_dir())
}

/// Whether the inputs (image layers) are read one after the other: asked for with
/// `--low-memory`, and also what one worker thread does anyway (then without the
/// waiting contents a parallel read needs).
fn one_at_a_time(limits: &crate::cli::LimitArgs) -> bool {
    limits.low_memory || rayon::current_num_threads() == 1
}

/// Whether two paths are regular files with the same bytes (read in 1 MiB chunks,
/// stopping at the first difference): `Some((size, SHA-256))` when they are.
fn byte_identical(a: &Path, b: &Path) -> Result<Option<(u64, crate::entry::Digest)>> {
    use sha2::Digest as _;
    let (ma, mb) = match (std::fs::metadata(a), std::fs::metadata(b)) {
        (Ok(x), Ok(y)) => (x, y),
        _ => return Ok(None),
    };
    if !ma.is_file() || !mb.is_file() || ma.len() != mb.len() || ma.len() == 0 {
        return Ok(None);
    }
    let open = |p: &Path| File::open(p).map_err(|e| Error::new(p.display().to_string(), e));
    let (mut x, mut y) = (open(a)?, open(b)?);
    let (mut bx, mut by) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    let mut sha = sha2::Sha256::new();
    loop {
        let n = crate::source::read_full(&mut x, &mut bx)
            .map_err(|e| Error::new(a.display().to_string(), e))?;
        let m = crate::source::read_full(&mut y, &mut by)
            .map_err(|e| Error::new(b.display().to_string(), e))?;
        if n != m || bx[..n] != by[..m] {
            return Ok(None);
        }
        if n == 0 {
            return Ok(Some((ma.len(), sha.finalize().into())));
        }
        sha.update(&bx[..n]);
    }
}

/// The report for two byte-identical input files, which were not read further.
fn identical_report(
    policy: &crate::compare::policy::Policy,
    command: &str,
    names: [&String; 2],
    (len, sha): (u64, crate::entry::Digest),
    out: &OutputArgs,
) -> Report {
    let summary = |name: &String| InputSummary {
        name: name.clone(),
        kind: "file".into(),
        compression: None,
        entries: None,
        bytes: len,
        sha256: Some(crate::report::hex(&sha)),
        digest: None,
        bytes_fetched: None,
        repo_digests: None,
    };
    let mut report = build_report(
        Vec::new(),
        policy,
        ReportParts {
            command: command.into(),
            left: summary(names[0]),
            right: summary(names[1]),
            notes: vec![crate::report::Note {
                path: b".".as_slice().into(),
                kind: "identical",
                message: "the inputs are byte-identical files; their contents were not read \
                          (--read-identical reads and lists them)"
                    .into(),
            }],
            warnings: Vec::new(),
            show_ignored: out.show_ignored,
            limits: out.limits(),
            parts: vec![command.to_string()],
            matched: Vec::new(),
            source_date_epoch: None,
        },
    );
    report.parts = if command == "rootfs" {
        vec![compare::INPUT.into(), "rootfs".into()]
    } else {
        Vec::new()
    };
    report
}

/// `--timeout`: a thread that ends the process (exit 2, one line on stderr) when the
/// time is up. Reports are written only at the end, so nothing partial reaches stdout.
fn watchdog(seconds: Option<u64>) {
    if let Some(s) = seconds {
        std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_secs(s));
            eprintln!("rdiff: timed out after {s} seconds (--timeout)");
            crate::image::save::end_all();
            std::process::exit(2);
        });
    }
}

/// Write bytes to standard output; a closed pipe is not an error.
fn write_stdout(b: &[u8]) -> Result<()> {
    let mut out = io::stdout().lock();
    match out.write_all(b).and_then(|_| out.flush()) {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Error::new("standard output", e)),
        _ => Ok(()),
    }
}

/// Progress counters, unless --quiet or standard error is not a terminal.
fn progress_for(out: &OutputArgs) -> Option<std::sync::Arc<crate::progress::Progress>> {
    use std::io::IsTerminal;
    (!out.quiet && io::stderr().is_terminal()).then(Default::default)
}

fn use_color(choice: ColorChoice) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && io::stdout().is_terminal()
        }
    }
}

/// Write the report to standard output and to every file asked for.
pub fn write_outputs(report: &Report, out: &OutputArgs) -> Result<()> {
    let mut targets: Vec<(Format, Option<&Path>)> = out.targets();
    let to_stdout = targets.iter().filter(|(_, p)| p.is_none()).count();
    if to_stdout > 1 {
        return Err(Error::usage("only one report can go to standard output"));
    }
    if to_stdout == 0 {
        targets.insert(0, (out.format, None));
    }
    // Create every file first, so a bad path fails before anything is written.
    let mut files = Vec::new();
    for (_, path) in &targets {
        if let Some(p) = path {
            let name = p.display().to_string();
            files.push(Some(File::create(p).map_err(|e| Error::new(name, e))?));
        } else {
            files.push(None);
        }
    }
    for ((fmt, path), file) in targets.into_iter().zip(files) {
        match (path, file) {
            (None, _) => {
                let stdout = io::stdout();
                let mut w = BufWriter::new(stdout.lock());
                let look = render::Look {
                    color: use_color(out.color),
                    ascii: render::Look::ascii_from_env(),
                };
                let res = render::render(report, fmt, look, &mut w).and_then(|_| w.flush());
                match res {
                    Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
                    Err(e) => return Err(Error::new("standard output", e)),
                    Ok(()) => {}
                }
            }
            (Some(p), Some(f)) => {
                let name = p.display().to_string();
                let mut w = BufWriter::new(f);
                let look = render::Look {
                    color: false,
                    ascii: render::Look::ascii_from_env(),
                };
                render::render(report, fmt, look, &mut w)
                    .and_then(|_| w.flush())
                    .map_err(|e| Error::new(name, e))?;
            }
            (Some(_), None) => unreachable!("files were created for every path"),
        }
    }
    Ok(())
}
