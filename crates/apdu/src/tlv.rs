//! BER-TLV (ISO/IEC 8825-1 as profiled by ISO/IEC 7816-4 §5.2) with definite lengths.
//!
//! Tags are kept as their raw bytes packed big-endian into a `u32` (`0xFF20`, `0xDF21`,
//! `0x7F21`, `0x30`), which is how the card specifications write them. Every error says at
//! which offset of the input it happened, so "truncated at byte 212" reaches the user
//! instead of "parse error".

use std::fmt;

/// A BER tag, as its raw bytes (1 to 3 of them) packed big-endian.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(pub u32);

impl Tag {
    /// Number of bytes of the encoded tag.
    pub fn len(self) -> usize {
        match self.0 {
            0..=0xFF => 1,
            0x100..=0xFFFF => 2,
            0x1_0000..=0xFF_FFFF => 3,
            _ => 4,
        }
    }

    /// Always false: a tag has at least one byte. Present for API symmetry with `len`.
    pub fn is_empty(self) -> bool {
        false
    }

    /// Whether the constructed bit (b6 of the first byte) is set.
    pub fn is_constructed(self) -> bool {
        let first = (self.0 >> (8 * (self.len() - 1))) as u8;
        first & 0x20 != 0
    }

    fn write(self, out: &mut Vec<u8>) {
        let bytes = self.0.to_be_bytes();
        out.extend_from_slice(&bytes[4 - self.len()..]);
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tag({self})")
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:0width$X}", self.0, width = self.len() * 2)
    }
}

/// What went wrong while parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TlvErrorKind {
    /// The input ends before the object does.
    Truncated {
        /// Bytes the object needs from the error offset on.
        needed: usize,
        /// Bytes that were there.
        available: usize,
    },
    /// Length byte `80`: indefinite lengths are not used by the card.
    IndefiniteLength,
    /// A length of more than 3 length bytes, or one that overflows.
    LengthTooLong,
    /// A tag of more than 3 bytes.
    TagTooLong,
    /// A different tag than the one required.
    UnexpectedTag {
        /// The tag required.
        expected: Tag,
        /// The tag found.
        found: Tag,
    },
    /// Bytes after the object where none are allowed.
    TrailingData,
}

/// A parse error with the offset (from the start of the caller's input) where it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("BER-TLV {kind:?} at offset {offset}")]
pub struct TlvError {
    /// The kind of fault.
    pub kind: TlvErrorKind,
    /// Offset of the fault in the input.
    pub offset: usize,
}

/// The header of a TLV object: enough to know how long the whole object is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// The tag.
    pub tag: Tag,
    /// Bytes of tag plus length fields.
    pub header_len: usize,
    /// Bytes of the value.
    pub value_len: usize,
}

impl Header {
    /// Header plus value: the length of the whole encoded object.
    pub fn total_len(&self) -> usize {
        self.header_len + self.value_len
    }
}

/// One parsed TLV object borrowing from the input.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    /// The tag.
    pub tag: Tag,
    /// The value bytes.
    pub value: &'a [u8],
    /// The whole encoding: tag, length and value.
    pub raw: &'a [u8],
    /// Offset of the tag in the input given to the parser.
    pub offset: usize,
}

impl Tlv<'_> {
    /// Offset of the first value byte in the input given to the parser.
    pub fn value_offset(&self) -> usize {
        self.offset + self.raw.len() - self.value.len()
    }
}

impl fmt::Debug for Tlv<'_> {
    // Values can be personal data; show the shape only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tlv({} len {} @{})", self.tag, self.value.len(), self.offset)
    }
}

/// Parses a header from the start of `input`, which may hold only part of the object.
/// `Truncated` means more bytes are needed to see the whole header.
pub fn parse_header(input: &[u8]) -> Result<Header, TlvError> {
    let err = |kind, offset| TlvError { kind, offset };
    let truncated = |at: usize, needed: usize| {
        err(
            TlvErrorKind::Truncated {
                needed,
                available: input.len().saturating_sub(at),
            },
            at,
        )
    };
    let first = *input.first().ok_or_else(|| truncated(0, 1))?;
    let mut tag = u32::from(first);
    let mut pos = 1;
    if first & 0x1F == 0x1F {
        loop {
            let b = *input.get(pos).ok_or_else(|| truncated(pos, 1))?;
            if pos >= 3 {
                return Err(err(TlvErrorKind::TagTooLong, 0));
            }
            tag = (tag << 8) | u32::from(b);
            pos += 1;
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    let len_at = pos;
    let l0 = *input.get(pos).ok_or_else(|| truncated(pos, 1))?;
    pos += 1;
    let value_len = match l0 {
        0x00..=0x7F => usize::from(l0),
        0x80 => return Err(err(TlvErrorKind::IndefiniteLength, len_at)),
        0x81..=0x83 => {
            let n = usize::from(l0 & 0x7F);
            let bytes = input.get(pos..pos + n).ok_or_else(|| truncated(pos, n))?;
            pos += n;
            bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
        }
        _ => return Err(err(TlvErrorKind::LengthTooLong, len_at)),
    };
    Ok(Header {
        tag: Tag(tag),
        header_len: pos,
        value_len,
    })
}

/// Parses one object at the start of `input`; returns it and the bytes after it.
/// `base` is added to every offset (the position of `input` in a larger buffer).
pub fn parse_at(input: &[u8], base: usize) -> Result<(Tlv<'_>, &[u8]), TlvError> {
    let h = parse_header(input).map_err(|e| TlvError {
        offset: e.offset + base,
        ..e
    })?;
    let total = h.total_len();
    if input.len() < total {
        return Err(TlvError {
            kind: TlvErrorKind::Truncated {
                needed: h.value_len,
                available: input.len() - h.header_len,
            },
            offset: base + h.header_len,
        });
    }
    let (raw, rest) = input.split_at(total);
    Ok((
        Tlv {
            tag: h.tag,
            value: &raw[h.header_len..],
            raw,
            offset: base,
        },
        rest,
    ))
}

/// Parses one object at the start of `input`.
pub fn parse(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), TlvError> {
    parse_at(input, 0)
}

/// Parses exactly one object with tag `expected` that starts at `input[0]`; bytes after it
/// are returned for the caller to judge (cards pad files with filler).
pub fn expect_at(input: &[u8], expected: Tag, base: usize) -> Result<(Tlv<'_>, &[u8]), TlvError> {
    let (tlv, rest) = parse_at(input, base)?;
    if tlv.tag != expected {
        return Err(TlvError {
            kind: TlvErrorKind::UnexpectedTag {
                expected,
                found: tlv.tag,
            },
            offset: base,
        });
    }
    Ok((tlv, rest))
}

/// Parses a sequence of objects filling `input` completely.
pub fn parse_all(input: &[u8], base: usize) -> Result<Vec<Tlv<'_>>, TlvError> {
    let mut out = Vec::new();
    let mut rest = input;
    while !rest.is_empty() {
        let at = base + input.len() - rest.len();
        let (tlv, r) = parse_at(rest, at)?;
        out.push(tlv);
        rest = r;
    }
    Ok(out)
}

/// Appends the minimal BER length encoding of `len`.
pub fn encode_len(len: usize, out: &mut Vec<u8>) {
    match len {
        0..=0x7F => out.push(len as u8),
        0x80..=0xFF => out.extend_from_slice(&[0x81, len as u8]),
        0x100..=0xFFFF => {
            out.push(0x82);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        _ => {
            out.push(0x83);
            out.extend_from_slice(&(len as u32).to_be_bytes()[1..]);
        }
    }
}

/// Appends `tag ‖ length ‖ value`, with the minimal length encoding.
pub fn encode(tag: Tag, value: &[u8], out: &mut Vec<u8>) {
    tag.write(out);
    encode_len(value.len(), out);
    out.extend_from_slice(value);
}

/// `tag ‖ length ‖ value` as a new vector.
pub fn encode_to_vec(tag: Tag, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 8);
    encode(tag, value, &mut out);
    out
}

/// Upper-case hex with a space between bytes, for traces and messages.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&format!("{b:02X}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn card_shapes() {
        // kenhojo EF 0003 starts with FF 30 82 01 4B: 336 bytes in all.
        let h = parse_header(&[0xFF, 0x30, 0x82, 0x01, 0x4B]).unwrap();
        assert_eq!(h.tag, Tag(0xFF30));
        assert_eq!(h.total_len(), 336);
        assert!(h.tag.is_constructed());
        let h = parse_header(&[0x7F, 0x21, 0x82, 0x02, 0x33]).unwrap();
        assert_eq!(h.total_len(), 568);
        let h = parse_header(&[0x30, 0x82, 0x06, 0x10]).unwrap();
        assert_eq!(h.total_len(), 4 + 0x610);
        assert!(!Tag(0xDF21).is_constructed());
    }

    #[test]
    fn partial_header_asks_for_more() {
        for partial in [&[][..], &[0xFF], &[0xFF, 0x30], &[0xFF, 0x30, 0x82, 0x01]] {
            let e = parse_header(partial).unwrap_err();
            assert!(matches!(e.kind, TlvErrorKind::Truncated { .. }), "{partial:?} {e:?}");
        }
    }

    #[test]
    fn errors_name_offsets() {
        let e = parse_all(&[0xDF, 0x22, 0x01, 0x41, 0xDF, 0x23, 0x05, 0x41], 10).unwrap_err();
        assert_eq!(e.offset, 10 + 4 + 3);
        assert_eq!(
            e.kind,
            TlvErrorKind::Truncated {
                needed: 5,
                available: 1
            }
        );
        assert_eq!(
            parse_header(&[0x30, 0x80]).unwrap_err(),
            TlvError {
                kind: TlvErrorKind::IndefiniteLength,
                offset: 1
            }
        );
        assert_eq!(
            parse_header(&[0x30, 0x84, 0, 0, 0, 1]).unwrap_err().kind,
            TlvErrorKind::LengthTooLong
        );
        assert_eq!(
            parse_header(&[0x1F, 0x81, 0x81, 0x81, 0x01, 0x00]).unwrap_err().kind,
            TlvErrorKind::TagTooLong
        );
        let e = expect_at(&[0xDF, 0x21, 0x00], Tag(0xDF22), 3).unwrap_err();
        assert_eq!(
            e.kind,
            TlvErrorKind::UnexpectedTag {
                expected: Tag(0xDF22),
                found: Tag(0xDF21)
            }
        );
    }

    #[test]
    fn nested_offsets() {
        let inner = [encode_to_vec(Tag(0xDF22), b"ab"), encode_to_vec(Tag(0xDF23), b"c")].concat();
        let outer = encode_to_vec(Tag(0xFF20), &inner);
        let (t, rest) = parse(&outer).unwrap();
        assert!(rest.is_empty());
        let kids = parse_all(t.value, t.value_offset()).unwrap();
        assert_eq!(kids[1].offset, 3 + 5);
        assert_eq!(kids[1].value_offset(), 3 + 5 + 3);
        assert_eq!(kids[0].raw, &outer[3..8]);
    }
}
