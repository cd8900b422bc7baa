//! Reads what the kernel holds for one lab: its namespaces and, in the host namespace, the
//! objects that carry its mark. Nothing else is looked at.

use super::rtnl::NETLAB_PROTO;
use super::{dump, lean, tc};
use crate::error::{Error, SysError};
use crate::model::firewall::FirewallKind;
use crate::model::shape::Shape;
use crate::model::{names, NsRef};
use crate::state::own::{self, Owner, RawNs};
use crate::state::{IfState, NetState, NsState};
use crate::state::{Observed, Record};
use crate::sys::{firewall, netns, sysctl};
use futures::stream::{self, StreamExt};
use ipnetwork::IpNetwork;
use netlink_packet_route::route::RouteProtocol;
use netlink_packet_route::tc::TcHandle;
use std::collections::{BTreeSet, HashMap};
use std::io;
use std::net::IpAddr;

/// Devices the kernel makes in every new namespace when a tunnel module is loaded; they
/// belong to the namespace, not to anyone, and cannot be deleted.
const FALLBACK_TUNNELS: [&str; 9] =
    ["sit0", "tunl0", "ip6tnl0", "ip6gre0", "gre0", "gretap0", "erspan0", "ip_vti0", "ip6_vti0"];

/// A namespace as the kernel holds it, before it is sorted into the lab's and the rest.
pub type Snapshot = RawNs;

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
    snapshot_over(ns, sysctls, table, qdiscs, None).await
}

/// [`snapshot`], through `sock` when it is given (a socket open in `ns`) and there is
/// nothing to read that needs a thread inside (sysctls, a table): no namespace is entered.
async fn snapshot_over(
    ns: &NsRef,
    sysctls: Vec<String>,
    table: Option<TableRead>,
    qdiscs: bool,
    sock: Option<std::sync::Arc<super::sock::Sock>>,
) -> Result<Snapshot, SysError> {
    let label = ns.to_string();
    if let (Some(sock), true, None) = (&sock, sysctls.is_empty(), &table) {
        let dump = dump::lean_over(sock, qdiscs).map_err(sys(format!("reading netns {label}")))?;
        return Ok(sort_dump(dump, None));
    }
    // Sorted on the worker too: the namespaces' dumps are sorted in parallel, not one after
    // the other on the thread that waits for them.
    let read = move || {
        let dump = dump::lean_here(qdiscs)?;
        let values: Vec<(String, io::Result<String>)> = sysctls
            .into_iter()
            .map(|k| {
                let v = sysctl::read(&k);
                (k, v)
            })
            .collect();
        // A kernel without nf_tables has no table to read; `up` says so if the lab needs one.
        let nft = table.and_then(|(kind, lab, t)| firewall::read_here(kind, &lab, &t).ok().flatten());
        Ok((sort_dump(dump, nft), values))
    };
    let (mut snap, values) =
        netns::run(netns::place(ns), read).await.map_err(sys(format!("reading netns {label}")))?;
    for (k, v) in values {
        match v {
            Ok(v) => drop(snap.state.sysctls.insert(k, v)),
            // An interface's sysctl before the interface exists (or after it is gone).
            Err(e) if e.kind() == io::ErrorKind::NotFound && names::sysctl_iface(&k).is_some() => {}
            Err(e) => {
                return Err(sys(format!("reading sysctl {k} in {label} (does this kernel have it?)"))(e))
            }
        }
    }
    Ok(snap)
}

/// A namespace's dump sorted into its state.
fn sort_dump(dump: lean::Dump, nft: Option<Vec<String>>) -> Snapshot {
    let by_index: HashMap<u32, String> =
        dump.links.iter().filter_map(|l| Some((l.index, l.name.clone()?))).collect();
    let mut snap = RawNs {
        lo_alias: None,
        state: NsState::default(),
        route_protos: Default::default(),
        marked_addrs: Default::default(),
        addr_proto_known: false,
    };
    let state = &mut snap.state;
    for l in &dump.links {
        let Some(name) = l.name.as_deref() else { continue };
        if name == "lo" {
            snap.lo_alias = l.alias.clone();
            continue;
        }
        if FALLBACK_TUNNELS.contains(&name) {
            continue;
        }
        let master = l.master.and_then(|m| by_index.get(&m).cloned());
        state.ifaces.insert(
            name.to_string(),
            IfState {
                kind: l.if_kind(),
                alias: l.alias.clone(),
                mtu: l.mtu,
                master,
                addrs: Default::default(),
                up: l.up,
                // Known by its handle; what it holds comes from the record (see `observe`).
                shape: dump
                    .qdiscs
                    .iter()
                    .any(|q| {
                        q.index == l.index
                            && (q.handle >> 16) as u16 == tc::HANDLE_MAJOR
                            && q.parent == u32::from(TcHandle::ROOT)
                    })
                    .then(Shape::default),
            },
        );
    }
    for a in &dump.addrs {
        let Some(name) = by_index.get(&a.index) else { continue };
        let (local, addr, proto) = (a.local, a.address, a.proto);
        if name == "lo" {
            snap.addr_proto_known |= proto.is_some();
            continue;
        }
        let Some(ip) = local.or(addr) else { continue };
        if matches!(ip, IpAddr::V6(v) if v.is_unicast_link_local()) {
            continue;
        }
        if let (Some(iface), Ok(net)) = (state.ifaces.get_mut(name), IpNetwork::new(ip, a.prefix_len)) {
            iface.addrs.insert(net);
            if proto == Some(NETLAB_PROTO) {
                snap.marked_addrs.insert((name.clone(), net));
            }
        }
    }
    for r in &dump.routes {
        if r.protocol == u8::from(RouteProtocol::Kernel) {
            continue;
        }
        if let Some((rs, proto)) = r.state(&by_index) {
            let key = (rs.dst, rs.metric);
            snap.route_protos.insert(key, proto);
            state.routes.insert(key, rs);
        }
    }
    state.nft = nft;
    snap
}

/// Reads the lab's share of the kernel: `want` names what it needs, `record` what it made.
/// `socks`: the sockets of the backend that is changing the lab, if one is (`up` looking
/// again at what it did). `only`: the lab's namespaces to read, if not all (the host is
/// read whatever it says).
pub async fn observe(
    lab: &str,
    want: &NetState,
    record: Option<Record>,
    kind: FirewallKind,
    socks: Option<std::sync::Arc<super::sock::SockMap>>,
    only: Option<&BTreeSet<String>>,
) -> Result<Observed, Error> {
    netns::check_mount_propagation()?;
    // The record goes into `seen` at the end, not a copy of it now: at 10 000 nodes it is
    // megabytes, and neither are the names it holds copied to look through them.
    let mut seen = Observed::default();
    let recorded: BTreeSet<&str> =
        record.iter().flat_map(|r| r.namespaces.iter().map(String::as_str)).collect();
    let mut candidates = recorded.clone();
    candidates
        .extend(want.keys().filter_map(|ns| if let NsRef::Named(n) = ns { Some(n.as_str()) } else { None }));
    if let Some(only) = only {
        candidates.retain(|n| only.contains(*n));
    }

    // Reading a table costs a socket per namespace: only where the lab has or had one.
    let may_have_table = |ns: &NsRef| {
        want.get(ns).is_some_and(|w| w.nft.is_some())
            || record.as_ref().is_some_and(|r| r.tables.contains(&Record::ns_key(ns)))
    };
    // Likewise the lab's qdiscs: a dump per namespace, only where it shapes or shaped links.
    // (The record's shapes are sorted by namespace once, not searched for each one.)
    let shaped: BTreeSet<&str> = record
        .as_ref()
        .map(|r| r.shapes.keys().filter_map(|k| k.rsplit_once(':').map(|(ns, _)| ns)).collect())
        .unwrap_or_default();
    let may_have_shapes = |ns: &NsRef| {
        want.get(ns).is_some_and(|w| w.ifaces.values().any(|i| i.shape.is_some()))
            || shaped.contains(Record::ns_key(ns).as_str())
    };
    let sysctl_keys = |ns: &NsRef| own::sysctl_keys(ns, want, record.as_ref());

    let mut present = Vec::new();
    for name in candidates {
        let Some(mounted) = netns::mount_state(name) else { continue };
        if !mounted {
            if recorded.contains(name) {
                seen.broken.insert(name.to_string());
            } else {
                seen.foreign.push(format!("/run/netns/{name} exists but is not a network namespace, and not this lab's; remove it or change the lab's prefix"));
            }
            continue;
        }
        present.push(name.to_string());
    }
    // Each snapshot is sorted into `seen` as it arrives: at 10 000 namespaces, all of them
    // at once were as big as what is kept of them.
    let mut snaps = stream::iter(present)
        .map(|name| {
            let ns = NsRef::Named(name.clone());
            let keys = sysctl_keys(&ns);
            let table = may_have_table(&ns).then(|| (kind, lab.to_string(), names::table_name(lab, &ns)));
            let sock = socks.as_ref().and_then(|m| m.cached(&ns));
            async move {
                let snap = snapshot_over(&ns, keys, table, may_have_shapes(&ns), sock).await;
                (name, snap)
            }
        })
        .buffer_unordered(32);
    while let Some((name, snap)) = snaps.next().await {
        let snap = snap?;
        match own::owner(lab, snap.lo_alias.as_deref()) {
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
        let sorted = own::lab_ns(snap, &ns, lab, want.get(&ns), record.as_ref());
        seen.foreign.extend(sorted.foreign);
        seen.clashes.extend(sorted.clashes);
        let mut state = sorted.state;
        own::recall_shapes(&mut state, &ns, record.as_ref());
        seen.ns.insert(ns, state);
    }
    drop(snaps);

    // The host: only what carries the lab's mark, and the routes its record names.
    let snap = snapshot(
        &NsRef::Host,
        sysctl_keys(&NsRef::Host),
        Some((kind, lab.to_string(), names::table_name(lab, &NsRef::Host))),
        may_have_shapes(&NsRef::Host),
    )
    .await?;
    let sorted = own::host(snap, lab, want.get(&NsRef::Host), record.as_ref());
    seen.foreign.extend(sorted.foreign);
    let mut host = sorted.state;
    own::recall_shapes(&mut host, &NsRef::Host, record.as_ref());
    seen.ns.insert(NsRef::Host, host);
    seen.record = record;
    Ok(seen)
}
