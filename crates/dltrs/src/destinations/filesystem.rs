//! The `filesystem` destination kind: `filesystem` (the bucket from
//! `destination.filesystem.bucket_url`), `filesystem:s3://bucket/path`,
//! `filesystem:file:///path` and `filesystem:PATH`, completed from `[destination.filesystem]`
//! with dlt's names: `layout`, `credentials.{aws_access_key_id, aws_secret_access_key,
//! aws_session_token, region_name, endpoint_url}`, `table_format` (`delta`), and ours,
//! `loader_file_format` (`parquet`, `jsonl`, `csv`) and `disable_compression`.

use dltrs_core::destination::Destination;
use dltrs_filesystem::{Filesystem, LoaderFileFormat, S3Credentials, TableFormat};

use super::{DestinationContext, DestinationType, origin_text};
use crate::Error;
use crate::config::{Config, Resolved};

/// Files in a folder or a bucket ([`Filesystem`]); relative paths are taken from the
/// context's base directory.
#[derive(Debug, Clone, Copy, Default)]
pub struct FilesystemDestination;

const SECTION: [&str; 2] = ["destination", "filesystem"];

impl DestinationType for FilesystemDestination {
    fn name(&self) -> &'static str {
        "filesystem"
    }

    fn template(&self, pipeline_name: &str) -> Option<super::DestinationTemplate> {
        Some(super::DestinationTemplate {
            pipeline_line: format!(
                "destination = \"filesystem:{pipeline_name}_data\"   # or filesystem:s3://BUCKET/PATH; [destination.filesystem] below"
            ),
            secrets: "[destination.filesystem]\n# loader_file_format = \"parquet\"   # parquet, jsonl (the default) or csv\n# layout = \"{table_name}/{load_id}.{file_id}.{ext}\"\n\n[destination.filesystem.credentials]\n# for s3:// buckets (else the AWS_* environment variables)\n# aws_access_key_id = \"AKIA...\"\n# aws_secret_access_key = \"CHANGE_ME\"\n# region_name = \"eu-central-1\"\n# endpoint_url = \"http://127.0.0.1:9000\"   # S3-compatible servers\n\n",
        })
    }

    fn accepts(&self, spec: &str) -> bool {
        spec == "filesystem"
            || spec
                .strip_prefix("filesystem:")
                .is_some_and(|url| !url.is_empty())
    }

    fn specs(&self) -> &'static str {
        "`filesystem` (bucket_url from the configuration) or `filesystem:URL` (filesystem:s3://bucket/path, filesystem:file:///path, filesystem:PATH)"
    }

    fn build(
        &self,
        spec: &str,
        context: &DestinationContext<'_>,
    ) -> Result<Box<dyn Destination>, Error> {
        let config = context.config;
        let url = match spec.strip_prefix("filesystem:") {
            Some(url) => url.to_string(),
            None => {
                let resolved = config.value(&SECTION, &["bucket_url"]);
                resolved.text().ok_or_else(|| {
                    resolved.missing(
                        "the filesystem destination's bucket_url (DESTINATION__FILESYSTEM__BUCKET_URL or `bucket_url` in [destination.filesystem]: s3://bucket/path, file:///path or a folder)",
                    )
                })?
            }
        };
        // a relative folder is taken from the pipeline file's folder, as DuckDB files are
        let url = match url.contains("://") || std::path::Path::new(&url).is_absolute() {
            true => url,
            false => context.base_dir.join(&url).display().to_string(),
        };
        let mut destination = Filesystem::new(&url).map_err(Error::Config)?;
        if let Some((layout, from)) = text(config, "layout")? {
            destination = destination
                .layout(&layout)
                .map_err(|e| Error::Config(format!("{e} (from {from})")))?;
        }
        if let Some((format, from)) = text(config, "loader_file_format")? {
            let format: LoaderFileFormat = format
                .parse()
                .map_err(|e| Error::Config(format!("{e} (from {from})")))?;
            destination = destination.loader_file_format(format);
        }
        if let Some((format, from)) = text(config, "table_format")? {
            let format: TableFormat = format
                .parse()
                .map_err(|e| Error::Config(format!("{e} (from {from})")))?;
            destination = destination.table_format(format);
        }
        if let Some((off, from)) = text(config, "disable_compression")? {
            let off = match off.as_str() {
                "true" | "True" | "1" => true,
                "false" | "False" | "0" => false,
                other => {
                    return Err(Error::Config(format!(
                        "disable_compression from {from} must be true or false, not `{other}`"
                    )));
                }
            };
            destination = destination.compression(!off);
        }
        Ok(Box::new(destination.credentials(credentials(config)?)))
    }
}

/// A text setting of `[destination.filesystem]` and where it came from.
fn text(config: &Config, key: &str) -> Result<Option<(String, String)>, Error> {
    let resolved = config.value(&SECTION, &[key]);
    let from = origin_text(resolved.origin.as_ref());
    match &resolved.value {
        None => Ok(None),
        Some(toml::Value::Table(_) | toml::Value::Array(_)) => Err(Error::Config(format!(
            "`{key}` of the filesystem destination from {from} must be a single value"
        ))),
        Some(_) => Ok(resolved.text().map(|t| (t, from))),
    }
}

/// `destination.filesystem.credentials`: a table of dlt's AWS fields.
fn credentials(config: &Config) -> Result<S3Credentials, Error> {
    let resolved: Resolved = config.value(&SECTION, &["credentials"]);
    let from = origin_text(resolved.origin.as_ref());
    let fields = match &resolved.value {
        None => return Ok(S3Credentials::default()),
        Some(toml::Value::Table(fields)) => fields,
        Some(_) => {
            return Err(Error::Config(format!(
                "the filesystem credentials from {from} must be a table: aws_access_key_id, aws_secret_access_key, aws_session_token, region_name, endpoint_url"
            )));
        }
    };
    let known = [
        "aws_access_key_id",
        "aws_secret_access_key",
        "aws_session_token",
        "region_name",
        "endpoint_url",
    ];
    if let Some(unknown) = fields.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(Error::Config(format!(
            "unknown filesystem credentials field `{unknown}` in {from}: use {}",
            known.join(", ")
        )));
    }
    let field = |key: &str| -> Result<Option<String>, Error> {
        match fields.get(key) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(Error::Config(format!(
                "the filesystem credentials field `{key}` from {from} must be text"
            ))),
        }
    };
    let credentials = S3Credentials {
        aws_access_key_id: field("aws_access_key_id")?,
        aws_secret_access_key: field("aws_secret_access_key")?,
        aws_session_token: field("aws_session_token")?,
        region_name: field("region_name")?,
        endpoint_url: field("endpoint_url")?,
    };
    for secret in [
        &credentials.aws_secret_access_key,
        &credentials.aws_session_token,
    ]
    .into_iter()
    .flatten()
    {
        config.secrets().register(secret);
    }
    Ok(credentials)
}
