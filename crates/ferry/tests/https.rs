//! The real `ferry serve` binary serving the API and console over HTTPS (`[api] tls_cert`,
//! `tls_key`) with a self-signed certificate made here: trusted, it answers; plain HTTP on the same
//! port gets no API; the login cookie is `Secure`; listening beyond loopback is not warned about;
//! a bad key file stops the start with exit 2 naming it. No cluster is needed.

use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

mod common;
use common::text;

const TOKEN: &str = "https-test-token-0123456789";

/// A configuration serving HTTPS with `tls/cert.pem` and `tls/key.pem` (relative to the file).
fn write_config(dir: &Path) -> std::path::PathBuf {
    let config = format!(
        "[proxy]\n\
         namesrv_listen = \"127.0.0.1:0\"\n\
         relay_bind = \"127.0.0.1\"\n\
         advertised_host = \"127.0.0.1\"\n\
         relay_ports = \"19950-19999\"\n\
         \n\
         [api]\n\
         listen = \"0.0.0.0:0\"\n\
         token = \"{TOKEN}\"\n\
         tls_cert = \"tls/cert.pem\"\n\
         tls_key = \"tls/key.pem\"\n\
         \n\
         [store]\n\
         path = \"ferry.db\"\n\
         \n\
         [engine]\n\
         tick_secs = 3600\n"
    );
    let path = dir.join("ferry.toml");
    std::fs::write(&path, config).unwrap();
    path
}

#[test]
fn the_api_and_console_serve_https_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let cert_pem = made.cert.pem();
    std::fs::create_dir(dir.path().join("tls")).unwrap();
    std::fs::write(dir.path().join("tls/cert.pem"), &cert_pem).unwrap();
    std::fs::write(dir.path().join("tls/key.pem"), made.signing_key.serialize_pem()).unwrap();
    let config = write_config(dir.path());

    let server = common::spawn(common::ferry(), dir.path(), &["--config", config.to_str().unwrap()])
        .unwrap_or_else(|e| panic!("ferry serve did not start: {e}"));
    assert!(server.api.starts_with("https://0.0.0.0:"), "the printed API address: {}", server.api);
    assert!(server.namesrv.starts_with("127.0.0.1:"), "{}", server.namesrv);
    let port: u16 = server.api.rsplit(':').next().unwrap().trim_end_matches('/').parse().unwrap();
    let base = format!("https://localhost:{port}");

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        // Trusting only the test's certificate: /healthz answers over HTTPS.
        let trusted = reqwest::Client::builder()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap())
            .build()
            .unwrap();
        let health = trusted.get(format!("{base}/healthz")).send().await.unwrap();
        assert_eq!(health.status(), 200);

        // Without it the handshake fails: this is the certificate served, not some other.
        let untrusting = reqwest::Client::builder().tls_built_in_root_certs(false).build().unwrap();
        let e = untrusting.get(format!("{base}/healthz")).send().await.unwrap_err();
        assert!(e.is_connect(), "{e:?}");

        // The login's session cookie is Secure: a browser sends it back over HTTPS only.
        let login = trusted
            .post(format!("{base}/api/login"))
            .json(&serde_json::json!({ "token": TOKEN }))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 200);
        let cookie = login.headers().get("set-cookie").unwrap().to_str().unwrap().to_string();
        assert!(cookie.ends_with("; Secure"), "{cookie}");
        let api = trusted.get(format!("{base}/api/migrations")).bearer_auth(TOKEN).send().await.unwrap();
        assert_eq!(api.status(), 200, "the API itself over HTTPS");
    });

    // `ferry migrate` over HTTPS: refused until told to trust the certificate.
    let migrate = |extra: &[&str]| {
        common::ferry()
            .args(["migrate", "--server", &base, "--token", TOKEN])
            .args(extra)
            .arg("list")
            .env_remove("FERRY_SERVER")
            .env_remove("FERRY_TOKEN")
            .env_remove("FERRY_CA_CERT")
            .output()
            .unwrap()
    };
    let o = migrate(&[]);
    assert_eq!(o.status.code(), Some(3), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("certificate"), "the cause is told: {}", text(&o.stderr));
    let ca = dir.path().join("tls/cert.pem");
    let o = migrate(&["--ca-cert", ca.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout).trim(), "no migrations");

    // Plain HTTP on the same port gets no HTTP answer at all, let alone the API.
    let mut plain = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    plain.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    plain.write_all(b"GET /healthz HTTP/1.1\r\nHost: ferry\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(!text(&answer).contains("HTTP/1."), "plain HTTP was answered: {:?}", text(&answer));

    let (status, stderr) = server.stop();
    assert!(status.success(), "SIGTERM: {status:?}\n{stderr}");
    assert!(!stderr.contains("over plain HTTP"), "no plain-HTTP warning when serving HTTPS: {stderr}");
    assert!(stderr.contains("ferry serve: stopped"), "{stderr}");
}

#[test]
fn a_bad_certificate_or_key_stops_the_start_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let made = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    std::fs::create_dir(dir.path().join("tls")).unwrap();
    std::fs::write(dir.path().join("tls/cert.pem"), made.cert.pem()).unwrap();
    let config = write_config(dir.path());
    let run = || {
        common::ferry()
            .args(["serve", "--config", config.to_str().unwrap()])
            .current_dir(dir.path())
            .env_remove("FERRY_STORE")
            .output()
            .unwrap()
    };
    let key_path = dir.path().join("tls/key.pem");

    // Not a key: exit 2, the file and the problem named, nothing of its content repeated.
    std::fs::write(&key_path, "this-is-not-a-key-but-still-secret\n").unwrap();
    let o = run();
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(&format!("TLS key file {}: no private key in it", key_path.display())),
        "{stderr}"
    );
    assert!(!stderr.contains("this-is-not-a-key"), "{stderr}");
    assert!(!dir.path().join("ferry.db").exists(), "stopped before the store was opened");

    // A key of another certificate: named too, its PEM not shown.
    let other = rcgen::KeyPair::generate().unwrap();
    std::fs::write(&key_path, other.serialize_pem()).unwrap();
    let o = run();
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("this key does not belong to the certificate in"), "{stderr}");
    assert!(!stderr.contains("PRIVATE KEY"), "{stderr}");

    // A missing key file.
    std::fs::remove_file(&key_path).unwrap();
    let o = run();
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains(&format!("cannot read the TLS key file {}", key_path.display())), "{stderr}");
}
