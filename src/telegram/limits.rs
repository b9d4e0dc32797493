//! Telegram's rate limits, kept without delay: a message goes at once when no limit is near,
//! and waits only as long as a limit needs.
//!
//! Telegram asks bots to send no more than about one message a second to a chat, 20 a minute
//! to a group, and 30 a second overall, and answers a 429 with `retry_after` when they do.
//! teloxide's `Throttle` keeps the same limits but releases queued messages on a 250 ms tick,
//! so every reply waited up to a quarter of a second even when nothing was near a limit
//! (BENCHMARKS.md measured it). This limiter reserves each message's earliest allowed moment
//! instead: the caller sleeps for exactly that long, usually not at all.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// One message a second to a chat.
pub const PER_CHAT: Duration = Duration::from_secs(1);

/// Twenty messages a minute to a group.
pub const PER_GROUP_MINUTE: usize = 20;

/// Thirty messages a second overall.
pub const OVERALL_PER_SECOND: usize = 30;

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);

#[derive(Default)]
struct Chat {
    /// The last moment reserved for this chat.
    last: Option<Instant>,
    /// Moments reserved in the last minute (groups only), in order.
    minute: VecDeque<Instant>,
}

#[derive(Default)]
struct State {
    chats: HashMap<i64, Chat>,
    /// Moments reserved in the last second or so, overall, in order.
    overall: VecDeque<Instant>,
}

/// The limits for one bot.
#[derive(Default)]
pub struct Limiter {
    state: Mutex<State>,
}

/// Group and channel chats have negative ids on Telegram.
fn is_group(chat: i64) -> bool {
    chat < 0
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
        while s
            .overall
            .front()
            .is_some_and(|t| now.saturating_duration_since(*t) > SECOND)
        {
            s.overall.pop_front();
        }
        if s.chats.len() > 10_000 {
            // Forget chats that have been quiet for a minute.
            s.chats.retain(|_, c| {
                c.last
                    .is_some_and(|t| now.saturating_duration_since(t) < MINUTE)
            });
        }
        let mut at = now;
        {
            let c = s.chats.entry(chat).or_default();
            if let Some(last) = c.last {
                at = at.max(last + PER_CHAT);
            }
            if is_group(chat) {
                while c
                    .minute
                    .front()
                    .is_some_and(|t| now.saturating_duration_since(*t) >= MINUTE)
                {
                    c.minute.pop_front();
                }
                if c.minute.len() >= PER_GROUP_MINUTE {
                    let k = c.minute.len() - PER_GROUP_MINUTE;
                    at = at.max(c.minute[k] + MINUTE);
                }
            }
        }
        // Overall: at most 30 moments in any one-second window ending at `at`.
        loop {
            let from = s.overall.partition_point(|t| *t + SECOND <= at);
            let upto = s.overall.partition_point(|t| *t <= at);
            if upto - from < OVERALL_PER_SECOND {
                break;
            }
            at = s.overall[from] + SECOND;
        }
        let pos = s.overall.partition_point(|t| *t <= at);
        s.overall.insert(pos, at);
        let c = s.chats.entry(chat).or_default();
        c.last = Some(c.last.map_or(at, |l| l.max(at)));
        if is_group(chat) {
            let pos = c.minute.partition_point(|t| *t <= at);
            c.minute.insert(pos, at);
        }
        at - now
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_message_to_a_chat_goes_at_once_and_the_next_a_second_later() {
        let l = Limiter::new();
        let t = Instant::now();
        assert_eq!(l.reserve(7, t), Duration::ZERO);
        assert_eq!(l.reserve(7, t), PER_CHAT);
        assert_eq!(
            l.reserve(8, t),
            Duration::ZERO,
            "another chat is not held up"
        );
        // A second later, the chat is free again.
        assert_eq!(l.reserve(9, t), Duration::ZERO);
        assert_eq!(l.reserve(9, t + Duration::from_secs(2)), Duration::ZERO);
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
    fn at_most_thirty_a_second_overall() {
        let l = Limiter::new();
        let t = Instant::now();
        for chat in 0..30 {
            assert_eq!(l.reserve(chat, t), Duration::ZERO);
        }
        assert_eq!(l.reserve(1000, t), SECOND);
    }
}
