//! Times in JSON answers: RFC 3339 in UTC with milliseconds, as TMF676
//! shows them and the other JSON endpoints adopted.

use chrono::{DateTime, SecondsFormat, Utc};

/// Formats a time the way every JSON answer does (RFC 3339, milliseconds, UTC).
pub fn format_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses a TMF date-time (RFC 3339, with any offset).
pub fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}
