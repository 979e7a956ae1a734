//! Sending a request with its credentials: the static schemes from the user mapping, or an OAuth2
//! access token (got or renewed first, `oauth`), with the instance URL the token endpoint names.

use crate::error::TetherError;
use crate::http::endpoint::Endpoint;
use crate::http::oauth;
use crate::http::transport::{exchange, HttpResponse};

/// Add the endpoint's credentials to a request (getting an OAuth2 token first when needed).
fn apply(endpoint: &Endpoint, url: &mut String, headers: &mut Vec<(String, String)>) -> Result<(), TetherError> {
    let creds = &endpoint.credentials;
    if creds.apply_static(url, headers) {
        return Ok(());
    }
    let Some(cfg) = creds.oauth() else { return Ok(()) };
    let token = oauth::access(endpoint, cfg)?;
    headers.push(("Authorization".into(), format!("Bearer {}", token.access)));
    if let Some(instance) = &token.instance {
        if !creds.base_origin.is_empty() && url.starts_with(&creds.base_origin) {
            *url = format!("{instance}{}", &url[creds.base_origin.len()..]);
        }
    }
    Ok(())
}

/// Send one request and read the whole response, whatever its status; only a failure to exchange
/// (connect, timeout, reset) is an error. `retry::execute` decides what a status means. Blocking: call
/// it on a helper thread (see `wait`).
pub fn send_once(
    endpoint: &Endpoint,
    method: &str,
    url: &str,
    body: Option<(&[u8], &str)>,
    extra_headers: &[(String, String)],
) -> Result<HttpResponse, TetherError> {
    let mut full_url = url.to_string();
    let mut headers: Vec<(String, String)> = vec![("Accept".into(), "application/json".into())];
    headers.extend(endpoint.headers.iter().cloned());
    headers.extend(extra_headers.iter().cloned());
    apply(endpoint, &mut full_url, &mut headers)?;
    exchange(endpoint, method, &full_url, body, &headers)
}
