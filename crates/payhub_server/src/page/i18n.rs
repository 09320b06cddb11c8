//! Every customer-facing string of the hosted pages, in `zh_hk`
//! (Traditional Chinese), `zh_cn` (Simplified Chinese) and `en`.
//!
//! Keeping them in one table per language, rather than inline in the
//! templates, means a new string cannot be added in one language only: the
//! struct literal would not compile.

use payhub_app::lang::Lang;

/// The placeholder in [`Texts::closes_in`] that the remaining time replaces.
pub const TIME_PLACEHOLDER: &str = "{time}";

/// The placeholder in [`Texts::too_many_requests_detail`] that the seconds replace.
pub const SECONDS_PLACEHOLDER: &str = "{seconds}";

/// The strings of the hosted pages in one language.
#[derive(Debug)]
pub struct Texts {
    /// The page `<title>`.
    pub page_title: &'static str,
    /// Label of the amount.
    pub amount: &'static str,
    /// Label of the part already paid from the customer's account credit
    /// (the card is charged only the rest).
    pub credit_used: &'static str,
    /// Under the card form when a successful payment saves the card to the
    /// customer's account.
    pub card_will_be_saved: &'static str,
    /// Label of the merchant's name.
    pub seller: &'static str,
    /// Label of what is being bought.
    pub subject: &'static str,
    /// Label of the retrieval reference number shown in the footer.
    pub reference: &'static str,
    /// Label of the payment method.
    pub pay_with: &'static str,
    /// Caption under the QR code.
    pub scan_to_pay: &'static str,
    /// How long the QR code stays payable; contains [`TIME_PLACEHOLDER`].
    /// Use [`Texts::closes_in_text`] to fill it in.
    pub closes_in: &'static str,
    /// Shown while the page waits for the wallet to report the payment.
    pub waiting_for_payment: &'static str,
    /// Shown when the QR content cannot be encoded.
    pub qr_unavailable: &'static str,
    /// Heading of the card form.
    pub card_details: &'static str,
    pub card_number: &'static str,
    pub expiry: &'static str,
    pub cvc: &'static str,
    pub holder: &'static str,
    /// Marks a field the customer may leave empty.
    pub optional: &'static str,
    /// The card form's submit button.
    pub pay_button: &'static str,
    /// Heading of the 3-D Secure step.
    pub challenge_title: &'static str,
    pub challenge_prompt: &'static str,
    /// Label of the one-time code field.
    pub challenge_code: &'static str,
    /// The 3-D Secure step when it is on the card issuer's own page.
    pub issuer_prompt: &'static str,
    /// The link to the card issuer's 3-D Secure page.
    pub continue_to_issuer: &'static str,
    /// The 3-D Secure form's submit button.
    pub submit: &'static str,
    pub processing: &'static str,
    pub paid: &'static str,
    pub paid_detail: &'static str,
    pub declined: &'static str,
    pub declined_detail: &'static str,
    pub expired: &'static str,
    pub expired_detail: &'static str,
    pub canceled: &'static str,
    pub canceled_detail: &'static str,
    /// The link back to the merchant's site after the result.
    pub continue_to_merchant: &'static str,
    pub error_number: &'static str,
    pub error_expiry: &'static str,
    pub error_expired: &'static str,
    pub error_cvc: &'static str,
    /// The button under the card form that cancels the payment and goes
    /// back to the merchant.
    pub cancel: &'static str,
    /// Receipt label of the card's last four digits.
    pub card_ending: &'static str,
    /// Receipt label of when the payment was made.
    pub paid_at: &'static str,
    /// The 3-D Secure code was wrong.
    pub error_code: &'static str,
    /// Next to the card form after a declined card, while the customer may
    /// try another: nothing was charged.
    pub card_declined: &'static str,
    /// Heading of the card form after a declined card.
    pub use_another_card: &'static str,
    /// Title of the page answering a client over its rate limit.
    pub too_many_requests: &'static str,
    /// How long to wait; contains [`SECONDS_PLACEHOLDER`]. Use
    /// [`Texts::too_many_requests_text`] to fill it in.
    pub too_many_requests_detail: &'static str,
    /// Title of the page for an unknown or removed payment link.
    pub not_found: &'static str,
    pub not_found_detail: &'static str,
    /// Title of the sandbox note box.
    pub sandbox: &'static str,
    /// A general sandbox note for callers without a more specific hint.
    pub sandbox_hint: &'static str,
}

impl Texts {
    /// [`Texts::closes_in`] with the remaining time filled in, e.g.
    /// "Closes in 4:32. Please pay in time."
    pub fn closes_in_text(&self, seconds_left: i64) -> String {
        self.closes_in
            .replace(TIME_PLACEHOLDER, &remaining_time(seconds_left))
    }

    /// [`Texts::too_many_requests_detail`] with the seconds to wait filled in.
    pub fn too_many_requests_text(&self, retry_after_s: u64) -> String {
        self.too_many_requests_detail
            .replace(SECONDS_PLACEHOLDER, &retry_after_s.to_string())
    }
}

/// Formats seconds as `m:ss` (`272` → `4:32`), the countdown shown next to a
/// QR code; negative values show `0:00`, since a closed sale has no time left.
pub fn remaining_time(seconds_left: i64) -> String {
    let seconds = seconds_left.max(0);
    format!("{}:{:02}", seconds / 60, seconds % 60)
}

/// The strings for `lang`.
pub fn texts(lang: Lang) -> &'static Texts {
    match lang {
        Lang::ZhHk => &ZH_HK,
        Lang::ZhCn => &ZH_CN,
        Lang::En => &EN,
    }
}

static ZH_HK: Texts = Texts {
    page_title: "付款",
    amount: "金額",
    credit_used: "已由賬戶餘額支付",
    card_will_be_saved: "付款成功後，此卡將儲存至你的賬戶，以便日後付款。",
    seller: "商戶",
    subject: "商品",
    reference: "參考編號",
    pay_with: "付款方式",
    scan_to_pay: "掃一掃付款",
    closes_in: "交易將在 {time} 後關閉，請及時付款！",
    waiting_for_payment: "等待付款中…",
    qr_unavailable: "暫時無法顯示二維碼，請返回商戶重試。",
    card_details: "卡資料",
    card_number: "卡號",
    expiry: "有效期",
    cvc: "安全碼",
    holder: "持卡人姓名",
    optional: "選填",
    pay_button: "確認支付",
    challenge_title: "3-D Secure 驗證",
    challenge_prompt: "你的發卡銀行需要核實這筆交易，請輸入已發送到你手機的驗證碼。",
    challenge_code: "驗證碼",
    issuer_prompt: "你的發卡銀行需要在其網頁核實這筆交易，完成後會返回此頁面。",
    continue_to_issuer: "前往發卡銀行驗證",
    submit: "提交",
    processing: "正在處理你的付款，請勿關閉此頁面…",
    paid: "付款成功",
    paid_detail: "多謝！你的付款已完成。",
    declined: "付款被拒絕",
    declined_detail: "這筆付款未能完成，你沒有被扣款。請嘗試其他卡或付款方式。",
    expired: "交易已逾時",
    expired_detail: "付款時限已過，你沒有被扣款。請返回商戶重新下單。",
    canceled: "交易已取消",
    canceled_detail: "這筆交易已被取消，你沒有被扣款。",
    continue_to_merchant: "返回商戶",
    error_number: "卡號無效，請檢查後重新輸入。",
    error_expiry: "有效期無效，請以 MM/YY 格式輸入。",
    error_expired: "此卡已過期。",
    error_cvc: "安全碼無效。",
    cancel: "取消並返回商戶",
    card_ending: "卡號末四位",
    paid_at: "付款時間",
    error_code: "驗證碼不正確，請再試一次。",
    card_declined: "你的卡被拒絕，你沒有被扣款。請使用另一張卡。",
    use_another_card: "使用另一張卡",
    too_many_requests: "請求過於頻繁",
    too_many_requests_detail: "請等候 {seconds} 秒後重新載入此頁面。",
    not_found: "找不到付款連結",
    not_found_detail: "此付款連結無效或已失效，請返回商戶重試。",
    sandbox: "測試環境",
    sandbox_hint: "這是測試交易，不會產生真實扣款。",
};

static ZH_CN: Texts = Texts {
    page_title: "支付",
    amount: "金额",
    credit_used: "已由账户余额支付",
    card_will_be_saved: "付款成功后，此卡将保存到你的账户，以便日后付款。",
    seller: "商户",
    subject: "商品",
    reference: "参考编号",
    pay_with: "支付方式",
    scan_to_pay: "扫一扫付款",
    closes_in: "交易将在 {time} 后关闭，请及时付款！",
    waiting_for_payment: "等待付款中…",
    qr_unavailable: "暂时无法显示二维码，请返回商户重试。",
    card_details: "银行卡信息",
    card_number: "卡号",
    expiry: "有效期",
    cvc: "安全码",
    holder: "持卡人姓名",
    optional: "选填",
    pay_button: "确认支付",
    challenge_title: "3-D Secure 验证",
    challenge_prompt: "您的发卡银行需要核实这笔交易，请输入已发送到您手机的验证码。",
    challenge_code: "验证码",
    issuer_prompt: "您的发卡银行需要在其网页核实这笔交易，完成后会返回此页面。",
    continue_to_issuer: "前往发卡银行验证",
    submit: "提交",
    processing: "正在处理您的付款，请勿关闭此页面…",
    paid: "支付成功",
    paid_detail: "谢谢！您的付款已完成。",
    declined: "支付被拒绝",
    declined_detail: "这笔付款未能完成，您没有被扣款。请尝试其他卡或支付方式。",
    expired: "交易已超时",
    expired_detail: "付款时限已过，您没有被扣款。请返回商户重新下单。",
    canceled: "交易已取消",
    canceled_detail: "这笔交易已被取消，您没有被扣款。",
    continue_to_merchant: "返回商户",
    error_number: "卡号无效，请检查后重新输入。",
    error_expiry: "有效期无效，请按 MM/YY 格式输入。",
    error_expired: "此卡已过期。",
    error_cvc: "安全码无效。",
    cancel: "取消并返回商户",
    card_ending: "卡号末四位",
    paid_at: "支付时间",
    error_code: "验证码不正确，请重试。",
    card_declined: "您的卡被拒绝，您没有被扣款。请使用另一张卡。",
    use_another_card: "使用另一张卡",
    too_many_requests: "请求过于频繁",
    too_many_requests_detail: "请等待 {seconds} 秒后重新加载此页面。",
    not_found: "找不到支付链接",
    not_found_detail: "此支付链接无效或已失效，请返回商户重试。",
    sandbox: "测试环境",
    sandbox_hint: "这是测试交易，不会产生真实扣款。",
};

static EN: Texts = Texts {
    page_title: "Payment",
    amount: "Amount",
    credit_used: "Paid from your account credit",
    card_will_be_saved: "When this payment succeeds, this card is saved to your account for later payments.",
    seller: "Merchant",
    subject: "Item",
    reference: "Reference",
    pay_with: "Pay with",
    scan_to_pay: "Scan to pay",
    closes_in: "This payment closes in {time}. Please pay in time.",
    waiting_for_payment: "Waiting for your payment…",
    qr_unavailable: "The QR code cannot be shown. Please return to the merchant and try again.",
    card_details: "Card details",
    card_number: "Card number",
    expiry: "Expiry date",
    cvc: "Security code",
    holder: "Name on card",
    optional: "optional",
    pay_button: "Pay now",
    challenge_title: "3-D Secure verification",
    challenge_prompt: "Your card issuer needs to verify this payment. Enter the code sent to your phone.",
    challenge_code: "Verification code",
    issuer_prompt: "Your card issuer needs to verify this payment on its own page; you come back here when it is done.",
    continue_to_issuer: "Continue to your card issuer",
    submit: "Submit",
    processing: "Processing your payment. Please do not close this page…",
    paid: "Payment successful",
    paid_detail: "Thank you! Your payment is complete.",
    declined: "Payment declined",
    declined_detail: "This payment could not be completed and you have not been charged. Please try another card or payment method.",
    expired: "Payment expired",
    expired_detail: "The time to pay has passed and you have not been charged. Please return to the merchant to order again.",
    canceled: "Payment canceled",
    canceled_detail: "This payment was canceled and you have not been charged.",
    continue_to_merchant: "Return to merchant",
    error_number: "This card number is not valid. Please check it and try again.",
    error_expiry: "This expiry date is not valid. Please enter it as MM/YY.",
    error_expired: "This card has expired.",
    error_cvc: "This security code is not valid.",
    cancel: "Cancel and return to the merchant",
    card_ending: "Card",
    paid_at: "Paid at",
    error_code: "That code is not correct. Please try again.",
    card_declined: "Your card was declined and you have not been charged. Please use another card.",
    use_another_card: "Use another card",
    too_many_requests: "Too many requests",
    too_many_requests_detail: "Please wait {seconds} seconds and reload this page.",
    not_found: "Payment link not found",
    not_found_detail: "This payment link is not valid or is no longer available. Please return to the merchant and try again.",
    sandbox: "Sandbox",
    sandbox_hint: "This is a test payment; no real money is moved.",
};

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [Lang; 3] = [Lang::ZhHk, Lang::ZhCn, Lang::En];

    /// Every field, so the checks below cover strings added later too.
    fn all_strings(t: &Texts) -> Vec<&'static str> {
        vec![
            t.page_title,
            t.amount,
            t.credit_used,
            t.card_will_be_saved,
            t.seller,
            t.subject,
            t.reference,
            t.pay_with,
            t.scan_to_pay,
            t.closes_in,
            t.waiting_for_payment,
            t.qr_unavailable,
            t.card_details,
            t.card_number,
            t.expiry,
            t.cvc,
            t.holder,
            t.optional,
            t.pay_button,
            t.challenge_title,
            t.challenge_prompt,
            t.challenge_code,
            t.issuer_prompt,
            t.continue_to_issuer,
            t.submit,
            t.processing,
            t.paid,
            t.paid_detail,
            t.declined,
            t.declined_detail,
            t.expired,
            t.expired_detail,
            t.canceled,
            t.canceled_detail,
            t.continue_to_merchant,
            t.error_number,
            t.error_expiry,
            t.error_expired,
            t.error_cvc,
            t.error_code,
            t.card_declined,
            t.use_another_card,
            t.too_many_requests,
            t.too_many_requests_detail,
            t.not_found,
            t.not_found_detail,
            t.sandbox,
            t.sandbox_hint,
        ]
    }

    #[test]
    fn every_language_has_every_string() {
        for lang in ALL {
            for text in all_strings(texts(lang)) {
                assert!(!text.trim().is_empty(), "{lang:?} has an empty string");
            }
        }
    }

    #[test]
    fn the_closing_phrase_takes_the_remaining_time() {
        for lang in ALL {
            assert!(texts(lang).closes_in.contains(TIME_PLACEHOLDER), "{lang:?}");
            assert!(texts(lang).closes_in_text(272).contains("4:32"), "{lang:?}");
        }
        assert_eq!(
            texts(Lang::ZhHk).closes_in_text(300),
            "交易將在 5:00 後關閉，請及時付款！"
        );
    }

    #[test]
    fn the_rate_limit_page_takes_the_seconds_in_every_language() {
        let cases = [
            (Lang::ZhHk, "請等候 7 秒後重新載入此頁面。"),
            (Lang::ZhCn, "请等待 7 秒后重新加载此页面。"),
            (Lang::En, "Please wait 7 seconds and reload this page."),
        ];
        for (lang, text) in cases {
            assert!(
                texts(lang)
                    .too_many_requests_detail
                    .contains(SECONDS_PLACEHOLDER),
                "{lang:?}"
            );
            assert_eq!(texts(lang).too_many_requests_text(7), text);
        }
    }

    #[test]
    fn remaining_time_is_minutes_and_padded_seconds() {
        assert_eq!(remaining_time(272), "4:32");
        assert_eq!(remaining_time(5), "0:05");
        assert_eq!(remaining_time(0), "0:00");
        assert_eq!(remaining_time(-30), "0:00");
        assert_eq!(remaining_time(3600), "60:00");
    }

    #[test]
    fn seed_phrases_and_scripts_match_the_language() {
        assert_eq!(texts(Lang::ZhHk).scan_to_pay, "掃一掃付款");
        assert_eq!(texts(Lang::ZhCn).scan_to_pay, "扫一扫付款");
        assert_eq!(texts(Lang::En).scan_to_pay, "Scan to pay");
        assert_eq!(texts(Lang::ZhHk).pay_button, "確認支付");
        assert_eq!(texts(Lang::ZhCn).pay_button, "确认支付");
        // Traditional and Simplified spell these differently.
        assert_ne!(texts(Lang::ZhHk).amount, texts(Lang::ZhCn).amount);
        assert_ne!(
            texts(Lang::ZhHk).continue_to_merchant,
            texts(Lang::ZhCn).continue_to_merchant
        );
    }
}
