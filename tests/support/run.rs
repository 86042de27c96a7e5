//! Running the rdiff binary (and other commands) from a test: arguments, standard
//! input, environment, working directory, a time bound after which the child's whole
//! process group is killed (a hang fails the test instead of blocking it), and, when
//! asked, its peak memory measured by GNU time. The common checks of a run follow: a
//! JSON report, or exactly one error line.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::paths::repo;

/// The rdiff binary built for this test run.
pub const RDIFF: &str = env!("CARGO_BIN_EXE_rdiff");

/// The time bound of a run that does not set its own.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);

/// `RDIFF_REQUIRE_TOOLS=1`: a missing external tool fails the test instead of skipping.
pub fn require_tools() -> bool {
    std::env::var_os("RDIFF_REQUIRE_TOOLS").is_some_and(|v| v == "1")
}

/// Say that (part of) the running test was skipped, and why, where the test run shows
/// it: one line `SKIPPED <test>: <why>` written to the process's standard error itself,
/// which libtest does not capture (an `eprintln!` in a passing test would be hidden).
/// For what this machine cannot do whatever is installed (root, a tool that must be
/// absent); a missing tool goes through [`missing_tool`].
pub fn skip(why: impl std::fmt::Display) {
    let test = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    let line = format!("SKIPPED {test}: {why}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// A tool the test needs is missing: under `RDIFF_REQUIRE_TOOLS=1` (what `.ci/run`
/// sets) the test fails; otherwise it is skipped, visibly ([`skip`]).
pub fn missing_tool(why: impl std::fmt::Display) {
    if require_tools() {
        panic!("{why}, and RDIFF_REQUIRE_TOOLS=1 requires it");
    }
    skip(format_args!("{why} (RDIFF_REQUIRE_TOOLS=1 fails instead)"));
}

/// Whether `tool` is a file in one of `$PATH`'s directories.
pub fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

/// Whether every one of `tools` is on `$PATH`; if not, the test is skipped, or fails
/// under `RDIFF_REQUIRE_TOOLS=1` ([`missing_tool`]), naming the missing ones.
pub fn have(tools: &[&str]) -> bool {
    let missing: Vec<&&str> = tools.iter().filter(|t| !on_path(t)).collect();
    if missing.is_empty() {
        return true;
    }
    missing_tool(format_args!("{missing:?} not installed"));
    false
}

/// Write `dir/name`, an executable shell script running `script`: a stand-in for a
/// program, with `dir` put first on the `PATH` rdiff runs with.
pub fn fake_bin(dir: &Path, name: &str, script: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// GNU time, if installed (`RDIFF_REQUIRE_TOOLS=1` makes its absence a failure).
pub fn gnu_time() -> Option<&'static str> {
    let p = "/usr/bin/time";
    if Path::new(p).is_file() {
        return Some(p);
    }
    missing_tool(format_args!(
        "peak memory not measured: {p} is missing (install the `time` package)"
    ));
    None
}

/// Whether this test runs as root (which reads every file, whatever its mode).
pub fn running_as_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Run a command, panic with its stderr if it fails.
pub fn sh(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What the child reads on standard input.
enum Stdin {
    /// Nothing (`/dev/null`).
    Null,
    /// A file opened as standard input (a regular file, seekable).
    File(PathBuf),
    /// A pipe, written by this function in a thread of its own.
    Pipe(Box<dyn FnOnce(ChildStdin) + Send>),
}

/// One run of rdiff (or of another program), to be configured and then [`Rdiff::run`].
/// By default: no standard input, `NO_COLOR` removed from the environment, the test's
/// working directory, a bound of [`DEFAULT_TIMEOUT`].
pub struct Rdiff {
    program: OsString,
    args: Vec<OsString>,
    stdin: Stdin,
    env: Vec<(OsString, Option<OsString>)>,
    dir: Option<PathBuf>,
    timeout: Duration,
    measure: bool,
    address_space: Option<u64>,
    /// Standard output and error are pipes (read to their end) instead of files.
    piped: bool,
}

/// `rdiff ARGS...`, to be configured and run.
pub fn rdiff<I, S>(args: I) -> Rdiff
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    Rdiff {
        program: RDIFF.into(),
        args: args.into_iter().map(|a| a.as_ref().to_owned()).collect(),
        stdin: Stdin::Null,
        env: vec![("NO_COLOR".into(), None)],
        dir: None,
        timeout: DEFAULT_TIMEOUT,
        measure: false,
        address_space: None,
        piped: false,
    }
}

impl Rdiff {
    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Self {
        self.args.push(a.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Run rdiff through a wrapper command: `WRAPPER WRAPPER_ARGS... rdiff ARGS...`.
    pub fn via<I, S>(mut self, wrapper: impl AsRef<OsStr>, wrapper_args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut args: Vec<OsString> = wrapper_args
            .into_iter()
            .map(|a| a.as_ref().to_owned())
            .collect();
        args.push(std::mem::replace(
            &mut self.program,
            wrapper.as_ref().to_owned(),
        ));
        args.append(&mut self.args);
        self.args = args;
        self
    }

    /// Standard input is this file (opened, not piped).
    pub fn stdin_file(mut self, p: impl AsRef<Path>) -> Self {
        self.stdin = Stdin::File(p.as_ref().to_path_buf());
        self
    }

    /// Standard input is a pipe these bytes are written to (write errors, when the
    /// child stops reading, are ignored: its exit status says why).
    pub fn stdin_bytes(self, bytes: Vec<u8>) -> Self {
        self.stdin_with(move |mut w| {
            let _ = w.write_all(&bytes);
        })
    }

    /// Standard input is a pipe that `feed` writes to, in a thread of its own.
    pub fn stdin_with(mut self, feed: impl FnOnce(ChildStdin) + Send + 'static) -> Self {
        self.stdin = Stdin::Pipe(Box::new(feed));
        self
    }

    pub fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Self {
        self.env
            .push((k.as_ref().to_owned(), Some(v.as_ref().to_owned())));
        self
    }

    /// Remove this variable from the child's environment.
    pub fn env_remove(mut self, k: impl AsRef<OsStr>) -> Self {
        self.env.push((k.as_ref().to_owned(), None));
        self
    }

    /// Run in this directory.
    pub fn current_dir(mut self, dir: impl AsRef<Path>) -> Self {
        self.dir = Some(dir.as_ref().to_path_buf());
        self
    }

    /// Run in the repository root (so that `testdata/...` names are short).
    pub fn in_repo(self) -> Self {
        self.current_dir(repo())
    }

    pub fn timeout(mut self, t: Duration) -> Self {
        self.timeout = t;
        self
    }

    /// Measure the peak RSS with GNU time (not measured when the tool is missing).
    pub fn measure_peak(mut self) -> Self {
        self.measure = true;
        self
    }

    /// Standard output and error are pipes, as for a child whose output is read by
    /// another program (by default they are files, which a stray grandchild cannot keep
    /// open past the time bound).
    pub fn piped(mut self) -> Self {
        self.piped = true;
        self
    }

    /// RLIMIT_AS for the child, so that a runaway allocation fails the run instead of
    /// the machine.
    pub fn address_space(mut self, bytes: u64) -> Self {
        self.address_space = Some(bytes);
        self
    }

    /// Run in its own process group, standard output and error to files; when the time
    /// bound passes, the whole group is killed (`timed_out`).
    pub fn run(self) -> Run {
        let dir = tempfile::tempdir().unwrap();
        let (out_p, err_p, rss_p) = (
            dir.path().join("out"),
            dir.path().join("err"),
            dir.path().join("rss"),
        );
        let what = format!(
            "{} {}",
            Path::new(&self.program)
                .file_name()
                .unwrap_or_default()
                .to_string_lossy(),
            self.args
                .iter()
                .map(|a| a.to_string_lossy())
                .collect::<Vec<_>>()
                .join(" ")
        );
        let time = if self.measure { gnu_time() } else { None };
        let mut cmd = match time {
            Some(t) => {
                let mut c = Command::new(t);
                c.arg("-o")
                    .arg(&rss_p)
                    .args(["-f", "%M"])
                    .arg(&self.program);
                c
            }
            None => Command::new(&self.program),
        };
        cmd.args(&self.args).process_group(0);
        if self.piped {
            cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        } else {
            cmd.stdout(File::create(&out_p).unwrap())
                .stderr(File::create(&err_p).unwrap());
        }
        for (k, v) in &self.env {
            match v {
                Some(v) => cmd.env(k, v),
                None => cmd.env_remove(k),
            };
        }
        if let Some(d) = &self.dir {
            cmd.current_dir(d);
        }
        if let Some(limit) = self.address_space {
            // SAFETY: setrlimit is async-signal-safe; nothing else runs between fork and
            // exec.
            unsafe {
                cmd.pre_exec(move || {
                    let r = libc::rlimit {
                        rlim_cur: limit,
                        rlim_max: limit,
                    };
                    if libc::setrlimit(libc::RLIMIT_AS, &r) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let mut feed = None;
        match self.stdin {
            Stdin::Null => {
                cmd.stdin(Stdio::null());
            }
            Stdin::File(p) => {
                let f = File::open(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                cmd.stdin(f);
            }
            Stdin::Pipe(f) => {
                cmd.stdin(Stdio::piped());
                feed = Some(f);
            }
        }
        let start = Instant::now();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawning {what}: {e}"));
        let readers = self.piped.then(|| {
            let drain = |mut r: Box<dyn Read + Send>| {
                std::thread::spawn(move || {
                    let mut v = Vec::new();
                    r.read_to_end(&mut v).unwrap();
                    v
                })
            };
            (
                drain(Box::new(child.stdout.take().unwrap())),
                drain(Box::new(child.stderr.take().unwrap())),
            )
        });
        let writer = feed.map(|f| {
            let stdin = child.stdin.take().unwrap();
            std::thread::spawn(move || f(stdin))
        });
        let pgid = child.id() as i32;
        let mut timed_out = false;
        let mut nap = Duration::from_millis(1);
        let status = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st;
            }
            if start.elapsed() > self.timeout {
                // The child is not reaped yet, so its id (the group's id) is still ours.
                // SAFETY: kill has no memory-safety preconditions.
                unsafe { libc::kill(-pgid, libc::SIGKILL) };
                timed_out = true;
                break child.wait().unwrap();
            }
            std::thread::sleep(nap);
            nap = (nap * 2).min(Duration::from_millis(20));
        };
        let elapsed = start.elapsed();
        if let Some(w) = writer {
            w.join().unwrap();
        }
        let (stdout, stderr) = match readers {
            Some((out, err)) => (out.join().unwrap(), err.join().unwrap()),
            None => (
                std::fs::read(&out_p).unwrap(),
                std::fs::read(&err_p).unwrap(),
            ),
        };
        let peak_kib = time.filter(|_| !timed_out).map(|_| {
            let t = std::fs::read_to_string(&rss_p).unwrap_or_default();
            t.lines()
                .rev()
                .find_map(|l| l.trim().parse().ok())
                .unwrap_or_else(|| panic!("{what}: no %M from GNU time in {t:?}"))
        });
        Run {
            status: if timed_out { None } else { status.code() },
            timed_out,
            stdout,
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            elapsed,
            peak_kib,
            what,
        }
    }
}

/// One finished (or killed) run.
pub struct Run {
    /// The exit code; `None` when killed by a signal (or by the time bound).
    pub status: Option<i32>,
    pub timed_out: bool,
    pub stdout: Vec<u8>,
    /// Standard error (lossy UTF-8).
    pub stderr: String,
    pub elapsed: Duration,
    /// Peak resident set size in KiB (GNU time's %M), when measured (none when GNU time
    /// is missing, or when the run was killed).
    pub peak_kib: Option<u64>,
    /// The command line, for messages.
    pub what: String,
}

impl Run {
    /// The exit code, -1 when there is none.
    pub fn code(&self) -> i32 {
        self.status.unwrap_or(-1)
    }

    /// Standard output, which must be UTF-8.
    pub fn stdout_text(&self) -> String {
        String::from_utf8(self.stdout.clone())
            .unwrap_or_else(|e| panic!("stdout is not UTF-8 ({e}): {}", self.describe()))
    }

    /// The command, its status, time, peak memory, and its output (each cut at 4000
    /// bytes), for messages.
    pub fn describe(&self) -> String {
        let out = String::from_utf8_lossy(&self.stdout);
        let cut = |t: &str| -> String {
            if t.len() > 4000 {
                let mut end = 4000;
                while !t.is_char_boundary(end) {
                    end -= 1;
                }
                format!("{}... ({} bytes)", &t[..end], t.len())
            } else {
                t.to_string()
            }
        };
        format!(
            "{}\nstatus {:?}{} after {:?}, peak {:?} KiB\n--- stdout\n{}\n--- stderr\n{}",
            self.what,
            self.status,
            if self.timed_out { " (TIMED OUT)" } else { "" },
            self.elapsed,
            self.peak_kib,
            cut(&out),
            cut(&self.stderr)
        )
    }

    /// Standard output parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", self.describe()))
    }
}

/// No hang, no panic, no signal.
pub fn assert_sane(r: &Run) {
    assert!(!r.timed_out, "did not finish in time: {}", r.describe());
    assert!(!r.stderr.contains("panicked"), "panic: {}", r.describe());
    assert!(
        r.status.is_some(),
        "killed by a signal (crash?): {}",
        r.describe()
    );
}

/// Exit 2, nothing on stdout, exactly one stderr line starting with `rdiff: `, no
/// panic, no hang. Returns the line.
pub fn assert_one_error_line(r: &Run) -> String {
    assert_sane(r);
    assert_eq!(r.status, Some(2), "want exit 2: {}", r.describe());
    assert!(r.stdout.is_empty(), "stdout not empty: {}", r.describe());
    assert!(
        r.stderr.ends_with('\n') && r.stderr.matches('\n').count() == 1,
        "want exactly one stderr line: {}",
        r.describe()
    );
    assert!(r.stderr.starts_with("rdiff: "), "{}", r.describe());
    r.stderr.trim_end().to_string()
}

/// Exit 2 naming `input` (`rdiff: INPUT: ...`), with every one of `problems` in the
/// line. Returns the line.
pub fn assert_input_error(
    r: &Run,
    input: &(impl AsRef<OsStr> + ?Sized),
    problems: &[&str],
) -> String {
    let line = assert_one_error_line(r);
    let prefix = format!("rdiff: {}: ", Path::new(input.as_ref()).display());
    assert!(
        line.starts_with(&prefix),
        "want {prefix:?}: {}",
        r.describe()
    );
    for p in problems {
        assert!(
            line.contains(p),
            "want {p:?} in the error: {}",
            r.describe()
        );
    }
    line
}

/// `rdiff CMD --format json ARGS...`: the exit code and the report. Any error (exit 2,
/// or anything on standard error) fails the test.
pub fn json_report(cmd: &str, args: &[&str]) -> (i32, Value) {
    json_report_of(rdiff([cmd, "--format", "json"]).args(args))
}

/// The exit code and the JSON report of a configured run (`--format json` among its
/// arguments). Any error (exit 2, or anything on standard error) fails the test.
pub fn json_report_of(cmd: Rdiff) -> (i32, Value) {
    let r = cmd.run();
    assert!(
        r.status.is_some_and(|c| c != 2) && r.stderr.is_empty(),
        "{}",
        r.describe()
    );
    (r.code(), r.json())
}
