//! [`Pages`]: the pages of one paginated request, fetched in order, or several at once when
//! their number is known from the first page (output order stays the page order).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};

use serde_json::Value;
use url::Url;

use super::client::{PAGE_LIMIT, RestClient};
use super::config::{ResponseAction, ResponseActionKind};
use super::paginator::{
    PageResponse, Paginator, Range, detect_data_selector, extract_records, selects_nothing,
};
use super::request::RequestSpec;
use crate::http::{HttpError, HttpRequest};
use crate::jsonpath::JsonPath;
use crate::progress::Progress;
use crate::run_error::BoxError;

/// A fetched page, parsed.
enum Fetched {
    /// A response action said to skip it.
    Ignored,
    Page {
        json: Value,
        link: Option<String>,
        url: Url,
        bytes: usize,
    },
}

/// Sends `request` and parses the page; `page` numbers it in errors.
fn fetch(
    client: &RestClient,
    request: &HttpRequest,
    page: u64,
    actions: &[ResponseAction],
) -> Result<Fetched, String> {
    let (parts, body) = match client.http.fetch(request, PAGE_LIMIT) {
        Ok(ok) => ok,
        Err(HttpError::Status { status, body, .. })
            if actions.iter().any(|a| {
                a.action == ResponseActionKind::Ignore
                    && (a.status_code.is_some() || a.content.is_some())
                    && a.status_code
                        .is_none_or(|c| status.starts_with(&c.to_string()))
                    && a.content.as_ref().is_none_or(|c| body.contains(c.as_str()))
            }) =>
        {
            return Ok(Fetched::Ignored);
        }
        Err(e) => return Err(e.to_string()),
    };
    if !actions.is_empty() {
        let text = String::from_utf8_lossy(&body);
        if actions.iter().any(|a| {
            a.action == ResponseActionKind::Ignore
                && a.status_code.is_none_or(|c| c == parts.status.as_u16())
                && a.content
                    .as_ref()
                    .is_some_and(|c| text.contains(c.as_str()))
        }) {
            return Ok(Fetched::Ignored);
        }
    }
    let json: Value = serde_json::from_slice(&body).map_err(|e| {
        let start = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
        format!(
            "page {page} from {} {} is not valid JSON ({e}); it starts with {:?}",
            request.method,
            client.http.show_url(&request.url),
            client.http.redactor().text(&start),
        )
    })?;
    let link = parts
        .headers
        .get_all("link")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Fetched::Page {
        json,
        link: (!link.is_empty()).then_some(link),
        url: request.url.clone(),
        bytes: body.len(),
    })
}

/// The pages of one request sequence.
pub(crate) struct Pages {
    client: Arc<RestClient>,
    request: RequestSpec,
    paginator: Paginator,
    selector: Option<JsonPath>,
    actions: Arc<[ResponseAction]>,
    fetched: u64,
    done: bool,
    parallel: Option<Parallel>,
    progress: Progress,
}

impl Pages {
    pub(crate) fn new(
        client: Arc<RestClient>,
        mut request: RequestSpec,
        mut paginator: Paginator,
        selector: Option<JsonPath>,
        actions: Arc<[ResponseAction]>,
        progress: Progress,
    ) -> Self {
        paginator.init_request(&mut request);
        Pages {
            client,
            request,
            paginator,
            selector,
            actions,
            fetched: 0,
            done: false,
            parallel: None,
            progress,
        }
    }

    /// The records of the next page; `None` after the last.
    pub(crate) fn next_page(&mut self) -> Result<Option<Vec<Value>>, BoxError> {
        if let Some(parallel) = &mut self.parallel {
            let next = parallel.next_page(&self.client, &self.progress);
            if !matches!(next, Ok(Some(_))) {
                self.parallel = None;
                self.done = true;
            }
            return next;
        }
        if self.done {
            return Ok(None);
        }
        let request = self.client.prepare(&self.request)?;
        self.fetched += 1;
        let (json, link, url, bytes) =
            match fetch(&self.client, &request, self.fetched, &self.actions) {
                Ok(Fetched::Ignored) => {
                    self.done = true;
                    return Ok(None);
                }
                Ok(Fetched::Page {
                    json,
                    link,
                    url,
                    bytes,
                }) => (json, link, url, bytes),
                Err(e) => {
                    self.done = true;
                    return Err(e.into());
                }
            };
        let selector = match &self.selector {
            Some(selector) => selector.clone(),
            None => {
                let detected = JsonPath::parse(&detect_data_selector(&json))?;
                self.selector = Some(detected.clone());
                detected
            }
        };
        let response = PageResponse {
            json: &json,
            link_header: link.as_deref(),
        };
        if matches!(self.paginator, Paginator::Auto) {
            let (detected, name) = Paginator::detect(&response);
            if name != "single_page" {
                self.progress.note(&format!(
                    "detected paginator `{name}` for {}; set `paginator` to be sure",
                    self.client.http.show_url(&self.request.url)
                ));
            }
            self.paginator = detected;
        }
        let empty = selects_nothing(&json, &selector);
        if let Err(e) = self.paginator.update_state(&response, empty) {
            self.done = true;
            return Err(format!(
                "page {} from {}: {e}",
                self.fetched,
                self.client.http.show_url(&url)
            )
            .into());
        }
        if let Err(e) = self.paginator.update_request(&mut self.request, &url) {
            self.done = true;
            return Err(format!(
                "page {} from {}: {e}",
                self.fetched,
                self.client.http.show_url(&url)
            )
            .into());
        }
        let records = extract_records(json, &selector);
        self.progress.page(bytes as u64);
        if !self.paginator.has_next_page() {
            self.done = true;
        } else if let Some(range) = self.paginator.range()
            && self.client.concurrency > 1
            && let Some(end) = range.end()
        {
            self.parallel = Some(Parallel::start(
                &self.client,
                range.clone(),
                &self.request,
                end,
                selector,
                self.actions.clone(),
                self.fetched,
            ));
        }
        Ok(Some(records))
    }
}

type Job = (u64, HttpRequest);
type Outcome = (u64, Result<Fetched, String>);

/// The rest of a numbered range, fetched by a few threads; pages come out in order and at
/// most `window` of them wait in memory.
struct Parallel {
    range: Range,
    selector: JsonPath,
    /// The request of the next page to dispatch is made from this: pages are numbered as they
    /// go, never listed up front (a total can be huge).
    request: RequestSpec,
    next_value: i64,
    end: i64,
    next_page: u64,
    jobs: Option<mpsc::Sender<Job>>,
    results: mpsc::Receiver<Outcome>,
    ready: BTreeMap<u64, Result<Fetched, String>>,
    next: u64,
    outstanding: usize,
    window: usize,
    cancel: Arc<AtomicBool>,
}

impl Parallel {
    fn start(
        client: &Arc<RestClient>,
        range: Range,
        request: &RequestSpec,
        end: i64,
        selector: JsonPath,
        actions: Arc<[ResponseAction]>,
        fetched: u64,
    ) -> Self {
        let remaining = (end.saturating_sub(range.current) / range.step.max(1)).saturating_add(1);
        let workers = client
            .concurrency
            .min(usize::try_from(remaining).unwrap_or(usize::MAX))
            .max(1);
        let (jobs, job_queue) = mpsc::channel::<Job>();
        let (done, results) = mpsc::channel::<Outcome>();
        let job_queue = Arc::new(Mutex::new(job_queue));
        let cancel = Arc::new(AtomicBool::new(false));
        for _ in 0..workers {
            let client = client.clone();
            let job_queue = job_queue.clone();
            let done = done.clone();
            let cancel = cancel.clone();
            let actions = actions.clone();
            std::thread::spawn(move || {
                loop {
                    let job = job_queue.lock().map(|queue| queue.recv());
                    let Ok(Ok((page, request))) = job else {
                        return;
                    };
                    if cancel.load(Ordering::Relaxed) {
                        return;
                    }
                    let outcome = fetch(&client, &request, page, &actions);
                    if done.send((page, outcome)).is_err() {
                        return;
                    }
                }
            });
        }
        Parallel {
            request: request.clone(),
            next_value: range.current,
            end,
            next_page: fetched + 1,
            range,
            selector,
            jobs: Some(jobs),
            results,
            ready: BTreeMap::new(),
            next: fetched + 1,
            outstanding: 0,
            window: workers * 2,
            cancel,
        }
    }

    fn next_page(
        &mut self,
        client: &RestClient,
        progress: &Progress,
    ) -> Result<Option<Vec<Value>>, BoxError> {
        loop {
            while self.outstanding < self.window && self.next_value < self.end {
                let spec = self.range.request_at(&self.request, self.next_value);
                let page = self.next_page;
                self.next_value = self.next_value.saturating_add(self.range.step);
                self.next_page += 1;
                let request = client.prepare(&spec)?;
                let Some(jobs) = &self.jobs else { break };
                if jobs.send((page, request)).is_err() {
                    return Err("the page fetching threads stopped".into());
                }
                self.outstanding += 1;
            }
            if self.next_value >= self.end {
                self.jobs = None;
            }
            if let Some(outcome) = self.ready.remove(&self.next) {
                self.next += 1;
                self.outstanding -= 1;
                return match outcome {
                    Err(e) => Err(e.into()),
                    Ok(Fetched::Ignored) => Ok(None),
                    Ok(Fetched::Page {
                        json, bytes, url, ..
                    }) => {
                        let empty = selects_nothing(&json, &self.selector);
                        let stop = self.range.stops_at(empty, &json).map_err(|e| {
                            format!(
                                "page {} from {}: {e}",
                                self.next - 1,
                                client.http.show_url(&url)
                            )
                        })?;
                        if stop {
                            // pages after an empty one are not part of the data
                            self.next_value = self.end;
                            self.jobs = None;
                            self.outstanding = 0;
                            self.cancel.store(true, Ordering::Relaxed);
                            if empty {
                                return Ok(None);
                            }
                        }
                        let records = extract_records(json, &self.selector);
                        progress.page(bytes as u64);
                        if stop {
                            self.ready.clear();
                            self.next = u64::MAX;
                        }
                        Ok(Some(records))
                    }
                };
            }
            if self.outstanding == 0 {
                return Ok(None);
            }
            match self.results.recv() {
                Ok((page, outcome)) => {
                    self.ready.insert(page, outcome);
                }
                Err(_) => return Err("the page fetching threads stopped".into()),
            }
        }
    }
}

impl Drop for Parallel {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
}
