#!/usr/bin/env python3
"""Build the Lambda deployment zip: dist/picgraph-lambda.zip.

What goes in:
- the runtime dependencies of pyproject.toml ([project.dependencies], no
  extras), installed by pip as manylinux wheels for the TARGET platform
  (--arch) and Python (--python-version), whatever this machine runs;
- the project's packages ([tool.setuptools] packages: resolvers, services,
  infra), without tests and without GraphiQL's files in resolvers/static/vendor/
  (4 MB of JavaScript: a deployed GraphiQL loads them from unpkg, integrity-checked);
- bytecode compiled for the target Python, hash-based and unchecked, so that
  it stays valid whatever timestamps the zip carries and Lambda's read-only
  /var/task never recompiles at a cold start.

The target's bytecode needs the target's interpreter. In order of preference:
this interpreter if its version matches, `pythonX.Y` on PATH, else CPython
compiled to WebAssembly (Pyodide, from the npm registry) run by Node.js.
`--compile none` skips it (Lambda then compiles every cold start, in memory).

The zip is reproducible: sorted entries, fixed timestamps (1980-01-01) and
permissions, so the same inputs give the same bytes and the same
source_code_hash in Terraform.

    python scripts/build_lambda_package.py                 # arm64, Python 3.12
    python scripts/build_lambda_package.py --arch x86_64   # e.g. LocalStack on an x86 host
"""

from __future__ import annotations

import argparse
import email.parser
import json
import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import textwrap
import tomllib
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO_ROOT / "dist" / "picgraph-lambda.zip"
DEFAULT_BUILD_DIR = REPO_ROOT / "build" / "lambda"

# Lambda's own limit for a zip uploaded directly (Terraform's `filename`): 50 MB;
# unzipped, everything must stay under 250 MB.
MAX_ZIP_BYTES = 50 * 1000 * 1000
MAX_UNZIPPED_BYTES = 250 * 1000 * 1000

# Terraform's lambda_architecture -> wheel platform machine and ELF e_machine.
ARCHITECTURES: dict[str, tuple[str, int]] = {
    "arm64": ("aarch64", 183),  # EM_AARCH64
    "x86_64": ("x86_64", 62),  # EM_X86_64
}

# glibc of each Lambda Python runtime: python3.11 runs on Amazon Linux 2,
# python3.12 and python3.13 on Amazon Linux 2023.
RUNTIME_GLIBC: dict[str, tuple[int, int]] = {
    "3.11": (2, 26),
    "3.12": (2, 34),
    "3.13": (2, 34),
}

# Bytecode magic numbers of the final releases (importlib.util.MAGIC_NUMBER).
PYC_MAGIC: dict[str, int] = {"3.11": 3495, "3.12": 3531, "3.13": 3571}

# Pyodide releases whose CPython matches each target (npm package "pyodide").
PYODIDE_FOR_PYTHON: dict[str, str] = {"3.12": "0.27.7", "3.13": "0.28.3"}

# Where Lambda unpacks the zip: the file names compiled into the bytecode (as
# in tracebacks) are the ones the function will see, whatever the build path.
LAMBDA_TASK_ROOT = "/var/task"

# Written at the zip's root: what the package was built for (read by the tests).
MANIFEST_NAME = "picgraph-build.json"

# Never shipped: not imported at run time.
PRUNED_DIR_NAMES = frozenset({"__pycache__", "tests"})
PRUNED_TOP_LEVEL = frozenset({"bin"})  # console scripts with this machine's shebang
PRUNED_SUFFIXES = (".pyc", ".pyo", ".exe")


class BuildError(Exception):
    """Something the operator must fix; printed as one line."""


@dataclass(frozen=True)
class Target:
    arch: str
    python_version: str

    @property
    def machine(self) -> str:
        return ARCHITECTURES[self.arch][0]

    @property
    def elf_machine(self) -> int:
        return ARCHITECTURES[self.arch][1]

    @property
    def cache_tag(self) -> str:
        return "cpython-" + self.python_version.replace(".", "")

    def wheel_platforms(self) -> list[str]:
        """Every manylinux tag the runtime's glibc can load, oldest first."""
        glibc_major, glibc_minor = RUNTIME_GLIBC[self.python_version]
        platforms = [f"manylinux2014_{self.machine}"]
        platforms += [
            f"manylinux_{glibc_major}_{minor}_{self.machine}"
            for minor in range(17, glibc_minor + 1)
        ]
        return platforms

    def marker_environment(self) -> dict[str, str]:
        """PEP 508 marker values of the Lambda runtime, for checking what pip resolved."""
        return {
            "implementation_name": "cpython",
            "implementation_version": f"{self.python_version}.0",
            "os_name": "posix",
            "platform_machine": self.machine,
            "platform_python_implementation": "CPython",
            "platform_release": "",
            "platform_system": "Linux",
            "platform_version": "",
            "python_full_version": f"{self.python_version}.0",
            "python_version": self.python_version,
            "sys_platform": "linux",
        }


def log(message: str) -> None:
    print(f"[build-lambda] {message}", flush=True)


def read_pyproject(root: Path) -> tuple[list[str], list[str]]:
    """The runtime requirements and the top-level packages of the project."""
    with (root / "pyproject.toml").open("rb") as handle:
        data = tomllib.load(handle)
    requirements = [str(item) for item in data["project"]["dependencies"]]
    packages = data.get("tool", {}).get("setuptools", {}).get("packages", [])
    top_level = sorted({str(name).split(".")[0] for name in packages})
    if not top_level:
        raise BuildError("pyproject.toml lists no [tool.setuptools] packages to ship")
    return requirements, top_level


def select_requirements(requirements: Iterable[str], exclude: Iterable[str]) -> list[str]:
    excluded = {canonicalize_name(name) for name in exclude}
    return [req for req in requirements if canonicalize_name(Requirement(req).name) not in excluded]


def pip_install(requirements: Sequence[str], target: Target, site_dir: Path) -> None:
    abi = "cp" + target.python_version.replace(".", "")
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--quiet",
        "--no-compile",  # this interpreter's bytecode would be the wrong version
        "--only-binary=:all:",
        "--implementation",
        "cp",
        "--python-version",
        target.python_version,
        "--abi",
        abi,
        "--abi",
        "abi3",
        "--abi",
        "none",
        "--target",
        str(site_dir),
    ]
    for platform in target.wheel_platforms():
        command += ["--platform", platform]
    command += list(requirements)
    log(f"pip install {' '.join(requirements)} ({target.machine}, CPython {target.python_version})")
    subprocess.run(command, check=True)


def installed_distributions(site_dir: Path) -> dict[str, tuple[str, list[str]]]:
    """Installed distribution name -> (version, Requires-Dist lines)."""
    found: dict[str, tuple[str, list[str]]] = {}
    for metadata_path in sorted(site_dir.glob("*.dist-info/METADATA")):
        message = email.parser.Parser().parsestr(metadata_path.read_text(encoding="utf-8"))
        requires = message.get_all("Requires-Dist") or []
        found[canonicalize_name(message["Name"])] = (str(message["Version"]), requires)
    return found


def write_manifest(site_dir: Path, target: Target) -> None:
    """No timestamps or paths: the manifest must not break reproducibility."""
    manifest = {
        "arch": target.arch,
        "machine": target.machine,
        "python_version": target.python_version,
        "handler": "resolvers.lambda_handler.handler",
        "distributions": {
            name: version for name, (version, _) in installed_distributions(site_dir).items()
        },
    }
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    (site_dir / MANIFEST_NAME).write_text(text, encoding="utf-8")


def check_resolution(requirements: Sequence[str], site_dir: Path, target: Target) -> None:
    """pip evaluates markers for THIS interpreter: check the target's needs are all there."""
    installed = installed_distributions(site_dir)
    environment = target.marker_environment()
    missing: set[str] = set()
    pending = [(Requirement(req), "") for req in requirements]
    seen: set[tuple[str, str]] = set()
    while pending:
        requirement, extra = pending.pop()
        if requirement.marker is not None and not _marker_applies(
            requirement.marker, environment, extra
        ):
            continue
        name = canonicalize_name(requirement.name)
        if name not in installed:
            missing.add(str(requirement))
            continue
        for wanted_extra in ["", *sorted(requirement.extras)]:
            key = (name, wanted_extra)
            if key in seen:
                continue
            seen.add(key)
            pending += [(Requirement(line), wanted_extra) for line in installed[name][1]]
    if missing:
        raise BuildError(
            "the target needs distributions pip did not install (environment markers "
            f"differ between this Python and the target): {', '.join(sorted(missing))}"
        )


def _marker_applies(marker: Marker, environment: dict[str, str], extra: str) -> bool:
    return marker.evaluate({**environment, "extra": extra})


def copy_project(root: Path, packages: Sequence[str], site_dir: Path) -> None:
    for package in packages:
        source = root / package
        if not (source / "__init__.py").is_file():
            raise BuildError(f"project package {package}/ not found under {root}")
        shutil.copytree(
            source,
            site_dir / package,
            ignore=_project_ignore,
        )


_IGNORED_NAMES = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", "test_*.py")


def _project_ignore(directory: str, names: list[str]) -> set[str]:
    ignored = set(_IGNORED_NAMES(directory, names))
    if Path(directory).name == "vendor" and Path(directory).parent.name == "static":
        # GraphiQL's 4 MB stay out (see the module docstring); the gallery's 10 kB
        # ThumbHash decoder ships.
        ignored.update(name for name in names if not name.startswith("thumbhash@"))
    return ignored


def prune(site_dir: Path) -> int:
    removed = 0
    for name in PRUNED_TOP_LEVEL:
        path = site_dir / name
        if path.exists():
            shutil.rmtree(path)
            removed += 1
    for path in sorted(site_dir.rglob("*"), key=lambda item: len(item.parts), reverse=True):
        if not path.exists() or path.is_symlink():
            continue
        relative = path.relative_to(site_dir)
        # Only inside packages (depth >= 2): a top-level "test" module stays.
        if path.is_dir() and path.name in PRUNED_DIR_NAMES and len(relative.parts) >= 2:
            shutil.rmtree(path)
            removed += 1
        elif path.is_file() and path.name.endswith(PRUNED_SUFFIXES):
            path.unlink()
            removed += 1
    return removed


def check_native_code(site_dir: Path, target: Target) -> list[Path]:
    """Every shared object must be an ELF file for the target machine."""
    shared_objects = sorted(path for path in site_dir.rglob("*.so*") if path.is_file())
    wrong = [path for path in shared_objects if elf_machine(path) != target.elf_machine]
    if wrong:
        listed = ", ".join(str(path.relative_to(site_dir)) for path in wrong[:5])
        raise BuildError(f"shared objects not built for {target.machine}: {listed}")
    return shared_objects


def elf_machine(path: Path) -> int | None:
    """e_machine of an ELF file (None if it is not one)."""
    with path.open("rb") as handle:
        header = handle.read(20)
    if len(header) < 20 or header[:4] != b"\x7fELF":
        return None
    byte_order = "<" if header[5] == 1 else ">"
    machine: int = struct.unpack(f"{byte_order}H", header[18:20])[0]
    return machine


# --------------------------------------------------------------------------
# Bytecode for the target Python
# --------------------------------------------------------------------------


def compile_bytecode(site_dir: Path, target: Target, mode: str, tools_dir: Path) -> str:
    """Compile every .py for the target; returns how it was done."""
    if mode == "none":
        log("bytecode: skipped (--compile none)")
        return "none"
    if mode in ("auto", "native"):
        interpreter = find_interpreter(target.python_version)
        if interpreter is not None:
            _compile_native([interpreter], site_dir)
            return interpreter
        if mode == "native":
            raise BuildError(f"no working python{target.python_version} interpreter found")
    pyodide_version = PYODIDE_FOR_PYTHON.get(target.python_version)
    if pyodide_version is None:
        raise BuildError(f"no interpreter for Python {target.python_version} (and no Pyodide)")
    _compile_pyodide(site_dir, pyodide_version, tools_dir)
    return f"Pyodide {pyodide_version} (CPython {target.python_version}, WebAssembly) on Node.js"


def find_interpreter(version: str) -> str | None:
    """A CPython of exactly this X.Y that really runs (pyenv shims may not)."""
    candidates: list[str] = []
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        candidates.append(sys.executable)
    on_path = shutil.which(f"python{version}")
    if on_path:
        candidates.append(on_path)
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += [
        str(path)
        for path in sorted((pyenv_root / "versions").glob(f"{version}.*/bin/python{version}"))[::-1]
    ]
    for candidate in candidates:
        probe = subprocess.run(
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == version:
            return candidate
    return None


def _compile_native(interpreter: Sequence[str], site_dir: Path) -> None:
    log(f"bytecode: {interpreter[0]} -m compileall")
    subprocess.run(
        [
            *interpreter,
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            "-s",
            str(site_dir),
            "-p",
            LAMBDA_TASK_ROOT,
            str(site_dir),
        ],
        check=False,  # a file that cannot compile is reported by verify_bytecode
    )


_PYODIDE_RUNNER = textwrap.dedent(
    """\
    import { loadPyodide } from "pyodide";
    const directory = process.argv[2];
    const pyodide = await loadPyodide();
    pyodide.FS.mkdirTree("/package");
    pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: directory }, "/package");
    const ok = pyodide.runPython(`
    import compileall, py_compile, sys
    print("bytecode: Pyodide CPython", sys.version.split()[0], flush=True)
    compileall.compile_dir(
        "/package", quiet=1, workers=1, stripdir="/package", prependdir="%s",
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    `);
    """
)


def _compile_pyodide(site_dir: Path, version: str, tools_dir: Path) -> None:
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise BuildError("compiling for another Python needs Node.js and npm (or --compile none)")
    prefix = tools_dir / f"pyodide-{version}"
    if not (prefix / "node_modules" / "pyodide" / "pyodide.asm.wasm").is_file():
        log(f"installing pyodide@{version} from the npm registry into {prefix}")
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                npm,
                "install",
                "--prefix",
                str(prefix),
                "--no-audit",
                "--no-fund",
                "--silent",
                f"pyodide@{version}",
            ],
            check=True,
        )
    runner = prefix / "compile.mjs"
    runner.write_text(_PYODIDE_RUNNER % LAMBDA_TASK_ROOT, encoding="utf-8")
    subprocess.run([node, str(runner), str(site_dir.resolve())], check=True, cwd=prefix)


def verify_bytecode(site_dir: Path, target: Target) -> tuple[int, list[Path]]:
    """Count .pyc files of the target version; list sources that have none."""
    magic = PYC_MAGIC.get(target.python_version)
    compiled = 0
    missing: list[Path] = []
    for source in sorted(site_dir.rglob("*.py")):
        pyc = source.parent / "__pycache__" / f"{source.stem}.{target.cache_tag}.pyc"
        if not pyc.is_file():
            missing.append(source.relative_to(site_dir))
            continue
        header = pyc.read_bytes()[:8]
        found_magic, flags = struct.unpack("<HxxI", header)
        if magic is not None and found_magic != magic:
            raise BuildError(f"{pyc} has magic {found_magic}, expected {magic}")
        if flags != 0b01:  # hash-based, source not checked
            raise BuildError(f"{pyc} is not an unchecked hash-based pyc (flags {flags})")
        compiled += 1
    return compiled, missing


# --------------------------------------------------------------------------
# Reproducible zip
# --------------------------------------------------------------------------

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def iter_files(site_dir: Path) -> Iterator[tuple[str, Path]]:
    for directory, subdirectories, files in os.walk(site_dir):
        subdirectories.sort()
        for name in sorted(files):
            path = Path(directory) / name
            yield path.relative_to(site_dir).as_posix(), path


def write_zip(site_dir: Path, output: Path) -> tuple[int, int]:
    """Zip site_dir deterministically; returns (file count, unzipped bytes)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_suffix(".zip.tmp")
    entries = sorted(iter_files(site_dir))
    total = 0
    with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for arcname, path in entries:
            info = zipfile.ZipInfo(arcname, date_time=ZIP_EPOCH)
            info.create_system = 3  # unix: the permission bits below apply
            executable = path.stat().st_mode & stat.S_IXUSR
            mode = 0o755 if executable else 0o644
            info.external_attr = (stat.S_IFREG | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            data = path.read_bytes()
            total += len(data)
            zf.writestr(info, data, compresslevel=9)
    temporary.replace(output)
    return len(entries), total


# --------------------------------------------------------------------------


def build(args: argparse.Namespace) -> Path:
    target = Target(arch=args.arch, python_version=args.python_version)
    root: Path = args.project_root
    requirements, packages = read_pyproject(root)
    requirements = select_requirements(requirements, args.exclude)
    build_dir: Path = args.build_dir / f"{target.arch}-py{target.python_version}"
    site_dir = build_dir / "package"
    if site_dir.exists():
        shutil.rmtree(site_dir)
    site_dir.mkdir(parents=True)

    pip_install(requirements, target, site_dir)
    check_resolution(requirements, site_dir, target)
    copy_project(root, packages, site_dir)
    handler = site_dir / "resolvers" / "lambda_handler.py"
    if not handler.is_file():
        log("WARNING: resolvers/lambda_handler.py is missing: the function cannot start")
    pruned = prune(site_dir)
    shared_objects = check_native_code(site_dir, target)
    log(f"pruned {pruned} entries; {len(shared_objects)} shared objects, all {target.machine}")

    how = compile_bytecode(site_dir, target, args.compile, args.build_dir / "tools")
    if args.compile != "none":
        compiled, missing = verify_bytecode(site_dir, target)
        log(f"bytecode: {compiled} .pyc files for {target.cache_tag} by {how}")
        if missing:
            shown = ", ".join(str(path) for path in missing[:5])
            log(f"WARNING: {len(missing)} modules did not compile (e.g. {shown})")

    write_manifest(site_dir, target)
    output: Path = args.output
    count, unzipped = write_zip(site_dir, output)
    size = output.stat().st_size
    log(
        f"wrote {output} : {size / 1e6:.1f} MB zipped, {unzipped / 1e6:.1f} MB unzipped, "
        f"{count} files ({target.arch}, CPython {target.python_version})"
    )
    if size > MAX_ZIP_BYTES:
        raise BuildError(f"zip is {size} bytes: over Lambda's {MAX_ZIP_BYTES} for direct upload")
    if unzipped > MAX_UNZIPPED_BYTES:
        raise BuildError(f"package unzips to {unzipped} bytes: over Lambda's {MAX_UNZIPPED_BYTES}")
    return output


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--arch",
        choices=sorted(ARCHITECTURES),
        default=os.environ.get("PICGRAPH_LAMBDA_ARCH", "arm64"),
        help="Lambda architecture, as Terraform's lambda_architecture (default arm64)",
    )
    parser.add_argument(
        "--python-version",
        choices=sorted(RUNTIME_GLIBC),
        default=os.environ.get("PICGRAPH_LAMBDA_PYTHON", "3.12"),
        help="Python of the Lambda runtime, as Terraform's python_runtime (default 3.12)",
    )
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--build-dir", type=Path, default=DEFAULT_BUILD_DIR)
    parser.add_argument("--project-root", type=Path, default=REPO_ROOT, help=argparse.SUPPRESS)
    parser.add_argument(
        "--compile",
        choices=("auto", "native", "pyodide", "none"),
        default="auto",
        help="how to compile bytecode for the target Python (default: auto)",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="DIST",
        help="leave a runtime dependency out (e.g. --exclude boto3 --exclude botocore "
        "to use the runtime's own copy); repeatable",
    )
    args = parser.parse_args(argv)
    if not re.fullmatch(r"3\.\d+", args.python_version):
        parser.error("--python-version must look like 3.12")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        build(args)
    except BuildError as exc:
        print(f"[build-lambda] error: {exc}", file=sys.stderr)
        return 1
    except subprocess.CalledProcessError as exc:
        print(f"[build-lambda] error: {exc}", file=sys.stderr)
        return exc.returncode or 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
