//! The effectful edge: the kernel through netlink, /proc and mount(2). Only here: `unsafe`,
//! `setns`, sockets.
//!
//! - `netns`, `sysctl`, `probe`, `seccomp`: single-purpose helpers shared by the rest.
//! - `netlink`: links, addresses, routes and qdiscs, made and read back over rtnetlink.
//! - `firewall`: the lab's nftables tables, or the iptables fallback.
//! - `cgroup`: the groups that limit nodes and workloads, on cgroup v1 and v2.
//! - `process`: the helper processes (namespace holders, workload supervisors, `netlab exec`).

pub mod capture;
pub mod cgroup;
pub mod confine;
pub mod events;
pub mod firewall;
pub mod netlink;
pub mod netns;
pub mod private;
pub mod privilege;
pub mod probe;
pub mod process;
pub mod runtime;
pub mod seccomp;
pub mod store;
pub mod sysctl;
pub mod system;
pub mod throughput;

pub use system::Real;
