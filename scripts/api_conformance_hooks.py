"""schemathesis hooks of scripts/api-conformance: the gateway's rules that no JSON Schema can state.

The OpenAPI document states every rule a schema can (lengths, ranges, counts, patterns, unique
ids, "at least one correct choice"). A few rules compare values with each other or with stored
data, which JSON Schema cannot express, so a request that fits the schema may still be refused
with 422 for one of them. Such a refusal is dropped here, and only when every field error of the
422 problem document is one of these rules; any other refusal of a schema-valid request still
fails the run:

* two choices with the same text, ignoring case and surrounding spaces (questions, choices);
* an id listed twice (a quiz's questions, a question's kept choices);
* a reference to something that does not exist (a quiz's questions, the choices of an answer);
* the rows of a CSV import (`text/csv` is a string to a schema; the JSON import states them).
* a leaderboard cursor that is hex but not one the board issued (it encodes a position).
"""

import schemathesis

# Field-error messages of the rules above, as the gateway words them.
UNSTATABLE = (
    "duplicates another choice",
    "is listed twice",
    "does not exist",
    "does not belong to question",
    "not choices of question",
    "not a cursor of this board",
)


def _problem_errors(response):
    try:
        problem = response.json()
    except Exception:  # not JSON: not one of ours
        return None
    errors = problem.get("errors") if isinstance(problem, dict) else None
    return errors or None


@schemathesis.hook
def filter_failure(context, failure, case, response):
    """Keeps every failure but a schema-valid request refused for an unstatable rule."""
    if failure.code != "ST202" or response.status_code != 422:
        return True
    if case.path == "/v1/questions/import" and (case.media_type or "").startswith("text/csv"):
        return False
    errors = _problem_errors(response)
    if errors is None:
        return True
    unstatable = all(
        any(rule in str(e.get("message", "")) for rule in UNSTATABLE) for e in errors
    )
    return not unstatable
