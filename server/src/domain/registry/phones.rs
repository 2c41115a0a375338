//! Vietnamese mobile numbers: the spellings citizens and registries write them in, normalised to
//! E.164 (`+84` and nine digits), and the registry's list of a citizen's numbers.

/// Most numbers one citizen's record may list.
pub const MAX_PER_CITIZEN: usize = 10;

/// Normalises a Vietnamese mobile number to E.164 (`+84` and nine digits): `0912 345 678`,
/// `0912.345.678`, `+84 912 345 678`, `84912345678`, `(+84) 912-345-678` are one number.
pub fn normalise(phone: &str) -> Option<String> {
    let compact: String = phone
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '.' | '(' | ')'))
        .collect();
    let national = compact
        .strip_prefix("+84")
        .or_else(|| compact.strip_prefix("0084"))
        .or_else(|| compact.strip_prefix("84").filter(|rest| rest.len() == 9))
        .or_else(|| compact.strip_prefix('0'))?;
    // A trunk zero written after the country code (`+84 0912…`) is a common spelling too.
    let national = match national.strip_prefix('0') {
        Some(rest) if rest.len() == 9 => rest,
        _ => national,
    };
    let valid = national.len() == 9
        && national.bytes().all(|b| b.is_ascii_digit())
        && matches!(national.as_bytes()[0], b'3' | b'5' | b'7' | b'8' | b'9');
    valid.then(|| format!("+84{national}"))
}

/// Why a registry's phone list was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PhonesError {
    /// An entry is not a Vietnamese mobile number.
    #[error("{0:?} is not a Vietnamese mobile number")]
    Invalid(String),
    /// More numbers than one record may list.
    #[error("more than {MAX_PER_CITIZEN} numbers")]
    TooMany,
}

/// The stored form of a citizen's numbers: each normalised, sorted, without duplicates, joined
/// by single spaces (empty for none).
pub fn stored<'a>(numbers: impl IntoIterator<Item = &'a str>) -> Result<String, PhonesError> {
    let mut normalised = Vec::new();
    for number in numbers {
        let number = number.trim();
        if number.is_empty() {
            continue;
        }
        normalised.push(normalise(number).ok_or_else(|| PhonesError::Invalid(number.to_owned()))?);
    }
    normalised.sort();
    normalised.dedup();
    if normalised.len() > MAX_PER_CITIZEN {
        return Err(PhonesError::TooMany);
    }
    Ok(normalised.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_of_one_number() {
        for spelling in [
            "0912345678",
            "0912 345 678",
            "0912.345.678",
            "0912-345-678",
            "+84912345678",
            "+84 912 345 678",
            "84912345678",
            "0084912345678",
            "(+84) 912-345-678",
            "+840912345678",
        ] {
            assert_eq!(
                normalise(spelling).as_deref(),
                Some("+84912345678"),
                "{spelling}"
            );
        }
    }

    #[test]
    fn not_mobile_numbers() {
        for wrong in [
            "0212345678",
            "091234567",
            "+1912345678",
            "09123456789",
            "",
            "0912a45678",
            "+84",
        ] {
            assert_eq!(normalise(wrong), None, "{wrong}");
        }
    }

    #[test]
    fn stored_lists() {
        assert_eq!(
            stored(["0987 654 321", "+84912345678", "0912345678"]).unwrap(),
            "+84912345678 +84987654321"
        );
        assert_eq!(stored([]).unwrap(), "");
        assert_eq!(stored(["", " "]).unwrap(), "");
        assert_eq!(
            stored(["0912345678", "12"]),
            Err(PhonesError::Invalid("12".into()))
        );
        let many: Vec<String> = (0..11).map(|i| format!("09123456{i:02}")).collect();
        assert_eq!(
            stored(many.iter().map(String::as_str)),
            Err(PhonesError::TooMany)
        );
    }
}
