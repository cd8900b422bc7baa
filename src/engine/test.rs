//! `netlab test`: the lab is brought up only when it is down (or when asked to), then its
//! `[[check]]`s run. Each probe runs natively from inside its node's network namespace, all of
//! them at once, each bounded by its timeout and timed from its own start to its own end.

use crate::backend::{Capture, Probes, System};
use crate::error::Result;
use crate::model::{self, Probe};
use crate::plan::Plan;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// The outcome of one check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub name: String,
    pub from: String,
    pub target: String,
    pub expect_ok: bool,
    /// Whether the probe reached its target.
    pub ok: bool,
    /// Why the probe failed, when it did.
    pub detail: Option<String>,
    pub elapsed: Duration,
    /// The capture of the check's packets, kept (`netlab test --pcap`).
    pub pcap: Option<PathBuf>,
}

impl CheckResult {
    /// Whether what happened is what the file expected.
    pub fn passed(&self) -> bool {
        self.ok == self.expect_ok
    }
}

fn target(p: &Probe) -> String {
    match p {
        Probe::Ping(ip) => format!("ping {ip}"),
        Probe::Connect(sa) => format!("connect {sa}"),
        Probe::ConnectUdp(sa) => format!("connect_udp {sa}"),
    }
}

/// What `netlab test` did to the lab before its checks.
#[derive(Debug)]
pub enum Prepared {
    /// The lab was down, or reconciling was asked for (`--up`): `up` ran, with this report.
    BroughtUp(super::up::UpReport),
    /// The lab was up and was left as it is; `drift` is what `up` would change (empty when
    /// the lab matches its file).
    AsIs { drift: Plan },
}

/// Gets the lab ready for its checks: a lab that is up (it has a record) is not changed,
/// only planned, unless `reconcile`; a lab that is down is brought up.
pub async fn prepare<S: System>(sys: &S, lab: &model::Lab, reconcile: bool) -> Result<Prepared> {
    if !reconcile && sys.load(&lab.name)?.is_some() {
        let planned = super::up::plan(sys, lab, Default::default()).await?;
        return Ok(Prepared::AsIs { drift: planned.plan });
    }
    let report = super::up::up(sys, lab, Default::default(), &|_| {}, &|| {}).await?;
    Ok(Prepared::BroughtUp(report))
}

/// Runs every check of the lab concurrently and returns the results in file order.
pub async fn run_checks<S: Probes>(sys: &S, lab: &model::Lab) -> Vec<CheckResult> {
    futures::future::join_all(lab.checks.iter().map(|c| run_one(sys, lab, c))).await
}

async fn run_one<S: Probes>(sys: &S, lab: &model::Lab, c: &model::Check) -> CheckResult {
    let started = Instant::now();
    let outcome = sys.probe(&lab.nodes[&c.from].ns, &c.probe, c.timeout).await;
    CheckResult {
        name: c.name.clone(),
        from: c.from.clone(),
        target: target(&c.probe),
        expect_ok: c.expect_ok,
        ok: outcome.is_ok(),
        detail: outcome.err(),
        elapsed: started.elapsed(),
        pcap: None,
    }
}

/// Where `netlab test --pcap DIR` keeps the captures of checks.
#[derive(Debug, Clone)]
pub struct PcapDir {
    /// An absolute path: the JUnit report names the files by it.
    pub dir: PathBuf,
    /// Keep the captures of checks that passed too (`--pcap-all`).
    pub keep_all: bool,
}

/// Runs the checks as [`run_checks`] does, each captured while it runs on every interface of
/// its node and of the node its target address belongs to, into `DIR/NAME.pcapng`; the file
/// of a check that passed is removed unless `keep_all`.
pub async fn run_checks_captured<S: Probes + Capture>(
    sys: &S,
    lab: &model::Lab,
    pcap: &PcapDir,
) -> Vec<CheckResult> {
    let files = crate::capture::name::file_names(lab.checks.iter().map(|c| c.name.as_str()));
    futures::future::join_all(lab.checks.iter().zip(files).map(|(c, f)| async move {
        let path = pcap.dir.join(f);
        let capture = start_capture(sys, lab, c, &path);
        let mut r = run_one(sys, lab, c).await;
        let kept = capture.and_then(|cap| cap.stop().map(drop)).map_err(|e| e.to_string());
        match kept {
            Ok(()) if r.passed() && !pcap.keep_all => {
                let _ = std::fs::remove_file(&path);
            }
            Ok(()) => r.pcap = Some(path),
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                let d = r.detail.take().map(|d| format!("{d}; ")).unwrap_or_default();
                r.detail = Some(format!("{d}no capture: {e}"));
            }
        }
        r
    }))
    .await
}

/// The node whose link address is `ip`, if one is.
fn node_with(lab: &model::Lab, ip: std::net::IpAddr) -> Option<&str> {
    lab.links
        .iter()
        .flat_map(|l| [&l.a, &l.b])
        .find(|e| e.addrs.iter().any(|a| a.ip() == ip))
        .map(|e| e.node.as_str())
}

fn target_ip(p: &Probe) -> std::net::IpAddr {
    match p {
        Probe::Ping(ip) => *ip,
        Probe::Connect(sa) | Probe::ConnectUdp(sa) => sa.ip(),
    }
}

/// Starts capturing check `c`'s packets into `path`: every interface of its node, and of its
/// target's node, named `NODE:IFACE` in the file.
fn start_capture<S: Capture>(
    sys: &S,
    lab: &model::Lab,
    c: &model::Check,
    path: &Path,
) -> Result<super::capture::Capturing<std::fs::File>> {
    use super::capture::{interfaces, Capturing, Options};
    let mut nodes = vec![c.from.as_str()];
    if let Some(n) = node_with(lab, target_ip(&c.probe)).filter(|n| *n != c.from) {
        nodes.push(n);
    }
    let opts = Options::default();
    let (mut taps, mut names) = (Vec::new(), Vec::new());
    for n in nodes {
        let ns = &lab.nodes[n].ns;
        let ifaces = interfaces(sys, n, ns, None)?;
        taps.push((sys.tap(ns, &ifaces, opts.snaplen, None)?, names.len() as u32));
        names.extend(ifaces.iter().map(|i| format!("{n}:{i}")));
    }
    let file = std::fs::File::create(path)
        .map_err(|e| crate::error::Error::Write { path: path.display().to_string(), source: e })?;
    let writer = crate::capture::pcapng::Writer::new(file, opts.format, &names, opts.snaplen)
        .map_err(|e| crate::error::Error::Write { path: path.display().to_string(), source: e })?;
    Ok(Capturing::start(taps, writer, &opts))
}
