//! What both SSE benches need: a server on a SQLite file with the tests' configuration, and a
//! PC page waiting on pattern 2 the way a browser gets there (session created by the relying
//! party, start URL, "PC and smartphone" chosen with the cookie and form token, SSE opened
//! and its first `waiting` event read).

use std::path::Path;

use reqwest::{Client, Response};

use crate::common;

/// Serves on `listener` until the process ends; `db` is the SQLite file. Every request in a
/// bench comes from 127.0.0.1, so the per-address rate limit and the per-address caps of
/// connections and live-status streams are off (10,000 pages wait at once).
pub(crate) async fn serve(listener: tokio::net::TcpListener, db: &Path) -> std::io::Result<()> {
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");
    let mut config = common::test_config(&base, &format!("sqlite://{}", db.display()));
    config.listen = addr;
    config.limits.per_address_burst = 0;
    config.http.max_connections = 50_000;
    config.http.max_connections_per_address = 50_000;
    config.http.sse_per_address = 50_000;
    let server = mynaid_server::start(config, mynaid_sessions::system_clock())
        .await
        .expect("the server starts");
    mynaid_server::serve(server, listener, std::future::pending()).await
}

/// A PC page showing its QR code, with its SSE stream open.
pub(crate) struct Waiting {
    /// The pattern 2 page's HTML (QR code and app link).
    pub(crate) page: String,
    sse: Response,
    unread: String,
}

impl Waiting {
    /// Opens a new session's pattern 2 page and its SSE stream; returns once the stream has
    /// said `waiting`.
    pub(crate) async fn open(http: &Client, base: &str) -> Waiting {
        let created = http
            .post(format!("{base}/api/v1/sessions"))
            .bearer_auth(common::API_KEY)
            .json(&serde_json::json!({ "purpose": "verify_identity" }))
            .send()
            .await
            .unwrap();
        assert!(created.status().is_success(), "session: {}", created.status());
        let created: serde_json::Value = created.json().await.unwrap();
        let id = created["session_id"].as_str().unwrap();
        let start = http.get(created["browser_url"].as_str().unwrap()).send().await.unwrap();
        let cookie = common::cookie_pair(start.headers()["set-cookie"].to_str().unwrap());
        // Read to the end, as a browser does, so the connection goes back to the pool.
        start.bytes().await.unwrap();
        let browser_token = cookie.split_once('=').map_or("", |(_, v)| v);
        let chosen = http
            .post(format!("{base}/s/{id}/phone"))
            .header("cookie", &cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!("csrf={}", mynaid_server::pages::form_token(id, browser_token)))
            .send()
            .await
            .unwrap();
        // Answered `303` to the QR page (followed or not by the client), got with `GET`.
        let status = chosen.status();
        assert!(status.is_success() || status.as_u16() == 303, "choosing: {status}");
        chosen.bytes().await.unwrap();
        let page = http
            .get(format!("{base}/s/{id}/phone"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        assert!(page.status().is_success(), "QR page: {}", page.status());
        let page = page.text().await.unwrap();
        let sse = http
            .get(format!("{base}/s/{id}/events"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap();
        let mut waiting = Waiting {
            page,
            sse,
            unread: String::new(),
        };
        let first = waiting.next_event().await;
        assert!(first.contains("waiting"), "{first}");
        waiting
    }

    /// The `data:` of the stream's next event.
    pub(crate) async fn next_event(&mut self) -> String {
        loop {
            if let Some(end) = self.unread.find("\n\n") {
                let block: String = self.unread.drain(..end + 2).collect();
                if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) {
                    return data.to_string();
                }
                continue;
            }
            let chunk = self.sse.chunk().await.unwrap().expect("the stream ended");
            self.unread.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}
