//! Choosing the target: a built-in name, or a target file (TOML or JSON, the core's
//! `Target` serialised), which selects the target by itself. A JSON file that is a
//! Frictionless Table Schema or Data Package (`fields` or `resources`) is imported
//! (`validator_core::import`), and what the import cannot check is listed on stderr.

use std::path::Path;

use validator_core::{Target, targets};

use crate::error::Error;
use crate::input::Inputs;

/// The target for a run: `--target-file` when given, else `--target NAME`, where `auto`
/// picks the built-in target whose kinds recognise the most input files (and says why on
/// stderr).
pub fn choose(name: &str, file: Option<&Path>, inputs: &mut Inputs) -> Result<Target, Error> {
    if file.is_some() || name != "auto" {
        return load(name, file);
    }
    // One prefix at a time, each target's verdict kept: holding every file's 64 KiB
    // prefix would cost 640 MB for a 10,000-entry ZIP.
    let candidates: Vec<Target> = targets::NAMES
        .iter()
        .filter_map(|n| targets::builtin(n))
        .collect();
    let mut kinds_by_target: Vec<Vec<String>> = vec![Vec::new(); candidates.len()];
    let mut buf = Vec::new();
    let files = inputs.entries.len();
    for i in 0..files {
        inputs.prefix(i, &mut buf)?;
        for (t, kinds) in candidates.iter().zip(&mut kinds_by_target) {
            kinds.extend(validator_core::detect::kind_of_prefix(t, &buf));
        }
    }
    let mut best: Option<(usize, Target, Vec<String>)> = None;
    for (t, kinds) in candidates.into_iter().zip(kinds_by_target) {
        // First in NAMES wins a tie.
        if best
            .as_ref()
            .is_none_or(|(score, _, _)| kinds.len() > *score)
        {
            best = Some((kinds.len(), t, kinds));
        }
    }
    let (score, target, kinds) = best.ok_or_else(|| Error::Usage("no built-in target".into()))?;
    let mut distinct = kinds.clone();
    distinct.sort();
    distinct.dedup();
    eprintln!(
        "preflight: --target auto chose {}: it recognises {score} of {} files ({})",
        target.name,
        files,
        if distinct.is_empty() {
            "none".to_owned()
        } else {
            distinct.join(", ")
        }
    );
    Ok(target)
}

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
    } else if let Some(t) = (name == "sunbird")
        .then(|| validator_core::targets::sunbird::with_profile_config(&text))
        .flatten()
    {
        // A Sunbird deployment's userProfileConfig / orgProfileConfig setting.
        t
    } else if validator_core::import::is_table_schema(&text) {
        // A Frictionless Table Schema or Data Package: imported, with what is not checked.
        let imported =
            validator_core::import::table_schema(&text).map_err(|e| bad(e.to_string()))?;
        for w in &imported.warnings {
            eprintln!("preflight: {}: not checked: {w}", file.display());
        }
        imported.target
    } else {
        serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?
    };
    // Compiling it once here turns an inconsistent definition into a clear error.
    validator_core::Session::new(target.clone()).map_err(|e| bad(e.to_string()))?;
    Ok(target)
}

/// Host parameters from the command line: `--location-type T` and `--param NAME=VALUE`.
pub fn params(
    location_type: Option<&str>,
    params: &[String],
) -> Result<std::collections::BTreeMap<String, String>, Error> {
    let mut map: std::collections::BTreeMap<String, String> = location_type
        .map(|t| ("location_type".to_owned(), t.to_owned()))
        .into_iter()
        .collect();
    for p in params {
        let (k, v) = p
            .split_once('=')
            .ok_or_else(|| Error::Usage(format!("--param '{p}' is not NAME=VALUE")))?;
        map.insert(k.trim().to_owned(), v.trim().to_owned());
    }
    Ok(map)
}
