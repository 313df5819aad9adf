//! A case's aggregates over its reports: how many, from how many vehicles,
//! on which software and model families, first and last seen, and its
//! centroid (the sum of its reports' embeddings; cosine ignores the scale).

use std::collections::BTreeSet;

use super::model_family;
use crate::domain::Refusal;

/// One report of a case, as the aggregates need it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    /// The car's VIN.
    pub vin: String,
    /// The car's model name as it sent it.
    pub model: String,
    /// Software versions by ECU, as `(ecu, version)`.
    pub software: Vec<(String, String)>,
    /// When the car captured it, Unix ms.
    pub captured_at_ms: i64,
    /// Its embedding, when it has one.
    pub vector: Option<Vec<f32>>,
}

/// What a case's reports add up to.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregates {
    /// Reports linked.
    pub occurrences: i64,
    /// Distinct vehicles among them.
    pub vehicles: i64,
    /// Distinct `"ecu version"` texts, sorted.
    pub software: BTreeSet<String>,
    /// Distinct model families, sorted.
    pub model_families: BTreeSet<String>,
    /// Earliest capture, Unix ms.
    pub first_seen_ms: i64,
    /// Latest capture, Unix ms.
    pub last_seen_ms: i64,
    /// The sum of the reports' embeddings; `None` when none has one.
    pub centroid: Option<Vec<f32>>,
}

/// The aggregates of case `case_id` over `reports`. A case must hold at
/// least one report: an empty one is refused (a split that would take
/// everything, or a corrupt link table).
pub fn aggregate(case_id: i64, reports: &[Report]) -> Result<Aggregates, Refusal> {
    if reports.is_empty() {
        return Err(Refusal::Invalid(format!(
            "case {case_id} would hold no feedback"
        )));
    }
    let mut centroid: Option<Vec<f32>> = None;
    for v in reports.iter().filter_map(|r| r.vector.as_deref()) {
        add_to_centroid(centroid.get_or_insert_with(|| vec![0.0; v.len()]), v);
    }
    Ok(Aggregates {
        occurrences: reports.len() as i64,
        vehicles: reports
            .iter()
            .map(|r| r.vin.as_str())
            .collect::<BTreeSet<_>>()
            .len() as i64,
        software: reports
            .iter()
            .flat_map(|r| &r.software)
            .map(|(ecu, version)| format!("{ecu} {version}"))
            .collect(),
        model_families: reports.iter().map(|r| model_family(&r.model)).collect(),
        first_seen_ms: reports.iter().map(|r| r.captured_at_ms).min().unwrap_or(0),
        last_seen_ms: reports.iter().map(|r| r.captured_at_ms).max().unwrap_or(0),
        centroid,
    })
}

/// Adds one embedding to a centroid sum (a report joined the case); the
/// two have one length ([`super::DIM`]).
pub fn add_to_centroid(sum: &mut [f32], v: &[f32]) {
    sum.iter_mut().zip(v).for_each(|(a, b)| *a += b);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(vin: &str, model: &str, at: i64, vector: Option<Vec<f32>>) -> Report {
        Report {
            vin: vin.into(),
            model: model.into(),
            software: vec![("ECU1".into(), "1.0".into())],
            captured_at_ms: at,
            vector,
        }
    }

    #[test]
    fn reports_add_up_to_distinct_vehicles_software_families_and_seen_bounds() {
        let mut second = report("VIN2", "model  3", 5, None);
        second.software.push(("ECU2".into(), "2.1".into()));
        let a = aggregate(
            7,
            &[
                report("VIN1", "Model 3", 10, Some(vec![1.0, 0.0])),
                second,
                report("VIN1", "MODEL Y", 20, Some(vec![0.5, 1.0])),
            ],
        )
        .unwrap();
        assert_eq!(a.occurrences, 3);
        assert_eq!(a.vehicles, 2);
        assert_eq!(
            a.software.into_iter().collect::<Vec<_>>(),
            ["ECU1 1.0", "ECU2 2.1"]
        );
        assert_eq!(
            a.model_families.into_iter().collect::<Vec<_>>(),
            ["MODEL 3", "MODEL Y"]
        );
        assert_eq!((a.first_seen_ms, a.last_seen_ms), (5, 20));
        assert_eq!(a.centroid, Some(vec![1.5, 1.0]));
    }

    #[test]
    fn a_case_without_embedded_reports_has_no_centroid() {
        let a = aggregate(1, &[report("VIN1", "M", 1, None)]).unwrap();
        assert_eq!(a.centroid, None);
        assert_eq!(a.occurrences, 1);
    }

    #[test]
    fn a_case_must_keep_a_report() {
        assert_eq!(
            aggregate(9, &[]),
            Err(Refusal::Invalid("case 9 would hold no feedback".into()))
        );
    }

    #[test]
    fn a_joining_report_adds_its_embedding_to_the_sum() {
        let mut sum = vec![1.0, 2.0];
        add_to_centroid(&mut sum, &[0.5, -1.0]);
        assert_eq!(sum, [1.5, 1.0]);
    }
}
