//! An in-memory machine behind every backend trait, for tests that run without root.
//!
//! It keeps what a kernel would (namespaces with their `lo` mark, interfaces, addresses,
//! routes with their protocol, sysctls, tables), the records, and the fingerprints of what
//! runs, and reads them back the way the real observer does: only what carries the lab's
//! mark. Every call is also logged as a line, and a chosen call can be made to fail, so
//! tests see both the order of calls and the state they leave.
//!
//! `kernel` changes the machine as the kernel would; `view` reads it back as the observer
//! does, and holds the records and probes.

mod capture;
mod kernel;
mod view;
mod watch;

pub use capture::FakeTap;

use crate::error::SysError;
use crate::model::NsRef;
use crate::state::workload::ExecInfo;
use crate::state::{IfState, NodeProcs, ProcsState, Record, RouteState};
use ipnetwork::IpNetwork;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

pub use crate::model::names::NETLAB_PROTO;

/// One namespace of the fake kernel.
#[derive(Debug, Clone, Default)]
pub struct FakeNs {
    /// The alias of its `lo`: the lab's mark.
    pub lo_mark: Option<String>,
    pub ifaces: BTreeMap<String, IfState>,
    /// Routes by (destination, metric), with the protocol that installed them.
    pub routes: BTreeMap<(IpNetwork, u32), (RouteState, u8)>,
    pub sysctls: BTreeMap<String, String>,
    /// Tables by name, as their canonical listing.
    pub tables: BTreeMap<String, Vec<String>>,
    /// The addresses netlab added (with its `IFA_PROTO` mark), by interface.
    pub marked: BTreeSet<(String, IpNetwork)>,
}

/// The identity of the network namespace the fake runs in at first (nsfs device, inode), as
/// `stat -L /proc/self/ns/net` gives it in the init namespace.
pub const HOST_NETNS: (u64, u64) = (4, 4026531840);

/// Which network namespace the fake runs in, and the paths that enter the ones it knows.
#[derive(Debug)]
struct Netns {
    here: Option<(u64, u64)>,
    paths: BTreeMap<(u64, u64), String>,
}

impl Default for Netns {
    fn default() -> Netns {
        Netns { here: Some(HOST_NETNS), paths: BTreeMap::new() }
    }
}

/// Everything the fake machine holds.
#[derive(Debug, Default)]
pub struct Machine {
    pub ns: BTreeMap<NsRef, FakeNs>,
    /// Fingerprints of what runs, by lab.
    pub procs: BTreeMap<String, ProcsState>,
    pub records: BTreeMap<String, Record>,
    pub exec_info: BTreeMap<(String, String), ExecInfo>,
}

#[derive(Debug, Default)]
struct Shared {
    calls: Mutex<Vec<String>>,
    machine: Mutex<Machine>,
    /// A call whose log line contains this text fails with EEXIST.
    fail_on: Mutex<Option<String>>,
    /// Qdiscs this fake kernel lacks.
    missing_qdiscs: Mutex<BTreeSet<String>>,
    /// Sysctls this fake kernel lacks, and programs its filesystem lacks.
    missing_sysctls: Mutex<BTreeSet<String>>,
    missing_programs: Mutex<BTreeSet<String>>,
    netns: Mutex<Netns>,
    /// The watches `netlab events` asked for.
    watches: Mutex<Vec<watch::FakeWatch>>,
    /// The capture taps that are open.
    taps: capture::Taps,
    /// The lab namespaces each observation read, in order.
    looks: Mutex<Vec<Vec<String>>>,
    /// What the fake kernel does on its own when a call is made, by text of the call.
    reactions: Mutex<Vec<Reaction>>,
}

/// A change the fake kernel makes on its own, once, when a call whose log line contains
/// `on` is made (before the call's own change).
struct Reaction {
    on: String,
    change: Box<dyn FnOnce(&mut Machine) + Send>,
}

impl std::fmt::Debug for Reaction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Reaction on {:?}", self.on)
    }
}

/// A handle on the fake machine; clones share it. `net` and `procs` hand out handles that
/// know which lab they act for.
#[derive(Debug, Clone, Default)]
pub struct Fake {
    shared: Arc<Shared>,
    lab: String,
    /// The fingerprints a process op stores once it succeeds, by (node, what).
    fingerprints: BTreeMap<(String, String), String>,
}

pub(super) fn ns_name(ns: &NsRef) -> String {
    ns.to_string()
}

impl Fake {
    /// A fake whose calls fail where their log line contains `what`.
    pub fn failing_on(what: &str) -> Fake {
        let f = Fake::default();
        f.fail_on(Some(what));
        f
    }

    pub fn fail_on(&self, what: Option<&str>) {
        *self.shared.fail_on.lock().expect("fake") = what.map(str::to_string);
    }

    /// Makes the fake kernel lack the qdisc `kind`.
    pub fn without_qdisc(&self, kind: &str) {
        self.shared.missing_qdiscs.lock().expect("fake").insert(kind.to_string());
    }

    /// Makes the fake kernel lack the sysctl `key` (as probed: `conf.default.` for an interface's).
    pub fn without_sysctl(&self, key: &str) {
        self.shared.missing_sysctls.lock().expect("fake").insert(key.to_string());
    }

    /// Makes the fake filesystem lack the program `name`.
    pub fn without_program(&self, name: &str) {
        self.shared.missing_programs.lock().expect("fake").insert(name.to_string());
    }

    pub(super) fn lacks_sysctl(&self, key: &str) -> bool {
        self.shared.missing_sysctls.lock().expect("fake").contains(key)
    }

    pub(super) fn lacks_program(&self, name: &str) -> bool {
        self.shared.missing_programs.lock().expect("fake").contains(name)
    }

    /// Runs netlab as if from the network namespace `id` (`nsenter --net=`); `None`: one whose
    /// identity cannot be read. The fake's host namespace keeps its contents: only the
    /// identity the engine sees changes.
    pub fn enter_netns(&self, id: Option<(u64, u64)>) {
        self.shared.netns.lock().expect("fake").here = id;
    }

    /// Makes `path` the way into the namespace `id` (as /run/netns/NAME is).
    pub fn name_netns(&self, id: (u64, u64), path: &str) {
        self.shared.netns.lock().expect("fake").paths.insert(id, path.to_string());
    }

    pub(super) fn netns_here(&self) -> Option<(u64, u64)> {
        self.shared.netns.lock().expect("fake").here
    }

    pub(super) fn netns_path_of(&self, id: (u64, u64)) -> Option<String> {
        self.shared.netns.lock().expect("fake").paths.get(&id).cloned()
    }

    /// Makes the fake kernel react to the next call whose log line contains `on` with
    /// `change`, as the real one does on its own (carrier, routes that go with an address):
    /// what `up` finds when it looks again.
    pub fn react_to(&self, on: &str, change: impl FnOnce(&mut Machine) + Send + 'static) {
        let r = Reaction { on: on.to_string(), change: Box::new(change) };
        self.shared.reactions.lock().expect("fake").push(r);
    }

    /// The lab namespaces each observation so far read, by name, in order.
    pub fn looks(&self) -> Vec<Vec<String>> {
        self.shared.looks.lock().expect("fake").clone()
    }

    pub(super) fn note_look(&self, names: Vec<String>) {
        self.shared.looks.lock().expect("fake").push(names);
    }

    pub(super) fn log(&self, line: String) -> Result<(), SysError> {
        let fail =
            self.shared.fail_on.lock().expect("fake").as_ref().is_some_and(|f| line.contains(f.as_str()));
        let due = {
            let mut reactions = self.shared.reactions.lock().expect("fake");
            reactions.iter().position(|r| line.contains(r.on.as_str())).map(|i| reactions.remove(i))
        };
        if let Some(r) = due {
            (r.change)(&mut self.machine());
        }
        self.shared.calls.lock().expect("fake log").push(line.clone());
        if fail {
            return Err(SysError::errno(line, nix::errno::Errno::EEXIST as i32));
        }
        Ok(())
    }

    /// Every call so far, one line each.
    pub fn calls(&self) -> Vec<String> {
        self.shared.calls.lock().expect("fake log").clone()
    }

    pub fn clear_calls(&self) {
        self.shared.calls.lock().expect("fake log").clear();
        self.shared.looks.lock().expect("fake").clear();
    }

    /// Sets a sysctl of the host namespace, as the machine had it before any lab.
    pub fn set_host_sysctl(&self, key: &str, value: &str) {
        self.machine().ns.entry(NsRef::Host).or_default().sysctls.insert(key.to_string(), value.to_string());
    }

    /// The fake machine, to look at or to change behind netlab's back (drift).
    pub fn machine(&self) -> MutexGuard<'_, Machine> {
        self.shared.machine.lock().expect("fake machine")
    }

    /// Runs `f` on namespace `ns`, which must exist.
    pub(super) fn with_ns<T>(
        &self,
        ns: &NsRef,
        what: &str,
        f: impl FnOnce(&mut FakeNs) -> T,
    ) -> Result<T, SysError> {
        let mut m = self.machine();
        if *ns == NsRef::Host {
            m.ns.entry(NsRef::Host).or_default();
        }
        match m.ns.get_mut(ns) {
            Some(s) => Ok(f(s)),
            None => Err(SysError::errno(format!("{what}: no namespace {}", ns_name(ns)), libc_enoent())),
        }
    }

    pub(super) fn with_iface<T>(
        &self,
        ns: &NsRef,
        name: &str,
        what: &str,
        f: impl FnOnce(&mut IfState) -> T,
    ) -> Result<T, SysError> {
        let r = self.with_ns(ns, what, |s| s.ifaces.get_mut(name).map(f))?;
        r.ok_or_else(|| SysError::errno(format!("{what}: no interface {name} in {ns}"), libc_enoent()))
    }

    pub(super) fn stored(&self, node: &str, what: &str) -> Option<String> {
        self.fingerprints.get(&(node.to_string(), what.to_string())).cloned()
    }

    pub(super) fn note_procs(&self, node: &str, f: impl FnOnce(&mut NodeProcs)) {
        let mut m = self.machine();
        let lab = m.procs.entry(self.lab.clone()).or_default();
        f(lab.entry(node.to_string()).or_default());
        lab.retain(|_, p| *p != NodeProcs::default());
    }
}

pub(super) fn libc_enoent() -> i32 {
    nix::errno::Errno::ENOENT as i32
}
