//! Runtime overrides of a lab that is up: `netlab link down|up` and `netlab impair`. Each is
//! recorded in the lab's record first, then applied by reconciling (`up` against the file with
//! the overrides in force), so that what the kernel does on its own (routes that go with an
//! interface, IPv6 addresses flushed as it goes down) is repaired the same way as ever and
//! `plan` right after shows no change.

use super::up::{self, Options, UpReport};
use crate::backend::System;
use crate::error::{Error, Result};
use crate::model::shape::Shape;
use crate::model::{Endpoint, Lab, NodeKind};
use crate::plan;
use crate::state::overrides::split_target;
use crate::state::{Overrides, Record};
use serde::Serialize;

/// A change to one interface of a lab that is up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    /// Hold it down, like a pulled cable: the far end loses its carrier.
    Down,
    /// Let it come up again (the file's state).
    Up,
    /// Hold this egress impairment in place of the file's.
    Impair(Shape),
    /// Back to the file's impairment.
    Clear,
}

/// The lab that is up and has node `node` (lab `lab`, when given), loaded from its file.
pub fn locate_lab<S: System>(sys: &S, target: &str, lab: Option<&str>) -> Result<Lab> {
    let (node, _) = split_target(target).map_err(Error::Usage)?;
    let name = match super::exec::locate(sys, node, lab) {
        Ok((name, _)) => name,
        // One lab in question: say which nodes it has.
        Err(Error::NotFound(why)) => {
            let mut records = match lab {
                Some(l) => sys.load(l)?.into_iter().collect(),
                None => sys.all()?,
            };
            return Err(Error::NotFound(match (records.pop(), records.is_empty()) {
                (Some(r), true) => format!(
                    "lab {} has no node {node}; its nodes are {}",
                    r.lab,
                    r.nodes.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
                _ => why,
            }));
        }
        Err(e) => return Err(e),
    };
    let record = sys.load(&name)?.ok_or_else(|| Error::NotFound(format!("lab {name} is not up")))?;
    let loaded = Lab::load(&record.file)?;
    if loaded.name != record.lab {
        return Err(Error::Conflict(format!(
            "{} now describes lab {}, not lab {name}; bring it up again or take it down",
            record.file.display(),
            loaded.name
        )));
    }
    Ok(loaded)
}

/// The endpoint `NODE:IFACE` of the lab, and the impairment the file gives its egress; or an
/// error that lists what there is.
pub fn endpoint<'a>(lab: &'a Lab, target: &str) -> Result<(&'a Endpoint, Shape)> {
    let (node, iface) = split_target(target).map_err(Error::Usage)?;
    let Some(n) = lab.nodes.get(node) else {
        let known: Vec<&str> = lab.nodes.keys().map(String::as_str).collect();
        return Err(Error::NotFound(format!(
            "lab {} has no node {node}; its nodes are {}",
            lab.name,
            known.join(", ")
        )));
    };
    let ends = lab.links.iter().flat_map(|l| [(&l.a, l.shape_a), (&l.b, l.shape_b)]);
    let mine: Vec<(&Endpoint, Shape)> = ends.filter(|(e, _)| e.node == node).collect();
    if let Some(found) = mine.iter().find(|(e, _)| e.iface == iface) {
        return Ok(*found);
    }
    let what = if n.kind == NodeKind::Switch { "port" } else { "interface" };
    let known: Vec<&str> = mine.iter().map(|(e, _)| e.iface.as_str()).collect();
    Err(Error::NotFound(if known.is_empty() {
        format!("node {node} of lab {} has no {what} {iface}; it is on no link", lab.name)
    } else {
        format!("node {node} of lab {} has no {what} {iface}; it has {}", lab.name, known.join(", "))
    }))
}

/// The overrides with `change` made to `target`.
fn changed(mut held: Overrides, target: &str, change: Change) -> Overrides {
    let key = target.to_string();
    match change {
        Change::Down => drop(held.down.insert(key)),
        Change::Up => drop(held.down.remove(&key)),
        Change::Impair(s) => drop(held.shapes.insert(key, s)),
        Change::Clear => drop(held.shapes.remove(&key)),
    }
    held
}

/// What this kernel must have for an impairment set at run time; nothing is touched if not.
async fn check_impair<S: System>(sys: &S, shape: &Shape) -> Result<()> {
    if shape.is_empty() {
        return Err(Error::Usage(
            "an impairment needs at least one of rate, delay, jitter, loss, limit (or clear it)".into(),
        ));
    }
    if shape.jitter.is_some() && shape.delay.is_none() {
        return Err(Error::Usage("jitter needs a delay to vary around; add a delay such as 20ms".into()));
    }
    let kind = shape.kind();
    if !sys.has_qdisc(kind).await? {
        let keep = if kind == "netem" { "impair with rate and limit only" } else { "leave rate out" };
        return Err(Error::Missing(format!(
            "this kernel has no sch_{kind}: load the module (modprobe sch_{kind}) or {keep}; nothing was changed"
        )));
    }
    Ok(())
}

/// Makes `change` to interface `target` (`NODE:IFACE`) of lab `lab`, which is up: records the
/// override, then reconciles the lab to its file with the overrides in force.
pub async fn set<S: System>(sys: &S, lab: &Lab, target: &str, change: Change) -> Result<UpReport> {
    endpoint(lab, target)?;
    if let Change::Impair(shape) = &change {
        check_impair(sys, shape).await?;
    }
    set_all(sys, lab, |held| changed(held, target, change)).await
}

/// Puts the lab's overrides as `f` makes them of the current ones, and reconciles.
async fn set_all<S: System>(sys: &S, lab: &Lab, f: impl FnOnce(Overrides) -> Overrides) -> Result<UpReport> {
    {
        let _lock = sys.lock(&lab.name)?;
        let mut record: Record = sys
            .load(&lab.name)?
            .ok_or_else(|| Error::NotFound(format!("lab {} is not up (`netlab up` it first)", lab.name)))?;
        super::bind::check_up(sys, lab, Some(&record), false)?;
        let held = f(record.overrides.clone());
        // The preflight `up` runs, before anything is recorded.
        up::check_qdiscs(sys, lab, &held).await?;
        record.overrides = held;
        sys.save(&mut record)?;
    }
    up::up(sys, lab, Options::default(), &|_| {}, &|| {}).await
}

/// Puts back overrides as they were (after a scenario), and reconciles.
pub async fn restore<S: System>(sys: &S, lab: &Lab, held: Overrides) -> Result<UpReport> {
    set_all(sys, lab, |_| held).await
}

/// The overrides lab `lab` holds now (none when it is down).
pub fn current<S: System>(sys: &S, lab: &str) -> Result<Overrides> {
    Ok(sys.load(lab)?.map(|r| r.overrides).unwrap_or_default())
}

/// The impairment of one interface: what the file says, what `netlab impair` holds, and what
/// the kernel has.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ImpairState {
    pub target: String,
    pub file: Option<Shape>,
    pub held: Option<Shape>,
    pub applied: Option<Shape>,
}

impl std::fmt::Display for ImpairState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = |s: &Option<Shape>| s.map(|s| s.to_string()).unwrap_or_else(|| "none".into());
        writeln!(f, "{}:", self.target)?;
        writeln!(f, "  file:     {}", text(&self.file))?;
        match &self.held {
            Some(_) => writeln!(f, "  override: {} (held by netlab impair)", text(&self.held))?,
            None => writeln!(f, "  override: none")?,
        }
        write!(f, "  applied:  {}", text(&self.applied))
    }
}

/// What is in force on interface `target` of lab `lab`, which is up.
pub async fn impairment<S: System>(sys: &S, lab: &Lab, target: &str) -> Result<ImpairState> {
    let (end, file) = endpoint(lab, target)?;
    let record = sys
        .load(&lab.name)?
        .ok_or_else(|| Error::NotFound(format!("lab {} is not up (`netlab up` it first)", lab.name)))?;
    super::bind::check_status(sys, &record)?;
    let held = record.overrides.shapes.get(target).copied();
    let want = plan::desired::network_with(lab, &record.overrides);
    let kind = record.firewall;
    let seen = sys.observe(&lab.name, &want, Some(record), kind, None).await?;
    let ns = &lab.nodes[&end.node].ns;
    let applied = seen.ns.get(ns).and_then(|s| s.ifaces.get(&end.iface)).and_then(|i| i.shape);
    Ok(ImpairState { target: target.to_string(), file: (!file.is_empty()).then_some(file), held, applied })
}

/// How an override reads in `plan` and `status`: `r1:eth13 down (held by netlab link down)`.
pub fn describe(lab: Option<&Lab>, held: &Overrides) -> Vec<String> {
    let mut out: Vec<String> =
        held.down.iter().map(|t| format!("{t} down (held by netlab link down)")).collect();
    for (t, s) in &held.shapes {
        let file = lab.and_then(|l| endpoint(l, t).ok()).map(|(_, f)| {
            if f.is_empty() {
                "none".to_string()
            } else {
                f.to_string()
            }
        });
        let file = file.map(|f| format!("; the file says {f}")).unwrap_or_default();
        out.push(format!("{t} impaired {s} (held by netlab impair{file})"));
    }
    out
}
