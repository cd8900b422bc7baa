//! `netlab events [--lab LAB] [--json] [--initial-state]`: a live stream of the labs'
//! link, address, route, workload and lab events, one line each (like `docker events`), or
//! one JSON object per line. Ends on SIGINT or SIGTERM, when the lab followed goes down, and
//! quietly when stdout is closed.

use crate::backend::System;
use crate::engine::events::{events, Options};
use crate::error::Result;
use std::io::Write;

pub fn run<S: System>(sys: &S, lab: Option<&str>, json: bool, initial: bool) -> Result<i32> {
    let mut stream = events(sys, Options { lab: lab.map(str::to_string), initial })?;
    end_when_stdout_closes();
    let mut out = std::io::stdout().lock();
    while let Some(e) = stream.next_event()? {
        let line = if json { e.to_json().to_string() } else { e.to_string() };
        // A reader that went away (`| head`) ends the stream, without a word.
        if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
            break;
        }
    }
    Ok(0)
}

/// Ends the process, quietly, once nobody reads its stdout any more (`| head`), also while
/// no event comes to find that out by writing: a pipe whose reader is gone polls as an error.
fn end_when_stdout_closes() {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    std::thread::spawn(|| loop {
        let stdout = std::io::stdout();
        // No events asked for: only an error or a hang-up wakes it.
        let mut fds = [PollFd::new(std::os::fd::AsFd::as_fd(&stdout), PollFlags::empty())];
        match poll(&mut fds, PollTimeout::from(200u16)) {
            Ok(n) if n > 0 => {
                let gone = fds[0].revents().is_some_and(|r| {
                    r.intersects(PollFlags::POLLERR | PollFlags::POLLHUP | PollFlags::POLLNVAL)
                });
                if gone {
                    std::process::exit(0);
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            Ok(_) | Err(nix::Error::EINTR) => {}
            Err(_) => return,
        }
    });
}
