//! A conversation with one card: the command/response loop, file reads in chunks, the
//! retry query and the one guarded VERIFY.
//!
//! [`Session`] owns a [`CardTransport`] and keeps what the conversation has learnt: which
//! application is selected, whether the card takes short-EF-identifier addressing, and
//! whether the link may have lost the card (after which no PIN is presented again).

use mynaid_apdu::{Command, LengthMode, Response, StatusWord, ins, tlv};
use tracing::debug;
use zeroize::Zeroizing;

use crate::error::{CardError, Op};
use crate::ids::sfi;
use crate::pin::{Application, LastTry, Pin, PinKind, RetryStatus};
use crate::transport::{Capabilities, CardTransport, Exchange, TransportError};

/// How a PIN or key EF is addressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Addressing {
    /// P2 = `80 | SFI`, no SELECT (fewer APDUs; two sources confirm the card takes it).
    ShortId,
    /// SELECT the EF, then P2 = `80` (the current EF).
    Selected,
}

/// What a successful [`Session::verify`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verified {
    /// The card accepted the PIN; its counter is back at the maximum.
    Accepted,
    /// The card reported the PIN as already verified in this session (`9000` to the retry
    /// query), so no VERIFY was sent.
    AlreadyVerified,
}

/// A key the card can sign with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SigningKey {
    /// JPKI 利用者証明用秘密鍵 (EF 0017), after the user-authentication PIN.
    JpkiAuthentication,
    /// JPKI 署名用秘密鍵 (EF 001A), after the signature password.
    JpkiSignature,
    /// The selected application's own key (`80 2A 00 00`): the input-support AP's EF 0013,
    /// which signs without a PIN.
    ApplicationDefault,
}

impl SigningKey {
    fn fid(self) -> Option<u16> {
        match self {
            SigningKey::JpkiAuthentication => Some(crate::ids::jpki::AUTH_KEY),
            SigningKey::JpkiSignature => Some(crate::ids::jpki::SIGN_KEY),
            SigningKey::ApplicationDefault => None,
        }
    }
}

/// Whether a status word says "this addressing form is not supported here", the cue to
/// fall back from short-EF-identifier addressing to SELECT (architecture rules).
fn addressing_refused(sw: StatusWord) -> bool {
    matches!(
        sw,
        StatusWord::IncorrectP1P2 | StatusWord::IncompatibleFileStructure | StatusWord::FileNotFound
    )
}

/// A conversation with one card over one transport.
#[derive(Debug)]
pub struct Session<T> {
    transport: T,
    caps: Capabilities,
    application: Option<Application>,
    short_id_reads: bool,
    short_id_pins: bool,
    short_id_keys: bool,
    card_may_be_gone: bool,
    apdus: usize,
}

impl<T: CardTransport> Session<T> {
    /// Starts a conversation. Nothing is sent yet.
    pub fn new(transport: T) -> Self {
        let caps = transport.capabilities();
        Session {
            transport,
            caps,
            application: None,
            short_id_reads: true,
            short_id_pins: true,
            short_id_keys: true,
            card_may_be_gone: false,
            apdus: 0,
        }
    }

    /// The transport back.
    pub fn into_transport(self) -> T {
        self.transport
    }

    /// The transport, for adapters that need it between operations.
    pub fn transport_mut(&mut self) -> &mut T {
        &mut self.transport
    }

    /// APDUs sent so far (GET RESPONSE included).
    pub fn apdu_count(&self) -> usize {
        self.apdus
    }

    /// Whether a transport failure means the card may have been removed or reset; no PIN
    /// is presented on this session after that.
    pub fn card_may_be_gone(&self) -> bool {
        self.card_may_be_gone
    }

    fn length_mode(&self) -> LengthMode {
        if self.caps.extended_length {
            LengthMode::ExtendedAllowed
        } else {
            LengthMode::ShortOnly
        }
    }

    fn encode(&self, op: Op, cmd: &Command) -> Result<Zeroizing<Vec<u8>>, CardError> {
        cmd.encode(self.length_mode())
            .map_err(|source| CardError::Encode { op, source })
    }

    /// Sends encoded bytes. Logs the command's summary (never sensitive data) and the
    /// status word; remembers a failure that may mean the card is gone.
    fn send_raw(&mut self, op: Op, cmd: &Command, bytes: &[u8], exchange: Exchange) -> Result<Vec<u8>, TransportError> {
        self.apdus += 1;
        debug!(target: "mynaid_card::apdu", op = %op, command = %cmd.summary(), "->");
        let result = self.transport.transmit(bytes, exchange);
        match &result {
            Ok(r) if r.len() >= 2 => {
                let sw = u16::from_be_bytes([r[r.len() - 2], r[r.len() - 1]]);
                debug!(target: "mynaid_card::apdu", sw = format_args!("{sw:04X}"), data_len = r.len() - 2, "<-");
            }
            Ok(r) => debug!(target: "mynaid_card::apdu", len = r.len(), "<- malformed"),
            Err(e) => {
                if e.card_may_be_gone() {
                    self.card_may_be_gone = true;
                    self.application = None;
                }
                debug!(target: "mynaid_card::apdu", error = %e, "<- failed");
            }
        }
        result
    }

    /// Sends a command that is not a VERIFY and returns the response, following `61xx`
    /// with GET RESPONSE.
    fn exchange(&mut self, op: Op, cmd: &Command, exchange: Exchange) -> Result<Response, CardError> {
        let bytes = self.encode(op, cmd)?;
        let raw = self
            .send_raw(op, cmd, &bytes, exchange)
            .map_err(|source| CardError::Transport { op, source })?;
        let mut resp = Response::parse(&raw).map_err(|_| CardError::UnexpectedResponse {
            op,
            what: "no status word",
        })?;
        let mut rounds = 0;
        while let StatusWord::BytesRemaining(n) = resp.sw {
            rounds += 1;
            if rounds > 256 {
                return Err(CardError::UnexpectedResponse {
                    op,
                    what: "endless GET RESPONSE",
                });
            }
            let get = Command::new(0x00, ins::GET_RESPONSE, 0, 0).with_ne(if n == 0 { 256 } else { u32::from(n) });
            let bytes = self.encode(Op::GetResponse, &get)?;
            let raw = self
                .send_raw(Op::GetResponse, &get, &bytes, exchange)
                .map_err(|source| CardError::Transport { op, source })?;
            let more = Response::parse(&raw).map_err(|_| CardError::UnexpectedResponse {
                op,
                what: "no status word",
            })?;
            resp.data.extend_from_slice(&more.data);
            resp.sw = more.sw;
        }
        Ok(resp)
    }

    /// SELECT an application by its full DF name.
    pub fn select_application(&mut self, app: Application) -> Result<(), CardError> {
        let op = Op::SelectApplication(app);
        self.application = None;
        let cmd = Command::new(0x00, ins::SELECT, 0x04, 0x0C).with_data(app.aid().to_vec());
        let resp = self.exchange(op, &cmd, Exchange::Normal)?;
        match resp.sw {
            StatusWord::Ok => {
                self.application = Some(app);
                Ok(())
            }
            sw @ (StatusWord::FileNotFound | StatusWord::FunctionNotSupported | StatusWord::IncorrectP1P2) => {
                Err(CardError::NotMyNumberCard { application: app, sw })
            }
            sw => Err(CardError::Status { op, sw }),
        }
    }

    /// Selects `app` unless it is already the selected application.
    pub fn ensure_application(&mut self, app: Application) -> Result<(), CardError> {
        if self.application == Some(app) {
            Ok(())
        } else {
            self.select_application(app)
        }
    }

    fn select_file(&mut self, fid: u16) -> Result<(), CardError> {
        let op = Op::SelectFile(fid);
        let cmd = Command::new(0x00, ins::SELECT, 0x02, 0x0C).with_data(fid.to_be_bytes().to_vec());
        match self.exchange(op, &cmd, Exchange::Normal)?.sw {
            StatusWord::Ok => Ok(()),
            sw => Err(CardError::Status { op, sw }),
        }
    }

    fn read_chunk(&mut self, fid: u16, p1: u8, p2: u8, ne: u32) -> Result<Response, CardError> {
        let op = Op::ReadFile(fid);
        let cmd = Command::new(0x00, ins::READ_BINARY, p1, p2).with_ne(ne);
        let mut resp = self.exchange(op, &cmd, Exchange::Normal)?;
        if let StatusWord::WrongLe(n) = resp.sw {
            // The card names the length it has; asking again with it is safe for a read.
            let cmd = Command::new(0x00, ins::READ_BINARY, p1, p2).with_ne(if n == 0 { 256 } else { u32::from(n) });
            resp = self.exchange(op, &cmd, Exchange::Normal)?;
        }
        if resp.data.len() > ne as usize {
            return Err(CardError::UnexpectedResponse {
                op,
                what: "more data than asked for",
            });
        }
        Ok(resp)
    }

    /// The first READ BINARY of a file: by short EF identifier, falling back to SELECT when
    /// the card refuses that form.
    fn first_read(&mut self, fid: u16, ne: u32) -> Result<Vec<u8>, CardError> {
        let op = Op::ReadFile(fid);
        let mut first = None;
        if self.short_id_reads {
            let resp = self.read_chunk(fid, 0x80 | sfi(fid), 0, ne)?;
            if addressing_refused(resp.sw) {
                self.short_id_reads = false;
            } else {
                first = Some(resp);
            }
        }
        let first = match first {
            Some(r) => r,
            None => {
                self.select_file(fid)?;
                self.read_chunk(fid, 0, 0, ne)?
            }
        };
        match first.sw {
            StatusWord::Ok | StatusWord::EndOfFileReached => Ok(first.data),
            sw => Err(CardError::Status { op, sw }),
        }
    }

    /// Reads the first `len` bytes (at most 256) of a file whose content has a fixed size
    /// rather than a BER-TLV header (JPKI token info, certificate availability).
    pub fn read_fixed(&mut self, fid: u16, len: u32) -> Result<Vec<u8>, CardError> {
        let data = self.first_read(fid, len.clamp(1, 256))?;
        if data.len() < len as usize {
            return Err(CardError::UnexpectedResponse {
                op: Op::ReadFile(fid),
                what: "the file is shorter than its format",
            });
        }
        Ok(data)
    }

    /// Reads a whole BER-TLV object from a transparent EF of the selected application: the
    /// first read learns the length from the header, the rest is read in chunks that fit
    /// the transport (256 bytes, or larger with extended length). Filler after the object is
    /// not returned.
    pub fn read_file(&mut self, fid: u16) -> Result<Vec<u8>, CardError> {
        let op = Op::ReadFile(fid);
        let max = self.max_chunk();
        let mut data = self.first_read(fid, max)?;
        let total = match tlv::parse_header(&data) {
            Ok(h) => h.total_len(),
            Err(_) if data.len() < max as usize => {
                return Err(CardError::UnexpectedResponse {
                    op,
                    what: "file too short for a BER-TLV header",
                });
            }
            Err(_) => {
                return Err(CardError::UnexpectedResponse {
                    op,
                    what: "no BER-TLV header at the start of the file",
                });
            }
        };
        if total > 0x7FFF {
            return Err(CardError::UnexpectedResponse {
                op,
                what: "object longer than a READ BINARY offset can reach",
            });
        }
        while data.len() < total {
            let offset = data.len();
            let want = (total - offset).min(max as usize) as u32;
            let [hi, lo] = (offset as u16).to_be_bytes();
            let resp = self.read_chunk(fid, hi, lo, want)?;
            match resp.sw {
                StatusWord::Ok | StatusWord::EndOfFileReached if !resp.data.is_empty() => {
                    data.extend_from_slice(&resp.data);
                }
                StatusWord::Ok | StatusWord::EndOfFileReached | StatusWord::WrongParameters => {
                    return Err(CardError::UnexpectedResponse {
                        op,
                        what: "the file ends before the object does",
                    });
                }
                sw => return Err(CardError::Status { op, sw }),
            }
        }
        data.truncate(total);
        Ok(data)
    }

    fn max_chunk(&self) -> u32 {
        if self.caps.extended_length {
            self.caps.max_response_data.clamp(1, 65536) as u32
        } else {
            self.caps.max_response_data.clamp(1, 256) as u32
        }
    }

    fn query(&mut self, kind: PinKind, addressing: Addressing) -> Result<Response, CardError> {
        let op = Op::RetryQuery(kind);
        let p2 = match addressing {
            Addressing::ShortId => 0x80 | sfi(kind.fid()),
            Addressing::Selected => {
                self.select_file(kind.fid())?;
                0x80
            }
        };
        // Case 1 VERIFY (no data): the card reports the counter and spends nothing.
        self.exchange(op, &Command::new(0x00, ins::VERIFY, 0x00, p2), Exchange::Normal)
    }

    /// Asks the card how many tries of `kind` are left, without spending one (VERIFY with
    /// no data). Selects the PIN's application if needed.
    pub fn retry_status(&mut self, kind: PinKind) -> Result<RetryStatus, CardError> {
        self.retry_status_with(kind).map(|(status, _)| status)
    }

    fn retry_status_with(&mut self, kind: PinKind) -> Result<(RetryStatus, Addressing), CardError> {
        self.ensure_application(kind.application())?;
        let mut addressing = if self.short_id_pins {
            Addressing::ShortId
        } else {
            Addressing::Selected
        };
        let mut resp = self.query(kind, addressing)?;
        if addressing == Addressing::ShortId && addressing_refused(resp.sw) {
            self.short_id_pins = false;
            addressing = Addressing::Selected;
            resp = self.query(kind, addressing)?;
        }
        let op = Op::RetryQuery(kind);
        let status = match resp.sw {
            StatusWord::VerifyFailed { retries_left: 0 }
            | StatusWord::ReferenceDataBlocked
            | StatusWord::AuthMethodBlocked => RetryStatus::Blocked,
            StatusWord::VerifyFailed { retries_left } if retries_left <= kind.max_tries() => {
                RetryStatus::Remaining(retries_left)
            }
            StatusWord::VerifyFailed { .. } => {
                return Err(CardError::UnexpectedResponse {
                    op,
                    what: "more tries left than the PIN has",
                });
            }
            StatusWord::Ok => RetryStatus::NotReported,
            sw => return Err(CardError::Status { op, sw }),
        };
        if !resp.data.is_empty() {
            return Err(CardError::UnexpectedResponse {
                op,
                what: "data in the answer to a retry query",
            });
        }
        Ok((status, addressing))
    }

    /// Presents `pin` once, guarded: asks the tries left first and refuses without sending
    /// anything when the PIN is blocked, or when only one try is left and `last_try` is not
    /// [`LastTry::Confirmed`]. Never retries. A transport failure while the VERIFY is in
    /// flight gives [`CardError::VerifyOutcomeUnknown`]: ask the card again before anything
    /// else. After any failure that may mean the card is gone, this session refuses to
    /// present a PIN at all.
    pub fn verify(&mut self, pin: &Pin, last_try: LastTry) -> Result<Verified, CardError> {
        let kind = pin.kind();
        let op = Op::Verify(kind);
        if self.card_may_be_gone {
            return Err(CardError::Transport {
                op,
                source: TransportError::CardRemoved,
            });
        }
        let (status, addressing) = self.retry_status_with(kind)?;
        match status {
            RetryStatus::Blocked => return Err(CardError::PinBlocked { kind }),
            RetryStatus::NotReported => return Ok(Verified::AlreadyVerified),
            RetryStatus::Remaining(1) if last_try != LastTry::Confirmed => {
                return Err(CardError::LastTryNotConfirmed { kind });
            }
            RetryStatus::Remaining(_) => {}
        }
        let p2 = match addressing {
            Addressing::ShortId => 0x80 | sfi(kind.fid()),
            // The query just selected the PIN EF; it is still the current EF.
            Addressing::Selected => 0x80,
        };
        let cmd = Command::new(0x00, ins::VERIFY, 0x00, p2).with_sensitive_data(pin.apdu_data());
        let bytes = self.encode(op, &cmd)?;
        let raw = match self.send_raw(op, &cmd, &bytes, Exchange::Normal) {
            Ok(raw) => raw,
            Err(source) => return Err(CardError::VerifyOutcomeUnknown { kind, source }),
        };
        let Ok(resp) = Response::parse(&raw) else {
            self.card_may_be_gone = true;
            return Err(CardError::VerifyOutcomeUnknown {
                kind,
                source: TransportError::MalformedResponse { len: raw.len() },
            });
        };
        match resp.sw {
            StatusWord::Ok => Ok(Verified::Accepted),
            StatusWord::VerifyFailed { retries_left } => Err(CardError::WrongPin {
                kind,
                remaining: retries_left,
            }),
            StatusWord::ReferenceDataBlocked | StatusWord::AuthMethodBlocked => Err(CardError::PinBlocked { kind }),
            sw => Err(CardError::Status { op, sw }),
        }
    }

    /// Has the card sign `data` (a DER `DigestInfo`; the card adds PKCS#1 v1.5 padding)
    /// with `key` of the selected application. JPKI keys need their PIN verified first.
    pub fn sign(&mut self, key: SigningKey, data: &[u8]) -> Result<Vec<u8>, CardError> {
        let fid = key.fid();
        let op = Op::Sign(fid);
        let command = |p2: u8| {
            Command::new(0x80, ins::COMPUTE_SIGNATURE, 0x00, p2)
                .with_data(data.to_vec())
                .with_ne(256)
        };
        let resp = match fid {
            None => self.exchange(op, &command(0x00), Exchange::Signature)?,
            Some(fid) => {
                let mut resp = None;
                if self.short_id_keys {
                    let r = self.exchange(op, &command(0x80 | sfi(fid)), Exchange::Signature)?;
                    if addressing_refused(r.sw) {
                        self.short_id_keys = false;
                    } else {
                        resp = Some(r);
                    }
                }
                match resp {
                    Some(r) => r,
                    None => {
                        self.select_file(fid)?;
                        self.exchange(op, &command(0x80), Exchange::Signature)?
                    }
                }
            }
        };
        match resp.sw {
            StatusWord::Ok if resp.data.len() == 256 => Ok(resp.data),
            StatusWord::Ok => Err(CardError::UnexpectedResponse {
                op,
                what: "a signature that is not 256 bytes",
            }),
            sw => Err(CardError::Status { op, sw }),
        }
    }
}
