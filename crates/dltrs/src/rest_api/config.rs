//! The `rest_api` configuration, with dlt's keys and meanings (`dlt/sources/rest_api/typing.py`).
//! It deserializes from JSON (`serde_json::json!`) in Rust code and from TOML in declarative
//! pipelines; unknown keys are errors.

use indexmap::IndexMap;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde_json::Value;

use crate::secret::Secret;
use crate::table_hints::{TableHintsConfig, WithHints};

/// A whole `rest_api` source: the client, defaults for every resource, and the resources.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestApiConfig {
    /// Where and how to connect.
    pub client: ClientConfig,
    /// Settings every resource starts from; `endpoint.params` and `endpoint.json` are merged
    /// key by key, everything else is replaced by the resource's own setting.
    #[serde(default)]
    pub resource_defaults: Option<ResourceSettings>,
    /// The resources, in the order they are extracted (parents are moved before children).
    pub resources: Vec<ResourceConfig>,
}

/// The client: base URL, headers, auth, default paginator, and how hard to try.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientConfig {
    /// Prefix of every relative endpoint path.
    pub base_url: String,
    /// Headers sent with every request.
    #[serde(default)]
    pub headers: IndexMap<String, String>,
    /// Authentication.
    #[serde(default)]
    pub auth: Option<AuthConfig>,
    /// The paginator of endpoints that do not name one (`auto` when none is set).
    #[serde(default)]
    pub paginator: Option<PaginatorConfig>,
    /// dltrs: seconds allowed per request (60).
    #[serde(default)]
    pub timeout: Option<f64>,
    /// dltrs: attempts per request, the first included (5).
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// dltrs: first retry wait in seconds, doubled on each retry (1).
    #[serde(default)]
    pub backoff_factor: Option<f64>,
    /// dltrs: longest wait between attempts in seconds, `Retry-After` included (300).
    #[serde(default)]
    pub max_retry_delay: Option<f64>,
    /// dltrs: at most this many requests per second to one host.
    #[serde(default)]
    pub rate_limit: Option<f64>,
    /// dltrs: pages fetched at once when the number of pages is known (4).
    #[serde(default)]
    pub concurrency: Option<usize>,
}

/// Authentication, by `type`, as in dlt. Secret values may be written `${ENV_VAR}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthConfig {
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// The token.
        token: Secret,
    },
    /// A key sent in a header, a query parameter or a cookie.
    ApiKey {
        /// Header, parameter or cookie name (`Authorization`).
        #[serde(default = "authorization")]
        name: String,
        /// The key.
        api_key: Secret,
        /// `header` (default), `query` or `cookie`.
        #[serde(default)]
        location: ApiKeyLocation,
    },
    /// HTTP basic authentication.
    HttpBasic {
        /// The user.
        username: String,
        /// The password.
        password: Secret,
    },
    /// OAuth2 client credentials: a token is fetched from `access_token_url` and renewed when
    /// it expires.
    #[serde(rename = "oauth2_client_credentials")]
    OAuth2ClientCredentials {
        /// The token endpoint.
        access_token_url: String,
        /// The client id.
        client_id: Secret,
        /// The client secret.
        client_secret: Secret,
        /// Extra form fields of the token request.
        #[serde(default)]
        access_token_request_data: IndexMap<String, Value>,
        /// Token lifetime in seconds when the response has no `expires_in` (3600).
        #[serde(default = "default_token_expiration")]
        default_token_expiration: u64,
    },
}

fn authorization() -> String {
    "Authorization".to_owned()
}

fn default_token_expiration() -> u64 {
    3600
}

/// Where an API key goes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiKeyLocation {
    /// A request header.
    #[default]
    Header,
    /// A query parameter (`param` is accepted too).
    #[serde(alias = "param")]
    Query,
    /// A cookie.
    Cookie,
}

/// A paginator: a name (`"auto"`, `"single_page"`, `"header_link"`, ...) or a table with
/// `type` and the paginator's settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum PaginatorSpec {
    /// Detect from the first response, as dlt does.
    Auto {},
    /// One request, no pagination.
    SinglePage {},
    /// A page number in a query parameter.
    PageNumber {
        /// The first page's number (0).
        #[serde(default)]
        base_page: i64,
        /// The page to start from (`base_page`).
        #[serde(default)]
        page: Option<i64>,
        /// The query parameter (`page`).
        #[serde(default = "page_param")]
        page_param: String,
        /// Path of the total number of pages (`total`); `false` or `""` for none.
        #[serde(default = "total", deserialize_with = "optional_path")]
        total_path: Option<String>,
        /// Pages stop before this page number.
        #[serde(default)]
        maximum_page: Option<i64>,
        /// Stop at the first page without records (true).
        #[serde(default = "yes")]
        stop_after_empty_page: bool,
        /// Path of a boolean that says whether more pages follow.
        #[serde(default, deserialize_with = "optional_path")]
        has_more_path: Option<String>,
    },
    /// An offset and a limit in query parameters.
    Offset {
        /// Records per page.
        limit: i64,
        /// The first offset (0).
        #[serde(default)]
        offset: i64,
        /// The offset parameter (`offset`).
        #[serde(default = "offset_param")]
        offset_param: String,
        /// The limit parameter (`limit`).
        #[serde(default = "limit_param")]
        limit_param: String,
        /// Path of the total number of records (`total`); `false` or `""` for none.
        #[serde(default = "total", deserialize_with = "optional_path")]
        total_path: Option<String>,
        /// Offsets stop before this one.
        #[serde(default)]
        maximum_offset: Option<i64>,
        /// Stop at the first page without records (true).
        #[serde(default = "yes")]
        stop_after_empty_page: bool,
        /// Path of a boolean that says whether more pages follow.
        #[serde(default, deserialize_with = "optional_path")]
        has_more_path: Option<String>,
    },
    /// A cursor from the response sent back as a query parameter.
    Cursor {
        /// Path of the next cursor in the response (`cursors.next`).
        #[serde(default = "cursor_path")]
        cursor_path: String,
        /// The query parameter (`cursor`).
        #[serde(default = "cursor_param")]
        cursor_param: String,
        /// Stop at the first page without records (false).
        #[serde(default)]
        stop_after_empty_page: bool,
        /// Path of a boolean that says whether more pages follow.
        #[serde(default, deserialize_with = "optional_path")]
        has_more_path: Option<String>,
    },
    /// The next page's URL in the response body.
    JsonLink {
        /// Its path (`next`).
        #[serde(default = "next")]
        next_url_path: String,
    },
    /// The next page's URL in the `Link` header (RFC 8288).
    HeaderLink {
        /// The relation (`next`).
        #[serde(default = "next")]
        links_next_key: String,
    },
}

/// A paginator as configured: by name or as a table.
#[derive(Debug, Clone, PartialEq)]
pub struct PaginatorConfig(pub PaginatorSpec);

impl<'de> Deserialize<'de> for PaginatorConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameOrTable;
        impl<'de> Visitor<'de> for NameOrTable {
            type Value = PaginatorConfig;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a paginator name or a table with `type`")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Self::Value, E> {
                let spec = match name {
                    "auto" => PaginatorSpec::Auto {},
                    "single_page" => PaginatorSpec::SinglePage {},
                    "header_link" => PaginatorSpec::HeaderLink {
                        links_next_key: next(),
                    },
                    "json_link" => PaginatorSpec::JsonLink {
                        next_url_path: next(),
                    },
                    "cursor" => PaginatorSpec::Cursor {
                        cursor_path: cursor_path(),
                        cursor_param: cursor_param(),
                        stop_after_empty_page: false,
                        has_more_path: None,
                    },
                    "page_number" => PaginatorSpec::PageNumber {
                        base_page: 0,
                        page: None,
                        page_param: page_param(),
                        total_path: total(),
                        maximum_page: None,
                        stop_after_empty_page: true,
                        has_more_path: None,
                    },
                    "offset" => {
                        return Err(E::custom(
                            "paginator `offset` needs settings (at least `limit`): write it as a table",
                        ));
                    }
                    other => {
                        return Err(E::unknown_variant(
                            other,
                            &[
                                "auto",
                                "single_page",
                                "page_number",
                                "offset",
                                "cursor",
                                "json_link",
                                "header_link",
                            ],
                        ));
                    }
                };
                Ok(PaginatorConfig(spec))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                PaginatorSpec::deserialize(de::value::MapAccessDeserializer::new(map))
                    .map(PaginatorConfig)
            }
        }
        deserializer.deserialize_any(NameOrTable)
    }
}

fn page_param() -> String {
    "page".to_owned()
}
fn offset_param() -> String {
    "offset".to_owned()
}
fn limit_param() -> String {
    "limit".to_owned()
}
fn total() -> Option<String> {
    Some("total".to_owned())
}
fn cursor_path() -> String {
    "cursors.next".to_owned()
}
fn cursor_param() -> String {
    "cursor".to_owned()
}
fn next() -> String {
    "next".to_owned()
}
fn yes() -> bool {
    true
}

/// A path that can be switched off: TOML has no null, so `false` and `""` mean none.
fn optional_path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    struct PathOrOff;
    impl<'de> Visitor<'de> for PathOrOff {
        type Value = Option<String>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSONPath, or false for none")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok((!v.is_empty()).then(|| v.to_owned()))
        }
        fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
            if v {
                Err(E::custom("expected a JSONPath or false"))
            } else {
                Ok(None)
            }
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(PathOrOff)
        }
    }
    d.deserialize_any(PathOrOff)
}

/// An endpoint: a path, or a table.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// Path relative to `base_url`, or a full URL. Placeholders `{resources.<parent>.<field>}`
    /// make the resource depend on `<parent>`.
    #[serde(default)]
    pub path: Option<String>,
    /// `GET` (default) or `POST`.
    #[serde(default)]
    pub method: Option<String>,
    /// Query parameters. A value may hold placeholders, or be dlt's
    /// `{type = "resolve", resource = ..., field = ...}`.
    #[serde(default)]
    pub params: Option<IndexMap<String, Value>>,
    /// A JSON body.
    #[serde(default)]
    pub json: Option<serde_json::Map<String, Value>>,
    /// Headers of this endpoint's requests.
    #[serde(default)]
    pub headers: Option<IndexMap<String, String>>,
    /// This endpoint's paginator.
    #[serde(default)]
    pub paginator: Option<PaginatorConfig>,
    /// JSONPath of the records in a response; detected when absent.
    #[serde(default)]
    pub data_selector: Option<String>,
    /// What to do with some responses instead of failing, e.g.
    /// `{status_code = 404, action = "ignore"}`.
    #[serde(default)]
    pub response_actions: Option<Vec<ResponseAction>>,
    /// An incremental cursor whose start (and end) go into query parameters.
    #[serde(default)]
    pub incremental: Option<EndpointIncremental>,
}

/// `endpoint.incremental`, or a parameter `{type = "incremental", ...}`: the request asks only
/// for items past the last run's cursor, and the items are filtered and deduplicated by it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointIncremental {
    /// The query parameter taking the start value (the parameter's own name in `params`).
    #[serde(default)]
    pub start_param: Option<String>,
    /// The query parameter taking `end_value`.
    #[serde(default)]
    pub end_param: Option<String>,
    /// JSONPath of the cursor in each record.
    pub cursor_path: String,
    /// Where the first run starts.
    #[serde(default)]
    pub initial_value: Option<Value>,
    /// Where loading ends.
    #[serde(default)]
    pub end_value: Option<Value>,
    /// `max` (default) or `min`.
    #[serde(default)]
    pub last_value_func: Option<crate::incremental::LastValueFunc>,
    /// `asc` or `desc`, to stop reading early.
    #[serde(default)]
    pub row_order: Option<crate::incremental::RowOrder>,
    /// Reload this much before the last value (seconds for timestamps).
    #[serde(default)]
    pub lag: Option<f64>,
    /// `raise` (default), `include`, `exclude`.
    #[serde(default)]
    pub on_cursor_value_missing: Option<crate::incremental::OnCursorValueMissing>,
    /// `closed` (default) or `open`.
    #[serde(default)]
    pub range_start: Option<crate::incremental::Boundary>,
    /// `open` (default) or `closed`.
    #[serde(default)]
    pub range_end: Option<crate::incremental::Boundary>,
}

impl EndpointIncremental {
    /// The cursor it describes.
    pub fn cursor(&self) -> crate::Incremental {
        let mut inc = crate::Incremental::new(self.cursor_path.clone());
        inc.initial_value = self.initial_value.clone();
        inc.end_value = self.end_value.clone();
        inc.last_value_func = self.last_value_func.unwrap_or_default();
        inc.row_order = self.row_order;
        inc.lag = self.lag;
        inc.on_cursor_value_missing = self.on_cursor_value_missing.unwrap_or_default();
        if let Some(b) = self.range_start {
            inc.range_start = b;
        }
        if let Some(b) = self.range_end {
            inc.range_end = b;
        }
        inc
    }
}

impl EndpointConfig {
    fn from_path(path: &str) -> Self {
        EndpointConfig {
            path: Some(path.to_owned()),
            ..Self::default()
        }
    }

    /// `self` over `defaults`: `params` and `json` merge key by key, the rest is replaced.
    pub(crate) fn over(self, defaults: &EndpointConfig) -> EndpointConfig {
        let merge = |mine: Option<IndexMap<String, Value>>,
                     theirs: &Option<IndexMap<String, Value>>| {
            match (mine, theirs) {
                (Some(mine), Some(theirs)) => {
                    let mut merged = theirs.clone();
                    merged.extend(mine);
                    Some(merged)
                }
                (mine, theirs) => mine.or_else(|| theirs.clone()),
            }
        };
        let json = match (self.json, &defaults.json) {
            (Some(mine), Some(theirs)) => {
                let mut merged = theirs.clone();
                merged.extend(mine);
                Some(merged)
            }
            (mine, theirs) => mine.or_else(|| theirs.clone()),
        };
        EndpointConfig {
            path: self.path.or_else(|| defaults.path.clone()),
            method: self.method.or_else(|| defaults.method.clone()),
            params: merge(self.params, &defaults.params),
            json,
            headers: self.headers.or_else(|| defaults.headers.clone()),
            paginator: self.paginator.or_else(|| defaults.paginator.clone()),
            data_selector: self
                .data_selector
                .or_else(|| defaults.data_selector.clone()),
            response_actions: self
                .response_actions
                .or_else(|| defaults.response_actions.clone()),
            incremental: self.incremental.or_else(|| defaults.incremental.clone()),
        }
    }
}

/// A response handled without failing.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResponseAction {
    /// Matches this status code.
    #[serde(default)]
    pub status_code: Option<u16>,
    /// Matches bodies containing this text.
    #[serde(default)]
    pub content: Option<String>,
    /// `ignore`: the response yields no records and ends the pages.
    pub action: ResponseActionKind,
}

/// What a response action does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResponseActionKind {
    /// No records from this response; pagination ends.
    Ignore,
}

/// A resource's settings; `resource_defaults` has the same keys but `name`. The table hints
/// are written among them and read into `hints`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResourceSettings {
    /// The resource name (not in `resource_defaults`).
    pub name: Option<String>,
    /// Endpoint: a path or a table.
    pub endpoint: Option<EndpointConfig>,
    /// Parent fields copied into each record as `_<parent>_<field>`.
    pub include_from_parent: Option<Vec<String>>,
    /// `false`: extracted for its children, not loaded.
    pub selected: Option<bool>,
    /// The table hints.
    pub hints: TableHintsConfig,
}

/// serde's reading of a resource's own keys (see [`crate::table_hints`]).
#[derive(Deserialize)]
#[serde(remote = "ResourceSettings", deny_unknown_fields)]
struct ResourceSettingsKeys {
    #[serde(default)]
    name: Option<String>,
    #[serde(default, deserialize_with = "endpoint")]
    endpoint: Option<EndpointConfig>,
    #[serde(default)]
    include_from_parent: Option<Vec<String>>,
    #[serde(default)]
    selected: Option<bool>,
    #[serde(skip)]
    hints: TableHintsConfig,
}

impl<'de> Deserialize<'de> for ResourceSettings {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut hints = TableHintsConfig::default();
        let mut settings =
            ResourceSettingsKeys::deserialize(WithHints::new(deserializer, &mut hints))?;
        settings.hints = hints;
        Ok(settings)
    }
}

impl ResourceSettings {
    /// `self` over `defaults`: the endpoint merges as [`EndpointConfig::over`], the hints as
    /// [`TableHintsConfig::over`], everything else is replaced.
    pub(crate) fn over(self, defaults: &ResourceSettings) -> ResourceSettings {
        let endpoint = match (self.endpoint, &defaults.endpoint) {
            (Some(mine), Some(theirs)) => Some(mine.over(theirs)),
            (mine, theirs) => mine.or_else(|| theirs.clone()),
        };
        ResourceSettings {
            name: self.name,
            endpoint,
            include_from_parent: self
                .include_from_parent
                .or_else(|| defaults.include_from_parent.clone()),
            selected: self.selected.or(defaults.selected),
            hints: self.hints.over(&defaults.hints),
        }
    }

    /// The keys of a resource's table, the hints among them.
    pub(crate) fn keys() -> Vec<&'static str> {
        crate::table_hints::keys_with_hints(|probe| ResourceSettingsKeys::deserialize(probe))
    }
}

/// One resource: a name (its endpoint path is the name) or a table with `name`.
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceConfig {
    /// The resource name.
    pub name: String,
    /// Everything else.
    pub settings: ResourceSettings,
}

impl<'de> Deserialize<'de> for ResourceConfig {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameOrTable;
        impl<'de> Visitor<'de> for NameOrTable {
            type Value = ResourceConfig;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a resource name or a table with `name`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(ResourceConfig {
                    name: v.to_owned(),
                    settings: ResourceSettings::default(),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                let settings =
                    ResourceSettings::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let Some(name) = settings.name.clone() else {
                    return Err(de::Error::missing_field("name"));
                };
                Ok(ResourceConfig { name, settings })
            }
        }
        deserializer.deserialize_any(NameOrTable)
    }
}

/// An endpoint written as a path or as a table.
fn endpoint<'de, D: Deserializer<'de>>(d: D) -> Result<Option<EndpointConfig>, D::Error> {
    struct PathOrTable;
    impl<'de> Visitor<'de> for PathOrTable {
        type Value = Option<EndpointConfig>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an endpoint path or a table")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(EndpointConfig::from_path(v)))
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
            EndpointConfig::deserialize(de::value::MapAccessDeserializer::new(map)).map(Some)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(PathOrTable)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
    }
    d.deserialize_any(PathOrTable)
}
