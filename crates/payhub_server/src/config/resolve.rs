//! Turning the merged input into [`Settings`]: defaults applied, every
//! value checked, and the error that names a bad one.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::{
    GatewaySettings, HubSettings, Mode, RetailSettings, Settings, SettingsInput, DEFAULT_DATA_DIR,
    DEFAULT_LISTEN,
};
use payhub_app::callback_policy::CallbackPolicy;
use payhub_core::gateway::CardAttempts;

/// A setting that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        path: String,
        source: std::io::Error,
    },
    #[error("config file {path} is invalid: {source}")]
    ParseFile {
        path: String,
        source: Box<toml::de::Error>,
    },
    #[error("invalid setting {name}: {reason}")]
    Invalid { name: &'static str, reason: String },
}

impl SettingsInput {
    /// Applies defaults and checks every value.
    pub fn resolve(self) -> Result<Settings, SettingsError> {
        let telco = self.telco_settings()?;
        let metrics = super::MetricsSettings::resolve(
            self.metrics_token.as_deref(),
            self.metrics_listen.as_deref(),
        )?;
        let rate_limits = self.rate_limit_settings()?;
        let listen_text = self.listen.unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
        let listen: SocketAddr = listen_text.parse().map_err(|e| SettingsError::Invalid {
            name: "listen",
            reason: format!("'{listen_text}': {e}"),
        })?;
        let data_dir = self
            .data_dir
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let database_url = self
            .database_url
            .unwrap_or_else(|| format!("sqlite://{}", data_dir.join("payhub.sqlite3").display()));
        let public_base_url = self
            .public_base_url
            .unwrap_or_else(|| format!("http://{listen}"));
        let parsed = url::Url::parse(&public_base_url).map_err(|e| SettingsError::Invalid {
            name: "public_base_url",
            reason: format!("'{public_base_url}': {e}"),
        })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.query().is_some() {
            return Err(SettingsError::Invalid {
                name: "public_base_url",
                reason: format!("'{public_base_url}' must be an http(s) URL without a query"),
            });
        }
        let retention_h = self.idempotency_retention_h.unwrap_or(24);
        if retention_h < 24 {
            return Err(SettingsError::Invalid {
                name: "idempotency_retention_h",
                reason: "keys are kept at least 24 hours".into(),
            });
        }
        let lease_s = self.idempotency_lease_s.unwrap_or(10);
        if !(1..=60).contains(&lease_s) {
            return Err(SettingsError::Invalid {
                name: "idempotency_lease_s",
                reason: "between 1 and 60 seconds".into(),
            });
        }
        let callback_policy = CallbackPolicy::parse(
            self.allowed_callback_nets.as_deref().unwrap_or(""),
        )
        .map_err(|reason| SettingsError::Invalid {
            name: "allowed_callback_nets",
            reason,
        })?;
        let mode = match self.mode.as_deref().unwrap_or("sandbox") {
            "sandbox" => Mode::Sandbox,
            "production" => Mode::Production,
            other => {
                return Err(SettingsError::Invalid {
                    name: "mode",
                    reason: format!("'{other}': expected sandbox or production"),
                })
            }
        };
        let card_attempts = match self.card_attempts {
            None => CardAttempts::DEFAULT,
            Some(allowed) => CardAttempts::new(allowed).ok_or_else(|| SettingsError::Invalid {
                name: "card_attempts",
                reason: format!("{allowed}: between 1 and {}", CardAttempts::MAX),
            })?,
        };
        let gateways = GatewaySettings {
            qr_expiry: Duration::from_secs(self.payment_expiry_s.unwrap_or(300).max(1)),
            call_timeout: Duration::from_millis(self.gateway_timeout_ms.unwrap_or(10_000).max(1)),
            check_base: Duration::from_millis(self.gateway_check_base_ms.unwrap_or(1_000).max(1)),
            check_max: Duration::from_secs(300),
            simulated_latency: Duration::from_millis(self.simulated_latency_ms.unwrap_or(150)),
            card_attempts,
            breaker: payhub_core::gateway::routing::Breaker::default(),
        };
        let retail = RetailSettings {
            webhook_interval: Duration::from_secs(self.retail_webhook_interval_s.unwrap_or(300)),
            webhook_attempts: self.retail_webhook_attempts.unwrap_or(5).max(1),
            signature_window: Duration::from_secs(
                self.retail_signature_window_s.unwrap_or(300).max(1),
            ),
        };
        let master_key = self.master_key.map(SecretString::from);
        if let Some(key) = &master_key {
            payhub_app::secrets::MasterKey::from_base64(key.expose_secret()).map_err(|e| {
                SettingsError::Invalid {
                    name: "master_key",
                    reason: e.to_string(),
                }
            })?;
        }
        let defaults = HubSettings::default();
        let hub = HubSettings {
            retry_base: self
                .hub_retry_base_ms
                .map_or(defaults.retry_base, Duration::from_millis),
            retry_max: self
                .hub_retry_max_s
                .map_or(defaults.retry_max, Duration::from_secs),
            max_attempts: self
                .hub_max_attempts
                .unwrap_or(defaults.max_attempts)
                .max(1),
            ..defaults
        };
        Ok(Settings {
            listen,
            data_dir,
            database_url,
            public_base_url: public_base_url.trim_end_matches('/').to_owned(),
            db_max_connections: self.db_max_connections.unwrap_or(10).max(1),
            list_max_scanned_rows: self.list_max_scanned_rows.unwrap_or(10_000).max(1),
            hub,
            idempotency_retention: Duration::from_secs(retention_h * 3600),
            idempotency_lease: Duration::from_secs(lease_s),
            callback_policy: Arc::new(callback_policy),
            mode,
            gateways,
            retail,
            telco,
            master_key,
            header_read_timeout: Duration::from_millis(
                self.header_read_timeout_ms.unwrap_or(10_000).max(1),
            ),
            idle_timeout: Duration::from_secs(self.idle_timeout_s.unwrap_or(60).max(1)),
            metrics,
            rate_limits,
        })
    }

    fn rate_limit_settings(&self) -> Result<super::RateLimitSettings, SettingsError> {
        use super::{self as limits, Rate};
        let rate = |name, per_s: Option<u32>, default, burst| {
            Rate::new(per_s.unwrap_or(default), burst)
                .map_err(|reason| SettingsError::Invalid { name, reason })
        };
        Ok(limits::RateLimitSettings {
            per_address: rate(
                "rate_limit_address_burst",
                self.rate_limit_address_per_s,
                limits::DEFAULT_ADDRESS_PER_S,
                self.rate_limit_address_burst,
            )?,
            per_merchant: rate(
                "rate_limit_merchant_burst",
                self.rate_limit_merchant_per_s,
                limits::DEFAULT_MERCHANT_PER_S,
                self.rate_limit_merchant_burst,
            )?,
            trusted_proxies: limits::parse_trusted_proxies(
                self.trusted_proxies.as_deref().unwrap_or(""),
            )
            .map_err(|reason| SettingsError::Invalid {
                name: "trusted_proxies",
                reason,
            })?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_embedded_sqlite_on_loopback() -> Result<(), SettingsError> {
        let s = SettingsInput::default().resolve()?;
        assert_eq!(s.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(s.database_url, "sqlite://payhub-data/payhub.sqlite3");
        assert_eq!(s.public_base_url, "http://127.0.0.1:8676");
        Ok(())
    }

    #[test]
    fn flags_win_over_the_file() -> Result<(), SettingsError> {
        let file: SettingsInput = toml::from_str("listen = \"127.0.0.1:1\"\ndata_dir = \"d\"")
            .map_err(|e| SettingsError::ParseFile {
                path: "-".into(),
                source: Box::new(e),
            })?;
        let flags = SettingsInput {
            listen: Some("127.0.0.1:2".into()),
            ..Default::default()
        };
        let s = flags.over(file).resolve()?;
        assert_eq!(s.listen.port(), 2);
        assert_eq!(s.data_dir, PathBuf::from("d"));
        Ok(())
    }

    #[test]
    fn refuses_bad_values() {
        for input in [
            SettingsInput {
                listen: Some("nowhere".into()),
                ..Default::default()
            },
            SettingsInput {
                public_base_url: Some("ftp://x".into()),
                ..Default::default()
            },
            SettingsInput {
                idempotency_retention_h: Some(1),
                ..Default::default()
            },
            SettingsInput {
                allowed_callback_nets: Some("10.0.0.0/99".into()),
                ..Default::default()
            },
            SettingsInput {
                idempotency_lease_s: Some(0),
                ..Default::default()
            },
            SettingsInput {
                rate_limit_merchant_burst: Some(0),
                ..Default::default()
            },
            SettingsInput {
                trusted_proxies: Some("the proxy".into()),
                ..Default::default()
            },
            SettingsInput {
                card_attempts: Some(0),
                ..Default::default()
            },
            SettingsInput {
                card_attempts: Some(11),
                ..Default::default()
            },
        ] {
            assert!(input.resolve().is_err());
        }
    }

    /// Three cards per payment unless told otherwise (docs/CONFIGURATION.md).
    #[test]
    fn card_attempts_default_to_three() -> Result<(), SettingsError> {
        let default = SettingsInput::default().resolve()?.gateways.card_attempts;
        assert_eq!(default.allowed(), 3);
        let one = SettingsInput {
            card_attempts: Some(1),
            ..Default::default()
        }
        .resolve()?;
        assert_eq!(one.gateways.card_attempts.allowed(), 1);
        Ok(())
    }

    /// The defaults docs/CONFIGURATION.md states; 0 turns a limit off.
    #[test]
    fn rate_limits_default_to_the_documented_values() -> Result<(), SettingsError> {
        let limits = SettingsInput::default().resolve()?.rate_limits;
        let pair =
            |rate: Option<crate::config::Rate>| rate.map(|r| (r.per_second.get(), r.burst.get()));
        assert_eq!(pair(limits.per_address), Some((50, 100)));
        assert_eq!(pair(limits.per_merchant), Some((200, 400)));
        assert!(limits.trusted_proxies.is_empty());
        let off = SettingsInput {
            rate_limit_address_per_s: Some(0),
            rate_limit_merchant_per_s: Some(0),
            ..Default::default()
        }
        .resolve()?
        .rate_limits;
        assert_eq!((off.per_address, off.per_merchant), (None, None));
        Ok(())
    }
}
