//! What of a namespace is the lab's: the one rule of ownership, by mark, that every observer
//! (the kernel's and the fake's) applies to what it read.
//!
//! In a lab namespace, netlab manages its interfaces (alias mark), the addresses it added
//! (`IFA_PROTO` mark, or the record's word on kernels without it), its routes (protocol
//! 78). Everything else there is unmanaged: shown, never drift. In the host namespace only
//! the lab's marked interfaces, and the routes of protocol 78 its record names, are looked at.

use super::{CompactMap, CompactSet, NsState, Record, RouteState};
use crate::model::names::{self, NETLAB_PROTO};
use crate::model::NsRef;
use ipnetwork::IpNetwork;
use std::collections::BTreeSet;

/// Everything the kernel holds in one namespace, before it is sorted: every interface, every
/// address, every route but the kernel's own, with the marks that tell whose they are.
#[derive(Debug, Clone, Default)]
pub struct RawNs {
    pub lo_alias: Option<String>,
    pub state: NsState,
    /// The protocol of each route in `state.routes`, by its key.
    pub route_protos: CompactMap<(IpNetwork, u32), u8>,
    /// The addresses that carry netlab's `IFA_PROTO` mark, by interface.
    pub marked_addrs: CompactSet<(String, IpNetwork)>,
    /// Whether this kernel reports `IFA_PROTO` at all (Linux 6.3+: its `lo` address then
    /// carries the kernel's own protocol). Without it, no address can be told by its mark.
    pub addr_proto_known: bool,
}

/// What a namespace's `lo` says about who owns the namespace.
#[derive(Debug, PartialEq)]
pub enum Owner {
    Ours,
    /// No mark: a namespace the lab was creating when it was interrupted, or a stranger's.
    Unmarked,
    Other(String),
}

/// Who owns a namespace, judged by its `lo` mark.
pub fn owner(lab: &str, lo_alias: Option<&str>) -> Owner {
    match lo_alias {
        Some(a) if a == names::netns_mark(lab) => Owner::Ours,
        None | Some("") => Owner::Unmarked,
        Some(a) => Owner::Other(a.to_string()),
    }
}

/// A namespace sorted into the lab's and the rest.
#[derive(Debug, Default)]
pub struct Sorted {
    pub state: NsState,
    /// Names the lab needs that belong to someone else: nothing may be changed.
    pub foreign: Vec<String>,
    /// Places the file's routes and addresses need that someone else's hold: `up --prune`
    /// clears them, nothing else may.
    pub clashes: Vec<String>,
}

/// Sorts lab namespace `ns` of lab `lab`, whose `lo` carries the lab's mark.
pub fn lab_ns(raw: RawNs, ns: &NsRef, lab: &str, want: Option<&NsState>, record: Option<&Record>) -> Sorted {
    let mut out = Sorted::default();
    let mark = names::mark_prefix(lab);
    let RawNs { state: mut all, route_protos, marked_addrs, addr_proto_known, .. } = raw;
    for (name, iface) in std::mem::take(&mut all.ifaces) {
        let wanted = want.and_then(|w| w.ifaces.get(&name));
        let marked = iface.alias.as_ref().is_some_and(|a| a.starts_with(&mark));
        // Unmarked, yet of the kind the file asks for under that name: one the lab was making
        // when it was interrupted (made, not yet marked). It is made anew.
        let half_made = wanted.is_some_and(|w| w.kind == iface.kind);
        if marked || half_made {
            out.state.ifaces.insert(name, iface);
        } else if wanted.is_some() {
            out.foreign.push(format!(
                "{ns} has an interface {name} that is not this lab's; remove it, or give the lab's end another name"
            ));
        } else {
            out.state.unmanaged.links.push(name);
        }
    }
    sort_addrs(&mut out, ns, &marked_addrs, addr_proto_known, want, record);
    for (key, route) in all.routes {
        match route_protos.get(&key).copied().unwrap_or(NETLAB_PROTO) {
            NETLAB_PROTO => drop(out.state.routes.insert(key, route)),
            proto => {
                if want.is_some_and(|w| w.routes.contains_key(&key)) {
                    out.clashes.push(format!(
                        "{ns} has a route {route} of protocol {} where the file's goes",
                        super::ns::proto_name(proto)
                    ));
                }
                out.state.unmanaged.routes.push((route, proto));
            }
        }
    }
    out.state.sysctls = all.sysctls;
    out.state.nft = all.nft;
    out
}

/// Sorts the host namespace for lab `lab`: only what carries its mark is looked at.
pub fn host(raw: RawNs, lab: &str, want: Option<&NsState>, record: Option<&Record>) -> Sorted {
    let mut out = Sorted::default();
    let mark = names::mark_prefix(lab);
    let RawNs { state: mut all, route_protos, marked_addrs, addr_proto_known, .. } = raw;
    let pending = |name: &str| record.is_some_and(|r| r.host_ifaces.contains(name));
    for (name, iface) in std::mem::take(&mut all.ifaces) {
        let wanted = want.and_then(|w| w.ifaces.get(&name));
        // Made by an `up` that was killed before it could mark it: the record named it first.
        let half_made = pending(&name) && wanted.is_some_and(|w| w.kind == iface.kind);
        if iface.alias.as_ref().is_some_and(|a| a.starts_with(&mark)) || half_made {
            out.state.ifaces.insert(name, iface);
        } else if wanted.is_some() {
            out.foreign.push(format!(
                "interface {name} already exists in the host namespace and is not this lab's; rename the lab's end or remove that interface"
            ));
        }
    }
    sort_addrs(&mut out, &NsRef::Host, &marked_addrs, addr_proto_known, want, record);
    let recorded: Vec<&RouteState> = record.map(|r| r.host_routes.iter().collect()).unwrap_or_default();
    for (key, route) in all.routes {
        let wanted = want.is_some_and(|w| w.routes.contains_key(&key));
        let ours = route_protos.get(&key) == Some(&NETLAB_PROTO);
        // Another lab (or a hand) may add routes of protocol 78 too: only the record says
        // which are this lab's.
        let recorded = recorded.iter().any(|r| (r.dst, r.metric) == key);
        if ours && recorded {
            out.state.routes.insert(key, route);
        } else if wanted {
            out.foreign.push(format!(
                "the host namespace already has a route {route} that is not this lab's; give the lab's route another metric, or remove that route"
            ));
        }
    }
    out.state.sysctls = all.sysctls;
    out.state.nft = all.nft;
    out
}

/// The addresses on the lab's interfaces: marked ones (or, on a kernel without marks, the
/// ones the record names) and the very ones the file asks for are the lab's; the rest are
/// unmanaged. An IPv6 address the file asks for with another prefix is a clash: the kernel
/// keeps one per address.
fn sort_addrs(
    out: &mut Sorted,
    ns: &NsRef,
    marked: &CompactSet<(String, IpNetwork)>,
    proto_known: bool,
    want: Option<&NsState>,
    record: Option<&Record>,
) {
    for (name, iface) in out.state.ifaces.iter_mut() {
        let wanted = want.and_then(|w| w.ifaces.get(name)).map(|w| &w.addrs);
        let recorded = record.and_then(|r| r.addrs.get(&Record::iface_key(ns, name)));
        let (ours, theirs): (CompactSet<IpNetwork>, CompactSet<IpNetwork>) =
            iface.addrs.iter().copied().partition(|a| {
                let by_mark = match proto_known {
                    true => marked.contains(&(name.clone(), *a)),
                    false => recorded.is_some_and(|r| r.contains(a)),
                };
                by_mark || wanted.is_some_and(|w| w.contains(a))
            });
        iface.addrs = ours;
        for a in theirs {
            let clash = a.is_ipv6() && wanted.is_some_and(|w| w.iter().any(|x| x.ip() == a.ip()));
            if clash {
                out.clashes
                    .push(format!("{ns} has the address {a} on {name} where the file's {} goes", a.ip()));
            }
            out.state.unmanaged.addrs.push((name.clone(), a));
        }
    }
}

/// The sysctls to read in namespace `ns`: those the file names there, and those whose
/// originals the record keeps to put back.
pub fn sysctl_keys(ns: &NsRef, want: &super::NetState, record: Option<&Record>) -> Vec<String> {
    let mut keys: BTreeSet<String> =
        want.get(ns).map(|w| w.sysctls.keys().cloned().collect()).unwrap_or_default();
    if let Some(o) = record.and_then(|r| r.sysctl_orig.get(&Record::ns_key(ns))) {
        keys.extend(o.keys().cloned());
    }
    keys.into_iter().collect()
}

/// The parameters of the lab's qdiscs, which the kernel shows only in its own encoding: as
/// the record says they were set. An unrecorded one stays `Shape::default()`, so it is reset.
pub fn recall_shapes(state: &mut NsState, ns: &NsRef, record: Option<&Record>) {
    for (name, iface) in state.ifaces.iter_mut() {
        if iface.shape.is_some() {
            if let Some(s) = record.and_then(|r| r.shapes.get(&Record::iface_key(ns, name))) {
                iface.shape = Some(*s);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{IfKind, IfState};

    fn iface(kind: IfKind, alias: Option<&str>, addrs: &[&str]) -> IfState {
        IfState {
            kind,
            alias: alias.map(str::to_string),
            mtu: Some(1500),
            master: None,
            addrs: addrs.iter().map(|a| a.parse().unwrap()).collect(),
            up: true,
            shape: None,
        }
    }

    fn route(dst: &str) -> RouteState {
        RouteState::single(dst.parse().unwrap(), None, Some("eth0".into()), 0)
    }

    /// A lab namespace of lab "t": its eth0 with three addresses (one marked), a workload's
    /// tun, a route of the lab's and one of BIRD's.
    fn raw(proto_known: bool) -> RawNs {
        let mut r = RawNs { addr_proto_known: proto_known, ..Default::default() };
        let mark = names::link_mark("t", "a:eth0~b:eth0");
        r.state.ifaces.insert(
            "eth0".into(),
            iface(IfKind::Veth, Some(&mark), &["10.0.0.1/24", "10.0.0.9/24", "10.0.0.5/24"]),
        );
        r.state.ifaces.insert("tun0".into(), iface(IfKind::Other("tun".into()), None, &["10.8.0.1/24"]));
        for (dst, proto) in [("10.9.0.0/24", NETLAB_PROTO), ("10.8.0.0/24", 12)] {
            let rt = route(dst);
            r.route_protos.insert((rt.dst, 0), proto);
            r.state.routes.insert((rt.dst, 0), rt);
        }
        r.marked_addrs.insert(("eth0".to_string(), "10.0.0.1/24".parse().unwrap()));
        r
    }

    fn want() -> NsState {
        let mut w = NsState::default();
        w.ifaces.insert("eth0".into(), iface(IfKind::Veth, None, &["10.0.0.5/24"]));
        w
    }

    fn addrs(s: &Sorted) -> (Vec<String>, Vec<String>) {
        let ours = s.state.ifaces["eth0"].addrs.iter().map(|a| a.to_string()).collect();
        let theirs = s.state.unmanaged.addrs.iter().map(|(_, a)| a.to_string()).collect();
        (ours, theirs)
    }

    fn ns() -> NsRef {
        NsRef::Named("t-a".into())
    }

    #[test]
    fn routes_of_other_protocols_unmarked_addresses_and_interfaces_are_unmanaged() {
        let s = lab_ns(raw(true), &ns(), "t", Some(&want()), None);
        assert_eq!(s.state.routes.keys().map(|k| k.0.to_string()).collect::<Vec<_>>(), ["10.9.0.0/24"]);
        assert_eq!(s.state.unmanaged.routes.len(), 1);
        assert_eq!(s.state.unmanaged.routes[0].1, 12);
        // Marked, or the very address the file asks for: the lab's.
        assert_eq!(addrs(&s), (vec!["10.0.0.1/24".into(), "10.0.0.5/24".into()], vec!["10.0.0.9/24".into()]));
        // A workload's tun is not the lab's to remove, and neither are its addresses.
        assert!(!s.state.ifaces.contains_key("tun0"));
        assert_eq!(s.state.unmanaged.links, ["tun0"]);
        assert!(s.foreign.is_empty() && s.clashes.is_empty(), "{:?} {:?}", s.foreign, s.clashes);
    }

    #[test]
    fn without_ifa_proto_the_record_says_which_addresses_are_the_labs() {
        let mut record = Record::default();
        record
            .addrs
            .insert(Record::iface_key(&ns(), "eth0"), ["10.0.0.9/24".parse().unwrap()].into_iter().collect());
        let s = lab_ns(raw(false), &ns(), "t", Some(&want()), Some(&record));
        assert_eq!(addrs(&s), (vec!["10.0.0.5/24".into(), "10.0.0.9/24".into()], vec!["10.0.0.1/24".into()]));
    }

    #[test]
    fn an_unmarked_interface_the_file_names_is_half_made_if_of_its_kind_and_foreign_if_not() {
        let mut w = want();
        w.ifaces.insert("tun0".into(), iface(IfKind::Veth, None, &[]));
        let s = lab_ns(raw(true), &ns(), "t", Some(&w), None);
        assert_eq!(s.foreign.len(), 1, "{:?}", s.foreign);
        assert!(s.foreign[0].contains("tun0"));
        let mut r = raw(true);
        r.state.ifaces.get_mut("tun0").unwrap().kind = IfKind::Veth;
        let s = lab_ns(r, &ns(), "t", Some(&w), None);
        assert!(s.foreign.is_empty());
        assert!(s.state.ifaces.contains_key("tun0"), "a half-made veth is the lab's, to be made anew");
    }

    #[test]
    fn what_a_stranger_holds_where_the_files_route_or_address_goes_is_a_clash() {
        let mut w = want();
        w.routes.insert((route("10.8.0.0/24").dst, 0), route("10.8.0.0/24"));
        let mut r = raw(true);
        r.state.ifaces.get_mut("eth0").unwrap().addrs.insert("fd00::5/128".parse().unwrap());
        w.ifaces.get_mut("eth0").unwrap().addrs.insert("fd00::5/64".parse().unwrap());
        let s = lab_ns(r, &ns(), "t", Some(&w), None);
        assert_eq!(s.clashes.len(), 2, "{:?}", s.clashes);
        assert!(
            s.clashes[0].contains("fd00::5/128") && s.clashes[1].contains("protocol bird"),
            "{:?}",
            s.clashes
        );
    }

    #[test]
    fn in_the_host_only_routes_the_record_names_are_the_labs() {
        let mut r = RawNs::default();
        let mine = route("10.9.0.0/24");
        let another_labs = route("10.7.0.0/24");
        for rt in [&mine, &another_labs] {
            r.route_protos.insert((rt.dst, 0), NETLAB_PROTO);
            r.state.routes.insert((rt.dst, 0), rt.clone());
        }
        let mut w = NsState::default();
        w.routes.insert((another_labs.dst, 0), another_labs.clone());
        let record = Record { host_routes: vec![mine.clone()], ..Default::default() };
        let s = host(r, "t", Some(&w), Some(&record));
        assert_eq!(s.state.routes.values().collect::<Vec<_>>(), [&mine]);
        assert_eq!(
            s.foreign.len(),
            1,
            "another lab's route of protocol 78 is not this lab's: {:?}",
            s.foreign
        );
    }
}
