//! The processes of a lab's nodes in the plan: namespace holders, cgroup limits, `exec`
//! commands and workloads. Each is known by a fingerprint of its definition; equal
//! fingerprints mean there is nothing to do, so a re-`up` leaves running workloads alone.

use super::op::Op;
use crate::model::Lab;
use crate::state::{NodeProcs, ProcsState};
use std::collections::BTreeSet;

/// The ops that make `seen` run what `want` says. `fresh`: nodes whose network namespace is
/// being made anew, whose old processes hold the old one and must go.
pub fn diff(lab: &Lab, want: &ProcsState, seen: &ProcsState, fresh: &BTreeSet<String>, ops: &mut Vec<Op>) {
    let empty = NodeProcs::default();
    let nodes: BTreeSet<&String> = want.keys().chain(seen.keys()).collect();
    for node in nodes {
        let w = want.get(node).unwrap_or(&empty);
        let s = seen.get(node).unwrap_or(&empty);
        let restart_all = fresh.contains(node) || w.holder != s.holder;
        for (name, fp) in &s.workloads {
            if restart_all || w.workloads.get(name) != Some(fp) {
                ops.push(Op::StopWorkload { node: node.clone(), name: name.clone() });
            }
        }
        if s.holder.is_some() && restart_all {
            ops.push(Op::StopHolder { node: node.clone() });
        }
        let Some(model) = lab.nodes.get(node) else { continue };
        let p = &model.processes;
        // Limits dropped from the file are lifted, not left in force.
        if w.limits != s.limits && (w.limits.is_some() || s.limits.is_some()) {
            ops.push(Op::SetLimits { node: node.clone(), limits: p.limits });
        }
        if w.holder.is_some() && (restart_all || s.holder.is_none()) {
            ops.push(Op::StartHolder { node: node.clone(), isolation: p.isolation.clone() });
        }
        if w.exec.is_some() && (restart_all || w.exec != s.exec) {
            ops.push(Op::RunExec { node: node.clone(), commands: p.exec.clone(), timeout: p.exec_timeout });
        }
        for wl in &p.run {
            if restart_all || s.workloads.get(&wl.name) != w.workloads.get(&wl.name) {
                ops.push(Op::StartWorkload { node: node.clone(), workload: Box::new(wl.clone()) });
            }
        }
    }
}
