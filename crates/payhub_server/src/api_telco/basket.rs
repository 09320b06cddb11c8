//! The basket of a telco transaction: the requested items priced from the
//! service's catalogue, and which of them the subscriber removed.

use payhub_core::{Currency, Money, MoneyError};
use serde::{Deserialize, Serialize};

/// One line of the basket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BasketItem {
    pub id: String,
    pub name: String,
    pub unit_price_minor: i64,
    pub count: i64,
    pub is_removable: bool,
    /// Taken out by the subscriber on the consent page.
    #[serde(default)]
    pub removed: bool,
}

/// The basket, in the catalogue's one currency.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Basket {
    pub currency: String,
    pub items: Vec<BasketItem>,
}

impl Basket {
    /// Reads a stored basket.
    pub fn from_json(text: &str) -> Option<Basket> {
        serde_json::from_str(text).ok()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The basket's currency (always a catalogue's, so known).
    pub fn currency(&self) -> Result<Currency, MoneyError> {
        Currency::parse(&self.currency)
            .map_err(|_| MoneyError::NotANumber(format!("currency {}", self.currency)))
    }

    /// A line's amount: unit price × count, checked.
    pub fn line_total(&self, item: &BasketItem) -> Result<Money, MoneyError> {
        let minor = item
            .unit_price_minor
            .checked_mul(item.count)
            .ok_or(MoneyError::Overflow)?;
        Money::from_minor(minor, self.currency()?)
    }

    /// What the subscriber pays: the lines not removed, summed with checks.
    pub fn total(&self) -> Result<Money, MoneyError> {
        let mut total = Money::zero(self.currency()?);
        for item in self.items.iter().filter(|i| !i.removed) {
            total = total.checked_add(self.line_total(item)?)?;
        }
        Ok(total)
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
}
