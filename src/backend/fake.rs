//! An in-memory machine behind every backend trait, for tests that run without root.
//!
//! It keeps what a kernel would (namespaces with their `lo` mark, interfaces, addresses,
//! routes with their protocol, sysctls, tables), the records, and the fingerprints of what
//! runs, and reads them back the way the real observer does: only what carries the lab's
//! mark. Every call is also logged as a line, and a chosen call can be made to fail, so
//! tests see both the order of calls and the state they leave.

use super::{Firewall, Links, Netns, Observer, Probes, Spawner, Store, System};
use crate::error::{Error, SysError};
use crate::model::firewall::{Firewall as Rules, FirewallKind};
use crate::model::shape::Shape;
use crate::model::{self, names, NsRef};
use crate::state::workload::{ExecInfo, WorkloadStatus};
use crate::state::{IfKind, IfState, NetState, NsState, Observed, ProcsState, Record, RouteState};
use crate::state::{NodeProcs, TeardownView};
use ipnetwork::IpNetwork;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The protocol of the routes netlab adds (as `sys::rtnl::NETLAB_PROTO`).
pub const NETLAB_PROTO: u8 = 78;

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

fn ns_name(ns: &NsRef) -> String {
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

    fn log(&self, line: String) -> Result<(), SysError> {
        let fail =
            self.shared.fail_on.lock().expect("fake").as_ref().is_some_and(|f| line.contains(f.as_str()));
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
    }

    /// The fake machine, to look at or to change behind netlab's back (drift).
    pub fn machine(&self) -> MutexGuard<'_, Machine> {
        self.shared.machine.lock().expect("fake machine")
    }

    /// Runs `f` on namespace `ns`, which must exist.
    fn with_ns<T>(&self, ns: &NsRef, what: &str, f: impl FnOnce(&mut FakeNs) -> T) -> Result<T, SysError> {
        let mut m = self.machine();
        if *ns == NsRef::Host {
            m.ns.entry(NsRef::Host).or_default();
        }
        match m.ns.get_mut(ns) {
            Some(s) => Ok(f(s)),
            None => Err(SysError::errno(format!("{what}: no namespace {}", ns_name(ns)), libc_enoent())),
        }
    }

    fn with_iface<T>(
        &self,
        ns: &NsRef,
        name: &str,
        what: &str,
        f: impl FnOnce(&mut IfState) -> T,
    ) -> Result<T, SysError> {
        let r = self.with_ns(ns, what, |s| s.ifaces.get_mut(name).map(f))?;
        r.ok_or_else(|| SysError::errno(format!("{what}: no interface {name} in {ns}"), libc_enoent()))
    }

    fn stored(&self, node: &str, what: &str) -> Option<String> {
        self.fingerprints.get(&(node.to_string(), what.to_string())).cloned()
    }

    fn note_procs(&self, node: &str, f: impl FnOnce(&mut NodeProcs)) {
        let mut m = self.machine();
        let lab = m.procs.entry(self.lab.clone()).or_default();
        f(lab.entry(node.to_string()).or_default());
        lab.retain(|_, p| *p != NodeProcs::default());
    }
}

fn libc_enoent() -> i32 {
    nix::errno::Errno::ENOENT as i32
}

fn veth(alias: &str, mtu: u32) -> IfState {
    IfState {
        kind: IfKind::Veth,
        alias: Some(alias.to_string()),
        mtu: Some(mtu),
        master: None,
        addrs: BTreeSet::new(),
        up: false,
        shape: None,
    }
}

impl Netns for Fake {
    async fn add_netns(&self, name: &str) -> Result<(), SysError> {
        self.log(format!("add_netns {name}"))?;
        let mut m = self.machine();
        let ns = NsRef::Named(name.to_string());
        if m.ns.contains_key(&ns) {
            return Err(SysError::errno(format!("add_netns {name}"), nix::errno::Errno::EEXIST as i32));
        }
        m.ns.insert(ns, FakeNs { lo_mark: Some(names::netns_mark(&self.lab)), ..Default::default() });
        Ok(())
    }
    async fn del_netns(&self, name: &str) -> Result<(), SysError> {
        self.log(format!("del_netns {name}"))?;
        let mut m = self.machine();
        // A veth goes with its namespace, and takes its peer with it.
        if let Some(gone) = m.ns.remove(&NsRef::Named(name.to_string())) {
            let aliases: BTreeSet<String> = gone.ifaces.values().filter_map(|i| i.alias.clone()).collect();
            for s in m.ns.values_mut() {
                s.ifaces.retain(|_, i| {
                    i.kind != IfKind::Veth || !i.alias.as_ref().is_some_and(|a| aliases.contains(a))
                });
            }
        }
        Ok(())
    }
}

impl Links for Fake {
    async fn add_veth(
        &self,
        a: &(NsRef, String),
        b: &(NsRef, String),
        alias: &str,
        mtu: u32,
    ) -> Result<(), SysError> {
        self.log(format!("add_veth {}:{} {}:{} {alias} {mtu}", a.0, a.1, b.0, b.1))?;
        let what = format!("add_veth {}:{}", a.0, a.1);
        self.with_ns(&b.0, &what, |_| ())?;
        self.with_ns(&a.0, &what, |s| s.ifaces.insert(a.1.clone(), veth(alias, mtu)))?;
        self.with_ns(&b.0, &what, |s| s.ifaces.insert(b.1.clone(), veth(alias, mtu)))?;
        Ok(())
    }
    async fn add_bridge(&self, ns: &NsRef, name: &str, alias: &str) -> Result<(), SysError> {
        self.log(format!("add_bridge {ns}:{name} {alias}"))?;
        let bridge = IfState { kind: IfKind::Bridge, mtu: Some(1500), ..veth(alias, 1500) };
        self.with_ns(ns, "add_bridge", |s| s.ifaces.insert(name.to_string(), bridge)).map(drop)
    }
    async fn del_link(&self, ns: &NsRef, name: &str) -> Result<(), SysError> {
        self.log(format!("del_link {ns}:{name}"))?;
        let gone = self.with_ns(ns, "del_link", |s| s.ifaces.remove(name))?;
        let Some(gone) = gone else { return Ok(()) };
        let mut m = self.machine();
        for s in m.ns.values_mut() {
            if gone.kind == IfKind::Veth {
                s.ifaces.retain(|_, i| i.kind != IfKind::Veth || i.alias != gone.alias);
            }
            // Routes through a device go with it.
            s.routes.retain(|_, (r, _)| r.dev.as_deref() != Some(name));
        }
        Ok(())
    }
    async fn set_mtu(&self, ns: &NsRef, name: &str, mtu: u32) -> Result<(), SysError> {
        self.log(format!("set_mtu {ns}:{name} {mtu}"))?;
        self.with_iface(ns, name, "set_mtu", |i| i.mtu = Some(mtu))
    }
    async fn set_master(&self, ns: &NsRef, name: &str, master: &str) -> Result<(), SysError> {
        self.log(format!("set_master {ns}:{name} {master}"))?;
        self.with_iface(ns, name, "set_master", |i| i.master = Some(master.to_string()))
    }
    async fn set_up(&self, ns: &NsRef, name: &str) -> Result<(), SysError> {
        self.log(format!("set_up {ns}:{name}"))?;
        self.with_iface(ns, name, "set_up", |i| i.up = true)
    }
    async fn add_addr(&self, ns: &NsRef, name: &str, addr: &IpNetwork) -> Result<(), SysError> {
        self.log(format!("add_addr {ns}:{name} {addr}"))?;
        self.with_iface(ns, name, "add_addr", |i| i.addrs.insert(*addr)).map(drop)
    }
    async fn del_addr(&self, ns: &NsRef, name: &str, addr: &IpNetwork) -> Result<(), SysError> {
        self.log(format!("del_addr {ns}:{name} {addr}"))?;
        self.with_iface(ns, name, "del_addr", |i| i.addrs.remove(addr)).map(drop)
    }
    async fn add_route(&self, ns: &NsRef, route: &RouteState) -> Result<(), SysError> {
        self.log(format!("add_route {ns} {route}"))?;
        let key = (route.dst, route.metric);
        let r = self.with_ns(ns, "add_route", |s| {
            if s.routes.contains_key(&key) {
                return Err(nix::errno::Errno::EEXIST as i32);
            }
            s.routes.insert(key, (route.clone(), NETLAB_PROTO));
            Ok(())
        })?;
        r.map_err(|e| SysError::errno(format!("add_route {ns} {route}"), e))
    }
    async fn del_route(&self, ns: &NsRef, route: &RouteState) -> Result<(), SysError> {
        self.log(format!("del_route {ns} {route}"))?;
        self.with_ns(ns, "del_route", |s| s.routes.remove(&(route.dst, route.metric))).map(drop)
    }
    async fn set_shape(&self, ns: &NsRef, name: &str, shape: &Shape) -> Result<(), SysError> {
        self.log(format!("set_shape {ns}:{name} {shape}"))?;
        self.with_iface(ns, name, "set_shape", |i| i.shape = Some(*shape))
    }
    async fn del_shape(&self, ns: &NsRef, name: &str) -> Result<(), SysError> {
        self.log(format!("del_shape {ns}:{name}"))?;
        self.with_iface(ns, name, "del_shape", |i| i.shape = None)
    }
    async fn set_sysctl(&self, ns: &NsRef, key: &str, value: &str) -> Result<String, SysError> {
        self.log(format!("set_sysctl {ns} {key}={value}"))?;
        self.with_ns(ns, "set_sysctl", |s| {
            s.sysctls.insert(key.to_string(), value.to_string()).unwrap_or_else(|| "0".into())
        })
    }
}

impl Firewall for Fake {
    async fn load_table(&self, ns: &NsRef, table: &str, rules: &Rules) -> Result<(), SysError> {
        self.log(format!("load_table {ns}:{table} {} rules", rules.rules().len()))?;
        self.with_ns(ns, "load_table", |s| s.tables.insert(table.to_string(), rules.listing())).map(drop)
    }
    async fn delete_table(&self, ns: &NsRef, table: &str, _: FirewallKind) -> Result<(), SysError> {
        self.log(format!("delete_table {ns}:{table}"))?;
        self.with_ns(ns, "delete_table", |s| s.tables.remove(table)).map(drop)
    }
}

impl Spawner for Fake {
    async fn set_limits(&self, node: &str, _: &crate::model::limits::Limits) -> Result<(), SysError> {
        self.log(format!("set_limits {node}"))?;
        let fp = self.stored(node, "limits");
        self.note_procs(node, |p| p.limits = fp);
        Ok(())
    }
    async fn start_holder(&self, node: &str, _: &crate::model::workload::Isolation) -> Result<(), SysError> {
        self.log(format!("start_holder {node}"))?;
        let fp = self.stored(node, "holder");
        self.note_procs(node, |p| p.holder = fp);
        Ok(())
    }
    async fn stop_holder(&self, node: &str) -> Result<(), SysError> {
        self.log(format!("stop_holder {node}"))?;
        self.note_procs(node, |p| p.holder = None);
        Ok(())
    }
    async fn run_exec(&self, node: &str, commands: &[String]) -> Result<(), SysError> {
        self.log(format!("run_exec {node} {}", commands.join("; ")))?;
        let fp = self.stored(node, "exec");
        self.note_procs(node, |p| p.exec = fp);
        Ok(())
    }
    async fn start_workload(&self, node: &str, w: &crate::model::workload::Workload) -> Result<(), SysError> {
        self.log(format!("start_workload {node}/{}", w.name))?;
        let fp = self.stored(node, &format!("workload:{}", w.name)).unwrap_or_default();
        self.note_procs(node, |p| drop(p.workloads.insert(w.name.clone(), fp)));
        Ok(())
    }
    async fn stop_workload(&self, node: &str, name: &str) -> Result<(), SysError> {
        self.log(format!("stop_workload {node}/{name}"))?;
        self.note_procs(node, |p| drop(p.workloads.remove(name)));
        Ok(())
    }
    async fn stop_all(&self, _: bool) -> Result<(), SysError> {
        self.log(format!("stop_all {}", self.lab))?;
        self.machine().procs.remove(&self.lab);
        Ok(())
    }
}

/// What namespace `s` holds, as the observer reports it: `routes` selects the routes.
fn read_ns(s: &FakeNs, keys: &[String], routes: impl Fn(&RouteState, u8) -> bool) -> NsState {
    NsState {
        ifaces: s.ifaces.clone(),
        routes: s
            .routes
            .iter()
            .filter(|(_, (r, p))| routes(r, *p))
            .map(|(k, (r, _))| (*k, r.clone()))
            .collect(),
        sysctls: keys
            .iter()
            .map(|k| (k.clone(), s.sysctls.get(k).cloned().unwrap_or_else(|| "0".into())))
            .collect(),
        nft: None,
    }
}

impl Observer for Fake {
    async fn observe(
        &self,
        lab: &str,
        want: &NetState,
        record: Option<Record>,
        kind: FirewallKind,
    ) -> Result<Observed, Error> {
        let m = self.machine();
        let mut seen = Observed { record: record.clone(), firewall: kind, ..Default::default() };
        let keys = |ns: &NsRef| -> Vec<String> {
            let mut k: BTreeSet<String> =
                want.get(ns).map(|w| w.sysctls.keys().cloned().collect()).unwrap_or_default();
            if let Some(o) = record.as_ref().and_then(|r| r.sysctl_orig.get(&Record::ns_key(ns))) {
                k.extend(o.keys().cloned());
            }
            k.into_iter().collect()
        };
        let recorded: BTreeSet<String> = record.as_ref().map(|r| r.namespaces.clone()).unwrap_or_default();
        for (ns, s) in &m.ns {
            let NsRef::Named(name) = ns else { continue };
            let wanted = want.contains_key(ns);
            if s.lo_mark.as_deref() != Some(names::netns_mark(lab).as_str()) {
                if wanted {
                    seen.foreign
                        .push(format!("network namespace {name} already exists and is not this lab's"));
                }
                continue;
            }
            if !wanted && !recorded.contains(name) {
                continue;
            }
            let mut state = read_ns(s, &keys(ns), |_, p| p != 2);
            state.nft = s.tables.get(&names::table_name(lab, ns)).cloned();
            seen.ns.insert(ns.clone(), state);
        }
        let host_want = want.get(&NsRef::Host);
        let empty = FakeNs::default();
        let h = m.ns.get(&NsRef::Host).unwrap_or(&empty);
        let recorded_routes = record.as_ref().map(|r| r.host_routes.clone()).unwrap_or_default();
        for (key, (r, p)) in &h.routes {
            if *p != NETLAB_PROTO && host_want.is_some_and(|w| w.routes.contains_key(key)) {
                seen.foreign
                    .push(format!("the host namespace already has a route {r} that is not this lab's"));
            }
        }
        let mut host = read_ns(h, &keys(&NsRef::Host), |r, p| {
            let wanted = host_want.is_some_and(|w| w.routes.contains_key(&(r.dst, r.metric)));
            let recorded = recorded_routes.iter().any(|x| x.dst == r.dst && x.metric == r.metric);
            p == NETLAB_PROTO && (wanted || recorded)
        });
        let mark = names::mark_prefix(lab);
        host.ifaces.retain(|name, i| {
            let ours = i.alias.as_ref().is_some_and(|a| a.starts_with(&mark));
            if !ours && host_want.is_some_and(|w| w.ifaces.contains_key(name)) {
                seen.foreign.push(format!(
                    "interface {name} already exists in the host namespace and is not this lab's"
                ));
            }
            ours
        });
        host.nft = h.tables.get(&names::table_name(lab, &NsRef::Host)).cloned();
        seen.ns.insert(NsRef::Host, host);
        Ok(seen)
    }

    async fn observe_teardown(&self, lab: &str, record: Option<&Record>) -> Result<TeardownView, Error> {
        let m = self.machine();
        let mut view = TeardownView::default();
        let mark = names::netns_mark(lab);
        for (ns, s) in &m.ns {
            let NsRef::Named(name) = ns else { continue };
            let recorded = record.is_some_and(|r| r.namespaces.contains(name));
            if record.is_some() && !recorded {
                continue;
            }
            match s.lo_mark.as_deref() == Some(mark.as_str()) {
                true => view.ours.push(name.clone()),
                false if recorded => view.skipped.push(format!("{name} (not this lab's)")),
                false => {}
            }
        }
        if let Some(h) = m.ns.get(&NsRef::Host) {
            view.host = read_ns(h, &[], |_, p| p == NETLAB_PROTO);
            view.host.nft = h.tables.get(&names::table_name(lab, &NsRef::Host)).cloned();
            if let Some(o) = record.and_then(|r| r.sysctl_orig.get(&Record::ns_key(&NsRef::Host))) {
                view.host_sysctls = o
                    .keys()
                    .map(|k| (k.clone(), h.sysctls.get(k).cloned().unwrap_or_else(|| "0".into())))
                    .collect();
            }
        }
        Ok(view)
    }

    fn fingerprints(&self, lab: &str) -> ProcsState {
        self.machine().procs.get(lab).cloned().unwrap_or_default()
    }

    fn holder(&self, lab: &str, node: &str) -> Option<u32> {
        self.machine().procs.get(lab)?.get(node)?.holder.as_ref().map(|_| 1)
    }

    fn workload_status(&self, _: &str, _: &str) -> Vec<WorkloadStatus> {
        Vec::new()
    }

    fn workload_logs(&self, lab: &str, node: &str) -> Vec<(String, std::path::PathBuf)> {
        let m = self.machine();
        let workloads = m.procs.get(lab).and_then(|p| p.get(node)).map(|p| p.workloads.keys().cloned());
        workloads.into_iter().flatten().map(|w| (w, std::path::PathBuf::from("/dev/null"))).collect()
    }
}

impl Store for Fake {
    type Lock = ();

    fn lock(&self, _: &str) -> Result<(), Error> {
        Ok(())
    }
    fn load(&self, lab: &str) -> Result<Option<Record>, Error> {
        Ok(self.machine().records.get(lab).cloned())
    }
    fn save(&self, record: &mut Record) -> Result<(), Error> {
        self.machine().records.insert(record.lab.clone(), record.clone());
        Ok(())
    }
    fn remove(&self, lab: &str) -> Result<(), Error> {
        let mut m = self.machine();
        m.records.remove(lab);
        m.exec_info.retain(|(l, _), _| l != lab);
        Ok(())
    }
    fn all(&self) -> Result<Vec<Record>, Error> {
        Ok(self.machine().records.values().cloned().collect())
    }
    fn set_exec_info(&self, lab: &str, node: &str, info: Option<&ExecInfo>) -> Result<(), Error> {
        let mut m = self.machine();
        let key = (lab.to_string(), node.to_string());
        match info {
            Some(i) => drop(m.exec_info.insert(key, i.clone())),
            None => drop(m.exec_info.remove(&key)),
        }
        Ok(())
    }
}

impl Probes for Fake {
    fn nft_available(&self) -> bool {
        true
    }
    async fn has_qdisc(&self, kind: &str) -> Result<bool, SysError> {
        Ok(!self.shared.missing_qdiscs.lock().expect("fake").contains(kind))
    }
    /// A ping reaches an address that some namespace holds on an interface that is up.
    async fn probe(&self, _: &NsRef, probe: &model::Probe, _: Duration) -> Result<(), String> {
        let ip = match probe {
            model::Probe::Ping(ip) => *ip,
            model::Probe::Connect(sa) | model::Probe::ConnectUdp(sa) => sa.ip(),
        };
        let m = self.machine();
        let held =
            m.ns.values()
                .flat_map(|s| s.ifaces.values())
                .any(|i| i.up && i.addrs.iter().any(|a| a.ip() == ip));
        if held {
            Ok(())
        } else {
            Err("no answer".into())
        }
    }
}

impl System for Fake {
    type Net = Fake;
    type Procs = Fake;

    /// Runs the command on the host: the fake has no namespaces to enter.
    fn exec_in_node(&self, _: &str, _: &str, _: Option<&str>, cmd: &[String]) -> Result<i32, Error> {
        let (program, args) = cmd.split_first().ok_or_else(|| Error::Usage("an empty command".into()))?;
        let status = std::process::Command::new(program)
            .args(args)
            .status()
            .map_err(|e| Error::Sys(SysError::new(format!("running {program}"), e)))?;
        Ok(status.code().unwrap_or(1))
    }

    fn runtime(&self) -> Result<tokio::runtime::Runtime, Error> {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Sys(SysError::new("starting the async runtime", e)))
    }

    fn command_in(&self, _: &NsRef, program: &str) -> std::io::Result<std::process::Command> {
        Ok(std::process::Command::new(program))
    }

    fn net(&self, lab: &str, _: FirewallKind) -> Fake {
        Fake { lab: lab.to_string(), ..self.clone() }
    }

    fn procs(&self, name: &str, model: Option<&model::Lab>) -> Fake {
        let mut fingerprints = BTreeMap::new();
        for (node, p) in model.map(crate::plan::desired::processes).unwrap_or_default() {
            for (what, fp) in [("holder", &p.holder), ("limits", &p.limits), ("exec", &p.exec)] {
                if let Some(fp) = fp {
                    fingerprints.insert((node.clone(), what.to_string()), fp.clone());
                }
            }
            for (name, fp) in &p.workloads {
                fingerprints.insert((node.clone(), format!("workload:{name}")), fp.clone());
            }
        }
        Fake { lab: name.to_string(), fingerprints, ..self.clone() }
    }
}
