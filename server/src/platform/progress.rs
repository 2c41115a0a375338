//! Progress of the long operator commands (`registry import`, `registry generate`), always on
//! stderr: stdout carries the command's result, which scripts parse. On a terminal it is an
//! `indicatif` bar (rows, rate, ETA); otherwise (systemd, CI, a pipe) a log line every interval,
//! in the JSON of every other log, so an unattended run of an hour shows it is alive.

use std::{
    io::{IsTerminal, Read},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
        mpsc,
    },
    thread::JoinHandle,
    time::Duration,
};

use indicatif::{HumanCount, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// What the bar's position and total count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Bytes of input read (an import: the file size is known before its rows are).
    Bytes,
    /// Rows (a generation of a known count).
    Rows,
}

/// The progress of one command; clones report to the same display.
#[derive(Debug, Clone)]
pub struct Progress {
    bar: ProgressBar,
    rows: Arc<AtomicU64>,
    unit: Unit,
    /// The thread writing log lines, when stderr is not a terminal; stopped with the last clone.
    _lines: Option<Arc<Lines>>,
}

impl Progress {
    /// Shows nothing (library callers and tests).
    pub fn hidden() -> Self {
        Self {
            bar: ProgressBar::hidden(),
            rows: Arc::new(AtomicU64::new(0)),
            unit: Unit::Rows,
            _lines: None,
        }
    }

    /// Starts showing the progress of `task` towards `total` (in `unit`): a bar when stderr is
    /// a terminal, else a log line every `interval`.
    pub fn start(task: &'static str, unit: Unit, total: u64, interval: Duration) -> Self {
        let rows = Arc::new(AtomicU64::new(0));
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
            bar.set_style(style(unit, &rows));
            bar.set_message(task);
            // The merge at the end of an import moves no position: keep the spinner and the
            // elapsed time going.
            bar.enable_steady_tick(Duration::from_millis(200));
            return Self {
                bar,
                rows,
                unit,
                _lines: None,
            };
        }
        // indicatif still keeps the position, rate and ETA; the lines read them from the bar.
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden());
        bar.set_message(task);
        let lines = Lines::start(bar.clone(), rows.clone(), unit, interval);
        Self {
            bar,
            rows,
            unit,
            _lines: Some(Arc::new(lines)),
        }
    }

    /// `reader`, counting the bytes read from it (for [`Unit::Bytes`]).
    pub fn read<R: Read>(&self, reader: R) -> indicatif::ProgressBarIter<R> {
        self.bar.wrap_read(reader)
    }

    /// Counts `n` more rows.
    pub fn rows(&self, n: u64) {
        self.rows.fetch_add(n, Ordering::Relaxed);
        if self.unit == Unit::Rows {
            self.bar.inc(n);
        }
    }

    /// Names what the command is doing now (e.g. the merge that follows an import's reading).
    pub fn phase(&self, what: &'static str) {
        self.bar.set_message(what);
        if self._lines.is_some() {
            line(&self.bar, &self.rows, self.unit, "running");
        }
    }

    /// Writes a line on stderr without tearing the bar.
    pub fn note(&self, text: &str) {
        self.bar.suspend(|| eprintln!("{text}"));
    }

    /// Ends the display: the bar is cleared (the command's result follows on stdout); without a
    /// terminal, a last line gives the totals and `state` (`done`, `interrupted`, `failed`).
    pub fn finish(&self, state: &'static str) {
        self.bar.finish_and_clear();
        if self._lines.is_some() {
            line(&self.bar, &self.rows, self.unit, state);
        }
    }
}

/// The bar's template: the rows counted beside a byte bar, or the rows as the bar.
fn style(unit: Unit, rows: &Arc<AtomicU64>) -> ProgressStyle {
    let template = match unit {
        Unit::Bytes => {
            "{spinner} {msg} {rows} rows ({rows_per_sec}) [{bar:30}] {binary_bytes}/{binary_total_bytes} {elapsed} ETA {eta}"
        }
        Unit::Rows => {
            "{spinner} {msg} [{bar:30}] {human_pos}/{human_len} rows ({rows_per_sec}) {elapsed} ETA {eta}"
        }
    };
    let counted = rows.clone();
    let rate = rows.clone();
    ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key(
            "rows",
            move |_: &ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = write!(out, "{}", HumanCount(counted.load(Ordering::Relaxed)));
            },
        )
        .with_key(
            "rows_per_sec",
            move |state: &ProgressState, out: &mut dyn std::fmt::Write| {
                let _ = write!(
                    out,
                    "{}/s",
                    HumanCount(per_second(rate.load(Ordering::Relaxed), state.elapsed()))
                );
            },
        )
        .progress_chars("=> ")
}

fn per_second(count: u64, elapsed: Duration) -> u64 {
    let seconds = elapsed.as_secs_f64();
    if seconds > 0.0 {
        (count as f64 / seconds) as u64
    } else {
        0
    }
}

/// One progress line: rows, rate, and the share of the total with the time left.
fn line(bar: &ProgressBar, rows: &AtomicU64, unit: Unit, state: &str) {
    let rows = rows.load(Ordering::Relaxed);
    let elapsed = bar.elapsed();
    let (position, total) = (bar.position(), bar.length().unwrap_or(0));
    let percent = (position.min(total) * 100).checked_div(total).unwrap_or(0);
    // The average rate so far: steadier over minutes than a recent window, and a bulk import's
    // rate hardly changes.
    let eta = (position < total && position > 0).then(|| {
        let seconds = elapsed.as_secs_f64() * (total - position) as f64 / position as f64;
        seconds.round() as u64
    });
    tracing::info!(
        doing = %bar.message(),
        state,
        rows,
        rows_per_second = per_second(rows, elapsed),
        bytes_read = (unit == Unit::Bytes).then_some(position),
        bytes_total = (unit == Unit::Bytes).then_some(total),
        percent,
        eta_seconds = eta,
        elapsed_seconds = elapsed.as_secs(),
        "progress"
    );
}

/// The thread of the log lines; dropping it stops the thread.
#[derive(Debug)]
struct Lines {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Lines {
    fn start(bar: ProgressBar, rows: Arc<AtomicU64>, unit: Unit, interval: Duration) -> Self {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::spawn(move || {
            // A message or a hang-up both end it; only the timeout writes a line.
            while let Err(mpsc::RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                line(&bar, &rows, unit, "running");
            }
        });
        Self {
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_of_nothing_yet_is_zero() {
        assert_eq!(per_second(1_000, Duration::ZERO), 0);
        assert_eq!(per_second(1_000, Duration::from_millis(500)), 2_000);
    }

    #[test]
    fn hidden_progress_still_counts() {
        let progress = Progress::hidden();
        progress.rows(3);
        let mut read = Vec::new();
        progress.read(&b"abcd"[..]).read_to_end(&mut read).unwrap();
        assert_eq!(progress.rows.load(Ordering::Relaxed), 3);
        assert_eq!(read, b"abcd");
        progress.finish("done");
    }
}
