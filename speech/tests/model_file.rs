//! The CTranslate2 reader and the name mapping on the real Whisper files.

mod common;

use std::collections::BTreeSet;

use qloop_speech::{
    ct2::{Ct2DType, Ct2Model},
    mapping::{map_whisper, Ct2Config},
    ModelKind, Recognizer, SpeechError,
};

fn open(kind: ModelKind) -> Option<(Ct2Model, Ct2Config, std::path::PathBuf)> {
    let dir = common::weights(kind)?;
    let model = Ct2Model::open(&dir.join("model.bin")).unwrap();
    let config = Ct2Config::read(&dir.join("config.json")).unwrap();
    Some((model, config, dir))
}

/// tiny.en's header, variable count, alias, and the shapes and types of
/// representative tensors are what CTranslate2's converter wrote.
#[test]
fn tiny_en_file_reads_with_its_shapes_and_types() {
    let Some((m, _, _)) = open(ModelKind::TinyEn) else {
        return;
    };
    assert_eq!(
        (m.version, m.spec.as_str(), m.revision),
        (6, "WhisperSpec", 3)
    );
    assert_eq!(m.variables.len(), 148);
    assert_eq!(
        m.aliases,
        vec![(
            "decoder/projection/weight".to_owned(),
            "decoder/embeddings/weight".to_owned()
        )]
    );
    let expect = [
        ("encoder/conv1/weight", vec![384, 80, 3], Ct2DType::F16),
        ("encoder/conv2/weight", vec![384, 384, 3], Ct2DType::F16),
        (
            "encoder/layer_3/self_attention/linear_0/weight",
            vec![1152, 384],
            Ct2DType::F16,
        ),
        (
            "encoder/position_encodings/encodings",
            vec![1500, 384],
            Ct2DType::F16,
        ),
        ("decoder/embeddings/weight", vec![51864, 384], Ct2DType::F16),
        (
            "decoder/layer_0/attention/linear_1/weight",
            vec![768, 384],
            Ct2DType::F16,
        ),
        (
            "decoder/position_encodings/encodings",
            vec![448, 384],
            Ct2DType::F16,
        ),
        ("decoder/num_heads", vec![], Ct2DType::I16),
        ("decoder/activation", vec![], Ct2DType::I8),
    ];
    for (name, shape, dtype) in expect {
        let v = m.get(name).unwrap_or_else(|| panic!("{name} missing"));
        assert_eq!((&v.shape, v.dtype), (&shape, dtype), "{name}");
    }
    assert_eq!(
        m.get("decoder/projection/weight").unwrap().name,
        "decoder/embeddings/weight"
    );
    assert_eq!(m.scalar(m.get("encoder/num_heads").unwrap()), Some(6));
}

/// The mapping reads or checks every variable of the file, and derives
/// the Hugging Face config of tiny.en and base from shapes and head counts.
#[test]
fn mapping_consumes_every_tensor_and_derives_the_config() {
    for (kind, d, layers, heads, vocab) in [
        (ModelKind::TinyEn, 384, 4, 6, 51864),
        (ModelKind::Base, 512, 6, 8, 51865),
    ] {
        let Some((m, config, _)) = open(kind) else {
            return;
        };
        let mapped = map_whisper(&m, &config).unwrap();
        let all: BTreeSet<String> = m.variables.iter().map(|v| v.name.clone()).collect();
        let unused: Vec<_> = all.difference(&mapped.consumed).collect();
        assert!(unused.is_empty(), "{kind}: unused variables {unused:?}");
        let c = &mapped.config;
        assert_eq!(
            (
                c.d_model,
                c.encoder_layers,
                c.decoder_layers,
                c.encoder_attention_heads
            ),
            (d, layers, layers, heads),
            "{kind}"
        );
        assert_eq!(
            (c.decoder_attention_heads, c.vocab_size, c.num_mel_bins),
            (heads, vocab, 80)
        );
        assert_eq!(
            (c.max_source_positions, c.max_target_positions),
            (1500, 448)
        );
        assert_eq!(c.suppress_tokens, config.suppress_ids);
        assert!(!c.suppress_tokens.is_empty());
        // Fused projections were split: q, k, v per self-attention, k, v per
        // cross-attention, each [d, d]; candle's k_proj has no bias.
        let t = &mapped.tensors;
        for name in [
            "model.encoder.layers.0.self_attn.k_proj.weight",
            "model.decoder.layers.0.encoder_attn.v_proj.weight",
        ] {
            assert_eq!(t[name].dims(), [d, d], "{name}");
        }
        assert!(!t.contains_key("model.encoder.layers.0.self_attn.k_proj.bias"));
        assert_eq!(t["model.decoder.embed_tokens.weight"].dims(), [vocab, d]);
    }
}

/// A model.bin cut short, or with a corrupted header, fails to load with a
/// format error naming the problem, at every cut tried, never a panic.
#[test]
fn corrupted_model_file_is_a_clear_error() {
    let Some(dir) = common::weights(ModelKind::TinyEn) else {
        return;
    };
    let bytes = std::fs::read(dir.join("model.bin")).unwrap();
    let len = bytes.len();
    for cut in [0, 3, 10, 25, 200, 5_000, len / 3, len - 100, len - 1] {
        let err = Ct2Model::parse(bytes[..cut].to_vec()).unwrap_err();
        assert!(
            err.to_string().contains("truncated") || err.to_string().contains("bad string"),
            "{cut}: {err}"
        );
    }
    // A variable count of 4 billion in the real header is refused by the
    // file length before anything is reserved for it.
    let mut bad = bytes.clone();
    let count_at = 4 + 2 + "WhisperSpec\0".len() + 4;
    assert_eq!(&bad[count_at..count_at + 4], &148u32.to_le_bytes());
    bad[count_at..count_at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
    let err = Ct2Model::parse(bad).unwrap_err().to_string();
    assert!(err.contains("variables needs"), "{err}");

    let folder = tempfile::tempdir().unwrap();
    for f in ["config.json", "tokenizer.json"] {
        std::fs::copy(dir.join(f), folder.path().join(f)).unwrap();
    }
    std::fs::write(folder.path().join("model.bin"), &bytes[..len / 2]).unwrap();
    match Recognizer::load(folder.path()) {
        Err(SpeechError::Format(e)) => assert!(e.to_string().contains("truncated"), "{e}"),
        Err(other) => panic!("expected a format error, got {other}"),
        Ok(_) => panic!("half a model loaded"),
    }
}
