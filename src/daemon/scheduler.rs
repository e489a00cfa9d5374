//! When each app's scheduled cycle comes due: the daemon's `schedule`/`interval`, or the
//! app's own. Apps that come due together make one scheduled cycle; the apps not due in it
//! still get their deprovisions (see `engine::Focus`).

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use crate::config::{Schedule, Settings};

/// The next due moment of every app.
pub(super) struct Scheduler {
    /// App name → its effective schedule.
    schedules: BTreeMap<String, Schedule>,
    /// App name → when it is next due.
    next: BTreeMap<String, Instant>,
}

impl Scheduler {
    /// Every app is due at once (the daemon's first cycle runs at start).
    pub(super) fn new(settings: &Settings, default: &Schedule) -> Scheduler {
        let mut s = Scheduler {
            schedules: BTreeMap::new(),
            next: BTreeMap::new(),
        };
        s.reconfigure(settings, default);
        s
    }

    /// Takes the schedules of a reloaded config: an app keeps its next slot unless its new
    /// schedule comes sooner; a new app is due at once.
    pub(super) fn reconfigure(&mut self, settings: &Settings, default: &Schedule) {
        let now = Instant::now();
        let mut next = BTreeMap::new();
        self.schedules.clear();
        for app in &settings.apps {
            let schedule = app.schedule.clone().unwrap_or_else(|| default.clone());
            let due = match self.next.get(&app.name) {
                Some(old) => (*old).min(now + delay(&schedule)),
                None => now,
            };
            next.insert(app.name.clone(), due);
            self.schedules.insert(app.name.clone(), schedule);
        }
        self.next = next;
    }

    /// The apps due now, their next slot moved on. Empty when none is due; the list holds
    /// every app when all are due.
    pub(super) fn take_due(&mut self) -> Vec<String> {
        let now = Instant::now();
        let mut due = Vec::new();
        for (app, at) in &mut self.next {
            if *at <= now {
                due.push(app.clone());
                let schedule = self.schedules.get(app);
                *at = now + schedule.map_or(Duration::from_secs(60), delay);
            }
        }
        due
    }

    /// True when `apps` names every scheduled app.
    pub(super) fn is_all(&self, apps: &[String]) -> bool {
        apps.len() == self.next.len()
    }

    /// When the next app comes due.
    pub(super) fn next_due(&self) -> Option<Instant> {
        self.next.values().min().copied()
    }
}

/// From now to the schedule's next slot.
fn delay(schedule: &Schedule) -> Duration {
    schedule.delay_from(crate::clock::now())
}
