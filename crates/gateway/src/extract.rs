//! Extractors whose rejections are [`ApiError`]s, so malformed input gets problem+json too.
//!
//! axum's own `Json`, `Query` and `Path` reject with plain-text bodies; these wrappers keep
//! their parsing and only translate the rejection: syntax errors → 400, wrong shape (missing
//! field, wrong type, a field the request type does not have) → 422 with the field's JSON
//! path in `errors`, missing `Content-Type: application/json` → 415, too large → 413.
//!
//! Request bodies deny unknown fields (`#[serde(deny_unknown_fields)]` on the `livequiz-sdk` request
//! types): a misspelt optional field or a probe such as `"role": "admin"` is refused by name
//! instead of silently dropped, so a client never believes something was set that was not.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, RawPathParams, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use livequiz_sdk::types::FieldError;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::ApiError;

/// JSON body extractor and responder.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(req.headers()) {
            return Err(not_json());
        }
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| json_rejection(JsonRejection::BytesRejection(e)))?;
        decode_json(&bytes).map(ApiJson)
    }
}

impl<T: Serialize> IntoResponse for ApiJson<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Whether a request declares a JSON body: `application/json` or `application/*+json`,
/// parameters allowed (the rule of axum's `Json`).
fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    let subtype = subtype.to_ascii_lowercase();
    kind.eq_ignore_ascii_case("application") && (subtype == "json" || subtype.ends_with("+json"))
}

/// Decodes a JSON body (also for routes that read the body themselves, with their own size
/// limit), with the problem documents of [`ApiJson`].
///
/// JSON has one number type, and JSON Schema counts `57.0` as the integer 57, so a number
/// with a zero fraction is accepted where the type wants an integer: when a body fails only
/// because of such numbers, it is decoded again with them written as integers.
pub fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    match axum::Json::<T>::from_bytes(bytes) {
        Ok(axum::Json(v)) => Ok(v),
        Err(JsonRejection::JsonDataError(e)) => integral_floats_as_integers(bytes)
            .and_then(|b| axum::Json::<T>::from_bytes(&b).ok())
            .map(|axum::Json(v)| v)
            .ok_or_else(|| json_rejection(JsonRejection::JsonDataError(e))),
        Err(rej) => Err(json_rejection(rej)),
    }
}

/// The integer a JSON number token stands for when it is written with a fraction or an
/// exponent but has no fractional part (`57.0`, `-3.00`, `1e3`, `2.5e1`), as decimal digits;
/// `None` for anything else (a plain integer included). Exact: computed on the digits, never
/// through a float, so `9223372036854775807.5` is no integer.
pub fn integral_number(token: &str) -> Option<String> {
    let (negative, unsigned) = match token.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, token),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(i) => (&unsigned[..i], Some(&unsigned[i + 1..])),
        None => (unsigned, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if exponent.is_none() && frac.is_empty() {
        return None;
    }
    let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits_only(int) || !digits_only(frac) {
        return None;
    }
    let exponent: i64 = match exponent {
        Some(e) => {
            let e = e.strip_prefix('+').unwrap_or(e);
            // Anything beyond 40 digits is out of every integer type's range anyway.
            if e.trim_start_matches('-').len() > 4 {
                return None;
            }
            e.parse().ok()?
        }
        None => 0,
    };
    // digits × 10^shift
    let digits = format!("{int}{frac}");
    let shift = exponent - frac.len() as i64;
    let integer = if shift >= 0 {
        if shift > 40 {
            return None;
        }
        format!("{digits}{}", "0".repeat(shift as usize))
    } else {
        let cut = digits.len() as i64 + shift;
        let (whole, rest) = if cut <= 0 {
            ("", digits.as_str())
        } else {
            digits.split_at(cut as usize)
        };
        if !rest.bytes().all(|b| b == b'0') {
            return None;
        }
        whole.to_string()
    };
    let integer = integer.trim_start_matches('0');
    let integer = if integer.is_empty() { "0" } else { integer };
    if integer.len() > 40 {
        return None;
    }
    Some(if negative && integer != "0" {
        format!("-{integer}")
    } else {
        integer.to_string()
    })
}

/// The body with every number token that is an integer written with a fraction or an
/// exponent ([`integral_number`]) rewritten as plain digits, or `None` when it has none.
/// Strings are left alone.
fn integral_floats_as_integers(bytes: &[u8]) -> Option<Vec<u8>> {
    let text = std::str::from_utf8(bytes).ok()?;
    let mut out = String::with_capacity(text.len());
    let mut changed = false;
    let mut rest = text;
    while let Some(i) = rest.find(|c: char| c == '"' || c == '-' || c.is_ascii_digit()) {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        if rest.starts_with('"') {
            // A string: copied as is, escapes included, up to its closing quote.
            let mut end = 1;
            let b = rest.as_bytes();
            while end < b.len() && b[end] != b'"' {
                end += if b[end] == b'\\' { 2 } else { 1 };
            }
            let end = (end + 1).min(rest.len());
            out.push_str(&rest[..end]);
            rest = &rest[end..];
            continue;
        }
        let len = rest
            .find(|c: char| !(c.is_ascii_digit() || matches!(c, '-' | '+' | '.' | 'e' | 'E')))
            .unwrap_or(rest.len());
        let token = &rest[..len];
        match integral_number(token) {
            Some(int) => {
                out.push_str(&int);
                changed = true;
            }
            None => out.push_str(token),
        }
        rest = &rest[len..];
    }
    out.push_str(rest);
    changed.then(|| out.into_bytes())
}

fn json_rejection(rej: JsonRejection) -> ApiError {
    match rej {
        JsonRejection::JsonDataError(e) => match path_error(&e) {
            Some(field) => ApiError::Validation(vec![field]),
            None => ApiError::Unprocessable(format!(
                "the JSON body does not match the schema: {}",
                source_text(&e)
            )),
        },
        JsonRejection::JsonSyntaxError(e) => {
            ApiError::BadRequest(format!("the body is not valid JSON: {}", source_text(&e)))
        }
        JsonRejection::MissingJsonContentType(_) => not_json(),
        JsonRejection::BytesRejection(e) => {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge("the request body exceeds the size limit".into())
            } else {
                ApiError::BadRequest(format!("cannot read the request body: {e}"))
            }
        }
        other => ApiError::BadRequest(other.body_text()),
    }
}

fn not_json() -> ApiError {
    ApiError::UnsupportedMediaType(
        "send the body as JSON with `Content-Type: application/json`".into(),
    )
}

/// The field a data error is about, with serde's message: an unknown or missing field is
/// named by its own path (`choices[1].weight`), a value of the wrong type by the path of the
/// value.
fn path_error(e: &(dyn std::error::Error + 'static)) -> Option<FieldError> {
    let mut cur = Some(e);
    let err = loop {
        let this = cur?;
        if let Some(p) = this.downcast_ref::<serde_path_to_error::Error<serde_json::Error>>() {
            break p;
        }
        cur = this.source();
    };
    let text = err.inner().to_string();
    // serde_json appends the position; the field path says more.
    let message = match text.rsplit_once(" at line ") {
        Some((m, _)) => m.to_string(),
        None => text,
    };
    let path = err.path().to_string();
    let named = ["unknown field `", "missing field `"]
        .iter()
        .find_map(|p| message.strip_prefix(p))
        .and_then(|rest| rest.split_once('`'))
        .map(|(name, _)| name.to_string());
    // An unknown field's path already ends with it; a missing field's is its parent's.
    let field = match (path.as_str(), named) {
        (".", Some(name)) => name,
        (".", None) => String::new(),
        (p, Some(name)) if p != name && !p.ends_with(&format!(".{name}")) => {
            format!("{p}.{name}")
        }
        (p, _) => p.to_string(),
    };
    Some(FieldError { field, message })
}

/// The innermost error message (serde's message with line/column), without axum's prefix.
fn source_text(e: &dyn std::error::Error) -> String {
    let mut cur: &dyn std::error::Error = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// Query-string extractor (`?a=1&b=2`); bad values get 400 problem+json.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(ApiQuery(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                // An integer written with a zero fraction is an integer, as in bodies.
                let query = parts.uri.query().unwrap_or_default();
                let pairs: Vec<(String, String)> =
                    serde_urlencoded::from_str(query).unwrap_or_default();
                let mut changed = false;
                let pairs: Vec<(String, String)> = pairs
                    .into_iter()
                    .map(|(k, v)| match integral_number(&v) {
                        Some(int) => {
                            changed = true;
                            (k, int)
                        }
                        None => (k, v),
                    })
                    .collect();
                changed
                    .then(|| serde_urlencoded::to_string(&pairs).ok())
                    .flatten()
                    .and_then(|q| serde_urlencoded::from_str::<T>(&q).ok())
                    .map(ApiQuery)
                    .ok_or_else(|| {
                        ApiError::BadRequest(format!("invalid query string: {}", source_text(&e)))
                    })
            }
            Err(e) => Err(ApiError::BadRequest(e.body_text())),
        }
    }
}

/// Path-parameter extractor; a non-numeric id gets 400 problem+json (not a plain-text 400).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(v)) => Ok(ApiPath(v)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => {
                // An id written with a zero fraction (`/v1/quizzes/7.0`) is an integer, as in
                // bodies: the parameters again, as JSON numbers where they are integers.
                let retry = RawPathParams::from_request_parts(parts, state)
                    .await
                    .ok()
                    .and_then(|raw| {
                        let values: Vec<serde_json::Value> = raw
                            .iter()
                            .map(|(_, v)| match integral_number(v) {
                                Some(int) => serde_json::from_str(&int)
                                    .unwrap_or(serde_json::Value::String(int)),
                                None => serde_json::Value::String(v.to_string()),
                            })
                            .collect();
                        let value = match <[serde_json::Value; 1]>::try_from(values) {
                            Ok([one]) => one,
                            Err(many) => serde_json::Value::Array(many),
                        };
                        serde_json::from_value::<T>(value).ok()
                    });
                retry.map(ApiPath).ok_or_else(|| {
                    ApiError::BadRequest(format!("invalid path parameter: {}", e.body_text()))
                })
            }
            Err(e) => Err(ApiError::BadRequest(e.body_text())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        id: i64,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body2 {
        name: String,
        items: Vec<Item>,
    }

    async fn reject(body: &str) -> ApiError {
        let req = Request::builder()
            .method("POST")
            .header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap();
        match ApiJson::<Body2>::from_request(req, &()).await {
            Ok(v) => panic!("accepted {:?}", v.0),
            Err(e) => e,
        }
    }

    fn fields(e: &ApiError) -> Vec<String> {
        e.problem().errors.into_iter().map(|f| f.field).collect()
    }

    /// JSON Schema counts `3.0` as an integer, so the document's integers accept it; a real
    /// fraction, or a number out of the type's range, is still refused by field.
    #[test]
    fn integers_written_with_a_zero_fraction_are_integers() {
        let item: Item = decode_json(br#"{"id": 3.0}"#).expect("3.0 is 3");
        assert_eq!(item.id, 3);
        let body: Body2 =
            decode_json(br#"{"name": "a", "items": [{"id": -2.0}, {"id": 1e3}]}"#).expect("nested");
        assert_eq!(body.items[1].id, 1000);
        for bad in [
            r#"{"id": 3.5}"#,
            r#"{"id": 1e300}"#,
            r#"{"id": "3.0"}"#,
            r#"{"id": -9223372036854775809}"#,
            r#"{"id": 9223372036854775807.5}"#,
        ] {
            let e = decode_json::<Item>(bad.as_bytes()).expect_err(bad);
            assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
            assert_eq!(fields(&e), ["id"], "{bad}");
        }
    }

    #[test]
    fn integral_numbers_are_found_exactly() {
        for (token, int) in [
            ("57.0", Some("57")),
            ("-3.00", Some("-3")),
            ("1e3", Some("1000")),
            ("2.5e1", Some("25")),
            ("2500e-2", Some("25")),
            ("-0.0", Some("0")),
            ("0.5e1", Some("5")),
            ("57", None),
            ("57.5", None),
            ("25e-1", None),
            ("9223372036854775807.5", None),
            ("1.", None),
            ("abc", None),
        ] {
            assert_eq!(integral_number(token).as_deref(), int, "{token}");
        }
        let body = integral_floats_as_integers(br#"{"a": [1.0, "2.0", 3.5, -4e0], "b\"1.0": 2.0}"#);
        assert_eq!(
            String::from_utf8(body.unwrap()).unwrap(),
            r#"{"a": [1, "2.0", 3.5, -4], "b\"1.0": 2}"#
        );
    }

    #[tokio::test]
    async fn data_errors_name_the_field_by_its_json_path() {
        let e = reject(r#"{"name":"a","items":[],"admin":true}"#).await;
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(fields(&e), ["admin"]);
        assert!(e.problem().errors[0].message.contains("unknown field"));
        let e = reject(r#"{"name":"a","items":[{"id":1},{"id":2,"x":0}]}"#).await;
        assert_eq!(fields(&e), ["items[1].x"]);
        let e = reject(r#"{"name":"a","items":[{"id":"one"}]}"#).await;
        assert_eq!(fields(&e), ["items[0].id"]);
        let e = reject(r#"{"items":[]}"#).await;
        assert_eq!(fields(&e), ["name"]);
        let e = reject(r#"{"name":"a","items":[{}]}"#).await;
        assert_eq!(fields(&e), ["items[0].id"]);
        let e = reject(r#"{"name":"a""#).await;
        assert_eq!(e.status(), StatusCode::BAD_REQUEST);
    }
}
