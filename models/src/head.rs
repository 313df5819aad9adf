//! A trained softmax head on sentence embeddings: multinomial logistic
//! regression, trained with candle-nn (AdamW, full batch, weighted
//! cross-entropy), with its confidence calibrated by temperature scaling on
//! a held-out fifth of the training data.
//!
//! Used twice: for the category (16 classes) and for the hazard (12 hazards
//! and `none`). Linear on purpose: a few thousand examples of 384 features
//! do not justify more, it trains in about a second so engineers'
//! corrections retrain it while the service runs, and prediction is 16 dot
//! products in plain Rust (no tensor set-up per call).

use candle_core::{DType, Device, Tensor, Var, D};
use candle_nn::{ops::log_softmax, AdamW, Optimizer, ParamsAdamW};

use serde::{Deserialize, Serialize};

use crate::error::ModelError;

/// How a head is trained.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HeadConfig {
    /// Full-batch optimisation steps.
    pub steps: usize,
    /// AdamW learning rate.
    pub learning_rate: f64,
    /// L2 penalty on the weights (per feature, after standardising).
    pub l2: f64,
    /// Weigh classes so that each counts as much in the loss, whatever its
    /// number of examples (macro-F1 and the rare hazards need it).
    pub balance_classes: bool,
}

impl Default for HeadConfig {
    fn default() -> Self {
        Self {
            steps: 250,
            learning_rate: 0.05,
            l2: 1e-3,
            balance_classes: true,
        }
    }
}

/// One training example: features, class index, weight.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample<'a> {
    /// The embedding.
    pub x: &'a [f32],
    /// Index into the head's classes.
    pub class: usize,
    /// How much it counts (1.0 = normal).
    pub weight: f32,
}

/// A trained linear softmax head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinearHead {
    classes: Vec<String>,
    dim: usize,
    /// Per-feature mean and 1/std of the training data.
    mean: Vec<f32>,
    inv_std: Vec<f32>,
    /// `classes × dim`, row-major.
    weights: Vec<f32>,
    bias: Vec<f32>,
    /// Calibrated softmax temperature (logits are divided by it).
    temperature: f32,
}

impl LinearHead {
    /// Trains a head on `samples` over `classes`, then calibrates it.
    pub fn train(
        classes: Vec<String>,
        samples: &[Sample<'_>],
        config: HeadConfig,
    ) -> Result<LinearHead, ModelError> {
        let dim = samples.first().map(|s| s.x.len()).unwrap_or_default();
        if dim == 0 || classes.is_empty() {
            return Err(ModelError::Data("a head needs examples and classes".into()));
        }
        if let Some(bad) = samples
            .iter()
            .find(|s| s.x.len() != dim || s.class >= classes.len())
        {
            return Err(ModelError::Data(format!(
                "example of {} features or class {} does not fit {dim} features, {} classes",
                bad.x.len(),
                bad.class,
                classes.len()
            )));
        }
        // Calibration: fit on four fifths, choose the temperature that
        // minimises the log-loss on the fifth left out, then fit on all.
        let (fit, held): (Vec<_>, Vec<_>) = samples
            .iter()
            .cloned()
            .enumerate()
            .partition(|(i, _)| i % 5 != 4);
        let fit: Vec<Sample<'_>> = fit.into_iter().map(|(_, s)| s).collect();
        let held: Vec<Sample<'_>> = held.into_iter().map(|(_, s)| s).collect();
        let temperature = if held.is_empty() || fit.is_empty() {
            1.0
        } else {
            let probe = fit_linear(&classes, dim, &fit, config)?;
            probe.best_temperature(&held)
        };
        let mut head = fit_linear(&classes, dim, samples, config)?;
        head.temperature = temperature;
        Ok(head)
    }

    /// The class names, in index order.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// Calibrated probabilities of each class for one embedding.
    pub fn probabilities(&self, x: &[f32]) -> Vec<f32> {
        softmax(&self.logits(x), self.temperature)
    }

    /// True when the stored shapes agree (a deserialised head is checked).
    pub fn is_consistent(&self) -> bool {
        let c = self.classes.len();
        c > 0
            && self.mean.len() == self.dim
            && self.inv_std.len() == self.dim
            && self.weights.len() == c * self.dim
            && self.bias.len() == c
            && self.temperature.is_finite()
            && self.temperature > 0.0
    }

    /// The calibrated temperature.
    pub fn temperature(&self) -> f32 {
        self.temperature
    }

    fn logits(&self, x: &[f32]) -> Vec<f32> {
        let z: Vec<f32> = (0..self.dim)
            .map(|j| (x.get(j).copied().unwrap_or(0.0) - self.mean[j]) * self.inv_std[j])
            .collect();
        self.weights
            .chunks_exact(self.dim)
            .zip(&self.bias)
            .map(|(w, b)| w.iter().zip(&z).map(|(a, b)| a * b).sum::<f32>() + b)
            .collect()
    }

    /// The temperature in a fixed grid with the least weighted log-loss on `held`.
    fn best_temperature(&self, held: &[Sample<'_>]) -> f32 {
        let logits: Vec<(Vec<f32>, usize, f32)> = held
            .iter()
            .map(|s| (self.logits(s.x), s.class, s.weight))
            .collect();
        let loss = |t: f32| -> f32 {
            logits
                .iter()
                .map(|(l, c, w)| -w * softmax(l, t)[*c].max(1e-12).ln())
                .sum()
        };
        (1..=60)
            .map(|i| i as f32 * 0.1)
            .min_by(|a, b| loss(*a).total_cmp(&loss(*b)))
            .unwrap_or(1.0)
    }
}

/// Softmax of `logits / temperature`.
fn softmax(logits: &[f32], temperature: f32) -> Vec<f32> {
    let t = temperature.max(1e-3);
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = logits.iter().map(|l| ((l - max) / t).exp()).collect();
    let sum: f32 = exp.iter().sum();
    exp.into_iter().map(|e| e / sum).collect()
}

/// Per-feature mean and inverse standard deviation.
fn standardiser(samples: &[Sample<'_>], dim: usize) -> (Vec<f32>, Vec<f32>) {
    let n = samples.len().max(1) as f32;
    let mut mean = vec![0.0f32; dim];
    for s in samples {
        mean.iter_mut().zip(s.x).for_each(|(m, x)| *m += x / n);
    }
    let mut var = vec![0.0f32; dim];
    for s in samples {
        var.iter_mut()
            .zip(s.x.iter().zip(&mean))
            .for_each(|(v, (x, m))| *v += (x - m) * (x - m) / n);
    }
    let inv_std = var.into_iter().map(|v| 1.0 / v.sqrt().max(1e-6)).collect();
    (mean, inv_std)
}

/// Weighted multinomial logistic regression by full-batch AdamW.
fn fit_linear(
    classes: &[String],
    dim: usize,
    samples: &[Sample<'_>],
    config: HeadConfig,
) -> Result<LinearHead, ModelError> {
    let dev = Device::Cpu;
    let (mean, inv_std) = standardiser(samples, dim);
    let n = samples.len();
    let mut xs = Vec::with_capacity(n * dim);
    for s in samples {
        xs.extend(
            s.x.iter()
                .zip(&mean)
                .zip(&inv_std)
                .map(|((x, m), k)| (x - m) * k),
        );
    }
    let weights = sample_weights(samples, classes.len(), config.balance_classes);
    let x = Tensor::from_vec(xs, (n, dim), &dev)?;
    let y = Tensor::from_vec(
        samples.iter().map(|s| s.class as u32).collect::<Vec<_>>(),
        (n, 1),
        &dev,
    )?;
    let sw = Tensor::from_vec(weights, (n, 1), &dev)?;
    let w = Var::zeros((dim, classes.len()), DType::F32, &dev)?;
    let b = Var::zeros(classes.len(), DType::F32, &dev)?;
    let mut opt = AdamW::new(
        vec![w.clone(), b.clone()],
        ParamsAdamW {
            lr: config.learning_rate,
            weight_decay: 0.0,
            ..ParamsAdamW::default()
        },
    )?;
    for _ in 0..config.steps {
        let logits = x.matmul(w.as_tensor())?.broadcast_add(b.as_tensor())?;
        let picked = log_softmax(&logits, D::Minus1)?.gather(&y, 1)?;
        let nll = (picked * &sw)?
            .sum_all()?
            .neg()?
            .affine(1.0 / n as f64, 0.0)?;
        let penalty = w.as_tensor().sqr()?.sum_all()?.affine(config.l2, 0.0)?;
        opt.backward_step(&(nll + penalty)?)?;
    }
    // `dim × classes` → `classes × dim`, row-major.
    let weights = w
        .as_tensor()
        .t()?
        .contiguous()?
        .flatten_all()?
        .to_vec1::<f32>()?;
    Ok(LinearHead {
        classes: classes.to_vec(),
        dim,
        mean,
        inv_std,
        weights,
        bias: b.as_tensor().to_vec1::<f32>()?,
        temperature: 1.0,
    })
}

/// Each sample's weight, normalised to a mean of 1; with `balance`, every
/// class present carries the same total.
fn sample_weights(samples: &[Sample<'_>], classes: usize, balance: bool) -> Vec<f32> {
    let mut per_class = vec![0.0f32; classes];
    for s in samples {
        per_class[s.class] += s.weight.max(0.0);
    }
    let present = per_class.iter().filter(|t| **t > 0.0).count().max(1) as f32;
    let raw: Vec<f32> = samples
        .iter()
        .map(|s| {
            let w = s.weight.max(0.0);
            if balance {
                w / (per_class[s.class] * present)
            } else {
                w
            }
        })
        .collect();
    let total: f32 = raw.iter().sum();
    let scale = if total > 0.0 {
        samples.len() as f32 / total
    } else {
        0.0
    };
    raw.into_iter().map(|w| w * scale).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two noisy clusters in 4 dimensions: the head separates them, its
    /// probabilities sum to one, and a point between them is less sure than
    /// one inside a cluster.
    #[test]
    fn separates_clusters_and_is_less_sure_between_them() {
        let mut xs = Vec::new();
        for i in 0..200 {
            let jitter = ((i * 37 % 17) as f32 / 17.0 - 0.5) * 0.4;
            xs.push((vec![1.0 + jitter, 0.2, -jitter, 0.0], 0));
            xs.push((vec![-1.0 - jitter, 0.1, jitter, 0.3], 1));
        }
        let samples: Vec<Sample<'_>> = xs
            .iter()
            .map(|(x, c)| Sample {
                x,
                class: *c,
                weight: 1.0,
            })
            .collect();
        let head = LinearHead::train(
            vec!["a".into(), "b".into()],
            &samples,
            HeadConfig::default(),
        )
        .unwrap();
        let p = head.probabilities(&[0.9, 0.2, 0.0, 0.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert!(p[0] > 0.9, "{p:?}");
        assert!(head.probabilities(&[-0.9, 0.1, 0.0, 0.3])[1] > 0.9);
        let between = head.probabilities(&[0.0, 0.15, 0.0, 0.15]);
        assert!(between[0].max(between[1]) < p[0], "{between:?}");
        assert!(head.temperature() > 0.0);
    }

    #[test]
    fn refuses_examples_that_do_not_fit() {
        let x = vec![1.0, 2.0];
        let bad = [Sample {
            x: &x,
            class: 3,
            weight: 1.0,
        }];
        assert!(LinearHead::train(vec!["a".into()], &bad, HeadConfig::default()).is_err());
        assert!(LinearHead::train(vec!["a".into()], &[], HeadConfig::default()).is_err());
    }
}
