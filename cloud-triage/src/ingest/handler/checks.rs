//! Decoding and validating one uplink message, and recording a refused one
//! so bad input stays visible.

use qloop_protocol::{decode, topic::vin_from_feedback_topic, Message, ValidationError};

use super::{IngestError, IngestHandler, Outcome};

impl IngestHandler {
    /// Decodes and validates, naming what is wrong.
    pub(super) fn classify(
        &self,
        topic: &str,
        payload: &[u8],
        now: i64,
    ) -> Result<Message, String> {
        let topic_vin = vin_from_feedback_topic(topic).map_err(|e| e.to_string())?;
        let message = decode(payload).map_err(|e| e.to_string())?;
        let body_vin = match &message {
            Message::Feedback(env) => {
                self.limits
                    .check_feedback(env, now)
                    .map_err(|e| e.to_string())?;
                env.vehicle.vin.as_str()
            }
            Message::AudioChunk(chunk) => {
                self.limits.check_chunk(chunk).map_err(|e| e.to_string())?;
                chunk.vin.as_str()
            }
            Message::Satisfaction(reply) => {
                self.limits
                    .check_satisfaction(reply, now)
                    .map_err(|e| e.to_string())?;
                reply.vin.as_str()
            }
            Message::Receipt(receipt) => {
                self.limits
                    .check_receipt(receipt, now)
                    .map_err(|e| e.to_string())?;
                receipt.vin.as_str()
            }
            Message::Loss(report) => {
                self.limits
                    .check_loss(report, now)
                    .map_err(|e| e.to_string())?;
                report.vin.as_str()
            }
            Message::Event(_) => return Ok(message),
        };
        if body_vin != topic_vin {
            return Err(ValidationError::VinMismatch {
                body: body_vin.into(),
                topic: topic_vin.into(),
            }
            .to_string());
        }
        Ok(message)
    }

    pub(super) async fn reject(
        &self,
        topic: &str,
        len: usize,
        reason: String,
        now: i64,
    ) -> Result<Outcome, IngestError> {
        let topic: String = topic.chars().take(256).collect();
        tracing::warn!(%topic, bytes = len, %reason, "rejected uplink message");
        self.store
            .record_rejected(&topic, &reason, len, now)
            .await?;
        Ok(Outcome::Rejected(reason))
    }
}
