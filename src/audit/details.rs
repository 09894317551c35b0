//! An event's stored details (JSON) as readable lines. Changes store
//! `{"before": {…}, "after": {…}}` (an edit), `{"after": {…}}` (a creation) or
//! `{"before": x, "after": y}` (one value), sometimes beside other keys (`"users": 3`); other
//! events store a flat object (`{"reason": "…"}`). So: a field changed reads
//! `Label: before → after`, anything else `Label: value`, the label being the field's name as
//! the forms show it (the stored key stays as it is, so old rows read the same way).

use serde_json::{Map, Value};

/// One line of an event's details.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetailLine {
    pub field: String,
    /// Set when the field changed: the value before (`value` is the one after).
    pub before: Option<String>,
    pub value: String,
}

impl DetailLine {
    fn plain(field: &str, value: &Value) -> Self {
        Self { field: label(field), before: None, value: shown(value) }
    }

    /// `field: value` or `field: before → after`.
    pub fn text(&self) -> String {
        match &self.before {
            Some(before) => format!("{}: {before} → {}", self.field, self.value),
            None => format!("{}: {}", self.field, self.value),
        }
    }
}

/// A stored key as a person reads it: the label its form gives it, or else the key with spaces
/// for underscores and a capital first letter.
fn label(key: &str) -> String {
    let known = match key {
        "quota_gb" => "Quota (GB)",
        "plan_id" => "Plan",
        "no_second_factor" => "No 2nd Factor",
        "unsigned_containers" => "Unsigned Containers",
        "release_protections" => "Release Protections",
        "default" => "Default plan",
        "contact" => "Contact Person",
        "url" => "URL",
        "starttls" => "StartTLS",
        "bind_dn" => "Bind DN",
        "base_dn" => "Base DN",
        "email_attr" => "Email attribute",
        "name_attr" => "Display name attribute",
        "schedule_minutes" => "Sync every (minutes)",
        "new_entry_status" => "New directory users start as",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_owned();
    }
    let spaced = key.replace('_', " ");
    let mut chars = spaced.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => spaced,
    }
}

/// A JSON value as a person reads it: text without quotes, nothing as "(none)".
fn shown(value: &Value) -> String {
    match value {
        Value::Null => "(none)".into(),
        Value::String(text) if text.is_empty() => "(empty)".into(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

/// The lines of `details` (the stored text); text that is not a JSON object is one line.
pub fn lines(details: &str) -> Vec<DetailLine> {
    match serde_json::from_str::<Value>(details) {
        Ok(Value::Object(map)) => object_lines(&map),
        Ok(Value::Null) => Vec::new(),
        _ if details.trim().is_empty() => Vec::new(),
        _ => vec![DetailLine { field: "Details".into(), before: None, value: details.to_owned() }],
    }
}

fn object_lines(map: &Map<String, Value>) -> Vec<DetailLine> {
    let (before, after) = (map.get("before"), map.get("after"));
    let mut lines = Vec::new();
    match (before, after) {
        (None, None) => {}
        // Both sides objects (or one side missing): compare field by field.
        (Some(Value::Object(b)), Some(Value::Object(a))) => changes(&mut lines, b, a),
        (None, Some(Value::Object(side))) | (Some(Value::Object(side)), None) => {
            lines.extend(side.iter().map(|(field, value)| DetailLine::plain(field, value)));
        }
        (Some(Value::Object(b)), Some(Value::Null)) => changes(&mut lines, b, &Map::new()),
        (Some(Value::Null), Some(Value::Object(a))) => changes(&mut lines, &Map::new(), a),
        // One value before and after (a property): a single change line.
        (b, a) => {
            let (b, a) = (b.unwrap_or(&Value::Null), a.unwrap_or(&Value::Null));
            lines.push(if b == a {
                DetailLine::plain("value", a)
            } else {
                DetailLine { field: "Value".into(), before: Some(shown(b)), value: shown(a) }
            });
        }
    }
    for (field, value) in map.iter().filter(|(field, _)| *field != "before" && *field != "after") {
        lines.push(DetailLine::plain(field, value));
    }
    lines
}

/// Every field of either side: changed ones as `before → after`, the rest as their value.
fn changes(lines: &mut Vec<DetailLine>, before: &Map<String, Value>, after: &Map<String, Value>) {
    let fields = before.keys().chain(after.keys().filter(|key| !before.contains_key(*key)));
    for field in fields {
        let (b, a) = (before.get(field).unwrap_or(&Value::Null), after.get(field).unwrap_or(&Value::Null));
        lines.push(if b == a {
            DetailLine::plain(field, a)
        } else {
            DetailLine { field: label(field), before: Some(shown(b)), value: shown(a) }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(details: &str) -> Vec<String> {
        lines(details).iter().map(DetailLine::text).collect()
    }

    #[test]
    fn an_edit_reads_before_and_after_per_field() {
        let details = r#"{"before":{"name":"Acme","quota_gb":10,"seats":null},"after":{"name":"Acme","quota_gb":20,"seats":5},"users":3}"#;
        assert_eq!(texts(details), ["Name: Acme", "Quota (GB): 10 → 20", "Seats: (none) → 5", "Users: 3"]);
    }

    #[test]
    fn a_creation_and_a_flat_object_read_as_values() {
        assert_eq!(
            texts(r#"{"after":{"name":"New","default":true},"status":"invited"}"#),
            ["Default plan: true", "Name: New", "Status: invited"]
        );
        assert_eq!(
            texts(r#"{"reason":"wrong password","failures in a row":2}"#),
            ["Failures in a row: 2", "Reason: wrong password"]
        );
    }

    #[test]
    fn one_value_before_and_after() {
        assert_eq!(texts(r#"{"before":null,"after":30}"#), ["Value: (none) → 30"]);
        assert_eq!(texts(r#"{"before":30,"after":30}"#), ["Value: 30"]);
    }

    #[test]
    fn nested_values_empty_details_and_junk() {
        assert_eq!(texts(r#"{"after":{"ids":[1,2],"x":""}}"#), ["Ids: [1,2]", "X: (empty)"]);
        assert!(lines("{}").is_empty());
        assert!(lines("").is_empty());
        assert_eq!(texts("not json"), ["Details: not json"]);
        assert_eq!(texts("[1]"), ["Details: [1]"]);
    }
}
