//! The web dashboard, served by the validator under `/ui`: the network, the challenges, each
//! challenge's leaderboard, a submission's journey, a miner's submissions and the agreed
//! weights over time. Pages are rendered on the server from askama templates
//! (`templates/`), the weights chart is SVG drawn with plotters, and the one stylesheet is
//! compiled in: nothing is fetched from anywhere else. Every page has a JSON twin under
//! `/dashboard/...` serialising the very value the page renders (`docs/openapi.yaml`).

mod chart;
pub(crate) mod journey;
pub(crate) mod model;
pub(crate) mod weights;

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query as UrlQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use platform_types::{Hash, SubmissionId};
use serde::Deserialize;

use crate::http::{Api, ApiError};
use journey::{Journey, Search};
use model::{Challenges, Leaderboard, Network, PeerRow};
use weights::{EpochWeights, MechanismWeights, Weights};

const STYLE: &str = include_str!("../../assets/style.css");
const ICON: &str = include_str!("../../assets/icon.svg");

/// The dashboard's routes: pages under `/ui`, their JSON twins under `/dashboard`.
pub(crate) fn routes() -> Router<Api> {
    Router::new()
        .route("/ui", get(network_page))
        .route("/ui/", get(|| async { Redirect::permanent("/ui") }))
        .route("/ui/challenges", get(challenges_page))
        .route("/ui/challenges/{id}", get(leaderboard_page))
        .route("/ui/submissions/{id}", get(journey_page))
        .route("/ui/search", get(search_page))
        .route("/ui/weights", get(weights_page))
        .route("/ui/weights/{file}", get(weights_chart))
        .route("/ui/assets/style.css", get(|| async { ([(header::CONTENT_TYPE, "text/css; charset=utf-8")], STYLE) }))
        .route("/ui/assets/icon.svg", get(|| async { ([(header::CONTENT_TYPE, "image/svg+xml")], ICON) }))
        .route("/dashboard/network", get(|s: State<Api>| async move { json(network(&s.0).await) }))
        .route("/dashboard/challenges", get(|s: State<Api>| async move { json(challenges(&s.0).await) }))
        .route(
            "/dashboard/challenges/{id}",
            get(|s: State<Api>, Path(id): Path<String>| async move { json(leaderboard(&s.0, id).await) }),
        )
        .route(
            "/dashboard/submissions/{id}",
            get(|s: State<Api>, Path(id): Path<String>| async move { json(journey(&s.0, &id).await) }),
        )
        .route(
            "/dashboard/search",
            get(|s: State<Api>, UrlQuery(q): UrlQuery<SearchQuery>| async move { json(search(&s.0, q.q).await) }),
        )
        .route("/dashboard/weights", get(|s: State<Api>| async move { json(weights(&s.0).await) }))
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

fn json<T: serde::Serialize>(value: Result<T, ApiError>) -> Response {
    match value {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

fn not_found(what: String) -> ApiError {
    ApiError(StatusCode::NOT_FOUND, what)
}

/// Runs `f` on the published view off the async threads (it reads the store).
async fn with_view<T: Send + 'static>(
    api: &Api,
    f: impl FnOnce(&crate::view::ReadView, &crate::records::Records) -> T + Send + 'static,
) -> Result<T, ApiError> {
    api.ready()?;
    let (view, records) = (api.view.borrow().clone(), api.records.clone());
    tokio::task::spawn_blocking(move || f(&view, &records))
        .await
        .map_err(|_| ApiError(StatusCode::SERVICE_UNAVAILABLE, "the validator is shutting down".into()))
}

async fn network(api: &Api) -> Result<Network, ApiError> {
    let peers = api.p2p.peers().await.unwrap_or_default();
    let peers: Vec<PeerRow> = peers
        .into_iter()
        .map(|(peer, hotkey)| PeerRow { peer_id: peer.to_string(), hotkey: hotkey.map(|h| h.to_ss58()) })
        .collect();
    let status = api.status.borrow().clone();
    let me = api.hotkey;
    with_view(api, move |view, records| {
        let history = weights::weights(records, weights::WEIGHT_EPOCHS);
        view.network(&status, &me, peers, records, &history)
    })
    .await
}

async fn challenges(api: &Api) -> Result<Challenges, ApiError> {
    with_view(api, |view, _| view.challenge_rows()).await
}

fn latest(records: &crate::records::Records) -> Option<EpochWeights> {
    weights::weights(records, 1).epochs.into_iter().next()
}

async fn leaderboard(api: &Api, id: String) -> Result<Leaderboard, ApiError> {
    let answer = with_view(api, move |view, records| {
        view.leaderboard(&id, latest(records).as_ref()).ok_or_else(|| not_found(format!("unknown challenge {id:?}")))
    });
    answer.await?
}

fn parse_id(text: &str) -> Option<SubmissionId> {
    Hash::from_hex(text.trim().trim_start_matches("0x")).ok().map(SubmissionId)
}

async fn journey(api: &Api, id: &str) -> Result<Journey, ApiError> {
    let id =
        parse_id(id).ok_or_else(|| ApiError(StatusCode::BAD_REQUEST, format!("{id:?} is not a 32-byte hex id")))?;
    let answer = with_view(api, move |view, records| {
        view.journey(&id, records, latest(records).as_ref())
            .ok_or_else(|| not_found(format!("no submission {id} on this validator")))
    });
    answer.await?
}

async fn search(api: &Api, q: String) -> Result<Search, ApiError> {
    with_view(api, move |view, records| {
        let mut found = view.search(&q, records);
        // Known here: committed, or stored and not ordered yet (what the journey page shows).
        if let Some(id) = parse_id(&q)
            && (view.state.submissions.contains_key(&id)
                || records.retired(&id).is_some()
                || records.submission_info(&id).is_some())
        {
            found.submission = Some(id.to_string());
        }
        found
    })
    .await
}

async fn weights(api: &Api) -> Result<Weights, ApiError> {
    with_view(api, |_, records| weights::weights(records, weights::WEIGHT_EPOCHS)).await
}

/// Formatting shared by the templates.
trait Format {
    /// A ppb figure as a percentage.
    fn pct<N: Copy + Into<u64>>(&self, ppb: &N) -> String {
        format!("{:.2} %", (*ppb).into() as f64 / 1e7)
    }
    /// An optional ppb figure as a percentage, or a dash.
    fn opt_pct<N: Copy + Into<u64>>(&self, ppb: &Option<N>) -> String {
        ppb.as_ref().map_or_else(|| "–".into(), |p| self.pct(p))
    }
    /// An optional value, or a dash.
    fn opt<T: std::fmt::Display>(&self, value: &Option<T>) -> String {
        value.as_ref().map_or_else(|| "–".into(), T::to_string)
    }
}

macro_rules! page {
    ($name:ident, $file:literal, $model:ty) => {
        #[derive(Template)]
        #[template(path = $file)]
        struct $name {
            v: $model,
            search: String,
            twin: String,
        }
        impl Format for $name {}
        impl $name {
            fn search_text(&self) -> &str {
                &self.search
            }
            fn twin(&self) -> &str {
                &self.twin
            }
        }
    };
}

page!(NetworkPage, "network.html", Network);
page!(ChallengesPage, "challenges.html", Challenges);
page!(LeaderboardPage, "leaderboard.html", Leaderboard);
page!(JourneyPage, "journey.html", Journey);
page!(SearchPage, "search.html", Search);
page!(WeightsPage, "weights.html", Weights);

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    message: String,
    search: String,
    twin: String,
}

impl Format for ErrorPage {}
impl ErrorPage {
    fn search_text(&self) -> &str {
        &self.search
    }
    fn twin(&self) -> &str {
        &self.twin
    }
}

impl WeightsPage {
    /// The mechanisms in the history, ascending.
    fn mechanisms(&self) -> Vec<u8> {
        let mut out: Vec<u8> = self.v.epochs.iter().flat_map(|e| e.mechanisms.iter().map(|m| m.mechanism)).collect();
        out.sort_unstable();
        out.dedup();
        out
    }
    /// The largest weights of a vector, as `uid: share` text.
    fn largest(&self, m: &MechanismWeights) -> String {
        let total: u64 = m.weights.iter().map(|(_, w)| u64::from(*w)).sum();
        let mut pairs = m.weights.clone();
        pairs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        pairs
            .iter()
            .take(3)
            .map(|(uid, w)| format!("uid {uid}: {:.1} %", u64::from(*w) as f64 * 100.0 / total.max(1) as f64))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn html<T: Template>(page: T) -> Response {
    match page.render() {
        Ok(body) => Html(body).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, format!("the page could not be rendered: {e}")).into_response(),
    }
}

/// A page for an error: its status, and the message in the page.
fn error_page(e: ApiError, twin: String) -> Response {
    let status = e.0;
    let mut response = html(ErrorPage { message: e.1, search: String::new(), twin });
    *response.status_mut() = status;
    response
}

fn render<M, P: Template>(answer: Result<M, ApiError>, twin: String, page: impl FnOnce(M, String) -> P) -> Response {
    match answer {
        Ok(model) => html(page(model, twin)),
        Err(e) => error_page(e, twin),
    }
}

async fn network_page(State(api): State<Api>) -> Response {
    let twin = "/dashboard/network".to_owned();
    render(network(&api).await, twin, |v, twin| NetworkPage { v, search: String::new(), twin })
}

async fn challenges_page(State(api): State<Api>) -> Response {
    let twin = "/dashboard/challenges".to_owned();
    render(challenges(&api).await, twin, |v, twin| ChallengesPage { v, search: String::new(), twin })
}

async fn leaderboard_page(State(api): State<Api>, Path(id): Path<String>) -> Response {
    let twin = format!("/dashboard/challenges/{id}");
    render(leaderboard(&api, id).await, twin, |v, twin| LeaderboardPage { v, search: String::new(), twin })
}

async fn journey_page(State(api): State<Api>, Path(id): Path<String>) -> Response {
    let twin = format!("/dashboard/submissions/{id}");
    render(journey(&api, &id).await, twin, |v, twin| JourneyPage { search: v.id.clone(), v, twin })
}

async fn search_page(State(api): State<Api>, UrlQuery(q): UrlQuery<SearchQuery>) -> Response {
    let twin = format!("/dashboard/search?{}", serde_urlencoded::to_string([("q", &q.q)]).unwrap_or_default());
    match search(&api, q.q.clone()).await {
        Ok(found) => match &found.submission {
            Some(id) => Redirect::to(&format!("/ui/submissions/{id}")).into_response(),
            None => html(SearchPage { search: q.q, v: found, twin }),
        },
        Err(e) => error_page(e, twin),
    }
}

async fn weights_page(State(api): State<Api>) -> Response {
    let twin = "/dashboard/weights".to_owned();
    render(weights(&api).await, twin, |v, twin| WeightsPage { v, search: String::new(), twin })
}

/// `/ui/weights/{mechanism}.svg`.
async fn weights_chart(State(api): State<Api>, Path(file): Path<String>) -> Response {
    let Some(mechanism) = file.strip_suffix(".svg").and_then(|m| m.parse::<u8>().ok()) else {
        return ApiError(StatusCode::NOT_FOUND, format!("no chart {file:?}")).into_response();
    };
    let drawn = match weights(&api).await {
        Ok(w) => chart::weights_svg(&w, mechanism, 720, 320),
        Err(e) => return e.into_response(),
    };
    match drawn {
        Ok(svg) => ([(header::CONTENT_TYPE, "image/svg+xml")], svg).into_response(),
        Err(e) => {
            ApiError(StatusCode::INTERNAL_SERVER_ERROR, format!("the chart could not be drawn: {e}")).into_response()
        }
    }
}

#[cfg(test)]
mod tests;
