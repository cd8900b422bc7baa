//! The live sources of `netlab events` on this machine: a netlink monitor per namespace, a
//! reader of each lab's workload event file, and an inotify watch on /run/netlab. Each runs
//! on a thread of its own that stays in the namespace netlab started in: a monitor's socket
//! is opened by a short-lived thread inside its namespace and keeps belonging to it.

use super::netlink::{dump, monitor};
use super::netns;
use super::process::events::Tail;
use crate::backend::{Feed, Watcher};
use crate::error::SysError;
use crate::model::{names, NsRef};
use crate::state::event::{Event, What};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::time::{Duration, SystemTime};

/// How often a watch looks whether it should stop (and a monitor whether its namespace is
/// still there).
const TICK: u16 = 200;

fn stopped(stop: &AtomicBool) -> bool {
    stop.load(Ordering::SeqCst)
}

/// The identity (device, inode) of the namespace a name holds now.
fn ns_identity(name: &str) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(netns::path(name)).ok().map(|m| (m.dev(), m.ino()))
}

/// Runs `f` on a short-lived thread inside `ns` (this thread's own for the host).
fn in_ns<T: Send + 'static>(
    ns: &NsRef,
    f: impl FnOnce() -> std::io::Result<T> + Send + 'static,
) -> std::io::Result<T> {
    let name = match ns {
        NsRef::Named(n) => Some(n.clone()),
        NsRef::Host => None,
    };
    netns::spawn_in(name, f).join().unwrap_or_else(|_| Err(std::io::Error::other("monitor thread panicked")))
}

/// Subscribes, then dumps, in `ns`: nothing falls between what the dump shows and the first
/// message.
fn open(ns: &NsRef) -> std::io::Result<(netlink_sys::Socket, dump::Dump)> {
    in_ns(ns, || {
        let sock = monitor::subscribe_here()?;
        Ok((sock, dump::dump_here(false)?))
    })
}

/// Starts the monitor of one namespace: see `backend::Watch::watch_net`.
pub fn watch_net(
    lab: &str,
    node: &str,
    ns: &NsRef,
    initial: bool,
    tx: Sender<Feed>,
) -> Result<Watcher, SysError> {
    let label = format!("watching node {node} ({ns})");
    let identity = match ns {
        NsRef::Named(n) => Some(ns_identity(n).ok_or_else(|| {
            SysError::new(label.clone(), std::io::Error::from(std::io::ErrorKind::NotFound))
        })?),
        NsRef::Host => None,
    };
    let (sock, seen) = open(ns).map_err(|e| SysError::new(label.clone(), e))?;
    let scope = match ns {
        NsRef::Named(_) => monitor::Scope::All,
        NsRef::Host => monitor::Scope::Marked(names::mark_prefix(lab)),
    };
    let mut tracker = monitor::Tracker::new(scope);
    let snapshot = tracker.seed(&seen);
    let (watcher, stop) = Watcher::new();
    let (lab, node, ns) = (lab.to_string(), node.to_string(), ns.clone());
    let send = move |tx: &Sender<Feed>, what: What, initial: bool| {
        let ev = Event { time: SystemTime::now(), lab: lab.clone(), node: Some(node.clone()), what, initial };
        tx.send(Feed::Event(ev)).is_ok()
    };
    std::thread::Builder::new()
        .name("netlab-monitor".into())
        .spawn(move || {
            if initial && !snapshot.into_iter().all(|w| send(&tx, w, true)) {
                return;
            }
            let mut buf: Vec<u8> = Vec::with_capacity(256 * 1024);
            while !stopped(&stop) {
                // A namespace whose name went is let go at once: this socket keeps it alive.
                if let (NsRef::Named(n), Some(id)) = (&ns, identity) {
                    if ns_identity(n) != Some(id) {
                        return;
                    }
                }
                let mut fds = [PollFd::new(sock.as_fd(), PollFlags::POLLIN)];
                match poll(&mut fds, PollTimeout::from(TICK)) {
                    Ok(n) if n > 0 => {}
                    _ => continue,
                }
                buf.clear();
                match sock.recv(&mut buf, 0) {
                    Ok(_) => {
                        for msg in monitor::parse_datagram(&buf) {
                            for what in tracker.apply(&msg) {
                                if !send(&tx, what, false) {
                                    return;
                                }
                            }
                        }
                    }
                    // Too much at once: some messages were dropped. What the namespace holds
                    // now is learnt again, so later changes are told right.
                    Err(e) if e.raw_os_error() == Some(nix::libc::ENOBUFS) => {
                        if let Ok(d) = in_ns(&ns, || dump::dump_here(false)) {
                            tracker.seed(&d);
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => return,
                }
            }
        })
        .map_err(|e| SysError::new(label, e))?;
    Ok(watcher)
}

/// Follows the lab's workload event file: see `backend::Watch::watch_workloads`.
pub fn watch_workloads(lab: &str, tx: Sender<Feed>) -> Result<Watcher, SysError> {
    let (watcher, stop) = Watcher::new();
    let mut tail = Tail::from_end(lab);
    let lab = lab.to_string();
    std::thread::Builder::new()
        .name("netlab-workload-events".into())
        .spawn(move || {
            while !stopped(&stop) {
                for w in tail.read() {
                    let ev = Event {
                        time: w.time(),
                        lab: lab.clone(),
                        node: Some(w.node.clone()),
                        what: What::Workload(w),
                        initial: false,
                    };
                    if tx.send(Feed::Event(ev)).is_err() {
                        return;
                    }
                }
                std::thread::sleep(Duration::from_millis(TICK as u64));
            }
        })
        .map_err(|e| SysError::new("following workload events", e))?;
    Ok(watcher)
}

/// Watches the run directory for labs' entries appearing or going (inotify).
pub fn watch_labs(tx: Sender<Feed>) -> Result<Watcher, SysError> {
    use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};
    let dir = crate::state::record::run_dir();
    let fail = |e: std::io::Error| SysError::new(format!("watching {}", dir.display()), e);
    crate::sys::private::dir(&dir).map_err(fail)?;
    let errno = |e: nix::Error| std::io::Error::from_raw_os_error(e as i32);
    let ino = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC).map_err(|e| fail(errno(e)))?;
    let flags = AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_DELETE
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_MOVED_FROM
        | AddWatchFlags::IN_ONLYDIR;
    ino.add_watch(&dir, flags).map_err(|e| fail(errno(e)))?;
    let (watcher, stop) = Watcher::new();
    std::thread::Builder::new()
        .name("netlab-labs".into())
        .spawn(move || {
            while !stopped(&stop) {
                let mut fds = [PollFd::new(ino.as_fd(), PollFlags::POLLIN)];
                if !matches!(poll(&mut fds, PollTimeout::from(TICK)), Ok(n) if n > 0) {
                    continue;
                }
                let changed = ino.read_events().is_ok_and(|evs| !evs.is_empty());
                if changed && tx.send(Feed::LabsChanged).is_err() {
                    return;
                }
            }
        })
        .map_err(|e| SysError::new("watching the run directory", e))?;
    Ok(watcher)
}
