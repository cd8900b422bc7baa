//! Walks a plan step by step. Ops of one step run concurrently (they touch independent
//! objects). `up` stops after the first step with a failure; `down` goes on past failures,
//! so that one stuck object does not keep the rest of the lab alive.

use crate::backend::{Firewall, Links, Netns, Spawner};
use crate::error::SysError;
use crate::model::{names, NsRef};
use crate::plan::Op;
use futures::stream::{self, StreamExt};

/// How many kernel requests one step keeps in flight.
const IN_FLIGHT: usize = 64;

/// A sysctl set by `up`: (namespace, key, the value it had before).
pub type SysctlPrev = (NsRef, String, String);

/// What to do after a step in which an op failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Stop: later steps depend on earlier ones (`up`).
    Stop,
    /// Go on with every later step (`down`: teardown is best effort and complete).
    Continue,
}

/// What applying did.
#[derive(Debug, Default)]
pub struct Applied {
    /// Sysctls set, with the value each had before: (namespace, key, previous).
    pub sysctl_prev: Vec<SysctlPrev>,
    /// The ops that failed, with why; empty on success.
    pub failed: Vec<(Op, SysError)>,
}

impl Applied {
    pub fn ok(&self) -> bool {
        self.failed.is_empty()
    }

    /// The failures alone, in a stable order.
    pub fn errors(self) -> Vec<SysError> {
        self.failed.into_iter().map(|(_, e)| e).collect()
    }
}

/// Applies `ops` (a plan, or a stretch of one: sorted as a plan sorts them) in order. `net`
/// changes namespaces, links and rules; `procs` starts and stops node processes. `done` is
/// called once per finished op (for a progress bar).
pub async fn apply<B: Netns + Links + Firewall, P: Spawner>(
    net: &B,
    procs: &P,
    ops: &[Op],
    on_error: OnError,
    done: &(dyn Fn() + Sync),
) -> Applied {
    let mut applied = Applied::default();
    // Where the time goes, step by step, for the benchmarks.
    let profile = crate::profile::enabled();
    for step in crate::plan::op::phases(ops) {
        let started = std::time::Instant::now();
        // Namespaces go in one call (see `Netns::del_netns`), the rest concurrently.
        let (gone, rest): (Vec<&Op>, Vec<&Op>) =
            step.iter().partition(|op| matches!(op, Op::DelNetns { .. }));
        let mut results: Vec<(&Op, Result<Option<SysctlPrev>, SysError>)> = Vec::new();
        if !gone.is_empty() {
            let names: Vec<String> = gone
                .iter()
                .filter_map(|op| if let Op::DelNetns { ns } = op { Some(ns.clone()) } else { None })
                .collect();
            let mut answers = net.del_netns(&names).await.into_iter();
            for op in gone {
                done();
                // One answer a name; one missing is no success.
                let r = answers.next().unwrap_or_else(|| {
                    Err(SysError::new(op.to_string(), std::io::Error::other("the backend gave no answer")))
                });
                results.push((op, r.map(|()| None)));
            }
        }
        results.extend(
            stream::iter(rest)
                .map(|op| async move {
                    let r = run(net, procs, op).await;
                    done();
                    (op, r)
                })
                .buffer_unordered(IN_FLIGHT)
                .collect::<Vec<_>>()
                .await,
        );
        let mut failed = Vec::new();
        for (op, r) in results {
            match r {
                Ok(Some(prev)) => applied.sysctl_prev.push(prev),
                Ok(None) => {}
                Err(e) => failed.push((op.clone(), e)),
            }
        }
        if profile {
            let what = step[0].to_string();
            let kind = what.split(' ').take(2).collect::<Vec<_>>().join(" ");
            let name = format!("  step {:>2}: {:>6} x {kind}", step[0].phase(), step.len());
            crate::profile::line("apply", &name, started.elapsed());
        }
        failed.sort_by(|a, b| a.1.op.cmp(&b.1.op));
        let stop = !failed.is_empty() && on_error == OnError::Stop;
        applied.failed.extend(failed);
        if stop {
            break;
        }
    }
    applied
}

async fn run<B: Netns + Links + Firewall, P: Spawner>(
    b: &B,
    p: &P,
    op: &Op,
) -> Result<Option<SysctlPrev>, SysError> {
    match op {
        Op::StopWorkload { node, name } => p.stop_workload(node, name).await,
        Op::StopHolder { node } => p.stop_holder(node).await,
        Op::SetLimits { node, limits } => p.set_limits(node, limits).await,
        Op::StartHolder { node, isolation } => p.start_holder(node, isolation).await,
        Op::RunExec { node, commands, timeout } => p.run_exec(node, commands, *timeout).await,
        Op::StartWorkload { node, workload } => p.start_workload(node, workload).await,
        Op::DelRoute { ns, route } => b.del_route(ns, route, names::NETLAB_PROTO).await,
        Op::PruneRoute { ns, route, proto } => b.del_route(ns, route, *proto).await,
        Op::PruneAddr { ns, iface, addr } => b.del_addr(ns, iface, addr).await,
        Op::ReplaceAddr { ns, iface, old, new } => {
            b.del_addr(ns, iface, old).await?;
            b.add_addr(ns, iface, new).await
        }
        Op::DelAddr { ns, iface, addr } => b.del_addr(ns, iface, addr).await,
        Op::DelLink { ns, iface } => b.del_link(ns, iface).await,
        Op::DelNetns { ns } => b.del_netns(std::slice::from_ref(ns)).await.pop().unwrap_or_else(|| {
            Err(SysError::new(op.to_string(), std::io::Error::other("the backend gave no answer")))
        }),
        Op::AddNetns { ns } => b.add_netns(ns).await,
        Op::AddBridge { ns, iface, alias } => b.add_bridge(ns, iface, alias).await,
        Op::AddVeth { a, b: peer, alias, mtu } => b.add_veth(a, peer, alias, *mtu).await,
        Op::SetMtu { ns, iface, mtu } => b.set_mtu(ns, iface, *mtu).await,
        Op::SetMaster { ns, iface, master } => b.set_master(ns, iface, master).await,
        Op::AddAddr { ns, iface, addr } => b.add_addr(ns, iface, addr).await,
        Op::SetUp { ns, iface, announce, .. } => b.set_up(ns, iface, announce).await,
        Op::SetShape { ns, iface, shape } => b.set_shape(ns, iface, shape).await,
        Op::SetDown { ns, iface } => b.set_down(ns, iface).await,
        Op::DelShape { ns, iface } => b.del_shape(ns, iface).await,
        Op::SetSysctl { ns, key, value, .. } => {
            let prev = b.set_sysctl(ns, key, value).await?;
            return Ok(Some((ns.clone(), key.clone(), prev)));
        }
        Op::AddRoute { ns, route } => b.add_route(ns, route).await,
        Op::DelTable { ns, table, kind } => b.delete_table(ns, table, *kind).await,
        Op::StopProcesses { recorded } => p.stop_all(*recorded).await,
        Op::LoadTable { ns, table, rules, .. } => b.load_table(ns, table, rules).await,
    }
    .map(|()| None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::fake::Fake;
    use crate::plan::Plan;
    use futures::executor::block_on;

    fn plan() -> Plan {
        let h1 = NsRef::Named("t-h1".into());
        let h2 = NsRef::Named("t-h2".into());
        Plan::new(vec![
            Op::SetUp { ns: h1.clone(), iface: "eth0".into(), port: false, announce: Vec::new() },
            Op::AddAddr { ns: h1.clone(), iface: "eth0".into(), addr: "10.0.0.1/24".parse().unwrap() },
            Op::AddVeth {
                a: (h1.clone(), "eth0".into()),
                b: (h2.clone(), "eth0".into()),
                alias: "netlab:t:x".into(),
                mtu: 1500,
            },
            Op::AddNetns { ns: "t-h2".into() },
            Op::AddNetns { ns: "t-h1".into() },
            Op::SetSysctl { ns: h2, key: "net.ipv4.ip_forward".into(), value: "1".into(), was: None },
        ])
    }

    #[test]
    fn applies_in_dependency_order() {
        let fake = Fake::default();
        let applied = block_on(apply(&fake, &fake, &plan().ops, OnError::Stop, &|| {}));
        assert!(applied.ok());
        let calls = fake.calls();
        let pos = |s: &str| {
            calls.iter().position(|c| c.starts_with(s)).unwrap_or_else(|| panic!("no call {s} in {calls:?}"))
        };
        assert!(pos("add_netns t-h1") < pos("add_veth"));
        assert!(pos("add_netns t-h2") < pos("add_veth"));
        assert!(pos("add_veth") < pos("add_addr"));
        assert!(pos("add_addr") < pos("set_up"));
        assert_eq!(calls.len(), 6);
        assert_eq!(
            applied.sysctl_prev,
            vec![(NsRef::Named("t-h2".into()), "net.ipv4.ip_forward".into(), "0".into())]
        );
    }

    #[test]
    fn stops_after_the_failing_step() {
        let fake = Fake::failing_on("add_veth");
        let errors = block_on(apply(&fake, &fake, &plan().ops, OnError::Stop, &|| {})).errors();
        assert_eq!(errors.len(), 1);
        assert!(errors[0].to_string().contains("add_veth t-h1:eth0 t-h2:eth0"), "{}", errors[0]);
        let calls = fake.calls();
        assert!(
            !calls.iter().any(|c| c.starts_with("add_addr") || c.starts_with("set_up")),
            "went on after the failure: {calls:?}"
        );
    }
}
