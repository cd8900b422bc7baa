//! The operations behind the commands, on a loaded lab: plan, up, status.

use crate::apply::apply;
use crate::error::{Error, Result};
use crate::model::firewall::FirewallKind;
use crate::model::{self, NsRef};
use crate::plan::{self, Op, Plan};
use crate::spec;
use crate::state::NetState;
use crate::state::{Observed, Record};
use crate::sys::firewall::nft;
use crate::sys::netlink::observe::observe;
use crate::sys::netlink::rtnl::Rtnl;
use crate::sys::process::{self, ExecInfo, Files, Procs};
use std::collections::BTreeMap;
use std::path::Path;

/// A validated topology file.
#[derive(Debug, Clone)]
pub struct Lab {
    pub model: model::Lab,
}

/// What `up` did.
#[derive(Debug)]
pub struct UpReport {
    pub plan: Plan,
    /// Something the user should know, such as a fallback to iptables.
    pub notice: Option<String>,
}

/// A plan and what it was computed from.
#[derive(Debug)]
pub struct Planned {
    pub plan: Plan,
    pub seen: Observed,
    pub kind: FirewallKind,
    pub notice: Option<String>,
}

impl Lab {
    /// Reads and validates a topology file (`netlab validate`). Touches nothing.
    pub fn load(path: &Path) -> Result<Lab> {
        let (src, raw) = spec::load_file(path)?;
        Ok(Lab { model: model::resolve(&src, raw)? })
    }

    /// Validates topology text as if it were the file `path`.
    pub fn parse(path: &Path, text: &str) -> Result<Lab> {
        let (src, raw) = spec::parse_str(path, text.to_string())?;
        Ok(Lab { model: model::resolve(&src, raw)? })
    }

    /// Like `parse`, with the lab's name and prefix replaced by `name`.
    fn parse_renamed(path: &Path, text: &str, name: &str) -> Result<Lab> {
        let (src, mut raw) = spec::parse_str(path, text.to_string())?;
        let span = raw.name.as_ref().map(|n| n.span()).unwrap_or(0..0);
        raw.name = Some(serde_spanned::Spanned::new(span.clone(), name.to_string()));
        raw.prefix = Some(serde_spanned::Spanned::new(span, name.to_string()));
        Ok(Lab { model: model::resolve(&src, raw)? })
    }

    /// Reads a topology file for a test: the lab gets a name and prefix of its own
    /// (`nl` + 10 hex digits), so labs of parallel tests never collide.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Lab> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::Spec(crate::error::SpecError::Read { file: path.display().to_string(), source: e })
        })?;
        Lab::parse_renamed(path, &text, &unique_name())
    }

    /// Reads topology text for a test, with a name and prefix of its own (see `from_file`).
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(text: &str) -> Result<Lab> {
        Lab::parse_renamed(Path::new("topology.toml"), text, &unique_name())
    }

    pub fn name(&self) -> &str {
        &self.model.name
    }

    pub fn desired(&self) -> NetState {
        plan::desired::network(&self.model)
    }

    /// How this lab's firewall is loaded: as asked, as the lab already is, or nftables where
    /// the kernel has it (iptables otherwise, with a notice).
    pub fn firewall_kind(
        &self,
        asked: Option<FirewallKind>,
        record: Option<&Record>,
    ) -> Result<(FirewallKind, Option<String>)> {
        let current = record.filter(|r| !r.tables.is_empty()).map(|r| r.firewall);
        match (asked, current) {
            (Some(a), Some(c)) if a != c => Err(Error::Usage(format!(
                "lab {} is up with its firewall in {}; run `netlab down` before switching to {}",
                self.name(),
                c.label(),
                a.label()
            ))),
            (Some(a), _) => Ok((a, None)),
            (None, Some(c)) => Ok((c, None)),
            (None, None) => {
                let needs = self.model.nodes.values().any(|n| !n.firewall.is_empty());
                if needs && !nft::available() {
                    return Ok((FirewallKind::Iptables, Some("nf_tables is not available in this kernel: loading the firewall rules with iptables".into())));
                }
                Ok((FirewallKind::Nft, None))
            }
        }
    }

    /// Refuses, before anything is touched, impairments whose qdisc this kernel lacks.
    async fn check_qdiscs(&self) -> Result<()> {
        let shapes: Vec<_> =
            self.model.links.iter().flat_map(|l| [l.shape_a, l.shape_b]).filter(|s| !s.is_empty()).collect();
        let mut kinds: Vec<&str> = shapes.iter().map(|s| s.kind()).collect();
        kinds.sort();
        kinds.dedup();
        for kind in kinds {
            let k = kind.to_string();
            let present = tokio::task::spawn_blocking(move || crate::sys::netlink::tc::probe(&k))
                .await
                .map_err(|e| Error::Usage(format!("probing sch_{kind}: {e}")))?
                .map_err(|e| Error::Sys(crate::error::SysError::new(format!("probing sch_{kind}"), e)))?;
            if !present {
                return Err(Error::Usage(crate::sys::netlink::tc::missing(kind)));
            }
        }
        Ok(())
    }

    /// What `up` would do (`netlab plan`). Refuses when a needed name belongs to someone else.
    pub async fn plan(&self, asked: Option<FirewallKind>) -> Result<Planned> {
        self.check_qdiscs().await?;
        let record = Record::load(&self.model.name)?;
        let (kind, notice) = self.firewall_kind(asked, record.as_ref())?;
        let mut seen = observe(&self.model.name, &self.desired(), record, kind).await?;
        seen.procs = process::fingerprints(&Files { lab: self.model.name.clone() });
        refuse_foreign(&seen)?;
        Ok(Planned { plan: plan::diff(&self.model, &self.desired(), &seen), seen, kind, notice })
    }

    /// Makes the kernel match the file (`netlab up`).
    pub async fn reconcile(&self, asked: Option<FirewallKind>) -> Result<UpReport> {
        let _lock = Record::lock(&self.model.name)?;
        let Planned { plan, seen, kind, notice } = self.plan(asked).await?;
        if plan.is_empty() {
            // Still refresh the record: the file may have moved.
            Record::for_lab(&self.model, seen.record.as_ref()).save()?;
            return Ok(UpReport { plan, notice });
        }
        // Written before touching anything, so that an interrupted `up` can be cleaned up.
        let mut record = Record::for_lab(&self.model, seen.record.as_ref());
        let want = self.desired();
        record.firewall = kind;
        record
            .host_routes
            .extend(want.get(&NsRef::Host).into_iter().flat_map(|h| h.routes.values().cloned()));
        let mut seen_keys = std::collections::BTreeSet::new();
        record.host_routes.retain(|r| seen_keys.insert((r.dst, r.metric)));
        record.tables.extend(want.iter().filter(|(_, s)| s.nft.is_some()).map(|(ns, _)| Record::ns_key(ns)));
        // Originals known from the plan are kept before anything changes them.
        for op in &plan.ops {
            if let Op::SetSysctl { ns, key, was: Some(was), .. } = op {
                record
                    .sysctl_orig
                    .entry(Record::ns_key(ns))
                    .or_default()
                    .entry(key.clone())
                    .or_insert_with(|| was.clone());
            }
        }
        record.save()?;
        let rtnl = Rtnl::new(&self.model.name).with_firewall(kind);
        let procs = self.spawner();
        // `exec` commands of this very run enter nodes through it.
        self.note_exec_info(&procs.files)?;
        let bar = progress(plan.ops.len() as u64, &format!("up {}", self.name()));
        let (applied, errors) = apply(&rtnl, &procs, &plan, &|| bar.inc(1)).await;
        bar.finish_and_clear();
        // Whatever happened, remember the original value of every sysctl we changed.
        for (ns, key, prev) in &applied.sysctl_prev {
            let origs = record.sysctl_orig.entry(Record::ns_key(ns)).or_default();
            origs.entry(key.clone()).or_insert_with(|| prev.clone());
        }
        if errors.is_empty() {
            self.settle_record(&mut record, &plan);
        }
        record.remember_ids();
        record.save()?;
        match errors.into_iter().next() {
            None => Ok(UpReport { plan, notice }),
            Some(first) => Err(Error::Sys(first)),
        }
    }

    /// The process backend, knowing each node's namespace and the fingerprints to store.
    fn spawner(&self) -> Procs {
        let mut fingerprints = BTreeMap::new();
        for (node, p) in plan::desired::processes(&self.model) {
            let mut put = |what: &str, fp: &Option<String>| {
                if let Some(fp) = fp {
                    fingerprints.insert((node.clone(), what.to_string()), fp.clone());
                }
            };
            put("holder", &p.holder);
            put("limits", &p.limits);
            put("exec", &p.exec);
            for (name, fp) in &p.workloads {
                fingerprints.insert((node.clone(), format!("workload:{name}")), fp.clone());
            }
        }
        let netns = self
            .model
            .nodes
            .values()
            .map(|n| (n.name.clone(), if let NsRef::Named(s) = &n.ns { Some(s.clone()) } else { None }))
            .collect();
        Procs { files: Files { lab: self.model.name.clone() }, netns, fingerprints }
    }

    /// What `netlab exec` needs to enter each node with processes of its own.
    fn note_exec_info(&self, files: &Files) -> Result<()> {
        for node in self.model.nodes.values() {
            let p = &node.processes;
            let needs_cgroup = !p.limits.is_empty() || !p.run.is_empty() || p.isolation.needs_holder();
            let info = (!p.is_empty()).then(|| ExecInfo {
                seccomp: p.seccomp.clone(),
                cgroup: needs_cgroup
                    .then(|| format!("{}/_exec", process::node_cgroup(&self.model.name, &node.name))),
            });
            files.set_exec_info(&node.name, info.as_ref()).map_err(|e| Error::Record {
                path: files.dir().display().to_string(),
                message: e.to_string(),
            })?;
        }
        Ok(())
    }

    /// After a complete `up`, the record names exactly what the file asks for.
    fn settle_record(&self, record: &mut Record, plan: &Plan) {
        let want = self.desired();
        record.namespaces = self.model.namespaces().map(str::to_string).collect();
        record.host_routes =
            want.get(&NsRef::Host).map(|h| h.routes.values().cloned().collect()).unwrap_or_default();
        record.tables =
            want.iter().filter(|(_, s)| s.nft.is_some()).map(|(ns, _)| Record::ns_key(ns)).collect();
        record.host_sysctls = want.get(&NsRef::Host).map(|h| h.sysctls.clone()).unwrap_or_default();
        record.shapes = want
            .iter()
            .flat_map(|(ns, s)| {
                s.ifaces.iter().filter_map(move |(i, st)| Some((Record::iface_key(ns, i), st.shape?)))
            })
            .collect();
        // Sysctls put back to their original value are no longer ours to restore.
        for op in &plan.ops {
            if let Op::SetSysctl { ns, key, .. } = op {
                if !want.get(ns).is_some_and(|w| w.sysctls.contains_key(key)) {
                    if let Some(o) = record.sysctl_orig.get_mut(&Record::ns_key(ns)) {
                        o.remove(key);
                    }
                }
            }
        }
        let host = Record::ns_key(&NsRef::Host);
        record.sysctl_orig.retain(|ns, o| !o.is_empty() && (*ns == host || record.namespaces.contains(ns)));
    }
}

fn refuse_foreign(seen: &Observed) -> Result<()> {
    if seen.foreign.is_empty() {
        return Ok(());
    }
    Err(Error::Foreign(format!("refusing to touch anything: {}", seen.foreign.join("; "))))
}

/// A lab name no other test of this machine uses now: the process id, a counter and the
/// clock, folded into 10 hex digits.
fn unique_name() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0);
    let mixed = (std::process::id() as u64) << 20 ^ n << 8 ^ nanos >> 12;
    format!("nl{:010x}", mixed & 0xff_ffff_ffff)
}

/// A progress bar on stderr for long runs at a terminal; hidden in CI and pipes.
pub(crate) fn progress(len: u64, what: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if len < 50 || !std::io::stderr().is_terminal() || std::env::var_os("CI").is_some() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) = indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} {elapsed}") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}
