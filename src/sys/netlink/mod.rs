//! Everything netlab says to the kernel over rtnetlink: the async backend that makes links,
//! addresses and routes (`rtnl`), the synchronous dumps that read them back (`dump`), the
//! qdisc messages for link impairments (`tc`) and the reader of a lab's current state
//! (`observe`). Grouped so the one place that speaks the wire format is easy to find; the
//! hand-written attribute encoder below serves nfnetlink (`firewall::nft`) as well.

mod announce;
pub mod dump;
pub mod lean;
pub mod monitor;
pub mod observe;
mod parse;
mod request;
pub mod rtnl;
pub mod sock;
pub mod tc;

/// Appends one netlink attribute (length, type, value, padded to 4 bytes) to `buf`. Both
/// rtnetlink (tc options) and nfnetlink (nft requests) use this layout; it is written by hand
/// where the netlink crates have no type for the attribute.
pub fn nla(buf: &mut Vec<u8>, kind: u16, value: &[u8]) {
    buf.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
    buf.extend_from_slice(&kind.to_ne_bytes());
    buf.extend_from_slice(value);
    buf.resize(buf.len().next_multiple_of(4), 0);
}
