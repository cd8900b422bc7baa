//! cgroup v2 creation: controllers are handed down the tree through `cgroup.subtree_control`,
//! so every ancestor of a group must enable them before the group can be limited.

use std::io;
use std::path::Path;

use super::files::{self, parse_controllers, v2_limit_files};
use super::fsops::{ctx, mkdir_all, read_opt, write};
use crate::model::limits::Limits;

/// v2: a group's controllers are the ones its parent enabled in `cgroup.subtree_control`, so
/// enable memory, cpu and pids on every ancestor (the root only where they are still off),
/// then write the limits into the leaf.
pub(super) fn create(root: &Path, rel: &Path, limits: &Limits) -> io::Result<()> {
    let root_controllers = root.join("cgroup.controllers");
    let text = read_opt(&root_controllers)?.ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::NotFound,
            format!("{} is missing: {} is not a cgroup v2 root", root_controllers.display(), root.display()),
        )
    })?;
    let offered = parse_controllers(&text);
    let mut available: Vec<&str> = files::CONTROLLERS.into_iter().filter(|c| offered.contains(c)).collect();
    let mut dir = root.to_path_buf();
    for part in rel.components() {
        enable_controllers(&dir, &available)?;
        dir.push(part);
        mkdir_all(&dir)?;
        // Normally exactly what we just enabled, unless someone else's policy narrowed it.
        // A plain directory (as in tests) has no such file and keeps what the parent offers.
        if let Some(text) = read_opt(&dir.join("cgroup.controllers"))? {
            let here = parse_controllers(&text);
            available.retain(|c| here.contains(c));
        }
    }
    for f in v2_limit_files(limits) {
        if available.contains(&f.controller) {
            write(&dir.join(f.file), &f.value)?;
        } else if f.set {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!(
                    "cannot set {} in cgroup {}: the {} controller is not available there \
                     (not offered by {} or by a group above it)",
                    f.file,
                    dir.display(),
                    f.controller,
                    root.display()
                ),
            ));
        }
    }
    Ok(())
}

/// Turns on the `wanted` controllers for the children of `dir` that are still off; writes
/// nothing when all are on, so the root's settings are left alone where they suffice.
fn enable_controllers(dir: &Path, wanted: &[&str]) -> io::Result<()> {
    let path = dir.join("cgroup.subtree_control");
    let text = read_opt(&path)?.unwrap_or_default();
    let on = parse_controllers(&text);
    let missing: Vec<String> = wanted.iter().filter(|c| !on.contains(c)).map(|c| format!("+{c}")).collect();
    if missing.is_empty() {
        return Ok(());
    }
    write(&path, &missing.join(" ")).map_err(|e| {
        if e.kind() == io::ErrorKind::ResourceBusy {
            // cgroup v2's "no internal processes" rule: a group with processes of its own
            // cannot hand controllers to children.
            ctx(
                e,
                format!("{} has processes of its own, so its children cannot get controllers", dir.display()),
            )
        } else {
            e
        }
    })
}
