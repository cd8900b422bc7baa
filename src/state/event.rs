//! What `netlab events` reports: one change in a lab (a link, an address, a route, a
//! workload, the lab itself), as plain data. Display gives the plain line (like `docker
//! events`), `to_json` the `--json` object; both are built here only.

use super::RouteState;
use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One event of a lab.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub time: SystemTime,
    pub lab: String,
    /// The node it happened in; `None` for an event of the lab as a whole.
    pub node: Option<String>,
    pub what: What,
    /// Part of the snapshot `--initial-state` prints first, not a change.
    pub initial: bool,
}

/// A change to addresses or routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added,
    Removed,
    /// There when the stream started (`--initial-state`).
    Present,
}

impl Change {
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Added => "added",
            Change::Removed => "removed",
            Change::Present => "present",
        }
    }
}

/// What happened to an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkAction {
    Added,
    Removed,
    /// Up and with carrier: it passes traffic.
    Up,
    /// Administratively down, or up without carrier.
    Down,
}

impl LinkAction {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkAction::Added => "added",
            LinkAction::Removed => "removed",
            LinkAction::Up => "up",
            LinkAction::Down => "down",
        }
    }
}

/// What happened to a workload, as its supervisor saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WorkloadAction {
    Started,
    Exited,
    /// Started again after it ended, as its restart policy says.
    Restarted,
    /// Killed by the kernel for going over its memory limit.
    OomKilled,
    /// Could not be set up or started.
    Failed,
    /// Stopped on request (`netlab down`, or a changed file).
    Stopped,
    /// Its state when the stream started (`--initial-state`): see `state`.
    Present,
}

impl WorkloadAction {
    pub fn as_str(self) -> &'static str {
        match self {
            WorkloadAction::Started => "started",
            WorkloadAction::Exited => "exited",
            WorkloadAction::Restarted => "restarted",
            WorkloadAction::OomKilled => "oom-killed",
            WorkloadAction::Failed => "failed",
            WorkloadAction::Stopped => "stopped",
            WorkloadAction::Present => "present",
        }
    }
}

/// What an event is about.
#[derive(Debug, Clone, PartialEq)]
pub enum What {
    Link {
        iface: String,
        action: LinkAction,
        /// Administratively up (`ip link set IFACE up`).
        admin_up: bool,
        /// Has carrier (`LOWER_UP`): its peer is up too.
        carrier: bool,
    },
    Addr {
        iface: String,
        action: Change,
        addr: IpNetwork,
        /// Who added it (`IFA_PROTO`), where the kernel says.
        proto: Option<String>,
    },
    Route {
        action: Change,
        route: RouteState,
        /// The protocol that installed it, as `ip route` names it (`static`, `bird`, `netlab`).
        proto: String,
    },
    Workload(WorkloadEvent),
    Lab {
        /// Whether the lab came up (its record appeared) or went down (its record went).
        up: bool,
    },
}

/// One line of a lab's workload event file, as a supervisor appends it; also what the
/// stream reports for a workload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadEvent {
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
    pub node: String,
    pub name: String,
    pub action: WorkloadAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// The exit code, for a payload that exited.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    /// The signal that killed it (`SIGKILL`), for a payload killed by one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signal: Option<String>,
    /// How many times it has been restarted.
    #[serde(default)]
    pub restarts: u32,
    /// The workload's state, for a snapshot (`running`, `backoff`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
}

impl WorkloadEvent {
    pub fn time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(self.time_ms)
    }
}

/// Milliseconds since the Unix epoch, for a time stamp in a file.
pub fn epoch_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

impl What {
    /// The `type` of the event in `--json`.
    pub fn kind(&self) -> &'static str {
        match self {
            What::Link { .. } => "link",
            What::Addr { .. } => "address",
            What::Route { .. } => "route",
            What::Workload(_) => "workload",
            What::Lab { .. } => "lab",
        }
    }

    /// The `action` of the event in `--json`.
    pub fn action(&self) -> &'static str {
        match self {
            What::Link { action, .. } => action.as_str(),
            What::Addr { action, .. } | What::Route { action, .. } => action.as_str(),
            What::Workload(w) => w.action.as_str(),
            What::Lab { up: true } => "up",
            What::Lab { up: false } => "down",
        }
    }
}

/// Why a link is down, in the plain line: `admin` (set down) or `no-carrier` (its peer is).
fn link_reason(admin_up: bool, carrier: bool) -> &'static str {
    match (admin_up, carrier) {
        (false, _) => "admin-down",
        (true, false) => "no-carrier",
        (true, true) => "carrier",
    }
}

impl Event {
    /// The `--json` object: `time`, `lab`, `node`, `type`, `action` and the event's own
    /// attributes.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("time".into(), json!(humantime::format_rfc3339_millis(self.time).to_string()));
        m.insert("lab".into(), json!(self.lab));
        m.insert("node".into(), json!(self.node));
        m.insert("type".into(), json!(self.what.kind()));
        m.insert("action".into(), json!(self.what.action()));
        match &self.what {
            What::Link { iface, admin_up, carrier, .. } => {
                m.insert("iface".into(), json!(iface));
                m.insert("admin_up".into(), json!(admin_up));
                m.insert("carrier".into(), json!(carrier));
            }
            What::Addr { iface, addr, proto, .. } => {
                m.insert("iface".into(), json!(iface));
                m.insert("address".into(), json!(addr.to_string()));
                m.insert("proto".into(), json!(proto));
            }
            What::Route { route, proto, .. } => {
                m.insert("dst".into(), json!(route.dst.to_string()));
                m.insert("via".into(), json!(route.via.map(|v| v.to_string())));
                m.insert("dev".into(), json!(route.dev));
                m.insert("metric".into(), json!(route.metric));
                if !route.hops.is_empty() {
                    m.insert("hops".into(), json!(route.hops));
                }
                m.insert("proto".into(), json!(proto));
            }
            What::Workload(w) => {
                m.insert("name".into(), json!(w.name));
                for (k, v) in [
                    ("pid", w.pid.map(|p| json!(p))),
                    ("code", w.code.map(|c| json!(c))),
                    ("signal", w.signal.as_ref().map(|s| json!(s))),
                    ("state", w.state.as_ref().map(|s| json!(s))),
                ] {
                    if let Some(v) = v {
                        m.insert(k.into(), v);
                    }
                }
                m.insert("restarts".into(), json!(w.restarts));
            }
            What::Lab { .. } => {}
        }
        if self.initial {
            m.insert("initial".into(), json!(true));
        }
        Value::Object(m)
    }
}

impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} lab={}", humantime::format_rfc3339_millis(self.time), self.lab)?;
        if let Some(n) = &self.node {
            write!(f, " node={n}")?;
        }
        match &self.what {
            What::Link { iface, action, admin_up, carrier } => {
                write!(f, " link {iface} {}", action.as_str())?;
                if matches!(action, LinkAction::Up | LinkAction::Down | LinkAction::Added) {
                    write!(f, " ({})", link_reason(*admin_up, *carrier))?;
                }
            }
            What::Addr { iface, action, addr, proto } => {
                write!(f, " address {addr} dev {iface} {}", action.as_str())?;
                if let Some(p) = proto {
                    write!(f, " (proto {p})")?;
                }
            }
            What::Route { action, route, proto } => {
                write!(f, " route {route} {} (proto {proto})", action.as_str())?;
            }
            What::Workload(w) => {
                write!(f, " workload {} {}", w.name, w.action.as_str())?;
                let mut details = Vec::new();
                if let Some(s) = &w.state {
                    details.push(s.clone());
                }
                if let Some(p) = w.pid {
                    details.push(format!("pid {p}"));
                }
                if let Some(c) = w.code {
                    details.push(format!("code {c}"));
                }
                if let Some(s) = &w.signal {
                    details.push(format!("signal {s}"));
                }
                if w.restarts > 0 {
                    details.push(format!("restarts {}", w.restarts));
                }
                if !details.is_empty() {
                    write!(f, " ({})", details.join(", "))?;
                }
            }
            What::Lab { up } => write!(f, " lab {}", if *up { "up" } else { "down" })?,
        }
        if self.initial {
            f.write_str(" [initial]")?;
        }
        Ok(())
    }
}

/// The name `ip address` gives an address's protocol (`IFA_PROTO`), or its number.
pub fn addr_proto_name(proto: u8) -> String {
    match proto {
        0 => "unspec".into(),
        1 => "kernel_lo".into(),
        2 => "kernel_ra".into(),
        3 => "kernel_ll".into(),
        78 => "netlab".into(),
        n => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> SystemTime {
        // 2026-12-01T22:10:00.123Z
        UNIX_EPOCH + Duration::from_millis(1_796_163_000_123)
    }

    fn ev(node: Option<&str>, what: What) -> Event {
        Event { time: at(), lab: "x".into(), node: node.map(Into::into), what, initial: false }
    }

    fn link(action: LinkAction, admin_up: bool, carrier: bool) -> What {
        What::Link { iface: "eth0".into(), action, admin_up, carrier }
    }

    #[test]
    fn a_link_that_lost_its_carrier_reads_like_docker_events() {
        let e = ev(Some("r1"), link(LinkAction::Down, true, false));
        assert_eq!(e.to_string(), "2026-12-01T22:10:00.123Z lab=x node=r1 link eth0 down (no-carrier)");
        let e = ev(Some("r1"), link(LinkAction::Down, false, false));
        assert_eq!(e.to_string(), "2026-12-01T22:10:00.123Z lab=x node=r1 link eth0 down (admin-down)");
        let e = ev(Some("r1"), link(LinkAction::Removed, false, false));
        assert_eq!(e.to_string(), "2026-12-01T22:10:00.123Z lab=x node=r1 link eth0 removed");
    }

    #[test]
    fn json_has_the_common_keys_and_the_events_own() {
        let e = ev(Some("r1"), link(LinkAction::Up, true, true));
        let v = e.to_json();
        assert_eq!(v["time"], "2026-12-01T22:10:00.123Z");
        assert_eq!(v["lab"], "x");
        assert_eq!(v["node"], "r1");
        assert_eq!(v["type"], "link");
        assert_eq!(v["action"], "up");
        assert_eq!(v["iface"], "eth0");
        assert_eq!(v["carrier"], true);
        assert!(v.get("initial").is_none());
        let lab = ev(None, What::Lab { up: false });
        assert_eq!(lab.to_json()["node"], Value::Null);
        assert_eq!(lab.to_json()["action"], "down");
        assert_eq!(lab.to_string(), "2026-12-01T22:10:00.123Z lab=x lab down");
    }

    #[test]
    fn a_route_shows_its_protocol() {
        let route = RouteState {
            dst: "10.9.0.0/24".parse().unwrap(),
            via: Some("10.0.0.2".parse().unwrap()),
            dev: Some("eth0".into()),
            metric: 0,
            hops: vec![],
        };
        let e = ev(Some("r1"), What::Route { action: Change::Added, route, proto: "bird".into() });
        assert_eq!(
            e.to_string(),
            "2026-12-01T22:10:00.123Z lab=x node=r1 route 10.9.0.0/24 via 10.0.0.2 dev eth0 metric 0 added (proto bird)"
        );
        let v = e.to_json();
        assert_eq!((v["type"].as_str(), v["action"].as_str()), (Some("route"), Some("added")));
        assert_eq!((v["dst"].as_str(), v["proto"].as_str()), (Some("10.9.0.0/24"), Some("bird")));
    }

    #[test]
    fn a_workload_line_round_trips_and_reads_with_its_exit() {
        let w = WorkloadEvent {
            time_ms: 1_796_163_000_123,
            node: "r1".into(),
            name: "web".into(),
            action: WorkloadAction::Exited,
            pid: Some(42),
            code: None,
            signal: Some("SIGKILL".into()),
            restarts: 2,
            state: None,
        };
        let line = serde_json::to_string(&w).unwrap();
        assert!(line.contains(r#""action":"exited""#), "{line}");
        let back: WorkloadEvent = serde_json::from_str(&line).unwrap();
        assert_eq!(back, w);
        let e = Event {
            time: w.time(),
            lab: "x".into(),
            node: Some("r1".into()),
            what: What::Workload(w),
            initial: false,
        };
        assert_eq!(
            e.to_string(),
            "2026-12-01T22:10:00.123Z lab=x node=r1 workload web exited (pid 42, signal SIGKILL, restarts 2)"
        );
        assert_eq!(e.to_json()["signal"], "SIGKILL");
        assert_eq!(e.to_json()["action"], "exited");
    }

    #[test]
    fn snapshot_events_say_so() {
        let addr = What::Addr {
            iface: "eth0".into(),
            action: Change::Present,
            addr: "10.0.0.1/24".parse().unwrap(),
            proto: Some(addr_proto_name(78)),
        };
        let mut e = ev(Some("a"), addr);
        e.initial = true;
        assert_eq!(
            e.to_string(),
            "2026-12-01T22:10:00.123Z lab=x node=a address 10.0.0.1/24 dev eth0 present (proto netlab) [initial]"
        );
        assert_eq!(e.to_json()["initial"], true);
    }
}
