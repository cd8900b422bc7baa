//! `netlab test`: the lab is brought up only when it is down (or when asked to), then its
//! `[[check]]`s run. Each probe runs natively from inside its node's network namespace, all of
//! them at once, each bounded by its timeout and timed from its own start to its own end.

use crate::backend::{Capture, Probes, System};
use crate::error::Result;
use crate::model::{self, Check, PingPair, Probe, Throughput};
use crate::plan::Plan;
use futures::StreamExt;
use serde::Serialize;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How many pings of one `ping_all` are in flight at once (each holds a thread).
const PING_ALL_IN_FLIGHT: usize = 32;

/// The outcome of one check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub name: String,
    pub from: String,
    pub target: String,
    pub expect_ok: bool,
    /// Whether the probe reached its target (for `ping_all` with `expect = "fail"`: whether
    /// any pair did; for a throughput check: whether the rate was within its bounds).
    pub ok: bool,
    /// What the probe saw: why it failed, which pairs did not answer, the rate measured.
    pub detail: Option<String>,
    /// A throughput check's measured rate, as "94.2 Mbit/s".
    pub measured: Option<String>,
    /// From the check's own start to its own end.
    pub elapsed: Duration,
    /// The 1-based line of the check's table in the lab's file.
    pub line: usize,
    /// The capture of the check's packets, kept (`netlab test --pcap`).
    pub pcap: Option<PathBuf>,
}

impl CheckResult {
    /// Whether what happened is what the file expected.
    pub fn passed(&self) -> bool {
        self.ok == self.expect_ok
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

/// Runs the lab's checks and returns the results in file order.
pub async fn run_checks<S: Probes>(sys: &S, lab: &model::Lab) -> Vec<CheckResult> {
    in_turns(&lab.checks, |_, c| run_check(sys, lab, c)).await
}

/// Runs `run` on every check (with its index) and returns the results in file order. The
/// checks run concurrently, but for throughput checks: those run one after another (beside
/// the rest), so that no two measures share a link or a sink's port.
async fn in_turns<'a, F, Fut>(checks: &'a [Check], run: F) -> Vec<CheckResult>
where
    F: Fn(usize, &'a Check) -> Fut,
    Fut: Future<Output = CheckResult>,
{
    let measure = |c: &Check| matches!(c.probe, Probe::Throughput(_));
    let run = &run;
    let one_by_one = async {
        let mut out = Vec::new();
        for (i, c) in checks.iter().enumerate().filter(|(_, c)| measure(c)) {
            out.push(run(i, c).await);
        }
        out
    };
    let at_once = futures::future::join_all(
        checks.iter().enumerate().filter(|(_, c)| !measure(c)).map(|(i, c)| run(i, c)),
    );
    let (measured, rest) = futures::future::join(one_by_one, at_once).await;
    let (mut measured, mut rest) = (measured.into_iter(), rest.into_iter());
    checks
        .iter()
        .map(|c| if measure(c) { measured.next() } else { rest.next() })
        .map(|r| r.expect("one result per check"))
        .collect()
}

/// Runs one check, timed from its own start to its own end.
pub async fn run_check<S: Probes>(sys: &S, lab: &model::Lab, c: &Check) -> CheckResult {
    let started = Instant::now();
    let (ok, detail, measured) = match &c.probe {
        Probe::PingAll { pairs, .. } => {
            let (ok, detail) = ping_all(sys, lab, pairs, c.timeout, c.expect_ok).await;
            (ok, Some(detail), None)
        }
        Probe::Throughput(t) => {
            let to = &lab.nodes[&t.to_node].ns;
            match sys.throughput(&lab.nodes[&c.from].ns, to, t, c.timeout).await {
                Ok(bps) => {
                    let (ok, detail) = within(bps, t);
                    (ok, Some(detail), Some(rate_text(bps)))
                }
                Err(e) => (false, Some(e), None),
            }
        }
        single => {
            let outcome = sys.probe(&lab.nodes[&c.from].ns, single, c.timeout).await;
            (outcome.is_ok(), outcome.err(), None)
        }
    };
    CheckResult {
        name: c.name.clone(),
        from: c.from.clone(),
        target: c.probe.to_string(),
        expect_ok: c.expect_ok,
        ok,
        detail,
        measured,
        elapsed: started.elapsed(),
        line: c.line,
        pcap: None,
    }
}

/// Every pair at once (bounded), like Mininet's pingall. With `expect_ok` the check is ok
/// when every pair answers, and the detail names those that did not; otherwise (a check of
/// isolation) it is ok when any pair answers, and the detail names those that did.
async fn ping_all<S: Probes>(
    sys: &S,
    lab: &model::Lab,
    pairs: &[PingPair],
    timeout: Duration,
    expect_ok: bool,
) -> (bool, String) {
    let outcomes: Vec<Result<(), String>> = futures::stream::iter(pairs.iter().map(|p| {
        let ns = &lab.nodes[&p.from].ns;
        let probe = Probe::Ping(p.to);
        async move { sys.probe(ns, &probe, timeout).await }
    }))
    .buffered(PING_ALL_IN_FLIGHT)
    .collect()
    .await;
    let answered = outcomes.iter().filter(|o| o.is_ok()).count();
    let total = pairs.len();
    let pair = |p: &PingPair| format!("{} → {} ({}:{})", p.from, p.to, p.to_node, p.to_iface);
    if expect_ok {
        let failed: Vec<String> = pairs
            .iter()
            .zip(&outcomes)
            .filter_map(|(p, o)| o.as_ref().err().map(|e| format!("{}: {e}", pair(p))))
            .collect();
        let summary = format!("{answered}/{total} pairs answered");
        if failed.is_empty() {
            (true, summary)
        } else {
            (false, format!("{summary}; {}", failed.join("; ")))
        }
    } else {
        let reached: Vec<String> =
            pairs.iter().zip(&outcomes).filter(|(_, o)| o.is_ok()).map(|(p, _)| pair(p)).collect();
        let summary = format!("{answered}/{total} pairs answered");
        if reached.is_empty() {
            (false, summary)
        } else {
            (true, format!("{summary}; {} answered", reached.join("; ")))
        }
    }
}

/// Whether `bps` is within the check's bounds, and the rate with the bound it broke.
pub fn within(bps: u64, t: &Throughput) -> (bool, String) {
    let rate = rate_text(bps);
    match (t.min, t.max) {
        (Some(min), _) if bps < min => (false, format!("{rate}, below min {}", rate_text(min))),
        (_, Some(max)) if bps > max => (false, format!("{rate}, above max {}", rate_text(max))),
        _ => (true, rate),
    }
}

/// A rate in bits per second as people read one: "94.2 Mbit/s".
pub fn rate_text(bps: u64) -> String {
    let v = bps as f64;
    if v >= 1e9 {
        format!("{:.2} Gbit/s", v / 1e9)
    } else if v >= 1e6 {
        format!("{:.1} Mbit/s", v / 1e6)
    } else {
        format!("{:.1} kbit/s", v / 1e3)
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
    let files = &files;
    in_turns(&lab.checks, |i, c| async move {
        let path = pcap.dir.join(&files[i]);
        let capture = start_capture(sys, lab, c, &path);
        let mut r = run_check(sys, lab, c).await;
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
    })
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

/// The nodes whose interfaces a check's capture covers: its own and its target's; for
/// ping_all, every node it lists.
fn captured_nodes<'a>(lab: &'a model::Lab, c: &'a Check) -> Vec<&'a str> {
    let mut nodes = vec![c.from.as_str()];
    let other = match &c.probe {
        Probe::Ping(ip) => node_with(lab, *ip),
        Probe::Connect(sa) | Probe::ConnectUdp(sa) => node_with(lab, sa.ip()),
        Probe::Throughput(t) => Some(t.to_node.as_str()),
        Probe::PingAll { nodes: listed, .. } => return listed.iter().map(String::as_str).collect(),
    };
    nodes.extend(other.filter(|n| *n != c.from));
    nodes
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
    let nodes = captured_nodes(lab, c);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Transport;

    fn t(min: Option<u64>, max: Option<u64>) -> Throughput {
        Throughput {
            to_node: "b".into(),
            to: "10.0.0.2".parse().unwrap(),
            port: 5201,
            proto: Transport::Tcp,
            min,
            max,
            duration: Duration::from_secs(1),
        }
    }

    /// a and b on a link, c on none: a throughput check (first in the file, run apart from
    /// the others), two ping_alls and a ping.
    const THREE: &str = r#"
name = "t"
[nodes.a]
[nodes.b]
[nodes.c]
[[links]]
endpoints = ["a:eth0", "b:eth0"]
addresses = ["10.0.0.1/24", "10.0.0.2/24"]
[[check]]
name = "measure"
from = "a"
throughput = { to = "b", min = "1mbit" }
[[check]]
ping_all = ["a", "b"]
[[check]]
ping_all = ["a", "b", "c"]
expect = "fail"
[[check]]
name = "isolated"
from = "c"
ping = "10.0.0.1"
expect = "fail"
"#;

    #[test]
    fn results_come_in_file_order_with_ping_all_over_every_pair() {
        let fake = crate::backend::fake::Fake::default();
        let lab = model::Lab::parse(std::path::Path::new("/nonexistent/t.toml"), THREE).unwrap();
        futures::executor::block_on(super::super::up::up(&fake, &lab, Default::default(), &|_| {}, &|| {}))
            .unwrap();
        let r = futures::executor::block_on(run_checks(&fake, &lab));
        let names: Vec<&str> = r.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["measure", "ping_all a, b", "ping_all a, b, c", "isolated"]);
        // The fake carries no bytes: the measure fails, and says why.
        assert!(!r[0].passed() && r[0].detail.as_deref() == Some("the fake machine carries no traffic"));
        assert!(r[1].passed() && r[1].detail.as_deref() == Some("2/2 pairs answered"), "{:?}", r[1]);
        // c has no address, so it only pings: its pairs answer in the fake (which routes
        // anything to any address that is up), so the isolation this check expects is broken.
        assert!(!r[2].passed(), "{:?}", r[2]);
        assert!(r[2].detail.as_deref().unwrap().starts_with("4/4 pairs answered; a → 10.0.0.2 (b:eth0)"));
        assert_eq!((r[0].line, r[3].line), (9, 18));
    }

    #[test]
    fn a_rate_is_within_its_bounds_or_says_which_it_broke() {
        assert_eq!(within(94_200_000, &t(Some(50_000_000), None)), (true, "94.2 Mbit/s".into()));
        assert_eq!(
            within(94_200_000, &t(Some(300_000_000), None)),
            (false, "94.2 Mbit/s, below min 300.0 Mbit/s".into())
        );
        assert_eq!(
            within(2_500_000_000, &t(None, Some(1_000_000_000))),
            (false, "2.50 Gbit/s, above max 1.00 Gbit/s".into())
        );
        assert!(within(1_000_000_000, &t(Some(1_000_000_000), Some(1_000_000_000))).0);
        assert_eq!(rate_text(512_000), "512.0 kbit/s");
    }
}
