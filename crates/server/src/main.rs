use std::process::ExitCode;

use auth_server::cli::{Cli, Command};
use auth_server::{Settings, telemetry};
use clap::Parser;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::load(&cli.config_dir) {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("auth-server: {error:#}");
            return ExitCode::FAILURE;
        }
    };
    telemetry::init(&settings.log);
    let command = cli.command.unwrap_or(Command::Serve { bind: None });
    match auth_server::cli::run(command, settings) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:#}");
            eprintln!("auth-server: {error:#}");
            ExitCode::FAILURE
        }
    }
}
