"""Errors of the knowledge workspace; each carries its HTTP status and a Chinese message."""

from __future__ import annotations

from support.errors import ConflictError, InvalidInputError, NotFoundError
from support.knowledge.schemas import ConflictBody, GateReport, Issue


class EntryNotFoundError(NotFoundError):
    def __init__(self, entry_id: str) -> None:
        super().__init__(f"知识库中没有条目 {entry_id}。")
        self.entry_id = entry_id


class VersionNotFoundError(NotFoundError):
    def __init__(self, number: int) -> None:
        super().__init__(f"没有第 {number} 版。")


class EntryExistsError(ConflictError):
    def __init__(self, entry_id: str) -> None:
        super().__init__(f"条目 {entry_id} 已存在，请换一个 id。")


class EntryValidationError(InvalidInputError):
    """The entry (or the draft, or an imported file) has errors; ``issues`` lists them."""

    def __init__(self, issues: list[Issue], summary: str | None = None) -> None:
        errors = [issue for issue in issues if issue.level == "error"]
        super().__init__(
            summary
            or f"有 {len(errors)} 处错误："
            + "；".join(f"[{issue.entry}] {issue.field}：{issue.message}" for issue in errors[:5])
        )
        self.issues = issues

    def payload(self) -> dict[str, object]:
        # Same shape as request validation errors ("detail" for people, "errors" one per
        # line), plus the structured issues the editor marks its fields with.
        return {
            "detail": self.message,
            "errors": [f"[{i.entry}] {i.field}：{i.message}" for i in self.issues],
            "issues": [i.model_dump(mode="json") for i in self.issues],
        }


class StaleRevisionError(ConflictError):
    """Someone saved the entry since the editor loaded it."""

    def __init__(self, body: ConflictBody) -> None:
        super().__init__(body.detail)
        self.body = body

    def payload(self) -> dict[str, object]:
        return self.body.model_dump(mode="json")


class GateFailedError(InvalidInputError):
    """The draft does worse on the labelled eval sets than the live version."""

    def __init__(self, report: GateReport) -> None:
        drops = [
            f"{split.name} top-1 {split.top1_published:.1f}% → {split.top1_draft:.1f}%"
            + (
                f"，拒答率 {split.oos_published:.1f}% → {split.oos_draft:.1f}%"
                if split.oos_published is not None and split.oos_draft is not None
                else ""
            )
            for split in report.splits
        ]
        super().__init__(
            f"草稿在评测集上的效果下降超过 {report.max_drop_points:g} 个百分点，没有发布"
            f"（{'；'.join(drops)}）。有 {len(report.changed)} 条查询的结果变了；"
            "管理员可以确认后强制发布。"
        )
        self.report = report

    def payload(self) -> dict[str, object]:
        return {
            "detail": self.message,
            "errors": [self.message],
            "gate": self.report.model_dump(mode="json"),
        }


class NothingToPublishError(InvalidInputError):
    default_message = "草稿与线上版本相同，没有需要发布的修改。"


class CategoryInUseError(InvalidInputError):
    pass
