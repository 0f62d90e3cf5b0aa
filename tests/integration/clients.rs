//! Confidential clients (client_secret_basic and client_secret_post), clients
//! from the config file, and the operator commands for users and clients.

use crate::both_backends;
use crate::support::browser::{location, Browser};
use crate::support::process::command;
use crate::support::{assert_oauth_error, run, succeeded, write_config, TestApp, TestDb};
use oauth2::basic::BasicClient;
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, PkceCodeChallenge, RedirectUrl,
    Scope, TokenResponse, TokenUrl,
};
use patgate::secret::hashing::SecretHasher;
use std::io::Write;

both_backends!(
    confidential_clients_authenticate_at_the_token_endpoint,
    operator_commands_manage_users_and_clients
);

const SECRET: &str = "s3cret-of-the-web-app";
const REDIRECT: &str = "https://app.example/callback";

async fn confidential_clients_authenticate_at_the_token_endpoint(db: TestDb) {
    let hash = SecretHasher::new(64, 1, 1, 1)
        .unwrap()
        .hash(SECRET, &patgate::clock::OsRandom)
        .unwrap();
    let app = TestApp::start_with(&db, |t| {
        let client: toml::Table = toml::from_str(&format!(
            "id = \"web\"\nname = \"Web App\"\nredirect_uris = [\"{REDIRECT}\"]\nsecret_hash = '{hash}'\nscopes = [\"read\"]"
        ))
        .unwrap();
        t.insert("clients".into(), toml::Value::Array(vec![client.into()]));
    })
    .await;
    app.add_user("alice", "correct horse battery", false).await;
    let client = BasicClient::new(ClientId::new("web".into()))
        .set_client_secret(ClientSecret::new(SECRET.into()))
        .set_auth_uri(AuthUrl::new(app.url("/api/auth/v1/authorize").to_string()).unwrap())
        .set_token_uri(TokenUrl::new(app.url("/api/auth/v1/token").to_string()).unwrap())
        .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    let browser = Browser::new(&app);
    let get_code = |scope: &'static str| {
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, _state) = client
            .authorize_url(CsrfToken::new_random)
            .add_scope(Scope::new(scope.into()))
            .set_pkce_challenge(challenge)
            .url();
        let browser = &browser;
        async move {
            let res = browser.get(url.as_str()).await;
            let path = location(&res).path().to_string();
            if browser.get(&path).await.status() == 303 {
                browser
                    .sign_in("alice", "correct horse battery", &path)
                    .await;
            }
            let (_, html, csrf) = browser.consent_page(&path).await;
            assert!(html.contains("Web App") && html.contains("third-party"));
            let res = browser
                .post(
                    &path,
                    &[
                        ("csrf", &csrf.unwrap()),
                        ("action", "approve"),
                        ("token_name", &uuid::Uuid::new_v4().to_string()),
                        ("expiry", "30"),
                        ("scope", "read"),
                    ],
                )
                .await;
            let code = location(&res)
                .query_pairs()
                .find(|(k, _)| k == "code")
                .unwrap()
                .1
                .into_owned();
            (code, verifier)
        }
    };
    // Not allowed scopes are refused for this client.
    let (challenge, _) = PkceCodeChallenge::new_random_sha256();
    let (url, _) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("write".into()))
        .set_pkce_challenge(challenge)
        .url();
    assert!(location(&browser.get(url.as_str()).await)
        .query()
        .unwrap()
        .contains("invalid_scope"));
    // client_secret_basic (the oauth2 crate's default).
    let (code, verifier) = get_code("read").await;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let token = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap();
    assert!(token.refresh_token().unwrap().secret().starts_with("pat_"));
    // client_secret_post, and a wrong secret.
    let (code, verifier) = get_code("read").await;
    let form = |secret: &str| {
        vec![
            ("grant_type", "authorization_code".to_string()),
            ("code", code.clone()),
            ("redirect_uri", REDIRECT.to_string()),
            ("client_id", "web".to_string()),
            ("client_secret", secret.to_string()),
            ("code_verifier", verifier.secret().clone()),
        ]
    };
    let res = app
        .http
        .post(app.url("/api/auth/v1/token"))
        .form(&form("wrong"))
        .send()
        .await
        .unwrap();
    assert!(res.headers().contains_key("www-authenticate"));
    assert_oauth_error(res, 401, "invalid_client").await;
    let no_secret: Vec<_> = form("")
        .into_iter()
        .filter(|(k, _)| *k != "client_secret")
        .collect();
    assert_oauth_error(
        app.http
            .post(app.url("/api/auth/v1/token"))
            .form(&no_secret)
            .send()
            .await
            .unwrap(),
        401,
        "invalid_client",
    )
    .await;
    let res = app
        .http
        .post(app.url("/api/auth/v1/token"))
        .basic_auth("web", Some("wrong"))
        .form(&no_secret)
        .send()
        .await
        .unwrap();
    assert_oauth_error(res, 401, "invalid_client").await;
    let res = app
        .http
        .post(app.url("/api/auth/v1/token"))
        .form(&form(SECRET))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

async fn operator_commands_manage_users_and_clients(db: TestDb) {
    let config = write_config(&db, |_| {});
    let ok = succeeded;
    let generated = ok(run(&config, &["admin", "user", "add", "carol"]));
    assert_eq!(
        generated.trim().len(),
        20,
        "a generated password, printed once"
    );
    let mut child = command(&config)
        .args([
            "admin",
            "user",
            "add",
            "dave",
            "--admin",
            "--password-stdin",
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"a long enough password\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "no password printed when given"
    );
    assert!(
        !run(&config, &["admin", "user", "add", "carol"])
            .status
            .success(),
        "duplicate user"
    );
    let short = command(&config)
        .args(["admin", "user", "add", "erin", "--password-stdin"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!short.status.success(), "an empty password is refused");
    succeeded(run(&config, &["admin", "user", "roles", "carol", "admin"]));
    let unknown = run(&config, &["admin", "user", "roles", "carol", "ghost"]);
    assert!(!unknown.status.success());
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("unknown role \"ghost\""));
    succeeded(run(&config, &["admin", "user", "disable", "carol"]));
    assert!(!run(&config, &["admin", "user", "disable", "nobody"])
        .status
        .success());
    let nobody = run(&config, &["admin", "user", "roles", "nobody", "admin"]);
    assert!(String::from_utf8_lossy(&nobody.stderr).contains("no user named nobody"));

    let secret = ok(run(
        &config,
        &[
            "admin",
            "client",
            "add",
            "ci-app",
            "--name",
            "CI App",
            "--redirect-uri",
            "https://ci.example/cb",
            "--scope",
            "read",
            "--confidential",
        ],
    ));
    assert_eq!(secret.trim().len(), 40);
    ok(run(
        &config,
        &[
            "admin",
            "client",
            "add",
            "native",
            "--name",
            "Native",
            "--redirect-uri",
            "http://127.0.0.1/cb",
        ],
    ));
    assert!(
        !run(
            &config,
            &[
                "admin",
                "client",
                "add",
                "patgate-cli",
                "--name",
                "x",
                "--redirect-uri",
                "https://x/cb"
            ]
        )
        .status
        .success(),
        "built-in id"
    );
    assert!(!run(
        &config,
        &[
            "admin",
            "client",
            "add",
            "bad",
            "--name",
            "x",
            "--redirect-uri",
            "not a url"
        ]
    )
    .status
    .success());
    assert!(!run(
        &config,
        &[
            "admin",
            "client",
            "add",
            "bad",
            "--name",
            "x",
            "--redirect-uri",
            "https://x/cb",
            "--scope",
            "nope"
        ]
    )
    .status
    .success());
    let list: serde_json::Value =
        serde_json::from_str(&ok(run(&config, &["admin", "client", "list", "--json"]))).unwrap();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec!["patgate-cli", "patgate-web", "ci-app", "native"]);
    assert_eq!(list[0]["source"], "built-in");
    assert_eq!(list[2]["confidential"], true);
    assert!(
        !list.to_string().contains("argon2"),
        "no secret hash in listings"
    );
    ok(run(&config, &["admin", "client", "remove", "native"]));
    assert!(!run(&config, &["admin", "client", "remove", "native"])
        .status
        .success());
}
