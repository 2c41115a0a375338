//! The credentials dinhdanh issues: their `vct`, claim schema, and which claims are selectively
//! disclosable. Names follow the EU PID rulebook where a claim has an equivalent there
//! (`family_name`, `birthdate`, `nationalities`, `age_equal_or_over`, ...), so wallets and
//! verifiers built for it read ours without mapping.

use serde_json::{Map, Value};

use super::{NEVER_DISCLOSABLE, VcError};
use crate::sdjwt::ClaimPath;

/// The JSON type (and format) a claim must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClaimType {
    /// Non-empty text.
    Text,
    /// `YYYY-MM-DD`.
    Date,
    /// A 12-digit Vietnamese personal identification number.
    IdNumber,
    /// An ISO 3166-1 alpha-2 code.
    Country,
    /// A JSON integer.
    Integer,
    /// `true` or `false`.
    Boolean,
    /// An array of ISO 3166-1 alpha-2 codes.
    CountryList,
    /// An object with the given members.
    Object(&'static [ClaimSchema]),
    /// An array of objects with the given members.
    ObjectList(&'static [ClaimSchema]),
}

/// One claim of a credential kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimSchema {
    /// The claim name.
    pub name: &'static str,
    /// Its type.
    pub ty: ClaimType,
    /// Whether every credential of the kind has it.
    pub required: bool,
    /// Whether it is selectively disclosable.
    pub disclosable: bool,
    /// Label in Vietnamese.
    pub label_vi: &'static str,
    /// Label in English.
    pub label_en: &'static str,
}

const fn claim(
    name: &'static str,
    ty: ClaimType,
    required: bool,
    disclosable: bool,
    label_vi: &'static str,
    label_en: &'static str,
) -> ClaimSchema {
    ClaimSchema {
        name,
        ty,
        required,
        disclosable,
        label_vi,
        label_en,
    }
}

use ClaimType::*;

const ADDRESS: &[ClaimSchema] = &[
    claim(
        "formatted",
        Text,
        true,
        true,
        "Địa chỉ đầy đủ",
        "Full address",
    ),
    claim(
        "street_address",
        Text,
        false,
        true,
        "Số nhà, đường",
        "Street address",
    ),
    claim(
        "locality",
        Text,
        false,
        true,
        "Xã, phường",
        "Commune or ward",
    ),
    claim(
        "region",
        Text,
        false,
        true,
        "Tỉnh, thành phố",
        "Province or city",
    ),
    claim("country", Country, false, true, "Quốc gia", "Country"),
];

const AGE_OVER: &[ClaimSchema] = &[
    claim("14", Boolean, false, true, "Từ 14 tuổi", "Aged 14 or over"),
    claim("16", Boolean, false, true, "Từ 16 tuổi", "Aged 16 or over"),
    claim("18", Boolean, false, true, "Từ 18 tuổi", "Aged 18 or over"),
    claim("21", Boolean, false, true, "Từ 21 tuổi", "Aged 21 or over"),
    claim("60", Boolean, false, true, "Từ 60 tuổi", "Aged 60 or over"),
];

const PERSON: [ClaimSchema; 4] = [
    claim(
        "personal_identifier",
        IdNumber,
        true,
        true,
        "Số định danh cá nhân",
        "Personal identification number",
    ),
    claim("family_name", Text, true, true, "Họ", "Family name"),
    claim(
        "given_name",
        Text,
        true,
        true,
        "Chữ đệm và tên",
        "Given names",
    ),
    claim("birthdate", Date, true, true, "Ngày sinh", "Date of birth"),
];

const ISSUED_BY: [ClaimSchema; 2] = [
    claim(
        "issuing_authority",
        Text,
        true,
        false,
        "Cơ quan cấp",
        "Issuing authority",
    ),
    claim(
        "issuing_country",
        Country,
        true,
        false,
        "Quốc gia cấp",
        "Issuing country",
    ),
];

const PID: &[ClaimSchema] = &[
    PERSON[0],
    PERSON[1],
    PERSON[2],
    PERSON[3],
    claim(
        "sex",
        Integer,
        true,
        true,
        "Giới tính (ISO/IEC 5218)",
        "Sex (ISO/IEC 5218)",
    ),
    claim(
        "nationalities",
        CountryList,
        true,
        true,
        "Quốc tịch",
        "Nationalities",
    ),
    claim(
        "place_of_origin",
        Text,
        false,
        true,
        "Quê quán",
        "Place of origin",
    ),
    claim(
        "address",
        Object(ADDRESS),
        false,
        true,
        "Nơi thường trú",
        "Place of residence",
    ),
    claim(
        "age_equal_or_over",
        Object(AGE_OVER),
        false,
        true,
        "Độ tuổi",
        "Age attestations",
    ),
    ISSUED_BY[0],
    ISSUED_BY[1],
    claim(
        "date_of_issuance",
        Date,
        false,
        false,
        "Ngày cấp",
        "Date of issuance",
    ),
    claim(
        "date_of_expiry",
        Date,
        false,
        false,
        "Ngày hết hạn",
        "Date of expiry",
    ),
];

const DRIVING_PRIVILEGE: &[ClaimSchema] = &[
    claim(
        "vehicle_category_code",
        Text,
        true,
        false,
        "Hạng",
        "Category",
    ),
    claim("issue_date", Date, true, false, "Ngày cấp", "Issue date"),
    claim(
        "expiry_date",
        Date,
        false,
        false,
        "Ngày hết hạn",
        "Expiry date",
    ),
];

const DRIVING_LICENCE: &[ClaimSchema] = &[
    claim(
        "document_number",
        Text,
        true,
        true,
        "Số giấy phép lái xe",
        "Licence number",
    ),
    PERSON[0],
    PERSON[1],
    PERSON[2],
    PERSON[3],
    claim(
        "driving_privileges",
        ObjectList(DRIVING_PRIVILEGE),
        true,
        true,
        "Hạng được phép lái",
        "Driving privileges",
    ),
    claim("issue_date", Date, true, false, "Ngày cấp", "Issue date"),
    claim(
        "expiry_date",
        Date,
        false,
        false,
        "Ngày hết hạn",
        "Expiry date",
    ),
    ISSUED_BY[0],
    ISSUED_BY[1],
];

const HEALTH_INSURANCE: &[ClaimSchema] = &[
    claim(
        "card_number",
        Text,
        true,
        true,
        "Mã số bảo hiểm xã hội",
        "Social insurance number",
    ),
    PERSON[0],
    PERSON[1],
    PERSON[2],
    PERSON[3],
    claim(
        "benefit_level",
        Integer,
        true,
        true,
        "Mức hưởng",
        "Benefit level",
    ),
    claim(
        "registered_facility",
        Text,
        true,
        true,
        "Nơi đăng ký khám chữa bệnh ban đầu",
        "Registered primary care facility",
    ),
    claim(
        "valid_from",
        Date,
        true,
        false,
        "Giá trị sử dụng từ",
        "Valid from",
    ),
    claim(
        "valid_until",
        Date,
        false,
        false,
        "Giá trị sử dụng đến",
        "Valid until",
    ),
    ISSUED_BY[0],
    ISSUED_BY[1],
];

const VEHICLE: &[ClaimSchema] = &[
    claim("make", Text, true, true, "Nhãn hiệu", "Make"),
    claim("model", Text, false, true, "Số loại", "Model"),
    claim("colour", Text, false, true, "Màu sơn", "Colour"),
    claim(
        "engine_number",
        Text,
        false,
        true,
        "Số máy",
        "Engine number",
    ),
    claim(
        "chassis_number",
        Text,
        false,
        true,
        "Số khung",
        "Chassis number",
    ),
];

const VEHICLE_REGISTRATION: &[ClaimSchema] = &[
    claim(
        "registration_number",
        Text,
        true,
        true,
        "Số đăng ký",
        "Registration number",
    ),
    claim("plate_number", Text, true, true, "Biển số", "Plate number"),
    PERSON[0],
    PERSON[1],
    PERSON[2],
    claim(
        "vehicle",
        Object(VEHICLE),
        true,
        true,
        "Phương tiện",
        "Vehicle",
    ),
    claim(
        "registration_date",
        Date,
        true,
        false,
        "Ngày đăng ký",
        "Registration date",
    ),
    ISSUED_BY[0],
    ISSUED_BY[1],
];

const CONVICTION: &[ClaimSchema] = &[
    claim("judgment", Text, true, false, "Bản án", "Judgment"),
    claim("offence", Text, true, false, "Tội danh", "Offence"),
    claim(
        "date",
        Date,
        true,
        false,
        "Ngày tuyên án",
        "Date of judgment",
    ),
];

const JUDICIAL_RECORD: &[ClaimSchema] = &[
    claim(
        "certificate_number",
        Text,
        true,
        true,
        "Số phiếu lý lịch tư pháp",
        "Certificate number",
    ),
    PERSON[0],
    PERSON[1],
    PERSON[2],
    PERSON[3],
    claim(
        "has_criminal_record",
        Boolean,
        true,
        true,
        "Có án tích",
        "Has a criminal record",
    ),
    claim(
        "convictions",
        ObjectList(CONVICTION),
        false,
        true,
        "Án tích",
        "Convictions",
    ),
    claim(
        "management_bans",
        Boolean,
        true,
        true,
        "Bị cấm đảm nhiệm chức vụ, thành lập, quản lý doanh nghiệp",
        "Barred from managing enterprises",
    ),
    claim("issue_date", Date, true, false, "Ngày cấp", "Issue date"),
    ISSUED_BY[0],
    ISSUED_BY[1],
];

/// A kind of credential dinhdanh issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CredentialKind {
    /// Citizen identity (person identification data), from the citizen ID card and registry.
    Pid,
    /// Driving licence (giấy phép lái xe).
    DrivingLicence,
    /// Health insurance card (thẻ bảo hiểm y tế).
    HealthInsurance,
    /// Vehicle registration (giấy đăng ký xe).
    VehicleRegistration,
    /// Judicial record certificate (phiếu lý lịch tư pháp).
    JudicialRecord,
}

impl CredentialKind {
    /// Every kind.
    pub const ALL: [Self; 5] = [
        Self::Pid,
        Self::DrivingLicence,
        Self::HealthInsurance,
        Self::VehicleRegistration,
        Self::JudicialRecord,
    ];

    /// Short identifier, also the OpenID4VCI credential configuration name.
    pub fn id(self) -> &'static str {
        match self {
            Self::Pid => "pid",
            Self::DrivingLicence => "driving_licence",
            Self::HealthInsurance => "health_insurance",
            Self::VehicleRegistration => "vehicle_registration",
            Self::JudicialRecord => "judicial_record",
        }
    }

    /// The credential type (`vct`), a URN under dinhdanh's namespace with a version.
    pub fn vct(self) -> &'static str {
        match self {
            Self::Pid => "urn:vn:dinhdanh:pid:1",
            Self::DrivingLicence => "urn:vn:dinhdanh:driving_licence:1",
            Self::HealthInsurance => "urn:vn:dinhdanh:health_insurance:1",
            Self::VehicleRegistration => "urn:vn:dinhdanh:vehicle_registration:1",
            Self::JudicialRecord => "urn:vn:dinhdanh:judicial_record:1",
        }
    }

    /// The kind with this `vct`.
    pub fn from_vct(vct: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.vct() == vct)
    }

    /// The kind with this [`CredentialKind::id`].
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.id() == id)
    }

    /// Display name in Vietnamese.
    pub fn name_vi(self) -> &'static str {
        match self {
            Self::Pid => "Căn cước điện tử",
            Self::DrivingLicence => "Giấy phép lái xe",
            Self::HealthInsurance => "Thẻ bảo hiểm y tế",
            Self::VehicleRegistration => "Giấy đăng ký xe",
            Self::JudicialRecord => "Phiếu lý lịch tư pháp",
        }
    }

    /// Display name in English.
    pub fn name_en(self) -> &'static str {
        match self {
            Self::Pid => "Electronic identity",
            Self::DrivingLicence => "Driving licence",
            Self::HealthInsurance => "Health insurance card",
            Self::VehicleRegistration => "Vehicle registration",
            Self::JudicialRecord => "Judicial record certificate",
        }
    }

    /// The claims of this kind, besides the registered ones (`iss`, `vct`, `cnf`, ...).
    pub fn schema(self) -> &'static [ClaimSchema] {
        match self {
            Self::Pid => PID,
            Self::DrivingLicence => DRIVING_LICENCE,
            Self::HealthInsurance => HEALTH_INSURANCE,
            Self::VehicleRegistration => VEHICLE_REGISTRATION,
            Self::JudicialRecord => JUDICIAL_RECORD,
        }
    }

    /// Checks `claims` against the schema: required claims present, every claim known and of
    /// its type. Registered claims (`iss`, `iat`, `exp`, `vct`, `cnf`, `status`, ...) are allowed.
    pub fn validate(self, claims: &Map<String, Value>) -> Result<(), VcError> {
        check_object(self, claims, self.schema(), &ClaimPath::root(), true)
    }

    /// The selectively disclosable paths of `claims` under this kind's schema (claims the schema
    /// marks disclosable, at every depth, for those present).
    pub fn disclosable_paths(self, claims: &Map<String, Value>) -> Vec<ClaimPath> {
        let mut out = Vec::new();
        collect_disclosable(self.schema(), claims, &ClaimPath::root(), &mut out);
        out
    }
}

fn collect_disclosable(
    schema: &[ClaimSchema],
    claims: &Map<String, Value>,
    at: &ClaimPath,
    out: &mut Vec<ClaimPath>,
) {
    for item in schema {
        let Some(value) = claims.get(item.name) else {
            continue;
        };
        let path = at.child(item.name);
        if item.disclosable {
            out.push(path.clone());
        }
        if let (Object(members), Value::Object(map)) = (item.ty, value) {
            collect_disclosable(members, map, &path, out);
        }
    }
}

const REGISTERED: [&str; 5] = ["iat", "sub", "jti", "aud", "_sd_alg"];

fn check_object(
    kind: CredentialKind,
    claims: &Map<String, Value>,
    schema: &[ClaimSchema],
    at: &ClaimPath,
    top: bool,
) -> Result<(), VcError> {
    let fail = |reason: String| VcError::Schema {
        kind: kind.id(),
        reason,
    };
    // One pass over the claims with a linear search of the (small) schema: no hashing.
    let mut required_present = 0;
    for (name, value) in claims {
        match schema.iter().find(|item| item.name == name) {
            Some(item) => {
                required_present += usize::from(item.required);
                check_value(kind, value, item.ty, at, item.name)?;
            }
            None if top
                && (NEVER_DISCLOSABLE.contains(&name.as_str())
                    || REGISTERED.contains(&name.as_str())) => {}
            None => {
                return Err(fail(format!(
                    "{} is not a claim of this credential",
                    at.child(name.as_str())
                )));
            }
        }
    }
    if required_present < schema.iter().filter(|item| item.required).count()
        && let Some(missing) = schema
            .iter()
            .find(|item| item.required && !claims.contains_key(item.name))
    {
        return Err(fail(format!("{} is required", at.child(missing.name))));
    }
    Ok(())
}

/// Checks the claim `name` under `at`; the path is only built when there is something to report
/// or to descend into (this runs on every issuance).
fn check_value(
    kind: CredentialKind,
    value: &Value,
    ty: ClaimType,
    at: &ClaimPath,
    name: &str,
) -> Result<(), VcError> {
    let fail = |what: &str| VcError::Schema {
        kind: kind.id(),
        reason: format!("{} must be {what}", at.child(name)),
    };
    match (ty, value) {
        (Text, Value::String(s)) if !s.trim().is_empty() => Ok(()),
        (Date, Value::String(s)) if is_date(s) => Ok(()),
        (IdNumber, Value::String(s)) if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) => {
            Ok(())
        }
        (Country, Value::String(s)) if is_country(s) => Ok(()),
        (Integer, Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(()),
        (Boolean, Value::Bool(_)) => Ok(()),
        (CountryList, Value::Array(items))
            if !items.is_empty() && items.iter().all(|i| i.as_str().is_some_and(is_country)) =>
        {
            Ok(())
        }
        (Object(members), Value::Object(map)) => {
            check_object(kind, map, members, &at.child(name), false)
        }
        (ObjectList(members), Value::Array(items)) => {
            let path = at.child(name);
            for (i, item) in items.iter().enumerate() {
                let Value::Object(map) = item else {
                    return Err(fail("an array of objects"));
                };
                check_object(kind, map, members, &path.child(i.to_string()), false)?;
            }
            Ok(())
        }
        (Text, _) => Err(fail("non-empty text")),
        (Date, _) => Err(fail("a date YYYY-MM-DD")),
        (IdNumber, _) => Err(fail("a 12-digit ID number")),
        (Country, _) => Err(fail("an ISO 3166-1 alpha-2 code")),
        (Integer, _) => Err(fail("an integer")),
        (Boolean, _) => Err(fail("a boolean")),
        (CountryList, _) => Err(fail("a non-empty array of country codes")),
        (Object(_), _) => Err(fail("an object")),
        (ObjectList(_), _) => Err(fail("an array of objects")),
    }
}

fn is_country(s: &str) -> bool {
    s.len() == 2 && s.bytes().all(|b| b.is_ascii_uppercase())
}

/// `YYYY-MM-DD` with a real calendar day.
pub(crate) fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let number = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = s.get(range)?;
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    let (Some(year), Some(month), Some(day)) = (number(0..4), number(5..7), number(8..10)) else {
        return false;
    };
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::json;

    use super::*;

    /// The sample citizen of `tests/vectors/pid-sample.json`.
    pub(crate) fn pid_claims() -> Map<String, Value> {
        serde_json::from_str(include_str!("../../tests/vectors/pid-sample.json")).unwrap()
    }

    #[test]
    fn vct_and_id_round_trip() {
        for kind in CredentialKind::ALL {
            assert_eq!(CredentialKind::from_vct(kind.vct()), Some(kind));
            assert_eq!(CredentialKind::from_id(kind.id()), Some(kind));
            for item in kind.schema() {
                assert!(!NEVER_DISCLOSABLE.contains(&item.name), "{}", item.name);
            }
        }
        assert_eq!(CredentialKind::from_vct("urn:other"), None);
    }

    #[test]
    fn pid_schema() {
        let claims = pid_claims();
        CredentialKind::Pid.validate(&claims).unwrap();
        let paths: Vec<String> = CredentialKind::Pid
            .disclosable_paths(&claims)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(paths.contains(&"/address/locality".to_string()));
        assert!(paths.contains(&"/age_equal_or_over/18".to_string()));
        assert!(!paths.contains(&"/issuing_authority".to_string()));

        let broken = |f: &dyn Fn(&mut Map<String, Value>)| {
            let mut claims = pid_claims();
            f(&mut claims);
            CredentialKind::Pid.validate(&claims).unwrap_err()
        };
        broken(&|c| {
            c.remove("family_name");
        });
        broken(&|c| {
            c.insert("personal_identifier".into(), json!("12345"));
        });
        broken(&|c| {
            c.insert("birthdate".into(), json!("2004-02-30"));
        });
        broken(&|c| {
            c.insert("nationalities".into(), json!(["vn"]));
        });
        broken(&|c| {
            c.insert("favourite_colour".into(), json!("red"));
        });
        broken(&|c| {
            c["address"]["floor"] = json!(3);
        });
        broken(&|c| {
            c.insert("sex".into(), json!("male"));
        });
    }

    #[test]
    fn dates() {
        for good in ["2024-02-29", "2000-02-29", "1999-12-31"] {
            assert!(is_date(good), "{good}");
        }
        for bad in [
            "1900-02-29",
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-1-01",
            "20240101",
            "２０２４-01-01",
        ] {
            assert!(!is_date(bad), "{bad}");
        }
    }
}
