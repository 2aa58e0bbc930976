//! The network's timetable: epochs, rounds, warm-up, the entry cutoff and the grace period.
//!
//! Every node of a network must use the same schedule: the draw, the entry cutoff and the
//! close of each epoch are computed from it and from nothing else, so two nodes whose clocks
//! agree (within [`CLOCK_SKEW_MS`]) agree on all of them.

use serde::{Deserialize, Serialize};

use crate::epoch::EpochClock;

/// How far two honest nodes' clocks may disagree. An item of an epoch that starts within
/// this much of `now` is early, not invalid: its sender's clock runs ahead of ours.
pub const CLOCK_SKEW_MS: u64 = 2_000;

/// Epoch and round timing, in milliseconds of Unix time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Schedule {
    /// Start of epoch 0.
    pub genesis_ms: u64,
    /// Length of an epoch.
    pub epoch_ms: u64,
    /// Rounds start this often within an epoch.
    pub round_ms: u64,
    /// The first round starts this long after the epoch opens (discovery settles).
    pub warmup_ms: u64,
    /// No round starts later than this before the epoch closes, so matches end in time.
    pub last_round_ms: u64,
    /// An epoch counts as closed this long after its end: late outcomes and catch-up fetches
    /// arrive within it.
    pub grace_ms: u64,
    /// A player that stays silent this long in a match is claimed against.
    pub step_timeout_ms: u64,
    /// The accused has this long to answer a claim.
    pub answer_timeout_ms: u64,
}

impl Default for Schedule {
    fn default() -> Self {
        Self {
            genesis_ms: 1_767_225_600_000, // 2026-01-01T00:00:00Z
            epoch_ms: 600_000,
            round_ms: 60_000,
            warmup_ms: 10_000,
            last_round_ms: 60_000,
            grace_ms: 20_000,
            step_timeout_ms: 5_000,
            answer_timeout_ms: 5_000,
        }
    }
}

/// Why a schedule makes no sense.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ScheduleError(pub &'static str);

impl Schedule {
    /// The epoch clock.
    pub fn clock(&self) -> EpochClock {
        EpochClock {
            genesis: self.genesis_ms,
            length: self.epoch_ms.max(1),
        }
    }

    /// The epoch `now` falls in (0 before genesis).
    pub fn epoch_at(&self, now: u64) -> u64 {
        self.clock().epoch_at(now)
    }

    /// When `epoch` starts.
    pub fn epoch_start(&self, epoch: u64) -> u64 {
        self.clock().close_of(epoch).saturating_sub(self.epoch_ms)
    }

    /// When `epoch` ends (its grace period starts).
    pub fn epoch_end(&self, epoch: u64) -> u64 {
        self.clock().close_of(epoch)
    }

    /// Entries for `epoch` that arrive from then on do not count in its entrant list: every
    /// node fixes the list half-way through the warm-up, before the first round is drawn.
    pub fn entry_cutoff(&self, epoch: u64) -> u64 {
        self.epoch_start(epoch).saturating_add(self.warmup_ms / 2)
    }

    /// Epochs before the returned one are closed at `now`: their grace period has passed.
    pub fn closed_before(&self, now: u64) -> u64 {
        let clock = self.clock();
        (0..=clock.epoch_at(now))
            .rev()
            .find(|e| now >= clock.close_of(*e).saturating_add(self.grace_ms))
            .map(|e| e.saturating_add(1))
            .unwrap_or(0)
    }

    /// The round of `epoch` that is due at `now`, if one is: a round is played only while it
    /// has just begun (within half a round of its start) and only if it can end before the
    /// close.
    pub fn round_due(&self, epoch: u64, now: u64) -> Option<u32> {
        let first = self.epoch_start(epoch).saturating_add(self.warmup_ms);
        let since = now.checked_sub(first)?;
        let round = u32::try_from(since.checked_div(self.round_ms)?).ok()?;
        let round_at = first.saturating_add(u64::from(round).saturating_mul(self.round_ms));
        let last_start = self.epoch_end(epoch).saturating_sub(self.last_round_ms);
        (round_at <= last_start && now.saturating_sub(round_at) <= self.round_ms / 2)
            .then_some(round)
    }

    /// When the next round after `now` starts (for the driver's wake-up).
    pub fn next_round_at(&self, now: u64) -> u64 {
        let epoch = self.epoch_at(now);
        let first = self.epoch_start(epoch).saturating_add(self.warmup_ms);
        if now < first {
            return first;
        }
        let step = self.round_ms.max(1);
        let n = now
            .saturating_sub(first)
            .checked_div(step)
            .unwrap_or(0)
            .saturating_add(1);
        let at = first.saturating_add(n.saturating_mul(step));
        at.min(self.epoch_end(epoch).saturating_add(self.warmup_ms))
    }

    /// Checks values that must agree.
    pub fn check(&self) -> Result<(), ScheduleError> {
        if self.epoch_ms == 0 || self.round_ms == 0 {
            return Err(ScheduleError(
                "schedule.epoch_ms and schedule.round_ms must be positive",
            ));
        }
        if self.warmup_ms.saturating_add(self.last_round_ms) > self.epoch_ms {
            return Err(ScheduleError(
                "schedule.warmup_ms + schedule.last_round_ms must fit in schedule.epoch_ms",
            ));
        }
        if self.grace_ms >= self.epoch_ms {
            return Err(ScheduleError(
                "schedule.grace_ms must be shorter than schedule.epoch_ms",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schedule() -> Schedule {
        Schedule {
            genesis_ms: 1_000,
            epoch_ms: 10_000,
            round_ms: 1_000,
            warmup_ms: 2_000,
            last_round_ms: 3_000,
            grace_ms: 1_500,
            step_timeout_ms: 500,
            answer_timeout_ms: 500,
        }
    }

    #[test]
    fn rounds_are_due_only_just_after_they_start_and_only_if_they_can_end() {
        let s = schedule();
        // Epoch 0 runs 1 000..11 000; rounds from 3 000 every second, the last at 8 000.
        assert_eq!(s.round_due(0, 2_999), None);
        assert_eq!(s.round_due(0, 3_000), Some(0));
        assert_eq!(s.round_due(0, 3_500), Some(0));
        assert_eq!(s.round_due(0, 3_501), None);
        assert_eq!(s.round_due(0, 8_000), Some(5));
        assert_eq!(s.round_due(0, 9_000), None);
        assert_eq!(s.next_round_at(3_200), 4_000);
        assert_eq!(s.next_round_at(500), 3_000);
    }

    #[test]
    fn cutoff_and_close_follow_the_epoch() {
        let s = schedule();
        assert_eq!(s.epoch_start(1), 11_000);
        assert_eq!(s.entry_cutoff(1), 12_000);
        assert_eq!(s.closed_before(12_499), 0);
        assert_eq!(s.closed_before(12_500), 1);
        assert!(s.check().is_ok());
        let bad = Schedule {
            grace_ms: 10_000,
            ..s
        };
        assert!(bad.check().is_err());
    }
}
