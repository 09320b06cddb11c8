//! Every string of the telco consent page, in each language a subscriber
//! may ask for, and how the page writes amounts and times in it.
//!
//! Seed 004's request carries a `language` (its example is `tr`); the page
//! speaks Turkish, English and the hosted pages' two Chinese variants, and
//! English for anything else. One table per language, like
//! [`crate::page::i18n`]: a string added to one language only does not
//! compile.
//!
//! Amounts are written from minor units with integer arithmetic (never a
//! float), with the currency's exponent: Turkish groups thousands with `.`,
//! uses a decimal comma and writes the lira as `TL` after the amount
//! (`1.234,56 TL`), as Turkish bills and shops do; the other languages
//! write `1,234.56 TRY`.

use chrono::{DateTime, FixedOffset, Offset, Utc};
use payhub_app::carrier_billing::sms::text::SmsLanguage;
use payhub_core::Money;

/// The placeholder of the clock time in [`ConsentTexts::expires`].
pub const TIME_PLACEHOLDER: &str = "{time}";
/// The placeholder of the clock's name in [`ConsentTexts::expires`].
pub const ZONE_PLACEHOLDER: &str = "{zone}";
/// The placeholder of the time left in [`ConsentTexts::expires`].
pub const LEFT_PLACEHOLDER: &str = "{left}";
/// The placeholder of a count (minutes, attempts).
pub const COUNT_PLACEHOLDER: &str = "{n}";

/// A language of the consent page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum SubscriberLang {
    /// Turkish (seed 004's example).
    Tr,
    /// English, also for a language the page does not have.
    #[default]
    En,
    /// Traditional Chinese (Hong Kong), as the hosted pages.
    ZhHk,
    /// Simplified Chinese, as the hosted pages.
    ZhCn,
}

impl SubscriberLang {
    /// Every language, for tests and docs.
    pub const ALL: [SubscriberLang; 4] = [
        SubscriberLang::Tr,
        SubscriberLang::En,
        SubscriberLang::ZhHk,
        SubscriberLang::ZhCn,
    ];

    /// The request's `language` (`tr`, `tr-TR`, `TR`, `en`, `zh-HK`,
    /// `zh_cn`…, case-insensitive); English when absent or unknown. The
    /// consent SMS's rule ([`SmsLanguage::of`]), so the page is in the
    /// language of the message that links to it.
    pub fn from_request(language: Option<&str>) -> SubscriberLang {
        match SmsLanguage::of(language) {
            SmsLanguage::Turkish => SubscriberLang::Tr,
            SmsLanguage::English => SubscriberLang::En,
            SmsLanguage::ChineseTraditional => SubscriberLang::ZhHk,
            SmsLanguage::ChineseSimplified => SubscriberLang::ZhCn,
        }
    }

    /// The browser's language (`Accept-Language`), for a page that names no
    /// transaction (an invalid link): the first of its languages by
    /// preference (`q`) that the page has; English when none is.
    pub fn from_accept_language(header: Option<&str>) -> SubscriberLang {
        let mut ranked: Vec<(u32, usize, &str)> = header
            .unwrap_or("")
            .split(',')
            .enumerate()
            .filter_map(|(order, entry)| {
                let mut parts = entry.split(';');
                let tag = parts.next()?.trim();
                let q = parts
                    .find_map(|p| p.trim().strip_prefix("q="))
                    .map_or(Some(1000), thousandths)?;
                (!tag.is_empty() && q > 0).then_some((q, order, tag))
            })
            .collect();
        ranked.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        ranked
            .into_iter()
            .find_map(|(_, _, tag)| SubscriberLang::of_tag(tag))
            .unwrap_or_default()
    }

    /// The page language of one BCP 47 tag, if the page has it.
    fn of_tag(tag: &str) -> Option<SubscriberLang> {
        let tag = tag.to_ascii_lowercase().replace('_', "-");
        let mut subtags = tag.split('-');
        match subtags.next()? {
            "tr" => Some(SubscriberLang::Tr),
            "en" => Some(SubscriberLang::En),
            "zh" => Some(
                if subtags.any(|s| matches!(s, "hant" | "hk" | "tw" | "mo")) {
                    SubscriberLang::ZhHk
                } else {
                    SubscriberLang::ZhCn
                },
            ),
            _ => None,
        }
    }

    /// The wait of a client over its rate limit, in this language.
    pub fn too_many_requests(self, retry_after_s: u64) -> String {
        self.texts()
            .too_many_requests
            .1
            .replace(COUNT_PLACEHOLDER, &retry_after_s.to_string())
    }

    /// The HTML `lang` attribute (the same tags as the hosted pages').
    pub fn html_tag(self) -> &'static str {
        match self {
            SubscriberLang::Tr => "tr",
            SubscriberLang::En => "en",
            SubscriberLang::ZhHk => "zh-Hant-HK",
            SubscriberLang::ZhCn => "zh-Hans-CN",
        }
    }

    /// The strings in this language.
    pub fn texts(self) -> &'static ConsentTexts {
        match self {
            SubscriberLang::Tr => &TR,
            SubscriberLang::En => &EN,
            SubscriberLang::ZhHk => &ZH_HK,
            SubscriberLang::ZhCn => &ZH_CN,
        }
    }

    /// The clock the expiry time is shown on, with its label. The request
    /// names a language, not a place, so the page uses the clock of the
    /// market that language stands for here (Türkiye has kept UTC+3 all
    /// year since 2016; Hong Kong and China are UTC+8) and says which it is;
    /// English is shown in UTC.
    fn clock(self) -> (FixedOffset, &'static str) {
        let hours = |h: i32| FixedOffset::east_opt(h * 3600).unwrap_or_else(|| Utc.fix());
        match self {
            SubscriberLang::Tr => (hours(3), "UTC+3"),
            SubscriberLang::En => (hours(0), "UTC"),
            SubscriberLang::ZhHk | SubscriberLang::ZhCn => (hours(8), "UTC+8"),
        }
    }

    /// `amount` as this language writes it: `1.234,56 TL` in Turkish,
    /// `1,234.56 TRY` otherwise; a currency without minor units has no
    /// decimals (`1.500 JPY`, `1,500 JPY`).
    pub fn amount(self, amount: Money) -> String {
        let currency = amount.currency();
        let code = currency.code();
        let (group, decimal, unit) = match self {
            SubscriberLang::Tr => ('.', ',', if code == "TRY" { "TL" } else { code }),
            SubscriberLang::En | SubscriberLang::ZhHk | SubscriberLang::ZhCn => (',', '.', code),
        };
        let exponent = u32::from(currency.minor_unit_exponent());
        let scale = 10_u64.pow(exponent);
        // `Money` is never negative.
        let magnitude = amount.amount_minor().unsigned_abs();
        let (major, fraction) = (magnitude / scale, magnitude % scale);
        let mut text = grouped(major, group);
        if exponent > 0 {
            text.push(decimal);
            let digits = fraction.to_string();
            let width = usize::try_from(exponent).unwrap_or_default();
            text.push_str(&"0".repeat(width.saturating_sub(digits.len())));
            text.push_str(&digits);
        }
        text.push(' ');
        text.push_str(unit);
        text
    }

    /// The sentence saying until when the subscriber may consent, e.g.
    /// "This request expires at 14:05 UTC (4 minutes left)." (whole
    /// minutes, rounded down, so the page never promises more time than there is)
    pub fn expires(self, deadline: DateTime<Utc>, now: DateTime<Utc>) -> String {
        let t = self.texts();
        let (offset, label) = self.clock();
        let time = deadline.with_timezone(&offset).format("%H:%M").to_string();
        let seconds = (deadline - now).num_seconds().max(0);
        let minutes = seconds / 60;
        let left = match minutes {
            0 => t.under_a_minute_left.to_owned(),
            1 => t.one_minute_left.to_owned(),
            n => t.minutes_left.replace(COUNT_PLACEHOLDER, &n.to_string()),
        };
        t.expires
            .replace(TIME_PLACEHOLDER, &time)
            .replace(ZONE_PLACEHOLDER, label)
            .replace(LEFT_PLACEHOLDER, &left)
    }

    /// The error after a wrong code, with the attempts left.
    pub fn wrong_code(self, attempts_left: i64) -> String {
        let t = self.texts();
        if attempts_left == 1 {
            t.wrong_code_last.to_owned()
        } else {
            t.wrong_code
                .replace(COUNT_PLACEHOLDER, &attempts_left.to_string())
        }
    }
}

/// `value` with `separator` between groups of three digits.
/// An `Accept-Language` weight (`0` to `1`, up to three decimals) in
/// thousandths; `None` when it is not one.
fn thousandths(q: &str) -> Option<u32> {
    let (whole, fraction) = q.trim().split_once('.').unwrap_or((q.trim(), ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if !matches!(whole, "0" | "1") || fraction.len() > 3 || !digits(fraction) {
        return None;
    }
    let fraction: u32 = format!("{fraction:0<3}").parse().ok()?;
    let value = whole.parse::<u32>().ok()? * 1000 + fraction;
    (value <= 1000).then_some(value)
}

fn grouped(value: u64, separator: char) -> String {
    let digits = value.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(separator);
        }
        out.push(digit);
    }
    out
}

/// Why the consent form came back, in words the page translates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FormError {
    /// A deliverable order without a delivery address.
    DeliveryAddress,
    /// Billing required, but no billing or e-bill address.
    BillingAddress,
    /// Every item removed.
    NothingLeft,
    /// The carrier did not answer.
    CarrierUnavailable,
    /// Anything else the form was refused for.
    Other,
}

impl FormError {
    /// The use case's refusal (its English message) as a page error.
    /// The messages are `carrier_billing::consent`'s and the basket's
    /// `RemovalError::NothingLeft`; the test below holds them to it.
    pub fn of_message(message: &str) -> FormError {
        match message {
            "enter a delivery address" => FormError::DeliveryAddress,
            "enter a billing or e-bill address" => FormError::BillingAddress,
            "keep at least one item, or decline the payment" => FormError::NothingLeft,
            _ => FormError::Other,
        }
    }

    /// The message in `lang`.
    pub fn text(self, lang: SubscriberLang) -> &'static str {
        let t = lang.texts();
        match self {
            FormError::DeliveryAddress => t.error_delivery_address,
            FormError::BillingAddress => t.error_billing_address,
            FormError::NothingLeft => t.error_nothing_left,
            FormError::CarrierUnavailable => t.error_carrier,
            FormError::Other => t.error_form,
        }
    }
}

/// The consent page's strings in one language.
#[derive(Debug)]
pub struct ConsentTexts {
    /// The page `<title>`.
    pub page_title: &'static str,
    pub heading: &'static str,
    /// Label of the calling service's (merchant's) name.
    pub seller: &'static str,
    /// Label of the subscriber's number.
    pub line: &'static str,
    /// Basket column: the item, its count and unit price.
    pub item: &'static str,
    /// Basket column: count × unit price.
    pub line_total: &'static str,
    /// Basket column: the remove checkbox.
    pub remove: &'static str,
    /// Before the item's name in the checkbox's accessible label.
    pub remove_item: &'static str,
    pub total: &'static str,
    /// After the total when items may be removed.
    pub total_note: &'static str,
    pub delivery_address: &'static str,
    pub billing_address: &'static str,
    /// Label of the one-time code field.
    pub code: &'static str,
    pub approve: &'static str,
    pub decline: &'static str,
    /// Contains [`TIME_PLACEHOLDER`], [`ZONE_PLACEHOLDER`] and [`LEFT_PLACEHOLDER`].
    pub expires: &'static str,
    /// Contains [`COUNT_PLACEHOLDER`].
    pub minutes_left: &'static str,
    pub one_minute_left: &'static str,
    pub under_a_minute_left: &'static str,
    /// Contains [`COUNT_PLACEHOLDER`] (attempts left).
    pub wrong_code: &'static str,
    /// A wrong code with one attempt left.
    pub wrong_code_last: &'static str,
    pub error_delivery_address: &'static str,
    pub error_billing_address: &'static str,
    pub error_nothing_left: &'static str,
    pub error_carrier: &'static str,
    pub error_form: &'static str,
    /// Outcome titles and messages (see `consent::outcome_page`).
    pub reserved: (&'static str, &'static str),
    pub paid: (&'static str, &'static str),
    pub released: (&'static str, &'static str),
    pub declined: (&'static str, &'static str),
    pub expired: (&'static str, &'static str),
    pub failed: (&'static str, &'static str),
    pub waiting: (&'static str, &'static str),
    /// The consent SMS could not be sent.
    pub sms_failed: (&'static str, &'static str),
    /// payhub failed: try again.
    pub try_again: (&'static str, &'static str),
    /// A link that names no consent (its language is the browser's).
    pub link_invalid: (&'static str, &'static str),
    /// A client over its rate limit: the title, and the wait (`{n}` seconds).
    pub too_many_requests: (&'static str, &'static str),
}

static TR: ConsentTexts = ConsentTexts {
    page_title: "Ödeme onayı",
    heading: "Ödemenizi onaylayın",
    seller: "Satıcı",
    line: "Telefon numarası",
    item: "Ürün",
    line_total: "Tutar",
    remove: "Çıkar",
    remove_item: "Sepetten çıkar:",
    total: "Toplam",
    total_note: "(çıkardığınız ürünler düşülür)",
    delivery_address: "Teslimat adresi",
    billing_address: "Fatura veya e-fatura adresi",
    code: "SMS ile gelen kod",
    approve: "Onayla",
    decline: "Reddet",
    expires: "Son onay saati: {time} ({zone}), {left}.",
    minutes_left: "{n} dakika kaldı",
    one_minute_left: "1 dakika kaldı",
    under_a_minute_left: "1 dakikadan az kaldı",
    wrong_code: "Kod doğru değil. {n} deneme hakkınız kaldı.",
    wrong_code_last: "Kod doğru değil. Son 1 deneme hakkınız kaldı.",
    error_delivery_address: "Lütfen bir teslimat adresi girin.",
    error_billing_address: "Lütfen bir fatura veya e-fatura adresi girin.",
    error_nothing_left: "En az bir ürün bırakın ya da ödemeyi reddedin.",
    error_carrier: "Operatör yanıt vermedi; lütfen tekrar deneyin.",
    error_form: "Lütfen formu kontrol edip tekrar deneyin.",
    reserved: ("Onaylandı", "Tutar faturanızda ayrıldı."),
    paid: ("Ödendi", "Ödeme tamamlandı."),
    released: (
        "Serbest bırakıldı",
        "Ayrılan tutar serbest bırakıldı; sizden ücret alınmadı.",
    ),
    declined: (
        "Reddedildi",
        "Bu ödemeyi reddettiniz; sizden ücret alınmadı.",
    ),
    expired: (
        "Süresi doldu",
        "Bu isteğin süresi doldu; sizden ücret alınmadı.",
    ),
    failed: ("Ödenmedi", "Ödeme yapılamadı; sizden ücret alınmadı."),
    waiting: ("Bekleniyor", "Bu ödeme sizi bekliyor."),
    sms_failed: (
        "Gönderilemedi",
        "Bu ödemenin kodu gönderilemedi; sizden ücret alınmadı.",
    ),
    try_again: ("Tekrar deneyin", "Bir sorun oluştu; lütfen tekrar deneyin."),
    link_invalid: ("Bağlantı geçersiz", "Bu onay bağlantısı geçerli değil."),
    too_many_requests: (
        "Çok fazla istek",
        "Lütfen {n} saniye bekleyip tekrar deneyin.",
    ),
};

static EN: ConsentTexts = ConsentTexts {
    page_title: "Approve your payment",
    heading: "Approve your payment",
    seller: "Service",
    line: "Phone number",
    item: "Item",
    line_total: "Amount",
    remove: "Remove",
    remove_item: "Remove",
    total: "Total",
    total_note: "(less any item you remove)",
    delivery_address: "Delivery address",
    billing_address: "Billing or e-bill address",
    code: "Code from the SMS",
    approve: "Approve",
    decline: "Decline",
    expires: "This request expires at {time} {zone} ({left}).",
    minutes_left: "{n} minutes left",
    one_minute_left: "1 minute left",
    under_a_minute_left: "less than a minute left",
    wrong_code: "That code is not right. {n} attempts left.",
    wrong_code_last: "That code is not right. 1 attempt left.",
    error_delivery_address: "Please enter a delivery address.",
    error_billing_address: "Please enter a billing or e-bill address.",
    error_nothing_left: "Keep at least one item, or decline the payment.",
    error_carrier: "The carrier did not answer; please try again.",
    error_form: "Please check the form and try again.",
    reserved: ("Approved", "The amount is reserved on your bill."),
    paid: ("Paid", "The payment is complete."),
    released: (
        "Released",
        "The reservation was released; nothing was charged.",
    ),
    declined: (
        "Declined",
        "You declined this payment; nothing was charged.",
    ),
    expired: ("Expired", "This request expired; nothing was charged."),
    failed: (
        "Not paid",
        "The payment could not be made; nothing was charged.",
    ),
    waiting: ("Waiting", "This payment is waiting for you."),
    sms_failed: (
        "Not sent",
        "The code for this payment could not be sent; nothing was charged.",
    ),
    try_again: ("Try again", "Something went wrong; please try again."),
    link_invalid: ("Link not valid", "This consent link is not valid."),
    too_many_requests: (
        "Too many requests",
        "Please wait {n} seconds and try again.",
    ),
};

static ZH_HK: ConsentTexts = ConsentTexts {
    page_title: "確認付款",
    heading: "確認你的付款",
    seller: "商戶",
    line: "電話號碼",
    item: "項目",
    line_total: "金額",
    remove: "移除",
    remove_item: "移除：",
    total: "總額",
    total_note: "（不包括你移除的項目）",
    delivery_address: "送貨地址",
    billing_address: "賬單或電子賬單地址",
    code: "短訊驗證碼",
    approve: "確認付款",
    decline: "拒絕",
    expires: "此請求將於 {time}（{zone}）到期，{left}。",
    minutes_left: "尚餘 {n} 分鐘",
    one_minute_left: "尚餘 1 分鐘",
    under_a_minute_left: "尚餘不足 1 分鐘",
    wrong_code: "驗證碼不正確，尚餘 {n} 次機會。",
    wrong_code_last: "驗證碼不正確，尚餘最後 1 次機會。",
    error_delivery_address: "請輸入送貨地址。",
    error_billing_address: "請輸入賬單或電子賬單地址。",
    error_nothing_left: "請至少保留一個項目，或拒絕此付款。",
    error_carrier: "電訊商未有回應，請重試。",
    error_form: "請檢查表格後重試。",
    reserved: ("已確認", "款項已在你的賬單上預留。"),
    paid: ("付款成功", "付款已完成。"),
    released: ("預留已取消", "預留款項已釋放，你沒有被扣款。"),
    declined: ("已拒絕", "你已拒絕這筆付款，你沒有被扣款。"),
    expired: ("已逾時", "此請求已逾時，你沒有被扣款。"),
    failed: ("付款未完成", "這筆付款未能完成，你沒有被扣款。"),
    waiting: ("等待中", "這筆付款正等待你確認。"),
    sms_failed: ("未能發送", "未能發送這筆付款的驗證碼，你沒有被扣款。"),
    try_again: ("請重試", "發生錯誤，請重試。"),
    link_invalid: ("連結無效", "此確認連結無效。"),
    too_many_requests: ("請求過於頻繁", "請等候 {n} 秒後再試。"),
};

static ZH_CN: ConsentTexts = ConsentTexts {
    page_title: "确认付款",
    heading: "确认您的付款",
    seller: "商户",
    line: "电话号码",
    item: "项目",
    line_total: "金额",
    remove: "移除",
    remove_item: "移除：",
    total: "总额",
    total_note: "（不包括您移除的项目）",
    delivery_address: "收货地址",
    billing_address: "账单或电子账单地址",
    code: "短信验证码",
    approve: "确认付款",
    decline: "拒绝",
    expires: "此请求将于 {time}（{zone}）到期，{left}。",
    minutes_left: "剩余 {n} 分钟",
    one_minute_left: "剩余 1 分钟",
    under_a_minute_left: "剩余不足 1 分钟",
    wrong_code: "验证码不正确，还剩 {n} 次机会。",
    wrong_code_last: "验证码不正确，还剩最后 1 次机会。",
    error_delivery_address: "请输入收货地址。",
    error_billing_address: "请输入账单或电子账单地址。",
    error_nothing_left: "请至少保留一个项目，或拒绝此付款。",
    error_carrier: "运营商未响应，请重试。",
    error_form: "请检查表单后重试。",
    reserved: ("已确认", "款项已在您的账单上预留。"),
    paid: ("支付成功", "支付已完成。"),
    released: ("预留已取消", "预留款项已释放，您没有被扣款。"),
    declined: ("已拒绝", "您已拒绝这笔付款，您没有被扣款。"),
    expired: ("已超时", "此请求已超时，您没有被扣款。"),
    failed: ("支付未完成", "这笔付款未能完成，您没有被扣款。"),
    waiting: ("等待中", "这笔付款正等待您确认。"),
    sms_failed: ("未能发送", "未能发送这笔付款的验证码，您没有被扣款。"),
    try_again: ("请重试", "发生错误，请重试。"),
    link_invalid: ("链接无效", "此确认链接无效。"),
    too_many_requests: ("请求过于频繁", "请等待 {n} 秒后再试。"),
};

#[cfg(test)]
mod tests {
    use payhub_app::lang::Lang;
    use payhub_core::Currency;

    use super::*;

    fn money(minor: i64, code: &str) -> Money {
        let currency = Currency::parse(code).unwrap_or_else(|e| unreachable!("{e}"));
        Money::from_minor(minor, currency).unwrap_or_else(|e| unreachable!("{e}"))
    }

    /// Every field, so the check below covers strings added later too.
    fn all_strings(t: &ConsentTexts) -> Vec<&'static str> {
        let pairs = [
            t.reserved,
            t.paid,
            t.released,
            t.declined,
            t.expired,
            t.failed,
            t.waiting,
            t.sms_failed,
            t.try_again,
            t.link_invalid,
            t.too_many_requests,
        ];
        let mut all = vec![
            t.page_title,
            t.heading,
            t.seller,
            t.line,
            t.item,
            t.line_total,
            t.remove,
            t.remove_item,
            t.total,
            t.total_note,
            t.delivery_address,
            t.billing_address,
            t.code,
            t.approve,
            t.decline,
            t.expires,
            t.minutes_left,
            t.one_minute_left,
            t.under_a_minute_left,
            t.wrong_code,
            t.wrong_code_last,
            t.error_delivery_address,
            t.error_billing_address,
            t.error_nothing_left,
            t.error_carrier,
            t.error_form,
        ];
        for (title, message) in pairs {
            all.push(title);
            all.push(message);
        }
        all
    }

    #[test]
    fn every_language_has_every_string_and_its_placeholders() {
        for lang in SubscriberLang::ALL {
            let t = lang.texts();
            for text in all_strings(t) {
                assert!(!text.trim().is_empty(), "{lang:?} has an empty string");
            }
            assert!(t.expires.contains(TIME_PLACEHOLDER), "{lang:?}");
            assert!(t.expires.contains(LEFT_PLACEHOLDER), "{lang:?}");
            assert!(t.expires.contains(ZONE_PLACEHOLDER), "{lang:?}");
            assert!(t.minutes_left.contains(COUNT_PLACEHOLDER), "{lang:?}");
            assert!(t.wrong_code.contains(COUNT_PLACEHOLDER), "{lang:?}");
            assert!(
                t.too_many_requests.1.contains(COUNT_PLACEHOLDER),
                "{lang:?}"
            );
        }
        // Each language is its own, not a copy of English.
        for lang in [
            SubscriberLang::Tr,
            SubscriberLang::ZhHk,
            SubscriberLang::ZhCn,
        ] {
            assert_ne!(lang.texts().approve, EN.approve, "{lang:?}");
            assert_ne!(lang.texts().decline, EN.decline, "{lang:?}");
        }
        assert_ne!(ZH_HK.line, ZH_CN.line, "Traditional and Simplified differ");
    }

    #[test]
    fn the_request_language_picks_the_page_language_and_unknown_is_english() {
        let cases = [
            (Some("tr"), SubscriberLang::Tr),
            (Some("TR"), SubscriberLang::Tr),
            (Some("tr-TR"), SubscriberLang::Tr),
            (Some("tr_TR"), SubscriberLang::Tr),
            (Some("en"), SubscriberLang::En),
            (Some("en-GB"), SubscriberLang::En),
            (Some("zh-HK"), SubscriberLang::ZhHk),
            (Some("zh_hk"), SubscriberLang::ZhHk),
            (Some("zh-CN"), SubscriberLang::ZhCn),
            (Some("zh_tw"), SubscriberLang::ZhHk),
            (Some("fr"), SubscriberLang::En),
            (Some("trx"), SubscriberLang::En),
            (Some(""), SubscriberLang::En),
            (None, SubscriberLang::En),
        ];
        for (language, expected) in cases {
            assert_eq!(
                SubscriberLang::from_request(language),
                expected,
                "{language:?}"
            );
        }
        assert_eq!(SubscriberLang::Tr.html_tag(), "tr");
        assert_eq!(SubscriberLang::ZhHk.html_tag(), Lang::ZhHk.html_tag());
        assert_eq!(SubscriberLang::ZhCn.html_tag(), Lang::ZhCn.html_tag());
    }

    #[test]
    fn the_browsers_preferred_language_picks_the_page_language() {
        let cases = [
            (
                Some("tr-TR,tr;q=0.9,en-US;q=0.8,en;q=0.7"),
                SubscriberLang::Tr,
            ),
            (Some("fr-FR,fr;q=0.9,tr;q=0.8,en;q=0.5"), SubscriberLang::Tr),
            (Some("en;q=0.5, zh-HK"), SubscriberLang::ZhHk),
            (Some("zh-Hant-TW"), SubscriberLang::ZhHk),
            (Some("zh-CN,zh;q=0.9"), SubscriberLang::ZhCn),
            (Some("zh"), SubscriberLang::ZhCn),
            (Some("tr;q=0, en"), SubscriberLang::En),
            (Some("de, fr"), SubscriberLang::En),
            (Some("*"), SubscriberLang::En),
            (Some(";;,q=,"), SubscriberLang::En),
            (Some("tr;q=abc, zh-CN;q=0.1"), SubscriberLang::ZhCn),
            (None, SubscriberLang::En),
        ];
        for (header, expected) in cases {
            assert_eq!(
                SubscriberLang::from_accept_language(header),
                expected,
                "{header:?}"
            );
        }
        assert_eq!(
            SubscriberLang::Tr.too_many_requests(30),
            "Lütfen 30 saniye bekleyip tekrar deneyin."
        );
    }

    #[test]
    fn turkish_writes_lira_with_a_decimal_comma_and_tl() {
        let tr = SubscriberLang::Tr;
        assert_eq!(tr.amount(money(1999, "TRY")), "19,99 TL");
        assert_eq!(tr.amount(money(500, "TRY")), "5,00 TL");
        assert_eq!(tr.amount(money(7, "TRY")), "0,07 TL");
        assert_eq!(tr.amount(money(123_456, "TRY")), "1.234,56 TL");
        assert_eq!(
            tr.amount(money(123_456_789_012, "TRY")),
            "1.234.567.890,12 TL"
        );
        // Other currencies keep their code, in Turkish notation.
        assert_eq!(tr.amount(money(1500, "JPY")), "1.500 JPY");
        assert_eq!(tr.amount(money(1_234_567, "KWD")), "1.234,567 KWD");
        assert_eq!(tr.amount(money(1050, "USD")), "10,50 USD");
    }

    #[test]
    fn the_other_languages_write_a_decimal_point_and_the_code() {
        for lang in [
            SubscriberLang::En,
            SubscriberLang::ZhHk,
            SubscriberLang::ZhCn,
        ] {
            assert_eq!(lang.amount(money(1999, "TRY")), "19.99 TRY", "{lang:?}");
            assert_eq!(lang.amount(money(123_456, "HKD")), "1,234.56 HKD");
            assert_eq!(lang.amount(money(88_800, "CNY")), "888.00 CNY");
            assert_eq!(lang.amount(money(1500, "JPY")), "1,500 JPY");
            assert_eq!(lang.amount(money(5, "USD")), "0.05 USD");
            assert_eq!(lang.amount(money(1_234_567, "KWD")), "1,234.567 KWD");
            assert_eq!(lang.amount(money(0, "USD")), "0.00 USD");
        }
    }

    #[test]
    fn the_expiry_names_the_clock_time_and_the_minutes_left() {
        let now = DateTime::parse_from_rfc3339("2026-11-25T11:01:00Z")
            .unwrap_or_else(|e| unreachable!("{e}"))
            .with_timezone(&Utc);
        let deadline = now + chrono::Duration::seconds(4 * 60 + 30);
        assert_eq!(
            SubscriberLang::Tr.expires(deadline, now),
            "Son onay saati: 14:05 (UTC+3), 4 dakika kaldı."
        );
        assert_eq!(
            SubscriberLang::En.expires(deadline, now),
            "This request expires at 11:05 UTC (4 minutes left)."
        );
        assert_eq!(
            SubscriberLang::ZhHk.expires(deadline, now),
            "此請求將於 19:05（UTC+8）到期，尚餘 4 分鐘。"
        );
        assert_eq!(
            SubscriberLang::ZhCn.expires(deadline, now),
            "此请求将于 19:05（UTC+8）到期，剩余 4 分钟。"
        );
        let soon = now + chrono::Duration::seconds(90);
        assert!(SubscriberLang::En
            .expires(soon, now)
            .ends_with("(1 minute left)."));
        let gone = now - chrono::Duration::seconds(5);
        assert!(SubscriberLang::Tr
            .expires(gone, now)
            .ends_with(", 1 dakikadan az kaldı."));
    }

    #[test]
    fn a_wrong_code_says_how_many_attempts_are_left() {
        assert_eq!(
            SubscriberLang::Tr.wrong_code(4),
            "Kod doğru değil. 4 deneme hakkınız kaldı."
        );
        assert_eq!(
            SubscriberLang::En.wrong_code(4),
            "That code is not right. 4 attempts left."
        );
        assert_eq!(
            SubscriberLang::En.wrong_code(1),
            "That code is not right. 1 attempt left."
        );
        assert_eq!(
            SubscriberLang::ZhCn.wrong_code(2),
            "验证码不正确，还剩 2 次机会。"
        );
    }

    #[test]
    fn the_use_cases_refusals_are_each_translated() {
        use payhub_core::carrier_billing::basket::RemovalError;
        assert_eq!(
            FormError::of_message(&RemovalError::NothingLeft.to_string()),
            FormError::NothingLeft
        );
        assert_eq!(
            FormError::of_message("enter a delivery address"),
            FormError::DeliveryAddress
        );
        assert_eq!(
            FormError::of_message("enter a billing or e-bill address"),
            FormError::BillingAddress
        );
        assert_eq!(FormError::of_message("something new"), FormError::Other);
        assert_eq!(
            FormError::DeliveryAddress.text(SubscriberLang::Tr),
            "Lütfen bir teslimat adresi girin."
        );
    }
}
