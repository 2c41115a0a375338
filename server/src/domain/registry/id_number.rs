//! The 12-digit citizen ID number (số định danh cá nhân): a 3-digit province code, a digit for
//! century and sex, the last two digits of the year of birth, and a 6-digit serial
//! (Decree 137/2015/ND-CP, Circular 07/2016/TT-BCA).

/// The 63 province codes and names of the Circular 07/2016/TT-BCA table.
pub const PROVINCES: [(u16, &str); 63] = [
    (1, "Hà Nội"),
    (2, "Hà Giang"),
    (4, "Cao Bằng"),
    (6, "Bắc Kạn"),
    (8, "Tuyên Quang"),
    (10, "Lào Cai"),
    (11, "Điện Biên"),
    (12, "Lai Châu"),
    (14, "Sơn La"),
    (15, "Yên Bái"),
    (17, "Hòa Bình"),
    (19, "Thái Nguyên"),
    (20, "Lạng Sơn"),
    (22, "Quảng Ninh"),
    (24, "Bắc Giang"),
    (25, "Phú Thọ"),
    (26, "Vĩnh Phúc"),
    (27, "Bắc Ninh"),
    (30, "Hải Dương"),
    (31, "Hải Phòng"),
    (33, "Hưng Yên"),
    (34, "Thái Bình"),
    (35, "Hà Nam"),
    (36, "Nam Định"),
    (37, "Ninh Bình"),
    (38, "Thanh Hóa"),
    (40, "Nghệ An"),
    (42, "Hà Tĩnh"),
    (44, "Quảng Bình"),
    (45, "Quảng Trị"),
    (46, "Thừa Thiên Huế"),
    (48, "Đà Nẵng"),
    (49, "Quảng Nam"),
    (51, "Quảng Ngãi"),
    (52, "Bình Định"),
    (54, "Phú Yên"),
    (56, "Khánh Hòa"),
    (58, "Ninh Thuận"),
    (60, "Bình Thuận"),
    (62, "Kon Tum"),
    (64, "Gia Lai"),
    (66, "Đắk Lắk"),
    (67, "Đắk Nông"),
    (68, "Lâm Đồng"),
    (70, "Bình Phước"),
    (72, "Tây Ninh"),
    (74, "Bình Dương"),
    (75, "Đồng Nai"),
    (77, "Bà Rịa - Vũng Tàu"),
    (79, "Hồ Chí Minh"),
    (80, "Long An"),
    (82, "Tiền Giang"),
    (83, "Bến Tre"),
    (84, "Trà Vinh"),
    (86, "Vĩnh Long"),
    (87, "Đồng Tháp"),
    (89, "An Giang"),
    (91, "Kiên Giang"),
    (92, "Cần Thơ"),
    (93, "Hậu Giang"),
    (94, "Sóc Trăng"),
    (95, "Bạc Liêu"),
    (96, "Cà Mau"),
];

/// Why an ID number is not valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdNumberError {
    /// Not exactly 12 ASCII digits.
    #[error("an ID number is 12 digits")]
    Format,
    /// The first three digits are not a province code.
    #[error("unknown province code {0:03}")]
    Province(u16),
    /// The century/sex digit and year digits disagree with the date of birth.
    #[error("the ID number's year of birth digits do not match the date of birth")]
    YearOfBirth,
    /// The century/sex digit disagrees with the sex.
    #[error("the ID number's century/sex digit does not match the sex")]
    Sex,
}

/// Sex as the ID number encodes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sex {
    /// `male`
    Male,
    /// `female`
    Female,
}

impl Sex {
    /// The import contract's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Male => "male",
            Self::Female => "female",
        }
    }

    /// Parses the import contract's spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "male" => Some(Self::Male),
            "female" => Some(Self::Female),
            _ => None,
        }
    }
}

/// The name of a province code.
pub fn province_name(code: u16) -> Option<&'static str> {
    PROVINCES
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, name)| *name)
}

/// Checks the form of an ID number: 12 digits and a known province code.
pub fn check_format(id: &str) -> Result<(), IdNumberError> {
    let bytes = id.as_bytes();
    if bytes.len() != 12 || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(IdNumberError::Format);
    }
    let province = digits(&bytes[..3]) as u16;
    if province_name(province).is_none() {
        return Err(IdNumberError::Province(province));
    }
    Ok(())
}

/// Checks an ID number against the holder's year of birth and sex.
pub fn check(id: &str, year_of_birth: u32, sex: Sex) -> Result<(), IdNumberError> {
    check_year_of_birth(id, year_of_birth)?;
    let code = u32::from(id.as_bytes()[3] - b'0');
    let encoded = if code % 2 == 0 {
        Sex::Male
    } else {
        Sex::Female
    };
    if encoded != sex {
        return Err(IdNumberError::Sex);
    }
    Ok(())
}

/// Checks the form of an ID number and that its century/sex digit and two year digits encode
/// `year_of_birth`. This is all that can be checked where the sex is not known (enrolment and
/// recovery ask for none), and it depends on the input alone.
pub fn check_year_of_birth(id: &str, year_of_birth: u32) -> Result<(), IdNumberError> {
    check_format(id)?;
    let bytes = id.as_bytes();
    let code = u32::from(bytes[3] - b'0');
    let yy = digits(&bytes[4..6]);
    // 0/1: 1900s, 2/3: 2000s, ... 8/9: 2200s; even for men, odd for women.
    if 1900 + 100 * (code / 2) + yy != year_of_birth {
        return Err(IdNumberError::YearOfBirth);
    }
    Ok(())
}

/// Builds an ID number (for the synthetic registry).
pub fn compose(province: u16, year_of_birth: u32, sex: Sex, serial: u32) -> String {
    let century = (year_of_birth.saturating_sub(1900) / 100) * 2 + u32::from(sex == Sex::Female);
    format!(
        "{province:03}{century}{:02}{serial:06}",
        year_of_birth % 100
    )
}

fn digits(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0, |n, b| n * 10 + u32::from(b - b'0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn there_are_63_distinct_provinces() {
        let mut codes: Vec<u16> = PROVINCES.iter().map(|(c, _)| *c).collect();
        codes.dedup();
        assert_eq!(codes.len(), 63);
        assert!(codes.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn valid_numbers() {
        assert_eq!(check("001090012345", 1990, Sex::Male), Ok(()));
        assert_eq!(check("079305000001", 2005, Sex::Female), Ok(()));
        assert_eq!(check("096199999999", 1999, Sex::Female), Ok(()));
    }

    #[test]
    fn invalid_numbers() {
        assert_eq!(check_format("00109001234"), Err(IdNumberError::Format));
        assert_eq!(check_format("0010900123456"), Err(IdNumberError::Format));
        assert_eq!(check_format("00109001234a"), Err(IdNumberError::Format));
        assert_eq!(check_format("٠٠١٠٩٠٠١٢٣٤٥"), Err(IdNumberError::Format));
        assert_eq!(
            check_format("003090012345"),
            Err(IdNumberError::Province(3))
        );
        assert_eq!(
            check_format("097090012345"),
            Err(IdNumberError::Province(97))
        );
        assert_eq!(
            check("001090012345", 1991, Sex::Male),
            Err(IdNumberError::YearOfBirth)
        );
        assert_eq!(
            check("001290012345", 1990, Sex::Male),
            Err(IdNumberError::YearOfBirth)
        );
        assert_eq!(
            check("001090012345", 1990, Sex::Female),
            Err(IdNumberError::Sex)
        );
    }

    #[test]
    fn year_of_birth_alone() {
        // Either sex's digit of the century is accepted: the sex is not known here.
        assert_eq!(check_year_of_birth("001090012345", 1990), Ok(()));
        assert_eq!(check_year_of_birth("001190012345", 1990), Ok(()));
        assert_eq!(check_year_of_birth("079305000001", 2005), Ok(()));
        assert_eq!(
            check_year_of_birth("001090012345", 1991),
            Err(IdNumberError::YearOfBirth)
        );
        // The right two digits in the wrong century.
        assert_eq!(
            check_year_of_birth("001290012345", 1990),
            Err(IdNumberError::YearOfBirth)
        );
        assert_eq!(
            check_year_of_birth("001005012345", 2005),
            Err(IdNumberError::YearOfBirth)
        );
        assert_eq!(
            check_year_of_birth("00109001234", 1990),
            Err(IdNumberError::Format)
        );
    }

    #[test]
    fn compose_round_trips() {
        for (year, sex) in [
            (1950, Sex::Male),
            (1999, Sex::Female),
            (2000, Sex::Male),
            (2024, Sex::Female),
        ] {
            let id = compose(79, year, sex, 42);
            assert_eq!(check(&id, year, sex), Ok(()), "{id}");
        }
    }
}
