//! Writing captures: pcapng (section header, one interface description per interface with its
//! `if_name` and nanosecond `if_tsresol`, one enhanced packet block per packet) or classic pcap
//! (nanosecond magic). Little-endian, as every reader takes. Each packet is flushed as it is
//! written, so a reader at the other end of a pipe (`| wireshark -k -i -`) sees it at once.

use super::{Format, Packet, LINKTYPE_ETHERNET};
use std::io::{self, Write};

const SHB: u32 = 0x0A0D_0D0A;
const IDB: u32 = 0x0000_0001;
const EPB: u32 = 0x0000_0006;
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
const OPT_END: u16 = 0;
const SHB_USERAPPL: u16 = 4;
const IF_NAME: u16 = 2;
const IF_TSRESOL: u16 = 9;
/// pcap's magic for nanosecond timestamps.
const PCAP_MAGIC_NS: u32 = 0xA1B2_3C4D;

fn pad4(n: usize) -> usize {
    (n + 3) & !3
}

/// One option: code, length, value padded to 4 bytes.
fn option(buf: &mut Vec<u8>, code: u16, value: &[u8]) {
    buf.extend_from_slice(&code.to_le_bytes());
    buf.extend_from_slice(&(value.len() as u16).to_le_bytes());
    buf.extend_from_slice(value);
    buf.resize(buf.len() + pad4(value.len()) - value.len(), 0);
}

/// A block: type, total length, `body`, total length again.
fn block(kind: u32, body: &[u8]) -> Vec<u8> {
    let total = (12 + body.len()) as u32;
    let mut b = Vec::with_capacity(total as usize);
    b.extend_from_slice(&kind.to_le_bytes());
    b.extend_from_slice(&total.to_le_bytes());
    b.extend_from_slice(body);
    b.extend_from_slice(&total.to_le_bytes());
    b
}

/// The section header block, naming netlab as the writer.
pub fn section_header() -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&BYTE_ORDER_MAGIC.to_le_bytes());
    body.extend_from_slice(&1u16.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    // Section length unknown: the file is written as packets come.
    body.extend_from_slice(&(-1i64).to_le_bytes());
    option(&mut body, SHB_USERAPPL, b"netlab");
    option(&mut body, OPT_END, &[]);
    block(SHB, &body)
}

/// The interface description block of one Ethernet interface.
pub fn interface(name: &str, snaplen: u32) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
    body.extend_from_slice(&0u16.to_le_bytes());
    body.extend_from_slice(&snaplen.to_le_bytes());
    option(&mut body, IF_NAME, name.as_bytes());
    // Timestamps in nanoseconds (10^-9).
    option(&mut body, IF_TSRESOL, &[9]);
    option(&mut body, OPT_END, &[]);
    block(IDB, &body)
}

/// The enhanced packet block of one packet.
pub fn packet(p: &Packet) -> Vec<u8> {
    let ns = p.ts.as_nanos() as u64;
    let mut body = Vec::with_capacity(20 + pad4(p.data.len()));
    body.extend_from_slice(&p.iface.to_le_bytes());
    body.extend_from_slice(&((ns >> 32) as u32).to_le_bytes());
    body.extend_from_slice(&(ns as u32).to_le_bytes());
    body.extend_from_slice(&(p.data.len() as u32).to_le_bytes());
    body.extend_from_slice(&p.orig_len.to_le_bytes());
    body.extend_from_slice(&p.data);
    body.resize(20 + pad4(p.data.len()), 0);
    block(EPB, &body)
}

/// The classic pcap file header.
pub fn pcap_header(snaplen: u32) -> Vec<u8> {
    let mut b = Vec::with_capacity(24);
    b.extend_from_slice(&PCAP_MAGIC_NS.to_le_bytes());
    b.extend_from_slice(&2u16.to_le_bytes());
    b.extend_from_slice(&4u16.to_le_bytes());
    b.extend_from_slice(&0i32.to_le_bytes());
    b.extend_from_slice(&0u32.to_le_bytes());
    b.extend_from_slice(&snaplen.to_le_bytes());
    b.extend_from_slice(&u32::from(LINKTYPE_ETHERNET).to_le_bytes());
    b
}

/// One classic pcap record.
pub fn pcap_record(p: &Packet) -> Vec<u8> {
    let mut b = Vec::with_capacity(16 + p.data.len());
    b.extend_from_slice(&(p.ts.as_secs() as u32).to_le_bytes());
    b.extend_from_slice(&p.ts.subsec_nanos().to_le_bytes());
    b.extend_from_slice(&(p.data.len() as u32).to_le_bytes());
    b.extend_from_slice(&p.orig_len.to_le_bytes());
    b.extend_from_slice(&p.data);
    b
}

/// Writes a capture to `W` as packets come.
pub struct Writer<W: Write> {
    out: W,
    format: Format,
}

impl<W: Write> Writer<W> {
    /// Writes the file's header for interfaces `ifaces` (their order gives their ids) and
    /// flushes it. Classic pcap holds one interface only.
    pub fn new(mut out: W, format: Format, ifaces: &[String], snaplen: u32) -> io::Result<Writer<W>> {
        let mut head = Vec::new();
        match format {
            Format::Pcapng => {
                head.extend(section_header());
                for i in ifaces {
                    head.extend(interface(i, snaplen));
                }
            }
            Format::Pcap if ifaces.len() == 1 => head.extend(pcap_header(snaplen)),
            Format::Pcap => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "a pcap file holds one interface; write pcapng to capture several",
                ))
            }
        }
        out.write_all(&head)?;
        out.flush()?;
        Ok(Writer { out, format })
    }

    /// Writes one packet and flushes it.
    pub fn write(&mut self, p: &Packet) -> io::Result<()> {
        let bytes = match self.format {
            Format::Pcapng => packet(p),
            Format::Pcap => pcap_record(p),
        };
        self.out.write_all(&bytes)?;
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn pkt(iface: u32, data: &[u8]) -> Packet {
        Packet { iface, ts: Duration::new(0x1_0000_0002, 3), data: data.to_vec(), orig_len: 60 }
    }

    #[test]
    fn section_header_bytes() {
        let b = section_header();
        let want: Vec<u8> = [
            &[0x0A, 0x0D, 0x0D, 0x0A, 44, 0, 0, 0][..],
            &[0x4D, 0x3C, 0x2B, 0x1A, 1, 0, 0, 0],
            &[0xFF; 8],
            &[4, 0, 6, 0],
            b"netlab\0\0",
            &[0, 0, 0, 0],
            &[44, 0, 0, 0],
        ]
        .concat();
        assert_eq!(b, want);
    }

    #[test]
    fn interface_block_bytes() {
        let b = interface("eth0", 65535);
        let want: Vec<u8> = [
            &[1, 0, 0, 0, 40, 0, 0, 0][..],
            &[1, 0, 0, 0],
            &[0xFF, 0xFF, 0, 0],
            &[2, 0, 4, 0],
            b"eth0",
            &[9, 0, 1, 0, 9, 0, 0, 0],
            &[0, 0, 0, 0],
            &[40, 0, 0, 0],
        ]
        .concat();
        assert_eq!(b, want);
    }

    #[test]
    fn packet_block_bytes_pad_the_data() {
        // 0x1_0000_0002 s + 3 ns = 0x3B9A_CA00 * 0x1_0000_0002 + 3 ns.
        let ns: u64 = 0x1_0000_0002u64 * 1_000_000_000 + 3;
        let b = packet(&pkt(1, &[0xAA, 0xBB, 0xCC, 0xDD, 0xEE]));
        let mut want = vec![6, 0, 0, 0, 40, 0, 0, 0, 1, 0, 0, 0];
        want.extend_from_slice(&((ns >> 32) as u32).to_le_bytes());
        want.extend_from_slice(&(ns as u32).to_le_bytes());
        want.extend_from_slice(&[5, 0, 0, 0, 60, 0, 0, 0, 0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0, 0, 0]);
        want.extend_from_slice(&[40, 0, 0, 0]);
        assert_eq!(b, want);
    }

    #[test]
    fn pcap_header_and_record_bytes() {
        assert_eq!(
            pcap_header(96),
            [0x4D, 0x3C, 0xB2, 0xA1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 96, 0, 0, 0, 1, 0, 0, 0]
        );
        let p = Packet { iface: 0, ts: Duration::new(7, 8), data: vec![1, 2, 3], orig_len: 9 };
        assert_eq!(pcap_record(&p), [7, 0, 0, 0, 8, 0, 0, 0, 3, 0, 0, 0, 9, 0, 0, 0, 1, 2, 3]);
    }

    #[test]
    fn writer_puts_one_idb_per_interface_then_packets() {
        let ifaces = ["eth0".to_string(), "lo".to_string()];
        let mut w = Writer::new(Vec::new(), Format::Pcapng, &ifaces, 100).expect("header");
        w.write(&pkt(1, &[1, 2, 3, 4])).expect("packet");
        let out = w.into_inner();
        let want =
            [section_header(), interface("eth0", 100), interface("lo", 100), packet(&pkt(1, &[1, 2, 3, 4]))]
                .concat();
        assert_eq!(out, want);
    }

    #[test]
    fn pcap_refuses_several_interfaces() {
        let ifaces = ["a".to_string(), "b".to_string()];
        let e = Writer::new(Vec::new(), Format::Pcap, &ifaces, 100).err().expect("refused");
        assert!(e.to_string().contains("pcapng"), "{e}");
    }
}
