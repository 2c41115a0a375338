//! Synthetic citizens for demos, tests and benchmarks: common Vietnamese family, middle and given
//! names with their diacritics, all 63 province codes, ID numbers consistent with the date of
//! birth and sex. Deterministic for a given seed.

use std::{collections::HashSet, io::Write};

use super::id_number::{PROVINCES, Sex, compose};
use crate::store::Citizen;

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
        Citizen {
            id_number,
            full_name: format!("{family} {middle} {given}"),
            date_of_birth: format!("{year:04}-{month:02}-{day:02}"),
            sex: sex.as_str().to_owned(),
            place_of_origin: format!("Tỉnh {province_name}"),
            place_of_residence: format!("Số {number} {street}, {residence_province}"),
            status: if self.rng.below(200) == 0 {
                "deceased"
            } else {
                "living"
            }
            .to_owned(),
        }
    }
}

/// Writes `count` citizens as NDJSON (the import contract's field names).
pub fn write_ndjson(out: &mut impl Write, seed: u64, count: u64) -> std::io::Result<()> {
    let mut generator = Generator::new(seed);
    for _ in 0..count {
        let citizen = generator.citizen();
        serde_json::to_writer(&mut *out, &citizen)?;
        out.write_all(b"\n")?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::{ImportRow, parse_date};

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
    fn same_seed_same_citizens() {
        let (mut a, mut b) = (Generator::new(1), Generator::new(1));
        assert_eq!(a.citizen(), b.citizen());
    }
}
