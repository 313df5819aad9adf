//! The BERT encoder of all-MiniLM-L6-v2, written for the CPU and for
//! sentence embeddings, in place of candle-transformers' `BertModel`.
//!
//! Profiling the candle model (perf, batch 32) showed where the time went:
//! matmul kernels about half, then single-threaded element-wise passes —
//! `gelu_erf` (libm `erff` per element) about a fifth, bias and residual adds
//! about a tenth, softmax and the per-head attention matmuls the rest. This
//! encoder keeps gemm (the same kernels candle calls) and changes the rest:
//!
//! - **No padding.** Every per-token step (linear layers, layer norm, GELU)
//!   runs on the real tokens of all texts packed together; only attention
//!   looks at sequence boundaries. Padded positions never cost anything, so
//!   batch order no longer matters for speed.
//! - **Fused bias and residual.** gemm accumulates into an output that
//!   already holds the bias (and the residual), so there are no add passes.
//! - **Fast GELU.** erf by a rational approximation (max error 3.3e-7), in a
//!   loop the compiler vectorises, split across threads.
//! - **Attention by sequence and head** in plain loops: no 12-heads-times-batch
//!   tiny matmul calls, transposes or mask tensors; masked keys are skipped
//!   (in the reference model they get weight exactly 0).
//! - Q, K and V as one matmul.
//!
//! Linear layers, GELU and layer norm come from `qloop_kernels`, which
//! Whisper's encoder shares; embeddings, attention and pooling are here.
//!
//! The mathematics is the model's own (post-norm BERT, erf GELU, mean
//! pooling): `tests/reference_embeddings.rs` holds it to sentence-transformers'
//! vectors.

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{Config, HiddenAct};
use qloop_kernels::{gelu_par, Linear, Norm};
use rayon::prelude::*;

use crate::error::ModelError;

struct Layer {
    qkv: Linear,
    attn_out: Linear,
    attn_norm: Norm,
    up: Linear,
    down: Linear,
    out_norm: Norm,
}

/// all-MiniLM-L6-v2's encoder (any post-norm BERT with erf GELU).
pub struct Encoder {
    word: Vec<f32>,
    position: Vec<f32>,
    token_type: Vec<f32>,
    embed_norm: Norm,
    layers: Vec<Layer>,
    hidden: usize,
    heads: usize,
    vocab: usize,
    max_positions: usize,
    type_vocab: usize,
}

fn vec1(t: Tensor) -> Result<Vec<f32>, ModelError> {
    Ok(t.flatten_all()?.to_dtype(DType::F32)?.to_vec1::<f32>()?)
}

fn linear(vb: &VarBuilder, inputs: usize, outputs: usize) -> Result<Linear, ModelError> {
    Ok(Linear {
        weight: vec1(vb.get((outputs, inputs), "weight")?)?,
        bias: vec1(vb.get(outputs, "bias")?)?,
        inputs,
        outputs,
    })
}

fn norm(vb: &VarBuilder, size: usize, eps: f64) -> Result<Norm, ModelError> {
    Ok(Norm {
        gamma: vec1(vb.get(size, "weight")?)?,
        beta: vec1(vb.get(size, "bias")?)?,
        eps: eps as f32,
    })
}

impl Encoder {
    /// Reads the weights from `vb` (names as in Hugging Face BERT, with or
    /// without a `bert.` prefix).
    pub fn load(vb: VarBuilder, config: &Config) -> Result<Encoder, ModelError> {
        if config.hidden_act != HiddenAct::Gelu {
            return Err(ModelError::Data(format!(
                "unsupported hidden_act {:?}: this encoder implements erf GELU",
                config.hidden_act
            )));
        }
        let h = config.hidden_size;
        if config.num_attention_heads == 0 || !h.is_multiple_of(config.num_attention_heads) {
            return Err(ModelError::Data(format!(
                "hidden_size {h} is not a multiple of num_attention_heads {}",
                config.num_attention_heads
            )));
        }
        let vb = if vb.contains_tensor("embeddings.word_embeddings.weight") {
            vb
        } else {
            vb.pp("bert")
        };
        let e = vb.pp("embeddings");
        let word = vec1(e.get((config.vocab_size, h), "word_embeddings.weight")?)?;
        let position = vec1(e.get(
            (config.max_position_embeddings, h),
            "position_embeddings.weight",
        )?)?;
        let token_type = vec1(e.get((config.type_vocab_size, h), "token_type_embeddings.weight")?)?;
        let embed_norm = norm(&e.pp("LayerNorm"), h, config.layer_norm_eps)?;
        let mut layers = Vec::with_capacity(config.num_hidden_layers);
        for i in 0..config.num_hidden_layers {
            let l = vb.pp(format!("encoder.layer.{i}"));
            let att = l.pp("attention");
            let q = linear(&att.pp("self").pp("query"), h, h)?;
            let k = linear(&att.pp("self").pp("key"), h, h)?;
            let v = linear(&att.pp("self").pp("value"), h, h)?;
            let qkv = Linear {
                weight: [q.weight, k.weight, v.weight].concat(),
                bias: [q.bias, k.bias, v.bias].concat(),
                inputs: h,
                outputs: 3 * h,
            };
            layers.push(Layer {
                qkv,
                attn_out: linear(&att.pp("output").pp("dense"), h, h)?,
                attn_norm: norm(&att.pp("output").pp("LayerNorm"), h, config.layer_norm_eps)?,
                up: linear(
                    &l.pp("intermediate").pp("dense"),
                    h,
                    config.intermediate_size,
                )?,
                down: linear(&l.pp("output").pp("dense"), config.intermediate_size, h)?,
                out_norm: norm(&l.pp("output").pp("LayerNorm"), h, config.layer_norm_eps)?,
            });
        }
        Ok(Encoder {
            word,
            position,
            token_type,
            embed_norm,
            layers,
            hidden: h,
            heads: config.num_attention_heads,
            vocab: config.vocab_size,
            max_positions: config.max_position_embeddings,
            type_vocab: config.type_vocab_size,
        })
    }

    /// Loads from a `model.safetensors` file.
    pub fn from_safetensors(
        path: &std::path::Path,
        config: &Config,
    ) -> Result<Encoder, ModelError> {
        // SAFETY: the weights file is memory-mapped read-only only while the
        // weights are copied out; qloop never writes it.
        let vb = unsafe { VarBuilder::from_mmaped_safetensors(&[path], DType::F32, &Device::Cpu)? };
        Encoder::load(vb, config)
    }

    /// Mean-pooled, L2-normalised embeddings of token sequences
    /// (`(ids, type_ids)` each, no padding), one per sequence.
    pub fn embed(&self, seqs: &[(&[u32], &[u32])]) -> Result<Vec<Vec<f32>>, ModelError> {
        let h = self.hidden;
        let mut offsets = Vec::with_capacity(seqs.len() + 1);
        offsets.push(0usize);
        for (ids, types) in seqs {
            if ids.len() != types.len() {
                return Err(ModelError::Data("ids and type ids differ in length".into()));
            }
            if ids.len() > self.max_positions {
                return Err(ModelError::Data(format!(
                    "{} tokens, more than the model's {} positions",
                    ids.len(),
                    self.max_positions
                )));
            }
            offsets.push(offsets[offsets.len() - 1] + ids.len());
        }
        let rows = offsets[offsets.len() - 1];
        // Embeddings: word + position + token type, then layer norm.
        let mut x = vec![0f32; rows * h];
        for (s, (ids, types)) in seqs.iter().enumerate() {
            for (t, (&id, &ty)) in ids.iter().zip(types.iter()).enumerate() {
                let (id, ty) = (id as usize, ty as usize);
                if id >= self.vocab || ty >= self.type_vocab {
                    return Err(ModelError::Data(format!(
                        "token {id} (type {ty}) outside the vocabulary"
                    )));
                }
                let row = &mut x[(offsets[s] + t) * h..][..h];
                let w = &self.word[id * h..][..h];
                let p = &self.position[t * h..][..h];
                let y = &self.token_type[ty * h..][..h];
                for i in 0..h {
                    row[i] = w[i] + p[i] + y[i];
                }
            }
        }
        self.embed_norm.forward_in_place(&mut x, ROWS_PER_TASK);
        for layer in &self.layers {
            let qkv = layer.qkv.forward(&x, rows, None);
            let ctx = attention(&qkv, &offsets, h, self.heads);
            // x = LayerNorm(x + ctx·Wo + bo)
            let mut y = layer.attn_out.forward(&ctx, rows, Some(x));
            layer.attn_norm.forward_in_place(&mut y, ROWS_PER_TASK);
            let mut up = layer.up.forward(&y, rows, None);
            gelu_par(&mut up, GELU_PER_TASK);
            let mut z = layer.down.forward(&up, rows, Some(y));
            layer.out_norm.forward_in_place(&mut z, ROWS_PER_TASK);
            x = z;
        }
        // Mean pooling over each sequence's tokens, then L2 normalisation.
        Ok(offsets
            .windows(2)
            .map(|w| {
                let mut v = vec![0f32; h];
                for row in x[w[0] * h..w[1] * h].chunks_exact(h) {
                    for (a, b) in v.iter_mut().zip(row) {
                        *a += b;
                    }
                }
                let n = (w[1] - w[0]).max(1) as f32;
                v.iter_mut().for_each(|a| *a /= n);
                let norm = v.iter().map(|a| a * a).sum::<f32>().sqrt().max(1e-12);
                v.iter_mut().for_each(|a| *a /= norm);
                v
            })
            .collect())
    }
}

/// Rows of `h` per parallel task in layer norm.
const ROWS_PER_TASK: usize = 16;

/// Values per parallel task in GELU.
const GELU_PER_TASK: usize = 8192;

fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ac, bc) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ac
        .remainder()
        .iter()
        .zip(bc.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ac.zip(bc) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// Multi-head self-attention over packed sequences; `qkv` is rows × 3h
/// (Q | K | V), the result rows × h.
fn attention(qkv: &[f32], offsets: &[usize], h: usize, heads: usize) -> Vec<f32> {
    let dh = h / heads;
    let scale = 1.0 / (dh as f32).sqrt();
    let rows = offsets[offsets.len() - 1];
    let mut ctx = vec![0f32; rows * h];
    // One task per sequence (its rows of ctx are its own).
    let mut parts: Vec<(usize, &mut [f32])> = Vec::with_capacity(offsets.len() - 1);
    let mut rest: &mut [f32] = &mut ctx;
    for w in offsets.windows(2) {
        let (mine, tail) = rest.split_at_mut((w[1] - w[0]) * h);
        parts.push((w[0], mine));
        rest = tail;
    }
    parts.into_par_iter().for_each(|(start, out)| {
        let len = out.len() / h;
        let mut scores = vec![0f32; len];
        for head in 0..heads {
            let col = head * dh;
            for i in 0..len {
                let q = &qkv[(start + i) * 3 * h + col..][..dh];
                let mut max = f32::NEG_INFINITY;
                for (j, s) in scores.iter_mut().enumerate() {
                    let k = &qkv[(start + j) * 3 * h + h + col..][..dh];
                    *s = dot(q, k) * scale;
                    max = max.max(*s);
                }
                let mut sum = 0f32;
                for s in scores.iter_mut() {
                    *s = (*s - max).exp();
                    sum += *s;
                }
                let o = &mut out[i * h + col..][..dh];
                for (j, s) in scores.iter().enumerate() {
                    let p = s / sum;
                    let v = &qkv[(start + j) * 3 * h + 2 * h + col..][..dh];
                    for (a, b) in o.iter_mut().zip(v) {
                        *a += p * b;
                    }
                }
            }
        }
    });
    ctx
}
