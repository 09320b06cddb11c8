//! `payhub serve`: run the server until SIGINT or SIGTERM.

use crate::app::Application;
use crate::config::{Mode, Settings};
use crate::demo;

/// Starts payhub (with the demo merchant on first start) and serves until asked to stop.
pub(super) async fn serve(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(settings.clone()).await?;
    let state = app.state();
    let store = state.store.clone();
    // Production has no demo merchant: every merchant is created on purpose.
    let demo = match settings.mode {
        Mode::Sandbox => {
            demo::ensure_demo_merchant(store.as_ref(), &settings.data_dir, &state.master_key)
                .await?
        }
        Mode::Production => None,
    };
    demo::print_banner(
        &settings,
        store.backend_name(),
        crate::api_tmf676::BASE_PATH,
        demo.as_ref(),
    );
    crate::connectors::print_routing(&state, settings.mode).await?;
    tracing::info!(listen = %settings.listen, database = store.backend_name(), "payhub started");
    app.run_until_stopped(shutdown_signal()).await?;
    tracing::info!("payhub stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = terminate => {}
    }
    tracing::info!("shutdown requested; finishing in-flight requests");
}
