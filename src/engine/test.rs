//! `[[check]]`s: each probe runs natively from inside its node's network namespace, all of
//! them at once, each bounded by its timeout and timed from its own start to its own end.

use crate::backend::Probes;
use crate::model::{self, Probe};
use serde::Serialize;
use std::time::{Duration, Instant};

/// The outcome of one check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub name: String,
    pub from: String,
    pub target: String,
    pub expect_ok: bool,
    /// Whether the probe reached its target.
    pub ok: bool,
    /// Why the probe failed, when it did.
    pub detail: Option<String>,
    pub elapsed: Duration,
}

impl CheckResult {
    /// Whether what happened is what the file expected.
    pub fn passed(&self) -> bool {
        self.ok == self.expect_ok
    }
}

fn target(p: &Probe) -> String {
    match p {
        Probe::Ping(ip) => format!("ping {ip}"),
        Probe::Connect(sa) => format!("connect {sa}"),
        Probe::ConnectUdp(sa) => format!("connect_udp {sa}"),
    }
}

/// Runs every check of the lab concurrently and returns the results in file order.
pub async fn run_checks<S: Probes>(sys: &S, lab: &model::Lab) -> Vec<CheckResult> {
    futures::future::join_all(lab.checks.iter().map(|c| async move {
        let started = Instant::now();
        let outcome = sys.probe(&lab.nodes[&c.from].ns, &c.probe, c.timeout).await;
        CheckResult {
            name: c.name.clone(),
            from: c.from.clone(),
            target: target(&c.probe),
            expect_ok: c.expect_ok,
            ok: outcome.is_ok(),
            detail: outcome.err(),
            elapsed: started.elapsed(),
        }
    }))
    .await
}
