//! What payhub does with the carrier's own account of a booking.
//!
//! payhub asks the carrier how a booking stands when the answer to its own
//! call was lost: after the carrier's notification about the payment (the
//! CAMARA `sink`), and before a consent expires (a charge booked but never
//! answered must not stay on the bill of a transaction payhub reports as
//! expired). The carrier's report decides; the notification itself is only
//! the cue to ask.

use super::state::{Booking, TelcoState};

/// A booking as the carrier reports it now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BookingReport {
    /// Held on the bill, awaiting confirm or cancel.
    Reserved,
    /// Charged (a one-step payment, or a confirmed reservation).
    Charged,
    /// Cancelled: nothing is held or charged.
    Cancelled,
    /// The carrier refused it: nothing is held or charged.
    Denied,
    /// Not decided yet by the carrier.
    Processing,
}

/// What payhub knows besides the report when it weighs one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReportContext {
    /// What the transaction's channel books.
    pub booking: Booking,
    /// The carrier's amount is the transaction's total now.
    pub same_amount: bool,
    /// The consent form asks for an address (delivery or billing) that only
    /// the subscriber's own answer carries.
    pub needs_form: bool,
}

/// The state a transaction moves to on the carrier's report of its
/// booking; `None` when the report changes nothing now.
///
/// - A reservation the carrier reports charged or cancelled was committed
///   or released by a call whose answer was lost.
/// - A consent still open whose booking the carrier holds is the
///   subscriber's approval whose answer was lost. It is taken as the
///   approval only when nothing of the subscriber's answer is missing: the
///   same amount (no item removed) and no address asked for. Otherwise it
///   stays for the subscriber's retry, which finds the same booking under
///   the same key, or for the consent's deadline, which takes it back.
/// - A consent the carrier denied charged nothing: it failed.
pub fn after_report(
    state: TelcoState,
    report: BookingReport,
    context: ReportContext,
) -> Option<TelcoState> {
    use BookingReport::*;
    let complete = context.same_amount && !context.needs_form;
    match (state, context.booking, report) {
        (TelcoState::Reserved, Booking::Reserve, Charged) => Some(TelcoState::Committed),
        (TelcoState::Reserved, Booking::Reserve, Cancelled) => Some(TelcoState::Released),
        (TelcoState::ConsentRequested, Booking::Reserve, Reserved) if complete => {
            Some(TelcoState::Reserved)
        }
        (TelcoState::ConsentRequested, Booking::Charge, Charged) if complete => {
            Some(TelcoState::Charged)
        }
        (TelcoState::ConsentRequested, Booking::Reserve | Booking::Charge, Denied) => {
            Some(TelcoState::Failed)
        }
        _ => None,
    }
}

/// What a consent's deadline does, given what the carrier holds under its
/// key (`None`: nothing).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AtExpiry {
    /// Nothing is on the bill: the consent expires.
    Expire,
    /// A booking whose answer was lost is on the bill: take it back
    /// (release the reservation, credit the charge), then expire.
    TakeBack,
    /// The carrier has not decided: ask again on the next pass.
    Wait,
}

/// The rule for a consent's deadline on a channel that books on the bill.
pub fn at_consent_expiry(held: Option<BookingReport>) -> AtExpiry {
    match held {
        None | Some(BookingReport::Cancelled | BookingReport::Denied) => AtExpiry::Expire,
        Some(BookingReport::Reserved | BookingReport::Charged) => AtExpiry::TakeBack,
        Some(BookingReport::Processing) => AtExpiry::Wait,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use BookingReport::*;

    fn context(booking: Booking, same_amount: bool, needs_form: bool) -> ReportContext {
        ReportContext {
            booking,
            same_amount,
            needs_form,
        }
    }

    #[test]
    fn reports_move_only_what_a_lost_answer_left_behind() {
        use TelcoState as T;
        let reserve = context(Booking::Reserve, true, false);
        let charge = context(Booking::Charge, true, false);
        let cases = [
            (T::Reserved, Charged, reserve, Some(T::Committed)),
            (T::Reserved, Cancelled, reserve, Some(T::Released)),
            (T::Reserved, Reserved, reserve, None),
            (T::Reserved, Processing, reserve, None),
            (T::Reserved, Denied, reserve, None),
            (T::ConsentRequested, Reserved, reserve, Some(T::Reserved)),
            (T::ConsentRequested, Charged, charge, Some(T::Charged)),
            (T::ConsentRequested, Denied, charge, Some(T::Failed)),
            (T::ConsentRequested, Denied, reserve, Some(T::Failed)),
            (T::ConsentRequested, Processing, charge, None),
            (T::ConsentRequested, Cancelled, reserve, None),
            // A booking of another kind than the channel's is not this consent's.
            (T::ConsentRequested, Charged, reserve, None),
            (T::ConsentRequested, Reserved, charge, None),
            // Items removed, or an address only the subscriber's answer has.
            (
                T::ConsentRequested,
                Charged,
                context(Booking::Charge, false, false),
                None,
            ),
            (
                T::ConsentRequested,
                Reserved,
                context(Booking::Reserve, true, true),
                None,
            ),
            // A card payment books nothing on the bill.
            (
                T::ConsentRequested,
                Charged,
                context(Booking::Card, true, false),
                None,
            ),
            // Final states stay.
            (T::Committed, Cancelled, reserve, None),
            (T::Released, Charged, reserve, None),
            (T::Expired, Charged, charge, None),
            (T::Charged, Cancelled, charge, None),
        ];
        for (state, report, context, expected) in cases {
            assert_eq!(
                after_report(state, report, context),
                expected,
                "{state:?} on {report:?} ({context:?})"
            );
            if let Some(to) = expected {
                assert!(state.may_become(to), "{state:?} → {to:?} is in the table");
            }
        }
    }

    #[test]
    fn a_consent_expires_only_with_nothing_left_on_the_bill() {
        let cases = [
            (None, AtExpiry::Expire),
            (Some(Cancelled), AtExpiry::Expire),
            (Some(Denied), AtExpiry::Expire),
            (Some(Reserved), AtExpiry::TakeBack),
            (Some(Charged), AtExpiry::TakeBack),
            (Some(Processing), AtExpiry::Wait),
        ];
        for (held, expected) in cases {
            assert_eq!(at_consent_expiry(held), expected, "{held:?}");
        }
    }
}
