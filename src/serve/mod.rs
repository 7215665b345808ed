//! `pipetop serve`: the dashboard's collectors and session without a screen, and an HTTP endpoint
//! for Prometheus. A scrape renders the newest finished model (`metrics.rs`); it never waits on
//! Kafka, ClickHouse or the session.
//!
//! - `GET /metrics`: the Prometheus text format, or OpenMetrics when `Accept` asks for it;
//! - `GET /healthz`: 200 `ok` while the session task runs, 503 once it has stopped.

pub mod chunks;
pub mod labels;
pub mod metrics;
pub mod render_cache;

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use hyper::body::Incoming;
use hyper::header::{ACCEPT, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::collect::Collectors;
use crate::config::Config;
use crate::live::spawn;
use crate::model::Model;
use crate::model::projection::FIT_WINDOW_S;
use crate::session::Session;

use self::chunks::Chunks;
use self::metrics::{Format, Series};
use self::render_cache::RenderCache;

/// Serves until SIGTERM or SIGINT. Fails when the address cannot be bound or the collectors
/// cannot start.
pub async fn run(config: &Config, listen: SocketAddr, series: Series) -> anyhow::Result<()> {
    let config = &headless(config);
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {listen}: {e}"))?;
    let collectors = Collectors::spawn(config)?;
    // Kept for as long as this runs: dropping it would stop the session.
    let session = spawn(
        Session::new(config).without_events(),
        collectors.kafka.clone(),
        collectors.clickhouse.clone(),
        None,
    )?;
    let models = session.models.clone();
    let cache = Arc::new(RenderCache::default());
    tokio::spawn(forget_retired_bodies(models.clone(), Arc::clone(&cache)));
    tracing::info!(
        "serving metrics on http://{}/metrics",
        listener.local_addr()?
    );
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors and the like: the next accept may succeed.
                Err(e) => {
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
            signal = &mut shutdown => return signal,
        };
        let models = models.clone();
        let cache = Arc::clone(&cache);
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let response = respond(&request, &models, &cache, series);
                async move { Ok::<_, Infallible>(response) }
            });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            if let Err(e) = connection.await {
                tracing::debug!("connection: {e}");
            }
        });
    }
}

/// The config `serve` runs with: the charts' history (`history`, an hour by default) cut to what
/// its figures read. No metric draws a chart; the projections (a group's catch-up time, a table's
/// time to its parts limit) fit the last [`FIT_WINDOW_S`], so that window and one refresh more is
/// all it keeps: at 1,000 groups an hour of charts is about 35 MiB, five minutes about 3.
fn headless(config: &Config) -> Config {
    let needed = Duration::from_secs_f64(FIT_WINDOW_S) + config.refresh;
    Config {
        history: config.history.min(needed),
        ..config.clone()
    }
}

/// Each time the session publishes a model, the cache lets go of the bodies of the ones before.
/// Ends with the session.
async fn forget_retired_bodies(mut models: watch::Receiver<Arc<Model>>, cache: Arc<RenderCache>) {
    while models.changed().await.is_ok() {
        let current = Arc::clone(&models.borrow_and_update());
        cache.keep_only(&current);
    }
}

/// Resolves on the first SIGTERM or SIGINT.
async fn shutdown_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    Ok(())
}

fn respond(
    request: &Request<Incoming>,
    models: &watch::Receiver<Arc<Model>>,
    cache: &RenderCache,
    series: Series,
) -> Response<Chunks> {
    match (request.method(), request.uri().path()) {
        (&Method::GET | &Method::HEAD, "/metrics") => {
            let accept = request.headers().get(ACCEPT).and_then(|v| v.to_str().ok());
            let format = Format::from_accept(accept);
            // The newest finished model: a clone of the Arc, the session is never waited on.
            let model = Arc::clone(&models.borrow());
            let body = cache.body(&model, SystemTime::now(), format, series);
            reply(StatusCode::OK, format.content_type(), body)
        }
        (&Method::GET | &Method::HEAD, "/healthz") => {
            // The session task holds the sender: once it has stopped, has_changed fails.
            if models.has_changed().is_ok() {
                reply(
                    StatusCode::OK,
                    "text/plain; charset=utf-8",
                    Chunks::from("ok\n"),
                )
            } else {
                reply(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "text/plain; charset=utf-8",
                    Chunks::from("session stopped\n"),
                )
            }
        }
        (_, "/metrics" | "/healthz") => reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            Chunks::from("GET only\n"),
        ),
        _ => reply(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            Chunks::from("pipetop serves /metrics and /healthz\n"),
        ),
    }
}

fn reply(status: StatusCode, content_type: &'static str, body: Chunks) -> Response<Chunks> {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serve_keeps_the_projection_window_not_the_charts_hour() {
        let config = Config::default();
        assert_eq!(config.history, Duration::from_secs(3600));
        let served = headless(&config);
        assert_eq!(served.history, Duration::from_secs(300) + config.refresh);
        assert!(served.history.as_secs_f64() >= FIT_WINDOW_S);
        // Everything else is the config as given.
        let restored = Config {
            history: config.history,
            ..served
        };
        assert_eq!(format!("{restored:?}"), format!("{config:?}"));

        // A shorter history than the window stays as asked.
        let short = Config {
            history: Duration::from_secs(60),
            ..Config::default()
        };
        assert_eq!(headless(&short).history, Duration::from_secs(60));
    }
}
