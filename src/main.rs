//! Minimal `rlkit` entry point wiring `rlkit nn <cmd>` (the lead merges this
//! into the full CLI).
use clap::Parser;

#[derive(Parser)]
#[command(
    name = "rlkit",
    version,
    about = "Reinforcement-learning experimentation toolkit"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(clap::Subcommand)]
enum Cmd {
    /// Neural networks: summary, init, forward, backward, gradcheck.
    Nn {
        #[command(subcommand)]
        cmd: rlkit::nn::cli::NnCommand,
    },
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.cmd {
        Cmd::Nn { cmd } => rlkit::nn::cli::run(cmd),
    };
    if let Err(e) = result {
        eprintln!("error: {e}");
        std::process::exit(e.exit_code());
    }
}
