//! Resolving a node's process keys (`isolate`, `hostname`, `rootfs`, `limits`, `seccomp`,
//! `caps`, `exec`, `run`) into the model, with file:line:col errors; deciding which nodes are
//! container-like.

use super::*;
use crate::error::SpecError;
use crate::model::caps::Caps;
use crate::model::limits;
use crate::model::seccomp;
use crate::spec::raw::{RawLimits, RawNode, RawSeccomp, RawWorkload, S};
use crate::spec::Source;
use std::path::PathBuf;

type R<T> = Result<T, SpecError>;

fn resolve_limits(src: &Source, raw: &S<RawLimits>) -> R<Limits> {
    let l = raw.get_ref();
    let memory = match &l.memory {
        None => None,
        Some(m) => Some(
            limits::parse_memory(m.get_ref())
                .map_err(|e| src.error(m.span(), e, "write memory = \"256M\""))?,
        ),
    };
    let cpu = match &l.cpu {
        None => None,
        Some(c) => {
            let v = match c.get_ref() {
                toml::Value::Integer(i) => *i as f64,
                toml::Value::Float(f) => *f,
                _ => {
                    return Err(src.error(
                        c.span(),
                        "cpu must be a number of cores",
                        "write cpu = 0.5 or cpu = 2",
                    ))
                }
            };
            Some(limits::check_cpu(v).map_err(|e| src.error(c.span(), e, "write cpu = 0.5 or cpu = 2"))?)
        }
    };
    let pids = match &l.pids {
        None => None,
        Some(p) => {
            Some(limits::check_pids(*p.get_ref()).map_err(|e| src.error(p.span(), e, "write pids = 256"))?)
        }
    };
    Ok(Limits { memory, cpu, pids })
}

fn resolve_seccomp(src: &Source, raw: &S<RawSeccomp>, dir: &std::path::Path, iso: &Isolation) -> R<Seccomp> {
    seccomp::spec::resolve(src, raw, dir, seccomp::DefaultContext { uts: iso.uts })
}

/// A workload's `cwd`: no NUL byte; inside a node with a rootfs an absolute path of a
/// directory of the rootfs; elsewhere an absolute directory, or one relative to the file's
/// directory (kept absolute). Checked on the user's filesystem, as `rootfs` is.
fn resolve_cwd(
    src: &Source,
    c: &S<String>,
    dir: &std::path::Path,
    rootfs: Option<&std::path::Path>,
) -> R<String> {
    let cwd = c.get_ref();
    if cwd.contains('\0') {
        return Err(src.error(c.span(), "cwd contains a NUL byte".to_string(), "remove the NUL byte"));
    }
    if cwd.is_empty() {
        return Err(src.error(c.span(), "cwd is empty".to_string(), "write cwd = \"/\", or remove it"));
    }
    let path = std::path::Path::new(cwd);
    let (on_host, shown) = match rootfs {
        Some(root) => {
            if !path.is_absolute() {
                return Err(src.error(
                    c.span(),
                    format!("cwd \"{cwd}\" is relative, in a node with a rootfs"),
                    "write the directory as the workload sees it, from the rootfs's /, such as cwd = \"/srv\"",
                ));
            }
            (root.join(path.strip_prefix("/").unwrap_or(path)), format!("{cwd} (in the rootfs)"))
        }
        None => {
            let p = dir.join(path);
            let shown = p.display().to_string();
            (p, shown)
        }
    };
    if !on_host.is_dir() {
        return Err(src.error(
            c.span(),
            format!("cwd {shown} is not a directory"),
            "create the directory, or point cwd at one that exists (a relative cwd is relative to the topology file)",
        ));
    }
    Ok(match rootfs {
        Some(_) => cwd.clone(),
        None => std::path::absolute(&on_host).unwrap_or(on_host).display().to_string(),
    })
}

/// Whether a node is container-like, and the profile its processes get if so.
struct Confined {
    yes: bool,
    caps: Caps,
    profile: Confinement,
    /// The filter of a confined workload that names none, where the node names none either:
    /// the default allowlist.
    default_seccomp: Option<Seccomp>,
}

fn resolve_workload(
    src: &Source,
    raw: &S<RawWorkload>,
    node_seccomp: &Seccomp,
    dir: &std::path::Path,
    iso: &Isolation,
    node: &Confined,
) -> R<Workload> {
    let w = raw.get_ref();
    let name = w.name.get_ref().clone();
    let ok = !name.is_empty()
        && name.len() <= 32
        && !name.starts_with('_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !ok {
        return Err(src.error(
            w.name.span(),
            format!("workload name \"{name}\" must be 1–32 letters, digits, - or _"),
            "write name = \"web\"",
        ));
    }
    let cmd: Vec<String> = w.cmd.get_ref().iter().map(|s| s.get_ref().clone()).collect();
    if cmd.is_empty() || cmd[0].is_empty() {
        return Err(src.error(
            w.cmd.span(),
            format!("workload {name} has an empty cmd"),
            "write cmd = [\"python3\", \"-m\", \"http.server\"]",
        ));
    }
    if let Some(bad) = w.cmd.get_ref().iter().find(|a| a.get_ref().contains('\0')) {
        return Err(src.error(
            bad.span(),
            "an argument contains a NUL byte".to_string(),
            "remove the NUL byte",
        ));
    }
    for (k, v) in &w.env {
        if k.is_empty() || k.contains(['=', '\0']) {
            return Err(src.error(
                v.span(),
                format!("environment variable name {k:?} is empty or holds = or a NUL byte"),
                "name variables with letters, digits and _, such as PORT = \"80\"",
            ));
        }
        if v.get_ref().contains('\0') {
            return Err(src.error(
                v.span(),
                format!("the value of environment variable {k} contains a NUL byte"),
                "remove the NUL byte",
            ));
        }
    }
    let cwd = w.cwd.as_ref().map(|c| resolve_cwd(src, c, dir, iso.rootfs.as_deref())).transpose()?;
    let restart = match w.restart.as_ref().map(|r| (r.get_ref().as_str(), r.span())) {
        None | Some(("no", _)) => Restart::No,
        Some(("on-failure", _)) => Restart::OnFailure,
        Some(("always", _)) => Restart::Always,
        Some((other, span)) => {
            return Err(src.error(
                span,
                format!("unknown restart policy \"{other}\""),
                "write restart = \"no\", \"on-failure\" or \"always\"",
            ))
        }
    };
    let limits = w.limits.as_ref().map(|l| resolve_limits(src, l)).transpose()?.unwrap_or_default();
    let own_seccomp = w.seccomp.as_ref().map(|s| resolve_seccomp(src, s, dir, iso)).transpose()?;
    // A workload that asks for confinement of its own gets the whole profile, in a plain
    // node too.
    let asks = !limits.is_empty()
        || own_seccomp.as_ref().is_some_and(|s| *s != Seccomp::Unconfined)
        || w.caps.is_some();
    let caps = match &w.caps {
        Some(c) => node.caps.apply(src, c)?,
        None => node.caps,
    };
    let confine = (node.yes || asks).then_some(Confinement { caps, ..node.profile });
    Ok(Workload {
        name,
        cmd,
        env: w.env.iter().map(|(k, v)| (k.clone(), v.get_ref().clone())).collect(),
        cwd,
        limits,
        // Confined by its own wish in a plain node that names no filter: the default one.
        seccomp: match (own_seccomp, &confine, &node.default_seccomp) {
            (Some(s), _, _) => s,
            (None, Some(_), Some(d)) if *node_seccomp == Seccomp::Unconfined => d.clone(),
            (None, _, _) => node_seccomp.clone(),
        },
        restart,
        confine,
    })
}

/// A node's `rootfs`: a directory (relative to the file's directory), not empty, and not
/// the host's own `/` under another name (a symlink to it, or `../..`): pivoting into it
/// would confine nothing. Kept absolute.
fn resolve_rootfs(src: &Source, r: &S<String>, dir: &std::path::Path) -> R<PathBuf> {
    let hint = "point rootfs at an unpacked root filesystem, relative to the topology file";
    if r.get_ref().contains('\0') {
        return Err(src.error(r.span(), "rootfs contains a NUL byte".to_string(), hint));
    }
    if r.get_ref().is_empty() {
        return Err(src.error(r.span(), "rootfs is an empty path".to_string(), hint));
    }
    let path = dir.join(r.get_ref());
    if !path.is_dir() {
        return Err(src.error(r.span(), format!("rootfs {} is not a directory", path.display()), hint));
    }
    let real = std::fs::canonicalize(&path)
        .map_err(|e| src.error(r.span(), format!("rootfs {}: {e}", path.display()), hint))?;
    if real == std::path::Path::new("/") {
        return Err(src.error(
            r.span(),
            format!("rootfs {} is the host's / itself", path.display()),
            "a rootfs must be a directory of its own, such as an exported busybox image",
        ));
    }
    let empty = std::fs::read_dir(&real).map(|mut d| d.next().is_none()).unwrap_or(true);
    if empty {
        return Err(src.error(
            r.span(),
            format!("rootfs {} is empty", path.display()),
            "unpack a root filesystem into it (docker export IMAGE | tar -x -C DIR)",
        ));
    }
    Ok(std::path::absolute(&path).unwrap_or(path))
}

/// Resolves a node's process keys. `dir`: the topology file's directory, for `rootfs`.
pub fn resolve(src: &Source, node: &str, raw: &RawNode, dir: &std::path::Path) -> R<Processes> {
    let mut iso = Isolation::default();
    for ns in raw.isolate.as_ref().map(|i| i.get_ref().as_slice()).unwrap_or(&[]) {
        match ns.get_ref().as_str() {
            "pid" => iso.pid = true,
            "mount" => iso.mount = true,
            "uts" => iso.uts = true,
            "ipc" => iso.ipc = true,
            "net" | "network" => {
                return Err(src.error(
                    ns.span(),
                    "every node has its own network namespace already".to_string(),
                    "remove \"net\" from isolate",
                ))
            }
            other => {
                return Err(src.error(
                    ns.span(),
                    format!("unknown namespace \"{other}\""),
                    "use any of \"pid\", \"mount\", \"uts\", \"ipc\"",
                ))
            }
        }
    }
    // A pid namespace needs its own /proc, which needs a mount namespace.
    iso.mount |= iso.pid;
    if let Some(h) = &raw.hostname {
        let name = h.get_ref();
        let ok = !name.is_empty()
            && name.len() <= 64
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
        if !ok {
            return Err(src.error(
                h.span(),
                format!("hostname \"{name}\" is not a valid host name"),
                "use 1–64 letters, digits, - and .",
            ));
        }
        iso.hostname = Some(name.clone());
        iso.uts = true;
    }
    if let Some(r) = &raw.rootfs {
        iso.rootfs = Some(resolve_rootfs(src, r, dir)?);
        iso.mount = true;
    }
    // As given; a container-like node that names none gets the default allowlist (below).
    let explicit = raw.seccomp.as_ref().map(|s| resolve_seccomp(src, s, dir, &iso)).transpose()?;
    let default_filter = || seccomp::default_profile(seccomp::DefaultContext { uts: iso.uts });
    let node_seccomp = explicit.clone().unwrap_or(Seccomp::Unconfined);
    let limits = raw.limits.as_ref().map(|l| resolve_limits(src, l)).transpose()?.unwrap_or_default();
    let caps = match &raw.caps {
        Some(c) => Caps::default().apply(src, c)?,
        None => Caps::default(),
    };
    let host = raw.kind.as_ref().is_some_and(|k| k.get_ref() == "host");
    let yes =
        iso.needs_holder() || !limits.is_empty() || node_seccomp != Seccomp::Unconfined || raw.caps.is_some();
    // Built only where it is used (a confined node, or workloads): a 10 000-node lab of
    // plain nodes would otherwise build 10 000 allowlists to drop them.
    let default_seccomp = (explicit.is_none() && (yes || !raw.run.is_empty())).then(default_filter);
    let node_seccomp = match (&default_seccomp, yes) {
        (Some(d), true) => d.clone(),
        _ => node_seccomp,
    };
    if yes && !host {
        // As Docker's containers: a pid namespace of its own, so that its root processes'
        // `kill -1` reaches only the node, and with it the mount namespace its /proc needs.
        // (A host node's processes share the host's: it is not isolated.)
        iso.pid = true;
        iso.mount = true;
    }
    let confined = Confined {
        yes,
        caps,
        profile: Confinement { caps, holder_view: iso.mount, net_sysctls: !host },
        default_seccomp,
    };
    let mut run: Vec<Workload> = Vec::new();
    for w in &raw.run {
        let wl = resolve_workload(src, w, &node_seccomp, dir, &iso, &confined)?;
        if run.iter().any(|o| o.name == wl.name) {
            return Err(src.error(
                w.get_ref().name.span(),
                format!("node {node} has two workloads named {}", wl.name),
                "give each workload its own name",
            ));
        }
        run.push(wl);
    }
    let mut exec = Vec::new();
    for e in &raw.exec {
        if e.get_ref().trim().is_empty() {
            return Err(src.error(
                e.span(),
                "an empty exec command".to_string(),
                "write a shell command, such as \"ip link set lo mtu 9000\"",
            ));
        }
        if e.get_ref().contains('\0') {
            return Err(src.error(
                e.span(),
                "an exec command contains a NUL byte".to_string(),
                "remove the NUL byte",
            ));
        }
        exec.push(e.get_ref().clone());
    }
    let exec_timeout = match &raw.exec_timeout {
        None => EXEC_TIMEOUT,
        Some(t) => crate::model::duration::of_file(
            src,
            "exec_timeout",
            t,
            EXEC_TIMEOUT_MIN,
            EXEC_TIMEOUT_MAX,
            "30s",
        )?,
    };
    Ok(Processes {
        isolation: iso,
        limits,
        seccomp: node_seccomp,
        exec,
        exec_timeout,
        run,
        confine: confined.yes.then_some(confined.profile),
    })
}
