//! `podman image save` / `docker image save` as a child process that never outlives
//! rdiff's interest in it: every child is registered while it runs, and `--timeout`,
//! SIGINT, SIGTERM and SIGHUP end the registered children (SIGTERM, then SIGKILL after
//! a grace period) and wait for them, so that a save is not left writing into a closed
//! pipe with its temporary directory in `/var/tmp`.

use std::io::Read;
use std::process::{ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Mutex, Once};
use std::time::{Duration, Instant};

/// Process ids of the children running now.
static RUNNING: Mutex<Vec<u32>> = Mutex::new(Vec::new());

/// How long a child gets to exit after SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(10);

/// A running save.
pub struct Child {
    child: std::process::Child,
    stdout: Option<ChildStdout>,
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Child {
    /// Start `cli ARGS NAME`, its standard output piped, its standard error read on a
    /// thread of its own (so a chatty CLI cannot block on a full pipe).
    pub fn spawn(cli: &str, args: &[&str], name: &str) -> std::io::Result<Child> {
        handle_signals();
        let mut running = RUNNING.lock().unwrap_or_else(|e| e.into_inner());
        let mut child = Command::new(cli)
            .args(args)
            .arg(name)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()?;
        running.push(child.id());
        drop(running);
        let stderr = child.stderr.take().map(|mut e| {
            std::thread::spawn(move || {
                let mut s = String::new();
                let _ = e.read_to_string(&mut s);
                s
            })
        });
        Ok(Child {
            stdout: child.stdout.take(),
            child,
            stderr,
        })
    }

    /// The child's standard output (once).
    pub fn stdout(&mut self) -> ChildStdout {
        self.stdout.take().expect("stdout taken once")
    }

    /// Ask the child to stop (SIGTERM), as when its output is no longer read.
    pub fn terminate(&mut self) {
        terminate(self.child.id());
    }

    /// Wait for the child to exit: its status and what it wrote on standard error.
    pub fn wait(mut self) -> std::io::Result<(ExitStatus, String)> {
        drop(self.stdout.take());
        let status = self.child.wait();
        forget(self.child.id());
        let stderr = self
            .stderr
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_default();
        Ok((status?, stderr))
    }
}

impl Drop for Child {
    /// A child dropped on an error path is ended and reaped, never left running.
    fn drop(&mut self) {
        if RUNNING
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&self.child.id())
        {
            drop(self.stdout.take());
            terminate(self.child.id());
            let _ = self.child.wait();
            forget(self.child.id());
        }
    }
}

fn forget(pid: u32) {
    RUNNING
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .retain(|&p| p != pid);
}

fn terminate(pid: u32) {
    // SAFETY: kill(2) with a pid rdiff started and has not reaped yet.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGTERM);
    }
}

/// End every running child and wait for it (SIGTERM, then SIGKILL after `GRACE`):
/// what `--timeout` and the signal handler do before rdiff exits.
pub fn end_all() {
    let pids: Vec<u32> = RUNNING.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for &pid in &pids {
        terminate(pid);
    }
    let start = Instant::now();
    for pid in pids {
        loop {
            let mut status = 0;
            // SAFETY: waitpid on a child of this process; WNOHANG never blocks.
            let r = unsafe { libc::waitpid(pid as libc::pid_t, &mut status, libc::WNOHANG) };
            if r != 0 {
                break; // reaped, or no longer ours to wait for
            }
            if start.elapsed() > GRACE {
                // SAFETY: as above.
                unsafe {
                    libc::kill(pid as libc::pid_t, libc::SIGKILL);
                    libc::waitpid(pid as libc::pid_t, &mut status, 0);
                }
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// On SIGINT, SIGTERM or SIGHUP: end the children, then exit as the signal would have
/// (128 + its number). Installed with the first child.
fn handle_signals() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) else {
            return;
        };
        std::thread::spawn(move || {
            if let Some(sig) = signals.forever().next() {
                end_all();
                std::process::exit(128 + sig);
            }
        });
    });
}
