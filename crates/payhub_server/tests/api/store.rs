//! The store's own contract, without HTTP: it persists what the core's rules
//! decide and refuses what they forbid, on SQLite and on PostgreSQL alike.

use chrono::{Duration, Utc};
use payhub_core::{
    Channel, Currency, Document, GatewayState, MerchantId, Money, NewPayment, Payment, Status,
    TelcoState,
};
use payhub_store::{
    ApsAccount, ApsPayment, ApsWrite, CreditState, ExternalRef, GatewayApplied, GatewayPayment,
    GatewayUpdate, TelcoTransaction, TelcoUpdate,
};

use payhub_core::gateway::{CardAttempts, CardClaim, CARD_ACTION};

use crate::both_backends;
use crate::helpers::TestApp;

fn merchant(app: &TestApp) -> MerchantId {
    MerchantId::parse(&app.merchant.merchant_id).unwrap()
}

fn eur(minor: i64) -> Money {
    Money::from_minor(minor, Currency::parse("EUR").unwrap()).unwrap()
}

/// A pending payment of `minor` cents.
fn pending_payment(merchant: &MerchantId, minor: i64) -> Payment {
    Payment::record(
        NewPayment {
            merchant_id: merchant.clone(),
            account_id: "acct-store".into(),
            correlator_id: None,
            total_amount: Some(eur(minor)),
            amount_decimals: None,
            status: Some(Status::PendingAuthorization),
            payment_date: None,
            document: Document::new(r#"{"account":{"id":"acct-store"}}"#.into()),
            origin: payhub_core::Origin::new("tmf676"),
        },
        Utc::now(),
    )
}

/// The gateway row of `payment`, waiting for the customer.
fn gateway_row(payment: &Payment) -> GatewayPayment {
    let now = Utc::now();
    GatewayPayment {
        payment_id: payment.id,
        merchant_id: payment.merchant_id.clone(),
        gateway: "WXPAY".into(),
        gw_ref: Some("gw-1".into()),
        state: GatewayState::AwaitingCustomer,
        action: Some("qr".into()),
        gw_error_code: None,
        gw_error_message: None,
        expires_at: now + Duration::hours(1),
        next_check_at: Some(now + Duration::hours(1)),
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
        created_at: now,
    }
}

fn report(state: GatewayState, error: Option<(&str, &str)>) -> GatewayUpdate {
    GatewayUpdate {
        state,
        gw_ref: None,
        action: None,
        error: error.map(|(code, message)| (code.into(), message.into())),
        next_check_at: Some(Utc::now() + Duration::hours(1)),
        card: None,
    }
}

both_backends! {
    async fn a_final_gateway_payment_ignores_a_later_report(app: TestApp) {
        let merchant = merchant(&app);
        let payment = pending_payment(&merchant, 1000);
        app.store
            .insert_gateway_payment(&payment, &payment.create_event(), &gateway_row(&payment), None)
            .await
            .unwrap();

        let paid = app.store
            .apply_gateway_update(payment.id, &report(GatewayState::Succeeded, None), Utc::now())
            .await
            .unwrap();
        let GatewayApplied::Changed(paid) = paid else { panic!("an open payment moves: {paid:?}") };
        assert_eq!(paid.state, GatewayState::Succeeded);
        assert_eq!(paid.gw_ref.as_deref(), Some("gw-1"), "a terse report keeps the reference");
        assert_eq!(paid.next_check_at, None, "a final payment has no further check");

        let late = app.store
            .apply_gateway_update(payment.id, &report(GatewayState::Declined, Some(("E", "late"))), Utc::now())
            .await
            .unwrap();
        assert_eq!(late, GatewayApplied::AlreadyFinal(paid.clone()));
        assert_eq!(app.store.find_gateway_payment(payment.id).await.unwrap(), Some(paid));
        let stored = app.store.find_payment(&merchant, payment.id).await.unwrap().unwrap();
        assert_eq!(stored.status, Status::Captured, "the ledger keeps the first final word");
    }
}

fn telco_transaction(payment: &Payment) -> TelcoTransaction {
    TelcoTransaction {
        payment_id: payment.id,
        merchant_id: payment.merchant_id.clone(),
        transaction_id: format!("tx-{}", payment.id),
        msisdn: "41790000000".into(),
        channel: Channel::ALL[0],
        is_deliverable: false,
        is_billing_required: false,
        language: None,
        basket: "[]".into(),
        state: TelcoState::ConsentRequested,
        otp_hash: "hash".into(),
        otp_attempts: 0,
        delivery_address: None,
        billing_address: None,
        carrier_ref: None,
        deadline: None,
        created_at: payment.created_at,
    }
}

fn telco_move(from: TelcoState, to: TelcoState) -> TelcoUpdate {
    TelcoUpdate {
        from,
        to,
        basket: None,
        total: None,
        otp_attempts: None,
        delivery_address: None,
        billing_address: None,
        carrier_ref: None,
        deadline: None,
        claim: None,
    }
}

both_backends! {
    async fn the_store_refuses_a_telco_transition_the_table_forbids(app: TestApp) {
        let merchant = merchant(&app);
        let payment = pending_payment(&merchant, 500);
        let transaction = telco_transaction(&payment);
        let reference = ExternalRef {
            merchant_id: merchant.clone(),
            dialect: "telco".into(),
            reference: transaction.transaction_id.clone(),
            resource_kind: "payment".into(),
            resource_id: payment.id.get(),
        };
        app.store
            .insert_telco_transaction(&payment, &payment.create_event(), &transaction, &reference)
            .await
            .unwrap();

        // consent_requested → committed skips the reservation: not applied.
        let skipped = app.store
            .apply_telco_update(payment.id, &telco_move(TelcoState::ConsentRequested, TelcoState::Committed), Utc::now())
            .await
            .unwrap();
        assert_eq!(skipped, None);
        let kept = app.store.find_telco_transaction(payment.id).await.unwrap().unwrap();
        assert_eq!(kept.state, TelcoState::ConsentRequested);
        let stored = app.store.find_payment(&merchant, payment.id).await.unwrap().unwrap();
        assert_eq!(stored.status, Status::PendingAuthorization, "the ledger did not move either");

        // What the table allows is applied, with the ledger following.
        let reserved = app.store
            .apply_telco_update(payment.id, &telco_move(TelcoState::ConsentRequested, TelcoState::Reserved), Utc::now())
            .await
            .unwrap()
            .expect("consent_requested → reserved is allowed");
        assert_eq!(reserved.state, TelcoState::Reserved);
        let stored = app.store.find_payment(&merchant, payment.id).await.unwrap().unwrap();
        assert_eq!(stored.status, Status::Authorized);

        // A reservation is committed or released, never charged directly.
        let charged = app.store
            .apply_telco_update(payment.id, &telco_move(TelcoState::Reserved, TelcoState::Charged), Utc::now())
            .await
            .unwrap();
        assert_eq!(charged, None);
        let kept = app.store.find_telco_transaction(payment.id).await.unwrap().unwrap();
        assert_eq!(kept.state, TelcoState::Reserved);
    }
}

both_backends! {
    async fn aps_credit_is_returned_exactly_once(app: TestApp) {
        let merchant = merchant(&app);
        let now = Utc::now();
        let account = ApsAccount {
            aps_id: format!("aps-{}", rand::random::<u32>()),
            merchant_id: merchant.clone(),
            account_id: format!("acct-{}", rand::random::<u32>()),
            currency: Currency::parse("EUR").unwrap(),
            available_credit_minor: 1000,
            created_at: now,
        };
        app.store.insert_aps_account(&account).await.unwrap();

        // 400 of a 1000 payment from credit, 600 left for the hosted page.
        let payment = pending_payment(&merchant, 1000);
        let plan = |available: i64| {
            assert_eq!(available, 1000);
            Ok(ApsWrite {
                payment: payment.clone(),
                event: payment.create_event(),
                gateway: Some(gateway_row(&payment)),
                aps: ApsPayment {
                    payment_id: payment.id,
                    aps_id: account.aps_id.clone(),
                    merchant_id: merchant.clone(),
                    credit_minor: 400,
                    method_minor: 600,
                    credit_state: CreditState::Held,
                    payment_method_id: None,
                    save_method: false,
                    notify_url: None,
                    created_at: now,
                },
                kept: None,
            })
        };
        app.store.insert_aps_payment(&account.aps_id, &plan).await.unwrap();
        let balance = |app: &TestApp| {
            let (store, aps_id) = (app.store.clone(), account.aps_id.clone());
            async move { store.find_aps_account(&aps_id).await.unwrap().unwrap().available_credit_minor }
        };
        assert_eq!(balance(&app).await, 600);

        // The card part fails: the credit goes back.
        let failed = app.store
            .apply_gateway_update(payment.id, &report(GatewayState::Declined, Some(("05", "declined"))), Utc::now())
            .await
            .unwrap();
        assert!(matches!(failed, GatewayApplied::Changed(_)), "{failed:?}");
        assert_eq!(balance(&app).await, 1000);
        let aps = app.store.find_aps_payment(payment.id).await.unwrap().unwrap();
        assert_eq!(aps.credit_state, CreditState::Returned);

        // Later final reports (a duplicate, an expiry) give nothing more.
        for state in [GatewayState::Declined, GatewayState::Expired, GatewayState::Canceled] {
            let again = app.store
                .apply_gateway_update(payment.id, &report(state, None), Utc::now())
                .await
                .unwrap();
            assert!(matches!(again, GatewayApplied::AlreadyFinal(_)), "{again:?}");
            assert_eq!(balance(&app).await, 1000, "{state:?}");
        }
    }
}

both_backends! {
    /// Issue 13: a card goes to the gateway only under a claim taken under
    /// the row's lock: of many submissions at once exactly one is granted;
    /// a claim is released only by its holder (a lapsed one may be taken
    /// over), and no claim is granted past the limit or on a payment that
    /// no longer waits for a card.
    async fn card_attempts_are_claimed_one_at_a_time_and_never_past_the_limit(app: TestApp) {
        let merchant = merchant(&app);
        let payment = pending_payment(&merchant, 1000);
        let mut row = gateway_row(&payment);
        row.gateway = "VMPAY".into();
        row.action = Some(CARD_ACTION.into());
        app.store.insert_gateway_payment(&payment, &payment.create_event(), &row, None).await.unwrap();
        let attempts = CardAttempts::new(3).unwrap();
        let now = Utc::now();
        let until = now + Duration::seconds(30);
        let declined = || GatewayUpdate {
            action: Some(CARD_ACTION.into()),
            ..report(GatewayState::AwaitingCustomer, Some(("card_declined", "the card was declined")))
        };

        // Eight submissions at once: one card goes to the gateway.
        let racing: Vec<_> = (0..8)
            .map(|n| {
                let store = app.store.clone();
                tokio::spawn(async move {
                    let name = format!("claim-{n}");
                    let claim = store.claim_card_attempt(payment.id, attempts, &name, until, now).await.unwrap();
                    (name, claim)
                })
            })
            .collect();
        let mut granted = Vec::new();
        for task in racing {
            let (name, claim) = task.await.unwrap();
            match claim {
                CardClaim::Granted { attempt } => granted.push((name, attempt)),
                CardClaim::Busy => {}
                other => panic!("{name}: {other:?}"),
            }
        }
        assert_eq!(granted.len(), 1, "{granted:?}");
        let (winner, attempt) = granted.remove(0);
        assert_eq!(attempt, 1);
        let claim = |name: &'static str, at| {
            let store = app.store.clone();
            async move { store.claim_card_attempt(payment.id, attempts, name, at + Duration::seconds(30), at).await.unwrap() }
        };

        // Only the holder's answer releases the claim.
        app.store.apply_card_attempt(payment.id, "claim-other", &declined(), now).await.unwrap();
        assert_eq!(claim("c", now).await, CardClaim::Busy);
        app.store.apply_card_attempt(payment.id, &winner, &declined(), now).await.unwrap();
        assert_eq!(claim("c", now).await, CardClaim::Granted { attempt: 2 });

        // c's node died: once its claim lapsed, d takes over, and c's late
        // answer does not release d's claim.
        let later = now + Duration::seconds(31);
        assert_eq!(claim("d", now + Duration::seconds(29)).await, CardClaim::Busy);
        assert_eq!(claim("d", later).await, CardClaim::Granted { attempt: 3 });
        app.store.apply_card_attempt(payment.id, "c", &declined(), later).await.unwrap();
        assert_eq!(claim("e", later).await, CardClaim::Busy);
        app.store.apply_card_attempt(payment.id, "d", &declined(), later).await.unwrap();

        // Three attempts used: no fourth.
        assert_eq!(claim("e", later).await, CardClaim::Exhausted);
        let stored = app.store.find_gateway_payment(payment.id).await.unwrap().unwrap();
        assert_eq!((stored.card_attempts, stored.card_claimed_until), (3, None));
        assert_eq!(stored.state, GatewayState::AwaitingCustomer);
        assert_eq!(
            app.store.find_payment(&merchant, payment.id).await.unwrap().unwrap().status,
            Status::PendingAuthorization,
            "declined attempts move nothing in the ledger"
        );

        // A payment that ended takes no card at all.
        app.store.apply_gateway_update(payment.id, &report(GatewayState::Declined, None), later).await.unwrap();
        assert_eq!(claim("f", later).await, CardClaim::NotWaiting);
    }
}

both_backends! {
    async fn payments_are_found_together_by_merchant_and_id(app: TestApp) {
        let merchant = merchant(&app);
        let other = MerchantId::parse(
            &crate::helpers::new_merchant(app.store.as_ref(), "another merchant").await.merchant_id,
        )
        .unwrap();
        // More than one `IN` list's worth (250 ids a statement).
        let mine: Vec<Payment> = (0..300).map(|i| pending_payment(&merchant, 100 + i)).collect();
        let theirs = pending_payment(&other, 7);
        let mut rows: Vec<(Payment, payhub_core::LedgerEvent)> =
            mine.iter().map(|p| (p.clone(), p.create_event())).collect();
        rows.push((theirs.clone(), theirs.create_event()));
        app.store.insert_payments(&rows).await.unwrap();

        let unknown = pending_payment(&merchant, 1).id;
        let mut keys: Vec<_> = mine.iter().map(|p| (&merchant, p.id)).collect();
        keys.push((&merchant, theirs.id)); // another merchant's payment, asked as ours
        keys.push((&other, theirs.id));
        keys.push((&merchant, unknown));
        keys.push((&merchant, mine[0].id)); // asked twice
        let mut found = app.store.find_payments(&keys).await.unwrap();
        found.sort_by_key(|p| p.id.get());

        let mut expected: Vec<Payment> = mine.clone();
        expected.push(theirs.clone());
        expected.sort_by_key(|p| p.id.get());
        assert_eq!(found.len(), expected.len(), "each payment once, no stranger's, none unknown");
        for (got, want) in found.iter().zip(&expected) {
            assert_eq!((got.id, &got.merchant_id), (want.id, &want.merchant_id));
            assert_eq!(got.total_amount, want.total_amount);
            assert_eq!(got, &app.store.find_payment(&want.merchant_id, want.id).await.unwrap().unwrap());
        }
        assert!(app.store.find_payments(&[]).await.unwrap().is_empty());
    }
}
