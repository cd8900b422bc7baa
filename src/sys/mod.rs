//! The effectful edge: the kernel through netlink, /proc and mount(2). Only here: `unsafe`,
//! `setns`, sockets.

pub mod cgroup;
pub mod dump;
pub mod enter;
pub mod init;
pub mod iptables;
pub mod netns;
pub mod nft;
pub mod observe;
pub mod probe;
pub mod procs;
pub mod runtime;
pub mod store;
pub mod system;

pub use system::Real;
pub mod rtnl;
pub mod seccomp;
pub mod spawn;
pub mod sysctl;
pub mod tc;
