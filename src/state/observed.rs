//! The kernel's current state for one lab, as `sys::netlink::observe` reads it.

use super::ns::NsState;
use super::record::Record;
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
    /// Names the lab needs that belong to someone else, each described in a sentence.
    pub foreign: Vec<String>,
    pub record: Option<Record>,
    /// What runs for the lab's nodes.
    pub procs: super::procs::ProcsState,
}
