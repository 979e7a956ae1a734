//! Command-line parsing.

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use crate::state::{Config, MAX_LATENCY_MS, MAX_SEED};

pub const USAGE: &str = "\
fake-provider: imitates HubSpot CRM v3 and generic REST APIs on the loopback interface

USAGE:
    fake-provider [OPTIONS]

OPTIONS:
    --host ADDR           IPv4 loopback address to bind (default 127.0.0.1)
    --port N              port to listen on; 0 picks a free one (default 0)
    --token TOKEN         valid bearer / API-key credential (default test-token)
    --client-secret S     OAuth client secret at /oauth/v1/token and /oauth/token (default test-secret)
    --sf-client-secret S  OAuth client secret at Salesforce's /services/oauth2/token (default sf-secret)
    --basic-password P    password of the Basic user test-user at /auth/basic (default test-password)
    --seed-contacts N     number of active HubSpot contacts (default 25)
    --seed-companies N    number of active HubSpot companies (default 12)
    --seed-items N        number of generic REST items (default 30)
    --seed NAME=N         size of another provider's data set, e.g. --seed salesforce_accounts=250
    --latency-ms N        delay added before answering each non-control request (default 0)
    --port-file PATH      write the port number to PATH once listening
    -h, --help            print this help

Once ready it prints one line: `fake-provider listening on http://127.0.0.1:PORT`.
Control endpoints live under /_control/ (stats, reset, requests, latency, inject, stall, hold, held,
release, seed, oauth, oauth_tokens, and webhook, webhook_subscribe, webhook_deliveries).

Held answers (a page in flight while a test changes the data):
    POST /_control/hold?path_prefix=P[&method=M&times=N]   the next N matching requests are answered from
                                    the data as they find it, but only once released (at most 120 s)
    GET  /_control/held[?at_least=N&wait_ms=MS]   {waiting, held}, after waiting up to MS for N held
    POST /_control/release          let every held answer go: {released}

OAuth (the token endpoints /oauth/v1/token, /oauth/token and /services/oauth2/token):
    POST /_control/oauth?rotate=1   rotation mode: each refresh grant answers a new refresh token rt-rot-N
                                    and revokes the one used (invalid_grant from then on); rotate=0 or a reset
                                    turns it off; without rotate, answers {rotate} as it is
    GET  /_control/oauth_tokens     {access_tokens, refresh_tokens, revoked_refresh_tokens}: every token issued

Webhooks (signed in each provider's real scheme, to loopback receivers only):
    POST /_control/webhook?provider=P&url=U&secret=S&object=O&id=I&op=OP&mode=M
        send one now; answers {status, body, sent: {headers, body}} (502 if unreachable)
        P: hubspot | stripe | shopify | bigcommerce | rest    OP: create | update (default) | delete
        M: good (default) | bad | missing | stale | tampered
        U: http://127.0.0.1:PORT/... or http://localhost:PORT/...; bigcommerce secrets are whsec_<base64>
    POST /_control/webhook_subscribe?provider=P&url=U&secret=S[&mode=M]   (off=1 to remove)
        deliver after every write through P's API, in order, off the request path
    GET  /_control/webhook_deliveries[?provider=P]   subscriptions and deliveries made
";

#[derive(Debug, Clone)]
pub struct Cli {
    pub host: Ipv4Addr,
    pub port: u16,
    pub port_file: Option<PathBuf>,
    pub config: Config,
}

#[derive(Debug, PartialEq, Eq)]
pub enum CliError {
    Help,
    Usage(String),
}

fn parse_host(value: &str) -> Result<Ipv4Addr, CliError> {
    let addr = if value.eq_ignore_ascii_case("localhost") {
        IpAddr::V4(Ipv4Addr::LOCALHOST)
    } else {
        value.parse::<IpAddr>().map_err(|_| CliError::Usage(format!("--host: '{value}' is not an IP address")))?
    };
    match addr {
        IpAddr::V4(v4) if v4.is_loopback() => Ok(v4),
        IpAddr::V6(v6) if v6.is_loopback() => Err(CliError::Usage(format!(
            "--host: '{value}' is IPv6; only IPv4 loopback addresses (127.x.x.x) are supported"
        ))),
        _ => Err(CliError::Usage(format!("--host: refusing to listen on non-loopback address '{value}'"))),
    }
}

fn parse_num<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, CliError> {
    value.parse::<T>().map_err(|_| CliError::Usage(format!("{flag}: '{value}' is not a valid number")))
}

fn parse_seed(flag: &str, value: &str) -> Result<u64, CliError> {
    let n: u64 = parse_num(flag, value)?;
    if n > MAX_SEED {
        return Err(CliError::Usage(format!("{flag}: at most {MAX_SEED}")));
    }
    Ok(n)
}

/// Parses the arguments after the program name. Accepts `--flag value` and `--flag=value`.
pub fn parse<I, S>(args: I) -> Result<Cli, CliError>
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
{
    let mut cli = Cli { host: Ipv4Addr::LOCALHOST, port: 0, port_file: None, config: Config::default() };
    let mut args = args.into_iter().map(Into::into);
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            return Err(CliError::Help);
        }
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let known = [
            "--host",
            "--port",
            "--token",
            "--client-secret",
            "--sf-client-secret",
            "--basic-password",
            "--seed-contacts",
            "--seed-companies",
            "--seed-items",
            "--seed",
            "--latency-ms",
            "--port-file",
        ];
        if !known.contains(&flag.as_str()) {
            return Err(CliError::Usage(format!("unknown argument '{arg}'")));
        }
        let value = match inline.or_else(|| args.next()) {
            Some(v) => v,
            None => return Err(CliError::Usage(format!("{flag} needs a value"))),
        };
        match flag.as_str() {
            "--host" => cli.host = parse_host(&value)?,
            "--port" => cli.port = parse_num(&flag, &value)?,
            "--token" => {
                if value.is_empty() {
                    return Err(CliError::Usage("--token must not be empty".into()));
                }
                cli.config.token = value;
            }
            "--client-secret" | "--sf-client-secret" | "--basic-password" => {
                if value.is_empty() {
                    return Err(CliError::Usage(format!("{flag} must not be empty")));
                }
                match flag.as_str() {
                    "--client-secret" => cli.config.client_secret = value,
                    "--sf-client-secret" => cli.config.sf_client_secret = value,
                    _ => cli.config.basic_password = value,
                }
            }
            "--seed-contacts" => cli.config.seed_contacts = parse_seed(&flag, &value)?,
            "--seed-companies" => cli.config.seed_companies = parse_seed(&flag, &value)?,
            "--seed-items" => cli.config.seed_items = parse_seed(&flag, &value)?,
            "--seed" => {
                let Some((name, count)) = value.split_once('=') else {
                    return Err(CliError::Usage(format!("--seed takes NAME=COUNT, got '{value}'")));
                };
                cli.config.seeds.insert(name.to_string(), parse_seed(&flag, count)?);
            }
            "--latency-ms" => {
                let ms: u64 = parse_num(&flag, &value)?;
                if ms > MAX_LATENCY_MS {
                    return Err(CliError::Usage(format!("{flag}: at most {MAX_LATENCY_MS}")));
                }
                cli.config.latency_ms = ms;
            }
            "--port-file" => cli.port_file = Some(PathBuf::from(value)),
            _ => return Err(CliError::Usage(format!("unknown argument '{arg}'"))),
        }
    }
    Ok(cli)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_flags() {
        let cli = parse(Vec::<String>::new()).expect("defaults");
        assert_eq!(cli.host, Ipv4Addr::LOCALHOST);
        assert_eq!(cli.port, 0);
        assert_eq!(cli.config.token, "test-token");
        assert_eq!(cli.config.client_secret, "test-secret");
        assert_eq!(cli.config.sf_client_secret, "sf-secret");
        assert_eq!(cli.config.basic_password, "test-password");
        assert_eq!(cli.config.seed_contacts, 25);
        assert_eq!(cli.config.seed_companies, 12);
        assert_eq!(cli.config.seed_items, 30);
        assert_eq!(cli.config.latency_ms, 0);

        let cli = parse([
            "--port",
            "8080",
            "--token=abc",
            "--seed-contacts",
            "7",
            "--latency-ms",
            "5",
            "--port-file",
            "/tmp/p",
            "--host",
            "127.0.0.2",
            "--client-secret",
            "cs-1234",
            "--sf-client-secret=sf-5678",
            "--basic-password",
            "pw-9012",
        ])
        .expect("flags");
        assert_eq!(cli.config.client_secret, "cs-1234");
        assert_eq!(cli.config.sf_client_secret, "sf-5678");
        assert_eq!(cli.config.basic_password, "pw-9012");
        assert_eq!(cli.port, 8080);
        assert_eq!(cli.config.token, "abc");
        assert_eq!(cli.config.seed_contacts, 7);
        assert_eq!(cli.config.latency_ms, 5);
        assert_eq!(cli.port_file, Some(PathBuf::from("/tmp/p")));
        assert_eq!(cli.host, Ipv4Addr::new(127, 0, 0, 2));
    }

    #[test]
    fn bad_flags() {
        assert_eq!(parse(["--help"]).err(), Some(CliError::Help));
        for bad in [
            vec!["--host", "0.0.0.0"],
            vec!["--host", "10.1.2.3"],
            vec!["--host", "::1"],
            vec!["--port", "abc"],
            vec!["--port", "70000"],
            vec!["--port"],
            vec!["--bogus"],
            vec!["--seed-items", "-1"],
            vec!["--latency-ms", "300001"],
            vec!["--client-secret", ""],
            vec!["--sf-client-secret"],
            vec!["--basic-password", ""],
        ] {
            assert!(matches!(parse(bad.clone()), Err(CliError::Usage(_))), "{bad:?}");
        }
    }
}
