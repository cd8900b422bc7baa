//! `netlab status [FILE | LAB | --lab NAME] [--json] [--exit-code]`: the lab as the kernel holds
//! it, and its drift from the file.

use super::table::Table;
use super::words::{plural, size};
use crate::engine::status::Status;
use crate::error::Result;
use crate::Lab;
use std::path::Path;

/// What `status` was asked to print, and how to exit.
#[derive(Debug, Clone, Copy)]
pub struct Flags {
    pub json: bool,
    /// Exit 2 when the lab has drifted.
    pub exit_code: bool,
}

/// Whether the positional argument names a topology file rather than a lab: a path to a file
/// that is there, or a name ending in `.toml` (which no lab name can: it holds a dot).
pub fn is_file(arg: &str) -> bool {
    arg.ends_with(".toml") || Path::new(arg).is_file()
}

/// The lab a `FILE`, `LAB` or `--lab NAME` argument names: a file's lab is the one it describes.
pub fn lab_named(target: Option<&str>, lab: Option<&str>) -> Result<Option<String>> {
    match (target, lab) {
        (Some(t), None) if is_file(t) => Ok(Some(Lab::load(Path::new(t))?.name)),
        (Some(name), None) | (None, Some(name)) => Ok(Some(name.to_string())),
        // clap refuses both at once.
        (Some(_), Some(name)) => Ok(Some(name.to_string())),
        (None, None) => Ok(None),
    }
}

pub async fn run<S: crate::backend::System>(
    sys: &S,
    target: Option<&str>,
    lab: Option<&str>,
    flags: Flags,
) -> Result<i32> {
    let name = lab_named(target, lab)?;
    let status = crate::engine::status::status(sys, name.as_deref()).await?;
    if flags.json {
        let view = super::json::status(&status);
        println!("{}", serde_json::to_string_pretty(&view).expect("status serializes"));
    } else {
        print!("{}", text(&status));
    }
    Ok(if flags.exit_code && !status.drift.is_empty() { 2 } else { 0 })
}

/// `used/limit`, `used`, or `-`.
fn usage(v: Option<u64>, limit: Option<u64>, fmt: fn(u64) -> String) -> String {
    match (v, limit) {
        (Some(v), Some(l)) => format!("{}/{}", fmt(v), fmt(l)),
        (Some(v), None) => fmt(v),
        _ => "-".to_string(),
    }
}

/// The status as `netlab status` prints it.
pub fn text(s: &Status) -> String {
    let view = super::json::status(s);
    let mut out = format!("lab {} (file {}, prefix \"{}\")\n", s.lab, s.file, s.prefix);
    for (n, v) in s.nodes.iter().zip(&view.nodes) {
        let where_ = match (&n.netns, v.kind) {
            (None, _) => "host namespace".to_string(),
            (Some(ns), "netns") => format!("netns {ns}"),
            (Some(ns), kind) => format!("{kind}, netns {ns}"),
        };
        let missing = if n.present { "" } else { " MISSING" };
        out += &format!("node {} ({where_}){missing}\n", n.name);
        let mut ifaces = Table::bare().indent(2);
        for i in &v.interfaces {
            let peer = i.peer.as_ref().map(|p| format!("peer {p}")).unwrap_or_default();
            let master = i.master.as_ref().map(|m| format!("master {m}")).unwrap_or_default();
            let key = crate::state::Overrides::key(&n.name, &i.name);
            let held = if s.held.down.contains(&key) { "(held by netlab link down)" } else { "" };
            ifaces.row(vec![
                i.name.clone(),
                i.kind.clone(),
                if i.up { "up" } else { "down" }.to_string(),
                format!("mtu {}", i.mtu.unwrap_or(0)),
                [peer, master].into_iter().filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" "),
                [i.addresses.join(" "), held.to_string()].join(" ").trim().to_string(),
            ]);
            let shape = n.state.as_ref().and_then(|st| st.ifaces.get(&i.name)).and_then(|x| x.shape.as_ref());
            if let Some(shape) = shape {
                let why = if s.held.shapes.contains_key(&key) { " (held by netlab impair)" } else { "" };
                ifaces.row(vec![i.name.clone(), format!("qdisc {shape}{why}")]);
            }
        }
        out += &ifaces.render();
        let Some(st) = &n.state else { continue };
        for r in st.routes.values() {
            out += &format!("  route {r}\n");
        }
        for (r, proto) in &st.unmanaged.routes {
            out += &format!("  unmanaged route {r} proto {}\n", crate::state::ns::proto_name(*proto));
        }
        for (iface, addr) in &st.unmanaged.addrs {
            out += &format!("  unmanaged addr {iface} {addr}\n");
        }
        for l in &st.unmanaged.links {
            out += &format!("  unmanaged interface {l}\n");
        }
        for (k, v) in &st.sysctls {
            out += &format!("  sysctl {k} = {v}\n");
        }
        for line in st.nft.iter().flatten() {
            out += &format!("  nft {line}\n");
        }
        if let Some(h) = n.holder {
            out += &format!("  namespaces held by pid {h}\n");
        }
        let mut workloads = Table::bare().indent(2);
        for w in &n.workloads {
            workloads.row(vec![
                format!("workload {}", w.name),
                w.state.to_string(),
                w.pid.map(|p| format!("pid {p}")).unwrap_or_default(),
                format!("restarts {}", w.restarts),
                format!("memory {}", usage(w.memory_bytes, w.memory_limit, size)),
                format!("pids {}", usage(w.pids, w.pids_limit, |v| v.to_string())),
                w.last_exit.as_ref().map(|e| format!("last {e}")).unwrap_or_default(),
            ]);
        }
        out += &workloads.render();
    }
    for o in &s.overrides {
        out += &format!("held: {o}\n");
    }
    match (&s.drift_unknown, s.drift.is_empty()) {
        (Some(why), _) => out += &format!("drift: unknown ({why})\n"),
        (None, true) => out += "drift: none\n",
        (None, false) => {
            out += &format!("drift ({} `netlab up` would make):\n", plural(s.drift.len(), "change"));
            for d in &s.drift {
                out += &format!("  {d}\n");
            }
        }
    }
    out
}
