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

mod cursor;

use std::{collections::HashMap, ops::Range, path::Path};

use cursor::Cursor;

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
            let variable = read_variable(&mut c)?;
            if index
                .insert(variable.name.clone(), variables.len())
                .is_some()
            {
                return Err(FormatError::Duplicate(variable.name));
            }
            variables.push(variable);
        }
        let aliases = read_aliases(&mut c, &index)?;
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

/// One variable: name, shape, type and where its bytes are (checked to
/// be as many as shape and type say, and inside the file).
fn read_variable(c: &mut Cursor) -> Result<Variable, FormatError> {
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
    Ok(Variable {
        name,
        shape,
        dtype,
        bytes: start..start + n_bytes,
    })
}

/// The alias table: each alias names a variable in `index` and is itself
/// neither a variable nor an earlier alias.
fn read_aliases(
    c: &mut Cursor,
    index: &HashMap<String, usize>,
) -> Result<Vec<(String, String)>, FormatError> {
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
    Ok(aliases)
}

#[cfg(test)]
mod tests;
