//! Link impairments as root qdiscs: `tbf` for a rate alone, `netem` for delay, jitter and
//! loss (with its own rate limiter). The messages are built here byte by byte, since the
//! netlink crate has no tbf or netem options; the builders are pure and unit-tested.

use super::nla;
use crate::model::shape::Shape;
use netlink_packet_core::{DefaultNla, NLM_F_ACK, NLM_F_CREATE, NLM_F_REPLACE};
use netlink_packet_route::tc::{TcAttribute, TcHandle, TcHeader, TcMessage};
use netlink_packet_route::RouteNetlinkMessage;
use std::io;

/// The handle of netlab's root qdiscs ("NL"), which marks them as the lab's.
pub const HANDLE_MAJOR: u16 = 0x4e4c;
const TCA_OPTIONS: u16 = 2;
const TCA_TBF_PARMS: u16 = 1;
const TCA_TBF_RATE64: u16 = 4;
const TCA_TBF_BURST: u16 = 6;
const TCA_NETEM_RATE: u16 = 6;
const TCA_NETEM_LATENCY64: u16 = 10;
const TCA_NETEM_JITTER64: u16 = 11;
const TCA_NETEM_RATE64: u16 = 12;
const TC_LINKLAYER_ETHERNET: u8 = 1;
/// The kernel's packet-scheduler clock: 64 ticks of... nanoseconds (PSCHED_SHIFT = 6).
const PSCHED_SHIFT: u32 = 6;
/// Queue length when the file gives none: tc's own default for netem.
const DEFAULT_LIMIT: u32 = 1000;
const MTU: u32 = 1500;

/// `struct tc_ratespec`, for a rate in bytes per second (saturating at 32 bits; the 64-bit
/// attribute carries the rest).
fn ratespec(bytes_per_sec: u64) -> Vec<u8> {
    let mut r = vec![0u8, TC_LINKLAYER_ETHERNET];
    r.extend_from_slice(&0u16.to_ne_bytes()); // overhead
    r.extend_from_slice(&0i16.to_ne_bytes()); // cell_align
    r.extend_from_slice(&0u16.to_ne_bytes()); // mpu
    r.extend_from_slice(&(bytes_per_sec.min(u32::MAX as u64) as u32).to_ne_bytes());
    r
}

/// TCA_OPTIONS of a tbf qdisc: the rate, a burst of 1/250 s of traffic (at least ten full
/// frames), and a queue of `limit` packets.
pub fn tbf_options(rate_bps: u64, limit_packets: Option<u32>) -> Vec<u8> {
    let rate = rate_bps / 8;
    let burst = (rate / 250).max(10 * MTU as u64) as u32;
    let buffer_ticks = ((burst as u128 * 1_000_000_000 / rate.max(1) as u128) >> PSCHED_SHIFT) as u32;
    let limit_bytes = limit_packets.unwrap_or(DEFAULT_LIMIT).saturating_mul(MTU).max(burst);
    let mut qopt = ratespec(rate);
    qopt.extend_from_slice(&[0u8; 12]); // peakrate: none
    qopt.extend_from_slice(&limit_bytes.to_ne_bytes());
    qopt.extend_from_slice(&buffer_ticks.to_ne_bytes());
    qopt.extend_from_slice(&0u32.to_ne_bytes()); // mtu: only with a peak rate
    let mut out = Vec::new();
    nla(&mut out, TCA_TBF_PARMS, &qopt);
    nla(&mut out, TCA_TBF_BURST, &burst.to_ne_bytes());
    if rate > u32::MAX as u64 {
        nla(&mut out, TCA_TBF_RATE64, &rate.to_ne_bytes());
    }
    out
}

/// TCA_OPTIONS of a netem qdisc: `struct tc_netem_qopt`, then delay and jitter at nanosecond
/// precision, then its rate, if any.
pub fn netem_options(shape: &Shape) -> Vec<u8> {
    let ticks = |d: std::time::Duration| ((d.as_nanos() >> PSCHED_SHIFT).min(u32::MAX as u128)) as u32;
    let loss = shape.loss.map(|p| ((p / 100.0) * u32::MAX as f64).round() as u32).unwrap_or(0);
    let mut qopt = Vec::new();
    for v in [
        shape.delay.map(ticks).unwrap_or(0),
        shape.limit.unwrap_or(DEFAULT_LIMIT),
        loss,
        0,
        0,
        shape.jitter.map(ticks).unwrap_or(0),
    ] {
        qopt.extend_from_slice(&v.to_ne_bytes());
    }
    if let Some(d) = shape.delay {
        nla(&mut qopt, TCA_NETEM_LATENCY64, &(d.as_nanos() as i64).to_ne_bytes());
    }
    if let Some(j) = shape.jitter {
        nla(&mut qopt, TCA_NETEM_JITTER64, &(j.as_nanos() as i64).to_ne_bytes());
    }
    if let Some(r) = shape.rate {
        let bytes = r / 8;
        let mut rate = (bytes.min(u32::MAX as u64) as u32).to_ne_bytes().to_vec();
        rate.extend_from_slice(&[0u8; 12]); // packet_overhead, cell_size, cell_overhead
        nla(&mut qopt, TCA_NETEM_RATE, &rate);
        if bytes > u32::MAX as u64 {
            nla(&mut qopt, TCA_NETEM_RATE64, &bytes.to_ne_bytes());
        }
    }
    qopt
}

/// `tc qdisc replace dev IFINDEX root handle 4e4c: KIND ...`
pub fn replace_message(ifindex: u32, shape: &Shape) -> TcMessage {
    let header = TcHeader {
        index: ifindex as i32,
        handle: TcHandle { major: HANDLE_MAJOR, minor: 0 },
        parent: TcHandle::ROOT,
        ..Default::default()
    };
    let options = if shape.needs_netem() {
        netem_options(shape)
    } else {
        tbf_options(shape.rate.unwrap_or(0), shape.limit)
    };
    TcMessage::from_parts(
        header,
        vec![
            TcAttribute::Kind(shape.kind().to_string()),
            TcAttribute::Other(DefaultNla::new(TCA_OPTIONS, options)),
        ],
    )
}

/// `tc qdisc del dev IFINDEX root`
pub fn delete_message(ifindex: u32) -> TcMessage {
    let header = TcHeader { index: ifindex as i32, parent: TcHandle::ROOT, ..Default::default() };
    TcMessage::from_parts(header, Vec::new())
}

/// What a missing qdisc means for the user.
pub fn missing(kind: &str) -> String {
    let what = if kind == "netem" { "delay, jitter and loss" } else { "rate" };
    format!(
        "this kernel has no sch_{kind}: load the module (modprobe sch_{kind}) or drop {what} from the file"
    )
}

/// Whether this kernel can make a `kind` qdisc, tried once on the loopback of a throwaway
/// namespace (the host's interfaces are never touched).
pub fn probe(kind: &str) -> io::Result<bool> {
    let shape = if kind == "netem" {
        Shape { delay: Some(std::time::Duration::from_millis(1)), ..Default::default() }
    } else {
        Shape { rate: Some(1_000_000), ..Default::default() }
    };
    crate::sys::netns::in_scratch_netns(move || {
        let req = RouteNetlinkMessage::NewQueueDiscipline(replace_message(1, &shape));
        match super::dump::ask_here(req, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE) {
            Ok(_) => Ok(true),
            Err(e) if matches!(e.raw_os_error(), Some(nix::libc::ENOENT) | Some(nix::libc::EOPNOTSUPP)) => {
                Ok(false)
            }
            Err(e) => Err(e),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn u32_at(b: &[u8], off: usize) -> u32 {
        u32::from_ne_bytes(b[off..off + 4].try_into().unwrap())
    }

    #[test]
    fn tbf_carries_rate_burst_and_limit() {
        let o = tbf_options(100_000_000, None);
        // nla header (4) + tc_tbf_qopt: rate at offset 8 of the ratespec.
        assert_eq!(u16::from_ne_bytes([o[2], o[3]]), TCA_TBF_PARMS);
        assert_eq!(u32_at(&o, 4 + 8), 12_500_000, "bytes per second");
        assert_eq!(o[4 + 1], TC_LINKLAYER_ETHERNET);
        assert_eq!(u32_at(&o, 4 + 24), 1_500_000, "1000 packets of 1500 bytes");
        // burst = 12.5 MB/s / 250 = 50000 bytes; 4 ms of traffic = 4e6 ns >> 6.
        assert_eq!(u32_at(&o, 4 + 28), 4_000_000 >> 6);
        assert_eq!(u32_at(&o, 4 + 36 + 4), 50_000);
    }

    #[test]
    fn netem_carries_delay_jitter_loss_and_rate() {
        let s = Shape {
            delay: Some(Duration::from_millis(20)),
            jitter: Some(Duration::from_millis(5)),
            loss: Some(1.0),
            rate: Some(8_000_000),
            limit: Some(500),
        };
        let o = netem_options(&s);
        assert_eq!(u32_at(&o, 0), 20_000_000 >> 6, "latency in scheduler ticks");
        assert_eq!(u32_at(&o, 4), 500);
        assert_eq!(u32_at(&o, 8), (u32::MAX as f64 / 100.0).round() as u32, "1% of 2^32");
        assert_eq!(u32_at(&o, 20), 5_000_000 >> 6);
        // Then LATENCY64, JITTER64 and RATE as attributes.
        assert_eq!(u16::from_ne_bytes([o[26], o[27]]), TCA_NETEM_LATENCY64);
        assert_eq!(i64::from_ne_bytes(o[28..36].try_into().unwrap()), 20_000_000);
        assert_eq!(u16::from_ne_bytes([o[38], o[39]]), TCA_NETEM_JITTER64);
        assert_eq!(u16::from_ne_bytes([o[50], o[51]]), TCA_NETEM_RATE);
        assert_eq!(u32_at(&o, 52), 1_000_000);
        let m = replace_message(7, &s);
        assert_eq!(m.header.index, 7);
        assert_eq!(m.header.handle.major, HANDLE_MAJOR);
        assert!(m.attributes.contains(&TcAttribute::Kind("netem".into())));
    }
}
