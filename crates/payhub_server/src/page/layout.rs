//! Desktop or mobile, decided from the `User-Agent`.
//!
//! The page has no script to measure the screen, and a customer paying by
//! wallet QR on a phone needs big touch targets while one on a computer
//! needs a compact card with the QR code in view, so the server picks the
//! layout. The CSS also narrows a desktop page on small screens, so a wrong
//! guess still renders usably.

/// Which arrangement of the hosted page to render.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Layout {
    /// A centred card about 480px wide.
    #[default]
    Desktop,
    /// A single full-width column with large touch targets.
    Mobile,
}

impl Layout {
    /// The `<body>` class the stylesheet keys on.
    pub fn class(self) -> &'static str {
        match self {
            Layout::Desktop => "desktop",
            Layout::Mobile => "mobile",
        }
    }
}

/// Substrings that mark a phone or tablet browser, including WeChat's
/// in-app browser (`MicroMessenger`), where most wallet payments start.
const MOBILE_MARKERS: [&str; 6] = [
    "Mobile",
    "Android",
    "iPhone",
    "iPad",
    "iPod",
    "MicroMessenger",
];

/// Picks the layout for a request's `User-Agent`; a missing header means desktop.
pub fn from_user_agent(ua: Option<&str>) -> Layout {
    match ua {
        Some(ua) if MOBILE_MARKERS.iter().any(|marker| ua.contains(marker)) => Layout::Mobile,
        _ => Layout::Desktop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_tablets_and_wechat_get_the_mobile_layout() {
        let mobile = [
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1",
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36",
            "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15",
            "Mozilla/5.0 (iPod touch; CPU iPhone OS 12_0 like Mac OS X)",
            "Mozilla/5.0 (Linux; U; Android 4.1) MicroMessenger/8.0.40",
            "SomeWebView MicroMessenger/8.0",
        ];
        for ua in mobile {
            assert_eq!(from_user_agent(Some(ua)), Layout::Mobile, "{ua}");
        }
    }

    #[test]
    fn computers_and_missing_headers_get_the_desktop_layout() {
        let desktop = [
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15",
            "curl/8.5.0",
            "",
        ];
        for ua in desktop {
            assert_eq!(from_user_agent(Some(ua)), Layout::Desktop, "{ua}");
        }
        assert_eq!(from_user_agent(None), Layout::Desktop);
        assert_eq!(Layout::Mobile.class(), "mobile");
        assert_eq!(Layout::Desktop.class(), "desktop");
    }
}
