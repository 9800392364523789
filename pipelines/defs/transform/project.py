"""The dbt project as dagster-dbt's ``DbtProject``, its manifest produced by `dbt parse` from the
repo itself (no committed target/).

``DBT_PROJECT.prepare_if_dev()`` is dagster-dbt's idiom (re-parse on every load under `dagster
dev`); outside it (tests, `olw demo`, CI) no build step ships a manifest, so the same preparer
parses when the manifest is missing or older than any project file. dagster-dbt's own guard
serialises the parse when the code server and the daemon of `dagster dev` load at once.
"""

from pathlib import Path

from dagster_dbt import DbtProject

from pipelines.resources import DBT_PROJECT_DIR


def _newest_source_mtime(project: Path) -> float:
    files = [project / "dbt_project.yml", project / "profiles.yml"]
    for sub in ("models", "macros", "seeds", "tests"):
        files += [p for p in (project / sub).rglob("*") if p.is_file()]
    return max(p.stat().st_mtime for p in files if p.exists())


def is_stale(project: DbtProject) -> bool:
    manifest = project.manifest_path
    return not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime(
        Path(project.project_dir)
    )


def dbt_project(project_dir: Path = DBT_PROJECT_DIR) -> DbtProject:
    return DbtProject(project_dir=project_dir, profiles_dir=project_dir)


DBT_PROJECT = dbt_project()


def prepare(project: DbtProject = DBT_PROJECT) -> Path:
    """The manifest, ready to load: under `dagster dev` dagster-dbt re-parses on every load
    (prepare_if_dev); elsewhere it is parsed when missing or older than a project file."""
    project.prepare_if_dev()
    if is_stale(project):
        project.preparer.prepare(project)
    if not project.manifest_path.exists():
        raise RuntimeError(
            f"`dbt parse` of {project.project_dir} wrote no {project.manifest_path}; run "
            f"`cd {project.project_dir} && dbt parse --profiles-dir .` to see why"
        )
    return Path(project.manifest_path)


def manifest_path(project_dir: Path = DBT_PROJECT_DIR) -> Path:
    """The prepared manifest of the project in ``project_dir``."""
    return prepare(DBT_PROJECT if project_dir == DBT_PROJECT_DIR else dbt_project(project_dir))
