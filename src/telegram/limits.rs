//! Telegram's rate limits, kept without delay: a message goes at once when no limit is near,
//! and waits only as long as a limit needs.
//!
//! Telegram asks bots to send no more than about one message a second to a chat, 20 a minute
//! to a group, and 30 a second overall, and answers a 429 with `retry_after` when they do.
//! teloxide's `Throttle` keeps the same limits but releases queued messages on a 250 ms tick,
//! so every reply waited up to a quarter of a second even when nothing was near a limit
//! (BENCHMARKS.md measured it). This limiter reserves each message's earliest allowed moment
//! instead: the caller sleeps for exactly that long, usually not at all.
//!
//! Reservations can lie in the future (a chat's second message waits a second), so a new one is
//! checked against every moment already booked, earlier *and later*: wherever a one-second
//! window is placed, it holds at most [`OVERALL_PER_SECOND`] moments, future ones included (an
//! earlier version looked only at the second before each new moment, and the bot sent 39
//! messages in one second). Booked moments are also kept [`SPACING`] apart, so a burst leaves
//! as a quick succession, not as a pile of identical instants. The overall limit keeps a
//! margin under Telegram's 30 a second.
//!
//! Booked moments are not when messages leave: a task that wakes late (a busy machine, a
//! stalled runtime) sends late, and several late ones would leave together, over the limit
//! (a test on a loaded machine saw 31 in one second). So after its booked wait each message
//! also passes [`Limiter::pace`], which keeps the moments messages *actually* leave at least
//! [`MIN_GAP`] apart: never more than 29 in any second, however the waits were kept.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One message a second to a chat.
pub const PER_CHAT: Duration = Duration::from_secs(1);

/// Twenty messages a minute to a group: in any 60-second window, wherever it is placed.
pub const PER_GROUP_MINUTE: usize = 20;

/// Twenty-five messages a second overall (Telegram allows about 30): in any one-second window,
/// wherever it is placed, reservations still to come included.
pub const OVERALL_PER_SECOND: usize = 25;

/// The least time between any two booked moments, whatever their chats: a burst of 25 replies
/// leaves over half a second rather than all in the same instant, and a lone message waits at
/// most this long for another that has just gone.
pub const SPACING: Duration = Duration::from_millis(20);

/// The least time between two messages actually leaving ([`Limiter::pace`]): at most 29 in
/// any one-second window, under Telegram's 30.
pub const MIN_GAP: Duration = Duration::from_millis(35);

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);

/// Forget quiet chats when there are more than this many (or twice as many as last time).
const CHATS_KEPT: usize = 10_000;

#[derive(Default)]
struct Chat {
    /// The last moment reserved for this chat (always its latest: each is booked after it).
    last: Option<Instant>,
    /// Moments reserved in the last minute and after (groups only), in order.
    minute: VecDeque<Instant>,
}

#[derive(Default)]
struct State {
    chats: HashMap<i64, Chat>,
    /// Every moment booked from a second before the latest `now` on, overall, in order.
    overall: VecDeque<Instant>,
    /// The latest `now` seen: callers' clocks are read before the lock is taken, so they can
    /// arrive slightly out of order; moments are never booked before this one.
    latest: Option<Instant>,
    /// A stretch of time known to have no free moment: bookings only ever add constraints, so
    /// it stays full, and a burst does not search it again for every message.
    full: Option<(Instant, Instant)>,
    /// Forget quiet chats when there are more than this many.
    prune_above: usize,
}

/// The limits for one bot.
#[derive(Default)]
pub struct Limiter {
    state: Mutex<State>,
    /// When the last message actually left (see [`Limiter::pace`]).
    left: tokio::sync::Mutex<Option<Instant>>,
}

/// Group and channel chats have negative ids on Telegram.
fn is_group(chat: i64) -> bool {
    chat < 0
}

/// Whether one more moment at `t` keeps `booked` (in order) within the overall limits: at least
/// [`SPACING`] from every other, and at most [`OVERALL_PER_SECOND`] in any one-second window.
/// Checks only the windows that would hold `t`: O(limit + log n).
fn fits(booked: &VecDeque<Instant>, t: Instant) -> bool {
    let p = booked.partition_point(|s| *s < t);
    if p > 0 && t - booked[p - 1] < SPACING {
        return false;
    }
    if p < booked.len() && booked[p] - t < SPACING {
        return false;
    }
    // The moments with `t` inserted at `p`: at most N in any window [x, x + 1 s) means any
    // N + 1 in a row span at least a second. Only runs holding `t` can have changed.
    let with = |j: usize| match j.cmp(&p) {
        std::cmp::Ordering::Less => booked[j],
        std::cmp::Ordering::Equal => t,
        std::cmp::Ordering::Greater => booked[j - 1],
    };
    let n = booked.len() + 1;
    let k = OVERALL_PER_SECOND;
    (p.saturating_sub(k)..=p)
        .filter(|i| i + k < n)
        .all(|i| with(i + k) - with(i) >= SECOND)
}

/// The earliest moment at or after `from` that [`fits`]. A moment stops fitting only by coming
/// too close to a booked one, and starts fitting again only a [`SPACING`] or a second after one,
/// so those are the only places to look.
fn earliest(booked: &VecDeque<Instant>, from: Instant) -> Instant {
    let mut t = from;
    while !fits(booked, t) {
        let after_gap = booked.partition_point(|s| *s + SPACING <= t);
        let after_second = booked.partition_point(|s| *s + SECOND <= t);
        t = [
            booked.get(after_gap).map(|s| *s + SPACING),
            booked.get(after_second).map(|s| *s + SECOND),
        ]
        .into_iter()
        .flatten()
        .min()
        .expect("a moment that does not fit is near a booked one");
    }
    t
}

impl Limiter {
    /// A limiter with nothing sent yet.
    pub fn new() -> Limiter {
        Limiter::default()
    }

    /// Reserves the earliest moment at or after `now` when a message may go to `chat`, and
    /// returns how long to wait for it (zero when no limit is near).
    pub fn reserve(&self, chat: i64, now: Instant) -> Duration {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let now_ = s.latest.map_or(now, |l| l.max(now));
        s.latest = Some(now_);
        // A moment a second or more before `now_` shares no window with anything booked from
        // now on.
        while s.overall.front().is_some_and(|t| *t + SECOND <= now_) {
            s.overall.pop_front();
        }
        if s.full.is_some_and(|(_, until)| until < now_) {
            s.full = None;
        }
        if s.chats.len() > s.prune_above.max(CHATS_KEPT) {
            // Forget chats quiet for a minute (nothing booked for them lies within a minute).
            s.chats
                .retain(|_, c| c.last.is_some_and(|t| t + MINUTE > now_));
            s.prune_above = 2 * s.chats.len();
        }
        let mut at = now_;
        {
            let c = s.chats.entry(chat).or_default();
            if let Some(last) = c.last {
                at = at.max(last + PER_CHAT);
            }
            if is_group(chat) {
                while c.minute.front().is_some_and(|t| *t + MINUTE <= now_) {
                    c.minute.pop_front();
                }
                // The new moment is the group's latest, so the only windows it can overfill
                // are those ending at it: the 20th before it must be a minute earlier.
                if c.minute.len() >= PER_GROUP_MINUTE {
                    let k = c.minute.len() - PER_GROUP_MINUTE;
                    at = at.max(c.minute[k] + MINUTE);
                }
            }
        }
        // Overall: skip a stretch already known to be full, then look for the first free moment.
        let from = match s.full {
            Some((start, until)) if start <= at && at <= until => until,
            _ => at,
        };
        let found = earliest(&s.overall, from);
        // Everything from `at` to `found` is now taken (`found` by this booking).
        s.full = Some(match s.full {
            Some((start, until)) if start <= at && at <= until => (start, found),
            _ => (at, found),
        });
        let at = found;
        let pos = s.overall.partition_point(|t| *t <= at);
        s.overall.insert(pos, at);
        let c = s.chats.entry(chat).or_default();
        c.last = Some(c.last.map_or(at, |l| l.max(at)));
        if is_group(chat) {
            c.minute.push_back(at);
        }
        at - now
    }

    /// Waits until at least [`MIN_GAP`] has passed since the last message left, then marks
    /// this one as leaving now. Callers queue in order (the lock is fair).
    pub async fn pace(&self) {
        let mut left = self.left.lock().await;
        if let Some(last) = *left {
            let next = last + MIN_GAP;
            if next > Instant::now() {
                tokio::time::sleep_until(next.into()).await;
            }
        }
        *left = Some(Instant::now());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[tokio::test]
    async fn messages_leave_at_least_the_gap_apart_however_late_their_tasks_woke() {
        // Forty senders released together (as if their booked moments had all passed while
        // the runtime was stalled): they leave one gap apart, never a pile.
        let l = std::sync::Arc::new(Limiter::new());
        let times = std::sync::Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for _ in 0..40 {
            let (l, times) = (l.clone(), times.clone());
            tasks.push(tokio::spawn(async move {
                l.pace().await;
                times.lock().unwrap().push(Instant::now());
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let mut times = times.lock().unwrap().clone();
        times.sort();
        for w in times.windows(2) {
            // The stamp is taken just after `pace` returns, so allow a little for that.
            assert!(
                w[1] - w[0] >= MIN_GAP - Duration::from_millis(5),
                "{:?}",
                w[1] - w[0]
            );
        }
        let most = (0..times.len())
            .map(|i| {
                times[i..]
                    .iter()
                    .take_while(|u| **u - times[i] < SECOND)
                    .count()
            })
            .max()
            .unwrap();
        assert!(most <= 30, "{most} in one second");
    }

    #[test]
    fn the_first_message_to_a_chat_goes_at_once_and_the_next_a_second_later() {
        let l = Limiter::new();
        let t = Instant::now();
        assert_eq!(l.reserve(7, t), Duration::ZERO);
        assert_eq!(l.reserve(7, t), PER_CHAT);
        assert_eq!(
            l.reserve(8, t),
            SPACING,
            "another chat is held up only by the spacing"
        );
        // Later, with nothing near, a chat's message goes at once.
        assert_eq!(l.reserve(9, t + Duration::from_secs(2)), Duration::ZERO);
        assert_eq!(l.reserve(9, t + Duration::from_secs(4)), Duration::ZERO);
    }

    #[test]
    fn a_group_gets_at_most_twenty_a_minute() {
        let l = Limiter::new();
        let t = Instant::now();
        let waits: Vec<Duration> = (0..21).map(|_| l.reserve(-100, t)).collect();
        assert_eq!(waits[19], Duration::from_secs(19));
        assert_eq!(
            waits[20], MINUTE,
            "the 21st waits for the first to be a minute old"
        );
    }

    #[test]
    fn a_burst_is_spread_and_held_under_the_overall_limit() {
        let l = Limiter::new();
        let t = Instant::now();
        let waits: Vec<Duration> = (0..26).map(|chat| l.reserve(chat, t)).collect();
        for (i, w) in waits[..25].iter().enumerate() {
            assert_eq!(*w, SPACING * i as u32, "the burst leaves one by one");
        }
        assert_eq!(
            waits[25], SECOND,
            "the 26th waits for the first to be a second old"
        );
    }

    #[test]
    fn moments_booked_later_count_too() {
        // A group's 21st message is booked a minute ahead; a burst just before that moment must
        // leave room for it in every window (looking only at the second before each new moment,
        // as the limiter once did, books 26 into that second).
        let l = Limiter::new();
        let t = Instant::now();
        let mut at: Vec<Instant> = (0..21).map(|_| t + l.reserve(-100, t)).collect();
        assert_eq!(at[20] - t, MINUTE);
        let later = t + MINUTE - Duration::from_millis(500);
        for chat in 1..=40 {
            at.push(later + l.reserve(chat, later));
        }
        at.sort();
        for w in at.windows(OVERALL_PER_SECOND + 1) {
            assert!(
                w[OVERALL_PER_SECOND] - w[0] >= SECOND,
                "26 within {:?}",
                w[25] - w[0]
            );
        }
    }

    fn chat() -> impl Strategy<Value = i64> {
        prop_oneof![
            2 => -3i64..=3,
            // Enough chats for their second messages, booked a second ahead, to crowd a window.
            4 => -40i64..60,
            1 => prop::sample::select(vec![-1_001_234_567_890, -100, 42, 7_000_000_000]),
            1 => any::<i64>(),
        ]
    }

    fn step_ms() -> impl Strategy<Value = u64> {
        prop_oneof![
            4 => Just(0u64),
            4 => 0u64..40,
            1 => 0u64..3000,
            1 => 55_000u64..61_000,
        ]
    }

    /// A chat, a step of time, and how many messages: to that chat (a group past its minute's
    /// twenty books a minute ahead) or to that many chats near it (groups stay groups).
    fn op() -> impl Strategy<Value = (i64, u64, i64, bool)> {
        (
            chat(),
            step_ms(),
            prop_oneof![6 => Just(1i64), 1 => 1i64..40],
            any::<bool>(),
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn no_window_anywhere_holds_more_than_the_limits(
            ops in prop::collection::vec(op(), 1..300)
        ) {
            let l = Limiter::new();
            let mut now = Instant::now();
            let mut booked: Vec<(Instant, i64)> = Vec::new();
            for (chat, step, n, same) in ops {
                now += Duration::from_millis(step);
                for j in 0..n {
                    let chat = match (same, chat < 0) {
                        (true, _) => chat,
                        (false, true) => chat.saturating_sub(j * 1000),
                        (false, false) => chat.saturating_add(j * 1000),
                    };
                    let wait = l.reserve(chat, now);
                    booked.push((now + wait, chat));
                }
            }
            booked.sort();
            let all: Vec<Instant> = booked.iter().map(|(t, _)| *t).collect();
            for w in all.windows(2) {
                prop_assert!(w[1] - w[0] >= SPACING, "two moments {:?} apart", w[1] - w[0]);
            }
            for w in all.windows(OVERALL_PER_SECOND + 1) {
                prop_assert!(
                    w[OVERALL_PER_SECOND] - w[0] >= SECOND,
                    "{} in {:?}", OVERALL_PER_SECOND + 1, w[OVERALL_PER_SECOND] - w[0]
                );
            }
            let mut by_chat: HashMap<i64, Vec<Instant>> = HashMap::new();
            for (t, c) in &booked {
                by_chat.entry(*c).or_default().push(*t);
            }
            for (c, ts) in &by_chat {
                for w in ts.windows(2) {
                    prop_assert!(w[1] - w[0] >= PER_CHAT, "chat {}: {:?} apart", c, w[1] - w[0]);
                }
                if is_group(*c) {
                    for w in ts.windows(PER_GROUP_MINUTE + 1) {
                        prop_assert!(
                            w[PER_GROUP_MINUTE] - w[0] >= MINUTE,
                            "group {}: {} in {:?}", c, PER_GROUP_MINUTE + 1, w[PER_GROUP_MINUTE] - w[0]
                        );
                    }
                }
            }
        }
    }
}
