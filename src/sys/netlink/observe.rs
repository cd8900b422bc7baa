//! Reads what the kernel holds for one lab: its namespaces and, in the host namespace, the
//! objects that carry its mark. Nothing else is looked at.

use super::parse::{link_alias, link_kind, link_name, route_state};
use super::rtnl::NETLAB_PROTO;
use super::{dump, tc};
use crate::error::{Error, SysError};
use crate::model::firewall::FirewallKind;
use crate::model::shape::Shape;
use crate::model::{names, NsRef};
use crate::state::{IfState, NetState, NsState, RouteState};
use crate::state::{Observed, Record};
use crate::sys::{firewall, netns, sysctl};
use futures::stream::{self, StreamExt};
use ipnetwork::IpNetwork;
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::link::{LinkAttribute, LinkFlags};
use netlink_packet_route::route::RouteProtocol;
use netlink_packet_route::tc::TcHandle;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io;
use std::net::IpAddr;

/// Devices the kernel makes in every new namespace when a tunnel module is loaded; they
/// belong to the namespace, not to anyone, and cannot be deleted.
const FALLBACK_TUNNELS: [&str; 9] =
    ["sit0", "tunl0", "ip6tnl0", "ip6gre0", "gre0", "gretap0", "erspan0", "ip_vti0", "ip6_vti0"];

/// What a namespace's `lo` says about who owns the namespace.
#[derive(Debug, PartialEq)]
pub enum Owner {
    Ours,
    /// No mark: a namespace the lab was creating when it was interrupted, or a stranger's.
    Unmarked,
    Other(String),
}

/// Everything the kernel holds in one namespace, with interface names resolved. `state`
/// holds every address and every route but the kernel's own; `observe` sorts them into the
/// lab's and the rest.
pub struct Snapshot {
    pub lo_alias: Option<String>,
    pub state: NsState,
    /// The protocol of each route in `state.routes`, by its key.
    pub route_protos: BTreeMap<(IpNetwork, u32), u8>,
    /// The addresses that carry netlab's `IFA_PROTO` mark, by interface.
    pub marked_addrs: BTreeSet<(String, IpNetwork)>,
    /// Whether this kernel reports `IFA_PROTO` at all (Linux 6.3+): its `lo` address then
    /// carries the kernel's own protocol. Without it, no address can be told apart by mark.
    pub addr_proto_known: bool,
}

fn sys(op: String) -> impl FnOnce(io::Error) -> SysError {
    move |e| SysError::new(op, e)
}

/// The lab's rules to read in a namespace: how they were loaded, the lab, the table.
pub type TableRead = (FirewallKind, String, String);

/// Reads one namespace in one job on a namespace worker: links, addresses, routes (but the
/// kernel's own) and `sysctls`; a sysctl of an interface that does not exist (yet) is left
/// out. `table`: the lab's firewall to read there, if it may have one. `qdiscs`: whether to
/// look for the lab's root qdiscs (only where it has or had some).
pub async fn snapshot(
    ns: &NsRef,
    sysctls: Vec<String>,
    table: Option<TableRead>,
    qdiscs: bool,
) -> Result<Snapshot, SysError> {
    let label = ns.to_string();
    let read = move || {
        let dump = dump::dump_here(qdiscs)?;
        let values: Vec<(String, io::Result<String>)> = sysctls
            .into_iter()
            .map(|k| {
                let v = sysctl::read(&k);
                (k, v)
            })
            .collect();
        // A kernel without nf_tables has no table to read; `up` says so if the lab needs one.
        let nft = table.and_then(|(kind, lab, t)| firewall::read_here(kind, &lab, &t).ok().flatten());
        Ok((dump, values, nft))
    };
    let (dump, values, nft) =
        netns::run(netns::place(ns), read).await.map_err(sys(format!("reading netns {label}")))?;
    let by_index: HashMap<u32, String> =
        dump.links.iter().filter_map(|l| Some((l.header.index, link_name(l)?.to_string()))).collect();
    let mut snap = Snapshot {
        lo_alias: None,
        state: NsState::default(),
        route_protos: BTreeMap::new(),
        marked_addrs: BTreeSet::new(),
        addr_proto_known: false,
    };
    let state = &mut snap.state;
    for l in &dump.links {
        let Some(name) = link_name(l) else { continue };
        if name == "lo" {
            snap.lo_alias = link_alias(l);
            continue;
        }
        if FALLBACK_TUNNELS.contains(&name) {
            continue;
        }
        let mtu =
            l.attributes.iter().find_map(|a| if let LinkAttribute::Mtu(m) = a { Some(*m) } else { None });
        let master = l.attributes.iter().find_map(|a| {
            if let LinkAttribute::Controller(m) = a {
                by_index.get(m).cloned()
            } else {
                None
            }
        });
        state.ifaces.insert(
            name.to_string(),
            IfState {
                kind: link_kind(l),
                alias: link_alias(l),
                mtu,
                master,
                addrs: BTreeSet::new(),
                up: l.header.flags.contains(LinkFlags::Up),
                // Known by its handle; what it holds comes from the record (see `observe`).
                shape: dump
                    .qdiscs
                    .iter()
                    .any(|q| {
                        q.header.index as u32 == l.header.index
                            && q.header.handle.major == tc::HANDLE_MAJOR
                            && q.header.parent == TcHandle::ROOT
                    })
                    .then(Shape::default),
            },
        );
    }
    for a in &dump.addrs {
        let Some(name) = by_index.get(&a.header.index) else { continue };
        let attr = |f: fn(&AddressAttribute) -> Option<IpAddr>| a.attributes.iter().find_map(f);
        let local = attr(|x| if let AddressAttribute::Local(ip) = x { Some(*ip) } else { None });
        let addr = attr(|x| if let AddressAttribute::Address(ip) = x { Some(*ip) } else { None });
        let proto = a.attributes.iter().find_map(|x| match x {
            AddressAttribute::Protocol(p) => Some(u8::from(*p)),
            _ => None,
        });
        if name == "lo" {
            snap.addr_proto_known |= proto.is_some();
            continue;
        }
        let Some(ip) = local.or(addr) else { continue };
        if matches!(ip, IpAddr::V6(v) if v.is_unicast_link_local()) {
            continue;
        }
        if let (Some(iface), Ok(net)) = (state.ifaces.get_mut(name), IpNetwork::new(ip, a.header.prefix_len))
        {
            iface.addrs.insert(net);
            if proto == Some(NETLAB_PROTO) {
                snap.marked_addrs.insert((name.clone(), net));
            }
        }
    }
    for r in &dump.routes {
        if r.header.protocol == RouteProtocol::Kernel {
            continue;
        }
        if let Some((rs, proto)) = route_state(r, &by_index) {
            let key = (rs.dst, rs.metric);
            snap.route_protos.insert(key, proto);
            state.routes.insert(key, rs);
        }
    }
    for (k, v) in values {
        match v {
            Ok(v) => drop(state.sysctls.insert(k, v)),
            // An interface's sysctl before the interface exists (or after it is gone).
            Err(e) if e.kind() == io::ErrorKind::NotFound && names::sysctl_iface(&k).is_some() => {}
            Err(e) => {
                return Err(sys(format!("reading sysctl {k} in {label} (does this kernel have it?)"))(e))
            }
        }
    }
    state.nft = nft;
    Ok(snap)
}

/// Splits what a snapshot of namespace `ns` holds into what netlab manages (routes with its
/// protocol; addresses with its mark, or the very addresses the file asks for there) and the
/// rest. A kernel without `IFA_PROTO` marks no address: there the record says which
/// addresses the lab added.
fn sort_out(snap: &mut Snapshot, ns: &NsRef, want: Option<&NsState>, record: Option<&Record>) {
    let state = &mut snap.state;
    for (key, proto) in &snap.route_protos {
        if *proto != NETLAB_PROTO {
            if let Some(r) = state.routes.remove(key) {
                state.unmanaged.routes.push((r, *proto));
            }
        }
    }
    for (name, iface) in state.ifaces.iter_mut() {
        let wanted = want.and_then(|w| w.ifaces.get(name)).map(|w| &w.addrs);
        let recorded = record.and_then(|r| r.addrs.get(&Record::iface_key(ns, name)));
        let (ours, theirs): (BTreeSet<IpNetwork>, BTreeSet<IpNetwork>) = iface.addrs.iter().partition(|a| {
            let marked = match snap.addr_proto_known {
                true => snap.marked_addrs.contains(&(name.clone(), **a)),
                false => recorded.is_some_and(|r| r.contains(a)),
            };
            marked || wanted.is_some_and(|w| w.contains(a))
        });
        iface.addrs = ours;
        state.unmanaged.addrs.extend(theirs.into_iter().map(|a| (name.clone(), a)));
    }
}

/// Who owns a namespace, judged by its `lo` mark.
pub fn owner(lab: &str, lo_alias: Option<&str>) -> Owner {
    match lo_alias {
        Some(a) if a == names::netns_mark(lab) => Owner::Ours,
        None | Some("") => Owner::Unmarked,
        Some(a) => Owner::Other(a.to_string()),
    }
}

/// Reads the lab's share of the kernel: `want` names what it needs, `record` what it made.
pub async fn observe(
    lab: &str,
    want: &NetState,
    record: Option<Record>,
    kind: FirewallKind,
) -> Result<Observed, Error> {
    netns::check_mount_propagation()?;
    let mut seen = Observed { record: record.clone(), ..Default::default() };
    let recorded: BTreeSet<String> = record.as_ref().map(|r| r.namespaces.clone()).unwrap_or_default();
    let mut candidates: BTreeSet<String> = recorded.clone();
    candidates
        .extend(want.keys().filter_map(|ns| if let NsRef::Named(n) = ns { Some(n.clone()) } else { None }));

    // Reading a table costs a socket per namespace: only where the lab has or had one.
    let may_have_table = |ns: &NsRef| {
        want.get(ns).is_some_and(|w| w.nft.is_some())
            || record.as_ref().is_some_and(|r| r.tables.contains(&Record::ns_key(ns)))
    };
    // Likewise the lab's qdiscs: a dump per namespace, only where it shapes or shaped links.
    let may_have_shapes = |ns: &NsRef| {
        want.get(ns).is_some_and(|w| w.ifaces.values().any(|i| i.shape.is_some()))
            || record
                .as_ref()
                .is_some_and(|r| r.shapes.keys().any(|k| k.starts_with(&format!("{}:", Record::ns_key(ns)))))
    };
    let sysctl_keys = |ns: &NsRef| -> Vec<String> {
        let mut keys: BTreeSet<String> =
            want.get(ns).map(|w| w.sysctls.keys().cloned().collect()).unwrap_or_default();
        if let Some(o) = record.as_ref().and_then(|r| r.sysctl_orig.get(&Record::ns_key(ns))) {
            keys.extend(o.keys().cloned());
        }
        keys.into_iter().collect()
    };

    let mut present = Vec::new();
    for name in candidates {
        if !netns::exists(&name) {
            continue;
        }
        if !netns::is_mounted(&name) {
            if recorded.contains(&name) {
                seen.broken.insert(name);
            } else {
                seen.foreign.push(format!("/run/netns/{name} exists but is not a network namespace, and not this lab's; remove it or change the lab's prefix"));
            }
            continue;
        }
        present.push(name);
    }
    let snaps: Vec<(String, Result<Snapshot, SysError>)> = stream::iter(present)
        .map(|name| {
            let ns = NsRef::Named(name.clone());
            let keys = sysctl_keys(&ns);
            let table = may_have_table(&ns).then(|| (kind, lab.to_string(), names::table_name(lab, &ns)));
            async move {
                let snap = snapshot(&ns, keys, table, may_have_shapes(&ns)).await;
                (name, snap)
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    for (name, snap) in snaps {
        let mut snap = snap?;
        match owner(lab, snap.lo_alias.as_deref()) {
            Owner::Ours => {}
            Owner::Other(mark) if names::lab_of_mark(&mark).is_some() => {
                seen.foreign.push(format!(
                    "network namespace {name} belongs to lab \"{}\"; give this lab another prefix",
                    names::lab_of_mark(&mark).unwrap_or_default()
                ));
                continue;
            }
            _ => {
                if want.contains_key(&NsRef::Named(name.clone())) {
                    seen.foreign.push(format!("network namespace {name} already exists and is not this lab's (made by `ip netns add`?); delete it or set prefix = \"...\" in the file"));
                }
                continue;
            }
        }
        let ns = NsRef::Named(name);
        sort_out(&mut snap, &ns, want.get(&ns), record.as_ref());
        // A route the file asks for whose place a stranger's route holds cannot be added.
        for (r, proto) in &snap.state.unmanaged.routes {
            if want.get(&ns).is_some_and(|w| w.routes.contains_key(&(r.dst, r.metric))) {
                seen.foreign.push(format!("{ns} already has a route {r} of protocol {proto} that is not this lab's; give the lab's route another metric"));
            }
        }
        let mut state = snap.state;
        recall_shapes(&mut state, &ns, record.as_ref());
        seen.ns.insert(ns, state);
    }

    // The host: only what carries our mark, plus the routes we recorded or want.
    let mark = names::mark_prefix(lab);
    let host_want = want.get(&NsRef::Host);
    let recorded_routes: Vec<RouteState> = record.as_ref().map(|r| r.host_routes.clone()).unwrap_or_default();
    let mut snap = snapshot(
        &NsRef::Host,
        sysctl_keys(&NsRef::Host),
        Some((kind, lab.to_string(), names::table_name(lab, &NsRef::Host))),
        may_have_shapes(&NsRef::Host),
    )
    .await?;
    for (key, proto) in &snap.route_protos {
        let wanted = host_want.is_some_and(|w| w.routes.contains_key(key));
        let recorded = recorded_routes.iter().any(|x| (x.dst, x.metric) == *key);
        let route = snap.state.routes.remove(key).expect("every route has its protocol");
        match *proto == NETLAB_PROTO {
            true if wanted || recorded => drop(snap.state.routes.insert(*key, route)),
            true => {}
            false if wanted => seen.foreign.push(format!("the host namespace already has a route {route} that is not this lab's; give the lab's route another metric, or remove that route")),
            // Everyone else's routes in the host are none of the lab's business, not even
            // as "unmanaged".
            false => {}
        }
    }
    let mut host = snap.state;
    let mut ours = BTreeMap::new();
    for (name, iface) in std::mem::take(&mut host.ifaces) {
        let marked = iface.alias.as_ref().is_some_and(|a| a.starts_with(&mark));
        if marked {
            ours.insert(name, iface);
        } else if host_want.is_some_and(|w| w.ifaces.contains_key(&name)) {
            seen.foreign.push(format!("interface {name} already exists in the host namespace and is not this lab's; rename the lab's end or remove that interface"));
        }
    }
    host.ifaces = ours;
    snap.state = host;
    sort_out(&mut snap, &NsRef::Host, host_want, record.as_ref());
    // Only the lab's own interfaces were kept: what else is on them is unmanaged.
    let mut host = snap.state;
    host.unmanaged.routes.clear();
    recall_shapes(&mut host, &NsRef::Host, record.as_ref());
    seen.ns.insert(NsRef::Host, host);
    Ok(seen)
}

/// The parameters of the lab's qdiscs, which the kernel shows only in its own encoding: as
/// the record says they were set. An unrecorded one stays `Shape::default()`, so it is reset.
fn recall_shapes(state: &mut crate::state::NsState, ns: &NsRef, record: Option<&Record>) {
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
    use crate::state::IfKind;

    fn snap(proto_known: bool) -> Snapshot {
        let mut state = NsState::default();
        let iface = IfState {
            kind: IfKind::Veth,
            alias: None,
            mtu: Some(1500),
            master: None,
            addrs: ["10.0.0.1/24", "10.0.0.9/24", "10.0.0.5/24"].iter().map(|a| a.parse().unwrap()).collect(),
            up: true,
            shape: None,
        };
        state.ifaces.insert("eth0".into(), iface);
        let mut route_protos = BTreeMap::new();
        for (dst, proto) in [("10.9.0.0/24", NETLAB_PROTO), ("10.8.0.0/24", 12)] {
            let r = RouteState::single(dst.parse().unwrap(), None, Some("eth0".into()), 0);
            route_protos.insert((r.dst, 0), proto);
            state.routes.insert((r.dst, 0), r);
        }
        let marked_addrs = [("eth0".to_string(), "10.0.0.1/24".parse().unwrap())].into_iter().collect();
        Snapshot { lo_alias: None, state, route_protos, marked_addrs, addr_proto_known: proto_known }
    }

    fn want() -> NsState {
        let mut w = snap(true).state;
        w.ifaces.get_mut("eth0").unwrap().addrs = ["10.0.0.5/24".parse().unwrap()].into_iter().collect();
        w
    }

    fn addrs(s: &Snapshot) -> (Vec<String>, Vec<String>) {
        let ours = s.state.ifaces["eth0"].addrs.iter().map(|a| a.to_string()).collect();
        let theirs = s.state.unmanaged.addrs.iter().map(|(_, a)| a.to_string()).collect();
        (ours, theirs)
    }

    #[test]
    fn routes_of_other_protocols_and_unmarked_addresses_are_unmanaged() {
        let mut s = snap(true);
        sort_out(&mut s, &NsRef::Named("x".into()), Some(&want()), None);
        assert_eq!(s.state.routes.keys().map(|k| k.0.to_string()).collect::<Vec<_>>(), ["10.9.0.0/24"]);
        assert_eq!(s.state.unmanaged.routes.len(), 1);
        assert_eq!(s.state.unmanaged.routes[0].1, 12);
        // Marked, or the very address the file asks for: the lab's.
        assert_eq!(addrs(&s), (vec!["10.0.0.1/24".into(), "10.0.0.5/24".into()], vec!["10.0.0.9/24".into()]));
    }

    #[test]
    fn without_ifa_proto_the_record_says_which_addresses_are_the_labs() {
        let mut s = snap(false);
        let ns = NsRef::Named("x".into());
        let mut record = Record::default();
        record
            .addrs
            .insert(Record::iface_key(&ns, "eth0"), ["10.0.0.9/24".parse().unwrap()].into_iter().collect());
        sort_out(&mut s, &ns, Some(&want()), Some(&record));
        assert_eq!(addrs(&s), (vec!["10.0.0.5/24".into(), "10.0.0.9/24".into()], vec!["10.0.0.1/24".into()]));
    }
}
