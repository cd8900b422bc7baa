//! BPF filter expressions (`tcpdump` syntax: `icmp`, `udp port 53`, `host 10.0.0.1`), compiled
//! by libpcap into classic BPF for Ethernet frames, to attach to a packet socket.

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

/// A compiled filter: what the expression was, and its program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub expr: String,
    pub program: Vec<Insn>,
}

/// Compiles `expr` as `tcpdump` would for an Ethernet interface; a bad expression is an error
/// in libpcap's words.
pub fn compile(expr: &str) -> Result<Filter, String> {
    let dead = pcap::Capture::dead(pcap::Linktype::ETHERNET).map_err(|e| e.to_string())?;
    let prog = dead.compile(expr, true).map_err(|e| format!("bad filter {expr:?}: {e}"))?;
    // The crate shows an instruction as "code jt jf k" and keeps its fields to itself.
    let program = prog
        .get_instructions()
        .iter()
        .map(|i| {
            let s = i.to_string();
            let f: Vec<&str> = s.split(' ').collect();
            let bad = || format!("compiling filter {expr:?}: unreadable instruction {s:?}");
            match f[..] {
                [code, jt, jf, k] => Ok(Insn {
                    code: code.parse().map_err(|_| bad())?,
                    jt: jt.parse().map_err(|_| bad())?,
                    jf: jf.parse().map_err(|_| bad())?,
                    k: k.parse().map_err(|_| bad())?,
                }),
                _ => Err(bad()),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Filter { expr: expr.to_string(), program })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn icmp_compiles_to_a_program_that_checks_the_ethertype() {
        let f = compile("icmp").expect("icmp compiles");
        // ldh [12]: the Ethernet type; then jeq #0x800.
        assert_eq!(f.program[0], Insn { code: 0x28, jt: 0, jf: 0, k: 12 });
        assert!(f.program.iter().any(|i| i.code == 0x15 && i.k == 0x800));
        // ret: accept or drop.
        assert!(f.program.iter().all(|i| i.code != 0x06 || i.k == 0 || i.k >= 65535));
    }

    #[test]
    fn a_bad_expression_is_an_error_naming_it() {
        let e = compile("icmp and and").expect_err("refused");
        assert!(e.contains("bad filter \"icmp and and\""), "{e}");
        assert!(e.contains("syntax error"), "{e}");
    }
}
