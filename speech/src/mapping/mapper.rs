//! Reading CTranslate2 variables and putting them under candle's names:
//! plain copies, linear layers, layer norms, rows split into several
//! tensors, and a whole attention block.

use std::collections::{BTreeSet, HashMap};

use candle_core::{Device, Tensor};

use super::bad;
use crate::{ct2::Ct2Model, error::SpeechError};

/// Reads CTranslate2 variables, noting each as consumed, and puts tensors
/// under candle's names.
pub(super) struct Mapper<'a> {
    /// The parsed `model.bin`.
    pub(super) model: &'a Ct2Model,
    /// Tensors made so far, by candle's name.
    pub(super) out: HashMap<String, Tensor>,
    /// Variables read or checked so far.
    pub(super) consumed: BTreeSet<String>,
}

impl Mapper<'_> {
    pub(super) fn shape(&self, name: &str) -> Result<Vec<usize>, SpeechError> {
        Ok(self
            .model
            .get(name)
            .ok_or_else(|| bad(format!("missing variable {name}")))?
            .shape
            .clone())
    }

    /// The values of a float variable, marked as consumed.
    pub(super) fn floats(&mut self, name: &str) -> Result<(Vec<f32>, Vec<usize>), SpeechError> {
        let var = self
            .model
            .get(name)
            .ok_or_else(|| bad(format!("missing variable {name}")))?;
        let values = self.model.to_f32(var).ok_or_else(|| {
            bad(format!(
                "{name} is {}, not floating point",
                var.dtype.name()
            ))
        })?;
        self.consumed.insert(var.name.clone());
        Ok((values, var.shape.clone()))
    }

    pub(super) fn scalar(&mut self, name: &str) -> Result<i64, SpeechError> {
        let var = self
            .model
            .get(name)
            .ok_or_else(|| bad(format!("missing variable {name}")))?;
        let value = self
            .model
            .scalar(var)
            .ok_or_else(|| bad(format!("{name} is not an integer scalar")))?;
        self.consumed.insert(var.name.clone());
        Ok(value)
    }

    pub(super) fn put(
        &mut self,
        name: String,
        values: Vec<f32>,
        shape: &[usize],
    ) -> Result<(), SpeechError> {
        self.out
            .insert(name, Tensor::from_vec(values, shape, &Device::Cpu)?);
        Ok(())
    }

    /// Copies `from/{weight,bias}` to `to.{weight,bias}`.
    pub(super) fn linear(&mut self, from: &str, to: &str) -> Result<(), SpeechError> {
        for (a, b) in [("weight", "weight"), ("bias", "bias")] {
            let (v, s) = self.floats(&format!("{from}/{a}"))?;
            self.put(format!("{to}.{b}"), v, &s)?;
        }
        Ok(())
    }

    pub(super) fn layer_norm(&mut self, from: &str, to: &str) -> Result<(), SpeechError> {
        for (a, b) in [("gamma", "weight"), ("beta", "bias")] {
            let (v, s) = self.floats(&format!("{from}/{a}"))?;
            self.put(format!("{to}.{b}"), v, &s)?;
        }
        Ok(())
    }

    /// Splits a fused `[parts·d, d]` linear into `targets` by rows. A target
    /// of `None` is the key part: its weight is kept, its bias dropped.
    pub(super) fn split(
        &mut self,
        from: &str,
        to: &str,
        targets: &[&str],
        d: usize,
    ) -> Result<(), SpeechError> {
        let (w, ws) = self.floats(&format!("{from}/weight"))?;
        let (b, bs) = self.floats(&format!("{from}/bias"))?;
        let parts = targets.len();
        if ws != [parts * d, d] || bs != [parts * d] {
            return Err(bad(format!(
                "{from}: shapes {ws:?}/{bs:?}, expected [{}, {d}]",
                parts * d
            )));
        }
        for (i, target) in targets.iter().enumerate() {
            let rows = w[i * d * d..(i + 1) * d * d].to_vec();
            self.put(format!("{to}.{target}.weight"), rows, &[d, d])?;
            if *target != "k_proj" {
                let bias = b[i * d..(i + 1) * d].to_vec();
                self.put(format!("{to}.{target}.bias"), bias, &[d])?;
            }
        }
        Ok(())
    }

    pub(super) fn block(
        &mut self,
        from: &str,
        to: &str,
        d: usize,
        cross: bool,
    ) -> Result<(), SpeechError> {
        self.split(
            &format!("{from}/self_attention/linear_0"),
            &format!("{to}.self_attn"),
            &["q_proj", "k_proj", "v_proj"],
            d,
        )?;
        self.linear(
            &format!("{from}/self_attention/linear_1"),
            &format!("{to}.self_attn.out_proj"),
        )?;
        self.layer_norm(
            &format!("{from}/self_attention/layer_norm"),
            &format!("{to}.self_attn_layer_norm"),
        )?;
        if cross {
            self.linear(
                &format!("{from}/attention/linear_0"),
                &format!("{to}.encoder_attn.q_proj"),
            )?;
            self.split(
                &format!("{from}/attention/linear_1"),
                &format!("{to}.encoder_attn"),
                &["k_proj", "v_proj"],
                d,
            )?;
            self.linear(
                &format!("{from}/attention/linear_2"),
                &format!("{to}.encoder_attn.out_proj"),
            )?;
            self.layer_norm(
                &format!("{from}/attention/layer_norm"),
                &format!("{to}.encoder_attn_layer_norm"),
            )?;
        }
        self.linear(&format!("{from}/ffn/linear_0"), &format!("{to}.fc1"))?;
        self.linear(&format!("{from}/ffn/linear_1"), &format!("{to}.fc2"))?;
        self.layer_norm(
            &format!("{from}/ffn/layer_norm"),
            &format!("{to}.final_layer_norm"),
        )
    }

    pub(super) fn count_layers(&self, prefix: &str) -> usize {
        (0..)
            .take_while(|i| {
                self.model
                    .get(&format!("{prefix}/layer_{i}/ffn/linear_0/weight"))
                    .is_some()
            })
            .count()
    }
}
