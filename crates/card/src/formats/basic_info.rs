//! 基本4情報, input-support AP EF 0002 (`card-protocol.md` §8.1).
//!
//! ```text
//! FF 20 L
//!   DF 21 08  offsets (u16 BE, from the start of the file) of the four fields below
//!   DF 22 L   氏名  UTF-8, family and given name separated by U+3000
//!   DF 23 L   住所  UTF-8
//!   DF 24 08  生年月日 YYYYMMDD
//!   DF 25 01  性別 (JIS X 0303)
//! ```

use mynaid_apdu::tlv::{self, Tag};

use super::{Date, Field, Format, FormatError, FormatErrorKind, Personal, Sex};

const TAG: Tag = Tag(0xFF20);
const FIELDS: [(Tag, Field); 4] = [
    (Tag(0xDF22), Field::Name),
    (Tag(0xDF23), Field::Address),
    (Tag(0xDF24), Field::BirthDate),
    (Tag(0xDF25), Field::Sex),
];

/// The four attributes printed on the card, as the input-support AP holds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicInfo {
    /// 氏名.
    pub name: Personal<String>,
    /// 住所.
    pub address: Personal<String>,
    /// 生年月日.
    pub birth_date: Personal<Date>,
    /// 性別.
    pub sex: Sex,
}

fn err(offset: usize, kind: FormatErrorKind) -> FormatError {
    FormatError::new(Format::BasicInfo, offset, kind)
}

/// Whether `bytes` is only filler (`00` or `FF`), which cards put after their objects.
pub(crate) fn is_filler(bytes: &[u8]) -> bool {
    bytes.iter().all(|b| *b == 0x00 || *b == 0xFF)
}

impl BasicInfo {
    /// Parses EF 0002 (filler after the object is allowed). The offset table is checked,
    /// not trusted.
    pub fn parse(raw: &[u8]) -> Result<BasicInfo, FormatError> {
        let (outer, rest) = tlv::expect_at(raw, TAG, 0).map_err(|e| FormatError::tlv(Format::BasicInfo, e))?;
        if !is_filler(rest) {
            return Err(err(outer.raw.len(), FormatErrorKind::UnexpectedData));
        }
        let mut table = None;
        let mut found: [Option<tlv::Tlv<'_>>; 4] = [None; 4];
        let mut pos = outer.value_offset();
        let mut inner = outer.value;
        while !inner.is_empty() && !is_filler(inner) {
            let (item, r) = tlv::parse_at(inner, pos).map_err(|e| FormatError::tlv(Format::BasicInfo, e))?;
            if item.tag == Tag(0xDF21) {
                if table.replace(item).is_some() {
                    return Err(err(item.offset, FormatErrorKind::Duplicate(Field::OffsetTable)));
                }
            } else if let Some(i) = FIELDS.iter().position(|(t, _)| *t == item.tag) {
                if found[i].replace(item).is_some() {
                    return Err(err(item.offset, FormatErrorKind::Duplicate(FIELDS[i].1)));
                }
            } else {
                return Err(err(item.offset, FormatErrorKind::UnexpectedData));
            }
            pos += item.raw.len();
            inner = r;
        }
        let table = table.ok_or_else(|| err(outer.value_offset(), FormatErrorKind::Missing(Field::OffsetTable)))?;
        if table.value.len() != 8 {
            return Err(err(
                table.value_offset(),
                FormatErrorKind::WrongLength {
                    field: Field::OffsetTable,
                    expected: 8,
                    actual: table.value.len(),
                },
            ));
        }
        let mut fields = [&[][..]; 4];
        for (i, (_, field)) in FIELDS.iter().enumerate() {
            let item = found[i].ok_or_else(|| err(outer.raw.len(), FormatErrorKind::Missing(*field)))?;
            let table_offset = usize::from(u16::from_be_bytes([table.value[2 * i], table.value[2 * i + 1]]));
            if table_offset != item.offset {
                return Err(err(
                    table.value_offset() + 2 * i,
                    FormatErrorKind::OffsetMismatch {
                        field: *field,
                        table: table_offset,
                    },
                ));
            }
            fields[i] = item.value;
        }
        let text = |i: usize| {
            String::from_utf8(fields[i].to_vec()).map_err(|_| {
                err(
                    found[i].map_or(0, |t| t.value_offset()),
                    FormatErrorKind::NotUtf8(FIELDS[i].1),
                )
            })
        };
        let at = |i: usize| found[i].map_or(0, |t| t.value_offset());
        let birth = Date::parse_yyyymmdd(fields[2]).ok_or_else(|| err(at(2), FormatErrorKind::InvalidDate))?;
        let sex = match fields[3] {
            [code] => Sex::from_jis(*code).ok_or_else(|| err(at(3), FormatErrorKind::InvalidSex))?,
            other => {
                return Err(err(
                    at(3),
                    FormatErrorKind::WrongLength {
                        field: Field::Sex,
                        expected: 1,
                        actual: other.len(),
                    },
                ));
            }
        };
        Ok(BasicInfo {
            name: Personal::new(text(0)?),
            address: Personal::new(text(1)?),
            birth_date: Personal::new(birth),
            sex,
        })
    }

    /// The bytes the integrity record's DF32 digest covers: the outer value without the
    /// offset table, i.e. from the start of DF22 to the end of the FF20 object
    /// (`card-protocol.md` §8.3). Neither the whole file nor the trimmed TLV.
    pub fn digest_source(raw: &[u8]) -> Result<&[u8], FormatError> {
        let (outer, _) = tlv::expect_at(raw, TAG, 0).map_err(|e| FormatError::tlv(Format::BasicInfo, e))?;
        let (table, rest) =
            tlv::parse_at(outer.value, outer.value_offset()).map_err(|e| FormatError::tlv(Format::BasicInfo, e))?;
        if table.tag != Tag(0xDF21) {
            return Err(err(table.offset, FormatErrorKind::Missing(Field::OffsetTable)));
        }
        Ok(rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The test card's EF 0002 from `card-protocol.md` §8.1 (a synthetic holder).
    pub(crate) fn sample() -> Vec<u8> {
        let name = "黒桐　幹也".as_bytes();
        let address = "東京都清瀬市観布子南１２－７－２０２".as_bytes();
        let mut fields = Vec::new();
        let mut offsets = Vec::new();
        let header = 3 + 11; // FF 20 L, then DF 21 08 + 8 bytes
        for (tag, v) in [
            (0xDF22, name),
            (0xDF23, address),
            (0xDF24, &b"19800217"[..]),
            (0xDF25, &b"1"[..]),
        ] {
            offsets.extend_from_slice(&((header + fields.len()) as u16).to_be_bytes());
            tlv::encode(Tag(tag), v, &mut fields);
        }
        let mut inner = tlv::encode_to_vec(Tag(0xDF21), &offsets);
        inner.extend_from_slice(&fields);
        tlv::encode_to_vec(TAG, &inner)
    }

    #[test]
    fn parses_the_spec_example() {
        let raw = sample();
        assert_eq!(
            &raw[..16],
            &[
                0xFF, 0x20, 0x65, 0xDF, 0x21, 0x08, 0x00, 0x0E, 0x00, 0x20, 0x00, 0x59, 0x00, 0x64, 0xDF, 0x22
            ]
        );
        let b = BasicInfo::parse(&raw).unwrap();
        assert_eq!(b.name.expose(), "黒桐　幹也");
        assert_eq!(b.address.expose(), "東京都清瀬市観布子南１２－７－２０２");
        assert_eq!(b.birth_date.expose().iso(), "1980-02-17");
        assert_eq!(b.sex, Sex::Male);
        let dbg = format!("{b:?}");
        assert!(!dbg.contains("黒桐") && !dbg.contains("1980"), "{dbg}");
        // Filler after the object is fine.
        let mut padded = raw.clone();
        padded.extend_from_slice(&[0xFF; 40]);
        assert_eq!(BasicInfo::parse(&padded).unwrap(), b);
        assert_eq!(BasicInfo::digest_source(&raw).unwrap(), &raw[14..]);
    }

    #[test]
    fn checks_the_offset_table() {
        let mut raw = sample();
        raw[7] = 0x0F;
        let e = BasicInfo::parse(&raw).unwrap_err();
        assert_eq!(
            e.kind,
            FormatErrorKind::OffsetMismatch {
                field: Field::Name,
                table: 0x0F
            }
        );
        assert_eq!(e.offset, 6);
    }

    #[test]
    fn rejects_bad_fields() {
        let raw = sample();
        let mut bad = raw.clone();
        let n = bad.len();
        bad[n - 1] = b'5';
        assert_eq!(BasicInfo::parse(&bad).unwrap_err().kind, FormatErrorKind::InvalidSex);
        let mut bad = raw.clone();
        bad[0x59 + 3 + 4] = b'1'; // month 12 -> 1? make it 13
        bad[0x59 + 3 + 5] = b'3';
        assert_eq!(BasicInfo::parse(&bad).unwrap_err().kind, FormatErrorKind::InvalidDate);
        let mut bad = raw.clone();
        bad[0x0E + 3] = 0xFF; // break UTF-8 of the name
        assert_eq!(
            BasicInfo::parse(&bad).unwrap_err().kind,
            FormatErrorKind::NotUtf8(Field::Name)
        );
        let e = BasicInfo::parse(&raw[..50]).unwrap_err();
        assert!(matches!(e.kind, FormatErrorKind::Tlv(_)), "{e:?}");
        let mut bad = raw.clone();
        bad.push(0x41);
        assert_eq!(
            BasicInfo::parse(&bad).unwrap_err().kind,
            FormatErrorKind::UnexpectedData
        );
    }
}
