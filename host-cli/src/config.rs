//! Submission profiles: `[profiles.NAME]` tables of a TOML file (`--config`, else
//! `PREFLIGHT_CONFIG`, else `./preflight.toml`).
//!
//! Secrets are never in the file: a key ending in `_env` names the environment variable that
//! holds the secret (`client_secret_env = "WM_SECRET"`). Resolved secrets are [`Secret`]s,
//! registered with [`crate::secrets`] so that no output can show them.
//!
//! ```toml
//! [profiles.prod-canvas]
//! target = "canvas"
//! base_url = "https://school.instructure.com"
//! token_env = "CANVAS_TOKEN"
//! account_id = "self"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::error::Error;
use crate::secrets::Secret;

/// The platforms `submit` can talk to (the `target` key of a profile).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Platform {
    /// Watermark System Administration (OAuth2 client credentials, ZIP).
    Watermark,
    /// Canvas LMS SIS imports (Bearer token, CSV or ZIP).
    Canvas,
    /// Watershed CSV import (Basic auth, one CSV with a named template).
    Watershed,
    /// Encoura Data Lab (x-api-key + session, presigned upload of one CSV).
    Encoura,
    /// Sunbird-Lern bulk upload (Bearer + user token, one CSV per kind).
    Sunbird,
}

impl Platform {
    /// The name used in profiles, the journal and `preflight sandbox --target`.
    pub fn name(self) -> &'static str {
        match self {
            Platform::Watermark => "watermark",
            Platform::Canvas => "canvas",
            Platform::Watershed => "watershed",
            Platform::Encoura => "encoura",
            Platform::Sunbird => "sunbird",
        }
    }

    /// What the platform's upload endpoint takes, whatever a target file's `bundle.format`
    /// says: the platform decides the wire format.
    pub fn wire_format(self) -> validator_core::schema::BundleFormat {
        use validator_core::schema::BundleFormat::{Csv, Zip};
        match self {
            Platform::Watermark | Platform::Canvas => Zip,
            Platform::Watershed | Platform::Encoura | Platform::Sunbird => Csv,
        }
    }
}

/// One `[profiles.NAME]` table, as written.
///
/// Unknown keys are refused, so that a misspelt `client_secret_env` is not silently ignored.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Which platform.
    pub target: Platform,
    /// Overrides the documented API host (e.g. a sandbox on 127.0.0.1).
    pub base_url: Option<String>,
    /// Watermark: the OAuth2 token endpoint URL.
    pub auth_url: Option<String>,
    /// Watermark: OAuth2 client id.
    pub client_id: Option<String>,
    /// Watermark: variable holding the client secret.
    pub client_secret_env: Option<String>,
    /// Canvas: variable holding the access token. Sunbird: the API key (`Authorization`).
    pub token_env: Option<String>,
    /// Sunbird: variable holding the user's access token (`X-Authenticated-User-Token`).
    pub user_token_env: Option<String>,
    /// Watershed: variable holding the API secret (Basic auth password).
    pub secret_env: Option<String>,
    /// Encoura: variable holding the API key (`x-api-key`).
    pub api_key_env: Option<String>,
    /// Encoura: variable holding the service account's password.
    pub password_env: Option<String>,
    /// Canvas: account of the import (default `self`).
    pub account_id: Option<String>,
    /// Watershed: organization id.
    pub org_id: Option<String>,
    /// Watershed: API key (Basic auth user name).
    pub key: Option<String>,
    /// Watershed: template name or id.
    pub template: Option<String>,
    /// Watershed: e-mail address(es) told when the import ends.
    pub notify: Option<String>,
    /// Encoura: service account user name.
    pub username: Option<String>,
    /// Encoura: organization UID (needed when the account has several).
    pub organization: Option<String>,
    /// Encoura: productType of uploads (enrollment, affinity, ematch).
    pub product: Option<String>,
    /// Sunbird: location type of location uploads (state, district, block, cluster, school).
    pub location_type: Option<String>,
    /// Target file for the local check (e.g. a Watershed template's target, an Encoura layout).
    pub target_file: Option<PathBuf>,
    /// Canvas import options sent with the upload (`batch_mode`, `change_threshold`, …).
    #[serde(default)]
    pub options: BTreeMap<String, toml::Value>,
    /// Keep the last bundle the platform accepted, and show what each upload changes
    /// against it before sending (default true; `submit --no-history` for one run).
    pub keep_history: Option<bool>,
    /// Seconds each HTTP call may take. Default 60.
    pub timeout_seconds: Option<f64>,
    /// Seconds an upload or download may take. Default ten times `timeout_seconds`.
    pub upload_timeout_seconds: Option<f64>,
    /// Seconds between status polls with `--wait`. Default 5.
    pub poll_seconds: Option<f64>,
    /// Seconds `--wait` waits for a terminal state before giving up. Default 6 hours.
    pub wait_seconds: Option<f64>,
    /// Sunbird: seconds a process may stay `NOT STARTED` before it counts as failed. Default 600.
    pub not_started_seconds: Option<f64>,
    /// Retries of idempotent calls on 429, 5xx and connection errors. Default 4.
    pub retries: Option<u32>,
    /// First backoff delay in milliseconds (doubled each retry, with jitter). Default 500.
    pub backoff_ms: Option<u64>,
}

/// A profile with its name, where it came from and timing defaults applied.
#[derive(Clone, Debug)]
pub struct Loaded {
    /// The profile's name.
    pub name: String,
    /// The config file it came from.
    pub path: PathBuf,
    /// The table.
    pub profile: Profile,
}

impl Loaded {
    /// Per-call timeout.
    pub fn timeout(&self) -> Duration {
        secs(self.profile.timeout_seconds, 60.0)
    }

    /// Upload and download timeout.
    pub fn upload_timeout(&self) -> Duration {
        secs(
            self.profile.upload_timeout_seconds,
            self.timeout().as_secs_f64() * 10.0,
        )
    }

    /// Delay between polls.
    pub fn poll(&self) -> Duration {
        secs(self.profile.poll_seconds, 5.0)
    }

    /// Longest `--wait`.
    pub fn wait(&self) -> Duration {
        secs(self.profile.wait_seconds, 6.0 * 3600.0)
    }

    /// Longest Sunbird `NOT STARTED`.
    pub fn not_started(&self) -> Duration {
        secs(self.profile.not_started_seconds, 600.0)
    }

    /// A plain (non-secret) key that the platform cannot work without.
    pub fn need<'a>(&self, key: &str, value: &'a Option<String>) -> Result<&'a str, Error> {
        value.as_deref().filter(|v| !v.is_empty()).ok_or_else(|| {
            self.bad(format!(
                "`{key}` is required for target {}",
                self.profile.target.name()
            ))
        })
    }

    /// The secret held by the variable that `key` (an `*_env` key) names.
    pub fn secret(&self, key: &str, var: &Option<String>) -> Result<Secret, Error> {
        let var = self.need(key, var)?;
        if !is_env_name(var) {
            return Err(self.bad(not_a_name(key)));
        }
        match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(Secret::new(v)),
            _ => Err(self.bad(format!(
                "`{key}` names the environment variable {var}, which is not set"
            ))),
        }
    }

    /// Every `*_env` key holds a variable name, and no URL carries a user or password;
    /// the messages never show the offending value (it may be the secret itself).
    fn check_secrets_stay_out(&self) -> Result<(), Error> {
        let p = &self.profile;
        for (key, value) in [
            ("client_secret_env", &p.client_secret_env),
            ("token_env", &p.token_env),
            ("user_token_env", &p.user_token_env),
            ("secret_env", &p.secret_env),
            ("api_key_env", &p.api_key_env),
            ("password_env", &p.password_env),
        ] {
            if let Some(v) = value.as_deref().filter(|v| !v.is_empty())
                && !is_env_name(v)
            {
                return Err(self.bad(not_a_name(key)));
            }
        }
        for (key, value) in [("base_url", &p.base_url), ("auth_url", &p.auth_url)] {
            if value.as_deref().is_some_and(has_userinfo) {
                return Err(self.bad(format!(
                    "`{key}` holds a user name or password (user:password@host); that is refused, and the URL is not repeated here. Remove it: credentials come from the environment variables the `*_env` keys name"
                )));
            }
        }
        Ok(())
    }

    /// An error about this profile.
    pub fn bad(&self, reason: String) -> Error {
        Error::Config {
            path: self.path.display().to_string(),
            reason: format!("profile '{}': {reason}", self.name),
        }
    }
}

/// An environment variable name as shells write it: `[A-Za-z_][A-Za-z0-9_]*`.
pub fn is_env_name(v: &str) -> bool {
    v.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn not_a_name(key: &str) -> String {
    format!(
        "`{key}` must name an environment variable ([A-Za-z_][A-Za-z0-9_]*), and its value is not a variable name (it is not shown: it may be the secret itself). Put the secret in an environment variable and write that variable's name here"
    )
}

/// Whether a URL's authority has a `user[:password]@` part.
pub fn has_userinfo(url: &str) -> bool {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    rest.split(['/', '?', '#'])
        .next()
        .is_some_and(|authority| authority.contains('@'))
}

fn secs(v: Option<f64>, default: f64) -> Duration {
    Duration::from_secs_f64(v.filter(|s| s.is_finite() && *s >= 0.0).unwrap_or(default))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// Where the config file is: `--config`, else `PREFLIGHT_CONFIG`, else `./preflight.toml`.
pub fn path(flag: Option<&Path>) -> PathBuf {
    if let Some(p) = flag {
        return p.to_owned();
    }
    match std::env::var_os("PREFLIGHT_CONFIG") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => PathBuf::from("preflight.toml"),
    }
}

/// Reads the config file and picks one profile.
pub fn load(flag: Option<&Path>, name: &str) -> Result<Loaded, Error> {
    let path = path(flag);
    let bad = |reason: String| Error::Config {
        path: path.display().to_string(),
        reason,
    };
    let text = std::fs::read_to_string(&path).map_err(|source| Error::Read {
        path: path.display().to_string(),
        source,
    })?;
    // Only the message and the line: toml's snippet would quote the line, and a user who
    // wrote `client_secret = "…"` by mistake must not see it echoed into a CI log.
    let file: File = toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        bad(match line {
            Some(l) => format!("line {l}: {}", e.message()),
            None => e.message().to_owned(),
        })
    })?;
    let known: Vec<&str> = file.profiles.keys().map(String::as_str).collect();
    let Some(profile) = file.profiles.get(name).cloned() else {
        return Err(bad(format!(
            "no profile '{name}' (profiles: {})",
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        )));
    };
    let mut loaded = Loaded {
        name: name.to_owned(),
        path: path.clone(),
        profile,
    };
    if let Some(t) = loaded.profile.target_file.clone()
        && t.is_relative()
    {
        // Relative to the config file, like every other tool's config.
        let base = path.parent().unwrap_or(Path::new("."));
        loaded.profile.target_file = Some(base.join(t));
    }
    loaded.check_secrets_stay_out()?;
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<File, toml::de::Error> {
        toml::from_str(text)
    }

    #[test]
    fn profiles_parse_and_misspelt_keys_are_refused() {
        let f = parse(
            "[profiles.wm]\ntarget = \"watermark\"\nclient_id = \"abc\"\nclient_secret_env = \"WM\"\n",
        )
        .unwrap();
        assert_eq!(f.profiles["wm"].target, Platform::Watermark);
        let e = parse("[profiles.wm]\ntarget = \"watermark\"\nclient_secret = \"hunter2\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown field `client_secret`"), "{e}");
        assert!(parse("[profiles.x]\ntarget = \"moodle\"\n").is_err());
    }

    fn write(dir: &Path, profile: &str) -> PathBuf {
        let p = dir.join("preflight.toml");
        std::fs::write(&p, format!("[profiles.t]\n{profile}")).unwrap();
        p
    }

    #[test]
    fn a_pasted_secret_is_refused_unechoed() {
        let dir = tempfile::tempdir().unwrap();
        for (key, value) in [
            ("token_env", "7~Zq9xPasted-Token/Value"),
            ("api_key_env", "abc def"),
            ("secret_env", "1LEADINGDIGIT"),
            ("password_env", "p@ss"),
        ] {
            let p = write(
                dir.path(),
                &format!("target = \"canvas\"\n{key} = \"{value}\"\n"),
            );
            let e = load(Some(&p), "t").unwrap_err().to_string();
            assert!(e.contains(key) && !e.contains(value), "{e}");
        }
        assert!(is_env_name("CANVAS_TOKEN") && is_env_name("_x1"));
    }

    #[test]
    fn urls_with_userinfo_are_refused_unechoed() {
        let dir = tempfile::tempdir().unwrap();
        for key in ["base_url", "auth_url"] {
            let p = write(
                dir.path(),
                &format!(
                    "target = \"watermark\"\n{key} = \"https://admin:hunter2-pw@h.example.com/x\"\n"
                ),
            );
            let e = load(Some(&p), "t").unwrap_err().to_string();
            assert!(
                e.contains(key) && !e.contains("hunter2") && !e.contains("admin"),
                "{e}"
            );
        }
        let p = write(
            dir.path(),
            "target = \"canvas\"\nbase_url = \"https://h.example.com/a@b\"\n",
        );
        assert!(load(Some(&p), "t").is_ok());
    }
}
