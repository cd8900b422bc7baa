//! `ip monitor link address route` for one namespace: a socket bound to the rtnetlink
//! multicast groups of links, addresses and routes, and the tracker that turns what it
//! hears into events. The socket is opened by a thread inside the namespace and keeps
//! belonging to it afterwards, so the thread that reads it never stays in the namespace.

use super::dump::Dump;
use super::parse::{link_alias, link_name, route_state};
use crate::state::event::{addr_proto_name, Change, LinkAction, What};
use crate::state::ns::proto_name;
use ipnetwork::IpNetwork;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::link::{LinkFlags, LinkMessage};
use netlink_packet_route::route::RouteMessage;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket};
use std::collections::HashMap;
use std::io;
use std::net::IpAddr;

/// The groups `ip monitor` joins for links, addresses and routes (`RTNLGRP_*`).
const GROUPS: [u32; 5] = [
    1,  // RTNLGRP_LINK
    5,  // RTNLGRP_IPV4_IFADDR
    7,  // RTNLGRP_IPV4_ROUTE
    9,  // RTNLGRP_IPV6_IFADDR
    11, // RTNLGRP_IPV6_ROUTE
];

/// A bursty change (a lab of 100 links coming up) must not overflow the queue.
const RCVBUF: usize = 4 << 20;

/// Opens a socket in the calling thread's namespace that hears every change to links,
/// addresses and routes there. Opened before the namespace is dumped, so nothing falls
/// between the dump and the first message.
pub fn subscribe_here() -> io::Result<Socket> {
    let mut sock = Socket::new(NETLINK_ROUTE)?;
    sock.bind_auto()?;
    for g in GROUPS {
        sock.add_membership(g)?;
    }
    sock.set_rx_buf_sz(RCVBUF)?;
    Ok(sock)
}

/// Which interfaces of a namespace are looked at.
#[derive(Debug, Clone, PartialEq)]
pub enum Scope {
    /// A lab namespace: everything in it.
    All,
    /// The host namespace: only interfaces whose alias starts with the lab's mark.
    Marked(String),
}

#[derive(Debug, Clone)]
struct Seen {
    name: String,
    admin_up: bool,
    carrier: bool,
    /// In scope: what happens to it (and its addresses and routes) is reported.
    shown: bool,
}

/// What the monitor knows of a namespace's interfaces: enough to tell a new interface from a
/// changed one, and an up from a down, since the kernel sends the whole link each time.
#[derive(Debug)]
pub struct Tracker {
    scope: Scope,
    links: HashMap<u32, Seen>,
}

fn flags(l: &LinkMessage) -> (bool, bool) {
    (l.header.flags.contains(LinkFlags::Up), l.header.flags.contains(LinkFlags::LowerUp))
}

impl Tracker {
    pub fn new(scope: Scope) -> Tracker {
        Tracker { scope, links: HashMap::new() }
    }

    fn in_scope(&self, l: &LinkMessage, name: &str) -> bool {
        name != "lo"
            && match &self.scope {
                Scope::All => true,
                Scope::Marked(mark) => link_alias(l).is_some_and(|a| a.starts_with(mark.as_str())),
            }
    }

    /// The interface names by index, as `route_state` wants them.
    fn names(&self) -> HashMap<u32, String> {
        self.links.iter().map(|(i, s)| (*i, s.name.clone())).collect()
    }

    fn shown_name(&self, index: u32) -> Option<&str> {
        self.links.get(&index).filter(|s| s.shown).map(|s| s.name.as_str())
    }

    /// Learns what the namespace holds; returns it as snapshot events (`Present`, or the
    /// link's state).
    pub fn seed(&mut self, dump: &Dump) -> Vec<What> {
        self.links.clear();
        let mut out = Vec::new();
        for l in &dump.links {
            let Some(name) = link_name(l) else { continue };
            let (admin_up, carrier) = flags(l);
            let shown = self.in_scope(l, name);
            self.links.insert(l.header.index, Seen { name: name.to_string(), admin_up, carrier, shown });
            if shown {
                let action = if admin_up && carrier { LinkAction::Up } else { LinkAction::Down };
                out.push(What::Link { iface: name.to_string(), action, admin_up, carrier });
            }
        }
        out.extend(dump.addrs.iter().filter_map(|a| self.addr(a, Change::Present)));
        out.extend(dump.routes.iter().filter_map(|r| self.route(r, Change::Present)));
        out
    }

    /// The events one message from the kernel means.
    pub fn apply(&mut self, msg: &RouteNetlinkMessage) -> Vec<What> {
        match msg {
            RouteNetlinkMessage::NewLink(l) => self.new_link(l),
            RouteNetlinkMessage::DelLink(l) => match self.links.remove(&l.header.index) {
                Some(s) if s.shown => vec![What::Link {
                    iface: s.name,
                    action: LinkAction::Removed,
                    admin_up: false,
                    carrier: false,
                }],
                _ => vec![],
            },
            RouteNetlinkMessage::NewAddress(a) => self.addr(a, Change::Added).into_iter().collect(),
            RouteNetlinkMessage::DelAddress(a) => self.addr(a, Change::Removed).into_iter().collect(),
            RouteNetlinkMessage::NewRoute(r) => self.route(r, Change::Added).into_iter().collect(),
            RouteNetlinkMessage::DelRoute(r) => self.route(r, Change::Removed).into_iter().collect(),
            _ => vec![],
        }
    }

    fn new_link(&mut self, l: &LinkMessage) -> Vec<What> {
        let Some(name) = link_name(l) else { return vec![] };
        let (admin_up, carrier) = flags(l);
        let shown = self.in_scope(l, name);
        let before =
            self.links.insert(l.header.index, Seen { name: name.to_string(), admin_up, carrier, shown });
        if !shown {
            return vec![];
        }
        let link = |action| What::Link { iface: name.to_string(), action, admin_up, carrier };
        match before {
            // New, or newly marked as the lab's (the host end of a veth gets its alias after
            // it is made).
            None => vec![link(LinkAction::Added)],
            Some(b) if !b.shown => vec![link(LinkAction::Added)],
            Some(b) => {
                let was = b.admin_up && b.carrier;
                let is = admin_up && carrier;
                if was != is || (!is && b.admin_up != admin_up) {
                    vec![link(if is { LinkAction::Up } else { LinkAction::Down })]
                } else {
                    vec![]
                }
            }
        }
    }

    fn addr(&self, a: &AddressMessage, action: Change) -> Option<What> {
        let iface = self.shown_name(a.header.index)?;
        let attr = |f: fn(&AddressAttribute) -> Option<IpAddr>| a.attributes.iter().find_map(f);
        let local = attr(|x| if let AddressAttribute::Local(ip) = x { Some(*ip) } else { None });
        let address = attr(|x| if let AddressAttribute::Address(ip) = x { Some(*ip) } else { None });
        let ip = local.or(address)?;
        let proto = a.attributes.iter().find_map(|x| match x {
            AddressAttribute::Protocol(p) => Some(addr_proto_name(u8::from(*p))),
            _ => None,
        });
        let addr = IpNetwork::new(ip, a.header.prefix_len).ok()?;
        Some(What::Addr { iface: iface.to_string(), action, addr, proto })
    }

    fn route(&self, r: &RouteMessage, action: Change) -> Option<What> {
        let (route, proto) = route_state(r, &self.names())?;
        // In the host namespace, only routes through the lab's interfaces.
        if let Scope::Marked(_) = self.scope {
            let dev_shown = |d: &Option<String>| {
                d.as_ref().is_some_and(|d| self.links.values().any(|s| s.shown && &s.name == d))
            };
            if !(dev_shown(&route.dev) || route.hops.iter().any(|h| dev_shown(&h.dev))) {
                return None;
            }
        }
        Some(What::Route { action, route, proto: proto_name(proto) })
    }
}

/// The messages in one datagram from a monitor socket; `Err` for `ENOBUFS` is the caller's
/// to handle (events were lost: the namespace is read again).
pub fn parse_datagram(buf: &[u8]) -> Vec<RouteNetlinkMessage> {
    let mut out = Vec::new();
    let mut off = 0;
    while off + 16 <= buf.len() {
        let len = u32::from_ne_bytes(buf[off..off + 4].try_into().expect("4 bytes")) as usize;
        if len < 16 || off + len > buf.len() {
            break;
        }
        if let Ok(msg) = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf[off..off + len]) {
            if let NetlinkPayload::InnerMessage(m) = msg.payload {
                out.push(m);
            }
        }
        off += (len + 3) & !3;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_route::link::LinkAttribute;
    use netlink_packet_route::route::{RouteAddress, RouteAttribute, RouteProtocol};
    use netlink_packet_route::AddressFamily;

    fn link(index: u32, name: &str, alias: Option<&str>, f: LinkFlags) -> LinkMessage {
        let mut l = LinkMessage::default();
        l.header.index = index;
        l.header.flags = f;
        l.attributes.push(LinkAttribute::IfName(name.into()));
        if let Some(a) = alias {
            l.attributes.push(LinkAttribute::IfAlias(a.into()));
        }
        l
    }

    fn up() -> LinkFlags {
        LinkFlags::Up | LinkFlags::LowerUp | LinkFlags::Running
    }

    fn seeded(scope: Scope, links: Vec<LinkMessage>) -> Tracker {
        let mut t = Tracker::new(scope);
        t.seed(&Dump { links, ..Default::default() });
        t
    }

    fn actions(w: &[What]) -> Vec<String> {
        w.iter().map(|w| format!("{} {}", w.kind(), w.action())).collect()
    }

    #[test]
    fn a_link_set_down_then_up_is_one_event_each_and_a_repeat_is_none() {
        let mut t = seeded(Scope::All, vec![link(1, "lo", None, up()), link(2, "eth0", None, up())]);
        let down = RouteNetlinkMessage::NewLink(link(2, "eth0", None, LinkFlags::empty()));
        assert_eq!(actions(&t.apply(&down)), ["link down"]);
        assert!(t.apply(&down).is_empty(), "no change, no event");
        let back = RouteNetlinkMessage::NewLink(link(2, "eth0", None, up()));
        let w = t.apply(&back);
        assert_eq!(actions(&w), ["link up"]);
        assert!(matches!(&w[0], What::Link { iface, carrier: true, .. } if iface == "eth0"));
    }

    #[test]
    fn carrier_lost_with_the_link_still_up_is_a_down_without_carrier() {
        let mut t = seeded(Scope::All, vec![link(2, "eth0", None, up())]);
        let w = t.apply(&RouteNetlinkMessage::NewLink(link(2, "eth0", None, LinkFlags::Up)));
        assert!(matches!(
            w.as_slice(),
            [What::Link { action: LinkAction::Down, admin_up: true, carrier: false, .. }]
        ));
    }

    #[test]
    fn new_and_deleted_links_are_added_and_removed_and_lo_is_never_shown() {
        let mut t = seeded(Scope::All, vec![]);
        assert_eq!(
            actions(&t.apply(&RouteNetlinkMessage::NewLink(link(3, "eth1", None, up())))),
            ["link added"]
        );
        assert!(t.apply(&RouteNetlinkMessage::NewLink(link(1, "lo", None, up()))).is_empty());
        assert_eq!(
            actions(&t.apply(&RouteNetlinkMessage::DelLink(link(3, "eth1", None, up())))),
            ["link removed"]
        );
    }

    #[test]
    fn in_the_host_only_the_labs_marked_interfaces_and_their_addresses_and_routes_show() {
        let mark = "netlab:x".to_string();
        let mut t = seeded(
            Scope::Marked(mark),
            vec![link(2, "eno1", None, up()), link(5, "v-eth", Some("netlab:x:v-eth"), up())],
        );
        assert!(t.apply(&RouteNetlinkMessage::NewLink(link(2, "eno1", None, LinkFlags::empty()))).is_empty());
        assert_eq!(
            actions(&t.apply(&RouteNetlinkMessage::NewLink(link(
                5,
                "v-eth",
                Some("netlab:x:v-eth"),
                LinkFlags::Up
            )))),
            ["link down"]
        );
        let addr = |index| {
            let mut a = AddressMessage::default();
            a.header.index = index;
            a.header.prefix_len = 24;
            a.attributes.push(AddressAttribute::Local("10.200.1.1".parse().unwrap()));
            RouteNetlinkMessage::NewAddress(a)
        };
        assert!(t.apply(&addr(2)).is_empty());
        let w = t.apply(&addr(5));
        assert!(matches!(&w[..], [What::Addr { iface, action: Change::Added, .. }] if iface == "v-eth"));
        let route = |oif| {
            let mut r = RouteMessage::default();
            r.header.address_family = AddressFamily::Inet;
            r.header.table = 254;
            r.header.destination_prefix_length = 16;
            r.header.protocol = RouteProtocol::Static;
            r.header.kind = netlink_packet_route::route::RouteType::Unicast;
            r.attributes.push(RouteAttribute::Destination(RouteAddress::Inet("10.9.0.0".parse().unwrap())));
            r.attributes.push(RouteAttribute::Oif(oif));
            RouteNetlinkMessage::NewRoute(r)
        };
        assert!(t.apply(&route(2)).is_empty());
        let w = t.apply(&route(5));
        assert!(matches!(&w[..], [What::Route { proto, .. }] if proto == "static"), "{w:?}");
    }

    #[test]
    fn a_datagram_of_messages_parses_into_each_of_them() {
        let mut bytes = Vec::new();
        for m in [
            RouteNetlinkMessage::NewLink(link(2, "eth0", None, up())),
            RouteNetlinkMessage::DelLink(link(2, "eth0", None, up())),
        ] {
            let mut msg = NetlinkMessage::from(m);
            msg.finalize();
            let mut out = vec![0; msg.buffer_len()];
            msg.serialize(&mut out);
            bytes.extend_from_slice(&out);
        }
        let msgs = parse_datagram(&bytes);
        assert_eq!(msgs.len(), 2);
        let mut t = seeded(Scope::All, vec![link(2, "eth0", None, up())]);
        let w: Vec<What> = msgs.iter().flat_map(|m| t.apply(m)).collect();
        assert_eq!(actions(&w), ["link removed"]);
    }

    #[test]
    fn a_route_of_a_routing_daemon_is_reported_with_its_protocol() {
        let mut t = seeded(Scope::All, vec![link(2, "eth0", None, up())]);
        let mut r = RouteMessage::default();
        r.header.address_family = AddressFamily::Inet;
        r.header.table = 254;
        r.header.destination_prefix_length = 24;
        r.header.protocol = RouteProtocol::Bird;
        r.header.kind = netlink_packet_route::route::RouteType::Unicast;
        r.attributes.push(RouteAttribute::Destination(RouteAddress::Inet("10.7.0.0".parse().unwrap())));
        r.attributes.push(RouteAttribute::Oif(2));
        let w = t.apply(&RouteNetlinkMessage::DelRoute(r));
        assert!(
            matches!(&w[..], [What::Route { proto, action: Change::Removed, route }] if proto == "bird" && route.dev.as_deref() == Some("eth0")),
            "{w:?}"
        );
    }
}
