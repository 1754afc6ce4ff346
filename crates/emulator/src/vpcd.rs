//! The card in pcscd's virtual reader (vsmartcard's `vpcd` driver).
//!
//! vpcd listens on TCP (35963 for `Virtual PCD 00 00`); the card connects to it. Each
//! message is `u16 length (big-endian) ‖ payload`: a 1-byte payload is a control code
//! (`00` power off, `01` power on, `02` reset, `04` get ATR), anything longer is a command
//! APDU answered with the raw response APDU (`shared/spec/pcsc-stack.md` §4).
//!
//! Two details make it fast and faithful:
//! * Debian's vpcd 0.8 writes the length and the payload in two `send()`s without
//!   TCP_NODELAY, so with Linux's delayed ACK every frame would cost ~40 ms. Setting
//!   TCP_QUICKACK before every read (it is not sticky) and answering in one write brings a
//!   round trip to ~0.1 ms.
//! * Removal is closing the connection; insertion is connecting again. pcscd restarts look
//!   the same from here (EOF), so the adapter powers the card off and reconnects.
//!
//! Tests pull the card out at a chosen APDU with [`Options::remove_after`] (the answer is
//! delivered, then the card leaves) or [`Options::lose_answer_at`] (the card runs the
//! command but leaves before answering).

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use socket2::SockRef;
use tracing::{debug, info};

use crate::{Card, TraceEvent};

/// How to serve the card.
#[derive(Debug, Clone)]
pub struct Options {
    /// vpcd's address, e.g. `127.0.0.1:35963`.
    pub address: String,
    /// Remove the card right after answering this many APDUs (counted from insertion).
    pub remove_after: Option<usize>,
    /// Remove the card after it ran APDU number `n` (1-based) but before it answered.
    pub lose_answer_at: Option<usize>,
    /// After a scripted removal, put the card back after this long (and never remove it
    /// again); without it, serving ends at the removal.
    pub reinsert_after: Option<Duration>,
    /// How long to wait between attempts to reach vpcd.
    pub retry_delay: Duration,
    /// Append one JSON line per APDU (header, lengths, status word, selected file; never
    /// command data) to this file, for tests that count what a reader sent.
    pub trace_file: Option<PathBuf>,
}

impl Options {
    /// Serve at `address` with no scripted removal.
    pub fn new(address: impl Into<String>) -> Options {
        Options {
            address: address.into(),
            remove_after: None,
            lose_answer_at: None,
            reinsert_after: None,
            retry_delay: Duration::from_millis(100),
            trace_file: None,
        }
    }
}

/// Why serving ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// A scripted removal happened and no reinsertion was asked for.
    Removed,
    /// `stop` was set.
    Stopped,
}

enum Connection {
    /// vpcd closed the connection (pcscd stopped or restarted).
    Closed,
    /// A scripted removal.
    Removed,
    /// `stop` was set.
    Stopped,
}

/// Serves `card` to vpcd until `stop` is set or a scripted removal ends it. Reconnects
/// whenever vpcd goes away (pcscd restarted).
pub fn serve(card: &mut Card, options: &Options, stop: &AtomicBool) -> io::Result<Ended> {
    let mut scripted = true;
    loop {
        let Some(stream) = connect(options, stop) else {
            return Ok(Ended::Stopped);
        };
        info!(target: "mynaid_emulator::vpcd", address = %options.address, card = card.label(), "inserted");
        // A card that arrives in the reader starts cold.
        card.power_off();
        let outcome = session(card, stream, options, scripted, stop)?;
        card.power_off();
        match outcome {
            Connection::Stopped => return Ok(Ended::Stopped),
            Connection::Closed => {
                info!(target: "mynaid_emulator::vpcd", "vpcd closed the connection; reconnecting");
                thread::sleep(options.retry_delay);
            }
            Connection::Removed => {
                info!(target: "mynaid_emulator::vpcd", "card removed");
                scripted = false;
                match options.reinsert_after {
                    Some(d) => thread::sleep(d),
                    None => return Ok(Ended::Removed),
                }
            }
        }
    }
}

fn connect(options: &Options, stop: &AtomicBool) -> Option<TcpStream> {
    loop {
        if stop.load(Ordering::Relaxed) {
            return None;
        }
        match TcpStream::connect(&options.address) {
            Ok(s) => return Some(s),
            Err(e) => {
                debug!(target: "mynaid_emulator::vpcd", error = %e, "vpcd not reachable yet");
                thread::sleep(options.retry_delay);
            }
        }
    }
}

fn read_frame(stream: &mut TcpStream) -> io::Result<Option<Vec<u8>>> {
    // Not sticky on Linux: without it the kernel delays the ACK vpcd's second send waits for.
    SockRef::from(&*stream).set_tcp_quickack(true)?;
    let mut len = [0u8; 2];
    match stream.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => return Err(e),
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut payload = vec![0u8; usize::from(u16::from_be_bytes(len))];
    match stream.read_exact(&mut payload) {
        Ok(()) => Ok(Some(payload)),
        Err(e) if matches!(e.kind(), io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset) => Ok(None),
        Err(e) => Err(e),
    }
}

fn write_frame(stream: &mut TcpStream, payload: &[u8]) -> io::Result<()> {
    let len = u16::try_from(payload.len()).map_err(|_| io::Error::other("frame longer than 65535 bytes"))?;
    let mut frame = Vec::with_capacity(payload.len() + 2);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    stream.write_all(&frame)
}

fn session(
    card: &mut Card,
    mut stream: TcpStream,
    options: &Options,
    scripted: bool,
    stop: &AtomicBool,
) -> io::Result<Connection> {
    stream.set_nodelay(true)?;
    // Wake up now and then to notice `stop`.
    stream.set_read_timeout(Some(Duration::from_millis(200)))?;
    let trace = card.trace();
    trace.clear();
    let mut apdus = 0usize;
    loop {
        if stop.load(Ordering::Relaxed) {
            return Ok(Connection::Stopped);
        }
        let frame = match read_frame(&mut stream) {
            Ok(Some(f)) => f,
            Ok(None) => return Ok(Connection::Closed),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => continue,
            Err(e) => {
                debug!(target: "mynaid_emulator::vpcd", error = %e, "read failed");
                return Ok(Connection::Closed);
            }
        };
        if let [code] = frame.as_slice() {
            debug!(target: "mynaid_emulator::vpcd", code, "control");
        }
        match frame.as_slice() {
            [] => {}
            [0x00] => card.power_off(),
            [0x01] | [0x02] => card.reset(),
            [0x04] => {
                let atr = card.atr().to_vec();
                if write_frame(&mut stream, &atr).is_err() {
                    return Ok(Connection::Closed);
                }
            }
            [code] => debug!(target: "mynaid_emulator::vpcd", code, "unknown control code ignored"),
            apdu => {
                apdus += 1;
                let response = card.handle(apdu);
                append_trace(card, options);
                if scripted && options.lose_answer_at == Some(apdus) {
                    return Ok(Connection::Removed);
                }
                if write_frame(&mut stream, &response).is_err() {
                    return Ok(Connection::Closed);
                }
                if scripted && options.remove_after == Some(apdus) {
                    return Ok(Connection::Removed);
                }
            }
        }
        if trace.apdu_count() > 10_000 {
            trace.clear();
        }
    }
}

fn append_trace(card: &Card, options: &Options) {
    let Some(path) = &options.trace_file else { return };
    let Some(e) = card
        .trace()
        .entries()
        .into_iter()
        .rev()
        .find(|e| e.event == TraceEvent::Apdu)
    else {
        return;
    };
    let line = serde_json::json!({
        "ins": e.ins, "p1": e.p1, "p2": e.p2, "lc": e.lc, "ne": e.ne, "sw": format!("{:04X}", e.sw),
        "response_len": e.response_len, "target": e.target, "referenced_ef": e.referenced_ef,
        "selected_df": e.selected_df, "selected_ef": e.selected_ef,
    });
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| writeln!(f, "{line}"));
    if let Err(e) = written {
        debug!(target: "mynaid_emulator::vpcd", error = %e, "trace file not written");
    }
}
