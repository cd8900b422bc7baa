//! Kernel tests: real namespaces, real netlink, real nf_tables and cgroups, real traffic
//! between namespaces the tests made. Root only: every test starts with `root_or_skip`, which
//! fails instead of skipping when `CI` is set. Each test has a lab of its own (unique names)
//! that is torn down even when the test fails; host nodes run in a sandbox namespace.

mod support;

mod binding;
mod capture;
mod check_kinds;
mod checks;
mod confine;
mod converge;
mod crash;
mod events;
mod exec;
mod firewall;
mod iptables;
mod lan;
mod library;
mod live;
mod multipath;
mod ownership;
mod race;
mod random;
mod reconcile;
mod routing;
mod scale;
mod seccomp;
mod shaping;
mod status_json;
mod tamper;
mod workloads;
