//! Runtime overrides of a lab that is up: what `netlab link down` and `netlab impair` hold in
//! place of the file, recorded in the lab's record until `link up` / `impair --clear`,
//! `up --reset` or `down`. `plan` and `up` build the desired state with them, so an override
//! is never drift; a change made by hand with `ip` still is.

use crate::model::shape::Shape;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Overrides {
    /// `NODE:IFACE` held down by `netlab link down`.
    #[serde(default)]
    pub down: BTreeSet<String>,
    /// `NODE:IFACE` → the egress impairment `netlab impair` put in place of the file's.
    #[serde(default)]
    pub shapes: BTreeMap<String, Shape>,
}

impl Overrides {
    pub fn is_empty(&self) -> bool {
        self.down.is_empty() && self.shapes.is_empty()
    }

    /// The key of an interface of a node.
    pub fn key(node: &str, iface: &str) -> String {
        format!("{node}:{iface}")
    }

    /// Only those of interfaces the lab has: an override of an interface the file no longer
    /// names goes with it.
    pub fn of_lab(mut self, lab: &crate::model::Lab) -> Overrides {
        let ends: BTreeSet<String> =
            lab.links.iter().flat_map(|l| [&l.a, &l.b]).map(|e| Overrides::key(&e.node, &e.iface)).collect();
        self.down.retain(|k| ends.contains(k));
        self.shapes.retain(|k, _| ends.contains(k));
        self
    }

    /// Every key named, each once.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        let mut all: BTreeSet<&String> = self.down.iter().collect();
        all.extend(self.shapes.keys());
        all.into_iter()
    }
}

/// Splits `NODE:IFACE`, as the commands and the scenario steps name an interface.
pub fn split_target(s: &str) -> Result<(&str, &str), String> {
    match s.split_once(':') {
        Some((n, i)) if !n.is_empty() && !i.is_empty() && !i.contains(':') => Ok((n, i)),
        _ => Err(format!("\"{s}\" is not NODE:IFACE; write e.g. \"r1:eth0\"")),
    }
}
