//! Custom fields: the definitions a group makes, and a contact's values checked against the
//! definitions of every group it is in. Values are strings; the type says what they must
//! spell.

use std::collections::BTreeMap;

use textbird_store::{ContactGroup, FieldDef, FieldType};

use crate::FieldError;

/// Names a message template already gives a meaning to, so no group may define them.
const RESERVED: [&str; 10] =
    ["first_name", "last_name", "email", "url", "custom", "custom1", "custom2", "custom3", "custom4", "phone"];
const MAX_NAME_LEN: usize = 32;
/// Fields one group defines at most.
pub(crate) const MAX_DEFINITIONS: usize = 50;
/// Fields one contact holds at most.
pub(crate) const MAX_VALUES: usize = 100;
pub(crate) const MAX_VALUE_CHARS: usize = 1000;

/// Whether `name` matches `^[a-z][a-z0-9_]{0,31}$` and is not reserved.
fn check_name(name: &str) -> Result<(), String> {
    let mut bytes = name.bytes();
    let well_formed = bytes.next().is_some_and(|b| b.is_ascii_lowercase())
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && name.len() <= MAX_NAME_LEN;
    if !well_formed {
        return Err(format!(
            "must start with a lowercase letter and hold only a-z, 0-9 and _ (at most {MAX_NAME_LEN})"
        ));
    }
    if RESERVED.contains(&name) {
        return Err(format!("{name:?} is reserved"));
    }
    Ok(())
}

/// Problems with a group's field definitions, as `fields[i].name`.
pub(crate) fn check_definitions(defs: &[FieldDef]) -> Vec<FieldError> {
    let mut problems = Vec::new();
    if defs.len() > MAX_DEFINITIONS {
        problems.push(FieldError::new("fields", format!("at most {MAX_DEFINITIONS} fields")));
    }
    for (i, def) in defs.iter().enumerate() {
        if let Err(e) = check_name(&def.name) {
            problems.push(FieldError::new(format!("fields[{i}].name"), e));
        } else if defs[..i].iter().any(|d| d.name == def.name) {
            problems.push(FieldError::new(format!("fields[{i}].name"), "is defined twice"));
        }
    }
    problems
}

/// What a value of `kind` must spell, when `value` does not.
fn check_type(kind: FieldType, value: &str) -> Result<(), &'static str> {
    let ok = match kind {
        FieldType::String => true,
        FieldType::Number => value.trim().parse::<f64>().is_ok_and(f64::is_finite),
        FieldType::Date => value.len() == 10 && value.parse::<jiff::civil::Date>().is_ok(),
        FieldType::Boolean => matches!(value, "true" | "false"),
    };
    if ok {
        return Ok(());
    }
    Err(match kind {
        FieldType::String => "must be a string",
        FieldType::Number => "must be a number",
        FieldType::Date => "must be a date (YYYY-MM-DD)",
        FieldType::Boolean => "must be \"true\" or \"false\"",
    })
}

/// Problems with a contact's field values in `groups` (the groups it is or will be in), each
/// named `{prefix}.{field}`: a field no group defines, a value of the wrong type, or a field
/// a group requires that is missing or empty.
pub(crate) fn check_values(
    values: &BTreeMap<String, String>,
    groups: &[ContactGroup],
    prefix: &str,
) -> Vec<FieldError> {
    let mut problems = Vec::new();
    if values.len() > MAX_VALUES {
        problems.push(FieldError::new(prefix, format!("at most {MAX_VALUES} fields")));
    }
    for (name, value) in values {
        let path = format!("{prefix}.{name}");
        let mut defs = groups.iter().flat_map(|g| &g.fields).filter(|d| &d.name == name).peekable();
        if defs.peek().is_none() {
            problems.push(FieldError::new(path, "is not a field of any of the contact's groups"));
            continue;
        }
        if value.chars().count() > MAX_VALUE_CHARS {
            problems.push(FieldError::new(path, format!("at most {MAX_VALUE_CHARS} characters")));
            continue;
        }
        if let Some(message) = defs.find_map(|d| check_type(d.kind, value).err()) {
            problems.push(FieldError::new(path, message));
        }
    }
    for group in groups {
        for def in group.fields.iter().filter(|d| d.required) {
            let missing = values.get(&def.name).is_none_or(|v| v.trim().is_empty());
            let path = format!("{prefix}.{}", def.name);
            if missing && !problems.iter().any(|p| p.field == path) {
                problems.push(FieldError::new(path, format!("is required by the group {:?}", group.name)));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, kind: FieldType, required: bool) -> FieldDef {
        FieldDef { name: name.into(), kind, required }
    }

    fn group(name: &str, fields: Vec<FieldDef>) -> ContactGroup {
        ContactGroup {
            id: name.into(),
            account_id: "a".into(),
            name: name.into(),
            fields,
            created_at: 0,
            updated_at: 0,
        }
    }

    fn values(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    fn fields_of(problems: &[FieldError]) -> Vec<&str> {
        problems.iter().map(|p| p.field.as_str()).collect()
    }

    #[test]
    fn names_follow_the_pattern_and_avoid_reserved_tokens() {
        for good in ["plan", "a", "x_1", "a234567890123456789012345678901b"] {
            assert!(check_name(good).is_ok(), "{good}");
        }
        for bad in
            ["", "Plan", "1plan", "_x", "pl-an", "a2345678901234567890123456789012b", "first_name", "custom3", "phone"]
        {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn duplicate_and_reserved_definitions_are_named_by_index() {
        let defs = [
            def("plan", FieldType::String, false),
            def("plan", FieldType::Number, false),
            def("email", FieldType::String, false),
        ];
        assert_eq!(fields_of(&check_definitions(&defs)), ["fields[1].name", "fields[2].name"]);
    }

    #[test]
    fn each_type_accepts_its_spelling_only() {
        assert!(check_type(FieldType::Number, "12.5").is_ok());
        assert!(check_type(FieldType::Number, "-3").is_ok());
        assert!(check_type(FieldType::Number, "twelve").is_err());
        assert!(check_type(FieldType::Number, "NaN").is_err());
        assert!(check_type(FieldType::Date, "2026-02-28").is_ok());
        assert!(check_type(FieldType::Date, "2026-02-30").is_err());
        assert!(check_type(FieldType::Date, "20260228").is_err());
        assert!(check_type(FieldType::Boolean, "true").is_ok());
        assert!(check_type(FieldType::Boolean, "yes").is_err());
        assert!(check_type(FieldType::String, "anything").is_ok());
    }

    #[test]
    fn values_are_checked_against_every_group() {
        let gold = group("gold", vec![def("plan", FieldType::String, true), def("seats", FieldType::Number, false)]);
        let news = group("news", vec![def("since", FieldType::Date, true)]);
        let groups = [gold, news];
        assert!(check_values(&values(&[("plan", "pro"), ("since", "2024-01-31")]), &groups, "fields").is_empty());
        let problems = check_values(&values(&[("seats", "many"), ("colour", "red")]), &groups, "fields");
        assert_eq!(fields_of(&problems), ["fields.colour", "fields.seats", "fields.plan", "fields.since"]);
        let blank = check_values(&values(&[("plan", " "), ("since", "2024-01-31")]), &groups, "fields");
        assert_eq!(fields_of(&blank), ["fields.plan"], "a blank value does not meet a requirement");
    }

    #[test]
    fn a_contact_in_no_group_has_no_fields() {
        let problems = check_values(&values(&[("plan", "pro")]), &[], "contact_ids[0].fields");
        assert_eq!(fields_of(&problems), ["contact_ids[0].fields.plan"]);
        assert!(check_values(&BTreeMap::new(), &[], "fields").is_empty());
    }
}
