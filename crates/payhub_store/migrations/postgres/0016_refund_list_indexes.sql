-- Every filter a TMF676 list hands to the store is served by an index on
-- (merchant_id, column, id): the page is read in id order from the index and
-- its total is counted from the index alone, without reading rows.
-- Payments have one for each filter since 0001; refunds lacked two:
-- `status`, and `payment.id` within a merchant (0001's refunds_by_payment
-- serves the ledger's refund checks, which look a payment's refunds up
-- without a merchant).
CREATE INDEX refunds_by_status ON refunds (merchant_id, status, id);
CREATE INDEX refunds_by_merchant_payment ON refunds (merchant_id, payment_id, id);
