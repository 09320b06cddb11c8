//! `payhub`: see [`payhub_server::cli`].

use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    payhub_server::telemetry::init();
    let cli = payhub_server::cli::Cli::parse();
    match payhub_server::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("payhub: {}", payhub_server::cli::describe(&error));
            std::process::ExitCode::FAILURE
        }
    }
}
