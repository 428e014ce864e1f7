//! The OpenAPI document served at `/api/openapi.json`: `openapi.json` for
//! the routes, completed from the code's own definitions so the two
//! cannot drift: the `/api/pages` parameters come from
//! [`QueryOptions::params`] (the clap definition `trawl query` parses),
//! the outcome names from [`FetchOutcome::KINDS`].

use crate::query::QueryOptions;
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

/// One OpenAPI query parameter per query option. Strings are non-empty
/// (the server rejects empty values, as `trawl query` does).
fn pages_parameters() -> Value {
    QueryOptions::params()
        .into_iter()
        .map(|p| {
            let mut schema = if p.integer {
                json!({ "type": "integer", "minimum": 0 })
            } else if !p.values.is_empty() {
                json!({ "type": "string", "enum": p.values })
            } else {
                json!({ "type": "string", "minLength": 1 })
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
    use crate::query::COLUMNS;
    use std::borrow::Cow;

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
                "integer" => "0".to_owned(),
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
