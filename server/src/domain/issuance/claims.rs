//! The claims of each credential kind, from the registry: the citizen record for the personal
//! claims, the registry's documents for the rest. The SDK's schema of the kind then checks them.

use dinhdanh_sdk::vc::CredentialKind;
use serde_json::{Map, Value, json};

use crate::store::Citizen;

/// Who issues the citizen identity.
pub const PID_AUTHORITY: &str = "Bộ Công an";

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    /// Year.
    pub year: i32,
    /// Month, 1-12.
    pub month: u8,
    /// Day, 1-31.
    pub day: u8,
}

impl Date {
    /// The UTC date of a Unix time.
    pub fn of_unix(seconds: i64) -> Self {
        let date = time::OffsetDateTime::from_unix_timestamp(seconds)
            .unwrap_or(time::OffsetDateTime::UNIX_EPOCH)
            .date();
        Self {
            year: date.year(),
            month: u8::from(date.month()),
            day: date.day(),
        }
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Option<Self> {
        let mut parts = text.splitn(3, '-');
        let year = parts.next()?.parse().ok()?;
        let month = parts.next()?.parse().ok()?;
        let day = parts.next()?.parse().ok()?;
        Some(Self { year, month, day })
    }

    /// `YYYY-MM-DD`.
    pub fn iso(self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }

    /// Whole years from `self` to `on`.
    pub fn age_on(self, on: Self) -> i32 {
        let had_birthday = (on.month, on.day) >= (self.month, self.day);
        on.year - self.year - i32::from(!had_birthday)
    }
}

/// Splits a Vietnamese full name into family name (the first word) and given names (the rest,
/// middle names included), as the citizen ID card prints them.
pub fn split_name(full_name: &str) -> (String, String) {
    let mut words = full_name.split_whitespace();
    let family = words.next().unwrap_or_default().to_owned();
    let given = words.collect::<Vec<_>>().join(" ");
    (family, given)
}

/// ISO/IEC 5218: 1 male, 2 female, 0 unknown.
fn sex_code(sex: &str) -> i64 {
    match sex {
        "male" => 1,
        "female" => 2,
        _ => 0,
    }
}

/// The personal claims `kind` carries, from the citizen record.
fn person(kind: CredentialKind, citizen: &Citizen) -> Map<String, Value> {
    let (family, given) = split_name(&citizen.full_name);
    let mut claims = Map::new();
    for (name, value) in [
        ("personal_identifier", json!(citizen.id_number)),
        ("family_name", json!(family)),
        ("given_name", json!(given)),
        ("birthdate", json!(citizen.date_of_birth)),
    ] {
        if kind.schema().iter().any(|claim| claim.name == name) {
            claims.insert(name.into(), value);
        }
    }
    claims
}

/// The personal claims, which a registry document must not carry (the citizen record is their
/// one source).
pub const PERSON_CLAIMS: [&str; 4] = [
    "personal_identifier",
    "family_name",
    "given_name",
    "birthdate",
];

/// Why the claims of a credential could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClaimsError {
    /// The registry holds no such document for the citizen.
    #[error("the registry holds no {0} for this citizen")]
    NoDocument(&'static str),
    /// The stored document or record does not satisfy the kind's schema.
    #[error("registry data does not fit the credential: {0}")]
    Invalid(String),
}

/// The citizen identity (PID) claims on `today`, for a credential valid until `expiry`.
pub fn pid(citizen: &Citizen, today: Date, expiry: Date) -> Map<String, Value> {
    let mut claims = person(CredentialKind::Pid, citizen);
    claims.insert("sex".into(), json!(sex_code(&citizen.sex)));
    claims.insert("nationalities".into(), json!(["VN"]));
    claims.insert("place_of_origin".into(), json!(citizen.place_of_origin));
    claims.insert(
        "address".into(),
        json!({ "formatted": citizen.place_of_residence, "country": "VN" }),
    );
    if let Some(birth) = Date::parse(&citizen.date_of_birth) {
        let age = birth.age_on(today);
        let mut over = Map::new();
        for threshold in [14, 16, 18, 21, 60] {
            over.insert(threshold.to_string(), json!(age >= threshold));
        }
        claims.insert("age_equal_or_over".into(), Value::Object(over));
    }
    claims.insert("issuing_authority".into(), json!(PID_AUTHORITY));
    claims.insert("issuing_country".into(), json!("VN"));
    claims.insert("date_of_issuance".into(), json!(today.iso()));
    claims.insert("date_of_expiry".into(), json!(expiry.iso()));
    claims
}

/// The claims of `kind` for `citizen`: the PID from the record, any other kind from the record's
/// personal claims plus the registry document (`document`: its claims as JSON text).
pub fn claims(
    kind: CredentialKind,
    citizen: &Citizen,
    document: Option<&str>,
    today: Date,
    expiry: Date,
) -> Result<Map<String, Value>, ClaimsError> {
    let claims = match kind {
        CredentialKind::Pid => pid(citizen, today, expiry),
        _ => {
            let document = document.ok_or(ClaimsError::NoDocument(kind.id()))?;
            let own: Map<String, Value> = serde_json::from_str(document)
                .map_err(|e| ClaimsError::Invalid(format!("stored {}: {e}", kind.id())))?;
            let mut claims = person(kind, citizen);
            claims.extend(own);
            claims
        }
    };
    kind.validate(&claims)
        .map_err(|e| ClaimsError::Invalid(e.to_string()))?;
    Ok(claims)
}

/// Checks a document's claims as the registry imports them: an object without personal claims
/// that, with a citizen's personal claims added, fits the kind's schema.
pub fn check_document(kind: CredentialKind, own: &Map<String, Value>) -> Result<(), String> {
    if kind == CredentialKind::Pid {
        return Err("the citizen identity comes from the citizen record, not a document".into());
    }
    if let Some(name) = PERSON_CLAIMS.iter().find(|name| own.contains_key(**name)) {
        return Err(format!("{name} comes from the citizen record"));
    }
    let example = Citizen {
        id_number: "001204012345".into(),
        full_name: "Nguyễn An".into(),
        date_of_birth: "2004-03-15".into(),
        sex: "male".into(),
        place_of_origin: "Hà Nội".into(),
        place_of_residence: "Hà Nội".into(),
        status: crate::store::CitizenStatus::Living,
        phones: None,
    };
    let mut claims = person(kind, &example);
    claims.extend(own.clone());
    kind.validate(&claims).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn citizen() -> Citizen {
        Citizen {
            id_number: "001204012345".into(),
            full_name: "Nguyễn Thị Minh Khai".into(),
            date_of_birth: "2004-03-15".into(),
            sex: "female".into(),
            place_of_origin: "Xã Phù Đổng, Huyện Gia Lâm, Hà Nội".into(),
            place_of_residence: "12 Tràng Tiền, Phường Hoàn Kiếm, Hà Nội".into(),
            status: crate::store::CitizenStatus::Living,
            phones: None,
        }
    }

    #[test]
    fn pid_from_the_record() {
        let today = Date::parse("2026-03-14").unwrap();
        let claims = claims(
            CredentialKind::Pid,
            &citizen(),
            None,
            today,
            Date::parse("2027-03-14").unwrap(),
        )
        .unwrap();
        assert_eq!(claims["family_name"], "Nguyễn");
        assert_eq!(claims["given_name"], "Thị Minh Khai");
        assert_eq!(claims["sex"], 2);
        // The day before the 22nd birthday: 21, not yet 22.
        assert_eq!(claims["age_equal_or_over"]["21"], true);
        assert_eq!(claims["age_equal_or_over"]["60"], false);
        assert_eq!(Date::parse("2004-03-15").unwrap().age_on(today), 21);
        assert_eq!(
            Date::parse("2004-03-15")
                .unwrap()
                .age_on(Date::parse("2026-03-15").unwrap()),
            22
        );
    }

    #[test]
    fn documents_carry_their_own_claims_only() {
        let licence = json!({
            "document_number": "010203040506",
            "driving_privileges": [{"vehicle_category_code": "B", "issue_date": "2023-01-01"}],
            "issue_date": "2023-01-01",
            "issuing_authority": "Sở Giao thông vận tải Hà Nội",
            "issuing_country": "VN"
        });
        let own = licence.as_object().unwrap();
        check_document(CredentialKind::DrivingLicence, own).unwrap();
        let today = Date::of_unix(1_800_000_000);
        let made = claims(
            CredentialKind::DrivingLicence,
            &citizen(),
            Some(&licence.to_string()),
            today,
            today,
        )
        .unwrap();
        assert_eq!(made["personal_identifier"], "001204012345");
        let mut with_person = own.clone();
        with_person.insert("family_name".into(), json!("Trần"));
        assert!(check_document(CredentialKind::DrivingLicence, &with_person).is_err());
        assert!(check_document(CredentialKind::HealthInsurance, own).is_err());
        assert!(matches!(
            claims(
                CredentialKind::DrivingLicence,
                &citizen(),
                None,
                today,
                today
            ),
            Err(ClaimsError::NoDocument("driving_licence"))
        ));
    }
}
