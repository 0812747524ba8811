//! Progress on stderr for long loops.
//!
//! [`Progress`] is the trainer's bar for a loop of known length:
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
//!
//! [`StreamProgress`] is the line counter of `minilm embed` and `predict`,
//! which read JSON Lines of unknown count. It is drawn only on a terminal
//! (see [`progress_enabled`]), with the same 2 s delay and redraw rate:
//!
//! ```text
//! embed [=========>                    ] 33% 660 lines 42.1 lines/s ETA 32s
//! embed 660 lines 42.1 lines/s
//! ```
//!
//! The first form is for a file (its size is known: the share of its bytes
//! read gives the bar and the ETA), the second for standard input.

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

/// Whether a command that prints progress only on a terminal (`embed`,
/// `predict`, `eval`) should show it: when stderr is a terminal and
/// `--quiet` was not given. Logs, pipes and CI stay silent.
pub fn progress_enabled(quiet: bool, stderr_is_tty: bool) -> bool {
    !quiet && stderr_is_tty
}

/// A line counter on stderr for a stream of JSON Lines: lines done,
/// lines/s and, when the input's size is known, a bar and an ETA from the
/// bytes done. Drawn only when enabled (see [`progress_enabled`]), never
/// before [`SHOW_AFTER`], redrawn in place at most every [`TTY_INTERVAL`].
#[derive(Debug)]
pub struct StreamProgress {
    label: String,
    total_bytes: Option<u64>,
    enabled: bool,
    start: Instant,
    /// When the line was last drawn; `None` until first shown.
    last_draw: Option<Instant>,
    lines: usize,
    bytes: u64,
    /// Characters of the line currently on the terminal (0 when none).
    on_line: usize,
    finished: bool,
}

impl StreamProgress {
    /// A counter labelled `label` for an input of `total_bytes` (`None`:
    /// unknown, e.g. standard input); the clock starts now. When not
    /// `enabled`, nothing is ever written.
    pub fn new(label: &str, total_bytes: Option<u64>, enabled: bool) -> StreamProgress {
        StreamProgress {
            label: label.to_string(),
            total_bytes,
            enabled,
            start: Instant::now(),
            last_draw: None,
            lines: 0,
            bytes: 0,
            on_line: 0,
            finished: false,
        }
    }

    /// Lines done so far (as last given to [`StreamProgress::update`]).
    pub fn lines(&self) -> usize {
        self.lines
    }

    /// Bytes of the input done so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// Records that `lines` lines, `bytes` bytes of the input, are done, and
    /// redraws when due.
    pub fn update(&mut self, lines: usize, bytes: u64) {
        self.lines = lines;
        self.bytes = bytes;
        if !self.enabled || self.finished {
            return;
        }
        let now = Instant::now();
        if due(
            now - self.start,
            self.last_draw.map(|t| now - t),
            TTY_INTERVAL,
        ) {
            self.last_draw = Some(now);
            self.draw(now - self.start, false);
        }
    }

    /// Draws the final line, with the elapsed time, and ends it with a
    /// newline; only if something was shown or the stream took at least
    /// [`SHOW_AFTER`]. Later calls do nothing.
    pub fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        let elapsed = self.start.elapsed();
        if self.enabled && (self.last_draw.is_some() || elapsed >= SHOW_AFTER) {
            self.draw(elapsed, true);
        }
    }

    /// Redraws the line in place (padding over a longer previous one); the
    /// final line ends with a newline.
    fn draw(&mut self, elapsed: Duration, last: bool) {
        let line = render_stream_line(
            &self.label,
            self.lines,
            elapsed,
            self.bytes,
            self.total_bytes,
            last,
        );
        let width = self.on_line.max(line.chars().count());
        let mut err = std::io::stderr().lock();
        let _ = write!(err, "\r{line:<width$}");
        if last {
            let _ = writeln!(err);
            self.on_line = 0;
        } else {
            self.on_line = line.chars().count();
        }
        let _ = err.flush();
    }
}

impl Drop for StreamProgress {
    /// Ends a line left on the terminal (e.g. when the command stops on an
    /// error), so the error message starts on a fresh line.
    fn drop(&mut self) {
        if self.on_line > 0 {
            let _ = writeln!(std::io::stderr());
        }
    }
}

/// Estimated time left when `done` of `total` bytes took `elapsed`, at the
/// average rate so far; `None` before anything is done (or no time has
/// passed).
pub fn eta_bytes(done: u64, total: u64, elapsed: Duration) -> Option<Duration> {
    let secs = elapsed.as_secs_f64();
    if done == 0 || secs <= 0.0 {
        return None;
    }
    let left = total.saturating_sub(done) as f64;
    Some(Duration::from_secs_f64(left * secs / done as f64))
}

/// One status line of a [`StreamProgress`]. With a known `total_bytes`:
/// `label [=====>    ] 33% 660 lines 42.1 lines/s ETA 32s` (the share and
/// the ETA from `bytes_done`); without: `label 660 lines 42.1 lines/s`.
/// With `finished`, the ETA gives way to `in 1m02s`. The rate is left out
/// when no time has passed; the ETA shows `?` until a byte is done.
pub fn render_stream_line(
    label: &str,
    lines: usize,
    elapsed: Duration,
    bytes_done: u64,
    total_bytes: Option<u64>,
    finished: bool,
) -> String {
    let mut parts: Vec<String> = Vec::new();
    if !label.is_empty() {
        parts.push(label.to_string());
    }
    if let Some(total) = total_bytes {
        let share = if total == 0 {
            1.0
        } else {
            (bytes_done as f64 / total as f64).min(1.0)
        };
        parts.push(render_bar((share * 1000.0) as usize, 1000, BAR_WIDTH));
        parts.push(format!("{}%", (share * 100.0) as u32));
    }
    parts.push(format!("{lines} lines"));
    let secs = elapsed.as_secs_f64();
    if secs > 0.0 {
        parts.push(format!("{:.1} lines/s", lines as f64 / secs));
    }
    if finished {
        parts.push(format!("in {}", format_duration(elapsed)));
    } else if let Some(total) = total_bytes {
        parts.push(match eta_bytes(bytes_done, total, elapsed) {
            Some(t) => format!("ETA {}", format_duration(t)),
            None => "ETA ?".to_string(),
        });
    }
    parts.join(" ")
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

    #[test]
    fn enabled_only_on_a_terminal_without_quiet() {
        assert!(progress_enabled(false, true));
        assert!(!progress_enabled(true, true));
        assert!(!progress_enabled(false, false));
        assert!(!progress_enabled(true, false));
    }

    #[test]
    fn eta_from_bytes() {
        // 250 of 1000 bytes in 10 s → 750 left at 25 B/s → 30 s.
        let s = Duration::from_secs;
        assert_eq!(eta_bytes(250, 1000, s(10)), Some(s(30)));
        assert_eq!(eta_bytes(1000, 1000, s(10)), Some(Duration::ZERO));
        assert_eq!(eta_bytes(1200, 1000, s(10)), Some(Duration::ZERO));
        assert_eq!(eta_bytes(0, 1000, s(10)), None);
        assert_eq!(eta_bytes(10, 1000, Duration::ZERO), None);
    }

    #[test]
    fn stream_lines() {
        let s = Duration::from_secs;
        // A file: a third of its bytes, 660 lines in 20 s → 33 lines/s,
        // 2/3 left at the same byte rate → 40 s.
        let l = render_stream_line("embed", 660, s(20), 1000, Some(3000), false);
        assert_eq!(
            l,
            format!(
                "embed {} 33% 660 lines 33.0 lines/s ETA 40s",
                render_bar(333, 1000, BAR_WIDTH)
            )
        );
        // Standard input: no bar, no share, no ETA.
        let l = render_stream_line("predict", 660, s(20), 1000, None, false);
        assert_eq!(l, "predict 660 lines 33.0 lines/s");
        // Finished.
        let l = render_stream_line("embed", 2000, s(62), 3000, Some(3000), true);
        assert_eq!(
            l,
            format!(
                "embed [{}] 100% 2000 lines 32.3 lines/s in 1m02s",
                "=".repeat(BAR_WIDTH)
            )
        );
        let l = render_stream_line("", 7, s(2), 70, None, true);
        assert_eq!(l, "7 lines 3.5 lines/s in 2s");
        // Nothing done, no time: no rate, ETA unknown; an empty file is done.
        let l = render_stream_line("embed", 0, Duration::ZERO, 0, Some(10), false);
        assert_eq!(
            l,
            format!("embed {} 0% 0 lines ETA ?", render_bar(0, 10, BAR_WIDTH))
        );
        let l = render_stream_line("embed", 0, s(1), 0, Some(0), false);
        assert!(
            l.starts_with(&format!("embed [{}] 100% 0 lines", "=".repeat(BAR_WIDTH))),
            "{l}"
        );
        // More bytes than the size said (a growing file) stays at 100%.
        let l = render_stream_line("embed", 9, s(1), 20, Some(10), false);
        assert!(l.contains("] 100% 9 lines 9.0 lines/s ETA 0s"), "{l}");
    }

    #[test]
    fn disabled_stream_progress_draws_nothing() {
        let mut p = StreamProgress::new("embed", Some(100), false);
        p.start -= Duration::from_secs(10);
        p.update(5, 50);
        p.finish();
        assert!(p.last_draw.is_none());
        assert_eq!(p.on_line, 0);
    }
}
