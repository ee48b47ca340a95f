//! `rlkit`: a thin command-line interface over the rlkit library (see [`rlkit::cli`]).

fn main() -> std::process::ExitCode {
    rlkit::cli::main()
}
