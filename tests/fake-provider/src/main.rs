//! fake-provider: imitates real provider APIs (HubSpot CRM v3, Salesforce, Airtable, Stripe, Shopify,
//! BigCommerce, OAuth2 token endpoints, generic REST styles, auth schemes, faults) on 127.0.0.1 so tests and
//! benchmarks never touch the internet, and sends their signed webhooks to loopback receivers (`webhooks`).
//! See `cli::USAGE` for flags and endpoints.
//!
//! Layout: one folder per provider fake (its `mod.rs` says what it imitates and which files hold what), helpers
//! several of them use in `shared`, and the server around them: `server` (sockets), `app` (the router),
//! `control` (`/_control/...`), `faults` (`/faults/...`), `state` (what requests change), `providers` (the list
//! the router and the control endpoints go through).

mod airtable;
mod app;
mod bigcommerce;
mod cli;
mod control;
mod faults;
mod gate;
mod http;
mod hubspot;
mod oauth;
mod providers;
mod rest;
mod salesforce;
mod server;
mod shared;
mod shopify;
mod state;
mod stripe;
#[cfg(test)]
mod tests;
mod webhooks;

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use crate::cli::CliError;
use crate::state::State;

fn write_port_file(path: &Path, port: u16) -> std::io::Result<()> {
    // Write then rename so a watcher never sees a half-written file.
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    std::fs::write(&tmp, port.to_string())?;
    std::fs::rename(&tmp, path)
}

fn main() -> ExitCode {
    let cli = match cli::parse(std::env::args().skip(1)) {
        Ok(cli) => cli,
        Err(CliError::Help) => {
            print!("{}", cli::USAGE);
            return ExitCode::SUCCESS;
        }
        Err(CliError::Usage(msg)) => {
            eprintln!("fake-provider: {msg}\nRun `fake-provider --help` for usage.");
            return ExitCode::from(2);
        }
    };

    let state = Arc::new(State::new(cli.config.clone()));
    let listener = match server::bind_listener(cli.host, cli.port) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("fake-provider: cannot listen on {}:{}: {e}", cli.host, cli.port);
            return ExitCode::FAILURE;
        }
    };
    let port = match listener.local_addr() {
        Ok(addr) => addr.port(),
        Err(e) => {
            eprintln!("fake-provider: cannot read the bound address: {e}");
            return ExitCode::FAILURE;
        }
    };
    let server = match server::start(listener) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("fake-provider: cannot start the HTTP server: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(path) = &cli.port_file {
        if let Err(e) = write_port_file(path, port) {
            eprintln!("fake-provider: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    let mut stdout = std::io::stdout();
    let _ = writeln!(stdout, "fake-provider listening on http://{}:{port}", cli.host);
    let _ = stdout.flush();

    server::serve(&server, &state);
    ExitCode::SUCCESS
}
