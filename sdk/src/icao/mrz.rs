//! DG1: the machine readable zone of an ID card (TD1, three lines of 30 characters; Doc 9303
//! part 5), with every check digit verified.

use unicode_normalization::UnicodeNormalization;

use super::IcaoError;

/// The MRZ of a TD1 document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mrz {
    /// Document code, e.g. `ID`.
    pub document_code: String,
    /// Issuing state, e.g. `VNM`.
    pub issuing_state: String,
    /// Document number (without filler).
    pub document_number: String,
    /// Optional data of line 1 (without filler); Vietnamese cards put the 12-digit personal
    /// identification number here.
    pub optional_data: String,
    /// Date of birth, `YYMMDD`.
    pub birth_date: String,
    /// `M`, `F` or `<`.
    pub sex: char,
    /// Date of expiry, `YYMMDD`.
    pub expiry_date: String,
    /// Nationality, e.g. `VNM`.
    pub nationality: String,
    /// Primary identifier (family name), spaces for `<`.
    pub primary_identifier: String,
    /// Secondary identifier (given names), spaces for `<`.
    pub secondary_identifier: String,
}

/// The check digit of `field` (weights 7, 3, 1; `<` counts 0, `A`-`Z` 10-35).
pub fn check_digit(field: &str) -> Option<u8> {
    let mut sum = 0u32;
    for (i, c) in field.chars().enumerate() {
        let value = match c {
            '0'..='9' => c as u32 - '0' as u32,
            'A'..='Z' => c as u32 - 'A' as u32 + 10,
            '<' => 0,
            _ => return None,
        };
        sum += value * [7, 3, 1][i % 3];
    }
    Some((sum % 10) as u8)
}

fn checked(field: &str, digit: char, what: &'static str) -> Result<(), IcaoError> {
    let expected = check_digit(field).ok_or(IcaoError::Malformed(what))?;
    if digit.to_digit(10) != Some(u32::from(expected)) {
        return Err(IcaoError::Malformed(what));
    }
    Ok(())
}

fn trimmed(field: &str) -> String {
    field.trim_end_matches('<').to_owned()
}

/// The MRZ text inside DG1 (`61 L 5F1F L <mrz>`).
pub fn mrz_text(dg1: &[u8]) -> Result<&str, IcaoError> {
    let (tag, rest) = dg1.split_first().ok_or(IcaoError::Malformed("DG1"))?;
    if *tag != 0x61 {
        return Err(IcaoError::DataGroupTag(1));
    }
    let (len, rest) = short_length(rest)?;
    let inner = rest
        .get(..len)
        .filter(|_| rest.len() == len)
        .ok_or(IcaoError::Malformed("DG1"))?;
    let value = inner
        .strip_prefix(&[0x5F, 0x1F])
        .ok_or(IcaoError::Malformed("DG1 (no MRZ element)"))?;
    let (len, value) = short_length(value)?;
    let text = value
        .get(..len)
        .filter(|_| value.len() == len)
        .ok_or(IcaoError::Malformed("DG1"))?;
    std::str::from_utf8(text).map_err(|_| IcaoError::Malformed("DG1 MRZ (not ASCII)"))
}

/// A BER/DER length of one or two bytes (DG1 is short).
fn short_length(bytes: &[u8]) -> Result<(usize, &[u8]), IcaoError> {
    match bytes {
        [n, rest @ ..] if *n < 0x80 => Ok((usize::from(*n), rest)),
        [0x81, n, rest @ ..] if *n >= 0x80 => Ok((usize::from(*n), rest)),
        _ => Err(IcaoError::Malformed("DG1 length")),
    }
}

impl Mrz {
    /// Parses DG1 holding a TD1 MRZ.
    pub fn from_dg1(dg1: &[u8]) -> Result<Self, IcaoError> {
        Self::parse_td1(mrz_text(dg1)?)
    }

    /// Parses the 90 characters of a TD1 MRZ (line breaks not included).
    pub fn parse_td1(text: &str) -> Result<Self, IcaoError> {
        if text.len() != 90
            || !text
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'<')
        {
            return Err(IcaoError::Malformed("MRZ (not a TD1 MRZ)"));
        }
        let (line1, rest) = text.split_at(30);
        let (line2, line3) = rest.split_at(30);
        let at = |line: &str, i: usize| line.as_bytes()[i] as char;
        checked(
            &line1[5..14],
            at(line1, 14),
            "MRZ document number check digit",
        )?;
        checked(&line2[0..6], at(line2, 6), "MRZ date of birth check digit")?;
        checked(
            &line2[8..14],
            at(line2, 14),
            "MRZ date of expiry check digit",
        )?;
        let composite = format!(
            "{}{}{}{}",
            &line1[5..30],
            &line2[0..7],
            &line2[8..15],
            &line2[18..29]
        );
        checked(&composite, at(line2, 29), "MRZ composite check digit")?;
        let sex = at(line2, 7);
        if !matches!(sex, 'M' | 'F' | '<') {
            return Err(IcaoError::Malformed("MRZ sex"));
        }
        let name = line3.trim_end_matches('<');
        let (primary, secondary) = name.split_once("<<").unwrap_or((name, ""));
        Ok(Self {
            document_code: trimmed(&line1[0..2]),
            issuing_state: trimmed(&line1[2..5]),
            document_number: trimmed(&line1[5..14]),
            optional_data: trimmed(&line1[15..30]),
            birth_date: line2[0..6].to_owned(),
            sex,
            expiry_date: line2[8..14].to_owned(),
            nationality: trimmed(&line2[15..18]),
            primary_identifier: primary.replace('<', " ").trim().to_owned(),
            secondary_identifier: secondary.replace('<', " ").trim().to_owned(),
        })
    }

    /// The 12-digit personal identification number of a Vietnamese card (the start of the
    /// optional data), if there is one.
    pub fn vietnamese_id_number(&self) -> Option<&str> {
        let candidate = self.optional_data.get(..12)?;
        candidate
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then_some(candidate)
    }

    /// The name as the MRZ prints it: `PRIMARY SECONDARY`.
    pub fn full_name(&self) -> String {
        format!("{} {}", self.primary_identifier, self.secondary_identifier)
            .trim()
            .to_owned()
    }
}

/// A name as an MRZ writes it: diacritics removed (Đ as D), upper case, `<` between words.
pub fn mrz_name(name: &str) -> String {
    name.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .map(|c| match c {
            'Đ' | 'đ' => 'D',
            c => c.to_ascii_uppercase(),
        })
        .map(|c| if c.is_ascii_uppercase() { c } else { '<' })
        .collect::<String>()
        .split('<')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join("<")
}

impl Mrz {
    /// The 90 characters of this MRZ as a TD1 document prints them, check digits computed
    /// (document code `ID`; names through [`mrz_name`]).
    pub fn to_td1(&self) -> String {
        let pad = |s: &str, n: usize| {
            let mut s: String = s.chars().take(n).collect();
            while s.len() < n {
                s.push('<');
            }
            s
        };
        let number = pad(&self.document_number, 9);
        let digit = |f: &str| char::from(b'0' + check_digit(f).unwrap_or(0));
        let line1 = format!(
            "ID{}{}{}{}",
            pad(&self.issuing_state, 3),
            number,
            digit(&number),
            pad(&self.optional_data, 15)
        );
        let mut line2 = format!(
            "{}{}{}{}{}{}{}",
            self.birth_date,
            digit(&self.birth_date),
            self.sex,
            self.expiry_date,
            digit(&self.expiry_date),
            pad(&self.nationality, 3),
            pad("", 11)
        );
        let composite = format!(
            "{}{}{}{}",
            &line1[5..30],
            &line2[0..7],
            &line2[8..15],
            &line2[18..29]
        );
        line2.push(digit(&composite));
        let line3 = pad(
            &format!(
                "{}<<{}",
                mrz_name(&self.primary_identifier),
                mrz_name(&self.secondary_identifier)
            ),
            30,
        );
        format!("{line1}{line2}{line3}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_doc_9303_td1_example() {
        // Doc 9303 part 5, appendix A (specimen TD1).
        let text = "I<UTOD231458907<<<<<<<<<<<<<<<7408122F1204159UTO<<<<<<<<<<<6ERIKSSON<<ANNA<MARIA<<<<<<<<<<";
        let mrz = Mrz::parse_td1(text).unwrap();
        assert_eq!(mrz.document_number, "D23145890");
        assert_eq!(mrz.birth_date, "740812");
        assert_eq!(mrz.sex, 'F');
        assert_eq!(mrz.primary_identifier, "ERIKSSON");
        assert_eq!(mrz.secondary_identifier, "ANNA MARIA");
        let mut broken = text.to_owned();
        broken.replace_range(14..15, "8");
        assert!(Mrz::parse_td1(&broken).is_err());
    }

    #[test]
    fn vietnamese_names_and_round_trip() {
        assert_eq!(mrz_name("Nguyễn Văn An"), "NGUYEN<VAN<AN");
        assert_eq!(mrz_name("Đặng Thị Thủy"), "DANG<THI<THUY");
        let written = Mrz {
            document_code: "ID".into(),
            issuing_state: "VNM".into(),
            document_number: "090012345".into(),
            optional_data: "001090012345".into(),
            birth_date: "900228".into(),
            sex: 'M',
            expiry_date: "350228".into(),
            nationality: "VNM".into(),
            primary_identifier: "Nguyễn".into(),
            secondary_identifier: "Văn An".into(),
        };
        let mrz = Mrz::parse_td1(&written.to_td1()).unwrap();
        assert_eq!(mrz.vietnamese_id_number(), Some("001090012345"));
        assert_eq!(mrz.full_name(), "NGUYEN VAN AN");
        assert_eq!(mrz.nationality, "VNM");
    }
}
