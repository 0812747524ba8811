//! A progress bar for long loops, written to stderr:
//!
//! ```text
//! train [=============>                ] 4400/10000 loss 0.1234 123.4 ex/s ETA 45s
//! ```
//!
//! * Nothing is shown until the loop has run for [`SHOW_AFTER`] (2 s), so
//!   short loops stay silent.
//! * When stderr is a terminal the bar is redrawn in place with `\r`, at most
//!   every [`TTY_INTERVAL`] (~10 times a second).
//! * Otherwise (logs, CI) a plain line is printed at most every
//!   [`LOG_INTERVAL`] (5 s).
//! * [`Progress::finish`] prints the final line with the elapsed time (if
//!   anything was shown or the loop took at least 2 s).
//! * `quiet` suppresses all output, including [`Progress::println`].

use std::cell::Cell;
use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

/// Nothing is drawn before the loop has run this long.
pub const SHOW_AFTER: Duration = Duration::from_secs(2);
/// Minimum time between redraws on a terminal.
pub const TTY_INTERVAL: Duration = Duration::from_millis(100);
/// Minimum time between lines when stderr is not a terminal.
pub const LOG_INTERVAL: Duration = Duration::from_secs(5);
/// Width of the bar between the brackets, in characters.
pub const BAR_WIDTH: usize = 30;

/// A progress bar on stderr for a loop of `total` steps (examples).
#[derive(Debug)]
pub struct Progress {
    total: usize,
    label: String,
    quiet: bool,
    tty: bool,
    start: Instant,
    /// When the bar was last drawn; `None` until first shown.
    last_draw: Option<Instant>,
    done: usize,
    loss: Option<f64>,
    /// Characters of the bar currently on the terminal line (0 when none).
    on_line: Cell<usize>,
    finished: bool,
}

impl Progress {
    /// A bar for `total` steps labelled `label`; the clock starts now.
    /// With `quiet`, nothing is ever written.
    pub fn new(total: usize, label: &str, quiet: bool) -> Progress {
        Progress {
            total,
            label: label.to_string(),
            quiet,
            tty: std::io::stderr().is_terminal(),
            start: Instant::now(),
            last_draw: None,
            done: 0,
            loss: None,
            on_line: Cell::new(0),
            finished: false,
        }
    }

    /// Records that `done` of `total` steps are complete, with the latest
    /// loss if any, and redraws when due.
    pub fn update(&mut self, done: usize, loss: Option<f64>) {
        self.done = done;
        if loss.is_some() {
            self.loss = loss;
        }
        if self.quiet || self.finished {
            return;
        }
        let now = Instant::now();
        let interval = if self.tty { TTY_INTERVAL } else { LOG_INTERVAL };
        if due(now - self.start, self.last_draw.map(|t| now - t), interval) {
            self.last_draw = Some(now);
            self.draw(now - self.start, false);
        }
    }

    /// Prints the final line, with the elapsed time, and ends the bar. Prints
    /// nothing when quiet, or when nothing was shown and the loop took less
    /// than [`SHOW_AFTER`]. Later calls do nothing.
    pub fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        let elapsed = self.start.elapsed();
        if self.quiet || (self.last_draw.is_none() && elapsed < SHOW_AFTER) {
            return;
        }
        self.draw(elapsed, true);
    }

    /// Prints `line` (e.g. a per-epoch validation line) on its own line
    /// without breaking the bar: on a terminal the bar is cleared, the line
    /// printed, and the bar redrawn under it. Always printed (not subject to
    /// the 2 s delay) unless quiet.
    pub fn println(&self, line: &str) {
        if self.quiet {
            return;
        }
        let mut err = std::io::stderr().lock();
        let width = self.on_line.get();
        if self.tty && width > 0 {
            let _ = write!(err, "\r{:width$}\r", "");
            let _ = writeln!(err, "{line}");
            let bar = render_line(
                &self.label,
                self.done,
                self.total,
                self.loss,
                self.start.elapsed(),
                false,
            );
            let _ = write!(err, "{bar}");
            self.on_line.set(bar.chars().count());
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
    }

    fn draw(&self, elapsed: Duration, last: bool) {
        let line = render_line(&self.label, self.done, self.total, self.loss, elapsed, last);
        let mut err = std::io::stderr().lock();
        if self.tty {
            // Pad over a longer previous line.
            let width = self.on_line.get().max(line.chars().count());
            let _ = write!(err, "\r{line:<width$}");
            if last {
                let _ = writeln!(err);
                self.on_line.set(0);
            } else {
                self.on_line.set(line.chars().count());
            }
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
    }
}

impl Drop for Progress {
    /// Ends a bar left on the terminal line, so the next output starts on a
    /// fresh line.
    fn drop(&mut self) {
        if !self.quiet && self.tty && self.on_line.get() > 0 {
            let _ = writeln!(std::io::stderr());
        }
    }
}

/// Whether to draw now: not before [`SHOW_AFTER`], then at most once per
/// `interval` since the last draw (`since_last` is `None` before the first).
pub fn due(elapsed: Duration, since_last: Option<Duration>, interval: Duration) -> bool {
    elapsed >= SHOW_AFTER && since_last.is_none_or(|d| d >= interval)
}

/// A duration as `42s`, `1m02s` or `1h02m03s` (rounded to whole seconds).
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs_f64().round() as u64;
    let (h, m, s) = (s / 3600, (s / 60) % 60, s % 60);
    if h > 0 {
        format!("{h}h{m:02}m{s:02}s")
    } else if m > 0 {
        format!("{m}m{s:02}s")
    } else {
        format!("{s}s")
    }
}

/// Estimated time left at the average rate so far; `None` when nothing is
/// done yet (or no time has passed).
pub fn eta(done: usize, total: usize, elapsed: Duration) -> Option<Duration> {
    let secs = elapsed.as_secs_f64();
    if done == 0 || secs <= 0.0 {
        return None;
    }
    let left = total.saturating_sub(done) as f64;
    Some(Duration::from_secs_f64(left * secs / done as f64))
}

/// The bar between brackets, `width` characters inside:
/// `[=====>    ]`, `[==========]` when complete. `done` is clamped to
/// `total`; a `total` of 0 counts as complete.
pub fn render_bar(done: usize, total: usize, width: usize) -> String {
    let filled = (done.min(total) * width)
        .checked_div(total)
        .unwrap_or(width);
    let mut s = String::with_capacity(width + 2);
    s.push('[');
    if filled >= width {
        s.push_str(&"=".repeat(width));
    } else {
        s.push_str(&"=".repeat(filled));
        s.push('>');
        s.push_str(&" ".repeat(width - filled - 1));
    }
    s.push(']');
    s
}

/// One status line:
/// `label [=====>    ] done/total loss 0.1234 123.4 ex/s ETA 1m02s`,
/// or with `finished`, `... 123.4 ex/s in 1m02s`. The loss part is left out
/// when `loss` is `None`; the rate when no time has passed; the ETA shows `?`
/// until something is done.
pub fn render_line(
    label: &str,
    done: usize,
    total: usize,
    loss: Option<f64>,
    elapsed: Duration,
    finished: bool,
) -> String {
    let mut s = String::new();
    if !label.is_empty() {
        s.push_str(label);
        s.push(' ');
    }
    s.push_str(&render_bar(done, total, BAR_WIDTH));
    s.push_str(&format!(" {done}/{total}"));
    if let Some(l) = loss {
        s.push_str(&format!(" loss {l:.4}"));
    }
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        s.push_str(&format!(" {:.1} ex/s", done as f64 / secs));
    }
    if finished {
        s.push_str(&format!(" in {}", format_duration(elapsed)));
    } else {
        match eta(done, total, elapsed) {
            Some(t) => s.push_str(&format!(" ETA {}", format_duration(t))),
            None => s.push_str(" ETA ?"),
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        let f = |s: f64| format_duration(Duration::from_secs_f64(s));
        assert_eq!(f(0.0), "0s");
        assert_eq!(f(0.4), "0s");
        assert_eq!(f(42.0), "42s");
        assert_eq!(f(59.6), "1m00s");
        assert_eq!(f(62.0), "1m02s");
        assert_eq!(f(3599.0), "59m59s");
        assert_eq!(f(3600.0), "1h00m00s");
        assert_eq!(f(3723.0), "1h02m03s");
        assert_eq!(f(100.0 * 3600.0), "100h00m00s");
    }

    #[test]
    fn eta_at_average_rate() {
        // 25 of 100 in 10 s → 75 left at 2.5/s → 30 s.
        assert_eq!(
            eta(25, 100, Duration::from_secs(10)),
            Some(Duration::from_secs(30))
        );
        assert_eq!(eta(100, 100, Duration::from_secs(10)), Some(Duration::ZERO));
        assert_eq!(eta(120, 100, Duration::from_secs(10)), Some(Duration::ZERO));
        assert_eq!(eta(0, 100, Duration::from_secs(10)), None);
        assert_eq!(eta(5, 100, Duration::ZERO), None);
    }

    #[test]
    fn bars() {
        assert_eq!(render_bar(0, 10, 10), "[>         ]");
        assert_eq!(render_bar(5, 10, 10), "[=====>    ]");
        assert_eq!(render_bar(9, 10, 10), "[=========>]");
        assert_eq!(render_bar(10, 10, 10), "[==========]");
        assert_eq!(render_bar(15, 10, 10), "[==========]");
        assert_eq!(render_bar(0, 0, 4), "[====]");
        // Rounds down: 1/3 of 10 → 3.
        assert_eq!(render_bar(1, 3, 10), "[===>      ]");
        for d in 0..=7 {
            assert_eq!(render_bar(d, 7, 30).chars().count(), 32);
        }
    }

    #[test]
    fn lines() {
        let l = render_line(
            "train",
            250,
            1000,
            Some(0.123456),
            Duration::from_secs(2),
            false,
        );
        assert_eq!(
            l,
            format!(
                "train {} 250/1000 loss 0.1235 125.0 ex/s ETA 6s",
                render_bar(250, 1000, BAR_WIDTH)
            )
        );
        let l = render_line("eval", 1000, 1000, None, Duration::from_secs(62), true);
        assert_eq!(
            l,
            format!(
                "eval {} 1000/1000 16.1 ex/s in 1m02s",
                "[".to_string() + &"=".repeat(30) + "]"
            )
        );
        let l = render_line("", 0, 10, None, Duration::ZERO, false);
        assert_eq!(l, format!("{} 0/10 ETA ?", render_bar(0, 10, BAR_WIDTH)));
    }

    #[test]
    fn draw_schedule() {
        let s = Duration::from_secs_f64;
        // Not before 2 s.
        assert!(!due(s(1.9), None, TTY_INTERVAL));
        assert!(due(s(2.0), None, TTY_INTERVAL));
        // Terminal: ~10×/s.
        assert!(!due(s(3.0), Some(s(0.05)), TTY_INTERVAL));
        assert!(due(s(3.0), Some(s(0.1)), TTY_INTERVAL));
        // Logs: every 5 s.
        assert!(!due(s(10.0), Some(s(4.9)), LOG_INTERVAL));
        assert!(due(s(10.0), Some(s(5.0)), LOG_INTERVAL));
    }

    #[test]
    fn quiet_and_short_loops_are_silent() {
        // Exercises the paths; nothing is due within 2 s, so nothing is drawn.
        let mut p = Progress::new(10, "t", false);
        for i in 0..=10 {
            p.update(i, Some(1.0 / (i + 1) as f64));
        }
        assert!(p.last_draw.is_none());
        p.finish();
        p.finish();
        let mut q = Progress::new(10, "q", true);
        q.update(10, None);
        q.println("hidden");
        q.finish();
        assert!(q.last_draw.is_none());
    }
}
