//! NAT and filter rules of a node: the validated model, and its canonical text. The text is
//! what `plan` shows, what `status` lists, and what each nftables rule carries as its comment
//! so that the kernel's copy can be compared with the file's.
//!
//! The model is in `rule.rs`, the file's keys become it in `resolve.rs`, its text is in
//! `text.rs`; this file names the kernel interface that carries it.

mod resolve;
mod rule;
#[cfg(test)]
mod tests;
mod text;

pub use resolve::resolve;
pub use rule::{Action, CtState, Firewall, Nat, Proto, Rule};
pub use text::CHAINS;

/// The longest text of one rule: it is the rule's nftables comment, which libnftnl keeps in
/// a userdata buffer of 128 bytes (`NFTNL_UDATA_COMMENT_MAXLEN`) with a type byte, a length
/// byte and a NUL beside the text. The kernel's own bound (`NFT_USERDATA_MAXLEN`, 256) is
/// higher; a unit test of `sys::firewall::nft` holds libnftnl to this one.
pub const MAX_RULE_TEXT: usize = 125;

/// Which kernel interface carries a lab's firewall.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize, clap::ValueEnum,
)]
#[serde(rename_all = "lowercase")]
pub enum FirewallKind {
    /// nftables, through libnftnl: one table per namespace.
    #[default]
    Nft,
    /// iptables-restore, in chains of the lab's own: where nf_tables is not available.
    Iptables,
}

impl FirewallKind {
    /// The name users know it by.
    pub fn label(self) -> &'static str {
        match self {
            FirewallKind::Nft => "nftables",
            FirewallKind::Iptables => "iptables",
        }
    }
}
