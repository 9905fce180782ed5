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
}
