//! Query strings, decoded as `application/x-www-form-urlencoded` by the `form_urlencoded`
//! crate, for every endpoint that takes parameters.

use std::collections::HashMap;

/// The parameters of `query`. A name given twice is refused: which of
/// `level=B-LTA&level=B-B` a proxy, a client library and this server each take is exactly
/// where a request is misread.
pub fn parameters(query: Option<&str>) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for (k, v) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if out.insert(k.to_string(), v.into_owned()).is_some() {
            return Err(format!("query parameter {k:?} given more than once"));
        }
    }
    Ok(out)
}

/// The parameters each API endpoint takes; endpoints not named here (health, metrics, the
/// page's assets) are not checked.
const TAKES: [(&str, &[&str]); 8] = [
    ("/tsa", &[]),
    ("/tsa/certs", &["policy"]),
    ("/tsa/policies", &[]),
    (
        "/eseal/v1/seal",
        &[
            "key", "level", "detached", "digest", "format", "certify", "visible", "page", "rect",
        ],
    ),
    ("/eseal/v1/extend", &["level", "digest", "format"]),
    ("/eseal/v1/crls", &[]),
    ("/verify/v1", &[]),
    ("/audit/v1/checkpoint", &[]),
];

/// Why the query of a request to `path` is refused: a parameter the endpoint does not take
/// (named, with those it does), or a malformed one; `None`: fine.
pub fn unknown(path: &str, query: Option<&str>) -> Option<String> {
    let (_, takes) = TAKES.iter().find(|(p, _)| *p == path)?;
    let params = match parameters(query) {
        Ok(p) => p,
        Err(e) => return Some(e),
    };
    let mut unknown: Vec<String> = params
        .keys()
        .filter(|k| !takes.contains(&k.as_str()))
        .map(|k| format!("{:?}", k.chars().take(40).collect::<String>()))
        .collect();
    if unknown.is_empty() {
        return None;
    }
    unknown.sort();
    Some(format!(
        "unknown query parameter(s) {} for {path}: it takes {}",
        unknown.join(", "),
        if takes.is_empty() {
            "none".to_string()
        } else {
            takes.join(", ")
        }
    ))
}

#[cfg(test)]
mod tests {
    use super::parameters;

    #[test]
    fn decodes_and_refuses_repeats() {
        let p = parameters(Some("policy=1.2.3&key=a%20b")).unwrap();
        assert_eq!(p["policy"], "1.2.3");
        assert_eq!(p["key"], "a b");
        assert!(parameters(Some("policy=1&policy=2")).is_err());
        assert!(parameters(None).unwrap().is_empty());
    }

    #[test]
    fn unknown_parameters_are_named() {
        use super::unknown;
        let e = unknown("/eseal/v1/seal", Some("key=a&shape=round")).unwrap();
        assert!(e.contains("\"shape\"") && e.contains("key, level"), "{e}");
        assert!(unknown("/eseal/v1/seal", Some("key=a&level=B-T")).is_none());
        assert!(unknown("/tsa", Some("x=1")).is_some());
        assert!(unknown("/tsa", None).is_none());
        assert!(unknown("/healthz", Some("x=1")).is_none());
    }
}
