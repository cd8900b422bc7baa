//! The fake machine read back as the real observer reads the kernel (only what carries the
//! lab's mark), its records, its probes, and the `System` that hands out lab handles.

use super::{Fake, FakeNs, NETLAB_PROTO};
use crate::backend::{Observer, Probes, Store, System};
use crate::error::{Error, SysError};
use crate::model::firewall::FirewallKind;
use crate::model::{self, names, NsRef};
use crate::state::own::{self, RawNs};
use crate::state::workload::{ExecInfo, WorkloadStatus};
use crate::state::{NetState, NsState, Observed, ProcsState, Record, TeardownView};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// What namespace `s` holds, as a kernel dump reports it: everything, with its marks.
fn raw(s: &FakeNs, keys: &[String]) -> RawNs {
    let state = NsState {
        ifaces: s.ifaces.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        routes: s.routes.iter().filter(|(_, (_, p))| *p != 2).map(|(k, (r, _))| (*k, r.clone())).collect(),
        sysctls: keys
            .iter()
            .map(|k| (k.clone(), s.sysctls.get(k).cloned().unwrap_or_else(|| "0".into())))
            .collect(),
        nft: None,
        unmanaged: Default::default(),
    };
    RawNs {
        lo_alias: s.lo_mark.clone(),
        state,
        route_protos: s.routes.iter().map(|(k, (_, p))| (*k, *p)).collect(),
        marked_addrs: s.marked.iter().cloned().collect(),
        addr_proto_known: true,
    }
}

impl Observer for Fake {
    async fn observe(
        &self,
        lab: &str,
        want: &NetState,
        record: Option<Record>,
        kind: FirewallKind,
        only: Option<&BTreeSet<String>>,
    ) -> Result<Observed, Error> {
        let m = self.machine();
        let mut looked = Vec::new();
        let mut seen = Observed { record: record.clone(), firewall: kind, ..Default::default() };
        let keys = |ns: &NsRef| own::sysctl_keys(ns, want, record.as_ref());
        let recorded: BTreeSet<String> = record.as_ref().map(|r| r.namespaces.clone()).unwrap_or_default();
        for (ns, s) in &m.ns {
            let NsRef::Named(name) = ns else { continue };
            if only.is_some_and(|o| !o.contains(name)) {
                continue;
            }
            let wanted = want.contains_key(ns);
            if own::owner(lab, s.lo_mark.as_deref()) != own::Owner::Ours {
                if wanted {
                    seen.foreign
                        .push(format!("network namespace {name} already exists and is not this lab's"));
                }
                continue;
            }
            if !wanted && !recorded.contains(name) {
                continue;
            }
            looked.push(name.clone());
            let mut r = raw(s, &keys(ns));
            r.state.nft = s.tables.get(&names::table_name(lab, ns)).cloned();
            let sorted = own::lab_ns(r, ns, lab, want.get(ns), record.as_ref());
            seen.foreign.extend(sorted.foreign);
            seen.clashes.extend(sorted.clashes);
            let mut state = sorted.state;
            own::recall_shapes(&mut state, ns, record.as_ref());
            seen.ns.insert(ns.clone(), state);
        }
        let empty = FakeNs::default();
        let h = m.ns.get(&NsRef::Host).unwrap_or(&empty);
        let mut r = raw(h, &keys(&NsRef::Host));
        r.state.nft = h.tables.get(&names::table_name(lab, &NsRef::Host)).cloned();
        let sorted = own::host(r, lab, want.get(&NsRef::Host), record.as_ref());
        seen.foreign.extend(sorted.foreign);
        seen.ns.insert(NsRef::Host, sorted.state);
        drop(m);
        self.note_look(looked);
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
            let mut r = raw(h, &[]);
            r.state.routes.retain(|k, _| r.route_protos.get(k) == Some(&NETLAB_PROTO));
            view.host = r.state;
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

    fn open_log(&self, path: &std::path::Path) -> std::io::Result<std::fs::File> {
        std::fs::File::open(path)
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
    fn claim_names(&self) -> Result<(), Error> {
        Ok(())
    }
    fn load(&self, lab: &str) -> Result<Option<Record>, Error> {
        Ok(self.machine().records.get(lab).cloned())
    }
    fn save(&self, record: &mut Record) -> Result<(), Error> {
        record.note_made_in(self.netns_here());
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
    fn privileged(&self) -> bool {
        true
    }
    fn nft_available(&self) -> bool {
        true
    }
    async fn has_qdisc(&self, kind: &str) -> Result<bool, SysError> {
        Ok(!self.shared.missing_qdiscs.lock().expect("fake").contains(kind))
    }
    async fn missing_sysctls(&self, keys: Vec<String>, _fresh: bool) -> Result<Vec<String>, SysError> {
        Ok(keys.into_iter().filter(|k| self.lacks_sysctl(k)).collect())
    }
    fn finds_program(&self, _root: Option<&std::path::Path>, program: &str) -> bool {
        !self.lacks_program(program)
    }
    fn netns_identity(&self) -> Option<(u64, u64)> {
        self.netns_here()
    }
    fn netns_path(&self, id: (u64, u64)) -> Option<String> {
        self.netns_path_of(id)
    }
    /// A ping reaches an address that some namespace holds on an interface that is up. The
    /// probe puts one frame on each interface of its namespace, for the taps open there.
    async fn probe(&self, ns: &NsRef, probe: &model::Probe, _: Duration) -> Result<(), String> {
        let ip = match probe {
            model::Probe::Ping(ip) => *ip,
            model::Probe::Connect(sa) | model::Probe::ConnectUdp(sa) => sa.ip(),
            model::Probe::PingAll { .. } | model::Probe::Throughput(_) => {
                return Err(format!("{probe} is not one probe"))
            }
        };
        for iface in crate::backend::Capture::interfaces(self, ns).unwrap_or_default() {
            self.send_packet(ns, &iface, format!("probe {ip}").as_bytes());
        }
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
    /// The fake machine moves no bytes: there is nothing to measure.
    async fn throughput(
        &self,
        _: &NsRef,
        _: &NsRef,
        _: &model::Throughput,
        _: Duration,
    ) -> Result<u64, String> {
        Err("the fake machine carries no traffic".into())
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

    /// Runs the command on the host with `NODE` naming the node in its environment.
    fn spawn_in_node(&self, _: &str, node: &str, cmd: &[String]) -> std::io::Result<std::process::Child> {
        use std::process::Stdio;
        let (program, args) = cmd.split_first().ok_or_else(|| std::io::Error::other("an empty command"))?;
        std::process::Command::new(program)
            .args(args)
            .env("NODE", node)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
    }

    /// The fake kernel does nothing later: no need to wait for it.
    async fn pause(&self, _: Duration) {}

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
