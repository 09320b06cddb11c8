//! The languages customers see pages and gateway names in.

/// A language of the hosted pages and of retail gateway descriptions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    /// Traditional Chinese (Hong Kong): the retail dialect's default.
    #[default]
    ZhHk,
    /// Simplified Chinese.
    ZhCn,
    /// English.
    En,
}

impl Lang {
    /// Reads a language code as the dialects send it: `zh_hk`, `zh-HK`, `zh_cn`,
    /// `zh-CN`, `en`, `en_US`…, case-insensitive; `None` for anything else.
    pub fn parse(code: &str) -> Option<Lang> {
        let normalized = code.trim().to_ascii_lowercase().replace('-', "_");
        match normalized.as_str() {
            "zh_hk" | "zh_tw" | "tc" => Some(Lang::ZhHk),
            "zh_cn" | "zh" | "sc" => Some(Lang::ZhCn),
            _ if normalized == "en" || normalized.starts_with("en_") => Some(Lang::En),
            _ => None,
        }
    }

    /// The code payhub stores and echoes (`zh_hk`, `zh_cn`, `en`).
    pub fn code(self) -> &'static str {
        match self {
            Lang::ZhHk => "zh_hk",
            Lang::ZhCn => "zh_cn",
            Lang::En => "en",
        }
    }

    /// The HTML `lang` attribute.
    pub fn html_tag(self) -> &'static str {
        match self {
            Lang::ZhHk => "zh-Hant-HK",
            Lang::ZhCn => "zh-Hans-CN",
            Lang::En => "en",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_parse_in_the_spellings_clients_send() {
        assert_eq!(Lang::parse("zh_hk"), Some(Lang::ZhHk));
        assert_eq!(Lang::parse("zh-HK"), Some(Lang::ZhHk));
        assert_eq!(Lang::parse("zh-CN"), Some(Lang::ZhCn));
        assert_eq!(Lang::parse("EN"), Some(Lang::En));
        assert_eq!(Lang::parse("en_GB"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
        for lang in [Lang::ZhHk, Lang::ZhCn, Lang::En] {
            assert_eq!(Lang::parse(lang.code()), Some(lang));
        }
    }
}
