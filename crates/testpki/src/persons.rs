//! The test persons: synthetic holders, each chosen to exercise one situation.
//!
//! All names, addresses, numbers and PINs are fictional test data. Names put U+3000
//! (ideographic space) between family and given name; addresses use full-width digits and
//! the full-width hyphen `－`, as on real cards (§8.1).

use mynaid_card::formats::{Date, Sex};
use serde::{Deserialize, Serialize};

use crate::PkiError;
use crate::cv::my_number_check_digit;
use crate::era::{san_birth_date, wareki_yymmdd};
use crate::pki::Generation;
use crate::x509::{oid, substitute};

/// The input-support DF25 digit (JIS X 0303): `1` male, `2` female, `9` not applicable,
/// `0` unknown (what [`Sex::from_jis`] reads back).
pub fn kenhojo_sex_code(sex: Sex) -> &'static str {
    match sex {
        Sex::Male => "1",
        Sex::Female => "2",
        Sex::NotApplicable => "9",
        Sex::Unknown => "0",
    }
}

/// The signature-certificate SAN digit (JPKI CPS): `1` male, `2` female, `3` otherwise.
///
/// The profile's `3` means 不明, so [`Sex::Unknown`] shares it with [`Sex::NotApplicable`]
/// (and [`Sex::from_jpki`] reads it back as the latter): a real card cannot tell them apart
/// in the certificate either.
pub fn san_sex_code(sex: Sex) -> &'static str {
    match sex {
        Sex::Male => "1",
        Sex::Female => "2",
        Sex::NotApplicable | Sex::Unknown => "3",
    }
}

/// `persons.json`'s spelling of [`Sex`], for `#[serde(with)]`: the card crate has no serde.
mod sex_serde {
    use mynaid_card::formats::Sex;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    const VARIANTS: &[&str] = &["male", "female", "not_applicable", "unknown"];

    /// Written as the unit variant a derived `enum Sex` with snake_case names would be, so
    /// the files stay byte-identical to those of the crate's former own `Sex`.
    pub(super) fn serialize<S: Serializer>(sex: &Sex, serializer: S) -> Result<S::Ok, S::Error> {
        let index = match sex {
            Sex::Male => 0,
            Sex::Female => 1,
            Sex::NotApplicable => 2,
            Sex::Unknown => 3,
        };
        serializer.serialize_unit_variant("Sex", index, sex.as_str())
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Sex, D::Error> {
        let text = String::deserialize(deserializer)?;
        // Matching on the card crate's own spelling keeps reading and writing in step.
        [Sex::Male, Sex::Female, Sex::NotApplicable, Sex::Unknown]
            .into_iter()
            .find(|sex| sex.as_str() == text)
            .ok_or_else(|| D::Error::unknown_variant(&text, VARIANTS))
    }
}

/// The fixed description of one test person (everything that does not depend on the seed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// `p01` … `p09`; also the card label and the card file name.
    pub id: &'static str,
    /// 氏名 as stored in the input-support AP (DF22).
    pub name: &'static str,
    /// 住所 as stored in the input-support AP (DF23).
    pub address: &'static str,
    /// 生年月日.
    pub birthdate: Date,
    /// 性別.
    pub sex: Sex,
    /// 代替文字 used in the signature certificate: (original, substitute) pairs applied to
    /// both the name and the address of the SAN.
    pub substitutes: &'static [(char, char)],
    /// 全国地方公共団体コード of the municipality (5 digits, without the check digit).
    pub municipality_code: &'static str,
    /// The municipality in romaji, for the signature certificate's `L=`.
    pub municipality: &'static str,
    /// 券面事項入力補助用暗証番号 (input-support PIN, EF 0011).
    pub pin: &'static str,
    /// 利用者証明用暗証番号 (JPKI user-authentication PIN, EF 0018).
    pub auth_pin: &'static str,
    /// 署名用パスワード (EF 001B); `None` when the card has no signature certificate.
    pub sign_password: Option<&'static str>,
    /// Tries left on EF 0011 (max 3).
    pub pin_remaining: u8,
    /// Tries left on EF 0018 (max 3).
    pub auth_pin_remaining: u8,
    /// Tries left on EF 001B (max 5).
    pub sign_password_remaining: u8,
    /// The root generation that issued the JPKI certificates.
    pub generation: Generation,
    /// Whether the signature certificate is on the CRL.
    pub sign_revoked: bool,
    /// Whether the user-authentication certificate is on the CRL.
    pub auth_revoked: bool,
    /// The first 11 digits of the (fake) Individual Number; the 12th is the check digit.
    pub my_number_base: &'static str,
    /// Card expiry year (part of 照合番号B).
    pub card_expiry_year: u16,
    /// The 4-digit security code printed on the card (part of 照合番号B).
    pub security_code: &'static str,
    /// What this person is for, in English.
    pub note: &'static str,
}

impl Profile {
    /// The 12-digit Individual Number (with a valid check digit).
    ///
    /// # Errors
    /// [`PkiError::MyNumber`] if the base is not 11 digits.
    pub fn my_number(&self) -> Result<String, PkiError> {
        let check = my_number_check_digit(self.my_number_base)?;
        Ok(format!("{}{check}", self.my_number_base))
    }

    /// The SAN 氏名 and its 代替文字使用位置 flags.
    pub fn san_name(&self) -> (String, String) {
        substitute(self.name, self.substitutes)
    }

    /// The SAN 住所 and its 代替文字使用位置 flags.
    pub fn san_address(&self) -> (String, String) {
        substitute(self.address, self.substitutes)
    }

    /// The signature certificate's SAN OtherNames in card order: .1 name, .4 birth date,
    /// .3 sex, .5 address, .2 name flags, .6 address flags.
    pub fn san_entries(&self) -> Vec<(der::asn1::ObjectIdentifier, String)> {
        let (name, name_flags) = self.san_name();
        let (address, address_flags) = self.san_address();
        vec![
            (oid::SAN_NAME, name),
            (oid::SAN_BIRTH_DATE, san_birth_date(self.birthdate)),
            (oid::SAN_SEX, san_sex_code(self.sex).to_owned()),
            (oid::SAN_ADDRESS, address),
            (oid::SAN_NAME_SUBSTITUTES, name_flags),
            (oid::SAN_ADDRESS_SUBSTITUTES, address_flags),
        ]
    }

    /// The 6-digit 生年月日 key: birth date as era `YYMMDD`.
    ///
    /// # Errors
    /// [`PkiError::Date`] for a birth date before 明治.
    pub fn birth_date_key(&self) -> Result<String, PkiError> {
        wareki_yymmdd(self.birthdate).ok_or_else(|| PkiError::Date(self.birthdate.iso()))
    }

    /// 照合番号B (14 digits): era `YYMMDD` of birth ‖ expiry year `YYYY` ‖ security code.
    ///
    /// # Errors
    /// [`PkiError::Date`] for a birth date before 明治.
    pub fn verification_code_b(&self) -> Result<String, PkiError> {
        Ok(format!(
            "{}{:04}{}",
            self.birth_date_key()?,
            self.card_expiry_year,
            self.security_code
        ))
    }

    /// This person's entry in `persons.json`.
    pub fn record(&self) -> PersonRecord {
        PersonRecord {
            id: self.id.to_owned(),
            card: format!("cards/{}.json", self.id),
            pin: self.pin.to_owned(),
            auth_pin: self.auth_pin.to_owned(),
            sign_password: self.sign_password.map(str::to_owned),
            name: self.name.to_owned(),
            address: self.address.to_owned(),
            birthdate: self.birthdate.iso(),
            sex: self.sex,
            note: self.note.to_owned(),
        }
    }
}

/// One entry of `persons.json` (keys in this order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonRecord {
    /// `p01` …
    pub id: String,
    /// The card state file, relative to the output directory (`cards/p01.json`).
    pub card: String,
    /// Input-support PIN (4 digits).
    pub pin: String,
    /// JPKI user-authentication PIN (4 digits).
    pub auth_pin: String,
    /// Signature password; `null` when the card has no signature certificate.
    pub sign_password: Option<String>,
    /// 氏名 as in the input-support AP.
    pub name: String,
    /// 住所 as in the input-support AP.
    pub address: String,
    /// `YYYY-MM-DD`.
    pub birthdate: String,
    /// `male` | `female` | `not_applicable` (`unknown`, which no profile uses).
    #[serde(with = "sex_serde")]
    pub sex: Sex,
    /// What is special about this person.
    pub note: String,
}

const P07_ADDRESS: &str = "和歌山県東牟婁郡那智勝浦町大字天満字浜ノ宮東一丁目１２３４番地の５６７\u{3000}\
                           那智勝浦グランドレジデンス髙松壱番館東棟弐拾参階１２３４号室（管理人室隣）";

/// A date for the statics: the card crate's `Date::new` validates and so is not `const`
/// (a test checks these dates instead).
const fn ymd(year: u16, month: u8, day: u8) -> Date {
    Date { year, month, day }
}

/// The twelve test persons, in id order.
pub fn profiles() -> &'static [Profile] {
    &PROFILES
}

static PROFILES: [Profile; 12] = [
    Profile {
        id: "p01",
        name: "山田\u{3000}太郎",
        address: "東京都千代田区霞が関１－２－３",
        birthdate: ymd(1980, 2, 17),
        sex: Sex::Male,
        substitutes: &[],
        municipality_code: "13101",
        municipality: "Chiyoda-ku",
        pin: "1234",
        auth_pin: "1234",
        sign_password: Some("ABC123"),
        pin_remaining: 3,
        auth_pin_remaining: 3,
        sign_password_remaining: 5,
        generation: Generation::G2,
        sign_revoked: false,
        auth_revoked: false,
        my_number_base: "12345678901",
        card_expiry_year: 2035,
        security_code: "2285",
        note: "Ordinary adult (Showa birth date); the PINs of the spec's APDU examples.",
    },
    Profile {
        id: "p02",
        name: "鈴木\u{3000}花子",
        address: "大阪府大阪市北区梅田９－８－７\u{3000}梅田テストマンション３０１",
        birthdate: ymd(1995, 7, 1),
        sex: Sex::Female,
        substitutes: &[],
        municipality_code: "27127",
        municipality: "Osaka-shi Kita-ku",
        pin: "2468",
        auth_pin: "8642",
        sign_password: Some("SUZUKI95"),
        pin_remaining: 3,
        auth_pin_remaining: 3,
        sign_password_remaining: 5,
        generation: Generation::G2,
        sign_revoked: false,
        auth_revoked: false,
        my_number_base: "23456789012",
        card_expiry_year: 2035,
        security_code: "4821",
        note: "Ordinary adult (Heisei birth date); the two 4-digit PINs differ (input-support \
               2468, user-authentication 8642).",
    },
    Profile {
        id: "p03",
        name: "佐藤\u{3000}ひかる",
        address: "神奈川県横浜市中区本町６－５０－１０",
        birthdate: ymd(1962, 11, 3),
        sex: Sex::NotApplicable,
        substitutes: &[],
        municipality_code: "14104",
        municipality: "Yokohama-shi Naka-ku",
        pin: "3141",
        auth_pin: "5926",
        sign_password: Some("HIKARI62"),
        pin_remaining: 3,
        auth_pin_remaining: 3,
        sign_password_remaining: 5,
        generation: Generation::G2,
        sign_revoked: false,
        auth_revoked: false,
        my_number_base: "34567890123",
        card_expiry_year: 2035,
        security_code: "7364",
        note: "Sex not applicable: input-support DF25 is 9, the SAN sex is 3.",
    },
    Profile {
        id: "p04",
        name: "高橋\u{3000}健一",
        address: "北海道札幌市中央区北一条西２－１－１",
        birthdate: ymd(1971, 8, 15),
        sex: Sex::Male,
        substitutes: &[],
        municipality_code: "01101",
        municipality: "Sapporo-shi Chuo-ku",
        pin: "4040",
        auth_pin: "4141",
        sign_password: Some("TAKA71PW"),
        pin_remaining: 3,
        auth_pin_remaining: 3,
        sign_password_remaining: 0,
        generation: Generation::G2,
        sign_revoked: false,
        auth_revoked: false,
        my_number_base: "45678901234",
        card_expiry_year: 2034,
        security_code: "1590",
        note: "Signature password blocked (001B has 0 tries left); everything else usable.",
    },
    Profile {
        id: "p05",
        name: "田中\u{3000}美咲",
        address: "愛知県名古屋市中区三の丸３－１－１",
        birthdate: ymd(1988, 12, 24),
        sex: Sex::Female,
        substitutes: &[],
        municipality_code: "23106",
        municipality: "Nagoya-shi Naka-ku",
        pin: "5151",
        auth_pin: "1515",
        sign_password: Some("MISAKI88"),
        pin_remaining: 1,
        auth_pin_remaining: 3,
        sign_password_remaining: 1,
        generation: Generation::G2,
        sign_revoked: false,
        auth_revoked: false,
        my_number_base: "56789012345",
        card_expiry_year: 2035,
        security_code: "3307",
        note: "One try left on the input-support PIN (0011) and on the signature password (001B).",
    },
    Profile {
        id: "p06",
        name: "伊藤\u{3000}陽翔",
        address: "福岡県福岡市中央区天神１－８－１",
        birthdate: ymd(2015, 4, 10),
        sex: Sex::Male,
        substitutes: &[],
        municipality_code: "40133",
        municipality: "Fukuoka-shi Chuo-ku",
        pin: "6060",
        auth_pin: "6161",
        sign_password: None,
        pin_remaining: 3,
        auth_pin_remaining: 3,
        sign_password_remaining: 0,
        generation: Generation::G2,
        sign_revoked: false,
        auth_revoked: false,
        my_number_base: "67890123456",
        card_expiry_year: 2030,
        security_code: "6642",
        note: "Child under 15 without a signature certificate: JPKI EF 0008 is 00 8F 00; \
               EF 0001, key 001A and password 001B are absent.",
    },
    Profile {
        id: "p07",
        name: "𠮷田\u{3000}一郎",
        address: P07_ADDRESS,
        birthdate: ymd(1925, 1, 1),
        sex: Sex::Male,
        substitutes: &[('𠮷', '吉'), ('髙', '高')],
        municipality_code: "30421",
        municipality: "Nachikatsuura-cho",
        pin: "7070",
        auth_pin: "7171",
        sign_password: Some("YOSHIDA1925"),
        pin_remaining: 3,
        auth_pin_remaining: 3,
        sign_password_remaining: 5,
        generation: Generation::G2,
        sign_revoked: false,
        auth_revoked: false,
        my_number_base: "78901234567",
        card_expiry_year: 2035,
        security_code: "9018",
        note: "Substitute characters: the certificate SAN has 吉 for 𠮷 (name flags 10000) and \
               高 for 髙 in the address; Taisho birth date; EF 0002 is longer than 256 bytes.",
    },
    Profile {
        id: "p08",
        name: "渡辺\u{3000}直樹",
        address: "京都府京都市中京区烏丸通四条上る笋町６８９－１０１",
        birthdate: ymd(1990, 3, 3),
        sex: Sex::Male,
        substitutes: &[],
        municipality_code: "26104",
        municipality: "Kyoto-shi Nakagyo-ku",
        pin: "8080",
        auth_pin: "8181",
        sign_password: Some("NAOKI90R"),
        pin_remaining: 3,
        auth_pin_remaining: 3,
        sign_password_remaining: 5,
        generation: Generation::G2,
        sign_revoked: true,
        auth_revoked: false,
        my_number_base: "89012345678",
        card_expiry_year: 2035,
        security_code: "5173",
        note: "Moved: the signature certificate revoked (its serial is on crl/jpki-sign-g2.crl); \
               the user-authentication certificate, which names no address, still valid.",
    },
    Profile {
        id: "p09",
        name: "小林\u{3000}結衣",
        address: "宮城県仙台市青葉区国分町３－７－１",
        birthdate: ymd(2019, 5, 1),
        sex: Sex::Female,
        substitutes: &[],
        municipality_code: "04101",
        municipality: "Sendai-shi Aoba-ku",
        pin: "9090",
        auth_pin: "9191",
        sign_password: Some("YUI2019G1"),
        pin_remaining: 3,
        auth_pin_remaining: 3,
        sign_password_remaining: 5,
        generation: Generation::G1,
        sign_revoked: false,
        auth_revoked: false,
        my_number_base: "90123456789",
        card_expiry_year: 2029,
        security_code: "8206",
        note: "Born on the first day of Reiwa; certificates issued under the old generation \
               (g1 roots). A signature certificate at this age is a test convenience.",
    },
    Profile {
        id: "p10",
        name: "加藤\u{3000}誠",
        address: "愛知県名古屋市中区三の丸３－１－１",
        birthdate: ymd(1958, 4, 9),
        sex: Sex::Male,
        substitutes: &[],
        municipality_code: "23106",
        municipality: "Nagoya-shi Naka-ku",
        pin: "1010",
        auth_pin: "1010",
        sign_password: Some("KATO58"),
        pin_remaining: 3,
        auth_pin_remaining: 3,
        sign_password_remaining: 5,
        generation: Generation::G2,
        sign_revoked: true,
        auth_revoked: true,
        my_number_base: "01234567891",
        card_expiry_year: 2035,
        security_code: "3390",
        note: "Card reported lost: both JPKI certificates revoked (crl/jpki-sign-g2.crl and \
               crl/jpki-auth-g2.crl); the PINs are the same 4 digits.",
    },
    Profile {
        id: "p11",
        name: "吉田\u{3000}美咲",
        address: "福岡県福岡市中央区天神１－８－１",
        birthdate: ymd(1988, 12, 24),
        sex: Sex::Female,
        substitutes: &[],
        municipality_code: "40133",
        municipality: "Fukuoka-shi Chuo-ku",
        pin: "1111",
        auth_pin: "1111",
        sign_password: Some("MSK1988"),
        pin_remaining: 3,
        auth_pin_remaining: 0,
        sign_password_remaining: 5,
        generation: Generation::G2,
        sign_revoked: false,
        auth_revoked: false,
        my_number_base: "11223344556",
        card_expiry_year: 2035,
        security_code: "6402",
        note: "User-authentication PIN blocked (0018 has 0 tries left); the input-support PIN \
               and the signature password usable.",
    },
    Profile {
        id: "p12",
        name: "山本\u{3000}翔",
        address: "広島県広島市中区基町１０－５２",
        birthdate: ymd(2001, 3, 30),
        sex: Sex::Male,
        substitutes: &[],
        municipality_code: "34101",
        municipality: "Hiroshima-shi Naka-ku",
        pin: "1212",
        auth_pin: "1212",
        sign_password: Some("SHO2001"),
        pin_remaining: 0,
        auth_pin_remaining: 3,
        sign_password_remaining: 5,
        generation: Generation::G2,
        sign_revoked: false,
        auth_revoked: false,
        my_number_base: "22334455667",
        card_expiry_year: 2035,
        security_code: "1958",
        note: "Input-support PIN blocked (0011 has 0 tries left; only the city office resets \
               it); the user-authentication PIN and the signature password usable.",
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_differ_between_persons_and_follow_the_rules() {
        let all = profiles();
        for (i, a) in all.iter().enumerate() {
            assert_eq!(a.pin.len(), 4);
            assert_eq!(a.auth_pin.len(), 4);
            if let Some(pw) = a.sign_password {
                assert!((6..=16).contains(&pw.len()), "{}", a.id);
                assert!(pw.bytes().any(|b| b.is_ascii_digit()));
                assert!(pw.bytes().any(|b| b.is_ascii_uppercase()));
                assert!(pw.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()));
            }
            for b in &all[i + 1..] {
                assert_ne!(a.pin, b.pin);
                assert_ne!(a.sign_password, b.sign_password);
            }
        }
    }

    #[test]
    fn birth_dates_are_valid_dates() {
        // The statics use struct literals, which skip the card crate's calendar check.
        for p in profiles() {
            let Date { year, month, day } = p.birthdate;
            assert_eq!(Date::new(year, month, day), Some(p.birthdate), "{}", p.id);
        }
    }

    #[test]
    fn sex_codes_read_back_through_the_card_crate() {
        for sex in [Sex::Male, Sex::Female, Sex::NotApplicable, Sex::Unknown] {
            assert_eq!(Sex::from_jis(kenhojo_sex_code(sex).as_bytes()[0]), Some(sex));
            let jpki = Sex::from_jpki(san_sex_code(sex).as_bytes()[0]);
            let expected = if sex == Sex::Unknown { Sex::NotApplicable } else { sex };
            assert_eq!(jpki, Some(expected));
        }
    }

    #[test]
    fn sex_json_is_the_snake_case_name() {
        let mut record = profiles()[2].record();
        for (sex, text) in [
            (Sex::Male, "male"),
            (Sex::Female, "female"),
            (Sex::NotApplicable, "not_applicable"),
            (Sex::Unknown, "unknown"),
        ] {
            record.sex = sex;
            let json = serde_json::to_value(&record).unwrap();
            assert_eq!(json["sex"], text);
            let back: PersonRecord = serde_json::from_value(json).unwrap();
            assert_eq!(back.sex, sex);
        }
        let mut json = serde_json::to_value(&record).unwrap();
        json["sex"] = "Male".into();
        assert!(serde_json::from_value::<PersonRecord>(json).is_err());
    }

    #[test]
    fn verification_code_b_matches_the_spec_example() {
        // §4.4: 1980-02-17, expiry 2035, code 2285 → 55021720352285.
        let p01 = &profiles()[0];
        assert_eq!(p01.verification_code_b().unwrap(), "55021720352285");
        assert_eq!(p01.birth_date_key().unwrap(), "550217");
        assert_eq!(p01.my_number().unwrap(), "123456789018");
    }

    #[test]
    fn p07_substitutes_and_is_long() {
        let p07 = &profiles()[6];
        assert_eq!(p07.san_name(), ("吉田\u{3000}一郎".into(), "10000".into()));
        let (address, flags) = p07.san_address();
        assert_eq!(flags.chars().count(), address.chars().count());
        assert_eq!(flags.matches('1').count(), 1);
        assert!(address.chars().count() <= 200);
        assert!(p07.address.len() > 200, "{} bytes", p07.address.len());
    }
}
