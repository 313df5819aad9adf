//! Decoding rules on small hand-written DBCs, each value worked out by hand:
//! Motorola (big-endian) sawtooth bit numbering, two's complement, IEEE
//! floats, factor/offset, simple and extended multiplexing, frame-id matching.

use edge_agent::telemetry::candump::parse_line;
use edge_agent::telemetry::dbc::{Database, FrameDecode};

const DBC: &str = r#"VERSION ""

NS_ :

BS_:

BU_: ECU

BO_ 256 Motion: 8 ECU
 SG_ SpeedBe : 7|16@0+ (0.01,0) [0|655.35] "km/h" ECU
 SG_ AccelBe : 23|12@0- (0.1,-1) [0|0] "m/s2" ECU
 SG_ TempLe : 32|8@1- (1,40) [0|0] "degC" ECU
 SG_ Ratio : 40|1@1+ (1,0) [0|1] "" ECU

BO_ 257 Floats: 8 ECU
 SG_ Pressure : 0|32@1- (1,0) [0|0] "bar" ECU
 SG_ Scaled : 32|32@1- (2,1) [0|0] "" ECU

BO_ 258 Muxed: 8 ECU
 SG_ Selector M : 0|8@1+ (1,0) [0|0] "" ECU
 SG_ PageOne m1 : 8|8@1+ (1,0) [0|0] "" ECU
 SG_ PageTwo m2 : 8|16@1+ (1,0) [0|0] "" ECU

BO_ 2147483907 ExtendedMux: 8 ECU
 SG_ Outer M : 0|4@1+ (1,0) [0|0] "" ECU
 SG_ Inner m1M : 4|4@1+ (1,0) [0|0] "" ECU
 SG_ Deep m3 : 8|8@1+ (1,0) [0|0] "" ECU
 SG_ Wide m2 : 16|8@1+ (1,0) [0|0] "" ECU

SIG_VALTYPE_ 257 Pressure : 1;
SIG_VALTYPE_ 257 Scaled : 1;
SG_MUL_VAL_ 2147483907 Inner Outer 1-1;
SG_MUL_VAL_ 2147483907 Deep Inner 3-5;
SG_MUL_VAL_ 2147483907 Wide Outer 2-3, 7-7;
"#;

fn decode(line: &str) -> FrameDecode {
    let db = Database::from_str(DBC).unwrap();
    assert!(db.issues().is_empty(), "{:?}", db.issues());
    db.decode(&parse_line(line).unwrap())
}

fn signals(line: &str) -> Vec<(String, f64)> {
    match decode(line) {
        FrameDecode::Decoded { signals, .. } => signals,
        other => panic!("{line}: {other:?}"),
    }
}

fn value(signals: &[(String, f64)], name: &str) -> f64 {
    signals
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} missing"))
        .1
}

#[test]
fn motorola_signals_follow_the_sawtooth_and_signed_values_sign_extend() {
    // SpeedBe: bytes 0-1 big-endian 0x1234 = 4660 -> 46.6 km/h.
    // AccelBe: start bit 23 = byte 2 MSB, 12 bits: 0xFFE (byte 2 = FF, high
    // nibble of byte 3 = E) = -2 -> -2 * 0.1 - 1 = -1.2.
    // TempLe: byte 4 = 0xF6 = -10 -> -10 + 40 = 30.
    let s = signals("(1.0) can0 100#1234FFE0F6010000");
    assert!((value(&s, "SpeedBe") - 46.6).abs() < 1e-9);
    assert!((value(&s, "AccelBe") + 1.2).abs() < 1e-9);
    assert_eq!(value(&s, "TempLe"), 30.0);
    assert_eq!(value(&s, "Ratio"), 1.0);
}

#[test]
fn float_signals_read_ieee_bits_then_scale() {
    let pressure = 2.5f32.to_le_bytes();
    let scaled = (-0.5f32).to_le_bytes();
    let hex: String = pressure
        .iter()
        .chain(&scaled)
        .map(|b| format!("{b:02X}"))
        .collect();
    let s = signals(&format!("(1.0) can0 101#{hex}"));
    assert_eq!(value(&s, "Pressure"), 2.5);
    assert_eq!(value(&s, "Scaled"), 0.0, "-0.5 * 2 + 1");
}

#[test]
fn simple_multiplexing_decodes_only_the_selected_page() {
    let one = signals("(1.0) can0 102#0107000000000000");
    assert_eq!(
        one,
        vec![("Selector".to_string(), 1.0), ("PageOne".to_string(), 7.0)]
    );
    let two = signals("(1.0) can0 102#0201020000000000");
    assert_eq!(value(&two, "PageTwo"), 513.0);
    assert_eq!(two.len(), 2);
}

#[test]
fn a_selector_value_no_page_uses_is_an_error_like_cantools() {
    let FrameDecode::Error(error) = decode("(1.0) can0 102#0900000000000000") else {
        panic!("selector 9 selects nothing");
    };
    assert_eq!(error, "expected multiplexer id 1 or 2, but got 9");
}

#[test]
fn extended_multiplexing_follows_sg_mul_val_ranges_in_cascade() {
    // Outer = 1 selects Inner; Inner = 4 is in 3-5 and selects Deep.
    let s = signals("(1.0) can0 00000103#412A000000000000");
    assert_eq!(value(&s, "Outer"), 1.0);
    assert_eq!(value(&s, "Inner"), 4.0);
    assert_eq!(value(&s, "Deep"), 42.0);
    assert!(s.iter().all(|(n, _)| n != "Wide"));
    // Outer = 7 selects Wide through its second range; Inner is absent.
    let s = signals("(1.0) can0 00000103#07002B0000000000");
    assert_eq!(
        s,
        vec![("Outer".to_string(), 7.0), ("Wide".to_string(), 43.0)]
    );
}

#[test]
fn frames_match_ids_without_the_extended_flag_and_short_frames_err() {
    // A standard frame with the extended message's number still matches, as
    // cantools' single id table does.
    assert!(matches!(
        decode("(1.0) can0 103#0700000000000000"),
        FrameDecode::Decoded { .. }
    ));
    assert_eq!(
        decode("(1.0) can0 100#1234"),
        FrameDecode::Error("Wrong data size: 2 instead of 8 bytes".into())
    );
    assert_eq!(decode("(1.0) can0 1FF#00"), FrameDecode::Unknown);
    assert!(matches!(decode("(1.0) can0 100#R"), FrameDecode::Error(_)));
}
