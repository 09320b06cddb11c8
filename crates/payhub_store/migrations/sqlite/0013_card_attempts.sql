-- Another card after a decline (issue 13): a declined card on the hosted card
-- page no longer ends the payment while the customer may try another one.
-- The count is in the row, not in a node's memory, because every node serves
-- the page: `card_attempts` is how many cards were sent to the gateway so far.
-- A card is sent only under a claim, taken under the row's lock, so two
-- submissions at once never both reach the gateway nor together count past
-- the limit: `card_claim` names the request holding it and
-- `card_claimed_until` is when it lapses (a node that died mid-call does not
-- block the customer for longer). Rows written before this migration start
-- at 0 attempts.
ALTER TABLE gateway_payments ADD COLUMN card_attempts BIGINT NOT NULL DEFAULT 0;
ALTER TABLE gateway_payments ADD COLUMN card_claim TEXT;
ALTER TABLE gateway_payments ADD COLUMN card_claimed_until BIGINT;
