-- Amounts live only in columns (issue 10). A payment's or refund's amount is
-- amount_minor and currency; the document keeps the place of `totalAmount`
-- (its other members and their order) but no longer the amount, and TMF676
-- writes the amount in when it renders. amount_decimals is how many decimals
-- the client wrote the amount with, so `10.1` is answered as `10.1`; NULL
-- spells it with the currency's exponent (`10.10`), which is how every
-- dialect but TMF676 writes its amounts. Rows recorded before this migration
-- keep their documents and are rendered from their columns too, at the
-- currency's exponent.
ALTER TABLE payments ADD COLUMN amount_decimals BIGINT;
ALTER TABLE refunds ADD COLUMN amount_decimals BIGINT;
