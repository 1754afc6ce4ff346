//! Sends the device core's requests (`mynaid_device::HttpRequest`) with `ureq`.

use std::time::Duration;

use mynaid_device::{HttpRequest, ServerError, Text, shown};

/// POSTs the request; returns the status and body, or a "server unreachable" error.
pub fn send(request: &HttpRequest) -> Result<(u16, Vec<u8>), ServerError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut call = agent.post(&request.url).header("Content-Type", "application/json");
    if let Some(token) = &request.bearer {
        call = call.header("Authorization", &format!("Bearer {token}"));
    }
    let mut resp = call.send(request.body.as_bytes()).map_err(|e| {
        // The error's words may quote what the server sent (a bad status line, a header).
        let e = shown(&e.to_string());
        ServerError {
            status: 0,
            code: "unreachable".into(),
            message: Text::new(
                format!("サーバーに接続できませんでした（{e}）。ネットワークを確かめて、もう一度お試しください。"),
                format!("Could not reach the server ({e}). Check the network and try again."),
            ),
        }
    })?;
    let status = resp.status().as_u16();
    let body = resp
        .body_mut()
        .with_config()
        .limit(1024 * 1024)
        .read_to_vec()
        .unwrap_or_default();
    Ok((status, body))
}

/// Sends a status report to the page; best effort (a failure here changes nothing).
pub fn report(request: &HttpRequest) {
    let _ = send(request);
}
