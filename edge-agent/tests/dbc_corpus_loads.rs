//! Every DBC of the shared corpus loads; the intentionally broken ones load
//! with precise issues naming the message and signal at fault, or fail with a
//! syntax error naming line and column. Nothing panics.

use std::path::{Path, PathBuf};

use edge_agent::telemetry::candump::parse_line;
use edge_agent::telemetry::dbc::{Database, DbcError, FrameDecode};

const BROKEN_ON_PURPOSE: [&str; 4] = [
    "bad_message_length",
    "issue_199",
    "issue_199_extended",
    "issue_63",
];

fn can_data() -> PathBuf {
    qloop_protocol::shared_data().join("can")
}

fn dbc_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [
        "opendbc",
        "cantools-tests",
        "tesla-model3",
        "real-captures/genesis",
        "real-captures/forte",
        "real-captures/yaris09",
    ] {
        for entry in std::fs::read_dir(can_data().join(dir)).unwrap() {
            let path = entry.unwrap().path();
            if path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("dbc"))
            {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn stem(path: &Path) -> &str {
    path.file_stem().unwrap().to_str().unwrap()
}

fn bo_lines(path: &Path) -> usize {
    let text = String::from_utf8_lossy(&std::fs::read(path).unwrap()).into_owned();
    text.lines()
        .filter(|l| l.trim_start().starts_with("BO_ "))
        .count()
}

fn load(name: &str) -> Database {
    Database::load(&can_data().join("cantools-tests").join(name)).expect("loads with issues")
}

#[test]
fn every_corpus_dbc_loads_and_accounts_for_every_message() {
    let files = dbc_files();
    assert!(files.len() >= 140, "corpus found: {}", files.len());
    for path in &files {
        let db = Database::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let dropped = db.issues().iter().filter(|i| i.message_dropped).count();
        assert_eq!(
            db.messages().len() + dropped,
            bo_lines(path),
            "{}: every BO_ line is a message or a dropped-message issue",
            path.display()
        );
        if !BROKEN_ON_PURPOSE.contains(&stem(path)) && stem(path) != "toyota_2017_ref_pt" {
            assert!(
                db.messages().len() + 1 >= bo_lines(path),
                "{}: at most Vector's placeholder dropped",
                path.display()
            );
        }
    }
}

#[test]
fn signal_outside_its_message_is_left_out_with_its_bit_named() {
    let db = load("bad_message_length.dbc");
    let issue = &db.issues()[0];
    assert_eq!(issue.message, "Message1");
    assert!(
        issue
            .problem
            .contains("signal Signal1 does not fit in the message: bit 8 is outside its 1 bytes"),
        "{}",
        issue.problem
    );
    assert!(db.messages()[0].signals.is_empty());
}

#[test]
fn standard_ids_over_11_bits_are_read_as_extended_and_flagged() {
    let db = load("issue_199.dbc");
    let door = db
        .issues()
        .iter()
        .find(|i| i.message == "DriverDoorStatus")
        .unwrap();
    assert!(
        door.problem
            .contains("frame id 0x10630000 needs 29 bits but lacks the extended flag"),
        "{}",
        door.problem
    );
    let message = db
        .message_for(0x1063_0000, true)
        .expect("decodable as extended");
    assert_eq!(message.name, "DriverDoorStatus");
}

#[test]
fn extended_ids_over_29_bits_drop_the_message_with_a_named_error() {
    let db = load("issue_199_extended.dbc");
    let door = db
        .issues()
        .iter()
        .find(|i| i.message == "DriverDoorStatus")
        .unwrap();
    assert!(door.message_dropped);
    assert_eq!(door.problem, "frame id 0x7fffffff is more than 29 bits");
    assert!(db.messages().iter().all(|m| m.name != "DriverDoorStatus"));
}

#[test]
fn overlapping_signals_are_reported_and_still_decode() {
    let db = load("issue_63.dbc");
    let overlap = &db.issues()[0];
    assert_eq!(
        (overlap.message.as_str(), overlap.message_dropped),
        ("AFT1PSI2", false)
    );
    assert_eq!(
        overlap.problem, "signals HtrRes and MaxRes overlap",
        "cantools names them in this order too"
    );
    let frame = parse_line("(1.0) can0 18FC8BFE#0000000001020300").unwrap();
    let FrameDecode::Decoded { signals, .. } = db.decode(&frame) else {
        panic!("AFT1PSI2 decodes: {:?}", db.decode(&frame));
    };
    let value = |name: &str| signals.iter().find(|(n, _)| n == name).unwrap().1;
    assert_eq!(value("MaxRes"), 513.0 * 250.0, "bytes 4-5, little-endian");
    assert!(
        (value("HtrRes") - 77.0).abs() < 1e-9,
        "bytes 5-6 = 770 x 0.1"
    );
}

#[test]
fn windows_1252_files_keep_their_accented_labels() {
    let db = load("choices.dbc");
    assert_eq!(
        db.choice_label("Foo", "Foo", 1),
        Some("#%=*\u{e4}'"),
        "byte 0xE4 is a-umlaut in cp1252"
    );
    assert_eq!(db.choice_label("Foo", "Foo", -5), Some("A negative value"));
}

#[test]
fn syntax_errors_name_line_and_column() {
    let text = "VERSION \"\"\n\nBO_ 1 Msg: 8 Node\n SG_ Sig : 0|8@1+ (1,0) [0|1] \"\" Node\n SG_ broken here\n";
    let Err(DbcError::Syntax(message)) = Database::from_str(text) else {
        panic!("a broken SG_ line must not load");
    };
    assert!(message.contains("5:"), "names line 5: {message}");
}

#[test]
fn truncated_files_never_panic() {
    let text = std::fs::read_to_string(can_data().join("cantools-tests/multiplex_2.dbc")).unwrap();
    let mut loaded = 0;
    for end in (0..text.len()).step_by(37) {
        let cut = &text[..text.floor_char_boundary(end)];
        if Database::from_str(cut).is_ok() {
            loaded += 1;
        }
    }
    assert!(loaded > 0, "some prefixes are themselves valid DBC");
}
