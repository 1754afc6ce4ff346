//! The date and era encodings of the generator, over [`mynaid_card::formats`]' [`Date`] and
//! [`Era`].
//!
//! Two card formats use the era: the SAN birth date of the signature certificate
//! (`EYYYYMMDD`: era digit + *Gregorian* date, §8.6) and 照合番号B / the 生年月日 key
//! (era year `YYMMDD`, §4.4). Era boundaries are the first day of each era:
//! 明治 1868-10-23, 大正 1912-07-30, 昭和 1926-12-25, 平成 1989-01-08, 令和 2019-05-01.

use mynaid_card::formats::{Date, Era};

use crate::PkiError;

/// Parses `YYYY-MM-DD` into a valid date.
///
/// # Errors
/// [`PkiError::Date`] when the text is not a valid date in that form.
pub fn parse_date(text: &str) -> Result<Date, PkiError> {
    let b = text.as_bytes();
    // Dropping the dashes leaves `YYYYMMDD`, so the card's parser does the digit and calendar
    // checks and the two crates cannot disagree on what a valid date is.
    let date = match b {
        [y0, y1, y2, y3, b'-', m0, m1, b'-', d0, d1] => Date::parse_yyyymmdd(&[*y0, *y1, *y2, *y3, *m0, *m1, *d0, *d1]),
        _ => None,
    };
    date.ok_or_else(|| PkiError::Date(text.to_owned()))
}

/// `YYYYMMDD`, as in kenhojo DF24 and the SAN birth date.
pub fn compact_date(date: Date) -> String {
    format!("{:04}{:02}{:02}", date.year, date.month, date.day)
}

/// The first day of `era`; `None` for [`Era::Unknown`].
pub fn era_start(era: Era) -> Option<Date> {
    // The card crate decides which era a date is in but does not expose the boundaries; the
    // era year needs the first year, so they are repeated here (a test checks they agree).
    let (year, month, day) = match era {
        Era::Unknown => return None,
        Era::Meiji => (1868, 10, 23),
        Era::Taisho => (1912, 7, 30),
        Era::Showa => (1926, 12, 25),
        Era::Heisei => (1989, 1, 8),
        Era::Reiwa => (2019, 5, 1),
    };
    Some(Date { year, month, day })
}

/// The SAN digit of `era`: 0 不明, 1 明治 … 5 令和 (the inverse of [`Era::from_digit`]).
pub fn era_code(era: Era) -> u8 {
    match era {
        Era::Unknown => 0,
        Era::Meiji => 1,
        Era::Taisho => 2,
        Era::Showa => 3,
        Era::Heisei => 4,
        Era::Reiwa => 5,
    }
}

/// The SAN era digit of a date: 1 明治 … 5 令和, 0 (不明) before 明治.
pub fn era_digit(date: Date) -> u8 {
    era_code(date.era().unwrap_or(Era::Unknown))
}

/// The SAN birth date value `EYYYYMMDD` (era digit + Gregorian date), e.g. `319800217`.
pub fn san_birth_date(date: Date) -> String {
    format!("{}{}", era_digit(date), compact_date(date))
}

/// The era-year form `YYMMDD` used by 照合番号B and the 生年月日 key, e.g. 1980-02-17 → `550217`
/// (昭和55). The first year of an era is year 1 (元年). `None` before 明治.
pub fn wareki_yymmdd(date: Date) -> Option<String> {
    let start = era_start(date.era()?)?;
    let era_year = date.year - start.year + 1;
    Some(format!("{:02}{:02}{:02}", era_year, date.month, date.day))
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn date(year: u16, month: u8, day: u8) -> Date {
        Date { year, month, day }
    }

    #[test]
    fn era_boundaries() {
        let cases = [
            (date(1868, 10, 22), 0),
            (date(1868, 10, 23), 1),
            (date(1912, 7, 29), 1),
            (date(1912, 7, 30), 2),
            (date(1926, 12, 24), 2),
            (date(1926, 12, 25), 3),
            (date(1989, 1, 7), 3),
            (date(1989, 1, 8), 4),
            (date(2019, 4, 30), 4),
            (date(2019, 5, 1), 5),
        ];
        for (d, digit) in cases {
            assert_eq!(era_digit(d), digit, "{}", d.iso());
        }
    }

    #[test]
    fn era_starts_agree_with_the_card_crate() {
        assert_eq!(era_start(Era::Unknown), None);
        assert_eq!(Era::from_digit(b'0' + era_code(Era::Unknown)), Some(Era::Unknown));
        // Each start with the day before it: the card crate must put the two in different
        // eras, so a start a day early or late fails.
        let cases = [
            (Era::Meiji, date(1868, 10, 23), date(1868, 10, 22), None),
            (Era::Taisho, date(1912, 7, 30), date(1912, 7, 29), Some(Era::Meiji)),
            (Era::Showa, date(1926, 12, 25), date(1926, 12, 24), Some(Era::Taisho)),
            (Era::Heisei, date(1989, 1, 8), date(1989, 1, 7), Some(Era::Showa)),
            (Era::Reiwa, date(2019, 5, 1), date(2019, 4, 30), Some(Era::Heisei)),
        ];
        for (era, start, eve, previous) in cases {
            assert_eq!(era_start(era), Some(start), "{era:?}");
            assert_eq!(start.era(), Some(era), "{}", start.iso());
            assert_eq!(eve.era(), previous, "{}", eve.iso());
            assert_eq!(Era::from_digit(b'0' + era_code(era)), Some(era));
        }
    }

    #[test]
    fn wareki_matches_the_spec_example() {
        // §4.4: 1980-02-17 is 昭和55 → 550217.
        assert_eq!(wareki_yymmdd(date(1980, 2, 17)).unwrap(), "550217");
        assert_eq!(wareki_yymmdd(date(2019, 5, 1)).unwrap(), "010501");
        assert_eq!(wareki_yymmdd(date(1925, 1, 1)).unwrap(), "140101");
        assert_eq!(wareki_yymmdd(date(1989, 1, 7)).unwrap(), "640107");
        assert_eq!(wareki_yymmdd(date(1800, 1, 1)), None);
        assert_eq!(san_birth_date(date(1980, 2, 17)), "319800217");
    }

    #[test]
    fn parse_round_trips_and_rejects_nonsense() {
        let d = parse_date("2015-04-10").unwrap();
        assert_eq!(d, date(2015, 4, 10));
        assert_eq!(d.iso(), "2015-04-10");
        assert_eq!(compact_date(d), "20150410");
        for bad in [
            "2015-4-10",
            "2015-02-30",
            "2015-13-01",
            "20150410",
            "abcd-ef-gh",
            "2015-+4-10",
            "0000-01-01",
        ] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
        assert!(parse_date("2024-02-29").is_ok());
        assert!(parse_date("2023-02-29").is_err());
    }
}
