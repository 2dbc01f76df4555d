//! Decision outcomes and reason codes (SPEC 3) with their stable string forms.

/// Whether a scan opened the door.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Granted,
    Denied,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Granted => "granted",
            Outcome::Denied => "denied",
        }
    }
}

/// Why a scan was decided as it was; the first matching rule of SPEC 3 wins.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    UnknownDoor,
    Egress,
    UnknownCard,
    CardLost,
    CardStolen,
    CardRevoked,
    CardExpired,
    CardNotYetValid,
    EmployeeInactive,
    NoAccess,
    OutsideSchedule,
    AntiPassback,
    Ok,
}

impl Reason {
    /// Every reason, in declaration order (so `reason as usize` is its place).
    pub const ALL: [Reason; 13] = [
        Reason::UnknownDoor,
        Reason::Egress,
        Reason::UnknownCard,
        Reason::CardLost,
        Reason::CardStolen,
        Reason::CardRevoked,
        Reason::CardExpired,
        Reason::CardNotYetValid,
        Reason::EmployeeInactive,
        Reason::NoAccess,
        Reason::OutsideSchedule,
        Reason::AntiPassback,
        Reason::Ok,
    ];

    /// The lowercase code stored in the `reason` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::UnknownDoor => "unknown_door",
            Reason::Egress => "egress",
            Reason::UnknownCard => "unknown_card",
            Reason::CardLost => "card_lost",
            Reason::CardStolen => "card_stolen",
            Reason::CardRevoked => "card_revoked",
            Reason::CardExpired => "card_expired",
            Reason::CardNotYetValid => "card_not_yet_valid",
            Reason::EmployeeInactive => "employee_inactive",
            Reason::NoAccess => "no_access",
            Reason::OutsideSchedule => "outside_schedule",
            Reason::AntiPassback => "anti_passback",
            Reason::Ok => "ok",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Only `ok` and `egress` open the door.
    pub fn outcome(self) -> Outcome {
        match self {
            Reason::Ok | Reason::Egress => Outcome::Granted,
            _ => Outcome::Denied,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counters index by `reason as usize` and name by `ALL`'s order.
    #[test]
    fn all_lists_the_reasons_in_declaration_order() {
        for (i, r) in Reason::ALL.into_iter().enumerate() {
            assert_eq!(r as usize, i, "{r:?}");
        }
    }

    #[test]
    fn codes_are_stable_and_unique() {
        let codes: Vec<&str> = Reason::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(
            codes,
            [
                "unknown_door",
                "egress",
                "unknown_card",
                "card_lost",
                "card_stolen",
                "card_revoked",
                "card_expired",
                "card_not_yet_valid",
                "employee_inactive",
                "no_access",
                "outside_schedule",
                "anti_passback",
                "ok"
            ]
        );
        for r in Reason::ALL {
            assert_eq!(Reason::parse(r.as_str()), Some(r));
        }
        assert_eq!(Reason::Ok.outcome(), Outcome::Granted);
        assert_eq!(Reason::Egress.outcome(), Outcome::Granted);
        assert_eq!(Reason::AntiPassback.outcome(), Outcome::Denied);
    }
}
