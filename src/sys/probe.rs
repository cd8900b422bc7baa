//! Native reachability probes, run from inside a node's network namespace: ICMP echo over a
//! raw socket, a TCP connect, a UDP exchange. No `ping` binary, no shell.

use crate::model::Probe;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io;
use std::mem::MaybeUninit;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};

/// Why a probe failed, in a few words.
pub type Failure = String;

static SEQ: AtomicU16 = AtomicU16::new(1);

/// How often an unanswered probe is sent again before its timeout.
const RETRY: Duration = Duration::from_millis(250);

/// Runs `probe` on the calling thread, in its network namespace.
pub fn run(probe: &Probe, timeout: Duration) -> Result<(), Failure> {
    match probe {
        Probe::Ping(ip) => ping(*ip, timeout).map_err(describe),
        Probe::Connect(sa) => tcp(*sa, timeout),
        Probe::ConnectUdp(sa) => udp(*sa, timeout),
        // The engine runs these as many probes (ping_all) or through `throughput`.
        Probe::PingAll { .. } | Probe::Throughput(_) => Err(format!("{probe} is not one probe")),
    }
}

fn describe(e: io::Error) -> Failure {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => "no answer".into(),
        io::ErrorKind::ConnectionRefused => "connection refused".into(),
        _ => e.to_string(),
    }
}

fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 =
        data.chunks(2).map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]) as u32).sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn ping(ip: IpAddr, timeout: Duration) -> io::Result<()> {
    let (domain, proto, request, reply) = match ip {
        IpAddr::V4(_) => (Domain::IPV4, Protocol::ICMPV4, 8u8, 0u8),
        IpAddr::V6(_) => (Domain::IPV6, Protocol::ICMPV6, 128u8, 129u8),
    };
    let sock = Socket::new(domain, Type::RAW, Some(proto))?;
    let id = (std::process::id() as u16) ^ 0x6e6c;
    let seq = SEQ.fetch_add(1, Ordering::Relaxed);
    let mut pkt = vec![request, 0, 0, 0];
    pkt.extend_from_slice(&id.to_be_bytes());
    pkt.extend_from_slice(&seq.to_be_bytes());
    pkt.extend_from_slice(b"netlab check....");
    if ip.is_ipv4() {
        // The kernel fills in ICMPv6 checksums itself, not ICMPv4 ones.
        let c = checksum(&pkt);
        pkt[2..4].copy_from_slice(&c.to_be_bytes());
    }
    let to = SockAddr::from(SocketAddr::new(ip, 0));
    let deadline = Instant::now() + timeout;
    let mut next_send = Instant::now();
    let mut buf = [MaybeUninit::<u8>::uninit(); 2048];
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(io::ErrorKind::TimedOut.into());
        }
        // An echo every RETRY until the deadline: the first may meet a neighbour still
        // being resolved.
        if now >= next_send {
            sock.send_to(&pkt, &to)?;
            next_send = now + RETRY;
        }
        sock.set_read_timeout(Some(
            next_send.min(deadline).saturating_duration_since(now).max(Duration::from_millis(1)),
        ))?;
        let (n, from) = match sock.recv_from(&mut buf) {
            Ok(r) => r,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => continue,
            Err(e) => return Err(e),
        };
        // SAFETY: recv_from initialised the first n bytes.
        let data: Vec<u8> = buf[..n].iter().map(|b| unsafe { b.assume_init() }).collect();
        // Raw IPv4 sockets see the IP header; IPv6 ones do not.
        let icmp = if ip.is_ipv4() {
            &data[((data.first().copied().unwrap_or(0x45) & 0x0f) as usize * 4).min(data.len())..]
        } else {
            &data[..]
        };
        if icmp.len() < 8 || from.as_socket().map(|s| s.ip()) != Some(ip) {
            continue;
        }
        if icmp[0] == reply && icmp[4..6] == id.to_be_bytes() && icmp[6..8] == seq.to_be_bytes() {
            return Ok(());
        }
    }
}

/// A TCP check passes when a connection is made within the timeout; a refusal is retried
/// until then, since a service started by `up` may still be on its way to `listen`.
fn tcp(sa: SocketAddr, timeout: Duration) -> Result<(), Failure> {
    let deadline = Instant::now() + timeout;
    loop {
        let sock = Socket::new(Domain::for_address(sa), Type::STREAM, Some(Protocol::TCP))
            .map_err(|e| e.to_string())?;
        let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(1));
        match sock.connect_timeout(&SockAddr::from(sa), left) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused && Instant::now() + RETRY < deadline => {
                std::thread::sleep(RETRY / 5)
            }
            Err(e) => return Err(describe(e)),
        }
    }
}

/// A UDP check passes when the server answers the datagram it is sent. A closed port
/// answers with ICMP port unreachable, which a connected socket reads as ECONNREFUSED: the
/// check then reports "refused", also when later datagrams meet the kernel's ICMP rate limit
/// and go unanswered. Refusals are retried until the timeout, like TCP's, since a service
/// started by `up` may still be on its way to `bind`.
fn udp(sa: SocketAddr, timeout: Duration) -> Result<(), Failure> {
    let sock =
        Socket::new(Domain::for_address(sa), Type::DGRAM, Some(Protocol::UDP)).map_err(|e| e.to_string())?;
    sock.connect(&SockAddr::from(sa)).map_err(describe)?;
    let deadline = Instant::now() + timeout;
    let mut buf = [MaybeUninit::<u8>::uninit(); 512];
    let mut refused = false;
    let mut other: Option<Failure> = None;
    while Instant::now() < deadline {
        if let Err(e) = sock.send(b"netlab check\n") {
            // The refusal of an earlier datagram may surface on a send.
            match e.kind() {
                io::ErrorKind::ConnectionRefused => refused = true,
                _ => other = Some(describe(e)),
            }
        }
        let wait =
            deadline.saturating_duration_since(Instant::now()).min(RETRY).max(Duration::from_millis(1));
        sock.set_read_timeout(Some(wait)).map_err(|e| e.to_string())?;
        match sock.recv(&mut buf) {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                refused = true;
                // Not at once: a next datagram would be sent before the wait is over.
                std::thread::sleep(wait.min(RETRY / 5));
            }
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(e) => other = Some(describe(e)),
        }
    }
    Err(if refused { "refused".into() } else { other.unwrap_or_else(|| "no answer".into()) })
}
