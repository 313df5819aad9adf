//! Reader for CTranslate2's `model.bin` (binary versions 4 to 6).
//!
//! The layout, all integers little-endian:
//!
//! ```text
//! u32 version | string spec name | u32 spec revision
//! u32 n_variables, then per variable:
//!     string name | u8 rank | u32 dims[rank] | u8 dtype id | u32 n_bytes | bytes
//! u32 n_aliases, then per alias: string alias | string variable name
//! string = u16 length (counting a trailing NUL) | UTF-8 bytes | NUL
//! ```
//!
//! The whole file is held in memory and variables point into it. Every count
//! and length is checked against the bytes that are left before it is used,
//! so a corrupt or hostile file gives a [`FormatError`], never a panic or an
//! allocation larger than the file.

use std::{collections::HashMap, ops::Range, path::Path};

use crate::error::{FormatError, SpeechError};

/// Element types CTranslate2 stores (its `DataType` enum, by id).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ct2DType {
    /// id 0
    F32,
    /// id 1
    I8,
    /// id 2
    I16,
    /// id 3
    I32,
    /// id 4
    F16,
    /// id 5
    BF16,
}

impl Ct2DType {
    fn from_id(id: u8) -> Option<Self> {
        Some(match id {
            0 => Self::F32,
            1 => Self::I8,
            2 => Self::I16,
            3 => Self::I32,
            4 => Self::F16,
            5 => Self::BF16,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Self::I8 => 1,
            Self::I16 | Self::F16 | Self::BF16 => 2,
            Self::F32 | Self::I32 => 4,
        }
    }

    /// CTranslate2's name for the type.
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "float32",
            Self::I8 => "int8",
            Self::I16 => "int16",
            Self::I32 => "int32",
            Self::F16 => "float16",
            Self::BF16 => "bfloat16",
        }
    }
}

/// One named tensor of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    /// Its name, e.g. `encoder/layer_0/self_attention/linear_0/weight`.
    pub name: String,
    /// Dimensions; empty for a scalar.
    pub shape: Vec<usize>,
    /// Element type.
    pub dtype: Ct2DType,
    /// Where its bytes are in the file.
    pub bytes: Range<usize>,
}

impl Variable {
    /// Number of elements (1 for a scalar).
    pub fn elements(&self) -> usize {
        self.shape.iter().product()
    }
}

/// A parsed `model.bin`.
#[derive(Debug)]
pub struct Ct2Model {
    /// Binary format version.
    pub version: u32,
    /// Model specification, e.g. `WhisperSpec`.
    pub spec: String,
    /// Revision of that specification.
    pub revision: u32,
    /// Variables in file order.
    pub variables: Vec<Variable>,
    /// `(alias, variable name)` pairs, e.g. the tied decoder projection.
    pub aliases: Vec<(String, String)>,
    index: HashMap<String, usize>,
    data: Vec<u8>,
}

/// A cursor over the file that never reads past its end.
struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], FormatError> {
        let left = self.data.len() - self.pos;
        if n > left {
            return Err(FormatError::Truncated {
                offset: self.pos,
                what,
                needed: n,
                left,
            });
        }
        let out = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, FormatError> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, FormatError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, FormatError> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn string(&mut self, what: &'static str) -> Result<String, FormatError> {
        let start = self.pos;
        let len = self.u16(what)? as usize;
        let raw = self.take(len, what)?;
        match raw.split_last() {
            Some((0, text)) => std::str::from_utf8(text)
                .map(str::to_owned)
                .map_err(|_| FormatError::BadString(start)),
            _ => Err(FormatError::BadString(start)),
        }
    }
}

/// Smallest encoding of one variable: empty name (2 + 1), rank, dtype, size.
const MIN_VARIABLE_BYTES: usize = 3 + 1 + 1 + 4;

impl Ct2Model {
    /// Reads and parses `path`.
    pub fn open(path: &Path) -> Result<Ct2Model, SpeechError> {
        let data = std::fs::read(path).map_err(|e| SpeechError::File {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        Ok(Ct2Model::parse(data)?)
    }

    /// Parses a whole file held in memory.
    pub fn parse(data: Vec<u8>) -> Result<Ct2Model, FormatError> {
        let mut c = Cursor {
            data: &data,
            pos: 0,
        };
        let version = c.u32("version")?;
        if !(4..=6).contains(&version) {
            return Err(FormatError::Version(version));
        }
        let spec = c.string("spec name")?;
        let revision = c.u32("spec revision")?;
        let count = c.u32("variable count")? as usize;
        let left = data.len() - c.pos;
        if count > left / MIN_VARIABLE_BYTES {
            return Err(FormatError::Truncated {
                offset: c.pos,
                what: "variables",
                needed: count.saturating_mul(MIN_VARIABLE_BYTES),
                left,
            });
        }
        let mut variables = Vec::with_capacity(count);
        let mut index = HashMap::with_capacity(count);
        for _ in 0..count {
            let name = c.string("variable name")?;
            let rank = c.u8("rank")? as usize;
            let dims = c.take(rank * 4, "dimensions")?;
            let shape: Vec<usize> = dims
                .chunks_exact(4)
                .map(|d| u32::from_le_bytes([d[0], d[1], d[2], d[3]]) as usize)
                .collect();
            let id = c.u8("data type")?;
            let dtype = Ct2DType::from_id(id).ok_or_else(|| FormatError::DType {
                name: name.clone(),
                id,
            })?;
            let n_bytes = c.u32("byte count")? as usize;
            let expected = shape
                .iter()
                .try_fold(dtype.size(), |acc, &d| acc.checked_mul(d));
            if expected != Some(n_bytes) {
                return Err(FormatError::Size {
                    name,
                    shape,
                    dtype: dtype.name(),
                    bytes: n_bytes,
                });
            }
            let start = c.pos;
            c.take(n_bytes, "variable data")?;
            if index.insert(name.clone(), variables.len()).is_some() {
                return Err(FormatError::Duplicate(name));
            }
            variables.push(Variable {
                name,
                shape,
                dtype,
                bytes: start..start + n_bytes,
            });
        }
        let count = c.u32("alias count")? as usize;
        let mut aliases = Vec::new();
        for _ in 0..count {
            let alias = c.string("alias")?;
            let target = c.string("alias target")?;
            if !index.contains_key(&target) {
                return Err(FormatError::DanglingAlias { alias, target });
            }
            if index.contains_key(&alias) || aliases.iter().any(|(a, _)| *a == alias) {
                return Err(FormatError::Duplicate(alias));
            }
            aliases.push((alias, target));
        }
        if c.pos != data.len() {
            return Err(FormatError::Trailing(data.len() - c.pos));
        }
        Ok(Ct2Model {
            version,
            spec,
            revision,
            variables,
            aliases,
            index,
            data,
        })
    }

    /// The variable called `name`, following an alias if `name` is one.
    pub fn get(&self, name: &str) -> Option<&Variable> {
        let name = self
            .aliases
            .iter()
            .find(|(alias, _)| alias == name)
            .map_or(name, |(_, target)| target.as_str());
        self.index.get(name).map(|&i| &self.variables[i])
    }

    /// The raw little-endian bytes of `var`.
    pub fn bytes(&self, var: &Variable) -> &[u8] {
        &self.data[var.bytes.clone()]
    }

    /// The elements of a floating-point variable as f32.
    pub fn to_f32(&self, var: &Variable) -> Option<Vec<f32>> {
        let raw = self.bytes(var);
        let halves = || {
            raw.chunks_exact(2)
                .map(|b| u16::from_le_bytes([b[0], b[1]]))
        };
        Some(match var.dtype {
            Ct2DType::F32 => raw
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect(),
            Ct2DType::F16 => {
                let bits: Vec<half::f16> = halves().map(half::f16::from_bits).collect();
                let mut out = vec![0f32; bits.len()];
                half::slice::HalfFloatSliceExt::convert_to_f32_slice(&bits[..], &mut out);
                out
            }
            Ct2DType::BF16 => halves()
                .map(|b| half::bf16::from_bits(b).to_f32())
                .collect(),
            Ct2DType::I8 | Ct2DType::I16 | Ct2DType::I32 => return None,
        })
    }

    /// The value of an integer scalar (flags and head counts).
    pub fn scalar(&self, var: &Variable) -> Option<i64> {
        if var.elements() != 1 {
            return None;
        }
        let b = self.bytes(var);
        Some(match var.dtype {
            Ct2DType::I8 => i8::from_le_bytes([b[0]]) as i64,
            Ct2DType::I16 => i16::from_le_bytes([b[0], b[1]]) as i64,
            Ct2DType::I32 => i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64,
            Ct2DType::F32 | Ct2DType::F16 | Ct2DType::BF16 => return None,
        })
    }
}

#[cfg(test)]
mod tests {
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
}
