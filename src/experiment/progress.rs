//! Progress reporting: an indicatif bar on a terminal, plain periodic lines
//! otherwise (CI, batch jobs), nothing with `--quiet`.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressMode {
    /// A bar (stderr is a terminal).
    Bar,
    /// Plain lines on stderr, at most every few seconds.
    Lines,
    /// Nothing.
    Quiet,
}

impl ProgressMode {
    /// Bar on a terminal, lines otherwise, or quiet.
    pub fn detect(quiet: bool) -> Self {
        if quiet {
            ProgressMode::Quiet
        } else if std::io::stderr().is_terminal() {
            ProgressMode::Bar
        } else {
            ProgressMode::Lines
        }
    }
}

/// A progress counter shared by worker threads: an overall bar, plus one bar
/// per agent while it runs (see [`Progress::agent`]).
#[derive(Debug)]
pub struct Progress {
    mode: ProgressMode,
    multi: Option<indicatif::MultiProgress>,
    bar: Option<indicatif::ProgressBar>,
    label: String,
    total: u64,
    done: AtomicU64,
    last_line: Mutex<Instant>,
    start: Instant,
}

impl Progress {
    /// A counter of `total` units of work.
    pub fn new(mode: ProgressMode, label: &str, total: u64) -> Progress {
        let multi = (mode == ProgressMode::Bar).then(indicatif::MultiProgress::new);
        let bar = multi.as_ref().map(|m| m.add(styled_bar(total, label)));
        Progress {
            mode,
            multi,
            bar,
            label: label.to_string(),
            total,
            done: AtomicU64::new(0),
            last_line: Mutex::new(Instant::now()),
            start: Instant::now(),
        }
    }

    /// Add `n` finished units.
    pub fn inc(&self, n: u64) {
        let done = self.done.fetch_add(n, Ordering::Relaxed) + n;
        match self.mode {
            ProgressMode::Bar => {
                if let Some(b) = &self.bar {
                    b.inc(n);
                }
            }
            ProgressMode::Lines => {
                if let Ok(mut last) = self.last_line.lock() {
                    if last.elapsed().as_secs_f64() >= 2.0 || done == self.total {
                        *last = Instant::now();
                        eprintln!(
                            "{}: {done}/{} ({:.0}%) after {:.1}s",
                            self.label,
                            self.total,
                            100.0 * done as f64 / self.total.max(1) as f64,
                            self.start.elapsed().as_secs_f64()
                        );
                    }
                }
            }
            ProgressMode::Quiet => {}
        }
    }

    /// A bar for one agent's `total` units (its seeds), shown under the overall
    /// bar while it runs; in line mode, the agent's name is printed when it starts.
    pub fn agent(&self, name: &str, total: u64) -> AgentProgress {
        match (&self.multi, self.mode) {
            (Some(m), _) => AgentProgress { bar: Some(m.add(styled_bar(total, name))) },
            (None, ProgressMode::Lines) if total > 1 => {
                eprintln!("{}: running `{name}` ({total} seeds)", self.label);
                AgentProgress { bar: None }
            }
            _ => AgentProgress { bar: None },
        }
    }

    /// Finish the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

fn styled_bar(total: u64, label: &str) -> indicatif::ProgressBar {
    let b = indicatif::ProgressBar::new(total);
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{msg:>24} [{bar:40.cyan/blue}] {pos}/{len} {elapsed_precise} eta {eta}",
    ) {
        b.set_style(style.progress_chars("=> "));
    }
    b.set_message(label.to_string());
    b
}

/// One agent's bar (a no-op outside a terminal).
#[derive(Debug)]
pub struct AgentProgress {
    bar: Option<indicatif::ProgressBar>,
}

impl AgentProgress {
    /// One more unit done.
    pub fn inc(&self) {
        if let Some(b) = &self.bar {
            b.inc(1);
        }
    }
}

impl Drop for AgentProgress {
    fn drop(&mut self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
