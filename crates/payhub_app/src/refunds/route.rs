//! Where a refund's money goes back: decided once, from the rows the store
//! holds about the payment it names.
//!
//! The rows are read by [`funding_of`]; [`decide`] is the rule itself, pure,
//! so it is tested as a table without a database.

use payhub_core::{MerchantId, NewRefund};
use payhub_store::{ApsPayment, GatewayPayment, TelcoTransaction};

use crate::AppError;
use crate::Services;

/// How the payment a refund names was funded, with the rows its refund
/// writes against.
#[derive(Clone, Debug, PartialEq)]
pub enum Funding {
    /// An APS payment: its card part through the card's gateway (`card`,
    /// absent when the account's credit covered it all), its credit part
    /// back to the account's credit.
    Aps {
        payment: ApsPayment,
        card: Option<GatewayPayment>,
    },
    /// Through a payment gateway (retail sales, card payments).
    Gateway(GatewayPayment),
    /// On the subscriber's phone bill (carrier billing).
    Bill(TelcoTransaction),
    /// Nowhere payhub moves money: a ledger entry only (no payment named,
    /// or one recorded through TMF676 alone).
    Ledger,
}

/// What the store holds about a payment, in each table that says how it
/// was funded. A row may be another merchant's: [`decide`] sees to that.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rows {
    pub aps: Option<ApsPayment>,
    pub gateway: Option<GatewayPayment>,
    pub bill: Option<TelcoTransaction>,
}

/// The funding of a refund by `merchant` of a payment with `rows`.
///
/// An APS payment comes first: it has a gateway row too, for its card part.
/// Then a gateway payment, then a bill. A row of another merchant's counts
/// as no row, so a refund never reaches money it cannot see. An APS payment
/// with a card part but no gateway row is refused as inconsistent, rather
/// than refunding its card part nowhere.
pub fn decide(merchant: &MerchantId, rows: Rows) -> Result<Funding, AppError> {
    let Rows { aps, gateway, bill } = rows;
    if let Some(payment) = aps.filter(|aps| &aps.merchant_id == merchant) {
        if payment.method_minor > 0 && gateway.is_none() {
            tracing::error!(payment.id = %payment.payment_id, "an APS payment with a card part has no gateway row");
            return Err(AppError::Store(payhub_store::StoreError::Invariant(
                "the payment's funding records are inconsistent".into(),
            )));
        }
        return Ok(Funding::Aps {
            payment,
            card: gateway,
        });
    }
    if let Some(row) = gateway.filter(|row| &row.merchant_id == merchant) {
        return Ok(Funding::Gateway(row));
    }
    if let Some(transaction) = bill.filter(|t| &t.merchant_id == merchant) {
        return Ok(Funding::Bill(transaction));
    }
    Ok(Funding::Ledger)
}

/// Reads the rows of the payment `new` names and decides its funding; a
/// refund naming no payment is a ledger entry (the ledger's rules then
/// decide whether it may be one).
pub async fn funding_of(services: &Services, new: &NewRefund) -> Result<Funding, AppError> {
    let Some(payment_id) = new.payment_id else {
        return Ok(Funding::Ledger);
    };
    let store = &services.store;
    let rows = Rows {
        aps: store.find_aps_payment(payment_id).await?,
        gateway: store.find_gateway_payment(payment_id).await?,
        bill: store.find_telco_transaction(payment_id).await?,
    };
    decide(&new.merchant_id, rows)
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use payhub_core::{Channel, GatewayState, PaymentId, TelcoState};
    use payhub_store::CreditState;

    use super::*;

    /// The seed's example payment id (any valid id would do).
    fn payment_id() -> PaymentId {
        PaymentId::from_i64(819_613_055)
            .unwrap_or_else(|| PaymentId::generate(DateTime::UNIX_EPOCH))
    }

    fn aps(merchant: &MerchantId, method_minor: i64) -> ApsPayment {
        ApsPayment {
            payment_id: payment_id(),
            aps_id: "aps-1".into(),
            merchant_id: merchant.clone(),
            credit_minor: 500,
            method_minor,
            credit_state: CreditState::Held,
            payment_method_id: None,
            save_method: false,
            notify_url: None,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    fn gateway(merchant: &MerchantId) -> GatewayPayment {
        GatewayPayment {
            payment_id: payment_id(),
            merchant_id: merchant.clone(),
            gateway: "WXPAY".into(),
            gw_ref: None,
            state: GatewayState::Succeeded,
            action: None,
            gw_error_code: None,
            gw_error_message: None,
            expires_at: DateTime::<Utc>::UNIX_EPOCH,
            next_check_at: None,
            checks: 0,
            lang: "en".into(),
            return_url: None,
            webhook_url: None,
            fail_url: None,
            card: None,
            card_attempts: 0,
            card_claimed_until: None,
            connector_account: None,
            start: None,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    fn bill(merchant: &MerchantId) -> TelcoTransaction {
        TelcoTransaction {
            payment_id: payment_id(),
            merchant_id: merchant.clone(),
            transaction_id: "t-1".into(),
            msisdn: "85291234567".into(),
            channel: Channel::DirectDebit,
            is_deliverable: false,
            is_billing_required: true,
            language: None,
            basket: "[]".into(),
            state: TelcoState::Charged,
            otp_hash: String::new(),
            otp_attempts: 0,
            delivery_address: None,
            billing_address: None,
            carrier_ref: None,
            deadline: None,
            created_at: DateTime::<Utc>::UNIX_EPOCH,
        }
    }

    /// The funding's name, for the table.
    fn kind(decided: &Result<Funding, AppError>) -> &'static str {
        match decided {
            Ok(Funding::Aps { card: Some(_), .. }) => "aps with card",
            Ok(Funding::Aps { card: None, .. }) => "aps credit only",
            Ok(Funding::Gateway(_)) => "gateway",
            Ok(Funding::Bill(_)) => "bill",
            Ok(Funding::Ledger) => "ledger",
            Err(AppError::Store(payhub_store::StoreError::Invariant(_))) => "inconsistent",
            Err(_) => "other error",
        }
    }

    #[test]
    fn a_refund_goes_back_the_way_its_payment_was_funded() {
        let me = MerchantId::generate();
        let other = MerchantId::generate();
        let rows = |aps, gateway, bill| Rows { aps, gateway, bill };
        #[rustfmt::skip]
        let table = [
            ("no row: a ledger entry", rows(None, None, None), "ledger"),
            ("an APS payment with a card part", rows(Some(aps(&me, 700)), Some(gateway(&me)), None), "aps with card"),
            ("an APS payment paid wholly from credit", rows(Some(aps(&me, 0)), None, None), "aps credit only"),
            ("an APS payment wins over its own gateway row", rows(Some(aps(&me, 0)), Some(gateway(&me)), None), "aps with card"),
            ("a card part without its gateway row", rows(Some(aps(&me, 700)), None, None), "inconsistent"),
            ("a gateway payment (retail sale, card)", rows(None, Some(gateway(&me)), None), "gateway"),
            ("a gateway payment wins over a bill row", rows(None, Some(gateway(&me)), Some(bill(&me))), "gateway"),
            ("a payment charged on the bill", rows(None, None, Some(bill(&me))), "bill"),
            ("another merchant's APS payment", rows(Some(aps(&other, 0)), None, None), "ledger"),
            ("another merchant's APS payment, card part and all", rows(Some(aps(&other, 700)), Some(gateway(&other)), None), "ledger"),
            ("another merchant's gateway payment", rows(None, Some(gateway(&other)), None), "ledger"),
            ("another merchant's bill", rows(None, None, Some(bill(&other))), "ledger"),
            ("another merchant's gateway row leaves my bill", rows(None, Some(gateway(&other)), Some(bill(&me))), "bill"),
        ];
        for (why, rows, expected) in table {
            assert_eq!(kind(&decide(&me, rows)), expected, "{why}");
        }
    }

    #[test]
    fn the_rows_a_refund_writes_against_are_the_ones_found() {
        let me = MerchantId::generate();
        let found = decide(
            &me,
            Rows {
                aps: Some(aps(&me, 700)),
                gateway: Some(gateway(&me)),
                bill: None,
            },
        );
        assert!(matches!(
            found,
            Ok(Funding::Aps { payment, card: Some(card) })
                if payment == aps(&me, 700) && card == gateway(&me)
        ));
        let found = decide(
            &me,
            Rows {
                bill: Some(bill(&me)),
                ..Rows::default()
            },
        );
        assert!(matches!(found, Ok(Funding::Bill(t)) if t == bill(&me)));
    }
}
