//! The iptables text (restore input, save output read back) checked against known rule sets,
//! without root.

use super::*;
use crate::model::firewall::{Action, Firewall, Nat, Proto, Rule};

fn fw() -> Firewall {
    Firewall {
        forward_policy: Action::Drop,
        forward: vec![
            Rule {
                iif: Some("v-eth".into()),
                oif: Some("uplink".into()),
                action: Some(Action::Accept),
                ..Default::default()
            },
            Rule {
                proto: Some(Proto::Tcp),
                port: Some(22),
                action: Some(Action::Reject),
                ..Default::default()
            },
        ],
        nat: vec![Nat::Masquerade { from: "10.200.1.0/24".parse().unwrap(), out: "uplink".into() }],
        ..Default::default()
    }
}

#[test]
fn restore_input_for_ipv4() {
    let got = restore_input("lab", &fw(), Family::V4, "");
    let want = "\
*nat
:NL-lab-PRE - [0:0]
-A PREROUTING -j NL-lab-PRE
:NL-lab-POST - [0:0]
-A POSTROUTING -j NL-lab-POST
-A NL-lab-POST -m comment --comment \"netlab 2: postrouting: ip saddr 10.200.1.0/24 oifname uplink masquerade\" -s 10.200.1.0/24 -o uplink -j MASQUERADE
COMMIT
*filter
:NL-lab-FWD - [0:0]
-A FORWARD -j NL-lab-FWD
:NL-lab-IN - [0:0]
-A INPUT -j NL-lab-IN
-A NL-lab-FWD -m comment --comment \"netlab 3: forward: iifname v-eth oifname uplink accept\" -i v-eth -o uplink -j ACCEPT
-A NL-lab-FWD -m comment --comment \"netlab 4: forward: tcp dport 22 reject with tcp reset\" -p tcp --dport 22 -j REJECT --reject-with tcp-reset
-A NL-lab-FWD -m comment --comment \"netlab 0: chain forward policy drop\" -j DROP
-A NL-lab-IN -m comment --comment \"netlab 1: chain input policy accept\" -j RETURN
COMMIT
";
    assert_eq!(got, want);
    // The IPv4 masquerade has no IPv6 twin; the filter rules do.
    let v6 = restore_input("lab", &fw(), Family::V6, "-A FORWARD -j NL-lab-FWD\n");
    assert!(
        !v6.contains("MASQUERADE")
            && v6.contains("-p tcp --dport 22")
            && !v6.contains("-A FORWARD -j NL-lab-FWD")
    );
}

#[test]
fn saves_read_back_into_the_listing() {
    let fw = fw();
    let to_save = |fam| {
        let r = rules("lab", &fw, fam);
        let mut s = String::from(":NL-lab-FWD - [0:0]\n");
        for lines in r.values() {
            for l in lines {
                // iptables-save prints the comment match after the others; order is irrelevant.
                s.push_str(&format!("{l}\n"));
            }
        }
        s
    };
    let listing = listing_from_saves("lab", &[to_save(Family::V4), to_save(Family::V6)]).unwrap();
    assert_eq!(listing, fw.listing());
    assert_eq!(listing_from_saves("lab", &[String::new()]), None);
    let tampered = format!("{}-A NL-lab-FWD -j ACCEPT\n", to_save(Family::V4));
    assert!(listing_from_saves("lab", &[tampered, to_save(Family::V6)])
        .unwrap()
        .contains(&"(a rule not made by netlab)".to_string()));
    // A rule flushed from one family only still shows.
    // Another lab whose name starts like this one's is not this one.
    assert_eq!(listing_from_saves("la", &[to_save(Family::V4), to_save(Family::V6)]), None);
    let listing =
        listing_from_saves("lab", &[to_save(Family::V4), String::from(":NL-lab-FWD - [0:0]\n")]).unwrap();
    assert!(
        listing.contains(
            &"forward: iifname v-eth oifname uplink accept (missing from ip6tables-save)".to_string()
        ),
        "{listing:?}"
    );
    assert!(
        listing.contains(&"postrouting: ip saddr 10.200.1.0/24 oifname uplink masquerade".to_string()),
        "{listing:?}"
    );
}

#[test]
fn teardown_removes_jumps_and_chains() {
    let saved = ":NL-lab-FWD - [0:0]\n:NL-lab-IN - [0:0]\n-A FORWARD -j NL-lab-FWD\n-A INPUT -j NL-lab-IN\n";
    assert_eq!(teardown_input("lab", saved), "*filter\n-D FORWARD -j NL-lab-FWD\n-D INPUT -j NL-lab-IN\n-F NL-lab-FWD\n-X NL-lab-FWD\n-F NL-lab-IN\n-X NL-lab-IN\nCOMMIT\n");
    assert_eq!(teardown_input("other", saved), "");
}
