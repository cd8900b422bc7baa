//! The effectful edge: the kernel through netlink, /proc and mount(2). Only here: `unsafe`,
//! `setns`, sockets.
//!
//! - `netns`, `sysctl`, `probe`, `seccomp`: single-purpose helpers shared by the rest.
//! - `netlink`: links, addresses, routes and qdiscs, made and read back over rtnetlink.
//! - `firewall`: the lab's nftables tables, or the iptables fallback.
//! - `cgroup`: the groups that limit nodes and workloads, on cgroup v1 and v2.
//! - `process`: the helper processes (namespace holders, workload supervisors, `netlab exec`).

pub mod cgroup;
pub mod enter;
pub mod firewall;
pub mod init;
pub mod netlink;
pub mod netns;
pub mod probe;
pub mod procs;
pub mod seccomp;
pub mod spawn;
pub mod sysctl;
