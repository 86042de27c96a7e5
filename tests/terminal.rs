//! What rdiff leaves of the terminal it runs on: the `--creds USER` password prompt
//! turns echo off while it reads, and puts it back however it ends, Ctrl-C included.
//! A real pseudo-terminal, made by python3's `pty` module, stands in for the user's.

mod support;

use std::process::Command;

use support::paths::testdata;
use support::run::{RDIFF, missing_tool};

/// Start `rdiff image --creds someone REGISTRY LOCAL` on a new pty, wait for the
/// prompt, type `keys`, and print what the pty's settings and rdiff's end were.
const DRIVE_PTY: &str = r#"
import os, pty, select, sys, termios, time
rdiff, local, keys = sys.argv[1], sys.argv[2], sys.argv[3].encode().decode("unicode_escape").encode("latin-1")
pid, fd = pty.fork()
if pid == 0:
    os.execv(rdiff, [rdiff, "image", "--creds", "someone", "127.0.0.1:9/none:1", local])
seen, deadline = b"", time.time() + 60
while b"Password for someone: " not in seen and time.time() < deadline:
    if select.select([fd], [], [], 0.2)[0]:
        seen += os.read(fd, 1024)
echo = lambda: "on" if termios.tcgetattr(fd)[3] & termios.ECHO else "off"
during = echo()
os.write(fd, keys)
_, status = os.waitpid(pid, 0)
end = "signal %d" % os.WTERMSIG(status) if os.WIFSIGNALED(status) else "exit %d" % os.WEXITSTATUS(status)
print("prompt" if b"Password for someone: " in seen else "no prompt", "| during", during, "| after", echo(), "|", end)
"#;

fn drive(keys: &str) -> Option<String> {
    let local = testdata("image/oci");
    let out = match Command::new("python3")
        .args(["-c", DRIVE_PTY, RDIFF, local.to_str().unwrap(), keys])
        .output()
    {
        Ok(out) => out,
        Err(e) => {
            missing_tool(format_args!("python3 could not be run ({e})"));
            return None;
        }
    };
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
fn ctrl_c_at_the_password_prompt_gives_the_terminal_its_echo_back() {
    let Some(seen) = drive("\\x03") else { return };
    // Echo was off while rdiff waited, is on again after SIGINT, and rdiff died of
    // SIGINT as if it had not caught it (a shell reports 130).
    assert_eq!(seen, "prompt | during off | after on | signal 2");
}

#[test]
fn a_typed_password_gives_the_terminal_its_echo_back() {
    // The password is read, echo put back; the registry at port 9 then refuses.
    let Some(seen) = drive("s3cret\\n") else {
        return;
    };
    assert_eq!(seen, "prompt | during off | after on | exit 2");
}
