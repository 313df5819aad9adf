//! The command line of people and reports: `token create` prints a token
//! the API accepts, and `report --month` writes the HTML and CSV analysis of
//! what the database holds.

mod common_env;

use std::process::Command;

fn cloud_triage(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cloud-triage"))
        .args(args)
        .output()
        .expect("cloud-triage runs")
}

#[tokio::test]
async fn a_token_from_the_command_line_is_accepted_and_the_month_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let out = cloud_triage(&[
        "token",
        "create",
        "--data-dir",
        data,
        "--role",
        "engineer",
        "--name",
        "erin",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    assert!(token.starts_with("qlp_") && token.len() > 40, "{token}");
    let store = cloud_triage::store::Store::connect(&format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("qloop.db").display()
    ))
    .await
    .unwrap();
    let caller = store
        .caller(&token)
        .await
        .unwrap()
        .expect("the token is known");
    assert_eq!(
        (caller.name.as_str(), caller.role.as_str()),
        ("erin", "engineer")
    );
    let bad = cloud_triage(&["token", "create", "--data-dir", data, "--role", "wizard"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("wizard"));

    // One October feedback, then the October report.
    let mut env = common_env::envelope("5YJ3E1EA7KF317777", "the <b>trunk</b> rattles, badly");
    env.captured_at_ms = 1_791_000_000_000;
    let meta = cloud_triage::store::IngestMeta {
        received_at_ms: 1_791_000_000_000,
        envelope_bytes: 300,
        asr: None,
        audio: cloud_triage::store::AudioState::None,
    };
    store.ingest_feedback(&env, &meta).await.unwrap();
    store.close().await;
    let out = cloud_triage(&["report", "--data-dir", data, "--month", "2026-10"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let html = std::fs::read_to_string(dir.path().join("report-2026-10.html")).unwrap();
    let csv = std::fs::read_to_string(dir.path().join("report-2026-10.csv")).unwrap();
    assert!(html.contains("Complaint analysis, 2026-10"));
    assert!(
        html.contains("the &lt;b&gt;trunk&lt;/b&gt; rattles"),
        "titles are escaped"
    );
    assert!(csv.lines().any(|l| l == "category,untriaged,1"), "{csv}");
    assert!(csv.lines().any(|l| l == "sla,cases,1"), "{csv}");
    assert!(
        csv.contains("\"the <b>trunk</b> rattles, badly\""),
        "a comma gets quotes: {csv}"
    );
    let bad = cloud_triage(&["report", "--data-dir", data, "--month", "October"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("YYYY-MM"));
}

/// The policy, calendar included, is checked once when the service starts:
/// a bad one stops `serve` before anything listens, naming the key.
#[test]
fn serve_refuses_a_bad_policy_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let calendar = |days: &str, start: &str| {
        format!(
            "[sla.calendar]\nkind = \"business\"\nutc_offset_minutes = 60\ndays = {days}\n\
             start = \"{start}\"\nend = \"18:00\"\nholidays = []\n"
        )
    };
    for (policy, key) in [
        (
            calendar("[\"mon\", \"funday\"]", "08:00"),
            "sla.calendar.days",
        ),
        (calendar("[\"mon\"]", "8 o'clock"), "sla.calendar.start"),
        ("[sla]\nimminent_at = 2.0\n".to_string(), "sla.imminent_at"),
    ] {
        let file = dir.path().join("policy.toml");
        std::fs::write(&file, &policy).unwrap();
        let out = cloud_triage(&[
            "serve",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--http",
            "127.0.0.1:0",
            "--mqtt-embedded",
            "127.0.0.1:0",
            "--policy",
            file.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{policy:?} was accepted: {stderr}");
        assert!(stderr.contains(key), "{policy:?}: {stderr}");
        assert!(
            !stderr.contains("cloud-triage: API on"),
            "nothing started: {stderr}"
        );
    }
}
