//! Synthetic citizens for demos, tests and benchmarks: common Vietnamese family, middle and given
//! names with their diacritics, all 63 province codes, ID numbers consistent with the date of
//! birth and sex. Deterministic for a given seed.

use std::{collections::HashSet, io::Write};

use super::id_number::{PROVINCES, Sex, compose};
use crate::{
    platform::progress::Progress,
    store::{Citizen, CitizenStatus},
};

/// Family names with rough population weights (per mille).
const FAMILY: [(&str, u32); 16] = [
    ("Nguyễn", 380),
    ("Trần", 110),
    ("Lê", 95),
    ("Phạm", 70),
    ("Hoàng", 51),
    ("Huỳnh", 35),
    ("Phan", 45),
    ("Vũ", 39),
    ("Võ", 30),
    ("Đặng", 21),
    ("Bùi", 20),
    ("Đỗ", 14),
    ("Hồ", 13),
    ("Ngô", 13),
    ("Dương", 10),
    ("Lý", 5),
];
const MIDDLE_MALE: [&str; 10] = [
    "Văn", "Hữu", "Đức", "Minh", "Quang", "Thành", "Công", "Xuân", "Gia", "Anh",
];
const MIDDLE_FEMALE: [&str; 10] = [
    "Thị", "Ngọc", "Thu", "Thanh", "Phương", "Kim", "Hồng", "Mai", "Bảo", "Diệu",
];
const GIVEN_MALE: [&str; 30] = [
    "An", "Anh", "Bảo", "Bình", "Cường", "Dũng", "Duy", "Đạt", "Hải", "Hiếu", "Hùng", "Huy",
    "Khang", "Khoa", "Long", "Minh", "Nam", "Nghĩa", "Phong", "Phúc", "Quân", "Sơn", "Tài",
    "Thắng", "Thịnh", "Toàn", "Trung", "Tuấn", "Việt", "Vinh",
];
const GIVEN_FEMALE: [&str; 30] = [
    "An", "Anh", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hiền", "Hoa", "Hương", "Lan",
    "Linh", "Loan", "Mai", "My", "Ngân", "Ngọc", "Nhung", "Oanh", "Phương", "Quỳnh", "Thảo",
    "Thủy", "Trang", "Trinh", "Uyên", "Vân", "Vy", "Yến",
];
const STREETS: [&str; 12] = [
    "Lê Lợi",
    "Trần Hưng Đạo",
    "Nguyễn Trãi",
    "Hai Bà Trưng",
    "Lý Thường Kiệt",
    "Quang Trung",
    "Hùng Vương",
    "Điện Biên Phủ",
    "Nguyễn Huệ",
    "Phan Đình Phùng",
    "Bạch Đằng",
    "Lê Duẩn",
];

/// A small, fast, seedable generator (SplitMix64): synthetic data needs spread, not secrecy.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

/// An endless, duplicate-free stream of synthetic citizens.
pub struct Generator {
    rng: SplitMix,
    issued: HashSet<u64>,
}

impl Generator {
    /// A generator; the same seed gives the same citizens.
    pub fn new(seed: u64) -> Self {
        Self {
            rng: SplitMix(seed),
            issued: HashSet::new(),
        }
    }

    fn family(&mut self) -> &'static str {
        let total: u32 = FAMILY.iter().map(|(_, w)| w).sum();
        let mut roll = self.rng.below(u64::from(total)) as u32;
        for (name, weight) in FAMILY {
            if roll < weight {
                return name;
            }
            roll -= weight;
        }
        FAMILY[0].0
    }

    /// The next citizen.
    pub fn citizen(&mut self) -> Citizen {
        let sex = if self.rng.below(2) == 0 {
            Sex::Male
        } else {
            Sex::Female
        };
        let year = 1940 + self.rng.below(66) as u32;
        let month = 1 + self.rng.below(12) as u32;
        let day = 1 + self.rng.below(28) as u32;
        let (province, province_name) = *self.rng.pick(&PROVINCES);
        let id_number = loop {
            let serial = self.rng.below(1_000_000) as u32;
            let id = compose(province, year, sex, serial);
            if self.issued.insert(id.parse().unwrap_or(0)) {
                break id;
            }
        };
        let (middle, given) = match sex {
            Sex::Male => (*self.rng.pick(&MIDDLE_MALE), *self.rng.pick(&GIVEN_MALE)),
            Sex::Female => (
                *self.rng.pick(&MIDDLE_FEMALE),
                *self.rng.pick(&GIVEN_FEMALE),
            ),
        };
        let family = self.family();
        let (_, residence_province) = *self.rng.pick(&PROVINCES);
        let street = self.rng.pick(&STREETS);
        let number = 1 + self.rng.below(300);
        let phones = Some(phone_of(&id_number));
        Citizen {
            id_number,
            full_name: format!("{family} {middle} {given}"),
            date_of_birth: format!("{year:04}-{month:02}-{day:02}"),
            sex: sex.as_str().to_owned(),
            place_of_origin: format!("Tỉnh {province_name}"),
            place_of_residence: format!("Số {number} {street}, {residence_province}"),
            status: if self.rng.below(200) == 0 {
                CitizenStatus::Deceased
            } else {
                CitizenStatus::Living
            },
            phones,
        }
    }
}

/// The demo citizen's registered phone (`0912 345 678`), printed at start-up.
pub const DEMO_PHONE: &str = "+84912345678";

/// A synthetic citizen's registered mobile number (E.164), derived from the ID number so that
/// the generator's other draws, and so the citizens of a seed, stay what they were.
fn phone_of(id_number: &str) -> String {
    let mut rng = SplitMix(id_number.parse::<u64>().unwrap_or(0) ^ 0x7068_6f6e);
    let prefix = *rng.pick(b"35789") as char;
    format!("+84{prefix}{:08}", rng.below(100_000_000))
}

/// A synthetic registry document: the kind id and its own claims.
pub type SyntheticDocument = (&'static str, serde_json::Value);

const FACILITIES: [&str; 6] = [
    "Bệnh viện Đa khoa",
    "Trung tâm Y tế",
    "Bệnh viện Bạch Mai",
    "Bệnh viện Chợ Rẫy",
    "Trạm Y tế phường",
    "Bệnh viện Nhi",
];
const MAKES: [(&str, &str); 6] = [
    ("Honda", "Wave Alpha"),
    ("Honda", "Vision"),
    ("Yamaha", "Exciter 155"),
    ("VinFast", "VF 8"),
    ("Toyota", "Vios"),
    ("Hyundai", "Accent"),
];
const COLOURS: [&str; 5] = ["Đen", "Trắng", "Đỏ", "Xanh", "Bạc"];

fn digits(rng: &mut SplitMix, n: usize) -> String {
    (0..n)
        .map(|_| char::from(b'0' + rng.below(10) as u8))
        .collect()
}

/// The registry documents of a synthetic citizen, drawn from a generator seeded by the ID number
/// (so the citizen stream is the same with or without them). Living citizens have a health
/// insurance card (95 %); adults a driving licence (50 %), a vehicle registration (30 %) and a
/// judicial record certificate (15 %). `all` gives an adult every kind (the demo citizen).
pub fn documents(citizen: &Citizen, all: bool) -> Vec<SyntheticDocument> {
    use serde_json::json;
    let mut rng = SplitMix(citizen.id_number.parse::<u64>().unwrap_or(0) ^ 0x646f_6373);
    let mut out = Vec::new();
    if citizen.status != CitizenStatus::Living {
        return out;
    }
    let year: i32 = citizen.date_of_birth[..4].parse().unwrap_or(1990);
    let adult = year <= 2006;
    let (_, province) = *rng.pick(&PROVINCES);
    let since = (2018 + rng.below(7) as i32).max(year + 18);
    let date = |y: i32, rng: &mut SplitMix| {
        format!("{y:04}-{:02}-{:02}", 1 + rng.below(12), 1 + rng.below(28))
    };
    if all || rng.below(100) < 95 {
        let from = date(2025, &mut rng);
        out.push((
            "health_insurance",
            json!({
                "card_number": format!("GD4{}{}", &citizen.id_number[1..3], digits(&mut rng, 10)),
                "benefit_level": 1 + rng.below(5),
                "registered_facility": format!("{} {province}", rng.pick(&FACILITIES)),
                "valid_from": from,
                "valid_until": "2026-12-31",
                "issuing_authority": "Bảo hiểm xã hội Việt Nam",
                "issuing_country": "VN",
            }),
        ));
    }
    if !adult {
        return out;
    }
    if all || rng.below(100) < 50 {
        let issued = date(since, &mut rng);
        out.push((
            "driving_licence",
            json!({
                "document_number": digits(&mut rng, 12),
                "driving_privileges": [
                    { "vehicle_category_code": "A1", "issue_date": issued },
                    { "vehicle_category_code": "B", "issue_date": issued,
                      "expiry_date": format!("{}{}", since + 10, &issued[4..]) },
                ],
                "issue_date": issued,
                "issuing_authority": format!("Sở Giao thông vận tải {province}"),
                "issuing_country": "VN",
            }),
        ));
    }
    if all || rng.below(100) < 30 {
        let (make, model) = *rng.pick(&MAKES);
        out.push((
            "vehicle_registration",
            json!({
                "registration_number": digits(&mut rng, 6),
                "plate_number": format!("{}A-{}.{}", 11 + rng.below(88), digits(&mut rng, 3), digits(&mut rng, 2)),
                "vehicle": {
                    "make": make,
                    "model": model,
                    "colour": rng.pick(&COLOURS),
                    "engine_number": format!("E{}", digits(&mut rng, 9)),
                    "chassis_number": format!("RL{}", digits(&mut rng, 15)),
                },
                "registration_date": date(since, &mut rng),
                "issuing_authority": format!("Phòng Cảnh sát giao thông {province}"),
                "issuing_country": "VN",
            }),
        ));
    }
    if all || rng.below(100) < 15 {
        out.push((
            "judicial_record",
            json!({
                "certificate_number": format!("{}/2025/LLTP", digits(&mut rng, 5)),
                "has_criminal_record": false,
                "management_bans": false,
                "issue_date": date(2025, &mut rng),
                "issuing_authority": "Trung tâm Lý lịch tư pháp quốc gia",
                "issuing_country": "VN",
            }),
        ));
    }
    out
}

/// Writes `count` citizens as NDJSON (the import contract's field names), each followed by its
/// synthetic documents when `with_documents`.
pub fn write_ndjson(
    out: &mut impl Write,
    seed: u64,
    count: u64,
    with_documents: bool,
) -> std::io::Result<()> {
    write_ndjson_watched(out, seed, count, with_documents, &Progress::hidden())
}

/// [`write_ndjson`], counting each citizen written in `progress`.
pub fn write_ndjson_watched(
    out: &mut impl Write,
    seed: u64,
    count: u64,
    with_documents: bool,
    progress: &Progress,
) -> std::io::Result<()> {
    let mut generator = Generator::new(seed);
    for _ in 0..count {
        let citizen = generator.citizen();
        serde_json::to_writer(&mut *out, &citizen)?;
        out.write_all(b"\n")?;
        if with_documents {
            for (kind, claims) in documents(&citizen, false) {
                serde_json::to_writer(
                    &mut *out,
                    &serde_json::json!({ "document": kind, "id_number": citizen.id_number, "claims": claims }),
                )?;
                out.write_all(b"\n")?;
            }
        }
        progress.rows(1);
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::registry::{ImportRow, parse_date};

    #[test]
    fn generated_citizens_pass_validation() {
        let mut generator = Generator::new(7);
        let today = (2026, 11, 27);
        let mut provinces = HashSet::new();
        for _ in 0..5_000 {
            let c = generator.citizen();
            let json = serde_json::to_string(&c).unwrap();
            let row: ImportRow<'_> = serde_json::from_str(&json).unwrap();
            assert_eq!(row.validate(today).unwrap(), c);
            assert!(parse_date(&c.date_of_birth, today).is_some());
            provinces.insert(c.id_number[..3].to_owned());
        }
        assert_eq!(provinces.len(), 63);
    }

    #[test]
    fn generated_documents_pass_validation() {
        let mut generator = Generator::new(11);
        let mut kinds = HashSet::new();
        for i in 0..2_000 {
            let c = generator.citizen();
            for (kind, claims) in documents(&c, i % 50 == 0) {
                let row = serde_json::json!({ "document": kind, "id_number": c.id_number, "claims": claims })
                    .to_string();
                let row: ImportRow<'_> = serde_json::from_str(&row).unwrap();
                match row.validate_record((2026, 11, 27)) {
                    Ok(crate::domain::registry::Record::Document(d)) => assert_eq!(d.kind, kind),
                    other => panic!("{kind}: {other:?}"),
                }
                kinds.insert(kind);
            }
        }
        assert_eq!(kinds.len(), 4);
    }

    #[test]
    fn same_seed_same_citizens() {
        let (mut a, mut b) = (Generator::new(1), Generator::new(1));
        assert_eq!(a.citizen(), b.citizen());
    }
}
