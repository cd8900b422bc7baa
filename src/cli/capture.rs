//! `netlab capture NODE:IFACE [-w FILE] [-c N] [--duration D] [--snaplen N] [-f FILTER]
//! [--format pcapng|pcap] [--lab LAB]`: capture inside a node, natively, to a file or to
//! stdout (`| wireshark -k -i -`, `| tcpdump -r -`), until Ctrl-C, a count or a duration.

use crate::backend::System;
use crate::capture::Format;
use crate::engine::capture::{self, Ended, Options, Until};
use crate::error::{Error, Result};
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::time::Instant;

/// `--format`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum FormatArg {
    /// pcapng, with one interface block per interface (the default).
    Pcapng,
    /// Classic pcap, nanosecond timestamps; one interface only.
    Pcap,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Pcapng => Format::Pcapng,
            FormatArg::Pcap => Format::Pcap,
        }
    }
}

/// Parses `--duration`: `10s`, `500ms`, `1m`, by the file's one duration parser (a bare number
/// has no unit: the error says to write `10s`).
pub fn parse_duration(s: &str) -> std::result::Result<std::time::Duration, String> {
    crate::model::duration::parse_str(s).map_err(|e| match e.as_str() {
        "has no unit" => format!("{s:?} has no unit; write \"{}s\"", s.trim()),
        _ => format!("{s:?} {e}"),
    })
}

pub fn run<S: System>(
    sys: &S,
    spec: &str,
    lab: Option<&str>,
    write: Option<&Path>,
    opts: Options,
) -> Result<i32> {
    let to_stdout = write.is_none_or(|p| p == Path::new("-"));
    if to_stdout && std::io::stdout().is_terminal() {
        return Err(Error::Usage(
            "refusing to write a binary capture to a terminal: give -w FILE, or pipe it (| tcpdump -r -)"
                .into(),
        ));
    }
    let target = capture::locate(sys, spec, lab)?;
    // A bad filter is refused before any file is made.
    capture::check(&target, &opts)?;
    let stop = sys.stop_signal()?;
    let out: Box<dyn Write> = match write {
        Some(p) if !to_stdout => Box::new(create_output(p)?),
        _ => Box::new(std::io::stdout().lock()),
    };
    let (tap, mut writer) = capture::open(sys, &target, &target.ifaces, &opts, out)?;
    eprintln!(
        "netlab: capturing on {}:{} (lab {}){}",
        target.node,
        if target.ifaces.len() == 1 {
            target.ifaces[0].clone()
        } else {
            format!("{{{}}}", target.ifaces.join(","))
        },
        target.lab,
        opts.filter.as_ref().map(|f| format!(", filter {f:?}")).unwrap_or_default()
    );
    let until = Until { count: opts.count, deadline: opts.duration.map(|d| Instant::now() + d), stop };
    let summary = capture::record(&mut [(tap, 0)], &mut writer, &until)?;
    if summary.ended != Ended::ReaderGone {
        let n = summary.packets;
        let dropped = match summary.dropped {
            0 => String::new(),
            d => format!(", {d} dropped by the kernel (written too slowly)"),
        };
        eprintln!("netlab: {n} packet{} captured{dropped}", if n == 1 { "" } else { "s" });
    }
    Ok(0)
}

/// The capture file: made anew, or truncated where it is a file of our own. A symlink is never
/// followed and another user's file never truncated: run as root, either would let whoever
/// planted it have netlab overwrite any file of the machine.
fn create_output(path: &std::path::Path) -> Result<std::fs::File> {
    use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
    let err = |e| Error::Write { path: path.display().to_string(), source: e };
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .custom_flags(nix::libc::O_NOFOLLOW)
        .mode(0o644)
        .open(path)
        .map_err(err)?;
    let meta = f.metadata().map_err(err)?;
    // A named pipe is how a reader such as `wireshark -k -i FIFO` is fed: written, not truncated.
    if meta.file_type().is_fifo() {
        return Ok(f);
    }
    if !meta.is_file() || meta.uid() != nix::unistd::geteuid().as_raw() {
        return Err(err(std::io::Error::other(
            "not a regular file of this user's: remove it or write elsewhere",
        )));
    }
    f.set_len(0).map_err(err)?;
    Ok(f)
}
