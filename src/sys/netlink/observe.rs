//! Reads what the kernel holds for one lab: its namespaces and, in the host namespace, the
//! objects that carry its mark. Nothing else is looked at.

use super::rtnl::NETLAB_PROTO;
use super::{dump, tc};
use crate::error::{Error, SysError};
use crate::model::firewall::FirewallKind;
use crate::model::shape::Shape;
use crate::model::{names, NsRef};
use crate::state::{IfKind, IfState, NetState, NsState, RouteState};
use crate::state::{Observed, Record};
use crate::sys::{firewall, netns, sysctl};
use futures::stream::{self, StreamExt};
use ipnetwork::IpNetwork;
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::link::{InfoKind, LinkAttribute, LinkFlags, LinkInfo, LinkMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteType,
};
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

/// Everything the kernel holds in one namespace, with interface names resolved.
pub struct Snapshot {
    pub lo_alias: Option<String>,
    pub state: NsState,
}

fn sys(op: String) -> impl FnOnce(io::Error) -> SysError {
    move |e| SysError::new(op, e)
}

fn link_name(l: &LinkMessage) -> Option<&str> {
    l.attributes.iter().find_map(|a| if let LinkAttribute::IfName(n) = a { Some(n.as_str()) } else { None })
}

fn link_alias(l: &LinkMessage) -> Option<String> {
    l.attributes.iter().find_map(|a| if let LinkAttribute::IfAlias(n) = a { Some(n.clone()) } else { None })
}

fn link_kind(l: &LinkMessage) -> IfKind {
    let kind = l.attributes.iter().find_map(|a| match a {
        LinkAttribute::LinkInfo(infos) => {
            infos.iter().find_map(|i| if let LinkInfo::Kind(k) = i { Some(k.clone()) } else { None })
        }
        _ => None,
    });
    match kind {
        Some(InfoKind::Veth) => IfKind::Veth,
        Some(InfoKind::Bridge) => IfKind::Bridge,
        Some(k) => IfKind::Other(k.to_string()),
        None => IfKind::Other("device".into()),
    }
}

fn route_addr(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v) => Some(IpAddr::V4(*v)),
        RouteAddress::Inet6(v) => Some(IpAddr::V6(*v)),
        _ => None,
    }
}

/// A main-table unicast route as netlab models it.
fn route_state(r: &RouteMessage, names: &HashMap<u32, String>) -> Option<RouteState> {
    let table = r
        .attributes
        .iter()
        .find_map(|a| if let RouteAttribute::Table(t) = a { Some(*t) } else { None })
        .unwrap_or(r.header.table as u32);
    if table != RouteHeader::RT_TABLE_MAIN as u32 || r.header.kind != RouteType::Unicast {
        return None;
    }
    let mut dst: IpAddr = if r.header.address_family == netlink_packet_route::AddressFamily::Inet6 {
        "::".parse().ok()?
    } else {
        "0.0.0.0".parse().ok()?
    };
    let (mut via, mut dev, mut metric) = (None, None, 0);
    for a in &r.attributes {
        match a {
            RouteAttribute::Destination(d) => dst = route_addr(d)?,
            RouteAttribute::Gateway(g) => via = route_addr(g),
            RouteAttribute::Oif(i) => dev = names.get(i).cloned(),
            RouteAttribute::Priority(p) => metric = *p,
            _ => {}
        }
    }
    let dst = IpNetwork::new(dst, r.header.destination_prefix_length).ok()?;
    Some(RouteState { dst, via, dev, metric })
}

/// Reads one namespace: links, addresses, the routes `keep` selects, and `sysctls`, all in
/// one job on a namespace worker.
/// The lab's rules to read in a namespace: how they were loaded, the lab, the table.
pub type TableRead = (FirewallKind, String, String);

/// `table`: the lab's firewall to read there, if it may have one.
/// `qdiscs`: whether to look for the lab's root qdiscs (only where it has or had some).
pub async fn snapshot(
    ns: &NsRef,
    keep: impl Fn(&RouteMessage, &RouteState) -> bool,
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
    let mut state = NsState::default();
    let mut lo_alias = None;
    for l in &dump.links {
        let Some(name) = link_name(l) else { continue };
        if name == "lo" {
            lo_alias = link_alias(l);
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
        let local =
            a.attributes
                .iter()
                .find_map(|x| if let AddressAttribute::Local(ip) = x { Some(*ip) } else { None });
        let addr = a.attributes.iter().find_map(|x| {
            if let AddressAttribute::Address(ip) = x {
                Some(*ip)
            } else {
                None
            }
        });
        let Some(ip) = local.or(addr) else { continue };
        if matches!(ip, IpAddr::V6(v) if v.is_unicast_link_local()) {
            continue;
        }
        if let (Some(iface), Ok(net)) = (state.ifaces.get_mut(name), IpNetwork::new(ip, a.header.prefix_len))
        {
            iface.addrs.insert(net);
        }
    }
    for r in &dump.routes {
        if let Some(rs) = route_state(r, &by_index) {
            if keep(r, &rs) {
                state.routes.insert((rs.dst, rs.metric), rs);
            }
        }
    }
    for (k, v) in values {
        let v = v.map_err(sys(format!("reading sysctl {k} in {label} (does this kernel have it?)")))?;
        state.sysctls.insert(k, v);
    }
    state.nft = nft;
    Ok(Snapshot { lo_alias, state })
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
                let snap = snapshot(
                    &ns,
                    |r, _| r.header.protocol != RouteProtocol::Kernel,
                    keys,
                    table,
                    may_have_shapes(&ns),
                )
                .await;
                (name, snap)
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    for (name, snap) in snaps {
        let snap = snap?;
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
        let mut state = snap.state;
        recall_shapes(&mut state, &NsRef::Named(name.clone()), record.as_ref());
        seen.ns.insert(NsRef::Named(name), state);
    }

    // The host: only what carries our mark, plus the routes we recorded or want.
    let mark = names::mark_prefix(lab);
    let host_want = want.get(&NsRef::Host);
    let recorded_routes: Vec<RouteState> = record.as_ref().map(|r| r.host_routes.clone()).unwrap_or_default();
    let clashes = std::sync::Mutex::new(Vec::new());
    let route_is_ours = |r: &RouteMessage, rs: &RouteState| {
        let wanted = host_want.is_some_and(|w| w.routes.contains_key(&(rs.dst, rs.metric)));
        let ours = r.header.protocol == RouteProtocol::Other(NETLAB_PROTO);
        if wanted && !ours {
            clashes.lock().expect("clash list").push(rs.clone());
        }
        ours && (wanted || recorded_routes.iter().any(|x| x.dst == rs.dst && x.metric == rs.metric))
    };
    let snap = snapshot(
        &NsRef::Host,
        route_is_ours,
        sysctl_keys(&NsRef::Host),
        Some((kind, lab.to_string(), names::table_name(lab, &NsRef::Host))),
        may_have_shapes(&NsRef::Host),
    )
    .await?;
    for rs in clashes.into_inner().expect("clash list") {
        seen.foreign.push(format!("the host namespace already has a route {rs} that is not this lab's; give the lab's route another metric, or remove that route"));
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
