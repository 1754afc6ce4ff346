//! The session store's behaviour, run against both engines: SQLite (a file) and PostgreSQL
//! (a fresh database on the server at `MYNAID_TEST_POSTGRES`, default
//! `postgres://postgres@127.0.0.1:5432/test`, created for the test and dropped after). The
//! same statements run on both (`mynaid-db`).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::PgDatabase;
use mynaid_db::Db;
use mynaid_protocol::{Device, Pattern, Purpose, ReaderStatus, Route};
use mynaid_sessions::Failure;
use mynaid_sessions::store::{Confirmation, NewSession, Redeem, Release, SessionStore, State};

const NOW: i64 = 1_795_737_600;

fn session(id: &str, handle: &[u8]) -> NewSession {
    NewSession {
        id: id.into(),
        relying_party: "portal".into(),
        purpose: Purpose::VerifyIdentity,
        origin: "https://portal.example.jp".into(),
        binding: vec![1; 16],
        challenge: vec![2; 32],
        accepted: Route::ALL.to_vec(),
        return_url: None,
        browser_hash: vec![3; 32],
        start_hash: None,
        return_hash: None,
        handle_hash: handle.to_vec(),
        created_at: NOW,
        expires_at: NOW + 300,
    }
}

/// Every behaviour the service relies on, against one store.
async fn suite(store: SessionStore) {
    // Create and read back.
    store.create(&session("s1", b"h1")).await.unwrap();
    let s = store.get("s1").await.unwrap().unwrap();
    assert_eq!(
        (s.state, s.challenge.as_deref()),
        (State::Created, Some(&[2u8; 32][..]))
    );
    assert!(store.get("nope").await.unwrap().is_none());
    assert!(store.create(&session("s1", b"h1x")).await.is_err(), "ids are unique");

    // 100 concurrent redeems of one handle: exactly one wins.
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .redeem(b"h1", format!("sub{i}").as_bytes(), None, NOW + 1)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut won = 0;
    let mut refused = 0;
    for t in tasks {
        match t.await.unwrap() {
            Redeem::Redeemed(s) => {
                won += 1;
                assert_eq!(s.state, State::HandleRedeemed);
            }
            Redeem::AlreadyRedeemed(_) => refused += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((won, refused), (1, 99));
    assert!(matches!(
        store.redeem(b"unknown", b"x", None, NOW).await.unwrap(),
        Redeem::Unknown
    ));

    // A refresh kills the old handle, resets the state and gives a new challenge.
    assert!(
        store
            .refresh_handle("s1", b"h2", &[9; 32], NOW + 600, Pattern::CrossDevice, "K7Q2")
            .await
            .unwrap()
    );
    assert!(matches!(
        store.redeem(b"h1", b"x", None, NOW + 2).await.unwrap(),
        Redeem::Unknown
    ));
    let s = store.get("s1").await.unwrap().unwrap();
    assert_eq!(
        (s.state, s.pattern, s.pc_code.as_deref()),
        (State::Created, Some(Pattern::CrossDevice), Some("K7Q2"))
    );
    assert!(s.submission_hash.is_none());
    assert!(matches!(
        store.redeem(b"h2", b"t2", None, NOW + 3).await.unwrap(),
        Redeem::Redeemed(_)
    ));

    // Evidence: once, consuming the challenge, held for confirmation.
    let release = Release {
        code_hash: b"code".to_vec(),
        expires_at: NOW + 900,
        result_handle_hash: None,
    };
    // Only against the challenge and by the device the session holds now: evidence verified
    // against the challenge of before the refresh, or sent with the first device's token,
    // is not stored.
    for (challenge, token) in [(&[2u8; 32][..], &b"t2"[..]), (&[9; 32], b"t")] {
        assert!(
            !store
                .complete_evidence("s1", challenge, token, b"stale", &release, NOW + 4)
                .await
                .unwrap()
        );
    }
    assert!(
        store
            .complete_evidence("s1", &[9; 32], b"t2", b"sealed", &release, NOW + 4)
            .await
            .unwrap()
    );
    assert!(
        !store
            .complete_evidence("s1", &[9; 32], b"t2", b"again", &release, NOW + 4)
            .await
            .unwrap(),
        "only once"
    );
    let s = store.get("s1").await.unwrap().unwrap();
    assert_eq!(
        (s.state, s.challenge, s.released),
        (State::EvidenceVerified, None, false)
    );
    assert_eq!(
        store.take_result("s1", NOW + 5, as_is).await.unwrap(),
        None,
        "not released yet"
    );
    assert!(
        !store
            .refresh_handle("s1", b"h3", &[9; 32], NOW + 600, Pattern::PcReader, "X")
            .await
            .unwrap()
    );

    // Confirmation: wrong codes are counted; the right one releases; then it is spent.
    assert_eq!(
        store.confirm("s1", b"nope", 5, NOW + 5).await.unwrap(),
        Confirmation::Wrong { attempts_left: 4 }
    );
    assert_eq!(
        store.confirm("s1", b"code", 5, NOW + 5).await.unwrap(),
        Confirmation::Released
    );
    assert_eq!(
        store.confirm("s1", b"code", 5, NOW + 5).await.unwrap(),
        Confirmation::NotPending
    );
    assert_eq!(
        store.take_result("s1", NOW + 6, as_is).await.unwrap().as_deref(),
        Some(&b"sealed"[..])
    );
    assert_eq!(
        store.take_result("s1", NOW + 6, as_is).await.unwrap(),
        None,
        "a result is taken once"
    );
    assert_eq!(store.get("s1").await.unwrap().unwrap().state, State::Completed);

    // Too many wrong codes lock the session and delete the result.
    store.create(&session("s2", b"h20")).await.unwrap();
    store.redeem(b"h20", b"t", None, NOW).await.unwrap();
    store
        .complete_evidence("s2", &[2; 32], b"t", b"sealed2", &release, NOW)
        .await
        .unwrap();
    for left in (1..5).rev() {
        assert_eq!(
            store.confirm("s2", b"bad", 5, NOW).await.unwrap(),
            Confirmation::Wrong { attempts_left: left }
        );
    }
    assert_eq!(store.confirm("s2", b"bad", 5, NOW).await.unwrap(), Confirmation::Locked);
    let s = store.get("s2").await.unwrap().unwrap();
    assert_eq!(
        (s.state, s.failure, s.result),
        (State::Failed, Some(Failure::ConfirmationFailed), None)
    );
    assert_ne!(
        store.confirm("s2", b"code", 5, NOW).await.unwrap(),
        Confirmation::Released
    );

    // Pattern 3: the result handle finds the session; release once.
    store.create(&session("s3", b"h30")).await.unwrap();
    store.redeem(b"h30", b"t", None, NOW).await.unwrap();
    let r3 = Release {
        code_hash: b"c3".to_vec(),
        expires_at: NOW + 900,
        result_handle_hash: Some(b"rh3".to_vec()),
    };
    store
        .complete_evidence("s3", &[2; 32], b"t", b"sealed3", &r3, NOW)
        .await
        .unwrap();
    assert_eq!(store.by_result_handle(b"rh3").await.unwrap().unwrap().id, "s3");
    assert!(store.release("s3", NOW + 1).await.unwrap());
    assert!(!store.release("s3", NOW + 1).await.unwrap());
    assert!(
        store.by_result_handle(b"rh3").await.unwrap().is_none(),
        "the result handle is spent"
    );

    // Expiry: a late redeem and late evidence are refused.
    store.create(&session("s4", b"h40")).await.unwrap();
    assert!(matches!(
        store.redeem(b"h40", b"t", None, NOW + 301).await.unwrap(),
        Redeem::Expired(_)
    ));
    store.create(&session("s5", b"h50")).await.unwrap();
    store.redeem(b"h50", b"t", None, NOW).await.unwrap();
    let late = Release {
        code_hash: b"c5".to_vec(),
        expires_at: NOW + 900,
        result_handle_hash: None,
    };
    assert!(
        !store
            .complete_evidence("s5", &[2; 32], b"t", b"late", &late, NOW + 301)
            .await
            .unwrap()
    );
    // Failing; reader status only while redeemed.
    store.set_reader_status("s5", ReaderStatus::PinWrong).await.unwrap();
    assert_eq!(
        store.get("s5").await.unwrap().unwrap().reader_status,
        Some(ReaderStatus::PinWrong)
    );
    assert!(store.fail("s5", Failure::SignatureMismatch, NOW).await.unwrap());
    assert!(!store.fail("s5", Failure::CardNotTrusted, NOW).await.unwrap());
    // Purge removes ended sessions.
    let purged = store.purge(NOW + 10_000).await.unwrap();
    assert_eq!(purged, 5);
    assert!(store.get("s1").await.unwrap().is_none());

    // A start link works once: the first browser becomes the session's.
    let mut s6 = session("s6", b"h60");
    s6.start_hash = Some(b"start".to_vec());
    store.create(&s6).await.unwrap();
    assert!(store.start("s6", b"start", b"browser-a", b"back-a").await.unwrap());
    assert!(!store.start("s6", b"start", b"browser-b", b"back-b").await.unwrap());
    assert!(!store.start("s6", b"other", b"browser-b", b"back-b").await.unwrap());
    let row = store.get("s6").await.unwrap().unwrap();
    assert_eq!(
        (row.browser_hash.as_slice(), row.return_hash.as_deref()),
        (&b"browser-a"[..], Some(&b"back-a"[..]))
    );

    // A handle of a phone pattern is not redeemed by the PC reader app, and stays unused for
    // the phone.
    store.create(&session("s7", b"h70")).await.unwrap();
    assert!(
        store
            .refresh_handle("s7", b"h71", &[7; 32], NOW + 300, Pattern::CrossDevice, "K7Q2")
            .await
            .unwrap()
    );
    assert!(matches!(
        store
            .redeem(b"h71", b"t", Some(Device::PcReaderApp), NOW)
            .await
            .unwrap(),
        Redeem::WrongDevice(_)
    ));
    assert!(matches!(
        store.redeem(b"h71", b"t", Some(Device::PhoneApp), NOW).await.unwrap(),
        Redeem::Redeemed(_)
    ));
    // A second device: reported as such, and the session can be ended with its result.
    assert!(matches!(
        store.redeem(b"h71", b"u", Some(Device::PhoneApp), NOW).await.unwrap(),
        Redeem::AlreadyRedeemed(_)
    ));
    let r7 = Release {
        code_hash: b"c7".to_vec(),
        expires_at: NOW + 900,
        result_handle_hash: Some(b"rh7".to_vec()),
    };
    assert!(
        store
            .complete_evidence("s7", &[7; 32], b"t", b"sealed7", &r7, NOW)
            .await
            .unwrap()
    );
    assert!(matches!(
        store.redeem(b"h71", b"u", Some(Device::PhoneApp), NOW).await.unwrap(),
        Redeem::AlreadyRedeemed(_)
    ));
    // A result handle that came back to another browser is gone.
    store.burn_result_handle("s7").await.unwrap();
    assert!(store.by_result_handle(b"rh7").await.unwrap().is_none());
    assert!(store.fail_redeemed_twice("s7", NOW).await.unwrap());
    let row = store.get("s7").await.unwrap().unwrap();
    assert_eq!(
        (row.state, row.failure, row.result),
        (State::Failed, Some(Failure::RedeemedTwice), None)
    );
    assert!(!store.fail_redeemed_twice("s7", NOW).await.unwrap(), "once");

    // More time: only from the limit the caller saw, before it passed, within the count.
    store.create(&session("s8", b"h8")).await.unwrap();
    assert!(
        store
            .extend("s8", false, NOW + 300, NOW + 600, NOW + 10, 2)
            .await
            .unwrap()
    );
    assert!(
        !store
            .extend("s8", false, NOW + 300, NOW + 900, NOW + 10, 2)
            .await
            .unwrap(),
        "not from a limit that moved"
    );
    assert!(
        !store
            .extend("s8", false, NOW + 600, NOW + 900, NOW + 601, 2)
            .await
            .unwrap(),
        "not once it passed"
    );
    assert!(
        store
            .extend("s8", false, NOW + 600, NOW + 900, NOW + 20, 2)
            .await
            .unwrap()
    );
    assert!(
        !store
            .extend("s8", false, NOW + 900, NOW + 1200, NOW + 30, 2)
            .await
            .unwrap(),
        "not beyond the count"
    );
    let row = store.get("s8").await.unwrap().unwrap();
    assert_eq!((row.expires_at, row.extensions), (NOW + 900, 2));
    assert!(
        !store
            .extend("s8", true, NOW + 900, NOW + 1200, NOW + 30, 5)
            .await
            .unwrap(),
        "no confirmation code waits"
    );
    // The confirmation code's limit, while it waits.
    assert!(store.redeem(b"h8", b"t8", None, NOW + 40).await.is_ok());
    let r8 = Release {
        code_hash: b"c8".to_vec(),
        expires_at: NOW + 340,
        result_handle_hash: None,
    };
    assert!(
        store
            .complete_evidence("s8", &[2; 32], b"t8", b"sealed8", &r8, NOW + 40)
            .await
            .unwrap()
    );
    assert!(
        !store
            .extend("s8", false, NOW + 900, NOW + 1200, NOW + 50, 5)
            .await
            .unwrap(),
        "the read session's own limit no longer runs"
    );
    assert!(
        store
            .extend("s8", true, NOW + 340, NOW + 640, NOW + 50, 5)
            .await
            .unwrap()
    );
    let row = store.get("s8").await.unwrap().unwrap();
    assert_eq!((row.confirm_expires_at, row.extensions), (Some(NOW + 640), 3));

    // A failed session opened again for another attempt: only for the failure it was seen
    // with, without a usable handle until a new one is issued.
    store.create(&session("s9", b"h9")).await.unwrap();
    assert!(store.fail("s9", Failure::CertificateRevoked, NOW).await.unwrap());
    assert!(!store.reopen("s9", Failure::RevocationUnknown, b"nobody").await.unwrap());
    assert!(
        store
            .reopen("s9", Failure::CertificateRevoked, b"nobody")
            .await
            .unwrap()
    );
    let row = store.get("s9").await.unwrap().unwrap();
    assert_eq!((row.state, row.failure, row.challenge), (State::Created, None, None));
    assert_eq!(row.handle_hash.as_deref(), Some(&b"nobody"[..]));
    assert!(matches!(
        store.redeem(b"h9", b"t9", None, NOW).await.unwrap(),
        Redeem::Unknown
    ));
    assert!(
        !store.reopen("s9", Failure::CertificateRevoked, b"x").await.unwrap(),
        "once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&format!("sqlite://{}", dir.path().join("t.db").display()))
        .await
        .unwrap();
    suite(SessionStore::new(db)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_store() {
    let db = PgDatabase::create().await;
    suite(SessionStore::new(Db::open(&db.url).await.unwrap())).await;
}

/// Checkpoints happen on the store's own task, not inside a commit: with SQLite's automatic
/// checkpoint pushed out to 32,768 pages, 2,000 new sessions only reach the database file
/// (out of the WAL) if the background task copies them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_checkpoints_the_wal_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let store = SessionStore::new(Db::open(&format!("sqlite://{}", path.display())).await.unwrap());
    let (auto,): (i64,) = sqlx::query_as("PRAGMA wal_autocheckpoint")
        .fetch_one(store.db().pool())
        .await
        .unwrap();
    assert_eq!(
        auto, 32_768,
        "commits must not checkpoint at SQLite's default 1,000 pages"
    );
    let before = std::fs::metadata(&path).unwrap().len();
    for i in 0..2_000 {
        let mut s = session(&format!("c{i}"), format!("h{i}").as_bytes());
        s.return_url = Some(format!("https://portal.example.jp/{}", "x".repeat(200)));
        store.create(&s).await.unwrap();
    }
    let grown = || std::fs::metadata(&path).unwrap().len() > before + 256 * 1024;
    let deadline = std::time::Instant::now() + mynaid_db::CHECKPOINT_EVERY * 20;
    while !grown() && std::time::Instant::now() < deadline {
        tokio::time::sleep(mynaid_db::CHECKPOINT_EVERY).await;
    }
    assert!(
        grown(),
        "the database file stayed at {} bytes (was {before}): the WAL was not checkpointed",
        std::fs::metadata(&path).unwrap().len()
    );
    assert_eq!(store.get("c1999").await.unwrap().unwrap().id, "c1999");
}

/// The sealed result as stored, no link.
fn as_is(sealed: &[u8]) -> (Vec<u8>, Option<mynaid_sessions::links::NewLink>) {
    (sealed.to_vec(), None)
}
