//! The JSON that `status --json` and `ls --json` print: one documented shape (docs/json.md),
//! versioned by `"schema"`. Views of their own, not the engine's types, so that what scripts
//! read changes only when `SCHEMA` does; the words are the file's (`"kind": "switch"`,
//! `"to": "default"`, `"peer": "sw:h1-eth0"`).

use crate::engine::status::{End, NodeStatus, Status};
use crate::model::shape::{rate_text, Shape};
use crate::model::{NodeKind, NsRef};
use crate::plan::Op;
use crate::state::workload::WorkloadStatus;
use crate::state::{IfKind, IfState, Record, RouteState};
use serde::Serialize;

/// The version of the shape. Adding a key keeps it; renaming or removing one, or changing
/// what a value means, raises it.
pub const SCHEMA: u32 = 1;

#[derive(Debug, Serialize)]
pub struct StatusView {
    pub schema: u32,
    pub lab: String,
    pub file: String,
    pub prefix: String,
    pub nodes: Vec<NodeView>,
    pub links: Vec<LinkView>,
    /// Runtime overrides (`netlab link down`, `netlab impair`) that `up` respects.
    pub overrides: Vec<OverrideView>,
    /// What `netlab up` would change; empty when the lab matches its file.
    pub drift: Vec<ChangeView>,
    /// Why drift could not be computed (the file is gone or broken); absent when it was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift_unknown: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct NodeView {
    pub name: String,
    /// "netns", "host" or "switch", as the file writes it.
    pub kind: &'static str,
    /// The node's network namespace; absent for the host node.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netns: Option<String>,
    /// Whether its namespace is there.
    pub present: bool,
    pub interfaces: Vec<InterfaceView>,
    pub routes: Vec<RouteView>,
    /// The sysctls the file names, as the kernel holds them: numbers as numbers.
    pub sysctls: serde_json::Map<String, serde_json::Value>,
    /// The lab's firewall table as nft lists it; absent when the node has none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firewall: Option<Vec<String>>,
    /// The pid of the process holding the node's pid/mount/uts/ipc namespaces.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub holder: Option<u32>,
    pub workloads: Vec<WorkloadView>,
    /// What is in the node's namespace that the lab did not make: shown, never drift.
    pub unmanaged: UnmanagedView,
}

#[derive(Debug, Serialize)]
pub struct InterfaceView {
    pub name: String,
    /// "veth", "bridge", or the kernel's word for another kind.
    pub kind: String,
    /// The other end of its link, "NODE:IFACE".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    pub up: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtu: Option<u32>,
    /// The bridge it is a port of.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub master: Option<String>,
    pub addresses: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impairment: Option<ImpairmentView>,
}

/// A link's impairment, in the file's words.
#[derive(Debug, Serialize)]
pub struct ImpairmentView {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jitter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize)]
pub struct RouteView {
    /// "default" or a CIDR.
    pub to: String,
    /// "ipv4" or "ipv6" (a default route says it no other way).
    pub family: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    pub metric: u32,
    /// The next hops of a multipath route; then `via` and `dev` are absent.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub nexthops: Vec<NextHopView>,
    /// The protocol that installed an unmanaged route ("bird", "static", "kernel", or a number).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub proto: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct NextHopView {
    pub via: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dev: Option<String>,
    pub weight: u16,
}

#[derive(Debug, Serialize)]
pub struct WorkloadView {
    pub name: String,
    /// "starting", "running", "backoff", "exited", "failed", "oom-killed", "stopped", "gone".
    pub state: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub supervisor: Option<u32>,
    pub restarts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_exit: Option<String>,
    /// Cgroup usage: bytes of memory, and processes, with their limits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_bytes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_limit: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pids_limit: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oom_kills: Option<u64>,
}

#[derive(Debug, Default, Serialize)]
pub struct UnmanagedView {
    pub routes: Vec<RouteView>,
    pub addresses: Vec<UnmanagedAddrView>,
    pub interfaces: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct UnmanagedAddrView {
    pub iface: String,
    pub address: String,
}

#[derive(Debug, Serialize)]
pub struct LinkView {
    /// The ends, "NODE:IFACE", sorted: a link is an unordered pair.
    pub a: String,
    pub b: String,
    /// Whether the kernel holds both ends.
    pub present: bool,
}

/// A runtime override of the file: a link taken down, an impairment changed.
#[derive(Debug, Serialize)]
pub struct OverrideView {
    /// "link-down" or "impair".
    pub kind: String,
    /// "NODE:IFACE".
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// One change `netlab up` would make.
#[derive(Debug, PartialEq, Serialize)]
pub struct ChangeView {
    /// "add", "remove" or "change".
    pub op: &'static str,
    /// What changes: "netns", "link", "bridge", "addr", "route", "mtu", "master", "state",
    /// "impairment", "sysctl", "firewall", "limits", "holder", "exec", "workload", "processes".
    pub kind: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iface: Option<String>,
    pub detail: String,
    /// The line `netlab plan` prints for it.
    pub text: String,
}

/// `ls --json`.
#[derive(Debug, Serialize)]
pub struct LabsView {
    pub schema: u32,
    pub labs: Vec<LabView>,
}

#[derive(Debug, Serialize)]
pub struct LabView {
    pub lab: String,
    pub prefix: String,
    pub file: String,
    pub nodes: Vec<LabNodeView>,
}

#[derive(Debug, Serialize)]
pub struct LabNodeView {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub netns: Option<String>,
}

pub fn labs(records: &[Record]) -> LabsView {
    let labs = records
        .iter()
        .map(|r| LabView {
            lab: r.lab.clone(),
            prefix: r.prefix.clone(),
            file: r.file.display().to_string(),
            nodes: r.nodes.iter().map(|(n, ns)| LabNodeView { name: n.clone(), netns: ns.clone() }).collect(),
        })
        .collect();
    LabsView { schema: SCHEMA, labs }
}

pub fn status(s: &Status) -> StatusView {
    let end = |(node, iface): &End| format!("{node}:{iface}");
    let peer = |node: &str, iface: &str| {
        let me = (node.to_string(), iface.to_string());
        s.links.iter().find_map(|l| l.peer(&me)).map(end)
    };
    let node_of = |ns: &NsRef| node_of(s, ns);
    StatusView {
        schema: SCHEMA,
        lab: s.lab.clone(),
        file: s.file.clone(),
        prefix: s.prefix.clone(),
        nodes: s.nodes.iter().map(|n| node(n, &peer)).collect(),
        links: s.links.iter().map(|l| LinkView { a: end(&l.a), b: end(&l.b), present: l.present }).collect(),
        overrides: overrides(&s.held),
        drift: s.drift.iter().map(|op| change(op, &node_of)).collect(),
        drift_unknown: s.drift_unknown.clone(),
    }
}

/// The overrides the record holds: links held down, then impairments, each by `NODE:IFACE`.
fn overrides(held: &crate::state::Overrides) -> Vec<OverrideView> {
    let down =
        held.down.iter().map(|t| OverrideView { kind: "link-down".into(), target: t.clone(), detail: None });
    let shapes = held.shapes.iter().map(|(t, shape)| OverrideView {
        kind: "impair".into(),
        target: t.clone(),
        detail: Some(shape.to_string()),
    });
    down.chain(shapes).collect()
}

/// The node whose namespace `ns` is; the namespace's own name when no node has it.
fn node_of(s: &Status, ns: &NsRef) -> String {
    let netns = match ns {
        NsRef::Host => None,
        NsRef::Named(n) => Some(n.as_str()),
    };
    match s.nodes.iter().find(|n| n.netns.as_deref() == netns) {
        Some(n) => n.name.clone(),
        None => netns.unwrap_or("host").to_string(),
    }
}

fn kind_word(k: NodeKind) -> &'static str {
    match k {
        NodeKind::Netns => "netns",
        NodeKind::Host => "host",
        NodeKind::Switch => "switch",
    }
}

fn node(n: &NodeStatus, peer: &dyn Fn(&str, &str) -> Option<String>) -> NodeView {
    let st = n.state.as_ref();
    let unmanaged = st.map(|s| &s.unmanaged);
    NodeView {
        name: n.name.clone(),
        kind: kind_word(n.kind),
        netns: n.netns.clone(),
        present: n.present,
        interfaces: st
            .iter()
            .flat_map(|s| &s.ifaces)
            .map(|(name, i)| interface(name, i, peer(&n.name, name)))
            .collect(),
        routes: st.iter().flat_map(|s| s.routes.values()).map(|r| route(r, None)).collect(),
        sysctls: st.iter().flat_map(|s| &s.sysctls).map(|(k, v)| (k.clone(), sysctl_value(v))).collect(),
        firewall: st.and_then(|s| s.nft.clone()),
        holder: n.holder,
        workloads: n.workloads.iter().map(workload).collect(),
        unmanaged: UnmanagedView {
            routes: unmanaged.iter().flat_map(|u| &u.routes).map(|(r, p)| route(r, Some(*p))).collect(),
            addresses: unmanaged
                .iter()
                .flat_map(|u| &u.addrs)
                .map(|(i, a)| UnmanagedAddrView { iface: i.clone(), address: a.to_string() })
                .collect(),
            interfaces: unmanaged.iter().flat_map(|u| u.links.iter().cloned()).collect(),
        },
    }
}

fn interface(name: &str, i: &IfState, peer: Option<String>) -> InterfaceView {
    InterfaceView {
        name: name.to_string(),
        kind: match &i.kind {
            IfKind::Veth => "veth".to_string(),
            IfKind::Bridge => "bridge".to_string(),
            IfKind::Other(k) => k.to_lowercase(),
        },
        peer,
        up: i.up,
        mtu: i.mtu,
        master: i.master.clone(),
        addresses: i.addrs.iter().map(ToString::to_string).collect(),
        impairment: i.shape.as_ref().filter(|s| !s.is_empty()).map(impairment),
    }
}

fn ms(d: std::time::Duration) -> String {
    format!("{}ms", d.as_secs_f64() * 1000.0)
}

fn impairment(s: &Shape) -> ImpairmentView {
    ImpairmentView {
        rate: s.rate.map(rate_text),
        delay: s.delay.map(ms),
        jitter: s.jitter.map(ms),
        loss: s.loss.map(|l| format!("{l}%")),
        limit: s.limit,
    }
}

/// "default" for a route to anywhere, as the file writes it.
fn destination(r: &RouteState) -> String {
    if r.dst.prefix() == 0 {
        "default".to_string()
    } else {
        r.dst.to_string()
    }
}

fn route(r: &RouteState, proto: Option<u8>) -> RouteView {
    RouteView {
        to: destination(r),
        family: if r.dst.is_ipv4() { "ipv4" } else { "ipv6" },
        via: r.via.map(|v| v.to_string()),
        dev: r.dev.clone(),
        metric: r.metric,
        nexthops: r
            .hops
            .iter()
            .map(|h| NextHopView { via: h.via.to_string(), dev: h.dev.clone(), weight: h.weight })
            .collect(),
        proto: proto.map(crate::state::ns::proto_name),
    }
}

/// A sysctl's value as JSON: an integer as a number, anything else (`4096 87380 6291456`)
/// as the kernel's text.
fn sysctl_value(v: &str) -> serde_json::Value {
    match v.trim().parse::<i64>() {
        Ok(n) => serde_json::Value::from(n),
        Err(_) => serde_json::Value::from(v),
    }
}

fn workload(w: &WorkloadStatus) -> WorkloadView {
    WorkloadView {
        name: w.name.clone(),
        state: w.state.as_str(),
        pid: w.pid,
        supervisor: w.supervisor,
        restarts: w.restarts,
        last_exit: w.last_exit.clone(),
        memory_bytes: w.memory_bytes,
        memory_limit: w.memory_limit,
        pids: w.pids,
        pids_limit: w.pids_limit,
        oom_kills: w.oom_kills,
    }
}

/// The change an op of `up` makes, in the file's terms (nodes, not namespaces).
pub fn change(op: &Op, node_of: &dyn Fn(&NsRef) -> String) -> ChangeView {
    let named = |n: &str| node_of(&NsRef::Named(n.to_string()));
    let end = |(ns, iface): &(NsRef, String)| format!("{}:{iface}", node_of(ns));
    let (verb, kind, node, iface, detail): (&str, &str, Option<String>, Option<&str>, String) = match op {
        Op::StopWorkload { node, name } => ("remove", "workload", Some(node.clone()), None, name.clone()),
        Op::StopHolder { node } => ("remove", "holder", Some(node.clone()), None, String::new()),
        Op::StopProcesses { .. } => ("remove", "processes", None, None, String::new()),
        Op::DelTable { ns, table, .. } => ("remove", "firewall", Some(node_of(ns)), None, table.clone()),
        Op::DelRoute { ns, route } | Op::PruneRoute { ns, route, .. } => {
            ("remove", "route", Some(node_of(ns)), route.dev.as_deref(), route.to_string())
        }
        Op::DelAddr { ns, iface, addr } | Op::PruneAddr { ns, iface, addr } => {
            ("remove", "addr", Some(node_of(ns)), Some(iface), addr.to_string())
        }
        Op::ReplaceAddr { ns, iface, old, new } => {
            ("change", "addr", Some(node_of(ns)), Some(iface), format!("{old} -> {new}"))
        }
        Op::DelLink { ns, iface } => ("remove", "link", Some(node_of(ns)), Some(iface), String::new()),
        Op::DelNetns { ns } => ("remove", "netns", Some(named(ns)), None, ns.clone()),
        Op::AddNetns { ns } => ("add", "netns", Some(named(ns)), None, ns.clone()),
        Op::AddBridge { ns, iface, .. } => ("add", "bridge", Some(node_of(ns)), Some(iface), String::new()),
        Op::AddVeth { a, b, mtu, .. } => {
            ("add", "link", Some(node_of(&a.0)), Some(&a.1), format!("peer {} mtu {mtu}", end(b)))
        }
        Op::SetMtu { ns, iface, mtu } => ("change", "mtu", Some(node_of(ns)), Some(iface), mtu.to_string()),
        Op::SetMaster { ns, iface, master } => {
            ("change", "master", Some(node_of(ns)), Some(iface), master.clone())
        }
        Op::AddAddr { ns, iface, addr } => ("add", "addr", Some(node_of(ns)), Some(iface), addr.to_string()),
        Op::SetUp { ns, iface, .. } => ("change", "state", Some(node_of(ns)), Some(iface), "up".to_string()),
        Op::SetDown { ns, iface } => ("change", "state", Some(node_of(ns)), Some(iface), "down".to_string()),
        Op::SetShape { ns, iface, shape } => {
            ("change", "impairment", Some(node_of(ns)), Some(iface), shape.to_string())
        }
        Op::DelShape { ns, iface } => ("remove", "impairment", Some(node_of(ns)), Some(iface), String::new()),
        Op::SetSysctl { ns, key, value, was } => {
            let detail = match was {
                Some(w) => format!("{key} = {value} (was {w})"),
                None => format!("{key} = {value}"),
            };
            ("change", "sysctl", Some(node_of(ns)), crate::model::names::sysctl_iface(key), detail)
        }
        Op::AddRoute { ns, route } => {
            ("add", "route", Some(node_of(ns)), route.dev.as_deref(), route.to_string())
        }
        Op::LoadTable { ns, table, was, .. } => {
            let verb = if was.is_some() { "change" } else { "add" };
            (verb, "firewall", Some(node_of(ns)), None, table.clone())
        }
        Op::SetLimits { node, .. } => ("change", "limits", Some(node.clone()), None, limits_detail(op)),
        Op::StartHolder { node, .. } => ("add", "holder", Some(node.clone()), None, limits_detail(op)),
        Op::RunExec { node, commands, .. } => ("add", "exec", Some(node.clone()), None, commands.join("; ")),
        Op::StartWorkload { node, workload } => (
            "add",
            "workload",
            Some(node.clone()),
            None,
            format!("{}: {}", workload.name, workload.cmd.join(" ")),
        ),
    };
    ChangeView { op: verb, kind, node, iface: iface.map(str::to_string), detail, text: op.to_string() }
}

/// What follows the colon of a plan line (`~ limits a: memory 64 MiB`).
fn limits_detail(op: &Op) -> String {
    let text = op.to_string();
    text.split_once(": ").map(|(_, d)| d.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    //! Golden JSON: a lab brought up on the fake machine, then changed behind its back, against
    //! `tests/json_golden/*.json` (`NETLAB_BLESS=1` rewrites them).

    use crate::backend::fake::Fake;
    use crate::backend::Store;
    use crate::model::NsRef;
    use crate::state::RouteState;
    use crate::Lab;
    use futures::executor::block_on;
    use std::path::{Path, PathBuf};

    fn dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/json_golden")
    }

    /// The JSON as printed, with the checkout's path made relative to it.
    fn printed(v: &impl serde::Serialize) -> String {
        let text = serde_json::to_string_pretty(v).unwrap() + "\n";
        text.replace(&format!("{}/", env!("CARGO_MANIFEST_DIR")), "")
    }

    fn golden(name: &str, got: &str) {
        let path = dir().join(name);
        if std::env::var_os("NETLAB_BLESS").is_some() {
            std::fs::write(&path, got).unwrap();
        }
        let want = std::fs::read_to_string(&path)
            .unwrap_or_else(|_| panic!("missing {}; run with NETLAB_BLESS=1", path.display()));
        assert_eq!(got, want, "differs from {}", path.display());
    }

    fn up(fake: &Fake) -> Lab {
        let lab = Lab::load(&dir().join("lab.toml")).unwrap();
        block_on(crate::engine::up::up(fake, &lab, Default::default(), &|_| {}, &|| {})).unwrap();
        lab
    }

    #[test]
    fn status_json_of_a_lab_with_drift_and_unmanaged_objects_is_the_golden_one() {
        let fake = Fake::default();
        up(&fake);
        {
            let mut m = fake.machine();
            let h1 = m.ns.get_mut(&NsRef::Named("gold-h1".into())).unwrap();
            // Someone else's: an address and a routing daemon's route (protocol bird).
            h1.ifaces.get_mut("eth0").unwrap().addrs.insert("10.0.0.77/24".parse().unwrap());
            let dst = "10.50.0.0/16".parse().unwrap();
            let r = RouteState::single(dst, Some("10.0.0.2".parse().unwrap()), Some("eth0".into()), 20);
            h1.routes.insert((dst, 20), (r, 12));
            // Drift: an address of the lab's gone, an interface down.
            let h2 = m.ns.get_mut(&NsRef::Named("gold-h2".into())).unwrap();
            let eth0 = h2.ifaces.get_mut("eth0").unwrap();
            eth0.addrs.remove(&"fd00::2/64".parse().unwrap());
            h2.ifaces.get_mut("direct").unwrap().up = false;
        }
        let s = block_on(crate::engine::status::status(&fake, Some("gold"))).unwrap();
        let view = super::status(&s);
        let text = printed(&view);
        for internal in ["Veth", "\"shape\"", "netlab:gold:", "0.0.0.0/0", "::/0"] {
            assert!(!text.contains(internal), "{internal} leaks into status --json:\n{text}");
        }
        golden("status.json", &text);
        // The text status says the same, in lines.
        let lines = super::super::status::text(&s);
        assert!(lines.contains("drift (2 changes `netlab up` would make):"), "{lines}");
    }

    #[test]
    fn without_the_file_kinds_and_peers_come_from_the_kernel_and_drift_is_unknown() {
        let tmp = std::env::temp_dir().join(format!("netlab-json-{}", std::process::id()));
        std::fs::create_dir_all(&tmp).unwrap();
        let file = tmp.join("gold.toml");
        std::fs::copy(dir().join("lab.toml"), &file).unwrap();
        let fake = Fake::default();
        let lab = Lab::load(&file).unwrap();
        block_on(crate::engine::up::up(&fake, &lab, Default::default(), &|_| {}, &|| {})).unwrap();
        std::fs::remove_dir_all(&tmp).unwrap();
        let s = block_on(crate::engine::status::status(&fake, Some("gold"))).unwrap();
        let v = serde_json::to_value(super::status(&s)).unwrap();
        let kinds: Vec<(&str, &str)> = v["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| (n["name"].as_str().unwrap(), n["kind"].as_str().unwrap()))
            .collect();
        assert_eq!(kinds, [("gw", "host"), ("h1", "netns"), ("h2", "netns"), ("sw", "switch")]);
        assert_eq!(v["nodes"][1]["interfaces"][1]["peer"], "sw:h1-eth0", "{v:#}");
        assert_eq!(v["links"].as_array().unwrap().len(), 4, "{v:#}");
        assert_eq!(v["drift"], serde_json::json!([]));
        assert!(v["drift_unknown"].as_str().is_some_and(|w| w.contains("gold.toml")), "{v:#}");
    }

    #[test]
    fn ls_json_is_the_golden_one() {
        let fake = Fake::default();
        up(&fake);
        golden("ls.json", &printed(&super::labs(&fake.all().unwrap())));
        assert_eq!(printed(&super::labs(&[])), "{\n  \"schema\": 1,\n  \"labs\": []\n}\n");
    }
}
