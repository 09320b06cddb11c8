//! One MAPI call: sign the form, POST it to `gateway.do`, read and verify
//! the XML answer.
//!
//! No answer, a 5xx or any other non-2xx status, an unreadable answer or one
//! whose signature does not verify all leave the outcome unknown
//! ([`GatewayError::Timeout`]): payhub asks again rather than act on it.
//! `is_success=F` is the gateway refusing the request (nothing happened).

use std::collections::BTreeMap;

use url::Url;

use super::super::connector::GatewayError;
use super::sign::{signing_text, Signer};
use super::{mapping, xml};

/// The charset every request declares (and signs).
pub const CHARSET: &str = "UTF-8";

/// What calls Alipay's gateway for one account.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    gateway: Url,
    partner: String,
    signer: Signer,
}

/// "The time when the merchant server sends the request", GMT+8, as MAPI writes it.
pub fn timestamp() -> String {
    let beijing = chrono::FixedOffset::east_opt(8 * 3600);
    match beijing {
        Some(offset) => chrono::Utc::now()
            .with_timezone(&offset)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        None => String::new(),
    }
}

impl Client {
    pub fn new(http: reqwest::Client, gateway: Url, partner: String, signer: Signer) -> Client {
        Client {
            http,
            gateway,
            partner,
            signer,
        }
    }

    pub fn signer(&self) -> &Signer {
        &self.signer
    }

    /// The signed form of a call to `service` with `params`.
    pub fn signed_form(&self, service: &str, params: Vec<(&str, String)>) -> Vec<(String, String)> {
        let mut form: Vec<(String, String)> = vec![
            ("service".into(), service.into()),
            ("partner".into(), self.partner.clone()),
            ("_input_charset".into(), CHARSET.into()),
        ];
        form.extend(
            params
                .into_iter()
                .filter(|(_, value)| !value.is_empty())
                .map(|(name, value)| (name.to_owned(), value)),
        );
        let text = signing_text(form.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let sign = self.signer.sign(&text);
        form.push(("sign".into(), sign));
        form.push(("sign_type".into(), self.signer.sign_type().into()));
        form
    }

    /// Calls `service`; answers the verified fields of `<response><alipay>`.
    pub async fn call(
        &self,
        service: &'static str,
        params: Vec<(&str, String)>,
    ) -> Result<BTreeMap<String, String>, GatewayError> {
        let form = self.signed_form(service, params);
        let body = serde_urlencoded::to_string(&form).map_err(|_| GatewayError::Rejected {
            code: "ILLEGAL_ARGUMENT".into(),
            message: "the request cannot be form-encoded".into(),
        })?;
        let mut url = self.gateway.clone();
        url.query_pairs_mut().append_pair("_input_charset", CHARSET);
        let response = self
            .http
            .post(url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            .body(body)
            .send()
            .await
            .map_err(|error| {
                tracing::info!(service, error = %error, "Alipay did not answer");
                GatewayError::Timeout
            })?;
        let status = response.status();
        if !status.is_success() {
            tracing::info!(service, %status, "Alipay answered an HTTP error");
            return Err(GatewayError::Timeout);
        }
        let text = response.text().await.map_err(|_| GatewayError::Timeout)?;
        self.read_answer(service, &text)
    }

    /// Reads and verifies an answer's text.
    pub fn read_answer(
        &self,
        service: &'static str,
        text: &str,
    ) -> Result<BTreeMap<String, String>, GatewayError> {
        let answer = xml::parse_answer(text).map_err(|error| {
            tracing::warn!(service, %error, "Alipay's answer is unreadable");
            GatewayError::Timeout
        })?;
        if !answer.is_success {
            let code = answer.error.unwrap_or_else(|| "FAIL".into());
            return Err(mapping::error(&code, "the gateway refused the request"));
        }
        let authentic = answer.sign_type.as_deref() == Some(self.signer.sign_type())
            && answer.sign.as_deref().is_some_and(|sign| {
                let text = signing_text(
                    answer
                        .response
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str())),
                );
                self.signer.verify(&text, sign)
            });
        if !authentic {
            tracing::warn!(service, "Alipay's answer does not verify");
            return Err(GatewayError::Timeout);
        }
        Ok(answer.response)
    }
}
