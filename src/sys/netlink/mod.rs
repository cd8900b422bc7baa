//! Everything netlab says to the kernel over rtnetlink: the async backend that makes links,
//! addresses and routes (`rtnl`), the synchronous dumps that read them back (`dump`), the
//! qdisc messages for link impairments (`tc`) and the reader of a lab's current state
//! (`observe`). Grouped so the one place that speaks the wire format is easy to find.

pub mod dump;
pub mod observe;
pub mod rtnl;
pub mod tc;
