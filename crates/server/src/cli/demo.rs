//! `mynaid-server demo`: the main job. Everything on one address (127.0.0.1:8080 by default): a
//! fresh test PKI with test persons and emulated cards, the mynaid server in test-trust
//! mode, and a demo relying party (a registration portal) at `/portal`.
//!
//! The cards are emulated in process by the reader app (`--emulator CARD_FILE`), so no
//! pcscd is needed; the procedure page shows the exact command.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use mynaid_oidc::config::{AuthMethod, OidcClientConfig, OidcConfig};
use mynaid_protocol::{Purpose, Route};
use mynaid_server::config::{Config, DemoConfig, TrustConfig};

use crate::cli::serve::{runtime_block_on, shutdown_signal};
use mynaid_reader::exit;

#[derive(Args)]
pub(crate) struct DemoArgs {
    /// Where to put the demo's test PKI, cards and database (replaced at each start).
    #[arg(long, default_value = "mynaid-demo")]
    dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
}

/// The demo's configuration: test roots, the generated CRLs and CV CA, and the portal as an
/// OpenID Connect client (`client_secret_basic`).
pub(crate) fn demo_config(dir: &Path, listen: SocketAddr, client_secret: &str) -> Config {
    let base = format!("http://{listen}");
    let mut trust = TrustConfig::test_pki(dir);
    // `mynaid-server pki revoke` in another terminal reaches the portal within seconds.
    trust.crl_refresh_secs = 10;
    Config {
        listen,
        public_url: base.clone(),
        database_url: format!("sqlite://{}", dir.join("mynaid.db").display()),
        trust,
        signals: mynaid_signals::SignalsConfig {
            push_interval_secs: 2,
            ..mynaid_signals::SignalsConfig::default()
        },
        oidc: OidcConfig {
            clients: vec![portal_client(&base, client_secret)],
            ..OidcConfig::default()
        },
        demo: Some(DemoConfig {
            cards_dir: dir.join("cards"),
            // The reader app is built next to this binary (scripts/demo.sh builds both).
            bin_dir: std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf)),
        }),
        ..Config::default()
    }
}

/// The demo portal as an OpenID Connect client of the server at `base`.
pub(crate) fn portal_client(base: &str, client_secret: &str) -> OidcClientConfig {
    OidcClientConfig {
        client_id: "portal".into(),
        name: "登録ポータル（デモ）".into(),
        name_en: "Registration portal (demo)".into(),
        origin: Some(base.into()),
        redirect_uris: vec![format!("{base}/portal/callback")],
        scopes: ["name", "address", "birthdate", "gender"].map(String::from).to_vec(),
        purposes: vec![Purpose::VerifyIdentity, Purpose::LinkCard],
        auth_method: AuthMethod::ClientSecretBasic,
        require_nonce: false,
        require_pkce: true,
        profile: mynaid_oidc::config::ClientProfile::Oidc,
        client_secret: Some(client_secret.into()),
        jwks: None,
        jwks_file: None,
        id_token_ttl_secs: 300,
        access_token_ttl_secs: 300,
        accepted_routes: Route::ALL.to_vec(),
    }
}

pub(crate) fn run(args: DemoArgs) -> ExitCode {
    // A fresh demo every time: new database, PIN counters back to their starting values.
    let _ = std::fs::remove_dir_all(&args.dir);
    let summary = match mynaid_testpki::generate(&args.dir, mynaid_testpki::DEFAULT_SEED) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("mynaid-server demo: {e}");
            return ExitCode::from(exit::FAILURE);
        }
    };
    drop(summary);
    let mut key = [0u8; 24];
    if getrandom::fill(&mut key).is_err() {
        return ExitCode::from(exit::FAILURE);
    }
    let client_secret: String = key.iter().map(|b| format!("{b:02x}")).collect();
    let config = demo_config(&args.dir, args.listen, &client_secret);
    mynaid_reader::init_logging("info", false);
    if let Some(demo) = &config.demo {
        print_welcome(&args.dir, args.listen, demo);
    }
    let listen = args.listen;
    runtime_block_on(async move {
        let server = mynaid_server::start(config, mynaid_sessions::system_clock()).await?;
        let portal = mynaid_demo_portal::router(mynaid_demo_portal::PortalConfig {
            mynaid_url: format!("http://{listen}"),
            client_id: "portal".into(),
            client_secret,
            portal_url: format!("http://{listen}"),
        });
        let app = mynaid_server::app(&server).merge(portal);
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|source| mynaid_server::StartError::Listen { addr: listen, source })?;
        mynaid_server::serve_router(server, app, listener, shutdown_signal())
            .await
            .map_err(|source| mynaid_server::StartError::Listen { addr: listen, source })
    })
}

fn print_welcome(dir: &Path, listen: SocketAddr, demo: &DemoConfig) {
    let persons = std::fs::read_to_string(dir.join("persons.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Vec<serde_json::Value>>(&t).ok())
        .unwrap_or_default();
    let reader = demo.command("mynaid");
    println!("mynaid-server demo — http://{listen}/portal");
    println!();
    println!(
        "1. ブラウザで http://{listen}/portal を開き、「本人確認をする」か「マイナンバーカードを連携する」を選びます。"
    );
    println!("   Open http://{listen}/portal in a browser and choose 'Verify my identity' or 'Link my card'.");
    println!(
        "   ポータルは OpenID Connect で mynaid につながります。同意画面で「同意してカードを読み取る」を押します。"
    );
    println!(
        "   The portal signs in through OpenID Connect: on mynaid's consent page, choose 'Agree and read my card'."
    );
    println!("2. 「パソコンとICカードリーダーで読み取る」を選ぶと、ページに読み取りアプリのコマンドが表示されます。");
    println!("   Choose 'Read with this PC and an IC card reader': the page shows the reader app's command.");
    println!(
        "3. 別の端末でそのコマンドを実行します。デモのカードはエミュレートされています（ページの「デモ」の行をそのまま使えます）:"
    );
    println!(
        "   Run it in another terminal. The demo's cards are emulated (the page's 'Demo' line is ready to paste):"
    );
    println!(
        "     {reader} read --link '<リンク / link>' --emulator {}/cards/p01.json",
        dir.display()
    );
    println!(
        "4. ページが自動で進み、確認された氏名などが表示されます。/ The page moves on by itself and shows the verified name."
    );
    println!();
    println!(
        "テスト用の人物 / Test persons ({}/persons.json; PIN: 利用者証明用/券面事項入力補助用 when they differ / user-authentication/input-support):",
        dir.display()
    );
    for p in &persons {
        let (auth, input) = (p["auth_pin"].as_str().unwrap_or(""), p["pin"].as_str().unwrap_or(""));
        // The 4-digit route asks the user-authentication PIN first: show it, and the second
        // one too where a person's two PINs differ.
        let pins = if auth == input {
            input.to_string()
        } else {
            format!("{auth}/{input}")
        };
        println!(
            "  {:<4} {:<10} PIN {:<9} password {:<12} {}",
            p["id"].as_str().unwrap_or(""),
            p["name"].as_str().unwrap_or(""),
            pins,
            p["sign_password"].as_str().unwrap_or("-"),
            p["note"].as_str().unwrap_or("")
        );
    }
    println!();
    println!("連携したカードの電子証明書を失効させると、数秒後にポータルが「もう一度確認してください」と表示します:");
    println!("Revoke a linked card's certificate and the portal asks to verify again within seconds:");
    let me = std::env::current_exe().map_or_else(|_| "mynaid-server".into(), |p| p.display().to_string());
    println!(
        "  {me} pki revoke --out {} --person p01 --reason affiliationChanged --certificates sign,auth",
        dir.display()
    );
    println!();
    println!("Ctrl-C で終了します。/ Ctrl-C stops the demo.");
}
