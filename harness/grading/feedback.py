"""What each student reads, in Spanish: the grade, the late penalty, each exercise and its message.

Numbers are written the Spanish way ("8,1 de 10", "2,5 / 5"). Everything that comes from a student
(names, messages) is shown as itself: Markdown punctuation backslash-escaped, messages in fenced
code blocks longer than any backtick run inside them; in HTML everything is escaped and messages sit
in <pre>. The HTML fragment (feedback_fragment) is what the Moodle grading worksheet carries in its
"Feedback comments" column.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from harness.grading.grades import decimal, number_es
from harness.grading.late import LatePolicy
from harness.grading.records import Mark, StudentResult

STATUS_ES = {
    "passed": "✅ superado", "partial": "🟡 parcial", "failed": "❌ no superado", "error": "⚠️ error",
    "not_attempted": "⏳ sin hacer", "timeout": "⏱️ tiempo agotado", "crashed": "💥 el cuaderno se interrumpió",
}
_MD_PUNCTUATION = re.compile(r"([!\"#$%&'()*+,\-./:;<=>?@\[\\\]^_`{|}~])")
_HTML_STYLE = ("body{font-family:sans-serif;max-width:48rem;margin:2rem auto;line-height:1.5}"
               "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3rem .6rem;text-align:left}"
               "pre{white-space:pre-wrap;background:#f4f4f4;padding:.6rem}")


@dataclass(frozen=True)
class FeedbackContext:
    lab_title: str
    rescaled: bool  # the grade is not the lab's points: show the points too
    late_policy: LatePolicy | None = None


def md_inline(text: str) -> str:
    """Text shown as itself in Markdown: every ASCII punctuation backslash-escaped, on one line."""
    return _MD_PUNCTUATION.sub(r"\\\1", " ".join(text.split()))


def md_code_block(text: str) -> str:
    """A fenced block that no backtick run inside the text can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text.rstrip()}\n{fence}"


def points_es(value: float) -> str:
    return number_es(decimal(value))


def grade_es(mark: Mark, context: FeedbackContext) -> str:
    """'8,1 de 10 (26 de 32 puntos)': the grade, with the points when rescaled."""
    assert mark.grade is not None
    points = f" ({number_es(mark.points)} de {number_es(mark.max_points)} puntos)" if context.rescaled else ""
    return f"{number_es(mark.grade)} de {number_es(mark.maximum)}{points}"


def penalty_es(mark: Mark, context: FeedbackContext) -> str:
    """'−2,0 puntos (10 % de la nota máxima por día o fracción de retraso)', or '' when nothing was taken."""
    if not mark.penalty or context.late_policy is None:
        return ""
    return f"−{number_es(mark.penalty)} puntos ({context.late_policy.text_es})"


def delivery_es(mark: Mark) -> str:
    delivery = mark.delivery
    if delivery is None or delivery.mtime is None:
        return ""
    when = delivery.mtime.strftime("%Y-%m-%d %H:%M:%S %z")
    if delivery.late_by is not None:
        return f"{when} (fuera de plazo: {delivery.late_text_es} de retraso)"
    return when + {True: " (fuera de plazo)", False: " (dentro de plazo)", None: ""}[delivery.late]


def passed_es(result: StudentResult) -> str:
    return f"{result.passed} de {len(result.exercises)}"


def summary_es(mark: Mark, context: FeedbackContext) -> str:
    """One line in Spanish for the LMS's feedback column."""
    assert mark.result is not None
    penalty = penalty_es(mark, context)
    late = f" Penalización por retraso: {penalty}." if penalty else ""
    return f"Nota: {grade_es(mark, context)}.{late} Ejercicios superados: {passed_es(mark.result)}."


def _facts(mark: Mark, context: FeedbackContext) -> list[tuple[str, str]]:
    assert mark.result is not None
    facts = [("Estudiante", mark.person.display_name), ("Nota", grade_es(mark, context))]
    if penalty := penalty_es(mark, context):
        facts.append(("Penalización por retraso", penalty))
    facts.append(("Ejercicios superados", passed_es(mark.result)))
    if delivered := delivery_es(mark):
        facts.append(("Entrega", delivered))
    return facts


def feedback_markdown(mark: Mark, context: FeedbackContext) -> str:
    assert mark.result is not None
    lines = [f"# {md_inline(context.lab_title)}: resultado de la corrección", ""]
    lines += [f"- **{label}:** {md_inline(value) if label == 'Estudiante' else value}" for label, value in
              _facts(mark, context)]
    lines += ["", "| Ejercicio | Estado | Puntos |", "|---|---|---|"]
    for exercise in mark.result.exercises:
        status = STATUS_ES.get(exercise.status, md_inline(exercise.status))
        lines.append(f"| {md_inline(exercise.title)} ({md_inline(exercise.id)}) | {status} "
                     f"| {points_es(exercise.score)} / {points_es(exercise.max_score)} |")
    details = [e for e in mark.result.exercises if e.message.strip()]
    if details:
        lines += ["", "## Comentarios por ejercicio"]
        for exercise in details:
            lines += ["", f"### {md_inline(exercise.title)} ({md_inline(exercise.id)})", "", md_code_block(exercise.message)]
    return "\n".join(lines) + "\n"


def feedback_fragment(mark: Mark, context: FeedbackContext, *, heading: bool = True) -> str:
    """The feedback as an HTML fragment (no <html>, no styles): for a page, or Moodle's "Feedback comments"."""
    assert mark.result is not None
    e = html.escape
    body = [f"<h1>{e(context.lab_title)}: resultado de la corrección</h1>"] if heading else []
    body += ["<ul>", *(f"<li><strong>{e(label)}:</strong> {e(value)}</li>" for label, value in _facts(mark, context)),
             "</ul>", "<table><thead><tr><th>Ejercicio</th><th>Estado</th><th>Puntos</th></tr></thead><tbody>"]
    body += [f"<tr><td>{e(x.title)} ({e(x.id)})</td><td>{e(STATUS_ES.get(x.status, x.status))}</td>"
             f"<td>{points_es(x.score)} / {points_es(x.max_score)}</td></tr>" for x in mark.result.exercises]
    body.append("</tbody></table>")
    details = [f"<h3>{e(x.title)} ({e(x.id)})</h3>\n<pre>{e(x.message.rstrip())}</pre>"
               for x in mark.result.exercises if x.message.strip()]
    if details:
        body += ["<h2>Comentarios por ejercicio</h2>", *details]
    return "\n".join(body)


def feedback_html(mark: Mark, context: FeedbackContext) -> str:
    title = html.escape(f"{context.lab_title}: resultado de la corrección")
    return ("<!DOCTYPE html>\n<html lang=\"es\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>{title}</title>\n<style>{_HTML_STYLE}</style>\n</head>\n<body>\n"
            + feedback_fragment(mark, context) + "\n</body>\n</html>\n")
