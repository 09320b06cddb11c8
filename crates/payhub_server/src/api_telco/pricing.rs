//! A request priced from the calling service's catalogue (the rules are the
//! core's: every product known, one currency), and the core's refusals as
//! the dialect's errors.

use payhub_core::carrier_billing::basket::{self, Basket, Priced, PricingError, Wanted};
use payhub_store::TelcoProduct;

use super::request::PaymentRequest;
use super::result::TelcoError;

/// Prices the request from the service's catalogue.
pub fn price(request: &PaymentRequest, catalogue: &[TelcoProduct]) -> Result<Basket, TelcoError> {
    let wanted = request.items.iter().map(|w| Wanted {
        id: &w.id,
        count: w.count,
        is_removable: w.is_removable,
    });
    let lookup = |id: &str| {
        catalogue
            .iter()
            .find(|p| p.product_id == id)
            .map(|p| Priced {
                name: &p.name,
                unit_price: p.unit_price,
            })
    };
    basket::price(wanted, lookup).map_err(|error| match error {
        PricingError::UnknownProduct(id) => TelcoError::UnknownProduct(id),
        mixed @ PricingError::MixedCurrencies { .. } => {
            TelcoError::InvalidItemList(mixed.to_string())
        }
    })
}
