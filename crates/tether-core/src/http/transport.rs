//! One HTTP exchange: the backend's ureq agent (one connection pool per process, redirects reported
//! and not followed), the request as given (credentials already in it), the whole answer whatever its
//! status, and transport failures (connect, timeouts, resets) as errors that say what to check.
//! Blocking: it runs on helper threads (`wait`).

use std::time::Duration;

use once_cell::sync::Lazy;

use crate::connector::template;
use crate::error::TetherError;
use crate::http::endpoint::Endpoint;

/// Largest response body read into memory (one page).
pub const MAX_RESPONSE_BYTES: u64 = 256 * 1024 * 1024;

static AGENT: Lazy<ureq::Agent> = Lazy::new(|| {
    ureq::Agent::config_builder()
        // Error statuses are answers to read (the provider's message), not transport failures.
        .http_status_as_error(false)
        // A redirect could carry credentials to another host: report it instead of following it.
        .max_redirects(0)
        .max_redirects_will_error(false)
        .user_agent(concat!("tether/", env!("CARGO_PKG_VERSION")))
        .build()
        .new_agent()
});

/// The backend's agent: keep-alive connections are reused across statements.
pub fn agent() -> &'static ureq::Agent {
    &AGENT
}

#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// One exchange with the headers given (credentials already in them), whatever the status.
pub fn exchange(
    endpoint: &Endpoint,
    method: &str,
    full_url: &str,
    body: Option<(&[u8], &str)>,
    headers: &[(String, String)],
) -> Result<HttpResponse, TetherError> {
    // The credentials are in `full_url` (auth 'api_key_query'): shown without them.
    let shown = endpoint.redact(&format!("{method} {}", template::display_path(full_url)));
    let mut builder = ureq::http::Request::builder().method(method).uri(full_url);
    for (k, v) in headers {
        builder = builder.header(k, v);
    }
    let (payload, has_body) = match body {
        Some((bytes, content_type)) => {
            builder = builder.header("Content-Type", content_type);
            (bytes.to_vec(), true)
        }
        None => (Vec::new(), false),
    };
    let transport = |message: String, connect: bool| TetherError::Transport {
        connector: endpoint.connector.clone(),
        message,
        detail: format!("while sending {shown} to server \"{}\"", endpoint.server_name),
        connect,
    };
    let request = builder
        .body(payload)
        .map_err(|e| transport(endpoint.redact(&format!("could not build the request: {e}")), false))?;
    let agent = agent();
    let request = agent
        .configure_request(request)
        .timeout_connect(Some(endpoint.connect_timeout))
        .timeout_resolve(Some(endpoint.connect_timeout))
        .timeout_per_read(Some(endpoint.read_timeout))
        .timeout_per_write(Some(endpoint.read_timeout))
        .build();
    let result = if has_body {
        agent.run(request)
    } else {
        let (parts, _) = request.into_parts();
        agent.run(ureq::http::Request::from_parts(parts, ()))
    };
    let mut response = result.map_err(|e| transport_error(endpoint, e, &transport))?;
    let status = response.status().as_u16();
    let headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
        .collect();
    let body = response.body_mut().with_config().limit(MAX_RESPONSE_BYTES).read_to_vec().map_err(|e| match e {
        ureq::Error::BodyExceedsLimit(n) => TetherError::BadResponse {
            connector: endpoint.connector.clone(),
            message: format!("the response to {shown} is larger than {n} bytes"),
            detail: "ask for smaller pages with the table option page_size".into(),
        },
        other => transport_error(endpoint, other, &transport),
    })?;
    Ok(HttpResponse { status, headers, body })
}

fn transport_error(
    endpoint: &Endpoint,
    e: ureq::Error,
    transport: &dyn Fn(String, bool) -> TetherError,
) -> TetherError {
    use ureq::Timeout;
    let host = template::display_origin(&endpoint.base_url);
    let secs = |d: Duration| {
        if d.as_millis().is_multiple_of(1000) {
            format!("{}s", d.as_secs())
        } else {
            format!("{}ms", d.as_millis())
        }
    };
    match e {
        ureq::Error::Timeout(Timeout::Connect | Timeout::Resolve) => transport(
            format!("could not connect to {host} within connect_timeout ({})", secs(endpoint.connect_timeout)),
            true,
        ),
        ureq::Error::Timeout(_) => transport(
            format!("the provider did not answer within read_timeout ({})", secs(endpoint.read_timeout)),
            false,
        ),
        ureq::Error::HostNotFound => transport(format!("could not resolve the host of {host}"), true),
        ureq::Error::ConnectionFailed => transport(format!("could not connect to {host}"), true),
        ureq::Error::Io(io) => {
            let connect = matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::AddrNotAvailable
                    | std::io::ErrorKind::NotFound
            );
            if connect {
                transport(format!("could not connect to {host}: {io}"), true)
            } else {
                transport(format!("connection to {host} failed: {io}"), false)
            }
        }
        ureq::Error::Tls(m) => transport(format!("TLS failure talking to {host}: {m}"), true),
        ureq::Error::Rustls(e) => transport(format!("TLS failure talking to {host}: {e}"), true),
        other => transport(endpoint.redact(&format!("request to {host} failed: {other}")), false),
    }
}
