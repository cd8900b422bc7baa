//! `netlab events`: one stream of what happens in the labs that are up. It keeps a watch on
//! every namespace of each lab (and on the lab's interfaces in the host namespace), on the
//! lab's workloads and on the run directory, and hands out what they send, in order of
//! arrival. Which labs and namespaces to watch is looked at again whenever the run
//! directory changes, and twice a second.

use crate::backend::{Feed, System, Watcher};
use crate::error::{Error, Result};
use crate::model::NsRef;
use crate::state::event::{Event, What, WorkloadAction, WorkloadEvent};
use crate::state::Record;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant, SystemTime};

/// How often the labs are looked at again without a word from the run directory.
const RESCAN: Duration = Duration::from_millis(500);

/// What to follow.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// One lab (the stream ends when it goes down), or every lab, including later ones.
    pub lab: Option<String>,
    /// First, what is there now: links, addresses, routes, workloads.
    pub initial: bool,
}

struct Watched {
    _workloads: Option<Watcher>,
    /// Each node's network watch, by node.
    nets: BTreeMap<String, Watcher>,
}

/// The stream: an iterator of events that ends when the followed lab goes down, or when
/// SIGINT or SIGTERM arrives.
pub struct Events<'a, S: System> {
    sys: &'a S,
    opts: Options,
    tx: Sender<Feed>,
    rx: Receiver<Feed>,
    _labs: Watcher,
    labs: BTreeMap<String, Watched>,
    pending: VecDeque<Event>,
    last_scan: Instant,
    first: bool,
    done: bool,
    /// Raised by SIGINT or SIGTERM: the stream ends.
    stop: &'static std::sync::atomic::AtomicBool,
    /// When the stream ends by itself, if ever.
    deadline: Option<Instant>,
}

/// Starts following; refuses a lab that is not up.
pub fn events<S: System>(sys: &S, opts: Options) -> Result<Events<'_, S>> {
    if let Some(l) = &opts.lab {
        let Some(record) = sys.load(l)? else {
            return Err(Error::NotFound(format!("lab {l} is not up (`netlab ls` lists the labs that are)")));
        };
        // Its host node's objects are where it was made: from elsewhere they cannot be seen.
        super::bind::check_status(sys, &record)?;
    }
    let (tx, rx) = channel();
    let labs_watch = sys.watch_labs(tx.clone())?;
    // From now on SIGINT and SIGTERM end the stream rather than the process.
    let stop = sys.stop_signal()?;
    let mut ev = Events {
        sys,
        opts,
        tx,
        rx,
        _labs: labs_watch,
        labs: BTreeMap::new(),
        pending: VecDeque::new(),
        last_scan: Instant::now(),
        first: true,
        done: false,
        stop,
        deadline: None,
    };
    ev.rescan()?;
    Ok(ev)
}

fn lab_event(lab: &str, up: bool) -> Event {
    Event { time: SystemTime::now(), lab: lab.into(), node: None, what: What::Lab { up }, initial: false }
}

impl<S: System> Events<'_, S> {
    /// Makes the stream end at `deadline` (for a test that waits for an event a while).
    pub fn until(mut self, deadline: Instant) -> Self {
        self.deadline = Some(deadline);
        self
    }

    /// The records of the labs followed.
    fn records(&self) -> Result<Vec<Record>> {
        Ok(match &self.opts.lab {
            Some(l) => self.sys.load(l)?.into_iter().collect(),
            None => self.sys.all()?,
        })
    }

    /// Looks at which labs are up and which of their namespaces exist; starts and stops
    /// watches to match.
    fn rescan(&mut self) -> Result<()> {
        self.last_scan = Instant::now();
        let records = self.records()?;
        let first = std::mem::replace(&mut self.first, false);
        let gone: Vec<String> =
            self.labs.keys().filter(|l| !records.iter().any(|r| &r.lab == *l)).cloned().collect();
        for lab in gone {
            self.labs.remove(&lab);
            self.pending.push_back(lab_event(&lab, false));
            if self.opts.lab.is_some() {
                self.done = true;
            }
        }
        for r in &records {
            if !self.labs.contains_key(&r.lab) {
                if !first {
                    self.pending.push_back(lab_event(&r.lab, true));
                } else if self.opts.initial {
                    self.pending.push_back(Event { initial: true, ..lab_event(&r.lab, true) });
                }
                let workloads = self.sys.watch_workloads(&r.lab, self.tx.clone()).ok();
                self.labs.insert(r.lab.clone(), Watched { _workloads: workloads, nets: BTreeMap::new() });
                if first && self.opts.initial {
                    self.snapshot_workloads(r);
                }
            }
            let initial = first && self.opts.initial;
            let watched = self.labs.get_mut(&r.lab).expect("inserted above");
            for (node, ns) in &r.nodes {
                let ns = match ns {
                    Some(n) if !self.sys.netns_exists(n) => {
                        // Gone (the lab is going down, or it was deleted by hand).
                        watched.nets.remove(node);
                        continue;
                    }
                    Some(n) => NsRef::Named(n.clone()),
                    // A lab made in another namespace has its host objects there, not here.
                    None if super::bind::check_status(self.sys, r).is_err() => continue,
                    None => NsRef::Host,
                };
                if watched.nets.contains_key(node) {
                    continue;
                }
                // A namespace that cannot be watched (going as we look) is tried again later.
                if let Ok(w) = self.sys.watch_net(&r.lab, node, &ns, initial, self.tx.clone()) {
                    watched.nets.insert(node.clone(), w);
                }
            }
        }
        Ok(())
    }

    fn snapshot_workloads(&mut self, r: &Record) {
        for node in r.nodes.keys() {
            for w in self.sys.workload_status(&r.lab, node) {
                let now = SystemTime::now();
                let we = WorkloadEvent {
                    time_ms: crate::state::event::epoch_ms(now),
                    node: node.clone(),
                    name: w.name,
                    action: WorkloadAction::Present,
                    pid: w.pid,
                    code: None,
                    signal: None,
                    restarts: w.restarts,
                    state: Some(w.state.to_string()),
                };
                self.pending.push_back(Event {
                    time: now,
                    lab: r.lab.clone(),
                    node: Some(node.clone()),
                    what: What::Workload(we),
                    initial: true,
                });
            }
        }
    }

    /// The next event, or `None` once the stream has ended; an error of reading the labs
    /// ends it too.
    pub fn next_event(&mut self) -> Result<Option<Event>> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                return Ok(Some(e));
            }
            let late = self.deadline.is_some_and(|d| Instant::now() >= d);
            if self.done || late || self.stop.load(Ordering::SeqCst) {
                return Ok(None);
            }
            let mut wait = RESCAN.saturating_sub(self.last_scan.elapsed());
            if let Some(d) = self.deadline {
                wait = wait.min(d.saturating_duration_since(Instant::now()));
            }
            match self.rx.recv_timeout(wait.min(Duration::from_millis(200))) {
                Ok(Feed::Event(e)) => {
                    // Late words from a lab no longer followed are dropped.
                    if self.labs.contains_key(&e.lab) {
                        return Ok(Some(e));
                    }
                }
                Ok(Feed::LabsChanged) => self.rescan()?,
                Err(RecvTimeoutError::Timeout) if self.last_scan.elapsed() >= RESCAN => self.rescan()?,
                Err(_) => {}
            }
        }
    }
}

impl<S: System> Iterator for Events<'_, S> {
    type Item = Event;
    fn next(&mut self) -> Option<Event> {
        self.next_event().ok().flatten()
    }
}
