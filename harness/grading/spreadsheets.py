"""CSV and .xlsx files that open right: RFC 4180, spreadsheet-safe text, numbers as numbers.

Two CSV dialects. PLAIN is what programs and the LMSs read: ',' between fields and '.' for decimals.
SPANISH is what Excel reads on a computer set to Spanish, whose list separator is ';' and decimal
separator ','; opened there a PLAIN file keeps each row in column A and reads "2.400" as 2400. Both
are UTF-8 with a byte-order mark for the instructor's files, so that Excel shows accents.

Names and messages come from students: a text cell a spreadsheet would run as a formula (starting
with =, +, -, @, a tab or a carriage return; OWASP, "CSV Injection") gets a leading apostrophe in CSV.
In .xlsx every text cell is stored as text (never as a formula), so it needs no apostrophe.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from harness.grading.grades import lms_number

FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
Cell = str | Decimal | int | None
Row = Sequence[Cell]


@dataclass(frozen=True)
class Dialect:
    name: str
    delimiter: str
    decimal: str


PLAIN = Dialect("plain", ",", ".")
SPANISH = Dialect("es", ";", ",")
DIALECTS = {d.name: d for d in (PLAIN, SPANISH)}


def spreadsheet_safe(value: str) -> str:
    """The text, with an apostrophe in front when a spreadsheet would read it as a formula."""
    return f"'{value}" if value.startswith(FORMULA_TRIGGERS) else value


def cell_text(cell: Cell, dialect: Dialect) -> str:
    if cell is None:
        return ""
    if isinstance(cell, Decimal | int):
        return lms_number(Decimal(cell)).replace(".", dialect.decimal)
    return spreadsheet_safe(cell)


def csv_text(header: Sequence[str], rows: Iterable[Row], *, dialect: Dialect = PLAIN) -> str:
    """RFC 4180 CSV (CRLF, quotes where needed); text cells made spreadsheet-safe, numbers in the dialect's spelling."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=dialect.delimiter, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([spreadsheet_safe(h) for h in header])
    for row in rows:
        writer.writerow([cell_text(c, dialect) for c in row])
    return buffer.getvalue()


def write_text(path: Path, text: str, *, bom: bool = False) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8-sig" if bom else "utf-8", newline="")
    return path


@dataclass(frozen=True)
class Sheet:
    title: str
    header: Sequence[str]
    rows: Sequence[Row]


def _xlsx_value(cell: Cell) -> str | float | int | None:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # noqa: PLC0415 (openpyxl only when an .xlsx is written)

    if isinstance(cell, Decimal):
        return int(cell) if cell == cell.to_integral_value() else float(cell)
    if isinstance(cell, str):
        return str(ILLEGAL_CHARACTERS_RE.sub("\N{REPLACEMENT CHARACTER}", cell))
    return cell


def write_xlsx(path: Path, sheets: Sequence[Sheet]) -> Path:
    """One worksheet per Sheet: a bold header, numbers as numbers, text always as text (never a formula)."""
    from openpyxl import Workbook  # noqa: PLC0415
    from openpyxl.styles import Font  # noqa: PLC0415

    book = Workbook()
    book.remove(book.active)
    for sheet in sheets:
        page = book.create_sheet(sheet.title[:31])
        for column, name in enumerate(sheet.header, start=1):
            header = page.cell(row=1, column=column, value=_xlsx_value(name))
            header.data_type, header.font = "s", Font(bold=True)
        for row_number, row in enumerate(sheet.rows, start=2):
            for column, value in enumerate(row, start=1):
                cell = page.cell(row=row_number, column=column, value=_xlsx_value(value))
                if isinstance(value, str):
                    cell.data_type = "s"  # openpyxl would store "=..." as a formula
        page.freeze_panes = "A2"
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
    return path
