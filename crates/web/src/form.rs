//! `application/x-www-form-urlencoded` (a query string or a form body), parsed with one rule
//! everywhere: a parameter given twice is refused (RFC 6749 §3.1 says so for OAuth; the
//! pages' own forms carry each field once, so a repeat is never a browser's doing).

use std::collections::HashMap;

/// The parameters of a form or query, each given once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Form(HashMap<String, String>);

/// A parameter was given twice. The form as far as it was read (first values) comes along,
/// for an answer that needs to know where to send the refusal (OAuth's redirect URI).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repeated {
    /// The repeated parameter's name.
    pub name: String,
    /// Every parameter with its first value.
    pub first: Form,
}

impl Form {
    /// Parses `text`; refuses a parameter given twice.
    pub fn parse(text: &[u8]) -> Result<Form, Repeated> {
        let mut map = HashMap::new();
        let mut repeated = None;
        for (k, v) in url::form_urlencoded::parse(text) {
            if map.contains_key(k.as_ref()) {
                repeated.get_or_insert_with(|| k.to_string());
            } else {
                map.insert(k.into_owned(), v.into_owned());
            }
        }
        match repeated {
            None => Ok(Form(map)),
            Some(name) => Err(Repeated { name, first: Form(map) }),
        }
    }

    /// A parameter's value.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// Whether the parameter was given.
    pub fn has(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeat_is_refused_and_says_which() {
        let f = Form::parse(b"code=12+34&csrf=a%2Bb").unwrap_or_default();
        assert_eq!((f.get("code"), f.get("csrf")), (Some("12 34"), Some("a+b")));
        assert!(f.has("code") && !f.has("x"));
        let r = Form::parse(b"client_id=a&scope=x&scope=y").unwrap_err();
        assert_eq!(r.name, "scope");
        assert_eq!(r.first.get("scope"), Some("x"));
        assert_eq!(r.first.get("client_id"), Some("a"));
    }
}
