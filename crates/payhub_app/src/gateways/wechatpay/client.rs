//! One signed call to WeChat Pay and the trust decision on its answer.
//!
//! Every request carries the merchant's `Authorization` signature; every
//! answer but a 5xx must carry a valid `Wechatpay-Signature` by the
//! configured WeChat Pay public key. An answer that does not verify may not
//! be WeChat Pay's, so it is no answer at all: [`GatewayError::Timeout`]
//! (the outcome stays unknown and the checker asks again).

use chrono::Utc;
use reqwest::header::{HeaderMap, ACCEPT, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use reqwest::Method;
use serde::de::DeserializeOwned;
use url::Url;

use super::mapping;
use super::signing::{new_nonce, MerchantSigner, PlatformVerifier};
use super::wire::ErrorAnswer;
use crate::gateways::connector::GatewayError;

/// WeChat Pay refuses APIv3 requests without a User-Agent.
const AGENT: &str = concat!("payhub/", env!("CARGO_PKG_VERSION"));

/// What a connector calls WeChat Pay with.
#[derive(Debug)]
pub struct Client {
    pub base_url: Url,
    pub http: reqwest::Client,
    pub signer: MerchantSigner,
    pub verifier: PlatformVerifier,
}

/// A verified 2xx answer's body.
pub struct Answer {
    pub body: Vec<u8>,
}

impl Answer {
    /// The body as `T`; a body that does not parse is not an answer to act on.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, GatewayError> {
        serde_json::from_slice(&self.body).map_err(|error| {
            tracing::warn!(gateway = "WXPAY", %error, "an answer that does not parse");
            GatewayError::Timeout
        })
    }
}

impl Client {
    /// Sends `body` (JSON text, or none for a GET) to `path_and_query`
    /// (which starts with `/v3/`), and answers the verified 2xx body or the
    /// error it means.
    pub async fn call(
        &self,
        method: Method,
        path_and_query: &str,
        body: Option<String>,
    ) -> Result<Answer, GatewayError> {
        let body = body.unwrap_or_default();
        let url = self
            .base_url
            .join(path_and_query)
            .map_err(|_| GatewayError::Rejected {
                code: "BAD_URL".into(),
                message: "the gateway URL cannot take this path".into(),
            })?;
        // What is signed is what is sent: the URL's path and query as joined.
        let signed_path = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_owned(),
        };
        let authorization = self
            .signer
            .authorization(
                method.as_str(),
                &signed_path,
                Utc::now().timestamp(),
                &new_nonce(),
                &body,
            )
            .map_err(|_| GatewayError::Rejected {
                code: "SIGN_ERROR".into(),
                message: "the merchant key cannot sign".into(),
            })?;
        let mut request = self
            .http
            .request(method.clone(), url)
            .header(AUTHORIZATION, authorization)
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, AGENT);
        if method != Method::GET {
            request = request.header(CONTENT_TYPE, "application/json").body(body);
        }
        // No answer, or not all of it: WeChat Pay may have acted.
        let response = request.send().await.map_err(|_| GatewayError::Timeout)?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.map_err(|_| GatewayError::Timeout)?;
        if status.is_server_error() {
            return Err(GatewayError::Timeout);
        }
        self.trust(&headers, &body)?;
        if status.is_success() {
            return Ok(Answer {
                body: body.to_vec(),
            });
        }
        let error: ErrorAnswer = serde_json::from_slice(&body).unwrap_or(ErrorAnswer {
            code: String::new(),
            message: String::new(),
        });
        Err(mapping::error(status.as_u16(), &error.code, &error.message))
    }

    fn trust(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), GatewayError> {
        self.verifier
            .verify(headers, body, Utc::now().timestamp())
            .map_err(|error| {
                tracing::warn!(gateway = "WXPAY", %error, "an answer that is not WeChat Pay's");
                GatewayError::Timeout
            })
    }
}
