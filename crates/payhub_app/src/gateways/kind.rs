//! The payment gateways payhub routes to, by the names the retail dialect uses.

use crate::lang::Lang;

/// A payment gateway (seed 003's `type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GatewayKind {
    Wxpay,
    Alipay,
    Alipayos,
    Fpspay,
    Vmpay,
    Unionpay,
    /// payhub's own test gateway: a QR payment in any currency.
    Test,
}

/// How the customer pays through a gateway, which decides the hosted page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PayMethod {
    /// The customer scans a QR code with a wallet app (WeChat Pay, Alipay, the test gateway).
    WalletQr,
    /// The customer scans an FPS QR code with a banking app.
    FpsQr,
    /// The customer enters a card on payhub's card form.
    Card,
}

impl GatewayKind {
    /// Every gateway, in the order `/online/gateway` lists them.
    pub const ALL: [GatewayKind; 7] = [
        GatewayKind::Wxpay,
        GatewayKind::Alipay,
        GatewayKind::Alipayos,
        GatewayKind::Fpspay,
        GatewayKind::Vmpay,
        GatewayKind::Unionpay,
        GatewayKind::Test,
    ];

    /// The dialect's code, e.g. `WXPAY`.
    pub fn code(self) -> &'static str {
        match self {
            GatewayKind::Wxpay => "WXPAY",
            GatewayKind::Alipay => "ALIPAY",
            GatewayKind::Alipayos => "ALIPAYOS",
            GatewayKind::Fpspay => "FPSPAY",
            GatewayKind::Vmpay => "VMPAY",
            GatewayKind::Unionpay => "UNIONPAY",
            GatewayKind::Test => "TEST",
        }
    }

    /// Parses a code exactly as the dialect spells it (upper case).
    pub fn parse(code: &str) -> Option<GatewayKind> {
        GatewayKind::ALL.into_iter().find(|k| k.code() == code)
    }

    /// The English description (`desc` in `/online/gateway`).
    pub fn description(self) -> &'static str {
        match self {
            GatewayKind::Wxpay => "Wechat Pay",
            GatewayKind::Alipay => "Alipay",
            GatewayKind::Alipayos => "Alipay Oversea",
            GatewayKind::Fpspay => "Faster Payment System Pay",
            GatewayKind::Vmpay => "Visa/Master Online",
            GatewayKind::Unionpay => "Union Pay",
            GatewayKind::Test => "Test",
        }
    }

    /// The name in the customer's language (`langDesc`).
    pub fn lang_description(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (_, Lang::En) => self.description(),
            (GatewayKind::Wxpay, _) => "微信支付",
            (GatewayKind::Alipay, Lang::ZhHk) => "支付寶",
            (GatewayKind::Alipay, _) => "支付宝",
            (GatewayKind::Alipayos, Lang::ZhHk) => "支付寶(香港)",
            (GatewayKind::Alipayos, _) => "支付宝(香港)",
            (GatewayKind::Fpspay, Lang::ZhHk) => "轉數快",
            (GatewayKind::Fpspay, _) => "转数快",
            (GatewayKind::Vmpay, _) => "信用卡支付",
            (GatewayKind::Unionpay, Lang::ZhHk) => "銀聯(信用卡)支付",
            (GatewayKind::Unionpay, _) => "银联(信用卡)支付",
            (GatewayKind::Test, Lang::ZhHk) => "測試",
            (GatewayKind::Test, _) => "测试",
        }
    }

    /// How the customer pays.
    pub fn method(self) -> PayMethod {
        match self {
            GatewayKind::Wxpay
            | GatewayKind::Alipay
            | GatewayKind::Alipayos
            | GatewayKind::Test => PayMethod::WalletQr,
            GatewayKind::Fpspay => PayMethod::FpsQr,
            GatewayKind::Vmpay | GatewayKind::Unionpay => PayMethod::Card,
        }
    }
}

impl std::fmt::Display for GatewayKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_case_exact() {
        for kind in GatewayKind::ALL {
            assert_eq!(GatewayKind::parse(kind.code()), Some(kind));
        }
        assert_eq!(GatewayKind::parse("wxpay"), None);
        assert_eq!(GatewayKind::parse("PAYPAL"), None);
    }

    #[test]
    fn names_follow_seed_003() {
        assert_eq!(GatewayKind::Fpspay.lang_description(Lang::ZhHk), "轉數快");
        assert_eq!(
            GatewayKind::Unionpay.lang_description(Lang::ZhHk),
            "銀聯(信用卡)支付"
        );
        assert_eq!(GatewayKind::Vmpay.description(), "Visa/Master Online");
    }
}
