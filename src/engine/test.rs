//! `netlab test`: the lab is brought up only when it is down (or when asked to), then its
//! `[[check]]`s run. Each probe runs natively from inside its node's network namespace, all of
//! them at once, each bounded by its timeout and timed from its own start to its own end.

use crate::backend::{Probes, System};
use crate::error::Result;
use crate::model::{self, Probe};
use crate::plan::Plan;
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

/// What `netlab test` did to the lab before its checks.
#[derive(Debug)]
pub enum Prepared {
    /// The lab was down, or reconciling was asked for (`--up`): `up` ran, with this report.
    BroughtUp(super::up::UpReport),
    /// The lab was up and was left as it is; `drift` is what `up` would change (empty when
    /// the lab matches its file).
    AsIs { drift: Plan },
}

/// Gets the lab ready for its checks: a lab that is up (it has a record) is not changed,
/// only planned, unless `reconcile`; a lab that is down is brought up.
pub async fn prepare<S: System>(sys: &S, lab: &model::Lab, reconcile: bool) -> Result<Prepared> {
    if !reconcile && sys.load(&lab.name)?.is_some() {
        let planned = super::up::plan(sys, lab, Default::default()).await?;
        return Ok(Prepared::AsIs { drift: planned.plan });
    }
    let report = super::up::up(sys, lab, Default::default(), &|_| {}, &|| {}).await?;
    Ok(Prepared::BroughtUp(report))
}

/// Runs every check of the lab concurrently and returns the results in file order.
pub async fn run_checks<S: Probes>(sys: &S, lab: &model::Lab) -> Vec<CheckResult> {
    futures::future::join_all(lab.checks.iter().map(|c| run_check(sys, lab, c))).await
}

/// Runs one check (also a scenario's check step), timed from its start to its end.
pub async fn run_check<S: Probes>(sys: &S, lab: &model::Lab, c: &model::Check) -> CheckResult {
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
}
