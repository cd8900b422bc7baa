//! `netlab status [LAB] [--json]`: the lab as the kernel holds it, and its drift from the file.

use crate::error::{Error, Result};
use crate::model::NsRef;
use crate::plan::{self, Op};
use crate::state::{NetState, NsState};
use crate::state::{Observed, Record};
use crate::sys::netlink::observe::observe;
use crate::sys::process::{self, Files, WorkloadStatus};
use crate::Lab;
use serde::Serialize;

#[derive(Serialize)]
struct Status<'a> {
    lab: &'a str,
    file: String,
    prefix: &'a str,
    nodes: Vec<NodeStatus<'a>>,
    /// What `up` would change; empty when the lab matches its file.
    drift: Vec<String>,
    /// Why drift could not be computed, if it could not.
    drift_unknown: Option<String>,
}

#[derive(Serialize)]
struct NodeStatus<'a> {
    name: &'a str,
    netns: Option<&'a str>,
    present: bool,
    state: Option<&'a NsState>,
    /// The holder of the node's namespaces, when it has one running.
    holder: Option<u32>,
    workloads: Vec<WorkloadStatus>,
}

pub async fn run(lab: Option<&str>, json: bool) -> Result<i32> {
    let record = match lab {
        Some(l) => Record::load(l)?.ok_or_else(|| {
            Error::NotFound(format!("lab {l} is not up (`netlab ls` lists the labs that are)"))
        })?,
        None => {
            let mut all = Record::all()?;
            match all.len() {
                1 => all.pop().expect("one lab"),
                0 => return Err(Error::NotFound("no lab is up".into())),
                _ => return Err(Error::Usage("several labs are up; name one: netlab status LAB".into())),
            }
        }
    };
    // Drift needs the file; without it, show what the kernel holds.
    let (lab_file, drift_unknown) = match Lab::load(&record.file) {
        Ok(l) if l.name() == record.lab => (Some(l), None),
        Ok(_) => (None, Some(format!("{} now describes another lab", record.file.display()))),
        Err(e) => (None, Some(e.to_string())),
    };
    let want: NetState = lab_file.as_ref().map(|l| l.desired()).unwrap_or_default();
    let mut seen: Observed = observe(&record.lab, &want, Some(record.clone()), record.firewall).await?;
    let files = Files { lab: record.lab.clone() };
    seen.procs = process::fingerprints(&files);
    let drift: Vec<String> = match &lab_file {
        Some(l) => plan::diff(&l.model, &want, &seen).ops.iter().map(Op::to_string).collect(),
        None => Vec::new(),
    };
    let nodes: Vec<NodeStatus> = record
        .nodes
        .iter()
        .map(|(name, ns)| {
            let key = ns.as_ref().map(|n| NsRef::Named(n.clone())).unwrap_or(NsRef::Host);
            let state = seen.ns.get(&key);
            NodeStatus {
                name,
                netns: ns.as_deref(),
                present: state.is_some(),
                state,
                holder: files.holder(name),
                workloads: process::workload_status(&files, name),
            }
        })
        .collect();
    let status = Status {
        lab: &record.lab,
        file: record.file.display().to_string(),
        prefix: &record.prefix,
        nodes,
        drift,
        drift_unknown,
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&status).expect("status serializes"));
    } else {
        print_text(&status);
    }
    Ok(0)
}

fn print_text(s: &Status) {
    println!("lab {} (file {}, prefix \"{}\")", s.lab, s.file, s.prefix);
    for n in &s.nodes {
        let where_ = n.netns.map(|ns| format!("netns {ns}")).unwrap_or_else(|| "host namespace".into());
        let missing = if n.present { "" } else { " MISSING" };
        println!("node {} ({where_}){missing}", n.name);
        let Some(st) = n.state else { continue };
        for (name, i) in &st.ifaces {
            let addrs: Vec<String> = i.addrs.iter().map(|a| a.to_string()).collect();
            let master = i.master.as_ref().map(|m| format!(" master {m}")).unwrap_or_default();
            println!(
                "  {name:<15} {:<6} {:<4} mtu {:<5}{master} {}",
                format!("{:?}", i.kind).to_lowercase(),
                if i.up { "up" } else { "down" },
                i.mtu.unwrap_or(0),
                addrs.join(" ")
            );
        }
        for r in st.routes.values() {
            println!("  route {r}");
        }
        for (k, v) in &st.sysctls {
            println!("  sysctl {k} = {v}");
        }
        for line in st.nft.iter().flatten() {
            println!("  nft {line}");
        }
        if let Some(h) = n.holder {
            println!("  namespaces held by pid {h}");
        }
        for w in &n.workloads {
            let of = |v: Option<u64>, l: Option<u64>, fmt: fn(u64) -> String| match (v, l) {
                (Some(v), Some(l)) => format!("{}/{}", fmt(v), fmt(l)),
                (Some(v), None) => fmt(v),
                _ => "-".to_string(),
            };
            let pid = w.pid.map(|p| format!(" pid {p}")).unwrap_or_default();
            let exit = w.last_exit.as_ref().map(|e| format!(", last {e}")).unwrap_or_default();
            println!(
                "  workload {}: {}{pid}, restarts {}, memory {}, pids {}{exit}",
                w.name,
                w.state,
                w.restarts,
                of(w.memory_bytes, w.memory_limit, size),
                of(w.pids, w.pids_limit, |v| v.to_string())
            );
        }
    }
    match (&s.drift_unknown, s.drift.is_empty()) {
        (Some(why), _) => println!("drift: unknown ({why})"),
        (None, true) => println!("drift: none"),
        (None, false) => {
            println!("drift ({} changes would be made by `netlab up`):", s.drift.len());
            for d in &s.drift {
                println!("  {d}");
            }
        }
    }
}

fn size(b: u64) -> String {
    const UNITS: [&str; 4] = ["B", "K", "M", "G"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b}B")
    } else {
        format!("{v:.1}{}", UNITS[u])
    }
}
