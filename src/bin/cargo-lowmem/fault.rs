//! Fault injection, for the tests that prove the give-way step safe at every moment of a
//! rustc's life (internal; not a knob for users). `LOWMEM_BUILD_FAULT=<crate>:<moment>:<action>`
//! makes the wrapper of `<crate>` give way once, on its first run, at `<moment>`:
//! - `start`: soon after rustc starts, before its metadata notice;
//! - `dependent`: after the notice, once a rustc that reads this crate's `.rmeta` is running;
//! - `codegen`: after the notice, with no linker running (rustc is generating code);
//! - `link`: while the linker runs under rustc.
//!
//! `<action>` is `kill` (as when memory runs out: killed, retried alone) or `stop` (as when it
//! is tight: stopped, held for two seconds, then left to the governor, which resumes it). Both
//! go through the same code as the governor's own decisions.

use crate::admission::Action;
use std::time::{Duration, Instant};

/// The variable.
pub const VAR: &str = "LOWMEM_BUILD_FAULT";
/// How long an injected stop holds before the governor decides again.
const HOLD: Duration = Duration::from_secs(2);
/// How long after the start (or the notice) the `start` and `codegen` moments come.
const SETTLE: Duration = Duration::from_millis(150);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    Start,
    Dependent,
    Codegen,
    Link,
}

/// What the wrapper sees of its rustc at one sample.
#[derive(Debug, Clone, Copy, Default)]
pub struct Seen {
    /// Since rustc started.
    pub running: Duration,
    /// Since its metadata notice, if it came.
    pub since_notice: Option<Duration>,
    /// rustc has a child process (the linker).
    pub linking: bool,
    /// A rustc that reads this crate's `.rmeta` is running (looked for only at `dependent`).
    pub dependent: bool,
}

/// One injected fault.
#[derive(Debug, Clone)]
pub struct Fault {
    pub moment: Moment,
    kill: bool,
    fired: Option<Instant>,
}

impl Fault {
    /// The fault `LOWMEM_BUILD_FAULT` asks of `krate`, if any.
    pub fn from_env(krate: &str) -> Option<Fault> {
        parse(&std::env::var(VAR).ok()?, krate)
    }

    /// What to do now: the fault's action when its moment has come (once); for an injected
    /// stop, `Some(Continue)` while it holds (the governor is not asked), then `None`.
    pub fn due(&mut self, seen: &Seen) -> Option<Action> {
        if let Some(fired) = self.fired {
            return (!self.kill && fired.elapsed() < HOLD).then_some(Action::Continue);
        }
        let now = match self.moment {
            Moment::Start => seen.running >= SETTLE && seen.since_notice.is_none(),
            Moment::Dependent => seen.since_notice.is_some() && seen.dependent,
            Moment::Codegen => seen.since_notice.is_some_and(|d| d >= SETTLE) && !seen.linking,
            Moment::Link => seen.linking,
        };
        if !now {
            return None;
        }
        self.fired = Some(Instant::now());
        Some(if self.kill {
            Action::Kill
        } else {
            Action::Stop
        })
    }
}

fn parse(value: &str, krate: &str) -> Option<Fault> {
    let mut parts = value.trim().split(':');
    let (name, moment, action) = (parts.next()?, parts.next()?, parts.next()?);
    if name != krate || parts.next().is_some() {
        return None;
    }
    let moment = match moment {
        "start" => Moment::Start,
        "dependent" => Moment::Dependent,
        "codegen" => Moment::Codegen,
        "link" => Moment::Link,
        _ => return None,
    };
    let kill = match action {
        "kill" => true,
        "stop" => false,
        _ => return None,
    };
    Some(Fault {
        moment,
        kill,
        fired: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_fire_once_at_their_moment() {
        assert!(parse("mid:start:kill", "other").is_none());
        assert!(parse("mid:later:kill", "mid").is_none());
        assert!(parse("mid:start:pause", "mid").is_none());
        let mut f = parse("mid:start:kill", "mid").unwrap();
        let early = Seen {
            running: Duration::from_millis(10),
            ..Seen::default()
        };
        assert_eq!(f.due(&early), None);
        let settled = Seen {
            running: Duration::from_millis(200),
            ..Seen::default()
        };
        assert_eq!(f.due(&settled), Some(Action::Kill));
        assert_eq!(f.due(&settled), None, "once");

        let mut f = parse("mid:link:stop", "mid").unwrap();
        assert_eq!(f.due(&settled), None);
        let linking = Seen {
            linking: true,
            ..settled
        };
        assert_eq!(f.due(&linking), Some(Action::Stop));
        assert_eq!(f.due(&linking), Some(Action::Continue), "held");

        let mut f = parse("mid:dependent:kill", "mid").unwrap();
        let notice = Seen {
            since_notice: Some(Duration::from_millis(1)),
            ..settled
        };
        assert_eq!(f.due(&notice), None);
        assert_eq!(
            f.due(&Seen {
                dependent: true,
                ..notice
            }),
            Some(Action::Kill)
        );
        let mut f = parse("mid:codegen:kill", "mid").unwrap();
        assert_eq!(f.due(&notice), None);
        assert_eq!(
            f.due(&Seen {
                since_notice: Some(Duration::from_millis(300)),
                ..settled
            }),
            Some(Action::Kill)
        );
    }
}
