//! Capture on the fake machine: a namespace's interfaces are `lo` and the ones the fake
//! kernel holds; packets are what a test puts on an interface with [`Fake::send_packet`],
//! seen by the taps open on it then.

use super::Fake;
use crate::backend::{Capture, Tap};
use crate::capture::filter::Filter;
use crate::capture::Packet;
use crate::error::SysError;
use crate::model::NsRef;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The queues of the taps that are open, by namespace and interface.
pub(super) type Taps = Mutex<Vec<FakeTapEnd>>;

/// One interface of an open tap: where its packets go, and its count of drops.
#[derive(Debug)]
pub(super) struct FakeTapEnd {
    ns: NsRef,
    iface: String,
    id: u32,
    queue: Arc<Mutex<VecDeque<Packet>>>,
    drops: Arc<Mutex<u64>>,
}

/// Interfaces of the fake machine opened for capture.
pub struct FakeTap {
    queue: Arc<Mutex<VecDeque<Packet>>>,
    /// What the fake kernel dropped on it: `Fake::drop_packets`.
    drops: Arc<Mutex<u64>>,
}

impl Tap for FakeTap {
    /// Waits as a socket would when nothing is queued, so a capture loop does not spin.
    fn next(&mut self, wait: Duration) -> Result<Option<Packet>, SysError> {
        let p = self.queue.lock().expect("fake tap").pop_front();
        if p.is_none() {
            std::thread::sleep(wait);
        }
        Ok(p)
    }

    fn dropped(&mut self) -> u64 {
        *self.drops.lock().expect("fake tap")
    }
}

impl Fake {
    /// Puts a frame on interface `iface` of `ns`: every tap open on it sees it.
    pub fn send_packet(&self, ns: &NsRef, iface: &str, data: &[u8]) {
        for t in self.shared.taps.lock().expect("fake taps").iter() {
            if t.ns == *ns && t.iface == iface {
                let p = Packet {
                    iface: t.id,
                    ts: Duration::from_secs(1),
                    data: data.to_vec(),
                    orig_len: data.len() as u32,
                };
                t.queue.lock().expect("fake tap").push_back(p);
            }
        }
    }

    /// Makes the fake kernel drop `n` packets on interface `iface` of `ns`, as a full queue would.
    pub fn drop_packets(&self, ns: &NsRef, iface: &str, n: u64) {
        for t in self.shared.taps.lock().expect("fake taps").iter() {
            if t.ns == *ns && t.iface == iface {
                *t.drops.lock().expect("fake tap") += n;
            }
        }
    }
}

impl Capture for Fake {
    type Tap = FakeTap;

    fn interfaces(&self, ns: &NsRef) -> Result<Vec<String>, SysError> {
        let mut names =
            self.with_ns(ns, "listing interfaces", |s| s.ifaces.keys().cloned().collect::<Vec<_>>())?;
        names.push("lo".to_string());
        names.sort();
        Ok(names)
    }

    fn tap(
        &self,
        ns: &NsRef,
        ifaces: &[String],
        _snaplen: u32,
        filter: Option<&Filter>,
    ) -> Result<FakeTap, SysError> {
        let f = filter.map(|f| format!(" filter {:?}", f.expr)).unwrap_or_default();
        self.log(format!("tap {ns} {}{f}", ifaces.join(",")))?;
        let have = self.interfaces(ns)?;
        let queue = Arc::new(Mutex::new(VecDeque::new()));
        let drops = Arc::new(Mutex::new(0));
        let mut taps = self.shared.taps.lock().expect("fake taps");
        for (id, i) in ifaces.iter().enumerate() {
            if !have.contains(i) {
                return Err(SysError::errno(
                    format!("finding interface {i}"),
                    nix::errno::Errno::ENODEV as i32,
                ));
            }
            let (queue, drops) = (queue.clone(), drops.clone());
            taps.push(FakeTapEnd { ns: ns.clone(), iface: i.clone(), id: id as u32, queue, drops });
        }
        Ok(FakeTap { queue, drops })
    }

    fn stop_signal(&self) -> Result<&'static std::sync::atomic::AtomicBool, SysError> {
        Ok(Box::leak(Box::new(std::sync::atomic::AtomicBool::new(false))))
    }
}
