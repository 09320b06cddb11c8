//! The basket of a carrier-billing transaction: the requested items priced
//! from the service's catalogue, and which of them the subscriber removed.
//!
//! The serde shape is the stored one (the `basket` column); the core never
//! reads or writes JSON itself.

use serde::{Deserialize, Serialize};

use crate::currency::Currency;
use crate::money::{Money, MoneyError};

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

/// An item the service asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Wanted<'a> {
    pub id: &'a str,
    pub count: i64,
    pub is_removable: bool,
}

/// A catalogue entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Priced<'a> {
    pub name: &'a str,
    pub unit_price: Money,
}

/// Why a request cannot be priced.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    /// The catalogue has no such product.
    #[error("unknown product {0}")]
    UnknownProduct(String),
    /// One transaction has one currency.
    #[error("items are priced in {first} and {other}; one transaction has one currency")]
    MixedCurrencies { first: String, other: String },
}

/// Why the subscriber's removals are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RemovalError {
    #[error("there is no item {0}")]
    NoSuchItem(String),
    #[error("{0} cannot be removed")]
    NotRemovable(String),
    #[error("keep at least one item, or decline the payment")]
    NothingLeft,
}

/// Prices `wanted` from a catalogue (`lookup` finds a product by id): every
/// product must exist, and all in one currency.
pub fn price<'a>(
    wanted: impl IntoIterator<Item = Wanted<'a>>,
    lookup: impl Fn(&str) -> Option<Priced<'a>>,
) -> Result<Basket, PricingError> {
    let mut currency: Option<String> = None;
    let mut items = Vec::new();
    for wanted in wanted {
        let product =
            lookup(wanted.id).ok_or_else(|| PricingError::UnknownProduct(wanted.id.to_owned()))?;
        let code = product.unit_price.currency().code().to_owned();
        match &currency {
            Some(first) if *first != code => {
                return Err(PricingError::MixedCurrencies {
                    first: first.clone(),
                    other: code,
                })
            }
            Some(_) => {}
            None => currency = Some(code),
        }
        items.push(BasketItem {
            id: wanted.id.to_owned(),
            name: product.name.to_owned(),
            unit_price_minor: product.unit_price.amount_minor(),
            count: wanted.count,
            is_removable: wanted.is_removable,
            removed: false,
        });
    }
    Ok(Basket {
        currency: currency.unwrap_or_default(),
        items,
    })
}

impl Basket {
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

    /// Takes out the items the subscriber removed (by id): each must exist
    /// and be removable, and at least one item must stay. Checked in the
    /// order given; on a refusal the basket may be partly changed, so
    /// callers drop it.
    pub fn remove<'a>(
        &mut self,
        ids: impl IntoIterator<Item = &'a String>,
    ) -> Result<(), RemovalError> {
        for id in ids {
            let item = self
                .items
                .iter_mut()
                .find(|i| &i.id == id)
                .ok_or_else(|| RemovalError::NoSuchItem(id.clone()))?;
            if !item.is_removable {
                return Err(RemovalError::NotRemovable(item.name.clone()));
            }
            item.removed = true;
        }
        if self.items.iter().all(|i| i.removed) {
            return Err(RemovalError::NothingLeft);
        }
        Ok(())
    }

    /// The names of the items that stay, in order.
    pub fn kept_names(&self) -> Vec<&str> {
        self.items
            .iter()
            .filter(|i| !i.removed)
            .map(|i| i.name.as_str())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, price: i64, count: i64, removable: bool, removed: bool) -> BasketItem {
        BasketItem {
            id: id.into(),
            name: format!("n{id}"),
            unit_price_minor: price,
            count,
            is_removable: removable,
            removed,
        }
    }

    fn money(minor: i64, code: &str) -> Money {
        let currency = Currency::parse(code).unwrap_or_else(|e| unreachable!("{e}"));
        Money::from_minor(minor, currency).unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn the_total_counts_only_what_stays() {
        let table = [
            (vec![item("50", 1999, 1, true, false)], Some(1999)),
            (
                vec![
                    item("50", 1999, 1, true, false),
                    item("53", 500, 3, true, false),
                    item("54", 100, 1, true, true),
                ],
                Some(3499),
            ),
            // Overflow is an error, not a wrap.
            (vec![item("1", i64::MAX / 2, 3, true, false)], None),
            (
                vec![
                    item("1", i64::MAX / 2, 1, true, false),
                    item("2", i64::MAX / 2, 1, true, false),
                    item("3", 2, 1, true, false),
                ],
                None,
            ),
        ];
        for (items, want) in table {
            let basket = Basket {
                currency: "TRY".into(),
                items,
            };
            assert_eq!(
                basket.total().ok().map(|m| m.amount_minor()),
                want,
                "{basket:?}"
            );
        }
    }

    #[test]
    fn what_the_subscriber_may_remove() {
        let basket = Basket {
            currency: "TRY".into(),
            items: vec![
                item("1", 100, 1, true, false),
                item("2", 200, 1, false, false),
            ],
        };
        let s = |t: &str| t.to_owned();
        let table = [
            (vec![], Ok(vec!["n1", "n2"])),
            (vec![s("1")], Ok(vec!["n2"])),
            (vec![s("3")], Err(RemovalError::NoSuchItem(s("3")))),
            (vec![s("2")], Err(RemovalError::NotRemovable(s("n2")))),
            (
                vec![s("1"), s("2")],
                Err(RemovalError::NotRemovable(s("n2"))),
            ),
        ];
        for (ids, want) in table {
            let mut b = basket.clone();
            let got = b.remove(&ids).map(|()| b.kept_names());
            assert_eq!(got, want, "{ids:?}");
        }
        let mut single = Basket {
            currency: "TRY".into(),
            items: vec![item("1", 100, 1, true, false)],
        };
        assert_eq!(single.remove(&[s("1")]), Err(RemovalError::NothingLeft));
        assert_eq!(
            RemovalError::NothingLeft.to_string(),
            "keep at least one item, or decline the payment"
        );
    }

    #[test]
    fn pricing_needs_known_products_in_one_currency() {
        let catalogue = [
            ("a", "Alpha", money(100, "TRY")),
            ("b", "Beta", money(250, "TRY")),
            ("e", "Euro", money(5, "EUR")),
        ];
        let lookup = |id: &str| {
            catalogue
                .iter()
                .find(|(pid, _, _)| *pid == id)
                .map(|(_, name, unit_price)| Priced {
                    name,
                    unit_price: *unit_price,
                })
        };
        fn want(id: &'static str, count: i64) -> Wanted<'static> {
            Wanted {
                id,
                count,
                is_removable: true,
            }
        }
        let basket =
            price([want("a", 2), want("b", 1)], lookup).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(basket.currency, "TRY");
        assert_eq!(basket.total(), Ok(money(450, "TRY")));
        let table = [
            (vec![want("x", 1)], PricingError::UnknownProduct("x".into())),
            (
                vec![want("a", 1), want("e", 1)],
                PricingError::MixedCurrencies {
                    first: "TRY".into(),
                    other: "EUR".into(),
                },
            ),
        ];
        for (wanted, error) in table {
            assert_eq!(price(wanted.clone(), lookup), Err(error), "{wanted:?}");
        }
        assert_eq!(price([], lookup).map(|b| b.currency), Ok(String::new()));
    }
}
