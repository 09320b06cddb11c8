//! The decisions of `scripts/with-test-services`, the set-up behind the
//! README's test command: which PostgreSQL the tests use and whether
//! ChromeDriver must be installed. `--plan` prints the decisions without
//! acting; the machine's tools are replaced by stubs on `PATH`, so each case
//! sees exactly the machine it describes. One case starts a real private
//! cluster, where this machine has PostgreSQL's binaries.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/with-test-services")
}

/// A fake machine: a folder of stub commands put first on `PATH`, an empty
/// folder of PostgreSQL cluster configurations, and no ChromeDriver.
struct Machine {
    dir: tempfile::TempDir,
}

impl Machine {
    fn new() -> Machine {
        let dir = tempfile::tempdir().expect("temp dir");
        fs::create_dir(dir.path().join("bin")).expect("bin");
        fs::create_dir(dir.path().join("conf")).expect("conf");
        Machine { dir }
    }

    /// A command on `PATH` that exits with `code`.
    fn stub(&self, name: &str, code: i32) -> &Machine {
        let path = self.dir.path().join("bin").join(name);
        fs::write(&path, format!("#!/bin/sh\nexit {code}\n")).expect("write stub");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod stub");
        self
    }

    /// An installed (stopped or running) system cluster `version/name`.
    fn cluster(&self, version: &str, name: &str) -> &Machine {
        let dir = self.dir.path().join("conf").join(version).join(name);
        fs::create_dir_all(&dir).expect("cluster dir");
        fs::write(dir.join("postgresql.conf"), "port = 5432\n").expect("conf");
        self
    }

    fn chromedriver(&self) -> PathBuf {
        self.dir.path().join("bin").join("chromedriver")
    }

    fn command(&self, args: &[&str]) -> Command {
        let path = format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut command = Command::new("bash");
        command
            .arg(script())
            .args(args)
            .env("PATH", path)
            .env("PAYHUB_PG_CONF_DIR", self.dir.path().join("conf"))
            .env("PAYHUB_CHROMEDRIVER", self.chromedriver())
            .env_remove("PAYHUB_TEST_POSTGRES_URL")
            .env_remove("PAYHUB_TEST_POSTGRES");
        command
    }

    fn plan(&self, env: &[(&str, &str)]) -> Output {
        let mut command = self.command(&["--plan"]);
        for (key, value) in env {
            command.env(key, value);
        }
        command.output().expect("run the script")
    }
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn a_server_answering_on_5432_is_used_as_it_is() {
    let machine = Machine::new();
    machine
        .stub("pg_isready", 0)
        .stub("pg_ctlcluster", 0)
        .cluster("15", "main");
    let output = machine.plan(&[]);
    assert!(output.status.success(), "{output:?}");
    assert!(
        stdout(&output).contains("postgres: running\n"),
        "{output:?}"
    );
}

#[test]
fn a_stopped_system_cluster_is_started() {
    let machine = Machine::new();
    machine
        .stub("pg_isready", 2)
        .stub("pg_ctlcluster", 0)
        .cluster("15", "main");
    let output = machine.plan(&[]);
    assert!(stdout(&output).contains("postgres: system\n"), "{output:?}");
}

#[test]
fn without_a_system_cluster_a_private_one_is_made() {
    let machine = Machine::new();
    machine.stub("pg_isready", 2).stub("pg_ctlcluster", 0);
    let output = machine.plan(&[]);
    assert!(
        stdout(&output).contains("postgres: private\n"),
        "{output:?}"
    );
}

#[test]
fn a_given_url_wins_over_what_the_machine_has() {
    let machine = Machine::new();
    machine.stub("pg_isready", 0);
    let output = machine.plan(&[(
        "PAYHUB_TEST_POSTGRES_URL",
        "postgres://postgres@127.0.0.1:6543/postgres",
    )]);
    assert!(stdout(&output).contains("postgres: given\n"), "{output:?}");
}

#[test]
fn a_forced_choice_wins_and_a_wrong_one_is_refused() {
    let machine = Machine::new();
    machine.stub("pg_isready", 0);
    let forced = machine.plan(&[("PAYHUB_TEST_POSTGRES", "private")]);
    assert!(
        stdout(&forced).contains("postgres: private\n"),
        "{forced:?}"
    );

    let none = machine.plan(&[("PAYHUB_TEST_POSTGRES", "none")]);
    assert!(stdout(&none).contains("postgres: none\n"), "{none:?}");

    let wrong = machine.plan(&[("PAYHUB_TEST_POSTGRES", "somewhere")]);
    assert!(!wrong.status.success(), "{wrong:?}");
    assert!(
        String::from_utf8_lossy(&wrong.stderr).contains("running, system, private or none"),
        "{wrong:?}"
    );
}

#[test]
fn chromedriver_is_installed_only_when_missing() {
    let machine = Machine::new();
    machine.stub("pg_isready", 0);
    assert!(stdout(&machine.plan(&[])).contains("browser: install\n"));
    machine.stub("chromedriver", 0);
    assert!(stdout(&machine.plan(&[])).contains("browser: present\n"));
}

/// The private cluster for real: it answers while the command runs, on a
/// port of its own, and is gone afterwards. Needs PostgreSQL's binaries (the
/// script would install them; a test does not) and, as root, the `postgres`
/// user they run as.
#[test]
fn a_private_cluster_answers_during_the_command_and_is_removed_after() {
    let has_initdb = fs::read_dir("/usr/lib/postgresql")
        .map(|versions| {
            versions
                .flatten()
                .any(|v| v.path().join("bin/initdb").is_file())
        })
        .unwrap_or(false);
    if !has_initdb {
        eprintln!("skipped: no PostgreSQL binaries under /usr/lib/postgresql");
        return;
    }
    let machine = Machine::new();
    machine.stub("chromedriver", 0);
    let output = machine
        .command(&[
            "bash",
            "-c",
            "pg_isready -q -d \"$PAYHUB_TEST_POSTGRES_URL\" && echo \"url=$PAYHUB_TEST_POSTGRES_URL\"",
        ])
        .env("PAYHUB_TEST_POSTGRES", "private")
        .env("TMPDIR", machine.dir.path())
        .output()
        .expect("run the script");
    let printed = stdout(&output);
    assert!(output.status.success(), "{output:?}");
    let url = printed
        .lines()
        .find_map(|line| line.strip_prefix("url="))
        .unwrap_or_else(|| panic!("no url printed: {output:?}"));
    assert!(url.starts_with("postgres://postgres@127.0.0.1:"), "{url}");
    assert!(
        !url.contains(":5432/"),
        "the private cluster has a port of its own: {url}"
    );
    let left: Vec<_> = fs::read_dir(machine.dir.path())
        .expect("temp dir")
        .flatten()
        .filter(|entry| {
            entry
                .file_name()
                .to_string_lossy()
                .starts_with("payhub-test-pg.")
        })
        .collect();
    assert!(
        left.is_empty(),
        "the private cluster's folder is removed: {left:?}"
    );
}
