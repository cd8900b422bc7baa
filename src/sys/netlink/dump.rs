//! A plain, synchronous rtnetlink reader for the calling thread's namespace: links, then each
//! family's addresses and routes, in five dumps over one short-lived socket. Observing a lab
//! runs this on the namespace workers, so a no-op `up` opens no async connection at all.

use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_route::address::AddressMessage;
use netlink_packet_route::link::{LinkAttribute, LinkExtentMask, LinkMessage};
use netlink_packet_route::route::RouteMessage;
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket};
use std::cell::RefCell;
use std::io;

/// What a namespace holds, as the kernel reports it.
#[derive(Debug, Default)]
pub struct Dump {
    pub links: Vec<LinkMessage>,
    pub addrs: Vec<AddressMessage>,
    pub routes: Vec<RouteMessage>,
    pub qdiscs: Vec<netlink_packet_route::tc::TcMessage>,
}

/// Big enough for any datagram a dump sends; allocated once per worker thread.
const RECV_BUF: usize = 256 * 1024;

thread_local! {
    static BUF: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(RECV_BUF));
}

/// Dumps the namespace the calling thread is in; its qdiscs only when `qdiscs`.
pub fn dump_here(qdiscs: bool) -> io::Result<Dump> {
    let sock = socket_here()?;
    let mut dump = Dump::default();
    for (seq, req) in requests(qdiscs).into_iter().enumerate() {
        send(&sock, req, NLM_F_DUMP, seq as u32 + 1)?;
        BUF.with(|buf| read_until_done(&sock, &mut buf.borrow_mut(), &mut dump))?;
    }
    Ok(dump)
}

/// [`dump_here`] read lean (only what the observer keeps), on the same one socket.
pub fn lean_here(qdiscs: bool) -> io::Result<super::lean::Dump> {
    let sock = socket_here()?;
    let mut dump = super::lean::Dump::default();
    for (seq, req) in requests(qdiscs).into_iter().enumerate() {
        send(&sock, req, NLM_F_DUMP, seq as u32 + 1)?;
        read_lean(&sock, None, &mut dump)?;
    }
    Ok(dump)
}

/// [`lean_here`] over a socket already open in the namespace: no thread enters it.
pub fn lean_over(sock: &super::sock::Sock, qdiscs: bool) -> io::Result<super::lean::Dump> {
    let mut dump = super::lean::Dump::default();
    for req in requests(qdiscs) {
        sock.dump_lean(req, &mut dump)?;
    }
    Ok(dump)
}

/// One dump request per kind of object.
fn requests(qdiscs: bool) -> Vec<RouteNetlinkMessage> {
    let mut link_req = LinkMessage::default();
    // Counters are not state; leaving them out makes the dump several times smaller.
    link_req.attributes.push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    // A dump per family, not one of AF_UNSPEC: the kernel serves an AF_UNSPEC address or
    // route dump under the machine-wide rtnl mutex (each family's in turn), a family's own
    // without it. Observing a lab then neither waits for whoever holds rtnl (another lab
    // being made) nor makes its own workers wait for each other.
    let mut requests = vec![RouteNetlinkMessage::GetLink(link_req)];
    for family in [AddressFamily::Inet, AddressFamily::Inet6] {
        let mut addr_req = AddressMessage::default();
        addr_req.header.family = family;
        requests.push(RouteNetlinkMessage::GetAddress(addr_req));
    }
    for family in [AddressFamily::Inet, AddressFamily::Inet6] {
        // The main table alone (the kernel filters by table on a strict socket): the local
        // table holds a dozen routes a namespace that netlab never manages.
        let mut route_req = main_table();
        route_req.header.address_family = family;
        requests.push(RouteNetlinkMessage::GetRoute(route_req));
    }
    if qdiscs {
        requests
            .push(RouteNetlinkMessage::GetQueueDiscipline(netlink_packet_route::tc::TcMessage::default()));
    }
    requests
}

fn main_table() -> RouteMessage {
    let mut m = RouteMessage::default();
    m.header.table = netlink_packet_route::route::RouteHeader::RT_TABLE_MAIN;
    m
}

/// Receives datagrams into `buf` and hands each to `each` until it says the answer is
/// complete (`Ok(true)`) or fails.
pub(super) fn recv_until(
    sock: &Socket,
    buf: &mut Vec<u8>,
    mut each: impl FnMut(&[u8]) -> io::Result<bool>,
) -> io::Result<()> {
    loop {
        buf.clear();
        let n = sock.recv(buf, 0)?;
        if n > buf.len() {
            return Err(io::Error::other("netlink datagram larger than the receive buffer"));
        }
        if each(&buf[..n])? {
            return Ok(());
        }
    }
}

fn read_until_done(sock: &Socket, buf: &mut Vec<u8>, dump: &mut Dump) -> io::Result<()> {
    recv_until(sock, buf, |buf| {
        let n = buf.len();
        let mut off = 0;
        while off + 4 <= n {
            let len = u32::from_ne_bytes(buf[off..off + 4].try_into().expect("4 bytes")) as usize;
            if len < 16 || off + len > n {
                return Err(io::Error::other("malformed netlink message"));
            }
            let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf[off..off + len])
                .map_err(|e| io::Error::other(e.to_string()))?;
            off += (len + 3) & !3;
            match msg.payload {
                NetlinkPayload::Done(_) => return Ok(true),
                NetlinkPayload::Error(e) if e.code.is_some() => return Err(e.to_io()),
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) => dump.links.push(l),
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewAddress(a)) => dump.addrs.push(a),
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(r)) => dump.routes.push(r),
                NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewQueueDiscipline(q)) => {
                    dump.qdiscs.push(q)
                }
                _ => {}
            }
        }
        Ok(false)
    })
}

/// An rtnetlink socket of the calling thread's namespace.
fn socket_here() -> io::Result<Socket> {
    // Unbound and unconnected: the first send binds it and goes to the kernel (port 0),
    // three system calls fewer a namespace.
    let sock = Socket::new(NETLINK_ROUTE)?;
    // Dump requests filtered as asked (the route table), and refused if malformed.
    sock.set_netlink_get_strict_chk(true)?;
    Ok(sock)
}

/// Reads the answers of one dump lean into `dump`, up to its end; only those of request
/// `seq` when it is given (a socket shared by requests).
pub(super) fn read_lean(sock: &Socket, seq: Option<u32>, dump: &mut super::lean::Dump) -> io::Result<()> {
    BUF.with(|buf| recv_until(sock, &mut buf.borrow_mut(), |d| super::lean::read(d, seq, dump)))
}

/// Sends one request, with `flags` added to `NLM_F_REQUEST`.
pub(super) fn send(sock: &Socket, req: RouteNetlinkMessage, flags: u16, seq: u32) -> io::Result<()> {
    let mut msg = NetlinkMessage::from(req);
    msg.header.flags = NLM_F_REQUEST | flags;
    msg.header.sequence_number = seq;
    msg.finalize();
    let mut out = vec![0; msg.buffer_len()];
    msg.serialize(&mut out);
    sock.send(&out, 0).map(drop)
}

/// Sends one request in the calling thread's namespace and returns the first answer; a
/// NACK becomes the errno it carries.
pub fn ask_here(req: RouteNetlinkMessage, flags: u16) -> io::Result<NetlinkPayload<RouteNetlinkMessage>> {
    let sock = socket_here()?;
    send(&sock, req, flags, 1)?;
    let mut buf = vec![0u8; 64 * 1024];
    let n = sock.recv(&mut &mut buf[..], 0)?;
    match NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf[..n])
        .map_err(|e| io::Error::other(e.to_string()))?
        .payload
    {
        NetlinkPayload::Error(e) if e.code.is_some() => Err(e.to_io()),
        other => Ok(other),
    }
}

/// `ip link set lo up alias MARK` in the calling thread's namespace.
pub fn mark_lo_here(mark: &str) -> io::Result<()> {
    use netlink_packet_route::link::LinkFlags;
    let mut link = LinkMessage::default();
    link.header.flags = LinkFlags::Up;
    link.header.change_mask = LinkFlags::Up;
    link.attributes.push(LinkAttribute::IfName("lo".into()));
    link.attributes.push(LinkAttribute::IfAlias(mark.to_string()));
    ask_here(RouteNetlinkMessage::SetLink(link), netlink_packet_core::NLM_F_ACK).map(drop)
}

/// The alias of `lo` in the calling thread's namespace: its owner's mark, if any.
pub fn lo_alias_here() -> io::Result<Option<String>> {
    let mut link = LinkMessage::default();
    link.attributes.push(LinkAttribute::IfName("lo".into()));
    link.attributes.push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    Ok(match ask_here(RouteNetlinkMessage::GetLink(link), 0)? {
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) => l
            .attributes
            .into_iter()
            .find_map(|a| if let LinkAttribute::IfAlias(s) = a { Some(s) } else { None }),
        _ => None,
    })
}
