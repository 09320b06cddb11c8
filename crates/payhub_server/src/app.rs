//! Building and running the server: one start-up path for `payhub serve` and tests.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::Request;
use axum::http::Uri;
use axum::response::IntoResponse;
use axum::Router;
use payhub_store::Store;
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

use tower::Layer;
use tower_http::request_id::{
    MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer,
};
use tower_http::trace::TraceLayer;

use payhub_app::carrier_billing::camara::{CamaraCarrier, SinkTokens};
use payhub_app::carrier_billing::sms::smpp::SmppGateway;
use payhub_app::carrier_billing::CarrierBilling;
use payhub_app::gateways::flow::receive_notification;
use payhub_app::gateways::simulated::NotificationSink;
use payhub_app::gateways::Gateways;
use payhub_app::hooks::Hooks;
use payhub_app::secrets::MasterKey;
use payhub_app::Services;

use crate::api_tmf676::{self, error::TmfError};
use crate::config::Settings;
use crate::config::{CarrierChoice, Mode, SmsChoice};
use crate::rate_limit::RateLimits;
use crate::serve::{self, ConnectionLimits};
use crate::state::AppState;
use crate::{
    api_aps, api_retail, api_telco, carrier_notifications, deliveries, gateway_notifications,
    openapi, ops, page, sandbox,
};

/// A bound, ready-to-run payhub.
pub struct Application {
    listener: TcpListener,
    /// The separate `/metrics` listener, when `PAYHUB_METRICS_LISTEN` is set.
    metrics_listener: Option<TcpListener>,
    state: AppState,
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] payhub_store::ConnectError),
    #[error(transparent)]
    MasterKey(#[from] payhub_app::secrets::MasterKeyError),
    #[error(transparent)]
    ClusterKey(#[from] payhub_app::secrets::ClusterKeyError),
    #[error("cannot set up the carrier billing client: {0}")]
    Carrier(reqwest::Error),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

impl Application {
    /// Opens the store (migrating it) and binds the listener.
    pub async fn build(settings: Settings) -> Result<Self, StartError> {
        let store =
            payhub_store::connect(&settings.database_url, settings.db_max_connections).await?;
        Self::build_with_store(settings, store).await
    }

    /// Binds the listener over an already opened store.
    pub async fn build_with_store(
        settings: Settings,
        store: Arc<dyn Store>,
    ) -> Result<Self, StartError> {
        let listener =
            TcpListener::bind(settings.listen)
                .await
                .map_err(|source| StartError::Listen {
                    addr: settings.listen,
                    source,
                })?;
        let metrics_listener = match settings.metrics.listen {
            Some(addr) => Some(
                TcpListener::bind(addr)
                    .await
                    .map_err(|source| StartError::Listen { addr, source })?,
            ),
            None => None,
        };
        let master_key = MasterKey::configured(settings.master_key.as_ref(), &settings.data_dir)?;
        payhub_app::secrets::check_cluster_master_key(store.as_ref(), &master_key).await?;
        let gateways = Gateways::new(
            settings.gateways.simulated_latency,
            store.clone(),
            payhub_app::gateways::connector_types(),
            settings.mode == Mode::Sandbox,
        );
        let carrier_billing = match &settings.telco.carrier {
            CarrierChoice::Simulated => CarrierBilling::simulated(
                store.clone(),
                settings.telco.spending_limit_minor,
                settings.telco.carrier_latency,
                settings.gateways.call_timeout,
            ),
            CarrierChoice::Camara(config) => {
                let carrier = CamaraCarrier::new(
                    config.clone(),
                    settings.gateways.call_timeout,
                    SinkTokens::new(&master_key),
                )
                .map_err(StartError::Carrier)?;
                tracing::info!(
                    carrier.base_url = config.base_url.as_str(),
                    "the telco bill is a CAMARA Carrier Billing API"
                );
                CarrierBilling::with_carrier(Box::new(carrier), store.clone())
            }
        };
        let carrier_billing = match &settings.telco.sms {
            SmsChoice::Simulated => carrier_billing,
            SmsChoice::Smpp(config) => {
                tracing::info!(
                    smsc.host = config.host.as_str(),
                    smsc.port = config.port,
                    "consent SMS go to an SMSC over SMPP"
                );
                carrier_billing.with_sms(Box::new(SmppGateway::start(config.clone())))
            }
        };
        let services = Services {
            store,
            gateways: Arc::new(gateways),
            carrier_billing: Arc::new(carrier_billing),
            master_key: Arc::new(master_key),
            config: Arc::new(settings.service_settings()),
            hooks: dialect_hooks(),
            outbox_written: Arc::new(Notify::new()),
        };
        let rate_limits = Arc::new(RateLimits::new(&settings.rate_limits));
        let state = AppState {
            services: Arc::new(services),
            settings: Arc::new(settings),
            merchants: Arc::default(),
            rate_limits,
        };
        connect_simulators(&state);
        Ok(Self {
            listener,
            metrics_listener,
            state,
        })
    }

    /// The port actually bound (useful with port 0).
    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    /// The port of the separate `/metrics` listener, when there is one.
    pub fn metrics_port(&self) -> Option<u16> {
        let listener = self.metrics_listener.as_ref()?;
        listener.local_addr().ok().map(|a| a.port())
    }

    /// The shared state (tests use its store).
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests and
    /// stops the workers.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let (stop_workers, workers_stopped) = watch::channel(false);
        let workers = tokio::spawn(payhub_app::outbox::run_workers(
            self.state.services.clone(),
            workers_stopped,
        ));
        let state = self.state.clone();
        let limits = ConnectionLimits {
            header_read_timeout: state.settings.header_read_timeout,
            idle_timeout: state.settings.idle_timeout,
        };
        if let Some(listener) = self.metrics_listener {
            let metrics = crate::metrics::listener_router(state.clone());
            let mut stopped = stop_workers.subscribe();
            tokio::spawn(async move {
                let until = async move {
                    let _ = stopped.wait_for(|stop| *stop).await;
                };
                let _ = axum::serve(listener, metrics)
                    .with_graceful_shutdown(until)
                    .await;
            });
        }
        let app = router(self.state);
        let service = tower::util::MapRequestLayer::new(normalize_path).layer(app);
        let served = serve::serve(self.listener, service, limits, shutdown).await;
        let _ = stop_workers.send(true);
        let _ = workers.await;
        // The simulators' sink holds the state; let it go so the store can close.
        state.gateways.disconnect_simulators();
        served
    }
}

/// Sends the simulated gateways' notifications through the same function a
/// real gateway's HTTP notification reaches.
fn connect_simulators(state: &AppState) {
    let template = state.services.clone();
    let sink: NotificationSink = Arc::new(move |kind, body| {
        let state = template.clone();
        Box::pin(async move {
            if let Err(error) = receive_notification(&state, kind, &Default::default(), &body).await
            {
                tracing::warn!(gateway = kind.code(), %error, "simulated notification not applied");
            }
        })
    });
    state.gateways.connect_simulators(sink);
}

/// What each dialect plugs into the shared flows, found by the origin of a
/// payment (each dialect's `DIALECT` name).
fn dialect_hooks() -> Hooks {
    Hooks::default()
        .with_dialect(Arc::new(api_aps::hooks::ApsHooks))
        .with_dialect(Arc::new(api_telco::hooks::TelcoHooks))
        .with_dialect(Arc::new(api_retail::hooks::RetailHooks))
        .with_listeners(Arc::new(api_tmf676::hub::HubListeners))
}

/// Random request ids, returned in `x-request-id` and logged with each request.
#[derive(Clone, Copy)]
struct RandomRequestId;

impl MakeRequestId for RandomRequestId {
    fn make_request_id<B>(&mut self, _request: &axum::http::Request<B>) -> Option<RequestId> {
        let id: u64 = rand::random();
        format!("{id:016x}").parse().ok().map(RequestId::new)
    }
}

/// What `GET /` lists.
const INDEX: &[ops::IndexEntry] = &[
    ops::IndexEntry {
        name: "TMF676 Payment Management v4",
        path: api_tmf676::BASE_PATH,
        docs: "docs/TMF676.md",
    },
    ops::IndexEntry {
        name: "Retail online payment",
        path: api_retail::BASE_PATH,
        docs: "docs/RETAIL.md",
    },
    ops::IndexEntry {
        name: "Telco payment service",
        path: api_telco::BASE_PATH,
        docs: "docs/TELCO.md",
    },
    ops::IndexEntry {
        name: "APS PaymentManagement",
        path: api_aps::BASE_PATH,
        docs: "docs/APS.md",
    },
    ops::IndexEntry {
        name: "Deliveries",
        path: "/v1/deliveries",
        docs: "docs/RETAIL.md",
    },
];

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    crate::metrics::install();
    let trace = TraceLayer::new_for_http().make_span_with(|request: &axum::http::Request<_>| {
        let request_id = request
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        // The route template, not the path: a page or consent link's path holds its token.
        let route = request
            .extensions()
            .get::<axum::extract::MatchedPath>()
            .map_or(crate::access_log::UNMATCHED_ROUTE, |route| route.as_str());
        tracing::info_span!("http", method = %request.method(), route, request_id,
            merchant.id = tracing::field::Empty)
    });
    Router::new()
        .merge(ops::router())
        .merge(ops::index_router(INDEX))
        .merge(openapi::router())
        .nest(api_tmf676::BASE_PATH, api_tmf676::router())
        .nest(api_retail::BASE_PATH, api_retail::router())
        .merge(api_telco::router())
        .nest(api_aps::BASE_PATH, api_aps::router())
        // Every page a person sees, behind one layer of security headers;
        // each counts its client's address first and answers in its own
        // language (the payment's, or the consent's).
        .merge(page::with_page_headers(
            page::router()
                .layer(axum::middleware::from_fn(
                    crate::edge::guard::<page::PageEdge>,
                ))
                .layer(axum::middleware::from_fn_with_state(
                    state.clone(),
                    page::refusal::per_address,
                ))
                .merge(
                    api_telco::consent_router()
                        .layer(axum::middleware::from_fn(
                            crate::edge::guard::<page::PageEdge>,
                        ))
                        .layer(axum::middleware::from_fn_with_state(
                            state.clone(),
                            api_telco::consent_limit::per_address,
                        )),
                ),
        ))
        .merge(gateway_notifications::router())
        .merge(carrier_notifications::router())
        .merge(crate::connectors::api::router())
        .merge(deliveries::router())
        .merge(crate::console::router(Arc::new(
            api_tmf676::operator_refund::ConsoleRefunds,
        )))
        .merge(crate::metrics::router(&state.settings.metrics))
        .merge(match state.settings.mode {
            Mode::Sandbox => sandbox::router(),
            Mode::Production => Router::new(),
        })
        .fallback(|| async { TmfError::NotFound("no such resource".into()).into_response() })
        .method_not_allowed_fallback(|| async { TmfError::MethodNotAllowed.into_response() })
        // What `rate_limit::per_address` on each dialect's routes counts with.
        .layer(axum::Extension(state.rate_limits.clone()))
        .with_state(state)
        .layer(axum::middleware::from_fn(crate::access_log::log_request))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(trace)
        .layer(SetRequestIdLayer::x_request_id(RandomRequestId))
}

/// Collapses repeated slashes and drops a trailing one before routing, so that
/// `/v4//payment` (as the conformance kit sends it) and `/payment/` both work.
fn normalize_path(mut request: Request) -> Request {
    let path = request.uri().path();
    let needs_work = path.contains("//") || (path.len() > 1 && path.ends_with('/'));
    if !needs_work {
        return request;
    }
    let mut normalized = String::with_capacity(path.len());
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        normalized.push('/');
        normalized.push_str(segment);
    }
    if normalized.is_empty() {
        normalized.push('/');
    }
    if let Some(query) = request.uri().query() {
        normalized.push('?');
        normalized.push_str(query);
    }
    let mut parts = request.uri().clone().into_parts();
    parts.path_and_query = normalized.parse().ok();
    if let Ok(uri) = Uri::from_parts(parts) {
        *request.uri_mut() = uri;
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalized(path: &str) -> String {
        let request = Request::builder()
            .uri(path)
            .body(axum::body::Body::empty())
            .unwrap_or_default();
        normalize_path(request).uri().to_string()
    }

    #[test]
    fn paths_are_normalized() {
        assert_eq!(normalized("/a/v4//payment"), "/a/v4/payment");
        assert_eq!(normalized("/a/payment/"), "/a/payment");
        assert_eq!(normalized("/a/payment/?fields=id"), "/a/payment?fields=id");
        assert_eq!(normalized("/"), "/");
        assert_eq!(normalized("/a/payment"), "/a/payment");
    }
}
