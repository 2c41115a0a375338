//! A test-card factory: a development CSCA and Document Signer that make the data groups and
//! EF.SOD of a synthetic Vietnamese citizen ID card, valid or deliberately broken. Tests, the
//! server's development mode and the demos use it; real cards come from the chip.

use x509_parser::prelude::{FromDer, X509Certificate};

use super::{
    OCTET_STRING, OID_CONTENT_TYPE, OID_LDS_SECURITY_OBJECT, OID_MESSAGE_DIGEST, OID_SHA256,
    OID_SIGNED_DATA, SET, SOD_TAG,
    dg13::{Dg13, field, tlv},
    mrz::Mrz,
};
use crate::{
    jose::Es256KeyPair,
    x509::{
        X509Error, der,
        dev::{DevCa, LeafProfile},
    },
};

/// `ecdsa-with-SHA256` (1.2.840.10045.4.3.2).
const OID_ECDSA_SHA256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02];

/// Who a test card is for.
#[derive(Debug, Clone, Copy)]
pub struct CardHolder<'a> {
    /// 12 digits.
    pub id_number: &'a str,
    /// Full name with diacritics.
    pub full_name: &'a str,
    /// `YYYY-MM-DD`.
    pub date_of_birth: &'a str,
    /// `male` or `female`.
    pub sex: &'a str,
    /// Quê quán.
    pub place_of_origin: &'a str,
    /// Nơi thường trú.
    pub place_of_residence: &'a str,
}

/// The files a reader gets from a card's chip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestCard {
    /// DG1, the MRZ.
    pub dg1: Vec<u8>,
    /// DG2, the portrait (a placeholder image).
    pub dg2: Vec<u8>,
    /// DG13, the personal data.
    pub dg13: Vec<u8>,
    /// EF.SOD.
    pub sod: Vec<u8>,
}

/// A CSCA and a Document Signer.
pub struct CardFactory {
    csca: DevCa,
    document_signer: Es256KeyPair,
    certificate: Vec<u8>,
    /// When its cards are issued (the Document Signer's start), Unix seconds.
    issued_at: u64,
}

impl std::fmt::Debug for CardFactory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CardFactory").finish_non_exhaustive()
    }
}

impl CardFactory {
    /// A CSCA valid from `not_before` for ten years, with a Document Signer valid between the
    /// two given times.
    pub fn new(not_before: u64, ds_not_before: u64, ds_not_after: u64) -> Result<Self, X509Error> {
        let csca_key = Es256KeyPair::generate().map_err(|_| X509Error::Malformed("key"))?;
        let csca = DevCa::generate(
            &csca_key,
            "CSCA Viet Nam (development)",
            not_before,
            not_before + 10 * 365 * 86_400,
        )?;
        let document_signer = Es256KeyPair::generate().map_err(|_| X509Error::Malformed("key"))?;
        let certificate = csca.issue(
            document_signer.public_key(),
            &LeafProfile {
                common_name: "Document Signer Viet Nam (development)",
                not_before: ds_not_before,
                not_after: ds_not_after,
                ..LeafProfile::default()
            },
        )?;
        Ok(Self {
            csca,
            document_signer,
            certificate,
            issued_at: ds_not_before,
        })
    }

    /// A factory whose certificates are valid around `now`.
    pub fn valid_at(now: u64) -> Result<Self, X509Error> {
        Self::new(now - 86_400, now - 3600, now + 365 * 86_400)
    }

    /// The CSCA certificate, PEM (what a verifier trusts).
    pub fn csca_pem(&self) -> String {
        self.csca.certificate_pem()
    }

    /// The Document Signer certificate, DER.
    pub fn document_signer_der(&self) -> &[u8] {
        &self.certificate
    }

    /// A valid card for `holder`, expiring as a card issued now would (see [`card_expiry`]).
    pub fn card(&self, holder: &CardHolder<'_>) -> Result<TestCard, X509Error> {
        self.card_expiring(holder, &card_expiry(holder.date_of_birth, self.issued_at))
    }

    /// A genuine card for `holder` whose MRZ gives `expiry` (`YYMMDD`) as its date of expiry,
    /// e.g. a past one.
    pub fn card_expiring(
        &self,
        holder: &CardHolder<'_>,
        expiry: &str,
    ) -> Result<TestCard, X509Error> {
        let (dg1, dg2, dg13) = data_groups(holder, expiry);
        let sod = self.sod(&[(1, &dg1), (2, &dg2), (13, &dg13)], &self.document_signer)?;
        Ok(TestCard {
            dg1,
            dg2,
            dg13,
            sod,
        })
    }

    /// EF.SOD listing `data_groups`, signed by `signer` under this factory's Document Signer
    /// certificate (another key than the certificate's makes a SOD whose signature fails).
    pub fn sod(
        &self,
        data_groups: &[(u8, &[u8])],
        signer: &Es256KeyPair,
    ) -> Result<Vec<u8>, X509Error> {
        build_sod(data_groups, signer, &self.certificate)
    }
}

/// The date of expiry (`YYMMDD`) of a card issued at `issued_at` (Unix seconds) to someone born
/// on `date_of_birth` (`YYYY-MM-DD`): a citizen ID card is renewed at 14, 25, 40 and 60, so it
/// expires on the first of those birthdays after its issue. A card issued after 60 does not
/// expire; the MRZ has no "never", so the factory writes the 100th birthday.
pub fn card_expiry(date_of_birth: &str, issued_at: u64) -> String {
    let year: i32 = date_of_birth
        .get(..4)
        .and_then(|y| y.parse().ok())
        .unwrap_or(2000);
    let month_day = date_of_birth.get(5..).unwrap_or("01-01").replace('-', "");
    let issued = time::OffsetDateTime::from_unix_timestamp(issued_at as i64)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let issued = format!(
        "{:04}{:02}{:02}",
        issued.year(),
        u8::from(issued.month()),
        issued.day()
    );
    let expiry_year = [14, 25, 40, 60]
        .into_iter()
        .map(|age| year + age)
        .find(|y| format!("{y:04}{month_day}") > issued)
        .unwrap_or(year + 100);
    format!("{:02}{month_day}", expiry_year.rem_euclid(100))
}

/// DG1, DG2 and DG13 of a card for `holder` whose MRZ expires on `expiry` (`YYMMDD`).
pub fn data_groups(holder: &CardHolder<'_>, expiry: &str) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let ymd = holder.date_of_birth.replace('-', "");
    let birth = ymd.get(2..8).unwrap_or("000000");
    let (family, given) = holder
        .full_name
        .split_once(' ')
        .unwrap_or((holder.full_name, ""));
    let sex = if holder.sex == "female" { 'F' } else { 'M' };
    let mrz = Mrz {
        document_code: "ID".into(),
        issuing_state: "VNM".into(),
        document_number: holder.id_number.get(3..).unwrap_or(holder.id_number).into(),
        optional_data: holder.id_number.into(),
        birth_date: birth.into(),
        sex,
        expiry_date: expiry.into(),
        nationality: "VNM".into(),
        primary_identifier: family.into(),
        secondary_identifier: given.into(),
    }
    .to_td1();
    let dg1 = tlv(0x61, &tlv_long(&[0x5F, 0x1F], mrz.as_bytes()));
    // A placeholder portrait: the biometric template header and a tiny JPEG marker.
    let dg2 = tlv(
        0x75,
        &tlv_long(&[0x7F, 0x61], &[0x02, 0x01, 0x01, 0xFF, 0xD8, 0xFF, 0xD9]),
    );
    let dob = holder.date_of_birth;
    let dob_card = format!(
        "{}/{}/{}",
        dob.get(8..10).unwrap_or(""),
        dob.get(5..7).unwrap_or(""),
        dob.get(..4).unwrap_or("")
    );
    let dg13 = Dg13::encode(&[
        (field::ID_NUMBER, holder.id_number),
        (field::FULL_NAME, holder.full_name),
        (field::DATE_OF_BIRTH, &dob_card),
        (field::SEX, if sex == 'F' { "Nữ" } else { "Nam" }),
        (field::NATIONALITY, "Việt Nam"),
        (field::PLACE_OF_ORIGIN, holder.place_of_origin),
        (field::PLACE_OF_RESIDENCE, holder.place_of_residence),
    ]);
    (dg1, dg2, dg13)
}

/// An element with a two-byte tag.
fn tlv_long(tag: &[u8; 2], content: &[u8]) -> Vec<u8> {
    let mut one = tlv(0, content);
    one.splice(0..1, tag.iter().copied());
    one
}

fn oid(content: &[u8]) -> Vec<u8> {
    tlv(der::OID, content)
}

fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    tlv(der::SEQUENCE, &parts.concat())
}

fn integer(bytes: &[u8]) -> Vec<u8> {
    let trimmed = {
        let skip = bytes
            .iter()
            .take_while(|b| **b == 0)
            .count()
            .min(bytes.len().saturating_sub(1));
        &bytes[skip..]
    };
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(trimmed);
    tlv(der::INTEGER, &content)
}

/// A CMS SignedData EF.SOD (SHA-256, ECDSA P-256) over `data_groups`.
pub fn build_sod(
    data_groups: &[(u8, &[u8])],
    signer: &Es256KeyPair,
    certificate: &[u8],
) -> Result<Vec<u8>, X509Error> {
    let sha256 = sequence(&[&oid(OID_SHA256)]);
    let hashes: Vec<Vec<u8>> = data_groups
        .iter()
        .map(|(n, bytes)| {
            let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
            sequence(&[&integer(&[*n]), &tlv(OCTET_STRING, digest.as_ref())])
        })
        .collect();
    let lds = sequence(&[
        &integer(&[0]),
        &sha256,
        &tlv(der::SEQUENCE, &hashes.concat()),
    ]);
    let content_digest = ring::digest::digest(&ring::digest::SHA256, &lds);
    let attributes = [
        sequence(&[
            &oid(OID_CONTENT_TYPE),
            &tlv(SET, &oid(OID_LDS_SECURITY_OBJECT)),
        ]),
        sequence(&[
            &oid(OID_MESSAGE_DIGEST),
            &tlv(SET, &tlv(OCTET_STRING, content_digest.as_ref())),
        ]),
    ]
    .concat();
    let to_sign = tlv(SET, &attributes);
    let raw = signer
        .sign_es256(&to_sign)
        .map_err(|_| X509Error::Malformed("signing"))?;
    let signature = sequence(&[&integer(&raw[..32]), &integer(&raw[32..])]);

    let (_, cert) =
        X509Certificate::from_der(certificate).map_err(|e| X509Error::Parse(e.to_string()))?;
    let signer_id = sequence(&[cert.issuer().as_raw(), &integer(cert.raw_serial())]);
    let signer_info = sequence(&[
        &integer(&[1]),
        &signer_id,
        &sha256,
        &tlv(der::context(0), &attributes),
        &sequence(&[&oid(OID_ECDSA_SHA256)]),
        &tlv(OCTET_STRING, &signature),
    ]);
    let signed_data = sequence(&[
        &integer(&[3]),
        &tlv(SET, &sha256),
        &sequence(&[
            &oid(OID_LDS_SECURITY_OBJECT),
            &tlv(der::context(0), &tlv(OCTET_STRING, &lds)),
        ]),
        &tlv(der::context(0), certificate),
        &tlv(SET, &signer_info),
    ]);
    let content_info = sequence(&[&oid(OID_SIGNED_DATA), &tlv(der::context(0), &signed_data)]);
    Ok(tlv(SOD_TAG, &content_info))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        icao::{IcaoError, dg13::Dg13, mrz::Mrz, passive_authentication},
        x509::TrustAnchor,
    };

    const NOW: u64 = 1_800_000_000;

    fn holder() -> CardHolder<'static> {
        CardHolder {
            id_number: "001090012345",
            full_name: "Nguyễn Văn An",
            date_of_birth: "1990-02-28",
            sex: "male",
            place_of_origin: "Nam Định",
            place_of_residence: "Hà Nội",
        }
    }

    fn anchors(factory: &CardFactory) -> Vec<TrustAnchor> {
        TrustAnchor::from_pem(&factory.csca_pem()).unwrap()
    }

    fn check(card: &TestCard, cscas: &[TrustAnchor], time: u64) -> Result<(), IcaoError> {
        passive_authentication(
            &card.sod,
            &[(1, &card.dg1), (2, &card.dg2), (13, &card.dg13)],
            cscas,
            time,
        )
        .map(|_| ())
    }

    #[test]
    fn cards_expire_at_the_next_renewal_age() {
        // 2027-01-15.
        const ISSUED: u64 = 1_800_000_000;
        assert_eq!(card_expiry("1990-02-28", ISSUED), "300228");
        assert_eq!(card_expiry("2005-06-01", ISSUED), "300601");
        assert_eq!(card_expiry("1987-01-14", ISSUED), "470114");
        assert_eq!(card_expiry("1987-01-16", ISSUED), "270116");
        // Past 60: the 100th birthday stands for "no expiry".
        assert_eq!(card_expiry("1950-03-01", ISSUED), "500301");
        let factory = CardFactory::valid_at(ISSUED).unwrap();
        let card = factory.card_expiring(&holder(), "240101").unwrap();
        assert_eq!(Mrz::from_dg1(&card.dg1).unwrap().expiry_date, "240101");
        assert!(check(&card, &anchors(&factory), ISSUED).is_ok());
    }

    #[test]
    fn a_valid_card_passes_and_reads_back() {
        let factory = CardFactory::valid_at(NOW).unwrap();
        let card = factory.card(&holder()).unwrap();
        let result = passive_authentication(
            &card.sod,
            &[(1, &card.dg1), (2, &card.dg2), (13, &card.dg13)],
            &anchors(&factory),
            NOW,
        )
        .unwrap();
        assert_eq!(result.data_groups, [1, 2, 13]);
        assert!(result.csca.contains("CSCA Viet Nam"));
        let mrz = Mrz::from_dg1(&card.dg1).unwrap();
        assert_eq!(mrz.vietnamese_id_number(), Some("001090012345"));
        assert_eq!(mrz.birth_date, "900228");
        assert_eq!(mrz.full_name(), "NGUYEN VAN AN");
        let dg13 = Dg13::parse(&card.dg13).unwrap();
        assert_eq!(dg13.get(field::FULL_NAME), Some("Nguyễn Văn An"));
    }

    #[test]
    fn every_kind_of_bad_card_is_refused() {
        let factory = CardFactory::valid_at(NOW).unwrap();
        let good = factory.card(&holder()).unwrap();
        let trusted = anchors(&factory);

        // A data group altered after signing.
        let mut altered = good.clone();
        altered.dg13 = Dg13::encode(&[(field::FULL_NAME, "Trần Văn Bình")]);
        assert_eq!(
            check(&altered, &trusted, NOW),
            Err(IcaoError::DataGroupHash(13))
        );
        // Signed by a key that is not the Document Signer certificate's.
        let mut wrong_signer = good.clone();
        let intruder = Es256KeyPair::generate().unwrap();
        wrong_signer.sod = factory
            .sod(
                &[(1, &good.dg1), (2, &good.dg2), (13, &good.dg13)],
                &intruder,
            )
            .unwrap();
        assert_eq!(
            check(&wrong_signer, &trusted, NOW),
            Err(IcaoError::Signature)
        );
        // The Document Signer expired.
        let expired =
            CardFactory::new(NOW - 86_400 * 400, NOW - 86_400 * 399, NOW - 86_400).unwrap();
        let old = expired.card(&holder()).unwrap();
        assert!(matches!(
            check(&old, &anchors(&expired), NOW),
            Err(IcaoError::Chain(_))
        ));
        assert!(check(&old, &anchors(&expired), NOW - 86_400 * 2).is_ok());
        // A CSCA nobody trusts.
        let stranger = CardFactory::valid_at(NOW).unwrap();
        assert!(matches!(
            check(&good, &anchors(&stranger), NOW),
            Err(IcaoError::Chain(_))
        ));
        // Truncated or padded DER, a data group the SOD does not list, a data group with the
        // wrong tag.
        let mut truncated = good.clone();
        truncated.sod.truncate(good.sod.len() - 10);
        assert!(matches!(
            check(&truncated, &trusted, NOW),
            Err(IcaoError::Malformed(_))
        ));
        let mut padded = good.clone();
        padded.sod.push(0);
        assert!(matches!(
            check(&padded, &trusted, NOW),
            Err(IcaoError::Malformed(_))
        ));
        assert_eq!(
            passive_authentication(&good.sod, &[(14, &[0x6E, 0x00])], &trusted, NOW),
            Err(IcaoError::DataGroupNotListed(14))
        );
        assert_eq!(
            passive_authentication(&good.sod, &[(1, &good.dg13)], &trusted, NOW),
            Err(IcaoError::DataGroupTag(1))
        );
    }
}
