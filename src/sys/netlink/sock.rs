//! One rtnetlink socket of one namespace, used synchronously: rtnetlink does the work of a
//! request inside `sendmsg()` and queues its answer before the call returns, so a request
//! is a send and a read of what is already there. No task, no channel and no buffer of its
//! own per socket (an `rtnetlink` connection keeps 72 KB of buffers and a task alive per
//! namespace: 80 KB a node at 10 000 nodes); the one receive buffer is per thread.

use crate::model::NsRef;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_DUMP, NLM_F_MULTIPART};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::{protocols::NETLINK_ROUTE, Socket};
use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

/// Large enough for any single answer to the requests `Rtnl` sends (a dump datagram is at
/// most 32 KB by default).
const RECV_BUF: usize = 64 * 1024;

/// How long a read may wait for an answer the kernel has already queued: only a kernel bug
/// (or a dropped answer) makes it wait at all, and then it fails rather than hang `up`.
const ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

thread_local! {
    static BUF: RefCell<Vec<u8>> = RefCell::new(Vec::with_capacity(RECV_BUF));
}

/// A socket bound in one namespace, one request at a time.
pub struct Sock {
    inner: Mutex<(Socket, u32)>,
    /// The identity (nsfs device, inode) of the namespace it is bound in.
    pub id: Option<(u64, u64)>,
}

type Cell = Arc<OnceCell<Arc<Sock>>>;

/// The sockets one backend has open, by namespace: shared with the observer while the
/// backend lives, so that `up` looks at what it made through the sockets it made it with.
/// Dropped with the backend: a socket holds its namespace alive.
///
/// At most [`SockMap::budget`] are kept: past it, a namespace's requests go through a socket
/// of their own, closed after. A lab larger than the open-file limit then costs a socket per
/// request instead of failing half-way with "too many open files".
#[derive(Default)]
pub struct SockMap {
    cells: Mutex<HashMap<NsRef, Cell>>,
    kept: std::sync::atomic::AtomicUsize,
}

/// Descriptors left to everything but the kept sockets: the requests in flight (a socket and
/// a namespace file each), the namespace workers, the record, the runtime.
const FD_RESERVE: u64 = 256;

impl SockMap {
    pub(super) fn cell(&self, ns: &NsRef) -> Cell {
        self.cells.lock().expect("socket map").entry(ns.clone()).or_default().clone()
    }

    pub(super) fn forget(&self, ns: &NsRef) {
        let mut cells = self.cells.lock().expect("socket map");
        if cells.remove(ns).is_some_and(|c| c.initialized()) {
            self.kept.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// How many sockets may be kept open: the open-file limit (as netlab raised it at start)
    /// less a reserve.
    pub fn budget() -> usize {
        static BUDGET: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
        *BUDGET.get_or_init(|| {
            let soft = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
                .map(|(soft, _)| soft)
                .unwrap_or(1024);
            soft.saturating_sub(FD_RESERVE) as usize
        })
    }

    /// Keeps `sock` as the socket of `ns` in `cell` when the budget allows; whether it was
    /// kept. Under the map's lock, and only while `cell` is still the one of `ns`: a cell the
    /// namespace's removal forgot meanwhile is not filled (nor counted for good).
    pub(super) fn keep(&self, ns: &NsRef, cell: &Cell, sock: Arc<Sock>) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        let cells = self.cells.lock().expect("socket map");
        if !cells.get(ns).is_some_and(|c| Arc::ptr_eq(c, cell)) || self.kept.load(Relaxed) >= Self::budget() {
            return false;
        }
        if cell.set(sock).is_err() {
            return false;
        }
        self.kept.fetch_add(1, Relaxed);
        true
    }

    /// The socket open in `ns`, if there is one and `ns` is still the namespace it was
    /// opened in.
    pub fn cached(&self, ns: &NsRef) -> Option<Arc<Sock>> {
        let sock = self.cells.lock().expect("socket map").get(ns)?.get()?.clone();
        let now = match ns {
            NsRef::Named(n) => crate::sys::netns::id_of(n),
            NsRef::Host => None,
        };
        (sock.id.is_some() && sock.id == now).then_some(sock)
    }
}

impl Sock {
    /// Opens a socket in the calling thread's namespace (it stays there when the thread
    /// leaves).
    pub fn open_here() -> io::Result<Sock> {
        // Unbound and unconnected: the first send binds it and goes to the kernel (port 0).
        let sock = Socket::new(NETLINK_ROUTE)?;
        // Acks without a copy of the request: smaller answers.
        let _ = sock.set_cap_ack(true);
        // Dump requests filtered as asked (the route table, see `dump`).
        sock.set_netlink_get_strict_chk(true)?;
        set_timeout(&sock, ANSWER_TIMEOUT)?;
        let id = std::fs::metadata("/proc/thread-self/ns/net").ok().map(|m| {
            use std::os::unix::fs::MetadataExt;
            (m.dev(), m.ino())
        });
        Ok(Sock { inner: Mutex::new((sock, 0)), id })
    }

    /// Sends one dump request and reads its answers lean into `dump`.
    pub fn dump_lean(&self, msg: RouteNetlinkMessage, dump: &mut super::lean::Dump) -> io::Result<()> {
        let mut guard = self.inner.lock().map_err(|_| io::Error::other("netlink socket poisoned"))?;
        let (sock, seq) = &mut *guard;
        *seq = seq.wrapping_add(1);
        super::dump::send(sock, msg, NLM_F_DUMP, *seq)?;
        super::dump::read_lean(sock, Some(*seq), dump)
    }

    /// Sends one request and collects its answers; a NACK becomes the errno it carries.
    /// `flags` are added to `NLM_F_REQUEST`; the answer ends with the ack (`NLM_F_ACK`), the
    /// end of the dump (`NLM_F_DUMP`), or else the first message that is not multipart.
    pub fn request(&self, msg: RouteNetlinkMessage, flags: u16) -> io::Result<Vec<RouteNetlinkMessage>> {
        let mut guard = self.inner.lock().map_err(|_| io::Error::other("netlink socket poisoned"))?;
        let (sock, seq) = &mut *guard;
        *seq = seq.wrapping_add(1);
        let seq = *seq;
        super::dump::send(sock, msg, flags, seq)?;
        let until_ack = flags & NLM_F_ACK != 0;
        let until_done = flags & NLM_F_DUMP == NLM_F_DUMP;
        let mut answers = Vec::new();
        BUF.with(|buf| {
            super::dump::recv_until(sock, &mut buf.borrow_mut(), |buf| {
                let n = buf.len();
                let mut off = 0;
                while off + 16 <= n {
                    let len = u32::from_ne_bytes(buf[off..off + 4].try_into().expect("4 bytes")) as usize;
                    if len < 16 || off + len > n {
                        return Err(io::Error::other("malformed netlink message"));
                    }
                    let m = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf[off..off + len])
                        .map_err(|e| io::Error::other(e.to_string()))?;
                    off += (len + 3) & !3;
                    // What an earlier request left (one that failed half-way): not ours.
                    if m.header.sequence_number != seq {
                        continue;
                    }
                    let multi = m.header.flags & NLM_F_MULTIPART != 0;
                    match m.payload {
                        NetlinkPayload::Error(e) if e.code.is_some() => return Err(e.to_io()),
                        NetlinkPayload::Error(_) | NetlinkPayload::Done(_) => return Ok(true),
                        NetlinkPayload::InnerMessage(inner) => {
                            answers.push(inner);
                            if !until_ack && !until_done && !multi {
                                return Ok(true);
                            }
                        }
                        _ => {}
                    }
                }
                Ok(false)
            })
        })?;
        Ok(answers)
    }
}

fn set_timeout(sock: &Socket, d: std::time::Duration) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let tv = nix::libc::timeval { tv_sec: d.as_secs() as _, tv_usec: 0 };
    // SAFETY: the fd is the socket's own, open for as long as `sock` lives; `tv` is a valid
    // timeval of the size passed.
    let r = unsafe {
        nix::libc::setsockopt(
            sock.as_raw_fd(),
            nix::libc::SOL_SOCKET,
            nix::libc::SO_RCVTIMEO,
            &tv as *const _ as *const nix::libc::c_void,
            std::mem::size_of::<nix::libc::timeval>() as nix::libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
