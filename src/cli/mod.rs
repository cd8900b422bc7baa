//! Subcommands: flags and printing only; the work is in the library.

mod capture;
mod completions;
mod down;
mod events;
mod exec;
mod graph;
mod impair;
mod json;
mod junit;
mod link;
mod logs;
mod ls;
mod schema;
mod status;
mod table;
mod test;
mod up;
mod words;

use crate::backend::System;
use crate::engine::up::Options;
use crate::error::{Error, Result};
use crate::model::firewall::FirewallKind;
use crate::Lab;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "netlab", version, about = "Declarative network labs on one Linux machine")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Make the machine match the file: create what is missing, change what differs, remove what the file no longer names.
    Up {
        file: PathBuf,
        /// Load NAT and firewall rules with nftables (default where the kernel has it) or iptables.
        #[arg(long, value_enum)]
        firewall: Option<FirewallArg>,
        /// Also remove the routes and addresses in the lab's namespaces that it did not make
        /// (a routing daemon's, or added by hand).
        #[arg(long)]
        prune: bool,
        /// Take over a lab of this name that was made from another file.
        #[arg(long)]
        adopt: bool,
        /// Drop every runtime override (`netlab link down`, `netlab impair`): back to the file.
        #[arg(long)]
        reset: bool,
    },
    /// Print what `up` would do. Exit 0 when nothing would change, 2 when something would, 1 on error.
    Plan {
        file: PathBuf,
        #[arg(long, value_enum)]
        firewall: Option<FirewallArg>,
        /// Plan as `up --prune` would.
        #[arg(long)]
        prune: bool,
        /// Plan as `up --adopt` would: taking over a lab of this name made from another file.
        #[arg(long)]
        adopt: bool,
        /// Plan as `up --reset` would: without the runtime overrides.
        #[arg(long)]
        reset: bool,
    },
    /// Take a link down like pulling its cable, or let it up again: a runtime override that
    /// `plan` and `up` respect until `link up`, `up --reset` or `down`.
    Link {
        #[command(subcommand)]
        action: LinkAction,
    },
    /// Change an interface's egress impairment at run time (a recorded override, like
    /// `link down`); with no impairment given, print what is in force.
    Impair {
        /// NODE:IFACE
        target: String,
        /// A rate: "10mbit", "1gbit" (tbf).
        #[arg(long)]
        rate: Option<String>,
        /// A delay: "20ms" (netem).
        #[arg(long)]
        delay: Option<String>,
        /// Jitter around the delay: "5ms" (netem).
        #[arg(long)]
        jitter: Option<String>,
        /// Packets dropped: "1%" (netem).
        #[arg(long)]
        loss: Option<String>,
        /// Queue length in packets.
        #[arg(long)]
        limit: Option<u32>,
        /// Drop the override: back to what the file says.
        #[arg(long, conflicts_with_all = ["rate", "delay", "jitter", "loss", "limit"])]
        clear: bool,
        #[arg(long)]
        lab: Option<String>,
    },
    /// Remove everything the lab owns, and nothing else.
    Down {
        /// The topology file (or use --lab).
        file: Option<PathBuf>,
        /// The lab's name, when the file is gone.
        #[arg(long)]
        lab: Option<String>,
    },
    /// The lab as it is: nodes, interfaces, addresses, routes, workloads, and drift from the file.
    Status {
        /// The topology file, or the lab's name (a path to a file, or a name ending in .toml, is a
        /// file); may be left out when one lab is up.
        #[arg(value_name = "FILE|LAB")]
        target: Option<String>,
        /// The lab's name.
        #[arg(long, conflicts_with = "target")]
        lab: Option<String>,
        /// Print the status as JSON (`"schema": 1`, described in docs/json.md).
        #[arg(long)]
        json: bool,
        /// Exit 2 when the lab has drifted from its file (0 when it has not).
        #[arg(long)]
        exit_code: bool,
    },
    /// Run a command inside a node (a shell when no command is given), or in many at once.
    Exec {
        /// The node (or use --all / --nodes).
        #[arg(required_unless_present_any = ["all", "nodes"])]
        node: Option<String>,
        #[arg(long)]
        lab: Option<String>,
        /// Run in every node of the lab (switches left out), 16 at a time.
        #[arg(long, conflicts_with_all = ["node", "nodes"])]
        all: bool,
        /// Run in the nodes whose names match this shell pattern (`r*`).
        #[arg(long, value_name = "GLOB", conflicts_with = "node")]
        nodes: Option<String>,
        /// With --all/--nodes: one JSON object per node (stdout, stderr, code) at the end.
        #[arg(long)]
        json: bool,
        /// Words after the node that are not behind `--`: caught to say so.
        #[arg(hide = true, allow_hyphen_values = true, num_args = 0..)]
        stray: Vec<String>,
        /// The command and its arguments, after `--`.
        #[arg(last = true)]
        cmd: Vec<String>,
    },
    /// A live stream of the labs' link, address, route and workload events.
    Events {
        /// Follow this lab only (the stream ends when it goes down); by default every lab,
        /// including labs that come up later.
        #[arg(long)]
        lab: Option<String>,
        /// One JSON object per line.
        #[arg(long)]
        json: bool,
        /// First, what is there now: links, addresses, routes, workloads.
        #[arg(long)]
        initial_state: bool,
    },
    /// A workload's output (stdout and stderr).
    Logs {
        /// NODE or NODE/WORKLOAD
        target: String,
        #[arg(long)]
        lab: Option<String>,
        /// Keep printing what the workload writes.
        #[arg(short, long)]
        follow: bool,
    },
    /// Run the file's [[check]]s, then its [[scenario]]s, against the lab as it is (brought up first if it is down); exit 1 if any fails.
    Test {
        file: PathBuf,
        /// Write a JUnit XML report here.
        #[arg(long)]
        junit: Option<PathBuf>,
        /// Reconcile the lab with the file first (`netlab up`), also when it is up already.
        #[arg(long)]
        up: bool,
        /// Tear the lab down afterwards, also when checks fail.
        #[arg(long)]
        down: bool,
        /// Run only this [[scenario]] (the plain checks are skipped).
        #[arg(long)]
        scenario: Option<String>,
        /// Capture each check while it runs (every interface of its node and of its target's
        /// node); keep DIR/CHECK.pcapng for each check that failed.
        #[arg(long, value_name = "DIR")]
        pcap: Option<PathBuf>,
        /// With --pcap: keep the captures of the checks that passed too.
        #[arg(long, requires = "pcap")]
        pcap_all: bool,
    },
    /// Capture packets inside a node, natively: pcapng to a file or to stdout
    /// (`netlab capture r1:eth0 | wireshark -k -i -`), until Ctrl-C, a count or a duration.
    Capture {
        /// NODE:IFACE, or NODE:* for every interface of the node.
        target: String,
        /// Write here (`-` or nothing: stdout).
        #[arg(short = 'w', long = "write", value_name = "FILE")]
        write: Option<PathBuf>,
        /// Stop after this many packets.
        #[arg(short = 'c', long)]
        count: Option<u64>,
        /// Stop after this long (`10s`, `500ms`, `1m`).
        #[arg(long, value_parser = capture::parse_duration)]
        duration: Option<std::time::Duration>,
        /// Bytes kept of each packet.
        #[arg(long, default_value_t = crate::capture::DEFAULT_SNAPLEN, value_parser = clap::value_parser!(u32).range(1..=262144))]
        snaplen: u32,
        /// Keep only what this BPF filter (tcpdump syntax) accepts: `icmp`, `udp port 53`.
        #[arg(short = 'f', long)]
        filter: Option<String>,
        #[arg(long, value_enum, default_value = "pcapng")]
        format: capture::FormatArg,
        #[arg(long)]
        lab: Option<String>,
    },
    /// The labs that are up on this machine.
    Ls {
        /// Print the labs as JSON (`"schema": 1`, described in docs/json.md).
        #[arg(long)]
        json: bool,
    },
    /// Check a file, touching nothing.
    Validate { file: PathBuf },
    /// The topology as a picture: Graphviz dot, Mermaid, or an SVG drawn by netlab itself.
    Graph {
        /// The topology file.
        file: PathBuf,
        #[arg(long, value_enum, default_value = "dot")]
        format: graph::GraphFormat,
        /// Write here instead of to stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Print the JSON Schema (draft 2020-12) of the topology file, for editors and CI:
    /// `netlab schema > netlab.schema.json`.
    Schema {
        /// Print the key reference of docs/FORMAT.md (Markdown) instead.
        #[arg(long)]
        markdown: bool,
    },
    /// Print a shell completion script: `netlab completions bash > /etc/bash_completion.d/netlab`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the manual page, or write one per subcommand into a directory.
    Man {
        /// Write netlab.1 and netlab-SUBCOMMAND.1 here instead of printing netlab(1).
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub enum LinkAction {
    /// Take NODE:IFACE down: the far end loses its carrier (on a switch, the port goes down).
    Down {
        /// NODE:IFACE
        target: String,
        #[arg(long)]
        lab: Option<String>,
    },
    /// Let NODE:IFACE up again.
    Up {
        /// NODE:IFACE
        target: String,
        #[arg(long)]
        lab: Option<String>,
    },
}

/// `--firewall`: how NAT and firewall rules are loaded.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FirewallArg {
    /// nftables, one table per namespace (the default where the kernel has it).
    Nft,
    /// iptables-restore, in chains of the lab's own.
    Iptables,
}

impl From<FirewallArg> for FirewallKind {
    fn from(a: FirewallArg) -> FirewallKind {
        match a {
            FirewallArg::Nft => FirewallKind::Nft,
            FirewallArg::Iptables => FirewallKind::Iptables,
        }
    }
}

/// Whether a command needs root: all but those that only read a file or describe netlab.
/// A new command needs root unless it is added here.
fn needs_root(c: &Command) -> bool {
    !matches!(
        c,
        Command::Validate { .. }
            | Command::Graph { .. }
            | Command::Schema { .. }
            | Command::Completions { .. }
            | Command::Man { .. }
    )
}

/// Runs a command and returns the process exit code.
pub fn run<S: System>(cli: Cli, sys: &S) -> Result<i32> {
    // Said before anything is tried: without the capabilities every command fails later,
    // and less clearly (a record it may not read, a namespace it may not enter).
    if needs_root(&cli.command) && !sys.privileged() {
        return Err(Error::NeedsRoot);
    }
    match cli.command {
        // exec replaces the process: it must run before any thread exists.
        Command::Exec { node, lab, all, nodes, json, stray, cmd } => match node {
            _ if !stray.is_empty() => Err(exec::missing_dashes(node.as_deref().unwrap_or("NODE"), &stray)),
            Some(_) if json && !all && nodes.is_none() => {
                Err(crate::error::Error::Usage("--json goes with --all or --nodes".into()))
            }
            Some(node) if !all && nodes.is_none() => exec::run(sys, &node, lab.as_deref(), &cmd),
            _ => exec::run_all(sys, lab.as_deref(), nodes.as_deref(), json, &cmd),
        },
        Command::Events { lab, json, initial_state } => events::run(sys, lab.as_deref(), json, initial_state),
        Command::Validate { file } => {
            let lab = Lab::load(&file)?;
            let m = &lab;
            let scenarios = match m.scenarios.len() {
                0 => String::new(),
                1 => ", 1 scenario".to_string(),
                n => format!(", {n} scenarios"),
            };
            println!(
                "{}: ok (lab {}: {}, {}, {}{scenarios})",
                file.display(),
                m.name,
                words::plural(m.nodes.len(), "node"),
                words::plural(m.links.len(), "link"),
                words::plural(m.checks.len(), "check")
            );
            Ok(0)
        }
        Command::Ls { json } => ls::run(sys, json),
        Command::Capture { target, write, count, duration, snaplen, filter, format, lab } => {
            let opts =
                crate::engine::capture::Options { count, duration, snaplen, filter, format: format.into() };
            capture::run(sys, &target, lab.as_deref(), write.as_deref(), opts)
        }
        Command::Graph { file, format, output } => graph::run(&file, format, output.as_deref()),
        Command::Completions { shell } => completions::completions(shell),
        Command::Schema { markdown } => schema::run(markdown),
        Command::Man { output } => completions::man(output.as_deref()),
        Command::Logs { target, lab, follow } => logs::run(sys, &target, lab.as_deref(), follow),
        other => sys.runtime()?.block_on(async move {
            match other {
                Command::Up { file, firewall, prune, adopt, reset } => {
                    let opts = Options { firewall: firewall.map(Into::into), prune, adopt, reset };
                    up::up(sys, &file, opts).await
                }
                Command::Plan { file, firewall, prune, adopt, reset } => {
                    let opts = Options { firewall: firewall.map(Into::into), prune, adopt, reset };
                    up::plan(sys, &file, opts).await
                }
                Command::Link { action: LinkAction::Down { target, lab } } => {
                    link::run(sys, &target, lab.as_deref(), true).await
                }
                Command::Link { action: LinkAction::Up { target, lab } } => {
                    link::run(sys, &target, lab.as_deref(), false).await
                }
                Command::Impair { target, rate, delay, jitter, loss, limit, clear, lab } => {
                    let flags = impair::Flags { rate, delay, jitter, loss, limit, clear };
                    impair::run(sys, &target, lab.as_deref(), flags).await
                }
                Command::Down { file, lab } => down::run(sys, file.as_deref(), lab.as_deref()).await,
                Command::Status { target, lab, json, exit_code } => {
                    let flags = status::Flags { json, exit_code };
                    status::run(sys, target.as_deref(), lab.as_deref(), flags).await
                }
                Command::Test { file, junit, up, down, scenario, pcap, pcap_all } => {
                    let flags = test::Flags { reconcile: up, tear_down: down, pcap, pcap_all };
                    test::run(sys, &file, junit.as_deref(), scenario.as_deref(), flags).await
                }
                Command::Exec { .. }
                | Command::Events { .. }
                | Command::Validate { .. }
                | Command::Ls { .. }
                | Command::Logs { .. }
                | Command::Capture { .. } => {
                    unreachable!("handled above")
                }
                Command::Graph { .. }
                | Command::Completions { .. }
                | Command::Man { .. }
                | Command::Schema { .. } => {
                    unreachable!("handled above")
                }
            }
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exec(args: &[&str]) -> Result<Command, clap::Error> {
        Cli::try_parse_from(["netlab", "exec"].iter().chain(args)).map(|c| c.command)
    }

    #[test]
    fn exec_takes_a_node_and_a_command_after_dashes_or_none() {
        let Ok(Command::Exec { node, cmd, stray, .. }) = exec(&["r1", "--", "ip", "-br", "addr"]) else {
            panic!("parses")
        };
        assert_eq!((node.as_deref(), cmd.len(), stray.len()), (Some("r1"), 3, 0));
        let Ok(Command::Exec { node, cmd, .. }) = exec(&["r1"]) else { panic!("parses") };
        assert_eq!((node.as_deref(), cmd.len()), (Some("r1"), 0));
        let Ok(Command::Exec { node, all, cmd, .. }) = exec(&["--all", "--", "hostname"]) else {
            panic!("parses")
        };
        assert!(node.is_none() && all && cmd == ["hostname"]);
        let Ok(Command::Exec { nodes, .. }) = exec(&["--nodes", "r*", "--lab", "x", "--", "true"]) else {
            panic!("parses")
        };
        assert_eq!(nodes.as_deref(), Some("r*"));
        let Ok(Command::Exec { lab, stray, cmd, .. }) = exec(&["h2", "--lab", "x", "--", "true"]) else {
            panic!("parses")
        };
        assert_eq!((lab.as_deref(), stray.len(), cmd.len()), (Some("x"), 0, 1));
    }

    #[test]
    fn words_after_the_node_without_dashes_are_caught_for_a_hint() {
        for args in [&["r1", "ip", "addr"][..], &["r1", "ip", "-br", "addr"][..]] {
            match exec(args) {
                Ok(Command::Exec { stray, cmd, .. }) => {
                    assert!(cmd.is_empty() && stray[0] == "ip", "{stray:?}")
                }
                other => panic!("{args:?}: {other:?}"),
            }
        }
        assert!(exec(&[]).is_err(), "a node, --all or --nodes is needed");
        assert!(exec(&["r1", "--all", "--", "true"]).is_err(), "a node and --all conflict");
    }
}
