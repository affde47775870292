//! The `rest_api` source: declarative REST resources with dlt's configuration keys —
//! paginators, authentication, dependent resources — over an HTTP client that retries,
//! backs off and rate-limits.
//!
//! ```no_run
//! use dltrs::rest_api::{RestApiConfig, rest_api_resources};
//! let config: RestApiConfig = serde_json::from_value(serde_json::json!({
//!     "client": {"base_url": "https://api.github.com/repos/dlt-hub/dlt/",
//!                "auth": {"type": "bearer", "token": "${GITHUB_TOKEN}"}},
//!     "resource_defaults": {"primary_key": "id", "write_disposition": "merge"},
//!     "resources": [
//!         {"name": "issues", "endpoint": {"path": "issues", "params": {"state": "open"}}},
//!         {"name": "comments", "endpoint": "issues/{resources.issues.number}/comments",
//!          "include_from_parent": ["id"]},
//!     ],
//! })).map_err(|e| dltrs::Error::Config(e.to_string()))?;
//! let resources = rest_api_resources(&config)?;
//! # Ok::<(), dltrs::Error>(())
//! ```

mod client;
mod config;
mod pages;
mod paginator;
mod request;
mod source;

pub(crate) use config::endpoint as deserialize_endpoint;
pub use config::{
    ApiKeyLocation, AuthConfig, ClientConfig, ColumnConfig, EndpointConfig, EndpointIncremental,
    Keys, PaginatorConfig, PaginatorSpec, ResourceConfig, ResourceSettings, ResponseAction,
    ResponseActionKind, RestApiConfig, TableHintsConfig, WriteDispositionConfig,
};
pub use source::rest_api_resources;
