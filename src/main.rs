//! The `netlab` command: parse the command line, call the library, choose the exit code.

use clap::Parser;
use netlab::cli::Cli;

fn main() {
    // The re-executed helper processes run before anything else exists: no threads, no runtime.
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("__netlab-init") {
        netlab::sys::process::init::main(&args[2..]);
    }
    quiet_on_closed_stdout();
    let cli = Cli::parse();
    let code = match netlab::cli::run(cli, &netlab::sys::Real::new()) {
        Ok(code) => code,
        Err(e) if closed_stdout(&e) => 0,
        // A sentence that names netlab itself already.
        Err(e @ netlab::Error::NeedsRoot) => {
            eprintln!("{e}");
            1
        }
        Err(netlab::Error::Spec(netlab::error::SpecError::At(diagnostics))) => {
            netlab::spec::report::eprint(&diagnostics);
            1
        }
        Err(e) => {
            eprintln!("netlab: {e}");
            1
        }
    };
    std::process::exit(code);
}

/// Whether an error is stdout's reader having gone (`netlab man | head`): then the output
/// was wanted no further, which is no failure.
fn closed_stdout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(e);
    while let Some(c) = cause {
        if c.downcast_ref::<std::io::Error>().is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe) {
            return true;
        }
        cause = c.source();
    }
    false
}

/// `println!` panics when stdout's reader has gone (Rust ignores SIGPIPE, so the write fails
/// with EPIPE): end quietly then, as `head` expects of what feeds it, instead of printing a
/// panic. Every other panic is reported as before.
fn quiet_on_closed_stdout() {
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        let epipe = std::io::Error::from_raw_os_error(nix::libc::EPIPE).to_string();
        if msg.starts_with("failed printing to stdout") && msg.ends_with(&epipe) {
            std::process::exit(0);
        }
        report(info)
    }));
}
