"""What the judge accepts from the student's kernel: a strict schema for every reply, or a WireError.

The kernel runs the student's code, so each reply is untrusted input: only known keys, of known
types, within known sizes. A reply that breaks any rule raises wire.WireError (the exercise that
asked is `error`; the judge goes on with the next one). The kernel's facts about itself (Python,
torch, device, signs of interference) are kept apart from the judge's own findings, as reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from in_image.exercises import wire
from in_image.exercises.framework import MESSAGE_LIMIT, Outcome

ENVIRONMENT_KEYS = frozenset({"python", "torch", "torchvision", "device"})
FACT_LIMIT = 200  # characters of one fact or one sign of interference
EVIDENCE_LIMIT = 30  # signs kept
OUTCOME_KINDS = frozenset({"answer", "missing", "pending", "raised"})


def _only(payload: Any, keys: frozenset[str], *, what: str) -> Mapping[str, Any]:
    if not isinstance(payload, Mapping) or not set(payload) <= keys or not all(isinstance(k, str) for k in payload):
        raise wire.WireError(f"{what}: an object with keys other than {', '.join(sorted(keys))}")
    return payload


def _text(value: Any, *, limit: int, what: str) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise wire.WireError(f"{what}: a string of at most {limit} characters was expected")
    return value


def environment_facts(payload: Any) -> dict[str, str]:
    """{"environment": {python, torch, torchvision, device}}: the facts, each a short string."""
    facts = _only(_only(payload, frozenset({"environment"}), what="environment").get("environment"),
                  ENVIRONMENT_KEYS, what="environment")
    return {key: _text(value, limit=FACT_LIMIT, what=key) for key, value in sorted(facts.items())}


def evidence_signs(payload: Any) -> list[str]:
    """{"evidence": [sign, ...]}: at most EVIDENCE_LIMIT short strings, sorted, without repeats."""
    signs = _only(payload, frozenset({"evidence"}), what="evidence").get("evidence")
    if not isinstance(signs, list) or len(signs) > EVIDENCE_LIMIT:
        raise wire.WireError(f"evidence: a list of at most {EVIDENCE_LIMIT} strings was expected")
    return sorted({_text(sign, limit=FACT_LIMIT, what="evidence") for sign in signs})


def answer_outcomes(payload: Any, *, exercise: str, cases: int) -> list[Outcome]:
    """{"exercise": id, "answers": [one document per case]}: each case's outcome, its value decoded."""
    reply = _only(payload, frozenset({"exercise", "answers"}), what="answers")
    if reply.get("exercise") != exercise:
        raise wire.WireError("answers for another exercise")
    documents = reply.get("answers")
    if not isinstance(documents, list) or len(documents) != cases:
        raise wire.WireError(f"answers: a list of {cases} documents (one per case) was expected")
    return [_outcome(document) for document in documents]


def _outcome(document: Any) -> Outcome:
    fields = _only(document, frozenset({"kind", "value", "message"}), what="an answer")
    kind = fields.get("kind")
    if kind not in OUTCOME_KINDS:
        raise wire.WireError("an answer of an unknown kind")
    if kind != "answer" and "value" in fields:
        raise wire.WireError("a value in an answer that is not of kind «answer»")
    message = _text(fields.get("message", ""), limit=wire.MAX_STRING, what="message")[:MESSAGE_LIMIT]
    return Outcome(str(kind), wire.decode(fields.get("value")), message)
