"""schemathesis hooks for the live runs: drop the 404s its stateful links cause by themselves."""

import schemathesis


@schemathesis.hook
def filter_failure(context, failure, case, response) -> bool:
    # A link inferred from a nullable field (a statistic's `event_id`) fills the path with None:
    # schemathesis 4.32 sends `/v1/events/None/revisions` and calls the honest 404 a rejected
    # valid request. Any other answer to such a path, a 500 above all, is still a failure.
    return not (response.status_code == 404 and "/None" in case.formatted_path)
