//! The state record, /run/netlab/LAB/state.json: the index of what a lab made, so that
//! `down --lab` works without the file and after a crash. The kernel stays the truth.
//! Plain data: `sys::store` reads and writes it.

use crate::model::{Lab, NsRef};
use crate::state::{Overrides, RouteState};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

/// Where records live; tests point it elsewhere with NETLAB_RUN_DIR.
pub fn run_dir() -> PathBuf {
    std::env::var_os("NETLAB_RUN_DIR").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/run/netlab"))
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Record {
    pub lab: String,
    pub file: PathBuf,
    pub prefix: String,
    /// Node name → its namespace name (absent for the host node).
    pub nodes: BTreeMap<String, Option<String>>,
    /// The nodes that are switches (bridges): `exec --all` runs nowhere there.
    #[serde(default)]
    pub switches: BTreeSet<String>,
    /// Every namespace the lab may have created, including ones an interrupted `up` was about to.
    pub namespaces: BTreeSet<String>,
    /// The interfaces the lab makes in the host namespace, written before it makes them: an
    /// `up` killed between making a veth and marking it leaves one the record still names.
    #[serde(default)]
    pub host_ifaces: BTreeSet<String>,
    /// Routes the lab added in the host namespace.
    #[serde(default)]
    pub host_routes: Vec<RouteState>,
    /// Sysctl values before the lab first changed them, per namespace, to restore them.
    #[serde(default)]
    /// Keyed by `Record::ns_key`.
    pub sysctl_orig: BTreeMap<String, BTreeMap<String, String>>,
    /// The values the lab set in the host namespace: `down` puts a sysctl back only while it
    /// still holds the lab's value (nobody else has changed it since).
    #[serde(default)]
    pub host_sysctls: BTreeMap<String, String>,
    /// Namespaces (by `ns_key`) where the lab loaded an nftables table.
    #[serde(default)]
    pub tables: BTreeSet<String>,
    /// How the lab's firewall rules were loaded.
    #[serde(default)]
    pub firewall: crate::model::firewall::FirewallKind,
    /// The addresses the lab put on each interface, by `iface_key`: how its addresses are
    /// told from others' on a kernel without `IFA_PROTO` (older than Linux 6.3).
    #[serde(default)]
    pub addrs: BTreeMap<String, crate::state::CompactSet<ipnetwork::IpNetwork>>,
    /// The impairments set on each interface, by `iface_key`.
    #[serde(default)]
    pub shapes: BTreeMap<String, crate::model::shape::Shape>,
    /// The identity (nsfs device, inode: `stat -L /proc/self/ns/net`) of the network namespace
    /// the lab was made in. A `host` node's objects live there, so commands run from anywhere
    /// else refuse (see `engine::bind`); absent in records older than this field.
    #[serde(default)]
    pub made_in: Option<(u64, u64)>,
    /// What `netlab link down` and `netlab impair` hold in place of the file.
    #[serde(default, skip_serializing_if = "Overrides::is_empty")]
    pub overrides: Overrides,
}

impl Record {
    /// The key of a namespace in `sysctl_orig` ('@' cannot start a node's namespace name).
    pub fn ns_key(ns: &NsRef) -> String {
        match ns {
            NsRef::Host => "@host".to_string(),
            NsRef::Named(n) => n.clone(),
        }
    }

    /// The namespace a key of [`Record::ns_key`] names.
    pub fn ns_of_key(key: &str) -> NsRef {
        match key {
            "@host" => NsRef::Host,
            n => NsRef::Named(n.to_string()),
        }
    }

    /// The key of an interface in `shapes`.
    pub fn iface_key(ns: &NsRef, iface: &str) -> String {
        format!("{}:{iface}", Record::ns_key(ns))
    }

    /// Whether the lab has a `host` node: objects in the namespace netlab was run in.
    pub fn has_host(&self) -> bool {
        self.nodes.values().any(Option::is_none)
    }

    /// Notes `here` as the namespace the lab was made in, unless the record already knows.
    pub fn note_made_in(&mut self, here: Option<(u64, u64)>) {
        if self.made_in.is_none() {
            self.made_in = here;
        }
    }

    /// Whether this lab and `other` may share host objects (a host sysctl): both were made in
    /// the same network namespace, or either record is too old to say.
    pub fn same_netns(&self, other: &Record) -> bool {
        match (self.made_in, other.made_in) {
            (Some(a), Some(b)) => a == b,
            _ => true,
        }
    }

    /// A fresh record for a lab, keeping what an older record knew of (namespaces,
    /// sysctl originals) so an interrupted run can still be cleaned up.
    pub fn for_lab(lab: &Lab, old: Option<&Record>) -> Record {
        let mut r = old.cloned().unwrap_or_default();
        r.lab = lab.name.clone();
        r.file = lab.file.clone();
        r.prefix = lab.prefix.clone();
        r.nodes = lab
            .nodes
            .values()
            .map(|n| {
                (
                    n.name.clone(),
                    match &n.ns {
                        NsRef::Named(s) => Some(s.clone()),
                        NsRef::Host => None,
                    },
                )
            })
            .collect();
        r.switches = lab
            .nodes
            .values()
            .filter(|n| n.kind == crate::model::NodeKind::Switch)
            .map(|n| n.name.clone())
            .collect();
        r.namespaces.extend(lab.namespaces().map(str::to_string));
        r
    }

    /// Whether this record is one netlab could have written for lab `lab`; why not, if not.
    /// The record is an index to check against the kernel, never an authority: what it names
    /// must at least be the kind of thing netlab makes.
    pub fn check(&self, lab: &str) -> Result<(), String> {
        if self.lab != lab {
            return Err(format!("is lab {:?}'s, not {lab}'s", self.lab));
        }
        let ns_names = self.namespaces.iter().chain(self.nodes.values().flatten());
        if let Some(n) = ns_names.into_iter().find(|n| !is_netns_name(n)) {
            return Err(format!("names {n:?}, which is no namespace name"));
        }
        let host = Record::ns_key(&NsRef::Host);
        for (ns, keys) in &self.sysctl_orig {
            if *ns != host && !self.namespaces.contains(ns) {
                return Err(format!("has sysctls of {ns:?}, a namespace it does not name"));
            }
            if let Some(k) = keys.keys().find(|k| !is_sysctl_key(k)) {
                return Err(format!("has {k:?} as a sysctl, which is no sysctl name"));
            }
        }
        if let Some(k) = self.host_sysctls.keys().find(|k| !is_sysctl_key(k)) {
            return Err(format!("has {k:?} as a sysctl, which is no sysctl name"));
        }
        for key in self.overrides.keys() {
            let known = crate::state::overrides::split_target(key)
                .is_ok_and(|(node, iface)| self.nodes.contains_key(node) && is_iface_name(iface));
            if !known {
                return Err(format!("holds an override of {key:?}, which is no interface of its nodes"));
            }
        }
        Ok(())
    }
}

/// A name under /run/netns: one path component.
fn is_netns_name(n: &str) -> bool {
    !n.is_empty() && n.len() <= 255 && n != "." && n != ".." && !n.contains(['/', '\0'])
}

/// An interface name as the kernel takes them: at most 15 bytes, no '/', ':' or space.
fn is_iface_name(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 15
        && n != "."
        && n != ".."
        && !n.contains(|c: char| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
}

/// A `net.*` sysctl as netlab writes them: dotted, never a path of its own.
pub fn is_sysctl_key(k: &str) -> bool {
    k.starts_with("net.")
        && k.split('.').all(|p| !p.is_empty())
        && !k.contains(|c: char| c == '/' || c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_naming_paths_or_other_labs_is_not_to_be_trusted() {
        let ok = Record { lab: "t".into(), namespaces: ["t-a".to_string()].into(), ..Default::default() };
        assert_eq!(ok.check("t"), Ok(()));
        assert!(ok.check("u").is_err());
        let mut bad = ok.clone();
        bad.sysctl_orig.entry("@host".into()).or_default().insert("/tmp/victim".into(), "x".into());
        assert!(bad.check("t").unwrap_err().contains("/tmp/victim"));
        let mut bad = ok.clone();
        bad.host_sysctls.insert("net.ipv4.conf.a/../../x".into(), "1".into());
        assert!(bad.check("t").is_err());
        let mut bad = ok.clone();
        bad.namespaces.insert("../etc".into());
        assert!(bad.check("t").is_err());
        let mut bad = ok.clone();
        bad.overrides.down.insert("x:eth0".into());
        assert!(bad.check("t").unwrap_err().contains("x:eth0"));
        let mut bad = ok;
        bad.sysctl_orig
            .entry("elsewhere".into())
            .or_default()
            .insert("net.ipv4.ip_forward".into(), "0".into());
        assert!(bad.check("t").is_err());
    }
}
