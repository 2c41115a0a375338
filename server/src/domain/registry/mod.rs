//! The population registry: validated citizen records, bulk import (NDJSON, CSV), a synthetic
//! generator, and name matching.

pub mod generate;
pub mod id_number;
pub mod import;
pub mod lookup;
pub mod names;
pub mod phones;

use serde::Deserialize;
use std::borrow::Cow;

use self::id_number::{IdNumberError, Sex};
use crate::store::{Citizen, CitizenStatus};

/// One row of the import contract, as read (NDJSON object or CSV record): a citizen record, or
/// (NDJSON only) a document of a credential kind when `document` is present. Other fields are
/// ignored.
#[derive(Debug, Deserialize)]
pub struct ImportRow<'a> {
    /// A document row: the credential kind (`driving_licence`, `health_insurance`,
    /// `vehicle_registration`, `judicial_record`).
    #[serde(borrow, default)]
    pub document: Option<Cow<'a, str>>,
    /// A document row: the kind's own claims (the personal claims come from the citizen record).
    #[serde(default)]
    pub claims: Option<serde_json::Value>,
    /// 12 digits.
    #[serde(borrow)]
    pub id_number: Option<Cow<'a, str>>,
    /// UTF-8; stored NFC.
    #[serde(borrow)]
    pub full_name: Option<Cow<'a, str>>,
    /// `YYYY-MM-DD`.
    #[serde(borrow)]
    pub date_of_birth: Option<Cow<'a, str>>,
    /// `male` | `female`.
    #[serde(borrow)]
    pub sex: Option<Cow<'a, str>>,
    /// Quê quán.
    #[serde(borrow)]
    pub place_of_origin: Option<Cow<'a, str>>,
    /// Nơi thường trú.
    #[serde(borrow)]
    pub place_of_residence: Option<Cow<'a, str>>,
    /// `living` (default) | `deceased`.
    #[serde(borrow)]
    pub status: Option<Cow<'a, str>>,
    /// The mobile numbers registered to the citizen, in any common spelling (a JSON array; in
    /// CSV one cell, the numbers separated by `;` or `,`).
    #[serde(default)]
    pub phones: Option<Vec<String>>,
}

/// Why a registry row is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// A required field is absent or empty.
    #[error("missing field `{0}`")]
    Missing(&'static str),
    /// The ID number is malformed or inconsistent.
    #[error("id_number: {0}")]
    IdNumber(#[from] IdNumberError),
    /// The date of birth is not a real `YYYY-MM-DD` date in the past.
    #[error("date_of_birth: expected a past date as YYYY-MM-DD")]
    DateOfBirth,
    /// `sex` is not `male` or `female`.
    #[error("sex: expected `male` or `female`")]
    Sex,
    /// `status` is not `living` or `deceased`.
    #[error("status: expected `living` or `deceased`")]
    Status,
    /// A text field is too long or holds control characters.
    #[error("{0}: at most 200 characters, no control characters")]
    Text(&'static str),
    /// The row is not valid JSON / CSV, or has the wrong shape.
    #[error("malformed row: {0}")]
    Malformed(String),
    /// The same ID number (or document of an ID number) appeared earlier in the same import.
    #[error("duplicate id_number (first on line {0})")]
    Duplicate(u64),
    /// A document row is not a document of a known kind with valid claims.
    #[error("document: {0}")]
    Document(String),
    /// A phone number is not a Vietnamese mobile number, or there are too many.
    #[error("phones: {0}")]
    Phones(#[from] phones::PhonesError),
}

/// A validated row: a citizen record or a registry document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A citizen record.
    Citizen(Citizen),
    /// A document of a credential kind.
    Document(Document),
}

/// A validated registry document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Whose (12 digits, well formed).
    pub id_number: String,
    /// The credential kind id.
    pub kind: String,
    /// The claims as canonical JSON: NFC text, members sorted by name at every depth.
    pub claims: String,
}

/// `value` with every object's members sorted by name, at every depth (one stored form per
/// document, so a re-import that only reorders members changes nothing).
pub fn canonical_json(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut members: Vec<(String, Value)> = map.into_iter().collect();
            members.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                members
                    .into_iter()
                    .map(|(k, v)| (k, canonical_json(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canonical_json).collect()),
        other => other,
    }
}

fn required<'a>(
    value: &'a Option<Cow<'_, str>>,
    field: &'static str,
) -> Result<&'a str, RecordError> {
    match value.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(RecordError::Missing(field)),
    }
}

fn text(value: &str, field: &'static str) -> Result<String, RecordError> {
    let canonical = names::canonical(value);
    if canonical.chars().count() > 200 || canonical.chars().any(char::is_control) {
        return Err(RecordError::Text(field));
    }
    Ok(canonical)
}

/// Parses `YYYY-MM-DD` into (year, month, day) if it is a real date no later than `today`.
pub fn parse_date(s: &str, today: (u32, u32, u32)) -> Option<(u32, u32, u32)> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = &b[range];
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0, |n, d| n * 10 + u32::from(d - b'0')))
    };
    let (y, m, d) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if y < 1900 || d == 0 || d > days || (y, m, d) > today {
        return None;
    }
    Some((y, m, d))
}

/// Today's date (UTC) as (year, month, day).
pub fn today() -> (u32, u32, u32) {
    let date = time::OffsetDateTime::from_unix_timestamp(crate::platform::clock::now())
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
        .date();
    (
        date.year() as u32,
        u8::from(date.month()).into(),
        date.day().into(),
    )
}

impl ImportRow<'_> {
    /// Validates the row into a citizen record or a document.
    pub fn validate_record(&self, today: (u32, u32, u32)) -> Result<Record, RecordError> {
        match &self.document {
            None => self.validate(today).map(Record::Citizen),
            Some(kind) => self.validate_document(kind).map(Record::Document),
        }
    }

    fn validate_document(&self, kind: &str) -> Result<Document, RecordError> {
        use dinhdanh_sdk::vc::CredentialKind;
        let id_number = required(&self.id_number, "id_number")?;
        id_number::check_format(id_number)?;
        let kind = CredentialKind::from_id(kind.trim())
            .ok_or_else(|| RecordError::Document(format!("unknown kind {kind:?}")))?;
        let mut claims = match &self.claims {
            Some(serde_json::Value::Object(claims)) => serde_json::Value::Object(claims.clone()),
            _ => return Err(RecordError::Document("claims must be a JSON object".into())),
        };
        dinhdanh_sdk::vc::normalize_nfc(&mut claims);
        let claims = canonical_json(claims);
        let serde_json::Value::Object(map) = &claims else {
            return Err(RecordError::Document("claims must be a JSON object".into()));
        };
        crate::domain::issuance::claims::check_document(kind, map)
            .map_err(RecordError::Document)?;
        if claims.to_string().len() > 16 * 1024 {
            return Err(RecordError::Document("claims larger than 16 KiB".into()));
        }
        Ok(Document {
            id_number: id_number.to_owned(),
            kind: kind.id().to_owned(),
            claims: claims.to_string(),
        })
    }

    /// Validates the row into a registry record.
    pub fn validate(&self, today: (u32, u32, u32)) -> Result<Citizen, RecordError> {
        let id_number = required(&self.id_number, "id_number")?;
        let full_name = text(required(&self.full_name, "full_name")?, "full_name")?;
        let date_of_birth = required(&self.date_of_birth, "date_of_birth")?;
        let (year, _, _) = parse_date(date_of_birth, today).ok_or(RecordError::DateOfBirth)?;
        let sex = Sex::parse(required(&self.sex, "sex")?).ok_or(RecordError::Sex)?;
        id_number::check(id_number, year, sex)?;
        let place_of_origin = text(
            required(&self.place_of_origin, "place_of_origin")?,
            "place_of_origin",
        )?;
        let place_of_residence = text(
            required(&self.place_of_residence, "place_of_residence")?,
            "place_of_residence",
        )?;
        let status = match self.status.as_deref().map(str::trim) {
            None | Some("") | Some("living") => CitizenStatus::Living,
            Some("deceased") => CitizenStatus::Deceased,
            Some(_) => return Err(RecordError::Status),
        };
        let phones = match &self.phones {
            Some(numbers) => Some(phones::stored(numbers.iter().map(String::as_str))?),
            None => None,
        };
        Ok(Citizen {
            id_number: id_number.to_owned(),
            full_name,
            date_of_birth: date_of_birth.to_owned(),
            sex: sex.as_str().to_owned(),
            place_of_origin,
            place_of_residence,
            status,
            phones,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TODAY: (u32, u32, u32) = (2026, 11, 27);

    fn row(json: &str) -> Result<Citizen, RecordError> {
        let row: ImportRow<'_> =
            serde_json::from_str(json).map_err(|e| RecordError::Malformed(e.to_string()))?;
        row.validate(TODAY)
    }

    const GOOD: &str = r#"{"id_number":"001090012345","full_name":"Nguyễn  Văn An","date_of_birth":"1990-02-28",
        "sex":"male","place_of_origin":"Nam Định","place_of_residence":"Hà Nội","extra":"ignored"}"#;

    #[test]
    fn a_valid_row() {
        let citizen = row(GOOD).unwrap();
        assert_eq!(citizen.full_name, "Nguyễn Văn An");
        assert_eq!(citizen.status, CitizenStatus::Living);
    }

    #[test]
    fn invalid_rows_say_why() {
        let cases = [
            (
                GOOD.replace("\"001090012345\"", "\"00109001234\""),
                "id_number: an ID number is 12 digits",
            ),
            (GOOD.replace("1990-02-28", "1990-02-30"), "date_of_birth"),
            (GOOD.replace("1990-02-28", "1991-02-28"), "year of birth"),
            (GOOD.replace("\"male\"", "\"female\""), "century/sex"),
            (GOOD.replace("\"male\"", "\"other\""), "sex: expected"),
            (
                GOOD.replace("\"Nguyễn  Văn An\"", "\"  \""),
                "missing field `full_name`",
            ),
            (GOOD.replace("\"extra\"", "\"status\""), "status: expected"),
            (GOOD.replace("Hà Nội", "Hà\\u0000Nội"), "control"),
        ];
        for (json, reason) in cases {
            let error = row(&json).unwrap_err().to_string();
            assert!(error.contains(reason), "{error} should say {reason}");
        }
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("2000-02-29", TODAY), Some((2000, 2, 29)));
        assert_eq!(parse_date("1900-02-29", TODAY), None);
        assert_eq!(parse_date("2026-11-28", TODAY), None);
        assert_eq!(parse_date("1899-12-31", TODAY), None);
        assert_eq!(parse_date("2000-2-29", TODAY), None);
        assert_eq!(parse_date("2000-13-01", TODAY), None);
    }
}
