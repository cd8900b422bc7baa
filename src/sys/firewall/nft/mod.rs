//! nftables: one table per node namespace (`netlab`, or `netlab-LAB` in the host namespace),
//! written as one atomic batch through libnftnl and read back over nfnetlink. Runs on a
//! namespace worker: every function here acts on the calling thread's namespace.

pub mod compile;
mod read;

use crate::model::firewall::{Action, Firewall};
use compile::{CompiledRule, Expr, Field, MetaKey, Verdict};
use nftnl::expr::{
    Bitwise, Cmp, CmpOp, Conntrack, Counter, IcmpCode, Immediate, Masquerade, Meta, Nat, NatType, Payload,
    Register, RejectionType,
};
use nftnl::{Batch, Chain, ChainType, Hook, MsgType, Policy, ProtoFamily, Rule, Table};
use std::ffi::CString;
use std::io;

pub use read::read_table;

/// (name, type, hook, priority) of each chain, in table order; nft's dstnat/srcnat/filter.
const CHAINS: [(&str, ChainType, Hook, i32); 4] = [
    ("prerouting", ChainType::Nat, Hook::PreRouting, -100),
    ("postrouting", ChainType::Nat, Hook::PostRouting, 100),
    ("forward", ChainType::Filter, Hook::Forward, 0),
    ("input", ChainType::Filter, Hook::In, 0),
];

fn cstring(s: &str) -> io::Result<CString> {
    CString::new(s).map_err(|_| io::Error::other(format!("{s:?} contains a NUL byte")))
}

fn add_expr(rule: &mut Rule, e: &Expr) {
    let reg = |r: u8| if r == 2 { Register::Reg2 } else { Register::Reg1 };
    match e {
        Expr::Meta(k) => rule.add_expr(&match k {
            MetaKey::NfProto => Meta::NfProto,
            MetaKey::L4Proto => Meta::L4Proto,
            MetaKey::IifName => Meta::IifName,
            MetaKey::OifName => Meta::OifName,
        }),
        Expr::Payload(f) => {
            use nftnl::expr::{
                Ipv4HeaderField as V4, Ipv6HeaderField as V6, NetworkHeaderField as N, TcpHeaderField,
                TransportHeaderField as T, UdpHeaderField,
            };
            rule.add_expr(&match f {
                Field::Ip4Saddr => Payload::Network(N::Ipv4(V4::Saddr)),
                Field::Ip4Daddr => Payload::Network(N::Ipv4(V4::Daddr)),
                Field::Ip6Saddr => Payload::Network(N::Ipv6(V6::Saddr)),
                Field::Ip6Daddr => Payload::Network(N::Ipv6(V6::Daddr)),
                Field::TcpDport => Payload::Transport(T::Tcp(TcpHeaderField::Dport)),
                Field::UdpDport => Payload::Transport(T::Udp(UdpHeaderField::Dport)),
            })
        }
        Expr::Bitwise { mask, xor } => rule.add_expr(&Bitwise::new(mask.as_slice(), xor.as_slice())),
        Expr::Cmp { eq, data } => {
            rule.add_expr(&Cmp::new(if *eq { CmpOp::Eq } else { CmpOp::Neq }, data.as_slice()))
        }
        Expr::CtState => rule.add_expr(&Conntrack::State),
        // Immediate copies its value by size: hand it fixed-size arrays.
        Expr::Immediate { reg: r, data } => match data.len() {
            2 => rule
                .add_expr(&Immediate::new(<[u8; 2]>::try_from(data.as_slice()).expect("2 bytes"), reg(*r))),
            4 => rule
                .add_expr(&Immediate::new(<[u8; 4]>::try_from(data.as_slice()).expect("4 bytes"), reg(*r))),
            _ => rule
                .add_expr(&Immediate::new(<[u8; 16]>::try_from(data.as_slice()).expect("16 bytes"), reg(*r))),
        },
        Expr::Masquerade => rule.add_expr(&Masquerade),
        Expr::Nat { snat, v6, port } => rule.add_expr(&Nat {
            nat_type: if *snat { NatType::SNat } else { NatType::DNat },
            family: if *v6 { ProtoFamily::Ipv6 } else { ProtoFamily::Ipv4 },
            ip_register: Register::Reg1,
            port_register: port.then_some(Register::Reg2),
        }),
        Expr::Counter => rule.add_expr(&Counter),
        Expr::Verdict(v) => rule.add_expr(&match v {
            Verdict::Accept => nftnl::expr::Verdict::Accept,
            Verdict::Drop => nftnl::expr::Verdict::Drop,
            Verdict::RejectIcmp => nftnl::expr::Verdict::Reject(RejectionType::Icmp(IcmpCode::PortUnreach)),
            Verdict::RejectTcpReset => nftnl::expr::Verdict::Reject(RejectionType::TcpRst),
        }),
    }
}

/// Room in the receive buffer for one acknowledgment: an `nlmsgerr` in an skb of its own,
/// whose true size is well under this.
const ACK_ROOM: usize = 2048;

/// Sets a socket buffer of `fd` to at least `bytes`: `SO_*BUFFORCE` (root may pass
/// `net.core.[rw]mem_max`), else the plain option, which the kernel caps.
fn raise_buffer(fd: std::os::fd::RawFd, force: i32, plain: i32, bytes: usize) -> io::Result<()> {
    let v = i32::try_from(bytes).unwrap_or(i32::MAX / 2);
    for opt in [force, plain] {
        // SAFETY: `fd` is an open socket for the duration of the call; the option value is a
        // c_int that lives on the stack for the call, and its size is passed with it.
        let r = unsafe {
            nix::libc::setsockopt(
                fd,
                nix::libc::SOL_SOCKET,
                opt,
                (&v as *const i32).cast(),
                std::mem::size_of::<i32>() as nix::libc::socklen_t,
            )
        };
        if r == 0 {
            return Ok(());
        }
    }
    Err(io::Error::last_os_error())
}

/// Sends a batch and waits for every acknowledgment; the first NACK is the error.
///
/// The batch goes as one datagram: the kernel applies a batch only when its begin and end
/// arrive in one message, and libnftnl cuts a large batch into pages that `send_all` would
/// send one by one. The kernel handles the whole batch before `send` returns and queues one
/// acknowledgment per message, so both buffers are sized for the batch first (3000 rules
/// overflowed the default receive buffer: ENOBUFS).
fn send(batch: Batch) -> io::Result<()> {
    use std::os::fd::AsRawFd;
    let batch = batch.finalize();
    let bytes: Vec<u8> = batch.iter().flat_map(|page| page.iter().copied()).collect();
    let mut expected = batch.sequence_numbers();
    let socket = mnl::Socket::new(mnl::Bus::Netfilter)?;
    let fd = socket.as_raw_fd();
    raise_buffer(fd, nix::libc::SO_SNDBUFFORCE, nix::libc::SO_SNDBUF, bytes.len() + (64 << 10))?;
    raise_buffer(
        fd,
        nix::libc::SO_RCVBUFFORCE,
        nix::libc::SO_RCVBUF,
        expected.len() * ACK_ROOM + (256 << 10),
    )?;
    let portid = socket.portid();
    if socket.send(&bytes)? < bytes.len() {
        return Err(io::Error::other("the nftables batch was not sent whole"));
    }
    let mut buffer = vec![0; nftnl::nft_nlmsg_maxsize() as usize];
    while !expected.is_empty() {
        for message in socket.recv(&mut buffer[..])? {
            let message = message?;
            let seq =
                expected.next().ok_or_else(|| io::Error::other("unexpected nftables acknowledgment"))?;
            mnl::cb_run(message, seq, portid)?;
        }
    }
    Ok(())
}

/// Replaces table `name` with `fw`, atomically (`nft -f` of "table; delete table; table {...}").
pub fn load_table(name: &str, fw: &Firewall) -> io::Result<()> {
    let table = Table::new(&cstring(name)?, ProtoFamily::Inet);
    let mut batch = Batch::new();
    // Add-if-missing, then delete, then build: the table is complete or as it was.
    batch.add(&table, MsgType::Add);
    batch.add(&table, MsgType::Del);
    batch.add(&table, MsgType::Add);
    let mut chains = Vec::new();
    for (cname, ctype, hook, prio) in CHAINS {
        let mut chain = Chain::new(&cstring(cname)?, &table);
        chain.set_hook(hook, prio);
        chain.set_type(ctype);
        let policy = match cname {
            "forward" => fw.forward_policy,
            "input" => fw.input_policy,
            _ => Action::Accept,
        };
        chain.set_policy(if policy == Action::Drop { Policy::Drop } else { Policy::Accept });
        batch.add(&chain, MsgType::Add);
        chains.push((cname, chain));
    }
    let compiled: Vec<CompiledRule> = compile::compile(fw);
    for r in &compiled {
        let chain = &chains.iter().find(|(n, _)| *n == r.chain).expect("compiled rules name known chains").1;
        let mut rule = Rule::new(chain);
        rule.set_comment(&cstring(&r.comment)?).map_err(io::Error::other)?;
        for e in &r.exprs {
            add_expr(&mut rule, e);
        }
        batch.add(&rule, MsgType::Add);
    }
    send(batch)
}

/// Deletes table `name`; a missing table counts as deleted.
pub fn delete_table(name: &str) -> io::Result<()> {
    let table = Table::new(&cstring(name)?, ProtoFamily::Inet);
    let mut batch = Batch::new();
    batch.add(&table, MsgType::Add);
    batch.add(&table, MsgType::Del);
    send(batch)
}

/// What a failed nftables call means for the user.
pub fn explain(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(nix::libc::EPROTONOSUPPORT) | Some(nix::libc::EAFNOSUPPORT) => {
            format!(
                "{e}: this kernel has no nf_tables (load the nf_tables module, or use --firewall iptables)"
            )
        }
        Some(nix::libc::ENOENT) => {
            format!("{e}: a needed nftables module is missing (nft_nat, nft_masq, nft_reject or nft_ct?)")
        }
        _ => e.to_string(),
    }
}

/// Whether this kernel has nf_tables: asking for a table that does not exist answers
/// ENOENT where it does.
pub fn available() -> bool {
    read_table("netlab-probe").is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libnftnl keeps a rule's comment in a userdata buffer of NFTNL_UDATA_COMMENT_MAXLEN
    /// (128) bytes, a type and a length byte before the text and its NUL: the model's limit
    /// on a rule's text is exactly what it takes.
    #[test]
    fn libnftnl_takes_a_comment_of_the_models_longest_rule_text_and_no_longer() {
        let table = Table::new(cstring("t").unwrap(), ProtoFamily::Inet);
        let chain = Chain::new(cstring("c").unwrap(), &table);
        let max = crate::model::firewall::MAX_RULE_TEXT;
        let mut rule = Rule::new(&chain);
        assert!(rule.set_comment(cstring(&"x".repeat(max)).unwrap()).is_ok());
        let mut rule = Rule::new(&chain);
        assert!(rule.set_comment(cstring(&"x".repeat(max + 1)).unwrap()).is_err());
    }
}
