//! DG13 of the Vietnamese citizen ID card: the holder's personal data in full Unicode (the MRZ
//! has no diacritics). The card stores it as a list of numbered fields; dinhdanh reads the
//! layout `6D L { SEQUENCE { SEQUENCE { INTEGER n, UTF8String value } ... } }` with the field
//! numbers below, and ignores fields it does not know.

use super::IcaoError;
use crate::x509::der::{self, Reader};

/// Field numbers of DG13.
pub mod field {
    /// The 12-digit personal identification number.
    pub const ID_NUMBER: u8 = 1;
    /// Full name.
    pub const FULL_NAME: u8 = 2;
    /// Date of birth, `DD/MM/YYYY`.
    pub const DATE_OF_BIRTH: u8 = 3;
    /// Sex, `Nam` or `Nữ`.
    pub const SEX: u8 = 4;
    /// Nationality.
    pub const NATIONALITY: u8 = 5;
    /// Place of origin (quê quán).
    pub const PLACE_OF_ORIGIN: u8 = 8;
    /// Place of residence (nơi thường trú).
    pub const PLACE_OF_RESIDENCE: u8 = 9;
    /// Date of issue, `DD/MM/YYYY`.
    pub const DATE_OF_ISSUE: u8 = 11;
    /// Date of expiry, `DD/MM/YYYY`.
    pub const DATE_OF_EXPIRY: u8 = 12;
}

const UTF8_STRING: u8 = 0x0C;
const PRINTABLE_STRING: u8 = 0x13;

/// The fields of DG13.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dg13 {
    /// `(field number, value)` in file order.
    pub fields: Vec<(u8, String)>,
}

impl Dg13 {
    /// Parses DG13.
    pub fn parse(dg13: &[u8]) -> Result<Self, IcaoError> {
        const WHAT: &str = "DG13";
        let mut file = Reader::new(dg13, WHAT);
        let outer = file.next_tlv()?;
        file.finish()?;
        if outer.tag != 0x6D {
            return Err(IcaoError::DataGroupTag(13));
        }
        let mut wrapper = Reader::new(outer.value, WHAT);
        let list = wrapper.expect(der::SEQUENCE)?;
        wrapper.finish()?;
        let mut entries = Reader::new(list.value, WHAT);
        let mut fields = Vec::new();
        while !entries.is_empty() {
            let entry = entries.expect(der::SEQUENCE)?;
            let mut e = Reader::new(entry.value, WHAT);
            let number = e.expect(der::INTEGER)?;
            let value = e.next_tlv()?;
            e.finish()?;
            let [number] = number.value else {
                return Err(IcaoError::Malformed("DG13 field number"));
            };
            if !matches!(value.tag, UTF8_STRING | PRINTABLE_STRING) {
                return Err(IcaoError::Malformed("DG13 field value"));
            }
            let text = std::str::from_utf8(value.value)
                .map_err(|_| IcaoError::Malformed("DG13 field value (not UTF-8)"))?;
            fields.push((*number, text.to_owned()));
        }
        Ok(Self { fields })
    }

    /// A field's value.
    pub fn get(&self, number: u8) -> Option<&str> {
        self.fields
            .iter()
            .find(|(n, _)| *n == number)
            .map(|(_, v)| v.as_str())
    }

    /// The date of birth as `YYYY-MM-DD` (the card writes `DD/MM/YYYY`).
    pub fn date_of_birth_iso(&self) -> Option<String> {
        let text = self.get(field::DATE_OF_BIRTH)?;
        let mut parts = text.split('/');
        let (day, month, year) = (parts.next()?, parts.next()?, parts.next()?);
        (day.len() == 2 && month.len() == 2 && year.len() == 4 && parts.next().is_none())
            .then(|| format!("{year}-{month}-{day}"))
    }

    /// Encodes fields in the layout [`Dg13::parse`] reads.
    pub fn encode(fields: &[(u8, &str)]) -> Vec<u8> {
        let mut list = Vec::new();
        for (number, value) in fields {
            let mut entry = tlv(der::INTEGER, &[*number]);
            entry.extend(tlv(UTF8_STRING, value.as_bytes()));
            list.extend(tlv(der::SEQUENCE, &entry));
        }
        tlv(0x6D, &tlv(der::SEQUENCE, &list))
    }
}

/// One DER element.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let bytes = Dg13::encode(&[
            (field::ID_NUMBER, "001090012345"),
            (field::FULL_NAME, "Nguyễn Văn An"),
            (field::DATE_OF_BIRTH, "28/02/1990"),
        ]);
        let dg13 = Dg13::parse(&bytes).unwrap();
        assert_eq!(dg13.get(field::FULL_NAME), Some("Nguyễn Văn An"));
        assert_eq!(dg13.date_of_birth_iso().as_deref(), Some("1990-02-28"));
        assert!(Dg13::parse(&bytes[..bytes.len() - 1]).is_err());
        let mut other = bytes.clone();
        other[0] = 0x61;
        assert_eq!(Dg13::parse(&other), Err(IcaoError::DataGroupTag(13)));
    }
}
