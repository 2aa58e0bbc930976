//! The HTTP API: status, peers, leagues, rankings (JSON and CSV), outcomes by id, and
//! Prometheus metrics.
//!
//! | route | answer |
//! |---|---|
//! | `GET /status` | the node's status (JSON) |
//! | `GET /peers` | connected peers (JSON) |
//! | `GET /leagues` | leagues entered and entrants known (JSON) |
//! | `GET /rankings?format=json\|csv&league=ID&epoch=N` | rankings of closed epochs |
//! | `GET /outcomes/{id}` | a stored item by id, as JSON |
//! | `GET /epochs/{n}/items` | ids of the items stored for epoch n |
//! | `GET /metrics` | Prometheus text format |

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use nets_tournament::hash::Hash32;
use nets_tournament::league::League;
use serde::Deserialize;
use tokio::sync::watch;

use crate::daemon::Status;
use crate::metrics::Metrics;
use crate::rankings::{self, Format};
use crate::store::Store;
use nets_tournament::node::item::Item;

/// What the handlers read.
#[derive(Clone, Debug)]
pub struct ApiState {
    /// The store (sled is safe to read while the loop writes).
    pub store: Store,
    /// The loop's latest status.
    pub status: watch::Receiver<Status>,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Leagues entered.
    pub leagues: Vec<League>,
}

/// The router.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/status", get(status))
        .route("/peers", get(peers))
        .route("/leagues", get(leagues))
        .route("/rankings", get(rankings_route))
        .route("/outcomes/{id}", get(outcome))
        .route("/epochs/{epoch}/items", get(epoch_items))
        .route("/metrics", get(metrics))
        .with_state(state)
}

fn json<T: serde::Serialize>(value: &T) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::to_string_pretty(value).unwrap_or_default(),
    )
        .into_response()
}

fn error(code: StatusCode, message: impl Into<String>) -> Response {
    (code, json(&serde_json::json!({ "error": message.into() }))).into_response()
}

async fn status(State(s): State<ApiState>) -> Response {
    json(&*s.status.borrow())
}

async fn peers(State(s): State<ApiState>) -> Response {
    json(&s.status.borrow().peers)
}

async fn leagues(State(s): State<ApiState>) -> Response {
    json(&s.status.borrow().leagues)
}

/// Query of `/rankings`.
#[derive(Debug, Deserialize)]
pub struct RankingsQuery {
    /// `json` (default) or `csv`.
    pub format: Option<String>,
    /// League id (hex); default: the first league entered.
    pub league: Option<String>,
    /// Only this epoch.
    pub epoch: Option<u64>,
}

async fn rankings_route(State(s): State<ApiState>, Query(q): Query<RankingsQuery>) -> Response {
    let format = match q.format.as_deref() {
        None | Some("json") => Format::Json,
        Some("csv") => Format::Csv,
        Some(other) => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("format {other:?}: use json or csv"),
            );
        }
    };
    let league = match &q.league {
        None => s.leagues.first().cloned(),
        Some(id) => s
            .leagues
            .iter()
            .find(|l| hex::encode(l.id().0) == *id)
            .cloned(),
    };
    let Some(league) = league else {
        return error(StatusCode::NOT_FOUND, "no such league");
    };
    let closed = s.status.borrow().closed_before;
    let store = s.store.clone();
    let epoch = q.epoch;
    let result =
        tokio::task::spawn_blocking(move || rankings::export(&store, &league, closed, epoch)).await;
    match result {
        Ok(Ok(tables)) => {
            let body = rankings::render(&tables, format);
            let ct = match format {
                Format::Json => "application/json",
                Format::Csv => "text/csv",
            };
            ([(header::CONTENT_TYPE, ct)], body).into_response()
        }
        Ok(Err(e)) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn outcome(State(s): State<ApiState>, Path(id): Path<String>) -> Response {
    let Some(id) = hex::decode(&id)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
    else {
        return error(StatusCode::BAD_REQUEST, "an id is 64 hex digits");
    };
    match s.store.item(&Hash32(id)) {
        Ok(Some(item)) => json(&ItemView::from(&item)),
        Ok(None) => error(StatusCode::NOT_FOUND, "no such item"),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// An item as the API shows it.
#[derive(Debug, serde::Serialize)]
struct ItemView<'a> {
    kind: &'static str,
    epoch: u64,
    item: &'a Item,
}

impl<'a> From<&'a Item> for ItemView<'a> {
    fn from(item: &'a Item) -> Self {
        Self {
            kind: item.kind(),
            epoch: item.epoch(),
            item,
        }
    }
}

async fn epoch_items(State(s): State<ApiState>, Path(epoch): Path<u64>) -> Response {
    match s.store.epoch_ids(epoch) {
        Ok(ids) => json(&ids.iter().map(|id| hex::encode(id.0)).collect::<Vec<_>>()),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

async fn metrics(State(s): State<ApiState>) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        s.metrics.render(),
    )
        .into_response()
}
