//! Failure scenarios (`[[scenario]]`): steps that `netlab test` runs in order against a lab
//! that is up, after the plain checks: checks (polled `within` a time, the convergence time),
//! links taken down and up, impairments, commands and waits. What a scenario changes is a
//! runtime override, undone once it ends, passed or failed.

use super::shape::Shape;
use super::Check;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: String,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone)]
pub enum Step {
    /// A check; with `within`, tried again until it holds, for at most that long.
    Check { check: Check, within: Option<Duration> },
    /// `netlab link down NODE:IFACE`.
    LinkDown(String),
    /// `netlab link up NODE:IFACE`.
    LinkUp(String),
    /// `netlab impair NODE:IFACE ...`; `None`: `--clear`.
    Impair { target: String, shape: Option<Shape> },
    /// A command in a node's network namespace, which must exit with `expect_exit` within
    /// `timeout`.
    Exec { node: String, cmd: Vec<String>, expect_exit: i32, timeout: Duration },
    /// Sleep.
    Wait(Duration),
}

/// How long an exec step may run when the file gives no timeout.
pub const EXEC_STEP_TIMEOUT: Duration = Duration::from_secs(60);

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::Check { check, within } => {
                write!(f, "{}", check.name)?;
                if !check.expect_ok {
                    write!(f, " (expect fail)")?;
                }
                match within {
                    Some(w) => write!(f, " within {}", secs(*w)),
                    None => Ok(()),
                }
            }
            Step::LinkDown(t) => write!(f, "link down {t}"),
            Step::LinkUp(t) => write!(f, "link up {t}"),
            Step::Impair { target, shape: Some(s) } => write!(f, "impair {target} {s}"),
            Step::Impair { target, shape: None } => write!(f, "impair {target} --clear"),
            Step::Exec { node, cmd, .. } => write!(f, "exec {node}: {}", cmd.join(" ")),
            Step::Wait(d) => write!(f, "wait {}", secs(*d)),
        }
    }
}

/// "1.45 s", "20 s".
pub fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0} s")
    } else {
        format!("{s:.2} s")
    }
}
