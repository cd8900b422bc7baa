//! `netlab status`: the lab as the kernel holds it, what runs in it, and its drift from the file.

use crate::backend::System;
use crate::error::{Error, Result};
use crate::model::NsRef;
use crate::plan::{self, Op};
use crate::state::workload::WorkloadStatus;
use crate::state::{NetState, NsState, Record};
use crate::Lab;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct Status {
    pub lab: String,
    pub file: String,
    pub prefix: String,
    pub nodes: Vec<NodeStatus>,
    /// What `up` would change; empty when the lab matches its file.
    pub drift: Vec<String>,
    /// Why drift could not be computed, if it could not.
    pub drift_unknown: Option<String>,
    /// The runtime overrides in force (`netlab link down`, `netlab impair`), as `plan` shows them.
    pub overrides: Vec<String>,
    /// The same, as the record holds them.
    #[serde(skip)]
    pub held: crate::state::Overrides,
}

#[derive(Debug, Serialize)]
pub struct NodeStatus {
    pub name: String,
    pub netns: Option<String>,
    pub present: bool,
    pub state: Option<NsState>,
    /// The holder of the node's namespaces, when it has one running.
    pub holder: Option<u32>,
    pub workloads: Vec<WorkloadStatus>,
}

/// The record of lab `lab`, or of the only lab that is up.
fn pick<S: System>(sys: &S, lab: Option<&str>) -> Result<Record> {
    match lab {
        Some(l) => sys.load(l)?.ok_or_else(|| {
            Error::NotFound(format!("lab {l} is not up (`netlab ls` lists the labs that are)"))
        }),
        None => {
            let mut all = sys.all()?;
            match all.len() {
                1 => Ok(all.pop().expect("one lab")),
                0 => Err(Error::NotFound("no lab is up".into())),
                _ => Err(Error::Ambiguous("several labs are up; name one: netlab status LAB".into())),
            }
        }
    }
}

/// The status of lab `lab` (or of the only lab that is up).
pub async fn status<S: System>(sys: &S, lab: Option<&str>) -> Result<Status> {
    let record = pick(sys, lab)?;
    super::bind::check_status(sys, &record)?;
    // Drift needs the file; without it, show what the kernel holds.
    let (lab_file, drift_unknown) = match Lab::load(&record.file) {
        Ok(l) if l.name == record.lab => (Some(l), None),
        Ok(_) => (None, Some(format!("{} now describes another lab", record.file.display()))),
        Err(e) => (None, Some(e.to_string())),
    };
    let want: NetState =
        lab_file.as_ref().map(|l| plan::desired::network_with(l, &record.overrides)).unwrap_or_default();
    let overrides = super::live::describe(lab_file.as_ref(), &record.overrides);
    let held = record.overrides.clone();
    let mut seen = sys.observe(&record.lab, &want, Some(record.clone()), record.firewall).await?;
    seen.procs = sys.fingerprints(&record.lab);
    let drift: Vec<String> = match &lab_file {
        Some(l) => plan::diff(l, &want, &seen).ops.iter().map(Op::to_string).collect(),
        None => Vec::new(),
    };
    let nodes = record
        .nodes
        .iter()
        .map(|(name, ns)| {
            let key = ns.as_ref().map(|n| NsRef::Named(n.clone())).unwrap_or(NsRef::Host);
            let state = seen.ns.remove(&key);
            NodeStatus {
                name: name.clone(),
                netns: ns.clone(),
                present: state.is_some(),
                state,
                holder: sys.holder(&record.lab, name),
                workloads: sys.workload_status(&record.lab, name),
            }
        })
        .collect();
    Ok(Status {
        lab: record.lab.clone(),
        file: record.file.display().to_string(),
        prefix: record.prefix.clone(),
        nodes,
        drift,
        drift_unknown,
        overrides,
        held,
    })
}
