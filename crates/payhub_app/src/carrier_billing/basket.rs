//! The basket of a carrier-billing transaction as the store keeps it. Its
//! rules (pricing, removal, total) are the core's
//! ([`payhub_core::carrier_billing::basket`]); this module only reads and
//! writes its stored JSON.

pub use payhub_core::carrier_billing::basket::{Basket, BasketItem};

/// The stored JSON text of a basket.
pub trait BasketJson: Sized {
    /// Reads a stored basket.
    fn from_json(text: &str) -> Option<Self>;
    fn to_json(&self) -> String;
}

impl BasketJson for Basket {
    fn from_json(text: &str) -> Option<Basket> {
        serde_json::from_str(text).ok()
    }

    fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, price: i64, count: i64, removed: bool) -> BasketItem {
        BasketItem {
            id: id.into(),
            name: id.into(),
            unit_price_minor: price,
            count,
            is_removable: true,
            removed,
        }
    }

    #[test]
    fn the_total_counts_only_what_stays() {
        let basket = Basket {
            currency: "TRY".into(),
            items: vec![
                item("50", 1999, 1, false),
                item("53", 500, 3, false),
                item("54", 100, 1, true),
            ],
        };
        assert_eq!(basket.total().map(|m| m.amount_minor()), Ok(3499));
        assert_eq!(Basket::from_json(&basket.to_json()), Some(basket));
    }

    #[test]
    fn overflow_is_an_error_not_a_wrap() {
        let basket = Basket {
            currency: "TRY".into(),
            items: vec![item("1", i64::MAX / 2, 3, false)],
        };
        assert!(basket.total().is_err());
    }

    #[test]
    fn the_stored_shape_is_unchanged() {
        let basket = Basket {
            currency: "TRY".into(),
            items: vec![item("50", 1999, 2, false)],
        };
        assert_eq!(
            basket.to_json(),
            r#"{"currency":"TRY","items":[{"id":"50","name":"50","unitPriceMinor":1999,"count":2,"isRemovable":true,"removed":false}]}"#
        );
    }
}
