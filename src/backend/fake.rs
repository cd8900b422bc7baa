//! A recording backend: every call is logged as a line, and chosen calls fail.

use super::{Firewall, Links, Netns, Spawner};
use crate::error::SysError;
use crate::model::firewall::Firewall as Rules;
use crate::model::NsRef;
use crate::state::RouteState;
use ipnetwork::IpNetwork;
use std::sync::Mutex;

#[derive(Default)]
pub struct Fake {
    pub calls: Mutex<Vec<String>>,
    /// A call whose log line contains this text fails with EEXIST.
    pub fail_on: Option<String>,
}

impl Fake {
    fn log(&self, line: String) -> Result<(), SysError> {
        let fail = self.fail_on.as_ref().is_some_and(|f| line.contains(f.as_str()));
        self.calls.lock().expect("fake log").push(line.clone());
        if fail {
            return Err(SysError::errno(line, libc_eexist()));
        }
        Ok(())
    }

    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().expect("fake log").clone()
    }
}

fn libc_eexist() -> i32 {
    nix::errno::Errno::EEXIST as i32
}

impl Netns for Fake {
    async fn add_netns(&self, name: &str) -> Result<(), SysError> {
        self.log(format!("add_netns {name}"))
    }
    async fn del_netns(&self, name: &str) -> Result<(), SysError> {
        self.log(format!("del_netns {name}"))
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
        self.log(format!("add_veth {}:{} {}:{} {alias} {mtu}", a.0, a.1, b.0, b.1))
    }
    async fn add_bridge(&self, ns: &NsRef, name: &str, alias: &str) -> Result<(), SysError> {
        self.log(format!("add_bridge {ns}:{name} {alias}"))
    }
    async fn del_link(&self, ns: &NsRef, name: &str) -> Result<(), SysError> {
        self.log(format!("del_link {ns}:{name}"))
    }
    async fn set_mtu(&self, ns: &NsRef, name: &str, mtu: u32) -> Result<(), SysError> {
        self.log(format!("set_mtu {ns}:{name} {mtu}"))
    }
    async fn set_master(&self, ns: &NsRef, name: &str, master: &str) -> Result<(), SysError> {
        self.log(format!("set_master {ns}:{name} {master}"))
    }
    async fn set_up(&self, ns: &NsRef, name: &str) -> Result<(), SysError> {
        self.log(format!("set_up {ns}:{name}"))
    }
    async fn add_addr(&self, ns: &NsRef, name: &str, addr: &IpNetwork) -> Result<(), SysError> {
        self.log(format!("add_addr {ns}:{name} {addr}"))
    }
    async fn del_addr(&self, ns: &NsRef, name: &str, addr: &IpNetwork) -> Result<(), SysError> {
        self.log(format!("del_addr {ns}:{name} {addr}"))
    }
    async fn add_route(&self, ns: &NsRef, route: &RouteState) -> Result<(), SysError> {
        self.log(format!("add_route {ns} {route}"))
    }
    async fn del_route(&self, ns: &NsRef, route: &RouteState) -> Result<(), SysError> {
        self.log(format!("del_route {ns} {route}"))
    }
    async fn set_shape(
        &self,
        ns: &NsRef,
        name: &str,
        shape: &crate::model::shape::Shape,
    ) -> Result<(), SysError> {
        self.log(format!("set_shape {ns}:{name} {shape}"))
    }
    async fn del_shape(&self, ns: &NsRef, name: &str) -> Result<(), SysError> {
        self.log(format!("del_shape {ns}:{name}"))
    }
    async fn set_sysctl(&self, ns: &NsRef, key: &str, value: &str) -> Result<String, SysError> {
        self.log(format!("set_sysctl {ns} {key}={value}"))?;
        Ok("0".into())
    }
}

impl Firewall for Fake {
    async fn load_table(&self, ns: &NsRef, table: &str, rules: &Rules) -> Result<(), SysError> {
        self.log(format!("load_table {ns}:{table} {} rules", rules.rules().len()))
    }
    async fn delete_table(&self, ns: &NsRef, table: &str) -> Result<(), SysError> {
        self.log(format!("delete_table {ns}:{table}"))
    }
}

impl Spawner for Fake {
    async fn set_limits(&self, node: &str, _: &crate::model::limits::Limits) -> Result<(), SysError> {
        self.log(format!("set_limits {node}"))
    }
    async fn start_holder(&self, node: &str, _: &crate::model::workload::Isolation) -> Result<(), SysError> {
        self.log(format!("start_holder {node}"))
    }
    async fn stop_holder(&self, node: &str) -> Result<(), SysError> {
        self.log(format!("stop_holder {node}"))
    }
    async fn run_exec(&self, node: &str, commands: &[String]) -> Result<(), SysError> {
        self.log(format!("run_exec {node} {}", commands.join("; ")))
    }
    async fn start_workload(&self, node: &str, w: &crate::model::workload::Workload) -> Result<(), SysError> {
        self.log(format!("start_workload {node}/{}", w.name))
    }
    async fn stop_workload(&self, node: &str, name: &str) -> Result<(), SysError> {
        self.log(format!("stop_workload {node}/{name}"))
    }
}
