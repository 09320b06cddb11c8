//! The `payhub` command line, run as a user would run it.

use std::process::Command;

use serde_json::Value;

/// Runs `payhub` with `args`, as a user would.
pub(crate) fn payhub(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_payhub"))
        .args(args)
        .env("PAYHUB_LOG_FORMAT", "json")
        .output()
        .expect("payhub runs")
}

#[test]
fn merchant_create_prints_its_credentials_once_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let output = payhub(&[
        "merchant",
        "create",
        "Acme Retail",
        "--json",
        "--data-dir",
        data_dir,
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let created: Value = serde_json::from_slice(&output.stdout).unwrap();
    let id = created["merchantId"].as_str().unwrap();
    let key = created["apiKey"].as_str().unwrap();
    assert!(id.starts_with("mer_") && key.starts_with("phk_"));
    assert_eq!(created["basicAuth"]["username"], id);
    assert_eq!(created["basicAuth"]["password"], key);

    let listed = payhub(&["merchant", "list", "--json", "--data-dir", data_dir]);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed[0]["merchantId"], id);
    assert_eq!(listed[0]["name"], "Acme Retail");
    assert!(
        !String::from_utf8_lossy(&payhub(&["merchant", "list", "--data-dir", data_dir]).stdout)
            .contains(key),
        "keys are never shown again"
    );

    let database = std::fs::read(dir.path().join("payhub.sqlite3")).unwrap();
    assert!(
        !database.windows(key.len()).any(|w| w == key.as_bytes()),
        "the key is stored hashed only"
    );
}

#[test]
fn bad_database_urls_are_clear_errors() {
    let output = payhub(&["migrate", "--database-url", "mysql://localhost/payhub"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unsupported database URL scheme 'mysql'"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"));

    let output = payhub(&[
        "migrate",
        "--database-url",
        "postgres://nobody:secret@127.0.0.1:1/none",
    ]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot open the database"), "{stderr}");
    assert!(
        stderr.contains("Connection refused"),
        "the cause, not a pool timeout: {stderr}"
    );
    assert!(
        !stderr.contains("secret"),
        "passwords are redacted: {stderr}"
    );
    assert!(!stderr.contains("panicked"));

    // A database that does not exist on a server that answers: the cause once,
    // and what to do.
    let admin = std::env::var("PAYHUB_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let missing = format!(
        "{}/payhub_no_such_db",
        admin
            .rsplit_once('/')
            .map_or(admin.as_str(), |(server, _)| server)
    );
    let output = payhub(&["migrate", "--database-url", &missing]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.matches("does not exist").count(),
        1,
        "said once: {stderr}"
    );
    assert!(stderr.contains("createdb"), "says what to do: {stderr}");
}

#[test]
fn migrate_says_what_it_applied() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let first = payhub(&["migrate", "--data-dir", data_dir]);
    assert!(first.status.success(), "{first:?}");
    let printed = String::from_utf8_lossy(&first.stdout);
    assert!(
        printed.contains("applied") && printed.contains("0001 ledger"),
        "{printed}"
    );
    let again = payhub(&["migrate", "--data-dir", data_dir]);
    let printed = String::from_utf8_lossy(&again.stdout);
    assert!(
        printed.contains("nothing to apply") && !printed.contains("0001"),
        "{printed}"
    );
}

#[test]
fn aps_accounts_are_created_credited_and_shown() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().to_str().unwrap();
    let created = payhub(&[
        "merchant",
        "create",
        "APS shop",
        "--json",
        "--data-dir",
        data_dir,
    ]);
    let created: Value = serde_json::from_slice(&created.stdout).unwrap();
    let merchant = created["merchantId"].as_str().unwrap();

    let output = payhub(&[
        "aps",
        "account-create",
        merchant,
        "--currency",
        "USD",
        "--credit",
        "25.00",
        "--json",
        "--data-dir",
        data_dir,
    ]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let account: Value = serde_json::from_slice(&output.stdout).unwrap();
    let aps_id = account["apsId"].as_str().unwrap();
    assert_eq!(aps_id.len(), 36, "a UUID: {account}");
    assert_eq!(account["availableCredit"].to_string(), "25.00");
    assert_eq!(account["paymentMethods"], serde_json::json!([]));

    let credited = payhub(&["aps", "credit", aps_id, "10.50", "--data-dir", data_dir]);
    assert!(
        credited.status.success(),
        "{}",
        String::from_utf8_lossy(&credited.stderr)
    );
    let shown = payhub(&["aps", "show", aps_id, "--json", "--data-dir", data_dir]);
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown["availableCredit"].to_string(), "35.50");

    for (args, message) in [
        (
            vec!["aps", "credit", aps_id, "0.001"],
            "more decimals than USD allows",
        ),
        (vec!["aps", "credit", aps_id, "-1"], "unexpected argument"),
        (vec!["aps", "show", "no-such-account"], "no APS account"),
        (
            vec!["aps", "account-create", merchant, "--currency", "XYZ"],
            "XYZ",
        ),
        (
            vec![
                "aps",
                "account-create",
                merchant,
                "--currency",
                "USD",
                "--aps-id",
                "nope",
            ],
            "is not a UUID",
        ),
    ] {
        let mut args = args.clone();
        args.extend(["--data-dir", data_dir]);
        let output = payhub(&args);
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    let shown = payhub(&["aps", "show", aps_id, "--json", "--data-dir", data_dir]);
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(
        shown["availableCredit"].to_string(),
        "35.50",
        "refused commands change nothing"
    );

    // A wallet agreement becomes a stored payment method; a card gateway is not a wallet.
    let added = payhub(&[
        "aps",
        "wallet-add",
        aps_id,
        "ALIPAY",
        "--data-dir",
        data_dir,
    ]);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    assert!(String::from_utf8_lossy(&added.stdout).contains("wallet ALIPAY"));
    let refused = payhub(&["aps", "wallet-add", aps_id, "VMPAY", "--data-dir", data_dir]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("not a wallet gateway"));
    let shown = payhub(&["aps", "show", aps_id, "--json", "--data-dir", data_dir]);
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(shown.to_string().matches("ALIPAY").count(), 1, "{shown}");
}

/// Administration commands show their own options and where the data is,
/// not the server's settings; `serve` owns those. No help text uses the
/// project's internal names for its source documents.
#[test]
fn each_command_shows_only_its_own_options() {
    let help = |args: &[&str]| String::from_utf8_lossy(&payhub(args).stdout).into_owned();
    let list = help(&["merchant", "list", "--help"]);
    for own in ["--json", "--data-dir", "--database-url", "--master-key"] {
        assert!(
            list.contains(own),
            "merchant list --help shows {own}:\n{list}"
        );
    }
    for server in [
        "--listen",
        "--public-base-url",
        "--hub-retry-base-ms",
        "--telco-consent-ttl-s",
    ] {
        assert!(
            !list.contains(server),
            "merchant list --help hides {server}:\n{list}"
        );
    }
    let serve = help(&["serve", "--help"]);
    assert!(
        serve.contains("--listen") && serve.contains("--public-base-url"),
        "{serve}"
    );

    let top = help(&["--help"]);
    assert!(
        top.contains("payhub serve"),
        "the top-level help tells a user how to start:\n{top}"
    );
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["aps", "--help"],
        &["merchant", "gateways", "--help"],
    ] {
        let text = help(args).to_lowercase();
        assert!(
            !text.contains("seed 00"),
            "{args:?} --help speaks of seeds:\n{text}"
        );
    }
}
