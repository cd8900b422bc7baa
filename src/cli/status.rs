//! `netlab status [LAB] [--json]`: the lab as the kernel holds it, and its drift from the file.

use crate::engine::status::Status;
use crate::error::Result;

pub async fn run<S: crate::backend::System>(sys: &S, lab: Option<&str>, json: bool) -> Result<i32> {
    let status = crate::engine::status::status(sys, lab).await?;
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
        let where_ =
            n.netns.as_ref().map(|ns| format!("netns {ns}")).unwrap_or_else(|| "host namespace".into());
        let missing = if n.present { "" } else { " MISSING" };
        println!("node {} ({where_}){missing}", n.name);
        let Some(st) = &n.state else { continue };
        for (name, i) in &st.ifaces {
            let addrs: Vec<String> = i.addrs.iter().map(|a| a.to_string()).collect();
            let master = i.master.as_ref().map(|m| format!(" master {m}")).unwrap_or_default();
            let key = crate::state::Overrides::key(&n.name, name);
            let held = if s.held.down.contains(&key) { " (held by netlab link down)" } else { "" };
            println!(
                "  {name:<15} {:<6} {:<4} mtu {:<5}{master} {}{held}",
                format!("{:?}", i.kind).to_lowercase(),
                if i.up { "up" } else { "down" },
                i.mtu.unwrap_or(0),
                addrs.join(" ")
            );
            if let Some(shape) = &i.shape {
                let why = if s.held.shapes.contains_key(&key) { " (held by netlab impair)" } else { "" };
                println!("  {name:<15} qdisc {shape}{why}");
            }
        }
        for r in st.routes.values() {
            println!("  route {r}");
        }
        for (r, proto) in &st.unmanaged.routes {
            println!("  unmanaged route {r} proto {}", crate::state::ns::proto_name(*proto));
        }
        for (iface, addr) in &st.unmanaged.addrs {
            println!("  unmanaged addr {iface} {addr}");
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
    for o in &s.overrides {
        println!("held: {o}");
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
