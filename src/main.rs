//! The `netlab` command: parse the command line, call the library, choose the exit code.

use clap::Parser;
use netlab::cli::Cli;

fn main() {
    // The re-executed helper processes run before anything else exists: no threads, no runtime.
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("__netlab-init") {
        netlab::sys::process::init::main(&args[2..]);
    }
    let cli = Cli::parse();
    let code = match netlab::cli::run(cli, &netlab::sys::Real::new()) {
        Ok(code) => code,
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
