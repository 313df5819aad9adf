//! The candump parser: every documented line form, precise errors for bad
//! columns, and properties — no input panics, and generated frames survive a
//! format/parse round trip.

use std::io::Cursor;

use edge_agent::telemetry::candump::{
    parse_line, CanFrame, CandumpError, CandumpReader, MAX_LINE_BYTES,
};
use proptest::prelude::*;

#[test]
fn standard_extended_rtr_fd_and_empty_frames_parse() {
    let f = parse_line("(1436509052.249713) vcan0 123#11223344").unwrap();
    assert_eq!(
        (f.t, f.iface.as_str(), f.id, f.extended, f.fd, f.rtr),
        (1436509052.249713, "vcan0", 0x123, false, false, false)
    );
    assert_eq!(f.data, vec![0x11, 0x22, 0x33, 0x44]);

    let f = parse_line("(0.000001) can1 12345678#DEADBEEF").unwrap();
    assert_eq!((f.id, f.extended), (0x1234_5678, true));

    let f = parse_line("(1.5) can0 123#R").unwrap();
    assert!(f.rtr && f.data.is_empty());
    assert!(parse_line("(1.5) can0 123#R5").unwrap().rtr);

    let f = parse_line("(1.5) can0 123##1112233").unwrap();
    assert!(f.fd);
    assert_eq!(f.data, vec![0x11, 0x22, 0x33]);

    let f = parse_line("(1.5) can0 123#").unwrap();
    assert!(f.data.is_empty() && !f.rtr);

    assert_eq!(
        parse_line("(1.5) can0 123#0102 T").unwrap().data,
        vec![1, 2]
    );
    assert_eq!(
        parse_line("(1.5) can0 123#0102 R").unwrap().data,
        vec![1, 2]
    );
    assert_eq!(
        parse_line("(1.5) can0 123#1122334455667788_C")
            .unwrap()
            .data
            .len(),
        8
    );
}

#[test]
fn dots_between_whole_bytes_are_accepted_like_canplayer_and_dots_inside_bytes_are_not() {
    assert_eq!(
        parse_line("(1.0) can0 123#11.22.33").unwrap().data,
        vec![0x11, 0x22, 0x33]
    );
    assert!(matches!(
        parse_line("(1.0) can0 123#1.122"),
        Err(CandumpError::Data(_))
    ));
    assert!(matches!(
        parse_line("(1.0) can0 123#11..22"),
        Err(CandumpError::Data(_))
    ));
    assert!(matches!(
        parse_line("(1.0) can0 123#.11"),
        Err(CandumpError::Data(_))
    ));
}

#[test]
fn bad_columns_get_errors_that_name_them() {
    let err = |line: &str| parse_line(line).unwrap_err().to_string();
    assert!(err("1.0 can0 123#00").starts_with("timestamp column"));
    assert!(err("(1,0) can0 123#00").starts_with("timestamp column"));
    assert!(err("(1.0)").contains("missing interface column"));
    assert!(err("(1.0) can0").contains("missing frame column"));
    assert!(err("(1.0) can0 1234#00").contains("3 (standard) or 8 (extended) hex digits"));
    assert!(err("(1.0) can0 800#00").contains("at most 7FF"));
    assert!(err("(1.0) can0 12G#00").contains("hex digits"));
    assert!(err("(1.0) can0 123#0").contains("odd number of hex digits"));
    assert!(err("(1.0) can0 123#0G").contains("not a hex byte"));
    assert!(err("(1.0) can0 123#R9").contains("remote frame length"));
    assert!(err("(1.0) can0 123#00 X").contains("unexpected column"));
    assert!(err("(1.0) averyveryverylongifname 123#00").starts_with("interface column"));
    assert!(matches!(
        parse_line("(1.0) can0 20000080#0000000000000000"),
        Err(CandumpError::ErrorFrame(0x2000_0080))
    ));
    assert!(matches!(
        parse_line("(1.0) can0 123###00"),
        Err(CandumpError::CanXl)
    ));
}

#[test]
fn payloads_over_the_frame_kind_limit_are_refused() {
    let nine = format!("(1.0) can0 123#{}", "00".repeat(9));
    assert!(matches!(
        parse_line(&nine),
        Err(CandumpError::DataTooLong { len: 9, max: 8 })
    ));
    let fd64 = format!("(1.0) can0 123##0{}", "AB".repeat(64));
    assert_eq!(parse_line(&fd64).unwrap().data.len(), 64);
    let fd65 = format!("(1.0) can0 123##0{}", "AB".repeat(65));
    assert!(matches!(
        parse_line(&fd65),
        Err(CandumpError::DataTooLong { max: 64, .. })
    ));
}

#[test]
fn reader_reports_bad_lines_with_numbers_and_keeps_going() {
    let long = "x".repeat(100_000);
    let log = format!(
        "(1.0) can0 123#00\n\ngarbage\n{long}\n(2.0) can0 456#01\r\n\u{0}\u{ff}\n(3.0) can0 789#02"
    );
    let items: Vec<(u64, Result<CanFrame, CandumpError>)> =
        CandumpReader::new(Cursor::new(log.into_bytes())).collect();
    let summary: Vec<(u64, bool)> = items.iter().map(|(n, r)| (*n, r.is_ok())).collect();
    assert_eq!(
        summary,
        vec![
            (1, true),
            (3, false),
            (4, false),
            (5, true),
            (6, false),
            (7, true)
        ]
    );
    assert!(matches!(
        items[2].1,
        Err(CandumpError::LineTooLong {
            len: 100_000,
            max: MAX_LINE_BYTES
        })
    ));
    assert_eq!(
        items[3].1.as_ref().unwrap().id,
        0x456,
        "CRLF line endings are fine"
    );
}

#[test]
fn reader_flags_invalid_utf8() {
    let items: Vec<_> =
        CandumpReader::new(Cursor::new(b"(1.0) can0 123#\xff\n".to_vec())).collect();
    assert!(matches!(items[0].1, Err(CandumpError::NotUtf8)));
}

fn frame_strategy() -> impl Strategy<Value = CanFrame> {
    (
        0u64..4_000_000_000_000u64,
        "[a-z][a-z0-9]{0,14}",
        any::<bool>(),
        0u32..0x2000_0000,
        prop_oneof![Just(0u8), Just(1u8), Just(2u8)],
        proptest::collection::vec(any::<u8>(), 0..=64),
    )
        .prop_map(|(micros, iface, extended, id, kind, mut data)| {
            let id = if extended { id } else { id & 0x7FF };
            let (fd, rtr) = (kind == 1, kind == 2);
            if rtr {
                data.clear();
            } else if !fd {
                data.truncate(8);
            }
            CanFrame {
                t: micros as f64 / 1e6,
                iface,
                id,
                extended,
                fd,
                rtr,
                data,
            }
        })
}

proptest! {
    #[test]
    fn any_text_line_parses_or_errs_without_panicking(line in ".{0,700}") {
        let _ = parse_line(&line);
    }

    #[test]
    fn candump_shaped_noise_never_panics(line in r"\([0-9.]{0,12}\) [a-z0-9]{0,5} [0-9A-Fa-fRr#._]{0,40}( [TRX])?") {
        let _ = parse_line(&line);
    }

    #[test]
    fn any_bytes_stream_through_the_reader(bytes in proptest::collection::vec(any::<u8>(), 0..2_000)) {
        let lines = bytes.iter().filter(|b| **b == b'\n').count() as u64 + 1;
        for (number, _) in CandumpReader::new(Cursor::new(bytes)) {
            prop_assert!(number <= lines);
        }
    }

    #[test]
    fn formatted_frames_parse_back_identically(frame in frame_strategy()) {
        let line = frame.to_candump_line();
        let parsed = parse_line(&line).unwrap();
        prop_assert!((parsed.t - frame.t).abs() < 1e-6);
        prop_assert_eq!(CanFrame { t: frame.t, ..parsed }, frame);
    }
}
