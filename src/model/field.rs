//! Input fields that report every problem, not only the first.
//!
//! A `#[derive(Deserialize)]` struct stops at its first bad field. Input from people
//! (a feature's properties, a siting request) should name *every* field at fault in
//! one answer, so such structs hold their fields as [`Field<T>`]: any JSON value is
//! accepted while the struct is read, and each field keeps either its `T` or the
//! text of the value and why it is not a `T`. A validation step then collects the
//! problems of all fields at once.
//!
//! The value is read as a borrowed `serde_json` raw value, then parsed on its own, so
//! it works with `serde_json::from_slice` / `from_str` (request bodies, files), not
//! with `from_value`.

use serde::de::{Deserialize, Deserializer, Error as _};
use serde_json::value::RawValue;

/// One field of input: its value, or the JSON text given and why it was refused.
#[derive(Clone, Debug, PartialEq)]
pub enum Field<T> {
    /// The value parsed.
    Ok(T),
    /// The value did not parse as a `T`.
    Bad {
        /// The JSON text given (shortened to [`SHOWN`] characters).
        given: String,
        /// What serde said about it.
        reason: String,
    },
}

/// How much of a refused value a problem repeats.
pub const SHOWN: usize = 80;

impl<T> Field<T> {
    /// The value, or the problem's text: `"must be …, got …"` style, naming what was
    /// given.
    pub fn into_result(self) -> Result<T, String> {
        match self {
            Field::Ok(v) => Ok(v),
            Field::Bad { given, reason } => Err(format!("{reason}, got {given}")),
        }
    }

    /// The value when it parsed.
    pub fn ok(self) -> Option<T> {
        match self {
            Field::Ok(v) => Some(v),
            Field::Bad { .. } => None,
        }
    }
}

/// The JSON text `raw`, cut to [`SHOWN`] characters.
fn shown(raw: &str) -> String {
    cut(raw, SHOWN)
}

/// `text` cut to `n` characters (an ellipsis marks the cut).
fn cut(text: &str, n: usize) -> String {
    match text.char_indices().nth(n) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

/// What serde_json said, without what it repeats of the value (the problem shows
/// that, shortened) or its " at line 1 column 7" tail (a position inside the one
/// value): `"invalid type: string \"x\", expected u32 at line 1 column 3"` becomes
/// `"expected u32"`.
fn reason(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let text = match text.rfind(" at line ") {
        Some(cut) => &text[..cut],
        None => &text,
    };
    // A value's own reason (`FromStr`'s: "unknown layer 'x' (known: …)") is kept
    // whole unless it is long (it may repeat a long value).
    match text.rfind(", expected ") {
        Some(at) => text[at + 2..].to_owned(),
        None => cut(text, 4 * SHOWN),
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = <&'de RawValue>::deserialize(d).map_err(|e| {
            D::Error::custom(format_args!(
                "{e} (input fields are read with serde_json from bytes)"
            ))
        })?;
        Ok(match serde_json::from_str::<T>(raw.get()) {
            Ok(v) => Field::Ok(v),
            Err(e) => Field::Bad {
                given: shown(raw.get()),
                reason: reason(&e),
            },
        })
    }
}

/// A field's schema is its value's: what a client should send. (The refused values
/// a `Field` keeps are the server's business, not the document's.)
///
/// utoipa composes generic types through `ComposeSchema` (its derive implements it
/// for them, and gives `PartialSchema` from it); a struct deriving `ToSchema` with a
/// `Field<T>` member needs it. The generic argument's schema comes in `generics`.
impl<T: utoipa::PartialSchema> utoipa::__dev::ComposeSchema for Field<T> {
    fn compose(
        generics: Vec<utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>>,
    ) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        generics.into_iter().next().unwrap_or_else(T::schema)
    }
}

impl<T: utoipa::ToSchema> utoipa::ToSchema for Field<T> {
    fn name() -> std::borrow::Cow<'static, str> {
        T::name()
    }

    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        T::schemas(schemas);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::borrow::Cow;

    #[derive(Deserialize)]
    struct Input<'a> {
        #[serde(default)]
        p: Option<Field<u32>>,
        #[serde(default, borrow)]
        name: Option<Field<Cow<'a, str>>>,
        #[serde(default)]
        on: Option<Field<bool>>,
    }

    #[test]
    fn every_bad_field_is_kept_with_what_was_given() {
        let input: Input = serde_json::from_str(r#"{"p": -3, "name": 7, "on": "yes"}"#).unwrap();
        let p = input.p.unwrap().into_result().unwrap_err();
        assert_eq!(p, "expected u32, got -3");
        assert!(!p.contains("line 1"), "{p}");
        let name = input.name.unwrap().into_result().unwrap_err();
        assert!(
            name.contains("expected a string") && name.ends_with("got 7"),
            "{name}"
        );
        assert!(input.on.unwrap().into_result().is_err());
    }

    #[test]
    fn good_fields_parse_and_absent_or_null_are_none() {
        let input: Input =
            serde_json::from_str(r#"{"p": 3, "name": "临沂\"站\"", "on": null}"#).unwrap();
        assert_eq!(input.p, Some(Field::Ok(3)));
        assert_eq!(
            input.name.map(|n| n.ok().map(Cow::into_owned)),
            Some(Some("临沂\"站\"".to_owned()))
        );
        assert_eq!(input.on, None);
        let empty: Input = serde_json::from_str("{}").unwrap();
        assert!(empty.p.is_none() && empty.name.is_none() && empty.on.is_none());
    }

    #[test]
    fn a_field_is_documented_as_its_value() {
        use utoipa::PartialSchema;
        let doc = |s| serde_json::to_value(s).unwrap();
        assert_eq!(doc(Field::<u32>::schema()), doc(u32::schema()));
        assert_eq!(doc(Field::<String>::schema()), doc(String::schema()));
    }

    #[test]
    fn long_values_are_shortened() {
        let long = format!("\"{}\"", "很".repeat(500));
        let text = format!(r#"{{"p": {long}}}"#);
        let input: Input = serde_json::from_str(&text).unwrap();
        let problem = input.p.unwrap().into_result().unwrap_err();
        assert!(problem.chars().count() < 200, "{problem}");
        assert!(problem.ends_with('…'), "{problem}");
    }
}
