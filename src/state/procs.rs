//! What runs for a lab's nodes, as fingerprints of the definitions it was started from.

use serde::Serialize;
use std::collections::BTreeMap;

/// Fingerprints of what runs for one node.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NodeProcs {
    pub holder: Option<String>,
    pub limits: Option<String>,
    pub exec: Option<String>,
    pub workloads: BTreeMap<String, String>,
}

/// By node name.
pub type ProcsState = BTreeMap<String, NodeProcs>;
