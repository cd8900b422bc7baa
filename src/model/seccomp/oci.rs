//! `seccomp = "FILE.json"`: an OCI runtime-spec / Docker seccomp profile (`defaultAction`,
//! `defaultErrnoRet`, `architectures`, `syscalls[]` with `names`, `action`, `errnoRet`, `args`,
//! and Docker's `includes`/`excludes` by architecture and capability). Errors name the JSON
//! file with its line and column, as serde_json finds them.
//!
//! netlab filters the native ABI only (calls of any other are killed), so `architectures` and
//! Docker's `archMap` are accepted and not used. Rules naming calls of other architectures are
//! left out; names no architecture has are refused. A rule's `includes.caps` is met when every
//! capability it lists is in netlab's default set; `minKernel` is assumed met.

use super::{lookup, unknown_hint, Action, Arch, ArgCmp, CmpOp, Filter, Known, Rule, EPERM, MAX_ERRNO};
use crate::error::SpecError;
use crate::spec::Source;
use serde::de::{Error as _, IgnoredAny};
use serde::Deserialize;
use std::ops::Range;
use std::path::Path;

/// Separates a message from its hint inside a serde error, which carries one string.
const HINT: char = '\u{1f}';

/// The capabilities a container-like node's processes keep by default: Docker's 14 plus
/// NET_ADMIN.
const DEFAULT_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
    "CAP_NET_ADMIN",
];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Profile {
    #[allow(dead_code)]
    comment: Option<IgnoredAny>,
    default_action: RawAction,
    default_errno_ret: Option<Errno>,
    architectures: Option<Vec<ArchName>>,
    #[allow(dead_code)]
    arch_map: Option<IgnoredAny>,
    flags: Option<Vec<Unsupported<FlagsField>>>,
    listener_path: Option<Unsupported<ListenerField>>,
    #[allow(dead_code)]
    listener_metadata: Option<IgnoredAny>,
    syscalls: Option<Vec<Syscall>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Syscall {
    names: Option<Vec<Name>>,
    /// The profile format before `names`.
    name: Option<Name>,
    action: RawAction,
    errno_ret: Option<Errno>,
    args: Option<Vec<Arg>>,
    #[allow(dead_code)]
    comment: Option<IgnoredAny>,
    includes: Option<Cond>,
    excludes: Option<Cond>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Cond {
    caps: Option<Vec<String>>,
    arches: Option<Vec<String>>,
    #[allow(dead_code)]
    min_kernel: Option<IgnoredAny>,
}

/// A syscall name: native (with its number), or another architecture's (`None`).
struct Name(String, Option<u32>);

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        let arch = Arch::native().map_err(D::Error::custom)?;
        match lookup(arch, &name) {
            Known::Native(nr) => Ok(Name(name, Some(nr))),
            Known::Foreign => Ok(Name(name, None)),
            Known::Unknown => {
                Err(D::Error::custom(format!("unknown syscall \"{name}\"{HINT}{}", unknown_hint(&name))))
            }
        }
    }
}

struct ArchName;

impl<'de> Deserialize<'de> for ArchName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.starts_with("SCMP_ARCH_") {
            Ok(ArchName)
        } else {
            Err(D::Error::custom(format!(
                "unknown architecture \"{s}\"{HINT}write libseccomp's names, such as \"SCMP_ARCH_X86_64\""
            )))
        }
    }
}

struct Errno(u16);

impl<'de> Deserialize<'de> for Errno {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = i64::deserialize(d)?;
        match u16::try_from(n) {
            Ok(n) if n <= MAX_ERRNO => Ok(Errno(n)),
            _ => Err(D::Error::custom(format!(
                "errno {n} is out of range{HINT}write an errno from 0 to {MAX_ERRNO}, such as 1 (EPERM)"
            ))),
        }
    }
}

/// An action without its errno, which comes from `errnoRet`/`defaultErrnoRet`.
#[derive(Clone, Copy)]
enum RawAction {
    Allow,
    Errno,
    KillThread,
    KillProcess,
    Log,
    Trap,
}

const ACTIONS: &[&str] = &[
    "SCMP_ACT_ALLOW",
    "SCMP_ACT_ERRNO",
    "SCMP_ACT_KILL",
    "SCMP_ACT_KILL_THREAD",
    "SCMP_ACT_KILL_PROCESS",
    "SCMP_ACT_LOG",
    "SCMP_ACT_TRAP",
];

impl<'de> Deserialize<'de> for RawAction {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.as_str() {
            "SCMP_ACT_ALLOW" => RawAction::Allow,
            "SCMP_ACT_ERRNO" => RawAction::Errno,
            "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => RawAction::KillThread,
            "SCMP_ACT_KILL_PROCESS" => RawAction::KillProcess,
            "SCMP_ACT_LOG" => RawAction::Log,
            "SCMP_ACT_TRAP" => RawAction::Trap,
            "SCMP_ACT_NOTIFY" | "SCMP_ACT_TRACE" => {
                return Err(D::Error::custom(format!(
                    "{s} is not supported: netlab runs no seccomp agent or tracer to answer it{HINT}use SCMP_ACT_ERRNO, SCMP_ACT_LOG or SCMP_ACT_TRAP"
                )))
            }
            other => {
                let close = ACTIONS.iter().map(|a| (super::edit_distance(other, a), *a)).min();
                let hint = match close {
                    Some((d, a)) if d <= 3 => format!("did you mean {a}?"),
                    _ => format!("write one of {}", ACTIONS.join(", ")),
                };
                return Err(D::Error::custom(format!("unknown seccomp action \"{other}\"{HINT}{hint}")));
            }
        })
    }
}

/// A field netlab refuses, with the reason.
struct Unsupported<F>(std::marker::PhantomData<F>);

trait Why {
    const WHY: &'static str;
}
struct FlagsField;
impl Why for FlagsField {
    const WHY: &'static str =
        "seccomp filter flags are not supported\u{1f}remove \"flags\"; netlab installs the filter without flags";
}
struct ListenerField;
impl Why for ListenerField {
    const WHY: &'static str =
        "listenerPath is not supported: netlab runs no seccomp agent\u{1f}remove \"listenerPath\" and use SCMP_ACT_ERRNO instead of SCMP_ACT_NOTIFY";
}

impl<'de, F: Why> Deserialize<'de> for Unsupported<F> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(d)?;
        Err(D::Error::custom(F::WHY))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct RawArg {
    index: u8,
    value: u64,
    #[serde(default)]
    value_two: u64,
    op: Op,
}

#[derive(Deserialize, Clone, Copy)]
enum Op {
    #[serde(rename = "SCMP_CMP_EQ")]
    Eq,
    #[serde(rename = "SCMP_CMP_NE")]
    Ne,
    #[serde(rename = "SCMP_CMP_LT")]
    Lt,
    #[serde(rename = "SCMP_CMP_LE")]
    Le,
    #[serde(rename = "SCMP_CMP_GT")]
    Gt,
    #[serde(rename = "SCMP_CMP_GE")]
    Ge,
    #[serde(rename = "SCMP_CMP_MASKED_EQ")]
    MaskedEq,
}

struct Arg(ArgCmp);

impl<'de> Deserialize<'de> for Arg {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let a = RawArg::deserialize(d)?;
        if a.index > 5 {
            return Err(D::Error::custom(format!(
                "argument index {} is out of range{HINT}a syscall has arguments 0 to 5",
                a.index
            )));
        }
        let (op, value) = match a.op {
            Op::Eq => (CmpOp::Eq, a.value),
            Op::Ne => (CmpOp::Ne, a.value),
            Op::Lt => (CmpOp::Lt, a.value),
            Op::Le => (CmpOp::Le, a.value),
            Op::Gt => (CmpOp::Gt, a.value),
            Op::Ge => (CmpOp::Ge, a.value),
            // libseccomp's meaning: arg & value == valueTwo.
            Op::MaskedEq if a.value_two & !a.value != 0 => {
                return Err(D::Error::custom(format!(
                    "valueTwo {:#x} has bits outside the mask {:#x}, so the rule can never match{HINT}clear those bits in valueTwo",
                    a.value_two, a.value
                )))
            }
            Op::MaskedEq => (CmpOp::MaskedEq(a.value), a.value_two),
        };
        Ok(Arg(ArgCmp { index: a.index, op, value }))
    }
}

fn action(a: RawAction, errno: Option<&Errno>) -> Action {
    match a {
        RawAction::Allow => Action::Allow,
        RawAction::Errno => Action::Errno(errno.map(|e| e.0).unwrap_or(EPERM)),
        RawAction::KillThread => Action::KillThread,
        RawAction::KillProcess => Action::KillProcess,
        RawAction::Log => Action::Log,
        RawAction::Trap => Action::Trap,
    }
}

/// Docker's names for the architectures in `includes`/`excludes`.
fn go_arch(arch: Arch) -> &'static str {
    match arch {
        Arch::X86_64 => "amd64",
        Arch::Aarch64 => "arm64",
        Arch::Riscv64 => "riscv64",
    }
}

/// Whether a rule with these conditions applies to a node with netlab's default capabilities
/// on `arch`.
fn applies(includes: &Cond, excludes: &Cond, arch: Arch) -> bool {
    let here = go_arch(arch);
    let has = |c: &String| DEFAULT_CAPS.contains(&c.as_str());
    let inc_arch = includes.arches.as_ref().is_none_or(|a| a.is_empty() || a.iter().any(|x| x == here));
    let inc_caps = includes.caps.as_ref().is_none_or(|c| c.iter().all(has));
    let exc_arch = excludes.arches.as_ref().is_some_and(|a| a.iter().any(|x| x == here));
    let exc_caps = excludes.caps.as_ref().is_some_and(|c| c.iter().any(has));
    inc_arch && inc_caps && !exc_arch && !exc_caps
}

/// Parses profile text; `Err((line, col, message, hint))`.
pub fn parse(text: &str) -> Result<Filter, (usize, usize, String, String)> {
    let p: Profile = serde_json::from_str(text).map_err(|e| {
        let full = e.to_string();
        // serde_json appends " at line L column C", which the location says already.
        let msg = match full.rfind(" at line ") {
            Some(i) => &full[..i],
            None => &full[..],
        };
        let (msg, hint) = match msg.split_once(HINT) {
            Some((m, h)) => (m.to_string(), h.to_string()),
            None => (
                msg.replace('`', "\""),
                "see the OCI runtime spec's seccomp section for the format".to_string(),
            ),
        };
        (e.line(), e.column(), msg, hint)
    })?;
    let _ = (p.architectures, p.flags, p.listener_path);
    let arch = Arch::native().map_err(|e| (1, 1, e, "use seccomp = \"unconfined\"".into()))?;
    let default = action(p.default_action, p.default_errno_ret.as_ref());
    let mut rules = Vec::new();
    for s in p.syscalls.unwrap_or_default() {
        if !applies(&s.includes.unwrap_or_default(), &s.excludes.unwrap_or_default(), arch) {
            continue;
        }
        let act = action(s.action, s.errno_ret.as_ref());
        let args: Vec<ArgCmp> = s.args.unwrap_or_default().into_iter().map(|a| a.0).collect();
        for Name(name, nr) in s.names.unwrap_or_default().into_iter().chain(s.name) {
            if let Some(nr) = nr {
                rules.push(Rule { name, nr, action: act, args: args.clone() });
            }
        }
    }
    Ok(Filter { default, rules })
}

/// Reads and parses the profile at `path`; `span`: the `seccomp = "FILE.json"` value that
/// names it, for errors that are not inside the file.
pub fn load(src: &Source, span: Range<usize>, path: &Path) -> Result<Filter, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        src.error(
            span.clone(),
            format!("cannot read seccomp profile {}: {e}", path.display()),
            "point seccomp at an OCI/Docker JSON profile, relative to the topology file",
        )
    })?;
    let (line, col) = src.line_col(span.start);
    parse(&text).map_err(|(l, c, message, hint)| {
        let hint = format!("{hint} (the profile is named at {}:{line}:{col})", src.path.display());
        SpecError::At(vec![crate::spec::load::diagnostic_at(path, &text, l, c, message, hint)])
    })
}

#[cfg(test)]
mod tests;
