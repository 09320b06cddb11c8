//! The consent SMS in the request's `language`: Turkish (seed 004's
//! example is `tr`), English, and the hosted pages' two Chinese variants
//! (see [`crate::lang::Lang`]); any other language gets English.

use crate::lang::Lang;

/// A language an SMS is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SmsLanguage {
    Turkish,
    English,
    /// Simplified Chinese (`zh_cn`, `zh`).
    ChineseSimplified,
    /// Traditional Chinese (`zh_hk`, `zh_tw`).
    ChineseTraditional,
}

impl SmsLanguage {
    /// The language a request names (`tr`, `tr-TR`, `en_US`, `zh_cn`…,
    /// case-insensitive); English when it names none payhub writes.
    pub fn of(language: Option<&str>) -> SmsLanguage {
        let Some(code) = language else {
            return SmsLanguage::English;
        };
        let normalized = code.trim().to_ascii_lowercase().replace('-', "_");
        if normalized == "tr" || normalized.starts_with("tr_") {
            return SmsLanguage::Turkish;
        }
        match Lang::parse(&normalized) {
            Some(Lang::ZhCn) => SmsLanguage::ChineseSimplified,
            Some(Lang::ZhHk) => SmsLanguage::ChineseTraditional,
            Some(Lang::En) | None => SmsLanguage::English,
        }
    }
}

/// The consent message: the one-time code first (phones show the start
/// of a message in their notification), then the amount and the link.
/// `amount` is the exact decimal text (`19.99`); Turkish writes its
/// decimal comma.
pub fn consent_message(
    language: SmsLanguage,
    code: &str,
    amount: &str,
    currency: &str,
    link: &str,
) -> String {
    match language {
        SmsLanguage::Turkish => {
            let amount = amount.replace('.', ",");
            format!(
                "Onay kodunuz {code}. {amount} {currency} tutarındaki ödemenizi inceleyip onaylamak için: {link}"
            )
        }
        SmsLanguage::English => format!(
            "Your code is {code}. Review and approve your payment of {amount} {currency}: {link}"
        ),
        SmsLanguage::ChineseSimplified => {
            format!("您的验证码是{code}。请查看并确认您的付款 {amount} {currency}：{link}")
        }
        SmsLanguage::ChineseTraditional => {
            format!("您的驗證碼是{code}。請查看並確認您的付款 {amount} {currency}：{link}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_language_picks_the_message_language() {
        let cases = [
            (Some("tr"), SmsLanguage::Turkish),
            (Some("TR-tr"), SmsLanguage::Turkish),
            (Some("en"), SmsLanguage::English),
            (Some("zh_cn"), SmsLanguage::ChineseSimplified),
            (Some("zh-HK"), SmsLanguage::ChineseTraditional),
            (Some("zh_tw"), SmsLanguage::ChineseTraditional),
            (Some("de"), SmsLanguage::English),
            (Some("trk"), SmsLanguage::English),
            (None, SmsLanguage::English),
        ];
        for (code, language) in cases {
            assert_eq!(SmsLanguage::of(code), language, "{code:?}");
        }
    }

    #[test]
    fn every_message_carries_the_code_amount_and_link() {
        let link = "https://pay.example/consent/1/t";
        for language in [
            SmsLanguage::Turkish,
            SmsLanguage::English,
            SmsLanguage::ChineseSimplified,
            SmsLanguage::ChineseTraditional,
        ] {
            let text = consent_message(language, "042917", "19.99", "TRY", link);
            assert!(
                text.starts_with(match language {
                    SmsLanguage::Turkish => "Onay kodunuz 042917.",
                    SmsLanguage::English => "Your code is 042917.",
                    SmsLanguage::ChineseSimplified => "您的验证码是042917。",
                    SmsLanguage::ChineseTraditional => "您的驗證碼是042917。",
                }),
                "{text}"
            );
            assert!(text.ends_with(link), "{text}");
            let amount = if language == SmsLanguage::Turkish {
                "19,99 TRY"
            } else {
                "19.99 TRY"
            };
            assert!(text.contains(amount), "{text}");
        }
    }
}
