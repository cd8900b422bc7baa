//! The fake's event sources: watches are noted, and a test sends through them what a kernel
//! or a supervisor would report (`emit`), so the stream's orchestration is tested without root.

use super::Fake;
use crate::backend::{Feed, Watch, Watcher};
use crate::error::SysError;
use crate::model::NsRef;
use crate::state::event::{Event, What};
use std::sync::atomic::AtomicBool;
use std::sync::mpsc::Sender;

/// One watch the stream asked for: its lab, its node (`None`: the lab's workloads, or for
/// the run directory no lab either), and where it sends.
#[derive(Debug)]
pub(super) struct FakeWatch {
    lab: Option<String>,
    node: Option<String>,
    tx: Sender<Feed>,
    stop: std::sync::Arc<AtomicBool>,
}

impl Fake {
    fn note_watch(&self, lab: Option<&str>, node: Option<&str>, tx: Sender<Feed>) -> Watcher {
        let (w, stop) = Watcher::new();
        self.shared.watches.lock().expect("fake").push(FakeWatch {
            lab: lab.map(str::to_string),
            node: node.map(str::to_string),
            tx,
            stop,
        });
        w
    }

    /// The (lab, node) of each live network watch, sorted: what the stream is looking at.
    pub fn net_watches(&self) -> Vec<(String, String)> {
        let ws = self.shared.watches.lock().expect("fake");
        let mut v: Vec<(String, String)> = ws
            .iter()
            .filter(|w| !w.stop.load(std::sync::atomic::Ordering::SeqCst))
            .filter_map(|w| Some((w.lab.clone()?, w.node.clone()?)))
            .collect();
        v.sort();
        v
    }

    /// Sends `what` through the live watch of `node` of `lab` (`None`: its workloads' watch),
    /// as the kernel or a supervisor would; whether such a watch was there.
    pub fn emit(&self, lab: &str, node: Option<&str>, what: What) -> bool {
        let ws = self.shared.watches.lock().expect("fake");
        let w = ws.iter().find(|w| {
            w.lab.as_deref() == Some(lab)
                && w.node.as_deref() == node
                && !w.stop.load(std::sync::atomic::Ordering::SeqCst)
        });
        let Some(w) = w else { return false };
        let node = match (&what, node) {
            (What::Workload(e), _) => Some(e.node.clone()),
            (_, n) => n.map(str::to_string),
        };
        let ev = Event { time: std::time::SystemTime::now(), lab: lab.into(), node, what, initial: false };
        w.tx.send(Feed::Event(ev)).is_ok()
    }

    /// Tells the stream's run-directory watch that the labs changed, as inotify would.
    pub fn labs_changed(&self) {
        for w in self.shared.watches.lock().expect("fake").iter().filter(|w| w.lab.is_none()) {
            let _ = w.tx.send(Feed::LabsChanged);
        }
    }
}

impl Watch for Fake {
    fn watch_net(
        &self,
        lab: &str,
        node: &str,
        _ns: &NsRef,
        _initial: bool,
        tx: Sender<Feed>,
    ) -> Result<Watcher, SysError> {
        self.log(format!("watch net {lab}/{node}"))?;
        Ok(self.note_watch(Some(lab), Some(node), tx))
    }

    fn watch_workloads(&self, lab: &str, tx: Sender<Feed>) -> Result<Watcher, SysError> {
        Ok(self.note_watch(Some(lab), None, tx))
    }

    fn watch_labs(&self, tx: Sender<Feed>) -> Result<Watcher, SysError> {
        Ok(self.note_watch(None, None, tx))
    }

    fn netns_exists(&self, name: &str) -> bool {
        self.machine().ns.contains_key(&NsRef::Named(name.to_string()))
    }
}
