//! Walks a plan step by step. Ops of one step run concurrently (they touch independent
//! objects); the first step with a failure stops the walk and its errors are returned.

use crate::backend::{Links, Netns};
use crate::error::SysError;
use crate::model::NsRef;
use crate::plan::{Op, Plan};
use futures::stream::{self, StreamExt};

/// How many kernel requests one step keeps in flight.
const IN_FLIGHT: usize = 64;

/// What applying changed that the state record must remember.
#[derive(Debug, Default)]
pub struct Applied {
    /// Sysctls set, with the value each had before: (namespace, key, previous).
    pub sysctl_prev: Vec<(NsRef, String, String)>,
}

/// Applies `plan` in order; stops after the first step in which anything failed, and
/// returns what was done together with the failures (empty on success).
pub async fn apply<B: Netns + Links>(backend: &B, plan: &Plan) -> (Applied, Vec<SysError>) {
    let mut applied = Applied::default();
    for step in plan.phases() {
        let results: Vec<Result<Option<(NsRef, String, String)>, SysError>> =
            stream::iter(step).map(|op| run(backend, op)).buffer_unordered(IN_FLIGHT).collect().await;
        let mut errors = Vec::new();
        for r in results {
            match r {
                Ok(Some(prev)) => applied.sysctl_prev.push(prev),
                Ok(None) => {}
                Err(e) => errors.push(e),
            }
        }
        if !errors.is_empty() {
            errors.sort_by(|a, b| a.op.cmp(&b.op));
            return (applied, errors);
        }
    }
    (applied, Vec::new())
}

async fn run<B: Netns + Links>(b: &B, op: &Op) -> Result<Option<(NsRef, String, String)>, SysError> {
    match op {
        Op::DelRoute { ns, route } => b.del_route(ns, route).await,
        Op::DelAddr { ns, iface, addr } => b.del_addr(ns, iface, addr).await,
        Op::DelLink { ns, iface } => b.del_link(ns, iface).await,
        Op::DelNetns { ns } => b.del_netns(ns).await,
        Op::AddNetns { ns } => b.add_netns(ns).await,
        Op::AddBridge { ns, iface, alias } => b.add_bridge(ns, iface, alias).await,
        Op::AddVeth { a, b: peer, alias, mtu } => b.add_veth(a, peer, alias, *mtu).await,
        Op::SetMtu { ns, iface, mtu } => b.set_mtu(ns, iface, *mtu).await,
        Op::SetMaster { ns, iface, master } => b.set_master(ns, iface, master).await,
        Op::AddAddr { ns, iface, addr } => b.add_addr(ns, iface, addr).await,
        Op::SetUp { ns, iface } => b.set_up(ns, iface).await,
        Op::SetSysctl { ns, key, value, .. } => {
            let prev = b.set_sysctl(ns, key, value).await?;
            return Ok(Some((ns.clone(), key.clone(), prev)));
        }
        Op::AddRoute { ns, route } => b.add_route(ns, route).await,
    }
    .map(|()| None)
}
