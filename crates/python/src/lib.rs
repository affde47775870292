//! `dltrs._native`: the engine under the `dltrs` Python package, whose Python half
//! (`python/dltrs/`) gives it dlt's API. The pipeline ([`pipeline`]) runs the engine's steps
//! with the GIL released; resources ([`resource`]) pull the user's generators in batches;
//! [`convert`] writes Python values as JSON with dlt's typed markers; [`errors`] raises dlt's
//! exceptions.

mod convert;
mod errors;
mod pipeline;
mod resource;

use pyo3::prelude::*;

/// Where an incremental cursor starts for a resource state: the last value (moved back by
/// the lag) or the initial value, as JSON (`null`: no start).
#[pyfunction]
fn incremental_start(incremental: &str, resource_state: &str) -> PyResult<String> {
    let cursor: dltrs::incremental::Incremental = serde_json::from_str(incremental)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("incremental: {e}")))?;
    let state = dltrs::ResourceState::default();
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(resource_state) {
        for (key, value) in map {
            state.set(&key, value);
        }
    }
    Ok(cursor
        .start_value(&state)
        .unwrap_or(serde_json::Value::Null)
        .to_string())
}

/// The destination spec and dataset pipeline `name` recorded, or `None` when it has no
/// working directory in `pipelines_dir` (what `dltrs.attach` opens).
#[pyfunction]
#[pyo3(signature = (name, pipelines_dir=None))]
fn recorded(
    name: &str,
    pipelines_dir: Option<std::path::PathBuf>,
) -> PyResult<Option<(Option<String>, Option<String>)>> {
    let fail = |e: dltrs::Error| pyo3::exceptions::PyValueError::new_err(dltrs::report(&e));
    let known = dltrs::Pipeline::list(pipelines_dir.as_deref()).map_err(fail)?;
    if !known.iter().any(|n| n == name) {
        return Ok(None);
    }
    let mut builder = dltrs::Pipeline::builder(name);
    if let Some(dir) = pipelines_dir {
        builder = builder.pipelines_dir(dir);
    }
    let pipeline = builder.build().map_err(fail)?;
    Ok(Some((
        pipeline.recorded_destination(),
        pipeline.recorded_dataset(),
    )))
}

/// The resources of the engine's source type `type_name` (`rest_api`, `filesystem`,
/// `sql_database`) named `name`, configured by `config` (JSON of the keys of a pipeline
/// file's `[sources.<name>]` table); relative paths and `.dltrs/` from `project_dir`.
#[pyfunction]
fn source_resources(
    type_name: &str,
    name: &str,
    config: &str,
    project_dir: std::path::PathBuf,
) -> PyResult<Vec<resource::PyResource>> {
    let fail = |e: dltrs::Error| pyo3::exceptions::PyValueError::new_err(dltrs::report(&e));
    let value: serde_json::Value = serde_json::from_str(config)
        .map_err(|e| pyo3::exceptions::PyValueError::new_err(format!("sources.{name}: {e}")))?;
    let layers = dltrs::config::Config::discover(&project_dir).map_err(fail)?;
    let context = dltrs::source::SourceContext {
        name,
        base_dir: &project_dir,
        config: &layers,
    };
    let resources = dltrs::source::SourceRegistry::default()
        .resources_from(type_name, to_toml(value), &context)
        .map_err(|e| {
            pyo3::exceptions::PyValueError::new_err(layers.secrets().redact(&dltrs::report(&e)))
        })?;
    Ok(resources
        .into_iter()
        .map(|r| resource::PyResource::from_engine(r.with_secrets(layers.secrets())))
        .collect())
}

/// JSON as TOML, which has no null: a null is a key left out.
fn to_toml(value: serde_json::Value) -> toml::Value {
    use serde_json::Value;
    match value {
        Value::Null => toml::Value::String(String::new()),
        Value::Bool(b) => toml::Value::Boolean(b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => toml::Value::Integer(i),
            None => toml::Value::Float(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => toml::Value::String(s),
        Value::Array(items) => toml::Value::Array(
            items
                .into_iter()
                .filter(|v| !v.is_null())
                .map(to_toml)
                .collect(),
        ),
        Value::Object(map) => toml::Value::Table(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, to_toml(v)))
                .collect(),
        ),
    }
}

/// The module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<pipeline::PyPipeline>()?;
    m.add_class::<resource::PyResource>()?;
    m.add_function(wrap_pyfunction!(incremental_start, m)?)?;
    m.add_function(wrap_pyfunction!(recorded, m)?)?;
    m.add_function(wrap_pyfunction!(source_resources, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
