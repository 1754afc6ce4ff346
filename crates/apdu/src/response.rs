//! Response APDUs: data followed by the two status bytes.

use std::fmt;

use crate::StatusWord;

/// A response APDU.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    /// Response data (may be empty).
    pub data: Vec<u8>,
    /// The trailing status word.
    pub sw: StatusWord,
}

/// Why bytes are not a response APDU.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResponseParseError {
    /// Fewer than the two status bytes.
    #[error("response of {len} bytes has no status word")]
    TooShort {
        /// Length received.
        len: usize,
    },
}

impl Response {
    /// A response with data and a status word.
    pub fn new(data: Vec<u8>, sw: StatusWord) -> Self {
        Response { data, sw }
    }

    /// A response carrying only a status word.
    pub fn status(sw: StatusWord) -> Self {
        Response { data: Vec::new(), sw }
    }

    /// Splits `data ‖ SW1 SW2`.
    pub fn parse(bytes: &[u8]) -> Result<Response, ResponseParseError> {
        let split = bytes
            .len()
            .checked_sub(2)
            .ok_or(ResponseParseError::TooShort { len: bytes.len() })?;
        let (data, sw) = bytes.split_at(split);
        Ok(Response {
            data: data.to_vec(),
            sw: StatusWord::from(u16::from_be_bytes([sw[0], sw[1]])),
        })
    }

    /// Encodes `data ‖ SW1 SW2`.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 2);
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&u16::from(self.sw).to_be_bytes());
        out
    }

    /// Whether the status word is `9000`.
    pub fn is_ok(&self) -> bool {
        self.sw == StatusWord::Ok
    }
}

impl fmt::Debug for Response {
    // Response data can hold personal data (basic 4 info); show only its length.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Response({} bytes, {})", self.data.len(), self.sw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split() {
        let r = Response::parse(&[1, 2, 0x90, 0]).unwrap();
        assert_eq!(r.data, [1, 2]);
        assert!(r.is_ok());
        assert_eq!(r.encode(), [1, 2, 0x90, 0]);
        assert_eq!(Response::parse(&[0x90]), Err(ResponseParseError::TooShort { len: 1 }));
        let r = Response::parse(&[0x63, 0xC2]).unwrap();
        assert_eq!(r.sw, StatusWord::VerifyFailed { retries_left: 2 });
        assert!(!format!("{:?}", Response::new(b"secret".to_vec(), StatusWord::Ok)).contains("secret"));
    }
}
