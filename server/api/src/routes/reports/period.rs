//! A report's period and scope: named periods as whole local days of the tenant's time zone, the
//! previous period beside it, the filters, and who sees what (administrators and supervisors:
//! the whole account; everyone else: themselves).

use callbase_core::GroupId;
use callbase_db::reports::{self as repo, Filters, Span};
use callbase_db::Tx;
use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Date, Duration};
use utoipa::{IntoParams, ToSchema};

use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};

/// The longest custom period.
pub const MAX_DAYS: i64 = 400;

#[derive(Debug, Default, Clone, Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// today (default), yesterday, this_week, last_week, this_month, last_month, last_7_days,
    /// last_30_days, or custom (with `from` and `to`). Days are the account's time zone's.
    pub period: Option<String>,
    /// First day of a custom period (`YYYY-MM-DD`).
    pub from: Option<String>,
    /// Last day of a custom period (`YYYY-MM-DD`, included).
    pub to: Option<String>,
    /// Only the members of this access group.
    pub group_id: Option<i64>,
    /// Only this agent.
    pub user_id: Option<i64>,
    /// Only this trunk (its slot, 1–3).
    pub trunk: Option<i16>,
    /// Only this queue.
    pub queue_id: Option<i64>,
    /// inbound, outbound or internal.
    pub direction: Option<String>,
}

/// The period a report covers and the one before it, as local days and as instants (for the call
/// list's `from`/`to` in a drill-down).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Period {
    /// First and last day (`YYYY-MM-DD`, both included).
    pub from: String,
    pub to: String,
    /// RFC 3339: the first day's local midnight, and the one after the last day.
    pub starts_at: String,
    pub ends_at: String,
    /// The previous period: as many days, right before.
    pub previous_from: String,
    pub previous_to: String,
    pub previous_starts_at: String,
    pub previous_ends_at: String,
    /// The account's time zone, which decides the days and hours.
    pub time_zone: String,
}

/// A parsed report request: who may see what, the period, the filters.
pub struct Request {
    pub tz: String,
    pub span: Span,
    pub previous: Span,
    pub filters: Filters,
    /// The viewer sees the whole account (administrators and supervisors).
    pub full: bool,
}

impl Request {
    pub fn period(&self) -> Period {
        let iso = |t: time::OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
        Period {
            from: self.span.from_date.to_string(),
            to: self.span.to_date.to_string(),
            starts_at: iso(self.span.from),
            ends_at: iso(self.span.to),
            previous_from: self.previous.from_date.to_string(),
            previous_to: self.previous.to_date.to_string(),
            previous_starts_at: iso(self.previous.from),
            previous_ends_at: iso(self.previous.to),
            time_zone: self.tz.clone(),
        }
    }
}

/// Whether `cu` sees the whole account's reports: administrators and supervisors.
pub async fn sees_all(tx: &mut Tx, cu: &CurrentUser) -> ApiResult<bool> {
    Ok(cu.role.is_admin() || callbase_db::accounts::supervises(tx, cu.tenant_id, cu.user_id).await?)
}

pub(crate) fn not_supervisor() -> ApiError {
    ApiError::forbidden_code(
        "not_supervisor",
        "reports of other agents, queues and trunks are for administrators and supervisors; your own are on My statistics",
    )
}

fn parse_date(v: &str, field: &str) -> ApiResult<Date> {
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(v, &fmt).map_err(|_| {
        ApiError::unprocessable("invalid_period", format!("{field}: '{v}' is not a date (YYYY-MM-DD)"))
    })
}

/// The days of a named period, given today.
pub fn days(period: &str, today: Date, from: Option<&str>, to: Option<&str>) -> ApiResult<(Date, Date)> {
    let monday = today - Duration::days(i64::from(today.weekday().number_days_from_monday()));
    let first_of_month = today.replace_day(1).unwrap_or(today);
    Ok(match period {
        "today" => (today, today),
        "yesterday" => (today - Duration::days(1), today - Duration::days(1)),
        "this_week" => (monday, today),
        "last_week" => (monday - Duration::days(7), monday - Duration::days(1)),
        "this_month" => (first_of_month, today),
        "last_month" => {
            let last = first_of_month - Duration::days(1);
            (last.replace_day(1).unwrap_or(last), last)
        }
        "last_7_days" => (today - Duration::days(6), today),
        "last_30_days" => (today - Duration::days(29), today),
        "custom" => {
            let (Some(f), Some(t)) = (from, to) else {
                return Err(ApiError::unprocessable("invalid_period", "a custom period needs from and to (YYYY-MM-DD)"));
            };
            let (f, t) = (parse_date(f, "from")?, parse_date(t, "to")?);
            if f > t {
                return Err(ApiError::unprocessable("invalid_period", "to: the period ends before it starts"));
            }
            if (t - f).whole_days() >= MAX_DAYS {
                return Err(ApiError::unprocessable(
                    "invalid_period",
                    format!("to: a period is at most {MAX_DAYS} days"),
                ));
            }
            (f, t)
        }
        other => {
            return Err(ApiError::unprocessable(
                "invalid_period",
                format!("period: '{other}' is not today, yesterday, this_week, last_week, this_month, last_month, last_7_days, last_30_days or custom"),
            ))
        }
    })
}

/// The previous period of `(from, to)`: the month before a whole month, else as many days right
/// before.
pub fn previous(period: &str, from: Date, to: Date) -> (Date, Date) {
    if period == "last_month" || period == "this_month" {
        let before = from - Duration::days(1);
        let start = before.replace_day(1).unwrap_or(before);
        if period == "last_month" {
            return (start, before);
        }
        // This month so far: the same days of the month before (as many as it has).
        let len = (to - from).whole_days();
        let end = (start + Duration::days(len)).min(before);
        return (start, end);
    }
    let len = (to - from).whole_days() + 1;
    (from - Duration::days(len), from - Duration::days(1))
}

impl ReportQuery {
    /// Parses the query for `cu` (422 naming the first bad parameter; 403 when an agent asks for
    /// someone else's figures).
    pub async fn resolve(&self, tx: &mut Tx, cu: &CurrentUser) -> ApiResult<Request> {
        let tenant = cu.tenant_id;
        let full = sees_all(tx, cu).await?;
        let tz = repo::time_zone(tx, tenant).await?;
        let today = repo::today(tx, &tz).await?;
        let period = match self.period.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => p,
            None if self.from.is_some() || self.to.is_some() => "custom",
            None => "today",
        };
        let (from, to) = days(period, today, self.from.as_deref(), self.to.as_deref())?;
        let (pf, pt) = previous(period, from, to);
        let span = repo::span(tx, &tz, from, to).await?;
        let prev = repo::span(tx, &tz, pf, pt).await?;

        let direction = match self.direction.as_deref().filter(|d| !d.is_empty()) {
            None => None,
            Some(d @ ("inbound" | "outbound" | "internal")) => Some(d.to_string()),
            Some(_) => {
                return Err(ApiError::unprocessable(
                    "invalid_direction",
                    "direction is inbound, outbound or internal",
                ))
            }
        };
        if let Some(t) = self.trunk {
            if !(1..=3).contains(&t) {
                return Err(ApiError::unprocessable("invalid_trunk", "trunk: a trunk's slot is 1, 2 or 3"));
            }
        }
        let mut users: Option<Vec<i64>> = None;
        if let Some(g) = self.group_id {
            if !full {
                return Err(not_supervisor());
            }
            let members = callbase_db::accounts::group_members(tx, tenant, GroupId(g)).await?;
            if !callbase_db::accounts::list_groups(tx, tenant).await?.iter().any(|x| x.id == GroupId(g)) {
                return Err(ApiError::unprocessable("invalid_group", "group_id: no such access group"));
            }
            users = Some(members.into_iter().map(|u| u.0).collect());
        }
        if let Some(u) = self.user_id {
            if !full && u != cu.user_id.0 {
                return Err(not_supervisor());
            }
            users = Some(match users {
                Some(members) => members.into_iter().filter(|m| *m == u).collect(),
                None => vec![u],
            });
        }
        if !full {
            users = Some(vec![cu.user_id.0]);
        }
        Ok(Request {
            tz,
            span,
            previous: prev,
            filters: Filters { users, trunk: self.trunk, queue: self.queue_id, direction },
            full,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;
    use time::Month;

    #[test]
    fn named_periods_are_whole_local_days() {
        let today = date!(2026 - 03 - 04); // a Wednesday
        assert_eq!(days("today", today, None, None).unwrap(), (today, today));
        assert_eq!(
            days("yesterday", today, None, None).unwrap(),
            (date!(2026 - 03 - 03), date!(2026 - 03 - 03))
        );
        assert_eq!(days("this_week", today, None, None).unwrap(), (date!(2026 - 03 - 02), today));
        assert_eq!(
            days("last_week", today, None, None).unwrap(),
            (date!(2026 - 02 - 23), date!(2026 - 03 - 01))
        );
        assert_eq!(days("this_month", today, None, None).unwrap(), (date!(2026 - 03 - 01), today));
        assert_eq!(
            days("last_month", today, None, None).unwrap(),
            (date!(2026 - 02 - 01), date!(2026 - 02 - 28))
        );
        assert_eq!(days("last_7_days", today, None, None).unwrap(), (date!(2026 - 02 - 26), today));
        assert_eq!(
            days("custom", today, Some("2026-01-30"), Some("2026-02-02")).unwrap(),
            (date!(2026 - 01 - 30), date!(2026 - 02 - 02))
        );
    }

    #[test]
    fn bad_periods_are_refused_naming_the_field() {
        let today = date!(2026 - 03 - 04);
        for (p, f, t) in [
            ("custom", Some("2026-02-02"), Some("2026-01-30")),
            ("custom", Some("2026-02-30"), Some("2026-03-01")),
            ("custom", None, Some("2026-03-01")),
            ("custom", Some("2024-01-01"), Some("2026-03-01")),
            ("fortnight", None, None),
        ] {
            let e = days(p, today, f, t).unwrap_err();
            assert!(format!("{e:?}").contains("invalid_period"), "{p} {f:?} {t:?}: {e:?}");
        }
    }

    #[test]
    fn the_previous_period_is_as_long_and_right_before() {
        let d = |y, m, d| Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap();
        assert_eq!(previous("today", d(2026, 3, 4), d(2026, 3, 4)), (d(2026, 3, 3), d(2026, 3, 3)));
        assert_eq!(previous("this_week", d(2026, 3, 2), d(2026, 3, 4)), (d(2026, 2, 27), d(2026, 3, 1)));
        assert_eq!(previous("last_month", d(2026, 2, 1), d(2026, 2, 28)), (d(2026, 1, 1), d(2026, 1, 31)));
        // March 1–31 so far → February 1–28 (February has no 29th–31st).
        assert_eq!(previous("this_month", d(2026, 3, 1), d(2026, 3, 31)), (d(2026, 2, 1), d(2026, 2, 28)));
        assert_eq!(previous("this_month", d(2026, 3, 1), d(2026, 3, 4)), (d(2026, 2, 1), d(2026, 2, 4)));
    }
}
