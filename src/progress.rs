//! A progress bar on standard error for long runs: bytes read of each side (for images,
//! of the layer blobs being read). Only on a terminal, never with --quiet, never on
//! standard output; drawn from its own thread from two counters the readers bump.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Counters shared with the readers.
#[derive(Debug, Default)]
pub struct Progress {
    /// Bytes read so far, per side.
    pub read: [AtomicU64; 2],
    /// Bytes to read, per side (0: unknown).
    pub total: [AtomicU64; 2],
}

impl Progress {
    pub fn add(&self, side: usize, n: u64) {
        self.read[side].fetch_add(n, Ordering::Relaxed);
    }
    pub fn add_total(&self, side: usize, n: u64) {
        self.total[side].fetch_add(n, Ordering::Relaxed);
    }
}

/// The drawing thread; stops and clears the bars when dropped.
pub struct Bars {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for Bars {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Start drawing `p` for the two named inputs (only when standard error is a terminal).
pub fn start(p: Arc<Progress>, names: [String; 2]) -> Option<Bars> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let thread = std::thread::spawn(move || {
        // Do not flash bars for runs shorter than half a second.
        for _ in 0..5 {
            std::thread::sleep(Duration::from_millis(100));
            if stop2.load(Ordering::Relaxed) {
                return;
            }
        }
        draw(&p, &names, &stop2);
    });
    Some(Bars {
        stop,
        thread: Some(thread),
    })
}

/// Draw until `stop`: a bar once a side's total is known, only the bytes read and the
/// speed before (no empty `0 B/0 B` bar); names cut in the middle to fit the terminal.
fn draw(p: &Progress, names: &[String; 2], stop: &AtomicBool) {
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
    let style = |t: &str| {
        ProgressStyle::with_template(t)
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ")
    };
    let counting = style("{prefix:>5} {msg} {bytes} {bytes_per_sec}");
    let bar = style("{prefix:>5} {msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}");
    // What the bar line takes besides the name: prefix, bar, sizes and speed.
    let width = terminal_columns().saturating_sub(72).max(16);
    let bars: Vec<ProgressBar> = (0..2)
        .map(|i| {
            let b = multi.add(ProgressBar::new(0));
            b.set_style(counting.clone());
            b.set_prefix(["left", "right"][i]);
            b.set_message(shorten_middle(&names[i], width));
            b
        })
        .collect();
    let mut with_bar = [false; 2];
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
        for (i, b) in bars.iter().enumerate() {
            let (read, total) = (
                p.read[i].load(Ordering::Relaxed),
                p.total[i].load(Ordering::Relaxed),
            );
            if total > 0 && !with_bar[i] {
                b.set_style(bar.clone());
                with_bar[i] = true;
            }
            b.set_length(total.max(read));
            b.set_position(read);
        }
    }
    for b in &bars {
        b.finish_and_clear();
    }
    let _ = multi.clear();
}

/// The terminal's width in columns (standard error's), 80 when it cannot be told.
fn terminal_columns() -> usize {
    // SAFETY: TIOCGWINSZ fills the winsize struct it is given, or fails.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    if ok && ws.ws_col > 0 {
        usize::from(ws.ws_col)
    } else {
        80
    }
}

/// `name` in at most `width` characters, cut in the middle (`build/…/left.tar.zst`), so
/// that both the start of a path and the file name stay readable.
pub fn shorten_middle(name: &str, width: usize) -> String {
    let chars: Vec<char> = name.chars().collect();
    if chars.len() <= width || width < 3 {
        return name.to_string();
    }
    let keep = width - 1;
    let head = keep / 2;
    let tail = keep - head;
    let mut out: String = chars[..head].iter().collect();
    out.push('…');
    out.extend(&chars[chars.len() - tail..]);
    out
}

#[cfg(test)]
mod tests {
    use super::shorten_middle;

    #[test]
    fn names_are_cut_in_the_middle() {
        assert_eq!(shorten_middle("a.tar", 16), "a.tar");
        let long = "/srv/rebuilds/2026-12-06/archlinux/repro.tar.zst";
        let short = shorten_middle(long, 24);
        assert_eq!(short, "/srv/rebuil…epro.tar.zst");
        assert_eq!(short.chars().count(), 24);
        assert!(short.ends_with(".tar.zst") && short.starts_with("/srv/"));
    }
}
