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
