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

pub use config::{
    ApiKeyLocation, AuthConfig, ClientConfig, EndpointConfig, EndpointIncremental, PaginatorConfig,
    PaginatorSpec, ResourceConfig, ResourceSettings, ResponseAction, ResponseActionKind,
    RestApiConfig,
};
// for the fuzz checks (`crates/fuzz-checks`)
#[doc(hidden)]
pub use paginator::link_with_rel;
pub use source::rest_api_resources;
// the hints were first defined here; they are every source's now
pub use crate::table_hints::{ColumnConfig, Keys, TableHintsConfig, WriteDispositionConfig};

use crate::source::{ResourceTables, SourceContext, SourceType};
use crate::{Error, Resource};

/// The `rest_api` source type of pipeline files: `[sources.<name>]` holds a
/// [`RestApiConfig`] (`client`, `resource_defaults`, `resources`).
#[derive(Debug, Clone, Copy, Default)]
pub struct RestApiSource;

impl SourceType for RestApiSource {
    type Config = RestApiConfig;

    fn name(&self) -> &'static str {
        "rest_api"
    }

    fn template(&self) -> Option<crate::source::SourceTemplate> {
        Some(crate::source::SourceTemplate {
            pipeline_section: r#"[sources.api]
type = "rest_api"

[sources.api.client]
base_url = "https://api.example.com/v1/"
# auth = { type = "bearer" }   # the token: .dltrs/secrets.toml or SOURCES__API__CLIENT__AUTH__TOKEN
paginator = { type = "page_number", base_page = 1, total_path = false }

[sources.api.resource_defaults]
primary_key = "id"
write_disposition = "merge"

[[sources.api.resources]]
name = "items"
endpoint = { path = "items", params = { updated_since = { type = "incremental", cursor_path = "updated_at", initial_value = "2024-01-01T00:00:00Z" } } }
"#,
            secrets: "# [sources.api.client.auth]\n# token = \"...\"\n\n",
            files: &[],
        })
    }

    fn resources(
        &self,
        config: RestApiConfig,
        _context: &SourceContext<'_>,
    ) -> Result<Vec<Resource>, Error> {
        rest_api_resources(&config)
    }

    fn resource_tables(&self) -> Option<ResourceTables> {
        Some(ResourceTables {
            list: "resources",
            called: "rest_api resources",
            identified_by: "`endpoint`",
            keys: ResourceSettings::keys(),
        })
    }
}
