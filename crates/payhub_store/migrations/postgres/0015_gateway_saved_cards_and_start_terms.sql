-- Cards saved at the gateway, and what a start asked for (issue 11's two
-- remaining gaps).
--
-- A card saved from an APS hosted-page payment must be chargeable later at
-- the gateway that took it. A real gateway charges its own reference, not
-- payhub's card token: Stripe's `cus_…/pm_…` of a PaymentIntent set up for
-- later use. `card_gateway_token` keeps it on the payment's gateway row once
-- the gateway reports it; the saved method copies it (`gateway_token`) with
-- the connector account that made it (`connector_account`): the reference
-- is valid at that account only, so later charges go there. NULL for rows
-- from before this migration and for the simulated gateway, which charges
-- payhub's own token.
ALTER TABLE gateway_payments ADD COLUMN card_gateway_token TEXT;
ALTER TABLE aps_payment_methods ADD COLUMN gateway_token TEXT;
ALTER TABLE aps_payment_methods ADD COLUMN connector_account TEXT;

-- A QR start whose answer was lost is repeated, with the same parameters,
-- to get the QR code back (the gateways take the same order number with the
-- same parameters as the same order, and refuse it with others). The
-- amount and subject the start sent are kept so that the checker, on any
-- node and after a restart, repeats exactly that start. NULL (rows from
-- before this migration): nothing is repeated.
ALTER TABLE gateway_payments ADD COLUMN start_amount_minor BIGINT;
ALTER TABLE gateway_payments ADD COLUMN start_currency TEXT;
ALTER TABLE gateway_payments ADD COLUMN start_subject TEXT;
