//! A case's reports as the page shows them: newest first, a page at a time
//! (read in one statement, [`Store::get_feedback_many`]), each with its
//! transcript, its clip, and its telemetry as one chart per signal.

use qloop_protocol::{SoftwareVersion, TelemetrySnapshot};

use crate::{
    domain::{AudioStatus, TranscriptSource},
    store::{Store, StoreError},
    ui::format::{duration, when},
    views::{CaseDetail, FeedbackDetail},
};

/// Reports shown at once; the rest load on demand.
pub const REPORTS_PER_PAGE: usize = 20;

/// One page of a case's reports.
#[derive(Debug, Clone)]
pub struct ReportsPage {
    /// The case.
    pub case_id: i64,
    /// The reports on this page, newest link first.
    pub items: Vec<ReportView>,
    /// Where the next page starts, when there is one.
    pub next_offset: Option<usize>,
    /// How many reports the case has.
    pub total: usize,
}

impl ReportsPage {
    /// The page of `case`'s reports starting `offset` reports from the newest.
    pub async fn load(store: &Store, case: &CaseDetail, offset: usize) -> Result<Self, StoreError> {
        let total = case.occurrences.len();
        let ids: Vec<uuid::Uuid> = case
            .occurrences
            .iter()
            .rev()
            .skip(offset)
            .take(REPORTS_PER_PAGE)
            .map(|o| o.feedback_id)
            .collect();
        let items = store
            .get_feedback_many(&ids)
            .await?
            .iter()
            .map(ReportView::of)
            .collect();
        let end = offset + ids.len();
        Ok(Self {
            case_id: case.summary.id,
            items,
            next_offset: (end < total).then_some(end),
            total,
        })
    }
}

/// One signal of a report's telemetry, as `case.js` draws it.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartView {
    /// The signal, e.g. `Vehicle.Speed`.
    pub signal: String,
    /// Its unit, or empty.
    pub unit: String,
    /// Sample times, Unix ms, comma-separated.
    pub t: String,
    /// Sample values, comma-separated.
    pub v: String,
    /// How many samples.
    pub points: usize,
    /// The smallest and largest value, for the caption and screen readers.
    pub range: String,
}

/// One DTC.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DtcView {
    /// The code, e.g. `C0045`.
    pub code: String,
    /// The ECU that set it.
    pub ecu: String,
    /// `active`, `stored`, `pending`.
    pub status: String,
}

/// One report (a feedback) on the case page.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportView {
    /// The feedback's id.
    pub id: String,
    /// Its vehicle, model and year.
    pub vin: String,
    /// `Model 3 (2021)`.
    pub vehicle: String,
    /// When the driver triggered it.
    pub captured: String,
    /// The trigger moment, Unix ms (the charts' vertical line).
    pub trigger_ms: i64,
    /// `voice`, `hmi`, `button` or `cli`.
    pub trigger: &'static str,
    /// The locale.
    pub locale: String,
    /// The driver's words (shown escaped, as text).
    pub transcript: Option<String>,
    /// `head unit` or `cloud ASR`.
    pub source: &'static str,
    /// The recogniser's confidence, `0.82`, or empty.
    pub confidence: String,
    /// The head unit's words when the cloud's replaced them.
    pub head_unit_transcript: Option<String>,
    /// The clip's URL when the whole clip is stored.
    pub audio_src: Option<String>,
    /// The clip's length, when known.
    pub audio_length: String,
    /// Why there is no player, when there is none.
    pub audio_note: Option<&'static str>,
    /// One chart per signal.
    pub charts: Vec<ChartView>,
    /// Diagnostic trouble codes.
    pub dtcs: Vec<DtcView>,
    /// Software versions as `(ecu, version)`.
    pub software: Vec<(String, String)>,
    /// Where the car was, when the driver consented to share it.
    pub location: Option<String>,
    /// The odometer, when sent.
    pub odometer: Option<String>,
    /// Why the capture was cut short, when it was.
    pub cut_short: Option<String>,
}

impl ReportView {
    /// The view of `f`.
    pub fn of(f: &FeedbackDetail) -> Self {
        let telemetry: TelemetrySnapshot =
            serde_json::from_value(f.telemetry.clone()).unwrap_or_default();
        let software: Vec<SoftwareVersion> =
            serde_json::from_value(f.software.clone()).unwrap_or_default();
        let (audio_src, audio_note) = match (&f.audio.status, &f.audio.path) {
            (AudioStatus::Complete, Some(_)) => {
                (Some(format!("/ui/feedback/{}/audio", f.id)), None)
            }
            (AudioStatus::Complete, None) | (AudioStatus::NoAudio, _) => (None, Some("no audio")),
            (AudioStatus::Partial, _) => (None, Some("audio still arriving")),
            (AudioStatus::Incomplete, _) => (None, Some("audio incomplete: the car lost a chunk")),
            (AudioStatus::Corrupt, _) => (None, Some("audio failed its checks")),
        };
        Self {
            id: f.id.to_string(),
            vin: f.vin.clone(),
            vehicle: format!("{} ({})", f.model, f.model_year),
            captured: when(f.captured_at_ms),
            trigger_ms: f.captured_at_ms,
            trigger: f.trigger.as_str(),
            locale: f.locale.clone(),
            transcript: f.transcript.clone(),
            source: match f.transcript_source {
                Some(TranscriptSource::CloudAsr) => "cloud ASR",
                Some(TranscriptSource::HeadUnit) => "head unit",
                None => "",
            },
            confidence: f
                .transcript_confidence
                .map(|c| format!("{c:.2}"))
                .unwrap_or_default(),
            head_unit_transcript: f.asr.as_ref().and_then(|a| a.head_unit_transcript.clone()),
            audio_src,
            audio_length: f.audio.duration_ms.map(duration).unwrap_or_default(),
            audio_note,
            charts: telemetry.signals.iter().map(chart).collect(),
            dtcs: telemetry
                .dtcs
                .iter()
                .map(|d| DtcView {
                    code: d.code.clone(),
                    ecu: d.ecu.clone(),
                    status: d.status.clone(),
                })
                .collect(),
            software: software.into_iter().map(|s| (s.ecu, s.version)).collect(),
            location: telemetry
                .location
                .filter(|_| f.consent.location)
                .map(|l| format!("{:.5}, {:.5} (±{:.0} m)", l.lat, l.lon, l.accuracy_m)),
            odometer: telemetry.odometer_km.map(|km| format!("{km:.1} km")),
            cut_short: f.cut_short.as_ref().map(|c| {
                format!(
                    "{}: the telemetry ends at the trigger",
                    c.reason.replace('_', " ")
                )
            }),
        }
    }
}

/// A signal's samples as the chart's data attributes.
fn chart(signal: &qloop_protocol::SignalSeries) -> ChartView {
    let join = |values: Vec<String>| values.join(",");
    let (lo, hi) = signal
        .samples
        .iter()
        .map(|s| s.value)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    let unit = signal.unit.clone().unwrap_or_default();
    ChartView {
        signal: signal.name.clone(),
        t: join(signal.samples.iter().map(|s| s.t_ms.to_string()).collect()),
        v: join(signal.samples.iter().map(|s| s.value.to_string()).collect()),
        points: signal.samples.len(),
        range: range_text(lo, hi, &unit),
        unit,
    }
}

/// `from 0 to 88.5 km/h`, or `no samples`.
fn range_text(lo: f64, hi: f64, unit: &str) -> String {
    if lo > hi {
        return "no samples".into();
    }
    format!("from {lo} to {hi} {unit}").trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signal_becomes_its_times_values_and_range() {
        let signal = qloop_protocol::SignalSeries {
            name: "Vehicle.Speed".into(),
            unit: Some("km/h".into()),
            samples: vec![
                qloop_protocol::Sample {
                    t_ms: 1_000,
                    value: 88.5,
                },
                qloop_protocol::Sample {
                    t_ms: 1_100,
                    value: 0.0,
                },
            ],
        };
        let c = chart(&signal);
        assert_eq!((c.t.as_str(), c.v.as_str()), ("1000,1100", "88.5,0"));
        assert_eq!(c.range, "from 0 to 88.5 km/h");
        assert_eq!(
            range_text(f64::INFINITY, f64::NEG_INFINITY, ""),
            "no samples"
        );
    }
}
