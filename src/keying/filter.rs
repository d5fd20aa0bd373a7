//! The ListUsers `Filter` grammar: one canonical spelling of `name = "value"` / `name ^= "value"`.

/// The one spelling of a ListUsers filter, `name = "value"` or `name ^= "value"`, or `None`
/// when the text does not follow the documented grammar `AttributeName Filter-Type "AttributeValue"`.
/// Accepted variations: spaces around the operator, a quoted attribute name, backslash escapes
/// in the value.
pub fn canonical_filter(filter: &str) -> Option<String> {
    let mut rest = filter.trim_start();
    let name = if let Some(quoted) = rest.strip_prefix('"') {
        let end = quoted.find('"')?;
        rest = &quoted[end + 1..];
        &quoted[..end]
    } else {
        let end = rest.find(|c: char| c.is_whitespace() || c == '=' || c == '^')?;
        let name = &rest[..end];
        rest = &rest[end..];
        name
    };
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_:-.".contains(c))
    {
        return None;
    }
    rest = rest.trim_start();
    let operator = if let Some(r) = rest.strip_prefix("^=") {
        rest = r;
        "^="
    } else if let Some(r) = rest.strip_prefix('=') {
        rest = r;
        "="
    } else {
        return None;
    };
    let mut chars = rest.trim_start().strip_prefix('"')?.chars();
    let mut value = String::new();
    loop {
        match chars.next()? {
            '\\' => value.push(chars.next()?),
            '"' => break,
            c => value.push(c),
        }
    }
    if !chars.as_str().trim().is_empty() {
        return None;
    }
    let escaped = value.replace('\\', "\\\\").replace('"', "\\\"");
    Some(format!("{name} {operator} \"{escaped}\""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_spellings_key_the_same() {
        let canonical = Some(r#"email ^= "user01""#.to_owned());
        for f in [
            r#"email ^= "user01""#,
            r#"email^="user01""#,
            r#"  "email"   ^=   "user01"  "#,
            r#""email"^="user01""#,
            r#"email ^= "user\01""#,
        ] {
            assert_eq!(canonical_filter(f), canonical, "{f}");
        }
        assert_eq!(
            canonical_filter(r#"name="O\"Neil""#).as_deref(),
            Some(r#"name = "O\"Neil""#)
        );
        assert_eq!(
            canonical_filter(r#"family_name = "a\\b""#).as_deref(),
            Some(r#"family_name = "a\\b""#)
        );
        assert_ne!(
            canonical_filter(r#"email = "x""#),
            canonical_filter(r#"email ^= "x""#)
        );
    }
}
