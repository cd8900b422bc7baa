//! `netlab __netlab-init KIND SPEC`: the entry point of the helper processes that outlive
//! `netlab up`. Dispatched from `main` before any thread exists, because `unshare` of mount and
//! pid namespaces and `setns` of a pid namespace need a single-threaded process. The programs
//! themselves are in `holder` (`hold`) and `supervisor` (`run`).

use serde::Deserialize;
use std::io;

/// Entry point of `__netlab-init`; never returns.
pub fn main(args: &[String]) -> ! {
    let result = match (args.first().map(String::as_str), args.get(1)) {
        (Some("hold"), Some(spec)) => read_spec(spec).and_then(|s| super::holder::hold(&s)),
        (Some("run"), Some(spec)) => read_spec(spec).and_then(|s| super::supervisor::supervise(&s)),
        _ => Err(io::Error::other("usage: __netlab-init hold|run SPEC")),
    };
    match result {
        Ok(()) => std::process::exit(0),
        Err(e) => {
            eprintln!("netlab-init: {e}");
            std::process::exit(1)
        }
    }
}

fn read_spec<T: for<'de> Deserialize<'de>>(path: &str) -> io::Result<T> {
    let text = crate::sys::private::read(std::path::Path::new(path), 64 << 20)?;
    serde_json::from_slice(&text).map_err(|e| io::Error::other(format!("reading {path}: {e}")))
}
