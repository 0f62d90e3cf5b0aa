//! Every domain refusal gets one status, on the APIs and the pages.

use super::*;
use crate::error::Conflict;
use crate::policy::rules::Violation;

/// Every domain refusal gets the same status on the APIs and the pages.
#[test]
fn a_domain_error_has_one_status_everywhere() {
    let all = || {
        vec![
            OpError::Unauthenticated,
            OpError::Denied(Denied::NotCompatAdmin),
            OpError::Invalid(Violation {
                field: "name",
                message: "bad".into(),
            }),
            OpError::Malformed("x".into()),
            OpError::NotFound,
            OpError::Conflict(Conflict::NameTaken),
            OpError::Internal(InternalError::Answer("defect".into())),
        ]
    };
    for (api, page) in all().into_iter().zip(all()) {
        let status = op_status(&api);
        assert_eq!(ApiError::from(api).status_code(), status);
        assert_eq!(PageError::from(page).status_code(), status);
    }
}
