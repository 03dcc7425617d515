//! Single-feature edits: create, replace, merge-patch (RFC 7396), delete, revert,
//! each checked against the editor's rights, the loader's validation and the
//! `If-Match` version, and audited.

use rand::RngCore;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::Registry;
use crate::geodata::validate_feature;
use crate::model::FieldProblem;
use crate::model::Layer;
use crate::store::{AuditEntry, Op, Role, StoreError, Stored, Token, Write};

/// Who is writing, as the audit log names them.
#[derive(Clone, Debug)]
pub struct Editor {
    /// The token's holder.
    pub token: Token,
}

/// Why an edit was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EditError {
    /// The feature breaks the data rules: each field at fault.
    #[error("the feature is not valid")]
    Invalid(Vec<FieldProblem>),
    /// The request body is not a GeoJSON Feature at all.
    #[error("{0}")]
    Malformed(String),
    /// No such feature (or history entry).
    #[error("{0}")]
    NotFound(String),
    /// The id is taken, or the write raced another.
    #[error("{0}")]
    Conflict(String),
    /// `If-Match` named another version.
    #[error("{0}")]
    Precondition(String),
    /// The token may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The store failed.
    #[error(transparent)]
    Store(StoreError),
}

/// The entity tag of a stored feature: a hash of its body (strong: equal tags mean
/// byte-equal features).
pub fn etag(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    format!("\"{}\"", hex::encode(&digest[..12]))
}

/// Today in China (the `updated` date of an edited feature).
pub fn today() -> chrono::NaiveDate {
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
}

/// A new id for a feature of `layer`: the layer's prefix and 48 random bits.
pub(super) fn new_id(layer: Layer) -> String {
    let prefix = match layer {
        Layer::DriverHome => "dh",
        Layer::CourierStation => "cs",
        Layer::FitnessStation => "fs",
        Layer::Park => "pk",
    };
    let mut bytes = [0u8; 6];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}-{}", hex::encode(bytes))
}

fn malformed(why: impl Into<String>) -> EditError {
    EditError::Malformed(why.into())
}

/// A written feature made ready to store: a GeoJSON Feature object whose top-level
/// `id` equals `properties.id`, with `layer` set, `updated` = today, provenance
/// taken from `before` where the write leaves it out (`source`, `position_accuracy`,
/// `synthetic`), else marked as an edit of unknown precision.
pub(super) fn prepare(
    mut feature: Value,
    layer: Option<Layer>,
    id: Option<&str>,
    before: Option<&Value>,
    default_source: &str,
) -> Result<(Layer, String, Value), EditError> {
    let obj = feature
        .as_object_mut()
        .ok_or_else(|| malformed("the body must be a GeoJSON Feature object"))?;
    if obj.get("type").and_then(Value::as_str) != Some("Feature") {
        return Err(EditError::Invalid(vec![problem(
            "type",
            "expected \"Feature\"",
        )]));
    }
    let top_id = obj.get("id").cloned();
    let props = obj
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    if props.is_null() {
        *props = Value::Object(Map::new());
    }
    let props = props
        .as_object_mut()
        .ok_or_else(|| EditError::Invalid(vec![problem("properties", "must be an object")]))?;
    let given_layer =
        match props.get("layer") {
            Some(Value::String(s)) => Some(s.parse::<Layer>().map_err(|e| {
                EditError::Invalid(vec![problem("properties.layer", &e.to_string())])
            })?),
            None | Some(Value::Null) => None,
            Some(other) => {
                return Err(EditError::Invalid(vec![problem(
                    "properties.layer",
                    &format!("must be a string, got {other}"),
                )]));
            }
        };
    let layer = given_layer.or(layer).ok_or_else(|| {
        EditError::Invalid(vec![problem(
            "properties.layer",
            "is required (driver_home, courier_station, fitness_station or park)",
        )])
    })?;
    for key in DERIVED {
        props.remove(key);
    }
    let prop_id = props.get("id").and_then(Value::as_str).map(str::to_owned);
    let top_id = top_id.as_ref().and_then(Value::as_str).map(str::to_owned);
    for given in [&prop_id, &top_id].into_iter().flatten() {
        if let Some(path_id) = id
            && given != path_id
        {
            return Err(EditError::Invalid(vec![problem(
                "id",
                &format!("'{given}' differs from the id in the address, '{path_id}'"),
            )]));
        }
    }
    if let (Some(a), Some(b)) = (&prop_id, &top_id)
        && a != b
    {
        return Err(EditError::Invalid(vec![problem(
            "id",
            &format!("feature id '{b}' differs from properties.id '{a}'"),
        )]));
    }
    let id = id
        .map(str::to_owned)
        .or(prop_id)
        .or(top_id)
        .unwrap_or_else(|| new_id(layer));
    props.insert("id".into(), Value::String(id.clone()));
    props.insert("layer".into(), Value::String(layer.id().into()));
    let old = before.and_then(|b| b.get("properties"));
    for key in ["source", "position_accuracy", "synthetic"] {
        if props.get(key).is_none_or(Value::is_null) {
            let kept = old
                .and_then(|o| o.get(key))
                .filter(|v| !v.is_null())
                .cloned();
            let value = kept.unwrap_or_else(|| match key {
                "source" => Value::String(default_source.into()),
                "position_accuracy" => Value::String("approximate".into()),
                _ => Value::Bool(false),
            });
            props.insert(key.into(), value);
        }
    }
    props.insert("updated".into(), Value::String(today().to_string()));
    obj.insert("id".into(), Value::String(id.clone()));
    Ok((layer, id, feature))
}

fn problem(field: &str, reason: &str) -> FieldProblem {
    FieldProblem {
        feature: None,
        field: field.into(),
        reason: reason.into(),
    }
}

/// A feature seeded from `geodata/` has no audit entry for its first state (the
/// seed writes none); its first change's `before` is that state. It is shown as
/// entry 0, `seed`, so it can be reverted to like any other.
fn with_seed(mut history: Vec<AuditEntry>) -> Vec<AuditEntry> {
    if let Some(first) = history.first()
        && first.before.is_some()
    {
        let seed = AuditEntry {
            n: 0,
            feature_id: first.feature_id.clone(),
            layer: first.layer.clone(),
            at: String::new(),
            who: "seed".into(),
            op: "seed".into(),
            import_id: None,
            before: None,
            after: first.before.clone(),
        };
        history.insert(0, seed);
    }
    history
}

/// Properties the server adds to what it answers (`GET /features/{id}`, nearest):
/// a client that sends a feature back as it got it must not be refused for them.
const DERIVED: [&str; 4] = ["open_now", "links", "distance_m", "bearing_deg"];

/// RFC 7396 JSON merge patch: objects merge key by key, `null` removes, anything
/// else replaces.
pub fn merge_patch(target: &mut Value, patch: &Value) {
    let Value::Object(changes) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    if let Value::Object(map) = target {
        for (key, value) in changes {
            if value.is_null() {
                map.remove(key);
            } else {
                merge_patch(map.entry(key.clone()).or_insert(Value::Null), value);
            }
        }
    }
}

fn city_of(feature: &Value) -> Option<&str> {
    feature.get("properties")?.get("city")?.as_str()
}

/// An editor limited to one city may write only features of that city, before and after.
fn check_city(token: &Token, features: &[Option<&Value>]) -> Result<(), EditError> {
    let (Role::Editor, Some(city)) = (token.role, &token.city) else {
        return Ok(());
    };
    for f in features.iter().flatten() {
        if city_of(f) != Some(city.as_str()) {
            return Err(EditError::Forbidden(format!(
                "the token '{}' may edit features of {city} only",
                token.name
            )));
        }
    }
    Ok(())
}

fn version_matching(stored: &Stored, if_match: Option<&str>) -> Result<i64, EditError> {
    match if_match {
        None => Ok(stored.version),
        Some(tags) => {
            let current = etag(&stored.body);
            let matches = tags.split(',').map(str::trim).any(|t| {
                t == "*" || t == current || t.strip_prefix("W/") == Some(current.as_str())
            });
            if matches {
                Ok(stored.version)
            } else {
                Err(EditError::Precondition(format!(
                    "feature '{}' has changed: If-Match {tags} is not its current ETag {current}",
                    stored.id
                )))
            }
        }
    }
}

fn parse(body: &str) -> Result<Value, EditError> {
    serde_json::from_str(body).map_err(|e| EditError::Store(StoreError::Damaged(e.to_string())))
}

impl Registry {
    /// The stored feature `id`.
    pub fn stored(&self, id: &str) -> Result<Option<Stored>, EditError> {
        Ok(self.store().get(id)?)
    }

    /// Creates a feature from a GeoJSON Feature (`properties.layer` required; an id
    /// is assigned when absent).
    pub fn create(&self, who: &Editor, feature: Value) -> Result<Stored, EditError> {
        let (layer, id, feature) = prepare(feature, None, None, None, "edit")?;
        check_city(&who.token, &[Some(&feature)])?;
        self.put(who, layer, id, feature, Some(0), Op::Create)
    }

    /// Replaces the feature `id` (PUT).
    pub fn replace(
        &self,
        who: &Editor,
        id: &str,
        feature: Value,
        if_match: Option<&str>,
    ) -> Result<Stored, EditError> {
        let stored = self.existing(id)?;
        let version = version_matching(&stored, if_match)?;
        let before = parse(&stored.body)?;
        let (layer, id, feature) =
            prepare(feature, Some(stored.layer), Some(id), Some(&before), "edit")?;
        check_city(&who.token, &[Some(&before), Some(&feature)])?;
        self.put(who, layer, id, feature, Some(version), Op::Update)
    }

    /// Applies a JSON merge patch to the feature `id` (PATCH).
    pub fn patch(
        &self,
        who: &Editor,
        id: &str,
        patch: &Value,
        if_match: Option<&str>,
    ) -> Result<Stored, EditError> {
        if !patch.is_object() {
            return Err(malformed("a merge patch must be a JSON object"));
        }
        let stored = self.existing(id)?;
        let version = version_matching(&stored, if_match)?;
        let before = parse(&stored.body)?;
        let mut feature = before.clone();
        merge_patch(&mut feature, patch);
        let (layer, id, feature) =
            prepare(feature, Some(stored.layer), Some(id), Some(&before), "edit")?;
        check_city(&who.token, &[Some(&before), Some(&feature)])?;
        self.put(who, layer, id, feature, Some(version), Op::Update)
    }

    /// Deletes the feature `id` (its last state stays in the history).
    pub fn delete(&self, who: &Editor, id: &str, if_match: Option<&str>) -> Result<(), EditError> {
        let stored = self.existing(id)?;
        let version = version_matching(&stored, if_match)?;
        check_city(&who.token, &[Some(&parse(&stored.body)?)])?;
        self.commit(
            &who.token.name,
            None,
            &[Write::Delete {
                id: id.into(),
                expect: Some(version),
                op: Op::Delete,
            }],
        )?;
        Ok(())
    }

    /// The history of the feature `id`, oldest first.
    pub fn history(&self, id: &str) -> Result<Vec<AuditEntry>, EditError> {
        let history = with_seed(self.store().history(id)?);
        if history.is_empty() && self.stored(id)?.is_none() {
            return Err(EditError::NotFound(format!("no feature with id '{id}'")));
        }
        Ok(history)
    }

    /// Sets the feature `id` back to its state after history entry `n` (deleting it
    /// when that entry deleted it); audited as a revert.
    pub fn revert(&self, who: &Editor, id: &str, n: i64) -> Result<Option<Stored>, EditError> {
        let history = with_seed(self.store().history(id)?);
        let entry = history.iter().find(|e| e.n == n).ok_or_else(|| {
            EditError::NotFound(format!("feature '{id}' has no history entry {n}"))
        })?;
        let current = self.stored(id)?;
        let version = current.as_ref().map_or(0, |s| s.version);
        let before = current.as_ref().map(|s| parse(&s.body)).transpose()?;
        match &entry.after {
            Some(target) => {
                let layer = entry.layer.parse::<Layer>().ok();
                let (layer, id, feature) =
                    prepare(target.clone(), layer, Some(id), before.as_ref(), "edit")?;
                check_city(&who.token, &[before.as_ref(), Some(&feature)])?;
                self.put(who, layer, id, feature, Some(version), Op::Revert)
                    .map(Some)
            }
            None => {
                let Some(before) = before else {
                    return Ok(None);
                };
                check_city(&who.token, &[Some(&before)])?;
                self.commit(
                    &who.token.name,
                    None,
                    &[Write::Delete {
                        id: id.into(),
                        expect: Some(version),
                        op: Op::Revert,
                    }],
                )?;
                Ok(None)
            }
        }
    }

    /// Removes every generated demo feature (`synthetic: true`), audited as `purge`;
    /// returns how many.
    pub fn purge_synthetic(&self, who: &str) -> Result<usize, EditError> {
        let all = self.store().features(None)?;
        let writes: Vec<Write> = all
            .iter()
            .filter(|(_, body)| {
                serde_json::from_str::<Value>(body).is_ok_and(|f| {
                    f.get("properties").and_then(|p| p.get("synthetic")) == Some(&Value::Bool(true))
                })
            })
            .map(|(id, _)| Write::Delete {
                id: id.clone(),
                expect: None,
                op: Op::Purge,
            })
            .collect();
        self.commit(who, None, &writes)?;
        Ok(writes.len())
    }

    fn existing(&self, id: &str) -> Result<Stored, EditError> {
        self.stored(id)?
            .ok_or_else(|| EditError::NotFound(format!("no feature with id '{id}'")))
    }

    fn put(
        &self,
        who: &Editor,
        layer: Layer,
        id: String,
        feature: Value,
        expect: Option<i64>,
        op: Op,
    ) -> Result<Stored, EditError> {
        let body = feature.to_string();
        validate_feature(layer, body.as_bytes()).map_err(EditError::Invalid)?;
        let mut written = self.commit(
            &who.token.name,
            None,
            &[Write::Put {
                id,
                layer,
                body,
                expect,
                op,
            }],
        )?;
        written
            .pop()
            .flatten()
            .ok_or_else(|| EditError::Store(StoreError::Damaged("a write returned nothing".into())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_patch_follows_rfc_7396() {
        // The examples of RFC 7396, appendix A (a selection).
        let cases = [
            (json!({"a":"b"}), json!({"a":"c"}), json!({"a":"c"})),
            (json!({"a":"b"}), json!({"b":"c"}), json!({"a":"b","b":"c"})),
            (json!({"a":"b"}), json!({"a":null}), json!({})),
            (
                json!({"a":"b","b":"c"}),
                json!({"a":null}),
                json!({"b":"c"}),
            ),
            (json!({"a":["b"]}), json!({"a":"c"}), json!({"a":"c"})),
            (
                json!({"a":{"b":"c"}}),
                json!({"a":{"b":"d","c":null}}),
                json!({"a":{"b":"d"}}),
            ),
            (json!({"a":[{"b":"c"}]}), json!({"a":[1]}), json!({"a":[1]})),
            (json!(["a", "b"]), json!({"a":"b"}), json!({"a":"b"})),
            (json!({"e":null}), json!({"a":1}), json!({"e":null,"a":1})),
            (
                json!({}),
                json!({"a":{"bb":{"ccc":null}}}),
                json!({"a":{"bb":{}}}),
            ),
        ];
        for (mut target, patch, want) in cases {
            merge_patch(&mut target, &patch);
            assert_eq!(target, want, "patch {patch}");
        }
    }

    #[test]
    fn prepare_keeps_provenance_and_sets_ids() {
        let before = json!({"type":"Feature","properties":{"source":"《中国工人》 2022-10","position_accuracy":"district","synthetic":false}});
        let (layer, id, f) = prepare(
            json!({"type":"Feature","geometry":null,"properties":{"name":"x"}}),
            Some(Layer::Park),
            Some("pk-1"),
            Some(&before),
            "edit",
        )
        .unwrap();
        assert_eq!((layer, id.as_str()), (Layer::Park, "pk-1"));
        assert_eq!(f["id"], "pk-1");
        assert_eq!(f["properties"]["source"], "《中国工人》 2022-10");
        assert_eq!(f["properties"]["position_accuracy"], "district");
        assert_eq!(f["properties"]["updated"], today().to_string());
        let (_, id, f) = prepare(
            json!({"type":"Feature","properties":{"layer":"courier_station"}}),
            None,
            None,
            None,
            "edit",
        )
        .unwrap();
        assert!(id.starts_with("cs-") && id.len() == 15, "{id}");
        assert_eq!(f["properties"]["synthetic"], false);
        let clash = prepare(
            json!({"type":"Feature","id":"a","properties":{"id":"b","layer":"park"}}),
            None,
            None,
            None,
            "edit",
        );
        assert!(matches!(clash, Err(EditError::Invalid(_))));
        let no_layer = prepare(json!({"type":"Feature"}), None, None, None, "edit");
        assert!(matches!(no_layer, Err(EditError::Invalid(p)) if p[0].field == "properties.layer"));
    }

    #[test]
    fn etags_are_strong_and_if_match_is_honoured() {
        let stored = Stored {
            id: "x".into(),
            layer: Layer::Park,
            body: "{}".into(),
            version: 3,
        };
        let tag = etag("{}");
        assert_eq!(version_matching(&stored, Some(&tag)).unwrap(), 3);
        assert_eq!(version_matching(&stored, Some("*")).unwrap(), 3);
        assert!(matches!(
            version_matching(&stored, Some("\"0000\"")),
            Err(EditError::Precondition(_))
        ));
    }
}
