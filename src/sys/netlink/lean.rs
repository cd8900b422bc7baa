//! Dump answers read straight from the wire into what the observer keeps: only the
//! attributes netlab uses are decoded. A link's answer carries dozens (most of it each
//! family's configuration, hundreds of values); decoding them all into owned values, only
//! to drop them, was a fifth of what observing a lab cost.

use crate::state::{IfKind, NextHop, RouteState};
use ipnetwork::IpNetwork;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const RTM_NEWLINK: u16 = 16;
const RTM_NEWADDR: u16 = 20;
const RTM_NEWROUTE: u16 = 24;
const RTM_NEWQDISC: u16 = 36;

const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_IFALIAS: u16 = 20;
const IFF_UP: u32 = 1;

const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_PROTO: u16 = 11;

const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_MULTIPATH: u16 = 9;
const RTA_TABLE: u16 = 15;
const RTA_VIA: u16 = 18;
const RT_TABLE_MAIN: u32 = 254;
const RTN_UNICAST: u8 = 1;
const AF_INET: u16 = 2;
const AF_INET6: u8 = 10;

/// An interface, as a link dump tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct Link {
    pub index: u32,
    pub name: Option<String>,
    pub alias: Option<String>,
    pub mtu: Option<u32>,
    pub master: Option<u32>,
    /// `IFLA_INFO_KIND`: veth, bridge, …; none for a plain device such as `lo`.
    pub kind: Option<String>,
    pub up: bool,
}

impl Link {
    pub fn if_kind(&self) -> IfKind {
        match self.kind.as_deref() {
            Some("veth") => IfKind::Veth,
            Some("bridge") => IfKind::Bridge,
            Some(k) => IfKind::Other(k.to_string()),
            None => IfKind::Other("device".into()),
        }
    }
}

/// An address, as an address dump tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct Addr {
    pub index: u32,
    pub prefix_len: u8,
    pub local: Option<IpAddr>,
    pub address: Option<IpAddr>,
    /// `IFA_PROTO`, where the kernel keeps it.
    pub proto: Option<u8>,
}

/// A route, as a route dump tells it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Route {
    pub family: u8,
    pub dst_len: u8,
    /// `RTA_TABLE` if given, else the header's.
    pub table: u32,
    pub protocol: u8,
    pub kind: u8,
    pub dst: Option<IpAddr>,
    pub gateway: Option<IpAddr>,
    pub oif: Option<u32>,
    pub priority: u32,
    /// Next hops of a multipath route: gateway, interface index, `rtnh_hops`.
    pub hops: Vec<(Option<IpAddr>, u32, u8)>,
}

impl Route {
    /// The route as netlab models it, with its protocol: main-table unicast routes only.
    pub fn state(&self, names: &HashMap<u32, String>) -> Option<(RouteState, u8)> {
        if self.table != RT_TABLE_MAIN || self.kind != RTN_UNICAST {
            return None;
        }
        let unspecified = if self.family == AF_INET6 {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        };
        let dst = IpNetwork::new(self.dst.unwrap_or(unspecified), self.dst_len).ok()?;
        let mut hops: Vec<NextHop> = self
            .hops
            .iter()
            .filter_map(|(gw, index, n)| {
                Some(NextHop { via: (*gw)?, dev: names.get(index).cloned(), weight: *n as u16 + 1 })
            })
            .collect();
        hops.sort();
        let dev = self.oif.and_then(|i| names.get(&i).cloned());
        Some((RouteState { dst, via: self.gateway, dev, metric: self.priority, hops }, self.protocol))
    }
}

/// A qdisc, as a qdisc dump tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct Qdisc {
    pub index: u32,
    pub handle: u32,
    pub parent: u32,
}

/// What a namespace holds, as its dumps report it.
#[derive(Debug, Default)]
pub struct Dump {
    pub links: Vec<Link>,
    pub addrs: Vec<Addr>,
    pub routes: Vec<Route>,
    pub qdiscs: Vec<Qdisc>,
}

fn malformed() -> io::Error {
    io::Error::other("malformed netlink message")
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_ne_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_ne_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

/// The attributes in `b`, as (type without its flag bits, value).
fn attrs(b: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut off = 0;
    std::iter::from_fn(move || {
        let len = u16_at(b, off)? as usize;
        let kind = u16_at(b, off + 2)? & 0x3fff;
        let value = b.get(off + 4..off + len.max(4))?;
        off += (len.max(4) + 3) & !3;
        Some((kind, value))
    })
}

fn text(v: &[u8]) -> String {
    let end = v.iter().position(|c| *c == 0).unwrap_or(v.len());
    String::from_utf8_lossy(&v[..end]).into_owned()
}

/// A name exactly as the kernel holds it, or none when it is not UTF-8: decoded lossily, two
/// such names of someone else's could come out as one.
fn exact_text(v: &[u8]) -> Option<String> {
    let end = v.iter().position(|c| *c == 0).unwrap_or(v.len());
    std::str::from_utf8(&v[..end]).ok().map(str::to_string)
}

fn ip(v: &[u8]) -> Option<IpAddr> {
    match v.len() {
        4 => Some(IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(v).ok()?))),
        16 => Some(IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(v).ok()?))),
        _ => None,
    }
}

fn link(p: &[u8]) -> Option<Link> {
    let mut l = Link {
        index: u32_at(p, 4)?,
        up: u32_at(p, 8)? & IFF_UP != 0,
        name: None,
        alias: None,
        mtu: None,
        master: None,
        kind: None,
    };
    for (kind, v) in attrs(p.get(16..)?) {
        match kind {
            IFLA_IFNAME => l.name = exact_text(v),
            IFLA_IFALIAS => l.alias = exact_text(v),
            IFLA_MTU => l.mtu = u32_at(v, 0),
            IFLA_MASTER => l.master = u32_at(v, 0),
            IFLA_LINKINFO => l.kind = attrs(v).find(|(k, _)| *k == IFLA_INFO_KIND).map(|(_, v)| text(v)),
            _ => {}
        }
    }
    Some(l)
}

fn addr(p: &[u8]) -> Option<Addr> {
    let mut a =
        Addr { index: u32_at(p, 4)?, prefix_len: *p.get(1)?, local: None, address: None, proto: None };
    for (kind, v) in attrs(p.get(8..)?) {
        match kind {
            IFA_LOCAL => a.local = ip(v),
            IFA_ADDRESS => a.address = ip(v),
            IFA_PROTO => a.proto = v.first().copied(),
            _ => {}
        }
    }
    Some(a)
}

/// `RTA_VIA`: an address family, then the address.
fn via(v: &[u8]) -> Option<IpAddr> {
    match u16_at(v, 0)? {
        AF_INET => ip(v.get(2..6)?),
        f if f == AF_INET6 as u16 => ip(v.get(2..18)?),
        _ => None,
    }
}

fn route(p: &[u8]) -> Option<Route> {
    let h = p.get(..12)?;
    let mut r = Route {
        family: h[0],
        dst_len: h[1],
        table: h[4] as u32,
        protocol: h[5],
        kind: h[7],
        ..Route::default()
    };
    for (kind, v) in attrs(&p[12..]) {
        match kind {
            RTA_DST => r.dst = ip(v),
            RTA_GATEWAY => r.gateway = ip(v),
            RTA_OIF => r.oif = u32_at(v, 0),
            RTA_PRIORITY => r.priority = u32_at(v, 0).unwrap_or(0),
            RTA_TABLE => r.table = u32_at(v, 0).unwrap_or(r.table),
            RTA_MULTIPATH => {
                // struct rtnexthop { len u16, flags u8, hops u8, ifindex i32 }, its attributes.
                let mut off = 0;
                while let Some(len) = u16_at(v, off).map(|l| l as usize) {
                    let nh = v.get(off..off + len.max(8))?;
                    let gw = attrs(&nh[8..]).find_map(|(k, a)| match k {
                        RTA_GATEWAY => ip(a),
                        RTA_VIA => via(a),
                        _ => None,
                    });
                    r.hops.push((gw, u32_at(nh, 4)?, nh[3]));
                    off += (len.max(8) + 3) & !3;
                }
            }
            _ => {}
        }
    }
    Some(r)
}

fn qdisc(p: &[u8]) -> Option<Qdisc> {
    Some(Qdisc { index: u32_at(p, 4)?, handle: u32_at(p, 8)?, parent: u32_at(p, 12)? })
}

/// Reads one datagram of a dump into `dump`; true once the dump is done. A NACK becomes the
/// errno it carries. Messages of another sequence number (an earlier request's) are skipped.
pub fn read(buf: &[u8], seq: Option<u32>, dump: &mut Dump) -> io::Result<bool> {
    let mut off = 0;
    while off + 16 <= buf.len() {
        let len = u32_at(buf, off).ok_or_else(malformed)? as usize;
        if len < 16 || off + len > buf.len() {
            return Err(malformed());
        }
        let kind = u16_at(buf, off + 4).ok_or_else(malformed)?;
        let msg_seq = u32_at(buf, off + 8).ok_or_else(malformed)?;
        let p = &buf[off + 16..off + len];
        off += (len + 3) & !3;
        if seq.is_some_and(|s| s != msg_seq) {
            continue;
        }
        match kind {
            NLMSG_DONE => return Ok(true),
            NLMSG_ERROR => {
                let code = u32_at(p, 0).ok_or_else(malformed)? as i32;
                if code != 0 {
                    return Err(io::Error::from_raw_os_error(code.wrapping_neg()));
                }
                return Ok(true);
            }
            RTM_NEWLINK => dump.links.push(link(p).ok_or_else(malformed)?),
            RTM_NEWADDR => dump.addrs.push(addr(p).ok_or_else(malformed)?),
            RTM_NEWROUTE => dump.routes.push(route(p).ok_or_else(malformed)?),
            RTM_NEWQDISC => dump.qdiscs.push(qdisc(p).ok_or_else(malformed)?),
            _ => {}
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netlink_packet_core::{DoneMessage, NetlinkHeader, NetlinkMessage, NetlinkPayload};
    use netlink_packet_route::address::{AddressAttribute, AddressMessage, AddressProtocol};
    use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
    use netlink_packet_route::route::{
        RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteNextHop, RouteProtocol, RouteType,
    };
    use netlink_packet_route::tc::{TcHandle, TcMessage};
    use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

    /// `msgs` as the kernel sends them: one datagram, each message with sequence number 7.
    fn wire(msgs: Vec<RouteNetlinkMessage>, done: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut put = |mut m: NetlinkMessage<RouteNetlinkMessage>| {
            m.header.sequence_number = 7;
            m.finalize();
            let mut b = vec![0; m.buffer_len()];
            m.serialize(&mut b);
            out.extend(b);
        };
        for m in msgs {
            put(NetlinkMessage::from(m));
        }
        if done {
            put(NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::Done(DoneMessage::default())));
        }
        out
    }

    fn veth() -> LinkMessage {
        let mut l = LinkMessage::default();
        l.header.index = 5;
        l.header.flags = LinkFlags::Up | LinkFlags::Broadcast;
        l.attributes = vec![
            LinkAttribute::IfName("eth0".into()),
            LinkAttribute::Mtu(9000),
            LinkAttribute::Controller(3),
            LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Veth)]),
            LinkAttribute::IfAlias("netlab:t:a:eth0--b:eth0".into()),
        ];
        l
    }

    #[test]
    fn a_link_keeps_its_name_alias_mtu_master_kind_and_flag() {
        let mut d = Dump::default();
        let mut lo = LinkMessage::default();
        lo.header.index = 1;
        lo.attributes = vec![LinkAttribute::IfName("lo".into())];
        let buf = wire(vec![RouteNetlinkMessage::NewLink(veth()), RouteNetlinkMessage::NewLink(lo)], true);
        assert!(read(&buf, Some(7), &mut d).unwrap(), "the dump is done");
        let want = Link {
            index: 5,
            name: Some("eth0".into()),
            alias: Some("netlab:t:a:eth0--b:eth0".into()),
            mtu: Some(9000),
            master: Some(3),
            kind: Some("veth".into()),
            up: true,
        };
        assert_eq!(d.links[0], want);
        assert_eq!(d.links[0].if_kind(), IfKind::Veth);
        assert_eq!(d.links[1].if_kind(), IfKind::Other("device".into()));
        assert!(!d.links[1].up);
    }

    #[test]
    fn an_address_keeps_its_local_address_prefix_and_protocol() {
        let mut a = AddressMessage::default();
        a.header.family = AddressFamily::Inet;
        a.header.index = 5;
        a.header.prefix_len = 31;
        a.attributes = vec![
            AddressAttribute::Address("10.0.0.1".parse().unwrap()),
            AddressAttribute::Local("10.0.0.2".parse().unwrap()),
            AddressAttribute::Protocol(AddressProtocol::Other(78)),
        ];
        let mut d = Dump::default();
        assert!(!read(&wire(vec![RouteNetlinkMessage::NewAddress(a)], false), None, &mut d).unwrap());
        let want = Addr {
            index: 5,
            prefix_len: 31,
            local: Some("10.0.0.2".parse().unwrap()),
            address: Some("10.0.0.1".parse().unwrap()),
            proto: Some(78),
        };
        assert_eq!(d.addrs, [want]);
    }

    /// The same route read lean and read whole by netlink-packet-route (`parse::route_state`,
    /// which `events` still uses) is the same route.
    #[test]
    fn a_route_reads_the_same_as_netlink_packet_route_reads_it() {
        let names: HashMap<u32, String> = [(5, "eth0".to_string()), (6, "eth1".to_string())].into();
        let mut plain = RouteMessage::default();
        plain.header.address_family = AddressFamily::Inet;
        plain.header.table = RouteHeader::RT_TABLE_MAIN;
        plain.header.kind = RouteType::Unicast;
        plain.header.protocol = RouteProtocol::Other(78);
        plain.header.destination_prefix_length = 24;
        plain.attributes = vec![
            RouteAttribute::Table(254),
            RouteAttribute::Destination(RouteAddress::Inet("10.9.0.0".parse().unwrap())),
            RouteAttribute::Gateway(RouteAddress::Inet("10.0.0.2".parse().unwrap())),
            RouteAttribute::Oif(5),
            RouteAttribute::Priority(20),
        ];
        let mut multi = RouteMessage::default();
        multi.header.address_family = AddressFamily::Inet6;
        multi.header.table = RouteHeader::RT_TABLE_MAIN;
        multi.header.kind = RouteType::Unicast;
        multi.header.protocol = RouteProtocol::Static;
        let hop = |gw: &str, index: u32, hops: u8| {
            let mut h = RouteNextHop::default();
            h.hops = hops;
            h.interface_index = index;
            h.attributes = vec![RouteAttribute::Gateway(RouteAddress::Inet6(gw.parse().unwrap()))];
            h
        };
        multi.attributes = vec![RouteAttribute::MultiPath(vec![hop("fd00::2", 5, 0), hop("fd01::2", 6, 2)])];
        let mut local = plain.clone();
        local.header.table = 255;
        local.attributes[0] = RouteAttribute::Table(255);
        let msgs = vec![plain.clone(), multi.clone(), local.clone()];
        let mut d = Dump::default();
        read(&wire(msgs.iter().cloned().map(RouteNetlinkMessage::NewRoute).collect(), true), None, &mut d)
            .unwrap();
        assert_eq!(d.routes.len(), 3);
        for (lean, whole) in d.routes.iter().zip(&msgs) {
            assert_eq!(lean.state(&names), super::super::parse::route_state(whole, &names), "{whole:?}");
        }
        let (r, proto) = d.routes[0].state(&names).unwrap();
        assert_eq!((r.to_string(), proto), ("10.9.0.0/24 via 10.0.0.2 dev eth0 metric 20".to_string(), 78));
        assert_eq!(d.routes[1].state(&names).unwrap().0.hops.len(), 2);
        assert!(d.routes[2].state(&names).is_none(), "the local table is not netlab's");
    }

    #[test]
    fn a_qdisc_keeps_its_interface_handle_and_parent_and_a_nack_is_its_errno() {
        let mut q = TcMessage::default();
        q.header.index = 5;
        q.header.handle = TcHandle::from(0x4e4c_0000u32);
        q.header.parent = TcHandle::ROOT;
        let mut d = Dump::default();
        read(&wire(vec![RouteNetlinkMessage::NewQueueDiscipline(q)], false), None, &mut d).unwrap();
        assert_eq!(d.qdiscs, [Qdisc { index: 5, handle: 0x4e4c_0000, parent: u32::from(TcHandle::ROOT) }]);
        // NLMSG_ERROR with -EPERM.
        let mut nack = vec![0u8; 36];
        nack[..4].copy_from_slice(&36u32.to_ne_bytes());
        nack[4..6].copy_from_slice(&2u16.to_ne_bytes());
        nack[16..20].copy_from_slice(&(-1i32).to_ne_bytes());
        let e = read(&nack, None, &mut Dump::default()).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(1));
        // Cut short: refused, not read past.
        assert!(read(&nack[..20], None, &mut Dump::default()).is_err());
    }
}
