//! Reads a lab table back over nfnetlink: chain policies and rule comments, as the canonical
//! listing of `Firewall::listing`, so `plan` can compare the kernel's table with the file's.

use crate::model::firewall::CHAINS;
use crate::sys::netlink::nla;
use netlink_sys::{Socket, SocketAddr};
use std::io;

const NETLINK_NETFILTER: isize = 12;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_GETTABLE: u16 = 1;
const NFT_MSG_GETCHAIN: u16 = 4;
const NFT_MSG_GETRULE: u16 = 7;
const NFPROTO_INET: u8 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLM_F_REQUEST: u16 = 1;
const NLM_F_ACK: u16 = 4;
const NLM_F_DUMP: u16 = 0x300;
const NFTA_TABLE_NAME: u16 = 1;
const NFTA_CHAIN_TABLE: u16 = 1;
const NFTA_CHAIN_NAME: u16 = 3;
const NFTA_CHAIN_POLICY: u16 = 5;
const NFTA_RULE_TABLE: u16 = 1;
const NFTA_RULE_CHAIN: u16 = 2;
const NFTA_RULE_USERDATA: u16 = 7;
/// The TLV type libnftnl gives a rule's comment inside its userdata.
const UDATA_RULE_COMMENT: u8 = 0;

fn request(msg: u16, flags: u16, attrs: &[(u16, &[u8])]) -> Vec<u8> {
    let mut buf = vec![0u8; 16];
    buf.extend_from_slice(&[NFPROTO_INET, 0, 0, 0]); // nfgenmsg: family, version, res_id
    for (k, v) in attrs {
        nla(&mut buf, *k, v);
    }
    let len = buf.len() as u32;
    buf[0..4].copy_from_slice(&len.to_ne_bytes());
    buf[4..6].copy_from_slice(&((NFNL_SUBSYS_NFTABLES << 8) | msg).to_ne_bytes());
    buf[6..8].copy_from_slice(&(NLM_F_REQUEST | flags).to_ne_bytes());
    buf[8..12].copy_from_slice(&1u32.to_ne_bytes());
    buf
}

fn cstr(v: &[u8]) -> String {
    String::from_utf8_lossy(v.split(|b| *b == 0).next().unwrap_or(&[])).into_owned()
}

/// The attributes of one nfnetlink message body (after nfgenmsg).
fn attrs(mut body: &[u8]) -> Vec<(u16, &[u8])> {
    let mut out = Vec::new();
    while body.len() >= 4 {
        let len = u16::from_ne_bytes([body[0], body[1]]) as usize;
        let kind = u16::from_ne_bytes([body[2], body[3]]) & 0x3fff;
        if len < 4 || len > body.len() {
            break;
        }
        out.push((kind, &body[4..len]));
        body = &body[len.next_multiple_of(4).min(body.len())..];
    }
    out
}

/// The attributes of one message, by type.
type Attrs = Vec<(u16, Vec<u8>)>;

/// Sends `req` and returns the attributes of every reply until done (or the ack).
fn exchange(sock: &Socket, req: &[u8]) -> io::Result<Vec<Attrs>> {
    sock.send(req, 0)?;
    let mut replies = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = sock.recv(&mut &mut buf[..], 0)?;
        let mut off = 0;
        while off + 16 <= n {
            let len = u32::from_ne_bytes(buf[off..off + 4].try_into().expect("4 bytes")) as usize;
            let kind = u16::from_ne_bytes([buf[off + 4], buf[off + 5]]);
            let flags = u16::from_ne_bytes([buf[off + 6], buf[off + 7]]);
            if len < 16 || off + len > n {
                return Err(io::Error::other("malformed nfnetlink message"));
            }
            let msg = &buf[off..off + len];
            off += len.next_multiple_of(4);
            match kind {
                NLMSG_DONE => return Ok(replies),
                NLMSG_ERROR => {
                    let code = i32::from_ne_bytes(msg[16..20].try_into().expect("4 bytes"));
                    return if code == 0 { Ok(replies) } else { Err(io::Error::from_raw_os_error(-code)) };
                }
                _ => {
                    replies.push(attrs(&msg[20..]).into_iter().map(|(k, v)| (k, v.to_vec())).collect());
                    if flags & 2 == 0 {
                        // Not multipart: a single answer, its ack follows.
                        continue;
                    }
                }
            }
        }
    }
}

fn get(a: &[(u16, Vec<u8>)], kind: u16) -> Option<&[u8]> {
    a.iter().find(|(k, _)| *k == kind).map(|(_, v)| v.as_slice())
}

/// The comment libnftnl stored in a rule's userdata.
fn comment(udata: &[u8]) -> Option<String> {
    let mut rest = udata;
    while rest.len() >= 2 {
        let (kind, len) = (rest[0], rest[1] as usize);
        let value = rest.get(2..2 + len)?;
        if kind == UDATA_RULE_COMMENT {
            return Some(cstr(value));
        }
        rest = &rest[2 + len..];
    }
    None
}

/// The listing of inet table `name` in the calling thread's namespace, or `None` when the
/// table does not exist.
pub fn read_table(name: &str) -> io::Result<Option<Vec<String>>> {
    let mut sock = Socket::new(NETLINK_NETFILTER)?;
    sock.bind_auto()?;
    sock.connect(&SocketAddr::new(0, 0))?;
    let mut tname = name.as_bytes().to_vec();
    tname.push(0);
    match exchange(&sock, &request(NFT_MSG_GETTABLE, NLM_F_ACK, &[(NFTA_TABLE_NAME, &tname)])) {
        Ok(_) => {}
        Err(e) if e.raw_os_error() == Some(nix::libc::ENOENT) => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut lines = Vec::new();
    for chain in exchange(&sock, &request(NFT_MSG_GETCHAIN, NLM_F_DUMP, &[]))? {
        if get(&chain, NFTA_CHAIN_TABLE).map(cstr).as_deref() != Some(name) {
            continue;
        }
        let cname = get(&chain, NFTA_CHAIN_NAME).map(cstr).unwrap_or_default();
        if cname == "forward" || cname == "input" {
            let policy = get(&chain, NFTA_CHAIN_POLICY)
                .map(|v| u32::from_be_bytes(v.try_into().unwrap_or([0, 0, 0, 1])));
            lines.push((
                cname.clone(),
                format!("chain {cname} policy {}", if policy == Some(0) { "drop" } else { "accept" }),
            ));
        }
    }
    lines.sort();
    let mut rules: Vec<(usize, String)> = Vec::new();
    for rule in exchange(&sock, &request(NFT_MSG_GETRULE, NLM_F_DUMP, &[(NFTA_RULE_TABLE, &tname)]))? {
        if get(&rule, NFTA_RULE_TABLE).map(cstr).as_deref() != Some(name) {
            continue;
        }
        let chain = get(&rule, NFTA_RULE_CHAIN).map(cstr).unwrap_or_default();
        let text = get(&rule, NFTA_RULE_USERDATA)
            .and_then(comment)
            .unwrap_or_else(|| "(a rule not made by netlab)".into());
        let order = CHAINS.iter().position(|c| *c == chain).unwrap_or(CHAINS.len());
        rules.push((order, format!("{chain}: {text}")));
    }
    // Rules keep their order within a chain; chains go in table order.
    rules.sort_by_key(|(o, _)| *o);
    let mut out: Vec<String> = lines.into_iter().map(|(_, l)| l).collect();
    out.extend(rules.into_iter().map(|(_, r)| r));
    Ok(Some(out))
}
