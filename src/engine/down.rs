//! `netlab down`: removes everything a lab owns, found by its record and its marks, and
//! nothing else. Best effort and complete: it goes on past failures and reports them.

use super::apply::{apply, OnError};
use crate::backend::System;
use crate::error::{Error, Result};
use crate::plan::{teardown, Op};

/// What `down` removed.
#[derive(Debug, Default)]
pub struct DownReport {
    pub namespaces: Vec<String>,
    pub host_links: Vec<String>,
    /// Recorded namespaces that now belong to someone else and were left alone.
    pub skipped: Vec<String>,
    pub found_anything: bool,
}

/// Tears lab `lab` down.
pub async fn down<S: System>(sys: &S, lab: &str) -> Result<DownReport> {
    let mut prof = crate::profile::Phases::new("down");
    let report = down_timed(sys, lab, &mut prof).await;
    prof.total();
    report
}

async fn down_timed<S: System>(sys: &S, lab: &str, prof: &mut crate::profile::Phases) -> Result<DownReport> {
    let lock = sys.lock(lab)?;
    let record = sys.load(lab)?;
    super::bind::check_down(sys, record.as_ref())?;
    prof.phase("lock, record load, binding check");
    let view = sys.observe_teardown(lab, record.as_ref()).await?;
    prof.phase("observe (which namespaces carry the mark)");
    let others = sys.all().unwrap_or_default();
    let plan = teardown::teardown(lab, record.as_ref(), &view, &others);
    let kind = record.as_ref().map(|r| r.firewall).unwrap_or_default();
    prof.phase("teardown plan");
    let applied =
        apply(&sys.net(lab, kind), &sys.procs(lab, None), &plan.ops, OnError::Continue, &|| {}).await;
    prof.phase("apply");

    let mut report = DownReport {
        skipped: view.skipped,
        found_anything: teardown::found_anything(record.as_ref(), &plan),
        ..Default::default()
    };
    let failed = |op: &Op| applied.failed.iter().any(|(f, _)| f == op);
    for op in plan.ops.iter().filter(|op| !failed(op)) {
        match op {
            Op::DelNetns { ns } => report.namespaces.push(ns.clone()),
            Op::DelLink { iface, .. } => report.host_links.push(iface.clone()),
            _ => {}
        }
    }
    report.namespaces.sort();
    let mut errors = view.errors;
    errors.extend(applied.errors());
    if !errors.is_empty() {
        return Err(Error::Teardown(errors));
    }
    sys.remove(lab)?;
    prof.phase("record removal");
    drop(lock);
    Ok(report)
}
