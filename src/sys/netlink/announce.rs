//! Telling a link's peers that an interface made anew has a new MAC: a gratuitous ARP for each
//! IPv4 address, an unsolicited neighbour advertisement for each IPv6 one (what `arping -U`
//! and `ndisc6`'s unsolicited NA do). The kernel's own announcement on coming up
//! (`arp_notify`) goes out before a bridge has seen the port's carrier, and is dropped there.

use ipnetwork::IpNetwork;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV6};

const ETH_P_ARP: u16 = 0x0806;

/// Announces `addrs` of interface `ifindex` (MAC `mac`), from the calling thread's namespace.
pub fn announce_here(ifindex: u32, mac: [u8; 6], addrs: &[IpNetwork]) -> io::Result<()> {
    for a in addrs {
        match a {
            IpNetwork::V4(v4) => gratuitous_arp(ifindex, mac, v4.ip())?,
            IpNetwork::V6(v6) => unsolicited_na(ifindex, mac, v6.ip())?,
        }
    }
    Ok(())
}

/// An ARP request for our own address, broadcast: everyone who knows the address learns
/// the new MAC.
fn gratuitous_arp(ifindex: u32, mac: [u8; 6], ip: Ipv4Addr) -> io::Result<()> {
    let sock = Socket::new(Domain::PACKET, Type::DGRAM, Some(Protocol::from(ETH_P_ARP.to_be() as i32)))?;
    let mut arp = Vec::with_capacity(28);
    arp.extend_from_slice(&[0, 1, 8, 0, 6, 4, 0, 1]); // Ethernet, IPv4, request
    arp.extend_from_slice(&mac);
    arp.extend_from_slice(&ip.octets());
    arp.extend_from_slice(&[0; 6]);
    arp.extend_from_slice(&ip.octets());
    // SAFETY: sockaddr_ll is plain data; every field the kernel reads is set below.
    let mut ll: nix::libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    ll.sll_family = nix::libc::AF_PACKET as u16;
    ll.sll_protocol = ETH_P_ARP.to_be();
    ll.sll_ifindex = ifindex as i32;
    ll.sll_halen = 6;
    ll.sll_addr[..6].copy_from_slice(&[0xff; 6]);
    let len = std::mem::size_of::<nix::libc::sockaddr_ll>() as nix::libc::socklen_t;
    // SAFETY: `ll` is a valid sockaddr_ll of `len` bytes, copied into the SockAddr storage.
    let addr = unsafe {
        SockAddr::try_init(|storage, l| {
            std::ptr::copy_nonoverlapping(&ll as *const _ as *const u8, storage as *mut u8, len as usize);
            *l = len;
            Ok(())
        })
    }?
    .1;
    sock.send_to(&arp, &addr)?;
    Ok(())
}

/// A neighbour advertisement with the override flag, to all nodes: peers replace what they
/// had for the address.
fn unsolicited_na(ifindex: u32, mac: [u8; 6], ip: Ipv6Addr) -> io::Result<()> {
    let sock = Socket::new(Domain::IPV6, Type::RAW, Some(Protocol::ICMPV6))?;
    // Neighbour discovery demands hop limit 255; the kernel fills in the checksum.
    sock.set_multicast_hops_v6(255)?;
    sock.set_multicast_if_v6(ifindex)?;
    sock.bind(&SocketAddrV6::new(ip, 0, 0, if ip.is_unicast_link_local() { ifindex } else { 0 }).into())?;
    let mut na = vec![136, 0, 0, 0, 0x20, 0, 0, 0]; // advertisement, override
    na.extend_from_slice(&ip.octets());
    na.extend_from_slice(&[2, 1]); // target link-layer address, 8 bytes
    na.extend_from_slice(&mac);
    let all_nodes: Ipv6Addr = "ff02::1".parse().expect("a literal address");
    sock.send_to(&na, &SocketAddrV6::new(all_nodes, 0, 0, ifindex).into())?;
    Ok(())
}
