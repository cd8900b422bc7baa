use super::*;
use crate::model::seccomp::{default_profile, syscall_nr, ArgCmp, DefaultContext, EPERM};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Output};

fn nr(name: &str) -> u32 {
    syscall_nr(name).unwrap_or_else(|| panic!("{name} is no syscall here"))
}

fn rule(name: &str, action: Action) -> Rule {
    Rule { name: name.into(), nr: nr(name), action, args: Vec::new() }
}

fn filter(default: Action, rules: Vec<Rule>) -> Seccomp {
    Seccomp::Filter(Filter { default, rules })
}

fn audit_arch() -> u32 {
    match std::env::consts::ARCH {
        "x86_64" => 62 | 0xC000_0000,
        "aarch64" => 183 | 0xC000_0000,
        "riscv64" => 243 | 0xC000_0000,
        other => panic!("no audit arch for {other}"),
    }
}

/// What the kernel would do with syscall `nr` called with `args` under `prog`: a small
/// classic-BPF interpreter for the instructions these programs use.
fn run(prog: &[sock_filter], nr: u32, arch: u32, args: [u64; 6]) -> u32 {
    let (mut pc, mut acc) = (0usize, 0u32);
    let word = |off: u32| -> u32 {
        match off {
            0 => nr,
            4 => arch,
            o if (16..64).contains(&o) => {
                let a = args[((o - 16) / 8) as usize];
                // seccomp_data is native-endian; every target netlab knows is little-endian.
                if (o - 16) % 8 == 0 {
                    a as u32
                } else {
                    (a >> 32) as u32
                }
            }
            o => panic!("load of seccomp_data offset {o}"),
        }
    };
    loop {
        let i = &prog[pc];
        pc += 1;
        let code = i.code as u32;
        let jump = |cond: bool| (if cond { i.jt } else { i.jf }) as usize;
        match code {
            c if c == libc::BPF_LD | libc::BPF_W | libc::BPF_ABS => acc = word(i.k),
            c if c == libc::BPF_ALU | libc::BPF_AND | libc::BPF_K => acc &= i.k,
            c if c == libc::BPF_RET | libc::BPF_K => return i.k,
            c if c == libc::BPF_JMP | libc::BPF_JA => pc += i.k as usize,
            c if c == libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K => pc += jump(acc == i.k),
            c if c == libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K => pc += jump(acc >= i.k),
            c if c == libc::BPF_JMP | libc::BPF_JGT | libc::BPF_K => pc += jump(acc > i.k),
            c if c == libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K => pc += jump(acc & i.k != 0),
            c => panic!("unexpected BPF opcode {c:#x}"),
        }
    }
}

fn ret(a: Action) -> u32 {
    u32::from(action(a))
}

const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
const KILL: u32 = libc::SECCOMP_RET_KILL_PROCESS;

#[test]
fn unconfined_compiles_to_nothing() {
    assert!(compile(&Seccomp::Unconfined).unwrap().is_none());
}

/// The compiled default profile does, call for call, what the model says: every number up to
/// well past the newest syscall, with the arguments the argument rules look at.
#[test]
fn the_compiled_default_profile_agrees_with_the_model() {
    for uts in [false, true] {
        let Seccomp::Filter(f) = default_profile(DefaultContext { uts }) else { unreachable!() };
        let prog = compile_filter(&f).unwrap();
        let a = audit_arch();
        let argsets: [[u64; 6]; 7] = [
            [0; 6],
            [0x3d0f00, 0, 0, 0, 0, 0],
            [0x1000_0011, 0, 0, 0, 0, 0],
            [40, 1, 0, 0, 0, 0],
            [0xffff_ffff, 0, 0, 0, 0, 0],
            [0x1_0000_0000, 0, 0, 0, 0, 0],
            [0x20008, 0, 0, 0, 0, 0],
        ];
        for n in 0..600 {
            for args in argsets {
                assert_eq!(run(&prog, n, a, args), ret(f.decide(n, &args)), "syscall {n} args {args:x?}");
            }
        }
        // Another ABI (i386 through int 0x80, say) is killed whatever the number.
        assert_eq!(run(&prog, nr("read"), 3 | 0x4000_0000, [0; 6]), KILL);
        assert!(prog.len() < 2048, "{} instructions", prog.len());
    }
}

#[test]
fn x32_calls_are_killed() {
    if std::env::consts::ARCH != "x86_64" {
        return;
    }
    let Some(prog) = compile(&default_profile(DefaultContext::default())).unwrap() else { unreachable!() };
    let a = audit_arch();
    assert_eq!(run(&prog, 0x4000_0000 | nr("unshare"), a, [0; 6]), KILL);
    assert_eq!(run(&prog, 0x4000_0000 | nr("read"), a, [0; 6]), KILL);
    // -1 is no x32 call: the kernel answers it with ENOSYS, and tracers use it to skip a call.
    assert_eq!(run(&prog, u32::MAX, a, [0; 6]), ret(Action::Errno(EPERM)));
}

#[test]
fn each_action_of_a_table_compiles_to_its_return() {
    let f = Filter {
        default: Action::KillProcess,
        rules: vec![
            rule("read", Action::Allow),
            rule("write", Action::Log),
            rule("getpid", Action::Trap),
            rule("getppid", Action::Errno(38)),
            rule("gettid", Action::Errno(13)),
            rule("getuid", Action::KillThread),
            Rule {
                name: "read".into(),
                nr: nr("read"),
                action: Action::Errno(9),
                args: vec![ArgCmp { index: 0, op: crate::model::seccomp::CmpOp::Ge, value: 1 << 40 }],
            },
        ],
    };
    let prog = compile_filter(&f).unwrap();
    let a = audit_arch();
    for (name, args) in [("read", [0u64; 6]), ("read", [1 << 41, 0, 0, 0, 0, 0]), ("write", [0; 6])] {
        assert_eq!(run(&prog, nr(name), a, args), ret(f.decide(nr(name), &args)), "{name}");
    }
    assert_eq!(run(&prog, nr("read"), a, [0; 6]), ALLOW);
    assert_eq!(run(&prog, nr("read"), a, [1 << 41, 0, 0, 0, 0, 0]), libc::SECCOMP_RET_ERRNO | 9);
    assert_eq!(run(&prog, nr("write"), a, [0; 6]), libc::SECCOMP_RET_LOG);
    assert_eq!(run(&prog, nr("getpid"), a, [0; 6]), libc::SECCOMP_RET_TRAP);
    assert_eq!(run(&prog, nr("getppid"), a, [0; 6]), libc::SECCOMP_RET_ERRNO | 38);
    assert_eq!(run(&prog, nr("gettid"), a, [0; 6]), libc::SECCOMP_RET_ERRNO | 13);
    assert_eq!(run(&prog, nr("getuid"), a, [0; 6]), libc::SECCOMP_RET_KILL_THREAD);
    assert_eq!(run(&prog, nr("openat"), a, [0; 6]), KILL);
}

#[test]
fn a_default_alone_compiles() {
    for d in [Action::Allow, Action::KillProcess, Action::Errno(1), Action::Log] {
        let prog = compile_filter(&Filter { default: d, rules: Vec::new() }).unwrap();
        assert_eq!(run(&prog, nr("read"), audit_arch(), [0; 6]), ret(d));
    }
    // Rules that do what the default does are no group of their own.
    let prog =
        compile_filter(&Filter { default: Action::Allow, rules: vec![rule("read", Action::Allow)] }).unwrap();
    assert_eq!(run(&prog, nr("read"), audit_arch(), [0; 6]), ALLOW);
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
    let prog = compile(&default_profile(DefaultContext::default())).unwrap();
    let out = run_confined(Command::new("unshare").args(["--user", "true"]), prog);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "unshare --user succeeded under the default profile");
    assert!(stderr.contains("Operation not permitted"), "stderr: {stderr}");
}

#[test]
fn default_profile_runs_a_shell() {
    let prog = compile(&default_profile(DefaultContext::default())).unwrap();
    let out =
        run_confined(Command::new("sh").args(["-c", "echo ok | cat; ls / >/dev/null && echo done"]), prog);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok\ndone\n");
}

#[test]
fn unconfined_lets_unshare_through() {
    let prog = compile(&Seccomp::Unconfined).unwrap();
    assert!(prog.is_none());
    let out = run_confined(Command::new("unshare").args(["--user", "true"]), prog);
    assert!(out.status.success(), "unshare --user failed: {}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn deny_rule_fails_mkdir_with_its_errno() {
    let dir = std::env::temp_dir().join(format!("netlab-seccomp-test-{}", std::process::id()));
    // aarch64 has no mkdir(2), only mkdirat.
    let rules = ["mkdir", "mkdirat"]
        .into_iter()
        .filter(|n| syscall_nr(n).is_some())
        .map(|n| rule(n, Action::Errno(122)))
        .collect();
    let prog = compile(&filter(Action::Allow, rules)).unwrap();
    let out = run_confined(Command::new("mkdir").arg(&dir), prog);
    let existed = dir.exists();
    let _ = std::fs::remove_dir(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "mkdir succeeded under a filter denying it");
    assert!(stderr.contains("Disk quota exceeded"), "EDQUOT is 122; stderr: {stderr}");
    assert!(!existed, "{} was created", dir.display());
}

#[test]
fn kill_default_kills_with_sigsys() {
    let prog = compile(&filter(Action::KillProcess, Vec::new())).unwrap();
    let out = run_confined(Command::new("sh").args(["-c", "true"]), prog);
    assert_eq!(out.status.signal(), Some(libc::SIGSYS), "status: {:?}", out.status);
}
