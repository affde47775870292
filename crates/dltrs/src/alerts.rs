//! Schema evolution alerts: the schema changes and contract discards of a run, sent where
//! people look — appended to a JSON Lines file, or POSTed as JSON to a webhook. (Every
//! `LoadInfo` prints them too.)

use std::io::Write;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::{Value, json};
use url::Url;

use crate::http::{HttpClient, HttpConfig, HttpRequest, Redactor};
use crate::load_info::LoadInfo;
use dltrs_core::normalize::NormalizeWarning;

/// Where alerts go.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSinks {
    /// A JSON Lines file to append one alert per load package to.
    #[serde(default)]
    pub jsonl: Option<PathBuf>,
    /// A URL to POST the run's alerts to, as one JSON document.
    #[serde(default)]
    pub webhook: Option<String>,
}

impl AlertSinks {
    /// True when no sink is set.
    pub fn is_empty(&self) -> bool {
        self.jsonl.is_none() && self.webhook.is_none()
    }

    /// `self`, with the sinks it leaves unset taken from `lower` (a lower-precedence layer).
    pub fn or(self, lower: AlertSinks) -> AlertSinks {
        AlertSinks {
            jsonl: self.jsonl.or(lower.jsonl),
            webhook: self.webhook.or(lower.webhook),
        }
    }
}

/// The alerts of `info`: one per package that changed the schema or had discards.
pub fn alerts(info: &LoadInfo) -> Vec<Value> {
    info.packages
        .iter()
        .filter_map(|package| {
            let discards: Vec<&NormalizeWarning> = package
                .warnings
                .iter()
                .filter(|w| matches!(w, NormalizeWarning::ContractDiscarded { .. }))
                .collect();
            if package.schema_changes.is_empty() && discards.is_empty() {
                return None;
            }
            Some(json!({
                "pipeline_name": info.pipeline_name,
                "dataset_name": info.dataset_name,
                "destination": info.destination_location,
                "load_id": package.load_id,
                "schema_changes": package.schema_changes,
                "contract_discards": discards,
            }))
        })
        .collect()
}

/// Sends the alerts of `info` to `sinks`; nothing is sent when nothing changed. The data is
/// loaded already, so a failed delivery is reported, not retried forever.
pub fn send(info: &LoadInfo, sinks: &AlertSinks) -> Result<usize, String> {
    let alerts = alerts(info);
    if alerts.is_empty() || sinks.is_empty() {
        return Ok(0);
    }
    if let Some(path) = &sinks.jsonl {
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open the alerts file {}: {e}", path.display()))?;
        let mut text = String::new();
        for alert in &alerts {
            text.push_str(&alert.to_string());
            text.push('\n');
        }
        file.write_all(text.as_bytes())
            .map_err(|e| format!("cannot append to the alerts file {}: {e}", path.display()))?;
    }
    if let Some(webhook) = &sinks.webhook {
        let url =
            Url::parse(webhook).map_err(|e| format!("the alerts webhook is not a URL: {e}"))?;
        let client = HttpClient::new(HttpConfig::default(), Redactor::default());
        let body = json!({"alerts": alerts}).to_string().into_bytes();
        let request = HttpRequest {
            method: ureq::http::Method::POST,
            url,
            headers: Vec::new(),
            body: Some((body, "application/json")),
        };
        client
            .send(&request)
            .map_err(|e| format!("the alerts webhook failed: {e}"))?;
    }
    Ok(alerts.len())
}
