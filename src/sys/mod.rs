//! The effectful edge: the kernel through netlink, /proc and mount(2). Only here: `unsafe`,
//! `setns`, sockets.

pub mod dump;
pub mod iptables;
pub mod netns;
pub mod nft;
pub mod observe;
pub mod rtnl;
pub mod sysctl;
