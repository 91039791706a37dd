"""The Lambda deployment zip (scripts/build_lambda_package.py).

Runs only when there is a package to look at:
- PICGRAPH_BUILD_PACKAGE=1 builds one for this session (needs PyPI access;
  PICGRAPH_LAMBDA_ARCH / PICGRAPH_LAMBDA_PYTHON choose the target), or
- dist/picgraph-lambda.zip already exists (make package).
Otherwise every test here is skipped, with that reason.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import platform
import struct
import subprocess
import sys
import zipfile
from fnmatch import fnmatch
from pathlib import Path, PurePosixPath
from types import ModuleType

import pytest

from tests.conftest import REPO_ROOT

BUILD_SCRIPT = REPO_ROOT / "scripts" / "build_lambda_package.py"
DEFAULT_ZIP = REPO_ROOT / "dist" / "picgraph-lambda.zip"
MANIFEST_NAME = "picgraph-build.json"
PROJECT_PACKAGES = ("resolvers", "services", "infra")
HANDLER_PATH = "resolvers/lambda_handler.py"

# Direct upload limit of a Lambda zip (Terraform's `filename`) and the unzipped limit.
MAX_ZIP_BYTES = 50 * 1000 * 1000
MAX_UNZIPPED_BYTES = 250 * 1000 * 1000

ELF_MACHINES = {"arm64": 183, "x86_64": 62}
PYC_MAGIC = {"3.11": 3495, "3.12": 3531, "3.13": 3571}

# Development-only distributions (pyproject's local/dev/bench extras) and their
# import names: none may ship.
DEV_ONLY = (
    "pytest",
    "_pytest",
    "hypothesis",
    "moto",
    "uvicorn",
    "gql",
    "ruff",
    "mypy",
    "boto3_stubs",
    "mypy_boto3_s3",
    "mypy_boto3_dynamodb",
    "hcl2",
    "pyvips",
    "pyvips_binary",
)


def _load_build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_lambda_package", BUILD_SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def package_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("PICGRAPH_BUILD_PACKAGE") == "1":
        output = tmp_path_factory.mktemp("lambda") / "picgraph-lambda.zip"
        command = [sys.executable, str(BUILD_SCRIPT), "--output", str(output)]
        subprocess.run(command, check=True, cwd=REPO_ROOT)
        return output
    existing = Path(os.environ.get("PICGRAPH_LAMBDA_ZIP", DEFAULT_ZIP))
    if existing.is_file():
        return existing
    pytest.skip(
        f"no Lambda package: {existing} does not exist (make package), "
        "and PICGRAPH_BUILD_PACKAGE=1 is not set"
    )


@pytest.fixture(scope="session")
def archive(package_zip: Path) -> zipfile.ZipFile:
    return zipfile.ZipFile(package_zip)


@pytest.fixture(scope="session")
def names(archive: zipfile.ZipFile) -> list[str]:
    return archive.namelist()


@pytest.fixture(scope="session")
def manifest(archive: zipfile.ZipFile) -> dict[str, object]:
    data: dict[str, object] = json.loads(archive.read(MANIFEST_NAME))
    return data


@pytest.fixture(scope="session")
def target_arch(manifest: dict[str, object]) -> str:
    arch = str(manifest["arch"])
    wanted = os.environ.get("PICGRAPH_LAMBDA_ARCH")
    if wanted:
        assert arch == wanted, f"package built for {arch}, PICGRAPH_LAMBDA_ARCH={wanted}"
    return arch


@pytest.fixture(scope="session")
def target_python(manifest: dict[str, object]) -> str:
    version = str(manifest["python_version"])
    wanted = os.environ.get("PICGRAPH_LAMBDA_PYTHON")
    if wanted:
        assert version == wanted, f"package built for {version}, PICGRAPH_LAMBDA_PYTHON={wanted}"
    return version


def test_handler_module_is_packaged(archive: zipfile.ZipFile, names: list[str]) -> None:
    assert HANDLER_PATH in names, "resolvers/lambda_handler.py is not in the package"
    tree = ast.parse(archive.read(HANDLER_PATH))
    defined = {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    } | {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert "handler" in defined, "resolvers/lambda_handler.py defines no `handler`"


def test_project_packages_are_packaged(names: list[str]) -> None:
    for package in PROJECT_PACKAGES:
        assert f"{package}/__init__.py" in names, f"{package}/ is missing"


def test_runtime_dependencies_are_packaged(names: list[str]) -> None:
    top_level = {PurePosixPath(name).parts[0] for name in names}
    for module in ("PIL", "pillow_heif", "strawberry", "graphql", "mangum", "jwt", "boto3"):
        assert module in top_level, f"runtime dependency {module} is missing"


def test_native_libraries_match_target_arch(
    archive: zipfile.ZipFile, names: list[str], target_arch: str
) -> None:
    shared = [name for name in names if ".so" in PurePosixPath(name).name]
    assert any(name.startswith("PIL/_imaging.") for name in shared), "Pillow's _imaging missing"
    wrong: list[str] = []
    for name in shared:
        header = archive.read(name)[:20]
        if header[:4] != b"\x7fELF":
            continue
        byte_order = "<" if header[5] == 1 else ">"
        (machine,) = struct.unpack(f"{byte_order}H", header[18:20])
        if machine != ELF_MACHINES[target_arch]:
            wrong.append(f"{name} (e_machine {machine})")
    assert not wrong, f"not {target_arch}: {wrong[:5]}"


def test_pillows_libwebp_is_where_the_webp_decoder_looks(names: list[str]) -> None:
    """services.libwebp_decode binds the libwebp that Pillow's wheel ships: the zip holds
    it where find_library() looks (else every WebP falls back to Pillow's 16 B/px decode)."""
    from services.libwebp_decode import BUNDLED_PATTERNS

    found = [name for name in names if any(fnmatch(name, p) for p in BUNDLED_PATTERNS)]
    assert found, f"no {' or '.join(BUNDLED_PATTERNS)} in the package"


def test_no_tests_or_development_packages(names: list[str]) -> None:
    test_dirs = sorted({name for name in names if "tests" in PurePosixPath(name).parts[:-1]})
    assert not test_dirs, f"test directories shipped: {test_dirs[:5]}"
    top_level = {PurePosixPath(name).parts[0].split("-")[0].lower() for name in names}
    shipped = sorted(top_level & set(DEV_ONLY))
    assert not shipped, f"development-only packages shipped: {shipped}"


def test_size_within_lambda_limits(package_zip: Path, archive: zipfile.ZipFile) -> None:
    zipped = package_zip.stat().st_size
    unzipped = sum(info.file_size for info in archive.infolist())
    assert zipped <= MAX_ZIP_BYTES, f"{zipped / 1e6:.1f} MB zipped: over the 50 MB direct upload"
    assert unzipped <= MAX_UNZIPPED_BYTES, f"{unzipped / 1e6:.1f} MB unzipped: over 250 MB"


def test_bytecode_compiled_for_target_python(
    archive: zipfile.ZipFile, names: list[str], target_python: str
) -> None:
    cache_tag = "cpython-" + target_python.replace(".", "")
    present = set(names)
    sources = [name for name in names if name.endswith(".py")]
    missing: list[str] = []
    for source in sources:
        path = PurePosixPath(source)
        pyc = str(path.parent / "__pycache__" / f"{path.stem}.{cache_tag}.pyc")
        if pyc not in present:
            missing.append(source)
            continue
        magic, flags = struct.unpack("<HxxI", archive.read(pyc)[:8])
        assert magic == PYC_MAGIC[target_python], f"{pyc}: magic {magic}"
        assert flags == 0b01, f"{pyc}: not an unchecked hash-based pyc (flags {flags})"
    project_missing = [name for name in missing if name.split("/")[0] in PROJECT_PACKAGES]
    assert not project_missing, f"project modules without bytecode: {project_missing[:5]}"
    assert len(missing) <= len(sources) // 100, f"{len(missing)} modules without bytecode"
    other_versions = [
        name for name in names if name.endswith(".pyc") and f".{cache_tag}." not in name
    ]
    assert not other_versions, f"bytecode of another Python: {other_versions[:5]}"


def test_zip_is_reproducible(names: list[str], archive: zipfile.ZipFile) -> None:
    assert names == sorted(names), "entries are not sorted"
    for info in archive.infolist():
        assert info.date_time == (1980, 1, 1, 0, 0, 0), info.filename
        assert (info.external_attr >> 16) & 0o777 in (0o644, 0o755), info.filename


def test_imports_with_target_interpreter(
    package_zip: Path, names: list[str], target_arch: str, target_python: str, tmp_path: Path
) -> None:
    """Import the dependencies (and the handler) as Lambda would, where this host can."""
    host_arch = {"aarch64": "arm64", "arm64": "arm64", "x86_64": "x86_64", "amd64": "x86_64"}
    if host_arch.get(platform.machine().lower()) != target_arch:
        pytest.skip(f"package is {target_arch}, this host is {platform.machine()}")
    interpreter = _load_build_script().find_interpreter(target_python)
    if interpreter is None:
        pytest.skip(f"no Python {target_python} interpreter on this machine")
    with zipfile.ZipFile(package_zip) as zf:
        zf.extractall(tmp_path)
    modules = ["PIL.Image", "pillow_heif", "strawberry", "boto3", "mangum", "jwt", "infra.keys"]
    if HANDLER_PATH in names:
        modules.append("resolvers.lambda_handler")
    script = (
        f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import importlib\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "import pillow_heif; pillow_heif.register_heif_opener()\n"
        "from services import libwebp_decode\n"
        "assert libwebp_decode.available(), libwebp_decode.find_library()\n"
    )
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "PICGRAPH_TABLE_NAME": "picgraph-images",
        "PICGRAPH_BUCKET_NAME": "picgraph-images",
        "PICGRAPH_JWT_SECRET": "x" * 32,
    }
    result = subprocess.run(
        [interpreter, "-I", "-S", "-c", script],
        capture_output=True,
        text=True,
        env=environment,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
