//! The lab's packet filter, loaded one of two ways: nftables (one table per namespace, the
//! default) or the iptables fallback for kernels without nf_tables. The `Firewall` backend
//! lives here, above both, because the choice between them is made per lab, not per call.

pub mod iptables;
pub mod nft;

use crate::model::firewall::{Firewall, FirewallKind};
use std::io;

impl crate::backend::Firewall for crate::sys::netlink::rtnl::Rtnl {
    async fn load_table(
        &self,
        ns: &crate::model::NsRef,
        table: &str,
        rules: &Firewall,
    ) -> Result<(), crate::error::SysError> {
        let (t, r, lab, kind) = (table.to_string(), rules.clone(), self.lab.clone(), self.firewall);
        crate::sys::netns::run(crate::sys::netns::place(ns), move || match kind {
            FirewallKind::Nft => nft::load_table(&t, &r),
            FirewallKind::Iptables => iptables::load_here(&lab, &r),
        })
        .await
        .map_err(|e| {
            crate::error::SysError::new(
                format!("loading nftables table {table} in {ns}"),
                io::Error::other(nft::explain(&e)),
            )
        })
    }

    async fn delete_table(
        &self,
        ns: &crate::model::NsRef,
        table: &str,
        kind: FirewallKind,
    ) -> Result<(), crate::error::SysError> {
        let (t, lab) = (table.to_string(), self.lab.clone());
        crate::sys::netns::run(crate::sys::netns::place(ns), move || match kind {
            FirewallKind::Nft => nft::delete_table(&t),
            FirewallKind::Iptables => iptables::delete_here(&lab),
        })
        .await
        .map_err(|e| {
            crate::error::SysError::new(
                format!("deleting nftables table {table} in {ns}"),
                io::Error::other(nft::explain(&e)),
            )
        })
    }
}

/// Reads the lab's rules in the calling thread's namespace, whichever way they were loaded.
pub fn read_here(kind: FirewallKind, lab: &str, table: &str) -> io::Result<Option<Vec<String>>> {
    match kind {
        FirewallKind::Nft => nft::read_table(table),
        FirewallKind::Iptables => iptables::read_here(lab),
    }
}
