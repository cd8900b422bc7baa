//! The real machine behind the engine's traits: rtnetlink, nftables, cgroups and processes,
//! the records under /run/netlab, and the probes.

use super::firewall::{iptables, nft};
use super::netlink::{dump, observe, rtnl::Rtnl, sock::SockMap};
use super::process::{self, Files, Procs};
use super::{netns, store};
use crate::backend::{Feed, Observer, Probes, Store, System, Watch, Watcher};
use crate::error::{Error, Result, SysError};
use crate::model::firewall::FirewallKind;
use crate::model::{self, names, NsRef, Probe};
use crate::state::own;
use crate::state::workload::{ExecInfo, WorkloadStatus};
use crate::state::{NetState, Observed, ProcsState, Record, TeardownView};
use std::collections::BTreeMap;
use std::time::Duration;

/// This machine.
#[derive(Default)]
pub struct Real {
    /// The sockets of the network backend made last, while it lives: `up` observes what
    /// it made through them, without entering each namespace again.
    socks: std::sync::Mutex<std::sync::Weak<SockMap>>,
}

impl std::fmt::Debug for Real {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Real")
    }
}

impl Real {
    pub fn new() -> Real {
        Real::default()
    }
}

/// Which of `names` are the lab's: a namespace whose `lo` carries the lab's mark (netlab
/// marks a namespace before it mounts it under its name), or a bare file the record names
/// (an `up` interrupted between creating the file and mounting the namespace on it). The
/// marks are read inside every namespace at once (`netns::in_each`).
/// `recorded`: the namespaces the lab's record names.
fn which_are_ours(
    lab: &str,
    recorded: &std::collections::BTreeSet<String>,
    names: Vec<String>,
) -> Vec<(String, Result<bool, SysError>)> {
    let in_record = |name: &str| recorded.contains(name);
    let mut out = Vec::new();
    let mut mounted = Vec::new();
    for name in names {
        match netns::mount_state(&name) {
            None => out.push((name, Ok(false))),
            Some(false) => {
                let ours = in_record(&name);
                out.push((name, Ok(ours)));
            }
            Some(true) => mounted.push(name),
        }
    }
    let marks = netns::in_each(&mounted, MARK_READERS, dump::lo_alias_here);
    for (name, mark) in mounted.into_iter().zip(marks) {
        let verdict = match mark {
            Ok(alias) => Ok(own::owner(lab, alias.as_deref()) == own::Owner::Ours),
            // Unreadable and not named by the record (another tool is making or removing it
            // as we look): nothing proves it is ours, so it is left alone.
            Err(_) if !in_record(&name) => Ok(false),
            Err(e) => Err(SysError::new(format!("reading netns {name}"), e)),
        };
        out.push((name, verdict));
    }
    out
}

/// Threads that read the marks of a lab's namespaces together.
const MARK_READERS: usize = 8;

impl Observer for Real {
    async fn observe(
        &self,
        lab: &str,
        want: &NetState,
        record: Option<Record>,
        kind: FirewallKind,
        only: Option<&std::collections::BTreeSet<String>>,
    ) -> Result<Observed> {
        let socks = self.socks.lock().ok().and_then(|w| w.upgrade());
        let mut seen = observe::observe(lab, want, record, kind, socks, only).await?;
        seen.firewall = kind;
        Ok(seen)
    }

    async fn observe_teardown(&self, lab: &str, record: Option<&Record>) -> Result<TeardownView> {
        netns::check_mount_propagation()?;
        let mut view = TeardownView::default();
        // Without a record, the marks alone tell which namespaces are ours.
        let candidates: Vec<String> = match record {
            Some(r) => r.namespaces.iter().cloned().collect(),
            None => netns::list(),
        };
        let (l, recorded) = (lab.to_string(), record.map(|r| r.namespaces.clone()).unwrap_or_default());
        let verdicts =
            tokio::task::spawn_blocking(move || which_are_ours(&l, &recorded, candidates)).await.map_err(
                |e| SysError::new("reading the lab's namespaces", std::io::Error::other(e.to_string())),
            )?;
        for (name, verdict) in verdicts {
            let recorded = record.is_some_and(|r| r.namespaces.contains(&name));
            match verdict {
                Ok(true) => view.ours.push(name),
                Ok(false) if recorded && netns::exists(&name) => {
                    view.skipped.push(format!("{name} (not this lab's)"))
                }
                Ok(false) => {}
                Err(e) => view.errors.push(e),
            }
        }
        view.ours.sort();
        let kind = record.map(|r| r.firewall).unwrap_or_default();
        let table = Some((kind, lab.to_string(), names::table_name(lab, &NsRef::Host)));
        let mut snap = observe::snapshot(&NsRef::Host, Vec::new(), table, false).await?;
        let protos = std::mem::take(&mut snap.route_protos);
        snap.state.routes.retain(|k, _| protos.get(k) == Some(&super::netlink::rtnl::NETLAB_PROTO));
        view.host = snap.state;
        if let Some(origs) = record.and_then(|r| r.sysctl_orig.get(&Record::ns_key(&NsRef::Host))) {
            view.host_sysctls = origs
                .keys()
                .filter_map(|k| Some((k.clone(), super::sysctl::read(k).ok()?)))
                .collect::<BTreeMap<_, _>>();
        }
        if record.is_none() {
            // Without the record, the lab's iptables chains may be there too: they go by name.
            let l = lab.to_string();
            view.iptables_chains =
                tokio::task::spawn_blocking(move || iptables::read_here(&l).ok().flatten().is_some())
                    .await
                    .unwrap_or(false);
        }
        Ok(view)
    }

    fn fingerprints(&self, lab: &str) -> ProcsState {
        process::fingerprints(&Files { lab: lab.to_string() })
    }

    fn holder(&self, lab: &str, node: &str) -> Option<u32> {
        Files { lab: lab.to_string() }.holder(node)
    }

    fn workload_status(&self, lab: &str, node: &str) -> Vec<WorkloadStatus> {
        process::workload_status(&Files { lab: lab.to_string() }, node)
    }

    fn open_log(&self, path: &std::path::Path) -> std::io::Result<std::fs::File> {
        super::private::open(path)
    }

    fn workload_logs(&self, lab: &str, node: &str) -> Vec<(String, std::path::PathBuf)> {
        let files = Files { lab: lab.to_string() };
        files
            .workloads()
            .into_iter()
            .filter(|(n, _)| n == node)
            .map(|(_, w)| {
                let log = files.workload(node, &w, "log");
                (w, log)
            })
            .collect()
    }
}

impl Store for Real {
    type Lock = store::LabLock;

    fn lock(&self, lab: &str) -> Result<store::LabLock> {
        store::lock(lab)
    }
    fn claim_names(&self) -> Result<store::LabLock> {
        store::claim_names()
    }
    fn load(&self, lab: &str) -> Result<Option<Record>> {
        store::load(lab)
    }
    fn save(&self, record: &mut Record) -> Result<()> {
        record.note_made_in(netns::self_identity());
        store::save(record)
    }
    fn remove(&self, lab: &str) -> Result<()> {
        store::remove(lab)
    }
    fn all(&self) -> Result<Vec<Record>> {
        store::all()
    }
    fn set_exec_info(&self, lab: &str, node: &str, info: Option<&ExecInfo>) -> Result<()> {
        let files = Files { lab: lab.to_string() };
        files
            .set_exec_info(node, info)
            .map_err(|e| Error::Record { path: files.dir().display().to_string(), message: e.to_string() })
    }
}

impl Probes for Real {
    fn privileged(&self) -> bool {
        super::privilege::admin()
    }

    fn nft_available(&self) -> bool {
        nft::available()
    }

    async fn has_qdisc(&self, kind: &str) -> Result<bool, SysError> {
        let k = kind.to_string();
        tokio::task::spawn_blocking(move || super::netlink::tc::probe(&k))
            .await
            .map_err(|e| SysError::new(format!("probing sch_{kind}"), std::io::Error::other(e)))?
            .map_err(|e| SysError::new(format!("probing sch_{kind}"), e))
    }

    async fn missing_sysctls(&self, keys: Vec<String>, fresh: bool) -> Result<Vec<String>, SysError> {
        let op = || format!("probing sysctls {}", if fresh { "in a new network namespace" } else { "here" });
        tokio::task::spawn_blocking(move || super::sysctl::missing(keys, fresh))
            .await
            .map_err(|e| SysError::new(op(), std::io::Error::other(e)))?
            .map_err(|e| SysError::new(op(), e))
    }

    fn finds_program(&self, root: Option<&std::path::Path>, program: &str) -> bool {
        super::sysctl::finds_program(root, program)
    }

    fn netns_identity(&self) -> Option<(u64, u64)> {
        netns::self_identity()
    }

    fn netns_path(&self, id: (u64, u64)) -> Option<String> {
        netns::path_of(id)
    }

    async fn probe(&self, ns: &NsRef, probe: &Probe, timeout: Duration) -> Result<(), String> {
        let name = match ns {
            NsRef::Named(n) => Some(n.clone()),
            NsRef::Host => None,
        };
        let p = probe.clone();
        // Probes block for up to their timeout: each gets a thread of its own in the namespace.
        let thread = netns::spawn_in(name, move || Ok(super::probe::run(&p, timeout)));
        match tokio::task::spawn_blocking(move || thread.join()).await {
            Ok(Ok(Ok(r))) => r,
            Ok(Ok(Err(e))) => Err(format!("entering {ns}: {e}")),
            Ok(Err(_)) | Err(_) => Err("the probe panicked".to_string()),
        }
    }

    async fn throughput(
        &self,
        from: &NsRef,
        to: &NsRef,
        t: &model::Throughput,
        timeout: Duration,
    ) -> Result<u64, String> {
        let name = |ns: &NsRef| match ns {
            NsRef::Named(n) => Some(n.clone()),
            NsRef::Host => None,
        };
        let (from, to, t) = (name(from), name(to), t.clone());
        tokio::task::spawn_blocking(move || super::throughput::measure(from, to, &t, timeout))
            .await
            .unwrap_or_else(|_| Err("the measure panicked".to_string()))
    }
}

impl Watch for Real {
    fn watch_net(
        &self,
        lab: &str,
        node: &str,
        ns: &NsRef,
        initial: bool,
        tx: std::sync::mpsc::Sender<Feed>,
    ) -> Result<Watcher, SysError> {
        super::events::watch_net(lab, node, ns, initial, tx)
    }
    fn watch_workloads(&self, lab: &str, tx: std::sync::mpsc::Sender<Feed>) -> Result<Watcher, SysError> {
        super::events::watch_workloads(lab, tx)
    }
    fn watch_labs(&self, tx: std::sync::mpsc::Sender<Feed>) -> Result<Watcher, SysError> {
        super::events::watch_labs(tx)
    }
    fn netns_exists(&self, name: &str) -> bool {
        netns::is_mounted(name)
    }
}

impl crate::backend::Capture for Real {
    type Tap = super::capture::PacketTap;

    fn interfaces(&self, ns: &NsRef) -> Result<Vec<String>, SysError> {
        super::capture::interfaces(ns)
    }

    fn tap(
        &self,
        ns: &NsRef,
        ifaces: &[String],
        snaplen: u32,
        filter: Option<&crate::capture::filter::Filter>,
    ) -> Result<Self::Tap, SysError> {
        super::capture::tap(ns, ifaces, snaplen, filter)
    }

    fn stop_signal(&self) -> Result<&'static std::sync::atomic::AtomicBool, SysError> {
        super::capture::stop_signal()
    }
}

impl System for Real {
    type Net = Rtnl;
    type Procs = Procs;

    fn exec_in_node(&self, lab: &str, node: &str, netns: Option<&str>, cmd: &[String]) -> Result<i32> {
        process::run_in_node(lab, node, netns, cmd)
    }

    /// Runs `netlab exec --lab LAB NODE -- CMD` as a child: the very entry `exec_in_node`
    /// is, in a process of its own (it must be single-threaded to enter the node).
    fn spawn_in_node(&self, lab: &str, node: &str, cmd: &[String]) -> std::io::Result<std::process::Child> {
        use std::process::Stdio;
        std::process::Command::new("/proc/self/exe")
            .args(["exec", "--lab", lab, node, "--"])
            .args(cmd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
    }

    async fn pause(&self, d: Duration) {
        tokio::time::sleep(d).await
    }

    fn runtime(&self) -> Result<tokio::runtime::Runtime> {
        super::runtime::runtime()
    }

    fn command_in(&self, ns: &NsRef, program: &str) -> std::io::Result<std::process::Command> {
        match ns {
            NsRef::Named(n) => netns::command_in(n, program),
            NsRef::Host => Ok(std::process::Command::new(program)),
        }
    }

    fn net(&self, lab: &str, kind: FirewallKind) -> Rtnl {
        let net = Rtnl::new(lab).with_firewall(kind);
        if let Ok(mut w) = self.socks.lock() {
            *w = std::sync::Arc::downgrade(&net.sockets());
        }
        net
    }

    fn procs(&self, name: &str, model: Option<&model::Lab>) -> Procs {
        let mut fingerprints = BTreeMap::new();
        let mut netns = BTreeMap::new();
        let mut profiles = BTreeMap::new();
        if let Some(lab) = model {
            for (node, p) in crate::plan::desired::processes(lab) {
                let mut put = |what: &str, fp: &Option<String>| {
                    if let Some(fp) = fp {
                        fingerprints.insert((node.clone(), what.to_string()), fp.clone());
                    }
                };
                put("holder", &p.holder);
                put("limits", &p.limits);
                put("exec", &p.exec);
                for (name, fp) in &p.workloads {
                    fingerprints.insert((node.clone(), format!("workload:{name}")), fp.clone());
                }
            }
            // The holder (netlab's own pid 1 of the node) runs under the default allowlist: the
            // node's own filter is written for its workloads, and may refuse what pid 1 needs
            // to reap and forward signals.
            // Only for the nodes that have a holder: an allowlist is hundreds of rules.
            profiles = lab
                .nodes
                .values()
                .filter(|n| n.processes.isolation.needs_holder())
                .map(|n| {
                    let uts = n.processes.isolation.uts;
                    let filter = match n.processes.seccomp {
                        crate::model::seccomp::Seccomp::Unconfined => n.processes.seccomp.clone(),
                        _ => crate::model::seccomp::profile::default_profile(
                            crate::model::seccomp::profile::DefaultContext { uts },
                        ),
                    };
                    (n.name.clone(), (n.processes.confine, filter))
                })
                .collect();
            netns = lab
                .nodes
                .values()
                .map(|n| {
                    let ns = if let NsRef::Named(s) = &n.ns { Some(s.clone()) } else { None };
                    (n.name.clone(), ns)
                })
                .collect();
        }
        Procs { files: Files { lab: name.to_string() }, netns, fingerprints, profiles }
    }
}
