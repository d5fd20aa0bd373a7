//! The optional config file (TOML): fields ignored in request keys, and extra secret fields.
//!
//! Found at `--config PATH` (`COGNITO_VCR_CONFIG`), else `cognito-vcr.toml` in the cassette's
//! directory when it exists.
//!
//! ```toml
//! [keys.ignore]            # operation (or "*") = selectors left out of its request keys
//! ListUsers = ["AttributesToGet"]
//! [keys.keep]              # default rules to drop
//! "*" = ["ClientMetadata"]
//! [secrets]                # more field names stored as a hash, in requests and responses
//! fields = ["custom:national_id"]
//! [aliases]                # a value stored (and keyed) as another: another stage's pool
//! "us-east-1_STAGE" = "us-east-1_DEV"
//! [virtualize]             # what the session generated, stored as stable stand-ins (on)
//! ids = true               # pool, app client and user ids its creating calls made
//! dates = true             # the dates it caused, as virtual dates
//! [[faults]]               # injected faults (see `faults.rs`)
//! operation = "ListUsers"
//! nth = 1
//! error = "TooManyRequestsException"
//! ```

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::config::faults::{self, FaultRule};
use crate::keying::rules::{Rules, Selector};

/// An alias shorter than this would match inside unrelated text.
const MIN_ALIAS: usize = 4;

/// The file's name when it is found beside the cassette.
pub const FILE_NAME: &str = "cognito-vcr.toml";

/// Keying rules, secret fields and injected faults in force for a run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub rules: Rules,
    pub secrets: Vec<String>,
    /// What the session generated, stored as stable stand-ins.
    pub virtualize: Virtualize,
    /// Values stored and keyed as others (`[aliases]`: another environment's ids as the
    /// cassette's), in the file's order.
    pub aliases: Vec<(String, String)>,
    /// Injected faults, in the file's order (replay, auto and passthrough; record ignores them).
    pub faults: Vec<FaultRule>,
    /// How old a recorded scope may be before replay warns (`max_age = "90d"`).
    pub max_age: Option<std::time::Duration>,
    /// The file they came from, if any.
    pub source: Option<PathBuf>,
}

/// Which values the session generated are stored as stand-ins (both by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Virtualize {
    /// Ids its creating calls made the upstream generate (`rewrite/identities.rs`).
    pub ids: bool,
    /// The dates it caused (`rewrite/dates.rs`).
    pub dates: bool,
}

impl Default for Virtualize {
    fn default() -> Self {
        Virtualize {
            ids: true,
            dates: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("config file {path}: {message}")]
pub struct SettingsError {
    pub path: PathBuf,
    pub message: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    keys: Keys,
    #[serde(default)]
    secrets: Secrets,
    #[serde(default)]
    virtualize: Virtualize,
    #[serde(default)]
    aliases: BTreeMap<String, String>,
    /// Validated one by one (`faults::parse`), so that an error names its rule.
    #[serde(default)]
    faults: Vec<toml::Table>,
    /// `"90d"`: replay warns of scopes recorded longer ago (see `cassette::dates`).
    max_age: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Keys {
    #[serde(default)]
    ignore: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    keep: BTreeMap<String, Vec<String>>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Secrets {
    #[serde(default)]
    fields: Vec<String>,
}

impl Settings {
    /// Load `explicit`, else the file beside `cassette` if there is one, else the defaults.
    pub fn load(explicit: Option<&Path>, cassette: &Path) -> Result<Settings, SettingsError> {
        let beside = cassette.parent().unwrap_or(Path::new(".")).join(FILE_NAME);
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None if beside.is_file() => beside,
            None => return Ok(Settings::default()),
        };
        let err = |message: String| SettingsError {
            path: path.clone(),
            message,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| err(e.to_string()))?;
        let file: File = toml::from_str(&text).map_err(|e| err(e.to_string()))?;
        let mut rules = Rules::default();
        for (op, selectors) in &file.keys.keep {
            for s in selectors {
                rules.keep(op, &Selector::parse(s).map_err(err)?);
            }
        }
        for (op, selectors) in &file.keys.ignore {
            for s in selectors {
                rules.ignore(op, Selector::parse(s).map_err(err)?);
            }
        }
        let faults = faults::parse(file.faults).map_err(err)?;
        for (from, to) in &file.aliases {
            if from.len() < MIN_ALIAS || to.is_empty() || from == to {
                return Err(err(format!(
                    "alias {from:?} = {to:?}: a value of {MIN_ALIAS} characters or more, stored as another"
                )));
            }
        }
        let max_age = file
            .max_age
            .as_deref()
            .map(super::parse_max_age)
            .transpose()
            .map_err(|e| err(format!("max_age: {e}")))?;
        Ok(Settings {
            rules,
            max_age,
            secrets: file.secrets.fields,
            virtualize: file.virtualize,
            aliases: file.aliases.into_iter().collect(),
            faults,
            source: Some(path),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_file_beside_the_cassette_is_found_and_applied() {
        let dir = tempfile::tempdir().unwrap();
        let cassette = dir.path().join("c.json");
        assert_eq!(
            Settings::load(None, &cassette).unwrap(),
            Settings::default()
        );
        std::fs::write(
            dir.path().join(FILE_NAME),
            "[keys.ignore]\nListUsers = [\"AttributesToGet\"]\n[keys.keep]\n\"*\" = [\"ClientMetadata\"]\n[secrets]\nfields = [\"custom:id\"]\n",
        )
        .unwrap();
        let s = Settings::load(None, &cassette).unwrap();
        assert_eq!(s.secrets, ["custom:id"]);
        let body =
            json!({"UserPoolId": "p", "AttributesToGet": ["email"], "ClientMetadata": {"a": "b"}});
        assert_eq!(
            s.rules.key_body("ListUsers", &body).into_owned(),
            json!({"UserPoolId": "p", "ClientMetadata": {"a": "b"}})
        );
    }

    #[test]
    fn max_age_is_read_as_days_and_a_bad_one_names_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.toml");
        std::fs::write(&path, "max_age = \"12w\"\n[virtualize]\nids = true\n").unwrap();
        let s = Settings::load(Some(&path), &dir.path().join("c.json")).unwrap();
        assert_eq!(s.max_age, Some(std::time::Duration::from_secs(84 * 86_400)));
        std::fs::write(&path, "max_age = \"soon\"\n").unwrap();
        let err = Settings::load(Some(&path), &dir.path().join("c.json")).unwrap_err();
        assert!(err.to_string().contains("max_age"), "{err}");
    }

    #[test]
    fn a_bad_file_names_itself() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.toml");
        std::fs::write(&path, "[keys.ignore]\nListUsers = [\"a..b\"]\n").unwrap();
        let err = Settings::load(Some(&path), &dir.path().join("c.json")).unwrap_err();
        assert!(
            err.to_string().contains("x.toml") && err.to_string().contains("empty segment"),
            "{err}"
        );
        std::fs::write(&path, "[nope]\n").unwrap();
        assert!(Settings::load(Some(&path), &dir.path().join("c.json")).is_err());
        std::fs::write(
            &path,
            "[[faults]]\noperation = \"ListUsers\"\nnth = 1\nevery = 2\nerror = \"TooManyRequestsException\"\n",
        )
        .unwrap();
        let err = Settings::load(Some(&path), &dir.path().join("c.json")).unwrap_err();
        assert!(
            err.to_string().contains(
                "x.toml: fault rule 1 (ListUsers): give exactly one of nth, every, probability"
            ),
            "{err}"
        );
    }

    #[test]
    fn fault_rules_are_read_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.toml");
        std::fs::write(
            &path,
            "[[faults]]\noperation = \"ListUsers\"\nnth = 1\nerror = \"TooManyRequestsException\"\n[[faults]]\noperation = \"*\"\nevery = 2\nclose = true\n",
        )
        .unwrap();
        let s = Settings::load(Some(&path), &dir.path().join("c.json")).unwrap();
        let read: Vec<(usize, Option<&str>)> = s
            .faults
            .iter()
            .map(|f| (f.index, f.operation.as_deref()))
            .collect();
        assert_eq!(read, [(1, Some("ListUsers")), (2, None)]);
    }
}
