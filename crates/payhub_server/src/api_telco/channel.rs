//! The telco dialect's names for the carrier-billing channels: seed 004's
//! `channelId` and the payment method type its documents show. The core
//! names channels by what they do; only this dialect knows their numbers.

use payhub_core::Channel;

/// Seed 004's `channelId` of a channel.
pub fn id(channel: Channel) -> i64 {
    match channel {
        Channel::ReserveAndCommit => 10,
        Channel::DirectDebit => 11,
        Channel::CreditCard => 40,
        Channel::InAppPurchase => 50,
    }
}

/// The `paymentMethod.@type` of the TMF676-shaped document a transaction
/// on `channel` keeps (see docs/TELCO.md).
pub fn payment_method_type(channel: Channel) -> &'static str {
    match channel {
        Channel::ReserveAndCommit => "CarrierBillingReservation",
        Channel::DirectDebit => "CarrierBillingDirectDebit",
        Channel::CreditCard => "BankCard",
        Channel::InAppPurchase => "InAppPurchase",
    }
}

/// The channel of a `channelId`.
pub fn from_id(number: i64) -> Option<Channel> {
    Channel::ALL.into_iter().find(|c| id(*c) == number)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_numbers_round_trip_and_the_configuration_uses_them() {
        let table = [
            (Channel::ReserveAndCommit, 10),
            (Channel::DirectDebit, 11),
            (Channel::CreditCard, 40),
            (Channel::InAppPurchase, 50),
        ];
        assert_eq!(table.len(), Channel::ALL.len());
        for (channel, number) in table {
            assert_eq!(id(channel), number);
            assert_eq!(from_id(number), Some(channel));
            // The operator's configuration names channels the same way.
            assert_eq!(
                crate::config::telco::channel_of_number(number),
                Some(channel)
            );
        }
        assert_eq!(from_id(12), None);
    }
}
