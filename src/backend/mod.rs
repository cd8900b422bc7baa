//! The narrow interfaces the applier drives. `sys::` implements them on the kernel,
//! `fake::` records calls for tests that run without root.

pub mod fake;

use crate::error::SysError;
use crate::model::firewall::Firewall as Rules;
use crate::model::NsRef;
use crate::state::RouteState;
use ipnetwork::IpNetwork;

/// Named network namespaces under /run/netns (`ip netns`).
#[allow(async_fn_in_trait)]
pub trait Netns {
    /// Creates the namespace with `lo` up and marked as the lab's.
    async fn add_netns(&self, name: &str) -> Result<(), SysError>;
    /// Removes the name; the kernel frees the namespace when nothing else holds it.
    async fn del_netns(&self, name: &str) -> Result<(), SysError>;
}

/// Links, addresses, routes and sysctls inside a namespace (`ip link|addr|route`, `sysctl`).
#[allow(async_fn_in_trait)]
pub trait Links {
    async fn add_veth(
        &self,
        a: &(NsRef, String),
        b: &(NsRef, String),
        alias: &str,
        mtu: u32,
    ) -> Result<(), SysError>;
    async fn add_bridge(&self, ns: &NsRef, name: &str, alias: &str) -> Result<(), SysError>;
    async fn del_link(&self, ns: &NsRef, name: &str) -> Result<(), SysError>;
    async fn set_mtu(&self, ns: &NsRef, name: &str, mtu: u32) -> Result<(), SysError>;
    async fn set_master(&self, ns: &NsRef, name: &str, master: &str) -> Result<(), SysError>;
    async fn set_up(&self, ns: &NsRef, name: &str) -> Result<(), SysError>;
    async fn add_addr(&self, ns: &NsRef, name: &str, addr: &IpNetwork) -> Result<(), SysError>;
    async fn del_addr(&self, ns: &NsRef, name: &str, addr: &IpNetwork) -> Result<(), SysError>;
    async fn add_route(&self, ns: &NsRef, route: &RouteState) -> Result<(), SysError>;
    async fn del_route(&self, ns: &NsRef, route: &RouteState) -> Result<(), SysError>;
    /// Replaces the interface's root qdisc with the lab's impairments.
    async fn set_shape(
        &self,
        ns: &NsRef,
        name: &str,
        shape: &crate::model::shape::Shape,
    ) -> Result<(), SysError>;
    /// Removes the lab's root qdisc; missing counts as done.
    async fn del_shape(&self, ns: &NsRef, name: &str) -> Result<(), SysError>;
    /// Sets a `net.*` sysctl; returns the value it had before.
    async fn set_sysctl(&self, ns: &NsRef, key: &str, value: &str) -> Result<String, SysError>;
}

/// The lab's packet filter and NAT table in a namespace (`nft -f`, `nft delete table`).
#[allow(async_fn_in_trait)]
pub trait Firewall {
    /// Replaces the table with `rules`, atomically.
    async fn load_table(&self, ns: &NsRef, table: &str, rules: &Rules) -> Result<(), SysError>;
    /// Deletes the table; missing counts as done.
    async fn delete_table(&self, ns: &NsRef, table: &str) -> Result<(), SysError>;
}

/// The processes of nodes: cgroups, namespace holders, `exec` commands, workloads.
#[allow(async_fn_in_trait)]
pub trait Spawner {
    async fn set_limits(&self, node: &str, limits: &crate::model::limits::Limits) -> Result<(), SysError>;
    async fn start_holder(
        &self,
        node: &str,
        isolation: &crate::model::workload::Isolation,
    ) -> Result<(), SysError>;
    async fn stop_holder(&self, node: &str) -> Result<(), SysError>;
    async fn run_exec(&self, node: &str, commands: &[String]) -> Result<(), SysError>;
    async fn start_workload(
        &self,
        node: &str,
        workload: &crate::model::workload::Workload,
    ) -> Result<(), SysError>;
    async fn stop_workload(&self, node: &str, name: &str) -> Result<(), SysError>;
}
