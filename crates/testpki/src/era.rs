//! Calendar dates and the Japanese eras (和暦).
//!
//! Two card formats use the era: the SAN birth date of the signature certificate
//! (`EYYYYMMDD`: era digit + *Gregorian* date, §8.6) and 照合番号B / the 生年月日 key
//! (era year `YYMMDD`, §4.4). Era boundaries are the first day of each era:
//! 明治 1868-10-23, 大正 1912-07-30, 昭和 1926-12-25, 平成 1989-01-08, 令和 2019-05-01.

use std::fmt;

use crate::PkiError;

/// A calendar date (Gregorian, no time zone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Year, e.g. 1980.
    pub year: u16,
    /// Month 1–12.
    pub month: u8,
    /// Day 1–31.
    pub day: u8,
}

impl Date {
    /// A date from its parts (not validated; the generator only uses fixed constants).
    pub const fn new(year: u16, month: u8, day: u8) -> Self {
        Self { year, month, day }
    }

    /// Parses `YYYY-MM-DD`.
    ///
    /// # Errors
    /// [`PkiError::Date`] when the text is not a valid date in that form.
    pub fn parse(text: &str) -> Result<Self, PkiError> {
        let bad = || PkiError::Date(text.to_owned());
        let b = text.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad());
        }
        let year = text[0..4].parse().map_err(|_| bad())?;
        let month = text[5..7].parse().map_err(|_| bad())?;
        let day = text[8..10].parse().map_err(|_| bad())?;
        let date = Self::new(year, month, day);
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(bad());
        }
        Ok(date)
    }

    /// `YYYYMMDD`, as in kenhojo DF24.
    pub fn compact(self) -> String {
        format!("{:04}{:02}{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Display for Date {
    /// `YYYY-MM-DD`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// A Japanese era, numbered as in the JPKI SAN birth date (§8.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Era {
    /// 明治, from 1868-10-23.
    Meiji = 1,
    /// 大正, from 1912-07-30.
    Taisho = 2,
    /// 昭和, from 1926-12-25.
    Showa = 3,
    /// 平成, from 1989-01-08.
    Heisei = 4,
    /// 令和, from 2019-05-01.
    Reiwa = 5,
}

impl Era {
    const ALL: [(Era, Date); 5] = [
        (Era::Reiwa, Date::new(2019, 5, 1)),
        (Era::Heisei, Date::new(1989, 1, 8)),
        (Era::Showa, Date::new(1926, 12, 25)),
        (Era::Taisho, Date::new(1912, 7, 30)),
        (Era::Meiji, Date::new(1868, 10, 23)),
    ];

    /// The era `date` falls in, with its first day; `None` before 明治.
    pub fn of(date: Date) -> Option<(Era, Date)> {
        Self::ALL.into_iter().find(|(_, start)| date >= *start)
    }
}

/// The SAN era digit of a date: 1 明治 … 5 令和, 0 (不明) before 明治.
pub fn era_digit(date: Date) -> u8 {
    Era::of(date).map_or(0, |(era, _)| era as u8)
}

/// The SAN birth date value `EYYYYMMDD` (era digit + Gregorian date), e.g. `319800217`.
pub fn san_birth_date(date: Date) -> String {
    format!("{}{}", era_digit(date), date.compact())
}

/// The era-year form `YYMMDD` used by 照合番号B and the 生年月日 key, e.g. 1980-02-17 → `550217`
/// (昭和55). The first year of an era is year 1 (元年). `None` before 明治.
pub fn wareki_yymmdd(date: Date) -> Option<String> {
    let (_, start) = Era::of(date)?;
    let era_year = date.year - start.year + 1;
    Some(format!("{:02}{:02}{:02}", era_year, date.month, date.day))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn era_boundaries() {
        let cases = [
            (Date::new(1868, 10, 22), 0),
            (Date::new(1868, 10, 23), 1),
            (Date::new(1912, 7, 29), 1),
            (Date::new(1912, 7, 30), 2),
            (Date::new(1926, 12, 24), 2),
            (Date::new(1926, 12, 25), 3),
            (Date::new(1989, 1, 7), 3),
            (Date::new(1989, 1, 8), 4),
            (Date::new(2019, 4, 30), 4),
            (Date::new(2019, 5, 1), 5),
        ];
        for (date, digit) in cases {
            assert_eq!(era_digit(date), digit, "{date}");
        }
    }

    #[test]
    fn wareki_matches_the_spec_example() {
        // §4.4: 1980-02-17 is 昭和55 → 550217.
        assert_eq!(wareki_yymmdd(Date::new(1980, 2, 17)).unwrap(), "550217");
        assert_eq!(wareki_yymmdd(Date::new(2019, 5, 1)).unwrap(), "010501");
        assert_eq!(wareki_yymmdd(Date::new(1925, 1, 1)).unwrap(), "140101");
        assert_eq!(wareki_yymmdd(Date::new(1989, 1, 7)).unwrap(), "640107");
        assert_eq!(wareki_yymmdd(Date::new(1800, 1, 1)), None);
        assert_eq!(san_birth_date(Date::new(1980, 2, 17)), "319800217");
    }

    #[test]
    fn parse_round_trips_and_rejects_nonsense() {
        let d = Date::parse("2015-04-10").unwrap();
        assert_eq!(d, Date::new(2015, 4, 10));
        assert_eq!(d.to_string(), "2015-04-10");
        assert_eq!(d.compact(), "20150410");
        for bad in ["2015-4-10", "2015-02-30", "2015-13-01", "20150410", "abcd-ef-gh"] {
            assert!(Date::parse(bad).is_err(), "{bad}");
        }
        assert!(Date::parse("2024-02-29").is_ok());
        assert!(Date::parse("2023-02-29").is_err());
    }
}
