//! Scopes: a test's own recording space, with its own occurrence counters and interactions.
//! A client picks one by its endpoint URL (`http://127.0.0.1:PORT/scope/NAME`); no scope is the
//! default scope.

use std::fmt;
use std::sync::Arc;

/// The longest scope name.
pub const MAX_NAME: usize = 128;

/// A scope: the default one, or one named by `[A-Za-z0-9._-]{1,128}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope(Option<Arc<str>>);

impl Scope {
    /// ` in scope NAME` for a named scope, nothing for the default one (for messages).
    pub fn label(&self) -> String {
        self.name()
            .map(|n| format!(" in scope {n}"))
            .unwrap_or_default()
    }

    /// The scope of requests that name none.
    pub fn default_scope() -> Scope {
        Scope(None)
    }

    /// A named scope, if `name` is a valid scope name.
    pub fn named(name: &str) -> Result<Scope, String> {
        check(name)?;
        Ok(Scope(Some(name.into())))
    }

    /// `None` for the default scope, else `named`.
    pub fn from_name(name: Option<&str>) -> Result<Scope, String> {
        name.map_or(Ok(Scope(None)), Scope::named)
    }

    /// The name; `None` for the default scope.
    pub fn name(&self) -> Option<&str> {
        self.0.as_deref()
    }

    pub fn is_default(&self) -> bool {
        self.0.is_none()
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name().unwrap_or("(default)"))
    }
}

/// Why a name is not a scope name, or `Ok`.
fn check(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > MAX_NAME {
        return Err(format!(
            "a scope name has 1 to {MAX_NAME} characters (got {})",
            name.len()
        ));
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        Some(c) => Err(format!(
            "scope name {name:?} has {c:?}: a scope name holds only letters, digits, '.', '_' and '-'"
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        for good in [
            "a",
            "test_login.py--test_ok-1",
            "A.b-c_9",
            &"x".repeat(MAX_NAME),
        ] {
            assert_eq!(Scope::named(good).unwrap().name(), Some(good));
        }
        for bad in [
            "",
            "a b",
            "a/b",
            "é",
            "a::b",
            "a[1]",
            &"x".repeat(MAX_NAME + 1),
        ] {
            assert!(Scope::named(bad).is_err(), "{bad:?}");
        }
        assert!(Scope::from_name(None).unwrap().is_default());
        assert!(Scope::default_scope() < Scope::named("a").unwrap());
    }
}
