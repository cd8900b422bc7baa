//! Running a `[[scenario]]`: its steps in order against a lab that is up, stopping at the
//! first that fails; then every override it made is undone, passed or failed, so the lab is
//! as it was before.

use super::live::{self, Change};
use super::test::{run_check, CheckResult};
use crate::backend::System;
use crate::model::scenario::{secs, Scenario, Step};
use crate::model::{Check, Lab, Probe};
use serde::Serialize;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// How long a check step waits between tries while it polls `within` its time.
const POLL_PAUSE: Duration = Duration::from_millis(200);

/// The longest one try of a polled check waits (less when its timeout is shorter; a
/// throughput check keeps its own): a probe left waiting out a long timeout while the lab
/// recovers would blur the convergence time.
const POLL_TRY: Duration = Duration::from_secs(1);

/// What one step did.
#[derive(Debug, Clone, Serialize)]
pub struct StepResult {
    /// The step as `netlab test` prints it.
    pub step: String,
    /// `None`: not run, since an earlier step failed.
    pub passed: Option<bool>,
    /// What happened: `held after 1.45 s (8 tries)`, or why it failed.
    pub detail: Option<String>,
    pub elapsed: Duration,
    /// For a check step polled `within` a time: how long until it held (the convergence time).
    pub converged: Option<Duration>,
}

/// What a scenario did.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub name: String,
    pub steps: Vec<StepResult>,
    /// Why the lab could not be put back as it was, if it could not.
    pub restore_error: Option<String>,
    pub elapsed: Duration,
}

impl ScenarioResult {
    /// Every step passed and the lab was put back.
    pub fn passed(&self) -> bool {
        self.restore_error.is_none() && self.steps.iter().all(|s| s.passed == Some(true))
    }
}

/// Runs `scenario` against `lab`, which is up, and puts the lab's overrides back as they were.
pub async fn run<S: System>(sys: &S, lab: &Lab, scenario: &Scenario) -> ScenarioResult {
    let started = Instant::now();
    let before = live::current(sys, &lab.name);
    let mut steps = Vec::new();
    let mut failed = false;
    for step in &scenario.steps {
        if failed {
            steps.push(StepResult {
                step: step.to_string(),
                passed: None,
                detail: Some("not run: an earlier step failed".into()),
                elapsed: Duration::ZERO,
                converged: None,
            });
            continue;
        }
        let r = run_step(sys, lab, step).await;
        failed = r.passed != Some(true);
        steps.push(r);
    }
    let restore_error = match before {
        Ok(held) => match live::current(sys, &lab.name) {
            Ok(now) if now == held => None,
            _ => live::restore(sys, lab, held).await.err().map(|e| format!("putting the lab back: {e}")),
        },
        Err(e) => Some(format!("reading the lab's overrides before the scenario: {e}")),
    };
    ScenarioResult { name: scenario.name.clone(), steps, restore_error, elapsed: started.elapsed() }
}

async fn run_step<S: System>(sys: &S, lab: &Lab, step: &Step) -> StepResult {
    let started = Instant::now();
    let mut converged = None;
    let outcome: Result<Option<String>, String> = match step {
        Step::Check { check, within: None } => {
            let r = run_check(sys, lab, check).await;
            if r.passed() {
                Ok(None)
            } else {
                Err(expected(&r))
            }
        }
        Step::Check { check, within: Some(within) } => {
            let mut tries = 0u32;
            loop {
                tries += 1;
                let left = within.saturating_sub(started.elapsed());
                // A measure takes as long as it takes; a probe's wait is shortened.
                let bound = match check.probe {
                    Probe::Throughput(_) => check.timeout,
                    _ => check.timeout.min(POLL_TRY).min(left.max(Duration::from_millis(1))),
                };
                let r = run_check(sys, lab, &Check { timeout: bound, ..check.clone() }).await;
                if r.passed() {
                    let took = started.elapsed();
                    converged = Some(took);
                    break Ok(Some(format!("held after {} ({})", secs(took), plural(tries, "try", "tries"))));
                }
                if started.elapsed() + POLL_PAUSE >= *within {
                    break Err(format!(
                        "did not hold within {} ({}); last: {}",
                        secs(*within),
                        plural(tries, "try", "tries"),
                        expected(&r)
                    ));
                }
                sys.pause(POLL_PAUSE).await;
            }
        }
        Step::LinkDown(t) => change(sys, lab, t, Change::Down).await,
        Step::LinkUp(t) => change(sys, lab, t, Change::Up).await,
        Step::Impair { target, shape } => {
            change(sys, lab, target, shape.map_or(Change::Clear, Change::Impair)).await
        }
        Step::Exec { node, cmd, expect_exit, timeout } => {
            exec(sys, lab, node, cmd, *expect_exit, *timeout).await
        }
        Step::Wait(d) => {
            sys.pause(*d).await;
            Ok(None)
        }
    };
    let elapsed = started.elapsed();
    let (passed, detail) = match outcome {
        Ok(d) => (true, d),
        Err(d) => (false, Some(d)),
    };
    StepResult { step: step.to_string(), passed: Some(passed), detail, elapsed, converged }
}

fn plural(n: u32, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Why a check did not go as expected, as the checks' table says it.
fn expected(r: &CheckResult) -> String {
    let word = |ok| if ok { "ok" } else { "fail" };
    format!(
        "expected {}, got {}{}",
        word(r.expect_ok),
        word(r.ok),
        r.detail.as_ref().map(|d| format!(" ({d})")).unwrap_or_default()
    )
}

async fn change<S: System>(sys: &S, lab: &Lab, target: &str, c: Change) -> Result<Option<String>, String> {
    live::set(sys, lab, target, c).await.map(|_| None).map_err(|e| e.to_string())
}

async fn exec<S: System>(
    sys: &S,
    lab: &Lab,
    node: &str,
    cmd: &[String],
    expect_exit: i32,
    timeout: Duration,
) -> Result<Option<String>, String> {
    let mut c =
        sys.command_in(&lab.nodes[node].ns, &cmd[0]).map_err(|e| format!("entering node {node}: {e}"))?;
    c.args(&cmd[1..]).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = c.spawn().map_err(|e| format!("running {}: {e}", cmd[0]))?;
    // Read as it writes, so a full pipe never stops it; its end is polled, bounded in time.
    let drain = |p: Option<Box<dyn std::io::Read + Send>>| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = p {
                let _ = p.read_to_end(&mut buf);
            }
            let _ = tx.send(buf);
        });
        rx
    };
    let stdout = drain(child.stdout.take().map(|p| Box::new(p) as _));
    let stderr = drain(child.stderr.take().map(|p| Box::new(p) as _));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() >= timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("still running after {}; killed", secs(timeout)));
            }
            Ok(None) => sys.pause(Duration::from_millis(20)).await,
            Err(e) => return Err(format!("waiting for {}: {e}", cmd[0])),
        }
    };
    let out = std::process::Output {
        status,
        // Something it left running in the background may hold its output open: not waited for.
        stdout: stdout.recv_timeout(Duration::from_secs(1)).unwrap_or_default(),
        stderr: stderr.recv_timeout(Duration::from_secs(1)).unwrap_or_default(),
    };
    let text = |b: &[u8]| String::from_utf8_lossy(b).trim_end().to_string();
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    let code = out.status.code();
    let said = [stdout, stderr].into_iter().filter(|s| !s.is_empty()).collect::<Vec<_>>().join("\n");
    if code == Some(expect_exit) {
        return Ok((!said.is_empty()).then_some(said));
    }
    let got = code.map(|c| format!("exited {c}")).unwrap_or_else(|| "was killed by a signal".into());
    Err(format!(
        "{got}, expected {expect_exit}{}",
        if said.is_empty() { String::new() } else { format!(": {said}") }
    ))
}
