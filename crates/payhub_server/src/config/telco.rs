//! The telco payment service's settings (seed 004): each channel's
//! defaults for the flags a request may leave out, read from per-channel
//! lists such as `10=false,40=true` over seed 004's table.

use std::time::Duration;

use payhub_core::Channel;

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
        })
    }
}
