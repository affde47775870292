//! The `rest_api` source against real HTTP servers on 127.0.0.1: every paginator, every auth
//! kind, retries, rate limits, dependent resources, and a load into DuckDB.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use dltrs::rest_api::{RestApiConfig, rest_api_resources};
use dltrs::{DuckDb, Pipeline, Resource};
use dltrs_testkit::server::TestServer;
use dltrs_testkit::server::axum::extract::{Path, Query, State};
use dltrs_testkit::server::axum::http::{HeaderMap, StatusCode};
use dltrs_testkit::server::axum::response::{IntoResponse, Response};
use dltrs_testkit::server::axum::routing::{get, post};
use dltrs_testkit::server::axum::{Json, Router};
use serde_json::{Value, json};

type Params = Query<HashMap<String, String>>;

fn config(value: Value) -> RestApiConfig {
    serde_json::from_value(value).unwrap_or_else(|e| panic!("config: {e}"))
}

/// Every item of every resource, by resource name.
fn extract(value: Value) -> Result<Vec<(String, Vec<Value>)>, String> {
    let resources = rest_api_resources(&config(value)).map_err(|e| dltrs::report(&e))?;
    let mut out = Vec::new();
    for resource in resources {
        let name = resource.name().to_owned();
        let items = resource
            .into_values()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| dltrs::report(e.as_ref()))?;
        out.push((name, items));
    }
    Ok(out)
}

fn only(value: Value) -> Vec<Value> {
    match extract(value) {
        Ok(mut all) if all.len() == 1 => all.remove(0).1,
        other => panic!("expected one resource: {other:?}"),
    }
}

fn ids(items: &[Value]) -> Vec<i64> {
    items.iter().filter_map(|i| i["id"].as_i64()).collect()
}

fn records(from: i64, to: i64) -> Vec<Value> {
    (from..to)
        .map(|id| json!({"id": id, "name": format!("r{id}")}))
        .collect()
}

fn param(q: &HashMap<String, String>, name: &str) -> Option<i64> {
    q.get(name).and_then(|v| v.parse().ok())
}

/// Fast retries for tests.
fn fast() -> Value {
    json!({"backoff_factor": 0.01, "max_retry_delay": 5})
}

fn client(server: &TestServer, extra: Value) -> Value {
    let mut client = json!({"base_url": server.url("/")});
    for (k, v) in fast().as_object().into_iter().flatten() {
        client[k] = v.clone();
    }
    for (k, v) in extra.as_object().into_iter().flatten() {
        client[k] = v.clone();
    }
    client
}

/// The workshop API: pages of `size` records from page 1, an empty page ends.
fn workshop_router(total: i64, size: i64, hits: Arc<AtomicUsize>) -> Router {
    Router::new().route(
        "/rides",
        get(move |Query(q): Params| {
            let hits = hits.clone();
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                let page = param(&q, "page").unwrap_or(1);
                let from = (page - 1) * size;
                Json(Value::Array(records(
                    from.min(total),
                    (from + size).min(total),
                )))
            }
        }),
    )
}

#[test]
fn page_number_paginator_workshop_shape() {
    let hits = Arc::new(AtomicUsize::new(0));
    let server = TestServer::start(workshop_router(2500, 1000, hits.clone()));
    let items = only(json!({
        "client": client(&server, json!({})),
        "resources": [{"name": "rides", "endpoint": {"path": "rides", "paginator": {
            "type": "page_number", "base_page": 1, "page_param": "page", "total_path": false}}}],
    }));
    assert_eq!(ids(&items), (0..2500).collect::<Vec<_>>());
    // pages 1, 2, 3 and the empty page 4
    assert_eq!(hits.load(Ordering::SeqCst), 4);
}

#[test]
fn page_number_with_total_fetches_concurrently_in_order() {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (f, p) = (in_flight.clone(), peak.clone());
    let router = Router::new().route(
        "/items",
        get(move |Query(q): Params| {
            let (f, p) = (f.clone(), p.clone());
            async move {
                let now = f.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                let page = param(&q, "p").unwrap_or(0);
                // later pages answer faster, so out-of-order arrival is the norm
                tokio_sleep(Duration::from_millis(60 - (page as u64 % 6) * 10)).await;
                f.fetch_sub(1, Ordering::SeqCst);
                Json(json!({"data": records(page * 10, page * 10 + 10), "meta": {"pages": 12}}))
            }
        }),
    );
    let server = TestServer::start(router);
    let items = only(json!({
        "client": client(&server, json!({"concurrency": 4})),
        "resources": [{"name": "items", "endpoint": {"path": "items", "data_selector": "data",
            "paginator": {"type": "page_number", "page_param": "p", "total_path": "meta.pages"}}}],
    }));
    assert_eq!(ids(&items), (0..120).collect::<Vec<_>>());
    let peak = peak.load(Ordering::SeqCst);
    assert!((2..=4).contains(&peak), "peak concurrency {peak}");
}

async fn tokio_sleep(d: Duration) {
    dltrs_testkit::server::tokio::time::sleep(d).await;
}

#[test]
fn offset_paginator_with_total_and_with_empty_page() {
    let router = Router::new()
        .route(
            "/with_total",
            get(|Query(q): Params| async move {
                let offset = param(&q, "offset").unwrap_or(0);
                let limit = param(&q, "limit").unwrap_or(0);
                Json(json!({"items": records(offset, (offset + limit).min(95)), "total": 95}))
            }),
        )
        .route(
            "/until_empty",
            get(|Query(q): Params| async move {
                let offset = param(&q, "start").unwrap_or(0);
                let limit = param(&q, "count").unwrap_or(0);
                Json(json!({"items": records(offset.min(42), (offset + limit).min(42))}))
            }),
        );
    let server = TestServer::start(router);
    let items = only(json!({
        "client": client(&server, json!({})),
        "resources": [{"name": "t", "endpoint": {"path": "with_total",
            "paginator": {"type": "offset", "limit": 10}}}],
    }));
    assert_eq!(ids(&items), (0..95).collect::<Vec<_>>());
    let items = only(json!({
        "client": client(&server, json!({})),
        "resources": [{"name": "e", "endpoint": {"path": "until_empty", "paginator": {
            "type": "offset", "limit": 10, "offset_param": "start", "limit_param": "count",
            "total_path": false}}}],
    }));
    assert_eq!(ids(&items), (0..42).collect::<Vec<_>>());
    // maximum_offset stops early
    let items = only(json!({
        "client": client(&server, json!({})),
        "resources": [{"name": "m", "endpoint": {"path": "with_total", "paginator": {
            "type": "offset", "limit": 10, "maximum_offset": 30}}}],
    }));
    assert_eq!(ids(&items), (0..30).collect::<Vec<_>>());
}

#[test]
fn cursor_json_link_and_header_link_paginators() {
    let router = Router::new()
        .route(
            "/cursor",
            get(|Query(q): Params| async move {
                let at = q.get("after").and_then(|c| c.strip_prefix('c')).and_then(|c| c.parse::<i64>().ok()).unwrap_or(0);
                let next = if at + 5 < 23 { json!(format!("c{}", at + 5)) } else { Value::Null };
                Json(json!({"results": records(at, (at + 5).min(23)), "paging": {"next_cursor": next}}))
            }),
        )
        .route(
            "/linked",
            get(|Query(q): Params| async move {
                let page = param(&q, "page").unwrap_or(0);
                // a relative link first, then an absolute-path one, then none
                let next = match page {
                    0 => json!("linked?page=1"),
                    1 => json!("/linked?page=2"),
                    _ => Value::Null,
                };
                Json(json!({"data": records(page * 3, page * 3 + 3), "links": {"next": next}}))
            }),
        )
        .route(
            "/headers",
            get(|Query(q): Params| async move {
                let page = param(&q, "page").unwrap_or(0);
                let mut headers = HeaderMap::new();
                if page < 3 {
                    let link = format!(
                        "</headers?page=0>; rel=\"first\", </headers?page={}>; rel=\"next\"",
                        page + 1
                    );
                    headers.insert("link", link.parse().unwrap_or_else(|_| unreachable!()));
                }
                (headers, Json(Value::Array(records(page * 2, page * 2 + 2))))
            }),
        );
    let server = TestServer::start(router);
    let items = only(json!({
        "client": client(&server, json!({})),
        "resources": [{"name": "c", "endpoint": {"path": "cursor", "paginator": {
            "type": "cursor", "cursor_path": "paging.next_cursor", "cursor_param": "after"}}}],
    }));
    assert_eq!(ids(&items), (0..23).collect::<Vec<_>>());
    let items = only(json!({
        "client": client(&server, json!({})),
        "resources": [{"name": "l", "endpoint": {"path": "linked",
            "paginator": {"type": "json_link", "next_url_path": "links.next"}}}],
    }));
    assert_eq!(ids(&items), (0..9).collect::<Vec<_>>());
    let items = only(json!({
        "client": client(&server, json!({})),
        "resources": [{"name": "h", "endpoint": {"path": "headers", "paginator": "header_link"}}],
    }));
    assert_eq!(ids(&items), (0..8).collect::<Vec<_>>());
}

#[test]
fn auto_detection_and_single_page() {
    let router = Router::new()
        .route(
            "/auto_link",
            get(|Query(q): Params| async move {
                let page = param(&q, "page").unwrap_or(0);
                let next = if page < 2 {
                    json!(format!("/auto_link?page={}", page + 1))
                } else {
                    Value::Null
                };
                Json(json!({"next": next, "count": 99, "results": records(page * 4, page * 4 + 4)}))
            }),
        )
        .route(
            "/auto_header",
            get(|Query(q): Params| async move {
                let page = param(&q, "page").unwrap_or(0);
                let mut headers = HeaderMap::new();
                if page < 1 {
                    headers.insert(
                        "link",
                        "</auto_header?page=1>; rel=\"next\""
                            .parse()
                            .unwrap_or_else(|_| unreachable!()),
                    );
                }
                (headers, Json(Value::Array(records(page * 2, page * 2 + 2))))
            }),
        )
        .route(
            "/one",
            get(|| async { Json(json!({"id": 7, "name": "x"})) }),
        )
        .route(
            "/users/{id}",
            get(|Path(id): Path<i64>| async move { Json(json!({"id": id, "items": [1, 2]})) }),
        );
    let server = TestServer::start(router);
    let all = extract(json!({
        "client": client(&server, json!({})),
        "resources": ["auto_link", "auto_header", "one",
            {"name": "user", "endpoint": "users/{resources.one.id}"}],
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    let by_name: HashMap<_, _> = all.into_iter().collect();
    assert_eq!(ids(&by_name["auto_link"]), (0..12).collect::<Vec<_>>());
    assert_eq!(ids(&by_name["auto_header"]), (0..4).collect::<Vec<_>>());
    // no list in the response: the response is the record
    assert_eq!(by_name["one"], vec![json!({"id": 7, "name": "x"})]);
    // a single-entity path: the whole object, not its `items` list
    assert_eq!(by_name["user"], vec![json!({"id": 7, "items": [1, 2]})]);
}

fn auth_router(token_requests: Arc<AtomicUsize>) -> Router {
    fn check(ok: bool) -> Response {
        if ok {
            Json(json!([{"id": 1}])).into_response()
        } else {
            (StatusCode::UNAUTHORIZED, "bad credentials").into_response()
        }
    }
    Router::new()
        .route("/bearer", get(|h: HeaderMap| async move {
            check(h.get("authorization").is_some_and(|v| v == "Bearer tok-123"))
        }))
        .route("/key_header", get(|h: HeaderMap| async move {
            check(h.get("x-api-key").is_some_and(|v| v == "k-456"))
        }))
        .route("/key_query", get(|Query(q): Params| async move {
            check(q.get("api_key").is_some_and(|v| v == "k-456"))
        }))
        .route("/key_cookie", get(|h: HeaderMap| async move {
            check(h.get("cookie").is_some_and(|v| v == "session=k-456"))
        }))
        .route("/basic", get(|h: HeaderMap| async move {
            // base64("ann:pw-789")
            check(h.get("authorization").is_some_and(|v| v == "Basic YW5uOnB3LTc4OQ=="))
        }))
        .route("/token", post(move |body: String| {
            let token_requests = token_requests.clone();
            async move {
                token_requests.fetch_add(1, Ordering::SeqCst);
                if body.contains("client_id=cid") && body.contains("client_secret=csecret")
                    && body.contains("grant_type=client_credentials") && body.contains("scope=read")
                {
                    Json(json!({"access_token": "oauth-tok", "expires_in": 3600})).into_response()
                } else {
                    (StatusCode::BAD_REQUEST, "bad client").into_response()
                }
            }
        }))
        .route("/echo", get(|h: HeaderMap| async move {
            let env = h.get("x-env").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
            Json(json!([{"id": 1, "env": env}]))
        }))
        .route("/oauth", get(|h: HeaderMap| async move {
            check(h.get("authorization").is_some_and(|v| v == "Bearer oauth-tok"))
        }))
}

#[test]
fn every_auth_kind() {
    let token_requests = Arc::new(AtomicUsize::new(0));
    let server = TestServer::start(auth_router(token_requests.clone()));
    let cases = [
        ("bearer", json!({"type": "bearer", "token": "tok-123"})),
        (
            "key_header",
            json!({"type": "api_key", "name": "X-API-Key", "api_key": "k-456"}),
        ),
        (
            "key_query",
            json!({"type": "api_key", "name": "api_key", "api_key": "k-456", "location": "query"}),
        ),
        (
            "key_cookie",
            json!({"type": "api_key", "name": "session", "api_key": "k-456", "location": "cookie"}),
        ),
        (
            "basic",
            json!({"type": "http_basic", "username": "ann", "password": "pw-789"}),
        ),
        (
            "oauth",
            json!({"type": "oauth2_client_credentials", "access_token_url": server.url("/token"),
            "client_id": "cid", "client_secret": "csecret",
            "access_token_request_data": {"scope": "read"}}),
        ),
    ];
    // a header value read from the environment (PATH is always set)
    let path_value = std::env::var("PATH").unwrap_or_default();
    assert!(!path_value.is_empty());
    let items = only(json!({
        "client": client(&server, json!({"headers": {"X-Env": "${PATH}"}})),
        "resources": [{"name": "echo", "endpoint": {"path": "echo", "paginator": "single_page"}}],
    }));
    assert_eq!(items, vec![json!({"id": 1, "env": path_value})]);
    for (path, auth) in cases {
        let items = only(json!({
            "client": client(&server, json!({"auth": auth})),
            "resources": [{"name": path, "endpoint": {"path": path, "paginator": "single_page"}}],
        }));
        assert_eq!(items, vec![json!({"id": 1})], "{path}");
    }
    // the token is fetched once and reused across pages and resources of the source
    let items = extract(json!({
        "client": client(&server, json!({"auth": {"type": "oauth2_client_credentials",
            "access_token_url": server.url("/token"), "client_id": "cid",
            "client_secret": "csecret", "access_token_request_data": {"scope": "read"}}})),
        "resources": [{"name": "a", "endpoint": "oauth"}, {"name": "b", "endpoint": "oauth"}],
    }));
    assert!(items.is_ok(), "{items:?}");
    assert_eq!(token_requests.load(Ordering::SeqCst), 2);
}

#[test]
fn refused_requests_name_the_url_and_hide_secrets() {
    let server = TestServer::start(auth_router(Arc::new(AtomicUsize::new(0))));
    let err = extract(json!({
        "client": client(&server, json!({"auth": {"type": "api_key", "name": "api_key",
            "api_key": "wrong-secret-key", "location": "query"}})),
        "resources": [{"name": "q", "endpoint": {"path": "key_query", "params": {"page": 1}}}],
    }))
    .err()
    .unwrap_or_default();
    assert!(err.contains("401 Unauthorized"), "{err}");
    assert!(
        err.contains(&server.url("/key_query?page=1&api_key=***")),
        "{err}"
    );
    assert!(err.contains("bad credentials"), "{err}");
    assert!(!err.contains("wrong-secret-key"), "{err}");
    let err = serde_json::from_value::<RestApiConfig>(json!({
        "client": client(&server, json!({"auth": {"type": "bearer", "token": "${DLTRS_TEST_UNSET_TOKEN}"}})),
        "resources": ["bearer"],
    }))
    .err()
    .map(|e| dltrs::report(&e))
    .unwrap_or_default();
    assert!(err.contains("DLTRS_TEST_UNSET_TOKEN"), "{err}");
}

#[test]
fn retries_5xx_429_with_retry_after_and_dropped_bodies() {
    let attempts: Arc<Mutex<HashMap<&'static str, usize>>> = Arc::default();
    let count = |attempts: &Arc<Mutex<HashMap<&'static str, usize>>>, key: &'static str| {
        let mut map = attempts.lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(key).or_default();
        *n += 1;
        *n
    };
    let router = Router::new()
        .route(
            "/flaky",
            get(
                move |State(a): State<Arc<Mutex<HashMap<&'static str, usize>>>>| async move {
                    if count(&a, "flaky") <= 2 {
                        (StatusCode::SERVICE_UNAVAILABLE, "try later").into_response()
                    } else {
                        Json(json!([{"id": 1}])).into_response()
                    }
                },
            ),
        )
        .route(
            "/limited",
            get(
                move |State(a): State<Arc<Mutex<HashMap<&'static str, usize>>>>| async move {
                    if count(&a, "limited") == 1 {
                        let mut headers = HeaderMap::new();
                        headers.insert(
                            "retry-after",
                            "1".parse().unwrap_or_else(|_| unreachable!()),
                        );
                        (StatusCode::TOO_MANY_REQUESTS, headers, "slow down").into_response()
                    } else {
                        Json(json!([{"id": 2}])).into_response()
                    }
                },
            ),
        )
        .route(
            "/dropped",
            get(
                move |State(a): State<Arc<Mutex<HashMap<&'static str, usize>>>>| async move {
                    use dltrs_testkit::server::axum::body::{Body, Bytes};
                    if count(&a, "dropped") == 1 {
                        // promise 1000 bytes, send 20, then fail the stream: the connection is cut
                        let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
                            Ok(Bytes::from_static(b"[{\"id\": 3}, {\"id\": ")),
                            Err(std::io::Error::other("cut")),
                        ];
                        let body = Body::from_stream(futures_util_iter(chunks));
                        Response::builder()
                            .header("content-length", "1000")
                            .body(body)
                            .unwrap_or_else(|_| unreachable!())
                    } else {
                        Json(json!([{"id": 3}, {"id": 4}])).into_response()
                    }
                },
            ),
        )
        .route("/always_down", get(|| async { StatusCode::BAD_GATEWAY }))
        .route(
            "/slow",
            get(|| async {
                tokio_sleep(Duration::from_secs(3)).await;
                Json(json!([]))
            }),
        )
        .route("/not_json", get(|| async { "<html>oops</html>" }))
        .with_state(attempts.clone());
    let server = TestServer::start(router);
    let all = extract(json!({
        "client": client(&server, json!({})),
        "resources": [{"name": "flaky", "endpoint": {"path": "flaky", "paginator": "single_page"}},
                      {"name": "limited", "endpoint": {"path": "limited", "paginator": "single_page"}},
                      {"name": "dropped", "endpoint": {"path": "dropped", "paginator": "single_page"}}],
    }));
    let all = all.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all[0].1, vec![json!({"id": 1})]);
    assert_eq!(all[1].1, vec![json!({"id": 2})]);
    assert_eq!(all[2].1, vec![json!({"id": 3}), json!({"id": 4})]);
    let seen = attempts.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert_eq!((seen["flaky"], seen["limited"], seen["dropped"]), (3, 2, 2));

    // Retry-After is honoured: the second attempt waits a second, not 10 ms
    attempts.lock().unwrap_or_else(|p| p.into_inner()).clear();
    let started = Instant::now();
    let limited = only(json!({
        "client": client(&server, json!({})),
        "resources": [{"name": "limited", "endpoint": {"path": "limited", "paginator": "single_page"}}],
    }));
    assert_eq!(limited, vec![json!({"id": 2})]);
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );

    let err = extract(json!({
        "client": client(&server, json!({"max_attempts": 3})),
        "resources": [{"name": "down", "endpoint": "always_down"}],
    }))
    .err()
    .unwrap_or_default();
    assert!(
        err.contains("failed after 3 attempts: answered 502 Bad Gateway"),
        "{err}"
    );
    assert!(err.contains(&server.url("/always_down")), "{err}");

    let started = Instant::now();
    let err = extract(json!({
        "client": client(&server, json!({"timeout": 0.2, "max_attempts": 2})),
        "resources": [{"name": "slow", "endpoint": "slow"}],
    }))
    .err()
    .unwrap_or_default();
    assert!(
        err.contains("failed after 2 attempts") && err.contains("imeout"),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    let err = extract(json!({
        "client": client(&server, json!({})),
        "resources": [{"name": "html", "endpoint": "not_json"}],
    }))
    .err()
    .unwrap_or_default();
    assert!(err.contains("page 1 from GET"), "{err}");
    assert!(err.contains("/not_json is not valid JSON"), "{err}");
    assert!(err.contains("<html>oops"), "{err}");
}

fn futures_util_iter<T: Send + 'static>(
    items: Vec<T>,
) -> impl dltrs_testkit::server::futures::Stream<Item = T> + Send + 'static {
    dltrs_testkit::server::futures::stream::iter(items)
}

#[test]
fn rate_limit_spaces_requests() {
    let hits = Arc::new(AtomicUsize::new(0));
    let server = TestServer::start(workshop_router(50, 10, hits.clone()));
    let started = Instant::now();
    let items = only(json!({
        "client": client(&server, json!({"rate_limit": 5.0})),
        "resources": [{"name": "rides", "endpoint": {"path": "rides", "paginator": {
            "type": "page_number", "base_page": 1, "total_path": false}}}],
    }));
    assert_eq!(items.len(), 50);
    // six requests at five per second: at least a second between the first and the last
    assert_eq!(hits.load(Ordering::SeqCst), 6);
    assert!(
        started.elapsed() >= Duration::from_millis(990),
        "{:?}",
        started.elapsed()
    );
}

fn issues_router(issue_hits: Arc<AtomicUsize>) -> Router {
    Router::new()
        .route(
            "/issues",
            get(move |Query(q): Params| {
                let issue_hits = issue_hits.clone();
                async move {
                    issue_hits.fetch_add(1, Ordering::SeqCst);
                    let page = param(&q, "page").unwrap_or(1);
                    let issues: Vec<Value> = match page {
                        1 => (1..=2)
                            .map(|n| json!({"id": 100 + n, "number": n, "title": format!("t{n}")}))
                            .collect(),
                        2 => vec![json!({"id": 103, "number": 3, "title": "t3"})],
                        _ => vec![],
                    };
                    Json(Value::Array(issues))
                }
            }),
        )
        .route(
            "/issues/{number}/comments",
            get(|Path(number): Path<i64>, Query(q): Params| async move {
                if number == 2 {
                    return (StatusCode::NOT_FOUND, "no such issue").into_response();
                }
                let since = q.get("since").cloned().unwrap_or_default();
                Json(
                    json!([{"id": number * 10, "body": format!("c{number}"), "since": since},
                            {"id": number * 10 + 1, "body": "more", "since": since}]),
                )
                .into_response()
            }),
        )
}

#[test]
fn dependent_resources_with_include_from_parent() {
    let issue_hits = Arc::new(AtomicUsize::new(0));
    let server = TestServer::start(issues_router(issue_hits.clone()));
    let paginator = json!({"type": "page_number", "base_page": 1, "total_path": false});
    let all = extract(json!({
        "client": client(&server, json!({"paginator": paginator})),
        "resources": [
            // the child comes first in the configuration: parents are extracted first anyway
            {"name": "comments",
             "endpoint": {"path": "issues/{resources.issues.number}/comments",
                          "params": {"since": "{resources.issues.title}"},
                          "paginator": "single_page",
                          "response_actions": [{"status_code": 404, "action": "ignore"}]},
             "include_from_parent": ["id", "title"]},
            "issues",
        ],
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all[0].0, "issues");
    assert_eq!(ids(&all[0].1), [101, 102, 103]);
    assert_eq!(all[1].0, "comments");
    assert_eq!(
        all[1].1,
        vec![
            json!({"id": 10, "body": "c1", "since": "t1", "_issues_id": 101, "_issues_title": "t1"}),
            json!({"id": 11, "body": "more", "since": "t1", "_issues_id": 101, "_issues_title": "t1"}),
            json!({"id": 30, "body": "c3", "since": "t3", "_issues_id": 103, "_issues_title": "t3"}),
            json!({"id": 31, "body": "more", "since": "t3", "_issues_id": 103, "_issues_title": "t3"}),
        ]
    );
    // the parent's pages were fetched once: the children read the parent's records as they
    // were extracted
    assert_eq!(issue_hits.load(Ordering::SeqCst), 3);

    // an unselected parent is fetched for its children but not returned; dlt's older
    // `resolve` parameters work too
    issue_hits.store(0, Ordering::SeqCst);
    let all = extract(json!({
        "client": client(&server, json!({"paginator": paginator})),
        "resources": [
            {"name": "issues", "selected": false},
            {"name": "comments", "endpoint": {"path": "issues/{issue}/comments",
                "params": {"issue": {"type": "resolve", "resource": "issues", "field": "number"}},
                "paginator": "single_page",
                "response_actions": [{"status_code": 404, "action": "ignore"}]}},
        ],
    }))
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all.len(), 1);
    assert_eq!(ids(&all[0].1), [10, 11, 30, 31]);
    assert_eq!(issue_hits.load(Ordering::SeqCst), 3);

    // a missing parent field is an error naming it
    let err = extract(json!({
        "client": client(&server, json!({"paginator": paginator})),
        "resources": ["issues", {"name": "c", "endpoint": "issues/{resources.issues.nope}/comments"}],
    }))
    .err()
    .unwrap_or_default();
    assert!(err.contains("has no field `nope`"), "{err}");
}

#[test]
fn configuration_errors_are_explained() {
    let cases = [
        (
            json!({"client": {"base_url": "http://x/", "paginatr": "auto"}, "resources": ["a"]}),
            "unknown field `paginatr`",
        ),
        (
            json!({"client": {"base_url": "http://x/"}, "resources": [{"name": "a", "endpoint": {"paginator": {"type": "page_number", "pagesize": 3}}}]}),
            "unknown field `pagesize`",
        ),
        (
            json!({"client": {"base_url": "http://x/"}, "resources": [{"name": "a", "endpoint": {"paginator": "pages"}}]}),
            "unknown variant `pages`",
        ),
    ];
    for (value, expected) in cases {
        let err = serde_json::from_value::<RestApiConfig>(value)
            .err()
            .map(|e| dltrs::report(&e))
            .unwrap_or_default();
        assert!(err.contains(expected), "{err}");
    }
    let cases = [
        (
            json!({"client": {"base_url": "http://x/"}, "resources": [{"name": "a", "endpoint": "x/{resources.b.id}"}]}),
            "depends on resource `b`, which is not defined",
        ),
        (
            json!({"client": {"base_url": "http://x/"}, "resources": [{"name": "a", "endpoint": "x/{id}"}]}),
            "placeholder `{id}` is not valid",
        ),
        (
            json!({"client": {"base_url": "http://x/"}, "resources": [{"name": "a", "endpoint": {"paginator": {"type": "page_number", "total_path": false, "stop_after_empty_page": false}}}]}),
            "would never stop",
        ),
        (
            json!({"client": {"base_url": "http://x/"}, "resources": ["a", "a"]}),
            "defined twice",
        ),
    ];
    for (value, expected) in cases {
        let err = rest_api_resources(&config(value))
            .err()
            .map(|e| dltrs::report(&e))
            .unwrap_or_default();
        assert!(err.contains(expected), "{err}");
    }
}

#[test]
fn workshop_api_end_to_end_into_duckdb() {
    let hits = Arc::new(AtomicUsize::new(0));
    let server = TestServer::start(workshop_router(3500, 1000, hits));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("workshop.duckdb");
    let mut pipeline = Pipeline::builder("workshop")
        .pipelines_dir(dir.path().join("pipelines"))
        .destination(DuckDb::new(&db))
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let resources: Vec<Resource> = rest_api_resources(&config(json!({
        "client": client(&server, json!({"paginator": {"type": "page_number", "base_page": 1, "total_path": false}})),
        "resource_defaults": {"primary_key": "id", "write_disposition": "merge"},
        "resources": ["rides"],
    })))
    .unwrap_or_else(|e| panic!("{e}"));
    let info = pipeline.run(resources).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(info.row_counts().get("rides"), Some(&3500));
    // a second run merges on the primary key: still 3500 rows
    let resources = rest_api_resources(&config(json!({
        "client": client(&server, json!({"paginator": {"type": "page_number", "base_page": 1, "total_path": false}})),
        "resource_defaults": {"primary_key": "id", "write_disposition": "merge"},
        "resources": ["rides"],
    })))
    .unwrap_or_else(|e| panic!("{e}"));
    pipeline.run(resources).unwrap_or_else(|e| panic!("{e}"));
    let conn = duckdb::Connection::open(&db).unwrap_or_else(|e| panic!("{e}"));
    let (rows, distinct): (i64, i64) = conn
        .query_row(
            "SELECT count(*), count(DISTINCT id) FROM workshop_dataset.rides",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!((rows, distinct), (3500, 3500));
}
