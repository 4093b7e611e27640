//! Choosing the target: a built-in name, or a target file (TOML or JSON, the core's
//! `Target` serialised), which selects the target by itself.

use std::path::Path;

use validator_core::{Target, targets};

use crate::error::Error;

/// The target named by `--target`, or defined by `--target-file` when given.
pub fn load(name: &str, file: Option<&Path>) -> Result<Target, Error> {
    let Some(file) = file else {
        return targets::builtin(name).ok_or_else(|| Error::UnknownTarget {
            name: name.to_owned(),
            known: targets::NAMES.join(", "),
        });
    };
    let bad = |reason: String| Error::TargetFile {
        path: file.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(file).map_err(|source| Error::Read {
        path: file.display().to_string(),
        source,
    })?;
    let is_toml = file
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    let target: Target = if is_toml {
        toml::from_str(&text).map_err(|e| bad(e.to_string()))?
    } else {
        serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?
    };
    // Compiling it once here turns an inconsistent definition into a clear error.
    validator_core::Session::new(target.clone()).map_err(|e| bad(e.to_string()))?;
    Ok(target)
}

/// Host parameters from the command line (e.g. `--location-type` → `location_type`).
pub fn params(location_type: Option<&str>) -> std::collections::BTreeMap<String, String> {
    location_type
        .map(|t| ("location_type".to_owned(), t.to_owned()))
        .into_iter()
        .collect()
}
