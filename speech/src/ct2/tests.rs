//! Tests of the `model.bin` reader on files written as the converter does.

use super::*;

/// Writes a model.bin the way CTranslate2's Python converter does.
pub(crate) fn encode(vars: &[(&str, &[u32], u8, &[u8])], aliases: &[(&str, &str)]) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, s: &str) {
        out.extend(((s.len() + 1) as u16).to_le_bytes());
        out.extend(s.as_bytes());
        out.push(0);
    }
    let mut out = Vec::new();
    out.extend(6u32.to_le_bytes());
    string(&mut out, "WhisperSpec");
    out.extend(3u32.to_le_bytes());
    out.extend((vars.len() as u32).to_le_bytes());
    for (name, dims, dtype, bytes) in vars {
        string(&mut out, name);
        out.push(dims.len() as u8);
        for d in *dims {
            out.extend(d.to_le_bytes());
        }
        out.push(*dtype);
        out.extend((bytes.len() as u32).to_le_bytes());
        out.extend(*bytes);
    }
    out.extend((aliases.len() as u32).to_le_bytes());
    for (a, t) in aliases {
        string(&mut out, a);
        string(&mut out, t);
    }
    out
}

fn small() -> Vec<u8> {
    let w: Vec<u8> = [1.0f32, -2.0, 0.5, 4.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    encode(
        &[
            ("a/weight", &[2, 2], 0, &w),
            ("a/num_heads", &[], 2, &6i16.to_le_bytes()),
        ],
        &[("b/weight", "a/weight")],
    )
}

/// A well-formed file gives back its header, shapes, values and aliases.
#[test]
fn reads_what_the_converter_writes() {
    let m = Ct2Model::parse(small()).unwrap();
    assert_eq!(
        (m.version, m.spec.as_str(), m.revision),
        (6, "WhisperSpec", 3)
    );
    let w = m.get("a/weight").unwrap();
    assert_eq!((w.shape.clone(), w.dtype), (vec![2, 2], Ct2DType::F32));
    assert_eq!(m.to_f32(w).unwrap(), vec![1.0, -2.0, 0.5, 4.0]);
    assert_eq!(m.get("b/weight").unwrap().name, "a/weight");
    assert_eq!(m.scalar(m.get("a/num_heads").unwrap()), Some(6));
}

/// A byte count that disagrees with shape × element size is refused
/// before any data is read.
#[test]
fn size_must_match_shape() {
    let bad = encode(&[("x", &[3], 0, &[0u8; 8])], &[]);
    assert!(matches!(
        Ct2Model::parse(bad),
        Err(FormatError::Size { .. })
    ));
}

/// A huge variable count in a tiny file is refused without reserving memory for it.
#[test]
fn huge_counts_are_refused_by_the_file_length() {
    let mut bad = small();
    let at = 4 + 2 + "WhisperSpec".len() + 1 + 4;
    bad[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    assert!(matches!(
        Ct2Model::parse(bad),
        Err(FormatError::Truncated {
            what: "variables",
            ..
        })
    ));
}

/// Every strict prefix of a valid file is an error, never a panic.
#[test]
fn every_truncation_is_an_error() {
    let full = small();
    for n in 0..full.len() {
        assert!(Ct2Model::parse(full[..n].to_vec()).is_err(), "prefix {n}");
    }
    assert!(matches!(
        Ct2Model::parse([full.as_slice(), &[0]].concat()),
        Err(FormatError::Trailing(1))
    ));
}

/// Aliases must name a real variable.
#[test]
fn dangling_alias_is_refused() {
    let bad = encode(&[("x", &[], 1, &[1])], &[("y", "z")]);
    assert!(matches!(
        Ct2Model::parse(bad),
        Err(FormatError::DanglingAlias { .. })
    ));
}

proptest::proptest! {
    /// Flipping any byte of a valid file gives a parsed model or an
    /// error; the reader never panics.
    #[test]
    fn corrupt_bytes_never_panic(at in 0usize..200, value in proptest::num::u8::ANY) {
        let mut data = small();
        let at = at % data.len();
        data[at] = value;
        let _ = Ct2Model::parse(data);
    }

    /// Arbitrary bytes never make the reader panic.
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
        let _ = Ct2Model::parse(data);
    }
}
