//! The kernel backend for namespaces, links, addresses, routes and sysctls: one rtnetlink
//! socket per namespace, opened from a thread inside it and used without a task of its own.

use super::sock::{Sock, SockMap};
use crate::backend::{Links, Netns};
use crate::error::SysError;
use crate::model::{names, NsRef};
use crate::state::RouteState;
use crate::sys::{netns, sysctl};
use ipnetwork::IpNetwork;
use netlink_packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE};
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressHeaderFlags};
use netlink_packet_route::link::{
    InfoData, InfoKind, InfoVeth, LinkAttribute, LinkFlags, LinkInfo, LinkMessage,
};
use netlink_packet_route::route::{RouteProtocol, RouteScope};
use netlink_packet_route::RouteNetlinkMessage;
use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use tokio::sync::OnceCell;

pub use crate::model::names::NETLAB_PROTO;

/// Processes by the identity of the network namespace they are in.
type PidsByNetns = HashMap<(u64, u64), Vec<u32>>;

/// The real backend: rtnetlink sockets by namespace.
pub struct Rtnl {
    pub(crate) lab: String,
    pub(crate) firewall: crate::model::firewall::FirewallKind,
    conns: Arc<SockMap>,
    /// Which namespaces have processes inside, found by one scan of /proc at the first
    /// namespace `down` deletes (after the lab's own processes were stopped); `None` when
    /// /proc could not be read, and every namespace is then looked into on its own.
    occupied: OnceCell<Option<Arc<PidsByNetns>>>,
}

fn sys(op: impl Into<String>, e: io::Error) -> SysError {
    SysError::new(op, e)
}

fn errno(e: &io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}

impl Rtnl {
    /// A backend for lab `lab`.
    pub fn new(lab: &str) -> Rtnl {
        Rtnl {
            lab: lab.to_string(),
            firewall: Default::default(),
            conns: Arc::default(),
            occupied: OnceCell::new(),
        }
    }

    /// The same backend, with the lab's firewall going through `kind`.
    pub fn with_firewall(mut self, kind: crate::model::firewall::FirewallKind) -> Rtnl {
        self.firewall = kind;
        self
    }

    /// The sockets this backend has open, for the observer to share while it lives.
    pub fn sockets(&self) -> Arc<SockMap> {
        self.conns.clone()
    }

    /// The namespace's socket, opened on first use and kept while the budget of open
    /// sockets allows (see `SockMap`); past it, one for this request alone.
    async fn sock(&self, ns: &NsRef) -> io::Result<Arc<Sock>> {
        let cell = self.conns.cell(ns);
        if let Some(s) = cell.get() {
            return Ok(s.clone());
        }
        let sock = netns::run(netns::place(ns), || Sock::open_here().map(Arc::new)).await?;
        if !self.conns.keep(ns, &cell, sock.clone()) {
            // Another request of this namespace kept one first: use that.
            if let Some(s) = cell.get() {
                return Ok(s.clone());
            }
        }
        Ok(sock)
    }

    /// Sends one request and collects the replies; a NACK becomes the errno it carries.
    pub async fn request(
        &self,
        ns: &NsRef,
        msg: RouteNetlinkMessage,
        flags: u16,
    ) -> io::Result<Vec<RouteNetlinkMessage>> {
        self.sock(ns).await?.request(msg, flags)
    }

    /// The index of interface `name`, as `ip link show NAME` finds it.
    pub(super) async fn index(&self, ns: &NsRef, name: &str) -> io::Result<u32> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        let replies = self.request(ns, RouteNetlinkMessage::GetLink(msg), 0).await?;
        replies
            .into_iter()
            .find_map(|m| if let RouteNetlinkMessage::NewLink(l) = m { Some(l.header.index) } else { None })
            .ok_or_else(|| io::Error::from_raw_os_error(nix::libc::ENODEV))
    }

    /// `ip link set NAME ...` by name: the kernel looks the name up when the index is 0.
    async fn set_link(&self, ns: &NsRef, name: &str, mut msg: LinkMessage) -> io::Result<()> {
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        self.request(ns, RouteNetlinkMessage::SetLink(msg), NLM_F_ACK).await.map(drop)
    }

    /// The kernel takes an alias only on an existing link (`ip link set NAME alias ...`).
    async fn set_alias(&self, ns: &NsRef, name: &str, alias: &str) -> io::Result<()> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfAlias(alias.to_string()));
        self.set_link(ns, name, msg).await
    }

    fn ns_file(ns: &NsRef) -> io::Result<File> {
        match ns {
            NsRef::Host => File::open("/proc/self/ns/net"),
            NsRef::Named(n) => File::open(netns::path(n)),
        }
    }
}

fn at(ns: &NsRef, name: &str) -> String {
    match ns {
        NsRef::Host => format!("host:{name}"),
        NsRef::Named(n) => format!("{n}:{name}"),
    }
}

/// Errors that mean "already as wanted" for an idempotent operation.
fn ok_if(r: io::Result<()>, done: &[i32]) -> io::Result<()> {
    match r {
        Err(e) if done.contains(&errno(&e)) => Ok(()),
        other => other,
    }
}

impl Netns for Rtnl {
    async fn add_netns(&self, name: &str) -> Result<(), SysError> {
        let n = name.to_string();
        let sock = netns::run(netns::Place::New { name: n, mark: names::netns_mark(&self.lab) }, move || {
            sysctl::lab_defaults();
            Sock::open_here()
        })
        .await
        .map_err(|e| sys(format!("creating netns {name}"), e))?;
        let cell = self.conns.cell(&NsRef::Named(name.to_string()));
        self.conns.keep(&NsRef::Named(name.to_string()), &cell, Arc::new(sock));
        Ok(())
    }

    async fn del_netns(&self, names: &[String]) -> Vec<Result<(), SysError>> {
        for n in names {
            self.conns.forget(&NsRef::Named(n.clone()));
        }
        let occupied = self
            .occupied
            .get_or_init(|| async {
                tokio::task::spawn_blocking(crate::sys::process::pids_by_netns).await.ok().map(Arc::new)
            })
            .await
            .clone();
        let all = names.to_vec();
        // Each unmount waits out an RCU grace period after it has let go of the mount lock:
        // unmounts in flight together share one. A few threads, each working through its
        // share of the names without a pause, so that a 1000-node lab goes in one grace
        // period per thread's step, not one per namespace.
        tokio::task::spawn_blocking(move || {
            let delete = |n: &String| {
                let look = match (&occupied, netns::id_of(n)) {
                    (Some(by_ns), Some(id)) => by_ns.contains_key(&id),
                    _ => true,
                };
                netns::delete_checked(n, look)
            };
            netns::spread(&all, DELETERS, delete)
                .into_iter()
                .zip(&all)
                .map(|(r, n)| r.map_err(|e| sys(format!("deleting netns {n}"), e)).and_then(|r| r))
                .collect::<Vec<_>>()
        })
        .await
        .unwrap_or_else(|e| {
            names
                .iter()
                .map(|n| Err(sys(format!("deleting netns {n}"), io::Error::other(e.to_string()))))
                .collect()
        })
    }
}

/// Threads that remove a lab's namespace names together (see `del_netns`).
const DELETERS: usize = 16;

impl Links for Rtnl {
    async fn add_veth(
        &self,
        a: &(NsRef, String),
        b: &(NsRef, String),
        alias: &str,
        mtu: u32,
    ) -> Result<(), SysError> {
        let op = format!("creating veth {} <-> {}", at(&a.0, &a.1), at(&b.0, &b.1));
        // The peer is placed in its namespace by the creating request itself: moving an
        // interface later waits for an RCU grace period under the kernel's rtnl lock, which
        // makes a 100-link lab take seconds. Until they are marked, the two ends are known as
        // the lab's by the record (host ends) or by their lab namespace (`state::own`).
        let peer_ns = if a.0 != b.0 { Some(Self::ns_file(&b.0).map_err(|e| sys(&op, e))?) } else { None };
        let mut peer = LinkMessage::default();
        peer.attributes.push(LinkAttribute::IfName(b.1.clone()));
        peer.attributes.push(LinkAttribute::Mtu(mtu));
        if let Some(f) = &peer_ns {
            peer.attributes.push(LinkAttribute::NetNsFd(f.as_raw_fd()));
        }
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(a.1.clone()));
        msg.attributes.push(LinkAttribute::Mtu(mtu));
        msg.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Veth),
            LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(peer))),
        ]));
        self.request(&a.0, RouteNetlinkMessage::NewLink(msg), NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)
            .await
            .map_err(|e| sys(&op, e))?;
        drop(peer_ns);
        for end in [a, b] {
            self.set_alias(&end.0, &end.1, alias)
                .await
                .map_err(|e| sys(format!("marking {}", at(&end.0, &end.1)), e))?;
            if end.0 == NsRef::Host {
                // Lab namespaces give their interfaces the lab's knobs by default.
                sysctl::lab_knobs(&end.1);
            }
        }
        Ok(())
    }

    async fn add_bridge(&self, ns: &NsRef, name: &str, alias: &str) -> Result<(), SysError> {
        let op = format!("creating bridge {}", at(ns, name));
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        msg.attributes.push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::Bridge)]));
        self.request(ns, RouteNetlinkMessage::NewLink(msg), NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)
            .await
            .map_err(|e| sys(&op, e))?;
        self.set_alias(ns, name, alias).await.map_err(|e| sys(&op, e))
    }

    async fn del_link(&self, ns: &NsRef, name: &str) -> Result<(), SysError> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::IfName(name.to_string()));
        let r = self.request(ns, RouteNetlinkMessage::DelLink(msg), NLM_F_ACK).await.map(drop);
        ok_if(r, &[nix::libc::ENODEV]).map_err(|e| sys(format!("deleting link {}", at(ns, name)), e))
    }

    async fn set_mtu(&self, ns: &NsRef, name: &str, mtu: u32) -> Result<(), SysError> {
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::Mtu(mtu));
        self.set_link(ns, name, msg)
            .await
            .map_err(|e| sys(format!("setting mtu {mtu} on {}", at(ns, name)), e))
    }

    async fn set_master(&self, ns: &NsRef, name: &str, master: &str) -> Result<(), SysError> {
        let op = format!("enslaving {} to {master}", at(ns, name));
        let idx = self.index(ns, master).await.map_err(|e| sys(&op, e))?;
        let mut msg = LinkMessage::default();
        msg.attributes.push(LinkAttribute::Controller(idx));
        self.set_link(ns, name, msg).await.map_err(|e| sys(&op, e))
    }

    async fn set_down(&self, ns: &NsRef, name: &str) -> Result<(), SysError> {
        let mut msg = LinkMessage::default();
        msg.header.change_mask = LinkFlags::Up;
        self.set_link(ns, name, msg).await.map_err(|e| sys(format!("taking down {}", at(ns, name)), e))
    }

    async fn set_up(&self, ns: &NsRef, name: &str, announce: &[IpNetwork]) -> Result<(), SysError> {
        let mut msg = LinkMessage::default();
        msg.header.flags = LinkFlags::Up;
        msg.header.change_mask = LinkFlags::Up;
        self.set_link(ns, name, msg).await.map_err(|e| sys(format!("bringing up {}", at(ns, name)), e))?;
        if announce.is_empty() {
            return Ok(());
        }
        let Some(link) = self.settle_carrier(ns, name).await else { return Ok(()) };
        let mac = link.attributes.iter().find_map(|a| match a {
            LinkAttribute::Address(m) if m.len() == 6 => <[u8; 6]>::try_from(m.as_slice()).ok(),
            _ => None,
        });
        let Some(mac) = mac else { return Ok(()) };
        let (index, addrs) = (link.header.index, announce.to_vec());
        // Twice, a moment apart: the far end's bridge may take the port's carrier a little
        // after this end has it. Best effort: peers also learn in time on their own.
        for pause in [0, 100] {
            tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
            let a = addrs.clone();
            let _ =
                netns::run(netns::place(ns), move || super::announce::announce_here(index, mac, &a)).await;
        }
        Ok(())
    }

    async fn add_addr(&self, ns: &NsRef, name: &str, addr: &IpNetwork) -> Result<(), SysError> {
        let op = format!("adding address {addr} to {}", at(ns, name));
        let idx = self.index(ns, name).await.map_err(|e| sys(&op, e))?;
        let mut msg = Self::addr_message(idx, addr);
        // The mark that tells the lab's addresses from those programs add (Linux 6.3+;
        // older kernels ignore it).
        msg.attributes.push(AddressAttribute::Protocol(NETLAB_PROTO.into()));
        if addr.is_ipv6() {
            // Usable at once: no duplicate address detection on lab addresses.
            msg.header.flags = AddressHeaderFlags::Nodad;
            msg.attributes.push(AddressAttribute::Flags(AddressFlags::Nodad));
        }
        let r = self
            .request(ns, RouteNetlinkMessage::NewAddress(msg), NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)
            .await
            .map(drop);
        ok_if(r, &[nix::libc::EEXIST]).map_err(|e| sys(&op, e))
    }

    async fn del_addr(&self, ns: &NsRef, name: &str, addr: &IpNetwork) -> Result<(), SysError> {
        let op = format!("removing address {addr} from {}", at(ns, name));
        let idx = match self.index(ns, name).await {
            Err(e) if errno(&e) == nix::libc::ENODEV => return Ok(()),
            r => r.map_err(|e| sys(&op, e))?,
        };
        let msg = Self::addr_message(idx, addr);
        let r = self.request(ns, RouteNetlinkMessage::DelAddress(msg), NLM_F_ACK).await.map(drop);
        ok_if(r, &[nix::libc::EADDRNOTAVAIL, nix::libc::ENODEV]).map_err(|e| sys(&op, e))
    }

    async fn add_route(&self, ns: &NsRef, route: &RouteState) -> Result<(), SysError> {
        let op = format!("adding route {route} in {ns}");
        let msg = self.route_message(ns, route).await.map_err(|e| sys(&op, e))?;
        // A route of the same destination and metric that is there now is someone else's (a
        // routing daemon's, or the host's): never replace it. `observe` refuses such a clash
        // before anything is done; one that appears since fails here.
        self.request(ns, RouteNetlinkMessage::NewRoute(msg), NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)
            .await
            .map(drop)
            .map_err(|e| sys(&op, e))
    }

    async fn del_route(&self, ns: &NsRef, route: &RouteState, proto: u8) -> Result<(), SysError> {
        let op = format!("removing route {route} in {ns}");
        // Its gateway and interface too, so that only this route goes (an IPv6 route of
        // another protocol may share its destination and metric as a sibling). An interface
        // that is gone took the route with it.
        let r = RouteState::single(route.dst, route.via, route.dev.clone(), route.metric);
        let mut msg = match self.route_message(ns, &r).await {
            Err(e) if errno(&e) == nix::libc::ENODEV => return Ok(()),
            r => r.map_err(|e| sys(&op, e))?,
        };
        // The kernel deletes only a route of this protocol: never someone else's by mistake.
        msg.header.protocol = RouteProtocol::from(proto);
        msg.header.scope = RouteScope::NoWhere;
        let res = self.request(ns, RouteNetlinkMessage::DelRoute(msg), NLM_F_ACK).await.map(drop);
        ok_if(res, &[nix::libc::ESRCH, nix::libc::ENOENT, nix::libc::ENODEV]).map_err(|e| sys(&op, e))
    }

    async fn set_shape(
        &self,
        ns: &NsRef,
        name: &str,
        shape: &crate::model::shape::Shape,
    ) -> Result<(), SysError> {
        let op = format!("shaping {} ({shape})", at(ns, name));
        let idx = self.index(ns, name).await.map_err(|e| sys(&op, e))?;
        let msg = super::tc::replace_message(idx, shape);
        self.request(
            ns,
            RouteNetlinkMessage::NewQueueDiscipline(msg),
            NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE,
        )
        .await
        .map(drop)
        .map_err(|e| match e.raw_os_error() {
            Some(nix::libc::ENOENT) => sys(&op, io::Error::other(super::tc::missing(shape.kind()))),
            _ => sys(&op, e),
        })
    }

    async fn del_shape(&self, ns: &NsRef, name: &str) -> Result<(), SysError> {
        let op = format!("removing the qdisc of {}", at(ns, name));
        let idx = match self.index(ns, name).await {
            Err(e) if errno(&e) == nix::libc::ENODEV => return Ok(()),
            r => r.map_err(|e| sys(&op, e))?,
        };
        let r = self
            .request(ns, RouteNetlinkMessage::DelQueueDiscipline(super::tc::delete_message(idx)), NLM_F_ACK)
            .await
            .map(drop);
        ok_if(r, &[nix::libc::ENOENT, nix::libc::EINVAL]).map_err(|e| sys(&op, e))
    }

    async fn set_sysctl(&self, ns: &NsRef, key: &str, value: &str) -> Result<String, SysError> {
        let op = format!("setting {key} = {value} in {ns}");
        if let Some(iface) = names::sysctl_iface(key).filter(|_| key.starts_with("net.ipv6.conf.")) {
            self.settle_carrier(ns, iface).await;
        }
        let (k, v) = (key.to_string(), value.to_string());
        netns::run(netns::place(ns), move || sysctl::swap(&k, &v)).await.map_err(|e| sys(&op, e))
    }
}
