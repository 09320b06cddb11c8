-- Which dialect recorded each payment (issue 10): the shared flows find the
-- hooks of the dialect that answers for a payment by it, instead of probing
-- the dialects' tables and sniffing documents. Outbox events carry the origin
-- of the payment they concern, so the dispatcher reads nothing else.
ALTER TABLE payments ADD COLUMN origin TEXT NOT NULL DEFAULT 'tmf676';
UPDATE payments SET origin = 'aps' WHERE id IN (SELECT payment_id FROM aps_payments);
UPDATE payments SET origin = 'telco' WHERE id IN (SELECT payment_id FROM telco_transactions);
UPDATE payments SET origin = 'retail'
    WHERE origin = 'tmf676'
      AND id IN (SELECT payment_id FROM gateway_payments)
      AND document LIKE '%"retail":%';

ALTER TABLE outbox_events ADD COLUMN origin TEXT;
UPDATE outbox_events SET origin = (SELECT p.origin FROM payments p WHERE p.id = outbox_events.resource_id)
    WHERE event_type IN ('PaymentCreateEvent', 'PaymentStateChangeEvent');
UPDATE outbox_events SET origin = (
        SELECT p.origin FROM refunds r JOIN payments p ON p.id = r.payment_id
        WHERE r.id = outbox_events.resource_id)
    WHERE event_type IN ('RefundCreateEvent', 'RefundStateChangeEvent');
