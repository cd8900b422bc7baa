//! `netlab plan` and `netlab up`: observe, diff, apply, and keep the record of what was made.

use super::apply::{apply, OnError};
use crate::backend::{Probes, Store, System};
use crate::error::{Error, Result};
use crate::model::firewall::FirewallKind;
use crate::model::{self, NsRef};
use crate::plan::{self, Op, Plan};
use crate::state::workload::ExecInfo;
use crate::state::{Observed, Record};

/// What `up` did.
#[derive(Debug)]
pub struct UpReport {
    pub plan: Plan,
    /// Something the user should know, such as a fallback to iptables.
    pub notice: Option<String>,
}

/// A plan and what it was computed from.
#[derive(Debug)]
pub struct Planned {
    pub plan: Plan,
    pub seen: Observed,
    pub kind: FirewallKind,
    pub notice: Option<String>,
}

/// How this lab's firewall is loaded: as asked, as the lab already is, or nftables where
/// the kernel has it (iptables otherwise, with a notice).
fn firewall_kind<S: Probes>(
    sys: &S,
    lab: &model::Lab,
    asked: Option<FirewallKind>,
    record: Option<&Record>,
) -> Result<(FirewallKind, Option<String>)> {
    let current = record.filter(|r| !r.tables.is_empty()).map(|r| r.firewall);
    match (asked, current) {
        (Some(a), Some(c)) if a != c => Err(Error::Conflict(format!(
            "lab {} is up with its firewall in {}; run `netlab down` before switching to {}",
            lab.name,
            c.label(),
            a.label()
        ))),
        (Some(a), _) => Ok((a, None)),
        (None, Some(c)) => Ok((c, None)),
        (None, None) => {
            let needs = lab.nodes.values().any(|n| !n.firewall.is_empty());
            if needs && !sys.nft_available() {
                return Ok((
                    FirewallKind::Iptables,
                    Some(
                        "nf_tables is not available in this kernel: loading the firewall rules with iptables"
                            .into(),
                    ),
                ));
            }
            Ok((FirewallKind::Nft, None))
        }
    }
}

/// Refuses, before anything is touched, impairments whose qdisc this kernel lacks.
async fn check_qdiscs<S: Probes>(sys: &S, lab: &model::Lab) -> Result<()> {
    let mut kinds: Vec<&str> = lab
        .links
        .iter()
        .flat_map(|l| [l.shape_a, l.shape_b])
        .filter(|s| !s.is_empty())
        .map(|s| s.kind())
        .collect();
    kinds.sort();
    kinds.dedup();
    for kind in kinds {
        if !sys.has_qdisc(kind).await? {
            return Err(Error::Missing(crate::model::shape::missing(kind)));
        }
    }
    Ok(())
}

/// What `up` would do (`netlab plan`). Refuses when a needed name belongs to someone else.
pub async fn plan<S: System>(sys: &S, lab: &model::Lab, asked: Option<FirewallKind>) -> Result<Planned> {
    check_qdiscs(sys, lab).await?;
    let record = sys.load(&lab.name)?;
    super::bind::check_up(sys, lab, record.as_ref())?;
    let (kind, notice) = firewall_kind(sys, lab, asked, record.as_ref())?;
    let want = plan::desired::network(lab);
    let mut seen = sys.observe(&lab.name, &want, record, kind).await?;
    seen.procs = sys.fingerprints(&lab.name);
    if !seen.foreign.is_empty() {
        return Err(Error::Foreign(format!("refusing to touch anything: {}", seen.foreign.join("; "))));
    }
    Ok(Planned { plan: plan::diff(lab, &want, &seen), seen, kind, notice })
}

/// Makes the kernel match the file (`netlab up`). `progress` is told the number of ops,
/// then called once per op done.
pub async fn up<S: System>(
    sys: &S,
    lab: &model::Lab,
    asked: Option<FirewallKind>,
    progress: &(dyn Fn(u64) + Sync),
    tick: &(dyn Fn() + Sync),
) -> Result<UpReport> {
    let _lock = sys.lock(&lab.name)?;
    let Planned { plan, seen, kind, notice } = plan(sys, lab, asked).await?;
    if plan.is_empty() {
        // Still refresh the record: the file may have moved.
        sys.save(&mut Record::for_lab(lab, seen.record.as_ref()))?;
        return Ok(UpReport { plan, notice });
    }
    // Written before touching anything, so that an interrupted `up` can be cleaned up.
    let mut record = Record::for_lab(lab, seen.record.as_ref());
    let want = plan::desired::network(lab);
    record.firewall = kind;
    record.host_routes.extend(want.get(&NsRef::Host).into_iter().flat_map(|h| h.routes.values().cloned()));
    let mut seen_keys = std::collections::BTreeSet::new();
    record.host_routes.retain(|r| seen_keys.insert((r.dst, r.metric)));
    record.tables.extend(want.iter().filter(|(_, s)| s.nft.is_some()).map(|(ns, _)| Record::ns_key(ns)));
    // Originals known from the plan are kept before anything changes them.
    for op in &plan.ops {
        if let Op::SetSysctl { ns, key, was: Some(was), .. } = op {
            record
                .sysctl_orig
                .entry(Record::ns_key(ns))
                .or_default()
                .entry(key.clone())
                .or_insert_with(|| was.clone());
        }
    }
    sys.save(&mut record)?;
    let net = sys.net(&lab.name, kind);
    let procs = sys.procs(&lab.name, Some(lab));
    // `exec` commands of this very run enter nodes through it.
    note_exec_info(sys, lab)?;
    progress(plan.ops.len() as u64);
    let applied = apply(&net, &procs, &plan, OnError::Stop, tick).await;
    // Whatever happened, remember the original value of every sysctl we changed.
    for (ns, key, prev) in &applied.sysctl_prev {
        let origs = record.sysctl_orig.entry(Record::ns_key(ns)).or_default();
        origs.entry(key.clone()).or_insert_with(|| prev.clone());
    }
    if applied.ok() {
        settle_record(lab, &mut record, &plan);
    }
    sys.save(&mut record)?;
    match applied.errors().into_iter().next() {
        None => Ok(UpReport { plan, notice }),
        Some(first) => Err(Error::Sys(first)),
    }
}

/// What `netlab exec` needs to enter each node with processes of its own.
fn note_exec_info<S: Store>(sys: &S, lab: &model::Lab) -> Result<()> {
    for node in lab.nodes.values() {
        let p = &node.processes;
        let needs_cgroup = !p.limits.is_empty() || !p.run.is_empty() || p.isolation.needs_holder();
        let info = (!p.is_empty()).then(|| ExecInfo {
            seccomp: p.seccomp.clone(),
            cgroup: needs_cgroup
                .then(|| format!("{}/_exec", model::names::node_cgroup(&lab.name, &node.name))),
        });
        sys.set_exec_info(&lab.name, &node.name, info.as_ref())?;
    }
    Ok(())
}

/// After a complete `up`, the record names exactly what the file asks for.
fn settle_record(lab: &model::Lab, record: &mut Record, plan: &Plan) {
    let want = plan::desired::network(lab);
    record.namespaces = lab.namespaces().map(str::to_string).collect();
    record.host_routes =
        want.get(&NsRef::Host).map(|h| h.routes.values().cloned().collect()).unwrap_or_default();
    record.tables = want.iter().filter(|(_, s)| s.nft.is_some()).map(|(ns, _)| Record::ns_key(ns)).collect();
    record.host_sysctls = want.get(&NsRef::Host).map(|h| h.sysctls.clone()).unwrap_or_default();
    record.shapes = want
        .iter()
        .flat_map(|(ns, s)| {
            s.ifaces.iter().filter_map(move |(i, st)| Some((Record::iface_key(ns, i), st.shape?)))
        })
        .collect();
    // Sysctls put back to their original value are no longer ours to restore.
    for op in &plan.ops {
        if let Op::SetSysctl { ns, key, .. } = op {
            if !want.get(ns).is_some_and(|w| w.sysctls.contains_key(key)) {
                if let Some(o) = record.sysctl_orig.get_mut(&Record::ns_key(ns)) {
                    o.remove(key);
                }
            }
        }
    }
    let host = Record::ns_key(&NsRef::Host);
    record.sysctl_orig.retain(|ns, o| !o.is_empty() && (*ns == host || record.namespaces.contains(ns)));
}
