//! `netlab down`: removes everything a lab owns, found by its record and its marks, and
//! nothing else. Best effort and complete: it goes on past failures and reports them.

use crate::backend::Firewall;
use crate::backend::Links;
use crate::error::{Error, Result, SysError};
use crate::model::{names, NsRef};
use crate::state::Record;
use crate::sys::firewall::iptables;
use crate::sys::netlink::dump;
use crate::sys::netlink::observe::{owner, snapshot, Owner};
use crate::sys::netlink::rtnl::{Rtnl, NETLAB_PROTO};
use crate::sys::{netns, process};
use futures::stream::{self, StreamExt};
use netlink_packet_route::route::RouteProtocol;
use std::collections::BTreeSet;

/// Threads that unmount namespaces side by side.
const DELETERS: usize = 8;

/// What `down` removed.
#[derive(Debug, Default)]
pub struct DownReport {
    pub namespaces: Vec<String>,
    pub host_links: Vec<String>,
    /// Recorded namespaces that now belong to someone else and were left alone.
    pub skipped: Vec<String>,
    pub found_anything: bool,
}

/// Whether namespace `name` is the lab's: its `lo` carries the lab's mark (netlab marks a
/// namespace before it mounts it under its name), or it is a bare file the record names (an
/// `up` interrupted between creating the file and mounting the namespace on it).
async fn is_ours(lab: &str, record: Option<&Record>, name: &str) -> Result<bool, SysError> {
    if !netns::exists(name) {
        return Ok(false);
    }
    let in_record = record.is_some_and(|r| r.namespaces.contains(name));
    if !netns::is_mounted(name) {
        return Ok(in_record);
    }
    // The very mount netlab made (unique mount ids are never reused): no need to look inside.
    if record.is_some_and(|r| r.made(name)) {
        return Ok(true);
    }
    match netns::run(netns::Place::Named(name.to_string()), dump::lo_alias_here).await {
        Ok(alias) => Ok(owner(lab, alias.as_deref()) == Owner::Ours),
        // Unreadable and not named by the record (another tool is making or removing it as
        // we look): nothing proves it is ours, so it is left alone.
        Err(_) if !in_record => Ok(false),
        Err(e) => Err(SysError::new(format!("reading netns {name}"), e)),
    }
}

/// Tears lab `lab` down.
pub async fn down(lab: &str) -> Result<DownReport> {
    netns::check_mount_propagation()?;
    let lock = Record::lock(lab)?;
    let record = Record::load(lab)?;
    let kind = record.as_ref().map(|r| r.firewall).unwrap_or_default();
    let rtnl = Rtnl::new(lab).with_firewall(kind);
    let mut report = DownReport { found_anything: record.is_some(), ..Default::default() };
    let mut errors: Vec<SysError> = Vec::new();

    // Processes first: they hold namespaces, and nothing may outlive the lab.
    let (l, recorded) = (lab.to_string(), record.is_some());
    match tokio::task::spawn_blocking(move || process::teardown(&l, recorded)).await {
        Ok(Err(e)) => errors.push(SysError::new(format!("stopping the processes of lab {lab}"), e)),
        Err(e) => errors
            .push(SysError::new(format!("stopping the processes of lab {lab}"), std::io::Error::other(e))),
        Ok(Ok(())) => {}
    }

    // Without a record, the marks alone tell which namespaces are ours.
    let recorded: BTreeSet<String> = record.as_ref().map(|r| r.namespaces.clone()).unwrap_or_default();
    let candidates: Vec<String> =
        if record.is_some() { recorded.iter().cloned().collect() } else { netns::list() };
    let verdicts: Vec<(String, Result<bool, SysError>)> = stream::iter(candidates)
        .map(|name| {
            let record = record.as_ref();
            async move {
                let v = is_ours(lab, record, &name).await;
                (name, v)
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;

    // Host objects first, while their peers' namespaces still exist.
    let mark = names::mark_prefix(lab);
    let host = snapshot(
        &NsRef::Host,
        |r, _| r.header.protocol == RouteProtocol::Other(NETLAB_PROTO),
        Vec::new(),
        Some((kind, lab.to_string(), names::table_name(lab, &NsRef::Host))),
        false,
    )
    .await?;
    if let Some(rec) = &record {
        for route in &rec.host_routes {
            if host.state.routes.contains_key(&(route.dst, route.metric)) {
                if let Err(e) = rtnl.del_route(&NsRef::Host, route).await {
                    errors.push(e);
                }
            }
        }
        if let Some(origs) = rec.sysctl_orig.get(&Record::ns_key(&NsRef::Host)) {
            // Another lab up in this namespace that set the same key still needs it.
            let others: Vec<Record> =
                Record::all().unwrap_or_default().into_iter().filter(|r| r.lab != lab).collect();
            for (key, value) in origs {
                let still_ours = rec
                    .host_sysctls
                    .get(key)
                    .is_some_and(|v| crate::sys::sysctl::read(key).ok().as_ref() == Some(v));
                let shared = others.iter().any(|o| o.host_sysctls.contains_key(key));
                if !still_ours || shared {
                    continue;
                }
                if let Err(e) = rtnl.set_sysctl(&NsRef::Host, key, value).await {
                    errors.push(e);
                }
            }
        }
    }
    if host.state.nft.is_some() {
        report.found_anything = true;
        if let Err(e) = rtnl.delete_table(&NsRef::Host, &names::table_name(lab, &NsRef::Host)).await {
            errors.push(e);
        }
    }
    if record.is_none() {
        // Without the record, the lab's iptables chains may be there too: they go by name.
        let l = lab.to_string();
        let found = tokio::task::spawn_blocking(move || iptables::read_here(&l).ok().flatten().is_some())
            .await
            .unwrap_or(false);
        if found {
            report.found_anything = true;
            let ipt = Rtnl::new(lab).with_firewall(crate::model::firewall::FirewallKind::Iptables);
            if let Err(e) = ipt.delete_table(&NsRef::Host, "").await {
                errors.push(e);
            }
        }
    }
    for (name, iface) in &host.state.ifaces {
        if iface.alias.as_ref().is_some_and(|a| a.starts_with(&mark)) {
            report.found_anything = true;
            match rtnl.del_link(&NsRef::Host, name).await {
                Ok(()) => report.host_links.push(name.clone()),
                Err(e) => errors.push(e),
            }
        }
    }

    let mut doomed = Vec::new();
    for (name, verdict) in verdicts {
        match verdict {
            Ok(true) => doomed.push(name),
            Ok(false) if recorded.contains(&name) && netns::exists(&name) => {
                report.skipped.push(format!("{name} (not this lab's)"))
            }
            Ok(false) => {}
            Err(e) => errors.push(e),
        }
    }
    report.found_anything |= !doomed.is_empty();
    // Unmount and unlink, as `ip netns del` does. An unmount can wait for an RCU grace
    // period; several threads let those waits overlap.
    let chunks: Vec<Vec<String>> =
        doomed.chunks(doomed.len().div_ceil(DELETERS).max(1)).map(<[String]>::to_vec).collect();
    let mut results = Vec::new();
    for part in futures::future::join_all(chunks.into_iter().map(|chunk| {
        tokio::task::spawn_blocking(move || {
            chunk
                .into_iter()
                .map(|n| {
                    let r = netns::delete(&n);
                    (n, r)
                })
                .collect::<Vec<_>>()
        })
    }))
    .await
    {
        results.extend(part.map_err(|e| Error::Usage(format!("deleting namespaces: {e}")))?);
    }
    for (name, r) in results {
        match r {
            Ok(()) => report.namespaces.push(name),
            Err(e) => errors.push(e),
        }
    }
    report.namespaces.sort();
    if !errors.is_empty() {
        return Err(Error::Teardown(errors));
    }
    Record::remove(lab)?;
    drop(lock);
    Ok(report)
}
