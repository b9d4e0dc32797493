//! The session's side of community insights (reports reused for a few minutes and made one at
//! a time, [`Reports`]): which communities a person is counted in (from
//! events the adapters mark with their community, and challenges joined), and a community's
//! report computed over every readable record ([`crate::insights`] does the counting; a
//! record that cannot be read is skipped with the usual warning naming its key).

use super::{Event, Session};
use crate::challenge::{self, Challenge};
use crate::engine::{Message, UserState};
use crate::insights::{self, Period, Report};
use crate::store::StoreError;
use jiff::Timestamp;

/// The community a challenge's group belongs to: the one recorded when it was started (a
/// Discord channel's server), else a Telegram group itself.
pub fn community_of(c: &Challenge) -> Option<String> {
    c.community.clone().or_else(|| {
        c.group
            .starts_with("telegram:chat:")
            .then(|| c.group.clone())
    })
}

/// How long a community's report is reused for the leads who ask again (a report reads and
/// opens every record in the store: at 20,000 people about a second, see BENCHMARKS.md).
pub const REUSE_FOR: jiff::SignedDuration = jiff::SignedDuration::from_mins(5);

/// Community reports computed lately (by community and period, with when), and a gate that
/// lets one be computed at a time in this process: a lead (or anyone who made a group to be
/// its admin) asking again and again cannot keep the store busy reading every record.
pub struct Reports {
    made: std::sync::Mutex<std::collections::BTreeMap<(String, Period), (Timestamp, Report)>>,
    gate: tokio::sync::Semaphore,
}

impl Default for Reports {
    fn default() -> Self {
        Reports {
            made: Default::default(),
            gate: tokio::sync::Semaphore::new(1),
        }
    }
}

impl Session {
    /// A community's insights over a period: every person's record read (unreadable ones
    /// skipped), and every challenge record.
    pub async fn insights(
        &self,
        community: &str,
        period: Period,
        now: Timestamp,
    ) -> Result<Report, StoreError> {
        let mut people = Vec::new();
        for key in self.store.users().await? {
            if let Some(Some(s)) = self.or_skip(self.store.get_user(&key).await, "insights")? {
                people.push(s);
            }
        }
        let challenges = self.challenges().await?;
        Ok(insights::compute(
            &self.catalog,
            &people,
            &challenges,
            community,
            period,
            now,
        ))
    }

    /// The report as a lead reads it (text and picture, private), or an apology when the
    /// store failed (logged without any personal detail).
    /// A report made in the last `REUSE_FOR` (five minutes) is reused; one is computed at a time.
    pub async fn insights_messages(&self, community: &str, period: Period) -> Vec<Message> {
        match self.recent_insights(community, period).await {
            Ok(r) => insights::render::messages(&self.catalog, &r),
            Err(e) => {
                tracing::warn!("computing community insights failed: {e}");
                vec![Message::private().para(self.catalog.t("store_failed"))]
            }
        }
    }

    /// [`Session::insights`] for the platforms: reused for `REUSE_FOR` (five minutes), computed one at a
    /// time.
    async fn recent_insights(&self, community: &str, period: Period) -> Result<Report, StoreError> {
        let key = (community.to_string(), period);
        let fresh = |s: &Session| {
            let made = s.reports.made.lock().unwrap_or_else(|p| p.into_inner());
            let now = s.now();
            made.get(&key)
                .filter(|(at, _)| now.duration_since(*at) < REUSE_FOR)
                .map(|(_, r)| r.clone())
        };
        if let Some(r) = fresh(self) {
            return Ok(r);
        }
        let _one_at_a_time = self.reports.gate.acquire().await;
        // Made by another lead's request while this one waited.
        if let Some(r) = fresh(self) {
            return Ok(r);
        }
        let now = self.now();
        let report = self.insights(community, period, now).await?;
        let mut made = self.reports.made.lock().unwrap_or_else(|p| p.into_inner());
        made.retain(|_, (at, _)| now.duration_since(*at) < REUSE_FOR);
        made.insert(key, (now, report.clone()));
        Ok(report)
    }

    /// Notes that a person used the bot from a community outside a turn (a command in a
    /// Telegram group, a public lookup in a Discord server). Only a person who already has a
    /// record (and so has seen the privacy notice) is noted; nothing is created for anyone
    /// else, and an opted-out person is left as they are. A failure is logged and passed
    /// over: counting must never stand in the way of an answer.
    /// An account linked to another record notes it on that record (`engine::link`).
    pub async fn note_community(&self, user: &str, community: &str) {
        let user = &match self.person_of(user).await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!("noting a community for insights failed: {e}");
                return;
            }
        };
        let lock = self.lock_for(user);
        let result = async {
            let _guard = lock.lock().await;
            let _held = self.store.hold_turn(user).await?;
            let Some(mut s) = self
                .or_skip(self.store.get_user(user).await, "insights membership")?
                .flatten()
            else {
                return Ok(());
            };
            // Linked to another record since it was looked up: that record is noted next time.
            // Not yet told that communities see counts (started before insights): noted
            // only once they have been, on their next turn.
            if s.linked_to.is_some()
                || !s.tally.told
                || s.tally.opted_out
                || s.tally.communities.contains_key(community)
            {
                return Ok(());
            }
            s.tally.seen_in(community, self.now());
            let mut w = crate::store::Write::default();
            w.users.push(s);
            self.write(w).await
        }
        .await;
        self.release(user, lock);
        if let Err(e) = result {
            tracing::warn!("noting a community for insights failed: {e}");
        }
    }

    /// Counts a challenge request (the caller holds the person's lock and saves `st`): the
    /// person was active, in the event's community if it has one, and in the community of a
    /// challenge they are (now) a member of.
    pub(super) async fn count_member_turn(
        &self,
        st: &mut UserState,
        ev: &Event,
        group: Option<&str>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if st.tally.opted_out {
            return Ok(());
        }
        st.tally.active(now);
        if let Some(c) = &ev.community {
            st.tally.seen_in(c, now);
        }
        if let Some(g) = group.filter(|g| challenge::is_group_key(g))
            && let Some(c) = self.or_skip(self.challenge(g).await, "insights")?.flatten()
            && c.member(&ev.user).is_some()
            && let Some(community) = community_of(&c)
        {
            st.tally.seen_in(&community, now);
        }
        Ok(())
    }
}
