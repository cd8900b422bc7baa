//! Seccomp filters: compiled to classic BPF by seccompiler in the parent (before fork, where
//! allocating is fine), installed in the process just before `execve`.
//!
//! seccompiler's filters have one action for matching calls and one for the rest, while a
//! model filter has an action per rule. So the rules are grouped by action and each group is
//! one seccompiler filter, most severe first; their programs are chained (see `chain`), each
//! passing the calls it does not decide on to the next, and the last one returns the default.
//! The first group that matches decides, which is the model's "most severe rule wins".
//! Syscall numbers come from the model (netlab's own table), so seccompiler's name tables are
//! not used at all.

use std::collections::BTreeMap;
use std::io;

use nix::libc;
use seccompiler::{
    sock_filter, BpfProgram, SeccompAction, SeccompCmpArgLen, SeccompCmpOp, SeccompCondition, SeccompFilter,
    SeccompRule, TargetArch,
};

use crate::model::seccomp::{Action, Arch, CmpOp, Filter, Rule, Seccomp};

/// The BPF program for `s`, or `None` when it is unconfined.
pub fn compile(s: &Seccomp) -> io::Result<Option<BpfProgram>> {
    let Seccomp::Filter(f) = s else {
        return Ok(None);
    };
    compile_filter(f).map(Some)
}

fn target(arch: Arch) -> TargetArch {
    match arch {
        Arch::X86_64 => TargetArch::x86_64,
        Arch::Aarch64 => TargetArch::aarch64,
        Arch::Riscv64 => TargetArch::riscv64,
    }
}

fn action(a: Action) -> SeccompAction {
    match a {
        Action::Allow => SeccompAction::Allow,
        Action::Log => SeccompAction::Log,
        Action::Errno(n) => SeccompAction::Errno(n as u32),
        Action::Trap => SeccompAction::Trap,
        Action::KillThread => SeccompAction::KillThread,
        Action::KillProcess => SeccompAction::KillProcess,
    }
}

/// The rules of one action, as seccompiler wants them: number → rules, where an empty list
/// means "whatever the arguments".
fn group(rules: &[&Rule]) -> io::Result<BTreeMap<i64, Vec<SeccompRule>>> {
    let mut map: BTreeMap<i64, Option<Vec<SeccompRule>>> = BTreeMap::new();
    for r in rules {
        let entry = map.entry(r.nr as i64).or_insert_with(|| Some(Vec::new()));
        if r.args.is_empty() {
            *entry = None; // unconditional: no rule can narrow it
            continue;
        }
        if let Some(list) = entry {
            let conds = r
                .args
                .iter()
                .map(|c| {
                    let op = match c.op {
                        CmpOp::Eq => SeccompCmpOp::Eq,
                        CmpOp::Ne => SeccompCmpOp::Ne,
                        CmpOp::Lt => SeccompCmpOp::Lt,
                        CmpOp::Le => SeccompCmpOp::Le,
                        CmpOp::Gt => SeccompCmpOp::Gt,
                        CmpOp::Ge => SeccompCmpOp::Ge,
                        CmpOp::MaskedEq(m) => SeccompCmpOp::MaskedEq(m),
                    };
                    SeccompCondition::new(c.index, SeccompCmpArgLen::Qword, op, c.value).map_err(bad)
                })
                .collect::<io::Result<Vec<_>>>()?;
            list.push(SeccompRule::new(conds).map_err(bad)?);
        }
    }
    Ok(map.into_iter().map(|(nr, rules)| (nr, rules.unwrap_or_default())).collect())
}

fn bad(e: seccompiler::BackendError) -> io::Error {
    invalid(format!("compiling the seccomp filter: {e}"))
}

pub fn compile_filter(f: &Filter) -> io::Result<BpfProgram> {
    let arch = Arch::native().map_err(invalid)?;
    let t = target(arch);
    // Groups, most severe first; errnos of one severity by number, as the model decides.
    let mut actions: Vec<Action> = f.rules.iter().map(|r| r.action).collect();
    actions.sort_by_key(|a| (std::cmp::Reverse(a.severity()), *a));
    actions.dedup();
    // The least severe groups that do what the default does anyway change nothing.
    while actions.last() == Some(&f.default) {
        actions.pop();
    }
    let mut body: BpfProgram = Vec::new();
    if actions.is_empty() {
        let other =
            if f.default == Action::Allow { SeccompAction::KillProcess } else { SeccompAction::Allow };
        let filter = SeccompFilter::new(BTreeMap::new(), action(f.default), other, t).map_err(bad)?;
        body = filter.try_into().map_err(bad)?;
    }
    for (i, a) in actions.iter().enumerate() {
        let rules: Vec<&Rule> = f.rules.iter().filter(|r| r.action == *a).collect();
        let last = i + 1 == actions.len();
        let mismatch = if last { action(f.default) } else { SeccompAction::Allow };
        let filter = SeccompFilter::new(group(&rules)?, mismatch, action(*a), t).map_err(bad)?;
        let prog: BpfProgram = filter.try_into().map_err(bad)?;
        // Allow is the least severe action, so only the last group can have it as its match.
        body = if i == 0 { prog } else { chain(body, prog)? };
    }
    let mut prog = if arch == Arch::X86_64 { x32_guard() } else { Vec::new() };
    prog.extend(body);
    if prog.len() > libc::BPF_MAXINSNS as usize {
        return Err(invalid(format!(
            "the seccomp filter needs {} BPF instructions; the kernel takes at most {}",
            prog.len(),
            libc::BPF_MAXINSNS
        )));
    }
    Ok(prog)
}

/// Installs `prog` on the calling thread, which passes it on through fork and `execve`. Meant
/// for the child between fork and `execve`: it only makes two syscalls (seccompiler's
/// `apply_filter` sets `PR_SET_NO_NEW_PRIVS` itself, which an unprivileged caller needs and
/// which also keeps setuid binaries from gaining privileges under the filter), and neither it
/// nor the error mapping allocates.
pub fn apply(prog: &BpfProgram) -> io::Result<()> {
    seccompiler::apply_filter(prog).map_err(|e| match e {
        seccompiler::Error::Prctl(e) | seccompiler::Error::Seccomp(e) => e,
        // An empty program; `compile` never makes one.
        _ => io::ErrorKind::InvalidInput.into(),
    })
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

/// `first` then `then`, where `first` is stages whose only allowing outcome means "not decided
/// here": every `ret ALLOW` in it becomes a jump to the start of `then`. BPF jumps are relative
/// and only go forward, so neither program's own jumps change; `then` repeats the arch check,
/// which costs three instructions and keeps this independent of how seccompiler lays out code.
fn chain(mut first: BpfProgram, then: BpfProgram) -> io::Result<BpfProgram> {
    let end = first.len();
    for (i, ins) in first.iter_mut().enumerate() {
        if ins.code & 0x07 == libc::BPF_RET as u16 && ins.code != RET_K {
            // A return of the accumulator would hide an action from the rewrite.
            return Err(invalid("chaining seccomp filters: seccompiler returned a computed action".into()));
        }
        if ins.code == RET_K && ins.k == libc::SECCOMP_RET_ALLOW {
            *ins = sock_filter {
                code: (libc::BPF_JMP | libc::BPF_JA) as u16,
                jt: 0,
                jf: 0,
                k: (end - i - 1) as u32,
            };
        }
    }
    first.extend(then);
    Ok(first)
}

/// x86_64 kernels built with the x32 ABI take syscall numbers with bit 30 set and report them
/// under the x86_64 audit arch, so seccompiler's arch check lets them through and a deny list
/// keyed on x86_64 numbers would miss `unshare` called as `0x40000000 | 272`. Kill them, as
/// seccompiler kills every other foreign ABI — except -1, which is no x32 call: the kernel
/// answers it with `ENOSYS` and tracers use it to skip a syscall.
fn x32_guard() -> BpfProgram {
    const X32_SYSCALL_BIT: u32 = 0x4000_0000;
    let stmt = |code: u32, k: u32| sock_filter { code: code as u16, jt: 0, jf: 0, k };
    let jump = |code: u32, k: u32, jt: u8, jf: u8| sock_filter { code: code as u16, jt, jf, k };
    vec![
        // seccomp_data.nr is at offset 0
        stmt(libc::BPF_LD | libc::BPF_W | libc::BPF_ABS, 0),
        jump(libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K, X32_SYSCALL_BIT, 0, 2),
        jump(libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K, u32::MAX, 1, 0),
        stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_KILL_PROCESS),
    ]
}

#[cfg(test)]
mod tests;
