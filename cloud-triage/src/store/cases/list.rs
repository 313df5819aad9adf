//! The case listing: filters, order and paging in SQL, and the SLA clocks
//! of one page's cases in one query.

use std::collections::BTreeMap;

use sqlx::{any::AnyArguments, query::Query, Any, Row};

use super::{summary_from_row, SUMMARY_COLUMNS};
use crate::{
    domain::{clocks::SlaClock, fleet::model_family, CaseStatus, Severity},
    sla::WorkingTime,
    store::{sla::clock_rows::clock_from_row, CaseQuery, CaseSummary, Page, Store, StoreError},
    views::{CaseSort, SlaState},
};

/// A value bound to a `$n` placeholder.
#[derive(Debug, Clone)]
enum Arg {
    Text(String),
    Int(i64),
}

/// A `WHERE` clause in the making: its conditions and their bound values.
#[derive(Debug, Default)]
struct Conditions {
    sql: Vec<String>,
    args: Vec<Arg>,
}

impl Conditions {
    /// Adds `condition`, whose one `?` becomes the next placeholder, bound to `arg`.
    fn push(&mut self, condition: &str, arg: Arg) {
        self.args.push(arg);
        let placeholder = format!("${}", self.args.len());
        self.sql.push(condition.replacen('?', &placeholder, 1));
    }

    /// Adds a condition without a bound value.
    fn push_plain(&mut self, condition: &str) {
        self.sql.push(condition.to_string());
    }

    /// ` WHERE a AND b`, or nothing.
    fn where_clause(&self) -> String {
        if self.sql.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.sql.join(" AND "))
        }
    }

    /// Binds the values, in order, to `query`.
    fn bind<'q>(
        &'q self,
        mut query: Query<'q, Any, AnyArguments<'q>>,
    ) -> Query<'q, Any, AnyArguments<'q>> {
        for arg in &self.args {
            query = match arg {
                Arg::Text(text) => query.bind(text.as_str()),
                Arg::Int(n) => query.bind(*n),
            };
        }
        query
    }
}

/// `text` for a `LIKE … ESCAPE '\'` pattern: its wildcards taken literally.
fn like_literal(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

/// `text` as it reads inside a JSON string (without the quotes), so a
/// pattern made of it matches within one element of a stored JSON list:
/// its own quotes are escaped and cannot match an element's boundary.
fn json_inner(text: &str) -> String {
    let quoted = serde_json::Value::from(text).to_string();
    quoted[1..quoted.len() - 1].to_string()
}

/// The condition on a case's SLA clocks for `state` (see [`SlaState`]):
/// some metric's current clock (no higher cycle of its metric) is in it.
/// `?` is "now". The index `sla_clocks_state` holds every column read.
///
/// A clock is breached when a breach is recorded or it ended or runs past
/// its due instant; the due instant is where the calendar's working time
/// reaches the target plus the finished pauses, so this is the reading's
/// "more working time used than the target"
/// ([`crate::domain::clocks::Clock::reading`]) without the calendar.
fn sla_condition(state: SlaState) -> String {
    let in_state = match state {
        SlaState::Breached => {
            "k.breached_at_ms IS NOT NULL OR COALESCE(k.stopped_at_ms, k.paused_since_ms, ?) > k.due_at_ms"
        }
        SlaState::Met => {
            "k.breached_at_ms IS NULL AND k.stopped_at_ms IS NOT NULL AND k.stopped_at_ms <= k.due_at_ms"
        }
        SlaState::Paused => {
            "k.breached_at_ms IS NULL AND k.stopped_at_ms IS NULL AND k.paused_since_ms IS NOT NULL \
             AND k.paused_since_ms <= k.due_at_ms"
        }
        SlaState::Running => {
            "k.breached_at_ms IS NULL AND k.stopped_at_ms IS NULL AND k.paused_since_ms IS NULL \
             AND ? <= k.due_at_ms"
        }
    };
    format!(
        "EXISTS (SELECT 1 FROM sla_clocks k WHERE k.case_id = cases.id AND ({in_state}) AND NOT EXISTS \
         (SELECT 1 FROM sla_clocks m WHERE m.case_id = k.case_id AND m.metric = k.metric AND m.cycle > k.cycle))"
    )
}

/// The `ORDER BY` of `sort`; ties go newest case first. Severity ranks in
/// the order [`Severity::ALL`] declares (major first).
fn order_by(sort: CaseSort) -> String {
    match sort {
        CaseSort::Newest => "id DESC".into(),
        CaseSort::Oldest => "id ASC".into(),
        CaseSort::LastSeen => "last_seen_ms DESC, id DESC".into(),
        CaseSort::Vehicles => "vehicle_count DESC, id DESC".into(),
        CaseSort::Reports => "occurrences DESC, id DESC".into(),
        CaseSort::Severity => {
            let ranks: String = Severity::ALL
                .iter()
                .enumerate()
                .map(|(rank, s)| format!(" WHEN '{}' THEN {rank}", s.as_str()))
                .collect();
            format!(
                "CASE severity{ranks} ELSE {} END, id DESC",
                Severity::ALL.len()
            )
        }
    }
}

/// The conditions of `q`'s filters, after checking its named values.
fn conditions(
    q: &CaseQuery,
    taxonomy: &qloop_models::Taxonomy,
    now_ms: i64,
) -> Result<Conditions, StoreError> {
    let mut c = Conditions::default();
    if let Some(status) = &q.status {
        status.parse::<CaseStatus>()?;
        c.push("status = ?", Arg::Text(status.clone()));
    }
    if let Some(category) = &q.category {
        crate::domain::fields::check_category(category, taxonomy)?;
        c.push("category = ?", Arg::Text(category.clone()));
    }
    if let Some(severity) = &q.severity {
        severity.parse::<Severity>()?;
        c.push("severity = ?", Arg::Text(severity.clone()));
    }
    if let Some(hazard) = &q.hazard {
        match crate::domain::hazard::parse_filter(hazard)? {
            Some(h) => c.push("hazard = ?", Arg::Text(h.name().to_string())),
            None => c.push_plain("hazard IS NULL"),
        }
    }
    if let Some(model) = &q.model {
        let element = serde_json::Value::from(model_family(model)).to_string();
        c.push(
            "model_families LIKE ? ESCAPE '\\'",
            Arg::Text(format!("%{}%", like_literal(&element))),
        );
    }
    if let Some(software) = &q.software {
        let needle = like_literal(&json_inner(software)).to_lowercase();
        c.push(
            "LOWER(software_json) LIKE ? ESCAPE '\\'",
            Arg::Text(format!("%{needle}%")),
        );
    }
    match q.emerging {
        Some(true) => c.push_plain("emerging_at_ms IS NOT NULL"),
        Some(false) => c.push_plain("emerging_at_ms IS NULL"),
        None => {}
    }
    if let Some(state) = q.sla {
        match state {
            SlaState::Breached | SlaState::Running => {
                c.push(&sla_condition(state), Arg::Int(now_ms))
            }
            SlaState::Met | SlaState::Paused => c.push_plain(&sla_condition(state)),
        }
    }
    Ok(c)
}

impl Store {
    /// Cases matching `q`, in its order (newest first by default), one page
    /// of them. An unknown status, severity or hazard, or a category outside
    /// the taxonomy, is refused naming the allowed values.
    pub async fn list_cases(&self, q: &CaseQuery) -> Result<Page<CaseSummary>, StoreError> {
        let filters = conditions(q, self.taxonomy(), crate::now_ms())?;
        let where_clause = filters.where_clause();
        let (limit, offset) = (q.effective_limit(), q.effective_offset());
        // A filter no index serves (model, software, SLA state) is judged
        // case by case: then one pass yields the page and the total.
        let one_pass = q.model.is_some() || q.software.is_some() || q.sla.is_some();
        let n = filters.args.len();
        let list_sql =
            format!(
            "SELECT {SUMMARY_COLUMNS}{} FROM cases{where_clause} ORDER BY {} LIMIT ${} OFFSET ${}",
            if one_pass { ", COUNT(*) OVER () AS total" } else { "" },
            order_by(q.sort.unwrap_or_default()),
            n + 1,
            n + 2
        );
        let rows = filters
            .bind(sqlx::query(&list_sql))
            .bind(limit)
            .bind(offset)
            .fetch_all(self.pool())
            .await?;
        let total: i64 = match rows.first() {
            Some(row) if one_pass => row.try_get("total")?,
            _ => {
                let count_sql = format!("SELECT COUNT(*) AS total FROM cases{where_clause}");
                filters
                    .bind(sqlx::query(&count_sql))
                    .fetch_one(self.pool())
                    .await?
                    .try_get("total")?
            }
        };
        let items = rows
            .iter()
            .map(summary_from_row)
            .collect::<Result<_, _>>()?;
        Ok(Page {
            items,
            total,
            limit,
            offset,
        })
    }

    /// The SLA clocks of each of `case_ids` at `now_ms`, in one query: by
    /// case, then as [`Store::sla_clocks`] orders them (by metric, the
    /// current cycle first). A case without clocks has no entry.
    pub async fn sla_clocks_of(
        &self,
        case_ids: &[i64],
        wt: &WorkingTime,
        now_ms: i64,
    ) -> Result<BTreeMap<i64, Vec<SlaClock>>, StoreError> {
        let mut clocks: BTreeMap<i64, Vec<SlaClock>> = BTreeMap::new();
        if case_ids.is_empty() {
            return Ok(clocks);
        }
        let placeholders: Vec<String> = (1..=case_ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT * FROM sla_clocks WHERE case_id IN ({}) ORDER BY case_id, metric, cycle DESC",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql);
        for id in case_ids {
            query = query.bind(*id);
        }
        for row in query.fetch_all(self.pool()).await? {
            let case_id: i64 = row.try_get("case_id")?;
            let clock = clock_from_row(&row)?.reading(wt, now_ms);
            clocks.entry(case_id).or_default().push(clock);
        }
        Ok(clocks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_take_wildcards_and_quotes_literally() {
        assert_eq!(like_literal(r"50%_a\b"), r"50\%\_a\\b");
        assert_eq!(json_inner(r#"ECU "1.0""#), r#"ECU \"1.0\""#);
    }

    #[test]
    fn severity_orders_major_first() {
        assert_eq!(
            order_by(CaseSort::Severity),
            "CASE severity WHEN 'major' THEN 0 WHEN 'minor' THEN 1 WHEN 'unassessed' THEN 2 ELSE 3 END, id DESC"
        );
    }
}
