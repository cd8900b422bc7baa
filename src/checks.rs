//! `[[check]]`s: each probe runs natively from inside its node's network namespace, all of
//! them at once, each bounded by its timeout.

use crate::model::{self, NsRef, Probe};
use crate::sys::{netns, probe};
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
pub fn run_checks(lab: &model::Lab) -> Vec<CheckResult> {
    let handles: Vec<_> = lab
        .checks
        .iter()
        .map(|c| {
            let ns = match &lab.nodes[&c.from].ns {
                NsRef::Named(n) => Some(n.clone()),
                NsRef::Host => None,
            };
            let (probe, timeout) = (c.probe.clone(), c.timeout);
            let started = Instant::now();
            (c, started, netns::spawn_in(ns, move || Ok(probe::run(&probe, timeout))))
        })
        .collect();
    handles
        .into_iter()
        .map(|(c, started, h)| {
            let outcome = match h.join() {
                Ok(Ok(r)) => r,
                Ok(Err(e)) => Err(format!("entering node {}: {e}", c.from)),
                Err(_) => Err("the probe panicked".to_string()),
            };
            CheckResult {
                name: c.name.clone(),
                from: c.from.clone(),
                target: target(&c.probe),
                expect_ok: c.expect_ok,
                ok: outcome.is_ok(),
                detail: outcome.err(),
                elapsed: started.elapsed(),
            }
        })
        .collect()
}
