use super::*;
use crate::model::seccomp::{syscall_nr, ENOSYS};

fn nr(name: &str) -> u32 {
    syscall_nr(name).unwrap()
}

fn err(text: &str) -> (usize, usize, String, String) {
    match parse(text) {
        Ok(_) => panic!("parsed: {text}"),
        Err(e) => e,
    }
}

#[test]
fn the_example_profile_parses_and_means_what_it_says() {
    let text =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/seccomp-web.json")).unwrap();
    let f = parse(&text).unwrap();
    assert_eq!(f.default, Action::Errno(EPERM));
    assert_eq!(f.decide(nr("read"), &[0; 6]), Action::Allow);
    assert_eq!(f.decide(nr("socket"), &[2, 1, 0, 0, 0, 0]), Action::Allow);
    assert_eq!(f.decide(nr("socket"), &[10, 1, 0, 0, 0, 0]), Action::Allow);
    assert_eq!(f.decide(nr("socket"), &[1, 1, 0, 0, 0, 0]), Action::Errno(EPERM), "AF_UNIX");
    assert_eq!(f.decide(nr("clone"), &[0x3d0f00, 0, 0, 0, 0, 0]), Action::Allow);
    assert_eq!(f.decide(nr("clone"), &[0x1000_0000, 0, 0, 0, 0, 0]), Action::Errno(EPERM));
    assert_eq!(f.decide(nr("clone3"), &[0; 6]), Action::Errno(ENOSYS));
    assert_eq!(f.decide(nr("mount"), &[0; 6]), Action::KillProcess);
    assert_eq!(f.decide(syscall_nr("mkdir").unwrap_or_else(|| nr("mkdirat")), &[0; 6]), Action::Errno(EPERM));
    f.check_can_start().unwrap();
}

#[test]
fn every_action_and_errno_source() {
    let f = parse(
        r#"{ "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 13, "syscalls": [
            { "names": ["execve", "read"], "action": "SCMP_ACT_ALLOW" },
            { "names": ["write"], "action": "SCMP_ACT_LOG" },
            { "names": ["getpid"], "action": "SCMP_ACT_TRAP" },
            { "names": ["getppid"], "action": "SCMP_ACT_KILL" },
            { "names": ["gettid"], "action": "SCMP_ACT_KILL_PROCESS" },
            { "names": ["uname"], "action": "SCMP_ACT_ERRNO" },
            { "name": "getuid", "action": "SCMP_ACT_ERRNO", "errnoRet": 38 },
            { "names": ["chown32", "arm_fadvise64_64"], "action": "SCMP_ACT_ALLOW" }
        ] }"#,
    )
    .unwrap();
    let d = |n: &str| f.decide(nr(n), &[0; 6]);
    assert_eq!(d("read"), Action::Allow);
    assert_eq!(d("write"), Action::Log);
    assert_eq!(d("getpid"), Action::Trap);
    assert_eq!(d("getppid"), Action::KillThread);
    assert_eq!(d("gettid"), Action::KillProcess);
    assert_eq!(d("uname"), Action::Errno(EPERM), "a rule's errno is EPERM unless errnoRet says");
    assert_eq!(d("getuid"), Action::Errno(38));
    assert_eq!(d("openat"), Action::Errno(13), "the default takes defaultErrnoRet");
    // Other architectures' names are known, and left out.
    assert_eq!(f.rules.iter().filter(|r| r.name == "chown32").count(), 0);
}

#[test]
fn args_ops_and_docker_conditions() {
    let f = parse(
        r#"{ "defaultAction": "SCMP_ACT_ALLOW", "archMap": [{ "architecture": "SCMP_ARCH_X86_64", "subArchitectures": null }],
            "syscalls": [
            { "names": ["socket"], "action": "SCMP_ACT_ERRNO", "args": [{ "index": 0, "value": 40, "op": "SCMP_CMP_EQ" }] },
            { "names": ["personality"], "action": "SCMP_ACT_ERRNO", "args": [{ "index": 0, "value": 8, "op": "SCMP_CMP_GT" }, { "index": 0, "value": 100, "op": "SCMP_CMP_LE" }] },
            { "names": ["mount"], "action": "SCMP_ACT_ERRNO", "includes": { "caps": ["CAP_SYS_ADMIN"] } },
            { "names": ["umount2"], "action": "SCMP_ACT_ERRNO", "excludes": { "caps": ["CAP_SYS_ADMIN"] }, "comment": "x" },
            { "names": ["unshare"], "action": "SCMP_ACT_ERRNO", "includes": { "arches": ["s390x"] } },
            { "names": ["setns"], "action": "SCMP_ACT_ERRNO", "includes": { "minKernel": "4.8" }, "args": null }
        ] }"#,
    )
    .unwrap();
    let d = |n: &str, a0: u64| f.decide(nr(n), &[a0, 0, 0, 0, 0, 0]);
    assert_eq!(d("socket", 40), Action::Errno(EPERM));
    assert_eq!(d("socket", 2), Action::Allow);
    assert_eq!(d("personality", 8), Action::Allow);
    assert_eq!(d("personality", 9), Action::Errno(EPERM));
    assert_eq!(d("personality", 101), Action::Allow);
    assert_eq!(d("mount", 0), Action::Allow, "CAP_SYS_ADMIN is not a default capability");
    assert_eq!(d("umount2", 0), Action::Errno(EPERM));
    assert_eq!(d("unshare", 0), Action::Allow, "an s390x-only rule");
    assert_eq!(d("setns", 0), Action::Errno(EPERM));
}

#[test]
fn errors_say_where_and_what() {
    let (line, col, msg, hint) =
        err("{\n  \"defaultAction\": \"SCMP_ACT_ERRNO\",\n  \"syscalls\": [{ \"names\": [\"unshar\"], \"action\": \"SCMP_ACT_ALLOW\" }]\n}");
    assert_eq!((line, msg.as_str()), (3, "unknown syscall \"unshar\""), "col {col}");
    assert!(hint.contains("did you mean \"unshare\""), "{hint}");

    let (line, _, msg, hint) = err("{\n\"defaultAction\": \"SCMP_ACT_NOTIFY\",\n\"syscalls\": []\n}");
    assert_eq!(line, 2);
    assert!(msg.starts_with("SCMP_ACT_NOTIFY is not supported"), "{msg}");
    assert!(hint.contains("SCMP_ACT_ERRNO"), "{hint}");
    let (_, _, msg, _) = err(r#"{"defaultAction": "SCMP_ACT_TRACE"}"#);
    assert!(msg.starts_with("SCMP_ACT_TRACE is not supported"), "{msg}");
    let (_, _, msg, hint) = err(r#"{"defaultAction": "SCMP_ACT_ALOW"}"#);
    assert_eq!(msg, "unknown seccomp action \"SCMP_ACT_ALOW\"");
    assert_eq!(hint, "did you mean SCMP_ACT_ALLOW?");
    let (_, _, msg, _) = err(r#"{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/run/agent.sock"}"#);
    assert!(msg.starts_with("listenerPath is not supported"), "{msg}");
    let (_, _, msg, _) = err(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 6, "value": 1, "op": "SCMP_CMP_EQ"}]}]}"#,
    );
    assert_eq!(msg, "argument index 6 is out of range");
    let (_, _, msg, _) = err(
        r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_SAME"}]}]}"#,
    );
    assert!(msg.starts_with("unknown variant \"SCMP_CMP_SAME\""), "{msg}");
    let (_, _, msg, _) = err(r#"{"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 5000}"#);
    assert_eq!(msg, "errno 5000 is out of range");
    let (_, _, msg, _) = err(r#"{"defaultAction": "SCMP_ACT_ALLOW", "bogus": 1}"#);
    assert!(msg.starts_with("unknown field \"bogus\""), "{msg}");
    let (line, col, msg, _) = err("{\"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [}");
    assert_eq!((line, col), (2, 16), "{msg}");
}
