//! A throughput check's two ends, natively: a sink that listens inside the target node's
//! namespace and counts what it receives, and a sender inside the source node's namespace
//! that writes as fast as the path takes for the check's duration. No iperf3.

use super::netns;
use crate::model::Throughput;
use socket2::{Domain, Protocol, SockAddr, Socket, Type};
use std::io::{self, Read};
use std::net::SocketAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How much the sender hands the kernel per write, and the sink reads per read.
const CHUNK: usize = 128 * 1024;
/// How long one blocked write waits before the sender looks at the clock again.
const WRITE_SLICE: Duration = Duration::from_millis(50);

/// What the sink received in its window: bytes, from its first byte to its last.
struct Received {
    bytes: u64,
    span: Duration,
}

/// Runs a measure from namespace `from` (None: where netlab runs) to `to`; blocks for about
/// the check's duration. The rate the sink received, in bits per second.
pub fn measure(
    from: Option<String>,
    to: Option<String>,
    t: &Throughput,
    timeout: Duration,
) -> Result<u64, String> {
    let sa = SocketAddr::new(t.to, t.port);
    let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
    let (duration, sink_to) = (t.duration, to.clone());
    let sink = netns::spawn_in(to, move || Ok(sink(sa, duration, timeout, ready_tx)));
    let sender = netns::spawn_in(from, move || {
        // Only once the sink listens, so that a connect is never refused for being early.
        match ready_rx.recv_timeout(timeout) {
            Ok(Ok(())) => Ok(send(sa, duration, timeout)),
            Ok(Err(e)) => Ok(Err(e)),
            Err(_) => Ok(Err("the sink did not start".to_string())),
        }
    });
    let where_to = sink_to.as_deref().unwrap_or("the host");
    let sent = match sender.join() {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => Err(format!("entering the sender's namespace: {e}")),
        Err(_) => Err("the sender panicked".to_string()),
    };
    let received = match sink.join() {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => Err(format!("entering {where_to}: {e}")),
        Err(_) => Err("the sink panicked".to_string()),
    };
    // The sender's failure says more (a refused or unanswered connect) than the sink's wait.
    sent?;
    let r = received?;
    if r.bytes == 0 || r.span.is_zero() {
        return Err("the sink received nothing".to_string());
    }
    Ok((r.bytes as f64 * 8.0 / r.span.as_secs_f64()) as u64)
}

/// Listens on `sa`, says so on `ready`, takes one connection and counts what it receives
/// for `duration` from its first byte, then closes it (which ends the sender). Counting a
/// window, not to the end of the stream, leaves out the drain of what the sender had queued:
/// on a slow link that would outlast the check.
fn sink(
    sa: SocketAddr,
    duration: Duration,
    timeout: Duration,
    ready: mpsc::Sender<Result<(), String>>,
) -> Result<Received, String> {
    let listener = match listen(sa, timeout) {
        Ok(l) => {
            let _ = ready.send(Ok(()));
            l
        }
        Err(e) => {
            let why = format!("the sink cannot listen on {sa}: {e} (choose another port = ...)");
            let _ = ready.send(Err(why.clone()));
            return Err(why);
        }
    };
    let (conn, _) = listener.accept().map_err(|e| format!("the sink got no connection: {}", words(&e)))?;
    let mut conn: std::net::TcpStream = conn.into();
    // Until the first byte: the connect's timeout; then the window.
    let mut deadline = Instant::now() + timeout;
    let mut buf = vec![0u8; CHUNK];
    let (mut bytes, mut first, mut last) = (0u64, None::<Instant>, Instant::now());
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        conn.set_read_timeout(Some(left)).map_err(|e| e.to_string())?;
        match conn.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let now = Instant::now();
                if first.is_none() {
                    first = Some(now);
                    deadline = now + duration;
                }
                last = now;
                bytes += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(e) => return Err(format!("the sink's connection: {}", words(&e))),
        }
    }
    Ok(Received { bytes, span: first.map(|f| last - f).unwrap_or_default() })
}

fn listen(sa: SocketAddr, timeout: Duration) -> io::Result<Socket> {
    let s = Socket::new(Domain::for_address(sa), Type::STREAM, Some(Protocol::TCP))?;
    s.set_reuse_address(true)?;
    s.bind(&SockAddr::from(sa))?;
    s.listen(1)?;
    // SO_RCVTIMEO bounds accept too.
    s.set_read_timeout(Some(timeout))?;
    Ok(s)
}

/// Connects to `sa` and writes as fast as the path takes until the sink closes the
/// connection at the end of its window (or, should it not, for `duration` and `timeout`).
fn send(sa: SocketAddr, duration: Duration, timeout: Duration) -> Result<(), String> {
    let s =
        Socket::new(Domain::for_address(sa), Type::STREAM, Some(Protocol::TCP)).map_err(|e| e.to_string())?;
    s.connect_timeout(&SockAddr::from(sa), timeout)
        .map_err(|e| format!("connecting to {sa}: {}", words(&e)))?;
    s.set_write_timeout(Some(WRITE_SLICE)).map_err(|e| e.to_string())?;
    let buf = vec![0x6eu8; CHUNK];
    let end = Instant::now() + duration + timeout;
    let mut progress = Instant::now();
    while Instant::now() < end {
        // MSG_NOSIGNAL: the sink's close is an EPIPE here, not a SIGPIPE for the process.
        match s.send_with_flags(&buf, nix::libc::MSG_NOSIGNAL) {
            Ok(_) => progress = Instant::now(),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                if progress.elapsed() > timeout {
                    return Err(format!("sending to {sa}: the path took nothing for {timeout:?}"));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            // The sink has counted its window and closed.
            Err(e) if matches!(e.kind(), io::ErrorKind::BrokenPipe | io::ErrorKind::ConnectionReset) => {
                return Ok(())
            }
            Err(e) => return Err(format!("sending to {sa}: {}", words(&e))),
        }
    }
    Ok(())
}

fn words(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => "no answer".into(),
        io::ErrorKind::ConnectionRefused => "refused".into(),
        _ => e.to_string(),
    }
}
