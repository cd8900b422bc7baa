//! The canonical text is also each kernel rule's comment, so a change to it must be deliberate:
//! these pin it.

use super::*;

#[test]
fn canonical_text_reads_like_nft() {
    let r = Rule {
        iif: Some("v-eth".into()),
        oif: Some("uplink".into()),
        states: vec![CtState::Established, CtState::Related],
        action: Some(Action::Accept),
        ..Default::default()
    };
    assert_eq!(r.to_string(), "iifname v-eth oifname uplink ct state established,related accept");
    let r = Rule {
        proto: Some(Proto::Tcp),
        port: Some(22),
        to: Some("10.0.0.0/24".parse().unwrap()),
        action: Some(Action::Reject),
        ..Default::default()
    };
    assert_eq!(r.to_string(), "ip daddr 10.0.0.0/24 tcp dport 22 reject with tcp reset");
    let n =
        Nat::Dnat { iif: "wan".into(), proto: Proto::Tcp, port: 8080, to: "10.0.0.2:80".parse().unwrap() };
    assert_eq!(n.to_string(), "iifname wan tcp dport 8080 dnat to 10.0.0.2:80");
    let fw = Firewall {
        forward_policy: Action::Drop,
        nat: vec![n, Nat::Masquerade { from: "fd00::/64".parse().unwrap(), out: "wan".into() }],
        ..Default::default()
    };
    assert_eq!(
        fw.listing(),
        vec![
            "chain forward policy drop",
            "chain input policy accept",
            "prerouting: iifname wan tcp dport 8080 dnat to 10.0.0.2:80",
            "postrouting: ip6 saddr fd00::/64 oifname wan masquerade",
        ]
    );
    assert!(Firewall::default().is_empty());
}
