//! The requests `Rtnl` builds: address and route messages as the kernel wants them, and the
//! wait for an interface's carrier to settle.

use super::rtnl::{Rtnl, NETLAB_PROTO};
use crate::model::NsRef;
use crate::state::RouteState;
use ipnetwork::IpNetwork;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{LinkAttribute, LinkFlags, LinkMessage, State};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteNextHop, RouteProtocol, RouteScope,
    RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use std::io;

impl Rtnl {
    /// Waits, a bounded time, until an interface that is up has carrier and the kernel has
    /// acted on it (operstate UP is set by the same linkwatch pass that tells IPv6 of the
    /// carrier). IPv6 resets `conf.IF.mtu` at that moment; written before, a value is lost.
    pub(super) async fn settle_carrier(&self, ns: &NsRef, name: &str) -> Option<LinkMessage> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(500);
        while std::time::Instant::now() < deadline {
            let mut msg = LinkMessage::default();
            msg.attributes.push(LinkAttribute::IfName(name.to_string()));
            let replies = self.request(ns, RouteNetlinkMessage::GetLink(msg), 0).await.ok()?;
            let link = replies.into_iter().find_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(l),
                _ => None,
            })?;
            let oper_up = link.attributes.iter().any(|a| matches!(a, LinkAttribute::OperState(State::Up)));
            // Down by the file's will, or up and settled: nothing more will come.
            if !link.header.flags.contains(LinkFlags::Up) || oper_up {
                return Some(link);
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        None
    }

    pub(super) fn addr_message(index: u32, addr: &IpNetwork) -> AddressMessage {
        let mut msg = AddressMessage::default();
        msg.header.index = index;
        msg.header.prefix_len = addr.prefix();
        match addr {
            IpNetwork::V4(_) => {
                msg.header.family = AddressFamily::Inet;
                msg.attributes.push(AddressAttribute::Local(addr.ip()));
                msg.attributes.push(AddressAttribute::Address(addr.ip()));
            }
            IpNetwork::V6(_) => {
                msg.header.family = AddressFamily::Inet6;
                msg.attributes.push(AddressAttribute::Address(addr.ip()));
            }
        }
        msg
    }

    pub(super) async fn route_message(&self, ns: &NsRef, r: &RouteState) -> io::Result<RouteMessage> {
        let mut msg = RouteMessage::default();
        msg.header.address_family = if r.dst.is_ipv4() { AddressFamily::Inet } else { AddressFamily::Inet6 };
        msg.header.destination_prefix_length = r.dst.prefix();
        msg.header.table = RouteHeader::RT_TABLE_MAIN;
        msg.header.protocol = RouteProtocol::Other(NETLAB_PROTO);
        msg.header.kind = RouteType::Unicast;
        let gatewayed = r.via.is_some() || !r.hops.is_empty();
        msg.header.scope = if gatewayed { RouteScope::Universe } else { RouteScope::Link };
        if r.dst.prefix() > 0 {
            msg.attributes.push(RouteAttribute::Destination(RouteAddress::from(r.dst.network())));
        }
        if let Some(via) = r.via {
            msg.attributes.push(RouteAttribute::Gateway(RouteAddress::from(via)));
        }
        if let Some(dev) = &r.dev {
            msg.attributes.push(RouteAttribute::Oif(self.index(ns, dev).await?));
        }
        if !r.hops.is_empty() {
            let mut hops = Vec::new();
            for h in &r.hops {
                let mut hop = RouteNextHop::default();
                hop.hops = (h.weight.clamp(1, 256) - 1) as u8;
                if let Some(dev) = &h.dev {
                    hop.interface_index = self.index(ns, dev).await?;
                }
                // An IPv4 next hop of an IPv6 route would need RTA_VIA; the file's hops
                // share the route's family (validate checks it).
                hop.attributes.push(RouteAttribute::Gateway(RouteAddress::from(h.via)));
                hops.push(hop);
            }
            msg.attributes.push(RouteAttribute::MultiPath(hops));
        }
        msg.attributes.push(RouteAttribute::Priority(r.metric));
        Ok(msg)
    }
}
