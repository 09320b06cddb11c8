//! The telco payment service's settings (seed 004): each channel's
//! defaults for the flags a request may leave out, read from per-channel
//! lists such as `10=false,40=true` over seed 004's table.

use std::time::Duration;

use payhub_app::carrier_billing::camara::CamaraConfig;
use payhub_app::carrier_billing::sms::smpp::{BindMode, SmppConfig};
use payhub_core::Channel;
use secrecy::SecretString;

use super::{SettingsError, SettingsInput};

/// The telco payment service (seed 004).
#[derive(Clone, Debug)]
pub struct TelcoSettings {
    /// Per channel: `isDeliverable`, `isBillingRequired` and `isRemovable`
    /// when a request leaves them out.
    pub defaults: Vec<(Channel, ChannelDefaults)>,
    /// How long the subscriber has to consent.
    pub consent_ttl: Duration,
    /// How long a reservation (channel 10) waits for its commit before it is released.
    pub reservation_ttl: Duration,
    /// The simulated carrier billing system's spending limit per subscriber, in minor units.
    pub spending_limit_minor: i64,
    /// How long the simulated carrier takes to answer (zero; tests set it
    /// beyond the gateway call timeout to leave a carrier call unanswered).
    pub carrier_latency: Duration,
    /// Which carrier billing system the bill is.
    pub carrier: CarrierChoice,
    /// Which SMS centre texts the consent codes.
    pub sms: SmsChoice,
}

/// The SMS centre behind the telco payment service.
#[derive(Clone, Debug)]
pub enum SmsChoice {
    /// The sandbox's simulated SMS centre, keeping its texts in the
    /// database for `GET /sandbox/v1/sms` (the default).
    Simulated,
    /// An operator's SMSC over SMPP v3.4.
    Smpp(SmppConfig),
}

/// The carrier billing system behind the telco payment service.
#[derive(Clone, Debug)]
pub enum CarrierChoice {
    /// The sandbox's simulated bill, in the database (the default).
    Simulated,
    /// An operator's CAMARA Carrier Billing API.
    Camara(CamaraConfig),
}

/// A channel's defaults (seed 004 lists them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelDefaults {
    pub is_deliverable: bool,
    pub is_billing_required: bool,
    pub is_removable: bool,
}

impl TelcoSettings {
    /// The defaults of a channel.
    pub fn defaults_of(&self, channel: Channel) -> ChannelDefaults {
        self.defaults
            .iter()
            .find(|(c, _)| *c == channel)
            .map(|(_, d)| *d)
            .unwrap_or(ChannelDefaults {
                is_deliverable: false,
                is_billing_required: false,
                is_removable: true,
            })
    }
}

/// The channel an operator's list names by `number` (`10=false`): the
/// configuration names channels by the telco API's `channelId`, so that an
/// operator writes what the API's clients send. The telco dialect's own
/// mapping (`api_telco::channel`) has a test that both agree; config cannot
/// use the dialect's, as the dialect reads its settings from here.
pub(crate) fn channel_of_number(number: i64) -> Option<Channel> {
    Channel::ALL.into_iter().find(|channel| {
        number
            == match channel {
                Channel::ReserveAndCommit => 10,
                Channel::DirectDebit => 11,
                Channel::CreditCard => 40,
                Channel::InAppPurchase => 50,
            }
    })
}

/// Seed 004's defaults per channel: (deliverable, billing required, removable).
const SEED_004_DEFAULTS: [(i64, bool, bool, bool); 4] = [
    (10, false, false, true),
    (11, false, false, true),
    (40, true, true, true),
    (50, false, false, true),
];

/// Reads a per-channel flag list such as `10=false,40=true` over `base`.
fn channel_flags(
    name: &'static str,
    text: Option<&str>,
    mut base: Vec<(Channel, bool)>,
) -> Result<Vec<(Channel, bool)>, SettingsError> {
    let invalid = |reason: String| SettingsError::Invalid { name, reason };
    for part in text
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        let (id, flag) = part
            .split_once('=')
            .ok_or_else(|| invalid(format!("'{part}': expected CHANNEL=true|false")))?;
        let channel = id
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(channel_of_number)
            .ok_or_else(|| invalid(format!("'{id}' is not a channel (10, 11, 40, 50)")))?;
        let flag = match flag.trim() {
            "true" => true,
            "false" => false,
            other => return Err(invalid(format!("'{other}': expected true or false"))),
        };
        match base.iter_mut().find(|(c, _)| *c == channel) {
            Some(entry) => entry.1 = flag,
            None => base.push((channel, flag)),
        }
    }
    Ok(base)
}

impl SettingsInput {
    /// The telco settings: seed 004's defaults with the given flags over them.
    pub(super) fn telco_settings(&self) -> Result<TelcoSettings, SettingsError> {
        let seed = |pick: fn(&(i64, bool, bool, bool)) -> bool| -> Vec<(Channel, bool)> {
            SEED_004_DEFAULTS
                .iter()
                .filter_map(|entry| channel_of_number(entry.0).map(|c| (c, pick(entry))))
                .collect()
        };
        let deliverable = channel_flags(
            "telco_default_deliverable",
            self.telco_default_deliverable.as_deref(),
            seed(|e| e.1),
        )?;
        let billing = channel_flags(
            "telco_default_billing_required",
            self.telco_default_billing_required.as_deref(),
            seed(|e| e.2),
        )?;
        let removable = channel_flags(
            "telco_default_removable",
            self.telco_default_removable.as_deref(),
            seed(|e| e.3),
        )?;
        let flag = |list: &[(Channel, bool)], channel: Channel| {
            list.iter().any(|(c, f)| *c == channel && *f)
        };
        let limit = self.telco_spending_limit_minor.unwrap_or(50_000);
        if limit < 0 {
            return Err(SettingsError::Invalid {
                name: "telco_spending_limit_minor",
                reason: "must not be negative".into(),
            });
        }
        Ok(TelcoSettings {
            defaults: Channel::ALL
                .into_iter()
                .map(|channel| {
                    (
                        channel,
                        ChannelDefaults {
                            is_deliverable: flag(&deliverable, channel),
                            is_billing_required: flag(&billing, channel),
                            is_removable: flag(&removable, channel),
                        },
                    )
                })
                .collect(),
            consent_ttl: Duration::from_secs(self.telco_consent_ttl_s.unwrap_or(900).max(1)),
            reservation_ttl: Duration::from_secs(
                self.telco_reservation_ttl_s.unwrap_or(1800).max(1),
            ),
            spending_limit_minor: limit,
            carrier_latency: Duration::ZERO,
            carrier: self.carrier_choice()?,
            sms: self.sms_choice()?,
        })
    }

    /// The SMS centre: simulated unless `sms = smpp`, which needs the
    /// SMSC's host, payhub's system_id and password, and a sender.
    fn sms_choice(&self) -> Result<SmsChoice, SettingsError> {
        match self.sms.as_deref().unwrap_or("simulated") {
            "simulated" => Ok(SmsChoice::Simulated),
            "smpp" => {
                // SMPP v3.4 C-Octet String sizes (5.2), less their NUL.
                let text =
                    |name: &'static str, value: &Option<String>, required: bool, max: usize| {
                        let text = value.clone().unwrap_or_default();
                        if required && text.is_empty() {
                            return Err(SettingsError::Invalid {
                                name,
                                reason: "required when sms is smpp".into(),
                            });
                        }
                        if text.len() > max || !text.bytes().all(|b| b.is_ascii_graphic()) {
                            return Err(SettingsError::Invalid {
                                name,
                                reason: format!("at most {max} printable ASCII characters"),
                            });
                        }
                        Ok(text)
                    };
                let host = text("smpp_host", &self.smpp_host, true, 253)?;
                let source_addr = text("smpp_source_addr", &self.smpp_source_addr, true, 20)?;
                let alphanumeric = !source_addr.bytes().all(|b| b.is_ascii_digit());
                if alphanumeric
                    && (source_addr.len() > 11
                        || !source_addr.bytes().all(|b| b.is_ascii_alphanumeric()))
                {
                    return Err(SettingsError::Invalid {
                        name: "smpp_source_addr",
                        reason: "a sender name is at most 11 letters and digits".into(),
                    });
                }
                let bind = match self.smpp_bind.as_deref().unwrap_or("transceiver") {
                    "transceiver" => BindMode::Transceiver,
                    "transmitter" => BindMode::Transmitter,
                    other => {
                        return Err(SettingsError::Invalid {
                            name: "smpp_bind",
                            reason: format!("'{other}': expected transceiver or transmitter"),
                        })
                    }
                };
                Ok(SmsChoice::Smpp(SmppConfig {
                    host,
                    port: self.smpp_port.unwrap_or(2775),
                    system_id: text("smpp_system_id", &self.smpp_system_id, true, 15)?,
                    password: SecretString::from(text(
                        "smpp_password",
                        &self.smpp_password,
                        true,
                        8,
                    )?),
                    system_type: text("smpp_system_type", &self.smpp_system_type, false, 12)?,
                    source_addr,
                    bind,
                    enquire_link_interval: Duration::from_secs(
                        self.smpp_enquire_link_s.unwrap_or(30).max(1),
                    ),
                    response_timeout: Duration::from_millis(
                        self.gateway_timeout_ms.unwrap_or(10_000).max(1),
                    ),
                }))
            }
            other => Err(SettingsError::Invalid {
                name: "sms",
                reason: format!("'{other}': expected simulated or smpp"),
            }),
        }
    }

    /// Where the CAMARA API sends notifications: an `https` URL (the API
    /// accepts no other sink), without query or fragment; unset: none.
    fn camara_sink(&self) -> Result<Option<String>, SettingsError> {
        let Some(text) = self.camara_sink_url.as_ref().filter(|t| !t.is_empty()) else {
            return Ok(None);
        };
        match url::Url::parse(text) {
            Ok(url) if url.scheme() == "https" && url.query().is_none() && url.fragment().is_none() => {
                Ok(Some(text.trim_end_matches('/').to_owned()))
            }
            _ => Err(SettingsError::Invalid {
                name: "camara_sink_url",
                reason: format!("'{text}' is not an https URL without query (the API sends only to https sinks)"),
            }),
        }
    }

    /// The carrier: simulated unless `carrier = camara`, which needs its
    /// base URL, token URL, client id and secret.
    fn carrier_choice(&self) -> Result<CarrierChoice, SettingsError> {
        match self.carrier.as_deref().unwrap_or("simulated") {
            "simulated" => Ok(CarrierChoice::Simulated),
            "camara" => {
                let url = |name: &'static str, value: &Option<String>| {
                    let text = value.clone().ok_or(SettingsError::Invalid {
                        name,
                        reason: "required when carrier is camara".into(),
                    })?;
                    match url::Url::parse(&text) {
                        Ok(parsed) if matches!(parsed.scheme(), "http" | "https") => Ok(text),
                        _ => Err(SettingsError::Invalid {
                            name,
                            reason: format!("'{text}' is not an http(s) URL"),
                        }),
                    }
                };
                let base_url = url("camara_base_url", &self.camara_base_url)?;
                let refund_base_url = match &self.camara_refund_base_url {
                    Some(_) => url("camara_refund_base_url", &self.camara_refund_base_url)?,
                    None => base_url.clone(),
                };
                let required = |name: &'static str, value: &Option<String>| {
                    value
                        .clone()
                        .filter(|v| !v.is_empty())
                        .ok_or(SettingsError::Invalid {
                            name,
                            reason: "required when carrier is camara".into(),
                        })
                };
                Ok(CarrierChoice::Camara(CamaraConfig {
                    base_url,
                    refund_base_url,
                    token_url: url("camara_token_url", &self.camara_token_url)?,
                    client_id: required("camara_client_id", &self.camara_client_id)?,
                    client_secret: SecretString::from(required(
                        "camara_client_secret",
                        &self.camara_client_secret,
                    )?),
                    sink_url: self.camara_sink()?,
                }))
            }
            other => Err(SettingsError::Invalid {
                name: "carrier",
                reason: format!("'{other}': expected simulated or camara"),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn camara() -> SettingsInput {
        SettingsInput {
            carrier: Some("camara".into()),
            camara_base_url: Some("https://api.operator.example/carrier-billing/v0".into()),
            camara_token_url: Some("https://auth.operator.example/token".into()),
            camara_client_id: Some("payhub".into()),
            camara_client_secret: Some("secret".into()),
            ..Default::default()
        }
    }

    fn smpp() -> SettingsInput {
        SettingsInput {
            sms: Some("smpp".into()),
            smpp_host: Some("smsc.operator.example".into()),
            smpp_system_id: Some("payhub".into()),
            smpp_password: Some("s3cr3t".into()),
            smpp_source_addr: Some("PAYHUB".into()),
            ..Default::default()
        }
    }

    #[test]
    fn the_simulated_sms_centre_is_the_default() -> Result<(), SettingsError> {
        let settings = SettingsInput::default().resolve()?;
        assert!(matches!(settings.telco.sms, SmsChoice::Simulated));
        Ok(())
    }

    #[test]
    fn an_smsc_needs_its_host_login_and_sender() -> Result<(), SettingsError> {
        let SmsChoice::Smpp(config) = smpp().resolve()?.telco.sms else {
            unreachable!("smpp was asked for")
        };
        assert_eq!((config.port, config.bind), (2775, BindMode::Transceiver));
        assert_eq!(config.system_type, "");
        assert_eq!(config.password.expose_secret(), "s3cr3t");
        assert!(
            !format!("{config:?}").contains("s3cr3t"),
            "the password is not in Debug"
        );
        let wrong: [fn(&mut SettingsInput); 7] = [
            |i| i.smpp_host = None,
            |i| i.smpp_system_id = Some("a-system-id-of-16".into()),
            |i| i.smpp_password = None,
            |i| i.smpp_password = Some("123456789".into()),
            |i| i.smpp_source_addr = Some("TWELVE-CHARS".into()),
            |i| i.smpp_source_addr = None,
            |i| i.smpp_bind = Some("receiver".into()),
        ];
        for (n, change) in wrong.into_iter().enumerate() {
            let mut input = smpp();
            change(&mut input);
            assert!(input.resolve().is_err(), "case {n}");
        }
        let unknown = SettingsInput {
            sms: Some("pigeon".into()),
            ..Default::default()
        };
        assert!(unknown.resolve().is_err());
        Ok(())
    }

    #[test]
    fn the_simulated_carrier_is_the_default() -> Result<(), SettingsError> {
        let settings = SettingsInput::default().resolve()?;
        assert!(matches!(settings.telco.carrier, CarrierChoice::Simulated));
        Ok(())
    }

    #[test]
    fn a_camara_carrier_needs_its_urls_and_client() -> Result<(), SettingsError> {
        let CarrierChoice::Camara(config) = camara().resolve()?.telco.carrier else {
            unreachable!("camara was asked for")
        };
        assert_eq!(
            config.refund_base_url, config.base_url,
            "the refund API defaults to the same root"
        );
        assert_eq!(config.client_secret.expose_secret(), "secret");
        assert!(
            !format!("{config:?}").contains("\"secret\""),
            "the secret is not in Debug"
        );
        assert_eq!(config.sink_url, None, "no sink unless one is set");
        let mut with_sink = camara();
        with_sink.camara_sink_url =
            Some("https://payhub.example/carrier/camara/notifications/".into());
        let CarrierChoice::Camara(config) = with_sink.resolve()?.telco.carrier else {
            unreachable!("camara was asked for")
        };
        assert_eq!(
            config.sink_url.as_deref(),
            Some("https://payhub.example/carrier/camara/notifications")
        );
        let missing: [fn(&mut SettingsInput); 6] = [
            |i| i.camara_base_url = None,
            |i| i.camara_token_url = Some("not a url".into()),
            |i| i.camara_client_id = None,
            |i| i.camara_client_secret = Some(String::new()),
            |i| i.camara_sink_url = Some("http://payhub.example/n".into()),
            |i| i.camara_sink_url = Some("https://payhub.example/n?x=1".into()),
        ];
        for (n, unset) in missing.into_iter().enumerate() {
            let mut input = camara();
            unset(&mut input);
            assert!(input.resolve().is_err(), "case {n}");
        }
        let unknown = SettingsInput {
            carrier: Some("smoke-signals".into()),
            ..Default::default()
        };
        assert!(unknown.resolve().is_err());
        Ok(())
    }
}
