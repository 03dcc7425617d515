//! Problem reports in the registry: anyone may file one about a feature (at most
//! [`REPORT_LIMIT`] per sender), editors list them and mark them handled. An
//! editor limited to one city sees and closes only the reports of its city's
//! features.

use std::net::IpAddr;
use std::time::Duration;

use serde::Serialize;

use super::{EditError, Editor, Registry};
use crate::geodata::FeatureRef;
use crate::store::{Filed, Report, ReportKind, ReportLimit, ReportStatus, Role};

/// Reports one sender may file per hour.
pub const REPORT_LIMIT: ReportLimit = ReportLimit {
    max: 5,
    window: Duration::from_secs(3600),
};

/// What names one sender for the rate limit: an IPv4 address, or the /64 network
/// of an IPv6 address (one household or phone holds a whole /64, so counting
/// single IPv6 addresses would limit nothing). Unknown addresses share one name.
pub fn sender(ip: Option<IpAddr>) -> String {
    match ip.map(|ip| ip.to_canonical()) {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        None => "unknown".to_owned(),
    }
}

/// The feature a report is about, as the served data has it (absent once deleted).
#[derive(Clone, Debug, Serialize)]
pub struct ReportedFeature {
    /// Its name.
    pub name: String,
    /// Its layer.
    pub layer: &'static str,
    /// Its city.
    pub city: Option<String>,
}

/// A report as editors see it.
#[derive(Clone, Debug, Serialize)]
pub struct ReportView {
    /// The stored report.
    #[serde(flatten)]
    pub report: Report,
    /// `open` or `closed`.
    pub status: &'static str,
    /// The feature, when it still exists.
    pub feature: Option<ReportedFeature>,
}

impl Registry {
    /// Files a report about `feature_id` from `client`. `NotFound` for an unknown
    /// feature; [`Filed::Limited`] past the sender's quota.
    pub fn file_report(
        &self,
        feature_id: &str,
        kind: ReportKind,
        note: Option<&str>,
        client: Option<IpAddr>,
    ) -> Result<Filed, EditError> {
        Ok(self
            .store()
            .file_report(feature_id, kind, note, &sender(client), REPORT_LIMIT)?)
    }

    /// The reports of that status `who` may see, newest first, at most `limit`.
    pub fn reports(
        &self,
        who: &Editor,
        status: ReportStatus,
        limit: usize,
    ) -> Result<Vec<ReportView>, EditError> {
        let city = limited_to(who);
        // A city's reports are picked from all of them: the filter is not SQL's.
        let fetch = if city.is_some() { usize::MAX } else { limit };
        let reports = self.store().reports(status, fetch)?;
        Ok(reports
            .into_iter()
            .map(|r| self.view(r))
            .filter(|v| visible(city, v))
            .take(limit)
            .collect())
    }

    /// Marks report `id` handled (once: closing a closed report changes nothing).
    pub fn close_report(&self, who: &Editor, id: i64) -> Result<ReportView, EditError> {
        let not_found = || EditError::NotFound(format!("no report {id}"));
        let report = self.store().report(id)?.ok_or_else(not_found)?;
        let city = limited_to(who);
        if !visible(city, &self.view(report)) {
            return Err(EditError::Forbidden(format!(
                "the token '{}' may handle reports of {} only",
                who.token.name,
                city.unwrap_or_default()
            )));
        }
        let closed = self.store().close_report(id, &who.token.name)?;
        Ok(self.view(closed))
    }

    fn view(&self, report: Report) -> ReportView {
        let feature = self.atlas().and_then(|atlas| {
            Some(match atlas.get(&report.feature_id)? {
                FeatureRef::Facility(i) => {
                    let f = atlas.facility(i);
                    ReportedFeature {
                        name: f.name().to_owned(),
                        layer: f.layer.id(),
                        city: f.city.as_deref().map(str::to_owned),
                    }
                }
                FeatureRef::Park(i) => {
                    let p = atlas.park(i);
                    ReportedFeature {
                        name: p.name.to_string(),
                        layer: crate::model::Layer::Park.id(),
                        city: p.city.as_deref().map(str::to_owned),
                    }
                }
            })
        });
        ReportView {
            status: if report.closed_at.is_some() {
                "closed"
            } else {
                "open"
            },
            report,
            feature,
        }
    }
}

/// The one city an editor is limited to (admins and unlimited editors: none).
fn limited_to(who: &Editor) -> Option<&str> {
    match (who.token.role, &who.token.city) {
        (Role::Editor, Some(city)) => Some(city),
        _ => None,
    }
}

fn visible(city: Option<&str>, v: &ReportView) -> bool {
    city.is_none_or(|c| v.feature.as_ref().and_then(|f| f.city.as_deref()) == Some(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// IPv4 (and IPv4-mapped IPv6) addresses are senders as they are; IPv6
    /// addresses count by their /64.
    #[test]
    fn senders_are_addresses_or_ipv6_networks() {
        let ip = |s: &str| Some(s.parse::<IpAddr>().unwrap());
        assert_eq!(sender(ip("192.0.2.7")), "192.0.2.7");
        assert_eq!(sender(ip("::ffff:192.0.2.7")), "192.0.2.7");
        assert_eq!(sender(ip("2001:db8:1:2:3:4:5:6")), "2001:db8:1:2::/64");
        assert_eq!(
            sender(ip("2001:db8:1:2::9")),
            sender(ip("2001:db8:1:2:ffff::1"))
        );
        assert_eq!(sender(None), "unknown");
    }
}
