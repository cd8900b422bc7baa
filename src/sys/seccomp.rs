//! Seccomp filters: compiled to classic BPF by seccompiler in the parent (before fork, where
//! allocating is fine), installed in the workload's process just before `execve`.
//!
//! seccompiler's filters have one action for listed syscalls and one for the rest, while the
//! model has three (deny → `EPERM`, allow → allow, the rest → default). In every case but
//! `Kill` with a deny list, two of those are the same action; that case is two seccompiler
//! filters chained, see `chain`.

use std::io;

use nix::libc;
use seccompiler::{sock_filter, BpfProgram, SeccompAction, TargetArch};

use crate::model::seccomp::{native_arch, DefaultAction, Seccomp};

/// The BPF program for `s`, or `None` when it is unconfined. Checks the names first, so a bad
/// list fails with the model's sentence rather than seccompiler's.
pub fn compile(s: &Seccomp) -> io::Result<Option<BpfProgram>> {
    let Seccomp::Filter { default, allow, deny } = s else {
        return Ok(None);
    };
    s.check().map_err(invalid)?;
    let arch = native_arch().map_err(invalid)?;
    let eperm = SeccompAction::Errno(libc::EPERM as u32);
    // With default Allow the allow list changes nothing, with Errno the deny list changes
    // nothing; only Kill needs both.
    let body = match default {
        DefaultAction::Allow => stage(deny, eperm, SeccompAction::Allow, arch)?,
        DefaultAction::Errno => stage(allow, SeccompAction::Allow, eperm, arch)?,
        DefaultAction::Kill if deny.is_empty() => {
            stage(allow, SeccompAction::Allow, SeccompAction::KillProcess, arch)?
        }
        DefaultAction::Kill => chain(
            stage(deny, eperm, SeccompAction::Allow, arch)?,
            stage(allow, SeccompAction::Allow, SeccompAction::KillProcess, arch)?,
        )?,
    };
    let mut prog = if arch == TargetArch::x86_64 { x32_guard() } else { Vec::new() };
    prog.extend(body);
    if prog.len() > libc::BPF_MAXINSNS as usize {
        return Err(invalid(format!(
            "the seccomp filter needs {} BPF instructions; the kernel takes at most {}",
            prog.len(),
            libc::BPF_MAXINSNS
        )));
    }
    Ok(Some(prog))
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

/// One seccompiler filter: `names` get `on_match`, every other syscall `otherwise`. seccompiler
/// maps names to numbers only in its JSON frontend, so the filter goes through JSON.
fn stage(
    names: &[String],
    on_match: SeccompAction,
    otherwise: SeccompAction,
    arch: TargetArch,
) -> io::Result<BpfProgram> {
    let action = |a: SeccompAction| match a {
        SeccompAction::Allow => serde_json::json!("allow"),
        SeccompAction::Errno(n) => serde_json::json!({ "errno": n }),
        SeccompAction::KillProcess => serde_json::json!("kill_process"),
        other => unreachable!("netlab never asks for {other:?}"),
    };
    let rules: Vec<_> = names.iter().map(|n| serde_json::json!({ "syscall": n })).collect();
    let json = serde_json::json!({
        "netlab": { "mismatch_action": action(otherwise), "filter_action": action(on_match), "filter": rules }
    });
    let mut map = seccompiler::compile_from_json(json.to_string().as_bytes(), arch)
        .map_err(|e| invalid(format!("compiling the seccomp filter: {e}")))?;
    map.remove("netlab")
        .ok_or_else(|| invalid("compiling the seccomp filter: seccompiler returned no program".into()))
}

const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

/// `first` then `then`, where `first` is a stage whose only allowing outcome means "not decided
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
mod tests {
    use super::*;
    use crate::model::seccomp::{default_profile, is_known_syscall};
    use std::os::unix::process::{CommandExt, ExitStatusExt};
    use std::process::{Command, Output};

    fn filter(default: DefaultAction, allow: &[&str], deny: &[&str]) -> Seccomp {
        Seccomp::filter(default, allow, deny)
    }

    /// The syscall number of `name` on this arch, read off a one-rule program: the `jeq`
    /// that is neither the x32 guard's -1 nor the arch check's audit value.
    fn nr(name: &str) -> u32 {
        let prog = compile(&filter(DefaultAction::Allow, &[], &[name])).unwrap().unwrap();
        let jeqs: Vec<_> = prog.iter().filter(|i| i.code == (libc::BPF_JMP | libc::BPF_JEQ) as u16).collect();
        jeqs.iter().map(|i| i.k).find(|&k| k != u32::MAX && k < 0x1000).unwrap()
    }

    fn audit_arch() -> u32 {
        match std::env::consts::ARCH {
            "x86_64" => 62 | 0xC000_0000,
            "aarch64" => 183 | 0xC000_0000,
            "riscv64" => 243 | 0xC000_0000,
            other => panic!("no audit arch for {other}"),
        }
    }

    /// What the kernel would do with syscall `nr` under `prog`: a small classic-BPF
    /// interpreter for the instructions these programs use.
    fn run(prog: &[sock_filter], nr: u32, arch: u32) -> u32 {
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let i = &prog[pc];
            pc += 1;
            let code = i.code as u32;
            match code {
                c if c == libc::BPF_LD | libc::BPF_W | libc::BPF_ABS => {
                    acc = match i.k {
                        0 => nr,
                        4 => arch,
                        k => panic!("load of seccomp_data offset {k}"),
                    }
                }
                c if c == libc::BPF_RET | libc::BPF_K => return i.k,
                c if c == libc::BPF_JMP | libc::BPF_JA => pc += i.k as usize,
                c if c == libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K => {
                    pc += (if acc == i.k { i.jt } else { i.jf }) as usize
                }
                c if c == libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K => {
                    pc += (if acc >= i.k { i.jt } else { i.jf }) as usize
                }
                c => panic!("unexpected BPF opcode {c:#x}"),
            }
        }
    }

    const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
    const KILL: u32 = libc::SECCOMP_RET_KILL_PROCESS;
    const EPERM: u32 = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;

    #[test]
    fn unconfined_compiles_to_nothing() {
        assert!(compile(&Seccomp::Unconfined).unwrap().is_none());
    }

    #[test]
    fn default_profile_compiles_to_a_deny_list() {
        let prog = compile(&default_profile()).unwrap().unwrap();
        let a = audit_arch();
        assert_eq!(run(&prog, nr("unshare"), a), EPERM);
        assert_eq!(run(&prog, nr("mount"), a), EPERM);
        assert_eq!(run(&prog, nr("read"), a), ALLOW);
        assert_eq!(run(&prog, nr("mkdirat"), a), ALLOW);
        // Another ABI (i386 through int 0x80, say) is killed whatever the number.
        assert_eq!(run(&prog, nr("read"), 3 | 0x4000_0000), KILL);
    }

    #[test]
    fn errno_default_allows_only_the_allow_list() {
        let prog =
            compile(&filter(DefaultAction::Errno, &["read", "write", "exit_group"], &[])).unwrap().unwrap();
        let a = audit_arch();
        assert_eq!(run(&prog, nr("read"), a), ALLOW);
        assert_eq!(run(&prog, nr("exit_group"), a), ALLOW);
        assert_eq!(run(&prog, nr("openat"), a), EPERM);
        assert_eq!(run(&prog, nr("unshare"), a), EPERM);
    }

    #[test]
    fn kill_default_with_both_lists_has_three_outcomes() {
        let prog = compile(&filter(DefaultAction::Kill, &["read", "write"], &["unshare", "mount"]))
            .unwrap()
            .unwrap();
        let a = audit_arch();
        assert_eq!(run(&prog, nr("read"), a), ALLOW);
        assert_eq!(run(&prog, nr("write"), a), ALLOW);
        assert_eq!(run(&prog, nr("unshare"), a), EPERM);
        assert_eq!(run(&prog, nr("mount"), a), EPERM);
        assert_eq!(run(&prog, nr("openat"), a), KILL);
        assert_eq!(run(&prog, nr("read"), 3 | 0x4000_0000), KILL);
    }

    #[test]
    fn kill_default_alone_kills_everything() {
        let prog = compile(&filter(DefaultAction::Kill, &[], &[])).unwrap().unwrap();
        assert!(!prog.is_empty());
        for name in ["read", "execve", "exit_group"] {
            assert_eq!(run(&prog, nr(name), audit_arch()), KILL);
        }
    }

    #[test]
    fn x32_calls_cannot_slip_past_a_deny_list() {
        if std::env::consts::ARCH != "x86_64" {
            return;
        }
        let prog = compile(&default_profile()).unwrap().unwrap();
        let a = audit_arch();
        assert_eq!(run(&prog, 0x4000_0000 | nr("unshare"), a), KILL);
        assert_eq!(run(&prog, u32::MAX, a), ALLOW, "-1 is left to the kernel's ENOSYS");
    }

    #[test]
    fn compile_rejects_bad_lists_with_the_model_sentence() {
        let err = compile(&filter(DefaultAction::Allow, &[], &["frobnicate"])).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert_eq!(
            err.to_string(),
            "unknown syscall \"frobnicate\"; write a Linux syscall name such as \"unshare\""
        );
    }

    /// Runs `cmd` with `prog` (compiled beforehand, in the parent) applied in the child.
    fn run_confined(cmd: &mut Command, prog: Option<BpfProgram>) -> Output {
        if let Some(prog) = prog {
            // SAFETY: the closure runs in the forked child of a multithreaded test process, where
            // only async-signal-safe work is sound. It makes three syscalls (setrlimit, prctl,
            // seccomp) and allocates nothing: the program was compiled before the fork and moved
            // in, and `apply` builds its errors without allocating.
            unsafe {
                cmd.pre_exec(move || {
                    // A process killed by seccomp dumps core; keep test runs free of core files.
                    nix::sys::resource::setrlimit(nix::sys::resource::Resource::RLIMIT_CORE, 0, 0)?;
                    apply(&prog)
                });
            }
        }
        cmd.output().unwrap()
    }

    #[test]
    fn default_profile_stops_unshare_in_a_real_process() {
        let prog = compile(&default_profile()).unwrap();
        let out = run_confined(Command::new("unshare").args(["--user", "true"]), prog);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "unshare --user succeeded under the default profile");
        assert!(stderr.contains("Operation not permitted"), "stderr: {stderr}");
    }

    #[test]
    fn unconfined_lets_unshare_through() {
        let prog = compile(&Seccomp::Unconfined).unwrap();
        assert!(prog.is_none());
        let out = run_confined(Command::new("unshare").args(["--user", "true"]), prog);
        assert!(out.status.success(), "unshare --user failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    #[test]
    fn deny_list_fails_mkdir_with_eperm() {
        let dir = std::env::temp_dir().join(format!("netlab-seccomp-test-{}", std::process::id()));
        // aarch64 has no mkdir(2), only mkdirat.
        let deny: Vec<&str> = ["mkdir", "mkdirat"].into_iter().filter(|n| is_known_syscall(n)).collect();
        let prog = compile(&filter(DefaultAction::Allow, &[], &deny)).unwrap();
        let out = run_confined(Command::new("mkdir").arg(&dir), prog);
        let existed = dir.exists();
        let _ = std::fs::remove_dir(&dir);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "mkdir succeeded under a filter denying it");
        assert!(stderr.contains("Operation not permitted"), "stderr: {stderr}");
        assert!(!existed, "{} was created", dir.display());
    }

    #[test]
    fn kill_default_kills_with_sigsys() {
        let prog = compile(&filter(DefaultAction::Kill, &[], &[])).unwrap();
        let out = run_confined(Command::new("sh").args(["-c", "true"]), prog);
        assert_eq!(out.status.signal(), Some(libc::SIGSYS), "status: {:?}", out.status);
    }
}
