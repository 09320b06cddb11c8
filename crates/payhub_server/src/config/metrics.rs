//! Where `/metrics` is served and who may read it (docs/METRICS.md); the
//! endpoint itself is `crate::metrics`.

use super::SettingsError;

/// Where `/metrics` is served, and who may read it.
#[derive(Clone, Debug, Default)]
pub struct MetricsSettings {
    /// `Authorization: Bearer` token for `/metrics` on the API listener.
    pub token: Option<secrecy::SecretString>,
    /// A separate listener for `/metrics` alone, with no token.
    pub listen: Option<std::net::SocketAddr>,
}

impl MetricsSettings {
    /// Checks the two settings: a token is visible ASCII without spaces, an
    /// address parses.
    pub fn resolve(token: Option<&str>, listen: Option<&str>) -> Result<Self, SettingsError> {
        if let Some(token) = token {
            if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(SettingsError::Invalid {
                    name: "metrics_token",
                    reason: "must be visible ASCII characters, no spaces".into(),
                });
            }
        }
        let listen = listen
            .map(|text| {
                text.parse().map_err(|e| SettingsError::Invalid {
                    name: "metrics_listen",
                    reason: format!("'{text}': {e}"),
                })
            })
            .transpose()?;
        Ok(Self {
            token: token.map(|t| secrecy::SecretString::from(t.to_owned())),
            listen,
        })
    }
}
