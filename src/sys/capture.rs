//! Packet capture on AF_PACKET sockets (what libpcap does under `tcpdump -i IFACE`), opened
//! inside a node's network namespace: a socket stays bound to the namespace it was made in,
//! so it is opened on a thread that entered the namespace and read from any thread after.
//!
//! Each interface gets a socket of its own, made with protocol 0 (it receives nothing yet),
//! given the filter (`SO_ATTACH_FILTER`), then bound to the interface for every protocol: no
//! packet of another interface, or one the filter refuses, is ever queued on it.

use crate::capture::filter::Filter;
use crate::capture::Packet;
use crate::error::SysError;
use crate::model::NsRef;
use nix::libc;
use std::collections::VecDeque;
use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const PACKET_OUTGOING: u8 = 4;
const ARPHRD_LOOPBACK: u16 = 772;
/// The largest frame read whole: a 64 KiB `lo` frame with its header.
const BUF: usize = 65_536 + 64;
/// At most this many packets read from one socket per wake-up, so no interface starves others.
const BATCH: usize = 64;

fn last_err(what: String) -> SysError {
    SysError::new(what, io::Error::last_os_error())
}

fn ns_name(ns: &NsRef) -> Option<String> {
    match ns {
        NsRef::Named(n) => Some(n.clone()),
        NsRef::Host => None,
    }
}

/// Runs `f` on a thread inside `ns` and waits for it.
fn in_ns<T: Send + 'static>(
    ns: &NsRef,
    f: impl FnOnce() -> Result<T, SysError> + Send + 'static,
) -> Result<T, SysError> {
    let what = format!("entering {ns}");
    let thread = super::netns::spawn_in(ns_name(ns), move || Ok(f()));
    match thread.join() {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => Err(SysError::new(what, e)),
        Err(_) => Err(SysError::new(what, io::Error::other("the capture thread panicked"))),
    }
}

/// The interfaces of the calling thread's network namespace (`if_nameindex(3)`).
fn names_here() -> Result<Vec<String>, SysError> {
    // SAFETY: if_nameindex returns an array ended by a zero entry, freed below once read.
    unsafe {
        let list = libc::if_nameindex();
        if list.is_null() {
            return Err(last_err("listing interfaces".into()));
        }
        let mut out = Vec::new();
        let mut p = list;
        while (*p).if_index != 0 && !(*p).if_name.is_null() {
            out.push(CStr::from_ptr((*p).if_name).to_string_lossy().into_owned());
            p = p.add(1);
        }
        libc::if_freenameindex(list);
        out.sort();
        Ok(out)
    }
}

/// The interfaces of namespace `ns`, sorted.
pub fn interfaces(ns: &NsRef) -> Result<Vec<String>, SysError> {
    in_ns(ns, names_here)
}

/// One socket capturing interface `name` of the calling thread's namespace.
fn open_here(name: &str, filter: Option<&Filter>) -> Result<OwnedFd, SysError> {
    let ctx = |what: &str| format!("{what} for capturing on {name}");
    let cname = CString::new(name).map_err(|_| SysError::errno(ctx("naming the interface"), libc::EINVAL))?;
    // SAFETY: if_nametoindex reads a NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(cname.as_ptr()) };
    if index == 0 {
        return Err(last_err(format!("finding interface {name}")));
    }
    // SAFETY: socket(2) with constant arguments; the descriptor is owned at once.
    let fd = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if fd < 0 {
        return Err(last_err(ctx("opening a packet socket")));
    }
    // SAFETY: fd was just returned by socket(2) and nothing else owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let set = |level: i32, opt: i32, val: *const libc::c_void, len: usize, what: &str| {
        // SAFETY: val points at `len` readable bytes of the option's type.
        let r = unsafe { libc::setsockopt(fd.as_raw_fd(), level, opt, val, len as libc::socklen_t) };
        if r != 0 {
            return Err(last_err(ctx(what)));
        }
        Ok(())
    };
    if let Some(f) = filter {
        let mut insns: Vec<libc::sock_filter> = f
            .program
            .iter()
            .map(|i| libc::sock_filter { code: i.code, jt: i.jt, jf: i.jf, k: i.k })
            .collect();
        let prog = libc::sock_fprog { len: insns.len() as u16, filter: insns.as_mut_ptr() };
        let p = &prog as *const libc::sock_fprog as *const libc::c_void;
        set(
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            p,
            std::mem::size_of_val(&prog),
            "attaching the filter",
        )?;
    }
    let on: libc::c_int = 1;
    let p = &on as *const libc::c_int as *const libc::c_void;
    set(libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, p, std::mem::size_of_val(&on), "asking for timestamps")?;
    // A burst must not overflow the queue between two reads (as root, past rmem_max).
    let size: libc::c_int = 4 << 20;
    let p = &size as *const libc::c_int as *const libc::c_void;
    let _ = set(libc::SOL_SOCKET, libc::SO_RCVBUFFORCE, p, std::mem::size_of_val(&size), "sizing the queue");
    // SAFETY: a zeroed sockaddr_ll is valid; the fields that matter are set below.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = (libc::ETH_P_ALL as u16).to_be();
    sll.sll_ifindex = index as i32;
    // SAFETY: sll is a sockaddr_ll of the size given.
    let r = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
            std::mem::size_of_val(&sll) as libc::socklen_t,
        )
    };
    if r != 0 {
        return Err(last_err(ctx("binding the packet socket")));
    }
    Ok(fd)
}

/// Interfaces of one namespace opened for capture.
pub struct PacketTap {
    socks: Vec<OwnedFd>,
    /// Drops counted so far (the kernel's counter resets each time it is read).
    drops: u64,
    snaplen: usize,
    queue: VecDeque<Packet>,
    buf: Vec<u8>,
}

/// Starts capturing on `ifaces` of `ns`.
pub fn tap(
    ns: &NsRef,
    ifaces: &[String],
    snaplen: u32,
    filter: Option<&Filter>,
) -> Result<PacketTap, SysError> {
    let ifaces = ifaces.to_vec();
    let filter = filter.cloned();
    let socks = in_ns(ns, move || {
        ifaces.iter().map(|i| open_here(i, filter.as_ref())).collect::<Result<Vec<_>, _>>()
    })?;
    Ok(PacketTap {
        socks,
        drops: 0,
        snaplen: snaplen.max(1) as usize,
        queue: VecDeque::new(),
        buf: vec![0; BUF],
    })
}

impl PacketTap {
    /// Reads one packet from socket `i`, if one is queued; `Ok(None)` when none is.
    fn read_one(&mut self, i: usize) -> Result<Option<Option<Packet>>, SysError> {
        let fd = self.socks[i].as_raw_fd();
        // SAFETY: zeroed sockaddr_ll and cmsg buffer are valid out-parameters.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut control = [0u64; 16];
        let mut iov = libc::iovec { iov_base: self.buf.as_mut_ptr().cast(), iov_len: self.buf.len() };
        // SAFETY: msghdr is plain data; every pointer set below outlives the call.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_name = (&mut sll as *mut libc::sockaddr_ll).cast();
        msg.msg_namelen = std::mem::size_of_val(&sll) as libc::socklen_t;
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control);
        // SAFETY: msg describes buffers owned by this frame and by self.buf.
        let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_TRUNC | libc::MSG_DONTWAIT) };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted => Ok(None),
                _ => Err(SysError::new("reading captured packets", e)),
            };
        }
        // `lo` shows each packet twice, going out and coming in: keep one, as libpcap does.
        if sll.sll_pkttype == PACKET_OUTGOING && sll.sll_hatype == ARPHRD_LOOPBACK {
            return Ok(Some(None));
        }
        let mut ts = None;
        // SAFETY: the CMSG_* macros walk the control buffer recvmsg filled, within its length.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                    let t = std::ptr::read_unaligned(libc::CMSG_DATA(c) as *const libc::timespec);
                    ts = Some(Duration::new(t.tv_sec as u64, t.tv_nsec as u32));
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        let ts = ts.unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default());
        let len = n as usize;
        let cap = len.min(self.buf.len()).min(self.snaplen);
        Ok(Some(Some(Packet { iface: i as u32, ts, data: self.buf[..cap].to_vec(), orig_len: len as u32 })))
    }
}

impl crate::backend::Tap for PacketTap {
    fn next(&mut self, wait: Duration) -> Result<Option<Packet>, SysError> {
        if let Some(p) = self.queue.pop_front() {
            return Ok(Some(p));
        }
        let mut fds: Vec<libc::pollfd> = self
            .socks
            .iter()
            .map(|s| libc::pollfd { fd: s.as_raw_fd(), events: libc::POLLIN, revents: 0 })
            .collect();
        let ms = wait.as_millis().min(i32::MAX as u128) as i32;
        // SAFETY: fds is a live array of fds.len() pollfd.
        let r = unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                return Ok(None);
            }
            return Err(SysError::new("waiting for captured packets", e));
        }
        let mut batch = Vec::new();
        for (i, fd) in fds.iter().enumerate() {
            if fd.revents & libc::POLLIN == 0 {
                continue;
            }
            for _ in 0..BATCH {
                match self.read_one(i)? {
                    Some(Some(p)) => batch.push(p),
                    Some(None) => {}
                    None => break,
                }
            }
        }
        batch.sort_by_key(|p| p.ts);
        self.queue.extend(batch);
        Ok(self.queue.pop_front())
    }

    fn dropped(&mut self) -> u64 {
        for s in &self.socks {
            let mut st = libc::tpacket_stats { tp_packets: 0, tp_drops: 0 };
            let mut len = std::mem::size_of_val(&st) as libc::socklen_t;
            // SAFETY: st is a tpacket_stats of the size given, written by the kernel.
            let r = unsafe {
                libc::getsockopt(
                    s.as_raw_fd(),
                    libc::SOL_PACKET,
                    libc::PACKET_STATISTICS,
                    (&mut st as *mut libc::tpacket_stats).cast(),
                    &mut len,
                )
            };
            if r == 0 {
                self.drops += u64::from(st.tp_drops);
            }
        }
        self.drops
    }
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_stop(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

/// Raises a flag on SIGINT and SIGTERM instead of dying, so a capture ends with its file whole.
pub fn stop_signal() -> Result<&'static AtomicBool, SysError> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let act = SigAction::new(SigHandler::Handler(on_stop), SaFlags::empty(), SigSet::empty());
    for s in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores to an atomic.
        unsafe { sigaction(s, &act) }.map_err(|e| SysError::errno(format!("handling {s}"), e as i32))?;
    }
    Ok(&STOP)
}
