//! The OpenAPI documents (`/openapi/{dialect}.json`) against the real router,
//! the OpenAPI 3.1 rules, and the official TMF676 swagger; and the docs page.
//!
//! Method of the route check: the real router's paths are read from its
//! `Debug` output (axum prints every registered path), and each path is asked
//! with every method, in process; a method is routed when the answer is not
//! 405. That set must equal the set of operations the documents declare, so a
//! route added without documentation, or documented without a route, fails.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use payhub_server::app::{router, Application};
use payhub_server::openapi::{self, documents};
use serde_json::Value;
use tower::ServiceExt;

use crate::helpers::{test_settings, Backend, TestApp, TestDb};

/// The methods a route may have (HEAD follows GET in axum; OPTIONS and the
/// others are never routed by payhub, which the check would show).
const METHODS: [Method; 5] = [
    Method::GET,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
];

/// `/a/{id}/b/` → `/a/{}/b`: parameter names and a trailing slash do not
/// make two routes differ (payhub drops trailing slashes before routing).
fn normalize(path: &str) -> String {
    let mut out = String::new();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        out.push('/');
        if segment.starts_with('{') && segment.ends_with('}') {
            out.push_str("{}");
        } else {
            out.push_str(segment);
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// Every path registered in the router, from its `Debug` output
/// (`paths: {RouteId(3): "/healthz", …}`), without axum's private fallbacks.
fn router_paths(router: &axum::Router) -> BTreeSet<String> {
    let debug = format!("{router:?}");
    let mut paths = BTreeSet::new();
    let mut rest = debug.as_str();
    while let Some(at) = rest.find("RouteId(") {
        rest = &rest[at..];
        let Some(quote) = rest.find(": \"") else {
            break;
        };
        let after = &rest[quote + 3..];
        let Some(end) = after.find('"') else { break };
        let path = &after[..end];
        if path.starts_with('/') && !path.contains("__private__axum") {
            paths.insert(path.to_owned());
        }
        rest = &after[end..];
    }
    paths
}

/// The path with every `{param}` replaced by a value.
fn concrete(path: &str) -> String {
    path.split('/')
        .map(|segment| {
            if segment.starts_with('{') {
                "1"
            } else {
                segment
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// (method, normalized path) of every route the real router answers.
async fn routed_operations(router: &axum::Router) -> BTreeSet<(String, String)> {
    let paths = router_paths(router);
    assert!(
        paths.len() > 20,
        "the router's Debug output no longer lists its paths (axum changed?): {paths:?}"
    );
    let mut routed = BTreeSet::new();
    for path in &paths {
        for method in METHODS {
            let request = Request::builder()
                .method(method.clone())
                .uri(concrete(path))
                .body(Body::empty())
                .unwrap();
            let response = router.clone().oneshot(request).await.unwrap();
            if response.status() != StatusCode::METHOD_NOT_ALLOWED {
                routed.insert((method.to_string(), normalize(path)));
            }
        }
    }
    routed
}

/// (method, normalized full path) of every operation of every document.
fn documented_operations() -> BTreeMap<(String, String), &'static str> {
    let mut documented = BTreeMap::new();
    for document in documents() {
        let json = serde_json::to_value(&document.openapi).unwrap();
        let server = json["servers"][0]["url"].as_str().unwrap_or("");
        for (path, item) in json["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                if !["get", "post", "put", "delete", "patch"].contains(&method.as_str()) {
                    continue;
                }
                let key = (method.to_uppercase(), normalize(&format!("{server}{path}")));
                let previous = documented.insert(key.clone(), document.name);
                assert!(previous.is_none(), "{key:?} documented twice");
            }
        }
    }
    documented
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_is_documented_and_every_documented_route_exists() {
    let db = TestDb::create(Backend::Sqlite).await;
    let app = Application::build(test_settings(db.url())).await.unwrap();
    let router = router(app.state());

    let routed = routed_operations(&router).await;
    let documented = documented_operations();
    let documented_keys: BTreeSet<_> = documented.keys().cloned().collect();

    let undocumented: Vec<_> = routed.difference(&documented_keys).collect();
    let missing: Vec<_> = documented_keys.difference(&routed).collect();
    assert!(
        undocumented.is_empty(),
        "routes without an operation in any /openapi document (add one in \
         crates/payhub_server/src/openapi/): {undocumented:?}"
    );
    assert!(
        missing.is_empty(),
        "documented operations the router does not serve: {missing:?}"
    );
}

/// Every `$ref` in `value`.
fn refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, member) in map {
                if key == "$ref" {
                    if let Value::String(target) = member {
                        out.push(target.clone());
                    }
                }
                refs(member, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|item| refs(item, out)),
        _ => {}
    }
}

#[test]
fn every_document_is_openapi_3_1_with_unique_operation_ids_and_resolving_refs() {
    for document in documents() {
        let name = document.name;
        let json = serde_json::to_value(&document.openapi).unwrap();
        assert!(
            json["openapi"].as_str().unwrap_or("").starts_with("3.1."),
            "{name}: {}",
            json["openapi"]
        );
        // It reads back as an OpenAPI document.
        // Not read back into utoipa's types: the workspace's serde_json
        // `arbitrary_precision` (exact TMF amounts) breaks serde's untagged
        // enums (`RefOr`) on any number, e.g. a `minimum: 0`.
        // `the_documents_pass_openapi_spec_validator` checks the schema.
        assert!(json["info"]["title"].is_string() && json["info"]["version"].is_string());
        let paths = json["paths"].as_object().unwrap();
        assert!(!paths.is_empty(), "{name} has no paths");
        for (path, item) in paths {
            for (method, operation) in item.as_object().unwrap() {
                assert!(
                    operation["responses"]
                        .as_object()
                        .is_some_and(|r| !r.is_empty()),
                    "{name}: {method} {path} documents no answer"
                );
            }
        }

        let mut targets = Vec::new();
        refs(&json, &mut targets);
        assert!(!targets.is_empty(), "{name} refers to no schema");
        for target in targets {
            let pointer = target
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("{name}: external $ref {target}"));
            assert!(
                json.pointer(pointer).is_some(),
                "{name}: $ref {target} resolves to nothing"
            );
        }

        let mut operation_ids = BTreeSet::new();
        for item in json["paths"].as_object().unwrap().values() {
            for operation in item.as_object().unwrap().values() {
                if let Some(id) = operation["operationId"].as_str() {
                    assert!(operation_ids.insert(id.to_owned()), "{name}: {id} twice");
                }
            }
        }
        // Each security requirement names a declared scheme.
        let schemes = &json["components"]["securitySchemes"];
        let mut requirements: Vec<&Value> =
            json["security"].as_array().into_iter().flatten().collect();
        for item in json["paths"].as_object().unwrap().values() {
            for operation in item.as_object().unwrap().values() {
                requirements.extend(operation["security"].as_array().into_iter().flatten());
            }
        }
        for requirement in requirements {
            for scheme in requirement.as_object().unwrap().keys() {
                assert!(
                    !schemes[scheme].is_null(),
                    "{name}: undeclared scheme {scheme}"
                );
            }
        }
    }
}

/// The official swagger's operations payhub does not serve: the listener
/// callbacks are served by the *client* (payhub POSTs events to them).
const TMF676_NOT_IMPLEMENTED: [(&str, &str); 8] = [
    ("post", "/listener/paymentCreateEvent"),
    ("post", "/listener/paymentAttributeValueChangeEvent"),
    ("post", "/listener/paymentStateChangeEvent"),
    ("post", "/listener/paymentDeleteEvent"),
    ("post", "/listener/refundCreateEvent"),
    ("post", "/listener/refundAttributeValueChangeEvent"),
    ("post", "/listener/refundStateChangeEvent"),
    ("post", "/listener/refundDeleteEvent"),
];

/// The schema name a swagger 2 or OpenAPI 3 schema refers to (items of an
/// array included), e.g. `Payment` or `[Payment]`.
fn schema_name(schema: &Value) -> Option<String> {
    if let Some(target) = schema["$ref"].as_str() {
        return target.rsplit('/').next().map(str::to_owned);
    }
    let items = schema.get("items")?;
    schema_name(items).map(|name| format!("[{name}]"))
}

/// `shared/tmf676/TMF676-Payment-v4.0.0.swagger.json` next to the repository
/// (`../shared` of the main checkout) or next to any folder above it (a git
/// worktree elsewhere).
fn official_tmf676_swagger() -> Option<std::path::PathBuf> {
    let manifest = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest
        .ancestors()
        .map(|dir| dir.join("shared/tmf676/TMF676-Payment-v4.0.0.swagger.json"))
        .find(|path| path.is_file())
}

#[test]
fn the_tmf676_document_keeps_the_official_paths_methods_and_schema_names() {
    let Some(official_path) = official_tmf676_swagger() else {
        eprintln!("SKIPPED: the official TMF676 swagger (../shared/tmf676/) is not here");
        return;
    };
    let text = std::fs::read_to_string(&official_path).unwrap();
    let official: Value = serde_json::from_str(&text).unwrap();
    let ours = serde_json::to_value(
        <payhub_server::openapi::tmf676::Tmf676Api as utoipa::OpenApi>::openapi(),
    )
    .unwrap();
    for (path, item) in official["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let mine = &ours["paths"][path][method];
            if TMF676_NOT_IMPLEMENTED.contains(&(method.as_str(), path.as_str())) {
                assert!(
                    mine.is_null(),
                    "{method} {path} is served now: take it out of TMF676_NOT_IMPLEMENTED"
                );
                continue;
            }
            assert!(
                !mine.is_null(),
                "{method} {path} of the official API is not documented"
            );
            assert_eq!(
                mine["operationId"], operation["operationId"],
                "{method} {path}"
            );

            let official_body = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["in"] == "body")
                .and_then(|p| schema_name(&p["schema"]));
            let my_body =
                schema_name(&mine["requestBody"]["content"]["application/json"]["schema"]);
            assert_eq!(my_body, official_body, "request body of {method} {path}");

            let responses = operation["responses"].as_object().unwrap();
            let (status, success) = responses
                .iter()
                .find(|(code, _)| code.starts_with('2'))
                .unwrap();
            let mine_success = &mine["responses"][status];
            assert!(
                !mine_success.is_null(),
                "{method} {path}: the official success status {status} is not documented"
            );
            assert_eq!(
                schema_name(&mine_success["content"]["application/json"]["schema"]),
                schema_name(&success["schema"]),
                "{status} answer of {method} {path}"
            );
            let official_error = responses
                .iter()
                .find(|(code, _)| code.starts_with('4'))
                .and_then(|(_, r)| schema_name(&r["schema"]));
            assert_eq!(official_error.as_deref(), Some("Error"));
            let my_errors: Vec<_> = mine["responses"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(code, _)| code.starts_with('4'))
                .map(|(_, r)| schema_name(&r["content"]["application/json"]["schema"]))
                .collect();
            assert!(
                !my_errors.is_empty() && my_errors.iter().all(|e| e.as_deref() == Some("Error")),
                "{method} {path}: errors are TMF676 Error ({my_errors:?})"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documents_are_served_without_credentials() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    for document in documents() {
        let response = app
            .client
            .get(app.url(&openapi::document_path(document.name)))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{}", document.name);
        let served: Value = response.json().await.unwrap();
        assert_eq!(served, serde_json::to_value(&document.openapi).unwrap());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_docs_page_loads_only_its_own_assets_under_a_strict_policy() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let docs = client.get(app.url("/docs")).send().await.unwrap();
    assert!(docs.status().is_redirection(), "{}", docs.status());
    assert_eq!(docs.headers()["location"], "/docs/index.html");

    let page = client
        .get(app.url("/docs/index.html"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let headers = page.headers().clone();
    assert_eq!(
        headers["content-security-policy"],
        openapi::DOCS_CONTENT_SECURITY_POLICY
    );
    assert!(openapi::DOCS_CONTENT_SECURITY_POLICY.starts_with("default-src 'self';"));
    assert!(!openapi::DOCS_CONTENT_SECURITY_POLICY.contains("unsafe"));
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    // Nothing from elsewhere, and no inline script the policy would block.
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"));
    for tag in html.split("<script").skip(1) {
        let head = tag.split('>').next().unwrap_or("");
        assert!(head.contains("src="), "inline <script{head}>");
    }

    let initializer = client
        .get(app.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(initializer.status(), StatusCode::OK);
    let script = initializer.text().await.unwrap();
    for document in documents() {
        assert!(
            script.contains(&openapi::document_path(document.name)),
            "{} not in the docs page: {script}",
            document.name
        );
    }
    assert!(script.contains(r#""validatorUrl": "none""#), "{script}");
    for asset in [
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
    ] {
        let response = client
            .get(app.url(&format!("/docs/{asset}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{asset}");
    }
}

/// The documents against the OpenAPI 3.1 schema, with `openapi-spec-validator`
/// (PyPI) when it is installed (scripts/test and CI have it; see
/// scripts/validate-openapi.sh).
#[test]
fn the_documents_pass_openapi_spec_validator() {
    let has_validator = std::process::Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .status()
        .is_ok_and(|status| status.success());
    if !has_validator {
        eprintln!("SKIPPED: python3 -m openapi_spec_validator is not installed");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for document in documents() {
        let path = dir.path().join(format!("{}.json", document.name));
        std::fs::write(&path, serde_json::to_vec(&document.openapi).unwrap()).unwrap();
        let output = std::process::Command::new("python3")
            .args(["-m", "openapi_spec_validator"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}: {}{}",
            document.name,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
}
