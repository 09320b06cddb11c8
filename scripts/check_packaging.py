"""Static checks of payhub's packaging files; see scripts/check-packaging.

Each check is one function that returns a list of problems; the script
prints every problem and exits 1 when there is any.
"""
import configparser
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent


def known_settings(help_path):
    """The PAYHUB_ variables `payhub serve --help` documents."""
    text = pathlib.Path(help_path).read_text()
    return set(re.findall(r"env: (PAYHUB_[A-Z0-9_]+)", text)) | {"PAYHUB_CONFIG"}


def unknown_settings(names, known, where):
    return [f"{where}: {name} is not a payhub setting" for name in sorted(set(names) - known)]


def check_dockerfile(known):
    text = (ROOT / "Dockerfile").read_text()
    problems = []
    stages = re.findall(r"^FROM\s+\S+(?:\s+AS\s+(\S+))?", text, re.M | re.I)
    if len(stages) < 2:
        problems.append("Dockerfile: not multi-stage (one FROM)")
    final = re.split(r"^FROM\s", text, flags=re.M | re.I)[-1]
    users = re.findall(r"^USER\s+(\S+)", final, re.M)
    if not users or users[-1].split(":")[0] in ("root", "0"):
        problems.append("Dockerfile: the final stage does not run as a non-root USER")
    if not re.search(r"^VOLUME\s+.*?/var/lib/payhub", final, re.M):
        problems.append("Dockerfile: the data directory /var/lib/payhub is not a VOLUME")
    for source in re.findall(r"COPY\s+--from=(\S+)", text):
        if source not in [name for name in stages if name]:
            problems.append(f"Dockerfile: COPY --from={source} names no stage")
    for path in re.findall(r"^COPY\s+(?!--)(.+)\s+\S+$", text, re.M):
        for item in path.split():
            if not (ROOT / item).exists():
                problems.append(f"Dockerfile: COPY {item}: no such file in the repository")
    if '"serve"' not in final or "/usr/local/bin/payhub" not in final:
        problems.append("Dockerfile: the image does not run `payhub serve`")
    problems += unknown_settings(re.findall(r"(PAYHUB_[A-Z0-9_]+)=", text), known, "Dockerfile")
    return problems


def payhub_nodes(services):
    return {name: s for name, s in services.items() if "build" in s or "payhub" in str(s.get("image", ""))}


def check_compose(known):
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    services = compose.get("services", {})
    problems = []
    nodes = payhub_nodes(services)
    if len(nodes) < 2:
        problems.append(f"compose.yaml: {len(nodes)} payhub node(s), not two")
    if "postgres" not in services:
        problems.append("compose.yaml: no postgres service")
    keys = set()
    for name, node in nodes.items():
        env = node.get("environment", {})
        problems += unknown_settings(env.keys(), known, f"compose.yaml {name}")
        if "@postgres:" not in str(env.get("PAYHUB_DATABASE_URL", "")):
            problems.append(f"compose.yaml {name}: PAYHUB_DATABASE_URL does not name the postgres service")
        keys.add(str(env.get("PAYHUB_MASTER_KEY")))
        if not any(str(v).endswith(":/var/lib/payhub") for v in node.get("volumes", [])):
            problems.append(f"compose.yaml {name}: no volume at /var/lib/payhub")
    if len(keys) != 1 or "None" in keys:
        problems.append("compose.yaml: the nodes do not share one PAYHUB_MASTER_KEY")
    balancer = services.get("balancer", {})
    mounts = [v.split(":")[0] for v in balancer.get("volumes", [])]
    confs = [ROOT / m for m in mounts if m.endswith(".conf")]
    if not confs or not confs[0].exists():
        problems.append("compose.yaml: the balancer mounts no nginx.conf of the repository")
    else:
        conf = confs[0].read_text()
        for name in nodes:
            if f"server {name}:8676" not in conf:
                problems.append(f"{confs[0].name}: node {name} is not in the upstream")
    return problems


def check_systemd(known):
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str
    unit.read(ROOT / "deploy" / "payhub.service")
    problems = []
    for section in ("Unit", "Service", "Install"):
        if section not in unit:
            problems.append(f"payhub.service: no [{section}]")
    service = unit["Service"] if "Service" in unit else {}
    if service.get("User", "root") in ("root", "0"):
        problems.append("payhub.service: runs as root")
    if not re.match(r"^/\S*/payhub serve\b", service.get("ExecStart", "")):
        problems.append("payhub.service: ExecStart is not `payhub serve`")
    for key in ("NoNewPrivileges", "ProtectSystem", "UMask"):
        if key not in service:
            problems.append(f"payhub.service: {key} is not set")
    env = re.findall(r"(PAYHUB_[A-Z0-9_]+)=", service.get("Environment", ""))
    problems += unknown_settings(env, known, "payhub.service")
    return problems


def main():
    known = known_settings(sys.argv[1])
    if not known - {"PAYHUB_CONFIG"}:
        print("check_packaging: no settings found in `payhub serve --help`")
        return 1
    problems = check_dockerfile(known) + check_compose(known) + check_systemd(known)
    for problem in problems:
        print(f"packaging: {problem}")
    print(f"packaging: {'ok' if not problems else f'{len(problems)} problem(s)'}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
