//! The real PC/SC stack for tests: pcscd with the vpcd virtual reader, and emulated cards
//! served into it by `mynaid-server emulator` processes.
//!
//! pcscd is one per machine and vpcd has two slots, so tests that use it take
//! [`PcscStack::acquire`], a process-wide lock, and run one at a time. The stack is started
//! with the project's own reader configuration (`scripts/pcsc/reader.conf.d`, one vpcd
//! entry: readers `Virtual PCD 00 00` on TCP 35963 and `Virtual PCD 00 01` on 35964).

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use mynaid_pcsc::Readers;

/// Slot 0 of vpcd.
pub const READER: &str = "Virtual PCD 00 00";
/// Where slot 0 listens for the card.
pub const VPCD_ADDRESS: &str = "127.0.0.1:35963";

static LOCK: Mutex<()> = Mutex::new(());

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The project's pcscd reader configuration directory.
pub fn reader_conf_dir() -> PathBuf {
    repo().join("scripts/pcsc/reader.conf.d")
}

fn state_dir() -> PathBuf {
    let d = repo().join("target/pcsc");
    let _ = std::fs::create_dir_all(&d);
    d
}

/// Exclusive use of pcscd + vpcd for one test.
pub struct PcscStack {
    _guard: MutexGuard<'static, ()>,
}

fn pcscd_pid() -> Option<u32> {
    let text = std::fs::read("/run/pcscd/pcscd.pid").ok()?;
    let digits: String = text.iter().map(|b| *b as char).filter(char::is_ascii_digit).collect();
    let pid: u32 = digits.parse().ok()?;
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    (comm.trim() == "pcscd" && !status.lines().any(|l| l.starts_with("State:") && l.contains('Z'))).then_some(pid)
}

fn vpcd_listening() -> bool {
    std::net::TcpStream::connect_timeout(&VPCD_ADDRESS.parse().expect("address"), Duration::from_millis(200)).is_ok()
}

impl PcscStack {
    /// Takes the stack for this test, starting pcscd if it is not running.
    pub fn acquire() -> PcscStack {
        let guard = LOCK.lock().unwrap_or_else(PoisonError::into_inner);
        let stack = PcscStack { _guard: guard };
        if pcscd_pid().is_none() || !readers_listed() {
            stack.start_pcscd(&reader_conf_dir());
        }
        stack
    }

    /// Stops pcscd (TERM, then KILL) and removes what it leaves behind.
    pub fn stop_pcscd(&self) {
        if let Some(pid) = pcscd_pid() {
            let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while pcscd_pid() == Some(pid) && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(50));
            }
            if pcscd_pid() == Some(pid) {
                let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
                thread::sleep(Duration::from_millis(200));
            }
        }
        let _ = std::fs::remove_file("/run/pcscd/pcscd.comm");
        let _ = std::fs::remove_file("/run/pcscd/pcscd.pid");
    }

    /// Starts pcscd with the reader configuration in `conf_dir` and waits until it serves.
    pub fn start_pcscd(&self, conf_dir: &Path) {
        self.stop_pcscd();
        let log = std::fs::File::create(state_dir().join("pcscd.log")).expect("pcscd log");
        let err = log.try_clone().expect("pcscd log");
        // `setsid --fork`: pcscd outlives this test process, as the daemon it is.
        let status = Command::new("setsid")
            .args(["--fork", "/usr/sbin/pcscd"])
            .args(["-f", "-i", "-c"])
            .arg(conf_dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .status()
            .expect("starting pcscd: is the pcscd package installed (scripts/test.sh installs it)?");
        assert!(status.success(), "setsid pcscd: {status}");
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if Path::new("/run/pcscd/pcscd.comm").exists() && Readers::establish().is_ok() {
                let has_vpcd = conf_dir.join("vpcd").exists();
                if !has_vpcd || vpcd_listening() {
                    return;
                }
            }
            thread::sleep(Duration::from_millis(50));
        }
        let log = std::fs::read_to_string(state_dir().join("pcscd.log")).unwrap_or_default();
        panic!("pcscd did not come up:\n{log}");
    }

    /// Restarts pcscd with the project's configuration.
    pub fn restart_pcscd(&self) {
        self.start_pcscd(&reader_conf_dir());
    }
}

fn readers_listed() -> bool {
    Readers::establish()
        .and_then(|r| r.list())
        .is_ok_and(|l| l.iter().any(|r| r.name == READER))
        && vpcd_listening()
}

/// Whether the reader shows a card.
pub fn card_present(reader: &str) -> bool {
    Readers::establish()
        .and_then(|r| r.list())
        .is_ok_and(|l| l.iter().any(|r| r.name == reader && r.card_present))
}

/// Waits until `reader` shows a card (or, with `present = false`, is empty).
pub fn wait_for_card(reader: &str, present: bool, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if card_present(reader) == present {
            return true;
        }
        thread::sleep(Duration::from_millis(25));
    }
    false
}

/// A `mynaid-server emulator` process serving one card into vpcd slot 0.
pub struct EmulatorProcess {
    child: Child,
    trace: PathBuf,
    _dir: tempfile::TempDir,
}

impl EmulatorProcess {
    /// Starts `mynaid-server emulator` for the card state file `state`, with extra
    /// arguments (`--remove-after 3`), and waits until the reader shows the card (unless the
    /// extra arguments make it leave at once).
    pub fn start(state: &Path, extra: &[&str]) -> EmulatorProcess {
        let dir = tempfile::tempdir().expect("tempdir");
        let trace = dir.path().join("trace.jsonl");
        let child = Command::new(crate::bins::server())
            .arg("emulator")
            .args(["--vpcd", VPCD_ADDRESS, "--state"])
            .arg(state)
            .arg("--trace")
            .arg(&trace)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting mynaid-server emulator");
        let p = EmulatorProcess {
            child,
            trace,
            _dir: dir,
        };
        assert!(
            wait_for_card(READER, true, Duration::from_secs(10)),
            "the emulated card did not appear in {READER}"
        );
        p
    }

    /// The APDUs the card saw, one JSON object each.
    pub fn trace(&self) -> Vec<serde_json::Value> {
        let Ok(f) = std::fs::File::open(&self.trace) else {
            return Vec::new();
        };
        std::io::BufReader::new(f)
            .lines()
            .map_while(Result::ok)
            .filter_map(|l| serde_json::from_str(&l).ok())
            .collect()
    }

    /// VERIFY commands with data (PIN presentations) the card saw.
    pub fn verify_count(&self) -> usize {
        self.trace()
            .iter()
            .filter(|e| e["ins"] == 0x20 && e["lc"].as_u64().unwrap_or(0) > 0)
            .count()
    }

    /// Whether the card's EF `fid` of application `df` was ever the current or named EF.
    pub fn touched(&self, df: &str, fid: u16) -> bool {
        self.trace().iter().any(|e| {
            e["selected_df"] == df && (e["selected_ef"] == u64::from(fid) || e["referenced_ef"] == u64::from(fid))
        })
    }

    /// Whether the process has exited (a scripted removal ends it).
    pub fn exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Pulls the card out (ends the process) and waits until the reader is empty.
    pub fn remove(self) {
        drop(self);
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // pcscd's event thread must see the slot empty before the next card arrives: it polls
        // every 400 ms, and a card that comes back within one poll after a removal during a
        // transmit is taken for the old one and never reported present again. A real hand
        // takes longer than that to put a card back; wait two polls and a half.
        wait_for_card(READER, false, Duration::from_secs(5));
        thread::sleep(Duration::from_millis(1000));
    }
}
