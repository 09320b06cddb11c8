//! The OpenAPI 3.1 documents of payhub's dialects, served at
//! `/openapi/{tmf676,retail,telco,aps,operator}.json`, and their docs page at
//! `/docs` (Swagger UI, bundled in the binary by `utoipa-swagger-ui`'s
//! `vendored` feature: nothing is fetched at build or run time).
//!
//! The dialects read their bodies as `serde_json::Value` (so unknown and
//! extension attributes round-trip), so each document's schemas are written
//! here, for the document, from the field lists in `docs/*.md` (and, for
//! TMF676, with the official swagger's schema names). The operations are
//! declared with `#[utoipa::path]` on one item per handler, named after it;
//! the API test `openapi` checks that the documented operations and the
//! router's routes are the same set, both ways, so neither can drift.
//!
//! The documents and the page reveal no merchant's data, so they need no
//! credentials, like `/` and the probes.

pub mod aps;
pub mod operator;
pub mod retail;
pub mod telco;
pub mod tmf676;

use std::sync::{Arc, LazyLock};

use axum::extract::Path;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::set_header::SetResponseHeaderLayer;
use utoipa::OpenApi;

use crate::state::AppState;

/// The security schemes of the endpoints a merchant reaches with its API key
/// (TMF676, APS, telco, the operator endpoints): `bearer` (the API key) and
/// `basic` (merchant id as user name, API key as password). One definition,
/// so every document describes the same credentials alike.
pub struct MerchantKeySchemes;

impl utoipa::Modify for MerchantKeySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("The merchant's API key."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Basic)
                    .description(Some("Merchant id as user name, API key as password."))
                    .build(),
            ),
        );
    }
}

/// One served document: its name in `/openapi/{name}.json`, its title in the
/// docs page, and the document itself.
pub struct Document {
    pub name: &'static str,
    pub title: &'static str,
    pub openapi: utoipa::openapi::OpenApi,
}

/// Every document payhub serves, in the order the docs page lists them.
pub fn documents() -> Vec<Document> {
    vec![
        Document {
            name: "tmf676",
            title: "TMF676 Payment Management v4",
            openapi: tmf676::Tmf676Api::openapi(),
        },
        Document {
            name: "retail",
            title: "Retail online payment",
            openapi: retail::RetailApi::openapi(),
        },
        Document {
            name: "telco",
            title: "Telco payment service",
            openapi: telco::TelcoApi::openapi(),
        },
        Document {
            name: "aps",
            title: "APS PaymentManagement",
            openapi: aps::ApsApi::openapi(),
        },
        Document {
            name: "operator",
            title: "Operator endpoints and pages",
            openapi: operator::OperatorApi::openapi(),
        },
    ]
}

/// The documents as JSON, built once.
static DOCUMENTS_JSON: LazyLock<Vec<(&'static str, serde_json::Value)>> = LazyLock::new(|| {
    documents()
        .into_iter()
        .map(|d| {
            let json = serde_json::to_value(&d.openapi).unwrap_or_default();
            (d.name, json)
        })
        .collect()
});

/// The path a document is served at.
pub fn document_path(name: &str) -> String {
    format!("/openapi/{name}.json")
}

/// Where the docs page lives.
pub const DOCS_PATH: &str = "/docs";

/// The docs page's Content-Security-Policy: Swagger UI's own script and
/// stylesheets from payhub itself and nothing else (`data:` images are the
/// icons inlined in its stylesheet); no framing by another site. Swagger
/// UI's bundle tries one inline style, which this blocks; the page renders
/// all the same (seen in headless Chromium).
pub const DOCS_CONTENT_SECURITY_POLICY: &str = "default-src 'self'; img-src 'self' data:; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// `/openapi/{name}.json` for each document, and `/docs`.
pub fn router() -> Router<AppState> {
    let documents = DOCUMENTS_JSON
        .iter()
        .fold(Router::new(), |router, (name, json)| {
            let json = json.clone();
            router.route(
                &document_path(name),
                get(move || {
                    let json = json.clone();
                    async move { Json(json) }
                }),
            )
        });
    documents.merge(with_docs_headers(docs_router()))
}

/// The Swagger UI: `/docs` sends the browser to `/docs/index.html`, whose
/// assets are relative to it (`/docs/{file}`). payhub drops a trailing slash
/// before routing, so the page cannot live at `/docs/`.
fn docs_router() -> Router<AppState> {
    Router::new()
        .route(
            DOCS_PATH,
            get(|| async { Redirect::to("/docs/index.html") }),
        )
        .route("/docs/{file}", get(docs_file))
}

static SWAGGER_CONFIG: LazyLock<Arc<utoipa_swagger_ui::Config<'static>>> = LazyLock::new(|| {
    let urls = documents()
        .into_iter()
        .map(|d| utoipa_swagger_ui::Url::new(d.title, leak(document_path(d.name))))
        .collect::<Vec<_>>();
    Arc::new(
        utoipa_swagger_ui::Config::new(urls)
            // The default asks validator.swagger.io for a badge: nothing leaves.
            .validator_url("none")
            .try_it_out_enabled(false),
    )
});

/// The document paths live as long as the process (built once, five of them).
fn leak(path: String) -> &'static str {
    Box::leak(path.into_boxed_str())
}

async fn docs_file(Path(file): Path<String>) -> Response {
    match utoipa_swagger_ui::serve(&file, SWAGGER_CONFIG.clone()) {
        Ok(Some(found)) => (
            [(CONTENT_TYPE, found.content_type)],
            found.bytes.into_owned(),
        )
            .into_response(),
        Ok(None) => (StatusCode::NOT_FOUND, "no such file").into_response(),
        Err(error) => {
            tracing::error!(error = %error, "docs page: cannot render the Swagger UI");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The docs page's security headers (see [`DOCS_CONTENT_SECURITY_POLICY`]).
fn with_docs_headers(router: Router<AppState>) -> Router<AppState> {
    [
        (
            CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DOCS_CONTENT_SECURITY_POLICY),
        ),
        (X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
        (CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ]
    .into_iter()
    .fold(router, |router, (name, value)| {
        router.layer(SetResponseHeaderLayer::overriding(name, value))
    })
}
