//! Packet capture, the parts that need no kernel: what a captured packet is, how it is written
//! (pcapng or pcap), how a BPF filter expression is compiled (libpcap, in user space), and how a
//! check's capture file is named. The sockets are `sys::capture`'s, behind `backend::Capture`;
//! the orchestration is `engine::capture`'s.

pub mod filter;
pub mod name;
pub mod pcapng;

use std::time::Duration;

/// One packet as captured on an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The interface it was seen on: an index into the list the capture was opened on.
    pub iface: u32,
    /// When the kernel saw it, since the Unix epoch.
    pub ts: Duration,
    /// Its bytes from the Ethernet header on, cut at the snap length.
    pub data: Vec<u8>,
    /// Its length on the wire.
    pub orig_len: u32,
}

/// The file format a capture is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// pcapng: one interface description block per interface, with its name.
    #[default]
    Pcapng,
    /// The classic pcap format (nanosecond timestamps): one interface only.
    Pcap,
}

/// The snap length when none is asked for: whole packets, as tcpdump's default.
pub const DEFAULT_SNAPLEN: u32 = 262_144;

/// `LINKTYPE_ETHERNET`: veths, bridges and `lo` all carry Ethernet headers on packet sockets.
pub const LINKTYPE_ETHERNET: u16 = 1;
