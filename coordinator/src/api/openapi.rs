//! The OpenAPI document served at `/api/openapi.json`: `openapi.json` for
//! the routes, completed from the code's own definitions so the two
//! cannot drift: the `/api/pages` parameters come from
//! [`QueryOptions::params`] (the clap definition `trawl query` parses),
//! the outcome names from [`FetchOutcome::KINDS`].

use crate::query::{COLUMNS, QueryOptions};
use serde_json::{Value, json};
use std::sync::OnceLock;
use trawl_common::protocol::FetchOutcome;

/// The hand-written part: routes, bodies, responses.
const TEMPLATE: &str = include_str!("openapi.json");

/// The served document, built once.
pub(crate) fn document() -> &'static str {
    static DOC: OnceLock<String> = OnceLock::new();
    DOC.get_or_init(|| build().to_string())
}

fn build() -> Value {
    // A constant, checked by the tests below: not input.
    let mut doc: Value = serde_json::from_str(TEMPLATE).unwrap_or(Value::Null);
    doc["paths"]["/api/pages"]["get"]["parameters"] = pages_parameters();
    doc["components"]["schemas"]["Page"]["properties"]["outcome"]["enum"] =
        json!(FetchOutcome::KINDS);
    doc
}

/// The output field names as a regex alternative, `fields.NAME` included.
fn field_names(extra: &[&str]) -> String {
    let names: Vec<&str> = COLUMNS.iter().chain(extra).copied().collect();
    format!(r"(?:{}|fields\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)", names.join("|"))
}

/// The URLs `history` (and `/api/history`'s `url`) are documented to take.
pub(crate) const HISTORY_URL: &str = r"^https?://(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}|(?:[a-z0-9]+\.)*[a-z][a-z0-9]*)(?::[1-9][0-9]{0,3})?(?:/[A-Za-z0-9/._~-]*)?$";

/// What a parameter's value must look like, where a regex can say it
/// (built from the same vocabulary the server checks against). Semantic
/// checks a regex cannot express (a `--depth` range with LO > HI) remain
/// 400s. `url_regex`, `url_glob` and `where`-regex values are limited to
/// characters that are always valid (no groups, classes or repetitions).
fn pattern(name: &str) -> Option<String> {
    // Characters that never make a regex or a glob invalid on their own.
    const REGEX_SAFE: &str = r"[^()\[\]{}\\*+?]";
    const GLOB_SAFE: &str = r"[^\[\]{}\\]";
    let field = field_names(&[]);
    let date = r"(?:19[89][0-9]|2[0-9]{3})-(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])";
    let time = r"(?:T(?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](?:\.[0-9]{1,9})?(?:Z|[+-](?:0[0-9]|1[0-3]):[0-5][0-9]))?";
    Some(match name {
        "status" => r"^(?:[1-5][xX][xX]|[0-9]{1,4})$".to_owned(),
        "depth" => r"^(?:[0-9]{1,9}|\.\.[0-9]{1,9}|[0-9]{1,9}\.\.)$".to_owned(),
        "since" | "until" => format!("^{date}{time}$"),
        "changed_since" => {
            format!("^(?:{date}{time}|[0-9]{{1,6}}(?:ms|s|m|h|d|min|hours?|days?|weeks?))$")
        }
        // A host the url crate accepts: a dotted quad, or a name whose last
        // label starts with a letter (`a.8` would be read as a bad IPv4).
        "history" => HISTORY_URL.to_owned(),
        "fields" => format!("^{field}(?:,{field})*$"),
        "sort" => format!("^(?:-{field}|{field}(?::asc|:desc)?)$"),
        "count_by" => format!("^{}$", field_names(&crate::query::DERIVED_KEYS)),
        "where" => format!(
            r"^{field}(?:\s+(?:exists|missing)|\s*(?:=|!=|>|>=|<|<=)(?:\s*[^=!<>~\s].*)?|\s*(?:~|!~)\s*(?:[^=!<>~()\[\]{{}}\\*+?\s]{REGEX_SAFE}*)?)$"
        ),
        "url_regex" => format!("^{REGEX_SAFE}+$"),
        "url_glob" => format!("^{GLOB_SAFE}+$"),
        _ => return None,
    })
}

/// One OpenAPI query parameter per query option. Strings are non-empty
/// (the server rejects empty values, as `trawl query` does).
fn pages_parameters() -> Value {
    QueryOptions::params()
        .into_iter()
        .map(|p| {
            let mut schema = if p.integer {
                // usize: larger numbers do not parse.
                json!({ "type": "integer", "minimum": 0, "maximum": usize::MAX })
            } else if !p.values.is_empty() {
                json!({ "type": "string", "enum": p.values })
            } else {
                let mut schema = json!({ "type": "string", "minLength": 1 });
                if let Some(pattern) = pattern(&p.name) {
                    schema["pattern"] = Value::from(pattern);
                }
                if p.name == "outcome" {
                    schema["enum"] = json!(FetchOutcome::KINDS);
                }
                schema
            };
            if let Some(d) = p.default {
                schema["default"] = Value::from(d);
            }
            let mut param = json!({
                "name": p.name,
                "in": "query",
                "description": p.help,
                "required": false,
            });
            if p.repeated {
                param["schema"] = json!({ "type": "array", "items": schema });
                param["style"] = json!("form");
                param["explode"] = json!(true);
            } else {
                param["schema"] = schema;
            }
            param
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    /// Values that match a parameter's pattern are accepted by the server;
    /// typical typos do not match.
    #[test]
    fn patterns_describe_what_the_server_accepts() {
        let accepted: [(&str, &[&str]); 11] = [
            ("status", &["200", "4xx", "5XX", "0"]),
            ("depth", &["0", "3", "..2", "2.."]),
            ("since", &["2026-11-24", "1990-01-01T00:00:00Z", "2026-11-24T18:00:00.5+01:00"]),
            ("changed_since", &["1h", "0s", "90m", "2days", "2026-11-24", "2026-11-24T18:00:00Z"]),
            ("history", &["http://127.0.0.1:8080/page/3", "https://a.b/"]),
            ("fields", &["url", "url,title,fields.posts", "fields.a.b"]),
            ("sort", &["-bytes", "title:desc", "fields.x:asc", "depth"]),
            ("count_by", &["host", "status_class", "depth", "fields.posts"]),
            (
                "where",
                &[
                    "title~rust",
                    "bytes>=10",
                    "status != 200",
                    "fields.posts exists",
                    "title missing",
                    "title=",
                    "detail = a missing",
                    "title!~a b",
                    "title~ ^a.b|c$",
                    "detail\t\r\nmissing",
                ],
            ),
            ("url_regex", &["/page/", "a b", "0.5", "^a|b$"]),
            ("url_glob", &["0", "http:", "*.html", "?"]),
        ];
        for (name, values) in accepted {
            let re = regex::Regex::new(&pattern(name).unwrap()).unwrap();
            for v in values {
                assert!(re.is_match(v), "{name}={v:?} should match {re}");
                QueryOptions::from_pairs([(Cow::from(name), Cow::from(*v))])
                    .and_then(|o| o.validate())
                    .unwrap_or_else(|e| panic!("{name}={v:?} matches the schema: {e}"));
            }
        }
        let rejected: [(&str, &[&str]); 9] = [
            ("status", &["abc", "6xx", "xx", "99999"]),
            ("depth", &["x", "1..y"]),
            ("since", &["soon", "2026-13-45"]),
            ("changed_since", &["soon", "1x", "h1"]),
            ("history", &["page/3", "ftp://a/", "http://"]),
            ("fields", &["url,nosuch", ","]),
            ("sort", &["nosuch", "-", "-url:asc"]),
            ("count_by", &["nosuch"]),
            ("where", &["title=~x", "nosuch>3", "nonsense", "=x", "title~("]),
        ];
        for (name, values) in rejected {
            let re = regex::Regex::new(&pattern(name).unwrap()).unwrap();
            for v in values {
                assert!(!re.is_match(v), "{name}={v:?} should not match {re}");
                let bad = QueryOptions::from_pairs([(Cow::from(name), Cow::from(*v))])
                    .and_then(|o| o.validate());
                assert!(bad.is_err(), "{name}={v:?} is refused by the server");
            }
        }
    }

    /// The document is valid JSON and documents every route.
    #[test]
    fn documents_every_route() {
        let doc: Value = serde_json::from_str(document()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        let source = include_str!("routes.rs");
        let routes: Vec<&str> = source
            .lines()
            .filter_map(|l| l.trim().strip_prefix(".route(\""))
            .filter_map(|l| l.split('"').next())
            .collect();
        assert!(routes.len() >= 8, "{routes:?}");
        for r in routes {
            assert!(paths.contains_key(r), "openapi.json does not document {r}");
        }
    }

    /// `/api/history`'s `url` takes what `/api/pages`' `history` takes.
    #[test]
    fn history_url_patterns_agree() {
        let doc: Value = serde_json::from_str(document()).unwrap();
        let params = doc["paths"]["/api/history"]["get"]["parameters"].as_array().unwrap();
        let url = params.iter().find(|p| p["name"] == "url").unwrap();
        assert_eq!(url["schema"]["pattern"], HISTORY_URL);
        let re = regex::Regex::new(HISTORY_URL).unwrap();
        for bad in ["https://499tsa.8", "http://1.2.3.999/", "http://a.8:485"] {
            assert!(!re.is_match(bad), "{bad}");
        }
    }

    /// Every documented `/api/pages` parameter is accepted by the server
    /// with a value its schema allows, and every other name is refused.
    #[test]
    fn pages_parameters_are_exactly_what_the_server_accepts() {
        let doc: Value = serde_json::from_str(document()).unwrap();
        let params = doc["paths"]["/api/pages"]["get"]["parameters"].as_array().unwrap();
        let names: Vec<&str> = params.iter().map(|p| p["name"].as_str().unwrap()).collect();
        for want in ["url_prefix", "where", "fields", "count_by", "limit", "offset", "format"] {
            assert!(names.contains(&want), "{want} not documented: {names:?}");
        }
        // A fully populated options value sends exactly the documented names.
        let full = QueryOptions {
            url_prefix: Some("x".into()),
            url_glob: Some("x".into()),
            url_regex: Some("x".into()),
            host: Some("x".into()),
            status: Some("x".into()),
            content_type: Some("x".into()),
            depth: Some("x".into()),
            outcome: Some("x".into()),
            since: Some("x".into()),
            until: Some("x".into()),
            wheres: vec!["x".into()],
            fields: Some("x".into()),
            sort: Some("x".into()),
            count_by: Some("x".into()),
            changed_since: Some("x".into()),
            gone: true,
            history: Some("x".into()),
            limit: Some(1),
            offset: Some(1),
            format: crate::query::Format::Csv,
        };
        let mut sent: Vec<String> = full.to_pairs().into_iter().map(|(k, _)| k).collect();
        sent.sort();
        let mut documented: Vec<String> = names.iter().map(|s| (*s).to_owned()).collect();
        documented.sort();
        assert_eq!(sent, documented, "live queries send what the API documents");
        for p in params {
            let name = p["name"].as_str().unwrap();
            let schema =
                if p["schema"]["type"] == "array" { &p["schema"]["items"] } else { &p["schema"] };
            let ok = match schema["type"].as_str().unwrap() {
                "integer" => {
                    let max = schema["maximum"].as_u64().unwrap().to_string();
                    QueryOptions::from_pairs([(Cow::from(name), Cow::from(max.as_str()))])
                        .unwrap_or_else(|e| panic!("{name}={max} is the documented maximum: {e}"));
                    let over = format!("{max}0");
                    let e = QueryOptions::from_pairs([(Cow::from(name), Cow::from(over.as_str()))]);
                    assert!(e.is_err(), "{name}={over} is over the documented maximum");
                    "0".to_owned()
                }
                _ if schema["enum"].is_array() => schema["enum"][0].as_str().unwrap().to_owned(),
                _ => {
                    assert_eq!(schema["minLength"], 1, "{name}");
                    // Empty is forbidden by the schema, and refused by the server.
                    let e =
                        QueryOptions::from_pairs([(Cow::from(name), Cow::from(""))]).unwrap_err();
                    assert!(e.to_string().contains(name), "{name}: {e}");
                    "x".to_owned()
                }
            };
            QueryOptions::from_pairs([(Cow::from(name), Cow::from(ok.as_str()))])
                .unwrap_or_else(|e| panic!("{name}={ok}: {e}"));
            assert!(!p["description"].as_str().unwrap().is_empty(), "{name} undocumented");
        }
        let e = QueryOptions::from_pairs([(Cow::from("nosuch"), Cow::from("1"))]).unwrap_err();
        assert!(e.to_string().contains("nosuch") && e.to_string().contains("url_prefix"), "{e}");
    }

    /// The Page schema is the output schema, outcome names included.
    #[test]
    fn page_schema_is_the_output_schema() {
        let doc: Value = serde_json::from_str(document()).unwrap();
        let page = &doc["components"]["schemas"]["Page"]["properties"];
        let mut props: Vec<&str> = page.as_object().unwrap().keys().map(String::as_str).collect();
        let mut cols = COLUMNS.to_vec();
        props.sort_unstable();
        cols.sort_unstable();
        assert_eq!(props, cols);
        assert_eq!(page["outcome"]["enum"], json!(FetchOutcome::KINDS));
        for body in ["/api/seeds", "/api/workers"] {
            let schema =
                &doc["paths"][body]["post"]["requestBody"]["content"]["application/json"]["schema"];
            assert_eq!(schema["additionalProperties"], false, "{body}");
        }
    }
}
