"""CSV and Excel files of FAQ entries: one row per entry, list fields one item a line.

Columns are the YAML file's fields (kb.content.FIELDS). A list cell (paraphrases, tags,
related) holds one item per line; ``|`` also separates items, for people who type them
in one line. Reading returns records and problems by row, never raises on content.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from kb.content import FAQ, FIELDS, faq_record
from support.knowledge.schemas import Issue

LIST_FIELDS = ("paraphrases", "tags", "related")
REQUIRED_COLUMNS = ("id", "category", "question", "answer")
SHEET_TITLE = "知识库"


def _cell(record: dict[str, Any], name: str) -> str:
    value = record.get(name)
    if value is None:
        return ""
    if name in LIST_FIELDS:
        return "\n".join(value)
    return str(value)


def faqs_to_rows(faqs: Sequence[FAQ]) -> list[list[str]]:
    rows = [list(FIELDS)]
    for faq in faqs:
        record = faq_record(faq)
        rows.append([_cell(record, name) for name in FIELDS])
    return rows


def write_csv(faqs: Sequence[FAQ]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(faqs_to_rows(faqs))
    # With a BOM, Excel opens the Chinese text as UTF-8.
    return buffer.getvalue().encode("utf-8-sig")


def write_xlsx(faqs: Sequence[FAQ]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = SHEET_TITLE
    for row in faqs_to_rows(faqs):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _split(text: str) -> list[str]:
    parts = text.replace("\r\n", "\n").replace("|", "\n").split("\n")
    return [part.strip() for part in parts if part.strip()]


def _record(header: list[str], values: Sequence[Any]) -> dict[str, Any]:
    record: dict[str, Any] = {}
    for name, raw in zip(header, values, strict=False):
        if not name:
            continue
        if isinstance(raw, datetime):
            text = raw.date().isoformat()
        elif isinstance(raw, date):
            text = raw.isoformat()
        else:
            text = "" if raw is None else str(raw).strip()
        if name in LIST_FIELDS:
            record[name] = _split(text)
        elif text:
            record[name] = text
    return record


def _rows_to_records(
    rows: list[list[Any]],
) -> tuple[list[tuple[int, dict[str, Any]]], list[Issue]]:
    if not rows:
        return [], [Issue(entry="-", field="-", message="文件是空的", row=1)]
    header = [str(cell or "").strip().lower() for cell in rows[0]]
    issues = []
    unknown = [name for name in header if name and name not in FIELDS]
    for name in unknown:
        issues.append(
            Issue(
                entry="-",
                field=name,
                message="未知的列（可用的列：" + "、".join(FIELDS) + "）",
                row=1,
            )
        )
    for name in REQUIRED_COLUMNS:
        if name not in header:
            issues.append(Issue(entry="-", field=name, message="缺少这一列", row=1))
    if issues:
        return [], issues
    records = []
    for number, values in enumerate(rows[1:], start=2):
        if not any(str(v or "").strip() for v in values):
            continue  # blank line
        records.append((number, _record(header, values)))
    return records, []


def read_csv(payload: bytes) -> tuple[list[tuple[int, dict[str, Any]]], list[Issue]]:
    """(row number, record) pairs, or the problems that stop the whole file."""
    try:
        text = payload.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = payload.decode("gb18030")  # Excel on Chinese Windows saves CSV so
        except UnicodeDecodeError:
            return [], [
                Issue(entry="-", field="-", message="无法识别文件编码（请用 UTF-8）", row=1)
            ]
    return _rows_to_records([list(row) for row in csv.reader(io.StringIO(text))])


def read_xlsx(payload: bytes) -> tuple[list[tuple[int, dict[str, Any]]], list[Issue]]:
    try:
        workbook = load_workbook(io.BytesIO(payload), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, OSError, KeyError, ValueError) as exc:
        return [], [Issue(entry="-", field="-", message=f"不是有效的 Excel 文件：{exc}", row=1)]
    sheet = workbook.active
    if sheet is None:
        return [], [Issue(entry="-", field="-", message="Excel 文件没有工作表", row=1)]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    workbook.close()
    return _rows_to_records(rows)
