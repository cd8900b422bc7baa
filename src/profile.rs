//! `NETLAB_PROFILE=1`: where a command's time goes, phase by phase, on stderr. Each line is
//! one phase with its wall time in ms (and a count where it helps) and the peak RSS so far; the last line of a
//! command is its total and the process's peak RSS so far, so a benchmark can tell which
//! phase grows with the lab.

use std::sync::OnceLock;
use std::time::Instant;

/// Whether profiling is on (read once).
pub fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("NETLAB_PROFILE").is_some_and(|v| !v.is_empty() && v != "0"))
}

/// Times the phases of one command: `phase` prints the time since the previous one.
pub struct Phases {
    what: &'static str,
    start: Instant,
    last: Instant,
}

impl Phases {
    pub fn new(what: &'static str) -> Phases {
        let now = Instant::now();
        Phases { what, start: now, last: now }
    }

    /// Ends the current phase, naming it.
    pub fn phase(&mut self, name: &str) {
        let now = Instant::now();
        if enabled() {
            line(self.what, name, now - self.last);
        }
        self.last = now;
    }

    /// The command's total, and its peak memory.
    pub fn total(&self) {
        if enabled() {
            let rss =
                peak_rss_kb().map(|k| format!(", peak RSS {:.1} MB", k as f64 / 1024.0)).unwrap_or_default();
            eprintln!(
                "netlab: profile: {} total {:>9.1} ms{rss}",
                self.what,
                self.start.elapsed().as_secs_f64() * 1000.0
            );
        }
    }
}

/// One profile line: `netlab: profile: WHAT PHASE   MS ms   (peak RSS so far)`, the peak
/// telling which phase makes the memory a lab needs.
pub fn line(what: &str, phase: &str, d: std::time::Duration) {
    let peak = peak_rss_kb().map(|k| format!("  (peak {:.1} MB)", k as f64 / 1024.0)).unwrap_or_default();
    eprintln!("netlab: profile: {what} {phase:<44} {:>9.1} ms{peak}", d.as_secs_f64() * 1000.0);
}

/// The process's peak resident set (`VmHWM`), in KB.
pub fn peak_rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
