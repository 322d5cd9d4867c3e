//! `--metrics-listen`: `GET /metrics`, `/healthz`, `/readyz`.

use std::io;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::StatusCode;
use http::header::CONTENT_TYPE;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::{AgentMetrics, Health};

const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Serves until `shutdown`. The caller binds, so a taken port fails before the agent
/// touches the dataplane.
pub async fn serve(
    listener: TcpListener,
    metrics: AgentMetrics,
    health: Health,
    shutdown: CancellationToken,
) -> io::Result<()> {
    let app = Router::new()
        .route("/metrics", get(metrics_page))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readiness))
        .with_state((metrics, health));
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}

async fn metrics_page(State((metrics, _)): State<(AgentMetrics, Health)>) -> Response {
    match metrics.encode() {
        Ok(body) => ([(CONTENT_TYPE, OPENMETRICS)], body).into_response(),
        Err(error) => {
            tracing::error!(%error, "encoding metrics failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "encoding metrics failed\n",
            )
                .into_response()
        }
    }
}

async fn readiness(State((_, health)): State<(AgentMetrics, Health)>) -> (StatusCode, String) {
    let status = if health.is_ready() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, health.report())
}
