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
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(10));
        let style = ProgressStyle::with_template(
            "{prefix:>5} {wide_msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        let bars: Vec<ProgressBar> = (0..2)
            .map(|i| {
                let b = multi.add(ProgressBar::new(0));
                b.set_style(style.clone());
                b.set_prefix(["left", "right"][i]);
                b.set_message(names[i].clone());
                b
            })
            .collect();
        while !stop2.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100));
            for (i, b) in bars.iter().enumerate() {
                b.set_length(
                    p.total[i]
                        .load(Ordering::Relaxed)
                        .max(p.read[i].load(Ordering::Relaxed)),
                );
                b.set_position(p.read[i].load(Ordering::Relaxed));
            }
        }
        for b in &bars {
            b.finish_and_clear();
        }
        let _ = multi.clear();
    });
    Some(Bars {
        stop,
        thread: Some(thread),
    })
}
