//! `seccomp = ...` in a topology file → [`Seccomp`]: a profile name, a JSON profile next to
//! the file, or a table with an action per rule. Every problem is reported at the value that
//! has it.

use super::{lookup, oci, unknown_hint, Action, Arch, DefaultContext, Filter, Known, Rule, Seccomp};
use super::{EPERM, MAX_ERRNO};
use crate::error::SpecError;
use crate::spec::raw::{RawSeccomp, RawSeccompRule, RawSeccompTable, S};
use crate::spec::Source;
use std::collections::HashMap;
use std::path::Path;

type R<T> = Result<T, SpecError>;

const TABLE_HINT: &str =
    "write { default = \"errno\", allow = [\"read\", ...], deny = [\"unshare\", { name = \"mount\", action = \"kill\" }] }";

/// Resolves a `seccomp` value. `dir`: the topology file's directory, for JSON profiles.
pub fn resolve(src: &Source, raw: &S<RawSeccomp>, dir: &Path, ctx: DefaultContext) -> R<Seccomp> {
    let filter = match raw.get_ref() {
        RawSeccomp::Name(s) if s == "default" => return Ok(super::default_profile(ctx)),
        RawSeccomp::Name(s) if s == "unconfined" => return Ok(Seccomp::Unconfined),
        RawSeccomp::Name(s) if s.ends_with(".json") => oci::load(src, raw.span(), &dir.join(s))?,
        RawSeccomp::Name(s) => {
            return Err(src.error(
                raw.span(),
                format!("unknown seccomp profile \"{s}\""),
                "write seccomp = \"default\", \"unconfined\", \"FILE.json\" or { default = \"errno\", allow = [...] }",
            ))
        }
        RawSeccomp::Table(t) => table(src, t)?,
    };
    filter.check_can_start().map_err(|e| {
        let hint = match raw.get_ref() {
            RawSeccomp::Name(s) => format!(
                "let execve through: name it in a rule with \"action\": \"SCMP_ACT_ALLOW\" in {}",
                dir.join(s).display()
            ),
            RawSeccomp::Table(_) => {
                "let execve through: add \"execve\" to allow, and not to deny".to_string()
            }
        };
        src.error(raw.span(), e, hint)
    })?;
    Ok(Seccomp::Filter(filter))
}

fn table(src: &Source, t: &RawSeccompTable) -> R<Filter> {
    let default = match t.default.get_ref().as_str() {
        "allow" => Action::Allow,
        "errno" => Action::Errno(EPERM),
        "kill" => Action::KillProcess,
        "log" => Action::Log,
        "trap" => Action::Trap,
        other => {
            return Err(src.error(
                t.default.span(),
                format!("unknown seccomp default \"{other}\""),
                hint_for(other, &["allow", "errno", "kill", "log", "trap"]),
            ))
        }
    };
    let arch = Arch::native().map_err(|e| src.error(t.default.span(), e, "use seccomp = \"unconfined\""))?;
    let mut rules = Vec::new();
    let mut seen: HashMap<String, &str> = HashMap::new();
    for (list, entries) in [("allow", &t.allow), ("deny", &t.deny)] {
        for entry in entries {
            let (name, name_span, action) = entry_action(src, list, entry)?;
            let nr = match lookup(arch, &name) {
                Known::Native(nr) => Some(nr),
                Known::Foreign => None,
                Known::Unknown => {
                    return Err(src.error(
                        name_span,
                        format!("unknown syscall \"{name}\""),
                        unknown_hint(&name),
                    ))
                }
            };
            if let Some(first) = seen.insert(name.clone(), list) {
                let msg = if first == list {
                    format!("syscall \"{name}\" is listed twice in {list}")
                } else {
                    format!("syscall \"{name}\" is listed in both allow and deny")
                };
                return Err(src.error(name_span, msg, "keep one entry per syscall"));
            }
            if let Some(nr) = nr {
                rules.push(Rule { name, nr, action, args: Vec::new() });
            }
        }
    }
    Ok(Filter { default, rules })
}

/// An entry's name, the span of its name, and its action.
fn entry_action(
    src: &Source,
    list: &str,
    entry: &S<RawSeccompRule>,
) -> R<(String, std::ops::Range<usize>, Action)> {
    let t = match entry.get_ref() {
        RawSeccompRule::Name(n) => {
            let action = if list == "allow" { Action::Allow } else { Action::Errno(EPERM) };
            return Ok((n.clone(), entry.span(), action));
        }
        RawSeccompRule::Table(t) => t,
    };
    let choices: &[&str] =
        if list == "allow" { &["allow", "log"] } else { &["errno", "kill", "trap", "log"] };
    let word = t.action.as_ref().map(|a| a.get_ref().as_str()).unwrap_or(if list == "allow" {
        "allow"
    } else {
        "errno"
    });
    let action_span = t.action.as_ref().map(|a| a.span()).unwrap_or(entry.span());
    let action = match word {
        w if !choices.contains(&w) => {
            let known = ["allow", "log", "errno", "kill", "trap"].contains(&w);
            let msg = if known {
                format!("action \"{w}\" does not belong in {list}")
            } else {
                format!("unknown seccomp action \"{w}\"")
            };
            return Err(src.error(action_span, msg, hint_for(w, choices)));
        }
        "errno" => {
            let n = match &t.errno {
                None => EPERM,
                Some(e) => match u16::try_from(*e.get_ref()) {
                    Ok(n) if n <= MAX_ERRNO => n,
                    _ => {
                        return Err(src.error(
                            e.span(),
                            format!("errno {} is out of range", e.get_ref()),
                            format!("write an errno from 0 to {MAX_ERRNO}, such as errno = 38 (ENOSYS)"),
                        ))
                    }
                },
            };
            Action::Errno(n)
        }
        "kill" => Action::KillProcess,
        "trap" => Action::Trap,
        "log" => Action::Log,
        _ => Action::Allow,
    };
    if let (Some(e), false) = (&t.errno, matches!(action, Action::Errno(_))) {
        return Err(src.error(
            e.span(),
            format!("errno is set, but the action is \"{word}\""),
            "remove errno, or write action = \"errno\"",
        ));
    }
    Ok((t.name.get_ref().clone(), t.name.span(), action))
}

/// "did you mean" among `choices`, else the list of them.
fn hint_for(word: &str, choices: &[&str]) -> String {
    let list = choices.iter().map(|c| format!("\"{c}\"")).collect::<Vec<_>>().join(", ");
    match choices.iter().map(|c| (super::edit_distance(word, c), *c)).filter(|(d, _)| *d <= 2).min() {
        Some((_, c)) => format!("did you mean \"{c}\"? (one of {list})"),
        None => format!("write one of {list}; {TABLE_HINT}"),
    }
}
