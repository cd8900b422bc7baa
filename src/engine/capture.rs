//! `netlab capture NODE:IFACE`: which interfaces of which namespace a target names, and the
//! loop that writes what a tap sees until a count, a duration or a stop.

use crate::backend::{Capture, Probes, Store, Tap};
use crate::capture::filter::{self, Filter};
use crate::capture::pcapng::Writer;
use crate::capture::{Format, DEFAULT_SNAPLEN};
use crate::error::{Error, Result, SysError};
use crate::model::NsRef;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What to capture and when to stop.
#[derive(Debug, Clone)]
pub struct Options {
    /// Stop after this many packets.
    pub count: Option<u64>,
    /// Stop after this long.
    pub duration: Option<Duration>,
    /// Bytes kept of each packet.
    pub snaplen: u32,
    /// A BPF filter expression (`tcpdump` syntax).
    pub filter: Option<String>,
    pub format: Format,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            count: None,
            duration: None,
            snaplen: DEFAULT_SNAPLEN,
            filter: None,
            format: Format::Pcapng,
        }
    }
}

/// Interfaces of one node, ready to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub lab: String,
    pub node: String,
    pub ns: NsRef,
    /// In the order of their ids in the file.
    pub ifaces: Vec<String>,
}

/// `NODE:IFACE` or `NODE:*` as (node, interface); `None` for every interface.
pub fn split(spec: &str) -> Result<(&str, Option<&str>)> {
    match spec.split_once(':') {
        Some((node, iface)) if !node.is_empty() && !iface.is_empty() => {
            Ok((node, if iface == "*" { None } else { Some(iface) }))
        }
        _ => Err(Error::Usage(format!(
            "{spec:?} names no interface: write NODE:IFACE (e.g. r1:eth0), or NODE:* for all of them"
        ))),
    }
}

/// The interfaces `iface` names among those of namespace `ns` (all for `None`).
pub fn interfaces<S: Capture>(sys: &S, node: &str, ns: &NsRef, iface: Option<&str>) -> Result<Vec<String>> {
    let have = sys.interfaces(ns)?;
    match iface {
        None if have.is_empty() => Err(Error::NotFound(format!("node {node} has no interfaces"))),
        None => Ok(have),
        Some(i) if have.iter().any(|h| h == i) => Ok(vec![i.to_string()]),
        Some(i) => Err(Error::NotFound(format!(
            "node {node} has no interface {i}; it has: {} (or {node}:* for all)",
            have.join(", ")
        ))),
    }
}

/// Finds `NODE:IFACE` among the labs that are up (`lab` may be omitted when one lab has the
/// node), as `netlab exec` finds a node. A host node is captured only from the network
/// namespace its lab was made in: anywhere else, "the host" is another namespace.
pub fn locate<S: Store + Probes + Capture>(sys: &S, spec: &str, lab: Option<&str>) -> Result<Target> {
    let (node, iface) = split(spec)?;
    // Its error for an unknown node lists the nodes there are.
    let (lab_name, netns) = super::exec::locate(sys, node, lab)?;
    if netns.is_none() {
        if let Some(rec) = sys.load(&lab_name)? {
            super::bind::check_status(sys, &rec)?;
        }
    }
    let ns = netns.map(NsRef::Named).unwrap_or(NsRef::Host);
    let ifaces = interfaces(sys, node, &ns, iface)?;
    Ok(Target { lab: lab_name, node: node.to_string(), ns, ifaces })
}

/// The filter of `opts`, compiled; a bad expression is refused before anything is opened.
pub fn compile(opts: &Options) -> Result<Option<Filter>> {
    opts.filter.as_deref().map(filter::compile).transpose().map_err(Error::Usage)
}

/// Refuses what cannot be captured as asked (a bad filter, several interfaces in a pcap file)
/// before anything is opened or written; the compiled filter.
pub fn check(target: &Target, opts: &Options) -> Result<Option<Filter>> {
    if opts.format == Format::Pcap && target.ifaces.len() > 1 {
        return Err(Error::Usage(format!(
            "a pcap file holds one interface, and {} has {}: write pcapng (the default) for {}:*",
            target.node,
            target.ifaces.len(),
            target.node
        )));
    }
    compile(opts)
}

/// Opens the target's interfaces and writes the file's header to `out`, naming them `names`:
/// from the moment this returns, packets are kept.
pub fn open<S: Capture, W: Write>(
    sys: &S,
    target: &Target,
    names: &[String],
    opts: &Options,
    out: W,
) -> Result<(S::Tap, Writer<W>)> {
    let filter = check(target, opts)?;
    let tap = sys.tap(&target.ns, &target.ifaces, opts.snaplen, filter.as_ref())?;
    let writer = Writer::new(out, opts.format, names, opts.snaplen).map_err(write_err)?;
    Ok((tap, writer))
}

fn write_err(e: io::Error) -> Error {
    Error::Write { path: "the capture".into(), source: e }
}

/// Why a capture ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// It had the packets it was asked for.
    Count,
    /// Its duration was up.
    Duration,
    /// It was told to stop (Ctrl-C, or [`Capturing::stop`]).
    Stopped,
    /// Whoever read the output went away (a closed pipe).
    ReaderGone,
}

/// What a capture did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub packets: u64,
    pub ended: Ended,
    /// Packets the kernel dropped because they came faster than they were written.
    pub dropped: u64,
}

/// When to stop: after `count` packets, at `deadline`, or once `stop` is raised (after taking
/// what is already queued).
pub struct Until<'a> {
    pub count: Option<u64>,
    pub deadline: Option<Instant>,
    pub stop: &'a AtomicBool,
}

/// How long one wait for packets lasts before the stop conditions are looked at again.
const TICK: Duration = Duration::from_millis(20);

/// Copies packets from `taps` (each with its first interface id in the file) to `out` until
/// one of `until`'s conditions.
pub fn record<T: Tap, W: Write>(
    taps: &mut [(T, u32)],
    out: &mut Writer<W>,
    until: &Until,
) -> Result<Summary> {
    let (packets, ended) = copy(taps, out, until)?;
    let dropped = taps.iter_mut().map(|(t, _)| t.dropped()).sum();
    Ok(Summary { packets, ended, dropped })
}

fn copy<T: Tap, W: Write>(taps: &mut [(T, u32)], out: &mut Writer<W>, until: &Until) -> Result<(u64, Ended)> {
    let mut packets = 0u64;
    let mut draining = false;
    loop {
        if until.count.is_some_and(|c| packets >= c) {
            return Ok((packets, Ended::Count));
        }
        if !draining && until.stop.load(Ordering::SeqCst) {
            draining = true;
        }
        let now = Instant::now();
        if !draining && until.deadline.is_some_and(|d| now >= d) {
            return Ok((packets, Ended::Duration));
        }
        let wait = if draining {
            Duration::ZERO
        } else {
            let left = until.deadline.map(|d| d.saturating_duration_since(now)).unwrap_or(TICK);
            left.min(TICK) / taps.len().max(1) as u32
        };
        let mut got = false;
        for (tap, base) in taps.iter_mut() {
            if let Some(mut p) = tap.next(wait)? {
                p.iface += *base;
                got = true;
                match out.write(&p) {
                    Ok(()) => packets += 1,
                    Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                        return Ok((packets, Ended::ReaderGone))
                    }
                    Err(e) => return Err(write_err(e)),
                }
                if until.count.is_some_and(|c| packets >= c) {
                    break;
                }
            }
        }
        if draining && !got {
            return Ok((packets, Ended::Stopped));
        }
    }
}

/// A capture running on a thread of its own, for the library and `netlab test --pcap`.
pub struct Capturing<W> {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Result<(Summary, W)>>,
}

impl<W: Write + Send + 'static> Capturing<W> {
    /// Runs `record` on a thread until `opts`' count or duration, or [`Capturing::stop`].
    pub fn start<T: Tap + Send + 'static>(taps: Vec<(T, u32)>, mut out: Writer<W>, opts: &Options) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let (count, deadline) = (opts.count, opts.duration.map(|d| Instant::now() + d));
        let thread = std::thread::spawn(move || {
            let mut taps = taps;
            let summary = record(&mut taps, &mut out, &Until { count, deadline, stop: &flag })?;
            Ok((summary, out.into_inner()))
        });
        Capturing { stop, thread }
    }

    /// Stops the capture once what is queued is written, and hands back the output.
    pub fn stop(self) -> Result<(Summary, W)> {
        self.stop.store(true, Ordering::SeqCst);
        self.wait()
    }

    /// Waits for the capture to end by its count or duration.
    pub fn wait(self) -> Result<(Summary, W)> {
        self.thread.join().unwrap_or_else(|_| {
            Err(Error::Sys(SysError::new("capturing", io::Error::other("the capture thread panicked"))))
        })
    }

    /// Whether the capture has ended (by its count or duration).
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }
}
