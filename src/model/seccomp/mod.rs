//! Seccomp rules as data: what each syscall of a node's processes gets. `sys::seccomp` compiles
//! a [`Filter`] to BPF before forking and applies it in the process just before `execve`.
//!
//! A filter is a default action and rules; a rule names a syscall (resolved to its number on
//! the running architecture from netlab's own table), optional argument comparisons (all must
//! hold) and an action. When several rules match a call, the most severe action wins, in the
//! kernel's own order for stacked filters: kill process, kill thread, trap, errno, log, allow.
//! No rule matching means the default action.
//!
//! Sources: `"default"` ([`profile`], an allowlist as Docker's default profile), a TOML table
//! ([`spec`]) or an OCI/Docker JSON profile ([`oci`]).

mod names;
pub mod oci;
pub mod profile;
pub mod spec;
mod table;

pub use names::{edit_distance, is_known_syscall, lookup, suggest, syscall_nr, unknown_hint, Arch, Known};
pub use profile::{default_profile, DefaultContext};

use serde::{Deserialize, Serialize};

/// What the kernel does with a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Action {
    /// Let it through.
    Allow,
    /// Let it through and log it (to the audit log / kernel log).
    Log,
    /// Fail it with this errno, without running it.
    Errno(u16),
    /// Deliver `SIGSYS` to the calling thread (a handler may catch it).
    Trap,
    /// Kill the calling thread, as by an uncatchable `SIGSYS`.
    KillThread,
    /// Kill the whole process, as by an uncatchable `SIGSYS`.
    KillProcess,
}

impl Action {
    /// Higher wins when several rules match one call (the kernel's order for stacked filters).
    pub fn severity(self) -> u8 {
        match self {
            Action::Allow => 0,
            Action::Log => 1,
            Action::Errno(_) => 2,
            Action::Trap => 3,
            Action::KillThread => 4,
            Action::KillProcess => 5,
        }
    }

    /// Whether the call runs.
    pub fn lets_through(self) -> bool {
        matches!(self, Action::Allow | Action::Log)
    }

    /// How the action is spelt in a topology file.
    pub fn describe(self) -> String {
        match self {
            Action::Allow => "allow".into(),
            Action::Log => "log".into(),
            Action::Errno(n) => format!("errno {n}"),
            Action::Trap => "trap".into(),
            Action::KillThread => "kill_thread".into(),
            Action::KillProcess => "kill".into(),
        }
    }
}

/// The largest errno a filter may return (the kernel's `MAX_ERRNO`).
pub const MAX_ERRNO: u16 = 4095;

pub const EPERM: u16 = 1;
pub const ENOSYS: u16 = 38;

/// A comparison of one syscall argument (as a 64-bit value) with a constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// `arg & mask == value`.
    MaskedEq(u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArgCmp {
    /// 0–5.
    pub index: u8,
    pub op: CmpOp,
    pub value: u64,
}

impl ArgCmp {
    pub fn holds(&self, args: &[u64; 6]) -> bool {
        let a = args[self.index as usize];
        match self.op {
            CmpOp::Eq => a == self.value,
            CmpOp::Ne => a != self.value,
            CmpOp::Lt => a < self.value,
            CmpOp::Le => a <= self.value,
            CmpOp::Gt => a > self.value,
            CmpOp::Ge => a >= self.value,
            CmpOp::MaskedEq(mask) => a & mask == self.value,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rule {
    pub name: String,
    /// The syscall's number on the running architecture.
    pub nr: u32,
    pub action: Action,
    /// All must hold for the rule to match; none: the rule matches every call of `nr`.
    pub args: Vec<ArgCmp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    pub default: Action,
    pub rules: Vec<Rule>,
}

/// The filter a node's processes run under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Seccomp {
    /// No filter at all.
    Unconfined,
    Filter(Filter),
}

impl Filter {
    /// What the filter does with syscall `nr` called with `args` (x86_64 x32 calls and
    /// foreign ABIs aside: the compiled program kills those before any rule is looked at).
    pub fn decide(&self, nr: u32, args: &[u64; 6]) -> Action {
        self.rules
            .iter()
            .filter(|r| r.nr == nr && r.args.iter().all(|c| c.holds(args)))
            .map(|r| r.action)
            .max_by_key(|a| (a.severity(), std::cmp::Reverse(errno_of(*a))))
            .unwrap_or(self.default)
    }

    /// The action a call of `nr` gets whatever its arguments, when the filter refuses it
    /// outright: an argument-free refusing rule, or no letting-through rule at all and a
    /// refusing default. `None` when some call of it may run.
    pub fn always_refuses(&self, nr: u32) -> Option<Action> {
        let rules: Vec<&Rule> = self.rules.iter().filter(|r| r.nr == nr).collect();
        if let Some(r) = rules
            .iter()
            .filter(|r| r.args.is_empty() && !r.action.lets_through())
            .max_by_key(|r| r.action.severity())
        {
            return Some(r.action);
        }
        let may_run = rules.iter().any(|r| r.action.lets_through());
        (!may_run && !self.default.lets_through()).then_some(self.default)
    }

    /// Refuses a filter under which the process could never start: netlab starts every
    /// command with `execve`, after the filter is in place.
    pub fn check_can_start(&self) -> Result<(), String> {
        let Ok(arch) = Arch::native() else { return Ok(()) };
        let Some(nr) = arch.nr("execve") else { return Ok(()) };
        match self.always_refuses(nr) {
            None => Ok(()),
            Some(a) => Err(format!(
                "this seccomp filter refuses execve ({}), so no command could ever start under it",
                a.describe()
            )),
        }
    }
}

fn errno_of(a: Action) -> u16 {
    match a {
        Action::Errno(n) => n,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(name: &str, action: Action, args: Vec<ArgCmp>) -> Rule {
        Rule { name: name.into(), nr: syscall_nr(name).unwrap(), action, args }
    }

    #[test]
    fn the_most_severe_matching_rule_wins() {
        let f = Filter {
            default: Action::Errno(EPERM),
            rules: vec![
                rule("socket", Action::Allow, vec![]),
                rule("socket", Action::Errno(97), vec![ArgCmp { index: 0, op: CmpOp::Eq, value: 40 }]),
                rule("socket", Action::KillProcess, vec![ArgCmp { index: 0, op: CmpOp::Eq, value: 41 }]),
            ],
        };
        let nr = syscall_nr("socket").unwrap();
        assert_eq!(f.decide(nr, &[2, 0, 0, 0, 0, 0]), Action::Allow);
        assert_eq!(f.decide(nr, &[40, 0, 0, 0, 0, 0]), Action::Errno(97));
        assert_eq!(f.decide(nr, &[41, 0, 0, 0, 0, 0]), Action::KillProcess);
        assert_eq!(f.decide(syscall_nr("read").unwrap(), &[0; 6]), Action::Errno(EPERM));
    }

    #[test]
    fn masked_eq_compares_the_masked_bits() {
        let c = ArgCmp { index: 1, op: CmpOp::MaskedEq(0xf0), value: 0x10 };
        assert!(c.holds(&[0, 0x1f, 0, 0, 0, 0]));
        assert!(!c.holds(&[0, 0x2f, 0, 0, 0, 0]));
    }

    #[test]
    fn a_filter_refusing_execve_cannot_start() {
        let deny =
            Filter { default: Action::Allow, rules: vec![rule("execve", Action::Errno(EPERM), vec![])] };
        assert!(deny.check_can_start().unwrap_err().contains("refuses execve (errno 1)"));
        let strict =
            Filter { default: Action::KillProcess, rules: vec![rule("read", Action::Allow, vec![])] };
        assert!(strict.check_can_start().unwrap_err().contains("(kill)"));
        let ok = Filter { default: Action::KillProcess, rules: vec![rule("execve", Action::Log, vec![])] };
        ok.check_can_start().unwrap();
        // An argument rule may or may not match: it is not refused.
        let cond = Filter {
            default: Action::Allow,
            rules: vec![rule("execve", Action::Trap, vec![ArgCmp { index: 2, op: CmpOp::Eq, value: 0 }])],
        };
        cond.check_can_start().unwrap();
    }
}
