//! The kernel's current state for one lab, as `sys::netlink::observe` reads it.

use super::ns::NsState;
use super::record::Record;
use crate::error::SysError;
use crate::model::firewall::FirewallKind;
use crate::model::NsRef;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Default, Serialize)]
pub struct Observed {
    /// The lab's namespaces that exist, and the host's objects that carry the lab's mark.
    pub ns: BTreeMap<NsRef, NsState>,
    /// Names under /run/netns that the record claims but that hold no namespace (a crash
    /// between creating the file and mounting the namespace on it).
    pub broken: BTreeSet<String>,
    /// Names the lab needs that belong to someone else, each described as "WHAT; HINT"
    /// (`engine::up` lists the whats and gives each hint once).
    pub foreign: Vec<String>,
    /// Places in lab namespaces that the file's routes and addresses need and someone else's
    /// hold: refused, unless `up --prune` is to clear them.
    pub clashes: Vec<String>,
    pub record: Option<Record>,
    /// What runs for the lab's nodes.
    pub procs: super::procs::ProcsState,
    /// How the lab's rules were read, and so how they are to be changed.
    pub firewall: FirewallKind,
}

/// What `down` must know of the kernel before it plans: which candidate namespaces are the
/// lab's, and what of the lab's is in the host namespace.
#[derive(Debug, Default)]
pub struct TeardownView {
    /// Namespaces that are the lab's (by mark, mount identity, or a bare file the record names).
    pub ours: Vec<String>,
    /// Recorded namespaces that now belong to someone else, each with why.
    pub skipped: Vec<String>,
    /// The host namespace: routes with netlab's protocol, every interface, the lab's table.
    pub host: NsState,
    /// The current value of every host sysctl the record would restore.
    pub host_sysctls: BTreeMap<String, String>,
    /// Whether the lab's iptables chains are in the host namespace (looked for only without
    /// a record; with one, `host.nft` is read the way the record says).
    pub iptables_chains: bool,
    /// Namespaces that could not be judged.
    pub errors: Vec<SysError>,
}
