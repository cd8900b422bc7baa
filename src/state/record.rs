//! The state record, /run/netlab/LAB/state.json: the index of what a lab made, so that
//! `down --lab` works without the file and after a crash. The kernel stays the truth.

use crate::error::Error;
use crate::model::{Lab, NsRef};
use crate::state::RouteState;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

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
    /// Every namespace the lab may have created, including ones an interrupted `up` was about to.
    pub namespaces: BTreeSet<String>,
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
    /// Namespace name → identity of the mount the lab made (see `netns::identity`): proof,
    /// without entering it, that the namespace under that name is still the one netlab made.
    #[serde(default)]
    pub netns_ids: BTreeMap<String, (u64, u64)>,
    /// How the lab's firewall rules were loaded.
    #[serde(default)]
    pub firewall: crate::model::firewall::FirewallKind,
    /// The impairments set on each interface, by `iface_key`.
    #[serde(default)]
    pub shapes: BTreeMap<String, crate::model::shape::Shape>,
}

impl Record {
    /// The key of a namespace in `sysctl_orig` ('@' cannot start a node's namespace name).
    pub fn ns_key(ns: &NsRef) -> String {
        match ns {
            NsRef::Host => "@host".to_string(),
            NsRef::Named(n) => n.clone(),
        }
    }

    /// The key of an interface in `shapes`.
    pub fn iface_key(ns: &NsRef, iface: &str) -> String {
        format!("{}:{iface}", Record::ns_key(ns))
    }

    pub fn path(lab: &str) -> PathBuf {
        run_dir().join(lab).join("state.json")
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
        r.namespaces.extend(lab.namespaces().map(str::to_string));
        r
    }

    /// Holds the lab for one `up` or `down` at a time (released when dropped).
    pub fn lock(lab: &str) -> Result<LabLock, Error> {
        let dir = run_dir().join(lab);
        let err = |m: String| Error::Record { path: dir.display().to_string(), message: m };
        std::fs::create_dir_all(&dir).map_err(|e| err(e.to_string()))?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"))
            .map_err(|e| err(e.to_string()))?;
        let flock = nix::fcntl::Flock::lock(file, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, e)| err(format!("locking: {e}")))?;
        Ok(LabLock { _flock: flock, dir })
    }

    /// Notes the identity of every recorded namespace that is mounted now.
    pub fn remember_ids(&mut self) {
        self.netns_ids = self
            .namespaces
            .iter()
            .filter_map(|n| Some((n.clone(), crate::sys::netns::identity(n)?)))
            .collect();
    }

    /// Whether the namespace under `name` is the very one the lab mounted.
    pub fn made(&self, name: &str) -> bool {
        self.netns_ids.get(name).is_some_and(|id| crate::sys::netns::identity(name) == Some(*id))
    }

    pub fn load(lab: &str) -> Result<Option<Record>, Error> {
        Self::load_from(&Self::path(lab))
    }

    fn load_from(path: &Path) -> Result<Option<Record>, Error> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| Error::Record {
                path: path.display().to_string(),
                message: format!("unreadable ({e}); remove it by hand if the lab is gone"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Record { path: path.display().to_string(), message: e.to_string() }),
        }
    }

    /// Writes the record atomically (temp file + rename), so a crash never leaves half a record.
    pub fn save(&self) -> Result<(), Error> {
        let path = Self::path(&self.lab);
        let err =
            |e: std::io::Error| Error::Record { path: path.display().to_string(), message: e.to_string() };
        let dir = path.parent().expect("record path has a parent");
        std::fs::create_dir_all(dir).map_err(err)?;
        let tmp = dir.join("state.json.tmp");
        let json = serde_json::to_vec_pretty(self).expect("record serializes");
        std::fs::write(&tmp, json).map_err(err)?;
        std::fs::rename(&tmp, &path).map_err(err)
    }

    /// Removes the lab's record directory; missing counts as done.
    pub fn remove(lab: &str) -> Result<(), Error> {
        let dir = run_dir().join(lab);
        match std::fs::remove_dir_all(&dir) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(Error::Record { path: dir.display().to_string(), message: e.to_string() }),
        }
    }

    /// Every lab with a record on this machine, sorted by name.
    pub fn all() -> Result<Vec<Record>, Error> {
        let mut out = Vec::new();
        let Ok(entries) = std::fs::read_dir(run_dir()) else { return Ok(out) };
        for e in entries.flatten() {
            if let Some(r) = Self::load_from(&e.path().join("state.json"))? {
                out.push(r);
            }
        }
        out.sort_by(|a, b| a.lab.cmp(&b.lab));
        Ok(out)
    }
}

/// An exclusive hold on a lab. When nothing but the lock file is left in the lab's directory
/// (an `up` refused before it made anything), the directory goes with the lock.
pub struct LabLock {
    _flock: nix::fcntl::Flock<std::fs::File>,
    dir: PathBuf,
}

impl Drop for LabLock {
    fn drop(&mut self) {
        let only_lock =
            std::fs::read_dir(&self.dir).is_ok_and(|d| d.flatten().all(|e| e.file_name() == "lock"));
        if only_lock {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
