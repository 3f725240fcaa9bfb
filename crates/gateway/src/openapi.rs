//! The OpenAPI 3.1 document at `/openapi.json`, built from the routes themselves: each handler's
//! `#[utoipa::path]` annotation and the `livequiz_sdk::types` schemas, collected by the router that
//! serves them ([`crate::routes::api`]), so the document cannot drift from the code.
//!
//! The annotations list what each handler decides (`404` for a missing row, `409` for a
//! conflict, ...). What the shared extractors and layers answer is added here, once, by
//! [`finish`], from what an operation takes, because it is true of every route that takes it:
//!
//! * a bearer token (the operation has `security`) → `401`;
//! * a path or query parameter → `400` when it does not parse, and a query parameter `422`
//!   when its value is out of the range the schema states;
//! * a JSON body → `400` (not JSON), `413` (over `MAX_BODY_BYTES`), `415` (not
//!   `application/json`), `422` (valid JSON that does not fit the schema);
//! * every `/v1` route → `500` and `503` (a failure of the server or of a backing service).
//!
//! Every error body is an RFC 9457 problem document, `application/problem+json`.

use std::sync::OnceLock;

use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, RefOr};
use utoipa::{Modify, OpenApi};

use crate::config::Config;

/// The media type of every error response.
pub const PROBLEM_JSON: &str = "application/problem+json";
/// Where the problem document's schema is.
const PROBLEM_REF: &str = "#/components/schemas/Problem";

#[derive(OpenApi)]
#[openapi(
    info(title = "Quiz gateway API", description = "Question bank, quizzes, practice answers, \
        progress, reports and live sessions. Authenticate with `Authorization: Bearer <token>` \
        from `POST /v1/auth/login`; errors are `application/problem+json` (RFC 9457). The live \
        WebSocket protocol is in `docs/PROTOCOL.md`."),
    // Referenced by query parameters (the routes collect the schemas of bodies only).
    components(schemas(livequiz_sdk::types::Problem, livequiz_sdk::types::FieldError, livequiz_sdk::types::BankFormat)),
    modifiers(&BearerAuth),
    tags((name = "auth"), (name = "users"), (name = "questions"), (name = "quizzes"),
         (name = "practice"), (name = "reports"), (name = "live"), (name = "leaderboards"), (name = "ops"))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The document's frame (info, tags, the bearer scheme); the routes add their operations.
pub fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// A shared response: its component name, status and description.
struct Shared {
    name: &'static str,
    status: &'static str,
    description: &'static str,
}

const UNAUTHORIZED: Shared = Shared {
    name: "Unauthorized",
    status: "401",
    description: "no `Authorization: Bearer <token>` header, or the token is invalid or expired",
};
const BAD_PARAMETER: Shared = Shared {
    name: "BadParameter",
    status: "400",
    description: "a path or query parameter does not parse (e.g. an id that is not an integer)",
};
const BAD_BODY: Shared = Shared {
    name: "BadBody",
    status: "400",
    description: "the body is not valid JSON, or a path or query parameter does not parse",
};
const TOO_LARGE: Shared = Shared {
    name: "TooLarge",
    status: "413",
    description: "the body is larger than the server accepts",
};
const MEDIA_TYPE: Shared = Shared {
    name: "UnsupportedMediaType",
    status: "415",
    description: "the body is not sent as `application/json`",
};
const INVALID: Shared = Shared {
    name: "Invalid",
    status: "422",
    description: "the body or a parameter does not fit the schema, or a value breaks a rule the \
                  schema states; `errors` names every bad field",
};
const INTERNAL: Shared = Shared {
    name: "Internal",
    status: "500",
    description: "the server failed; the detail is logged, not sent",
};
const UNAVAILABLE: Shared = Shared {
    name: "Unavailable",
    status: "503",
    description: "a backing service (database, Redis, search) is unavailable, or the server is \
                  at capacity (then with `Retry-After`)",
};

/// Completes a document collected from the routes: the responses every route shares (see the
/// module docs), and `application/problem+json` for every error body.
pub fn finish(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let components = doc.components.get_or_insert_with(Default::default);
    for s in [
        UNAUTHORIZED,
        BAD_PARAMETER,
        BAD_BODY,
        TOO_LARGE,
        MEDIA_TYPE,
        INVALID,
        INTERNAL,
        UNAVAILABLE,
    ] {
        components.responses.insert(
            s.name.to_string(),
            RefOr::T(problem_response(s.description)),
        );
    }
    for (path, item) in doc.paths.paths.iter_mut() {
        let api = path.starts_with("/v1/");
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            complete(op, api);
        }
    }
    doc
}

fn problem_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        )
        .build()
}

/// Adds the shared responses that `op` can return and moves its problem bodies to
/// `application/problem+json`.
fn complete(op: &mut Operation, api: bool) {
    let params = op.parameters.as_deref().unwrap_or_default();
    let has_param = params
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Path | ParameterIn::Query));
    let has_query = params
        .iter()
        .any(|p| matches!(p.parameter_in, ParameterIn::Query));
    let json_body = op
        .request_body
        .as_ref()
        .is_some_and(|b| b.content.contains_key("application/json"));
    let secured = op.security.as_ref().is_some_and(|s| !s.is_empty());
    let mut shared = Vec::new();
    if secured {
        shared.push(UNAUTHORIZED);
    }
    if json_body {
        shared.extend([BAD_BODY, TOO_LARGE, MEDIA_TYPE, INVALID]);
    } else if has_param {
        shared.push(BAD_PARAMETER);
    }
    if has_query {
        shared.push(INVALID);
    }
    if api {
        shared.extend([INTERNAL, UNAVAILABLE]);
    }
    let responses = &mut op.responses.responses;
    for s in shared {
        responses
            .entry(s.status.to_string())
            .or_insert_with(|| RefOr::Ref(Ref::from_response_name(s.name)));
    }
    for (status, response) in responses.iter_mut() {
        let RefOr::T(response) = response else {
            continue;
        };
        if !(status.starts_with('4') || status.starts_with('5')) {
            continue;
        }
        let is_problem = response.content.get("application/json").is_some_and(
            |c| matches!(&c.schema, Some(RefOr::Ref(r)) if r.ref_location == PROBLEM_REF),
        );
        if is_problem {
            if let Some(content) = response.content.shift_remove("application/json") {
                response.content.insert(PROBLEM_JSON.to_string(), content);
            }
        }
    }
}

/// The finished document (built once), without the [`rules`] (see [`json`]).
pub fn document() -> &'static utoipa::openapi::OpenApi {
    static DOC: OnceLock<utoipa::openapi::OpenApi> = OnceLock::new();
    DOC.get_or_init(|| finish(crate::routes::api().into_openapi()))
}

/// Text that is not blank: at least one character that is not white space (Unicode's
/// `White_Space`, what `str::trim` removes and [`crate::error::Violations::text`] ignores),
/// written out so that every regex dialect reads it alike.
pub const NOT_BLANK: &str = "[^\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000]";

/// A tag: not blank, no comma.
const TAG: &str = "^[^,]*[^,\\t\\n\\u000b\\f\\r \\u0085\\u00a0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000][^,]*$";

/// Rules the server enforces that the schema derives cannot state (a `pattern` must be a
/// literal there, `uniqueItems` and `contains` have no attribute): a JSON pointer into the
/// document and the members added to the object it points at.
pub fn rules() -> Vec<(&'static str, serde_json::Value)> {
    use serde_json::json;
    let not_blank = json!({ "pattern": NOT_BLANK });
    let tag = json!({ "minLength": 1, "maxLength": 32, "pattern": TAG });
    vec![
        (
            "/components/schemas/LoginRequest/properties/username",
            not_blank.clone(),
        ),
        (
            "/components/schemas/QuestionInput/properties/text",
            not_blank.clone(),
        ),
        (
            "/components/schemas/QuestionInput/properties/topic",
            not_blank.clone(),
        ),
        (
            "/components/schemas/QuestionInput/properties/tags/items",
            tag.clone(),
        ),
        (
            "/components/schemas/QuestionInput/properties/choices",
            // At least one correct choice.
            json!({ "contains": {
                "type": "object",
                "required": ["correct"],
                "properties": { "correct": { "const": true } },
            } }),
        ),
        (
            "/components/schemas/QuestionPatch/properties/text",
            not_blank.clone(),
        ),
        (
            "/components/schemas/QuestionPatch/properties/topic",
            not_blank.clone(),
        ),
        (
            "/components/schemas/QuestionPatch/properties/tags/items",
            tag,
        ),
        (
            "/components/schemas/ChoiceInput/properties/text",
            not_blank.clone(),
        ),
        ("/components/schemas/QuizInput/properties/title", not_blank),
        (
            "/components/schemas/AnswerRequest/properties/choice_ids",
            json!({ "uniqueItems": true }),
        ),
    ]
}

/// Applies `rules` to `doc`; the pointers that lead nowhere.
fn apply_rules(
    doc: &mut serde_json::Value,
    rules: impl IntoIterator<Item = (&'static str, serde_json::Value)>,
) -> Vec<&'static str> {
    let mut missing = Vec::new();
    for (pointer, rule) in rules {
        match (doc.pointer_mut(pointer), rule) {
            (Some(serde_json::Value::Object(target)), serde_json::Value::Object(add)) => {
                target.extend(add)
            }
            _ => missing.push(pointer),
        }
    }
    missing
}

/// The limits a gateway takes from its configuration: a pointer and the members it adds.
fn configured(config: &Config) -> Vec<(&'static str, serde_json::Value)> {
    use serde_json::json;
    vec![
        (
            "/components/schemas/CreateSession/properties/max_players",
            json!({ "maximum": config.live.max_players_per_session }),
        ),
        (
            "/components/schemas/QuestionImport/properties/questions",
            json!({ "maxItems": config.import_max_questions }),
        ),
    ]
}

/// The document served by a gateway with `config`, as JSON: with the [`rules`] and the
/// limits of its configuration (`LIVE_MAX_PLAYERS_PER_SESSION`, `IMPORT_MAX_QUESTIONS`).
pub fn json(config: &Config) -> String {
    let mut doc = serde_json::to_value(document()).unwrap_or_default();
    for pointer in apply_rules(&mut doc, rules().into_iter().chain(configured(config))) {
        tracing::error!(pointer, "an OpenAPI rule points at nothing");
    }
    serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_points_at_a_schema() {
        let mut doc = serde_json::to_value(document()).unwrap();
        let config = Config::default();
        let all = rules().into_iter().chain(configured(&config));
        assert_eq!(apply_rules(&mut doc, all), Vec::<&str>::new());
        let max = &doc["components"]["schemas"]["CreateSession"]["properties"]["max_players"];
        assert_eq!(max["maximum"], config.live.max_players_per_session);
    }

    /// The not-blank class lists exactly the characters `str::trim` removes.
    #[test]
    fn not_blank_is_what_trim_keeps() {
        let class = NOT_BLANK
            .strip_prefix("[^")
            .and_then(|c| c.strip_suffix(']'))
            .unwrap();
        let escaped = |s: &str| -> char {
            match s {
                "\\t" => '\t',
                "\\n" => '\n',
                "\\f" => '\u{c}',
                "\\r" => '\r',
                _ => {
                    let hex = s.strip_prefix("\\u").unwrap();
                    char::from_u32(u32::from_str_radix(hex, 16).unwrap()).unwrap()
                }
            }
        };
        let mut listed = Vec::new();
        let mut rest = class;
        while !rest.is_empty() {
            let (one, tail) = if rest.starts_with("\\u") {
                rest.split_at(6)
            } else if rest.starts_with('\\') {
                rest.split_at(2)
            } else {
                rest.split_at(1)
            };
            let first = if one.len() == 1 {
                one.chars().next().unwrap()
            } else {
                escaped(one)
            };
            if let Some(after) = tail.strip_prefix('-') {
                let (last, tail) = after.split_at(6);
                listed.extend(first..=escaped(last));
                rest = tail;
            } else {
                listed.push(first);
                rest = tail;
            }
        }
        let white: Vec<char> = (0..=char::MAX as u32)
            .filter_map(char::from_u32)
            .filter(|c| c.is_whitespace())
            .collect();
        listed.sort();
        assert_eq!(listed, white);
    }
}
