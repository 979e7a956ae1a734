//! Credentials from a user mapping: which scheme, the secrets it holds (never shown: `Debug` prints
//! none, `secrets` lists them for redaction), the OAuth2 settings, and whose mapping it is. Adding
//! them to a request is `auth`'s.

use std::path::PathBuf;

use crate::connector::model::AuthScheme;
use crate::connector::options::Options;
use crate::connector::server::ServerDef;
use crate::connector::template;
use crate::error::TetherError;
use crate::http::redact;

/// Whose user mapping the credentials come from: with the options, what authorizes their tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MappingIdentity {
    /// The foreign server's oid.
    pub server: u32,
    /// The role the requests run as (the current user, or the owner of the view a table is read through).
    pub role: u32,
    /// The role the user mapping found is for: `role`, or 0 when it is the PUBLIC mapping. Roles sharing the
    /// PUBLIC mapping share its refresh token (and so its stored rotations), never an access token.
    pub mapping_role: u32,
}

/// A role with its own user mapping, for unit tests.
#[cfg(test)]
pub(crate) const ALICE: MappingIdentity = MappingIdentity { server: 16_500, role: 16_384, mapping_role: 16_384 };

/// What a user mapping and the connector say about getting tokens.
#[derive(Clone)]
pub struct OAuthConfig {
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    /// Pointer to the instance URL in the token response.
    pub instance_pointer: Option<String>,
    /// For hints: the role and server whose user mapping holds the options.
    pub role: String,
    pub server_name: String,
    pub identity: MappingIdentity,
    /// The directory of the rotated refresh token store; None keeps rotated tokens in this process only.
    pub token_store: Option<PathBuf>,
}

/// Credentials from a user mapping, applied per request; never logged or shown.
#[derive(Clone)]
pub struct Credentials {
    scheme: AuthScheme,
    token: Option<String>,
    user: Option<String>,
    password: Option<String>,
    api_key: Option<String>,
    api_key_header: String,
    api_key_param: String,
    pub(crate) oauth: Option<OAuthConfig>,
    /// Origin of the server's base URL: an OAuth2 instance URL replaces it in requests.
    pub(crate) base_origin: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, redacted)", self.scheme.as_str())
    }
}

impl Credentials {
    /// Credentials for `server` from its user mapping options (None when there is no mapping). `identity`
    /// says whose mapping it is and `token_store` where rotated refresh tokens are kept (see `oauth`).
    pub fn new(
        server: &ServerDef,
        server_name: &str,
        role: &str,
        identity: MappingIdentity,
        mapping: Option<&Options>,
        token_store: Option<std::path::PathBuf>,
    ) -> Result<Credentials, TetherError> {
        let get = |k: &str| mapping.and_then(|m| m.get(k)).cloned();
        let oauth = match (server.auth, get("client_id"), &server.token_url) {
            (AuthScheme::OAuth2, Some(client_id), Some(token_url)) => Some(OAuthConfig {
                token_url: token_url.clone(),
                client_id,
                client_secret: get("client_secret"),
                refresh_token: get("refresh_token"),
                scope: get("scope").or_else(|| server.connector.auth.scope.clone()),
                instance_pointer: server.connector.auth.instance_url.clone(),
                role: role.to_string(),
                server_name: server_name.to_string(),
                identity,
                token_store,
            }),
            _ => None,
        };
        for secret in [get("token"), get("password"), get("api_key"), get("client_secret"), get("refresh_token")]
            .into_iter()
            .flatten()
        {
            redact::remember(&secret);
        }
        let creds = Credentials {
            scheme: server.auth,
            token: get("token"),
            user: get("user"),
            password: get("password"),
            api_key: get("api_key"),
            api_key_header: server.api_key_header.clone(),
            api_key_param: server.api_key_param.clone(),
            base_origin: template::split_origin(&server.base_url).map(|(o, _)| o.to_string()).unwrap_or_default(),
            oauth,
        };
        let missing = match creds.scheme {
            AuthScheme::None => None,
            AuthScheme::Bearer if creds.token.is_none() => Some("token"),
            AuthScheme::Basic if creds.user.is_none() => Some("user"),
            AuthScheme::ApiKeyHeader | AuthScheme::ApiKeyQuery if creds.api_key.is_none() => Some("api_key"),
            AuthScheme::OAuth2 if creds.oauth.is_none() => Some("client_id"),
            AuthScheme::OAuth2
                if creds.oauth.as_ref().is_some_and(|o| o.refresh_token.is_none() && o.client_secret.is_none()) =>
            {
                Some("refresh_token")
            }
            _ => None,
        };
        if creds.scheme == AuthScheme::Basic {
            redact::remember(&creds.basic());
        }
        if let Some(option) = missing {
            let (message, hint) = match mapping {
                None => (
                    format!(
                        "no user mapping for role \"{role}\" on server \"{server_name}\", which uses {} auth",
                        creds.scheme.as_str()
                    ),
                    format!("CREATE USER MAPPING FOR \"{role}\" SERVER {server_name} OPTIONS ({option} '...')"),
                ),
                Some(_) => (
                    format!(
                        "the user mapping for role \"{role}\" on server \"{server_name}\" has no option {option}, needed by {} auth",
                        creds.scheme.as_str()
                    ),
                    format!("ALTER USER MAPPING FOR \"{role}\" SERVER {server_name} OPTIONS (ADD {option} '...')"),
                ),
            };
            return Err(TetherError::missing_option(message, Some(hint)));
        }
        Ok(creds)
    }

    pub fn none() -> Credentials {
        Credentials {
            scheme: AuthScheme::None,
            token: None,
            user: None,
            password: None,
            api_key: None,
            api_key_header: String::new(),
            api_key_param: String::new(),
            oauth: None,
            base_origin: String::new(),
        }
    }

    /// A hash identifying the account these credentials act as (for rate-limit buckets).
    pub fn identity(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (&self.token, &self.user, &self.api_key).hash(&mut h);
        if let Some(o) = &self.oauth {
            (&o.token_url, &o.client_id, &o.refresh_token).hash(&mut h);
        }
        h.finish()
    }

    pub fn is_oauth(&self) -> bool {
        self.oauth.is_some()
    }

    /// The OAuth2 settings of the mapping, when it uses OAuth2.
    pub fn oauth(&self) -> Option<&OAuthConfig> {
        self.oauth.as_ref()
    }

    /// Add the credentials of the static schemes to a request (bearer, basic, API key in a header or the
    /// query); false for OAuth2, whose token the sender gets first (`auth`).
    pub(crate) fn apply_static(&self, url: &mut String, headers: &mut Vec<(String, String)>) -> bool {
        match self.scheme {
            AuthScheme::OAuth2 => return false,
            AuthScheme::None => {}
            AuthScheme::Bearer => {
                headers.push(("Authorization".into(), format!("Bearer {}", self.token.as_deref().unwrap_or(""))))
            }
            AuthScheme::Basic => headers.push(("Authorization".into(), format!("Basic {}", self.basic()))),
            AuthScheme::ApiKeyHeader => {
                headers.push((self.api_key_header.clone(), self.api_key.clone().unwrap_or_default()))
            }
            AuthScheme::ApiKeyQuery => {
                template::append_query(url, &[(self.api_key_param.clone(), self.api_key.clone().unwrap_or_default())])
            }
        }
        true
    }

    /// The user mapping options this scheme reads, for hints.
    pub fn option_names(&self) -> &'static str {
        match self.scheme {
            AuthScheme::None => "options",
            AuthScheme::Bearer => "token",
            AuthScheme::Basic => "user and password",
            AuthScheme::ApiKeyHeader | AuthScheme::ApiKeyQuery => "api_key",
            AuthScheme::OAuth2 => "client_id, client_secret and refresh_token",
        }
    }

    /// Values that must never appear in messages (also in their encoded forms).
    pub(crate) fn secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        // The current OAuth2 access token is not here: every token obtained is remembered by `redact`.
        let oauth_secrets = self.oauth.as_ref().map(|o| [o.client_secret.clone(), o.refresh_token.clone()]);
        for s in [&self.token, &self.password, &self.api_key]
            .into_iter()
            .flatten()
            .chain(oauth_secrets.iter().flatten().flatten())
        {
            if s.len() >= 4 {
                out.push(s.clone());
                out.push(template::encode_query(s));
            }
        }
        if self.scheme == AuthScheme::Basic {
            out.push(self.basic());
        }
        out
    }

    /// `user:password` in base64, as the Basic scheme sends it.
    fn basic(&self) -> String {
        use base64::Engine;
        let raw = format!("{}:{}", self.user.as_deref().unwrap_or(""), self.password.as_deref().unwrap_or(""));
        base64::engine::general_purpose::STANDARD.encode(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connector;
    use crate::connector::server::resolve_server;
    use crate::http::testing::rest_endpoint as endpoint;
    use crate::http::{test_defaults, Endpoint};

    #[test]
    fn auth_schemes_are_applied() {
        struct Case {
            server: &'static [(&'static str, &'static str)],
            mapping: &'static [(&'static str, &'static str)],
            url: &'static str,
            header: Option<(&'static str, &'static str)>,
        }
        let cases = [
            Case {
                server: &[("auth", "bearer")],
                mapping: &[("token", "tok-1234")],
                url: "http://x/a",
                header: Some(("Authorization", "Bearer tok-1234")),
            },
            Case {
                server: &[("auth", "basic")],
                mapping: &[("user", "u"), ("password", "p")],
                url: "http://x/a",
                header: Some(("Authorization", "Basic dTpw")),
            },
            Case {
                server: &[("auth", "api_key_header"), ("api_key_header", "X-Key")],
                mapping: &[("api_key", "k-1234")],
                url: "http://x/a",
                header: Some(("X-Key", "k-1234")),
            },
            Case {
                server: &[("auth", "api_key_query")],
                mapping: &[("api_key", "k 1234")],
                url: "http://x/a?api_key=k%201234",
                header: None,
            },
        ];
        for Case { server, mapping, url: expected_url, header: expected_header } in cases {
            let e = endpoint(server, mapping);
            let mut url = "http://x/a".to_string();
            let mut headers = Vec::new();
            assert!(e.credentials.apply_static(&mut url, &mut headers));
            assert_eq!(url, expected_url);
            match expected_header {
                Some((k, v)) => assert_eq!(headers, vec![(k.to_string(), v.to_string())]),
                None => assert!(headers.is_empty()),
            }
        }
    }

    #[test]
    fn rate_limit_buckets_are_per_account() {
        let with = |token: &str, base: &str| {
            let opts: Options = [("connector", "hubspot"), ("base_url", base)]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let server = resolve_server(&opts, connector::find).unwrap();
            let m: Options = [("token".to_string(), token.to_string())].into_iter().collect();
            let creds = Credentials::new(&server, "s", "alice", ALICE, Some(&m), None).unwrap();
            Endpoint::new(&server, "s", creds, test_defaults()).rate_limit.clone().unwrap().0
        };
        let a = with("token-a", "http://127.0.0.1:1");
        assert_eq!(a, with("token-a", "http://127.0.0.1:1"), "one account, one bucket");
        assert_ne!(a, with("token-b", "http://127.0.0.1:1"), "another token is another account");
        assert_ne!(a, with("token-a", "http://127.0.0.1:2"));
        assert!(!a.contains("token-a"), "the key never holds the secret: {a}");
    }

    #[test]
    fn missing_credentials_are_a_clear_error() {
        let opts: Options = [("connector", "hubspot")].iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let server = resolve_server(&opts, connector::find).unwrap();
        let e = Credentials::new(&server, "hs", "alice", ALICE, None, None).unwrap_err();
        assert!(e.to_string().contains("no user mapping for role \"alice\" on server \"hs\""), "{e}");
        assert!(e.hint().unwrap().contains("CREATE USER MAPPING FOR \"alice\" SERVER hs OPTIONS (token"));
        let e = Credentials::new(&server, "hs", "alice", ALICE, Some(&Options::new()), None).unwrap_err();
        assert!(e.to_string().contains("has no option token"), "{e}");
    }
}
