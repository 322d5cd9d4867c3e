//! The HTTP server for `/metrics`, `/healthz` and `/readyz`.

use std::future::Future;
use std::io;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;
use http::header::CONTENT_TYPE;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::{Health, Metrics};

/// The content type of `/metrics`.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

#[derive(Clone)]
struct AppState {
    metrics: Metrics,
    health: Health,
}

/// Serves `GET /metrics`, `/healthz` and `/readyz` on `listener` until `shutdown` is
/// cancelled, then finishes in-flight requests and returns. The caller binds, so the
/// config is validated before any port is taken and tests can bind `127.0.0.1:0`.
pub fn serve(
    listener: TcpListener,
    metrics: Metrics,
    health: Health,
    shutdown: CancellationToken,
) -> impl Future<Output = io::Result<()>> + Send + 'static {
    let app = Router::new()
        .route("/metrics", get(metrics_handler))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(AppState { metrics, health });
    async move {
        match listener.local_addr() {
            Ok(addr) => tracing::info!(%addr, "serving metrics and health"),
            Err(err) => tracing::warn!(%err, "serving metrics and health on an unknown address"),
        }
        axum::serve(listener, app)
            .with_graceful_shutdown(shutdown.cancelled_owned())
            .await
    }
}

async fn metrics_handler(State(state): State<AppState>) -> Response {
    match state.metrics.try_encode() {
        Ok(body) => ([(CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE)], body).into_response(),
        Err(err) => {
            tracing::error!(%err, "encoding metrics failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "encoding metrics failed\n",
            )
                .into_response()
        }
    }
}

/// Liveness: answering at all is the signal.
async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(state): State<AppState>) -> (StatusCode, String) {
    let readiness = state.health.readiness();
    let status = if readiness.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, readiness.to_string())
}
