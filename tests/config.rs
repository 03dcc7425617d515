//! `waystation config check` on the real binary: the example file passes, a bad
//! file fails with its line and key, the environment overrides the file and the
//! flags override the environment.

mod common;

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::process::{BIN, Server, try_http};
const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/waystation.example.toml");

/// `waystation config check ARGS` in `dir`, with `env` and no other `WAYSTATION_`
/// variable.
fn check(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).args(["config", "check"]).args(args);
    for (k, _) in std::env::vars() {
        if k.starts_with("WAYSTATION_") {
            cmd.env_remove(k);
        }
    }
    cmd.envs(env.iter().copied());
    cmd.output().expect("run waystation")
}

fn stdout(out: &Output) -> toml::Table {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .parse()
        .expect("config check prints TOML")
}

/// The commented example at the top of the repository passes, and says what the
/// defaults are.
#[test]
fn the_example_file_passes() {
    let dir = tempfile::tempdir().unwrap();
    let out = check(dir.path(), &["--config", EXAMPLE], &[]);
    let t = stdout(&out);
    assert_eq!(t["bind"].as_str(), Some("127.0.0.1:8080"));
    assert_eq!(t["log_format"].as_str(), Some("text"));
    assert_eq!(t["radius_m"]["driver_home"].as_float(), Some(20_000.0));
    assert_eq!(t["limits"]["max_uri_bytes"].as_integer(), Some(8192));
    // The example states the defaults: no file at all prints the same.
    let bare = stdout(&check(dir.path(), &[], &[]));
    for key in [
        "bind",
        "web",
        "basemap",
        "frame_ancestors",
        "log_format",
        "radius_m",
        "limits",
    ] {
        assert_eq!(t[key], bare[key], "{key}");
    }
}

/// A bad file fails, naming the line and the key: an unknown key, a wrong type, a
/// syntax error, a value out of range.
#[test]
fn a_bad_file_fails_with_its_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    for (text, wanted) in [
        (
            "bind = \"127.0.0.1:9\"\n\ncolour = \"red\"\n",
            ["line 3", "colour"],
        ),
        (
            "[radius_m]\ndriver_home = \"far\"\n",
            ["line 2", "driver_home"],
        ),
        ("bind = \"127.0.0.1:9\n", ["line 1", "bind"]),
        (
            "[radius_m]\ncourier_station = -5\n",
            ["radius_m.courier_station", "more than 0"],
        ),
    ] {
        std::fs::write(&file, text).unwrap();
        let out = check(dir.path(), &["--config", file.to_str().unwrap()], &[]);
        assert!(!out.status.success(), "{text}");
        let err = String::from_utf8_lossy(&out.stderr);
        for w in wanted {
            assert!(err.contains(w), "{text:?}: {w:?} not in {err}");
        }
    }
    let out = check(dir.path(), &["--config", "no-such-file.toml"], &[]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-such-file.toml"));
}

/// `waystation.toml` in the working directory is read without `--config`; the
/// environment overrides it, and a flag overrides both.
#[test]
fn environment_overrides_the_file_and_flags_override_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("waystation.toml"),
        "bind = \"127.0.0.1:1111\"\nframe_ancestors = \"'self'\"\n[radius_m]\ncourier_station = 1500\n",
    )
    .unwrap();
    let from_file = stdout(&check(dir.path(), &[], &[]));
    assert_eq!(from_file["bind"].as_str(), Some("127.0.0.1:1111"));
    assert_eq!(from_file["frame_ancestors"].as_str(), Some("'self'"));
    assert_eq!(
        from_file["radius_m"]["courier_station"].as_float(),
        Some(1500.0)
    );

    let env = [
        ("WAYSTATION_BIND", "127.0.0.1:2222"),
        ("WAYSTATION_RADIUS_M__COURIER_STATION", "2500"),
        ("WAYSTATION_LOG_FORMAT", "json"),
    ];
    let from_env = stdout(&check(dir.path(), &[], &env));
    assert_eq!(from_env["bind"].as_str(), Some("127.0.0.1:2222"));
    assert_eq!(
        from_env["radius_m"]["courier_station"].as_float(),
        Some(2500.0)
    );
    assert_eq!(from_env["log_format"].as_str(), Some("json"));
    assert_eq!(from_env["frame_ancestors"].as_str(), Some("'self'"));

    let from_flags = stdout(&check(
        dir.path(),
        &["--bind", "127.0.0.1:3333", "--log-format", "text"],
        &env,
    ));
    assert_eq!(from_flags["bind"].as_str(), Some("127.0.0.1:3333"));
    assert_eq!(from_flags["log_format"].as_str(), Some("text"));
    assert_eq!(
        from_flags["radius_m"]["courier_station"].as_float(),
        Some(2500.0)
    );

    // A bad value in the environment names its key.
    let out = check(
        dir.path(),
        &[],
        &[("WAYSTATION_RADIUS_M__DRIVER_HOME", "far")],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("WAYSTATION_RADIUS_M__DRIVER_HOME: ") && err.contains("\"far\""),
        "{err}"
    );
}

/// `serve` refuses a bad file before it listens, with the same message.
#[test]
fn serve_refuses_a_bad_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("waystation.toml"), "\nport = 8080\n").unwrap();
    let out = Command::new(BIN)
        .current_dir(dir.path())
        .arg("serve")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2") && err.contains("port"), "{err}");
}

/// `serve` takes its settings from the file in the working directory and the
/// environment: it listens where the file says, the coverage analyses use the
/// configured radii (the environment's beating the file's), and the body limits
/// are the file's.
#[test]
fn serve_uses_the_file_and_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let port = common::free_port();
    let manifest = env!("CARGO_MANIFEST_DIR");
    std::fs::write(
        dir.path().join("waystation.toml"),
        format!(
            "bind = \"127.0.0.1:{port}\"\ndata = \"{manifest}/geodata\"\nweb = \"{manifest}/web\"\n\
             [radius_m]\ncourier_station = 1234\nfitness_station = 4321\n\
             [limits]\nmax_siting_bytes = 1000\n"
        ),
    )
    .unwrap();
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir.path()).arg("serve");
    for (k, _) in std::env::vars() {
        if k.starts_with("WAYSTATION_") {
            cmd.env_remove(k);
        }
    }
    let child = cmd
        .env("WAYSTATION_RADIUS_M__FITNESS_STATION", "2500")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let server = Server::of(child, port);
    let deadline = Instant::now() + Duration::from_secs(30);
    let summary = loop {
        let path = "/api/v1/coverage/summary?group_by=all";
        if let Some((200, body)) = try_http(port, "GET", path, "", None) {
            break body;
        }
        assert!(
            Instant::now() < deadline,
            "the server did not answer on the port of its file"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // The file's body limit: a siting request past 1,000 bytes is refused.
    let big = format!(
        "{{\"layer\": \"driver_home\", \"city\": \"{}\"}}",
        "x".repeat(1200)
    );
    let too_large = try_http(port, "POST", "/api/v1/siting", "", Some(&big));
    drop(server);
    let (status, problem) = too_large.expect("an answer");
    assert_eq!(status, 413, "{problem}");
    assert!(problem.contains("1000 bytes"), "{problem}");
    let v: serde_json::Value = serde_json::from_str(&summary).unwrap();
    assert_eq!(v["radius_m"]["courier_station"], 1234.0, "{summary}");
    assert_eq!(v["radius_m"]["fitness_station"], 2500.0, "{summary}");
    assert_eq!(v["radius_m"]["driver_home"], 20000.0, "{summary}");
}
