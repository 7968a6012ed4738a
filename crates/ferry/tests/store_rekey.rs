//! `ferry store rekey` on a store file: secrets written under one key are re-encrypted under a
//! new one (the store then opens with the new key and not the old); a second run changes nothing;
//! a wrong old key is refused naming the migration and side, with nothing changed; a store kept
//! without a key is encrypted; a bad new key file is a usage error naming it. No cluster is needed.

use std::path::Path;
use std::process::Output;

use ferry_control::migration::ClusterEndpoint;
use ferry_control::store::{KeySource, StoreKey};
use ferry_control::Store;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Three store keys (32 bytes of 1, 2 and 3, in base64), as a key file holds them.
const KEYS: [&str; 3] = [
    "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=",
    "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=",
    "AwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwMDAwM=",
];

fn key_text(n: u8) -> String {
    KEYS[usize::from(n) - 1].to_string()
}

fn key(byte: u8) -> StoreKey {
    StoreKey::from_base64(&key_text(byte), KeySource::Env).unwrap()
}

fn rekey(dir: &Path, old_key: Option<u8>, args: &[&str]) -> Output {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ferry"));
    cmd.args(["store", "rekey", "--store", "ferry.db"]).args(args).current_dir(dir).env_remove("FERRY_STORE");
    match old_key {
        Some(b) => cmd.env("FERRY_STORE_KEY", key_text(b)),
        None => cmd.env_remove("FERRY_STORE_KEY"),
    };
    cmd.output().unwrap()
}

fn endpoint(namesrv: &str, secret: &str) -> ClusterEndpoint {
    let mut e = ClusterEndpoint::new(namesrv, "c");
    e.access_key = Some("ak".into());
    e.secret_key = Some(secret.into());
    e
}

/// The migration's two secret keys read with `key` (none: without a key), or the store's error.
async fn read(path: &Path, key: Option<u8>) -> Result<(String, String), String> {
    let store = Store::open(path).await.map_err(|e| e.to_string())?;
    let store = match key {
        Some(b) => store.with_secret_key(self::key(b)).await.map_err(|e| e.to_string())?,
        None => store,
    };
    let m = store.migrations().await.map_err(|e| e.to_string())?.remove(0);
    store.close().await;
    Ok((m.source.secret_key.unwrap(), m.target.secret_key.unwrap()))
}

#[test]
fn a_store_is_rekeyed_once_and_a_wrong_old_key_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ferry.db");
    for n in 1..=3 {
        std::fs::write(dir.path().join(format!("key{n}")), format!("{}\n", key_text(n))).unwrap();
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = Store::open(&db).await.unwrap().with_secret_key(key(1)).await.unwrap();
        store
            .create_migration("move", &endpoint("a:9876", "src-secret"), &endpoint("b:9876", "dst-secret"))
            .await
            .unwrap();
        store.close().await;
    });
    let secrets = Ok(("src-secret".to_string(), "dst-secret".to_string()));

    // Under key 1 now; re-keyed to key 2 with key 1 given as FERRY_STORE_KEY.
    let o = rekey(dir.path(), Some(1), &["--new-key-file", "key2"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = text(&o.stdout);
    assert!(
        out.contains("2 secret keys re-encrypted from the old key (FERRY_STORE_KEY) under key2"),
        "{out}"
    );
    assert!(
        out.contains("[store] key_file = \"key2\"") && out.contains("The old key no longer opens"),
        "{out}"
    );
    assert!(!out.contains(KEYS[0]) && !out.contains(KEYS[1]), "no key printed: {out}");
    assert_eq!(rt.block_on(read(&db, Some(2))), secrets, "opens with the new key");
    let e = rt.block_on(read(&db, Some(1))).unwrap_err();
    assert!(e.contains("migration 1 (\"move\"): the source cluster's secret key does not decrypt"), "{e}");

    // Twice: nothing left to do, nothing changed.
    let o = rekey(dir.path(), Some(1), &["--new-key-file", "key2"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("0 secret keys re-encrypted")
            && text(&o.stdout).contains("2 already under the new key")
    );
    assert_eq!(rt.block_on(read(&db, Some(2))), secrets);

    // A wrong old key (key 1 again, toward key 3): refused, naming the migration and side, and
    // the store still opens with key 2 only.
    let o = rekey(dir.path(), Some(1), &["--new-key-file", "key3"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
    let stderr = text(&o.stderr);
    assert!(stderr.contains("migration 1 (\"move\"): the source cluster's secret key does not decrypt with the store key given"), "{stderr}");
    assert!(!stderr.contains("secret\"") && !stderr.contains(KEYS[0]), "{stderr}");
    assert_eq!(rt.block_on(read(&db, Some(2))), secrets, "nothing changed");
    assert!(rt.block_on(read(&db, Some(3))).is_err(), "nothing under the new key");

    // The old key from --config's [store] key_file (relative to the file), as ferry serve reads it.
    std::fs::write(dir.path().join("ferry.toml"), "[store]\nkey_file = \"key2\"\n").unwrap();
    let o = rekey(dir.path(), None, &["--config", "ferry.toml", "--new-key-file", "key3"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains("2 secret keys re-encrypted from the old key (key file "),
        "{}",
        text(&o.stdout)
    );
    assert_eq!(rt.block_on(read(&db, Some(3))), secrets);

    // A new key file that is not a key, or missing: exit 2 naming it, nothing changed.
    std::fs::write(dir.path().join("bad.key"), "not-a-key\n").unwrap();
    let o = rekey(dir.path(), Some(3), &["--new-key-file", "bad.key"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("key file bad.key: not a store key"), "{}", text(&o.stderr));
    assert!(!text(&o.stderr).contains("not-a-key"), "{}", text(&o.stderr));
    let o = rekey(dir.path(), Some(3), &["--new-key-file", "nowhere.key"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("cannot read the store key file nowhere.key"), "{}", text(&o.stderr));
    assert_eq!(rt.block_on(read(&db, Some(3))), secrets);

    // No store there: said so, none created.
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_ferry"))
        .args(["store", "rekey", "--store", "elsewhere.db", "--new-key-file", "key2"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stderr));
    assert!(text(&o.stderr).contains("no store at elsewhere.db"), "{}", text(&o.stderr));
    assert!(!dir.path().join("elsewhere.db").exists());
}

#[test]
fn a_store_kept_without_a_key_is_encrypted() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ferry.db");
    std::fs::write(dir.path().join("key2"), key_text(2)).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let store = Store::open(&db).await.unwrap();
        store
            .create_migration("plain", &endpoint("a:9876", "src-secret"), &endpoint("b:9876", "dst-secret"))
            .await
            .unwrap();
        assert_eq!(store.plain_secrets().await.unwrap(), 2);
        store.close().await;
    });
    let o = rekey(dir.path(), None, &["--new-key-file", "key2"]);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        text(&o.stdout).contains(
            "0 secret keys re-encrypted from no key under key2, 2 encrypted that were in plain text"
        ),
        "{}",
        text(&o.stdout)
    );
    let plain_now = rt.block_on(async {
        let store = Store::open(&db).await.unwrap();
        let n = store.plain_secrets().await.unwrap();
        store.close().await;
        n
    });
    assert_eq!(plain_now, 0);
    assert_eq!(rt.block_on(read(&db, Some(2))), Ok(("src-secret".to_string(), "dst-secret".to_string())));
    assert!(rt.block_on(read(&db, None)).is_err(), "no longer readable without the key");
}
