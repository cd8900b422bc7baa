//! The narrow interfaces the engine drives. `sys::` implements them on the kernel,
//! `fake::` on an in-memory machine, so `up`, `down` and `status` are tested without root.
//!
//! Each trait is one subsystem. [`System`] bundles them for one machine: the engine is
//! generic over it and never names `sys::`.

pub mod fake;

use crate::error::{Error, SysError};
use crate::model::firewall::{Firewall as Rules, FirewallKind};
use crate::model::{self, NsRef};
use crate::state::workload::{ExecInfo, WorkloadStatus};
use crate::state::{NetState, Observed, ProcsState, Record, RouteState, TeardownView};
use ipnetwork::IpNetwork;

/// Named network namespaces under /run/netns (`ip netns`).
#[allow(async_fn_in_trait)]
pub trait Netns {
    /// Creates the namespace with `lo` up and marked as the lab's.
    async fn add_netns(&self, name: &str) -> Result<(), SysError>;
    /// Removes the names, with a result for each in order; the kernel frees a namespace
    /// when nothing else holds it. One call for all: removed one after the other without a
    /// pause, they go before the kernel's cleanup of the first ones slows the rest down.
    async fn del_netns(&self, names: &[String]) -> Vec<Result<(), SysError>>;
}

/// Links, addresses, routes and sysctls inside a namespace (`ip link|addr|route`, `sysctl`).
#[allow(async_fn_in_trait)]
pub trait Links {
    async fn add_veth(
        &self,
        a: &(NsRef, String),
        b: &(NsRef, String),
        alias: &str,
        mtu: u32,
    ) -> Result<(), SysError>;
    async fn add_bridge(&self, ns: &NsRef, name: &str, alias: &str) -> Result<(), SysError>;
    async fn del_link(&self, ns: &NsRef, name: &str) -> Result<(), SysError>;
    async fn set_mtu(&self, ns: &NsRef, name: &str, mtu: u32) -> Result<(), SysError>;
    async fn set_master(&self, ns: &NsRef, name: &str, master: &str) -> Result<(), SysError>;
    /// Brings the interface up; then, once it has carrier, announces `announce` to its peers.
    async fn set_up(&self, ns: &NsRef, name: &str, announce: &[IpNetwork]) -> Result<(), SysError>;
    /// `ip link set NAME down`.
    async fn set_down(&self, ns: &NsRef, name: &str) -> Result<(), SysError>;
    async fn add_addr(&self, ns: &NsRef, name: &str, addr: &IpNetwork) -> Result<(), SysError>;
    async fn del_addr(&self, ns: &NsRef, name: &str, addr: &IpNetwork) -> Result<(), SysError>;
    async fn add_route(&self, ns: &NsRef, route: &RouteState) -> Result<(), SysError>;
    /// Removes the route of protocol `proto` (netlab's own, or an unmanaged one for `--prune`).
    async fn del_route(&self, ns: &NsRef, route: &RouteState, proto: u8) -> Result<(), SysError>;
    /// Replaces the interface's root qdisc with the lab's impairments.
    async fn set_shape(
        &self,
        ns: &NsRef,
        name: &str,
        shape: &crate::model::shape::Shape,
    ) -> Result<(), SysError>;
    /// Removes the lab's root qdisc; missing counts as done.
    async fn del_shape(&self, ns: &NsRef, name: &str) -> Result<(), SysError>;
    /// Sets a `net.*` sysctl; returns the value it had before.
    async fn set_sysctl(&self, ns: &NsRef, key: &str, value: &str) -> Result<String, SysError>;
}

/// The lab's packet filter and NAT table in a namespace (`nft -f`, `nft delete table`).
#[allow(async_fn_in_trait)]
pub trait Firewall {
    /// Replaces the table with `rules`, atomically.
    async fn load_table(&self, ns: &NsRef, table: &str, rules: &Rules) -> Result<(), SysError>;
    /// Deletes the table (or, for iptables, the lab's chains); missing counts as done.
    async fn delete_table(&self, ns: &NsRef, table: &str, kind: FirewallKind) -> Result<(), SysError>;
}

/// The processes of nodes: cgroups, namespace holders, `exec` commands, workloads.
#[allow(async_fn_in_trait)]
pub trait Spawner {
    async fn set_limits(&self, node: &str, limits: &crate::model::limits::Limits) -> Result<(), SysError>;
    async fn start_holder(
        &self,
        node: &str,
        isolation: &crate::model::workload::Isolation,
    ) -> Result<(), SysError>;
    async fn stop_holder(&self, node: &str) -> Result<(), SysError>;
    /// Runs each command in turn; one that runs past `timeout` is killed, with whatever it
    /// started, and fails the op.
    async fn run_exec(
        &self,
        node: &str,
        commands: &[String],
        timeout: std::time::Duration,
    ) -> Result<(), SysError>;
    async fn start_workload(
        &self,
        node: &str,
        workload: &crate::model::workload::Workload,
    ) -> Result<(), SysError>;
    async fn stop_workload(&self, node: &str, name: &str) -> Result<(), SysError>;
    /// Stops every process of the lab, its cgroups included. `recorded`: whether the lab's
    /// record exists (without it, stray processes are looked for more widely).
    async fn stop_all(&self, recorded: bool) -> Result<(), SysError>;
}

/// Reads the machine: the lab's share of the kernel, and what runs for it.
#[allow(async_fn_in_trait)]
pub trait Observer {
    /// The lab's namespaces and its marked objects in the host: `want` names what it needs,
    /// `record` what it made. `only`: of the lab's namespaces, read just these (the host is
    /// always read). Refuses where mount propagation would hide new namespaces.
    async fn observe(
        &self,
        lab: &str,
        want: &NetState,
        record: Option<Record>,
        kind: FirewallKind,
        only: Option<&std::collections::BTreeSet<String>>,
    ) -> Result<Observed, Error>;
    /// What `down` needs, for lab `lab` with its record (if any).
    async fn observe_teardown(&self, lab: &str, record: Option<&Record>) -> Result<TeardownView, Error>;
    /// The fingerprints of what runs for each node, as its processes recorded them.
    fn fingerprints(&self, lab: &str) -> ProcsState;
    /// The pid of the process holding a node's namespaces, if it is alive.
    fn holder(&self, lab: &str, node: &str) -> Option<u32>;
    /// The state of each workload of a node.
    fn workload_status(&self, lab: &str, node: &str) -> Vec<WorkloadStatus>;
    /// Each workload of a node, with the file its output goes to.
    fn workload_logs(&self, lab: &str, node: &str) -> Vec<(String, std::path::PathBuf)>;
    /// Opens one of those logs to read, never through a symlink.
    fn open_log(&self, path: &std::path::Path) -> std::io::Result<std::fs::File>;
}

/// The state records under /run/netlab: the index of what each lab made.
pub trait Store {
    /// The type that holds the lab's lock until it is dropped.
    type Lock;
    /// Holds the lab for one `up` or `down` at a time.
    fn lock(&self, lab: &str) -> Result<Self::Lock, Error>;
    /// Holds the right to claim namespace names, machine-wide, for one lab at a time: taken
    /// before `up` looks at which names are free and kept until it has made its namespaces,
    /// so two labs that want the same names never both start making them.
    fn claim_names(&self) -> Result<Self::Lock, Error>;
    fn load(&self, lab: &str) -> Result<Option<Record>, Error>;
    /// Notes, the first time, the network namespace the lab is made in (`Record::made_in`),
    /// then writes the record atomically.
    fn save(&self, record: &mut Record) -> Result<(), Error>;
    /// Removes the lab's record and its files; missing counts as done.
    fn remove(&self, lab: &str) -> Result<(), Error>;
    /// Every lab with a record, sorted by name.
    fn all(&self) -> Result<Vec<Record>, Error>;
    /// What `netlab exec` needs to enter a node with processes of its own.
    fn set_exec_info(&self, lab: &str, node: &str, info: Option<&ExecInfo>) -> Result<(), Error>;
}

/// What only this kernel knows: found by trying, before anything changes.
#[allow(async_fn_in_trait)]
pub trait Probes {
    /// Whether netlab holds what it needs to change namespaces: `CAP_NET_ADMIN` and
    /// `CAP_SYS_ADMIN` in its effective set (root has both).
    fn privileged(&self) -> bool;
    /// Whether nf_tables is there.
    fn nft_available(&self) -> bool;
    /// Whether the kernel has the qdisc `kind` (`tbf`, `netem`).
    async fn has_qdisc(&self, kind: &str) -> Result<bool, SysError>;
    /// Which of `keys` (`net.*` sysctls, per-interface ones as `...conf.default.KEY`) have no
    /// file under /proc/sys: in a throwaway new network namespace when `fresh`, else in the
    /// one netlab runs in.
    async fn missing_sysctls(&self, keys: Vec<String>, fresh: bool) -> Result<Vec<String>, SysError>;
    /// Whether `program` names a file a workload can exec: a path (absolute, or relative to
    /// `/`) or a name found on the workload's PATH, inside `root` (a rootfs) or on the host.
    fn finds_program(&self, root: Option<&std::path::Path>, program: &str) -> bool;
    /// The identity of the network namespace netlab runs in: the nsfs device and inode of
    /// `/proc/self/ns/net` (`stat -L`), the `net:[INODE]` that `readlink` shows. `None` when
    /// it cannot be read.
    fn netns_identity(&self) -> Option<(u64, u64)>;
    /// A path that `nsenter --net=` takes to enter the namespace with identity `id`, when one
    /// is known (`/run/netns/NAME`, `/proc/1/ns/net`).
    fn netns_path(&self, id: (u64, u64)) -> Option<String>;
    /// Runs one check's probe from inside namespace `ns`; why it failed, if it did.
    async fn probe(
        &self,
        ns: &NsRef,
        probe: &model::Probe,
        timeout: std::time::Duration,
    ) -> Result<(), String>;
    /// Measures a throughput check: a sink opened in namespace `to`, a sender in `from` that
    /// sends for the check's duration; the rate the sink received, in bits per second, or why
    /// there was none. `timeout` bounds the connect and the drain after the duration.
    async fn throughput(
        &self,
        from: &NsRef,
        to: &NsRef,
        t: &model::Throughput,
        timeout: std::time::Duration,
    ) -> Result<u64, String>;
}

/// What feeds an event stream (`netlab events`).
#[derive(Debug)]
pub enum Feed {
    Event(crate::state::event::Event),
    /// A lab's record appeared or went under /run/netlab: time to look again.
    LabsChanged,
}

/// A watch that runs until this is dropped (its thread stops within a fraction of a second).
#[derive(Debug)]
pub struct Watcher {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Watcher {
    /// A watcher, and the flag its thread checks to know when to stop.
    pub fn new() -> (Watcher, std::sync::Arc<std::sync::atomic::AtomicBool>) {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        (Watcher { stop: stop.clone() }, stop)
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

/// The live sources of `netlab events`: netlink monitors, the workload event files, the
/// run directory. Each watch runs on a thread of its own and sends what it sees to `tx`.
pub trait Watch {
    /// Watches the links, addresses and routes of node `node` of lab `lab` in `ns` (`ip
    /// monitor`); in the host namespace only the lab's own interfaces and what is on them.
    /// With `initial`, first sends what is there now as snapshot events. Ends by itself when
    /// the namespace's name goes.
    fn watch_net(
        &self,
        lab: &str,
        node: &str,
        ns: &NsRef,
        initial: bool,
        tx: std::sync::mpsc::Sender<Feed>,
    ) -> Result<Watcher, SysError>;
    /// Follows what the lab's workload supervisors report, from now on.
    fn watch_workloads(&self, lab: &str, tx: std::sync::mpsc::Sender<Feed>) -> Result<Watcher, SysError>;
    /// Sends `LabsChanged` when a lab's entry under /run/netlab appears or goes.
    fn watch_labs(&self, tx: std::sync::mpsc::Sender<Feed>) -> Result<Watcher, SysError>;
    /// Whether the named network namespace exists (mounted under /run/netns).
    fn netns_exists(&self, name: &str) -> bool;
}

/// Packet capture inside a node (`tcpdump -i IFACE` run in its namespace, natively).
pub trait Capture {
    /// The packets of interfaces opened for capture.
    type Tap: Tap + Send + 'static;
    /// The interfaces of namespace `ns` (`ip -br link`), sorted by name.
    fn interfaces(&self, ns: &NsRef) -> Result<Vec<String>, SysError>;
    /// Starts capturing on each of `ifaces` in `ns` (their order gives the packets' `iface`),
    /// keeping only what `filter` accepts, each packet cut at `snaplen` bytes. Packets are
    /// queued from the moment this returns.
    fn tap(
        &self,
        ns: &NsRef,
        ifaces: &[String],
        snaplen: u32,
        filter: Option<&crate::capture::filter::Filter>,
    ) -> Result<Self::Tap, SysError>;
    /// A flag raised when netlab is told to stop (SIGINT, SIGTERM), for a capture (or an
    /// event stream) that runs until then.
    fn stop_signal(&self) -> Result<&'static std::sync::atomic::AtomicBool, SysError>;
}

/// Interfaces opened for capture.
pub trait Tap {
    /// The next packet, waiting up to `wait` for one; `None` when none came.
    fn next(&mut self, wait: std::time::Duration) -> Result<Option<crate::capture::Packet>, SysError>;
    /// How many packets the kernel dropped so far because they came faster than they were
    /// read (a full socket queue), as tcpdump's "dropped by kernel".
    fn dropped(&mut self) -> u64;
}

/// One machine: everything the engine needs, behind the traits above.
#[allow(async_fn_in_trait)]
pub trait System: Observer + Store + Probes + Capture + Watch {
    /// A command that runs in namespace `ns` (`ip netns exec`).
    fn command_in(&self, ns: &NsRef, program: &str) -> std::io::Result<std::process::Command>;
    /// Runs `cmd` inside every namespace of a node, its cgroup and its seccomp filter, with
    /// stdio and the tty passed through (`netlab exec`); its exit code. Must be called before
    /// any thread is started: it may replace the process.
    fn exec_in_node(&self, lab: &str, node: &str, netns: Option<&str>, cmd: &[String]) -> Result<i32, Error>;
    /// Starts `cmd` in a node as `exec_in_node` would run it, but as a child with stdin from
    /// /dev/null and stdout and stderr piped (`netlab exec --all`).
    fn spawn_in_node(&self, lab: &str, node: &str, cmd: &[String]) -> std::io::Result<std::process::Child>;
    /// Waits a while (for the kernel to act on what it was told).
    async fn pause(&self, d: std::time::Duration);
    /// The async runtime the engine's operations run on.
    fn runtime(&self) -> Result<tokio::runtime::Runtime, Error>;
    /// Changes namespaces, links and rules for one lab.
    type Net: Netns + Links + Firewall;
    /// Starts and stops one lab's processes.
    type Procs: Spawner;
    /// The network backend for lab `lab`, loading its rules through `kind`.
    fn net(&self, lab: &str, kind: FirewallKind) -> Self::Net;
    /// The process backend for lab `name`; `model`, where the file is known, tells each
    /// node's namespace and the fingerprints to store (`down` needs neither).
    fn procs(&self, name: &str, model: Option<&model::Lab>) -> Self::Procs;
}
