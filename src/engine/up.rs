//! `netlab plan` and `netlab up`: observe, diff, apply, and keep the record of what was made.

use super::apply::{apply, OnError};
use crate::backend::{Probes, Store, System};
use crate::error::{Error, Result};
use crate::model::firewall::FirewallKind;
use crate::model::{self, NsRef};
use crate::plan::{self, Op, Plan};
use crate::profile::Phases;
use crate::state::workload::ExecInfo;
use crate::state::{Observed, Overrides, Record};
use std::collections::BTreeSet;

/// How many times `up` looks again after applying, and re-applies what the kernel undid.
const VERIFY_ROUNDS: u32 = 4;

/// What `plan` and `up` are asked to do beyond making the lab match its file.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// Load the rules through this backend (`--firewall`), rather than as the lab is or
    /// as the kernel allows.
    pub firewall: Option<FirewallKind>,
    /// Also remove the routes and addresses in the lab's namespaces that it did not make.
    pub prune: bool,
    /// Take over a lab of this name that was made from another file.
    pub adopt: bool,
    /// Drop every runtime override (`netlab link down`, `netlab impair`): back to the file.
    pub reset: bool,
}

/// The runtime overrides `plan` and `up` hold the lab to: the record's, unless `--reset`,
/// of the interfaces the file still names.
pub fn overrides(lab: &model::Lab, record: Option<&Record>, opts: Options) -> Overrides {
    match record {
        Some(r) if !opts.reset => r.overrides.clone().of_lab(lab),
        _ => Overrides::default(),
    }
}

/// What `up` did.
#[derive(Debug)]
pub struct UpReport {
    pub plan: Plan,
    /// What the kernel undid on its own after `plan` was applied, and `up` applied again.
    pub reapplied: Vec<Op>,
    /// Something the user should know, such as a fallback to iptables.
    pub notice: Option<String>,
    /// The runtime overrides the lab is held to.
    pub held: Overrides,
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

/// Refuses, before anything is touched, impairments whose qdisc this kernel lacks (the
/// file's, and those set at run time).
pub(crate) async fn check_qdiscs<S: Probes>(sys: &S, lab: &model::Lab, held: &Overrides) -> Result<()> {
    let mut kinds: Vec<&str> = lab
        .links
        .iter()
        .flat_map(|l| [l.shape_a, l.shape_b])
        .chain(held.shapes.values().copied())
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

/// Refuses, before anything is touched, sysctls this kernel does not have: each distinct key
/// (per-interface ones as their `default`) is looked up once, in a throwaway namespace for
/// the lab's own nodes and where netlab runs for the host node.
async fn check_sysctls<S: Probes>(sys: &S, lab: &model::Lab) -> Result<()> {
    use std::collections::BTreeMap;
    for fresh in [true, false] {
        // probe key → (node, key as written) of its first use
        let mut keys: BTreeMap<String, (&str, &str)> = BTreeMap::new();
        for node in lab.nodes.values().filter(|n| (n.kind != model::NodeKind::Host) == fresh) {
            for key in node.sysctls.keys() {
                keys.entry(model::sysctl::probe_key(key)).or_insert((&node.name, key));
            }
        }
        if keys.is_empty() {
            continue;
        }
        let missing = sys.missing_sysctls(keys.keys().cloned().collect(), fresh).await?;
        if let Some(probe) = missing.first() {
            let (node, key) = keys[probe];
            let place = if fresh { "a new network namespace" } else { "the namespace netlab runs in" };
            let via = if probe != key {
                format!(" (as {probe}, which every interface inherits)")
            } else {
                String::new()
            };
            return Err(Error::Missing(format!(
                "node {node}: this kernel has no sysctl {key}: /proc/sys/{} is not there in {place}{via}; remove it from the file, or load the module that provides it",
                model::sysctl::key_path(probe)
            )));
        }
    }
    Ok(())
}

/// Refuses, before anything is touched, a workload whose program is not there to run: a
/// path, or a name on the workload's PATH, in the node's rootfs or on the host. `exec`
/// commands are shell lines and are not looked into.
fn check_programs<S: Probes>(sys: &S, lab: &model::Lab) -> Result<()> {
    for node in lab.nodes.values() {
        let root = node.processes.isolation.rootfs.as_deref();
        for w in &node.processes.run {
            let program = &w.cmd[0];
            if !sys.finds_program(root, program) {
                let place = match root {
                    Some(r) => format!("in its rootfs {}", r.display()),
                    None => "on this machine".to_string(),
                };
                let looked = if program.contains('/') {
                    String::new()
                } else {
                    " (looked on the workload's PATH, /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)".to_string()
                };
                return Err(Error::Missing(format!(
                    "node {}, workload {}: there is no program {program} {place}{looked}; install it or fix cmd",
                    node.name, w.name
                )));
            }
        }
    }
    Ok(())
}

/// "1 name is", "3 names are".
fn plural_of(n: usize, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{n} {many}")
    }
}

/// The refusal of `plan` and `up` when what the lab needs is someone else's: one sentence,
/// then what is in the way, sorted (the kernel is read in no fixed order), then what to do,
/// each hint once. Each item is "WHAT; HINT", as the observers describe what they found.
fn refusal(sentence: &str, items: &[String], hint: Option<&str>) -> String {
    let mut what: Vec<&str> = Vec::new();
    let mut hints: Vec<&str> = hint.into_iter().collect();
    for item in items {
        match item.split_once("; ") {
            Some((w, h)) => {
                what.push(w);
                hints.push(h);
            }
            None => what.push(item),
        }
    }
    what.sort();
    what.dedup();
    hints.sort();
    hints.dedup();
    let mut msg = format!("refusing to touch anything: {sentence}:");
    for w in what {
        msg += &format!("\n  - {w}");
    }
    for h in hints {
        msg += &format!("\n  hint: {h}");
    }
    msg
}

/// What `up` would do (`netlab plan`). Refuses when a needed name belongs to someone else.
pub async fn plan<S: System>(sys: &S, lab: &model::Lab, opts: Options) -> Result<Planned> {
    let mut prof = Phases::new("plan");
    let planned = plan_timed(sys, lab, opts, &mut prof).await;
    prof.total();
    planned
}

async fn plan_timed<S: System>(
    sys: &S,
    lab: &model::Lab,
    opts: Options,
    prof: &mut Phases,
) -> Result<Planned> {
    let record = sys.load(&lab.name)?;
    check_qdiscs(sys, lab, &overrides(lab, record.as_ref(), opts)).await?;
    check_sysctls(sys, lab).await?;
    check_programs(sys, lab)?;
    prof.phase("preflight (qdiscs, sysctls, programs)");
    compute(sys, lab, record, opts, None, prof).await
}

/// What `up` looks at again after a round: the namespaces the round can have changed, and
/// what was seen of the lab before it, which holds for the rest.
struct Since {
    reached: BTreeSet<String>,
    before: Observed,
}

/// The plan from the lab's record as it is now, without the preflights: what `up` looks at
/// again after applying. `since`: read only the namespaces a round reached, and take the
/// rest from before it; otherwise every namespace is read.
async fn compute<S: System>(
    sys: &S,
    lab: &model::Lab,
    record: Option<Record>,
    opts: Options,
    since: Option<Since>,
    prof: &mut Phases,
) -> Result<Planned> {
    super::bind::check_up(sys, lab, record.as_ref(), opts.adopt)?;
    let (kind, notice) = firewall_kind(sys, lab, opts.firewall, record.as_ref())?;
    prof.phase("record load, binding check");
    let want = plan::desired::network_with(lab, &overrides(lab, record.as_ref(), opts));
    prof.phase("desired state");
    let only = since.as_ref().map(|s| &s.reached);
    let mut seen = sys.observe(&lab.name, &want, record, kind, only).await?;
    seen.procs = sys.fingerprints(&lab.name);
    match since {
        None => prof.phase("observe (dump every namespace)"),
        Some(Since { reached, before }) => {
            prof.phase(&format!("observe ({} namespaces the round reached)", reached.len()));
            seen = since_before(seen, before, &reached);
        }
    }
    if !seen.foreign.is_empty() {
        let taken = plural_of(seen.foreign.len(), "name this lab needs is", "names this lab needs are");
        return Err(Error::Foreign(refusal(&format!("{taken} taken by others"), &seen.foreign, None)));
    }
    if !seen.clashes.is_empty() && !opts.prune {
        let held = plural_of(seen.clashes.len(), "place the file needs is", "places the file needs are");
        return Err(Error::Foreign(refusal(
            &format!("{held} held by routes or addresses that are not the lab's"),
            &seen.clashes,
            Some(
                "remove what is in the way, or run `netlab up --prune` to remove everything in the lab's \
                 namespaces that is not the lab's",
            ),
        )));
    }
    let mut plan = plan::diff(lab, &want, &seen);
    if opts.prune {
        plan = Plan::new(plan.ops.into_iter().chain(plan::prune(&seen)).collect());
    }
    prof.phase("diff");
    Ok(Planned { plan, seen, kind, notice })
}

/// Makes the kernel match the file (`netlab up`), then looks again: what the kernel undid
/// on its own is applied again, a bounded number of times, and `up` fails naming what it
/// keeps undoing rather than report success for a lab that does not match its file.
/// `progress` is told the number of ops, then `tick` is called once per op done.
pub async fn up<S: System>(
    sys: &S,
    lab: &model::Lab,
    opts: Options,
    progress: &(dyn Fn(u64) + Sync),
    tick: &(dyn Fn() + Sync),
) -> Result<UpReport> {
    let mut prof = Phases::new("up");
    let report = up_timed(sys, lab, opts, progress, tick, &mut prof).await;
    prof.total();
    report
}

async fn up_timed<S: System>(
    sys: &S,
    lab: &model::Lab,
    opts: Options,
    progress: &(dyn Fn(u64) + Sync),
    tick: &(dyn Fn() + Sync),
    prof: &mut Phases,
) -> Result<UpReport> {
    let _lock = sys.lock(&lab.name)?;
    // Which names are free is looked at and the namespaces made under one machine-wide
    // claim: of two labs that want the same names, the second sees the first's and refuses.
    let claim = sys.claim_names()?;
    prof.phase("locks");
    let Planned { plan, seen, kind, notice } = plan_timed(sys, lab, opts, prof).await?;
    let mut claim = plan.ops.iter().any(|op| matches!(op, Op::AddNetns { .. })).then_some(claim);
    let held = overrides(lab, seen.record.as_ref(), opts);
    if plan.is_empty() {
        // Still refresh the record: the file may have moved.
        let mut record = Record::for_lab(lab, seen.record.as_ref());
        record.overrides = held.clone();
        sys.save(&mut record)?;
        prof.phase("record save");
        return Ok(UpReport { plan, reapplied: Vec::new(), notice, held });
    }
    // Written before touching anything, so that an interrupted `up` can be cleaned up.
    let mut record = Record::for_lab(lab, seen.record.as_ref());
    record.overrides = held.clone();
    record.firewall = kind;
    {
        // Not kept through the apply: at 10 000 nodes it is tens of MB, and the verify
        // round makes its own.
        let want = plan::desired::network_with(lab, &held);
        record
            .host_routes
            .extend(want.get(&NsRef::Host).into_iter().flat_map(|h| h.routes.values().cloned()));
        record.host_ifaces.extend(want.get(&NsRef::Host).into_iter().flat_map(|h| h.ifaces.keys().cloned()));
        record.tables.extend(want.iter().filter(|(_, s)| s.nft.is_some()).map(|(ns, _)| Record::ns_key(ns)));
    }
    let mut seen_keys = std::collections::BTreeSet::new();
    record.host_routes.retain(|r| seen_keys.insert((r.dst, r.metric)));
    note_originals(&mut record, &plan);
    sys.save(&mut record)?;
    let net = sys.net(&lab.name, kind);
    let procs = sys.procs(&lab.name, Some(lab));
    // `exec` commands of this very run enter nodes through it.
    note_exec_info(sys, lab)?;
    progress(plan.ops.len() as u64);
    prof.phase("record save, exec info");
    // Later rounds only repair what the kernel undid: pruning again would fight a routing
    // daemon that puts its routes back, forever.
    let opts = Options { firewall: Some(kind), prune: false, reset: false, ..opts };
    let mut reapplied = Vec::new();
    // What the plan was made from: the first verify takes what the plan did not reach from it.
    let mut seen = Some(seen);
    // What a round applies: the plan itself (neither a copy of it nor of a part: 50 000 ops
    // at 10 000 nodes), past what went under the claim; then only what the kernel undid.
    let mut again: Option<Plan> = None;
    let mut of_plan = &plan.ops[..];
    if claim.is_some() {
        // The namespaces (and what goes before them) first, then the claim is let go. The
        // plan is sorted by phase: they are the start of it.
        let (early, rest) =
            plan.ops.split_at(plan.ops.partition_point(|op| op.phase() <= Op::ADD_NETNS_PHASE));
        let applied = apply(&net, &procs, early, OnError::Stop, tick).await;
        prof.phase("apply: namespaces (under the name claim)");
        claim = None;
        if let Some(first) = applied.errors().into_iter().next() {
            sys.save(&mut record)?;
            return Err(Error::Sys(first));
        }
        of_plan = rest;
    }
    drop(claim);
    for attempt in 0..=VERIFY_ROUNDS {
        let round: &[Op] = again.as_ref().map_or(of_plan, |p| &p.ops);
        let applied = apply(&net, &procs, round, OnError::Stop, tick).await;
        prof.phase(&format!("apply: round {attempt}, {} ops", round.len()));
        // Whatever happened, remember the original value of every sysctl we changed.
        for (ns, key, prev) in &applied.sysctl_prev {
            let origs = record.sysctl_orig.entry(Record::ns_key(ns)).or_default();
            origs.entry(key.clone()).or_insert_with(|| prev.clone());
        }
        if let Some(first) = applied.errors().into_iter().next() {
            sys.save(&mut record)?;
            return Err(Error::Sys(first));
        }
        // The kernel shows qdiscs only in its own encoding: observing them again needs the
        // parameters they were set with.
        for op in round {
            match op {
                Op::SetShape { ns, iface, shape } => {
                    record.shapes.insert(Record::iface_key(ns, iface), *shape);
                }
                Op::DelShape { ns, iface } => {
                    record.shapes.remove(&Record::iface_key(ns, iface));
                }
                _ => {}
            }
        }
        sys.save(&mut record)?;
        prof.phase("record save");
        // The kernel acts on some changes some time after it acknowledged them (carrier
        // comes up, and resets what was set before it): give it a moment before looking.
        sys.pause(std::time::Duration::from_millis(20 << attempt)).await;
        prof.phase("verify: pause for the kernel");
        // Looked at again after the first round: only what the plan can have changed (its
        // reach includes the namespaces made under the claim), the rest taken from what was
        // seen before it. After a later round, everything: the kernel undid something, and
        // what it does a while after a change (carrier resets sysctls) may land in a
        // namespace the first verify had already read, which that round's ops need not
        // reach. Neither this round's ops nor what was seen are kept once the next plan is
        // known.
        let since = seen.take().and_then(|before| {
            plan::reach::reach(&plan.ops, lab, &before).map(|reached| Since { reached, before })
        });
        drop(again.take());
        let next = compute(sys, lab, sys.load(&lab.name)?, opts, since, prof).await?.plan;
        if next.is_empty() {
            settle_record(lab, &mut record);
            sys.save(&mut record)?;
            prof.phase("record save");
            return Ok(UpReport { plan, reapplied, notice, held });
        }
        note_originals(&mut record, &next);
        reapplied.extend(next.ops.iter().cloned());
        again = Some(next);
    }
    sys.save(&mut record)?;
    let round: &[Op] = again.as_ref().map_or(of_plan, |p| &p.ops);
    Err(Error::NotConverged(format!(
        "lab {} does not match its file after {} rounds: the kernel keeps undoing {}",
        lab.name,
        VERIFY_ROUNDS + 1,
        round.iter().map(Op::to_string).collect::<Vec<_>>().join("; ")
    )))
}

/// What a verify round saw of the namespaces it `reached`, and for the rest of the lab what
/// was seen `before` the round: the same run saw them moments ago, and the round did not
/// touch them. The host, the record, what runs and any refusal are the new observation's.
fn since_before(mut now: Observed, before: Observed, reached: &BTreeSet<String>) -> Observed {
    for (ns, state) in before.ns {
        let read_again = match &ns {
            NsRef::Named(n) => reached.contains(n),
            NsRef::Host => true,
        };
        if !read_again {
            now.ns.insert(ns, state);
        }
    }
    now
}

/// Originals known from a plan are kept before anything changes them.
fn note_originals(record: &mut Record, plan: &Plan) {
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
}

/// What `netlab exec` needs to enter each node with processes of its own.
fn note_exec_info<S: Store>(sys: &S, lab: &model::Lab) -> Result<()> {
    for node in lab.nodes.values() {
        let p = &node.processes;
        let needs_cgroup =
            !p.limits.is_empty() || !p.run.is_empty() || p.isolation.needs_holder() || p.confine.is_some();
        let info = (!p.is_empty()).then(|| ExecInfo {
            seccomp: p.seccomp.clone(),
            cgroup: needs_cgroup
                .then(|| format!("{}/_exec", model::names::node_cgroup(&lab.name, &node.name))),
            confine: p.confine,
        });
        sys.set_exec_info(&lab.name, &node.name, info.as_ref())?;
    }
    Ok(())
}

/// After a complete `up`, the record names exactly what the file asks for.
fn settle_record(lab: &model::Lab, record: &mut Record) {
    let want = plan::desired::network_with(lab, &record.overrides);
    record.namespaces = lab.namespaces().map(str::to_string).collect();
    record.host_routes =
        want.get(&NsRef::Host).map(|h| h.routes.values().cloned().collect()).unwrap_or_default();
    record.tables = want.iter().filter(|(_, s)| s.nft.is_some()).map(|(ns, _)| Record::ns_key(ns)).collect();
    record.host_sysctls = want.get(&NsRef::Host).map(|h| h.sysctls.clone()).unwrap_or_default();
    record.addrs = want
        .iter()
        .flat_map(|(ns, s)| {
            s.ifaces
                .iter()
                .filter(|(_, i)| !i.addrs.is_empty())
                .map(move |(i, st)| (Record::iface_key(ns, i), st.addrs.clone()))
        })
        .collect();
    record.shapes = want
        .iter()
        .flat_map(|(ns, s)| {
            s.ifaces.iter().filter_map(move |(i, st)| Some((Record::iface_key(ns, i), st.shape?)))
        })
        .collect();
    // The lab matches its file: every sysctl it no longer names is back as it was (or went
    // with its interface), so only the originals of those it names are still to restore.
    for (ns, origs) in record.sysctl_orig.iter_mut() {
        let named = want.get(&Record::ns_of_key(ns)).map(|w| &w.sysctls);
        origs.retain(|k, _| named.is_some_and(|w| w.contains_key(k)));
    }
    let host = Record::ns_key(&NsRef::Host);
    record.sysctl_orig.retain(|ns, o| !o.is_empty() && (*ns == host || record.namespaces.contains(ns)));
}

#[cfg(test)]
mod refusal_tests {
    use super::refusal;

    #[test]
    fn a_refusal_is_one_sentence_and_a_sorted_list_whatever_order_things_were_found_in() {
        let found = [
            "network namespace p-b belongs to lab \"x\"; give this lab another prefix",
            "interface v-eth already exists in the host namespace and is not this lab's; rename it",
            "network namespace p-a belongs to lab \"x\"; give this lab another prefix",
        ];
        let want = "refusing to touch anything: 3 names are taken:\n\
                    \x20 - interface v-eth already exists in the host namespace and is not this lab's\n\
                    \x20 - network namespace p-a belongs to lab \"x\"\n\
                    \x20 - network namespace p-b belongs to lab \"x\"\n\
                    \x20 hint: give this lab another prefix\n\
                    \x20 hint: rename it";
        let mut items: Vec<String> = found.iter().map(|s| s.to_string()).collect();
        assert_eq!(refusal("3 names are taken", &items, None), want);
        items.reverse();
        assert_eq!(refusal("3 names are taken", &items, None), want, "another order, another message");
    }
}
