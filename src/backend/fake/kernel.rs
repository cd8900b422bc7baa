//! The fake kernel's side of each change: what a namespace holds after the call, and the
//! kernel's own reactions that netlab must live with (a veth takes its peer along, routes
//! through a deleted device go with it).

use super::{Fake, FakeNs, NETLAB_PROTO};
use crate::backend::{Firewall, Links, Netns, Spawner};
use crate::error::SysError;
use crate::model::firewall::{Firewall as Rules, FirewallKind};
use crate::model::shape::Shape;
use crate::model::{names, NsRef};
use crate::state::{IfKind, IfState, RouteState};
use ipnetwork::IpNetwork;
use std::collections::BTreeSet;

fn veth(alias: &str, mtu: u32) -> IfState {
    IfState {
        kind: IfKind::Veth,
        alias: Some(alias.to_string()),
        mtu: Some(mtu),
        master: None,
        addrs: Default::default(),
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
    async fn del_netns(&self, names: &[String]) -> Vec<Result<(), SysError>> {
        names.iter().map(|n| self.del_one_netns(n)).collect()
    }
}

impl Fake {
    fn del_one_netns(&self, name: &str) -> Result<(), SysError> {
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
            s.routes.retain(|_, (r, _)| !r.devs().any(|d| d == name));
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
    async fn set_up(&self, ns: &NsRef, name: &str, _: &[IpNetwork]) -> Result<(), SysError> {
        self.log(format!("set_up {ns}:{name}"))?;
        self.with_iface(ns, name, "set_up", |i| i.up = true)
    }
    async fn set_down(&self, ns: &NsRef, name: &str) -> Result<(), SysError> {
        self.log(format!("set_down {ns}:{name}"))?;
        self.with_iface(ns, name, "set_down", |i| i.up = false)
    }
    async fn add_addr(&self, ns: &NsRef, name: &str, addr: &IpNetwork) -> Result<(), SysError> {
        self.log(format!("add_addr {ns}:{name} {addr}"))?;
        self.with_iface(ns, name, "add_addr", |i| i.addrs.insert(*addr))?;
        self.with_ns(ns, "add_addr", |s| s.marked.insert((name.to_string(), *addr))).map(drop)
    }
    async fn del_addr(&self, ns: &NsRef, name: &str, addr: &IpNetwork) -> Result<(), SysError> {
        self.log(format!("del_addr {ns}:{name} {addr}"))?;
        self.with_ns(ns, "del_addr", |s| {
            let Some(iface) = s.ifaces.get_mut(name) else { return };
            iface.addrs.remove(addr);
            s.marked.remove(&(name.to_string(), *addr));
            // The kernel's own reaction: when the interface has no IPv4 address left on that
            // subnet, the routes through gateways on it go.
            let subnet_left = iface.addrs.iter().any(|a| a.is_ipv4() && a.contains(addr.ip()));
            if addr.is_ipv4() && !subnet_left {
                s.routes.retain(|_, (r, _)| !r.via.is_some_and(|v| addr.contains(v)));
            }
        })
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
    async fn del_route(&self, ns: &NsRef, route: &RouteState, proto: u8) -> Result<(), SysError> {
        self.log(format!("del_route {ns} {route}"))?;
        let key = (route.dst, route.metric);
        self.with_ns(ns, "del_route", |s| {
            if s.routes.get(&key).is_some_and(|(_, p)| *p == proto) {
                s.routes.remove(&key);
            }
        })
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
            // As the kernel does: turning forwarding on or off resets accept_redirects.
            if key == "net.ipv4.ip_forward" {
                let redirects = if value == "0" { "1" } else { "0" };
                s.sysctls.insert("net.ipv4.conf.all.accept_redirects".into(), redirects.into());
            }
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
    async fn run_exec(
        &self,
        node: &str,
        commands: &[String],
        _timeout: std::time::Duration,
    ) -> Result<(), SysError> {
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
