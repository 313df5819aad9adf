//! Embeddings beside the index: one L2-normalised vector per document id,
//! searched by brute-force cosine similarity (100,000 × 384 floats is
//! 150 MB and one query is one pass over it, no approximate index needed at
//! this scale), saved as one flat file next to the tantivy folder.
//!
//! File format (little endian): magic `QLV1`, dim u32, count u32, then per
//! document: id length u16, id bytes, dim f32s. Read with bounds checked
//! against the file length, so a corrupt file is an error, not a panic or a
//! huge allocation.

use std::{
    collections::{HashMap, HashSet},
    path::Path,
};

use crate::error::KnowledgeError;

const MAGIC: &[u8; 4] = b"QLV1";

/// Vectors by document id.
#[derive(Debug, Clone, Default)]
pub struct VectorIndex {
    dim: usize,
    ids: Vec<String>,
    data: Vec<f32>,
    pos: HashMap<String, usize>,
}

impl VectorIndex {
    /// An empty index of `dim`-dimensional vectors.
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            ..Self::default()
        }
    }

    /// The vector length.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Documents held.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Adds or replaces the vector of `id` (normalised here).
    pub fn upsert(&mut self, id: &str, vector: &[f32]) -> Result<(), KnowledgeError> {
        if vector.len() != self.dim {
            return Err(KnowledgeError::Filter {
                name: "vector",
                reason: format!("has {} dimensions, the index {}", vector.len(), self.dim),
            });
        }
        let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
        let scale = if norm > 0.0 { 1.0 / norm } else { 0.0 };
        let normalised = vector.iter().map(|x| x * scale);
        match self.pos.get(id) {
            Some(&i) => {
                for (slot, v) in self.data[i * self.dim..(i + 1) * self.dim]
                    .iter_mut()
                    .zip(normalised)
                {
                    *slot = v;
                }
            }
            None => {
                self.pos.insert(id.to_string(), self.ids.len());
                self.ids.push(id.to_string());
                self.data.extend(normalised);
            }
        }
        Ok(())
    }

    /// The stored (normalised) vector of `id`.
    pub fn get(&self, id: &str) -> Option<&[f32]> {
        self.pos
            .get(id)
            .map(|&i| &self.data[i * self.dim..(i + 1) * self.dim])
    }

    /// The `k` ids most similar to `query` (cosine), best first; only ids
    /// in `allow` when given.
    pub fn top_k(
        &self,
        query: &[f32],
        k: usize,
        allow: Option<&HashSet<String>>,
    ) -> Vec<(String, f32)> {
        if query.len() != self.dim || k == 0 {
            return Vec::new();
        }
        let norm = query
            .iter()
            .map(|x| x * x)
            .sum::<f32>()
            .sqrt()
            .max(f32::MIN_POSITIVE);
        let score = |i: usize| {
            let v = &self.data[i * self.dim..(i + 1) * self.dim];
            v.iter().zip(query).map(|(a, b)| a * b).sum::<f32>() / norm
        };
        let mut scored: Vec<(usize, f32)> = match allow {
            // A filter usually allows a small share: score only those.
            Some(a) if a.len() < self.ids.len() => a
                .iter()
                .filter_map(|id| self.pos.get(id))
                .map(|&i| (i, score(i)))
                .collect(),
            Some(a) => (0..self.ids.len())
                .filter(|i| a.contains(&self.ids[*i]))
                .map(|i| (i, score(i)))
                .collect(),
            None => (0..self.ids.len()).map(|i| (i, score(i))).collect(),
        };
        let k = k.min(scored.len());
        if k == 0 {
            return Vec::new();
        }
        scored.select_nth_unstable_by(k - 1, |a, b| b.1.total_cmp(&a.1));
        scored.truncate(k);
        scored.sort_by(|a, b| {
            b.1.total_cmp(&a.1)
                .then_with(|| self.ids[a.0].cmp(&self.ids[b.0]))
        });
        scored
            .into_iter()
            .map(|(i, s)| (self.ids[i].clone(), s))
            .collect()
    }

    /// Writes the file (to a temporary name, then renamed over the old one).
    pub fn save(&self, path: &Path) -> Result<(), KnowledgeError> {
        let mut out = Vec::with_capacity(12 + self.data.len() * 4 + self.ids.len() * 24);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(self.dim as u32).to_le_bytes());
        out.extend_from_slice(&(self.ids.len() as u32).to_le_bytes());
        for (i, id) in self.ids.iter().enumerate() {
            let bytes = id.as_bytes();
            let len = u16::try_from(bytes.len()).map_err(|_| KnowledgeError::Filter {
                name: "id",
                reason: format!("{} bytes is too long", bytes.len()),
            })?;
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(bytes);
            for v in &self.data[i * self.dim..(i + 1) * self.dim] {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        let tmp = path.with_extension("tmp");
        let io = |context: String| move |source| KnowledgeError::Io { context, source };
        std::fs::write(&tmp, &out).map_err(io(format!("writing {}", tmp.display())))?;
        std::fs::rename(&tmp, path).map_err(io(format!("renaming to {}", path.display())))
    }

    /// Reads a file written by [`Self::save`]; a missing file is an empty
    /// index of `dim`.
    pub fn load(path: &Path, dim: usize) -> Result<Self, KnowledgeError> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::new(dim)),
            Err(source) => {
                return Err(KnowledgeError::Io {
                    context: format!("reading {}", path.display()),
                    source,
                })
            }
        };
        Self::from_bytes(&bytes, dim)
    }

    /// Parses the file format, checking every length against the input.
    pub fn from_bytes(bytes: &[u8], dim: usize) -> Result<Self, KnowledgeError> {
        let corrupt = |what: &str| KnowledgeError::Io {
            context: "embedding file".into(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string()),
        };
        let mut at = 0usize;
        let mut take = |n: usize| -> Result<&[u8], KnowledgeError> {
            let end = at
                .checked_add(n)
                .filter(|&e| e <= bytes.len())
                .ok_or_else(|| corrupt("truncated"))?;
            let slice = &bytes[at..end];
            at = end;
            Ok(slice)
        };
        if take(4)? != MAGIC {
            return Err(corrupt("bad magic"));
        }
        let file_dim = u32::from_le_bytes(take(4)?.try_into().expect("4 bytes")) as usize;
        if file_dim != dim {
            return Err(corrupt(&format!(
                "vectors have {file_dim} dimensions, expected {dim}"
            )));
        }
        let count = u32::from_le_bytes(take(4)?.try_into().expect("4 bytes")) as usize;
        let mut index = Self::new(dim);
        let mut vector = vec![0f32; dim];
        for _ in 0..count {
            let len = u16::from_le_bytes(take(2)?.try_into().expect("2 bytes")) as usize;
            let id = std::str::from_utf8(take(len)?)
                .map_err(|_| corrupt("id is not UTF-8"))?
                .to_string();
            for v in vector.iter_mut() {
                *v = f32::from_le_bytes(take(4)?.try_into().expect("4 bytes"));
            }
            index.upsert(&id, &vector)?;
        }
        Ok(index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_vectors_come_first_and_filters_apply() {
        let mut v = VectorIndex::new(3);
        v.upsert("x", &[1.0, 0.0, 0.0]).unwrap();
        v.upsert("y", &[0.0, 2.0, 0.0]).unwrap();
        v.upsert("xy", &[1.0, 1.0, 0.0]).unwrap();
        let top = v.top_k(&[0.9, 0.1, 0.0], 2, None);
        assert_eq!(top[0].0, "x");
        assert_eq!(top[1].0, "xy");
        let allow: HashSet<String> = ["y".to_string()].into();
        assert_eq!(v.top_k(&[1.0, 0.0, 0.0], 5, Some(&allow))[0].0, "y");
        v.upsert("x", &[0.0, 0.0, 5.0]).unwrap();
        assert_eq!(v.len(), 3, "upsert replaces");
        assert_eq!(v.get("x"), Some(&[0.0, 0.0, 1.0][..]), "stored normalised");
        assert_eq!(v.get("absent"), None);
        assert_eq!(
            v.top_k(&[0.0, 0.0, 1.0], 1, None),
            vec![("x".to_string(), 1.0)]
        );
    }

    #[test]
    fn files_round_trip_and_corrupt_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vectors.bin");
        let mut v = VectorIndex::new(2);
        v.upsert("a", &[3.0, 4.0]).unwrap();
        v.upsert("b", &[0.0, 1.0]).unwrap();
        v.save(&path).unwrap();
        let back = VectorIndex::load(&path, 2).unwrap();
        assert_eq!(back.top_k(&[0.6, 0.8], 1, None)[0].0, "a");
        let bytes = std::fs::read(&path).unwrap();
        for cut in 0..bytes.len() {
            assert!(
                VectorIndex::from_bytes(&bytes[..cut], 2).is_err(),
                "cut at {cut}"
            );
        }
        assert!(
            VectorIndex::from_bytes(&bytes, 3).is_err(),
            "wrong dimension"
        );
        let mut huge = bytes.clone();
        huge[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(
            VectorIndex::from_bytes(&huge, 2).is_err(),
            "a claimed count cannot allocate"
        );
        assert!(VectorIndex::load(&dir.path().join("absent"), 2)
            .unwrap()
            .is_empty());
    }
}
