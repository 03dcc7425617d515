//! The `waystation` binary: parses the command line and runs it. Every command
//! lives in the library, in `waystation::cli`.

use std::process::ExitCode;

use clap::Parser;
use waystation::cli::{self, Cli};

/// mimalloc: hands freed pages back to the system (the loader's temporaries would
/// otherwise stay resident) and is quicker than glibc for the many small buffers of
/// a response.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    cli::run(Cli::parse())
}
