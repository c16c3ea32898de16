"""What an import did (or would do), for the secretary who ran it: counts, and every rejected row with
its file, line and reason."""

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RejectedRow:
    file: str  # "people.csv", "roster.xlsx「人员」" (file and sheet), "seed:人员" (in-memory rows)
    line: int  # the file's own line number, header = 1
    reason: str

    def render(self) -> str:
        return f"{self.file} 第 {self.line} 行：{self.reason}"


@dataclass(slots=True)
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0

    @property
    def changed(self) -> int:
        return self.created + self.updated

    def render(self, label: str) -> str:
        return (f"{label}：新建 {self.created}，更新 {self.updated}，"
                f"未变 {self.unchanged}，拒绝 {self.rejected}")


@dataclass(slots=True)
class ImportReport:
    sources: list[str]
    dry_run: bool = False
    skip_bad: bool = False
    orgs: Counts = field(default_factory=Counts)
    units: Counts = field(default_factory=Counts)
    people: Counts = field(default_factory=Counts)
    invite_codes: int = 0  # codes issued (or, in a dry run, to be issued)
    rejected: list[RejectedRow] = field(default_factory=list)
    skipped_sheets: list[str] = field(default_factory=list)
    rows: int = 0
    seconds: float = 0.0
    written: bool = False  # something was committed to the database
    error: str | None = None  # the database refused the write; everything was rolled back

    @property
    def ok(self) -> bool:
        return not self.rejected and self.error is None

    @property
    def changed(self) -> bool:
        return bool(self.orgs.changed or self.units.changed or self.people.changed or self.invite_codes)

    def render(self) -> str:
        lines = [f"导入名册：{'、'.join(self.sources)}"]
        if self.dry_run:
            lines.append("试运行（--dry-run）：只检查，下面是将会发生的变化，数据库没有改动。")
        elif self.rejected and not self.skip_bad:
            lines.append("检查结果（因有错误行，以下变化都没有写入）：")
        lines += [self.orgs.render("组织"), self.units.render("驻区单位"), self.people.render("人员")]
        if self.invite_codes:
            lines.append(f"新发邀请码：{self.invite_codes} 个")
        lines += [f"已跳过：{label}（表头既不是组织表也不是人员表）" for label in self.skipped_sheets]
        lines.append(f"共处理 {self.rows} 行，用时 {self.seconds:.1f} 秒。")
        if self.error:
            lines.append(f"导入失败，所有改动已撤销：{self.error}")
        elif self.rejected and not self.dry_run:
            n = len(self.rejected)
            lines.append(
                f"有 {n} 行被拒绝，其余正确的行已导入。" if self.skip_bad
                else f"有 {n} 行被拒绝，没有写入任何数据。改正后重新导入，或加 --skip-bad 只导入正确的行。"
            )
        elif self.rejected:
            lines.append(f"有 {len(self.rejected)} 行会被拒绝：")
        elif not self.dry_run:
            lines.append("导入完成。" if self.written else "没有变化。")
        lines += [row.render() for row in self.rejected]
        return "\n".join(lines)
