//! Which addresses an interface may carry and which may be a gateway: the kernel refuses or
//! misroutes loopback, multicast, unspecified and broadcast addresses, and the network and
//! broadcast address of an IPv4 subnet (shorter than /31) are not a host's.
//!
//! Link-local addresses are allowed: IPv4 `169.254.0.0/16` and IPv6 `fe80::/10` are ordinary
//! unicast addresses of an interface (routing daemons use IPv6 link-local next hops), and a
//! link-local gateway is held to the same rule as any other: on a subnet of the node's
//! interface.

use ipnetwork::{IpNetwork, Ipv4Network};
use std::net::{IpAddr, Ipv4Addr};

/// Why `ip` is no unicast address of a host, in words ("a loopback address"), or `None`.
fn class_problem(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v) => {
            if v.is_unspecified() || v.octets()[0] == 0 {
                Some("in 0.0.0.0/8, which means \"this host\" and is no interface's")
            } else if v.is_loopback() {
                Some("a loopback address (127.0.0.0/8 belongs to lo)")
            } else if v.is_multicast() {
                Some("a multicast address (224.0.0.0/4)")
            } else if v.is_broadcast() {
                Some("the limited broadcast address")
            } else {
                None
            }
        }
        IpAddr::V6(v) => {
            if let Some(v4) = v.to_ipv4_mapped() {
                return class_problem(IpAddr::V4(v4))
                    .or(Some("an IPv4-mapped address (::ffff:0:0/96), which is no interface's"));
            }
            if v.is_unspecified() {
                Some("the unspecified address ::")
            } else if v.is_loopback() {
                Some("the loopback address ::1 (it belongs to lo)")
            } else if v.is_multicast() {
                Some("a multicast address (ff00::/8)")
            } else {
                None
            }
        }
    }
}

/// The network and broadcast addresses of an IPv4 subnet shorter than /31 (RFC 3021 makes
/// every address of a /31 a host's).
fn v4_edge(net: Ipv4Network, ip: Ipv4Addr) -> Option<&'static str> {
    if net.prefix() >= 31 {
        return None;
    }
    if ip == net.network() {
        Some("the network address of")
    } else if ip == net.broadcast() {
        Some("the broadcast address of")
    } else {
        None
    }
}

/// Why `addr` cannot be an interface's address, or `None`.
pub fn address_problem(addr: &IpNetwork) -> Option<String> {
    if let Some(why) = class_problem(addr.ip()) {
        return Some(format!("address {addr} is {why}"));
    }
    if let (IpNetwork::V4(net), IpAddr::V4(ip)) = (addr, addr.ip()) {
        let subnet = Ipv4Network::new(net.network(), net.prefix()).expect("prefix kept");
        if let Some(what) = v4_edge(subnet, ip) {
            return Some(format!("address {addr} is {what} {subnet}, not a host's"));
        }
    }
    None
}

/// Why `ip` cannot be a gateway, or `None`; `subnet`: the node's subnet it is on, if any.
pub fn gateway_problem(ip: IpAddr, subnet: Option<&IpNetwork>) -> Option<String> {
    if let Some(why) = class_problem(ip) {
        return Some(format!("gateway {ip} is {why}"));
    }
    if let (Some(IpNetwork::V4(n)), IpAddr::V4(v)) = (subnet, ip) {
        let net = Ipv4Network::new(n.network(), n.prefix()).expect("prefix kept");
        if let Some(what) = v4_edge(net, v) {
            return Some(format!("gateway {ip} is {what} {net}, not a host's"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> Option<String> {
        address_problem(&s.parse().unwrap())
    }

    #[test]
    fn host_addresses_pass() {
        for ok in [
            "10.0.0.1/24",
            "10.0.0.0/31",
            "10.0.0.1/31",
            "10.0.0.7/32",
            "169.254.1.1/16",
            "fd00::1/64",
            "fe80::1/64",
            "2001:db8::/64",
        ] {
            assert_eq!(addr(ok), None, "{ok}");
        }
    }

    #[test]
    fn what_the_kernel_refuses_or_misroutes_is_refused() {
        for bad in [
            "127.0.0.2/8",
            "224.0.0.1/24",
            "255.255.255.255/32",
            "0.0.0.0/8",
            "0.1.2.3/8",
            "::1/128",
            "::/64",
            "ff02::1/64",
            "::ffff:10.0.0.1/96",
            "10.0.0.0/24",
            "10.0.0.255/24",
            "192.168.0.0/16",
        ] {
            assert!(addr(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn gateways() {
        let net: IpNetwork = "10.0.0.1/24".parse().unwrap();
        assert_eq!(gateway_problem("10.0.0.2".parse().unwrap(), Some(&net)), None);
        assert!(gateway_problem("10.0.0.255".parse().unwrap(), Some(&net)).is_some());
        assert!(gateway_problem("10.0.0.0".parse().unwrap(), Some(&net)).is_some());
        assert!(gateway_problem("ff02::1".parse().unwrap(), None).is_some());
        assert!(gateway_problem("::1".parse().unwrap(), None).is_some());
        assert_eq!(gateway_problem("fe80::1".parse().unwrap(), None), None);
    }
}
