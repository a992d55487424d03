#!/usr/bin/env python3
"""Checks of the deployment: the Helm chart (helm/iplus) and the image (deploy/docker).

  deploy_test.py services --root R --binaries iplus-a iplus-b ...
      every service binary the build produces has an enabled-by-default services.<name>
      block (binary iplus-<name>) and runs as a container command in the default render.
  deploy_test.py redis-choice --root R
      rendering with both the in-chart and an external Redis fails, and so does neither.
  deploy_test.py redis-aof --root R
      the in-chart Redis has appendfsync always and aof-load-truncated no, and its
      container repairs the append-only file with redis-check-aof --fix before start.
  deploy_test.py dashboard --root R
      deploy/grafana/iplus.json is identical to the chart's dashboards/iplus.json, and the
      dashboard queries the series it promises.
  deploy_test.py targets --root R
      the chart's default targets (helm/iplus/files/targets.json) are deploy/targets.json.
  deploy_test.py image-libraries --root R --binaries PATH...
      every shared library a binary loads (ldd) belongs to a Debian package (dpkg -S)
      that the runtime stage of deploy/docker/Dockerfile installs or the base image has.

Renders go through helm/iplus/ci/update-golden.sh --render, which uses helm when it is on
PATH and chart-check otherwise (and fails when neither exists).
"""
import argparse
import json
import os
import re
import shlex
import subprocess
import sys

CHART = "helm/iplus"
RENDER = "helm/iplus/ci/update-golden.sh"

# Packages of debian:12-slim itself that the binaries load: the C library, the C++
# runtime and libgcc (also required by apt, so always present). Not installed again.
BASE_PACKAGES = {"libc6", "libstdc++6", "libgcc-s1"}


class Failure(Exception):
    pass


def load_yaml_docs(text):
    try:
        import yaml
    except ImportError:
        raise Failure("python3-yaml is missing (apt-get install python3-yaml)")
    return [d for d in yaml.safe_load_all(text) if d]


def render(root, case, *args):
    proc = subprocess.run([os.path.join(root, RENDER), "--render", case, *args],
                          cwd=root, capture_output=True, text=True)
    return proc.returncode, proc.stdout, proc.stderr


def check_services(root, binaries):
    import yaml
    with open(os.path.join(root, CHART, "values.yaml")) as f:
        values = yaml.safe_load(f)
    services = values.get("services") or {}
    rc, out, err = render(root, "default")
    if rc != 0:
        raise Failure("the default render failed:\n" + err)
    commands = {}
    for doc in load_yaml_docs(out):
        if doc.get("kind") != "Deployment":
            continue
        for c in doc["spec"]["template"]["spec"]["containers"]:
            commands[c["name"]] = c.get("command") or []
    problems = []
    if not binaries:
        problems.append("the build lists no iplus-* executables")
    for binary in binaries:
        name = binary[len("iplus-"):]
        block = services.get(name)
        if block is None:
            problems.append("%s is built but values.yaml has no services.%s block" % (binary, name))
            continue
        if not block.get("enabled"):
            problems.append("%s is built but services.%s is not enabled by default" % (binary, name))
        if block.get("binary") != binary:
            problems.append("services.%s.binary is %r, expected %r" % (name, block.get("binary"), binary))
        want = "/usr/local/bin/" + binary
        if commands.get(name, [None])[0] != want:
            problems.append("the default render has no container %s running %s (found %r)"
                            % (name, want, commands.get(name)))
        else:
            print("ok: %s runs as %s in the default render" % (binary, name))
    if problems:
        raise Failure("\n".join(problems))


def check_redis_aof(root):
    """The in-chart Redis refuses truncated append-only files and repairs them first."""
    rc, out, err = render(root, "default")
    if rc != 0:
        raise Failure("the default render failed:\n" + err)
    conf = None
    script = None
    for doc in load_yaml_docs(out):
        if doc.get("kind") == "ConfigMap" and "redis.conf" in (doc.get("data") or {}):
            conf = doc["data"]["redis.conf"]
        if doc.get("kind") == "StatefulSet":
            for c in doc["spec"]["template"]["spec"]["containers"]:
                if c["name"] == "redis":
                    script = "\n".join(c.get("args") or [])
    if conf is None or script is None:
        raise Failure("the default render has no Redis ConfigMap or StatefulSet")
    lines = [l.strip() for l in conf.splitlines()]
    problems = []
    for want in ("appendonly yes", "appendfsync always", "aof-load-truncated no"):
        if want not in lines:
            problems.append("redis.conf lacks %r" % want)
    fix = script.find("redis-check-aof --fix /data/appendonlydir/appendonly.aof.manifest")
    start = script.find("exec redis-server")
    if fix < 0:
        problems.append("the Redis container does not run redis-check-aof --fix before start")
    elif start < 0 or fix > start:
        problems.append("redis-check-aof --fix must run before exec redis-server")
    if problems:
        raise Failure("\n".join(problems))
    print("ok: Redis runs with appendfsync always, aof-load-truncated no, and repairs its AOF first")


def check_redis_choice(root):
    cases = [
        ("both", ["--set", "redis.external.enabled=true",
                  "--set", "redis.external.address=redis.example:6379",
                  "--set", "redis.auth.existingSecret=redis"],
         "both redis.inChart.enabled and redis.external.enabled"),
        ("neither", ["--set", "redis.inChart.enabled=false"],
         "neither redis.inChart.enabled nor redis.external.enabled"),
        ("external without address", ["--set", "redis.inChart.enabled=false",
                                      "--set", "redis.external.enabled=true",
                                      "--set", "redis.auth.existingSecret=redis"],
         "redis.external.address"),
        ("external without secret", ["--set", "redis.inChart.enabled=false",
                                     "--set", "redis.external.enabled=true",
                                     "--set", "redis.external.address=redis.example:6379"],
         "redis.auth.existingSecret"),
    ]
    problems = []
    for label, args, message in cases:
        rc, out, err = render(root, "default", *args)
        if rc == 0:
            problems.append("%s: rendering succeeded, expected a failure" % label)
        elif message not in err:
            problems.append("%s: failed without the message %r:\n%s" % (label, message, err))
        else:
            print("ok: %s fails: %s" % (label, err.strip().splitlines()[0]))
    rc, out, err = render(root, "default", "--set", "redis.inChart.enabled=false",
                          "--set", "redis.external.enabled=true",
                          "--set", "redis.external.address=redis.example:6379",
                          "--set", "redis.auth.existingSecret=redis")
    if rc != 0:
        problems.append("external Redis alone: rendering failed:\n" + err)
    else:
        kinds = {(d["kind"], d["metadata"]["name"]) for d in load_yaml_docs(out)}
        if any(k == "StatefulSet" for k, _ in kinds):
            problems.append("external Redis alone still renders the in-chart StatefulSet")
        if "redis.example:6379" not in out:
            problems.append("external Redis alone: IPLUS_REDIS_ADDRESS is not the external address")
        if not problems:
            print("ok: an external Redis alone renders without the StatefulSet")
    if problems:
        raise Failure("\n".join(problems))


def check_dashboard(root):
    canonical = os.path.join(root, CHART, "dashboards", "iplus.json")
    copy = os.path.join(root, "deploy", "grafana", "iplus.json")
    with open(canonical, "rb") as f:
        a = f.read()
    if not os.path.exists(copy):
        raise Failure("deploy/grafana/iplus.json is missing; "
                      "cp helm/iplus/dashboards/iplus.json deploy/grafana/iplus.json")
    with open(copy, "rb") as f:
        b = f.read()
    if a != b:
        raise Failure("deploy/grafana/iplus.json differs from helm/iplus/dashboards/iplus.json "
                      "(the canonical one); cp helm/iplus/dashboards/iplus.json "
                      "deploy/grafana/iplus.json")
    dash = json.loads(a)
    exprs = []

    def walk(panels):
        for p in panels:
            exprs.extend(t.get("expr", "") for t in p.get("targets", []))
            walk(p.get("panels", []))
    walk(dash.get("panels", []))
    text = "\n".join(exprs)
    wanted = ["rate(grpc_server_handled_total", "grpc_server_handling_seconds_bucket",
              "histogram_quantile(0.5,", "histogram_quantile(0.99,",
              "iplus_redis_command_duration_seconds_bucket", "iplus_target_progress_ratio",
              "iplus_target_status", "iplus_target_coverage_ratio", 'grpc_code!="OK"']
    missing = [w for w in wanted if w not in text]
    if missing:
        raise Failure("the dashboard queries none of: " + ", ".join(missing))
    ids = [p["id"] for p in dash["panels"]]
    if len(ids) != len(set(ids)):
        raise Failure("the dashboard has duplicate panel ids")
    print("ok: the copy is identical and the dashboard has %d panels" % len(ids))


def check_targets(root):
    """The chart's default targets are the repository's seed file, byte for byte."""
    canonical = os.path.join(root, "deploy", "targets.json")
    copy = os.path.join(root, CHART, "files", "targets.json")
    with open(canonical, "rb") as f:
        a = f.read()
    if not os.path.exists(copy) or open(copy, "rb").read() != a:
        raise Failure("helm/iplus/files/targets.json differs from deploy/targets.json (the "
                      "canonical one); cp deploy/targets.json helm/iplus/files/targets.json")
    targets = json.loads(a)
    ids = [t["id"] for t in targets]
    if len(ids) != len(set(ids)):
        raise Failure("deploy/targets.json repeats an id")
    print("ok: the chart's targets are deploy/targets.json (%d targets)" % len(ids))


def runtime_packages(dockerfile):
    """The packages `apt-get install` names in the Dockerfile's last stage."""
    with open(dockerfile) as f:
        lines = f.read().splitlines()
    # Join continuation lines into instructions, dropping comments.
    instructions, cur = [], ""
    for line in lines:
        s = line.strip()
        if not s or s.startswith("#"):  # Docker skips these, also inside a continuation
            continue
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        cur += s
        if cur.strip():
            instructions.append(cur.strip())
        cur = ""
    stages = []
    for ins in instructions:
        if ins.upper().startswith("FROM "):
            stages.append([ins])
        elif stages:
            stages[-1].append(ins)
    if not stages:
        raise Failure("%s has no FROM" % dockerfile)
    runtime = stages[-1]
    if "debian:12-slim" not in runtime[0]:
        raise Failure("the runtime stage is %r, expected FROM debian:12-slim" % runtime[0])
    packages = set()
    for ins in runtime:
        if not ins.upper().startswith("RUN "):
            continue
        for command in re.split(r"&&|;|\|\|", ins[4:]):
            words = shlex.split(command)
            if "apt-get" in words and "install" in words:
                after = words[words.index("install") + 1:]
                packages.update(w for w in after if not w.startswith("-"))
    if not packages:
        raise Failure("the runtime stage of %s installs no packages" % dockerfile)
    return packages


def owning_packages(paths):
    """Maps each library path to the Debian package owning it (usr-merge aware), with
    one dpkg -S call for all of them."""
    candidates = {}
    for path in paths:
        cands = [path, os.path.realpath(path)]
        for p in list(cands):
            cands.append(p[len("/usr"):] if p.startswith("/usr/") else "/usr" + p)
        candidates[path] = cands
    every = sorted({c for cands in candidates.values() for c in cands})
    proc = subprocess.run(["dpkg", "-S"] + every, capture_output=True, text=True)
    owner = {}
    for line in proc.stdout.splitlines():
        if line.startswith("diversion by"):
            continue
        pkgs, _, owned = line.rpartition(": ")
        if owned in every and owned not in owner:
            owner[owned] = pkgs.split(",")[0].strip().split(":")[0]
    result = {}
    for path, cands in candidates.items():
        result[path] = next((owner[c] for c in cands if c in owner), None)
    return result


def check_image_libraries(root, binaries):
    dockerfile = os.path.join(root, "deploy", "docker", "Dockerfile")
    installed = runtime_packages(dockerfile)
    problems, needed = [], set()
    loads = []  # (binary name, library, resolved path)
    if not binaries:
        problems.append("the build lists no iplus-* executables")
    for binary in binaries:
        if not os.path.exists(binary):
            problems.append("%s is not built (build every iplus-* target first)" % binary)
            continue
        proc = subprocess.run(["ldd", binary], capture_output=True, text=True)
        if proc.returncode != 0:
            problems.append("ldd %s failed: %s" % (binary, proc.stderr.strip()))
            continue
        for line in proc.stdout.splitlines():
            m = re.match(r"\s*(\S+) => (\S+) \(0x", line)
            if m:
                loads.append((os.path.basename(binary), m.group(1), m.group(2)))
            elif "not found" in line:
                problems.append("%s: %s" % (os.path.basename(binary), line.strip()))
    owners = owning_packages({path for _, _, path in loads})
    for name, lib, path in loads:
        pkg = owners[path]
        if pkg is None:
            problems.append("%s loads %s (%s), which no Debian package owns" % (name, lib, path))
            continue
        needed.add(pkg)
        if pkg not in installed and pkg not in BASE_PACKAGES:
            problems.append("%s loads %s from package %s, which the runtime stage of "
                            "deploy/docker/Dockerfile does not install" % (name, lib, pkg))
    if problems:
        raise Failure("\n".join(sorted(set(problems))))
    unused = sorted(installed - needed)
    if unused:
        print("note: installed but loaded by no binary: " + ", ".join(unused))
    print("ok: %d binaries need %s" % (len(binaries), " ".join(sorted(needed))))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("check", choices=["services", "redis-choice", "redis-aof", "dashboard",
                                     "targets", "image-libraries"])
    p.add_argument("--root", required=True, help="repository root")
    p.add_argument("--binaries", nargs="*", default=[],
                   help="service executables: names (services) or paths (image-libraries)")
    args = p.parse_args()
    try:
        if args.check == "services":
            check_services(args.root, [os.path.basename(b) for b in args.binaries])
        elif args.check == "redis-choice":
            check_redis_choice(args.root)
        elif args.check == "redis-aof":
            check_redis_aof(args.root)
        elif args.check == "dashboard":
            check_dashboard(args.root)
        elif args.check == "targets":
            check_targets(args.root)
        else:
            check_image_libraries(args.root, args.binaries)
    except Failure as e:
        print("FAIL: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
