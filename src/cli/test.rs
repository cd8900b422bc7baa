//! `netlab test TOPO.toml [--junit FILE] [--scenario NAME] [--pcap DIR [--pcap-all]] [--up]
//! [--down]`: bring the lab up if it is down (a lab that is up is left as it is, unless `--up`),
//! run its checks (captured into DIR with `--pcap`), then its scenarios, print a table, write a
//! JUnit report, exit 1 when a check or a scenario did not go as expected.

use super::junit::Run;
use crate::backend::System;
use crate::engine::down::down;
use crate::engine::scenario::{self, ScenarioResult};
use crate::engine::test::{prepare, run_checks, run_checks_captured, CheckResult, PcapDir, Prepared};
use crate::error::{Error, Result};
use crate::model::scenario::Scenario;
use crate::Lab;
use std::path::Path;
use std::time::Instant;

/// What `netlab test` was asked to do around the checks.
#[derive(Debug, Clone)]
pub struct Flags {
    /// `--up`: reconcile a lab that is up before the checks.
    pub reconcile: bool,
    /// `--down`: tear the lab down afterwards.
    pub tear_down: bool,
    /// `--pcap DIR`: capture each check, keep the captures of those that failed.
    pub pcap: Option<std::path::PathBuf>,
    /// `--pcap-all`: keep every check's capture.
    pub pcap_all: bool,
}

/// Which of the file's tests to run.
#[derive(Debug, Clone, Copy)]
enum Pick<'a> {
    /// The checks, then every scenario.
    All,
    /// `--scenario NAME`: that scenario alone (the plain checks are skipped).
    Scenario(&'a Scenario),
}

pub async fn run<S: System>(
    sys: &S,
    file: &Path,
    junit: Option<&Path>,
    scenario: Option<&str>,
    flags: Flags,
) -> Result<i32> {
    let lab = Lab::load(file)?;
    let pick = match scenario {
        None => Pick::All,
        Some(name) => Pick::Scenario(lab.scenarios.iter().find(|s| s.name == name).ok_or_else(|| {
            let known: Vec<&str> = lab.scenarios.iter().map(|s| s.name.as_str()).collect();
            Error::Usage(if known.is_empty() {
                format!("{} has no [[scenario]]s", file.display())
            } else {
                format!("{} has no scenario {name:?}; it has {}", file.display(), known.join(", "))
            })
        })?),
    };
    let pcap = match &flags.pcap {
        Some(dir) => Some(pcap_dir(dir, flags.pcap_all)?),
        None => None,
    };
    let outcome = up_and_check(sys, &lab, file, junit, pick, flags.reconcile, pcap.as_ref()).await;
    if flags.tear_down {
        // Also when the checks failed: CI must not leave the lab behind.
        let d = down(sys, &lab.name).await;
        if let (Ok(_), Err(e)) = (&outcome, d) {
            return Err(e);
        }
    }
    outcome
}

/// The directory of `--pcap`, made if missing, as an absolute path.
fn pcap_dir(dir: &Path, keep_all: bool) -> Result<PcapDir> {
    let write = |e| Error::Write { path: dir.display().to_string(), source: e };
    std::fs::create_dir_all(dir).map_err(write)?;
    Ok(PcapDir { dir: std::fs::canonicalize(dir).map_err(write)?, keep_all })
}

async fn up_and_check<S: System>(
    sys: &S,
    lab: &Lab,
    file: &Path,
    junit: Option<&Path>,
    pick: Pick<'_>,
    reconcile: bool,
    pcap: Option<&PcapDir>,
) -> Result<i32> {
    let started = Instant::now();
    let shown = file.display().to_string();
    let prepared = match prepare(sys, lab, reconcile).await {
        Ok(p) => p,
        Err(e) => {
            // CI still gets its report: the failed up as an error, the checks as skipped.
            if let Some(path) = junit {
                let skipped: Vec<(String, String, usize)> =
                    lab.checks.iter().map(|c| (c.name.clone(), c.from.clone(), c.line)).collect();
                let why = e.to_string();
                let run = Run {
                    lab: &lab.name,
                    file: &shown,
                    results: &[],
                    up_error: Some(&why),
                    skipped: &skipped,
                    wall: started.elapsed(),
                    timestamp: &timestamp(),
                    scenarios: &[],
                };
                // The failed up is the error to report; a report that cannot be written too
                // is said on the side.
                if let Err(w) = write_report(path, &run) {
                    eprintln!("netlab: {w}");
                }
            }
            return Err(e);
        }
    };
    match prepared {
        Prepared::BroughtUp(report) if !report.plan.is_empty() => {
            eprintln!(
                "netlab: lab {}: {} applied",
                lab.name,
                super::words::plural(report.plan.ops.len(), "change")
            );
        }
        Prepared::AsIs { drift } if !drift.is_empty() => eprintln!(
            "netlab: warning: lab {} has drifted from {} by {} change{}; checking it as it is \
             (`netlab plan {}` lists them, `netlab test --up` applies them first)",
            lab.name,
            lab.file.display(),
            drift.ops.len(),
            if drift.ops.len() == 1 { "" } else { "s" },
            lab.file.display()
        ),
        _ => {}
    }
    let checks_started = Instant::now();
    let (results, chosen): (Vec<CheckResult>, Vec<&Scenario>) = match (pick, pcap) {
        (Pick::All, Some(p)) => (run_checks_captured(sys, lab, p).await, lab.scenarios.iter().collect()),
        (Pick::All, None) => (run_checks(sys, lab).await, lab.scenarios.iter().collect()),
        (Pick::Scenario(s), _) => (Vec::new(), vec![s]),
    };
    let wall = checks_started.elapsed();
    match (&pick, results.is_empty(), chosen.is_empty()) {
        (Pick::All, true, true) => println!("checks: 0 checks (the file has no [[check]])"),
        (_, true, _) => {}
        (_, false, _) => print_table(&results),
    }
    for r in results.iter().filter(|r| r.pcap.is_some()) {
        println!(
            "capture of {}: {}",
            r.name,
            r.pcap.as_ref().map(|p| p.display().to_string()).unwrap_or_default()
        );
    }
    let mut scenarios = Vec::new();
    // A ^C during a scenario stops it and puts the lab back instead of leaving its overrides.
    let stop = if chosen.is_empty() { None } else { Some(sys.stop_signal()?) };
    for s in chosen {
        let r = scenario::run_until(sys, lab, s, stop.expect("a scenario to run")).await;
        print_scenario(&r);
        scenarios.push(r);
    }
    let failed =
        results.iter().filter(|r| !r.passed()).count() + scenarios.iter().filter(|s| !s.passed()).count();
    let total = results.len() + scenarios.len();
    if total > 0 {
        println!("checks: {} passed, {failed} failed", total - failed);
    }
    if let Some(path) = junit {
        let run = Run {
            lab: &lab.name,
            file: &shown,
            results: &results,
            up_error: None,
            skipped: &[],
            wall,
            timestamp: &timestamp(),
            scenarios: &scenarios,
        };
        write_report(path, &run)?;
    }
    if stop.is_some_and(|s| s.load(std::sync::atomic::Ordering::SeqCst)) {
        eprintln!("netlab: interrupted; the scenario's overrides were put back");
        return Ok(130);
    }
    Ok(if failed == 0 { 0 } else { 1 })
}

/// A scenario's steps, each with its time and what it found.
fn print_scenario(r: &ScenarioResult) {
    println!();
    println!("scenario {}", r.name);
    let width = r.steps.iter().map(|s| s.step.len()).max().unwrap_or(4).max(4);
    println!("  {:<width$}  {:<7}  {:>9}", "STEP", "RESULT", "TIME");
    for s in &r.steps {
        let word = match s.passed {
            Some(true) => "ok",
            Some(false) => "FAILED",
            None => "skipped",
        };
        let detail =
            s.detail.as_ref().map(|d| format!("  {}", d.replace('\n', "\n      "))).unwrap_or_default();
        println!("  {:<width$}  {word:<7}  {:>7.1}ms{detail}", s.step, s.elapsed.as_secs_f64() * 1000.0);
    }
    let verdict = if r.passed() { "passed" } else { "FAILED" };
    match &r.restore_error {
        None => println!(
            "scenario {}: {verdict} in {:.2} s; the lab is as before",
            r.name,
            r.elapsed.as_secs_f64()
        ),
        Some(e) => println!("scenario {}: {verdict}; {e}", r.name),
    }
}

fn write_report(path: &Path, run: &Run) -> Result<()> {
    std::fs::write(path, super::junit::report(run))
        .map_err(|e| Error::Write { path: path.display().to_string(), source: e })
}

/// The checks' table; the closing count comes after the scenarios.
fn print_table(results: &[CheckResult]) {
    let mut t = super::table::Table::new(&["CHECK", "EXPECTED", "GOT", "TIME", ""]).right(3);
    for r in results {
        let word = |ok| if ok { "ok" } else { "fail" };
        let mark = if r.passed() { "" } else { "  <-- FAILED" };
        // What went wrong, or the rate a throughput check measured.
        let detail = r
            .detail
            .as_ref()
            .filter(|_| !r.passed() || !r.ok)
            .or(r.measured.as_ref())
            .map(|d| format!("({d})"))
            .unwrap_or_default();
        t.row(vec![
            r.name.clone(),
            word(r.expect_ok).to_string(),
            word(r.ok).to_string(),
            format!("{:.1}ms", r.elapsed.as_secs_f64() * 1000.0),
            format!("{detail}{mark}").trim_start().to_string(),
        ]);
    }
    print!("{t}");
}

/// Now, as ISO 8601 UTC, without a date crate.
fn timestamp() -> String {
    let secs =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    let (days, rem) = (secs / 86400, secs % 86400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}
